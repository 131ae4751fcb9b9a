import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * How far the Spark job's images are from the command line's: java PngDiff.java CLI_DIR SPARK_DIR N
 * compares CLI_DIR/cli-I.png with SPARK_DIR/iI-0.png for I below N (spark_cpu.sh's names) and prints
 * how many images differ, in how many samples (pixel channels), and the largest difference in levels.
 */
public class PngDiff {
    public static void main(String[] args) throws IOException {
        File cli = new File(args[0]), spark = new File(args[1]);
        int n = Integer.parseInt(args[2]), images = 0, max = 0;
        long samples = 0, total = 0;
        for (int i = 0; i < n; i++) {
            BufferedImage a = ImageIO.read(new File(cli, "cli-" + i + ".png")), b = ImageIO.read(new File(spark, "i" + i + "-0.png"));
            boolean differs = false;
            for (int y = 0; y < a.getHeight(); y++) {
                for (int x = 0; x < a.getWidth(); x++) {
                    int p = a.getRGB(x, y), q = b.getRGB(x, y);
                    for (int shift = 0; shift < 24; shift += 8) {
                        int d = Math.abs(((p >> shift) & 0xff) - ((q >> shift) & 0xff));
                        total++;
                        if (d != 0) {
                            samples++;
                            differs = true;
                            max = Math.max(max, d);
                        }
                    }
                }
            }
            if (differs) images++;
        }
        System.out.printf("%d/%d images differ from the command line's; %d of %d samples, at most %d levels%n", images, n,
                samples, total, max);
    }
}

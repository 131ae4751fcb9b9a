package dev.unclip4j.clip;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A complete Hugging Face CLIP folder made from a golden fixture model (fixtures/clip/NAME/hf:
 * weights + config.json), with a tiny tokenizer and a preprocessor_config.json, for the API and
 * command-line tests. The tokenizer knows the 26 lower-case letters and '.' (alone and word-final,
 * no merges: one token per character), and puts the start and end tokens where the fixtures have
 * them (vocab − 2, vocab − 1); anything else is the unknown token (the end token, as in
 * transformers' CLIPTokenizer).
 */
public final class TinyClipFolder {
    private TinyClipFolder() {}

    public static Path make(String fixture, Path dir) {
        try {
            Path src = ClipTowerParity.fixture(fixture).resolve("hf");
            Files.createDirectories(dir);
            Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
            Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
            ClipConfig cfg = ClipConfig.read(dir);
            int vocab = cfg.text().vocabSize();
            StringBuilder v = new StringBuilder("{");
            int id = 0;
            for (String suffix : new String[] {"", "</w>"}) {
                for (char c = 'a'; c <= 'z'; c++) v.append('"').append(c).append(suffix).append("\":").append(id++).append(',');
                v.append("\".").append(suffix).append("\":").append(id++).append(',');
            }
            v.append("\"<|startoftext|>\":").append(vocab - 2).append(",\"<|endoftext|>\":").append(vocab - 1).append('}');
            Files.writeString(dir.resolve("vocab.json"), v.toString());
            Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
            if (cfg.vision() != null) {
                int s = cfg.vision().imageSize();
                Files.writeString(dir.resolve("preprocessor_config.json"), """
                    {"crop_size": %d, "do_center_crop": true, "do_normalize": true, "do_resize": true, "size": %d,
                     "resample": 3, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                     "image_std": [0.26862954, 0.26130258, 0.27577711]}""".formatted(s, s));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A seeded PNG of smooth colour blobs, {@code w}×{@code h}. */
    public static Path image(Path file, int w, int h, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        double fx = r.nextDouble() * 0.5, fy = r.nextDouble() * 0.5, ph = r.nextDouble() * 6;
        int base = r.nextInt(0xffffff);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int k = (int) (127 + 127 * Math.sin(fx * x + fy * y + ph));
                img.setRGB(x, y, base ^ (k << 8) ^ (x * 255 / w));
            }
        }
        try {
            ImageIO.write(img, "png", file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}

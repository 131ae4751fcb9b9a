package dev.unclip4j.image;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Random resizes against Pillow, byte for byte: runs only when -Dunclip.resize.fuzz names the
 * output of tools/reference/fuzz_resize.py (not committed; see that script).
 */
class PillowResampleFuzzTest {
    @Test
    void randomResizesMatchPillow() throws Exception {
        String file = System.getProperty("unclip.resize.fuzz");
        assumeTrue(file != null, "no -Dunclip.resize.fuzz=<tools/reference/fuzz_resize.py output>");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(Path.of(file))).order(ByteOrder.LITTLE_ENDIAN);
        int n = b.getInt();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int w = b.getInt(), h = b.getInt(), ow = b.getInt(), oh = b.getInt(), f = b.getInt(), bands = b.getInt();
            b.getInt();
            byte[] in = new byte[w * h * bands], want = new byte[ow * oh * bands];
            b.get(in);
            b.get(want);
            byte[] got = f == 0 ? PillowResample.nearest(in, w, h, bands, ow, oh)
                    : PillowResample.resize(in, w, h, bands, ow, oh, PillowResample.Filter.ofPilCode(f));
            if (!Arrays.equals(want, got)) bad.add(w + "×" + h + " → " + ow + "×" + oh + " filter " + f + ", " + bands + " bands");
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + n + " differ: " + bad.subList(0, Math.min(20, bad.size())));
        System.out.println("resize fuzz: " + n + " cases, all equal");
    }
}

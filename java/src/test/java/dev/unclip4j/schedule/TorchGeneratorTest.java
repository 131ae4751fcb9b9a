package dev.unclip4j.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.io.Checkpoint;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TorchGenerator against torch.randn's own values (tools/reference/make_randn_fixture.py, torch
 * 1.13.1 on the CPU, its AVX2 kernel): every case is a fresh generator and one or more draws in
 * sequence.
 *
 * <p>Bound: 1e-6 absolute per value. A value is at most about 8 in magnitude, where one float32
 * ulp is 4.8e-7, so the bound admits an ulp of difference in an elementary function and nothing
 * more; a stream out of step (a wrong draw count, a wrong path, a lost cached value) gives
 * differences of order 1. The port is exact in fact, and the test asserts that too: its arithmetic
 * is IEEE float32 with the FMAs of torch's build, StrictMath in double, the same on every JVM.
 */
class TorchGeneratorTest {
    private static Path dir;
    private static Checkpoint values;
    private static JsonNode meta;

    @BeforeAll
    static void open() throws Exception {
        dir = Path.of(TorchGeneratorTest.class.getResource("/fixtures/randn/fixture.json").toURI()).getParent();
        values = Checkpoint.open(dir.resolve("randn.safetensors"));
        meta = new ObjectMapper().readTree(dir.resolve("fixture.json").toFile());
    }

    @AfterAll
    static void close() {
        values.close();
    }

    static Stream<String> cases() throws Exception {
        Path d = Path.of(TorchGeneratorTest.class.getResource("/fixtures/randn/fixture.json").toURI()).getParent();
        List<String> names = new ArrayList<>();
        new ObjectMapper().readTree(d.resolve("fixture.json").toFile()).get("cases").forEach(c -> names.add(c.get("name").asText()));
        return names.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTorchRandn(String name) {
        JsonNode c = null;
        for (JsonNode x : meta.get("cases")) if (x.get("name").asText().equals(name)) c = x;
        TorchGenerator g = new TorchGenerator(new BigInteger(c.get("seed").asText()).longValue());
        int k = 0;
        for (JsonNode draw : c.get("draws")) {
            int[] shape = new int[draw.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = draw.get("shape").get(i).asInt();
            float[] got = g.randn(shape);
            assertEquals(draw.get("count").asInt(), got.length);
            String key = name + "." + k++;
            float[] want;
            int[] at;
            if (draw.get("stored").asText().equals("full")) {
                want = values.floats(key);
                at = null;
            } else {
                want = values.floats(key + ".val");
                long[] idx = values.longs(key + ".idx");
                at = new int[idx.length];
                for (int i = 0; i < idx.length; i++) at[i] = (int) idx[i];
            }
            double maxAbs = 0;
            int differing = 0;
            for (int i = 0; i < want.length; i++) {
                float v = got[at == null ? i : at[i]];
                maxAbs = Math.max(maxAbs, Math.abs(v - want[i]));
                if (Float.floatToRawIntBits(v) != Float.floatToRawIntBits(want[i])) differing++;
            }
            assertTrue(maxAbs <= 1e-6, key + ": max |ours - torch| " + maxAbs);
            assertEquals(0, differing, key + ": within 1e-6 but " + differing + " values not bit-identical");
            assertEquals(draw.get("crc32").asLong(), crc32(got), key + ": CRC-32 of all values");
        }
    }

    private static long crc32(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        CRC32 crc = new CRC32();
        crc.update(b);
        return crc.getValue();
    }

    @Test
    void onlyTheLow32BitsOfTheSeedReachTheEngine() {
        assertArrayEquals(new TorchGenerator(5).randn(40), new TorchGenerator((1L << 32) + 5).randn(40));
        assertNotEquals(new TorchGenerator(5).initialSeed(), new TorchGenerator((1L << 32) + 5).initialSeed());
    }

    @Test
    void manualSeedRestartsTheStreamAndDropsTheCachedNormal() {
        TorchGenerator g = new TorchGenerator(7);
        float[] first = g.randn(1);  // leaves r·sin θ cached
        g.randn(20);
        g.manualSeed(7);
        assertArrayEquals(first, g.randn(1));
        assertEquals(7, g.initialSeed());
    }

    @Test
    void emptyDrawsConsumeNothing() {
        TorchGenerator a = new TorchGenerator(3), b = new TorchGenerator(3);
        assertEquals(0, a.randn(2, 0, 4).length);
        assertArrayEquals(b.randn(17), a.randn(17));
    }

    @Test
    void badShapes() {
        TorchGenerator g = new TorchGenerator(0);
        var e = assertThrows(IllegalArgumentException.class, () -> g.randn(2, -1));
        assertTrue(e.getMessage().contains("[2, -1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.randn(1 << 16, 1 << 16));
    }

    @Test
    void cephesLogAndSinCosAreAccurate() {
        // the ported approximations stay within a few float ulps of the true functions over their inputs here
        for (int i = 1; i <= 1 << 16; i++) {
            float u = i * 0x1p-16f;
            assertEquals(Math.log(u), TorchGenerator.cephesLog(u), 4e-7 * Math.max(1, Math.abs(Math.log(u))));
            float theta = (float) (2 * Math.PI) * u;
            long sc = TorchGenerator.cephesSinCos(theta);
            assertEquals(Math.sin(theta), Float.intBitsToFloat((int) sc), 3e-7);
            assertEquals(Math.cos(theta), Float.intBitsToFloat((int) (sc >>> 32)), 3e-7);
        }
    }
}

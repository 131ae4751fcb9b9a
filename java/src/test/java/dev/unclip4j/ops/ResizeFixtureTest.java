package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * uc_resize_bicubic_aa on the CPU against real torch (1.13, Debian's python3-torch):
 * fixtures/resize_bicubic_aa.safetensors, made by tools/reference/make_resize_fixture.py, holds
 * F.interpolate(mode="bicubic", align_corners=False, antialias=True) of seeded inputs for
 * Karlo's 64 → 256 super-resolution input, an odd-sized down-scale (batch 2) and a mixed case.
 */
class ResizeFixtureTest {
    /**
     * Both sides compute in float32 with the same filter weights; they differ only in the order
     * of a few float sums (≈ 1e-7 relative). 1e-5 is the bound: a wrong filter constant
     * (a = −0.75 instead of −0.5, torch's antialias=False) moves the 64 → 256 result by 8.6e-2.
     */
    private static final double TOLERANCE = 1e-5;

    private record Entry(long[] shape, float[] values) {}

    /** The F32 tensors of a safetensors file (8-byte header length, JSON header, raw data). */
    static Map<String, Entry> readSafetensors(String resource) throws IOException {
        byte[] bytes;
        try (InputStream in = ResizeFixtureTest.class.getResourceAsStream(resource)) {
            assertNotNull(in, "missing test resource " + resource + " (run tools/reference/make_resize_fixture.py)");
            bytes = in.readAllBytes();
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(buffer.getLong(0));
        String header = new String(bytes, 8, headerLength, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"([^\"]+)\":\\{\"dtype\":\"F32\",\"shape\":\\[([0-9,]*)\\],"
                + "\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}").matcher(header);
        Map<String, Entry> tensors = new LinkedHashMap<>();
        while (m.find()) {
            long[] shape = Arrays.stream(m.group(2).split(",")).mapToLong(Long::parseLong).toArray();
            int begin = 8 + headerLength + Integer.parseInt(m.group(3)), end = 8 + headerLength + Integer.parseInt(m.group(4));
            float[] values = new float[(end - begin) / 4];
            buffer.slice(begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            tensors.put(m.group(1), new Entry(shape, values));
        }
        return tensors;
    }

    @Test
    void matchesTorch() throws IOException {
        Map<String, Entry> fixture = readSafetensors("/fixtures/resize_bicubic_aa.safetensors");
        int checked = 0;
        try (Backend cpu = Backend.cpu()) {
            for (String key : fixture.keySet()) {
                if (!key.endsWith(".x")) continue;
                String name = key.substring(0, key.length() - 2);
                Entry x = fixture.get(key), expected = fixture.get(name + ".out");
                assertNotNull(expected, name + ".out missing");
                try (Tensor in = cpu.fromFloats(DType.F32, x.values(), x.shape());
                     Tensor out = cpu.allocate(DType.F32, expected.shape())) {
                    cpu.resizeBicubicAa(in, out);
                    double error = OpHarness.relativeL2(out.toFloatArray(), expected.values());
                    assertTrue(error < TOLERANCE, name + ": relative L2 error vs torch " + error);
                    // The Java double reference agrees with torch too (so the op-table rows test the same thing).
                    double[] reference = ConvReference.resizeBicubicAa(x.values(), (int) x.shape()[0], (int) x.shape()[1],
                            (int) x.shape()[2], (int) x.shape()[3], (int) expected.shape()[1], (int) expected.shape()[2]);
                    double refError = OpHarness.relativeL2(expected.values(), reference);
                    assertTrue(refError < TOLERANCE, name + ": reference vs torch " + refError);
                    System.out.printf("resize fixture %s: cpu vs torch %.3g, double reference vs torch %.3g%n", name,
                            error, refError);
                    checked++;
                }
            }
        }
        assertEquals(3, checked, "fixture cases");
    }
}

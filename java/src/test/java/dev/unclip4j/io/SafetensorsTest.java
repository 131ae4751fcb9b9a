package dev.unclip4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static float[] ramp(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i - n / 3f) * scale;
        return v;
    }

    private Path sample() throws IOException {
        return new SafetensorsWriter()
                .meta("format", "pt")
                .f32("a.weight", ramp(6, 0.25f), 2, 3)
                .f16("b", ramp(5, 0.5f), 5)
                .bf16("c", ramp(4, 1.5f), 2, 2)
                .i64("position_ids", new long[] {0, 1, 2, 3, 4, 5, 6}, 1, 7)
                .f32("scalar", new float[] {4.6052f})
                .f32("empty", new float[0], 0, 3)
                .write(dir.resolve("model.safetensors"));
    }

    @Test
    void readsEveryTypeMapped() throws IOException {
        try (Checkpoint c = Checkpoint.open(sample())) {
            assertEquals(List.of("a.weight", "b", "c", "position_ids", "scalar", "empty"), List.copyOf(c.names()));
            assertArrayEquals(ramp(6, 0.25f), c.floats("a.weight"));
            assertArrayEquals(new long[] {2, 3}, c.entry("a.weight").shape());
            float[] b = c.floats("b");
            for (int i = 0; i < b.length; i++) assertEquals(HostCodec.round(ramp(5, 0.5f)[i], DType.F16), b[i]);
            float[] cc = c.floats("c");
            for (int i = 0; i < cc.length; i++) assertEquals(HostCodec.round(ramp(4, 1.5f)[i], DType.BF16), cc[i]);
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6}, c.longs("position_ids"));
            assertArrayEquals(new long[0], c.entry("scalar").shape());
            assertEquals(1, c.floats("scalar").length);
            assertEquals(0, c.floats("empty").length);
            assertEquals(24, c.segment("a.weight").byteSize());
            assertTrue(c.unusedNames().isEmpty(), c.unusedNames().toString());
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertEquals("pt", f.metadata().get("format"));
        }
    }

    @Test
    void opensAFolder() throws IOException {
        sample();
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(6, c.names().size());
        }
    }

    @Test
    void uploadsToTheCpuBackend() throws IOException {
        try (Checkpoint c = Checkpoint.open(sample()); Backend cpu = Backend.cpu()) {
            try (Tensor t = c.upload("a.weight", cpu, DType.F32)) {  // raw copy
                assertArrayEquals(new long[] {2, 3}, t.shape());
                assertArrayEquals(ramp(6, 0.25f), t.toFloatArray());
            }
            try (Tensor t = c.upload("b", cpu, DType.F32)) {  // converted
                assertArrayEquals(c.floats("b"), t.toFloatArray());
            }
            assertThrows(WeightFormatException.class, () -> c.upload("position_ids", cpu, DType.F32));
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        try (Checkpoint c = Checkpoint.open(sample())) {
            var e = assertThrows(WeightFormatException.class, () -> c.floats("nope.weight"));
            assertTrue(e.getMessage().contains("'nope.weight'"), e.getMessage());
            assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        }
    }

    private String openFails(Path file) {
        var e = assertThrows(WeightFormatException.class, () -> Checkpoint.open(file).close());
        assertTrue(e.getMessage().contains(file.getFileName().toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void truncatedFileNamesTheTensor() throws IOException {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 10));  // the tail of "c", "position_ids", ... gone
        String m = openFails(cut);
        assertTrue(m.contains("truncated"), m);
        assertTrue(m.contains("'position_ids'") || m.contains("'scalar'") || m.contains("'c'"), m);
    }

    @Test
    void truncatedHeader() throws IOException {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, 40));
        assertTrue(openFails(cut).contains("header length"));
        Files.write(cut, Arrays.copyOf(all, 5));
        assertTrue(openFails(cut).contains("truncated"));
        Files.write(cut, new byte[0]);
        openFails(cut);
    }

    @Test
    void absurdHeaderLength() throws IOException {
        Path f = dir.resolve("bad.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5L).putLong(0);
        Files.write(f, b.array());
        assertTrue(openFails(f).contains("header length"));
    }

    @Test
    void malformedJson() throws IOException {
        Path f = SafetensorsWriter.rawHeader(dir.resolve("bad.safetensors"), "{\"a\": {\"dtype\": \"F32\",", new byte[8]);
        assertTrue(openFails(f).contains("malformed JSON"));
        SafetensorsWriter.rawHeader(f, "[1, 2]", new byte[0]);
        assertTrue(openFails(f).contains("not a JSON object"));
        SafetensorsWriter.rawHeader(f, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]);
        assertTrue(openFails(f).contains("malformed JSON"));  // duplicate key
    }

    @Test
    void unsupportedDtype() throws IOException {
        Path f = new SafetensorsWriter().put("q.weight", "I8", new long[] {4}, new byte[4]).write(dir.resolve("q.safetensors"));
        String m = openFails(f);
        assertTrue(m.contains("'q.weight'") && m.contains("unsupported dtype 'I8'"), m);
    }

    @Test
    void sizeMismatch() throws IOException {
        Path f = SafetensorsWriter.rawHeader(dir.resolve("bad.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        String m = openFails(f);
        assertTrue(m.contains("'w'") && m.contains("needs 12 bytes"), m);
    }

    @Test
    void overlap() throws IOException {
        Path f = SafetensorsWriter.rawHeader(dir.resolve("bad.safetensors"),
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        String m = openFails(f);
        assertTrue(m.contains("overlap") && m.contains("'y'") && m.contains("'x'"), m);
    }

    @Test
    void badFields() throws IOException {
        Path f = dir.resolve("bad.safetensors");
        SafetensorsWriter.rawHeader(f, "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8]);
        assertTrue(openFails(f).contains("'x'"));
        SafetensorsWriter.rawHeader(f, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]);
        assertTrue(openFails(f).contains("data_offsets"));
        SafetensorsWriter.rawHeader(f, "{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        assertTrue(openFails(f).contains("dtype"));
        SafetensorsWriter.rawHeader(f, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8]);
        assertTrue(openFails(f).contains("'x'"));
        SafetensorsWriter.rawHeader(f, "{\"__metadata__\":{\"n\":3}}", new byte[0]);
        assertTrue(openFails(f).contains("__metadata__"));
        assertTrue(openFails(dir.resolve("absent.safetensors")).contains("no such"));
    }

    @Test
    void shardedCheckpoint() throws IOException {
        new SafetensorsWriter().f32("a", ramp(3, 1), 3).f32("b", ramp(2, 2), 2).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().bf16("c", ramp(4, 3), 4).write(dir.resolve("model-00002-of-00002.safetensors"));
        String index = "{\"metadata\":{\"total_size\":28},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00001-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"}}";
        Path idx = Files.writeString(dir.resolve("model.safetensors.index.json"), index);
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(3, c.names().size());
            assertEquals(2, c.files().size());
            assertArrayEquals(ramp(2, 2), c.floats("b"));
            assertEquals(4, c.floats("c").length);
        }
        // A tensor the index puts in the wrong shard.
        Files.writeString(idx, index.replace("\"c\":\"model-00002", "\"c\":\"model-00001"));
        var e = assertThrows(WeightFormatException.class, () -> Checkpoint.open(idx));
        assertTrue(e.getMessage().contains("'c'"), e.getMessage());
        // A missing shard.
        Files.writeString(idx, index.replace("00002-of-00002", "00003-of-00002"));
        e = assertThrows(WeightFormatException.class, () -> Checkpoint.open(idx));
        assertTrue(e.getMessage().contains("'c'") && e.getMessage().contains("no such"), e.getMessage());
        // A shard with a tensor the index does not list.
        Files.writeString(idx, index.replace(",\"b\":\"model-00001-of-00002.safetensors\"", ""));
        e = assertThrows(WeightFormatException.class, () -> Checkpoint.open(idx));
        assertTrue(e.getMessage().contains("'b'"), e.getMessage());
        Files.writeString(idx, "{\"weight_map\": 3}");
        assertThrows(WeightFormatException.class, () -> Checkpoint.open(idx));
    }
}

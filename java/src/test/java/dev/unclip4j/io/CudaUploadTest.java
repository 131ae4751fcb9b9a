package dev.unclip4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mapped safetensors bytes uploaded straight to GPU memory, raw and converted (skipped without CUDA). */
@Tag("gpu")
class CudaUploadTest {
    @TempDir
    Path dir;

    @Test
    void uploadsEveryFloatTypeToCuda() throws IOException {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i * 0.37) * 3;
        Path f = new SafetensorsWriter().f32("a", v, 10, 100).f16("b", v, 1000).bf16("c", v, 1000)
                .write(dir.resolve("m.safetensors"));
        try (Checkpoint c = Checkpoint.open(f); Backend cuda = Backend.cuda(0)) {
            for (String name : new String[] {"a", "b", "c"}) {
                for (DType t : DType.values()) {
                    try (Tensor x = c.upload(name, cuda, t)) {
                        float[] want = c.floats(name);
                        for (int i = 0; i < want.length; i++) want[i] = HostCodec.round(want[i], t);
                        assertArrayEquals(want, x.toFloatArray(), name + " as " + t);
                    }
                }
            }
        }
    }
}

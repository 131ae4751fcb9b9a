package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The towers on CUDA against openai/CLIP's float32 outputs, skipped without a device. Bounds: f32
 * 1e-4 as on the CPU; bf16 1e-2 (weights and activations stored with 8 mantissa bits, ~4e-3
 * relative per rounding, accumulated in float32). NOT YET RUN ON A GPU.
 */
@Tag("gpu")
class ClipTowerCudaParityTest {
    @ParameterizedTest(name = "{0} ({1} layout)")
    @MethodSource("dev.unclip4j.clip.ClipTowerParity#models")
    void towersMatchOpenAiClipOnCuda(String model, String layout) {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        try (Backend cuda = Backend.cuda(0)) {
            ClipTowerParity.assertBelow("cuda f32 " + model + "/" + layout,
                    ClipTowerParity.errors(model, layout, cuda, DType.F32), 1e-4);
            ClipTowerParity.assertBelow("cuda bf16 " + model + "/" + layout,
                    ClipTowerParity.errors(model, layout, cuda, DType.BF16), 1e-2);
        }
    }
}

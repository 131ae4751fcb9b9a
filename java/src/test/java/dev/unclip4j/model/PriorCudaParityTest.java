package dev.unclip4j.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PriorTransformer and TextProjection on CUDA against diffusers' float32 outputs, skipped without a
 * device. Bounds: f32 1e-4 as on the CPU; bf16 2e-2 (weights and activations stored with 8 mantissa
 * bits, ~4e-3 relative per rounding, a few roundings deep, accumulated in float32). NOT YET RUN ON A GPU.
 */
@Tag("gpu")
class PriorCudaParityTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.unclip4j.model.PriorFixtures#priors")
    void priorMatchesDiffusersOnCuda(String fixture, Path weights) {
        try (Backend cuda = cuda()) {
            PriorFixtures.assertBelow("cuda f32 " + fixture, PriorFixtures.priorErrors(fixture, weights, cuda, DType.F32), 1e-4, 1e-3);
            PriorFixtures.assertBelow("cuda bf16 " + fixture, PriorFixtures.priorErrors(fixture, weights, cuda, DType.BF16), 2e-2, 2e-2);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.unclip4j.model.PriorFixtures#textProjections")
    void textProjectionMatchesDiffusersOnCuda(String fixture, Path weights) {
        try (Backend cuda = cuda()) {
            PriorFixtures.assertBelow("cuda f32 " + fixture, PriorFixtures.textProjectionErrors(fixture, weights, cuda, DType.F32),
                    1e-4, 1e-4);
            PriorFixtures.assertBelow("cuda bf16 " + fixture, PriorFixtures.textProjectionErrors(fixture, weights, cuda, DType.BF16),
                    2e-2, 2e-2);
        }
    }

    private static Backend cuda() {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        return Backend.cuda(0);
    }
}

package dev.unclip4j.model;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TextProjection on the CPU against diffusers v0.20.0's UnCLIPTextProjModel, with and without
 * classifier-free guidance. Bound 1e-4 relative L2 (REFERENCE.md): three linears and a LayerNorm
 * in float32, differing from torch only in summation order.
 */
class TextProjectionParityTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.unclip4j.model.PriorFixtures#textProjections")
    void matchesDiffusers(String fixture, Path weights) {
        try (Backend cpu = Backend.cpu()) {
            PriorFixtures.assertBelow("cpu f32 " + fixture, PriorFixtures.textProjectionErrors(fixture, weights, cpu, DType.F32),
                    1e-4, 1e-4);
        }
    }
}

package dev.unclip4j.model;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PriorTransformer on the CPU against diffusers v0.20.0's float32 outputs, every case of every
 * fixture (tools/reference/make_prior_fixture.py), intermediates included.
 *
 * <p>Bound 1e-4 relative L2 per tensor (REFERENCE.md): both sides compute in float32 and differ
 * only in summation order (~1e-7 per op, a few dozen ops deep) and in the timestep projection,
 * which torch computes in float32 (t·freq rounded, up to ~1.6e-5 relative at t ≈ 999) and
 * uc_timestep_embedding in double. Measured: see docs/unclip-networks.md.
 */
class PriorTransformerParityTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.unclip4j.model.PriorFixtures#priors")
    void matchesDiffusers(String fixture, Path weights) {
        try (Backend cpu = Backend.cpu()) {
            PriorFixtures.assertBelow("cpu f32 " + fixture, PriorFixtures.priorErrors(fixture, weights, cpu, DType.F32), 1e-4, 1e-3);
        }
    }
}

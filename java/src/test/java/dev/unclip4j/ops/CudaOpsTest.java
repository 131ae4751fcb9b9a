package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row of the op table on the CUDA backend against the CPU backend, on the same inputs
 * (rounded to the dtype first, so both compute on identical values). Skipped without a GPU.
 */
@Tag("gpu")
class CudaOpsTest {
    private static Backend cpu;
    private static Backend cuda;

    @BeforeAll
    static void open() {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        cpu = Backend.cpu();
        cuda = Backend.cuda(0);
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (cpu != null) cpu.close();
    }

    /**
     * CUDA vs CPU bounds. F32: both accumulate in f32, in different orders: a few 2^-24
     * roundings, 1e-5 (the bound). F16/BF16: the inputs are exactly representable, so
     * the difference is the output's one rounding to the storage type (2^-11 for f16, 2^-8 for
     * bf16 at worst, smaller in L2): 2e-3 and 1e-2.
     */
    static double tolerance(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-5;
            case F16 -> 2e-3;
            case BF16 -> 1e-2;
        };
    }

    static Stream<Arguments> cases() {
        return OpCases.all().stream().flatMap(c -> Stream.of(DType.values()).map(d -> Arguments.of(c, d)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesCpu(OpCase c, DType dtype) {
        float[][] inputs = OpHarness.inputs(c, dtype);
        float[] expected = OpHarness.run(c, cpu, DType.F32, inputs);
        float[] actual = OpHarness.run(c, cuda, dtype, inputs);
        double error = OpHarness.relativeL2(actual, expected);
        assertTrue(error <= tolerance(dtype), c + " " + dtype + ": CUDA vs CPU relative L2 error " + error);
    }

    @Test
    void aWeightIsNeverReleasedOnTheGpu() {
        // Device memory is the weight's only copy there: uc_weight_release changes nothing.
        float[] values = {1, 2, 3, 4, 5, 6};
        try (Tensor w = cuda.fromFloats(DType.F32, values, 2, 3)) {
            cuda.context().prepareWeight(DType.F32, w.address(), 2, 3);
            assertFalse(cuda.context().releaseWeight(w.address()));
            cuda.context().restoreWeight(w.address());
            assertArrayEquals(values, w.toFloatArray());
        }
    }
}

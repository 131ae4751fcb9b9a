package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every row of the op table on the CPU backend against its double-precision reference. */
class CpuOpsTest {
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    static Stream<OpCase> cases() {
        return OpCases.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesReference(OpCase c) {
        float[][] inputs = OpHarness.inputs(c, DType.F32);
        float[] out = OpHarness.run(c, cpu, DType.F32, inputs);
        double error = OpHarness.relativeL2(out, c.reference().compute(inputs));
        assertTrue(error <= c.tolerance(), c + ": relative L2 error " + error + " > " + c.tolerance() + " (" + c.why() + ")");
    }
}

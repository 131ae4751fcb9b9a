package dev.unclip4j.ops;

import static dev.unclip4j.ops.OpAssertions.fails;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Ops;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input to every op gives an {@link UnclipException} naming the op and the problem, from
 * the Java checks and, behind them, from the native ones (called directly here); never a crash.
 */
class BadInputTest {
    private Backend cpu;
    private Tensor a4, b4, out4, w;

    @BeforeEach
    void open() {
        cpu = Backend.cpu();
        a4 = cpu.fromFloats(DType.F32, new float[] {1, 2, 3, 4}, 2, 2);
        b4 = cpu.fromFloats(DType.F32, new float[] {1, 2, 3, 4}, 2, 2);
        out4 = cpu.allocate(DType.F32, 2, 2);
        w = cpu.fromFloats(DType.F32, new float[] {1, 0, 0, 1}, 2, 2);
    }

    @AfterEach
    void close() {
        cpu.close();
    }

    /** Each op, called with its three tensors standing for (input, input, output). */
    private void forEachOp(Consumer<OpCall> check) {
        check.accept(new OpCall("uc_add", (x, y, o) -> cpu.add(x, y, o)));
        check.accept(new OpCall("uc_mul", (x, y, o) -> cpu.mul(x, y, o)));
        check.accept(new OpCall("uc_activate", (x, y, o) -> cpu.activate(Activation.SILU, x, o)));
        check.accept(new OpCall("uc_linear", (x, y, o) -> cpu.linear(x, y, null, null, o, Activation.NONE)));
    }

    private record OpCall(String op, TriConsumer call) {}

    @FunctionalInterface
    private interface TriConsumer {
        void accept(Tensor a, Tensor b, Tensor out);
    }

    @Test
    void nullTensors() {
        forEachOp(c -> {
            fails(c.op(), "is null", Status.INVALID_ARGUMENT, () -> c.call().accept(null, w, out4));
            fails(c.op(), "out is null", Status.INVALID_ARGUMENT, () -> c.call().accept(a4, w, null));
        });
    }

    @Test
    void closedTensors() {
        Tensor closed = cpu.fromFloats(DType.F32, new float[] {1, 2, 3, 4}, 2, 2);
        closed.close();
        forEachOp(c -> {
            fails(c.op(), "is closed", Status.INVALID_ARGUMENT, () -> c.call().accept(closed, w, out4));
            fails(c.op(), "is closed", Status.INVALID_ARGUMENT, () -> c.call().accept(a4, w, closed));
        });
    }

    @Test
    void mismatchedShapes() {
        try (Tensor out3 = cpu.allocate(DType.F32, 3)) {
            forEachOp(c -> fails(c.op(), "[3]", Status.INVALID_ARGUMENT, () -> c.call().accept(a4, w, out3)));
        }
        try (Tensor b3 = cpu.allocate(DType.F32, 3)) {
            fails("uc_add", "does not broadcast", Status.INVALID_ARGUMENT, () -> cpu.add(a4, b3, out4));
            fails("uc_mul", "does not broadcast", Status.INVALID_ARGUMENT, () -> cpu.mul(a4, b3, out4));
            fails("uc_linear", "does not end in k", Status.INVALID_ARGUMENT,
                    () -> cpu.linear(b3, w, null, null, out4, Activation.NONE));
            fails("uc_linear", "bias is [3]", Status.INVALID_ARGUMENT, () -> cpu.linear(a4, w, b3, null, out4, Activation.NONE));
        }
    }

    @Test
    void wrongDTypes() {
        // Mixed dtypes are refused in Java; an f16 op reaches the cpu library, which computes in f32 only.
        try (Tensor h = cpu.allocate(DType.F16, 2, 2); Tensor h2 = cpu.allocate(DType.F16, 2, 2);
             Tensor hout = cpu.allocate(DType.F16, 2, 2)) {
            forEachOp(c -> {
                fails(c.op(), "mixed dtypes", Status.INVALID_ARGUMENT, () -> c.call().accept(a4, w, hout));
                fails(c.op(), "f32 only", Status.UNSUPPORTED, () -> c.call().accept(h, h2, hout));
            });
        }
    }

    @Test
    void tensorsOfAnotherBackend() {
        try (Backend other = Backend.cpu(); Tensor foreign = other.allocate(DType.F32, 2, 2)) {
            forEachOp(c -> fails(c.op(), "another backend", Status.INVALID_ARGUMENT, () -> c.call().accept(foreign, w, out4)));
        }
    }

    @Test
    void nativeChecksBehindTheJavaOnes() {
        // The C ABI is public too: the library validates on its own and returns a status.
        Ops ops = cpu.context().ops();
        MemorySegment p = a4.address(), q = b4.address(), o = out4.address(), nil = MemorySegment.NULL;
        fails("uc_add", "n = -1", Status.INVALID_ARGUMENT, () -> ops.add(DType.F32, p, q, o, -1, 1));
        fails("uc_add", "does not divide", Status.INVALID_ARGUMENT, () -> ops.add(DType.F32, p, q, o, 4, 3));
        fails("uc_mul", "null pointer", Status.INVALID_ARGUMENT, () -> ops.mul(DType.F32, nil, q, o, 4, 4));
        fails("uc_mul", "nb = 0", Status.INVALID_ARGUMENT, () -> ops.mul(DType.F32, p, q, o, 4, 0));
        fails("uc_activate", "n = -5", Status.INVALID_ARGUMENT, () -> ops.activate(Activation.SILU, DType.F32, p, o, -5));
        fails("uc_activate", "activation 0", Status.INVALID_ARGUMENT, () -> ops.activate(Activation.NONE, DType.F32, p, o, 4));
        fails("uc_activate", "null pointer", Status.INVALID_ARGUMENT, () -> ops.activate(Activation.GELU_ERF, DType.F32, p, nil, 4));
        fails("uc_linear", "m=-2", Status.INVALID_ARGUMENT, () -> ops.linear(DType.F32, p, q, nil, nil, o, -2, 2, 2, Activation.NONE));
        fails("uc_linear", "null pointer", Status.INVALID_ARGUMENT, () -> ops.linear(DType.F32, nil, q, nil, nil, o, 2, 2, 2, Activation.NONE));
    }

    @Test
    void outAliasingB() {
        // out may be a (in place), never b: the cuda kernel reads b through a __restrict__ pointer.
        fails("uc_add", "out must not alias b", Status.INVALID_ARGUMENT, () -> cpu.add(a4, b4, b4));
        fails("uc_mul", "out must not alias b", Status.INVALID_ARGUMENT, () -> cpu.mul(a4, b4, b4));
        Ops ops = cpu.context().ops();
        MemorySegment p = a4.address(), q = b4.address();
        fails("uc_add", "out must not alias b", Status.INVALID_ARGUMENT, () -> ops.add(DType.F32, p, q, q, 4, 4));
        fails("uc_mul", "out must not alias b", Status.INVALID_ARGUMENT, () -> ops.mul(DType.F32, p, q, q, 4, 4));
        cpu.add(a4, b4, a4);
        assertEquals(8f, a4.toFloatArray()[3]);
    }

    @Test
    void cancelledContextFailsOpsUntilReset() {
        cpu.context().cancel();
        fails("uc_add", "cancelled", Status.CANCELLED, () -> cpu.add(a4, b4, out4));
        cpu.context().resetCancel();
        cpu.add(a4, b4, out4);
        assertEquals(8f, out4.toFloatArray()[3]);
    }
}

package dev.unclip4j.ops;

import static dev.unclip4j.ops.OpAssertions.fails;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Ops;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the transformer ops (BadInputTest's sibling): head dim out of range, mask shape
 * mismatch, no keys, bad strides, out-of-range ids… give an {@link UnclipException} naming the
 * op and the problem, from the Java checks and from the native ones behind them.
 */
class TransformerBadInputTest {
    private Backend cpu;
    private Tensor q, k, v, out;

    @BeforeEach
    void open() {
        cpu = Backend.cpu();
        q = cpu.allocate(DType.F32, 2, 5, 2, 8).fillBytes(0);
        k = cpu.allocate(DType.F32, 2, 7, 2, 8).fillBytes(0);
        v = cpu.allocate(DType.F32, 2, 7, 2, 8).fillBytes(0);
        out = cpu.allocate(DType.F32, 2, 5, 2, 8);
    }

    @AfterEach
    void close() {
        cpu.close();
    }

    @Test
    void headDimOutOfRange() {
        try (Tensor q2 = cpu.allocate(DType.F32, 1, 3, 1, 129); Tensor o2 = cpu.allocate(DType.F32, 1, 3, 1, 129);
             Tensor qkv = cpu.allocate(DType.F32, 1, 3, 3, 1, 160); Tensor o3 = cpu.allocate(DType.F32, 1, 3, 1, 160)) {
            fails("uc_attention", "head_dim = 129 is outside", Status.INVALID_ARGUMENT,
                    () -> cpu.attention(q2, q2, q2, null, o2, 1, false));
            fails("uc_attention", "head_dim = 160 is outside", Status.INVALID_ARGUMENT,
                    () -> cpu.attentionQkv(qkv, null, o3, 1, true));
            fails("uc_attention_added_kv", "head_dim = 129 is outside", Status.INVALID_ARGUMENT,
                    () -> cpu.attentionAddedKv(q2, q2, q2, null, q2, q2, o2, 1));
        }
        Ops ops = cpu.context().ops();
        MemorySegment p = q.address(), o = out.address();
        fails("uc_attention", "head_dim = 0 is outside", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, p, 16, p, 16, MemorySegment.NULL, o, 1, 1, 1, 2, 0, 1, false));
        fails("uc_attention", "head_dim = 256 is outside", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 512, p, 512, p, 512, MemorySegment.NULL, o, 1, 1, 1, 2, 256, 1, false));
        fails("uc_attention_added_kv", "head_dim = 200 is outside", Status.INVALID_ARGUMENT,
                () -> ops.attentionAddedKv(DType.F32, p, 200, p, p, 200, MemorySegment.NULL, 1, p, p, 200, 1, o, 1, 1, 1,
                        200, 1));
    }

    @Test
    void maskShapeMismatch() {
        try (Tensor m6 = cpu.allocate(DType.F32, 2, 6); Tensor m1 = cpu.allocate(DType.F32, 1, 7);
             Tensor m3d = cpu.allocate(DType.F32, 2, 7, 1); Tensor mh = cpu.allocate(DType.F16, 2, 7)) {
            fails("uc_attention", "mask is [2, 6], expected [B, Lk] = [2, 7]", Status.INVALID_ARGUMENT,
                    () -> cpu.attention(q, k, v, m6, out, 1, false));
            fails("uc_attention", "mask is [1, 7]", Status.INVALID_ARGUMENT, () -> cpu.attention(q, k, v, m1, out, 1, false));
            fails("uc_attention", "mask is [2, 7, 1]", Status.INVALID_ARGUMENT,
                    () -> cpu.attention(q, k, v, m3d, out, 1, false));
            fails("uc_attention", "mixed dtypes", Status.INVALID_ARGUMENT, () -> cpu.attention(q, k, v, mh, out, 1, false));
            // The text mask covers the text keys only: a mask as long as text + spatial is wrong.
            try (Tensor kText = cpu.allocate(DType.F32, 2, 6, 2, 8); Tensor m7 = cpu.allocate(DType.F32, 2, 7)) {
                fails("uc_attention_added_kv", "textMask is [2, 7], expected [B, Lk] = [2, 6]", Status.INVALID_ARGUMENT,
                        () -> cpu.attentionAddedKv(q, kText, kText, m7, k, v, out, 1));
            }
        }
    }

    @Test
    void noKeys() {
        try (Tensor k0 = cpu.allocate(DType.F32, 2, 0, 2, 8); Tensor qkv0 = cpu.allocate(DType.F32, 2, 0, 3, 2, 8);
             Tensor o0 = cpu.allocate(DType.F32, 2, 0, 2, 8)) {
            fails("uc_attention", "lk = 0", Status.INVALID_ARGUMENT, () -> cpu.attention(q, k0, k0, null, out, 1, false));
            fails("uc_attention", "lk = 0", Status.INVALID_ARGUMENT, () -> cpu.attentionQkv(qkv0, null, o0, 1, true));
            fails("uc_attention_added_kv", "lt + ls = 0", Status.INVALID_ARGUMENT,
                    () -> cpu.attentionAddedKv(q, k0, k0, null, k0, k0, out, 1));
        }
        Ops ops = cpu.context().ops();
        MemorySegment p = q.address(), o = out.address(), nil = MemorySegment.NULL;
        fails("uc_attention", "lk = 0: attention needs at least one key", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, p, 16, p, 16, nil, o, 2, 5, 0, 2, 8, 1, false));
        fails("uc_attention_added_kv", "lt + ls = 0", Status.INVALID_ARGUMENT,
                () -> ops.attentionAddedKv(DType.F32, p, 16, p, p, 16, nil, 0, p, p, 16, 0, o, 2, 5, 2, 8, 1));
        fails("uc_attention_added_kv", "lt = -1", Status.INVALID_ARGUMENT,
                () -> ops.attentionAddedKv(DType.F32, p, 16, p, p, 16, nil, -1, p, p, 16, 3, o, 2, 5, 2, 8, 1));
    }

    @Test
    void mismatchedAttentionOperands() {
        try (Tensor k3 = cpu.allocate(DType.F32, 2, 7, 3, 8); Tensor v6 = cpu.allocate(DType.F32, 2, 6, 2, 8);
             Tensor flat = cpu.allocate(DType.F32, 2, 5, 16); Tensor o4 = cpu.allocate(DType.F32, 2, 4, 2, 8)) {
            fails("uc_attention", "does not match q", Status.INVALID_ARGUMENT, () -> cpu.attention(q, k3, k3, null, out, 1, false));
            fails("uc_attention", "k [2, 7, 2, 8] and v [2, 6, 2, 8] differ", Status.INVALID_ARGUMENT,
                    () -> cpu.attention(q, k, v6, null, out, 1, false));
            fails("uc_attention", "q must be [B, L, H, D]", Status.INVALID_ARGUMENT,
                    () -> cpu.attention(flat, k, v, null, out, 1, false));
            fails("uc_attention", "[2, 4, 2, 8] differ", Status.INVALID_ARGUMENT, () -> cpu.attention(q, k, v, null, o4, 1, false));
            fails("uc_attention", "qkv must be [B, L, 3, H, D]", Status.INVALID_ARGUMENT,
                    () -> cpu.attentionQkv(k3, null, out, 1, false));
        }
    }

    @Test
    void nativeAttentionChecks() {
        Ops ops = cpu.context().ops();
        MemorySegment p = q.address(), o = out.address(), nil = MemorySegment.NULL;
        fails("uc_attention", "q_stride = 10 is smaller than heads·head_dim = 16", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 10, p, 16, p, 16, nil, o, 2, 5, 7, 2, 8, 1, false));
        fails("uc_attention", "v_stride = 15", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, p, 16, p, 15, nil, o, 2, 5, 7, 2, 8, 1, false));
        fails("uc_attention", "heads = 0", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, p, 16, p, 16, nil, o, 2, 5, 7, 0, 8, 1, false));
        fails("uc_attention", "scale = nan is not finite", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, p, 16, p, 16, nil, o, 2, 5, 7, 2, 8, Float.NaN, false));
        fails("uc_attention", "null pointer", Status.INVALID_ARGUMENT,
                () -> ops.attention(DType.F32, p, 16, nil, 16, p, 16, nil, o, 2, 5, 7, 2, 8, 1, false));
        fails("uc_attention", "f32 only", Status.UNSUPPORTED,
                () -> ops.attention(DType.BF16, p, 16, p, 16, p, 16, nil, o, 2, 5, 7, 2, 8, 1, false));
        fails("uc_attention_added_kv", "self_stride = 4", Status.INVALID_ARGUMENT,
                () -> ops.attentionAddedKv(DType.F32, p, 16, p, p, 16, nil, 3, p, p, 4, 3, o, 2, 5, 2, 8, 1));
        fails("uc_attention_added_kv", "null pointer", Status.INVALID_ARGUMENT,
                () -> ops.attentionAddedKv(DType.F32, p, 16, nil, p, 16, nil, 3, p, p, 16, 3, o, 2, 5, 2, 8, 1));
    }

    @Test
    void layerNormAndSoftmax() {
        try (Tensor x = cpu.allocate(DType.F32, 3, 4).fillBytes(0); Tensor o = cpu.allocate(DType.F32, 3, 4);
             Tensor g5 = cpu.allocate(DType.F32, 5); Tensor o5 = cpu.allocate(DType.F32, 3, 5);
             Tensor empty = cpu.allocate(DType.F32, 3, 0)) {
            fails("uc_layer_norm", "gamma is [5], expected [4]", Status.INVALID_ARGUMENT, () -> cpu.layerNorm(x, g5, null, o, 1e-5f));
            fails("uc_layer_norm", "beta is [5]", Status.INVALID_ARGUMENT, () -> cpu.layerNorm(x, null, g5, o, 1e-5f));
            fails("uc_layer_norm", "[3, 5] differ", Status.INVALID_ARGUMENT, () -> cpu.layerNorm(x, null, null, o5, 1e-5f));
            fails("uc_layer_norm", "C >= 1", Status.INVALID_ARGUMENT, () -> cpu.layerNorm(empty, null, null, empty, 1e-5f));
            fails("uc_layer_norm", "eps = -1", Status.INVALID_ARGUMENT, () -> cpu.layerNorm(x, null, null, o, -1f));
            fails("uc_softmax", "[3, 5] differ", Status.INVALID_ARGUMENT, () -> cpu.softmax(x, o5));
            fails("uc_softmax", "n >= 1", Status.INVALID_ARGUMENT, () -> cpu.softmax(empty, empty));
            Ops ops = cpu.context().ops();
            fails("uc_softmax", "rows=-1", Status.INVALID_ARGUMENT, () -> ops.softmax(DType.F32, x.address(), o.address(), -1, 4));
            fails("uc_layer_norm", "null pointer", Status.INVALID_ARGUMENT, () -> ops.layerNorm(DType.F32, MemorySegment.NULL,
                    MemorySegment.NULL, MemorySegment.NULL, o.address(), 3, 4, 1e-5f));
        }
    }

    @Test
    void timestepEmbedding() {
        try (Tensor t = cpu.fromFloats(DType.F32, new float[] {1, 500}, 2); Tensor th = cpu.allocate(DType.F16, 2);
             Tensor o = cpu.allocate(DType.F32, 2, 8); Tensor o3 = cpu.allocate(DType.F32, 3, 8);
             Tensor o1 = cpu.allocate(DType.F32, 2, 1)) {
            fails("uc_timestep_embedding", "timesteps must be F32", Status.INVALID_ARGUMENT,
                    () -> cpu.timestepEmbedding(th, o, true, 0, 10000));
            fails("uc_timestep_embedding", "expected [2, dim]", Status.INVALID_ARGUMENT,
                    () -> cpu.timestepEmbedding(t, o3, true, 0, 10000));
            fails("uc_timestep_embedding", "dim = 1 must be >= 2", Status.INVALID_ARGUMENT,
                    () -> cpu.timestepEmbedding(t, o1, true, 0, 10000));
            fails("uc_timestep_embedding", "must be below dim/2 = 4", Status.INVALID_ARGUMENT,
                    () -> cpu.timestepEmbedding(t, o, true, 4, 10000));
            fails("uc_timestep_embedding", "max_period = 0", Status.INVALID_ARGUMENT,
                    () -> cpu.timestepEmbedding(t, o, true, 0, 0));
        }
    }

    @Test
    void embeddingIds() {
        try (Tensor table = cpu.allocate(DType.F32, 10, 4).fillBytes(0); Tensor o = cpu.allocate(DType.F32, 3, 4);
             Tensor o5 = cpu.allocate(DType.F32, 3, 5)) {
            fails("uc_embedding", "ids[1] = 10 is outside [0, 10)", Status.INVALID_ARGUMENT,
                    () -> cpu.embedding(table, new int[] {0, 10, 2}, o));
            fails("uc_embedding", "ids[2] = -1", Status.INVALID_ARGUMENT, () -> cpu.embedding(table, new int[] {0, 1, -1}, o));
            fails("uc_embedding", "expected [3, 4]", Status.INVALID_ARGUMENT, () -> cpu.embedding(table, new int[] {0, 1, 2}, o5));
            fails("uc_embedding", "ids is null", Status.INVALID_ARGUMENT, () -> cpu.embedding(table, null, o));
            // The native check behind the Java one: ids in host memory, as the cpu backend's are.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_INT, 3, 99, 1);
                Ops ops = cpu.context().ops();
                fails("uc_embedding", "ids[1] = 99 is outside [0, 10)", Status.INVALID_ARGUMENT,
                        () -> ops.embedding(DType.F32, table.address(), ids, o.address(), 3, 10, 4));
                fails("uc_embedding", "vocab=0", Status.INVALID_ARGUMENT,
                        () -> ops.embedding(DType.F32, table.address(), ids, o.address(), 3, 0, 4));
            }
        }
    }
}

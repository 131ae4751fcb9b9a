package dev.unclip4j.tensor;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.Context;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.bindings.UnclipLibrary;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * Where tensors live and ops run: a context of libunclip_cpu or libunclip_cuda. The two
 * libraries implement the same C ABI, so a backend is just which library its context came from
 * (DESIGN.md, layer 1); every op below is the same Java code for both.
 *
 * <p>Device memory, streams and the copies between host and device go through that same C ABI
 * (uc_alloc, uc_memcpy, uc_synchronize) rather than JavaCPP's CUDA presets: libunclip_cuda links
 * the CUDA runtime statically, so a machine needs only the NVIDIA driver, the GPU bundle stays
 * small, and there is one way to reach memory on both backends. JavaCPP's presets are kept for
 * what they are good at, calling cuBLAS and cuDNN as comparison anchors in the benchmarks.
 *
 * <p>A backend is used by one thread at a time (its context holds one stream and one error slot).
 */
public final class Backend implements AutoCloseable {
    /** {@code -Dunclip.backend=auto|cpu|cuda} (or the environment's UNCLIP_BACKEND) overrides auto. */
    public static final String BACKEND_PROPERTY = "unclip.backend";

    public enum Kind { CPU, CUDA }

    private final Kind kind;
    private final Context context;
    private String device;
    private OpProfile profile;   // null: not profiling (see startProfile)

    private Backend(Kind kind, Context context) {
        this.kind = kind;
        this.context = context;
        this.device = context.describeDevice();
    }

    /** The CPU backend (libunclip_cpu). */
    public static Backend cpu() {
        return new Backend(Kind.CPU, UnclipLibrary.get(UnclipLibrary.Kind.CPU).createContext(0));
    }

    /** The CUDA backend on GPU {@code device}; fails with "no CUDA device" where there is none. */
    public static Backend cuda(int device) {
        return new Backend(Kind.CUDA, UnclipLibrary.get(UnclipLibrary.Kind.CUDA).createContext(device));
    }

    /**
     * By name: "cpu", "cuda" (GPU 0), "cuda:N", or "auto" — CUDA when a device is present, else
     * the CPU.
     */
    public static Backend named(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("auto")) return auto();
        if (n.equals("cpu")) return cpu();
        if (n.equals("cuda")) return cuda(0);
        if (n.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(n.substring(5)));
            } catch (NumberFormatException e) {
                throw UnclipException.invalidArgument("backend", "bad CUDA device number in '" + name + "'");
            }
        }
        throw UnclipException.invalidArgument("backend", "unknown backend '" + name + "' (auto, cpu, cuda, cuda:N)");
    }

    /** The backend the {@value #BACKEND_PROPERTY} property or UNCLIP_BACKEND names, else auto. */
    public static Backend fromEnvironment() {
        String name = System.getProperty(BACKEND_PROPERTY, System.getenv().getOrDefault("UNCLIP_BACKEND", "auto"));
        return named(name);
    }

    /** CUDA when a library and a device are present, else the CPU, saying why on the logger. */
    public static Backend auto() {
        try {
            return cuda(0);
        } catch (UnclipException e) {
            System.getLogger("dev.unclip4j").log(System.Logger.Level.DEBUG, "using the CPU backend: " + e.getMessage());
            return cpu();
        }
    }

    /** Why the CUDA backend cannot be used here, or null when it can. */
    public static String cudaUnavailableReason() {
        try {
            cuda(0).close();
            return null;
        } catch (UnclipException e) {
            return e.getMessage();
        }
    }

    public Kind kind() {
        return kind;
    }

    /** "cpu" or "cuda". */
    public String name() {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /** The device in one line (GPU name and capability, or the CPU model and thread count). */
    public String device() {
        return device;
    }

    public Context context() {
        return context;
    }

    /**
     * The CPU threads this backend's ops use, ≥ 1, or 0 for OpenMP's default (OMP_NUM_THREADS,
     * else one per core); no effect on CUDA.
     */
    public void setThreads(int threads) {
        context.setThreads(threads);
        device = context.describeDevice();
    }

    // ---- memory -----------------------------------------------------------------------------

    /** A new tensor that owns its memory (uninitialised); close it. */
    public Tensor allocate(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
        MemorySegment base = context.alloc(bytes);
        return new Tensor(new Storage(this, base, bytes, true), 0, shape, dtype, true);
    }

    /** A new tensor holding {@code values} converted to {@code dtype}. */
    public Tensor fromFloats(DType dtype, float[] values, long... shape) {
        Tensor t = allocate(dtype, shape);
        try {
            return t.copyFrom(values);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** A workspace of this backend for per-pass activations, starting with {@code bytes}. */
    public Workspace newWorkspace(long bytes) {
        return new Workspace(this, bytes);
    }

    /** Waits until all queued work is done (a no-op on the CPU). */
    public void synchronize() {
        context.synchronize();
    }

    // ---- profiling ------------------------------------------------------------------------------

    /**
     * Starts timing every op of this backend into a new {@link OpProfile} (replacing any earlier
     * one) and returns it. Only the downcall is timed, not the Java argument checks before it.
     * While profiling, each op waits for its own completion ({@link #synchronize}), so on CUDA a
     * time is the op's, not its launch's — and the stream is serialised; on the CPU, whose ops are
     * synchronous, nothing changes. Off by default: then an op pays one null check.
     */
    public OpProfile startProfile() {
        profile = new OpProfile();
        return profile;
    }

    /** Stops timing; returns the profile that was filled (null if none was started). */
    public OpProfile stopProfile() {
        OpProfile p = profile;
        profile = null;
        return p;
    }

    private long profileStart() {
        return profile == null ? 0L : System.nanoTime();
    }

    private void profileEnd(String op, long t0) {
        if (profile == null) return;
        context.synchronize();
        profile.add(op, System.nanoTime() - t0);
    }

    // ---- ops --------------------------------------------------------------------------------

    /** out = a + b, b broadcast over a's leading dimensions (b's shape is a suffix of a's); out may be a, not b. */
    public void add(Tensor a, Tensor b, Tensor out) {
        long nb = checkBroadcast("uc_add", a, b, out);
        long t0 = profileStart();
        context.ops().add(a.dtype(), a.address(), b.address(), out.address(), a.numel(), nb);
        profileEnd("uc_add", t0);
    }

    /** out = a * b, b broadcast over a's leading dimensions (b's shape is a suffix of a's); out may be a, not b. */
    public void mul(Tensor a, Tensor b, Tensor out) {
        long nb = checkBroadcast("uc_mul", a, b, out);
        long t0 = profileStart();
        context.ops().mul(a.dtype(), a.address(), b.address(), out.address(), a.numel(), nb);
        profileEnd("uc_mul", t0);
    }

    /** out = act(x), elementwise. */
    public void activate(Activation act, Tensor x, Tensor out) {
        String op = "uc_activate";
        require(op, "x", x);
        require(op, "out", out);
        if (act == null || act == Activation.NONE) throw UnclipException.invalidArgument(op, "no activation given");
        sameDType(op, x, out);
        sameShape(op, "x", x, "out", out);
        long t0 = profileStart();
        context.ops().activate(act, x.dtype(), x.address(), out.address(), x.numel());
        profileEnd("uc_activate", t0);
    }

    /**
     * Copies columns [srcColumn, srcColumn + columns) of src into columns [dstColumn, dstColumn +
     * columns) of dst, each tensor seen as [rows, its last dim] with the same rows: a concatenation
     * or a slice along the last dim (the channels of NHWC; reshape [B, L, D] to [B, L·D] to place
     * a token). src and dst must not overlap.
     */
    public void copyColumns(Tensor src, long srcColumn, Tensor dst, long dstColumn, long columns) {
        String op = "uc_copy_2d";
        require(op, "src", src);
        require(op, "dst", dst);
        sameDType(op, src, dst);
        if (src.rank() < 1 || dst.rank() < 1) throw UnclipException.invalidArgument(op, "src and dst need a last dim");
        long rows = leading(src);
        if (leading(dst) != rows) {
            throw UnclipException.invalidArgument(op, "src " + Arrays.toString(src.shape()) + " and dst "
                    + Arrays.toString(dst.shape()) + " differ in their leading dims");
        }
        long sw = src.dim(-1), dw = dst.dim(-1);
        if (columns < 0 || srcColumn < 0 || dstColumn < 0 || srcColumn + columns > sw || dstColumn + columns > dw) {
            throw UnclipException.invalidArgument(op, "columns " + columns + " from " + srcColumn + " of src "
                    + Arrays.toString(src.shape()) + " to " + dstColumn + " of dst " + Arrays.toString(dst.shape())
                    + " fall outside");
        }
        long bytes = dst.dtype().byteSize();
        MemorySegment from = MemorySegment.ofAddress(src.address().address() + srcColumn * bytes);
        MemorySegment to = MemorySegment.ofAddress(dst.address().address() + dstColumn * bytes);
        long t0 = profileStart();
        context.ops().copy2d(src.dtype(), from, sw, to, dw, rows, columns);
        profileEnd("uc_copy_2d", t0);
    }

    /**
     * out = act(x · wᵀ + bias) + residual, a linear layer with its epilogue fused. x: [..., k],
     * w: [n, k], bias: [n] or null, residual: like out or null, out: [..., n].
     */
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out, Activation act) {
        String op = "uc_linear";
        require(op, "x", x);
        require(op, "w", w);
        require(op, "out", out);
        if (act == null) throw UnclipException.invalidArgument(op, "activation is null (use NONE)");
        if (w.rank() != 2) throw UnclipException.invalidArgument(op, "w must be [n, k], not " + Arrays.toString(w.shape()));
        if (x.rank() < 1) throw UnclipException.invalidArgument(op, "x must be [..., k]");
        long n = w.dim(0), k = w.dim(1);
        if (x.dim(-1) != k) {
            throw UnclipException.invalidArgument(op, "x " + Arrays.toString(x.shape()) + " does not end in k = " + k
                    + " of w " + Arrays.toString(w.shape()));
        }
        long m = leading(x);
        long[] expected = x.shape();
        expected[expected.length - 1] = n;
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        sameDType(op, x, w);
        sameDType(op, x, out);
        MemorySegment biasAddress = MemorySegment.NULL, residualAddress = MemorySegment.NULL;
        if (bias != null) {
            require(op, "bias", bias);
            sameDType(op, x, bias);
            if (bias.rank() != 1 || bias.dim(0) != n) {
                throw UnclipException.invalidArgument(op, "bias is " + Arrays.toString(bias.shape()) + ", expected [" + n + "]");
            }
            biasAddress = bias.address();
        }
        if (residual != null) {
            require(op, "residual", residual);
            sameDType(op, x, residual);
            sameShape(op, "residual", residual, "out", out);
            residualAddress = residual.address();
        }
        w.prepareAsWeight(n, k);
        long t0 = profileStart();
        context.ops().linear(x.dtype(), x.address(), w.weightAddress(), biasAddress, residualAddress, out.address(), m, n, k, act);
        profileEnd("uc_linear", t0);
    }

    // ---- transformer ops ----------------------------------------------------------------------

    /**
     * Fused multi-head attention, out = softmax(scale·q·kᵀ + masks)·v, the score matrix never
     * stored. q: [B, Lq, H, D], k and v: [B, Lk, H, D], mask: [B, Lk] key-padding mask
     * (nonzero = attend) or null, causal: query i sees keys j <= i, out: [B, Lq, H, D].
     * D is 1..128; a row left with no key gets zeros.
     */
    public void attention(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor out, float scale, boolean causal) {
        String op = "uc_attention";
        long[] qs = attentionOperand(op, "q", q, null);
        long[] ks = attentionOperand(op, "k", k, qs);
        long[] vs = attentionOperand(op, "v", v, qs);
        if (!Arrays.equals(ks, vs)) throw UnclipException.invalidArgument(op, "k " + Arrays.toString(ks)
                + " and v " + Arrays.toString(vs) + " differ");
        checkAttentionOut(op, q, out);
        MemorySegment maskAddress = attentionMask(op, "mask", mask, q, qs[0], ks[1]);
        long row = qs[2] * qs[3];
        long t0 = profileStart();
        context.ops().attention(q.dtype(), q.address(), row, k.address(), row, v.address(), row, maskAddress,
                out.address(), qs[0], qs[1], ks[1], qs[2], qs[3], scale, causal);
        profileEnd("uc_attention", t0);
    }

    /**
     * Self-attention read in place from a fused QKV projection's output qkv: [B, L, 3, H, D]
     * (CLIP's in_proj: q, k, v each H·D wide, one after the other in every token's row): no
     * split copies. mask, causal and out as {@link #attention}; out: [B, L, H, D].
     */
    public void attentionQkv(Tensor qkv, Tensor mask, Tensor out, float scale, boolean causal) {
        String op = "uc_attention";
        require(op, "qkv", qkv);
        require(op, "out", out);
        if (qkv.rank() != 5 || qkv.dim(2) != 3) {
            throw UnclipException.invalidArgument(op, "qkv must be [B, L, 3, H, D], not " + Arrays.toString(qkv.shape()));
        }
        long b = qkv.dim(0), l = qkv.dim(1), h = qkv.dim(3), d = qkv.dim(4);
        checkHeadDim(op, d);
        long[] expected = {b, l, h, d};
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        sameDType(op, qkv, out);
        if (l == 0) throw UnclipException.invalidArgument(op, "lk = 0: attention needs at least one key");
        MemorySegment maskAddress = attentionMask(op, "mask", mask, qkv, b, l);
        long row = h * d, stride = 3 * row, bytes = (long) qkv.dtype().byteSize();
        MemorySegment base = qkv.address();
        MemorySegment k = MemorySegment.ofAddress(base.address() + row * bytes);
        MemorySegment v = MemorySegment.ofAddress(base.address() + 2 * row * bytes);
        long t0 = profileStart();
        context.ops().attention(qkv.dtype(), base, stride, k, stride, v, stride, maskAddress, out.address(), b, l, l,
                h, d, scale, causal);
        profileEnd("uc_attention", t0);
    }

    /**
     * Added-KV attention (the decoder U-Net's, diffusers' AttnAddedKVProcessor): q: [B, Lq, H, D]
     * from the spatial tokens; keys/values are kText/vText [B, Lt, H, D] (add_k_proj/add_v_proj
     * of the text tokens) followed by kSelf/vSelf [B, Ls, H, D], read in place, never
     * concatenated. textMask [B, Lt] (nonzero = attend) or null masks the text keys only.
     */
    public void attentionAddedKv(Tensor q, Tensor kText, Tensor vText, Tensor textMask, Tensor kSelf, Tensor vSelf,
                                 Tensor out, float scale) {
        String op = "uc_attention_added_kv";
        long[] qs = attentionOperand(op, "q", q, null);
        long[] ts = attentionOperand(op, "kText", kText, qs);
        long[] tv = attentionOperand(op, "vText", vText, qs);
        long[] ss = attentionOperand(op, "kSelf", kSelf, qs);
        long[] sv = attentionOperand(op, "vSelf", vSelf, qs);
        if (!Arrays.equals(ts, tv)) throw UnclipException.invalidArgument(op, "kText " + Arrays.toString(ts)
                + " and vText " + Arrays.toString(tv) + " differ");
        if (!Arrays.equals(ss, sv)) throw UnclipException.invalidArgument(op, "kSelf " + Arrays.toString(ss)
                + " and vSelf " + Arrays.toString(sv) + " differ");
        if (ts[1] + ss[1] == 0) throw UnclipException.invalidArgument(op, "lt + ls = 0: attention needs at least one key");
        checkAttentionOut(op, q, out);
        MemorySegment maskAddress = attentionMask(op, "textMask", textMask, q, qs[0], ts[1]);
        long row = qs[2] * qs[3];
        long t0 = profileStart();
        context.ops().attentionAddedKv(q.dtype(), q.address(), row, kText.address(), vText.address(), row, maskAddress,
                ts[1], kSelf.address(), vSelf.address(), row, ss[1], out.address(), qs[0], qs[1], qs[2], qs[3], scale);
        profileEnd("uc_attention_added_kv", t0);
    }

    /** LayerNorm over the last dim of x [..., C] (float32 statistics); gamma, beta: [C] or null. */
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, Tensor out, float eps) {
        String op = "uc_layer_norm";
        require(op, "x", x);
        require(op, "out", out);
        if (x.rank() < 1 || x.dim(-1) == 0) throw UnclipException.invalidArgument(op, "x must be [..., C] with C >= 1");
        sameDType(op, x, out);
        sameShape(op, "x", x, "out", out);
        long c = x.dim(-1);
        MemorySegment g = MemorySegment.NULL, b = MemorySegment.NULL;
        if (gamma != null) g = vectorOf(op, "gamma", gamma, x, c);
        if (beta != null) b = vectorOf(op, "beta", beta, x, c);
        long t0 = profileStart();
        context.ops().layerNorm(x.dtype(), x.address(), g, b, out.address(), leading(x), c, eps);
        profileEnd("uc_layer_norm", t0);
    }

    /** Softmax over the last dim of x [..., n], n >= 1. */
    public void softmax(Tensor x, Tensor out) {
        String op = "uc_softmax";
        require(op, "x", x);
        require(op, "out", out);
        if (x.rank() < 1 || x.dim(-1) == 0) throw UnclipException.invalidArgument(op, "x must be [..., n] with n >= 1");
        sameDType(op, x, out);
        sameShape(op, "x", x, "out", out);
        long t0 = profileStart();
        context.ops().softmax(x.dtype(), x.address(), out.address(), leading(x), x.dim(-1));
        profileEnd("uc_softmax", t0);
    }

    /**
     * diffusers' get_timestep_embedding: timesteps [n] (F32 whatever out's dtype: a bf16 999
     * rounds to 1000), out [n, dim]; [sin, cos] halves, or [cos, sin] with flipSinToCos.
     */
    public void timestepEmbedding(Tensor timesteps, Tensor out, boolean flipSinToCos, float downscaleFreqShift,
                                  float maxPeriod) {
        String op = "uc_timestep_embedding";
        require(op, "timesteps", timesteps);
        require(op, "out", out);
        if (timesteps.dtype() != DType.F32) {
            throw UnclipException.invalidArgument(op, "timesteps must be F32, not " + timesteps.dtype());
        }
        if (timesteps.rank() != 1) {
            throw UnclipException.invalidArgument(op, "timesteps must be [n], not " + Arrays.toString(timesteps.shape()));
        }
        if (out.rank() != 2 || out.dim(0) != timesteps.dim(0)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected ["
                    + timesteps.dim(0) + ", dim]");
        }
        long t0 = profileStart();
        context.ops().timestepEmbedding(out.dtype(), timesteps.address(), out.address(), timesteps.dim(0), out.dim(1),
                flipSinToCos, downscaleFreqShift, maxPeriod);
        profileEnd("uc_timestep_embedding", t0);
    }

    /**
     * out[i, :] = table[ids[i], :]. table: [vocab, dim], out: [ids.length, dim]. The ids are
     * checked here and staged in backend memory for the call (a prompt's worth, once per prompt).
     */
    public void embedding(Tensor table, int[] ids, Tensor out) {
        String op = "uc_embedding";
        require(op, "table", table);
        require(op, "out", out);
        if (ids == null) throw UnclipException.invalidArgument(op, "ids is null");
        if (table.rank() != 2) {
            throw UnclipException.invalidArgument(op, "table must be [vocab, dim], not " + Arrays.toString(table.shape()));
        }
        long vocab = table.dim(0), dim = table.dim(1);
        long[] expected = {ids.length, dim};
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        sameDType(op, table, out);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw UnclipException.invalidArgument(op, "ids[" + i + "] = " + ids[i] + " is outside [0, " + vocab + ")");
            }
        }
        if (ids.length == 0) return;
        long bytes = 4L * ids.length;
        MemorySegment staged = context.alloc(bytes);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, ids);
            context.memcpy(staged, host, bytes, Context.CopyKind.HOST_TO_DEVICE);
            long t0 = profileStart();
            context.ops().embedding(table.dtype(), table.address(), staged, out.address(), ids.length, vocab, dim);
            profileEnd("uc_embedding", t0);
        } finally {
            // Stream-ordered on cuda: the free waits for the lookup queued before it.
            context.free(staged);
        }
    }

    private static void checkHeadDim(String op, long d) {
        if (d < 1 || d > 128) {
            throw UnclipException.invalidArgument(op, "head_dim = " + d + " is outside the supported range [1, 128]");
        }
    }

    /** Checks a [B, L, H, D] attention operand (B, H, D equal to q's when q's shape is given). */
    private long[] attentionOperand(String op, String name, Tensor t, long[] qShape) {
        require(op, name, t);
        if (t.rank() != 4) {
            throw UnclipException.invalidArgument(op, name + " must be [B, L, H, D], not " + Arrays.toString(t.shape()));
        }
        long[] s = t.shape();
        if (qShape == null) {
            checkHeadDim(op, s[3]);
            return s;
        }
        if (s[0] != qShape[0] || s[2] != qShape[2] || s[3] != qShape[3]) {
            throw UnclipException.invalidArgument(op, name + " " + Arrays.toString(s) + " does not match q "
                    + Arrays.toString(qShape) + " in B, H or D");
        }
        return s;
    }

    private void checkAttentionOut(String op, Tensor q, Tensor out) {
        require(op, "out", out);
        sameDType(op, q, out);
        sameShape(op, "q", q, "out", out);
    }

    private MemorySegment attentionMask(String op, String name, Tensor mask, Tensor q, long b, long lk) {
        if (mask == null) return MemorySegment.NULL;
        require(op, name, mask);
        sameDType(op, q, mask);
        if (mask.rank() != 2 || mask.dim(0) != b || mask.dim(1) != lk) {
            throw UnclipException.invalidArgument(op, name + " is " + Arrays.toString(mask.shape()) + ", expected [B, Lk] = ["
                    + b + ", " + lk + "]");
        }
        return mask.address();
    }

    private MemorySegment vectorOf(String op, String name, Tensor t, Tensor x, long c) {
        require(op, name, t);
        sameDType(op, x, t);
        if (t.rank() != 1 || t.dim(0) != c) {
            throw UnclipException.invalidArgument(op, name + " is " + Arrays.toString(t.shape()) + ", expected [" + c + "]");
        }
        return t.address();
    }

    // ---- convolution-stack ops ----------------------------------------------------------------

    /**
     * Group norm with the ResBlock epilogue fused: out = act((norm(x)·gamma + beta)·(1 + scale) + shift),
     * statistics per image and group of C/groups channels. x, out: [N, H, W, C] (any rank ≥ 2:
     * [N, ..., C]); gamma, beta: [C] or null; scaleShift: [N, 2C] (scale then shift, diffusers'
     * time_emb_proj output for "scale_shift") or null; act: NONE or e.g. SILU. out may be x.
     */
    public void groupNorm(Tensor x, Tensor gamma, Tensor beta, Tensor scaleShift, Tensor out, int groups, float eps,
                          Activation act) {
        String op = "uc_group_norm";
        require(op, "x", x);
        require(op, "out", out);
        if (act == null) throw UnclipException.invalidArgument(op, "activation is null (use NONE)");
        if (x.rank() < 2) throw UnclipException.invalidArgument(op, "x must be [N, ..., C], not " + Arrays.toString(x.shape()));
        sameDType(op, x, out);
        sameShape(op, "x", x, "out", out);
        long n = x.dim(0), c = x.dim(-1), hw = n == 0 || c == 0 ? 0 : x.numel() / (n * c);
        if (groups <= 0 || c % groups != 0) {
            throw UnclipException.invalidArgument(op, "groups = " + groups + " does not divide C = " + c);
        }
        if (!(eps > 0)) throw UnclipException.invalidArgument(op, "eps = " + eps + " must be > 0");
        MemorySegment g = optional(op, "gamma", gamma, x, c), b = optional(op, "beta", beta, x, c);
        MemorySegment ss = optional(op, "scaleShift", scaleShift, x, n, 2 * c);
        long t0 = profileStart();
        context.ops().groupNorm(x.dtype(), x.address(), g, b, ss, out.address(), n, hw, c, groups, eps, act);
        profileEnd("uc_group_norm", t0);
    }

    /**
     * 2-D convolution, NHWC, epilogue fused: out = (conv(x, w) + bias + residual) / outputScaleFactor.
     * x: [N, H, W, Cin]; w: [Cout, KH, KW, Cin] (see {@link #conv2dWeightOhwi}); bias: [Cout] or null;
     * residual: like out or null (may be out, not x); out: [N, OH, OW, Cout], OH = (H + 2·pad − KH) / stride + 1.
     */
    public void conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out, int stride, int pad,
                       float outputScaleFactor) {
        String op = "uc_conv2d";
        require(op, "x", x);
        require(op, "w", w);
        require(op, "out", out);
        if (x.rank() != 4) throw UnclipException.invalidArgument(op, "x must be [N, H, W, Cin], not " + Arrays.toString(x.shape()));
        if (w.rank() != 4) {
            throw UnclipException.invalidArgument(op, "w must be [Cout, KH, KW, Cin], not " + Arrays.toString(w.shape()));
        }
        sameDType(op, x, w);
        sameDType(op, x, out);
        long n = x.dim(0), h = x.dim(1), width = x.dim(2), cin = x.dim(3);
        long cout = w.dim(0), kh = w.dim(1), kw = w.dim(2);
        if (w.dim(3) != cin) {
            throw UnclipException.invalidArgument(op, "w " + Arrays.toString(w.shape()) + " does not end in Cin = " + cin
                    + " of x " + Arrays.toString(x.shape()));
        }
        if (stride <= 0) throw UnclipException.invalidArgument(op, "stride = " + stride + " must be > 0");
        if (pad < 0 || pad >= kh || pad >= kw) {
            throw UnclipException.invalidArgument(op, "pad = " + pad + " must be in [0, kernel size)");
        }
        if (!(outputScaleFactor > 0)) {
            throw UnclipException.invalidArgument(op, "outputScaleFactor = " + outputScaleFactor + " must be > 0");
        }
        // The padded input's extent beyond the first kernel position: (OH − 1)·stride + remainder.
        long spanH = h + 2L * pad - kh, spanW = width + 2L * pad - kw;
        if (spanH < 0 || spanW < 0) {
            throw UnclipException.invalidArgument(op, "kernel " + kh + "x" + kw + " with pad " + pad + " does not fit x "
                    + Arrays.toString(x.shape()));
        }
        long[] expected = {n, spanH / stride + 1, spanW / stride + 1, cout};
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        MemorySegment biasAddress = optional(op, "bias", bias, x, cout);
        MemorySegment residualAddress = optional(op, "residual", residual, x, expected);
        if (residual != null && residual.address().equals(x.address())) {
            throw UnclipException.invalidArgument(op, "residual must not alias x");
        }
        w.prepareAsWeight(cout, kh * kw * cin);
        long t0 = profileStart();
        context.ops().conv2d(x.dtype(), x.address(), w.weightAddress(), biasAddress, residualAddress, out.address(), n, h, width,
                cin, cout, kh, kw, stride, pad, outputScaleFactor);
        profileEnd("uc_conv2d", t0);
    }

    /** Converts a checkpoint's conv weight [Cout, Cin, KH, KW] to uc_conv2d's [Cout, KH, KW, Cin], once at load. */
    public void conv2dWeightOhwi(Tensor w, Tensor out) {
        String op = "uc_conv2d_weight_ohwi";
        require(op, "w", w);
        require(op, "out", out);
        sameDType(op, w, out);
        if (w.rank() != 4) {
            throw UnclipException.invalidArgument(op, "w must be [Cout, Cin, KH, KW], not " + Arrays.toString(w.shape()));
        }
        long[] expected = {w.dim(0), w.dim(2), w.dim(3), w.dim(1)};
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        long t0 = profileStart();
        context.ops().conv2dWeightOhwi(w.dtype(), w.address(), out.address(), w.dim(0), w.dim(1), w.dim(2), w.dim(3));
        profileEnd("uc_conv2d_weight_ohwi", t0);
    }

    /** Nearest 2× upsample: x [N, H, W, C] to out [N, 2H, 2W, C]. */
    public void upsampleNearest2x(Tensor x, Tensor out) {
        String op = "uc_upsample_nearest2x";
        requireImage(op, x);
        checkResize(op, x, out, 2 * x.dim(1), 2 * x.dim(2));
        long t0 = profileStart();
        context.ops().upsampleNearest2x(x.dtype(), x.address(), out.address(), x.dim(0), x.dim(1), x.dim(2), x.dim(3));
        profileEnd("uc_upsample_nearest2x", t0);
    }

    /** 2×2 average pool, stride 2: x [N, H, W, C] to out [N, H/2, W/2, C] (an odd last row/column is dropped). */
    public void avgPool2x2(Tensor x, Tensor out) {
        String op = "uc_avg_pool2x2";
        requireImage(op, x);
        checkResize(op, x, out, x.dim(1) / 2, x.dim(2) / 2);
        long t0 = profileStart();
        context.ops().avgPool2x2(x.dtype(), x.address(), out.address(), x.dim(0), x.dim(1), x.dim(2), x.dim(3));
        profileEnd("uc_avg_pool2x2", t0);
    }

    /**
     * torch F.interpolate(size=(OH, OW), mode="bicubic", align_corners=False, antialias=True):
     * x [N, H, W, C] to out [N, OH, OW, C], the size taken from out.
     */
    public void resizeBicubicAa(Tensor x, Tensor out) {
        String op = "uc_resize_bicubic_aa";
        requireImage(op, x);
        require(op, "out", out);
        if (out.rank() != 4) throw UnclipException.invalidArgument(op, "out must be [N, OH, OW, C], not " + Arrays.toString(out.shape()));
        checkResize(op, x, out, out.dim(1), out.dim(2));
        if (out.numel() > 0 && (x.dim(1) == 0 || x.dim(2) == 0)) {
            throw UnclipException.invalidArgument(op, "cannot resize the empty x " + Arrays.toString(x.shape()));
        }
        long t0 = profileStart();
        context.ops().resizeBicubicAa(x.dtype(), x.address(), out.address(), x.dim(0), x.dim(1), x.dim(2), x.dim(3),
                out.dim(1), out.dim(2));
        profileEnd("uc_resize_bicubic_aa", t0);
    }

    private void requireImage(String op, Tensor x) {
        require(op, "x", x);
        if (x.rank() != 4) throw UnclipException.invalidArgument(op, "x must be [N, H, W, C], not " + Arrays.toString(x.shape()));
    }

    private void checkResize(String op, Tensor x, Tensor out, long oh, long ow) {
        require(op, "out", out);
        sameDType(op, x, out);
        long[] expected = {x.dim(0), oh, ow, x.dim(3)};
        if (!Arrays.equals(out.shape(), expected)) {
            throw UnclipException.invalidArgument(op, "out is " + Arrays.toString(out.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
        if (out.numel() > 0 && x.address().equals(out.address())) {
            throw UnclipException.invalidArgument(op, "out must not alias x");
        }
    }

    /** An optional operand's address (NULL when absent), checked for backend, dtype and shape. */
    private MemorySegment optional(String op, String name, Tensor t, Tensor like, long... shape) {
        if (t == null) return MemorySegment.NULL;
        require(op, name, t);
        sameDType(op, like, t);
        if (!Arrays.equals(t.shape(), shape)) {
            throw UnclipException.invalidArgument(op, name + " is " + Arrays.toString(t.shape()) + ", expected "
                    + Arrays.toString(shape));
        }
        return t.address();
    }

    // ---- argument checks: every op names itself and the argument at fault --------------------

    private void require(String op, String name, Tensor t) {
        if (t == null) throw UnclipException.invalidArgument(op, name + " is null");
        if (t.isClosed()) throw UnclipException.invalidArgument(op, name + " " + t + " is closed");
        if (t.backend() != this) {
            throw UnclipException.invalidArgument(op, name + " lives on another backend (" + t.backend().name()
                    + "), not on this " + name() + " backend");
        }
    }

    private static void sameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw UnclipException.invalidArgument(op, "mixed dtypes " + a.dtype() + " and " + b.dtype());
        }
    }

    private static void sameShape(String op, String aName, Tensor a, String bName, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw UnclipException.invalidArgument(op, aName + " " + Arrays.toString(a.shape()) + " and " + bName + " "
                    + Arrays.toString(b.shape()) + " differ");
        }
    }

    private static long leading(Tensor x) {
        long m = 1;
        for (int i = 0; i < x.rank() - 1; i++) m *= x.dim(i);
        return m;
    }

    /** Checks a, b, out for a broadcasting elementwise op; returns b's element count. */
    private long checkBroadcast(String op, Tensor a, Tensor b, Tensor out) {
        require(op, "a", a);
        require(op, "b", b);
        require(op, "out", out);
        sameDType(op, a, b);
        sameDType(op, a, out);
        sameShape(op, "a", a, "out", out);
        long[] as = a.shape(), bs = b.shape();
        boolean suffix = bs.length <= as.length;
        for (int i = 0; suffix && i < bs.length; i++) suffix = bs[bs.length - 1 - i] == as[as.length - 1 - i];
        if (!suffix || (b.numel() == 0 && a.numel() != 0)) {
            throw UnclipException.invalidArgument(op, "b " + Arrays.toString(bs) + " does not broadcast to a "
                    + Arrays.toString(as) + " (b's shape must be a suffix of a's)");
        }
        if (a.numel() > 0 && out.address().equals(b.address())) {
            throw UnclipException.invalidArgument(op, "out must not alias b");
        }
        return Math.max(1, b.numel());
    }

    @Override
    public void close() {
        context.close();
    }

    @Override
    public String toString() {
        return name() + " (" + device + ")";
    }
}

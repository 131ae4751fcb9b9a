package dev.unclip4j.bench.anchor;

import static dev.unclip4j.bench.anchor.CudaAnchors.check;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_EPILOGUE_BIAS;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_EPILOGUE_GELU_BIAS;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_BIAS_POINTER;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_EPILOGUE;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSA;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSB;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasLtCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmul;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulAlgoGetHeuristic;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatrixLayoutCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatrixLayoutDestroy;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16F;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

import dev.unclip4j.bindings.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulAlgo_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The cuBLASLt anchor of uc_linear: out[m][n] = act(x[m][k] · w[n][k]ᵀ + bias[n]), row-major, the
 * bias (and GELU) fused in cuBLASLt's epilogue. Float32 computes in exact fp32
 * (CUBLAS_COMPUTE_32F, not the TF32 compute type); f16/bf16 store in their type and accumulate in
 * float32 (CUBLAS_COMPUTE_32F, scale type float), as ours.
 *
 * <p><b>The column-major mapping.</b> cuBLASLt's matrices are column-major; a row-major [r][c]
 * matrix with leading dimension c is, read column-major, its transpose: a c×r matrix with
 * ld = c. So we compute the transposed product, outᵀ = w · xᵀ, which needs no copy:
 * <pre>
 *   D (n×m, ld n)  = our out[m][n] read column-major                       → M = n, N = m
 *   A (k×n, ld k)  = our w[n][k] read column-major (= wᵀ); op(A) = T → n×k = w
 *   B (k×m, ld k)  = our x[m][k] read column-major (= xᵀ); op(B) = N → k×m = xᵀ
 *   D = op(A)·op(B) = w·xᵀ = (x·wᵀ)ᵀ, K = k
 * </pre>
 * The epilogue's bias is a vector of D's row count (M = n) added to every column of D — one value
 * per output feature, as our bias. C = D with beta = 0. cuBLASLt's GELU is the tanh
 * approximation, so {@link Epilogue#GELU_BIAS} matches uc_linear with GELU_TANH.
 *
 * <p>The algorithm is cuBLASLt's first heuristic choice (cublasLtMatmulAlgoGetHeuristic) given a
 * {@value #WORKSPACE_BYTES}-byte workspace. Compiled only: it has not run on a GPU yet.
 */
public final class CublasLtLinear implements AutoCloseable {
    public enum Epilogue { BIAS, GELU_BIAS }

    /** 32 MiB: what cuBLAS recommends on Hopper for cublasLt workspaces. */
    public static final long WORKSPACE_BYTES = 32L << 20;

    private final DType dtype;
    private final int outputCount;
    private final cublasLtContext handle = new cublasLtContext();
    private cublasLtMatmulDescOpaque_t desc;
    private cublasLtMatrixLayoutOpaque_t aLayout, bLayout, dLayout;
    private cublasLtMatmulPreferenceOpaque_t preference;
    // Created in setUp, after the availability check: its class's static initialiser loads the library.
    private cublasLtMatmulHeuristicResult_t heuristic;
    private cublasLtMatmulAlgo_t algo; // heuristic's first choice, fetched once (each algo() call makes a new Pointer)
    private final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
    private DeviceBuffer x, w, bias, out, workspace;

    /**
     * Uploads x [m, k], w [n, k] and bias [n] as {@code dtype} and chooses the algorithm.
     * Requires {@link CudaAnchors#unavailableReason()} to be null.
     */
    public CublasLtLinear(DType dtype, Epilogue epilogue, int m, int n, int k, float[] xValues, float[] wValues,
                          float[] biasValues) {
        CudaAnchors.requireAvailable();
        this.dtype = dtype;
        this.outputCount = Math.multiplyExact(m, n);
        try {
            setUp(epilogue, m, n, k, xValues, wValues, biasValues);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void setUp(Epilogue epilogue, int m, int n, int k, float[] xValues, float[] wValues, float[] biasValues) {
        int dataType = switch (dtype) {
            case F32 -> CUDA_R_32F;
            case F16 -> CUDA_R_16F;
            case BF16 -> CUDA_R_16BF;
        };
        x = DeviceBuffer.upload(xValues, dtype);
        w = DeviceBuffer.upload(wValues, dtype);
        bias = DeviceBuffer.upload(biasValues, dtype);
        out = DeviceBuffer.allocate((long) outputCount * dtype.byteSize());
        workspace = DeviceBuffer.allocate(WORKSPACE_BYTES);

        heuristic = new cublasLtMatmulHeuristicResult_t(1);
        check(cublasLtCreate(handle), "cublasLtCreate");
        try (PointerPointer<cublasLtMatmulDescOpaque_t> created = new PointerPointer<>(1L)) {
            check(cublasLtMatmulDescCreate(created, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
            desc = created.get(cublasLtMatmulDescOpaque_t.class, 0);
        }
        try (IntPointer transA = new IntPointer(new int[] {CUBLAS_OP_T});
             IntPointer transB = new IntPointer(new int[] {CUBLAS_OP_N});
             IntPointer epi = new IntPointer(new int[] {epilogue == Epilogue.BIAS ? CUBLASLT_EPILOGUE_BIAS
                     : CUBLASLT_EPILOGUE_GELU_BIAS});
             LongPointer biasAddress = new LongPointer(new long[] {bias.pointer().address()})) {
            // Attribute sizes: cublasOperation_t and cublasLtEpilogue_t are 32-bit, the bias a pointer.
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, transA, 4), "cublasLtMatmulDescSetAttribute(TRANSA)");
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, transB, 4), "cublasLtMatmulDescSetAttribute(TRANSB)");
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epi, 4), "cublasLtMatmulDescSetAttribute(EPILOGUE)");
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8),
                    "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
            // The bias type is left at its default: D's type, which is our bias's dtype.
        }
        aLayout = layout(dataType, k, n, k); // w[n][k] read column-major
        bLayout = layout(dataType, k, m, k); // x[m][k] read column-major
        dLayout = layout(dataType, n, m, n); // out[m][n] read column-major

        try (PointerPointer<cublasLtMatmulPreferenceOpaque_t> created = new PointerPointer<>(1L);
             LongPointer maxWorkspace = new LongPointer(new long[] {WORKSPACE_BYTES});
             IntPointer returned = new IntPointer(1)) {
            check(cublasLtMatmulPreferenceCreate(created), "cublasLtMatmulPreferenceCreate");
            preference = created.get(cublasLtMatmulPreferenceOpaque_t.class, 0);
            check(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, maxWorkspace, 8),
                    "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
            check(cublasLtMatmulAlgoGetHeuristic(handle, desc, aLayout, bLayout, dLayout, dLayout, preference, 1, heuristic,
                    returned), "cublasLtMatmulAlgoGetHeuristic");
            if (returned.get() == 0) {
                throw new IllegalStateException("cublasLtMatmulAlgoGetHeuristic found no algorithm for " + dtype + " m=" + m
                        + " n=" + n + " k=" + k + " " + epilogue);
            }
            algo = heuristic.algo();
        }
    }

    private static cublasLtMatrixLayoutOpaque_t layout(int dataType, long rows, long cols, long ld) {
        try (PointerPointer<cublasLtMatrixLayoutOpaque_t> created = new PointerPointer<>(1L)) {
            check(cublasLtMatrixLayoutCreate(created, dataType, rows, cols, ld), "cublasLtMatrixLayoutCreate");
            return created.get(cublasLtMatrixLayoutOpaque_t.class, 0);
        }
    }

    /** One product, queued on the default stream (the caller synchronises). */
    public void run() {
        check(cublasLtMatmul(handle, desc, one, w.pointer(), aLayout, x.pointer(), bLayout, zero, out.pointer(), dLayout,
                out.pointer(), dLayout, algo, workspace.pointer(), workspace.bytes(), (CUstream_st) null),
                "cublasLtMatmul");
    }

    /** The output [m, n] as floats (waits for the device). */
    public float[] output() {
        return out.download(dtype, outputCount);
    }

    @Override
    public void close() {
        for (DeviceBuffer b : new DeviceBuffer[] {x, w, bias, out, workspace}) {
            if (b != null) b.close();
        }
        if (preference != null) cublasLtMatmulPreferenceDestroy(preference);
        for (cublasLtMatrixLayoutOpaque_t l : new cublasLtMatrixLayoutOpaque_t[] {aLayout, bLayout, dLayout}) {
            if (l != null) cublasLtMatrixLayoutDestroy(l);
        }
        if (desc != null) cublasLtMatmulDescDestroy(desc);
        if (!handle.isNull()) cublasLtDestroy(handle);
        preference = null;
        aLayout = bLayout = dLayout = null;
        desc = null;
        handle.setNull();
        if (heuristic != null) heuristic.close();
        heuristic = null;
        algo = null;
        one.close();
        zero.close();
    }
}

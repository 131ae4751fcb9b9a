package dev.unclip4j.bench;

import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;

import dev.unclip4j.bench.anchor.CublasLtLinear;
import dev.unclip4j.bench.anchor.CudaAnchors;
import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cuBLASLt anchor of {@link LinearBench}: out = act(x·wᵀ + bias), row-major, through
 * cublasLtMatmul via JavaCPP ({@link CublasLtLinear}) with the bias (and GELU) in cuBLASLt's
 * epilogue, at LinearBench's shapes, to set beside {@code LinearBench -p backend=cuda}.
 * TFLOP/s = 2·m·n·k / time.
 *
 * <p>Params: shape as LinearBench's ("mxnxk"); dtype F32 (CUBLAS_COMPUTE_32F, exact fp32, no
 * TF32), F16, BF16 (f32 accumulation); epilogue BIAS or GELU_BIAS (cuBLASLt's GELU is the tanh
 * approximation: compared with our GELU_TANH).
 *
 * <p>Setup fails, and JMH reports why and goes on, when cuBLASLt cannot be loaded or there is no
 * GPU ({@link CudaAnchors#unavailableReason()}), or when the self-check fails: one product, read
 * back and compared with our CPU uc_linear on the same inputs (rounded to the dtype), relative
 * L2 ≤ 1e-4 (F32) or 2e-2 (F16/BF16). Each timed call is followed by cudaDeviceSynchronize.
 * Run: {@code ./run bench CublasLtLinearBench} in the GPU bundle. Compiled, never run on a GPU yet.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// One fork: the native libraries are process-wide. Warmup and measurement as LinearBench's.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CublasLtLinearBench {
    @Param({"77x3072x768", "162x2048x2048", "2x1280x1280", "37x129x301"})
    public String shape;

    @Param({"F32", "F16", "BF16"})
    public DType dtype;

    @Param({"BIAS", "GELU_BIAS"})
    public CublasLtLinear.Epilogue epilogue;

    private CublasLtLinear linear;

    @Setup(Level.Trial)
    public void setUp() {
        String reason = CudaAnchors.unavailableReason();
        if (reason != null) throw new IllegalStateException(reason);
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), n = Integer.parseInt(s[1]), k = Integer.parseInt(s[2]);
        SplittableRandom random = new SplittableRandom(42);
        float[] x = LinearBench.random(random, m * k);
        float[] w = LinearBench.random(random, n * k);
        float[] bias = LinearBench.random(random, n);
        linear = new CublasLtLinear(dtype, epilogue, m, n, k, x, w, bias);
        try {
            linear.run();
            CudaAnchors.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
            Activation act = epilogue == CublasLtLinear.Epilogue.BIAS ? Activation.NONE : Activation.GELU_TANH;
            CudaAnchors.selfCheck("cuBLASLt matmul (" + epilogue + ")", dtype, linear.output(),
                    cpuLinear(dtype, m, n, k, x, w, bias, act));
        } catch (RuntimeException e) {
            linear.close();
            linear = null;
            throw e;
        }
    }

    /** Our CPU uc_linear on the inputs as the anchor sees them (rounded to dtype), in float32. */
    static float[] cpuLinear(DType dtype, int m, int n, int k, float[] x, float[] w, float[] bias, Activation act) {
        try (Backend cpu = Backend.cpu();
             Tensor tx = cpu.fromFloats(DType.F32, CudnnConvBench.rounded(x, dtype), m, k);
             Tensor tw = cpu.fromFloats(DType.F32, CudnnConvBench.rounded(w, dtype), n, k);
             Tensor tb = cpu.fromFloats(DType.F32, CudnnConvBench.rounded(bias, dtype), n);
             Tensor out = cpu.allocate(DType.F32, m, n)) {
            cpu.linear(tx, tw, tb, null, out, act);
            return out.toFloatArray();
        }
    }

    @Benchmark
    public void linear() {
        linear.run();
        CudaAnchors.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (linear != null) linear.close();
    }
}

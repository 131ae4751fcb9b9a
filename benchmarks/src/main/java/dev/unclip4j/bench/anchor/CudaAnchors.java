package dev.unclip4j.bench.anchor;

import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaSuccess;

import dev.unclip4j.bindings.DType;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;

/**
 * The one place that loads JavaCPP's CUDA presets (cudart, cublas with cuBLASLt, cudnn) for the
 * anchors, and turns the libraries' status codes into exceptions.
 *
 * <p>JavaCPP's jars bring only its JNI bridges (libjnicudart.so, libjnicublas.so,
 * libjnicudnn.so); they link against NVIDIA's own libcudart.so.13, libcublas.so.13,
 * libcublasLt.so.13 and libcudnn*.so.9, which the dynamic loader must find: installed
 * system-wide, or from the pip wheels (nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13)
 * whose {@code lib} folders go on {@code LD_LIBRARY_PATH} (the GPU bundle's {@code run} does
 * that). Anything missing is reported by {@link #unavailableReason()}, never a JVM crash.
 */
public final class CudaAnchors {
    /** Relative L2 bound of an anchor's self-check against our CPU op, float32. */
    public static final double F32_BOUND = 1e-4;
    /** Relative L2 bound of an anchor's self-check against our CPU op, f16/bf16 storage. */
    public static final double HALF_BOUND = 2e-2;

    private static final String LIBRARY_HINT =
            "put the lib folders of the nvidia pip wheels (nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13) on "
                    + "LD_LIBRARY_PATH: every <site-packages>/nvidia/*/lib (the GPU bundle's './run bench' does this "
                    + "when python3 can import nvidia)";

    private CudaAnchors() {}

    /** Probed once, on first use: loading native libraries is process-wide and cannot be undone. */
    private static final class Probe {
        static final String REASON = probe();
    }

    /** Why the anchors cannot run here (which library failed, what to set), or null when they can. */
    public static String unavailableReason() {
        return Probe.REASON;
    }

    /** Throws {@link IllegalStateException} with {@link #unavailableReason()} unless the anchors can run. */
    public static void requireAvailable() {
        String reason = unavailableReason();
        if (reason != null) throw new IllegalStateException(reason);
    }

    private static String probe() {
        // Each preset loads its JNI bridge and, through it, NVIDIA's library; cudnn's preset
        // inherits cublas's, which inherits cudart's, so the order only makes the message precise.
        String failed = load(cudart.class, "the CUDA runtime (libcudart.so.13, and the driver's libcuda.so.1)");
        if (failed == null) failed = load(cublas.class, "cuBLAS/cuBLASLt (libcublas.so.13, libcublasLt.so.13)");
        if (failed == null) failed = load(cudnn.class, "cuDNN (libcudnn.so.9 and libcudnn_{graph,ops,cnn,adv}.so.9)");
        if (failed != null) return failed;
        try {
            int[] count = {0};
            int status = cudaGetDeviceCount(count);
            if (status != cudaSuccess) {
                return "cudaGetDeviceCount failed: " + cudaErrorString(status) + " (is an NVIDIA driver installed?)";
            }
            if (count[0] == 0) return "no CUDA device: cudaGetDeviceCount found 0";
            return null;
        } catch (Throwable t) {
            return "the CUDA runtime loaded but cudaGetDeviceCount failed: " + describe(t);
        }
    }

    private static String load(Class<?> preset, String library) {
        try {
            Loader.load(preset);
            return null;
        } catch (Throwable t) { // UnsatisfiedLinkError, or a NoClassDefFoundError after a failed static init
            return "cannot load " + library + " through JavaCPP: " + describe(t) + "; " + LIBRARY_HINT;
        }
    }

    private static String describe(Throwable t) {
        StringBuilder s = new StringBuilder(String.valueOf(t));
        for (Throwable c = t.getCause(); c != null && c != t; c = c.getCause()) s.append(" / caused by ").append(c);
        return s.toString();
    }

    /**
     * Throws unless {@code status} is its library's success code. {@code what} is the called
     * function's name; its prefix picks the library whose error string the exception carries:
     * {@code cuda…} (cudaGetErrorString), {@code cudnn…} (cudnnGetErrorString), {@code cublas…}
     * (cublasGetStatusName and cublasGetStatusString; cuBLASLt shares cuBLAS's status codes).
     */
    public static void check(int status, String what) {
        if (what.startsWith("cudnn")) {
            if (status != cudnn.CUDNN_STATUS_SUCCESS) {
                throw new IllegalStateException(what + " failed: " + string(cudnn.cudnnGetErrorString(status)) + " (" + status + ")");
            }
        } else if (what.startsWith("cublas")) {
            if (status != cublas.CUBLAS_STATUS_SUCCESS) {
                throw new IllegalStateException(what + " failed: " + string(cublas.cublasGetStatusName(status)) + ", "
                        + string(cublas.cublasGetStatusString(status)));
            }
        } else if (what.startsWith("cuda")) {
            if (status != cudaSuccess) throw new IllegalStateException(what + " failed: " + cudaErrorString(status));
        } else {
            throw new IllegalArgumentException("check: '" + what + "' names no cuda/cudnn/cublas function");
        }
    }

    private static String cudaErrorString(int status) {
        return string(cudart.cudaGetErrorString(status)) + " (" + status + ")";
    }

    private static String string(BytePointer p) {
        return p == null || p.isNull() ? "(no message)" : p.getString();
    }

    /** ‖got − want‖₂ / ‖want‖₂; NaN when either holds a NaN or infinity. */
    public static double relativeL2(float[] got, float[] want) {
        if (got.length != want.length) throw new IllegalArgumentException(got.length + " values against " + want.length);
        double diff = 0, norm = 0;
        for (int i = 0; i < got.length; i++) {
            double d = (double) got[i] - want[i];
            diff += d * d;
            norm += (double) want[i] * want[i];
        }
        double r = Math.sqrt(diff) / Math.max(Math.sqrt(norm), Double.MIN_NORMAL);
        return Double.isFinite(r) ? r : Double.NaN;
    }

    /**
     * The anchor's self-check: throws unless {@code got} (the anchor's output) is within the
     * dtype's relative-L2 bound of {@code want} (our CPU op on the same inputs), so a timing is
     * only reported for an anchor that computes the same function as ours.
     */
    public static void selfCheck(String anchor, DType dtype, float[] got, float[] want) {
        double bound = dtype == DType.F32 ? F32_BOUND : HALF_BOUND;
        double error = relativeL2(got, want);
        if (!(error <= bound)) {
            throw new IllegalStateException(anchor + " does not match our CPU op: relative L2 error " + error
                    + " > " + bound + " (" + dtype + ")");
        }
    }
}

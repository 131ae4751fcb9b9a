package dev.unclip4j.bench.anchor;

import static dev.unclip4j.bench.anchor.CudaAnchors.check;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_IDENTITY;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CROSS_CORRELATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_BFLOAT16;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_HALF;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_NOT_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NHWC;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cudnn.cudnnAddTensor;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBiasActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnFindConvolutionForwardAlgorithmEx;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolution2dForwardOutputDim;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolution2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionMathType;
import static org.bytedeco.cuda.global.cudnn.cudnnSetFilter4dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensor4dDescriptor;

import dev.unclip4j.bindings.DType;
import java.util.Arrays;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The cuDNN anchor of uc_conv2d: out = conv(x, w) + bias + residual, NHWC, through cuDNN's legacy
 * (v7-style) API via JavaCPP. x: [N, H, W, Cin]; w: [Cout, KH, KW, Cin] — our OHWI layout is
 * cuDNN's NHWC filter format (K, R, S, C); bias: [Cout]; residual and out: [N, OH, OW, Cout];
 * square kernel, padding {@code pad} on every side, dilation 1, cross-correlation (as torch).
 *
 * <p>Compute type float; math type CUDNN_TENSOR_OP_MATH for f16/bf16 and CUDNN_FMA_MATH for
 * float32, so the float32 anchor is exact fp32 (no TF32), like ours.
 *
 * <p>Two epilogues:
 * <ul>
 *   <li>{@link Epilogue#FUSED}: one call, cudnnConvolutionBiasActivationForward with
 *       CUDNN_ACTIVATION_IDENTITY, y = 1·conv(x) + 1·z + bias with z = residual. cuDNN accepts
 *       the identity activation only with CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, so
 *       that algorithm is used, with the workspace it asks for; where cuDNN does not support it
 *       for a shape or dtype, the constructor throws with cuDNN's status.</li>
 *   <li>{@link Epilogue#UNFUSED}: the fastest algorithm cudnnFindConvolutionForwardAlgorithmEx
 *       measures (float32: FMA-math results only), then two cudnnAddTensor calls, bias then
 *       residual — three passes over the output, the unfused anchor.</li>
 * </ul>
 *
 * <p>The legacy API is deprecated in cuDNN 9 in favour of the graph API but still shipped and
 * dispatched to the same engines; it is used here for its simplicity. Compiled only: it has not
 * run on a GPU yet.
 */
@SuppressWarnings("deprecation") // cuDNN 9 marks its whole legacy convolution API deprecated
public final class CudnnConv implements AutoCloseable {
    public enum Epilogue { FUSED, UNFUSED }

    /** Workspace offered to cudnnFindConvolutionForwardAlgorithmEx; the chosen algorithm's own need is allocated after. */
    private static final long FIND_WORKSPACE_BYTES = 256L << 20;

    private final DType dtype;
    private final Epilogue epilogue;
    private final int outputCount;
    private final cudnnContext handle = new cudnnContext();
    private final cudnnTensorStruct xDesc = new cudnnTensorStruct(), yDesc = new cudnnTensorStruct(),
            biasDesc = new cudnnTensorStruct();
    private final cudnnFilterStruct wDesc = new cudnnFilterStruct();
    private final cudnnConvolutionStruct convDesc = new cudnnConvolutionStruct();
    private final cudnnActivationStruct activation = new cudnnActivationStruct();
    private final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
    private DeviceBuffer x, w, bias, residual, out, workspace;
    private int algo;

    /**
     * Uploads the inputs (as {@code dtype}) and sets the descriptors and algorithm up.
     * Requires {@link CudaAnchors#unavailableReason()} to be null.
     */
    public CudnnConv(DType dtype, Epilogue epilogue, int n, int h, int wd, int cin, int cout, int k, int stride, int pad,
                     float[] xValues, float[] wValues, float[] biasValues, float[] residualValues) {
        CudaAnchors.requireAvailable();
        this.dtype = dtype;
        this.epilogue = epilogue;
        int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
        this.outputCount = Math.multiplyExact(Math.multiplyExact(n * oh, ow), cout);
        try {
            setUp(n, h, wd, cin, cout, k, stride, pad, oh, ow, xValues, wValues, biasValues, residualValues);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void setUp(int n, int h, int wd, int cin, int cout, int k, int stride, int pad, int oh, int ow,
                       float[] xValues, float[] wValues, float[] biasValues, float[] residualValues) {
        int dataType = switch (dtype) {
            case F32 -> CUDNN_DATA_FLOAT;
            case F16 -> CUDNN_DATA_HALF;
            case BF16 -> CUDNN_DATA_BFLOAT16;
        };
        int mathType = dtype == DType.F32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
        check(cudnnCreate(handle), "cudnnCreate");
        check(cudnnCreateTensorDescriptor(xDesc), "cudnnCreateTensorDescriptor");
        check(cudnnCreateTensorDescriptor(yDesc), "cudnnCreateTensorDescriptor");
        check(cudnnCreateTensorDescriptor(biasDesc), "cudnnCreateTensorDescriptor");
        check(cudnnCreateFilterDescriptor(wDesc), "cudnnCreateFilterDescriptor");
        check(cudnnCreateConvolutionDescriptor(convDesc), "cudnnCreateConvolutionDescriptor");
        check(cudnnCreateActivationDescriptor(activation), "cudnnCreateActivationDescriptor");

        // Tensors: (format, type, n, c, h, w) — dimensions in NCHW order, memory in NHWC.
        check(cudnnSetTensor4dDescriptor(xDesc, CUDNN_TENSOR_NHWC, dataType, n, cin, h, wd), "cudnnSetTensor4dDescriptor(x)");
        check(cudnnSetTensor4dDescriptor(yDesc, CUDNN_TENSOR_NHWC, dataType, n, cout, oh, ow), "cudnnSetTensor4dDescriptor(y)");
        check(cudnnSetTensor4dDescriptor(biasDesc, CUDNN_TENSOR_NHWC, dataType, 1, cout, 1, 1), "cudnnSetTensor4dDescriptor(bias)");
        // Filter: (type, format, k, c, h, w) — note the swapped order against the tensor call.
        check(cudnnSetFilter4dDescriptor(wDesc, dataType, CUDNN_TENSOR_NHWC, cout, cin, k, k), "cudnnSetFilter4dDescriptor");
        check(cudnnSetConvolution2dDescriptor(convDesc, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor");
        check(cudnnSetConvolutionMathType(convDesc, mathType), "cudnnSetConvolutionMathType");
        check(cudnnSetActivationDescriptor(activation, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0),
                "cudnnSetActivationDescriptor");

        int[] on = {0}, oc = {0}, ohh = {0}, oww = {0};
        check(cudnnGetConvolution2dForwardOutputDim(convDesc, xDesc, wDesc, on, oc, ohh, oww),
                "cudnnGetConvolution2dForwardOutputDim");
        int[] dims = {on[0], ohh[0], oww[0], oc[0]};
        if (!Arrays.equals(dims, new int[] {n, oh, ow, cout})) {
            throw new IllegalStateException("cuDNN's output " + Arrays.toString(dims) + " is not uc_conv2d's "
                    + Arrays.toString(new int[] {n, oh, ow, cout}));
        }

        x = DeviceBuffer.upload(xValues, dtype);
        w = DeviceBuffer.upload(wValues, dtype);
        bias = DeviceBuffer.upload(biasValues, dtype);
        residual = DeviceBuffer.upload(residualValues, dtype);
        out = DeviceBuffer.allocate((long) outputCount * dtype.byteSize());

        if (epilogue == Epilogue.FUSED) {
            algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
            try (SizeTPointer size = new SizeTPointer(1)) {
                check(cudnnGetConvolutionForwardWorkspaceSize(handle, xDesc, wDesc, convDesc, yDesc, algo, size),
                        "cudnnGetConvolutionForwardWorkspaceSize(IMPLICIT_PRECOMP_GEMM)");
                workspace = DeviceBuffer.allocate(size.get());
            }
        } else {
            findAlgorithm(mathType);
        }
    }

    /** UNFUSED: the fastest measured algorithm that keeps our math (float32: FMA only, no TF32). */
    private void findAlgorithm(int mathType) {
        int requested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        try (DeviceBuffer findSpace = DeviceBuffer.allocate(FIND_WORKSPACE_BYTES);
             cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(requested)) {
            int[] returned = {0};
            check(cudnnFindConvolutionForwardAlgorithmEx(handle, xDesc, x.pointer(), wDesc, w.pointer(), convDesc, yDesc,
                    out.pointer(), requested, returned, perf, findSpace.pointer(), findSpace.bytes()),
                    "cudnnFindConvolutionForwardAlgorithmEx");
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < returned[0]; i++) { // sorted fastest first
                cudnnConvolutionFwdAlgoPerf_t p = perf.getPointer(i);
                seen.append(" algo ").append(p.algo()).append(" status ").append(p.status()).append(" math ").append(p.mathType());
                if (p.status() != CUDNN_STATUS_SUCCESS) continue;
                if (dtype == DType.F32 && p.mathType() != CUDNN_FMA_MATH) continue;
                algo = p.algo();
                check(cudnnSetConvolutionMathType(convDesc, p.mathType()), "cudnnSetConvolutionMathType");
                workspace = DeviceBuffer.allocate(p.memory());
                return;
            }
            throw new IllegalStateException("cudnnFindConvolutionForwardAlgorithmEx found no usable algorithm (math type "
                    + mathType + " wanted):" + seen);
        }
    }

    /** One forward pass, queued on the default stream (the caller synchronises). */
    public void run() {
        if (epilogue == Epilogue.FUSED) {
            check(cudnnConvolutionBiasActivationForward(handle, one, xDesc, x.pointer(), wDesc, w.pointer(), convDesc, algo,
                    workspace.pointer(), workspace.bytes(), one, yDesc, residual.pointer(), biasDesc, bias.pointer(),
                    activation, yDesc, out.pointer()), "cudnnConvolutionBiasActivationForward");
        } else {
            check(cudnnConvolutionForward(handle, one, xDesc, x.pointer(), wDesc, w.pointer(), convDesc, algo,
                    workspace.pointer(), workspace.bytes(), zero, yDesc, out.pointer()), "cudnnConvolutionForward");
            check(cudnnAddTensor(handle, one, biasDesc, bias.pointer(), one, yDesc, out.pointer()), "cudnnAddTensor(bias)");
            check(cudnnAddTensor(handle, one, yDesc, residual.pointer(), one, yDesc, out.pointer()), "cudnnAddTensor(residual)");
        }
    }

    /** The algorithm in use (a cudnnConvolutionFwdAlgo_t). */
    public int algorithm() {
        return algo;
    }

    /** The output [N, OH, OW, Cout] as floats (waits for the device). */
    public float[] output() {
        return out.download(dtype, outputCount);
    }

    @Override
    public void close() {
        for (DeviceBuffer b : new DeviceBuffer[] {x, w, bias, residual, out, workspace}) {
            if (b != null) b.close();
        }
        if (!activation.isNull()) cudnnDestroyActivationDescriptor(activation);
        if (!convDesc.isNull()) cudnnDestroyConvolutionDescriptor(convDesc);
        if (!wDesc.isNull()) cudnnDestroyFilterDescriptor(wDesc);
        for (cudnnTensorStruct d : new cudnnTensorStruct[] {xDesc, yDesc, biasDesc}) {
            if (!d.isNull()) cudnnDestroyTensorDescriptor(d);
        }
        if (!handle.isNull()) cudnnDestroy(handle);
        activation.setNull();
        convDesc.setNull();
        wDesc.setNull();
        xDesc.setNull();
        yDesc.setNull();
        biasDesc.setNull();
        handle.setNull();
        one.close();
        zero.close();
    }
}

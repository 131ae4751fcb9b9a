package dev.unclip4j.bench.anchor;

import static dev.unclip4j.bench.anchor.CudaAnchors.check;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Device memory of an anchor, through JavaCPP's cudart (cudaMalloc, cudaMemcpy, cudaFree): the
 * anchors never share memory with our backend, whose CUDA runtime is linked statically into
 * libunclip_cuda.
 */
final class DeviceBuffer implements AutoCloseable {
    private final Pointer pointer;
    private final long bytes;

    private DeviceBuffer(Pointer pointer, long bytes) {
        this.pointer = pointer;
        this.bytes = bytes;
    }

    /** Uninitialised device memory; 0 bytes gives a null pointer (an unused workspace). */
    static DeviceBuffer allocate(long bytes) {
        Pointer p = new Pointer();
        if (bytes > 0) check(cudaMalloc(p, bytes), "cudaMalloc(" + bytes + " bytes)");
        return new DeviceBuffer(p, bytes);
    }

    /**
     * {@code values} stored as {@code dtype} on the device, encoded exactly as our backends store
     * them: through a CPU tensor of that dtype (HostCodec, round to nearest even), whose bytes
     * are copied up.
     */
    static DeviceBuffer upload(float[] values, DType dtype) {
        byte[] host;
        try (Backend cpu = Backend.cpu(); Tensor t = cpu.fromFloats(dtype, values, values.length)) {
            host = t.toByteArray();
        }
        DeviceBuffer b = allocate(host.length);
        try (BytePointer staging = new BytePointer(host)) {
            check(cudaMemcpy(b.pointer, staging, host.length, cudaMemcpyHostToDevice), "cudaMemcpy (host to device)");
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    /** The first {@code count} elements, read back as floats (waits for the device). */
    float[] download(DType dtype, int count) {
        long size = (long) count * dtype.byteSize();
        if (size > bytes) throw new IllegalArgumentException(count + " " + dtype + " values from a buffer of " + bytes + " bytes");
        byte[] host = new byte[Math.toIntExact(size)];
        try (BytePointer staging = new BytePointer(size)) {
            check(cudaMemcpy(staging, pointer, size, cudaMemcpyDeviceToHost), "cudaMemcpy (device to host)");
            staging.get(host);
        }
        ByteBuffer in = ByteBuffer.wrap(host).order(ByteOrder.nativeOrder());
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = switch (dtype) {
                case F32 -> in.getFloat(4 * i);
                case F16 -> Float.float16ToFloat(in.getShort(2 * i));
                case BF16 -> HostCodec.bf16ToFloat(in.getShort(2 * i));
            };
        }
        return values;
    }

    Pointer pointer() {
        return pointer;
    }

    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        if (bytes > 0 && !pointer.isNull()) {
            cudaFree(pointer);
            pointer.setNull();
        }
    }
}

package dev.unclip4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One of unclip4j's native libraries, opened once: a downcall handle per symbol of
 * native/include/unclip.h, made when the library is first opened. The cpu and cuda libraries
 * export the same symbols; which one a {@link Context} was created from decides the backend.
 */
public final class UnclipLibrary {
    /** The {@code UC_ABI_VERSION} these bindings were written for. */
    public static final int ABI_VERSION = 1;

    /** The op symbols of unclip.h (everything but context and memory management). */
    public static final List<String> OPS = List.of(
            // elementwise and matrix
            "uc_add", "uc_mul", "uc_activate", "uc_copy_2d", "uc_linear",
            // transformer
            "uc_attention", "uc_attention_added_kv", "uc_layer_norm", "uc_softmax", "uc_timestep_embedding",
            "uc_embedding"
            // convolution stack
            , "uc_group_norm", "uc_conv2d", "uc_conv2d_weight_ohwi", "uc_upsample_nearest2x", "uc_avg_pool2x2",
            "uc_resize_bicubic_aa"
    );

    public enum Kind {
        CPU("unclip_cpu"),
        CUDA("unclip_cuda");

        final String libraryName;

        Kind(String libraryName) {
            this.libraryName = libraryName;
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    // ADDRESS_RET: a returned C string, readable up to its terminating NUL.
    private static final java.lang.foreign.AddressLayout STRING = ADDRESS.withTargetLayout(
            java.lang.foreign.MemoryLayout.sequenceLayout(Long.MAX_VALUE, java.lang.foreign.ValueLayout.JAVA_BYTE));

    private final Kind kind;
    private final Path path;
    private final int version;
    final MethodHandle abiVersion;
    final MethodHandle backendName;
    final MethodHandle contextCreate;
    final MethodHandle contextDestroy;
    final MethodHandle contextLastError;
    final MethodHandle contextCancel;
    final MethodHandle contextResetCancel;
    final MethodHandle contextSetThreads;
    final MethodHandle weightPrepare;
    final MethodHandle weightForget;
    final MethodHandle weightRelease;
    final MethodHandle weightRestore;
    final MethodHandle deviceDescribe;
    final MethodHandle alloc;
    final MethodHandle free;
    final MethodHandle memcpy;
    final MethodHandle memset;
    final MethodHandle synchronize;
    final MethodHandle eventCreate;
    final MethodHandle eventDestroy;
    final MethodHandle eventRecord;
    final MethodHandle eventElapsedMs;
    final MethodHandle add;
    final MethodHandle mul;
    final MethodHandle activate;
    final MethodHandle linear;
    // transformer
    final MethodHandle attention;
    final MethodHandle attentionAddedKv;
    final MethodHandle layerNorm;
    final MethodHandle softmax;
    final MethodHandle timestepEmbedding;
    final MethodHandle embedding;

    // convolution stack
    final MethodHandle groupNorm;
    final MethodHandle conv2d;
    final MethodHandle conv2dWeightOhwi;
    final MethodHandle upsampleNearest2x;
    final MethodHandle copy2d;
    final MethodHandle avgPool2x2;
    final MethodHandle resizeBicubicAa;

    private UnclipLibrary(Kind kind, Path path, SymbolLookup lookup) {
        this.kind = kind;
        this.path = path;
        abiVersion = handle(lookup, "uc_abi_version", FunctionDescriptor.of(JAVA_INT));
        backendName = handle(lookup, "uc_backend_name", FunctionDescriptor.of(STRING));
        contextCreate = handle(lookup, "uc_context_create", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        contextDestroy = handle(lookup, "uc_context_destroy", FunctionDescriptor.ofVoid(ADDRESS));
        contextLastError = handle(lookup, "uc_context_last_error", FunctionDescriptor.of(STRING, ADDRESS));
        contextCancel = handle(lookup, "uc_context_cancel", FunctionDescriptor.ofVoid(ADDRESS));
        contextResetCancel = handle(lookup, "uc_context_reset_cancel", FunctionDescriptor.ofVoid(ADDRESS));
        contextSetThreads = handle(lookup, "uc_context_set_threads", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        weightPrepare = handle(lookup, "uc_weight_prepare", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        weightForget = handle(lookup, "uc_weight_forget", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        weightRelease = handle(lookup, "uc_weight_release", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        weightRestore = handle(lookup, "uc_weight_restore", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        deviceDescribe = handle(lookup, "uc_device_describe", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        alloc = handle(lookup, "uc_alloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        free = handle(lookup, "uc_free", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        memcpy = handle(lookup, "uc_memcpy", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
        memset = handle(lookup, "uc_memset", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG));
        synchronize = handle(lookup, "uc_synchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        eventCreate = handle(lookup, "uc_event_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        eventDestroy = handle(lookup, "uc_event_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        eventRecord = handle(lookup, "uc_event_record", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        eventElapsedMs = handle(lookup, "uc_event_elapsed_ms", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        add = handle(lookup, "uc_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
        mul = handle(lookup, "uc_mul", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
        activate = handle(lookup, "uc_activate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        linear = handle(lookup, "uc_linear", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        // transformer
        attention = handle(lookup, "uc_attention", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, JAVA_INT));
        attentionAddedKv = handle(lookup, "uc_attention_added_kv", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT));
        layerNorm = handle(lookup, "uc_layer_norm", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_FLOAT));
        softmax = handle(lookup, "uc_softmax", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_LONG));
        timestepEmbedding = handle(lookup, "uc_timestep_embedding", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT));
        embedding = handle(lookup, "uc_embedding", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));

        // convolution stack
        groupNorm = handle(lookup, "uc_group_norm", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, JAVA_INT));
        conv2d = handle(lookup, "uc_conv2d", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_FLOAT));
        conv2dWeightOhwi = handle(lookup, "uc_conv2d_weight_ohwi", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        copy2d = handle(lookup, "uc_copy_2d", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG,
                ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        upsampleNearest2x = handle(lookup, "uc_upsample_nearest2x", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        avgPool2x2 = handle(lookup, "uc_avg_pool2x2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        resizeBicubicAa = handle(lookup, "uc_resize_bicubic_aa", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

        try {
            version = (int) abiVersion.invokeExact();
        } catch (Throwable t) {
            throw new UnclipException("uc_abi_version", Status.INTERNAL, t.toString());
        }
        if (version != ABI_VERSION) {
            throw new UnclipException("load " + kind.libraryName, Status.UNSUPPORTED,
                    "library ABI version " + version + " does not match the bindings' " + ABI_VERSION);
        }
    }

    private static final class Holder {
        static final Optional<UnclipLibrary> CPU = open(Kind.CPU);
        static final Optional<UnclipLibrary> CUDA = open(Kind.CUDA);

        private static Optional<UnclipLibrary> open(Kind kind) {
            if (kind == Kind.CPU) NativeLibrary.preferPassiveOpenMpWait();
            return NativeLibrary.locate(kind.libraryName)
                    .map(path -> new UnclipLibrary(kind, path, SymbolLookup.libraryLookup(path, Arena.global())));
        }
    }

    /**
     * The library of this kind, opened on first use; fails with {@link Status#UNSUPPORTED} when
     * this build has none for this platform (e.g. no CUDA compiler was found when it was built).
     */
    public static UnclipLibrary get(Kind kind) {
        Optional<UnclipLibrary> library = kind == Kind.CPU ? Holder.CPU : Holder.CUDA;
        return library.orElseThrow(() -> new UnclipException("load " + NativeLibrary.fileName(kind.libraryName),
                Status.UNSUPPORTED, "this build has no " + NativeLibrary.fileName(kind.libraryName) + " for "
                        + NativeLibrary.platform()
                        + (System.getProperty(NativeLibrary.DIR_PROPERTY) != null
                                ? " in " + System.getProperty(NativeLibrary.DIR_PROPERTY) : "")));
    }

    public Kind kind() {
        return kind;
    }

    /** The file this library was opened from (the cache copy of the jar's, or -Dunclip.native.dir's). */
    public Path path() {
        return path;
    }

    /** The library's {@code UC_ABI_VERSION} (equal to {@link #ABI_VERSION}: a library that differs is refused). */
    public int abiVersion() {
        return version;
    }

    /** "cpu" or "cuda", as the library itself says. */
    public String backendName() {
        try {
            return ((MemorySegment) backendName.invokeExact()).getString(0);
        } catch (Throwable t) {
            throw new UnclipException("uc_backend_name", Status.INTERNAL, t.toString());
        }
    }

    /**
     * A new context on {@code device}. Fails with the library's reason, e.g. {@link Status#DEVICE_ERROR}
     * "no CUDA device: …" where there is no GPU or no driver.
     */
    public Context createContext(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int status = (int) contextCreate.invokeExact(device, out);
            MemorySegment handle = out.get(ADDRESS, 0);
            if (status == 0) return new Context(this, handle);
            String message = handle.equals(MemorySegment.NULL) ? "could not allocate a context" : lastError(handle);
            if (!handle.equals(MemorySegment.NULL)) contextDestroy.invokeExact(handle);
            throw new UnclipException("uc_context_create", Status.of(status), message);
        } catch (UnclipException e) {
            throw e;
        } catch (Throwable t) {
            throw new UnclipException("uc_context_create", Status.INTERNAL, t.toString());
        }
    }

    String lastError(MemorySegment context) throws Throwable {
        return ((MemorySegment) contextLastError.invokeExact(context)).getString(0);
    }

    private static MethodHandle handle(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new UnclipException("load", Status.UNSUPPORTED,
                "the native library has no symbol " + name + " (a build older than these bindings?)"));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    @Override
    public String toString() {
        return "UnclipLibrary[" + kind.libraryName + "]";
    }
}

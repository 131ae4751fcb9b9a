package dev.unclip4j.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds a native library of unclip4j, which {@link UnclipLibrary} opens with its own
 * {@link java.lang.foreign.SymbolLookup}, so that libunclip_cpu and libunclip_cuda, which export
 * the same symbols, can be open side by side.
 *
 * <p>The libraries travel inside the bindings jar under {@code native/<platform>/}; they are
 * copied once to a cache folder named after their content hash (dlopen needs a file). For
 * development, {@code -Dunclip.native.dir=DIR} loads them from DIR instead.
 */
final class NativeLibrary {
    static final String DIR_PROPERTY = "unclip.native.dir";

    private NativeLibrary() {}

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osPart = os.contains("linux") ? "linux" : os.replaceAll("\\s+", "");
        String archPart = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osPart + "-" + archPart;
    }

    static String fileName(String name) {
        return "lib" + name + ".so";
    }

    /** The file of lib{name}.so to open, or empty when this build or platform has no such library. */
    static Optional<Path> locate(String name) {
        String override = System.getProperty(DIR_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override).resolve(fileName(name));
            return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
        }
        String resource = "/native/" + platform() + "/" + fileName(name);
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) return Optional.empty();
            return Optional.of(extract(name, in.readAllBytes()));
        } catch (IOException e) {
            throw new UnclipException("load " + fileName(name), Status.INTERNAL,
                    "could not copy the native library out of the jar: " + e.getMessage());
        }
    }

    /**
     * Sets OMP_WAIT_POLICY=passive in this process's environment unless it is set already, before
     * libunclip_cpu (and with it libgomp, which reads the variable once as it loads) is opened:
     * OpenMP threads that wait on a futex instead of spinning give their core back at once to
     * whatever else runs — the JVM's own threads, other requests, other processes on a shared
     * machine — which spinning threads starve (regions of a millisecond took 100+ ms that way).
     * The price is a thread wake-up per parallel op, which the ops' work thresholds keep rare
     * (native/src/cpu.h). Without effect where libgomp is already loaded.
     */
    static void preferPassiveOpenMpWait() {
        if (System.getenv("OMP_WAIT_POLICY") != null) return;
        Linker linker = Linker.nativeLinker();
        Optional<MemorySegment> setenv = linker.defaultLookup().find("setenv");
        if (setenv.isEmpty()) return;
        MethodHandle call = linker.downcallHandle(setenv.get(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int unused = (int) call.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("passive"), 0);
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(OMP_WAIT_POLICY) failed", t);
        }
    }

    private static Path extract(String name, byte[] bytes) throws IOException {
        String hash = sha256(bytes).substring(0, 16);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"),
                "unclip4j-" + System.getProperty("user.name", "user"), hash);
        Path target = dir.resolve(fileName(name));
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length) return target;
        Files.createDirectories(dir);
        // Written under a temporary name and moved into place, so a concurrent JVM never
        // opens a half-written library.
        Path temp = Files.createTempFile(dir, fileName(name), ".part");
        try {
            Files.write(temp, bytes);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        return target;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}

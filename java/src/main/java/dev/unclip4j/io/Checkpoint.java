package dev.unclip4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.bindings.Context.CopyKind;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The tensors of one model: a single {@code .safetensors} file or the shards a
 * {@code *.safetensors.index.json} names, all memory-mapped, looked up by name.
 *
 * <p>Typed access: {@link #segment} (the mapped little-endian bytes), {@link #floats} (any float
 * type widened to float32), {@link #longs} (I64), {@link #upload} (to a backend tensor; a raw
 * copy when the stored type is already the wanted one). {@link #unusedNames} lists the tensors
 * nobody asked for, which loaders report as unexpected.
 */
public final class Checkpoint implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;
    private final Set<String> used = Collections.synchronizedSet(new TreeSet<>());

    private Checkpoint(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.source = source;
        this.files = files;
        this.byName = byName;
    }

    /**
     * Opens a {@code .safetensors} file, a {@code .safetensors.index.json}, or a folder holding
     * exactly one of {@code model.safetensors} / {@code model.safetensors.index.json} (else the
     * single {@code *.safetensors} or index it holds).
     */
    public static Checkpoint open(Path path) {
        if (Files.isDirectory(path)) return open(findIn(path));
        String name = path.getFileName().toString();
        if (name.endsWith(".index.json")) return openIndex(path);
        SafetensorsFile f = SafetensorsFile.open(path);
        return new Checkpoint(path, List.of(f), indexFiles(List.of(f)));
    }

    private static Path findIn(Path dir) {
        for (String candidate : List.of("model.safetensors", "model.safetensors.index.json")) {
            if (Files.isRegularFile(dir.resolve(candidate))) return dir.resolve(candidate);
        }
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".safetensors.index.json")).forEach(found::add);
        } catch (IOException e) {
            throw new WeightFormatException(dir + ": cannot list: " + e.getMessage(), e);
        }
        if (found.isEmpty()) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).forEach(found::add);
            } catch (IOException e) {
                throw new WeightFormatException(dir + ": cannot list: " + e.getMessage(), e);
            }
        }
        if (found.size() != 1) {
            throw new WeightFormatException(dir + ": expected one model.safetensors or *.safetensors.index.json, found "
                    + (found.isEmpty() ? "none" : found.stream().map(p -> p.getFileName().toString()).sorted().toList()));
        }
        return found.getFirst();
    }

    private static Checkpoint openIndex(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new WeightFormatException(index + ": no such index file");
        } catch (IOException e) {
            throw new WeightFormatException(index + ": malformed index JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new WeightFormatException(index + ": the index has no 'weight_map' object");
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                if (!e.getValue().isTextual()) {
                    throw new WeightFormatException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
                }
                String shard = e.getValue().textValue();
                Path shardPath = index.resolveSibling(shard);
                if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                    throw new WeightFormatException(index + ": tensor '" + e.getKey() + "' names a shard outside the folder: " + shard);
                }
                wanted.put(e.getKey(), shard);
                if (!shards.containsKey(shard)) {
                    try {
                        SafetensorsFile f = SafetensorsFile.open(shardPath);
                        opened.add(f);
                        shards.put(shard, f);
                    } catch (WeightFormatException x) {
                        throw new WeightFormatException(index + ": shard of tensor '" + e.getKey() + "': " + x.getMessage(), x);
                    }
                }
            }
            Map<String, SafetensorsFile> byName = indexFiles(opened);
            for (Map.Entry<String, String> e : wanted.entrySet()) {
                SafetensorsFile f = byName.get(e.getKey());
                if (f == null || f != shards.get(e.getValue())) {
                    throw new WeightFormatException(index + ": tensor '" + e.getKey() + "' is listed in shard "
                            + e.getValue() + " but that shard does not hold it");
                }
            }
            for (String name : byName.keySet()) {
                if (!wanted.containsKey(name)) {
                    throw new WeightFormatException(index + ": tensor '" + name + "' in shard "
                            + byName.get(name).path().getFileName() + " is missing from the index's weight_map");
                }
            }
            return new Checkpoint(index, List.copyOf(opened), byName);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, SafetensorsFile> indexFiles(List<SafetensorsFile> files) {
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        for (SafetensorsFile f : files) {
            for (String n : f.names()) {
                SafetensorsFile other = byName.putIfAbsent(n, f);
                if (other != null) {
                    throw new WeightFormatException("tensor '" + n + "' is in two shards: " + other.path() + " and " + f.path());
                }
            }
        }
        return Collections.unmodifiableMap(byName);
    }

    /** The file or index this checkpoint was opened from. */
    public Path source() {
        return source;
    }

    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The header entry of {@code name}; a missing tensor is an error naming it. */
    public TensorEntry entry(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new WeightFormatException(source + ": missing tensor '" + name + "'");
        return f.entry(name);
    }

    /** The mapped bytes of {@code name}, marking it used. */
    public MemorySegment segment(String name) {
        entry(name);
        used.add(name);
        return byName.get(name).segment(name);
    }

    /** Marks {@code name} as expected without reading it (buffers a loader knows and ignores). */
    public void markUsed(String name) {
        if (contains(name)) used.add(name);
    }

    /** Tensors nobody read or marked: what a loader reports as unexpected. */
    public List<String> unusedNames() {
        List<String> out = new ArrayList<>();
        for (String n : byName.keySet()) if (!used.contains(n)) out.add(n);
        return out;
    }

    /** {@code name} as float32, whatever float type it is stored in. */
    public float[] floats(String name) {
        TensorEntry e = entry(name);
        MemorySegment bytes = segment(name);
        try {
            return toFloats(e, bytes);
        } finally {
            dropResident(bytes);
        }
    }

    /** Decodes {@code bytes} holding {@code e}'s elements to float32. */
    public static float[] toFloats(TensorEntry e, MemorySegment bytes) {
        if (!e.type().isFloat()) {
            throw new WeightFormatException(e.file() + ": tensor '" + e.name() + "' is " + e.type() + ", not a float type");
        }
        int n = Math.toIntExact(e.numel());
        float[] out = new float[n];
        switch (e.type()) {
            case F32 -> MemorySegment.copy(bytes, F32_LE, 0, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(bytes.getAtIndex(U16_LE, i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = HostCodec.bf16ToFloat(bytes.getAtIndex(U16_LE, i));
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    /** An I64 tensor's values. */
    public long[] longs(String name) {
        TensorEntry e = entry(name);
        if (e.type() != StoredType.I64) {
            throw new WeightFormatException(e.file() + ": tensor '" + name + "' is " + e.type() + ", not I64");
        }
        long[] out = new long[Math.toIntExact(e.numel())];
        MemorySegment.copy(segment(name), I64_LE, 0, out, 0, out.length);
        return out;
    }

    /** A U8 tensor's values, 0 to 255. */
    public int[] unsignedBytes(String name) {
        TensorEntry e = entry(name);
        if (e.type() != StoredType.U8) {
            throw new WeightFormatException(e.file() + ": tensor '" + name + "' is " + e.type() + ", not U8");
        }
        byte[] b = segment(name).toArray(ValueLayout.JAVA_BYTE);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xff;
        return out;
    }

    /**
     * A new {@code dtype} tensor on {@code backend} holding {@code name}: the mapped bytes are
     * copied straight to the backend when the stored type is {@code dtype} (the one copy), else
     * converted on the host first.
     */
    public Tensor upload(String name, Backend backend, DType dtype) {
        TensorEntry e = entry(name);
        return upload(e, segment(name), backend, dtype);
    }

    /**
     * As {@link #upload(String, Backend, DType)} for bytes already sliced or transformed. The
     * tensor is a weight: {@link Tensor#markConstant constant}.
     */
    public static Tensor upload(TensorEntry e, MemorySegment bytes, Backend backend, DType dtype) {
        try {
            if (e.type().floatType() == dtype && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                Tensor t = backend.allocate(dtype, e.shape());
                try {
                    backend.context().memcpy(t.address(), bytes, e.byteSize(), CopyKind.HOST_TO_DEVICE);
                    return t.markConstant();
                } catch (RuntimeException x) {
                    t.close();
                    throw x;
                }
            }
            return backend.fromFloats(dtype, toFloats(e, bytes), e.shape()).markConstant();
        } finally {
            dropResident(bytes);
        }
    }

    /**
     * Mapped bytes that were just copied leave the process's resident set (unload: madvise
     * MADV_DONTNEED; they stay in the page cache and map again if read), so that a model being
     * loaded is not resident twice, file and copy, at its peak.
     */
    private static void dropResident(MemorySegment bytes) {
        if (bytes.isMapped()) bytes.unload();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return source + " (" + byName.size() + " tensors in " + files.size() + " file(s))";
    }
}

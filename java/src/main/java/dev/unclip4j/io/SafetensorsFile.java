package dev.unclip4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped read-only (FileChannel.map into a shared Arena):
 * tensors are slices of the mapping, read in place and never copied until they are converted or
 * uploaded to a backend.
 *
 * <p>The format: 8 bytes of little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"k": "v"}}}), then the data region, offsets relative to its start. The header
 * is validated in full when the file is opened — N inside the file, JSON well-formed with no
 * duplicate keys, every entry's fields present and typed, dtype one of F32/F16/BF16/I64, offsets
 * inside the data region, no two tensors overlapping, element count × element size = byte
 * count — so a truncated or corrupt file fails at open with the file and the tensor named, not
 * later inside a kernel.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The safetensors crate refuses headers above 100 MB; so do we (a corrupt length, not a model). */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final Arena arena;
    private final MemorySegment mapping;
    private final long dataStart;
    private final Map<String, TensorEntry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path file, Arena arena, MemorySegment mapping, long dataStart,
                            Map<String, TensorEntry> entries, Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.mapping = mapping;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and validates {@code file}; close the result to unmap it. */
    public static SafetensorsFile open(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new WeightFormatException(file + ": no such weight file");
        } catch (IOException e) {
            throw new WeightFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (size < 8) {
            throw new WeightFormatException(file + ": truncated safetensors file: " + size
                    + " bytes, less than the 8-byte header length");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = mapping.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
                throw new WeightFormatException(file + ": corrupt or truncated safetensors file: the header length "
                        + Long.toUnsignedString(headerLength) + " does not fit in the file's " + size + " bytes");
            }
            byte[] header = mapping.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = 8 + headerLength;
            Parsed parsed = parseHeader(file, header, size - dataStart);
            return new SafetensorsFile(file, arena, mapping, dataStart, parsed.entries, parsed.metadata);
        } catch (IOException e) {
            arena.close();
            throw new WeightFormatException(file + ": cannot map: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private record Parsed(Map<String, TensorEntry> entries, Map<String, String> metadata) {}

    private static Parsed parseHeader(Path file, byte[] header, long dataBytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw new WeightFormatException(file + ": corrupt safetensors header: not UTF-8");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text.stripTrailing());  // the writer may pad the header with spaces
        } catch (JsonProcessingException e) {
            throw new WeightFormatException(file + ": corrupt safetensors header: malformed JSON: "
                    + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new WeightFormatException(file + ": corrupt safetensors header: not a JSON object");
        }
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                metadata = parseMetadata(file, v);
                continue;
            }
            entries.put(name, parseEntry(file, name, v, dataBytes));
        }
        // No two tensors may share bytes (zero-sized tensors occupy none).
        List<TensorEntry> byOffset = new ArrayList<>(entries.values());
        byOffset.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        TensorEntry previous = null;
        for (TensorEntry t : byOffset) {
            if (t.byteSize() == 0) continue;
            if (previous != null && t.begin() < previous.end()) {
                throw new WeightFormatException(file + ": corrupt safetensors header: tensor '" + t.name()
                        + "' bytes [" + t.begin() + ", " + t.end() + ") overlap tensor '" + previous.name() + "' ["
                        + previous.begin() + ", " + previous.end() + ")");
            }
            previous = t;
        }
        return new Parsed(Collections.unmodifiableMap(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode v) {
        if (!v.isObject()) {
            throw new WeightFormatException(file + ": corrupt safetensors header: __metadata__ is not an object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getValue().isTextual()) {
                throw new WeightFormatException(file + ": corrupt safetensors header: __metadata__ value '"
                        + e.getKey() + "' is not a string");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorEntry parseEntry(Path file, String name, JsonNode v, long dataBytes) {
        String where = file + ": tensor '" + name + "'";
        if (!v.isObject()) throw new WeightFormatException(where + ": header entry is not an object");
        JsonNode dtype = v.get("dtype"), shape = v.get("shape"), offsets = v.get("data_offsets");
        if (dtype == null || !dtype.isTextual()) throw new WeightFormatException(where + ": missing or non-string 'dtype'");
        StoredType type = StoredType.parse(dtype.textValue());
        if (type == null) {
            throw new WeightFormatException(where + ": unsupported dtype '" + dtype.textValue()
                    + "' (unclip4j reads F32, F16, BF16 and I64)");
        }
        if (shape == null || !shape.isArray()) throw new WeightFormatException(where + ": missing or non-array 'shape'");
        long[] dims = new long[shape.size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shape.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new WeightFormatException(where + ": shape " + shape + " has a dimension that is not a non-negative integer");
            }
            dims[i] = d.longValue();
            try {
                numel = Math.multiplyExact(numel, dims[i]);
            } catch (ArithmeticException x) {
                throw new WeightFormatException(where + ": shape " + shape + " overflows");
            }
        }
        if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).isIntegralNumber()
                || !offsets.get(1).isIntegralNumber() || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new WeightFormatException(where + ": 'data_offsets' must be [begin, end] integers, not " + offsets);
        }
        long begin = offsets.get(0).longValue(), end = offsets.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw new WeightFormatException(where + ": bad data_offsets [" + begin + ", " + end + "]");
        }
        if (end > dataBytes) {
            throw new WeightFormatException(where + ": data_offsets [" + begin + ", " + end + "] run past the end of the "
                    + dataBytes + "-byte data region (truncated file?)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, (long) type.byteSize());
        } catch (ArithmeticException x) {
            throw new WeightFormatException(where + ": shape " + shape + " overflows");
        }
        if (end - begin != expected) {
            throw new WeightFormatException(where + ": " + type + " " + shape + " needs " + expected + " bytes but its "
                    + "data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new TensorEntry(name, type, dims, begin, end, file);
    }

    public Path path() {
        return file;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public Map<String, TensorEntry> entries() {
        return entries;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The header's {@code __metadata__} (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorEntry entry(String name) {
        TensorEntry e = entries.get(name);
        if (e == null) throw new WeightFormatException(file + ": no tensor '" + name + "'");
        return e;
    }

    /** The tensor's bytes in the mapping (read-only, little-endian, valid until close). */
    public MemorySegment segment(String name) {
        TensorEntry e = entry(name);
        return mapping.asSlice(dataStart + e.begin(), e.byteSize());
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return file + " (" + entries.size() + " tensors)";
    }
}

package dev.unclip4j.clip;

import static dev.unclip4j.testing.Parity.relL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Runs both towers of a golden fixture model (tools/reference/make_clip_fixture.py, openai/CLIP)
 * on a backend and measures the relative L2 error ‖ours − ref‖ / ‖ref‖ of every output against
 * the reference's float32 outputs. Shared by the CPU and the gpu-tagged CUDA tests.
 */
final class ClipTowerParity {
    private ClipTowerParity() {}

    static Path fixture(String name) {
        try {
            return Path.of(ClipTowerParity.class.getResource("/fixtures/clip/fixture.json").toURI()).getParent().resolve(name);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every fixture model in both layouts. */
    static Stream<Arguments> models() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("text77", "both", "small")) for (String layout : List.of("hf", "openai")) out.add(Arguments.of(m, layout));
        return out.stream();
    }

    static int[][] ids(Checkpoint io) {
        long[] s = io.entry("text.input_ids").shape();
        long[] flat = io.longs("text.input_ids");
        int[][] ids = new int[(int) s[0]][(int) s[1]];
        for (int b = 0; b < s[0]; b++) for (int j = 0; j < s[1]; j++) ids[b][j] = Math.toIntExact(flat[(int) (b * s[1] + j)]);
        return ids;
    }

    /** Relative L2 error of each output of model {@code name} in {@code layout}, keyed by the io tensor name. */
    static Map<String, Double> errors(String name, String layout, Backend backend, DType dtype) {
        Map<String, Double> err = new LinkedHashMap<>();
        Path dir = fixture(name);
        try (ClipModelFiles files = ClipModelFiles.open(dir.resolve(layout)); Checkpoint io = Checkpoint.open(dir.resolve("io.safetensors"));
             Workspace ws = backend.newWorkspace(1 << 20)) {
            try (ClipTextEncoder text = new ClipTextEncoder(backend, files.text(), dtype)) {
                int[][] ids = ids(io);
                ClipTextEncoder.Output o = text.forward(ids, ws);
                // openai/CLIP pools at argmax: the fixture's end token is the highest id
                for (int b = 0; b < ids.length; b++) assertTrue(ids[b][o.endIndex()[b]] == files.text().config().vocabSize() - 1);
                err.put("text.last_hidden_state", relL2(o.lastHiddenState().toFloatArray(), io.floats("text.last_hidden_state")));
                err.put("text.pooler_output", relL2(o.pooledOutput().toFloatArray(), io.floats("text.pooler_output")));
                err.put("text.text_embeds", relL2(o.textEmbeds().toFloatArray(), io.floats("text.text_embeds")));
                ws.reset();
            }
            if (files.vision() != null) {
                try (ClipVisionEncoder vision = new ClipVisionEncoder(backend, files.vision(), dtype);
                     Tensor pixels = backend.fromFloats(dtype, io.floats("vision.pixel_values_nhwc"),
                             io.entry("vision.pixel_values_nhwc").shape())) {
                    ClipVisionEncoder.Output o = vision.forward(pixels, ws);
                    assertArrayEquals(io.entry("vision.last_hidden_state").shape(), o.lastHiddenState().shape());
                    err.put("vision.last_hidden_state", relL2(o.lastHiddenState().toFloatArray(), io.floats("vision.last_hidden_state")));
                    err.put("vision.pooler_output", relL2(o.pooledOutput().toFloatArray(), io.floats("vision.pooler_output")));
                    err.put("vision.image_embeds", relL2(o.imageEmbeds().toFloatArray(), io.floats("vision.image_embeds")));
                    ws.reset();
                }
            }
        }
        return err;
    }

    static void assertBelow(String what, Map<String, Double> err, double bound) {
        System.out.println(what + ": " + err);
        for (var e : err.entrySet()) {
            assertTrue(e.getValue() < bound, what + " " + e.getKey() + ": relative L2 " + e.getValue() + " >= " + bound);
        }
    }
}

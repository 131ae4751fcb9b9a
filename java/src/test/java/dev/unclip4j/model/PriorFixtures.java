package dev.unclip4j.model;

import static dev.unclip4j.testing.Parity.relL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import dev.unclip4j.testing.SharedData;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Runs the golden fixtures of tools/reference/make_prior_fixture.py (diffusers v0.20.0) on a
 * backend and measures the relative L2 error ‖ours − ref‖ / ‖ref‖ of every output and
 * intermediate, keyed "case.tensor". Shared by the CPU tests and the gpu-tagged CUDA test.
 */
final class PriorFixtures {
    private PriorFixtures() {}

    static final List<String> PRIORS = List.of("prior_layer_in", "prior_raw_text", "prior_pos1");
    static final List<String> TEXT_PROJS = List.of("text_proj_k4", "text_proj_k3");
    static final String BUILTIN = "unclip-shapes-tiny";

    /** fixtures/prior/{@code name}: the io and fixture.json, and the weights of the random models. */
    static Path fixture(String name) {
        try {
            return Path.of(PriorFixtures.class.getResource("/fixtures/prior/" + name + "/fixture.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The shipped model's component folder, when this runs inside the checkout (not in the GPU bundle). */
    static Optional<Path> builtinComponent(String component) {
        try {
            Path p = SharedData.repoRoot().resolve("models").resolve(BUILTIN).resolve(component);
            return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
        } catch (IllegalStateException e) {
            return Optional.empty();
        }
    }

    /** (fixture, weights folder) of every PriorTransformer fixture; the shipped model's where its folder is found. */
    static Stream<Arguments> priors() {
        List<Arguments> out = new ArrayList<>();
        for (String p : PRIORS) out.add(Arguments.of(p, fixture(p)));
        builtinComponent("prior").ifPresent(dir -> out.add(Arguments.of(BUILTIN, dir)));
        return out.stream();
    }

    static Stream<Arguments> textProjections() {
        List<Arguments> out = new ArrayList<>();
        for (String p : TEXT_PROJS) out.add(Arguments.of(p, fixture(p)));
        builtinComponent("text_proj").ifPresent(dir -> out.add(Arguments.of(BUILTIN, dir)));
        return out.stream();
    }

    static List<JsonNode> cases(String fixture, String model) {
        JsonNode meta = ConfigReader.parse(fixture(fixture).resolve("fixture.json"));
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode c : meta.get("cases")) if (c.get("model").asText().equals(model)) out.add(c);
        return out;
    }

    /**
     * Every case of {@code fixture} through the PriorTransformer loaded from {@code weights}: keys
     * "case.time_embedding", ".sequence", ".block0", ".predicted_image_embedding", ".post_processed".
     */
    static Map<String, Double> priorErrors(String fixture, Path weights, Backend backend, DType dtype) {
        Map<String, Double> err = new LinkedHashMap<>();
        try (PriorTransformer prior = PriorTransformer.load(weights, backend, dtype);
             Checkpoint io = Checkpoint.open(fixture(fixture).resolve("io.safetensors"));
             Workspace ws = backend.newWorkspace(1 << 20)) {
            for (JsonNode c : cases(fixture, PriorConfig.CLASS_NAME)) {
                String n = c.get("name").asText();
                try (Tensor hidden = upload(io, n + ".hidden_states", backend, dtype);
                     Tensor proj = upload(io, n + ".proj_embedding", backend, dtype);
                     Tensor text = io.contains(n + ".encoder_hidden_states")
                             ? upload(io, n + ".encoder_hidden_states", backend, dtype) : null) {
                    int[][] mask = io.contains(n + ".attention_mask") ? ints(io, n + ".attention_mask") : null;
                    long[] t = io.longs(n + ".timesteps");
                    PriorTransformer.Output o = c.get("timestep_kind").asText().equals("int")
                            ? prior.forward(hidden, Math.toIntExact(t[0]), proj, text, mask, ws)
                            : prior.forward(hidden, floats(t), proj, text, mask, ws);
                    err.put(n + ".time_embedding", compare(io, n + ".time_embedding", o.timeEmbedding(), null));
                    err.put(n + ".sequence", compare(io, n + ".sequence", o.sequence(), null));
                    err.put(n + ".block0", compare(io, n + ".block0", o.block0(), rowsWithAKey(prior.config(), mask,
                            Math.toIntExact(o.sequence().dim(1)))));
                    err.put(n + ".predicted_image_embedding", compare(io, n + ".predicted_image_embedding",
                            o.predictedImageEmbedding(), null));
                    prior.postProcessLatents(o.predictedImageEmbedding(), o.predictedImageEmbedding());
                    err.put(n + ".post_processed", compare(io, n + ".post_processed", o.predictedImageEmbedding(), null));
                    ws.reset();
                }
            }
        }
        return err;
    }

    /** Every UnCLIPTextProjModel case: "case.text_encoder_hidden_states_out", "case.additive_clip_time_embeddings". */
    static Map<String, Double> textProjectionErrors(String fixture, Path weights, Backend backend, DType dtype) {
        Map<String, Double> err = new LinkedHashMap<>();
        try (TextProjection proj = TextProjection.load(weights, backend, dtype);
             Checkpoint io = Checkpoint.open(fixture(fixture).resolve("io.safetensors"));
             Workspace ws = backend.newWorkspace(1 << 20)) {
            for (JsonNode c : cases(fixture, TextProjectionConfig.CLASS_NAME)) {
                String n = c.get("name").asText();
                try (Tensor image = upload(io, n + ".image_embeddings", backend, dtype);
                     Tensor prompt = upload(io, n + ".prompt_embeds", backend, dtype);
                     Tensor text = upload(io, n + ".text_encoder_hidden_states", backend, dtype)) {
                    TextProjection.Output o = proj.forward(image, prompt, text, c.get("do_classifier_free_guidance").asBoolean(), ws);
                    err.put(n + ".text_encoder_hidden_states_out", compare(io, n + ".text_encoder_hidden_states_out",
                            o.textEncoderHiddenStates(), null));
                    err.put(n + ".additive_clip_time_embeddings", compare(io, n + ".additive_clip_time_embeddings",
                            o.additiveClipTimeEmbeddings(), null));
                    ws.reset();
                }
            }
        }
        return err;
    }

    /**
     * Per batch row, the first query row that has an unmasked key: with the causal mask, queries
     * before a row's first attended token have none (left padding). There diffusers softmaxes
     * −10000-shifted scores and uc_attention writes zeros; those rows feed nothing that reaches
     * the output (PriorTransformer#keyMask), so they are left out of the intermediate's comparison.
     */
    static int[] rowsWithAKey(PriorConfig config, int[][] mask, int len) {
        int[] first = new int[mask == null ? 0 : mask.length];
        if (mask == null || config.positions() == 1) return first;  // not causal: every row sees every unmasked key
        for (int b = 0; b < mask.length; b++) {
            int j = 0;
            while (j < mask[b].length && mask[b][j] == 0) j++;
            first[b] = j == mask[b].length && config.additionalEmbeddings() == 0 ? 0 : j;  // all-zero rows attend all
        }
        return first;
    }

    private static double compare(Checkpoint io, String name, Tensor ours, int[] firstRow) {
        assertArrayEquals(io.entry(name).shape(), ours.shape(), name + " shape");
        float[] ref = io.floats(name), got = ours.toFloatArray();
        if (firstRow == null || firstRow.length == 0) return relL2(got, ref);
        int rowsPerBatch = Math.toIntExact(ours.dim(1)), width = Math.toIntExact(ours.dim(2));
        List<float[]> a = new ArrayList<>(), r = new ArrayList<>();
        for (int b = 0; b < firstRow.length; b++) {
            int from = (b * rowsPerBatch + firstRow[b]) * width, to = (b + 1) * rowsPerBatch * width;
            a.add(java.util.Arrays.copyOfRange(got, from, to));
            r.add(java.util.Arrays.copyOfRange(ref, from, to));
        }
        return relL2(concat(a), concat(r));
    }

    private static float[] concat(List<float[]> parts) {
        float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static Tensor upload(Checkpoint io, String name, Backend backend, DType dtype) {
        return backend.fromFloats(dtype, io.floats(name), io.entry(name).shape());
    }

    static int[][] ints(Checkpoint io, String name) {
        long[] s = io.entry(name).shape(), flat = io.longs(name);
        int[][] out = new int[(int) s[0]][(int) s[1]];
        for (int b = 0; b < s[0]; b++) for (int j = 0; j < s[1]; j++) out[b][j] = Math.toIntExact(flat[(int) (b * s[1] + j)]);
        return out;
    }

    private static float[] floats(long[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    /**
     * Fails naming every tensor whose error reaches its bound: {@code bound}, or
     * {@code allMaskedBound} for the case whose mask rows are all zeros (diffusers' result there
     * carries the rounding of −10000-shifted scores, 1.5e-4 to 2e-4 relative; PriorTransformer#keyMask).
     */
    static void assertBelow(String what, Map<String, Double> err, double bound, double allMaskedBound) {
        System.out.println(what + ": " + err);
        for (var e : err.entrySet()) {
            double b = e.getKey().startsWith("all_masked_row.") ? Math.max(bound, allMaskedBound) : bound;
            assertTrue(e.getValue() < b, what + " " + e.getKey() + ": relative L2 " + e.getValue() + " >= " + b);
        }
    }
}

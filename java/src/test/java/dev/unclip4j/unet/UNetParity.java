package dev.unclip4j.unet;

import static dev.unclip4j.testing.Parity.builtinModel;
import static dev.unclip4j.testing.Parity.relL2;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a U-Net fixture (tools/reference/make_unet_fixture.py: diffusers v0.20.0's own
 * UNet2DConditionModel / UNet2DModel) on a backend and measures the relative L2 error
 * ‖ours − ref‖ / ‖ref‖ of the output and of every intermediate diffusers recorded (emb, conv_in,
 * each down block, mid, each up block), so that a failure names where it starts.
 */
final class UNetParity {
    private UNetParity() {}

    static final String[] CASES = {"dec_scale_shift", "dec_default", "sr_resnet", "sr_default", "sr_resnet_sampling"};
    /** Fixture name → the shipped model's component it records. */
    static final Map<String, String> BUILTIN = Map.of("builtin_decoder", "decoder",
            "builtin_super_res_first", "super_res_first", "builtin_super_res_last", "super_res_last");

    static Path fixture(String name) {
        try {
            return Path.of(UNetParity.class.getResource("/fixtures/unet/fixture.json").toURI()).getParent().resolve(name);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The model folder a fixture's weights are in. */
    static Path modelDir(String name) {
        String component = BUILTIN.get(name);
        return component == null ? fixture(name) : builtinModel().resolve(component);
    }

    /** NCHW (diffusers) to NHWC (ours); 2-D tensors unchanged. */
    static float[] toNhwc(float[] x, long[] shape) {
        if (shape.length != 4) return x;
        int n = (int) shape[0], c = (int) shape[1], h = (int) shape[2], w = (int) shape[3];
        float[] out = new float[x.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
        return out;
    }

    static long[] nhwcShape(long[] s) {
        return s.length == 4 ? new long[] {s[0], s[2], s[3], s[1]} : s;
    }

    static Tensor upload(Checkpoint io, String name, Backend backend, DType dtype) {
        long[] shape = io.entry(name).shape();
        return backend.fromFloats(dtype, toNhwc(io.floats(name), shape), nhwcShape(shape));
    }

    /** Every recorded name's relative L2 error, in forward order. */
    static Map<String, Double> errors(String name, Backend backend, DType dtype) {
        Path dir = fixture(name);
        Map<String, Double> errors = new LinkedHashMap<>();
        try (Checkpoint io = Checkpoint.open(dir.resolve("io.safetensors"));
             UNet unet = UNet.load(modelDir(name), name, backend, dtype);
             Workspace ws = backend.newWorkspace(1 << 20);
             Tensor sample = upload(io, "sample", backend, dtype);
             Tensor text = io.contains("encoder_hidden_states") ? upload(io, "encoder_hidden_states", backend, dtype) : null;
             Tensor mask = io.contains("attention_mask") ? upload(io, "attention_mask", backend, dtype) : null;
             Tensor labels = io.contains("class_labels") ? upload(io, "class_labels", backend, dtype) : null) {
            float[] timesteps = io.floats("timesteps");
            Map<String, float[]> got = new LinkedHashMap<>();
            Tensor out = unet.forward(sample, timesteps, text, mask, labels, ws,
                    (n, t) -> got.put(n, t.toFloatArray()));
            got.put("out", out.toFloatArray());
            for (Map.Entry<String, float[]> e : got.entrySet()) {
                if (!io.contains(e.getKey())) continue;
                float[] ref = toNhwc(io.floats(e.getKey()), io.entry(e.getKey()).shape());
                errors.put(e.getKey(), relL2(e.getValue(), ref));
            }
        }
        return errors;
    }

    static void assertBelow(String what, Map<String, Double> errors, double bound) {
        assertTrue(errors.containsKey("out"), what + ": no output compared");
        for (Map.Entry<String, Double> e : errors.entrySet()) {
            assertTrue(e.getValue() < bound, what + " " + e.getKey() + ": relative L2 " + e.getValue() + " >= " + bound
                    + " (all: " + errors + ")");
        }
    }
}

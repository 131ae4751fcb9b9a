package dev.unclip4j.clip;

import dev.unclip4j.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Small random CLIP state dicts in the OpenAI layout, and the same weights renamed to the Hugging
 * Face layout the way transformers' convert_clip_original_pytorch_to_hf.py does (q/k/v split from
 * in_proj, projections transposed), for the loader tests.
 */
final class SyntheticClip {
    record T(long[] shape, float[] v) {}

    final int width = 128, layers = 2, ctx = 13, embed = 24;
    final int vocab;
    final int vWidth = 64, vLayers = 1, patch = 4, grid = 3;
    final Map<String, T> openai = new LinkedHashMap<>();
    private final Random rnd;

    SyntheticClip(long seed) {
        this(seed, 50);
    }

    SyntheticClip(long seed, int vocab) {
        this.vocab = vocab;
        rnd = new Random(seed);
        put("token_embedding.weight", vocab, width);
        put("positional_embedding", ctx, width);
        for (int i = 0; i < layers; i++) block("transformer.resblocks." + i + ".", width);
        put("ln_final.weight", width);
        put("ln_final.bias", width);
        put("text_projection", width, embed);
        put("visual.class_embedding", vWidth);
        put("visual.positional_embedding", grid * grid + 1, vWidth);
        put("visual.conv1.weight", vWidth, 3, patch, patch);
        put("visual.ln_pre.weight", vWidth);
        put("visual.ln_pre.bias", vWidth);
        for (int i = 0; i < vLayers; i++) block("visual.transformer.resblocks." + i + ".", vWidth);
        put("visual.ln_post.weight", vWidth);
        put("visual.ln_post.bias", vWidth);
        put("visual.proj", vWidth, embed);
        put("logit_scale");
    }

    private void block(String p, int w) {
        put(p + "attn.in_proj_weight", 3 * w, w);
        put(p + "attn.in_proj_bias", 3 * w);
        put(p + "attn.out_proj.weight", w, w);
        put(p + "attn.out_proj.bias", w);
        put(p + "ln_1.weight", w);
        put(p + "ln_1.bias", w);
        put(p + "mlp.c_fc.weight", 4 * w, w);
        put(p + "mlp.c_fc.bias", 4 * w);
        put(p + "mlp.c_proj.weight", w, 4 * w);
        put(p + "mlp.c_proj.bias", w);
        put(p + "ln_2.weight", w);
        put(p + "ln_2.bias", w);
    }

    private void put(String name, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        openai.put(name, new T(shape, v));
    }

    Map<String, T> huggingFace() {
        Map<String, T> hf = new LinkedHashMap<>();
        hf.put("text_model.embeddings.token_embedding.weight", openai.get("token_embedding.weight"));
        hf.put("text_model.embeddings.position_embedding.weight", openai.get("positional_embedding"));
        for (int i = 0; i < layers; i++) hfBlock(hf, "transformer.resblocks." + i + ".", "text_model.encoder.layers." + i + ".", width);
        hf.put("text_model.final_layer_norm.weight", openai.get("ln_final.weight"));
        hf.put("text_model.final_layer_norm.bias", openai.get("ln_final.bias"));
        hf.put("text_projection.weight", transpose(openai.get("text_projection")));
        hf.put("vision_model.embeddings.class_embedding", openai.get("visual.class_embedding"));
        hf.put("vision_model.embeddings.patch_embedding.weight", openai.get("visual.conv1.weight"));
        hf.put("vision_model.embeddings.position_embedding.weight", openai.get("visual.positional_embedding"));
        hf.put("vision_model.pre_layrnorm.weight", openai.get("visual.ln_pre.weight"));
        hf.put("vision_model.pre_layrnorm.bias", openai.get("visual.ln_pre.bias"));
        for (int i = 0; i < vLayers; i++) {
            hfBlock(hf, "visual.transformer.resblocks." + i + ".", "vision_model.encoder.layers." + i + ".", vWidth);
        }
        hf.put("vision_model.post_layernorm.weight", openai.get("visual.ln_post.weight"));
        hf.put("vision_model.post_layernorm.bias", openai.get("visual.ln_post.bias"));
        hf.put("visual_projection.weight", transpose(openai.get("visual.proj")));
        hf.put("logit_scale", openai.get("logit_scale"));
        return hf;
    }

    private void hfBlock(Map<String, T> hf, String o, String h, int w) {
        T inW = openai.get(o + "attn.in_proj_weight"), inB = openai.get(o + "attn.in_proj_bias");
        String[] qkv = {"q", "k", "v"};
        for (int j = 0; j < 3; j++) {
            float[] wv = new float[w * w], bv = new float[w];
            System.arraycopy(inW.v, j * w * w, wv, 0, w * w);
            System.arraycopy(inB.v, j * w, bv, 0, w);
            hf.put(h + "self_attn." + qkv[j] + "_proj.weight", new T(new long[] {w, w}, wv));
            hf.put(h + "self_attn." + qkv[j] + "_proj.bias", new T(new long[] {w}, bv));
        }
        hf.put(h + "self_attn.out_proj.weight", openai.get(o + "attn.out_proj.weight"));
        hf.put(h + "self_attn.out_proj.bias", openai.get(o + "attn.out_proj.bias"));
        hf.put(h + "layer_norm1.weight", openai.get(o + "ln_1.weight"));
        hf.put(h + "layer_norm1.bias", openai.get(o + "ln_1.bias"));
        hf.put(h + "mlp.fc1.weight", openai.get(o + "mlp.c_fc.weight"));
        hf.put(h + "mlp.fc1.bias", openai.get(o + "mlp.c_fc.bias"));
        hf.put(h + "mlp.fc2.weight", openai.get(o + "mlp.c_proj.weight"));
        hf.put(h + "mlp.fc2.bias", openai.get(o + "mlp.c_proj.bias"));
        hf.put(h + "layer_norm2.weight", openai.get(o + "ln_2.weight"));
        hf.put(h + "layer_norm2.bias", openai.get(o + "ln_2.bias"));
    }

    static T transpose(T t) {
        int r = (int) t.shape[0], c = (int) t.shape[1];
        float[] out = new float[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) out[j * r + i] = t.v[i * c + j];
        return new T(new long[] {c, r}, out);
    }

    String hfConfigJson() {
        return """
            {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": %d, "logit_scale_init_value": 2.6592,
             "torch_dtype": "float32", "transformers_version": "4.30.0", "initializer_factor": 1.0,
             "text_config": {"vocab_size": %d, "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d,
                             "num_attention_heads": 2, "max_position_embeddings": %d, "hidden_act": "quick_gelu",
                             "layer_norm_eps": 1e-05, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1,
                             "attention_dropout": 0.0, "dropout": 0.0},
             "vision_config": {"hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": 4,
                               "image_size": %d, "patch_size": %d, "hidden_act": "quick_gelu", "num_channels": 3}}
            """.formatted(embed, vocab, width, 4 * width, layers, ctx, vWidth, 4 * vWidth, vLayers, patch * grid, patch);
    }

    static Path write(Map<String, T> tensors, Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        tensors.forEach((k, t) -> w.f32(k, t.v, t.shape));
        return w.write(file);
    }
}

#!/usr/bin/python3
"""Golden fixtures for the CLIP text and vision towers, from openai/CLIP's clip/model.py.

Two tiny configurations, random weights from a seed (every parameter drawn, so each one
matters: LayerNorm weights near 1, biases non-zero), in float32 on the CPU:

  text77 — a text tower alone (like Karlo's text_encoder): width 64, 4 heads, 2 layers,
           context 77, vocabulary 512, projection 32; batch 3 with 2, 9 and 77 real tokens.
  both   — both towers: text width 48 (3 heads of 16), 2 layers, context 21, vocabulary 300,
           projection 40; ViT width 64, 4 heads, 2 layers, patch 8 on 32-px images (17
           positions); batch 3 prompts (5, 21, 13 real tokens) and 2 images.
  small  — another seed, both towers at width 32 (2 heads of 16), 1 layer, context 16,
           vocabulary 200, projection 24; patch 8 on 24-px images (10 positions); 4 prompts
           (3, 16, 7, 11 tokens) and 3 images.

openai/CLIP's CLIP class fixes the ViT heads at width // 64; the fixture replaces `visual` with a
VisionTransformer of 4 heads (the same class). Token ids are synthetic (the vocabulary is tiny):
start = vocab − 2, end = vocab − 1 (the highest id, where openai/CLIP pools), padding 0.

Each configuration is written twice, with the same values:
  <name>/openai/open_clip_model.safetensors + open_clip_config.json — OpenAI/open_clip names
      (fused attn.in_proj, text_projection [width, proj], visual.proj), stored as F16;
  <name>/hf/model.safetensors + config.json — Hugging Face transformers names (q/k/v split,
      projections transposed to Linear [proj, width]), stored as BF16.
Weights are rounded to bf16 and values under 2^-13 in magnitude set to zero first, so both
storage types hold them exactly and the reference ran on exactly the stored values.

Outputs (float32, <name>/io.safetensors), HF semantics:
  text: input_ids [B, ctx] (I64), last_hidden_state [B, ctx, w] (after ln_final), pooler_output
        [B, w] (at the end token), text_embeds [B, proj]; no padding mask (openai/CLIP's causal
        mask only: positions after the end token differ from HF with attention_mask, nothing
        before it does);
  vision: pixel_values_nhwc [B, H, W, 3], last_hidden_state [B, 17, w] (encoder output, before
        ln_post), pooler_output [B, w] (ln_post of the class token), image_embeds [B, proj];
  both: logits_per_image [images, prompts] = exp(logit_scale) · cos.
The script checks its own forward against model.encode_text / encode_image exactly.

Run from the repository root: /usr/bin/python3 tools/reference/make_clip_fixture.py
"""
import json
import math
import pathlib
import platform
import re
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "third_party" / "clip"))
import model as clip_model  # noqa: E402  (openai/CLIP clip/model.py)
import safetensors_lite  # noqa: E402

OUT = ROOT / "java/src/test/resources/fixtures/clip"

CONFIGS = {
    "text77": dict(seed=7, embed=32, vocab=512, ctx=77, width=64, heads=4, layers=2, lengths=[2, 9, 77], vision=None),
    "both": dict(seed=11, embed=40, vocab=300, ctx=21, width=48, heads=3, layers=2, lengths=[5, 21, 13],
                 vision=dict(width=64, heads=4, layers=2, patch=8, image=32, batch=2)),
    "small": dict(seed=23, embed=24, vocab=200, ctx=16, width=32, heads=2, layers=1, lengths=[3, 16, 7, 11],
                  vision=dict(width=32, heads=2, layers=1, patch=8, image=24, batch=3)),
}


def exact_in_f16_and_bf16(t):
    t = t.to(torch.bfloat16).to(torch.float32)
    t[t.abs() < 2.0 ** -13] = 0.0
    assert torch.equal(t.to(torch.float16).to(torch.float32), t) and torch.equal(t.to(torch.bfloat16).to(torch.float32), t)
    return t


def randomize(m, gen):
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(1 / 0.07))
            elif re.search(r"(^|\.)ln_\w+\.weight$", name):  # LayerNorm gains
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2 and "embedding" not in name:
                fan_in = p.shape[1] if name.endswith("weight") and p.dim() == 2 else (p[0].numel() if p.dim() > 2 else p.shape[0])
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            p.copy_(exact_in_f16_and_bf16(p.detach().clone()))


def build(cfg):
    v = cfg["vision"] or dict(width=64, heads=4, layers=1, patch=8, image=16, batch=0)
    # CLIP() builds a ViT of width // 64 heads (none below 64); it is replaced just below.
    m = clip_model.CLIP(cfg["embed"], v["image"], v["layers"], max(v["width"], 64), v["patch"], cfg["ctx"], cfg["vocab"],
                        cfg["width"], cfg["heads"], cfg["layers"])
    m.visual = clip_model.VisionTransformer(input_resolution=v["image"], patch_size=v["patch"], width=v["width"],
                                            layers=v["layers"], heads=v["heads"], output_dim=cfg["embed"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    randomize(m, gen)
    return m.float().eval()


def text_ids(cfg, gen):
    vocab, ctx = cfg["vocab"], cfg["ctx"]
    ids = torch.zeros(len(cfg["lengths"]), ctx, dtype=torch.int64)
    for b, n in enumerate(cfg["lengths"]):
        ids[b, 0] = vocab - 2
        ids[b, 1:n - 1] = torch.randint(1, vocab - 2, (n - 2,), generator=gen)
        ids[b, n - 1] = vocab - 1
    return ids


def text_forward(m, ids):
    x = m.token_embedding(ids) + m.positional_embedding
    x = m.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    last = m.ln_final(x)
    pooled = last[torch.arange(last.shape[0]), ids.argmax(dim=-1)]
    embeds = pooled @ m.text_projection
    assert torch.equal(embeds, m.encode_text(ids)), "forward differs from model.encode_text"
    return last, pooled, embeds


def vision_forward(m, pixels_nchw):
    v = m.visual
    x = v.conv1(pixels_nchw)
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    x = torch.cat([v.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
    x = v.ln_pre(x + v.positional_embedding)
    last = v.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    pooled = v.ln_post(last[:, 0, :])
    embeds = pooled @ v.proj
    assert torch.equal(embeds, m.encode_image(pixels_nchw)), "forward differs from model.encode_image"
    return last, pooled, embeds


def openai_state(m, with_vision):
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    if not with_vision:
        sd = {k: v for k, v in sd.items() if not k.startswith("visual.") and k != "logit_scale"}
    return sd


def hf_state(sd, cfg):
    """transformers' convert_clip_original_pytorch_to_hf.py renaming."""
    hf = {}

    def block(src, dst, width):
        w, b = sd[src + "attn.in_proj_weight"], sd[src + "attn.in_proj_bias"]
        for i, n in enumerate("qkv"):
            hf[dst + f"self_attn.{n}_proj.weight"] = w[i * width:(i + 1) * width]
            hf[dst + f"self_attn.{n}_proj.bias"] = b[i * width:(i + 1) * width]
        hf[dst + "self_attn.out_proj.weight"] = sd[src + "attn.out_proj.weight"]
        hf[dst + "self_attn.out_proj.bias"] = sd[src + "attn.out_proj.bias"]
        for a, c in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2")):
            hf[dst + c + ".weight"] = sd[src + a + ".weight"]
            hf[dst + c + ".bias"] = sd[src + a + ".bias"]
        for a, c in (("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            hf[dst + c + ".weight"] = sd[src + a + ".weight"]
            hf[dst + c + ".bias"] = sd[src + a + ".bias"]

    hf["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    hf["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    hf["text_model.embeddings.position_ids"] = torch.arange(cfg["ctx"], dtype=torch.int64)[None]
    for i in range(cfg["layers"]):
        block(f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}.", cfg["width"])
    hf["text_model.final_layer_norm.weight"] = sd["ln_final.weight"]
    hf["text_model.final_layer_norm.bias"] = sd["ln_final.bias"]
    hf["text_projection.weight"] = sd["text_projection"].t().contiguous()
    if cfg["vision"]:
        v = cfg["vision"]
        hf["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
        hf["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
        hf["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
        hf["vision_model.embeddings.position_ids"] = torch.arange((v["image"] // v["patch"]) ** 2 + 1)[None]
        hf["vision_model.pre_layrnorm.weight"] = sd["visual.ln_pre.weight"]
        hf["vision_model.pre_layrnorm.bias"] = sd["visual.ln_pre.bias"]
        for i in range(v["layers"]):
            block(f"visual.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}.", v["width"])
        hf["vision_model.post_layernorm.weight"] = sd["visual.ln_post.weight"]
        hf["vision_model.post_layernorm.bias"] = sd["visual.ln_post.bias"]
        hf["visual_projection.weight"] = sd["visual.proj"].t().contiguous()
        hf["logit_scale"] = sd["logit_scale"]
    return hf


def cast(sd, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}


def text_config(cfg):
    return {"vocab_size": cfg["vocab"], "hidden_size": cfg["width"], "intermediate_size": 4 * cfg["width"],
            "projection_dim": cfg["embed"], "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
            "max_position_embeddings": cfg["ctx"], "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
            "pad_token_id": 0, "bos_token_id": cfg["vocab"] - 2, "eos_token_id": cfg["vocab"] - 1}


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name, cfg in CONFIGS.items():
        d = OUT / name
        (d / "openai").mkdir(parents=True, exist_ok=True)
        (d / "hf").mkdir(parents=True, exist_ok=True)
        m = build(cfg)
        gen = torch.Generator().manual_seed(cfg["seed"] + 1000)
        io = {}
        with torch.no_grad():
            ids = text_ids(cfg, gen)
            last, pooled, embeds = text_forward(m, ids)
            io.update({"text.input_ids": ids, "text.last_hidden_state": last, "text.pooler_output": pooled,
                       "text.text_embeds": embeds})
            if cfg["vision"]:
                v = cfg["vision"]
                pixels = torch.randn(v["batch"], 3, v["image"], v["image"], generator=gen)
                vlast, vpooled, vembeds = vision_forward(m, pixels)
                img = vembeds / vembeds.norm(dim=-1, keepdim=True)
                txt = embeds / embeds.norm(dim=-1, keepdim=True)
                io.update({"vision.pixel_values_nhwc": pixels.permute(0, 2, 3, 1).contiguous(),
                           "vision.last_hidden_state": vlast, "vision.pooler_output": vpooled,
                           "vision.image_embeds": vembeds, "logits_per_image": m.logit_scale.exp() * img @ txt.t()})
        safetensors_lite.save({k: v.contiguous() for k, v in io.items()}, d / "io.safetensors",
                              {"producer": "tools/reference/make_clip_fixture.py"})
        sd = openai_state(m, cfg["vision"] is not None)
        safetensors_lite.save(cast(sd, torch.float16), d / "openai" / "open_clip_model.safetensors", {"format": "pt"})
        model_cfg = {"embed_dim": cfg["embed"], "quick_gelu": True,
                     "text_cfg": {"context_length": cfg["ctx"], "vocab_size": cfg["vocab"], "width": cfg["width"],
                                  "heads": cfg["heads"], "layers": cfg["layers"]}}
        if cfg["vision"]:
            v = cfg["vision"]
            model_cfg["vision_cfg"] = {"image_size": v["image"], "layers": v["layers"], "width": v["width"],
                                       "head_width": v["width"] // v["heads"], "patch_size": v["patch"]}
        (d / "openai" / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg}, indent=2) + "\n")
        safetensors_lite.save(cast(hf_state(sd, cfg), torch.bfloat16), d / "hf" / "model.safetensors", {"format": "pt"})
        if cfg["vision"]:
            v = cfg["vision"]
            hf_cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": cfg["embed"],
                      "logit_scale_init_value": 2.6592, "text_config": text_config(cfg),
                      "vision_config": {"hidden_size": v["width"], "intermediate_size": 4 * v["width"],
                                        "projection_dim": cfg["embed"], "num_hidden_layers": v["layers"],
                                        "num_attention_heads": v["heads"], "num_channels": 3, "image_size": v["image"],
                                        "patch_size": v["patch"], "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}}
        else:
            hf_cfg = {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", **text_config(cfg)}
        (d / "hf" / "config.json").write_text(json.dumps(hf_cfg, indent=2) + "\n")
        summary[name] = {"config": cfg, "tensors": {k: list(v.shape) for k, v in io.items()}}
    meta = {
        "script": "tools/reference/make_clip_fixture.py",
        "reference": "openai/CLIP clip/model.py, commit " + (ROOT / "third_party/clip/COMMIT").read_text().strip(),
        "torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
        "blas": "torch CPU build (" + torch.__config__.show().splitlines()[0].strip() + ")",
        "parity_bound": "relative L2 < 1e-4 per tensor in float32 (REFERENCE.md); the reference itself moves ~5e-7",
        "configurations": summary,
    }
    (OUT / "fixture.json").write_text(json.dumps(meta, indent=2) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

"""Check our transformers/safetensors shims against references we did not write.

    /usr/bin/python3 training/check_shims.py [--model models/unclip-shapes-tiny]

1. CLIP towers: the exported text_encoder / image_encoder weights are loaded into openai/CLIP's own
   clip/model.py modules (third_party/openai_clip, fetched from github:openai/CLIP, gitignored) and both
   must give the same text_embeds / image_embeds (relative L2 error < 1e-5 in float32).
2. Tokenizer: our CLIPTokenizer loaded with the real CLIP vocabulary (converted from
   ../shared/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz to vocab.json + merges.txt) must give the same
   ids as openai's simple_tokenizer on a set of sentences.
3. safetensors: a round trip of every dtype we write.
"""
import argparse
import gzip
import importlib.util
import json
import os
import sys
import tempfile
import types

from common import MODEL_DIR, ROOT, torch

OPENAI = os.path.join(ROOT, "third_party", "openai_clip")


def openai_module(name):
    """openai/CLIP's clip/<name>.py, loaded from its file: the package's __init__ imports clip.py, which needs
    ftfy, torchvision and more than these checks use."""
    path = os.path.join(OPENAI, "clip", f"{name}.py")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: fetch github:openai/CLIP and extract its clip/ folder into {OPENAI}")
    spec = importlib.util.spec_from_file_location(f"openai_clip_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rel(a, b):
    return float((a - b).norm() / b.norm())


def check_towers(model_dir):
    openai_model = openai_module("model")
    CLIP, VisionTransformer = openai_model.CLIP, openai_model.VisionTransformer
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection
    te = CLIPTextModelWithProjection.from_pretrained(model_dir, subfolder="text_encoder").float()
    ve = CLIPVisionModelWithProjection.from_pretrained(model_dir, subfolder="image_encoder").float()
    tc, vc = te.config, ve.config
    ref = CLIP(embed_dim=tc.projection_dim, image_resolution=vc.image_size, vision_layers=vc.num_hidden_layers,
               vision_width=vc.hidden_size, vision_patch_size=vc.patch_size, context_length=tc.max_position_embeddings,
               vocab_size=tc.vocab_size, transformer_width=tc.hidden_size, transformer_heads=tc.num_attention_heads,
               transformer_layers=tc.num_hidden_layers).float()
    # openai's CLIP fixes vision heads = width // 64; build the tower with our head count
    ref.visual = VisionTransformer(vc.image_size, vc.patch_size, vc.hidden_size, vc.num_hidden_layers,
                                   vc.num_attention_heads, vc.projection_dim)
    t, v = te.state_dict(), ve.state_dict()

    def blocks(prefix_src, sd, n):
        out = {}
        for i in range(n):
            s = f"{prefix_src}.encoder.layers.{i}."
            d = f"resblocks.{i}."
            out[d + "attn.in_proj_weight"] = torch.cat([sd[s + f"self_attn.{x}_proj.weight"] for x in "qkv"])
            out[d + "attn.in_proj_bias"] = torch.cat([sd[s + f"self_attn.{x}_proj.bias"] for x in "qkv"])
            for a, b in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                         ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
                out[d + a + ".weight"] = sd[s + b + ".weight"]
                out[d + a + ".bias"] = sd[s + b + ".bias"]
        return out

    sd = {"token_embedding.weight": t["text_model.embeddings.token_embedding.weight"],
          "positional_embedding": t["text_model.embeddings.position_embedding.weight"],
          "ln_final.weight": t["text_model.final_layer_norm.weight"], "ln_final.bias": t["text_model.final_layer_norm.bias"],
          "text_projection": t["text_projection.weight"].t(),
          "visual.conv1.weight": v["vision_model.embeddings.patch_embedding.weight"],
          "visual.class_embedding": v["vision_model.embeddings.class_embedding"],
          "visual.positional_embedding": v["vision_model.embeddings.position_embedding.weight"],
          "visual.ln_pre.weight": v["vision_model.pre_layrnorm.weight"], "visual.ln_pre.bias": v["vision_model.pre_layrnorm.bias"],
          "visual.ln_post.weight": v["vision_model.post_layernorm.weight"],
          "visual.ln_post.bias": v["vision_model.post_layernorm.bias"],
          "visual.proj": v["visual_projection.weight"].t(), "logit_scale": ref.logit_scale.detach()}
    sd.update({"transformer." + k: x for k, x in blocks("text_model", t, tc.num_hidden_layers).items()})
    sd.update({"visual.transformer." + k: x for k, x in blocks("vision_model", v, vc.num_hidden_layers).items()})
    ref.load_state_dict(sd, strict=True)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, tc.vocab_size - 2, (3, tc.max_position_embeddings), generator=g)
    ids[0, 5], ids[1, 11], ids[2, -1] = tc.eos_token_id, tc.eos_token_id, tc.eos_token_id
    px = torch.randn(2, 3, vc.image_size, vc.image_size, generator=g)
    with torch.no_grad():
        e_t, r_t = te(ids).text_embeds, ref.encode_text(ids)
        e_v, r_v = ve(px).image_embeds, ref.encode_image(px)
    print(f"text_embeds  vs openai/CLIP encode_text : rel L2 {rel(e_t, r_t):.2e}")
    print(f"image_embeds vs openai/CLIP encode_image: rel L2 {rel(e_v, r_v):.2e}")
    return rel(e_t, r_t) < 1e-5 and rel(e_v, r_v) < 1e-5


def check_tokenizer():
    src = os.path.join(ROOT, "..", "shared", "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz")
    if not os.path.exists(src):
        src = "/work/shared/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz"
    if not os.path.exists(src):
        print("tokenizer check skipped: real CLIP vocabulary not found")
        return True
    sys.modules.setdefault("ftfy", types.SimpleNamespace(fix_text=lambda s: s))  # ASCII test strings only
    sys.modules.setdefault("html", __import__("html"))
    openai_tokenizer = openai_module("simple_tokenizer")
    SimpleTokenizer, bytes_to_unicode = openai_tokenizer.SimpleTokenizer, openai_tokenizer.bytes_to_unicode
    from transformers import CLIPTokenizer
    merges = gzip.open(src).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "vocab.json"), "w") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f)
    with open(os.path.join(d, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    ours = CLIPTokenizer(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
    ref = SimpleTokenizer(src)
    texts = ["a small blue square at the top left on a yellow background", "A RED circle,   left of a Blue square!",
             "there's a 3-sided triangle (green) -- isn't it?", "unclip4j's tokenizer: öäü naïve café", ""]
    ok = True
    for s in texts:
        a = ours.encode_plain(s)
        b = ref.encode(s)
        ok &= a == b
        print(f"tokenizer {'OK ' if a == b else 'DIFF'} {s!r}: {a[:12]}")
    return ok


def check_safetensors():
    from safetensors.torch import load, save
    d = {"f32": torch.randn(3, 5), "f16": torch.randn(7).half(), "i64": torch.arange(4), "u8": torch.arange(3).byte(),
         "scalar": torch.tensor(2.5)}
    e = load(save(d))
    ok = all(torch.equal(d[k], e[k]) and d[k].dtype == e[k].dtype for k in d)
    print(f"safetensors round trip {'OK' if ok else 'FAILED'}")
    return ok


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=MODEL_DIR)
    a = ap.parse_args()
    torch.set_num_threads(1)
    results = [check_towers(a.model), check_tokenizer(), check_safetensors()]
    print("ALL OK" if all(results) else "SOME CHECKS FAILED")
    sys.exit(0 if all(results) else 1)

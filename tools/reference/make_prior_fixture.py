#!/usr/bin/python3
"""Golden fixtures for diffusers v0.20.0's PriorTransformer and UnCLIPTextProjModel.

Each model folder under java/src/test/resources/fixtures/prior/ holds what diffusers itself writes
with save_pretrained (config.json + diffusion_pytorch_model.safetensors, float32, the layout real
checkpoints use), io.safetensors with the inputs and outputs of several input cases (tensor names
"<case>.<what>"), and fixture.json (the configuration, the cases, the reference versions and the
environment). Random weights from a seed, every parameter drawn so each one matters: LayerNorm
weights near 1, biases non-zero, positional/prd/classifier-free-guidance embeddings and the
clip_mean/clip_std buffers all non-trivial.

  prior_layer_in   3 heads x 8 (inner 24) != embedding_dim 20, 2 layers, norm_in_type "layer",
                   embedding_proj_dim 18, clip_embed_dim 14, text length 7 (+4 = 11 tokens).
                   Cases: batch 3 with padded text and an int timestep; the guidance batch 2N = 6
                   built as UnCLIPPipeline builds it, with six different per-row timesteps; a
                   batch whose rows start with padding (query rows left without a key).
  prior_raw_text   2 heads x 6 (inner 12), embedding_dim 16, encoder_hid_proj_type null (the text
                   hidden states enter unprojected, width 12), embedding_proj_norm_type "layer",
                   added_emb_type null, additional_embeddings 3, time_embed_dim 20 != inner,
                   time_embed_act_fn "gelu", text length 10 (13 tokens). Cases: batch 3 padded,
                   guidance batch 4 with a tensor timestep, and no attention mask (diffusers then
                   applies no causal mask either).
  prior_pos1       4 heads x 4, num_embeddings 1 + additional_embeddings 0: the one-row positional
                   embedding diffusers pads with zeros onto the hidden-states token; no text
                   tokens at all (encoder_hid_proj_type null, no encoder_hidden_states);
                   "swish". Cases: no mask, a key mask over the 4 tokens (not causal here), and a
                   mask with rows of zeros only: every key of such a row gets the same -10000,
                   which is no mask at all up to the rounding of the shifted scores.
  text_proj_k4     clip 20, time 28, cross-attention 12, 4 extra tokens; with and without
                   classifier-free guidance.
  text_proj_k3     clip 16, time 10, cross-attention 20, 3 extra tokens; with and without.
  unclip-shapes-tiny   the shipped models/unclip-shapes-tiny/prior and text_proj (weights read
                   from models/, only io.safetensors + fixture.json here), seeded inputs.

Per prior case: inputs hidden_states, proj_embedding, encoder_hidden_states (when any),
attention_mask (I64 0/1, when any), timesteps (I64; fixture.json says whether it was passed as a
Python int or a per-row tensor); outputs time_embedding (time_embedding's output [B, inner]),
sequence (the tokens after the positional embedding, before norm_in [B, S, inner]), block0
(transformer_blocks[0]'s output), predicted_image_embedding [B, clip_embed_dim] (diffusers returns
[B, 1, clip_embed_dim] when added_emb_type is null: saved squeezed), post_processed
(post_process_latents of it). Per text_proj case: image_embeddings, prompt_embeds,
text_encoder_hidden_states in; text_encoder_hidden_states_out [B, k + L, cross],
additive_clip_time_embeddings [B, time_embed_dim] out.

Run from the repository root with Debian's torch (REFERENCE.md):
    /usr/bin/python3 tools/reference/make_prior_fixture.py
diffusers v0.20.0 and huggingface_hub v0.16.4 sources are looked up in third_party/src of this
checkout, or in the folder UNCLIP_THIRD_PARTY_SRC names; training/shims provides `safetensors`.
"""
import json
import math
import os
import pathlib
import platform
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SRC = pathlib.Path(os.environ.get("UNCLIP_THIRD_PARTY_SRC", ROOT / "third_party" / "src"))
sys.path.insert(0, str(ROOT / "training" / "shims"))  # a pure-Python `safetensors` for diffusers
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diffusers  # noqa: E402
import huggingface_hub  # noqa: E402
from diffusers.models.attention_processor import Attention  # noqa: E402
from diffusers.models.prior_transformer import PriorTransformer  # noqa: E402
from diffusers.pipelines.unclip.text_proj import UnCLIPTextProjModel  # noqa: E402
import safetensors_lite  # noqa: E402

OUT = ROOT / "java/src/test/resources/fixtures/prior"
BUILTIN = ROOT / "models/unclip-shapes-tiny"

# A case: batch, per-row real text lengths (None: no attention mask), the timestep (an int, or a
# list: one per row as a tensor), guidance (the batch is uncond half + cond half, built as
# UnCLIPPipeline builds it), left (rows whose mask starts with that many padding tokens).
PRIORS = {
    "prior_layer_in": dict(
        seed=101,
        config=dict(num_attention_heads=3, attention_head_dim=8, num_layers=2, embedding_dim=20, num_embeddings=7,
                    additional_embeddings=4, norm_in_type="layer", embedding_proj_dim=18, clip_embed_dim=14),
        cases=[dict(name="int_t", batch=3, lengths=[7, 3, 5], timestep=999),
               dict(name="cfg_tensor_t", batch=6, guidance=True, lengths=[4, 7, 2], timestep=[999, 0, 500, 37, 998, 1]),
               dict(name="left_padded", batch=3, lengths=[5, 7, 6], left=[2, 0, 1], timestep=[412])]),
    "prior_raw_text": dict(
        seed=202,
        config=dict(num_attention_heads=2, attention_head_dim=6, num_layers=2, embedding_dim=16, num_embeddings=10,
                    additional_embeddings=3, dropout=0.1, time_embed_act_fn="gelu", embedding_proj_norm_type="layer",
                    encoder_hid_proj_type=None, added_emb_type=None, time_embed_dim=20),
        cases=[dict(name="int_t", batch=3, lengths=[10, 1, 6], timestep=17),
               dict(name="cfg_tensor_t", batch=4, guidance=True, lengths=[9, 3], timestep=[250, 251, 3, 999]),
               dict(name="no_mask", batch=3, lengths=None, timestep=640)]),
    "prior_pos1": dict(
        seed=303,
        config=dict(num_attention_heads=4, attention_head_dim=4, num_layers=1, embedding_dim=12, num_embeddings=1,
                    additional_embeddings=0, time_embed_act_fn="swish", encoder_hid_proj_type=None),
        cases=[dict(name="no_mask", batch=3, lengths=None, timestep=5, text=False),
               dict(name="key_mask", batch=3, mask=[[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 0]], timestep=[7, 800, 64],
                    text=False),
               dict(name="all_masked_row", batch=3, mask=[[0, 0, 0, 0], [1, 0, 1, 1], [0, 0, 0, 0]], timestep=300,
                    text=False)]),
}

TEXT_PROJS = {
    "text_proj_k4": dict(seed=404, config=dict(clip_extra_context_tokens=4, clip_embeddings_dim=20, time_embed_dim=28,
                                               cross_attention_dim=12),
                         cases=[dict(name="cfg", n=3, text=7, guidance=True), dict(name="no_cfg", n=3, text=7)]),
    "text_proj_k3": dict(seed=505, config=dict(clip_extra_context_tokens=3, clip_embeddings_dim=16, time_embed_dim=10,
                                               cross_attention_dim=20),
                         cases=[dict(name="cfg", n=2, text=5, guidance=True), dict(name="no_cfg", n=3, text=5)]),
}


_attention_scores = Attention.get_attention_scores


def _attention_scores_zero_filled(self, query, key, attention_mask=None):
    """Without a mask, AttnProcessor's get_attention_scores hands baddbmm an uninitialised torch.empty
    with beta=0 (attention_processor.py:354-369); torch 1.13's CPU baddbmm still computes 0 * input for
    these small matrices, so a NaN or Inf left in that memory comes through (seen: whole NaN token rows,
    different from run to run). A zero input with beta=1 is what beta=0 means, bit for bit."""
    if attention_mask is None:
        attention_mask = query.new_zeros(query.shape[0], query.shape[1], key.shape[1])
    return _attention_scores(self, query, key, attention_mask)


Attention.get_attention_scores = _attention_scores_zero_filled


def randomize(m, gen):
    with torch.no_grad():
        for name, p in m.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if name == "clip_std":
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif leaf == "weight" and p.dim() == 1:  # LayerNorm gains
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif leaf == "bias":
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            elif leaf == "weight":
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))
            else:  # positional_embedding, prd_embedding, clip_mean, learned_classifier_free_guidance_embeddings
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def text_mask(lengths, total, left=None):
    mask = torch.zeros(len(lengths), total, dtype=torch.bool)
    for b, n in enumerate(lengths):
        s = left[b] if left else 0
        mask[b, s:s + n] = True
    return mask


def prior_inputs(m, case, gen):
    """The prior's inputs as UnCLIPPipeline passes them (guidance: uncond rows first, latents twice)."""
    cfg = m.config
    inner = cfg.num_attention_heads * cfg.attention_head_dim
    emb, proj_dim = cfg.embedding_dim, cfg.embedding_proj_dim or cfg.embedding_dim
    ehs_dim = emb if cfg.encoder_hid_proj_type == "linear" else inner
    b, guided = case["batch"], case.get("guidance", False)
    n = b // 2 if guided else b
    latents = torch.randn(n, emb, generator=gen)
    hidden = torch.cat([latents] * 2) if guided else latents
    proj = torch.randn(b, proj_dim, generator=gen)
    ehs, mask, length = None, None, cfg.num_embeddings
    if case.get("text", True):
        ehs = torch.randn(b, length, ehs_dim, generator=gen)
    if case.get("mask") is not None:
        mask = torch.tensor(case["mask"], dtype=torch.bool)
    elif case["lengths"] is not None:
        lengths = ([2] * n + case["lengths"]) if guided else case["lengths"]  # the empty prompt: start + end
        mask = text_mask(lengths, length, case.get("left"))
    t = case["timestep"]
    timestep = t if isinstance(t, int) else torch.tensor(t, dtype=torch.long)
    return hidden, timestep, proj, ehs, mask


def run_prior(m, hidden, timestep, proj, ehs, mask):
    cap = {}
    first = m.norm_in if m.norm_in is not None else m.transformer_blocks[0]
    hooks = [m.time_embedding.register_forward_hook(lambda mod, i, o: cap.__setitem__("time_embedding", o)),
             first.register_forward_pre_hook(lambda mod, args: cap.__setitem__("sequence", args[0])),
             m.transformer_blocks[0].register_forward_hook(lambda mod, i, o: cap.__setitem__("block0", o))]
    try:
        out = m(hidden, timestep=timestep, proj_embedding=proj, encoder_hidden_states=ehs, attention_mask=mask)
    finally:
        for h in hooks:
            h.remove()
    pred = out.predicted_image_embedding
    if pred.dim() == 3:  # added_emb_type null: diffusers keeps a token axis of length 1
        assert pred.shape[1] == 1
        pred = pred[:, 0]
    cap["predicted_image_embedding"] = pred
    cap["post_processed"] = m.post_process_latents(pred)
    return cap


def prior_io(m, cases, seed):
    gen = torch.Generator().manual_seed(seed + 1000)
    io, described = {}, []
    for case in cases:
        hidden, timestep, proj, ehs, mask = prior_inputs(m, case, gen)
        with torch.no_grad():
            out = run_prior(m, hidden, timestep, proj, ehs, mask)
        c = case["name"]
        io[c + ".hidden_states"] = hidden
        io[c + ".proj_embedding"] = proj
        if ehs is not None:
            io[c + ".encoder_hidden_states"] = ehs
        if mask is not None:
            io[c + ".attention_mask"] = mask.to(torch.int64)
        io[c + ".timesteps"] = torch.tensor([timestep]) if isinstance(timestep, int) else timestep
        for k, v in out.items():
            io[c + "." + k] = v
        described.append({"name": c, "model": "PriorTransformer",
                          "timestep_kind": "int" if isinstance(timestep, int) else "tensor",
                          "guidance": case.get("guidance", False),
                          "tensors": {k[len(c) + 1:]: list(v.shape) for k, v in io.items() if k.startswith(c + ".")}})
    return io, described


def text_proj_io(m, cases, seed):
    gen = torch.Generator().manual_seed(seed + 1000)
    cfg = m.config
    io, described = {}, []
    for case in cases:
        n, guided = case["n"], case.get("guidance", False)
        b = 2 * n if guided else n
        image = torch.randn(n, cfg.clip_embeddings_dim, generator=gen)
        prompt = torch.randn(b, cfg.clip_embeddings_dim, generator=gen)
        text = torch.randn(b, case["text"], cfg.clip_embeddings_dim, generator=gen)
        with torch.no_grad():
            hidden, additive = m(image_embeddings=image, prompt_embeds=prompt, text_encoder_hidden_states=text,
                                 do_classifier_free_guidance=guided)
        c = case["name"]
        io.update({c + ".image_embeddings": image, c + ".prompt_embeds": prompt,
                   c + ".text_encoder_hidden_states": text,
                   c + ".text_encoder_hidden_states_out": hidden, c + ".additive_clip_time_embeddings": additive})
        described.append({"name": c, "model": "UnCLIPTextProjModel", "do_classifier_free_guidance": guided,
                          "tensors": {k[len(c) + 1:]: list(v.shape) for k, v in io.items() if k.startswith(c + ".")}})
    return io, described


def environment():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    build = torch.__config__.show()
    blas = (re.search(r"BLAS_INFO=(\w+)", build) or ["", "?"])[1]
    capability = next((line.split(":", 1)[1].strip() for line in build.splitlines() if "CPU capability" in line), "?")
    return {"script": "tools/reference/make_prior_fixture.py",
            "reference": "diffusers v" + diffusers.__version__ + " (models/prior_transformer.py, "
                         "pipelines/unclip/text_proj.py), huggingface_hub v" + huggingface_hub.__version__,
            "torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "cpu": cpu, "cpu_capability": capability, "blas": blas,
            "torch_threads": torch.get_num_threads(), "attention_processor": "AttnProcessor (torch 1.13: no SDPA)",
            "parity_bound": "relative L2 < 1e-4 per tensor in float32 (REFERENCE.md)"}


def save_case(d, io, meta):
    bad = [k for k, v in io.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    assert not bad, f"{d}: non-finite reference values in {bad}"
    d.mkdir(parents=True, exist_ok=True)
    safetensors_lite.save({k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous()
                           for k, v in io.items()}, d / "io.safetensors", {"producer": meta["script"]})
    (d / "fixture.json").write_text(json.dumps(meta, indent=2) + "\n")


def check_round_trip(cls, d, m, run):
    """The saved folder loads back in diffusers with the same outputs (the files are what it reads)."""
    loaded = cls.from_pretrained(str(d)).eval()
    assert torch.equal(run(loaded), run(m)), f"{d}: reloaded model differs"


def main():
    torch.set_num_threads(1)
    diffusers.utils.logging.set_verbosity_error()  # from_pretrained's advice to install accelerate
    env = environment()
    for name, spec in PRIORS.items():
        m = PriorTransformer(**spec["config"]).eval()
        randomize(m, torch.Generator().manual_seed(spec["seed"]))
        d = OUT / name
        m.save_pretrained(str(d), safe_serialization=True)
        io, cases = prior_io(m, spec["cases"], spec["seed"])
        check_round_trip(PriorTransformer, d, m, lambda x: run_prior(x, *prior_inputs(
            x, spec["cases"][0], torch.Generator().manual_seed(spec["seed"] + 1000)))["predicted_image_embedding"])
        save_case(d, io, {**env, "model": "PriorTransformer", "seed": spec["seed"], "config": spec["config"],
                          "cases": cases})
    for name, spec in TEXT_PROJS.items():
        m = UnCLIPTextProjModel(**spec["config"]).eval()
        randomize(m, torch.Generator().manual_seed(spec["seed"]))
        d = OUT / name
        m.save_pretrained(str(d), safe_serialization=True)
        io, cases = text_proj_io(m, spec["cases"], spec["seed"])
        check_round_trip(UnCLIPTextProjModel, d, m, lambda x: text_proj_io(x, spec["cases"][:1], spec["seed"])[0][
            spec["cases"][0]["name"] + ".text_encoder_hidden_states_out"])
        save_case(d, io, {**env, "model": "UnCLIPTextProjModel", "seed": spec["seed"], "config": spec["config"],
                          "cases": cases})
    builtin(env)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


def builtin(env):
    """The shipped tiny model: diffusers on its own (f16-stored) weights, widened to float32 as it loads them."""
    seed = 606
    prior = PriorTransformer.from_pretrained(str(BUILTIN / "prior")).float().eval()
    proj = UnCLIPTextProjModel.from_pretrained(str(BUILTIN / "text_proj")).float().eval()
    length = prior.config.num_embeddings
    prior_cases = [dict(name="prior_cfg", batch=4, guidance=True, lengths=[9, 14], timestep=999),
                   dict(name="prior_tensor_t", batch=3, lengths=[3, 32, 11], timestep=[0, 431, 998])]
    io, cases = prior_io(prior, prior_cases, seed)
    tp_io, tp_cases = text_proj_io(proj, [dict(name="text_proj_cfg", n=2, text=length, guidance=True)], seed)
    io.update(tp_io)
    save_case(OUT / "unclip-shapes-tiny", io, {
        **env, "model": "PriorTransformer + UnCLIPTextProjModel",
        "weights": "models/unclip-shapes-tiny/prior and text_proj (the tests read them there)",
        "config": {c: {k: v for k, v in m.config.items() if k != "_name_or_path"}  # a local path
                   for c, m in (("prior", prior), ("text_proj", proj))},
        "seed": seed,
        "cases": cases + tp_cases})


if __name__ == "__main__":
    main()

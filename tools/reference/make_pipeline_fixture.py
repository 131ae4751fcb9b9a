#!/usr/bin/python3
"""Golden fixtures for the whole unCLIP pipelines, from diffusers v0.20.0 itself on the CPU in float32:
UnCLIPPipeline (text to image), UnCLIPImageVariationPipeline, and the community pipelines
UnCLIPImageInterpolationPipeline and UnCLIPTextInterpolationPipeline (examples/community at v0.20.0,
loaded by file path, their element-wise `slerp` replaced by the true slerp below).

Two model folders:

  builtin      models/unclip-shapes-tiny, the shipped model (read, never written).
  tiny_random  pipeline/tiny_random/, written by this script: the full diffusers UnCLIP layout with seeded
               random float16 weights, chosen to differ from the built-in model wherever its configs can:
               prior without clip_sample (built-in: clipped to +-5), inner dim 24 != embedding dim 36, norm_in_type
               "layer"; decoder "sample" prediction (built-in: epsilon), 16 px, cross_attention_dim 28 !=
               embedding dim; text_proj with 3 extra context tokens;
               super-resolution epsilon prediction at 32 px (x2; built-in: sample at 128 px, x4) with
               super_res_first != super_res_last; text context 77 (built-in 32) padded with <|endoftext|>
               (built-in pads with "!"), gelu text MLP; feature extractor resize 44 then centre crop 40.
               The tokenizer's vocab.json and merges.txt are the built-in model's, byte for byte.

Per case, pipeline/<case>/case.json (every input and setting, the call exactly as made, the timesteps, and what
io.safetensors holds) and pipeline/<case>/io.safetensors: float32 recordings of every stage (uint8 images,
int64 token ids). The recordings come from wrapping the schedulers' `step` and a few modules' `forward` on the
instances; the pipeline code runs unchanged. pipeline/fixture.json lists the cases, the versions and the
environment, and the result of the slerp self-test run before anything else.

Names in io.safetensors (B = images of the call; B2 = 2B under classifier-free guidance, unconditional rows
first, else B; L = the tokenizer's model_max_length; k = clip_extra_context_tokens; F = frames):
  image_embeddings   [B, D]        what text_proj receives: the prior's post-processed output (text to image,
                                   text interpolation), the image encoder's output repeated per image
                                   (variation), the slerped embeddings (image interpolation)
  prompt_embeds      [B2, D]       text_proj's prompt_embeds (the text encoder's projected output)
  decoder_mask       [B2, k+L]     the decoder's attention mask, 1/0 (text mask padded with k ones in front)
  text_mask          [B2, L]       the prior's attention mask, 1/0 (text to image, text interpolation)
  input_ids          [P, L] int64  the conditional prompts' token ids (text to image: P prompts; text
                                   interpolation: start and end prompt)
  decoder_latents    [B, 3, S, S]  the decoder's last sample after clamp(-1, 1) (image_small)
  super_res_latents  [B, 3, R, R]  the super-resolution's last sample, before * 0.5 + 0.5 (some cases)
  images             [B, R, R, 3] uint8  output_type="np", then (x * 255).round().astype(uint8), exactly what
                                   diffusers' numpy_to_pil does for output_type="pil" (checked equal here)
  pixel_values       [N, 3, C, C]  the feature extractor's output (variation)
  image_encoder_embeds [2, D]      the image encoder's output for the two images (image interpolation)
  interp_t           [F]           torch.linspace(0, 1, F) in float32, the slerp parameter per frame
  endpoint_mask, endpoint_text_embeds [2, D], endpoint_hidden_states [2, L, D]  text interpolation: the
                                   tokenizer's mask and the text encoder run WITH that mask on the two prompts
  interp_text_embeds [F, D], interp_hidden_states [F, L, D]  text interpolation: the slerped text outputs

Run from the repository root, with diffusers v0.20.0 and huggingface_hub v0.16.4 source under
third_party/src and diffusers' examples/community under third_party/examples (README "Running the
reference"); UNCLIP_THIRD_PARTY names another folder of that layout (a worktree without third_party/):
    /usr/bin/python3 tools/reference/make_pipeline_fixture.py
    UNCLIP_THIRD_PARTY=/work/main/third_party /usr/bin/python3 tools/reference/make_pipeline_fixture.py
Reference BLAS only (no OpenBLAS on LD_LIBRARY_PATH), one thread: the output is then the same on every run
(the script was run twice and every file's sha256 compared).
"""
import hashlib
import importlib.util
import json
import math
import os
import pathlib
import platform
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
THIRD_PARTY = pathlib.Path(os.environ.get("UNCLIP_THIRD_PARTY", ROOT / "third_party"))
sys.path.insert(0, str(ROOT / "training" / "shims"))       # safetensors + transformers stand-ins
sys.path.insert(0, str(THIRD_PARTY / "src"))                # diffusers v0.20.0, huggingface_hub v0.16.4
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import transformers_shim  # noqa: E402,F401  (registers itself as `transformers`)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import diffusers  # noqa: E402
from diffusers import (PriorTransformer, UnCLIPImageVariationPipeline, UnCLIPPipeline, UnCLIPScheduler,  # noqa: E402
                       UNet2DConditionModel, UNet2DModel)
from diffusers.pipelines.unclip.text_proj import UnCLIPTextProjModel  # noqa: E402
from diffusers.utils import logging as diffusers_logging  # noqa: E402
from transformers import (CLIPImageProcessor, CLIPTextConfig, CLIPTextModelWithProjection,  # noqa: E402
                          CLIPTokenizer, CLIPVisionConfig, CLIPVisionModelWithProjection)
from transformers.tokenization_utils import BatchEncoding  # noqa: E402

import safetensors_lite  # noqa: E402

# UNCLIP_FIXTURE_OUT: write elsewhere (tools/reference/pipeline_spread.py reruns the reference into a scratch
# folder under other thread counts, BLAS and convolution back ends to measure its own spread).
OUT = pathlib.Path(os.environ.get("UNCLIP_FIXTURE_OUT", ROOT / "java" / "src" / "test" / "resources" / "fixtures"
                                  / "pipeline"))
BUILTIN = ROOT / "models" / "unclip-shapes-tiny"
TINY = OUT / "tiny_random"
COMMUNITY = THIRD_PARTY / "examples" / "community"

# ----------------------------------------------------------------------------- the true slerp

SLERP_DOT_THRESHOLD = 0.9995


def true_slerp(val, low, high):
    """Spherical interpolation between two tensors, each taken as ONE vector (all elements flattened).

    t = float(val). In float64: cos = <low/|low|, high/|high|>, clamped to [-1, 1]. When |cos| > 0.9995
    (parallel or anti-parallel: sin(omega) is near 0) the result is the linear blend (1 - t) low + t high;
    else omega = acos(cos) and the result is sin((1 - t) omega)/sin(omega) low + sin(t omega)/sin(omega) high.
    The blend is computed in float64 and rounded once to low's dtype; the shape is low's.

    Replaces the community pipelines' `slerp`, which takes acos of the element-wise PRODUCT of the normalised
    vectors (an angle per element, not the angle between the vectors)."""
    t = float(val)
    a, b = low.double(), high.double()
    fa, fb = a.reshape(-1), b.reshape(-1)
    cos = float(torch.dot(fa / fa.norm(), fb / fb.norm()))
    cos = min(1.0, max(-1.0, cos))
    if abs(cos) > SLERP_DOT_THRESHOLD:
        c0, c1 = 1.0 - t, t
    else:
        omega = math.acos(cos)
        so = math.sin(omega)
        c0, c1 = math.sin((1.0 - t) * omega) / so, math.sin(t * omega) / so
    return (c0 * a + c1 * b).to(low.dtype)


def slerp_self_test():
    """The checks the fixtures' interpolation rests on; raises on any failure, returns their descriptions."""
    done = []
    g = torch.Generator().manual_seed(99)
    v = torch.randn(37, generator=g, dtype=torch.float64)
    # angle 0: the same vector, and parallel vectors of other lengths, take the linear path
    for t in (0.0, 0.3, 1.0):
        assert torch.allclose(true_slerp(t, v, v), v, rtol=0, atol=1e-15)
        want = (1 - t) * v + t * (2.5 * v)
        assert torch.allclose(true_slerp(t, v, 2.5 * v), want, rtol=0, atol=1e-15)
        want = (1 - t) * v + t * (-v)
        assert torch.allclose(true_slerp(t, v, -v), want, rtol=0, atol=1e-15)
    done.append("same vectors (v, v), parallel (v, 2.5 v) and anti-parallel (v, -v): the linear blend, to 1e-15")
    # orthogonal unit vectors: unit-norm results, the midpoint (e1 + e2)/sqrt(2), angle t * pi/2 from e1
    e1, e2 = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    e1[1], e2[3] = 1.0, 1.0
    mid = true_slerp(0.5, e1, e2)
    assert abs(float(mid.norm()) - 1) < 1e-15 and torch.allclose(mid, (e1 + e2) / math.sqrt(2), atol=1e-15)
    for t in np.linspace(0, 1, 11):
        r = true_slerp(t, e1, e2)
        assert abs(float(r.norm()) - 1) < 1e-14
        assert abs(math.atan2(float(r[3]), float(r[1])) - t * math.pi / 2) < 1e-14
    done.append("orthogonal unit vectors: unit norm at t = 0, 0.1, ..., 1, midpoint (e1+e2)/sqrt(2), angle t*pi/2")
    # general unit vectors and a 2-D tensor taken as one vector: endpoints, unit norm, angle t * omega
    a = torch.randn(7, 36, generator=g, dtype=torch.float64)
    b = torch.randn(7, 36, generator=g, dtype=torch.float64)
    a, b = a / a.norm(), b / b.norm()
    omega = math.acos(float((a * b).sum()))
    assert torch.allclose(true_slerp(0.0, a, b), a, atol=1e-15) and torch.allclose(true_slerp(1.0, a, b), b, atol=1e-15)
    for t in (0.25, 0.5, 0.8):
        r = true_slerp(t, a, b)
        assert r.shape == a.shape and abs(float(r.norm()) - 1) < 1e-14
        assert abs(math.acos(min(1.0, float((r * a).sum()))) - t * omega) < 1e-7
    done.append("random unit [7, 36] tensors as one vector: endpoints, unit norm, angle t*omega from low, shape kept")
    # float32 in, float32 out, the scalar as a 0-d tensor (as the pipelines pass it)
    r = true_slerp(torch.tensor(0.5), a.float(), b.float())
    assert r.dtype == torch.float32
    done.append("float32 tensors and a 0-d float32 parameter: float32 result")
    return done


# ----------------------------------------------------------------------------- the tiny random model

EMB = 36         # CLIP projection = text width = prior embedding dim
CONTEXT = 77
VOCAB = 664      # the built-in tokenizer's vocabulary
TEXT_CFG = dict(vocab_size=VOCAB, hidden_size=EMB, intermediate_size=72, projection_dim=EMB, num_hidden_layers=2,
                num_attention_heads=3, max_position_embeddings=CONTEXT, hidden_act="gelu", layer_norm_eps=1e-5,
                bos_token_id=662, eos_token_id=663, pad_token_id=663)
VISION_CFG = dict(hidden_size=48, intermediate_size=96, projection_dim=EMB, num_hidden_layers=2, num_attention_heads=4,
                  image_size=40, patch_size=8, num_channels=3, hidden_act="quick_gelu", layer_norm_eps=1e-5)
FEATURE_CFG = dict(size={"shortest_edge": 44}, crop_size={"height": 40, "width": 40}, resample=3)
PRIOR_CFG = dict(num_attention_heads=2, attention_head_dim=12, num_layers=2, embedding_dim=EMB, num_embeddings=CONTEXT,
                 additional_embeddings=4, dropout=0.0, norm_in_type="layer")
DEC_BLOCKS = (12, 20)
DECODER_CFG = dict(
    sample_size=16, in_channels=3, out_channels=6, layers_per_block=1, block_out_channels=DEC_BLOCKS,
    down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
    up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
    mid_block_type="UNetMidBlock2DSimpleCrossAttn", attention_head_dim=10, cross_attention_dim=28,
    class_embed_type="identity", resnet_time_scale_shift="scale_shift",
    norm_num_groups=4, act_fn="silu", flip_sin_to_cos=True, freq_shift=0)
TEXT_PROJ_CFG = dict(clip_extra_context_tokens=3, clip_embeddings_dim=EMB, time_embed_dim=4 * DEC_BLOCKS[0],
                     cross_attention_dim=28)
SR_CFG = dict(sample_size=32, in_channels=6, out_channels=3, layers_per_block=1, block_out_channels=(8, 12),
              down_block_types=("ResnetDownsampleBlock2D",) * 2, up_block_types=("ResnetUpsampleBlock2D",) * 2,
              add_attention=False, resnet_time_scale_shift="scale_shift", norm_num_groups=4, act_fn="silu",
              flip_sin_to_cos=True, freq_shift=0, attention_head_dim=None)
# The prior predicts the embedding, as the built-in's and Karlo's do. An epsilon-predicting random prior was tried:
# a random net cannot predict the noise, so x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) (1/sqrt(abar_999) = 2e4)
# lands on the clip bound, and 72-89 % of every embedding was +-clip_sample_range: a fixture that tests little.
# Epsilon prediction is covered by the built-in decoder and this model's super-resolution.
PRIOR_SCHED = dict(variance_type="fixed_small_log", prediction_type="sample", clip_sample=False, clip_sample_range=5.0,
                   num_train_timesteps=1000)
DECODER_SCHED = dict(variance_type="learned_range", prediction_type="sample", clip_sample=True, clip_sample_range=1.0,
                     num_train_timesteps=1000)
SR_SCHED = dict(variance_type="fixed_small_log", prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0,
                num_train_timesteps=1000)
TOKENIZER_CONFIG = {"add_prefix_space": False, "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": True,
                    "do_lower_case": True, "eos_token": "<|endoftext|>", "errors": "replace",
                    "model_max_length": CONTEXT, "pad_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer",
                    "unk_token": "<|endoftext|>"}
SPECIAL_TOKENS = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                  "unk_token": "<|endoftext|>"}


def randomise(module, seed, special=None):
    """Every parameter drawn from a seeded generator, in registration order: weights ~ N(0, 1/fan_in) (fan_in =
    the elements of one output row: in_features, or in_channels*kh*kw), norm weights 1 + 0.1 N, other vectors
    (biases) 0.1 N, and the named special cases; then rounded to float16, the type they are stored in."""
    special = special or {}
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name in special:
                p.copy_(special[name](p.shape, g))
            elif p.ndim == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            p.copy_(p.half().float())
    return module


def normal(std, mean=0.0):
    return lambda shape, g: mean + std * torch.randn(shape, generator=g)


def build_tiny_random():
    """Writes pipeline/tiny_random/ (weights float16) from seeded random modules."""
    text = randomise(CLIPTextModelWithProjection(CLIPTextConfig(**TEXT_CFG)), 101, {
        "text_model.embeddings.token_embedding.weight": normal(0.5),
        "text_model.embeddings.position_embedding.weight": normal(0.2)})
    vision = randomise(CLIPVisionModelWithProjection(CLIPVisionConfig(**VISION_CFG)), 102, {
        "vision_model.embeddings.class_embedding": normal(1.0),
        "vision_model.embeddings.position_embedding.weight": normal(0.2)})
    prior = randomise(PriorTransformer(**PRIOR_CFG), 103, {
        "positional_embedding": normal(0.5), "prd_embedding": normal(1.0), "clip_mean": normal(0.1),
        "clip_std": lambda shape, g: torch.exp(0.2 * torch.randn(shape, generator=g))})
    text_proj = randomise(UnCLIPTextProjModel(**TEXT_PROJ_CFG), 104, {
        "learned_classifier_free_guidance_embeddings": normal(1.0)})
    # the decoder predicts the image: a smaller last layer keeps most of it inside the scheduler's clip to +-1
    decoder = randomise(UNet2DConditionModel(**DECODER_CFG), 105, {
        "conv_out.weight": lambda shape, g: 0.3 * torch.randn(shape, generator=g) / shape[1:].numel() ** 0.5})
    sr_first = randomise(UNet2DModel(**SR_CFG), 106)
    sr_last = randomise(UNet2DModel(**SR_CFG), 107)
    tok = CLIPTokenizer.from_pretrained(BUILTIN / "tokenizer")
    pipe = UnCLIPPipeline(prior=prior, decoder=decoder, text_encoder=text, tokenizer=tok, text_proj=text_proj,
                          super_res_first=sr_first, super_res_last=sr_last,
                          prior_scheduler=UnCLIPScheduler(**PRIOR_SCHED),
                          decoder_scheduler=UnCLIPScheduler(**DECODER_SCHED),
                          super_res_scheduler=UnCLIPScheduler(**SR_SCHED))
    if TINY.exists():
        shutil.rmtree(TINY)
    pipe.save_pretrained(TINY, safe_serialization=True)
    # as training/export.py: name the shim's classes after the library a user's folder names (transformers)
    index = json.loads((TINY / "model_index.json").read_text())
    for name in ("text_encoder", "tokenizer"):
        index[name][0] = "transformers"
    (TINY / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    from safetensors.torch import load_file, save_file
    for sub in ("prior", "text_proj", "decoder", "super_res_first", "super_res_last"):
        p = TINY / sub / "diffusion_pytorch_model.safetensors"
        save_file({k: v.half() for k, v in load_file(str(p)).items()}, str(p), metadata={"format": "pt"})
    text.save_pretrained(TINY / "text_encoder", dtype=torch.float16)
    vision.save_pretrained(TINY / "image_encoder", dtype=torch.float16)
    CLIPImageProcessor(**FEATURE_CFG).save_pretrained(TINY / "feature_extractor")
    # the tokenizer: the built-in vocabulary and merges byte for byte; context 77, padded with <|endoftext|>
    shutil.rmtree(TINY / "tokenizer")
    (TINY / "tokenizer").mkdir()
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(BUILTIN / "tokenizer" / f, TINY / "tokenizer" / f)
    (TINY / "tokenizer" / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2, sort_keys=True))
    (TINY / "tokenizer" / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS, indent=2))


# ----------------------------------------------------------------------------- loading the pipelines


def load_text_pipe(folder):
    pipe = UnCLIPPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    for name, m in pipe.components.items():
        if isinstance(m, torch.nn.Module):
            assert all(p.dtype == torch.float32 for p in m.parameters()), name
            m.eval()
    return pipe


def image_parts(folder):
    fe = CLIPImageProcessor.from_pretrained(folder, subfolder="feature_extractor")
    enc = CLIPVisionModelWithProjection.from_pretrained(folder, subfolder="image_encoder").float().eval()
    return fe, enc


def variation_pipe(pipe, fe, enc):
    """UnCLIPImageVariationPipeline from the text pipeline's components + image_encoder + feature_extractor (the
    folders' model_index.json names UnCLIPPipeline and lists neither image component, as Karlo's does)."""
    vp = UnCLIPImageVariationPipeline(
        decoder=pipe.decoder, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, text_proj=pipe.text_proj,
        feature_extractor=fe, image_encoder=enc, super_res_first=pipe.super_res_first,
        super_res_last=pipe.super_res_last, decoder_scheduler=pipe.decoder_scheduler,
        super_res_scheduler=pipe.super_res_scheduler)
    vp.set_progress_bar_config(disable=True)
    return vp


def community_module(name):
    path = COMMUNITY / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"community_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.slerp = true_slerp  # the module's global, looked up when __call__ runs
    return mod


def image_interp_pipe(pipe, fe, enc, mod):
    ip = mod.UnCLIPImageInterpolationPipeline(
        decoder=pipe.decoder, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, text_proj=pipe.text_proj,
        feature_extractor=fe, image_encoder=enc, super_res_first=pipe.super_res_first,
        super_res_last=pipe.super_res_last, decoder_scheduler=pipe.decoder_scheduler,
        super_res_scheduler=pipe.super_res_scheduler)
    ip.set_progress_bar_config(disable=True)
    return ip


def text_interp_pipe(pipe, mod):
    tp = mod.UnCLIPTextInterpolationPipeline(
        prior=pipe.prior, decoder=pipe.decoder, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer,
        text_proj=pipe.text_proj, super_res_first=pipe.super_res_first, super_res_last=pipe.super_res_last,
        prior_scheduler=pipe.prior_scheduler, decoder_scheduler=pipe.decoder_scheduler,
        super_res_scheduler=pipe.super_res_scheduler)
    tp.set_progress_bar_config(disable=True)
    return tp


def _batch_encoding_to(self, device):
    """The text interpolation pipeline calls `inputs.to(device)` on the tokenizer's output, which the shim's
    BatchEncoding (a dict) lacks; transformers' moves the tensors and returns itself. Added here, not in the shim."""
    for k, v in self.items():
        if torch.is_tensor(v):
            self[k] = v.to(device)
    return self


BatchEncoding.to = _batch_encoding_to

# the modules whose randn_tensor the pipelines call (each imported it by name)
RANDN_MODULES = [importlib.import_module(m) for m in (
    "diffusers.pipelines.unclip.pipeline_unclip", "diffusers.pipelines.unclip.pipeline_unclip_image_variation",
    "diffusers.schedulers.scheduling_unclip")]


# ----------------------------------------------------------------------------- recording


class Recorder:
    """Wraps, on the instances, the schedulers' step, the pipeline's prepare_latents and the forward of text_proj,
    the text and image encoders, the prior and the decoder, keeping what the fixtures need, and logs every random
    draw (diffusers' randn_tensor, as the pipeline and scheduler modules call it) with the stage that made it;
    `close()` takes the wrappers off again."""

    def __init__(self, pipe, modules):
        self.pipe = pipe
        self.steps = {}
        self.calls = {}
        self.draws = []
        self.stage = []
        self.undo = []
        self.scheds = {}
        for name, label in (("prior_scheduler", "prior"), ("decoder_scheduler", "decoder"),
                            ("super_res_scheduler", "super-res")):
            s = getattr(pipe, name, None)
            if s is not None:
                self.scheds[id(s)] = label
                self._wrap(s, "step", name, self.steps, f"{label} step noise")
        for name in ("text_proj", "text_encoder", "image_encoder", "prior", "decoder"):
            m = getattr(pipe, name, None)
            if m is not None:
                self._wrap(m, "forward", name, self.calls)
        orig_prepare = pipe.prepare_latents

        def prepare(shape, dtype, device, generator, latents, scheduler):
            self.stage.append(f"{self.scheds[id(scheduler)]} latents")
            try:
                return orig_prepare(shape, dtype, device, generator, latents, scheduler)
            finally:
                self.stage.pop()

        pipe.prepare_latents = prepare
        self.undo.append((pipe, "prepare_latents"))
        self.patched = []
        for mod in modules:
            orig = mod.randn_tensor

            def randn(shape, *args, _orig=orig, **kwargs):
                gen = kwargs.get("generator")
                self.draws.append((self.stage[-1] if self.stage else "?", list(shape),
                                   f"list of {len(gen)}" if isinstance(gen, list) and len(gen) > 1 else "one"))
                return _orig(shape, *args, **kwargs)

            mod.randn_tensor = randn
            self.patched.append((mod, orig))

    def _wrap(self, obj, attr, name, logs, stage=None):
        orig = getattr(obj, attr)
        log = logs.setdefault(name, [])

        def wrapper(*args, **kwargs):
            if stage:
                self.stage.append(stage)
            try:
                out = orig(*args, **kwargs)
            finally:
                if stage:
                    self.stage.pop()
            log.append((args, kwargs, out))
            return out

        setattr(obj, attr, wrapper)
        self.undo.append((obj, attr))

    def close(self):
        for obj, attr in self.undo:
            delattr(obj, attr)
        for mod, orig in self.patched:
            mod.randn_tensor = orig

    def last_sample(self, sched):
        return self.steps[sched][-1][2].prev_sample

    def draw_order(self):
        """The draws in order, runs of equal ones merged: [{"what", "shape", "generator", "times"}]."""
        out = []
        for what, shape, gen in self.draws:
            if out and (out[-1]["what"], out[-1]["shape"], out[-1]["generator"]) == (what, shape, gen):
                out[-1]["times"] += 1
            else:
                out.append({"what": what, "shape": shape, "generator": gen, "times": 1})
        return out


def f32(t):
    return t.detach().float().contiguous().clone()


def mask01(t):
    return t.detach().to(torch.float32).contiguous().clone()


# ----------------------------------------------------------------------------- inputs


def make_input_images(case_dir, names):
    """Small deterministic PNGs: rgb_37x53.png (RGB, a gradient and a disc), gray_41x29.png (L, a gradient and a
    bar). Odd sizes, so that resize and centre crop are not trivial."""
    case_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        if n == "rgb_37x53.png":
            w, h = 37, 53
            y, x = np.mgrid[0:h, 0:w].astype(np.float64)
            a = np.stack([40 + 180 * x / (w - 1), 200 - 150 * y / (h - 1), 90 + 60 * np.sin(x / 5 + y / 7)], -1)
            disc = (x - 22) ** 2 + (y - 18) ** 2 < 9.5 ** 2
            a[disc] = [230, 40, 35]
            im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), "RGB")
        elif n == "gray_41x29.png":
            w, h = 41, 29
            y, x = np.mgrid[0:h, 0:w].astype(np.float64)
            a = 30 + 160 * (x + 2 * y) / (w - 1 + 2 * (h - 1))
            a[8:20, 6:15] = 245
            im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), "L")
        else:
            raise ValueError(n)
        im.save(case_dir / n)
        out.append(Image.open(case_dir / n))
        out[-1].load()
    return out


def generators(case):
    if "seeds" in case:
        return [torch.Generator().manual_seed(s) for s in case["seeds"]]
    return torch.Generator().manual_seed(case["seed"])


# ----------------------------------------------------------------------------- the cases

PROMPT_1 = "a small red circle at the top left on a blue background"
PROMPT_2 = "a picture of a huge yellow triangle in the middle on black"
PROMPT_3 = "a green background with a medium-sized purple square at the bottom"
PROMPT_4 = "A Tiny WHITE diamond, below a big orange circle!"
LONG_BUILTIN = ("a little grey square at the top right corner and a huge green diamond beneath it "
                "on a white background with a red circle in the lower left, over a purple one")
LONG_TINY = " ".join([PROMPT_1, "and", PROMPT_2, "and", PROMPT_3, "with", PROMPT_4, "and a unicorn-shaped cloud",
                      "drifting over", LONG_BUILTIN])

CASES = [
    # ---- text to image, built-in model
    dict(name="t2i_builtin_default", model="builtin", pipeline="UnCLIPPipeline", prompt=PROMPT_1, seed=0,
         steps=(25, 25, 7), record_super_res=True,
         what="the built-in model with every default (25/25/7 steps, prior 4, decoder 8), one image"),
    dict(name="t2i_builtin_default_2", model="builtin", pipeline="UnCLIPPipeline", prompt=PROMPT_2, seed=7,
         steps=(25, 25, 7),
         what="defaults again with another prompt and seed"),
    dict(name="t2i_builtin_batch", model="builtin", pipeline="UnCLIPPipeline", prompt=[PROMPT_3, PROMPT_4],
         num_images_per_prompt=2, seed=123, steps=(3, 4, 2), prior_guidance=2.5, decoder_guidance=5.0,
         what="2 prompts x 2 images (B = 4) from one generator, guidance 2.5 / 5, mixed case and punctuation"),
    dict(name="t2i_builtin_prior_g1", model="builtin", pipeline="UnCLIPPipeline", prompt=PROMPT_2, seed=31,
         steps=(4, 3, 2), prior_guidance=1.0, decoder_guidance=8.0,
         what="prior guidance 1 with decoder guidance 8: guidance is on, so the prior still runs both halves "
              "and blends them with scale 1"),
    dict(name="t2i_builtin_no_guidance", model="builtin", pipeline="UnCLIPPipeline", prompt=PROMPT_1, seed=5,
         steps=(3, 3, 2), prior_guidance=1.0, decoder_guidance=1.0,
         what="both guidance scales 1: no classifier-free guidance at all (no empty prompt, batch not doubled; "
              "the learned-range decoder output goes to the scheduler whole)"),
    dict(name="t2i_builtin_long_prompt", model="builtin", pipeline="UnCLIPPipeline", prompt=LONG_BUILTIN, seed=11,
         steps=(2, 2, 2),
         what="a prompt past the built-in context of 32 tokens (truncated to 30 + bos/eos); the fewest steps, 2"),
    dict(name="t2i_builtin_generators", model="builtin", pipeline="UnCLIPPipeline", prompt=PROMPT_3,
         num_images_per_prompt=3, seeds=[5, 6, 7], steps=(3, 2, 2), prior_guidance=4.0, decoder_guidance=3.0,
         what="a list of 3 generators, one per image: every draw of row k comes from generator k"),
    # ---- text to image, tiny random model
    dict(name="t2i_tiny_default", model="tiny_random", pipeline="UnCLIPPipeline", prompt=PROMPT_2, seed=42,
         steps=(25, 25, 7), record_super_res=True,
         what="the random model (prior unclipped, decoder sample, super-res epsilon) with the default 25/25/7 steps"),
    dict(name="t2i_tiny_batch", model="tiny_random", pipeline="UnCLIPPipeline", prompt=[PROMPT_1, "", PROMPT_4],
         num_images_per_prompt=2, seed=2024, steps=(5, 6, 3), prior_guidance=3.0, decoder_guidance=1.0,
         record_super_res=True,
         what="3 prompts (one empty) x 2 images (B = 6), prior guidance 3 with decoder guidance 1"),
    dict(name="t2i_tiny_long_prompt", model="tiny_random", pipeline="UnCLIPPipeline", prompt=LONG_TINY, seed=77,
         steps=(13, 9, 4), prior_guidance=6.5, decoder_guidance=2.0, record_super_res=True,
         what="a prompt past 77 tokens (truncated to 75 + bos/eos), odd step counts 13/9/4"),
    dict(name="t2i_tiny_generators", model="tiny_random", pipeline="UnCLIPPipeline", prompt=[PROMPT_3, PROMPT_1],
         num_images_per_prompt=2, seeds=[1, 2, 3, 4], steps=(4, 4, 3), record_super_res=True,
         what="a list of 4 generators for 2 prompts x 2 images"),
    dict(name="t2i_tiny_no_guidance", model="tiny_random", pipeline="UnCLIPPipeline", prompt=[PROMPT_4, PROMPT_2],
         seed=9, steps=(2, 3, 5), prior_guidance=0.5, decoder_guidance=1.0, record_super_res=True,
         what="prior guidance 0.5 and decoder 1: no guidance (both <= 1), batch of 2"),
    # ---- image variations
    dict(name="var_builtin_rgb", model="builtin", pipeline="UnCLIPImageVariationPipeline", images=["rgb_37x53.png"],
         num_images_per_prompt=2, seed=3, steps=(None, 4, 2),
         what="variations of a 37x53 RGB image, 2 images, decoder guidance 8 (default)"),
    dict(name="var_builtin_gray", model="builtin", pipeline="UnCLIPImageVariationPipeline", images=["gray_41x29.png"],
         seed=4, steps=(None, 3, 2), decoder_guidance=1.0,
         what="a 41x29 grayscale (L) image, decoder guidance 1: no guidance"),
    dict(name="var_tiny_batch", model="tiny_random", pipeline="UnCLIPImageVariationPipeline",
         images=["rgb_37x53.png", "gray_41x29.png"], num_images_per_prompt=2, seed=8, steps=(None, 5, 3),
         decoder_guidance=3.0, record_super_res=True,
         what="a list of both images x 2 images each (B = 4), decoder guidance 3, resize 44 + crop 40"),
    # ---- community interpolation pipelines
    dict(name="interp_image_builtin", model="builtin", pipeline="UnCLIPImageInterpolationPipeline",
         images=["rgb_37x53.png", "gray_41x29.png"], frames=3, seed=10, steps=(None, 3, 2),
         what="image interpolation, 3 frames, decoder guidance 8: the decoder's initial noise drawn once, repeated"),
    dict(name="interp_image_tiny", model="tiny_random", pipeline="UnCLIPImageInterpolationPipeline",
         images=["gray_41x29.png", "rgb_37x53.png"], frames=5, seed=12, steps=(None, 4, 3), decoder_guidance=1.0,
         record_super_res=True, what="image interpolation, 5 frames, no guidance"),
    dict(name="interp_text_builtin", model="builtin", pipeline="UnCLIPTextInterpolationPipeline",
         prompt=[PROMPT_1, PROMPT_3], frames=3, seed=13, steps=(3, 3, 2),
         what="text interpolation, 3 frames, guidance 4 / 8 (defaults)"),
    dict(name="interp_text_tiny", model="tiny_random", pipeline="UnCLIPTextInterpolationPipeline",
         prompt=["a red circle", PROMPT_2], frames=4, seed=14, steps=(4, 3, 3), prior_guidance=2.0,
         decoder_guidance=4.0, record_super_res=True,
         what="text interpolation between prompts of different lengths (the mask union), 4 frames, guidance 2 / 4"),
]


def run_case(case, pipes, mods):
    d = OUT / case["name"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    pipe, fe, enc = pipes[case["model"]]
    kind = case["pipeline"]
    ps, ds, ss = case["steps"]
    pg = case.get("prior_guidance", 4.0)
    dg = case.get("decoder_guidance", 8.0)
    n_img = case.get("num_images_per_prompt", 1)
    gen = generators(case)
    images_in = make_input_images(d, case["images"]) if "images" in case else None
    if kind == "UnCLIPPipeline":
        target = pipe
        args = dict(prompt=case["prompt"], num_images_per_prompt=n_img, prior_num_inference_steps=ps,
                    decoder_num_inference_steps=ds, super_res_num_inference_steps=ss,
                    prior_guidance_scale=pg, decoder_guidance_scale=dg, output_type="np")
    elif kind == "UnCLIPImageVariationPipeline":
        target = variation_pipe(pipe, fe, enc)
        image_arg = images_in[0] if len(images_in) == 1 else images_in
        args = dict(image=image_arg, num_images_per_prompt=n_img, decoder_num_inference_steps=ds,
                    super_res_num_inference_steps=ss, decoder_guidance_scale=dg, output_type="np")
    elif kind == "UnCLIPImageInterpolationPipeline":
        target = image_interp_pipe(pipe, fe, enc, mods["image"])
        args = dict(image=images_in, steps=case["frames"], decoder_num_inference_steps=ds,
                    super_res_num_inference_steps=ss, decoder_guidance_scale=dg, output_type="np")
    elif kind == "UnCLIPTextInterpolationPipeline":
        target = text_interp_pipe(pipe, mods["text"])
        args = dict(start_prompt=case["prompt"][0], end_prompt=case["prompt"][1], steps=case["frames"],
                    prior_num_inference_steps=ps, decoder_num_inference_steps=ds, super_res_num_inference_steps=ss,
                    prior_guidance_scale=pg, decoder_guidance_scale=dg, enable_sequential_cpu_offload=False,
                    output_type="np")
    else:
        raise ValueError(kind)
    slerps = []  # every slerp result of the call, in order

    def recording_slerp(val, low, high):
        slerps.append(true_slerp(val, low, high))
        return slerps[-1]

    for m in mods.values():
        m.slerp = recording_slerp
    rec = Recorder(target, RANDN_MODULES + list(mods.values()))
    try:
        with torch.no_grad():
            out = target(generator=gen, **args)
    finally:
        rec.close()
        for m in mods.values():
            m.slerp = true_slerp
    images_f = out.images
    images_u8 = (images_f * 255).round().astype("uint8")
    pil = target.numpy_to_pil(images_f)
    assert all(np.array_equal(np.asarray(p), u) for p, u in zip(pil, images_u8))

    io = {}
    tp_args = rec.calls["text_proj"][0][1]
    cfg = tp_args["do_classifier_free_guidance"]
    B = images_u8.shape[0]
    if kind == "UnCLIPTextInterpolationPipeline":
        enc_args, enc_kwargs, enc_out = rec.calls["text_encoder"][0]
        io["input_ids"] = enc_kwargs["input_ids"].clone()
        io["endpoint_mask"] = mask01(enc_kwargs["attention_mask"])
        io["endpoint_text_embeds"] = f32(enc_out.text_embeds)
        io["endpoint_hidden_states"] = f32(enc_out.last_hidden_state)
        io["interp_t"] = torch.linspace(0, 1, case["frames"])
        assert len(slerps) == 2 * case["frames"]
        io["interp_text_embeds"] = torch.stack([f32(s) for s in slerps[0::2]])
        io["interp_hidden_states"] = torch.stack([f32(s) for s in slerps[1::2]])
    elif kind == "UnCLIPPipeline":
        enc_args, enc_kwargs, enc_out = rec.calls["text_encoder"][0]
        ids = enc_args[0] if enc_args else enc_kwargs["input_ids"]
        io["input_ids"] = ids.clone()
    if kind in ("UnCLIPImageVariationPipeline", "UnCLIPImageInterpolationPipeline"):
        (pv,), _, enc_out = rec.calls["image_encoder"][0]
        if kind == "UnCLIPImageVariationPipeline":
            io["pixel_values"] = f32(pv)
        if kind == "UnCLIPImageInterpolationPipeline":
            io["image_encoder_embeds"] = f32(enc_out.image_embeds)
            io["interp_t"] = torch.linspace(0, 1, case["frames"])
            assert len(slerps) == case["frames"]
    io["prompt_embeds"] = f32(tp_args["prompt_embeds"])
    if "prior" in rec.calls:
        io["text_mask"] = mask01(rec.calls["prior"][0][1]["attention_mask"])
    io["decoder_mask"] = mask01(rec.calls["decoder"][0][1]["attention_mask"])
    io["image_embeddings"] = f32(tp_args["image_embeddings"])
    io["decoder_latents"] = f32(rec.last_sample("decoder_scheduler").clamp(-1, 1))
    if case.get("record_super_res"):
        io["super_res_latents"] = f32(rec.last_sample("super_res_scheduler"))
    io["images"] = torch.from_numpy(images_u8)
    # consistency of what was recorded with what the pipeline returned
    sr = rec.last_sample("super_res_scheduler")
    assert np.array_equal((sr * 0.5 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy(), images_f)
    assert io["image_embeddings"].shape[0] == B and io["prompt_embeds"].shape[0] == (2 * B if cfg else B)
    if kind == "UnCLIPImageInterpolationPipeline":
        assert torch.equal(io["image_embeddings"], torch.stack([f32(s) for s in slerps]).reshape(B, -1))

    safetensors_lite.save(io, d / "io.safetensors")
    sched = {k: getattr(target, k) for k in ("prior_scheduler", "decoder_scheduler", "super_res_scheduler")
             if hasattr(target, k)}
    desc = {
        "name": case["name"], "description": case["what"],
        "model": case["model"], "model_dir": "models/unclip-shapes-tiny" if case["model"] == "builtin"
        else "java/src/test/resources/fixtures/pipeline/tiny_random",
        "pipeline": kind,
        "call": call_description(case, args),
        **({"image_files": "the call's images are these PNG files in this folder, opened with PIL (modes RGB and L)"}
           if "images" in case else {}),
        "batch": B, "classifier_free_guidance": bool(cfg),
        "timesteps": {k: [int(t) for t in s.timesteps] for k, s in sched.items()},
        "random_draws": rec.draw_order(),
        "io": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)} for k, v in io.items()},
    }
    (d / "case.json").write_text(dumps(desc))
    sat_dec = float((io["decoder_latents"].abs() > 0.99).float().mean())
    sat_img = float(((images_u8 == 0) | (images_u8 == 255)).mean())
    print(f"{case['name']}: B={B} guidance={cfg} |image_embeddings| {io['image_embeddings'].norm(dim=1).mean():.3g}, "
          f"decoder_latents beyond 0.99: {sat_dec:.2f}, image 0 or 255: {sat_img:.2f}", flush=True)
    return desc


def dumps(obj):
    """JSON with an indent of 2, but lists of numbers on one line."""
    text = json.dumps(obj, indent=2)
    return re.sub(r"\[\s*([-0-9.e, \n]+?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]",
                  text) + "\n"


def call_description(case, args):
    """The call exactly as made: every keyword argument, with images by file name and the generator(s) by seed."""
    call = {}
    for k, v in args.items():
        if k == "image":
            v = case["images"][0] if len(case["images"]) == 1 and case["pipeline"] == "UnCLIPImageVariationPipeline" \
                else list(case["images"])
        call[k] = v
    if "seeds" in case:
        call["generator"] = {"list_of_seeds": case["seeds"],
                             "meaning": "[torch.Generator().manual_seed(s) for s in seeds]"}
    else:
        call["generator"] = {"seed": case["seed"], "meaning": "torch.Generator().manual_seed(seed)"}
    return call


# ----------------------------------------------------------------------------- main


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
        return [os.path.realpath(p) for p in libs]
    except OSError:
        return []


def main():
    torch.set_num_threads(int(os.environ.get("UNCLIP_REFERENCE_THREADS", "1")))
    torch.backends.mkldnn.enabled = os.environ.get("UNCLIP_REFERENCE_MKLDNN", "1") != "0"
    diffusers_logging.set_verbosity_error()
    slerp_checks = slerp_self_test()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    build_tiny_random()
    pipes = {}
    for name, folder in (("builtin", BUILTIN), ("tiny_random", TINY)):
        pipe = load_text_pipe(folder)
        fe, enc = image_parts(folder)
        pipes[name] = (pipe, fe, enc)
    mods = {"image": community_module("unclip_image_interpolation"),
            "text": community_module("unclip_text_interpolation")}
    descs = [run_case(c, pipes, mods) for c in CASES]
    tiny_bytes = sum(p.stat().st_size for p in TINY.rglob("*") if p.is_file())
    ref_files = ["src/diffusers/pipelines/unclip/pipeline_unclip.py",
                 "src/diffusers/pipelines/unclip/pipeline_unclip_image_variation.py",
                 "src/diffusers/pipelines/unclip/text_proj.py", "src/diffusers/schedulers/scheduling_unclip.py",
                 "examples/community/unclip_image_interpolation.py", "examples/community/unclip_text_interpolation.py"]
    (OUT / "fixture.json").write_text(dumps({
        "script": "tools/reference/make_pipeline_fixture.py",
        "reference": f"diffusers {diffusers.__version__} (tag v0.20.0): UnCLIPPipeline, UnCLIPImageVariationPipeline; "
                     "examples/community unclip_image_interpolation.py and unclip_text_interpolation.py (v0.20.0) "
                     "with their slerp replaced by true_slerp; CLIP towers, tokenizer and image processor from "
                     "training/shims (transformers stand-in)",
        "reference_sha256": {f: sha256(THIRD_PARTY / f) for f in ref_files},
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "pillow": Image.__version__,
        "blas": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0], "blas_library": blas_library(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.__config__.show().split("CPU capability usage: ")[1].split()[0],
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "dtype": "float32 everywhere; weights are float16 on disk, loaded into float32 modules",
        "slerp": {"definition": " ".join(" ".join(true_slerp.__doc__.split("\n\n")[:2]).split()),
                  "dot_threshold": SLERP_DOT_THRESHOLD, "self_test": "passed", "checks": slerp_checks},
        "variation_call": "UnCLIPImageVariationPipeline(decoder, text_encoder, tokenizer, text_proj, feature_extractor="
                          "CLIPImageProcessor.from_pretrained(model, subfolder='feature_extractor'), image_encoder="
                          "CLIPVisionModelWithProjection.from_pretrained(model, subfolder='image_encoder'), "
                          "super_res_first, super_res_last, decoder_scheduler, super_res_scheduler) from "
                          "UnCLIPPipeline.from_pretrained(model)'s components; called as pipe(image=<PIL image or "
                          "list of PIL images>, num_images_per_prompt, decoder_num_inference_steps, "
                          "super_res_num_inference_steps, decoder_guidance_scale, generator=<one torch.Generator>, "
                          "output_type='np'); image_embeddings, decoder_latents, super_res_latents left None. "
                          "Each case.json's call lists the values.",
        "tiny_random": {"bytes": tiny_bytes, "differs_from_builtin": [
            "prior_scheduler clip_sample false (built-in: true, range 5); both predict the sample",
            "prior inner dim 2 x 12 = 24 != embedding_dim 36, norm_in_type layer, 2 layers, num_embeddings 77",
            "decoder_scheduler prediction_type sample (built-in: epsilon), learned_range as the built-in",
            "decoder sample_size 16, block_out_channels (12, 20), 2 levels, head dim 10, cross_attention_dim 28 "
            "(!= embedding dim 36), 4 groups, time embedding 48",
            "text_proj clip_extra_context_tokens 3, clip_embeddings_dim 36, time_embed_dim 48",
            "super_res sample_size 32 (x2 from 16), block_out_channels (8, 12), 4 groups, epsilon prediction "
            "(built-in: sample), super_res_first and super_res_last with different weights",
            "text encoder: 77 positions, hidden 36 = projection 36, 3 heads, gelu; tokenizer model_max_length 77, "
            "pad_token <|endoftext|> (built-in: 32, '!'); vocab.json and merges.txt are the built-in model's",
            "image encoder 40 px, patch 8, hidden 48, projection 36; feature extractor shortest_edge 44, crop 40"]},
        "cases": [{"name": d["name"], "model": d["model"], "pipeline": d["pipeline"], "description": d["description"]}
                  for d in descs],
    }))
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT}: {total / 1e6:.2f} MB (tiny_random {tiny_bytes / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()

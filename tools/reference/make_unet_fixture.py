#!/usr/bin/python3
"""Golden fixtures for the unCLIP U-Nets, from diffusers v0.20.0's own UNet2DConditionModel (the
decoder) and UNet2DModel (the super-resolution nets), on the CPU in float32.

Each case is a tiny configuration with random weights from a seed (every parameter drawn, so each
one matters: norm weights near 1, biases non-zero), chosen to cover what the config files can say:

  dec_scale_shift  the UnCLIP decoder blocks (ResnetDownsampleBlock2D, SimpleCrossAttnDownBlock2D,
                   UNetMidBlock2DSimpleCrossAttn, SimpleCrossAttnUpBlock2D, ResnetUpsampleBlock2D),
                   layers_per_block 2, attention at two resolutions, attention_head_dim per block
                   (4, 8, 12: the up blocks get them NOT reversed, as v0.20.0 hands them over),
                   8 groups, scale_shift, identity class embedding, cross_attention_norm group_norm,
                   a text mask with padding, batch 3, one timestep per row (a tensor).
  dec_default      resnet_time_scale_shift default, 16 groups, layers_per_block (1, 2, 1), head dim 8,
                   cross_attention_norm layer_norm, resnet_skip_time_act, resnet_out_scale_factor,
                   mid_block_scale_factor, time_embedding_act_fn, timestep_post_act, time_embedding_dim,
                   act_fn gelu, flip_sin_to_cos false, freq_shift 1, conv_in_kernel 1, conv_out_kernel 5,
                   center_input_sample, no class embedding, no mask, an integer timestep, 12×20 input.
  sr_resnet        Karlo's super-resolution blocks (ResnetDownsampleBlock2D / ResnetUpsampleBlock2D),
                   no mid-block attention, scale_shift, 6 in / 3 out channels, batch 3.
  sr_default       UNet2DModel's default block types (DownBlock2D, AttnDownBlock2D, AttnUpBlock2D,
                   UpBlock2D) with mid-block attention, conv down/upsamplers, time shift default,
                   mid_block_scale_factor 1.5, a 12×8 input, batch 2.
  sr_resnet_sampling  AttnDownBlock2D / AttnUpBlock2D with downsample_type / upsample_type "resnet",
                   scale_shift (so the mid-block attention has no group norm: a v0.20.0 quirk), head
                   dim null (one head of the block's width).

and the shipped built-in model's decoder, super_res_first and super_res_last (weights read from
models/unclip-shapes-tiny; only the inputs, emb, mid and out are written, the super-resolution nets
on 32 px inputs).

Per case, under java/src/test/resources/fixtures/unet/<case>/: config.json and
diffusion_pytorch_model.safetensors (float16, the checkpoint layout), io.safetensors with the inputs
(sample NCHW, timesteps [B] float32, encoder_hidden_states, attention_mask [B, L] 0/1, class_labels)
and the outputs: emb (time embedding after class embedding and time_embed_act), conv_in, down.<i>,
mid, up.<i> (each block's output hidden states, NCHW) and out. fixture.json beside the cases records
the versions and the environment.

Run from the repository root, with diffusers v0.20.0 and huggingface_hub v0.16.4 source under
third_party/src (README "Running the reference"):
    /usr/bin/python3 tools/reference/make_unet_fixture.py
"""
import json
import pathlib
import platform
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training" / "shims"))       # safetensors + transformers stand-ins
sys.path.insert(0, str(ROOT / "third_party" / "src"))       # diffusers v0.20.0, huggingface_hub v0.16.4
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import transformers_shim  # noqa: E402,F401  (registers itself as `transformers`)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import diffusers  # noqa: E402
from diffusers import UNet2DConditionModel, UNet2DModel  # noqa: E402

import safetensors_lite  # noqa: E402

OUT = ROOT / "java" / "src" / "test" / "resources" / "fixtures" / "unet"
MODEL = ROOT / "models" / "unclip-shapes-tiny"

DECODER_BLOCKS = dict(
    down_block_types=["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"],
    up_block_types=["SimpleCrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"],
    mid_block_type="UNetMidBlock2DSimpleCrossAttn")

CASES = {
    "dec_scale_shift": dict(
        cls=UNet2DConditionModel, seed=1,
        config=dict(sample_size=16, in_channels=3, out_channels=6, block_out_channels=[8, 16, 24],
                    layers_per_block=2, attention_head_dim=[4, 8, 12], norm_num_groups=8, norm_eps=1e-5,
                    resnet_time_scale_shift="scale_shift", class_embed_type="identity", cross_attention_dim=32,
                    cross_attention_norm="group_norm", **DECODER_BLOCKS),
        batch=3, size=(16, 16), text_len=7, mask_lengths=[7, 3, 5], timesteps=[999.0, 500.0, 3.0]),
    "dec_default": dict(
        cls=UNet2DConditionModel, seed=2,
        config=dict(sample_size=[12, 20], in_channels=3, out_channels=3, block_out_channels=[16, 32, 32],
                    layers_per_block=[1, 2, 1], attention_head_dim=8, norm_num_groups=16, norm_eps=1e-6,
                    resnet_time_scale_shift="default", cross_attention_dim=32, cross_attention_norm="layer_norm",
                    resnet_skip_time_act=True, resnet_out_scale_factor=1.25, mid_block_scale_factor=1.5,
                    time_embedding_act_fn="silu", timestep_post_act="silu", time_embedding_dim=40, act_fn="gelu",
                    flip_sin_to_cos=False, freq_shift=1, conv_in_kernel=1, conv_out_kernel=5,
                    center_input_sample=True, **DECODER_BLOCKS),
        batch=2, size=(12, 20), text_len=5, mask_lengths=None, timesteps=17),
    "sr_resnet": dict(
        cls=UNet2DModel, seed=3,
        config=dict(sample_size=16, in_channels=6, out_channels=3, block_out_channels=[16, 24],
                    down_block_types=["ResnetDownsampleBlock2D", "ResnetDownsampleBlock2D"],
                    up_block_types=["ResnetUpsampleBlock2D", "ResnetUpsampleBlock2D"], layers_per_block=2,
                    norm_num_groups=8, resnet_time_scale_shift="scale_shift", add_attention=False,
                    attention_head_dim=None),
        batch=3, size=(16, 16), timesteps=[999.0, 0.0, 444.0]),
    "sr_default": dict(
        cls=UNet2DModel, seed=4,
        config=dict(sample_size=[12, 8], in_channels=6, out_channels=3, block_out_channels=[16, 24],
                    down_block_types=["DownBlock2D", "AttnDownBlock2D"], up_block_types=["AttnUpBlock2D", "UpBlock2D"],
                    layers_per_block=1, norm_num_groups=8, attention_head_dim=8, mid_block_scale_factor=1.5,
                    resnet_time_scale_shift="default"),
        batch=2, size=(12, 8), timesteps=250),
    "sr_resnet_sampling": dict(
        cls=UNet2DModel, seed=5,
        config=dict(sample_size=8, in_channels=6, out_channels=3, block_out_channels=[16, 16],
                    down_block_types=["AttnDownBlock2D", "AttnDownBlock2D"], up_block_types=["AttnUpBlock2D", "AttnUpBlock2D"],
                    layers_per_block=1, norm_num_groups=4, attention_head_dim=None, downsample_type="resnet",
                    upsample_type="resnet", resnet_time_scale_shift="scale_shift", flip_sin_to_cos=False,
                    freq_shift=1),
        batch=1, size=(8, 8), timesteps=[10.0]),
}


def randomise(model, seed):
    """Every parameter drawn from a seeded generator: weights ~ N(0, 1/fan_in), norm weights near 1,
    biases ~ N(0, 0.1), so that each one moves the output; then rounded to float16, the type the
    weights are stored in (half the bytes, and the reference runs on exactly the stored values)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            p.copy_(p.half().float())


def record(model, inputs, call):
    """Runs call() with hooks on the time embedding and every block; returns name -> output."""
    got = {}

    def keep(name):
        def hook(_module, _args, output):
            got[name] = (output[0] if isinstance(output, tuple) else output).detach().clone()
        return hook

    hooks = [model.conv_in.register_forward_hook(keep("conv_in"))]
    for i, b in enumerate(model.down_blocks):
        hooks.append(b.register_forward_hook(keep(f"down.{i}")))
    hooks.append(model.mid_block.register_forward_hook(keep("mid")))
    for i, b in enumerate(model.up_blocks):
        hooks.append(b.register_forward_hook(keep(f"up.{i}")))
    with torch.no_grad():
        got["out"] = call().sample
    for h in hooks:
        h.remove()
    return got


def time_embedding(model, timesteps, batch, class_labels):
    """emb as forward computes it before conv_in (time_proj, time_embedding, class embedding, act)."""
    t = timesteps if torch.is_tensor(timesteps) else torch.tensor([timesteps], dtype=torch.long)
    t = t.expand(batch) if t.shape[0] == 1 else t
    with torch.no_grad():
        emb = model.time_embedding(model.time_proj(t).to(torch.float32))
        if class_labels is not None:
            emb = emb + class_labels
        act = getattr(model, "time_embed_act", None)
        return act(emb) if act is not None else emb


def run_case(name, spec, cls, model=None, out_dir=None, keep=None):
    g = torch.Generator().manual_seed(1000 + spec["seed"])
    if model is None:
        model = cls(**spec["config"])
        randomise(model, spec["seed"])
    model.eval()
    cfg = model.config
    b, (h, w) = spec["batch"], spec["size"]
    sample = torch.randn(b, cfg.in_channels, h, w, generator=g)
    ts = spec["timesteps"]
    timesteps = torch.tensor(ts, dtype=torch.float32) if isinstance(ts, list) else ts
    io = {"sample": sample, "timesteps": torch.full((b,), float(ts)) if not isinstance(ts, list) else timesteps}
    class_labels = None
    if cls is UNet2DConditionModel:
        enc = torch.randn(b, spec["text_len"], cfg.cross_attention_dim, generator=g)
        io["encoder_hidden_states"] = enc
        mask = None
        if spec.get("mask_lengths"):
            mask = torch.zeros(b, spec["text_len"])
            for i, n in enumerate(spec["mask_lengths"]):
                mask[i, :n] = 1
            io["attention_mask"] = mask
        if cfg.class_embed_type == "identity":
            class_labels = torch.randn(b, model.time_embedding.linear_2.out_features, generator=g)
            io["class_labels"] = class_labels
        got = record(model, io, lambda: model(sample, timesteps, enc, class_labels=class_labels, attention_mask=mask))
    else:
        got = record(model, io, lambda: model(sample, timesteps))
    io["emb"] = time_embedding(model, timesteps, b, class_labels)
    io.update({k: v for k, v in got.items() if keep is None or k in keep})
    d = out_dir or OUT / name
    d.mkdir(parents=True, exist_ok=True)
    if out_dir is None:
        model.save_config(d)  # config.json as from_pretrained reads it (_class_name, _diffusers_version)
        safetensors_lite.save({k: v.contiguous().half() for k, v in model.state_dict().items()},
                              d / "diffusion_pytorch_model.safetensors", {"format": "pt"})
    safetensors_lite.save({k: v.contiguous().float() for k, v in io.items()}, d / "io.safetensors")
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params} parameters, out {tuple(got['out'].shape)}, |out| {got['out'].norm():.4g}")


def main():
    torch.set_num_threads(1)
    for name, spec in CASES.items():
        run_case(name, spec, spec["cls"])
    # The shipped built-in model: the same recording on its own weights.
    builtin = {
        "builtin_decoder": ("decoder", UNet2DConditionModel,
                            dict(seed=11, batch=2, size=(32, 32), text_len=77, mask_lengths=[9, 77],
                                 timesteps=[999.0, 41.0])),
        # The super-resolution nets are fully convolutional: 32 px inputs check them at a tenth of the bytes.
        "builtin_super_res_first": ("super_res_first", UNet2DModel, dict(seed=12, batch=2, size=(32, 32),
                                                                         timesteps=[999.0, 571.0])),
        "builtin_super_res_last": ("super_res_last", UNet2DModel, dict(seed=13, batch=1, size=(32, 32),
                                                                       timesteps=0)),
    }
    for name, (folder, cls, spec) in builtin.items():
        model = cls.from_pretrained(MODEL / folder)
        run_case(name, spec, cls, model=model.float(), out_dir=OUT / name, keep=("out", "mid"))
    (OUT / "fixture.json").write_text(json.dumps({
        "script": "tools/reference/make_unet_fixture.py",
        "reference": f"diffusers {diffusers.__version__} (tag v0.20.0), UNet2DConditionModel / UNet2DModel",
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "blas": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0], "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cases": {k: {kk: vv for kk, vv in v.items() if kk not in ("cls", "config")} for k, v in CASES.items()},
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()

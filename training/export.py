"""Export the trained checkpoints (training/runs/) as a diffusers UnCLIP folder, laid out like Karlo's.

    /usr/bin/python3 training/export.py [--out models/unclip-shapes-tiny] [--dtype float16]

Writes model_index.json (UnCLIPPipeline), prior/, prior_scheduler/, text_proj/, decoder/, decoder_scheduler/,
super_res_first/, super_res_last/ (the same weights: this model has one super-resolution network),
super_res_scheduler/, text_encoder/, tokenizer/, and, for image variations, image_encoder/ and
feature_extractor/ (not listed in model_index.json, as in Karlo's text-to-image folder); and
zero_shot_templates.json, the prompt template unclip4j's classify uses with this CLIP.
Weights are stored as float16 safetensors to stay inside the size budget; every config says so
(`torch_dtype` / the safetensors header); load them into float32 modules to run on the CPU.
"""
import argparse
import json
import os
import shutil

from common import (DECODER_CFG, DECODER_SCHED, MODEL_DIR, PRIOR_CFG, PRIOR_SCHED, RUNS, SR_CFG, SR_SCHED,
                    TEXT_PROJ_CFG, clip_processor, torch)


TEMPLATES_COMMENT = ("Zero-shot prompt templates for this model's CLIP ({} = the label), read by unclip4j's classify. "
                     "This CLIP was trained on bare captions such as 'a red circle left of a blue square on a white "
                     "background', never 'a photo of ...' (training/README.md), so the label goes in as it is.")


def build_pipeline():
    from diffusers import PriorTransformer, UnCLIPPipeline, UnCLIPScheduler, UNet2DConditionModel, UNet2DModel
    from diffusers.pipelines.unclip.text_proj import UnCLIPTextProjModel
    from train import load_clip
    tok, text, vision = load_clip()
    prior = PriorTransformer(**PRIOR_CFG)
    prior.load_state_dict(torch.load(os.path.join(RUNS, "prior.pt"))["model"])
    ck = torch.load(os.path.join(RUNS, "decoder.pt"))
    dec = UNet2DConditionModel(**DECODER_CFG)
    dec.load_state_dict(ck["decoder"])
    proj = UnCLIPTextProjModel(**TEXT_PROJ_CFG)
    proj.load_state_dict(ck["text_proj"])
    sr = UNet2DModel(**SR_CFG)
    sr.load_state_dict(torch.load(os.path.join(RUNS, "superres.pt"))["model"])
    pipe = UnCLIPPipeline(prior=prior, decoder=dec, text_encoder=text, tokenizer=tok, text_proj=proj,
                          super_res_first=sr, super_res_last=sr,
                          prior_scheduler=UnCLIPScheduler(**PRIOR_SCHED),
                          decoder_scheduler=UnCLIPScheduler(**DECODER_SCHED),
                          super_res_scheduler=UnCLIPScheduler(**SR_SCHED))
    return pipe, vision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=MODEL_DIR)
    ap.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    a = ap.parse_args()
    dtype = getattr(torch, a.dtype)
    pipe, vision = build_pipeline()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    # diffusers components: save in fp32 through diffusers itself (config + layout), then rewrite weights in dtype
    pipe.save_pretrained(a.out, safe_serialization=True)
    # diffusers records where each component's class came from; ours come from our transformers shim
    # (importable as transformers_shim), which a user's real transformers must replace: name it as Karlo does
    index_path = os.path.join(a.out, "model_index.json")
    with open(index_path) as f:
        index = json.load(f)
    for name in ("text_encoder", "tokenizer"):
        index[name][0] = "transformers"
    with open(index_path, "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    from safetensors.torch import load_file, save_file
    for sub in ("prior", "text_proj", "decoder", "super_res_first", "super_res_last"):
        p = os.path.join(a.out, sub, "diffusion_pytorch_model.safetensors")
        save_file({k: v.to(dtype) for k, v in load_file(p).items()}, p, metadata={"format": "pt"})
    pipe.text_encoder.save_pretrained(os.path.join(a.out, "text_encoder"), dtype=dtype)
    vision.save_pretrained(os.path.join(a.out, "image_encoder"), dtype=dtype)
    clip_processor().save_pretrained(os.path.join(a.out, "feature_extractor"))
    # logit scale of the contrastive training, for zero-shot use (not needed by the pipelines)
    ls = torch.load(os.path.join(RUNS, "clip.pt"))["logit_scale"]
    with open(os.path.join(a.out, "text_encoder", "config.json")) as f:
        cfg = json.load(f)
    cfg["logit_scale_init_value"] = float(ls)
    with open(os.path.join(a.out, "text_encoder", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    # the zero-shot template that suits this CLIP, for unclip4j's classify: it learned bare captions
    with open(os.path.join(a.out, "zero_shot_templates.json"), "w") as f:
        json.dump({"_comment": TEMPLATES_COMMENT, "templates": ["{}"]}, f, indent=2)
        f.write("\n")
    total = 0
    for r, _, fs in os.walk(a.out):
        for f in fs:
            total += os.path.getsize(os.path.join(r, f))
    print(f"exported {a.out}: {total / 1e6:.2f} MB ({a.dtype} weights)")
    for r, _, fs in sorted(os.walk(a.out)):
        for f in sorted(fs):
            print(f"  {os.path.relpath(os.path.join(r, f), a.out)}  {os.path.getsize(os.path.join(r, f))}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""openai/CLIP's own model (clip/model.py) at ClipBench's sizes, for the side-by-side the
CLIP issue asks for: the text tower (77 tokens) and the ViT-L/14 vision tower (224 px), random
weights, batch 1 and 16, float32 (or --dtype bf16/fp16 on CUDA), no_grad, eval mode.

Run it in the same session as
`java -jar benchmarks/target/benchmarks.jar ClipBench -p backend=cpu` (or cuda), with
openai/CLIP's clip/model.py importable (docs/clip.md: third_party/clip, gitignored):

    PYTHONPATH=third_party /usr/bin/python3 benchmarks/compare/clip_torch.py --device cpu

Prints per case the median time per call over --repeats timed calls (after --warmup calls) and
GFLOP/s counted exactly as ClipBench counts them. Weights are random (timing does not depend on
their values); encode_text/encode_image include the projections, as ClipBench's forward does.
"""
import argparse
import statistics
import time

import torch
from clip.model import CLIP


def gflop(tower, batch):
    if tower == "text":
        per = 2.0 * 77 * (12 * (4.0 * 768 * 768 + 2.0 * 768 * 3072)) + 12 * 2.0 * 77 * 77 * 768 + 2.0 * 768 * 768
    else:
        per = (2.0 * 256 * 1024 * 3 * 14 * 14 + 2.0 * 257 * (24 * (4.0 * 1024 * 1024 + 2.0 * 1024 * 4096))
               + 24 * 4.0 * 257 * 257 * 1024 + 2.0 * 1024 * 768)
    return batch * per / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--towers", default="text,vision")
    p.add_argument("--batches", default="1,16")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[a.dtype]
    torch.manual_seed(0)
    # ViT-L/14: embed 768, 224 px, 24 layers of width 1024, patch 14; text 77 × 768, 12 layers, 12 heads.
    model = CLIP(768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12).eval().to(a.device, dtype)
    print(f"torch {torch.__version__}, device {a.device}, dtype {a.dtype}, threads {torch.get_num_threads()}")
    for tower in a.towers.split(","):
        for batch in map(int, a.batches.split(",")):
            if tower == "text":
                x = torch.randint(0, 49406, (batch, 77), device=a.device)
                x[:, 0] = 49406
                x[:, 40] = 49407
                fn = lambda: model.encode_text(x)
            else:
                x = torch.randn(batch, 3, 224, 224, device=a.device, dtype=dtype)
                fn = lambda: model.encode_image(x)
            times = []
            with torch.no_grad():
                for i in range(a.warmup + a.repeats):
                    if a.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    fn()
                    if a.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    if i >= a.warmup:
                        times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            print(f"{tower:6s} batch {batch:2d}: {t * 1e3:9.1f} ms/call  {gflop(tower, batch) / t:7.1f} GFLOP/s")


if __name__ == "__main__":
    main()

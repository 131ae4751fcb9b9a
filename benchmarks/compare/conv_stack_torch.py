#!/usr/bin/env python3
"""PyTorch side of the convolution-stack comparison (issue 5), at the shapes of
ConvBench / GroupNormBench / ResBlockBench, printed in the same units.

For each shape it times, with CUDA events after warmup (or perf_counter on the CPU):
  - group_norm + silu (channels_last, unfused, as diffusers runs it) and a same-size copy;
  - conv2d 3x3 (channels_last, cuDNN on the GPU) with bias, plus the residual add;
  - the ResnetBlock2D sequence (norm1, silu, conv1, time_emb_proj, norm2, scale/shift, silu,
    conv2, shortcut, add), diffusers' order, random weights.
Run on the GPU machine beside the JMH benchmarks (same run, same GPU), e.g.
    python3 benchmarks/compare/conv_stack_torch.py --device cuda --dtype bf16
    python3 benchmarks/compare/conv_stack_torch.py --device cpu --dtype f32 --small   # smoke test
"""
import argparse
import time

import torch
import torch.nn.functional as F

DECODER = [(2, 64, 64, 320), (2, 32, 32, 640), (2, 16, 16, 960), (2, 8, 8, 1280)]
SUPER_RES = [(1, 256, 256, 320), (1, 128, 128, 640), (1, 64, 64, 960), (1, 32, 32, 1280)]
SMALL = [(2, 8, 8, 64), (1, 13, 11, 96)]
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def timed(fn, device, iters):
    for _ in range(3):
        fn()
    if device == "cuda":
        # Flush L2 between timings is not done here: the JMH side does not flush either.
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / iters * 1e-3
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def rand(*shape, device, dtype, scale=1.0, channels_last=False):
    t = (torch.rand(*shape, device=device, dtype=torch.float32) * 2 - 1) * scale
    t = t.to(dtype)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="bf16", choices=DTYPES)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--small", action="store_true", help="tiny shapes: a smoke test of this script")
    a = p.parse_args()
    dev, dt = a.device, DTYPES[a.dtype]
    size = torch.tensor([], dtype=dt).element_size()
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    print(f"# torch {torch.__version__}, {name}, {a.dtype}, cudnn {torch.backends.cudnn.version() if dev == 'cuda' else '-'}")
    torch.backends.cudnn.benchmark = True
    shapes = SMALL if a.small else DECODER + SUPER_RES
    print("op,shape,ms,rate")
    with torch.no_grad():
        for n, h, w, c in shapes:
            tag = f"{n}x{h}x{w}x{c}"
            x = rand(n, c, h, w, device=dev, dtype=dt, channels_last=True)
            gamma, beta = rand(c, device=dev, dtype=dt), rand(c, device=dev, dtype=dt)
            out = torch.empty_like(x)
            bytes_moved = 2 * x.numel() * size
            t = timed(lambda: F.silu(F.group_norm(x, 32, gamma, beta, 1e-5)), dev, a.iters)
            print(f"group_norm+silu,{tag},{t * 1e3:.4f},{bytes_moved / t / 1e9:.1f} GB/s")
            t = timed(lambda: out.copy_(x), dev, a.iters)
            print(f"copy,{tag},{t * 1e3:.4f},{bytes_moved / t / 1e9:.1f} GB/s")
            wt = rand(c, c, 3, 3, device=dev, dtype=dt, scale=0.05, channels_last=True)
            bias, res = rand(c, device=dev, dtype=dt), rand(n, c, h, w, device=dev, dtype=dt, channels_last=True)
            flops = 2 * n * h * w * c * c * 9
            t = timed(lambda: F.conv2d(x, wt, bias, padding=1) + res, dev, a.iters)
            print(f"conv3x3+bias+residual,{tag},{t * 1e3:.4f},{flops / t / 1e12:.3f} TFLOP/s")
            temb = rand(n, 1280, device=dev, dtype=dt)
            wp, bp = rand(2 * c, 1280, device=dev, dtype=dt, scale=0.05), rand(2 * c, device=dev, dtype=dt)
            w2 = rand(c, c, 3, 3, device=dev, dtype=dt, scale=0.05, channels_last=True)

            def resblock():
                hdn = F.conv2d(F.silu(F.group_norm(x, 32, gamma, beta, 1e-5)), wt, bias, padding=1)
                scale, shift = torch.chunk(F.linear(F.silu(temb), wp, bp)[:, :, None, None], 2, dim=1)
                hdn = F.silu(F.group_norm(hdn, 32, gamma, beta, 1e-5) * (1 + scale) + shift)
                return x + F.conv2d(hdn, w2, bias, padding=1)

            t = timed(resblock, dev, a.iters)
            print(f"resblock,{tag}x{c}xNONE,{t * 1e3:.4f},{2 * flops / t / 1e12:.3f} TFLOP/s")


if __name__ == "__main__":
    main()

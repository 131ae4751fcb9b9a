#!/usr/bin/env python3
"""PyTorch scaled_dot_product_attention at AttentionBench's shapes, for the side-by-side the
issue asks for (transformer kernels): run it on the same GPU, in the same session, as
`java -jar benchmarks/target/benchmarks.jar AttentionBench -p backend=cuda -p dtype=BF16`.

Needs PyTorch >= 2.3 with CUDA (torch.nn.attention.sdpa_kernel; the cuDNN backend needs a
build that has it). Prints, per case and backend, the time per call and TFLOP/s counted
exactly as AttentionBench and the op table count them: 4·B·H·Lq·Lk·D, halved when causal.

  flash  — SDPBackend.FLASH_ATTENTION (takes no mask: the prior's padding mask is dropped
           for it, which the table marks)
  cudnn  — SDPBackend.CUDNN_ATTENTION
  any    — whatever PyTorch picks (the default)
  decoder cases: what diffusers' AttnAddedKVProcessor runs — torch.cat of the text and spatial
  keys/values, an additive mask over the concatenation, then SDPA — timed together.

Timing: CUDA events around `--iters` calls after `--warmup` calls, L2 flushed (a 256 MiB
memset) before each timed batch; the median of `--repeats` batches is reported.
Not yet run: written without a GPU (see docs/kernels-transformer.md, "What is owed").
"""
import argparse
import statistics

import torch
import torch.nn.functional as F

# name: (B, Lq, Lt, Lk, H, D, causal, mask, added_kv) — AttentionBench.of(...)
CASES = {
    "clip_text": (2, 77, 0, 77, 12, 64, True, False, False),
    "clip_vision": (1, 257, 0, 257, 16, 64, False, False, False),
    "prior": (2, 81, 0, 81, 32, 64, True, True, False),
    "decoder_32": (2, 1024, 81, 1024, 10, 64, False, True, True),
    "decoder_16": (2, 256, 81, 256, 15, 64, False, True, True),
    "decoder_8": (2, 64, 81, 64, 20, 64, False, True, True),
    "odd": (3, 113, 0, 113, 5, 40, True, False, False),
}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def flops(b, lq, lt, lk, h, d, causal):
    full = 4.0 * b * h * lq * (lt + lk) * d
    return full / 2 if causal else full


def time_ms(fn, warmup, iters, repeats, flush):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", choices=DTYPES, default="bf16")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dtype, dev = DTYPES[args.dtype], "cuda"
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    gen = torch.Generator(device=dev).manual_seed(42)
    print(f"# {torch.cuda.get_device_name()}  torch {torch.__version__}  dtype {args.dtype}")
    print(f"{'case':12} {'backend':8} {'ms':>9} {'TFLOP/s':>8}  note")
    for name, (b, lq, lt, lk, h, d, causal, masked, added_kv) in CASES.items():
        q = torch.randn(b, h, lq, d, device=dev, dtype=dtype, generator=gen)
        k = torch.randn(b, h, lk, d, device=dev, dtype=dtype, generator=gen)
        v = torch.randn(b, h, lk, d, device=dev, dtype=dtype, generator=gen)
        work = flops(b, lq, lt, lk, h, d, causal)
        if added_kv:
            kt = torch.randn(b, h, lt, d, device=dev, dtype=dtype, generator=gen)
            vt = torch.randn(b, h, lt, d, device=dev, dtype=dtype, generator=gen)
            keep = torch.zeros(b, lt + lk, dtype=torch.bool, device=dev)
            keep[:, :24] = True  # as AttentionBench: 4 context tokens + a 20-token prompt
            keep[:, lt:] = True
            bias = ((~keep).to(dtype) * -10000.0)[:, None, None, :]

            def run():
                return F.scaled_dot_product_attention(q, torch.cat([kt, k], dim=2), torch.cat([vt, v], dim=2),
                                                      attn_mask=bias)

            ms = time_ms(run, args.warmup, args.iters, args.repeats, flush)
            print(f"{name:12} {'diffusers':8} {ms:9.4f} {work / (ms * 1e-3) / 1e12:8.2f}  cat + masked SDPA")
            continue
        mask = None
        if masked:
            keep = torch.zeros(b, lk, dtype=torch.bool, device=dev)
            keep[:, :24] = True
            mask = keep[:, None, None, :].expand(b, 1, lq, lk)
            if causal:
                mask = mask & torch.ones(lq, lk, dtype=torch.bool, device=dev).tril()
        for label, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                               ("any", None)):
            use_mask = None if label == "flash" else mask
            note = "padding mask dropped" if (label == "flash" and mask is not None) else ""

            def run():
                if use_mask is not None:
                    return F.scaled_dot_product_attention(q, k, v, attn_mask=use_mask)
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

            try:
                if backend is None:
                    ms = time_ms(run, args.warmup, args.iters, args.repeats, flush)
                else:
                    with sdpa_kernel(backend):
                        ms = time_ms(run, args.warmup, args.iters, args.repeats, flush)
            except RuntimeError as e:
                print(f"{name:12} {label:8} {'-':>9} {'-':>8}  unsupported: {str(e).splitlines()[0][:60]}")
                continue
            print(f"{name:12} {label:8} {ms:9.4f} {work / (ms * 1e-3) / 1e12:8.2f}  {note}")


if __name__ == "__main__":
    main()

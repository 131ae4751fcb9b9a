#!/usr/bin/python3
"""The PyTorch side of benchmarks/compare/cpu.sh: one process that loads one thing, then times
calls on request, so that the driver can alternate between it and the unclip4j side
(dev.unclip4j.bench.CpuCompare, the same protocol) and the machine's noise hits both alike.

    /usr/bin/python3 benchmarks/compare/cpu_torch.py pipeline MODEL_DIR --threads T
    /usr/bin/python3 benchmarks/compare/cpu_torch.py network DIR NETWORK --threads T
    /usr/bin/python3 benchmarks/compare/cpu_torch.py kernels --threads T

Protocol: after loading it prints one JSON line ({"ready": true, ...}); then for every JSON line
read from stdin it does what "cmd" says and answers one JSON line (with "error" when that failed)
until {"cmd": "quit"} or the end of stdin. Timings are wall seconds (time.perf_counter) and
process CPU seconds around the timed work only. Nothing else is written to stdout: everything
that libraries print goes to stderr.

pipeline: diffusers' UnCLIPPipeline loaded as training/generate_reference.py loads it.
    {"cmd": "generate", "prompts": [...], "images_per_prompt": K, "steps": [prior, decoder, super_res], "seed": S}
network: one of networks_cpu.py's networks (its folder under DIR, random weights).
    {"cmd": "forward", "size": S or null, "profile": bool, "trace": bool}; size: another spatial size
    for a cheaper warm-up; profile: torch.profiler's op-family split; trace: the kernel calls made
    (karlo_shapes' tuples), to check the derived shape list.
kernels: one op at one shape on random inputs, as diffusers calls it.
    {"cmd": "setup", "id": ..., "kind": "conv"|"linear"|"group_norm_silu"|"attention", ...shape...,
     "layout": "contiguous"|"channels_last" (conv), "min_s": seconds one run lasts at least}
    → calls per run, calibrated on a call after a warm-up call (the first call itself when it
    took 10 x min_s or more); {"cmd": "run", "id": ...} → seconds per call;
    {"cmd": "free", "id": ...}.
"""
import argparse
import collections
import json
import math
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTOCOL = sys.stdout
sys.stdout = sys.stderr  # libraries' prints must not corrupt the protocol


def answer(obj):
    PROTOCOL.write(json.dumps(obj) + "\n")
    PROTOCOL.flush()


def serve(handlers):
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        try:
            out = handlers[request["cmd"]](request)
        except Exception as e:  # one failed request is reported, the process keeps serving
            out = {"error": f"{type(e).__name__}: {e}"}
        answer(out)


def timed(fn):
    """(result, wall seconds, process CPU seconds) of fn()."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def environment(torch):
    import networks_cpu
    config = torch.__config__.show()
    return dict(torch=torch.__version__, threads=torch.get_num_threads(), blas=networks_cpu.loaded_blas(),
                onednn=config.split("MKL-DNN ")[1].split(" ")[0] if "MKL-DNN " in config else "?",
                cpu_capability=config.split("CPU capability usage: ")[1].split("\n")[0]
                if "CPU capability usage: " in config else "?")


# ---- the built-in model end to end -----------------------------------------------------------------

def pipeline(a, torch):
    sys.path.insert(0, str(ROOT / "training"))
    import generate_reference  # its `common` puts the shims and third_party/src on sys.path
    pipe, load_s, _ = timed(lambda: generate_reference.load_pipe(a.model))

    def generate(r):
        prior, decoder, super_res = r["steps"]
        g = torch.Generator().manual_seed(r["seed"])
        images, s, cpu = timed(lambda: pipe(r["prompts"], num_images_per_prompt=r["images_per_prompt"],
                                            prior_num_inference_steps=prior, decoder_num_inference_steps=decoder,
                                            super_res_num_inference_steps=super_res, generator=g).images)
        return dict(s=s, cpu_s=cpu, images=len(images), size=list(images[0].size))

    answer(dict(ready=True, load_s=load_s, **environment(torch)))
    with torch.inference_mode():
        serve({"generate": generate})


# ---- Karlo's networks with random weights ----------------------------------------------------------

def tracer(torch, model):
    """Records karlo_shapes' tuples of the calls the modules make: nn.Conv2d, nn.Linear and nn.GroupNorm
    through forward hooks (a group norm whose next hooked call is an nn.SiLU of the same shape is
    "+ SiLU"), attention from the baddbmm of diffusers' get_attention_scores (q [BH, Lq, D], kT
    [BH, D, Lk]). Use `with t:` around one forward, then t.ops and t.remove()."""
    from torch.utils._python_dispatch import TorchDispatchMode
    nn = torch.nn

    class Tracer(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.events = []  # (op tuple or "silu", output shape) in call order
            self.hooks = []
            for m in model.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear, nn.GroupNorm, nn.SiLU)):
                    self.hooks.append(m.register_forward_hook(self.hook))

        def hook(self, m, inputs, output):
            x = inputs[0]
            if isinstance(m, nn.Conv2d):
                n, cin, h, w = x.shape
                op = ("conv", n, h, w, cin, m.out_channels, m.kernel_size[0], m.stride[0])
            elif isinstance(m, nn.Linear):
                op = ("linear", x.numel() // m.in_features, m.out_features, m.in_features)
            elif isinstance(m, nn.GroupNorm):
                op = ("group_norm", x.shape[0], x.shape[1], x.numel() // (x.shape[0] * x.shape[1]), m.num_groups)
            else:
                op = "silu"
            self.events.append((op, tuple(x.shape) if op == "silu" else tuple(output.shape)))

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func.overloadpacket.__name__ == "baddbmm":
                q, k = args[1], args[2]
                self.events.append((("attention", q.shape[0], q.shape[1], k.shape[2], q.shape[2]), None))
            return out

        @property
        def ops(self):
            ops = collections.Counter()
            for i, (op, shape) in enumerate(self.events):
                if op == "silu":
                    continue
                if op[0] == "group_norm":
                    following = self.events[i + 1] if i + 1 < len(self.events) else (None, None)
                    op = op + (following[0] == "silu" and following[1] == shape,)
                ops[op] += 1
            return ops

        def remove(self):
            for h in self.hooks:
                h.remove()

    return Tracer()


def network(a, torch):
    import networks_cpu
    from torch.profiler import ProfilerActivity, profile
    diffusers = networks_cpu.import_diffusers()
    folder = pathlib.Path(a.dir) / a.network
    case = networks_cpu.CASES[a.network]
    torch.manual_seed(0)

    def load():
        config = json.loads((folder / "config.json").read_text())
        model = getattr(diffusers, case["cls"]).from_config(config).eval()
        networks_cpu.read_safetensors_into(model, folder / "diffusion_pytorch_model.safetensors")
        return model

    model, load_s, _ = timed(load)
    inputs = {}  # per spatial size, made once

    def forward(r):
        size = r.get("size") or case["size"]
        if size not in inputs:
            inputs[size] = networks_cpu.make_inputs(a.network, model, dict(case, size=size))
        out = {}
        if r.get("trace"):
            t = tracer(torch, model)
            with t:
                _, s, cpu = timed(lambda: model(**inputs[size])[0])
            t.remove()
            out["trace"] = [[list(op), n] for op, n in t.ops.items()]
        elif r.get("profile"):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                _, s, cpu = timed(lambda: model(**inputs[size])[0])
            out["families"] = networks_cpu.op_families(prof)
            out["ops"] = {e.key: {"calls": e.count, "s": e.self_cpu_time_total * 1e-6} for e in prof.key_averages()}
        else:
            _, s, cpu = timed(lambda: model(**inputs[size])[0])
        return dict(out, s=s, cpu_s=cpu, size=size)

    answer(dict(ready=True, load_s=load_s, parameters=sum(p.numel() for p in model.parameters()), **environment(torch)))
    with torch.no_grad():
        serve({"forward": forward})


# ---- kernels -------------------------------------------------------------------------------------

def kernels(a, torch):
    F = torch.nn.functional
    g = torch.Generator().manual_seed(42)
    live = {}

    def rand(*shape):
        return torch.rand(*shape, generator=g) * 2 - 1  # U(-1, 1), as the Java side's inputs

    def make(r):
        """The call diffusers makes for this op, on fresh random inputs."""
        kind = r["kind"]
        if kind == "conv":
            x, w, b = rand(r["n"], r["cin"], r["h"], r["w"]), rand(r["cout"], r["cin"], r["k"], r["k"]), rand(r["cout"])
            if r["layout"] == "channels_last":
                x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
            return lambda: F.conv2d(x, w, b, stride=r["stride"], padding=r["k"] // 2)
        if kind == "linear":
            x, w, b = rand(r["m"], r["k"]), rand(r["n"], r["k"]), rand(r["n"])
            return lambda: F.linear(x, w, b)
        if kind == "group_norm_silu":  # ResnetBlock2D's norm1 + nonlinearity: two ops in diffusers
            x, gamma, beta = rand(r["n"], r["c"], r["hw"]), rand(r["c"]), rand(r["c"])
            return lambda: F.silu(F.group_norm(x, r["groups"], gamma, beta, 1e-5))
        if kind == "attention":
            return attention(r)
        raise ValueError(f"unknown kind {kind}")

    def attention(r):
        """diffusers' attention processors between the projections and to_out: heads to batch,
        (added KV: text keys and values before the pixels'), baddbmm with the additive mask,
        softmax, bmm, batch to heads. Inputs are the projections' outputs [B, L, H·D]."""
        b, h, d, lq, lt, ls = r["b"], r["heads"], r["d"], r["lq"], r["lt"], r["ls"]
        inner, lk, scale = h * d, lt + ls, d ** -0.5
        q, k, v = rand(b, lq, inner), rand(b, ls, inner), rand(b, ls, inner)
        kt, vt = (rand(b, lt, inner), rand(b, lt, inner)) if lt else (None, None)
        # A 20-token prompt and 4 extra tokens attend, the rest is padding (NetworkForward's inputs);
        # the prior also has its causal mask. Masks are additive, -10000 as diffusers makes them.
        keep = torch.zeros(b, lk, dtype=torch.bool)
        keep[:, :24 if lt else 20] = True
        if lt:
            keep[:, lt:] = True  # the pixels' own keys are never masked
        mask = (~keep).float() * -10000.0
        mask = mask[:, None, :].expand(b, lq, lk)
        if r["causal"]:
            mask = mask + torch.full((lq, lk), -10000.0).triu(1)
        mask = mask.repeat_interleave(h, dim=0).contiguous()  # [B·H, Lq, Lk], as prepare_attention_mask

        def heads(x):
            n, length, _ = x.shape
            return x.reshape(n, length, h, d).permute(0, 2, 1, 3).reshape(n * h, length, d)

        def call():
            key, value = heads(k), heads(v)
            if lt:
                key, value = torch.cat([heads(kt), key], dim=1), torch.cat([heads(vt), value], dim=1)
            scores = torch.baddbmm(mask, heads(q), key.transpose(-1, -2), beta=1, alpha=scale)
            out = torch.bmm(scores.softmax(dim=-1), value)
            return out.reshape(b, h, lq, d).permute(0, 2, 1, 3).reshape(b, lq, inner)

        return call

    def setup(r):
        fn = make(r)
        _, first, _ = timed(fn)  # warm-up: oneDNN creates its primitives on the first call
        # A first call of a second or more (the largest convs) is its own calibration.
        one = first if first >= 10 * r["min_s"] else timed(fn)[1]
        calls = max(1, math.ceil(r["min_s"] / max(one, 1e-9)))
        live[r["id"]] = (fn, calls)
        return dict(calls=calls, first_s=first, second_s=one)

    def run(r):
        fn, calls = live[r["id"]]

        def loop():
            for _ in range(calls):
                fn()
        _, s, cpu = timed(loop)
        return dict(s_per_call=s / calls, cpu_s_per_call=cpu / calls, calls=calls)

    def free(r):
        live.pop(r["id"], None)
        return {}

    answer(dict(ready=True, **environment(torch)))
    with torch.inference_mode():
        serve({"setup": setup, "run": run, "free": free})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("pipeline")
    s.add_argument("model")
    s = sub.add_parser("network")
    s.add_argument("dir")
    s.add_argument("network")
    sub.add_parser("kernels")
    for s in sub.choices.values():
        s.add_argument("--threads", type=int, required=True)
    a = p.parse_args()
    sys.path.insert(0, str(HERE))
    import torch
    torch.set_num_threads(a.threads)
    {"pipeline": pipeline, "network": network, "kernels": kernels}[a.mode](a, torch)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The unCLIP networks at Karlo's full shapes on the CPU: one forward of each, unclip4j against
diffusers v0.20.0's own modules (Debian's torch 1.13.1), on the same random weights, the same
thread count, back to back in one run. Writes benchmarks/results/networks-cpu-<date>.md: time,
GFLOP/s and the share of each op family, per network and thread count.

    /usr/bin/python3 benchmarks/compare/networks_cpu.py run            # the measurement (about 45 min on 2 cores)
    /usr/bin/python3 benchmarks/compare/networks_cpu.py run --small    # a smoke test of this script (tiny channels)

Needs: the jar (`./mvnw -B -o -Dunclip.cuda=OFF -DskipTests package` → benchmarks/target/benchmarks.jar);
diffusers v0.20.0 and huggingface_hub v0.16.4 source under third_party/src (training/README.md,
"Training"); Debian's python3-torch. Debian's torch links the system BLAS, here the reference BLAS
(5-7 GFLOP/s), which would make the comparison meaningless: the torch side runs with Debian's
OpenBLAS 0.3.21 (libopenblas0-pthread) on LD_LIBRARY_PATH, which `run` extracts into
third_party/openblas with `apt-get download` + `dpkg -x` when it is missing (as training/README.md
does; nothing is installed system-wide). Its convolutions run in oneDNN (mkldnn), not in BLAS.

Shapes (REFERENCE.md "Full-size configurations"): the prior at batch 2 (guidance) with 77 text
tokens; the decoder at batch 2 and 64×64 with 81 text tokens (77 + 4 extra CLIP tokens: text_proj's
output); super_res_first at batch 1 and 256×256 (super_res_last has the same shapes). Weights: the
modules' default initialisation from seed 0, float32, written once as safetensors under --dir
(about 11 GB for the three; reused while present) and read by both sides.

Protocol, each network × thread count, each side in its own process (one network's weights
resident at a time): load; one warm-up forward (on the torch side it also counts the FLOPs);
--repeats timed forwards (median, min, max); one more forward with a per-op profiler on, for the
op-family split (torch.profiler self CPU time; unclip4j's Backend.startProfile). Threads:
torch.set_num_threads(T) with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T on both sides (libunclip_cpu
takes OpenMP's default, OMP_NUM_THREADS).

FLOPs are counted from the reference modules as they run (a TorchDispatchMode over the warm-up):
convolutions; the matrix products inside nn.Linear layers; the other bmm/baddbmm (attention scores
and values); multiply-add = 2. unclip4j does the same math, so its GFLOP/s uses the same count.

Subcommands `setup` and `torch` are the children `run` starts; they can be run alone.
"""
import argparse
import collections
import datetime
import json
import os
import pathlib
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
THIRD_PARTY = ROOT / "third_party"
OPENBLAS = THIRD_PARTY / "openblas" / "root" / "usr" / "lib" / "x86_64-linux-gnu" / "openblas-pthread"
JAR = ROOT / "benchmarks" / "target" / "benchmarks.jar"

# ---- the networks ------------------------------------------------------------------------------

# diffusers' scripts/convert_kakao_brain_unclip_to_diffusers.py builds Karlo's networks with exactly
# these arguments. The super-resolution nets keep the default time norm (not scale_shift): Karlo's
# own SuperResUNetModel is built without use_scale_shift_norm, and REFERENCE.md's 692 M parameters
# are this config's (scale_shift would make 730 M); the decoder has scale_shift (885 M).
DECODER = dict(
    sample_size=64, layers_per_block=3, block_out_channels=(320, 640, 960, 1280), in_channels=3, out_channels=6,
    down_block_types=("ResnetDownsampleBlock2D",) + ("SimpleCrossAttnDownBlock2D",) * 3,
    up_block_types=("SimpleCrossAttnUpBlock2D",) * 3 + ("ResnetUpsampleBlock2D",),
    mid_block_type="UNetMidBlock2DSimpleCrossAttn", cross_attention_dim=1536, class_embed_type="identity",
    attention_head_dim=64, resnet_time_scale_shift="scale_shift")
SUPER_RES = dict(
    sample_size=256, layers_per_block=3, block_out_channels=(320, 640, 960, 1280), in_channels=6, out_channels=3,
    down_block_types=("ResnetDownsampleBlock2D",) * 4, up_block_types=("ResnetUpsampleBlock2D",) * 4,
    add_attention=False)
PRIOR = dict()  # PriorTransformer's defaults are Karlo's prior (the conversion script passes none)

# --small: the same block structure with tiny widths and the same spatial sizes, to test this script.
SMALL = {
    "prior": dict(num_attention_heads=4, attention_head_dim=32, num_layers=2),
    "decoder": dict(block_out_channels=(32, 64, 96, 128), attention_head_dim=32, cross_attention_dim=64),
    "super_res_first": dict(block_out_channels=(32, 64, 96, 128)),
}

# One row per network: diffusers class, config, batch, spatial size, text tokens, and REFERENCE.md's
# TFLOP per forward. NetworkForward.CASES (the Java side) has a row of the same name.
CASES = {
    "prior": dict(cls="PriorTransformer", config=PRIOR, batch=2, size=None, text=77, reference_tflop=0.33),
    "decoder": dict(cls="UNet2DConditionModel", config=DECODER, batch=2, size=64, text=81, reference_tflop=1.22),
    "super_res_first": dict(cls="UNet2DModel", config=SUPER_RES, batch=1, size=256, text=0, reference_tflop=8.5),
}
# Timed forwards per network: the super-resolution net is ~8.5 TFLOP, minutes per forward here.
REPEATS = {"prior": 5, "decoder": 5, "super_res_first": 3}

# Op families: how each side's op names are grouped. unclip4j fuses bias, residual and activation
# into uc_linear/uc_conv2d and SiLU + scale/shift into uc_group_norm; torch runs those as separate
# ops, which land in "other". So compare a family's time with care, and the whole forward always.
FAMILIES = ("conv", "linear", "attention", "norm", "other")
# A torch op's time goes to the family of its outermost caller in this table: the same aten::addmm_
# is a 1×1 convolution under _slow_conv2d_forward and attention under baddbmm.
TORCH_FAMILY = {
    "aten::conv2d": "conv", "aten::convolution": "conv", "aten::_convolution": "conv",
    "aten::mkldnn_convolution": "conv", "aten::_slow_conv2d_forward": "conv", "aten::thnn_conv2d": "conv",
    "aten::linear": "linear", "aten::addmm": "linear", "aten::mm": "linear", "aten::matmul": "linear",
    "aten::bmm": "attention", "aten::baddbmm": "attention", "aten::softmax": "attention", "aten::_softmax": "attention",
    "aten::group_norm": "norm", "aten::native_group_norm": "norm", "aten::layer_norm": "norm",
    "aten::native_layer_norm": "norm",
}
JAVA_FAMILY = {
    "uc_conv2d": "conv", "uc_linear": "linear", "uc_attention": "attention", "uc_attention_added_kv": "attention",
    "uc_softmax": "attention", "uc_group_norm": "norm", "uc_layer_norm": "norm",
}


def case_config(network, small):
    config = dict(CASES[network]["config"])
    if small:
        config.update(SMALL[network])
    return config


# ---- weights: written once, read by both sides ---------------------------------------------------

def import_diffusers():
    """diffusers v0.20.0 as tools/reference/make_unet_fixture.py imports it."""
    sys.path[:0] = [str(ROOT / "training" / "shims"), str(THIRD_PARTY / "src")]
    import transformers_shim  # noqa: F401  (registers itself as `transformers`)
    import diffusers
    return diffusers


def write_safetensors(state, path):
    """A float32 safetensors file, written tensor by tensor (the whole file is never in memory twice)."""
    header, offset = {}, 0
    for name, t in state.items():
        size = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for t in state.values():
            f.write(t.detach().float().contiguous().numpy().data)
    os.replace(tmp, path)  # a folder with the final name is complete


def read_safetensors_into(model, path):
    """Reads every tensor of the file straight into the model's parameters (no mapping of the file
    and no temporary copy, so the process's peak resident memory is the model's, which cpu.sh
    reports); the names must match exactly."""
    import torch
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        state = model.state_dict()
        if set(state) != set(header):
            raise SystemExit(f"{path}: names differ from the model's: {sorted(set(state) ^ set(header))[:5]}")
        with torch.no_grad():
            for name, e in header.items():
                begin, end = e["data_offsets"]
                target = state[name]
                if e["dtype"] != "F32" or list(target.shape) != e["shape"] or target.dtype != torch.float32 \
                        or not target.is_contiguous():
                    raise SystemExit(f"{path}: {name} is {e['dtype']} {e['shape']}, the model's {target.dtype} "
                                     f"{list(target.shape)}")
                f.seek(8 + n + begin)
                if f.readinto(memoryview(target.numpy()).cast("B")) != end - begin:
                    raise SystemExit(f"{path}: {name} is truncated")


def setup(network, folder, small):
    """Writes folder/config.json and folder/diffusion_pytorch_model.safetensors (seed 0)."""
    import torch
    diffusers = import_diffusers()
    torch.manual_seed(0)
    model = getattr(diffusers, CASES[network]["cls"])(**case_config(network, small))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_config(folder)
    write_safetensors(model.state_dict(), folder / "diffusion_pytorch_model.safetensors")
    params = sum(p.numel() for p in model.parameters())
    print(f"{network}: {params / 1e6:.1f} M parameters written to {folder}", file=sys.stderr)


# ---- the torch side ----------------------------------------------------------------------------

def make_inputs(network, model, case):
    import torch
    g = torch.Generator().manual_seed(7)
    n, cfg = case["batch"], model.config
    if network == "prior":
        d = cfg.embedding_dim
        mask = torch.zeros(n, case["text"], dtype=torch.bool)
        mask[:, :20] = True  # a 20-token prompt, the rest padding: the pipeline's text_mask
        return dict(hidden_states=torch.randn(n, d, generator=g), timestep=torch.full((n,), 999),
                    proj_embedding=torch.randn(n, d, generator=g),
                    encoder_hidden_states=torch.randn(n, case["text"], d, generator=g), attention_mask=mask)
    args = dict(sample=torch.randn(n, cfg.in_channels, case["size"], case["size"], generator=g),
                timestep=torch.full((n,), 999.0))
    if case["text"]:
        mask = torch.zeros(n, case["text"])
        mask[:, :4 + 20] = 1  # 4 extra CLIP tokens and a 20-token prompt, as NetworkForward's
        args.update(encoder_hidden_states=torch.randn(n, case["text"], cfg.cross_attention_dim, generator=g),
                    attention_mask=mask,
                    class_labels=torch.randn(n, model.time_embedding.linear_2.out_features, generator=g))
    return args


def flop_counter(model):
    """A TorchDispatchMode counting multiply-adds (×2) by family: convolution → conv; mm, addmm, bmm and
    baddbmm inside an nn.Linear's forward → linear (torch runs a linear layer on a transposed 3-D input,
    as diffusers' added-KV attention passes it, as a bmm); every other bmm/baddbmm → attention. Use as
    `with counter:` and then `counter.remove()` to drop its module hooks."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class FlopCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.flops = collections.Counter()
            self.in_linear = 0
            linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
            self.hooks = [m.register_forward_pre_hook(self.enter) for m in linears]
            self.hooks += [m.register_forward_hook(self.leave) for m in linears]

        def enter(self, *_):
            self.in_linear += 1

        def leave(self, *_):
            self.in_linear -= 1

        def remove(self):
            for h in self.hooks:
                h.remove()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            op = func.overloadpacket.__name__
            if op == "convolution":  # w: [Cout, Cin/groups, kh, kw]
                w = args[1]
                self.flops["conv"] += 2 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
            elif op in ("mm", "addmm", "bmm", "baddbmm"):  # [..., m, k] @ [..., k, n]
                a = args[1] if op in ("addmm", "baddbmm") else args[0]
                family = "linear" if self.in_linear or op in ("mm", "addmm") else "attention"
                self.flops[family] += 2 * out.numel() * a.shape[-1]
            return out

    return FlopCounter()


def measure_torch(network, folder, threads, repeats):
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(threads)
    diffusers = import_diffusers()
    case = CASES[network]
    t0 = time.perf_counter()
    torch.manual_seed(0)
    config = json.loads((folder / "config.json").read_text())
    model = getattr(diffusers, case["cls"]).from_config(config).eval()
    read_safetensors_into(model, folder / "diffusion_pytorch_model.safetensors")
    load_s = time.perf_counter() - t0
    inputs = make_inputs(network, model, case)

    def forward():
        t = time.perf_counter()
        out = model(**inputs)[0]
        return time.perf_counter() - t, out

    with torch.no_grad():
        counter = flop_counter(model)
        with counter:
            warmup_s, out = forward()
        counter.remove()
        cpu0 = time.process_time()
        times = [forward()[0] for _ in range(repeats)]
        cpu_s = time.process_time() - cpu0
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            profiled_s, _ = forward()
    ops = {e.key: {"calls": e.count, "s": e.self_cpu_time_total * 1e-6} for e in prof.key_averages()}
    return dict(network=network, threads=torch.get_num_threads(), load_s=load_s, warmup_s=warmup_s, times_s=times,
                cpu_s=cpu_s, profiled_s=profiled_s, ops=ops, families=op_families(prof), flops=dict(counter.flops), out_shape=list(out.shape),
                out_finite=bool(torch.isfinite(out).all()), torch=torch.__version__, blas=loaded_blas(),
                onednn=torch.__config__.show().split("MKL-DNN ")[1].split(" ")[0],
                cpu_capability=torch.__config__.show().split("CPU capability usage: ")[1].split("\n")[0])


def op_families(prof):
    """Self CPU seconds per family of a torch.profiler run: an op counts in the family of its outermost
    caller that TORCH_FAMILY names (else "other")."""
    out = dict.fromkeys(FAMILIES, 0.0)
    for e in prof.events():
        family, caller = "other", e
        while caller is not None:
            family = TORCH_FAMILY.get(caller.name, family)
            caller = caller.cpu_parent
        out[family] += e.self_cpu_time_total * 1e-6
    return out


def loaded_blas():
    """The BLAS library this process has mapped (proof that OpenBLAS, not the reference BLAS, is used)."""
    libs = {line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() and "/" in line}
    return sorted(libs)


# ---- the driver ----------------------------------------------------------------------------------

def ensure_openblas():
    if (OPENBLAS / "libblas.so.3").exists():
        return
    print(f"extracting Debian's libopenblas0-pthread into {OPENBLAS.parents[3]}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "libopenblas0-pthread"], cwd=tmp, check=True)
        deb = next(pathlib.Path(tmp).glob("libopenblas0-pthread_*.deb"))
        OPENBLAS.parents[3].mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(deb), str(OPENBLAS.parents[3])], check=True)


def java_home():
    out = subprocess.run(["bash", "-c", f"source '{ROOT}/tools/jdk.sh' && unclip_find_jdk >/dev/null && echo $JAVA_HOME"],
                         capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


def child(cmd, threads, extra_env=None):
    """Runs one side's process with the thread settings; returns its JSON and the load averages around it."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **(extra_env or {}))
    before = os.getloadavg()[0]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    result["loadavg"] = [before, os.getloadavg()[0]]
    return result


def families(result):
    """Seconds per family of one side's profiled forward; its time outside every op goes to 'other'."""
    out = dict(result["families"]) if "families" in result else dict.fromkeys(FAMILIES, 0.0)
    if "families" not in result:
        for name, e in result["ops"].items():
            out[JAVA_FAMILY.get(name, "other")] += e["s"]
    out["other"] += max(0.0, result["profiled_s"] - sum(e["s"] for e in result["ops"].values()))
    return out


def machine():
    lscpu = dict(line.split(":", 1) for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                 if ":" in line)
    flags = lscpu.get("Flags", "").split()
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"]
    mem = next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1]
    caches = "".join(f", {level} {lscpu[f'{level} cache'].strip()}" for level in ("L2", "L3") if f"{level} cache" in lscpu)
    return (f"{lscpu.get('Model name', '?').strip()} (family {lscpu.get('CPU family', '?').strip()}, model "
            f"{lscpu.get('Model', '?').strip()}), {os.cpu_count()} cores{caches}, {int(mem) / 2**20:.0f} GiB; ISA flags: "
            + " ".join(f for f in wanted if f in flags) + " (not: " + " ".join(f for f in wanted if f not in flags) + ")")


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def run(a):
    ensure_openblas()
    if not JAR.exists():
        raise SystemExit(f"{JAR} is missing: ./mvnw -B -o -Dunclip.cuda=OFF -DskipTests package")
    java_bin = java_home() / "bin" / "java"
    java = [str(java_bin), "--enable-native-access=ALL-UNNAMED", "-cp", str(JAR), "dev.unclip4j.bench.NetworkForward"]
    java_cases = subprocess.run(java + ["--list"], capture_output=True, text=True, check=True).stdout.split()
    root = pathlib.Path(a.dir) / ("small" if a.small else "karlo")
    torch_env = {"LD_LIBRARY_PATH": f"{OPENBLAS}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":")}
    started = datetime.datetime.now(datetime.timezone.utc)
    dirty = git("status", "--porcelain", "--untracked-files=no")
    meta = dict(started=f"{started:%Y-%m-%d %H:%M} UTC", date=f"{started:%Y-%m-%d}", machine=machine(),
                commit=git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else ""),
                branch=git("rev-parse", "--abbrev-ref", "HEAD"), command=" ".join(sys.argv[1:]), small=a.small,
                java=subprocess.run([str(java_bin), "-version"], capture_output=True, text=True).stderr.splitlines()[0])
    results = []
    for network in a.networks.split(","):
        folder = root / network
        if not (folder / "diffusion_pytorch_model.safetensors").exists():
            cmd = [sys.executable, __file__, "setup", network, "--dir", str(folder)] + (["--small"] if a.small else [])
            subprocess.run(cmd, check=True)
        repeats = a.repeats or REPEATS[network]
        for threads in map(int, a.threads.split(",")):
            print(f"{network}, {threads} thread(s), {repeats} repeats: torch ...", file=sys.stderr, flush=True)
            t = child([sys.executable, __file__, "torch", network, "--dir", str(folder), "--threads", str(threads),
                       "--repeats", str(repeats)], threads, torch_env)
            j = None
            if network in java_cases:
                print(f"{network}, {threads} thread(s): unclip4j ...", file=sys.stderr, flush=True)
                j = child(java + [str(root), network, str(repeats)], threads)
            results.append(dict(network=network, threads=threads, repeats=repeats, torch=t, java=j))
            print(summary_line(results[-1]), file=sys.stderr, flush=True)
    meta["finished"] = f"{datetime.datetime.now(datetime.timezone.utc):%H:%M} UTC"
    default = root / "networks-cpu-small.md" if a.small else ROOT / "benchmarks" / "results" / f"networks-cpu-{meta['date']}.md"
    out = pathlib.Path(a.out or default)
    out.with_suffix(".json").write_text(json.dumps(dict(meta=meta, results=results), indent=1) + "\n")
    out.write_text(report(meta, results, out.with_suffix(".json").name))
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)


def stats(times):
    return statistics.median(times), min(times), max(times)


def summary_line(r):
    t = stats(r["torch"]["times_s"])[0]
    j = stats(r["java"]["times_s"])[0] if r["java"] else None
    return (f"  {r['network']} ×{r['threads']}: torch {t:.2f} s, unclip4j "
            + (f"{j:.2f} s, ratio {j / t:.2f}" if j else "—"))


def cores_used(side, threads):
    """CPU time over wall time of the timed forwards, per thread asked for: 100 % = had its cores throughout."""
    return f"{100 * side['cpu_s'] / (sum(side['times_s']) * threads):.0f} %"


def report(meta, results, raw):
    first = results[0]["torch"]
    devices = " / ".join(dict.fromkeys(f'"{r["java"]["device"]}"' for r in results if r["java"])) or "—"
    lines = [
        f"# The unCLIP networks on the CPU: unclip4j vs diffusers — {meta['date']}",
        "",
        f"- **Machine**: {meta['machine']}.",
        "- **Shared**: other engineers' builds and runs used the same 2 cores during the run; the load average",
        "  (1 min) before → after each process and the share of its cores each process got are in the table.",
        "  Every number below is perturbed by that; read them as noisy.",
        f"- **Date**: {meta['started']} to {meta['finished']}. **Commit**: {meta['commit']} on `{meta['branch']}`.",
        f"- **Command**: `/usr/bin/python3 benchmarks/compare/networks_cpu.py {meta['command']}` (after",
        "  `./mvnw -B -o -Dunclip.cuda=OFF -DskipTests package`).",
        f"- **unclip4j**: {meta['java']}; libunclip_cpu describes itself as {devices}.",
        f"- **PyTorch**: {first['torch']} (Debian's 1.13.1), diffusers v0.20.0's modules; BLAS: "
        + ", ".join(pathlib.Path(b).name for b in first["blas"]) + " (Debian's OpenBLAS 0.3.21, pthreads);",
        f"  convolutions in oneDNN {first['onednn']}; ATen's own CPU kernels built for {first['cpu_capability']}.",
        "- **Shapes**: prior batch 2, 77 text tokens; decoder batch 2, 64×64, 81 text tokens; super_res_first",
        "  batch 1, 256×256 (REFERENCE.md, \"Full-size configurations\"). Random float32 weights (seed 0, the",
        "  modules' default init), the same safetensors files read by both sides.",
        "- **Protocol**: per network and thread count, torch then unclip4j, each in its own process: load, one",
        "  warm-up forward, the timed forwards (\"runs\"; median, min–max), one profiled forward.",
        "  OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads on both sides, torch.set_num_threads(threads).",
        "",
        "## Time per forward",
        "",
        "ratio = unclip4j time ÷ torch time, on the medians (above 1: unclip4j is slower); ratio of minima: the",
        "same on each side's fastest run, the least disturbed by the neighbours. GFLOP/s = counted FLOPs",
        "(below) ÷ median time. cores = process CPU time ÷ (wall time × threads) over the timed runs: below",
        "100 %, the process waited for its cores (OpenMP threads spinning at a barrier count as busy).",
        "CPU-time ratio: the same ratio on CPU seconds per timed forward — with one thread the measure least",
        "moved by the neighbours (time spent descheduled is not counted); with two, spinning inflates it.",
        "",
        "| network | threads | GFLOP | unclip4j s, median (min–max) | torch s, median (min–max) | **ratio** |"
        " ratio of minima | CPU-time ratio | unclip4j GFLOP/s | torch GFLOP/s | runs | cores (unclip4j; torch) |"
        " load avg (unclip4j; torch) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t, j = r["torch"], r["java"]
        gflop = sum(t["flops"].values()) / 1e9
        tm = stats(t["times_s"])
        tload = f"{t['loadavg'][0]:.1f}→{t['loadavg'][1]:.1f}"
        if j:
            jm = stats(j["times_s"])
            jcell, ratio, jrate = f"{jm[0]:.2f} ({jm[1]:.2f}–{jm[2]:.2f})", f"**{jm[0] / tm[0]:.2f}**", f"{gflop / jm[0]:.1f}"
            cpu_ratio = (j["cpu_s"] / len(j["times_s"])) / (t["cpu_s"] / len(t["times_s"]))
            ratio += f" | {jm[1] / tm[1]:.2f} | {cpu_ratio:.2f}"
            cores = f"{cores_used(j, r['threads'])}; {cores_used(t, r['threads'])}"
            load = f"{j['loadavg'][0]:.1f}→{j['loadavg'][1]:.1f}; {tload}"
        else:
            jcell, ratio, jrate = "not in unclip4j yet", "— | — | —", "—"
            cores, load = f"—; {cores_used(t, r['threads'])}", f"—; {tload}"
        lines.append(f"| {r['network']} | {r['threads']} | {gflop:.1f} | {jcell} | {tm[0]:.2f} ({tm[1]:.2f}–{tm[2]:.2f}) "
                     f"| {ratio} | {jrate} | {gflop / tm[0]:.1f} | {r['repeats']} | {cores} | {load} |")
    lines += [
        "",
        "## Where the time goes (the profiled forward)",
        "",
        "Per op family: seconds and share of the profiled forward; GFLOP/s where the family has counted FLOPs.",
        "conv = uc_conv2d / aten::conv2d (oneDNN, or im2col + OpenBLAS for some 1×1 convolutions); linear =",
        "uc_linear / aten::linear, addmm, mm; attention = uc_attention, uc_attention_added_kv / baddbmm, bmm,",
        "softmax; norm = uc_group_norm, uc_layer_norm / group_norm, layer_norm; other = every other op and the",
        "time between ops (Java or Python). A torch op counts in the family of its outermost caller.",
        "**Not like for like**: unclip4j fuses bias, residual and activation into uc_conv2d / uc_linear and",
        "SiLU + scale/shift into uc_group_norm, and reads the added K/V in place; torch runs those as separate",
        "elementwise ops and copies (its \"other\"). Compare families for where time goes, the totals for speed.",
        "",
        "| network | threads | family | GFLOP | unclip4j s (share) | torch s (share) | unclip4j GFLOP/s | torch GFLOP/s |"
        " unclip4j ÷ torch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t, j = r["torch"], r["java"]
        tf, jf = families(t), families(j) if j else None
        for fam in FAMILIES:
            flop = t["flops"].get(fam, 0) / 1e9
            trate = f"{flop / tf[fam]:.1f}" if flop and tf[fam] else ""
            jcell, jrate, ratio = "—", "", ""
            if jf:
                jcell = f"{jf[fam]:.2f} ({100 * jf[fam] / j['profiled_s']:.0f} %)"
                jrate = f"{flop / jf[fam]:.1f}" if flop and jf[fam] else ""
                ratio = f"{jf[fam] / tf[fam]:.2f}" if tf[fam] else ""
            lines.append(f"| {r['network']} | {r['threads']} | {fam} | {flop:.1f} | {jcell} | {tf[fam]:.2f} "
                         f"({100 * tf[fam] / t['profiled_s']:.0f} %) | {jrate} | {trate} | {ratio} |")
        jp = f"{j['profiled_s']:.2f} s" if j else "—"
        lines.append(f"| {r['network']} | {r['threads']} | *profiled forward* | | {jp} | {t['profiled_s']:.2f} s | | | |")
    lines += [
        "",
        "## FLOPs counted against REFERENCE.md",
        "",
        "Counted from diffusers' modules as they ran: convolutions, the matrix products inside nn.Linear layers,",
        "the other bmm/baddbmm (attention scores and values); multiply-add = 2.",
        "",
        "| network | conv GFLOP | linear GFLOP | attention GFLOP | total TFLOP | REFERENCE.md TFLOP |",
        "|---|---|---|---|---|---|",
    ]
    for network in dict.fromkeys(r["network"] for r in results):
        f = next(r["torch"]["flops"] for r in results if r["network"] == network)
        lines.append(f"| {network} | {f.get('conv', 0) / 1e9:.1f} | {f.get('linear', 0) / 1e9:.1f} | "
                     f"{f.get('attention', 0) / 1e9:.1f} | {sum(f.values()) / 1e12:.3f} | "
                     f"{CASES[network]['reference_tflop']} |")
    lines += ["", f"Raw results (every time, every op of both sides): `{raw}` beside this file.", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="both sides, every network and thread count; writes the results file")
    r.add_argument("--dir", default="/tmp/unclip-networks", help="where the networks' folders are written (reused)")
    r.add_argument("--networks", default=",".join(CASES))
    r.add_argument("--threads", default="1,2")
    r.add_argument("--repeats", type=int, help="timed forwards per network (default: %s)" % REPEATS)
    r.add_argument("--out", help="results file (default benchmarks/results/networks-cpu-<date>.md)")
    r.add_argument("--small", action="store_true", help="tiny widths: a smoke test of this script, not a measurement")
    s = sub.add_parser("setup", help="write one network's folder")
    s.add_argument("network", choices=CASES)
    s.add_argument("--dir", required=True)
    s.add_argument("--small", action="store_true")
    t = sub.add_parser("torch", help="time and profile one network in diffusers; prints JSON")
    t.add_argument("network", choices=CASES)
    t.add_argument("--dir", required=True)
    t.add_argument("--threads", type=int, required=True)
    t.add_argument("--repeats", type=int, required=True)
    w = sub.add_parser("report", help="rewrite a results file from its .json")
    w.add_argument("json")
    a = p.parse_args()
    if a.command == "run":
        run(a)
    elif a.command == "setup":
        setup(a.network, pathlib.Path(a.dir), a.small)
    elif a.command == "torch":
        print(json.dumps(measure_torch(a.network, pathlib.Path(a.dir), a.threads, a.repeats)))
    else:
        raw = pathlib.Path(a.json)
        data = json.loads(raw.read_text())
        raw.with_suffix(".md").write_text(report(data["meta"], data["results"], raw.name))


if __name__ == "__main__":
    main()

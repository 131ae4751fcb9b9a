#!/usr/bin/python3
"""unclip4j against PyTorch on this machine's CPU, side by side, in one run (issue 19): the driver
behind benchmarks/compare/cpu.sh, which builds what is missing and then runs this file.

    benchmarks/compare/cpu.sh [--smoke] [--repeats N] [--big-repeats N] [--threads 1,2]
                              [--parts peak,e2e,networks,kernels] [--dir CACHE] [--out FILE.md]

Parts, each at every thread count (1 and 2), the same count on both sides (OMP_NUM_THREADS =
OPENBLAS_NUM_THREADS = T, torch.set_num_threads(T)):

  peak      the machine's limits (peak/peak.c, compiled here with gcc -O2 -fopenmp): float32 FMA
            peak and STREAM copy bandwidth, 1 and 2 threads, 5 runs each; the best run is the limit.
  e2e       the built-in model end to end: unclip4j's UnclipPipeline against diffusers' UnCLIPPipeline
            (loaded as training/generate_reference.py loads it), the same prompts, seeds and defaults
            (25 prior / 25 decoder / 7 super-res steps, guidance 4 / 8), at batch 1, 4 and 16
            (1 prompt x 1 image, 2 x 2, 4 x 4): seconds per image and images per second.
  networks  one step of Karlo's prior (batch 2), decoder (batch 2, 64x64) and super-res net
            (batch 1, 256x256) with random weights (networks_cpu.py's networks and weights):
            time, GFLOP/s, the share of each op family (the last timed forward runs profiled).
  kernels   conv 3x3, linear, group norm + SiLU and attention at every distinct shape those
            three networks run (karlo_shapes.py), against PyTorch on the same shapes (its convs: the
            faster of contiguous and channels-last), as a share of the measured peak.
  and the peak resident memory (VmHWM) of every process of either side.

Protocol: each side is its own long-lived process (dev.unclip4j.bench.CpuCompare, cpu_torch.py)
that loads once and then times what it is asked; both are resident at once and the driver asks
them in turn, switching which goes first every round, so the machine's noise hits both sides.
Timings are medians of the rounds with min-max. Warm-up: one untimed call of every kind before
the rounds (end to end: the same batch with 2 steps a stage; the super-res net: a 64x64 forward,
1/16 of the work). Both sides run with glibc malloc keeping freed memory (MALLOC_KEEP says why;
--malloc default for glibc's own settings). Writes FILE.md (default
benchmarks/results/cpu-<date>.md, cpu-<date>-<HHMM>.md when a run of that day is there) and FILE.json with
every raw number; the children's stderr goes
to FILE.log beside them (under benchmarks/results: to CACHE/logs/ instead).

Duration of the full run on 2 cores (estimated from its parts, measured one round at a time on a
machine shared with two other engineers, load 3-6): peak 0.3 min, e2e ~6.5 min (batch 16 is ~26 s
a call on each side at one thread), networks ~20 min (the super-res net ~100 s a forward and side
at one thread; loading both sides 0.5-1 min per network and thread count), kernels ~9 min (the
256x256 super-res convs are 2-4 s a call): about 35 min, plus ~4 min once to write the 11 GB of
random weights.

--smoke: the harness itself, not a measurement: tiny networks (networks_cpu.py --small), 2 steps a
stage, 3 shapes per kernel family, 1 round, 1 thread; writes to a temporary folder (never to
benchmarks/results); exits non-zero on any failure. Parts that need what is not installed
(python3-torch; diffusers' source under third_party/src) are skipped with the reason in the output.
"""
import argparse
import collections
import datetime
import json
import os
import pathlib
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import karlo_shapes  # noqa: E402
import networks_cpu  # noqa: E402  (stdlib only at import time)

JAR = ROOT / "benchmarks" / "target" / "benchmarks.jar"
MODEL = ROOT / "models" / "unclip-shapes-tiny"
PARTS = ("peak", "e2e", "networks", "kernels")

# Four held-out-style prompts of the built-in model; batch P x K uses the first P, K images each.
PROMPTS = ["a small blue square at the top left on a yellow background",
           "a large red circle in the center on a white background",
           "a green triangle at the bottom right on a black background",
           "a purple diamond on the left on a gray background"]
BATCHES = [(1, 1), (2, 2), (4, 4)]
DEFAULT_STEPS = (25, 25, 7)  # UnCLIPPipeline's defaults, and TextToImage's
WARMUP_STEPS = (2, 2, 2)     # a warm-up call: the same batch (same buffers, same kernels), few steps

# Each network's one step: networks_cpu.CASES (batch, size, text tokens). The super-res net warms up
# at a quarter of its side.
WARMUP_SIZE = {"prior": None, "decoder": None, "super_res_first": 64}
BIG = {"super_res_first"}  # ~100 s a forward on one core: --big-repeats rounds, not --repeats

# glibc's malloc, as both sides run it unless --malloc default: freed memory stays in the process.
# Why: PyTorch's CPU allocator hands every tensor back to malloc, and glibc returns large blocks
# (over 32 MiB) to the kernel at once, so each op that makes a large output maps fresh pages and
# faults them in; on this VM that costs ~15 us per 4 KiB page (a 250 MB tensor: ~0.9 s, against
# 20 ms to copy it into memory already mapped), which made diffusers' small super-res net 2x slower
# in a test. A PyTorch deployment that cares avoids it (jemalloc, tcmalloc, or these settings);
# the comparison is against that, not against the page faults. unclip4j reuses its workspace and
# is barely affected; both sides get the same environment.
MALLOC_KEEP = {"MALLOC_MMAP_THRESHOLD_": str(16 << 30), "MALLOC_TRIM_THRESHOLD_": str(16 << 30),
               "MALLOC_TOP_PAD_": str(1 << 30)}

# Targets of issue 19, as the verdicts below judge them.
TARGET_E2E = 3.0
TARGET_STEP, AIM_STEP = 1.0, 1.3
TARGET_FMA = 0.70
TARGET_COPY = 0.50
TARGET_SCALING = 1.8


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- children ----------------------------------------------------------------------------------

class SideError(RuntimeError):
    pass


class Side:
    """One side's process: JSON lines in, JSON lines out (see CpuCompare.java / cpu_torch.py)."""

    def __init__(self, name, cmd, threads, logfile, timeout, env=None):
        self.name, self.timeout = name, timeout
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **(env or {}))
        self.p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=logfile, env=env, text=True, cwd=ROOT)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ)
        self.ready = None

    def read(self):
        if not self.sel.select(self.timeout):
            self.kill()
            raise SideError(f"{self.name}: no answer within {self.timeout:.0f} s")
        line = self.p.stdout.readline()
        if not line:
            code = self.p.wait()
            raise SideError(f"{self.name}: the process ended (status {code}); see the log")
        out = json.loads(line)
        if "error" in out:
            raise SideError(f"{self.name}: {out['error']}")
        return out

    def wait_ready(self):
        self.ready = self.read()
        return self.ready

    def ask(self, **request):
        self.p.stdin.write(json.dumps(request) + "\n")
        self.p.stdin.flush()
        return self.read()

    def peak_rss_mib(self):
        """VmHWM, the process's peak resident set, read while it still runs."""
        try:
            for line in open(f"/proc/{self.p.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self):
        rss = self.peak_rss_mib()
        if self.p.poll() is None:
            try:
                self.p.stdin.write('{"cmd": "quit"}\n')
                self.p.stdin.flush()
                self.p.wait(timeout=120)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        return rss

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Harness:
    def __init__(self, a, out_dir):
        self.a = a
        self.smoke = a.smoke
        self.threads = [1] if a.smoke and not a.threads_given else [int(t) for t in a.threads.split(",")]
        self.repeats = a.repeats if a.repeats else (1 if a.smoke else 3)
        self.big_repeats = a.big_repeats if a.big_repeats else (1 if a.smoke else 2)
        self.timeout = 300 if a.smoke else 1800
        self.networks = a.networks.split(",")
        self.min_s = 0.01 if a.smoke else 0.1
        self.cache = pathlib.Path(a.dir) if a.dir else (pathlib.Path(tempfile.mkdtemp(prefix="unclip-cpu-smoke-")) if a.smoke
                                                        else ROOT / "third_party" / "karlo-random")
        self.cache.mkdir(parents=True, exist_ok=True)
        # The children's stderr: beside the results, except in benchmarks/results (not to be committed).
        logs = self.cache / "logs" if out_dir == ROOT / "benchmarks" / "results" else out_dir
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / (pathlib.Path(a.out_name).stem + ".log")
        self.logfile = open(self.log_path, "a")
        self.errors, self.skipped = [], {}
        self.results = collections.defaultdict(list)  # part -> rows, kept when a part fails midway
        self.java = [java_bin(), "--enable-native-access=ALL-UNNAMED", "-cp", JAR, "dev.unclip4j.bench.CpuCompare"]
        self.malloc_env = {} if a.malloc == "default" else dict(MALLOC_KEEP)
        self.torch_env = {}
        self.torch_reason = torch_missing()
        self.diffusers_reason = diffusers_missing()
        if not self.torch_reason:
            blas = openblas()
            if blas:
                self.torch_env = {"LD_LIBRARY_PATH": f"{blas}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":")}
            else:
                self.note("torch", "Debian's OpenBLAS could not be extracted (apt-get download failed): torch runs "
                          "on the system BLAS")

    def note(self, part, reason):
        self.skipped.setdefault(part, []).append(reason)
        log(f"[{part}] {reason}")

    def side(self, name, cmd, threads, env=None):
        return Side(name, cmd, threads, self.logfile, self.timeout, dict(self.malloc_env, **(env or {})))

    def torch_side(self, threads, *args):
        return self.side("torch", [sys.executable, HERE / "cpu_torch.py", *args, "--threads", threads], threads,
                         self.torch_env)

    def java_side(self, threads, *args):
        return self.side("unclip4j", [*self.java, *args], threads)

    def rounds(self, n, sides, ask):
        """n rounds; in round r the sides answer in turn, the first of them alternating. Returns
        {side name: [answer per round]}."""
        out = {s.name: [] for s in sides}
        for r in range(n):
            for s in (sides if r % 2 == 0 else sides[::-1]):
                out[s.name].append(ask(s, r))
        return out


def java_bin():
    home = os.environ.get("JAVA_HOME")
    if home and (pathlib.Path(home) / "bin" / "java").exists():
        return pathlib.Path(home) / "bin" / "java"
    return networks_cpu.java_home() / "bin" / "java"


def torch_missing():
    p = subprocess.run([sys.executable, "-c", "import torch, numpy, PIL"], capture_output=True, text=True)
    if p.returncode == 0:
        return None
    return ("PyTorch is not installed for " + sys.executable + " (Debian: apt-get install --no-install-recommends "
            "python3-torch python3-numpy python3-pil, as ../shared/REFERENCE.md lists)")


def diffusers_missing():
    if (networks_cpu.THIRD_PARTY / "src" / "diffusers" / "__init__.py").exists() and \
            (networks_cpu.THIRD_PARTY / "src" / "huggingface_hub" / "__init__.py").exists():
        return None
    return ("diffusers v0.20.0 / huggingface_hub v0.16.4 source is not under third_party/src (training/README.md, "
            "\"Training\", says how to put it there)")


def openblas():
    """Debian's OpenBLAS for the torch side (networks_cpu.py's extraction), or None where it cannot be had."""
    try:
        if not (networks_cpu.OPENBLAS / "libblas.so.3").exists():
            with open(os.devnull, "w") as quiet:
                saved = os.dup(1)
                os.dup2(quiet.fileno(), 1)  # apt-get's progress would go to our stdout
                try:
                    networks_cpu.ensure_openblas()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
        return networks_cpu.OPENBLAS
    except (subprocess.CalledProcessError, OSError, StopIteration):
        return None


def stats(values):
    return dict(median=statistics.median(values), min=min(values), max=max(values), n=len(values))


# ---- peak ----------------------------------------------------------------------------------------

def part_peak(h):
    binary = h.cache / "peak"
    subprocess.run(["gcc", "-O2", "-fopenmp", "-o", str(binary), str(HERE / "peak" / "peak.c")], check=True)
    args = ["--threads", ",".join(map(str, h.threads))]
    args += ["--runs", "2", "--seconds", "0.05", "--mib", "64"] if h.smoke else ["--runs", "5"]
    p = subprocess.run([str(binary), *args], capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    for r in rows:
        log(f"  {r['what']} x{r['threads']}: best {r['best']} {r['unit']}, median {r['median']}")
    return rows


def peak_of(peak, what, threads):
    return next((r["best"] for r in peak or [] if r["what"] == what and r["threads"] == threads), None)


# ---- end to end ------------------------------------------------------------------------------------

def part_e2e(h):
    steps = WARMUP_STEPS if h.smoke else DEFAULT_STEPS
    batches = BATCHES[:2] if h.smoke else BATCHES
    torch_ok = not h.torch_reason and not h.diffusers_reason
    if not torch_ok:
        h.note("e2e", "diffusers side skipped: " + (h.torch_reason or h.diffusers_reason))
    results = h.results["e2e"]
    for threads in h.threads:
        sides = [h.java_side(threads, "pipeline", MODEL)]
        if torch_ok:
            sides.append(h.torch_side(threads, "pipeline", MODEL))
        ready = {}
        try:
            ready.update((s.name, s.wait_ready()) for s in sides)
            for prompts, per_prompt in batches:
                request = dict(cmd="generate", prompts=PROMPTS[:prompts], images_per_prompt=per_prompt)
                for s in sides:  # warm-up: the same batch, 2 steps a stage
                    s.ask(**request, steps=list(WARMUP_STEPS), seed=0)
                runs = h.rounds(h.repeats, sides, lambda s, r: s.ask(**request, steps=list(steps), seed=r))
                row = dict(threads=threads, prompts=prompts, images_per_prompt=per_prompt, batch=prompts * per_prompt,
                           steps=list(steps), runs=runs)
                results.append(row)
                log("  " + e2e_line(row))
        finally:
            close(sides, results, threads, ready)
    return results


def close(sides, results, threads, ready):
    """Ends a part's processes; every row of that thread count gets their peak RSS and versions."""
    rss = {s.name: s.close() for s in sides}
    for row in results:
        if row["threads"] == threads:
            row["peak_rss_mib"], row["ready"] = rss, ready


def per_image(row, side):
    runs = row["runs"].get(side)
    return stats([r["s"] / row["batch"] for r in runs]) if runs else None


def e2e_line(row):
    j, t = per_image(row, "unclip4j"), per_image(row, "torch")
    s = f"e2e x{row['threads']} batch {row['batch']}: unclip4j {j['median']:.3f} s/image"
    if t:
        s += f", diffusers {t['median']:.3f} s/image, diffusers/unclip4j {t['median'] / j['median']:.2f}"
    return s


# ---- Karlo's networks ----------------------------------------------------------------------------

def network_folder(h, network):
    root = h.cache / ("small" if h.smoke else "karlo")
    folder = root / network
    if not (folder / "diffusion_pytorch_model.safetensors").exists():
        log(f"  writing {network}'s random weights to {folder} (once; reused while present)")
        cmd = [sys.executable, HERE / "networks_cpu.py", "setup", network, "--dir", folder] + (["--small"] if h.smoke else [])
        subprocess.run([str(c) for c in cmd], check=True, stdout=h.logfile, stderr=h.logfile, cwd=ROOT)
    return root


def derived_ops(network, small, size=None):
    case = networks_cpu.CASES[network]
    return karlo_shapes.ops(network, networks_cpu.case_config(network, small), case["batch"], size or case["size"],
                            case["text"])


def part_networks(h):
    if h.torch_reason or h.diffusers_reason:
        h.note("networks", "skipped (both sides: the random-weight folders are written by diffusers' modules): "
               + (h.torch_reason or h.diffusers_reason))
        return []
    results = h.results["networks"]
    for network in h.networks:
        root = network_folder(h, network)
        repeats = h.big_repeats if network in BIG else h.repeats
        full = networks_cpu.CASES[network]["size"]
        warm = WARMUP_SIZE[network]
        flops = collections.Counter()
        for op, n in derived_ops(network, h.smoke).items():
            flops[op[0]] += karlo_shapes.flops(op) * n
        for threads in h.threads:
            log(f"  {network} x{threads}: loading both sides")
            sides = [h.java_side(threads, "network", root, network), h.torch_side(threads, "network", root, network)]
            row = dict(network=network, threads=threads, repeats=repeats, warmup_size=warm or full,
                       flops={k: v for k, v in flops.items() if v}, runs={})
            results.append(row)
            try:
                row["ready"] = {s.name: s.wait_ready() for s in sides}
                warmups = {s.name: s.ask(cmd="forward", size=warm, trace=s.name == "torch") for s in sides}
                traced = collections.Counter({tuple(op): n for op, n in warmups["torch"].pop("trace")})
                mismatch = karlo_shapes.trace_matches(derived_ops(network, h.smoke, warm), traced)
                row["warmup"], row["shapes_checked"] = warmups, not mismatch
                if mismatch:
                    h.errors.append(f"networks: {network}: karlo_shapes differs from diffusers' calls: " + "; ".join(mismatch[:5]))
                row["runs"] = h.rounds(repeats, sides, lambda s, r: s.ask(
                    cmd="forward", full_size=full, profile=r == repeats - 1))
                log("  " + network_line(row))
            finally:
                row["peak_rss_mib"] = {s.name: s.close() for s in sides}
    return results


def network_line(row):
    j, t = stats([r["s"] for r in row["runs"]["unclip4j"]]), stats([r["s"] for r in row["runs"]["torch"]])
    return (f"{row['network']} x{row['threads']}: unclip4j {j['median']:.2f} s, torch {t['median']:.2f} s, "
            f"torch/unclip4j {t['median'] / j['median']:.2f}")


# ---- kernels -------------------------------------------------------------------------------------

def kernel_list(small):
    """Every distinct conv 3x3, linear, group norm + SiLU and attention call of the three networks,
    with the calls per forward of each network that makes it."""
    kernels = {}
    for network, case in networks_cpu.CASES.items():
        for op, n in derived_ops(network, small).items():
            kind = op[0]
            if kind == "conv" and op[6] != 3 or kind == "group_norm" and not op[5]:
                continue  # the families: conv 3x3 only; group norm followed by SiLU only
            if kind == "conv":
                _, nn, hh, ww, cin, cout, k, stride = op
                request = dict(kind="conv", n=nn, h=hh, w=ww, cin=cin, cout=cout, k=k, stride=stride)
                label = f"{nn}x{cin}x{hh}x{ww} -> {cout}"
            elif kind == "linear":
                _, m, nn, k = op
                request = dict(kind="linear", m=m, n=nn, k=k)
                label = f"{m}x{k} -> {nn}"
            elif kind == "group_norm":
                _, nn, c, hw, groups, _ = op
                request = dict(kind="group_norm_silu", n=nn, c=c, hw=hw, groups=groups)
                label = f"{nn}x{c}x{hw} px, {groups} groups"
            else:
                _, bh, lq, lk, d = op
                b = case["batch"]
                if network == "prior":  # self-attention, causal + text padding mask
                    request = dict(kind="attention", b=b, heads=bh // b, d=d, lq=lq, lt=0, ls=lk, causal=True)
                else:  # added-KV: the text keys first, then the pixels' own
                    request = dict(kind="attention", b=b, heads=bh // b, d=d, lq=lq, lt=case["text"], ls=lq, causal=False)
                label = f"{b}x{bh // b} heads x{d}, {lq} queries, {lk} keys" + (", causal" if network == "prior" else "")
            key = json.dumps(request, sort_keys=True)
            entry = kernels.setdefault(key, dict(family=family_of(request), request=request, label=label,
                                                 flops=karlo_shapes.flops(op), bytes=gn_bytes(op), calls={}))
            entry["calls"][network] = entry["calls"].get(network, 0) + n
    order = {"conv": 0, "linear": 1, "group_norm_silu": 2, "attention": 3}
    return sorted(kernels.values(), key=lambda e: (order[e["family"]], -e["flops"], -e["bytes"]))


def family_of(request):
    return request["kind"]


def gn_bytes(op):
    """Group norm + SiLU: the least traffic, one read of x and one write of the output (float32)."""
    return 2 * 4 * op[1] * op[2] * op[3] if op[0] == "group_norm" else 0


def part_kernels(h):
    kernels = kernel_list(h.smoke)
    limit = h.a.max_shapes or (3 if h.smoke else None)
    if limit:  # per family: the smoke's smallest (the harness works, fast), else the largest
        by_family = collections.defaultdict(list)
        for k in sorted(kernels, key=lambda e: (e["flops"] + e["bytes"]) * (1 if h.smoke else -1)):
            by_family[k["family"]].append(k)
        kernels = [k for f in by_family.values() for k in f[:limit]]
    torch_ok = not h.torch_reason
    if not torch_ok:
        h.note("kernels", "torch side skipped: " + h.torch_reason)
    min_s = h.min_s
    results = h.results["kernels"]
    for threads in h.threads:
        sides = [h.java_side(threads, "kernels")] + ([h.torch_side(threads, "kernels")] if torch_ok else [])
        ready = {}
        try:
            ready.update((s.name, s.wait_ready()) for s in sides)
            for i, k in enumerate(kernels):
                row = dict(k, threads=threads, runs={}, setup={})
                java = sides[0]
                row["setup"]["unclip4j"] = java.ask(cmd="setup", id="k", min_s=min_s, **k["request"])
                timed = [(java, "k")]
                if torch_ok:
                    torch = sides[1]
                    layouts = ["contiguous", "channels_last"] if k["family"] == "conv" else ["contiguous"]
                    for layout in layouts:
                        row["setup"][f"torch {layout}"] = torch.ask(cmd="setup", id=layout, layout=layout, min_s=min_s,
                                                                   **k["request"])
                    # The faster layout on its calibration call gets the rounds (timing both would
                    # double the torch side's share of the run).
                    best = min(layouts, key=lambda lay: row["setup"][f"torch {lay}"]["second_s"])
                    row["torch_layout"] = best
                    timed.append((torch, best))
                ids = dict((s.name, i) for s, i in timed)
                runs = h.rounds(h.repeats, [s for s, _ in timed], lambda s, r: s.ask(cmd="run", id=ids[s.name]))
                row["runs"] = runs
                for s, _ in timed:
                    s.ask(cmd="free", id=ids[s.name])
                if torch_ok:
                    for layout in layouts:
                        torch.ask(cmd="free", id=layout)
                results.append(row)
                log(f"  [{i + 1}/{len(kernels)}] " + kernel_line(row, h.peak))
        finally:
            close(sides, results, threads, ready)
    return results


def kernel_time(row, side):
    runs = row["runs"].get(side)
    return stats([r["s_per_call"] for r in runs]) if runs else None


def kernel_line(row, peak):
    j, t = kernel_time(row, "unclip4j"), kernel_time(row, "torch")
    s = f"{row['family']} {row['label']} x{row['threads']}: unclip4j {j['median'] * 1e3:.3f} ms"
    if t:
        s += f", torch {t['median'] * 1e3:.3f} ms ({row.get('torch_layout')}), torch/unclip4j {t['median'] / j['median']:.2f}"
    return s


# ---- the report ----------------------------------------------------------------------------------

def fmt_stats(s, scale=1.0, digits=2):
    if not s:
        return "—"
    return f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}–{s['max'] * scale:.{digits}f})"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def pct(x):
    return f"{100 * x:.0f} %" if x is not None else "—"


def weighted_share(rows, side, threads, peak, family):
    """A family's rate as a share of the limit over all its shapes, each weighted by its calls per
    forward: the work (FLOPs, or bytes for the group norm) of those calls in one forward of every
    network, over the time they take at the measured medians, over the peak. None without rows."""
    work = seconds = 0.0
    for r in rows:
        if r["family"] != family or r["threads"] != threads or not r["runs"].get(side):
            continue
        calls = sum(r["calls"].values())
        work += (r["flops"] or r["bytes"]) * calls
        seconds += kernel_time(r, side)["median"] * calls
    if not seconds or not peak:
        return None
    return work / seconds / 1e9 / peak


def report(meta, data):
    peak, e2e, nets, kern = data.get("peak") or [], data.get("e2e") or [], data.get("networks") or [], data.get("kernels") or []
    threads = meta["threads"]
    lines = [f"# unclip4j vs PyTorch on the CPU, one run — {meta['date']}" + (" (smoke run: not a measurement)" if meta["smoke"] else ""),
             "",
             f"- **Machine**: {meta['machine']}.",
             f"- **Date**: {meta['started']} to {meta['finished']} ({meta['duration_min']:.1f} min). **Commit**: {meta['commit']} on "
             f"`{meta['branch']}`.",
             f"- **Load average** (1, 5, 15 min) at the start: {meta['load_start']}; at the end: {meta['load_end']}. The 2 cores "
             "are shared with other engineers' builds and runs: read every number as noisy; the ratios, taken from one run "
             "with the sides alternating, are what counts.",
             f"- **Command**: `{meta['command']}`.",
             f"- **unclip4j**: {meta.get('java', '?')}; libunclip_cpu: {meta.get('device', '?')}.",
             f"- **PyTorch**: {meta.get('torch', 'not run')}.",
             "- **Memory allocator** (both sides): " + ("glibc's defaults (`--malloc default`)." if isinstance(meta.get("malloc"), str)
                                                      else "glibc malloc keeping freed memory (" + ", ".join(
                 f"{k}={v}" for k, v in meta.get("malloc", {}).items()) + "): PyTorch frees every tensor to malloc and "
                 "glibc unmaps large blocks at once, so each large output would be faulted in afresh, which costs "
                 "~15 µs a page on this VM (a 256×256×960 tensor: ~0.9 s); a tuned PyTorch (jemalloc, tcmalloc) "
                 "avoids that, so the comparison does too. `--malloc default` measures the stock behaviour."),
             f"- **Protocol**: threads {', '.join(map(str, threads))}, the same on both sides (OMP_NUM_THREADS = "
             "OPENBLAS_NUM_THREADS = threads, torch.set_num_threads). Each side is one long-lived process per part and "
             "thread count, both resident; every round asks each side once, the one that goes first alternating. "
             f"Rounds: {meta['repeats']} (the super-res net: {meta['big_repeats']}); times are medians with min–max. "
             "Warm-up before the rounds: end to end, one call of the same batch with 2 steps a stage; networks, one "
             "forward (the super-res net at 64×64: the same weights and kernels, 1/16 of the work); kernels, one call, "
             "then one to calibrate how many calls a round makes (at least "
             f"{meta['kernel_min_s']} s).",
             ""]
    if meta["skipped"]:
        lines += ["**Skipped**:", ""] + [f"- {part}: {r}" for part, rs in meta["skipped"].items() for r in rs] + [""]
    if meta["errors"]:
        lines += ["**Errors** (the run is incomplete):", ""] + [f"- {e}" for e in meta["errors"]] + [""]

    # -- targets
    lines += ["## Issue 19's targets", "",
              "| target | threads | measured | verdict |", "|---|---|---|---|"]
    for t in threads:
        row = next((r for r in e2e if r["threads"] == t and r["batch"] == 1), None)
        if row and per_image(row, "torch"):
            ratio = per_image(row, "torch")["median"] / per_image(row, "unclip4j")["median"]
            lines.append(f"| end to end, built-in model: ≥ {TARGET_E2E:.0f}× faster than diffusers per image (batch 1) | {t} | "
                         f"{ratio:.2f}× | {verdict(ratio >= TARGET_E2E)} |")
        rates = [(r["batch"], r["batch"] / statistics.median([x["s"] for x in r["runs"]["unclip4j"]]))
                 for r in e2e if r["threads"] == t]
        if len(rates) > 1:
            grows = all(b[1] > a[1] for a, b in zip(rates, rates[1:]))
            lines.append(f"| end to end: unclip4j's throughput grows with batch | {t} | "
                         + ", ".join(f"{r:.2f}" for _, r in rates) + f" images/s at batch {', '.join(str(b) for b, _ in rates)} | "
                         f"{verdict(grows)} |")
    for r in nets:
        if r["runs"].get("unclip4j") and r["runs"].get("torch"):
            ratio = stats([x["s"] for x in r["runs"]["torch"]])["median"] / stats([x["s"] for x in r["runs"]["unclip4j"]])["median"]
            v = "**met, aim reached**" if ratio >= AIM_STEP else verdict(ratio >= TARGET_STEP)
            lines.append(f"| Karlo step, {r['network']}: no slower than PyTorch (aim {AIM_STEP}× faster) | {r['threads']} | "
                         f"{ratio:.2f}× | {v} |")
    for network in dict.fromkeys(r["network"] for r in nets):
        one = next((r for r in nets if r["network"] == network and r["threads"] == 1 and r["runs"].get("unclip4j")), None)
        two = next((r for r in nets if r["network"] == network and r["threads"] == 2 and r["runs"].get("unclip4j")), None)
        if one and two:
            def speedup(side):
                return stats([x["s"] for x in one["runs"][side]])["median"] / stats([x["s"] for x in two["runs"][side]])["median"]
            s = speedup("unclip4j")
            lines.append(f"| Karlo step, {network}: unclip4j at 2 threads ≥ {TARGET_SCALING}× one thread | 2 vs 1 | {s:.2f}× "
                         f"(torch: {speedup('torch'):.2f}×) | {verdict(s >= TARGET_SCALING)} |")
    for t in threads:
        for family, what, limit, target in (("conv", "conv 3×3", "fma", TARGET_FMA), ("linear", "linear", "fma", TARGET_FMA),
                                            ("group_norm_silu", "group norm + SiLU", "copy", TARGET_COPY)):
            share = weighted_share(kern, "unclip4j", t, peak_of(peak, limit, t), family)
            if share is not None:
                name = "FMA peak" if limit == "fma" else "copy bandwidth"
                theirs = weighted_share(kern, "torch", t, peak_of(peak, limit, t), family)
                lines.append(f"| kernels, {what}: ≥ {100 * target:.0f} % of the measured {name} (all shapes, weighted by "
                             f"their calls per forward) | {t} | {pct(share)}"
                             + (f" (torch: {pct(theirs)})" if theirs is not None else "") + f" | {verdict(share >= target)} |")
    lines += ["", "Ratios are PyTorch's time ÷ unclip4j's (above 1: unclip4j is faster), on the medians.", ""]

    # -- peak
    if peak:
        lines += ["## The machine's limits (peak/peak.c)", "",
                  "FMA: independent chains of float32 fused multiply-adds on registers ("
                  + ", ".join(dict.fromkeys(r["isa"] for r in peak if r["what"] == "fma"))
                  + "), 2 FLOPs each. Copy: STREAM's Copy kernel c[i] = a[i] over two arrays "
                  "far larger than the L3, ordinary stores; bytes = read + write (the write-allocate read is not counted, "
                  "as in STREAM). The best run is the limit the kernels are measured against.", "",
                  "| limit | threads | best | median | runs |", "|---|---|---|---|---|"]
        for r in peak:
            lines.append(f"| {r['what']} ({r['unit']}) | {r['threads']} | **{r['best']:.1f}** | {r['median']:.1f} | "
                         + ", ".join(f"{x:.1f}" for x in r["runs"]) + " |")
        lines.append("")

    # -- e2e
    if e2e:
        lines += ["## 1. End to end, the built-in model", "",
                  f"`models/unclip-shapes-tiny`, 128×128 images, steps {'/'.join(map(str, e2e[0]['steps']))} "
                  "(prior / decoder / super-res), guidance 4 / 8; batch = prompts × images per prompt, the prompts of "
                  "cpu_compare.py's PROMPTS, seed = the round (one generator per call on both sides). diffusers: "
                  "UnCLIPPipeline as training/generate_reference.py loads it. s/image = a call's seconds ÷ its images.",
                  "",
                  "cores = CPU time ÷ (wall time × threads) over the rounds (below 100 %: that side waited for its cores). "
                  "CPU-time ratio: the same ratio on CPU seconds per call (medians) — at one thread the measure least moved "
                  "by the neighbours (time spent descheduled is not counted; the JVM's compiler and GC threads do count); "
                  "at two, OpenMP's spinning inflates it.",
                  "",
                  "| threads | batch (prompts × images) | unclip4j s/image | diffusers s/image | **diffusers ÷ unclip4j** | "
                  "CPU-time ratio | unclip4j images/s | diffusers images/s | cores (unclip4j; diffusers) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in e2e:
            j, t = per_image(r, "unclip4j"), per_image(r, "torch")
            ratio = f"**{t['median'] / j['median']:.2f}** | {cpu_ratio(r['runs'])}" if t else "— | —"
            lines.append(f"| {r['threads']} | {r['batch']} ({r['prompts']} × {r['images_per_prompt']}) | {fmt_stats(j, digits=3)} | "
                         f"{fmt_stats(t, digits=3)} | {ratio} | {1 / j['median']:.2f} | "
                         + (f"{1 / t['median']:.2f}" if t else "—")
                         + f" | {cores(r['runs']['unclip4j'], r['threads'])}; {cores(r['runs'].get('torch'), r['threads'])} |")
        lines.append("")

    # -- networks
    if nets:
        lines += ["## 2. Karlo's networks, one step, random weights", "",
                  "The prior at batch 2 (77 text tokens), the decoder at batch 2 and 64×64 (81 text tokens), super_res_first "
                  "at batch 1 and 256×256 (../shared/REFERENCE.md, \"Full-size configurations\"; networks_cpu.py's configs "
                  "and weights, the same file read by both sides). GFLOP = the forward's convolutions, linear layers and "
                  "attention products (karlo_shapes.py; checked call for call against diffusers' own calls in the torch "
                  "warm-up: column \"shapes\"). The last round runs with the per-op profiler on both sides (its time is "
                  "one of the runs).", "",
                  "cores = CPU time ÷ (wall time × threads) over the rounds: below 100 %, that side waited for its cores "
                  "(the machine is shared; OpenMP threads spinning at a barrier count as busy); CPU-time ratio as in 1.", "",
                  "| network | threads | GFLOP | unclip4j s | torch s | **torch ÷ unclip4j** | CPU-time ratio | unclip4j GFLOP/s | "
                  "torch GFLOP/s | unclip4j % of FMA peak | rounds | cores (unclip4j; torch) | shapes |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in nets:
            if not r["runs"]:
                continue
            gflop = sum(r["flops"].values()) / 1e9
            j, t = stats([x["s"] for x in r["runs"]["unclip4j"]]), stats([x["s"] for x in r["runs"]["torch"]])
            fma = peak_of(peak, "fma", r["threads"])
            lines.append(f"| {r['network']} | {r['threads']} | {gflop:.1f} | {fmt_stats(j)} | {fmt_stats(t)} | "
                         f"**{t['median'] / j['median']:.2f}** | {cpu_ratio(r['runs'])} | {gflop / j['median']:.1f} | "
                         f"{gflop / t['median']:.1f} | "
                         f"{pct(gflop / j['median'] / fma) if fma else '—'} | {r['repeats']} | "
                         f"{cores(r['runs']['unclip4j'], r['threads'])}; {cores(r['runs']['torch'], r['threads'])} | "
                         f"{'match' if r.get('shapes_checked') else 'MISMATCH'} |")
        lines += ["", "### Where the time goes (the profiled round)", "",
                  "Seconds and share per op family. conv = uc_conv2d / aten::conv2d; linear = uc_linear / aten::linear, "
                  "addmm, mm; attention = uc_attention, uc_attention_added_kv / baddbmm, bmm, softmax; norm = "
                  "uc_group_norm, uc_layer_norm / group_norm, layer_norm; other = every other op and the time between "
                  "ops. Not like for like: unclip4j fuses bias, residual and activation into conv/linear and SiLU + "
                  "scale/shift into the group norm; torch runs those as separate ops (its \"other\").", "",
                  "| network | threads | family | unclip4j s (share) | torch s (share) |", "|---|---|---|---|---|"]
        for r in nets:
            if not r["runs"]:
                continue
            jp, tp = r["runs"]["unclip4j"][-1], r["runs"]["torch"][-1]
            jf = families({"ops": jp["ops"], "profiled_s": jp["s"]})
            tf = families({"families": tp["families"], "ops": tp["ops"], "profiled_s": tp["s"]})
            for fam in networks_cpu.FAMILIES:
                lines.append(f"| {r['network']} | {r['threads']} | {fam} | {jf[fam]:.2f} ({100 * jf[fam] / jp['s']:.0f} %) | "
                             f"{tf[fam]:.2f} ({100 * tf[fam] / tp['s']:.0f} %) |")
        lines.append("")

    # -- kernels
    if kern:
        lines += ["## 3. Kernels at those shapes", "",
                  "Every distinct call of the three networks (karlo_shapes.py), on random inputs: conv 3×3 (stride 1, "
                  "padding 1, bias; unclip4j NHWC, torch the faster of NCHW-contiguous and channels-last on a calibration "
                  "call: column \"torch layout\"), nn.Linear (bias), group norm (32 groups) + SiLU (one fused op in "
                  "unclip4j, F.group_norm then F.silu in torch), attention (unclip4j's fused kernel; torch: diffusers' "
                  "processor between the projections and to_out — heads to batch, text keys before the pixels' for the "
                  "decoder, baddbmm with the additive mask, softmax, bmm, heads back). Conv and linear weights are held "
                  "as the networks hold them: unclip4j's constant, packed for its GEMM by the warm-up call (as at load), "
                  "torch's plain module parameters as diffusers runs them. "
                  "GFLOP/s = FLOPs ÷ median time; "
                  "group norm: GB/s = (one read + one write of the tensor) ÷ time. \"% of limit\" = of the FMA peak "
                  "(conv, linear, attention) or the copy bandwidth (group norm) measured above at the same thread count. "
                  "calls = calls per forward of each network.", ""]
        titles = {"conv": "Conv 3×3 (N×Cin×H×W → Cout)", "linear": "Linear (M×K → N)",
                  "group_norm_silu": "Group norm + SiLU (N×C×HW)", "attention": "Attention"}
        for family, title in titles.items():
            rows = [r for r in kern if r["family"] == family]
            if not rows:
                continue
            rate = "GB/s" if family == "group_norm_silu" else "GFLOP/s"
            lines += [f"### {title}", "",
                      f"| shape | calls | threads | unclip4j ms | torch ms | **torch ÷ unclip4j** | unclip4j {rate} | torch {rate} | "
                      "unclip4j % of limit | torch % of limit |" + (" torch layout |" if family == "conv" else ""),
                      "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if family == "conv" else "")]
            for r in rows:
                j, t = kernel_time(r, "unclip4j"), kernel_time(r, "torch")
                work = r["bytes"] if family == "group_norm_silu" else r["flops"]
                limit = peak_of(peak, "copy" if family == "group_norm_silu" else "fma", r["threads"])
                jr = work / j["median"] / 1e9
                tr = work / t["median"] / 1e9 if t else None
                calls = ", ".join(f"{n} {c}" for n, c in r["calls"].items())
                lines.append(f"| {r['label']} | {calls} | {r['threads']} | {fmt_stats(j, 1e3, 3)} | {fmt_stats(t, 1e3, 3)} | "
                             + (f"**{t['median'] / j['median']:.2f}**" if t else "—") + f" | {jr:.1f} | "
                             + (f"{tr:.1f}" if t else "—") + f" | {pct(jr / limit) if limit else '—'} | "
                             + (pct(tr / limit) if t and limit else "—") + " |"
                             + (f" {r.get('torch_layout', '—')} |" if family == "conv" else ""))
            lines.append("")

    # -- memory
    mem = [("e2e", f"batch up to {max(r['batch'] for r in e2e if r['threads'] == t)}", t,
            next(r for r in e2e if r["threads"] == t).get("peak_rss_mib")) for t in threads if any(r["threads"] == t for r in e2e)]
    mem += [("networks", r["network"], r["threads"], r["peak_rss_mib"]) for r in nets if "peak_rss_mib" in r]
    mem += [("kernels", "every shape in turn", t, next(r for r in kern if r["threads"] == t).get("peak_rss_mib"))
            for t in threads if any(r["threads"] == t for r in kern)]
    if mem:
        lines += ["## 4. Peak resident memory", "",
                  "VmHWM of each side's process (the whole process: runtime, weights, activations), read just before it "
                  "quits. unclip4j maps the weight files, copies each tensor out once and drops its file pages, "
                  "then holds each weight once, packed for its GEMM (the row-major copy's pages handed back: "
                  "uc_weight_release), and a pass's activations in one workspace where each layer's temporaries "
                  "give their memory back when it returns; the torch side reads the weights into its parameters "
                  "and frees each activation when its last use ends.", "",
                  "| part | what | threads | unclip4j MiB | torch MiB |", "|---|---|---|---|---|"]
        for part, what, t, rss in mem:
            rss = rss or {}
            lines.append(f"| {part} | {what} | {t} | {rss.get('unclip4j') or 0:.0f} | "
                         + (f"{rss['torch']:.0f}" if rss.get("torch") else "—") + " |")
        lines.append("")
    lines += [f"Raw results (every run of both sides, the profiles, the calibration calls): `{meta['json']}` beside this file.", ""]
    return "\n".join(lines)


def cpu_ratio(runs):
    """torch's CPU seconds per call over unclip4j's (medians); — where a side's CPU time read 0
    (a call shorter than the clock's tick)."""
    ours = statistics.median(r['cpu_s'] for r in runs['unclip4j'])
    theirs = statistics.median(r['cpu_s'] for r in runs['torch'])
    return f"{theirs / ours:.2f}" if ours > 0 and theirs > 0 else "—"


def cores(runs, threads):
    if not runs:
        return "—"
    return f"{100 * sum(r['cpu_s'] for r in runs) / (sum(r['s'] for r in runs) * threads):.0f} %"


def families(side):
    return networks_cpu.families(side)


# ---- main ----------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="the harness itself, tiny and fast; writes to a temporary folder")
    p.add_argument("--repeats", type=int, help="rounds per measurement (default 3; smoke 1)")
    p.add_argument("--big-repeats", type=int, help="rounds for the super-res net, ~100 s a forward (default 2; smoke 1)")
    p.add_argument("--threads", help="thread counts (default 1,2; smoke 1)")
    p.add_argument("--parts", default=",".join(PARTS), help="which parts (default all: %(default)s)")
    p.add_argument("--max-shapes", type=int, help="kernels: at most this many shapes per family, the largest "
                   "(smoke: 3, the smallest); default every shape")
    p.add_argument("--networks", default=",".join(networks_cpu.CASES),
                   help="which networks the networks part runs (default all: %(default)s)")
    p.add_argument("--dir", help="cache: the networks' random weights, the peak binary (default third_party/karlo-random; "
                   "smoke: a new temporary folder)")
    p.add_argument("--out", help="the results file (default benchmarks/results/cpu-<date>.md, or cpu-<date>-<HHMM>.md "
                                 "when that exists; smoke: a temporary folder)")
    p.add_argument("--malloc", choices=("keep", "default"), default="keep",
                   help="glibc malloc on both sides: keep freed memory (default; see MALLOC_KEEP) or glibc's defaults")
    p.add_argument("--report", metavar="FILE.json", help="only rewrite FILE.md from a run's FILE.json")
    p.add_argument("--command", help=argparse.SUPPRESS)  # the command line as the user typed it (cpu.sh passes it)
    a = p.parse_args()
    if a.report:
        raw = pathlib.Path(a.report)
        data = json.loads(raw.read_text())
        raw.with_suffix(".md").write_text(report(data["meta"], data))
        return
    a.threads_given = a.threads is not None
    a.threads = a.threads or "1,2"
    parts = a.parts.split(",")
    if any(x not in PARTS for x in parts):
        p.error(f"--parts: one of {PARTS}")
    if any(x not in networks_cpu.CASES for x in a.networks.split(",")):
        p.error(f"--networks: one of {tuple(networks_cpu.CASES)}")
    started = datetime.datetime.now(datetime.timezone.utc)
    if a.out:
        out = pathlib.Path(a.out).resolve()
    elif a.smoke:
        out = pathlib.Path(tempfile.mkdtemp(prefix="unclip-cpu-smoke-")) / f"cpu-{started:%Y-%m-%d}-smoke.md"
    else:
        # A second run on the same day gets a name of its own: never write over a recorded run.
        out = ROOT / "benchmarks" / "results" / f"cpu-{started:%Y-%m-%d}.md"
        if out.exists():
            out = out.with_name(f"cpu-{started:%Y-%m-%d-%H%M}.md")
    if a.smoke and (ROOT / "benchmarks" / "results") in out.parents:
        p.error("a smoke run never writes into benchmarks/results")
    out.parent.mkdir(parents=True, exist_ok=True)
    a.out_name = out.name
    if not JAR.exists():
        raise SystemExit(f"{JAR} is missing (benchmarks/compare/cpu.sh builds it)")
    h = Harness(a, out.parent)
    if not a.smoke and (h.torch_reason or h.diffusers_reason):
        raise SystemExit("the full run needs both sides: " + (h.torch_reason or h.diffusers_reason))
    dirty = networks_cpu.git("status", "--porcelain", "--untracked-files=no")
    meta = dict(started=f"{started:%Y-%m-%d %H:%M} UTC", date=f"{started:%Y-%m-%d}", smoke=a.smoke,
                machine=networks_cpu.machine(), commit=networks_cpu.git("rev-parse", "--short", "HEAD")
                + (" (with uncommitted changes)" if dirty else ""), branch=networks_cpu.git("rev-parse", "--abbrev-ref", "HEAD"),
                command=a.command or "benchmarks/compare/cpu_compare.py " + " ".join(sys.argv[1:]),
                load_start=" ".join(open("/proc/loadavg").read().split()[:3]), threads=h.threads, repeats=h.repeats,
                big_repeats=h.big_repeats, kernel_min_s=h.min_s, json=out.with_suffix(".json").name,
                log=str(h.log_path), parts={}, malloc=h.malloc_env or "glibc's defaults")
    log(f"cpu comparison: {', '.join(parts)}; threads {h.threads}; results {out}; children's output in {h.log_path}")
    data = {}
    h.peak = None
    for part in PARTS:
        if part not in parts:
            continue
        log(f"[{part}]")
        t0 = time.time()
        try:
            data[part] = {"peak": part_peak, "e2e": part_e2e, "networks": part_networks, "kernels": part_kernels}[part](h)
            if part == "peak":
                h.peak = data["peak"]
        except (SideError, subprocess.CalledProcessError, OSError, ValueError, KeyError) as e:
            h.errors.append(f"{part}: {type(e).__name__}: {e}")
            log(f"[{part}] FAILED: {e}")
            data[part] = h.results.get(part) or []  # what was measured before it failed
        meta["parts"][part] = dict(seconds=time.time() - t0)
    finished = datetime.datetime.now(datetime.timezone.utc)
    meta.update(finished=f"{finished:%H:%M} UTC", duration_min=(finished - started).total_seconds() / 60,
                load_end=" ".join(open("/proc/loadavg").read().split()[:3]), errors=h.errors, skipped=h.skipped)
    for part in ("e2e", "networks", "kernels"):  # versions, from the first process that said them
        for row in data.get(part) or []:
            ready = row.get("ready") or {}
            if "unclip4j" in ready:
                meta.setdefault("java", ready["unclip4j"].get("java"))
                meta.setdefault("device", ready["unclip4j"].get("device"))
            if "torch" in ready and "torch" not in meta:
                r = ready["torch"]
                meta["torch"] = (f"{r['torch']} (Debian's python3-torch), oneDNN {r['onednn']}, ATen kernels for "
                                 f"{r['cpu_capability']}, BLAS " + ", ".join(pathlib.Path(b).name for b in r["blas"]))
    out.with_suffix(".json").write_text(json.dumps(dict(meta=meta, **data), indent=1) + "\n")
    out.write_text(report(meta, data))
    h.logfile.close()
    log(f"wrote {out} and {out.with_suffix('.json').name} ({meta['duration_min']:.1f} min)")
    for e in h.errors:
        log(f"ERROR: {e}")
    if a.smoke and not a.dir:
        shutil.rmtree(h.cache, ignore_errors=True)
    sys.exit(1 if h.errors else 0)


if __name__ == "__main__":
    main()

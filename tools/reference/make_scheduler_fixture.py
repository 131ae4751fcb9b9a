#!/usr/bin/python3
"""Golden outputs of diffusers v0.20.0's UnCLIPScheduler (schedulers/scheduling_unclip.py), run
itself, for dev.unclip4j.schedule.UnCLIPScheduler.

Configurations (each written by diffusers' own save_config as <name>/scheduler_config.json):
  fsl_eps        fixed_small_log, epsilon, clip_sample 1.0        (a decoder without learned variance)
  lr_eps         learned_range, epsilon, clip_sample 1.0          (Karlo's decoder)
  fsl_sample5    fixed_small_log, sample, clip_sample 5.0         (Karlo's prior)
  fsl_sample_nc  fixed_small_log, sample, no clipping
  lr_eps_nc      learned_range, epsilon, no clipping
  fsl_eps_r2_5   fixed_small_log, epsilon, clip_sample_range 2.5
  lr_sample      learned_range, sample, clip_sample 1.0
  t100           fixed_small_log, epsilon, num_train_timesteps 100

Recorded: betas, alphas and alphas_cumprod for T = 1000 and 100 (<T>.betas ...); the timesteps of
set_timesteps for 2, 7, 13, 25 and 1000 steps (fixture.json; 1 step raises ZeroDivisionError in
diffusers, which the script checks); and whole denoising loops driven as pipeline_unclip.py drives
them: latents = randn(shape, generator) * init_noise_sigma, then for each timestep
step(model_output, t, latents, prev_timestep=<next timestep, None after the last>, generator),
one torch generator for the latents and every step's noise.

The model is a fake that Java computes with the same float32 operations:
  model_output = w * c_t, plus 0.5 * sample added to the first C channels,
  with c_t = float32(t / 1000) and w a fixed seeded tensor with C (2C for learned_range) channels,
  its variance half in [-0.9, 0.9] (learned_range takes the second C channels as v in [-1, 1]).
Tensors are stored channels last (NHWC; [N, C] for prior-like shapes) as the Java side holds them:
<loop>.w, and <loop>.trajectory [steps + 1, ...] (the latents before each step, then the result),
or <loop>.final alone for the 1000-step loop.

Run from the repository root, with the sources of diffusers v0.20.0 and huggingface_hub v0.16.4 in
third_party/src/ (gitignored) or on PYTHONPATH:
    /usr/bin/python3 tools/reference/make_scheduler_fixture.py
"""
import json
import pathlib
import platform
import subprocess
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parents[1] / "third_party" / "src"))
import safetensors_lite  # noqa: E402

sys.modules.setdefault("safetensors", safetensors_lite)  # diffusers imports it; the scheduler never calls it
import diffusers  # noqa: E402
from diffusers import UnCLIPScheduler  # noqa: E402

OUT = HERE.parents[1] / "java/src/test/resources/fixtures/unclip_scheduler"

CONFIGS = {
    "fsl_eps": dict(variance_type="fixed_small_log", prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0),
    "lr_eps": dict(variance_type="learned_range", prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0),
    "fsl_sample5": dict(variance_type="fixed_small_log", prediction_type="sample", clip_sample=True, clip_sample_range=5.0),
    "fsl_sample_nc": dict(variance_type="fixed_small_log", prediction_type="sample", clip_sample=False),
    "lr_eps_nc": dict(variance_type="learned_range", prediction_type="epsilon", clip_sample=False),
    "fsl_eps_r2_5": dict(variance_type="fixed_small_log", prediction_type="epsilon", clip_sample=True,
                         clip_sample_range=2.5),
    "lr_sample": dict(variance_type="learned_range", prediction_type="sample", clip_sample=True, clip_sample_range=1.0),
    "t100": dict(variance_type="fixed_small_log", prediction_type="epsilon", num_train_timesteps=100),
}

# (name, config, steps, NCHW shape ([N, C] for prior-like), seed, keep the whole trajectory)
LOOPS = [
    ("prior_karlo", "fsl_sample5", 25, [2, 32], 0, True),
    ("decoder_karlo", "lr_eps", 25, [2, 3, 5, 4], 1, True),
    ("decoder_fsl", "fsl_eps", 7, [1, 3, 8, 8], 42, True),
    ("scalar_noise", "fsl_sample_nc", 13, [1, 7], 2 ** 32 + 5, True),
    ("lr_noclip", "lr_eps_nc", 2, [3, 2, 3, 3], 2 ** 63 - 25, True),
    ("range2_5", "fsl_eps_r2_5", 13, [1, 3, 4, 5], 7, True),
    ("lr_sample", "lr_sample", 7, [1, 2, 3, 3], 11, True),
    ("superres_like", "fsl_sample_nc", 7, [1, 3, 16, 16], 3, True),
    ("t100", "t100", 13, [2, 5], 5, True),
    ("consecutive_1000", "fsl_sample5", 1000, [1, 3], 9, False),
]


def nhwc(x):
    return x.permute(0, *range(2, x.dim()), 1).contiguous() if x.dim() > 2 else x.contiguous()


def fake_model(sample, t, w):
    c = torch.tensor(int(t) / 1000.0, dtype=torch.float32)
    out = w * c
    out[:, :sample.shape[1]] += 0.5 * sample
    return out


def run_loop(sched, steps, shape, seed):
    sched.set_timesteps(steps)
    ts = sched.timesteps
    learned = sched.config.variance_type == "learned_range"
    wshape = [shape[0], shape[1] * (2 if learned else 1), *shape[2:]]
    w = torch.from_numpy(np.random.default_rng(seed % 2 ** 32).uniform(-0.9, 0.9, wshape).astype(np.float32))
    g = torch.Generator().manual_seed(seed)
    latents = torch.randn(shape, generator=g, dtype=torch.float32) * sched.init_noise_sigma
    trajectory = [latents]
    for i, t in enumerate(ts):
        prev = None if i + 1 == ts.shape[0] else ts[i + 1]
        latents = sched.step(fake_model(latents, t, w), t, latents, prev_timestep=prev, generator=g).prev_sample
        trajectory.append(latents)
    return w, trajectory


def debian_version(package):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return f"Debian {package} {r.stdout}" if r.returncode == 0 else "not a Debian package"


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    tensors, schedulers = {}, {}
    for name, kw in CONFIGS.items():
        s = UnCLIPScheduler(**kw)
        s.save_config(OUT / name)
        schedulers[name] = s
    for name in ("fsl_eps", "t100"):
        s = schedulers[name]
        T = s.config.num_train_timesteps
        tensors[f"{T}.betas"] = s.betas
        tensors[f"{T}.alphas"] = s.alphas
        tensors[f"{T}.alphas_cumprod"] = s.alphas_cumprod
    timesteps = {}
    for name in ("fsl_eps", "t100"):
        s = schedulers[name]
        T = s.config.num_train_timesteps
        timesteps[str(T)] = {}
        for n in (2, 7, 13, 25, 100, 1000):
            if n <= T:
                s.set_timesteps(n)
                timesteps[str(T)][str(n)] = [int(t) for t in s.timesteps]
        try:
            s.set_timesteps(1)
            raise SystemExit("set_timesteps(1) no longer raises: update UnCLIPScheduler.setTimesteps")
        except ZeroDivisionError:
            pass
    loops = []
    for name, cfg, steps, shape, seed, keep in LOOPS:
        w, traj = run_loop(schedulers[cfg], steps, shape, seed)
        tensors[f"{name}.w"] = nhwc(w)
        if keep:
            tensors[f"{name}.trajectory"] = torch.stack([nhwc(x) for x in traj])
        else:
            tensors[f"{name}.final"] = nhwc(traj[-1])
        loops.append({"name": name, "config": cfg, "steps": steps, "shape_nchw": shape, "seed": str(seed),
                      "stored": "trajectory" if keep else "final"})
    safetensors_lite.save(tensors, OUT / "scheduler.safetensors", {"producer": "tools/reference/make_scheduler_fixture.py"})
    capability = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    meta = {
        "script": "tools/reference/make_scheduler_fixture.py",
        "reference": f"diffusers {diffusers.__version__} UnCLIPScheduler (schedulers/scheduling_unclip.py), run itself",
        "torch": torch.__version__, "torch_package": debian_version("python3-torch"), "numpy": np.__version__,
        "python": sys.version.split()[0], "platform": platform.platform(),
        "torch_cpu_capability": capability[0] if capability else "unknown",
        "fake_model": "w * float32(t / 1000), plus 0.5 * sample on the first C channels",
        "set_timesteps_1": "ZeroDivisionError",
        "timesteps": timesteps,
        "loops": loops,
    }
    (OUT / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""How far diffusers moves from its own pipeline fixtures when nothing but the arithmetic changes.

make_pipeline_fixture.py records every case once: reference BLAS, one torch thread, oneDNN
convolutions. Each variant below reruns the same script, the same calls and seeds, into a scratch
folder with one legitimate change (another thread count, another BLAS, another convolution back end),
and this script measures every case's distance to the recording with PipelineParityTest's own
measures: relative L2 of the image embeddings and of the decoder and super-resolution latents, the
largest difference of the 8-bit images, and the share of 8-bit values more than 2/255 apart.

The few-step guided chains of the fixtures amplify last-bit differences (at t = 999 epsilon
prediction multiplies the predicted noise by 1/sqrt(alpha_bar) ~ 2e4 before the clamp, and guidance
multiplies it again), so the reference's own spread, not float32 round-off, sets what a test can ask
of any other implementation. The result, java/src/test/resources/fixtures/pipeline/reference_spread.json,
is what PipelineParityTest's bounds are made from.

Run from the repository root, with make_pipeline_fixture.py's third-party sources in place and Debian's
OpenBLAS extracted under third_party/openblas (benchmarks/compare/pipeline_cpu.sh does that):
    /usr/bin/python3 tools/reference/pipeline_spread.py
"""
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import safetensors_lite  # noqa: E402

FIXTURES = ROOT / "java" / "src" / "test" / "resources" / "fixtures" / "pipeline"
OPENBLAS = ROOT / "third_party" / "openblas" / "root" / "usr" / "lib" / "x86_64-linux-gnu" / "openblas-pthread"
IMAGE_BOUND = 2  # /255: PipelineParityTest counts the values further apart than this

# name -> (what changes, environment). Each changes one thing against the recording.
VARIANTS = {
    "threads_2": ("2 torch threads instead of 1", {"UNCLIP_REFERENCE_THREADS": "2"}),
    "threads_3": ("3 torch threads instead of 1", {"UNCLIP_REFERENCE_THREADS": "3"}),
    "openblas": ("OpenBLAS 0.3.21 (Debian's libopenblas0-pthread) instead of the reference BLAS, 1 thread",
                 {"LD_LIBRARY_PATH": str(OPENBLAS), "OPENBLAS_NUM_THREADS": "1"}),
    "no_onednn": ("torch's own convolutions (torch.backends.mkldnn.enabled = False) instead of oneDNN's",
                  {"UNCLIP_REFERENCE_MKLDNN": "0"}),
}


def rel_l2(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def distance(variant_io, recorded_io):
    got, ref = safetensors_lite.load(variant_io), safetensors_lite.load(recorded_io)
    d = {k: rel_l2(got[k], ref[k]) for k in ("image_embeddings", "decoder_latents", "super_res_latents") if k in ref}
    diff = np.abs(got["images"].astype(np.int32) - ref["images"].astype(np.int32))
    d["images_max"] = int(diff.max())
    d["images_over_share"] = float((diff > IMAGE_BOUND).sum() / diff.size)
    return d


def main():
    if not (OPENBLAS / "libblas.so.3").exists():
        sys.exit(f"{OPENBLAS}/libblas.so.3 is missing: run benchmarks/compare/pipeline_cpu.sh once, it extracts it")
    cases = sorted(d.name for d in FIXTURES.iterdir() if (d / "case.json").exists())
    result = {"script": "tools/reference/pipeline_spread.py", "date": datetime.date.today().isoformat(),
              "recording": "make_pipeline_fixture.py as committed: reference BLAS, 1 torch thread, oneDNN convolutions",
              "image_bound": IMAGE_BOUND, "variants": {}, "max": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for name, (what, env) in VARIANTS.items():
            out = pathlib.Path(scratch) / name
            print(f"{name}: {what}", flush=True)
            run = subprocess.run([sys.executable, str(ROOT / "tools" / "reference" / "make_pipeline_fixture.py")],
                                 env={**os.environ, **env, "UNCLIP_FIXTURE_OUT": str(out)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if run.returncode != 0:
                sys.exit(f"make_pipeline_fixture.py failed for variant {name} (exit {run.returncode}):\n"
                         + "\n".join(run.stderr.splitlines()[-20:]))
            blas = json.loads((out / "fixture.json").read_text())["blas_library"]
            per_case = {c: distance(out / c / "io.safetensors", FIXTURES / c / "io.safetensors") for c in cases}
            result["variants"][name] = {"change": what, "blas_library": blas, "cases": per_case}
            for c, d in per_case.items():
                worst = result["max"].setdefault(c, {})
                for k, v in d.items():
                    worst[k] = max(worst.get(k, 0), v)
                print(f"  {c}: {d}", flush=True)
    path = FIXTURES / "reference_spread.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

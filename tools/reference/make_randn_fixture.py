#!/usr/bin/python3
"""Golden values of torch.randn(shape, generator=torch.Generator().manual_seed(seed)) on the CPU
in float32, for dev.unclip4j.schedule.TorchGenerator.

Each case is one generator, manual_seed(seed), then one or more draws in sequence (as diffusers
draws the prior latents, each step's noise, the decoder latents ... from one generator):

  - sizes around torch's two paths: fewer than 16 values go through at::normal_distribution<double>
    one at a time (with its cached second value, which survives into the next draw), 16 or more
    through normal_fill (Box-Muller on blocks of 16, a tail redone on the last 16): 1, 2, 15, 16,
    17, 31, 33, 48, 100, 1000, image shapes;
  - seeds 0, 1, 42, 5 and 2**32 + 5 (the engine takes the low 32 bits: one stream), a 63-bit seed,
    a negative one (torch stores its 64-bit two's complement);
  - sequences mixing both paths on one generator.

A draw is stored whole (<case>.<k>, float32, flattened) unless it has more than 30000 values;
then 2000 seeded indices (<case>.<k>.idx, int64), their values (<case>.<k>.val) and the CRC-32 of
all its float32 little-endian bytes (fixture.json) are stored, keeping the file small.
fixture.json also records torch's CPU capability: its AVX2 kernel is the one reproduced.

Run from the repository root: /usr/bin/python3 tools/reference/make_randn_fixture.py
"""
import json
import pathlib
import platform
import subprocess
import sys
import zlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import safetensors_lite  # noqa: E402

OUT = HERE.parents[1] / "java/src/test/resources/fixtures/randn"
FULL_LIMIT = 30000
SUBSET = 2000

# (name, seed, [shape of each draw, in order])
CASES = [
    ("n1_s0", 0, [[1]]),
    ("n2_s1", 1, [[2]]),
    ("n15_s42", 42, [[15]]),
    ("n3x5_s0", 0, [[3, 5]]),
    ("n16_s0", 0, [[16]]),
    ("n16_s42", 42, [[4, 4]]),
    ("n17_s0", 0, [[17]]),
    ("n17_s1", 1, [[17]]),
    ("n31_s42", 42, [[31]]),
    ("n33_s0", 0, [[33]]),
    ("n48_s1", 1, [[3, 16]]),
    ("n100_s42", 42, [[100]]),
    ("n1000_s0", 0, [[1000]]),
    ("prior_1x768_s0", 0, [[1, 768]]),
    ("s5", 5, [[17], [3]]),
    ("s2pow32plus5", 2 ** 32 + 5, [[17], [3]]),
    ("s63bit", 2 ** 63 - 25, [[33], [7]]),
    ("s_negative", -3, [[2, 9], [1]]),
    ("img_2x3x64x64_s0", 0, [[2, 3, 64, 64]]),
    ("img_1x3x64x64_s42", 42, [[1, 3, 64, 64]]),
    ("img_1x3x256x256_s1", 1, [[1, 3, 256, 256]]),
    # sequences on one generator
    ("seq_17_5_3x64x64_s0", 0, [[17], [5], [3, 64, 64]]),
    ("seq_scalar_cache_s42", 42, [[1], [1], [1], [16], [1], [3], [1]]),
    ("seq_mixed_s2pow32plus5", 2 ** 32 + 5, [[3], [2, 8], [7], [33], [1, 2, 3, 3], [15]]),
    ("seq_prior_steps_s1", 1, [[2, 32]] * 6),
]


def debian_version(package):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return f"Debian {package} {r.stdout}" if r.returncode == 0 else "not a Debian package"


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    tensors, cases = {}, []
    for name, seed, shapes in CASES:
        g = torch.Generator().manual_seed(seed)
        draws = []
        for k, shape in enumerate(shapes):
            x = torch.randn(shape, generator=g, dtype=torch.float32).reshape(-1).numpy()
            key = f"{name}.{k}"
            d = {"shape": shape, "count": int(x.size), "crc32": zlib.crc32(x.astype("<f4").tobytes())}
            if x.size <= FULL_LIMIT:
                tensors[key] = x
                d["stored"] = "full"
            else:
                idx = np.sort(np.random.default_rng(x.size + k).choice(x.size, SUBSET, replace=False)).astype(np.int64)
                tensors[key + ".idx"] = idx
                tensors[key + ".val"] = x[idx]
                d["stored"] = "subset"
            draws.append(d)
        cases.append({"name": name, "seed": str(seed), "draws": draws})
    safetensors_lite.save(tensors, OUT / "randn.safetensors", {"producer": "tools/reference/make_randn_fixture.py"})
    capability = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    meta = {
        "script": "tools/reference/make_randn_fixture.py",
        "reference": "torch.randn(shape, generator=torch.Generator().manual_seed(seed)), CPU, float32",
        "torch": torch.__version__, "torch_package": debian_version("python3-torch"), "numpy": np.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "torch_cpu_capability": capability[0] if capability else "unknown",
        "note": "seeds are decimal strings (they exceed 53 bits); crc32 is over all float32 little-endian bytes",
        "cases": cases,
    }
    (OUT / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {OUT} ({total / 1e3:.0f} kB, {len(cases)} cases)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Golden fixture for uc_resize_bicubic_aa from real torch.

Writes java/src/test/resources/fixtures/resize_bicubic_aa.safetensors: for each case an input
`<case>.x` and torch's F.interpolate(x, size=(OH, OW), mode="bicubic", align_corners=False,
antialias=True) as `<case>.out`, both float32 NHWC (torch computes on NCHW; the tensors are
permuted before saving). The cases: Karlo's super-resolution input (64 -> 256 up, 3 channels),
an odd-sized down-scale with batch 2, and a mixed case (down along H, up along W).

Run with Debian's torch (python3-torch 1.13, /usr/bin/python3, no GPU needed):
    /usr/bin/python3 tools/reference/make_resize_fixture.py
The safetensors header's __metadata__ records the torch version, thread count and this script.
"""
import json
import os
import platform
import struct
import sys

import torch
import torch.nn.functional as F

CASES = [
    # name, (N, C, H, W), (OH, OW), seed
    ("up_64_256", (1, 3, 64, 64), (256, 256), 1),
    ("down_odd", (2, 3, 37, 45), (16, 17), 2),
    ("mixed", (1, 4, 20, 9), (7, 30), 3),
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "java", "src", "test", "resources", "fixtures", "resize_bicubic_aa.safetensors")
    tensors = []
    for name, shape, size, seed in CASES:
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1
        out = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)
        tensors.append((name + ".x", x.permute(0, 2, 3, 1).contiguous()))
        tensors.append((name + ".out", out.permute(0, 2, 3, 1).contiguous()))
    header, blobs, offset = {}, [], 0
    for key, t in tensors:
        data = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {
        "script": "tools/reference/make_resize_fixture.py",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": str(torch.get_num_threads()),
        "machine": platform.machine(),
        "op": "F.interpolate(mode='bicubic', align_corners=False, antialias=True), NCHW in torch, saved NHWC",
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    print(path, offset + 8 + len(text), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()

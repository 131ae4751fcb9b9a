#!/usr/bin/python3
"""Random resizes through Pillow, for a larger check of dev.unclip4j.image.PillowResample than the
committed preprocessing fixture (the output is not committed; it is reproducible from the seed).

Each case: a random image (1–159 px a side; L, LA, RGB or RGBA; random or saturated 0/255 samples
to exercise clipping), a random target size (an axis kept 20% of the time), a random filter
(0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING). RGBA/LA images are given
premultiplied (RGBa/La, as Image.resize converts them) so the resampler itself is compared.
Binary little-endian output: count, then per case 7 int32 (w, h, out_w, out_h, filter, bands, 0),
the input samples and Pillow's output samples.

    /usr/bin/python3 tools/reference/fuzz_resize.py SEED COUNT /tmp/pillow_resize_fuzz.bin
    ./test -Dunclip.cuda=OFF -Dtest=PillowResampleFuzzTest -Dunclip.resize.fuzz=/tmp/pillow_resize_fuzz.bin
"""
import struct
import sys

import numpy as np
from PIL import Image


def main():
    rng = np.random.default_rng(int(sys.argv[1]))
    n = int(sys.argv[2])
    with open(sys.argv[3], "wb") as out:
        out.write(struct.pack("<i", n))
        for _ in range(n):
            w, h = int(rng.integers(1, 160)), int(rng.integers(1, 160))
            ow, oh = int(rng.integers(1, 160)), int(rng.integers(1, 160))
            if rng.random() < 0.2:
                ow = w
            if rng.random() < 0.2:
                oh = h
            f = int(rng.choice([0, 1, 2, 3, 4, 5]))
            mode = str(rng.choice(["RGB", "RGBA", "L", "LA"]))
            bands = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
            a = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
            if rng.random() < 0.5:
                a = (a > 127).astype(np.uint8) * 255
            img = Image.fromarray(a[..., 0] if bands == 1 else a, mode)
            if mode in ("RGBA", "LA") and f != 0:
                img = img.convert({"RGBA": "RGBa", "LA": "La"}[mode])
                pre = np.asarray(img).reshape(h, w, -1)
                if mode == "LA" and pre.shape[-1] == 4:
                    pre = pre[..., [0, 3]]
                a = np.ascontiguousarray(pre.reshape(h, w, bands))
            r = np.asarray(img.resize((ow, oh), resample=f, reducing_gap=None)).reshape(oh, ow, -1)
            if mode == "LA" and r.shape[-1] == 4:
                r = r[..., [0, 3]]
            r = np.ascontiguousarray(r.reshape(oh, ow, bands))
            out.write(struct.pack("<7i", w, h, ow, oh, f, bands, 0))
            out.write(a.tobytes())
            out.write(r.tobytes())
    print(f"{n} cases -> {sys.argv[3]}")


if __name__ == "__main__":
    main()

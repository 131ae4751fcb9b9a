#!/usr/bin/python3
"""Golden outputs of Hugging Face's CLIPImageProcessor for the Java ClipImageProcessor test.

transformers is not installed here, so its few preprocessing steps are reproduced below from
transformers' image_processing_clip.py / image_transforms.py (v4.3x semantics); the resampling
itself is Pillow's own (Image.resize, BICUBIC, reducing_gap=None), which is what the Java port
must match bit for bit:

  1. convert_rgb: PIL.Image.convert("RGB") (RGBA: alpha dropped; L: replicated)
  2. resize: get_resize_output_image_size(default_to_square=False): the shortest side to
     size["shortest_edge"], the other int(shortest_edge * long / short); Pillow resize
  3. center_crop: top = (h - crop_h) // 2, left = (w - crop_w) // 2 (zero padding when smaller)
  4. rescale: (uint8 as float64 * rescale_factor) as float32
  5. normalize: (x - float32(mean)) / float32(std) in float32, channels last

Pillow's resized images are stored as <image>.<config>.resized.png, the float pixel values in
expected.safetensors. The same images also go through openai/CLIP's own transform (clip/clip.py _transform: torchvision
Resize(n_px, BICUBIC), CenterCrop(n_px), convert("RGB"), ToTensor, Normalize) at n_px 40 and 27,
the reference for dev.unclip4j.image.OpenAiClipTransform (config "openai<n_px>").

Inputs are small generated PNGs (odd sizes, up- and down-scaling, grayscale, gray+alpha, RGBA,
a palette image), written next to the outputs under java/src/test/resources/fixtures/preprocess/.

Run from the repository root: /usr/bin/python3 tools/reference/make_preprocess_fixture.py
"""
import json
import pathlib
import platform
import sys

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import safetensors_lite  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "java/src/test/resources/fixtures/preprocess"

CONFIGS = {
    # CLIP's real settings (mean/std, bicubic, 1/255) at a small size.
    "clip64": {"do_convert_rgb": True, "do_resize": True, "size": {"shortest_edge": 64}, "resample": 3,
               "do_center_crop": True, "crop_size": {"height": 64, "width": 64}, "do_rescale": True,
               "rescale_factor": 0.00392156862745098, "do_normalize": True,
               "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
               "image_processor_type": "CLIPImageProcessor"},
    # An odd crop inside an odd resize: crop offsets that floor.
    "odd": {"do_convert_rgb": True, "do_resize": True, "size": {"shortest_edge": 45}, "resample": 3,
            "do_center_crop": True, "crop_size": {"height": 38, "width": 41}, "do_rescale": True,
            "rescale_factor": 0.00392156862745098, "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "image_processor_type": "CLIPImageProcessor"},
}


FLOATS_KEPT = ("rgb_97x150_down", "rgba_61x90")


def make_images(rng):
    def rgb(w, h):
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        base = np.stack([127 + 120 * np.sin(x / (3 + w / 9) + c) * np.cos(y / (2 + h / 7) - c) for c in (0.0, 1.3, 2.6)], -1)
        noise = rng.normal(0, 12, size=(h, w, 3))
        edges = ((x // 7 + y // 5) % 2)[..., None] * 60 - 30
        return np.clip(base + noise + edges, 0, 255).astype(np.uint8)

    images = {
        "rgb_97x150_down": Image.fromarray(rgb(150, 97), "RGB"),
        "rgb_37x50_up": Image.fromarray(rgb(50, 37), "RGB"),
        "rgb_64x64_same": Image.fromarray(rgb(64, 64), "RGB"),
        "rgb_197x131_far_down": Image.fromarray(rgb(131, 197), "RGB"),
        "rgb_64x200_one_axis": Image.fromarray(rgb(200, 64), "RGB"),
        "gray_70x45": Image.fromarray(rgb(45, 70)[..., 1], "L"),
        "rgba_61x90": Image.fromarray(np.concatenate([rgb(90, 61), rng.integers(0, 256, (61, 90, 1), dtype=np.uint8)], -1), "RGBA"),
        "palette_33x29": Image.fromarray(rgb(29, 33), "RGB").quantize(colors=17),
        "tiny_3x5": Image.fromarray(rgb(5, 3), "RGB"),
        "la_41x52": Image.fromarray(np.concatenate([rgb(52, 41)[..., :1], rng.integers(0, 256, (41, 52, 1), dtype=np.uint8)],
                                                   -1), "LA"),
    }
    return images


def resize_output_size(h, w, shortest_edge):
    """transformers get_resize_output_image_size(size=shortest_edge, default_to_square=False) -> (h, w)."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def center_crop(a, crop_h, crop_w):
    """transformers image_transforms.center_crop on an HWC array."""
    h, w = a.shape[:2]
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    bottom, right = top + crop_h, left + crop_w
    if top >= 0 and bottom <= h and left >= 0 and right <= w:
        return a[top:bottom, left:right]
    nh, nw = max(crop_h, h), max(crop_w, w)
    padded = np.zeros((nh, nw) + a.shape[2:], dtype=a.dtype)
    tp, lp = int(np.ceil((nh - h) / 2)), int(np.ceil((nw - w) / 2))
    padded[tp:tp + h, lp:lp + w] = a
    top, bottom, left, right = top + tp, bottom + tp, left + lp, right + lp
    return padded[max(0, top):min(nh, bottom), max(0, left):min(nw, right)]


def process(img, cfg):
    img = img.convert("RGB")
    h, w = img.height, img.width
    nh, nw = resize_output_size(h, w, cfg["size"]["shortest_edge"])
    resized = np.asarray(img.resize((nw, nh), resample=cfg["resample"], reducing_gap=None))
    cropped = center_crop(resized, cfg["crop_size"]["height"], cfg["crop_size"]["width"])
    x = (cropped.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
    mean = np.array(cfg["image_mean"], dtype=np.float32)
    std = np.array(cfg["image_std"], dtype=np.float32)
    return resized, ((x - mean) / std).astype(np.float32)


OPENAI_SIZES = (40, 27)


def openai_transform(n_px):
    """openai/CLIP clip/clip.py _transform(n_px), verbatim apart from the import of BICUBIC."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    return Compose([
        Resize(n_px, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n_px),
        lambda image: image.convert("RGB"),
        ToTensor(),
        Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261123)
    images = make_images(rng)
    tensors, cases = {}, []
    for name, img in images.items():
        img.save(OUT / f"{name}.png")
        reread = Image.open(OUT / f"{name}.png")
        assert reread.mode == img.mode, (reread.mode, img.mode)
        for cname, cfg in CONFIGS.items():
            resized, pixels = process(reread, cfg)
            # Pillow's resized bytes, losslessly as PNG (the Java safetensors reader takes no U8).
            Image.fromarray(resized, "RGB").save(OUT / f"{name}.{cname}.resized.png")
            # The normalised floats are kept for every image under "odd" and two under "clip64" (size).
            if cname == "odd" or name in FLOATS_KEPT:
                tensors[f"{name}/{cname}/pixel_values_nhwc"] = pixels[None]
            cases.append({"image": f"{name}.png", "mode": img.mode, "width": img.width, "height": img.height,
                          "config": cname, "resized_hw": list(resized.shape[:2]), "pixels_hw": list(pixels.shape[:2])})
        # openai/CLIP's own torchvision transform (resize in the image's mode, then RGB).
        for n_px in OPENAI_SIZES:
            x = openai_transform(n_px)(reread)
            tensors[f"{name}/openai{n_px}/pixel_values_nhwc"] = x.permute(1, 2, 0).contiguous().numpy()[None]
            cases.append({"image": f"{name}.png", "mode": img.mode, "width": img.width, "height": img.height,
                          "config": f"openai{n_px}", "openai_n_px": n_px})
    safetensors_lite.save(tensors, OUT / "expected.safetensors")
    for cname, cfg in CONFIGS.items():
        (OUT / f"preprocessor_config_{cname}.json").write_text(json.dumps(cfg, indent=2) + "\n")
    meta = {
        "script": "tools/reference/make_preprocess_fixture.py",
        "reference": "Pillow Image.resize (BICUBIC, reducing_gap=None) + transformers CLIPImageProcessor steps "
                     "reproduced in numpy (see the script)",
        "openai_transform": "openai/CLIP clip/clip.py _transform(n_px) with torchvision " + __import__("torchvision").__version__,
        "pillow": PIL.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cases": cases,
    }
    (OUT / "fixture.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()

"""CLIPImageProcessor (our code): RGB, resize shortest edge (PIL, resample from config), centre crop,
rescale by 1/255, normalise with image_mean/image_std; returns pixel_values [B, 3, H, W] float32."""
import json
import os

import numpy as np
import torch
from PIL import Image

from ...image_processing_utils import BatchFeature, ImageProcessingMixin

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class CLIPImageProcessor(ImageProcessingMixin):
    def __init__(self, do_resize=True, size=None, resample=3, do_center_crop=True, crop_size=None, do_rescale=True,
                 rescale_factor=1 / 255, do_normalize=True, image_mean=None, image_std=None, do_convert_rgb=True,
                 **kwargs):
        self.do_resize, self.resample = do_resize, resample
        self.size = size or {"shortest_edge": 224}
        self.do_center_crop = do_center_crop
        self.crop_size = crop_size or {"height": 224, "width": 224}
        self.do_rescale, self.rescale_factor = do_rescale, rescale_factor
        self.do_normalize = do_normalize
        self.image_mean = image_mean or CLIP_MEAN
        self.image_std = image_std or CLIP_STD
        self.do_convert_rgb = do_convert_rgb

    def to_dict(self):
        return {"do_resize": self.do_resize, "size": self.size, "resample": self.resample,
                "do_center_crop": self.do_center_crop, "crop_size": self.crop_size, "do_rescale": self.do_rescale,
                "rescale_factor": self.rescale_factor, "do_normalize": self.do_normalize,
                "image_mean": self.image_mean, "image_std": self.image_std, "do_convert_rgb": self.do_convert_rgb,
                "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor"}

    def _one(self, img):
        if not isinstance(img, Image.Image):
            a = np.asarray(img)
            img = Image.fromarray(a if a.dtype == np.uint8 else (np.clip(a, 0, 1) * 255).round().astype(np.uint8))
        if self.do_convert_rgb:
            img = img.convert("RGB")
        if self.do_resize:
            s = self.size["shortest_edge"]
            w, h = img.size
            if w <= h:
                nw, nh = s, int(s * h / w)
            else:
                nw, nh = int(s * w / h), s
            img = img.resize((nw, nh), resample=self.resample)
        a = np.asarray(img).astype(np.float32)
        if self.do_center_crop:
            ch, cw = self.crop_size["height"], self.crop_size["width"]
            H, W = a.shape[:2]
            top, left = (H - ch) // 2, (W - cw) // 2
            a = a[top:top + ch, left:left + cw]
        if self.do_rescale:
            a = a * self.rescale_factor
        if self.do_normalize:
            a = (a - np.array(self.image_mean, np.float32)) / np.array(self.image_std, np.float32)
        return a.transpose(2, 0, 1)

    def __call__(self, images, return_tensors=None, **kwargs):
        if not isinstance(images, (list, tuple)):
            images = [images]
        pv = np.stack([self._one(i) for i in images]).astype(np.float32)
        return BatchFeature({"pixel_values": torch.from_numpy(pv) if return_tensors == "pt" else pv})

    @classmethod
    def from_pretrained(cls, path, subfolder=None, **kwargs):
        d = os.path.join(path, subfolder) if subfolder else path
        with open(os.path.join(d, "preprocessor_config.json")) as f:
            cfg = json.load(f)
        return cls(**cfg)

    def save_pretrained(self, save_directory, **kwargs):
        os.makedirs(save_directory, exist_ok=True)
        with open(os.path.join(save_directory, "preprocessor_config.json"), "w") as f:
            json.dump(self.to_dict(), f, indent=2)
        return (save_directory,)


CLIPFeatureExtractor = CLIPImageProcessor

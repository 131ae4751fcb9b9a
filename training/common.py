"""Shared pieces of the tiny unCLIP: paths, component configs, the BPE learner, data banks, schedules."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "shims"))
sys.path.insert(0, os.path.join(ROOT, "third_party", "src"))
sys.path.insert(0, HERE)
import transformers_shim  # noqa: E402,F401  (registers itself as `transformers`, before diffusers looks)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

import dataset as ds  # noqa: E402

RUNS = os.path.join(HERE, os.environ.get("UNCLIP_RUNS", "runs"))  # gitignored checkpoints
MODEL_DIR = os.path.join(ROOT, "models", "unclip-shapes-tiny")

CONTEXT = 32          # tokenizer model_max_length = text max_position_embeddings
PAD_TOKEN = "!"       # as Karlo: pad with "!" (id 0); attention masks exclude pads
DEC_SIZE = 32         # decoder resolution
SR_SIZE = 128         # super-resolution output
CLIP_SIZE = 64        # CLIP vision input
EMB = 128             # CLIP projection dim = text width (text_proj and the prior need them equal, as in Karlo)

TEXT_CFG = dict(hidden_size=EMB, intermediate_size=4 * EMB, projection_dim=EMB, num_hidden_layers=3,
                num_attention_heads=4, max_position_embeddings=CONTEXT, hidden_act="quick_gelu", layer_norm_eps=1e-5)
VISION_CFG = dict(hidden_size=128, intermediate_size=512, projection_dim=EMB, num_hidden_layers=3,
                  num_attention_heads=4, image_size=CLIP_SIZE, patch_size=8, num_channels=3, hidden_act="quick_gelu",
                  layer_norm_eps=1e-5)
PRIOR_CFG = dict(num_attention_heads=4, attention_head_dim=32, num_layers=4, embedding_dim=EMB,
                 num_embeddings=CONTEXT, additional_embeddings=4, dropout=0.0)
DEC_BLOCKS = (32, 64, 128)
DECODER_CFG = dict(
    sample_size=DEC_SIZE, in_channels=3, out_channels=6, layers_per_block=1, block_out_channels=DEC_BLOCKS,
    # cross-attention at 16x16 and 8x8 (and the mid block); 16x16 costs 12 % more per training step on this CPU
    down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"),
    up_block_types=("SimpleCrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
    mid_block_type="UNetMidBlock2DSimpleCrossAttn", attention_head_dim=32, cross_attention_dim=128,
    class_embed_type="identity", resnet_time_scale_shift="scale_shift", norm_num_groups=16, act_fn="silu",
    flip_sin_to_cos=True, freq_shift=0)
TEXT_PROJ_CFG = dict(clip_extra_context_tokens=4, clip_embeddings_dim=EMB, time_embed_dim=4 * DEC_BLOCKS[0],
                     cross_attention_dim=128)
SR_CFG = dict(sample_size=SR_SIZE, in_channels=6, out_channels=3, layers_per_block=1, block_out_channels=(32, 64, 64),
              down_block_types=("ResnetDownsampleBlock2D",) * 3, up_block_types=("ResnetUpsampleBlock2D",) * 3,
              add_attention=False, resnet_time_scale_shift="scale_shift", norm_num_groups=16, act_fn="silu",
              flip_sin_to_cos=True, freq_shift=0, attention_head_dim=None)
# Schedulers as in Karlo's folder
PRIOR_SCHED = dict(variance_type="fixed_small_log", prediction_type="sample", clip_sample=True, clip_sample_range=5.0,
                   num_train_timesteps=1000)
DECODER_SCHED = dict(variance_type="learned_range", prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0,
                     num_train_timesteps=1000)
# Karlo's super-res predicts the noise; ours predicts the image ("sample", which UnCLIPScheduler supports as it
# does for the prior): with 7 steps, a small epsilon model's low-frequency errors at high noise shifted whole
# backgrounds towards grey (training/README.md), while an image-predicting model starts from its input's colours.
SR_SCHED = dict(variance_type="fixed_small_log", prediction_type="sample", clip_sample=True, clip_sample_range=1.0,
                num_train_timesteps=1000)


def log(msg, f=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)


def set_blas_threads(n):
    """Threads of OpenBLAS's own pool (its pthreads build, as Training in README.md sets up), which PyTorch's
    set_num_threads does not reach. Does nothing under another BLAS."""
    import ctypes
    try:
        lib = ctypes.CDLL("libblas.so.3")  # the library torch already loaded: same handle
    except OSError:
        return
    if hasattr(lib, "openblas_set_num_threads"):
        lib.openblas_set_num_threads(n)


def seed_all(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


# ----------------------------------------------------------------------------- tokenizer (BPE learner)
def learn_bpe(texts, out_dir):
    """Learn CLIP-format byte-level BPE merges on the caption corpus until every word is one token.

    Vocabulary order is CLIP's: 256 byte symbols, the same with `</w>`, then one entry per merge, then
    <|startoftext|>, <|endoftext|> (so eos has the highest id, see modeling_clip's pooling note)."""
    from transformers.models.clip.tokenization_clip import PAT, bytes_to_unicode, whitespace_clean
    import regex as re
    be = bytes_to_unicode()
    words = Counter()
    for t in texts:
        for piece in re.findall(PAT, whitespace_clean(t).lower()):
            words["".join(be[b] for b in piece.encode())] += 1
    segs = {w: tuple(w[:-1]) + (w[-1] + "</w>",) for w in words}
    merges = []
    while True:
        pairs = Counter()
        for w, n in words.items():
            s = segs[w]
            for a, b in zip(s[:-1], s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]  # ties broken deterministically
        merges.append(best)
        for w in words:
            s, out, i = segs[w], [], 0
            while i < len(s):
                if i < len(s) - 1 and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            segs[w] = tuple(out)
    vocab = list(be.values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer(os.path.join(out_dir, "vocab.json"), os.path.join(out_dir, "merges.txt"),
                        pad_token=PAD_TOKEN, model_max_length=CONTEXT)
    tok.save_pretrained(out_dir)
    return tok


def load_tokenizer(d=None):
    from transformers import CLIPTokenizer
    return CLIPTokenizer.from_pretrained(d or os.path.join(RUNS, "tokenizer"))


def tokenize(tok, texts):
    enc = tok(texts, padding="max_length", max_length=CONTEXT, truncation=True, return_tensors="pt")
    return enc.input_ids, enc.attention_mask


# ----------------------------------------------------------------------------- data bank
def clip_processor():
    from transformers import CLIPImageProcessor
    return CLIPImageProcessor(size={"shortest_edge": CLIP_SIZE}, crop_size={"height": CLIP_SIZE, "width": CLIP_SIZE},
                              resample=3)


def make_bank(n, seed, split="train", with_sr=False, groups=False):
    """Render n scenes: 32px decoder targets, 64px CLIP inputs (processor-normalised), optionally 128px targets.
    groups=True: the scenes come in groups of ds.GROUP near-copies (ds.sample_group), group k at [k*GROUP, ...)."""
    rng = np.random.default_rng(seed)
    proc = clip_processor()
    todo = []
    while len(todo) < n:
        todo += ds.sample_group(rng, split) if groups else [ds.sample_scene(rng, split)]
    scenes, small, clip_in, big = [], [], [], []
    for sc in todo:
        im = ds.render(sc, rng, SR_SIZE)
        scenes.append(sc)
        small.append(np.asarray(im.resize((DEC_SIZE, DEC_SIZE), Image.BOX)))
        clip_in.append(proc._one(im))
        if with_sr:
            big.append(np.asarray(im))
    bank = {"scenes": scenes,
            "small": torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2).contiguous(),  # uint8 [N,3,32,32]
            "clip": torch.from_numpy(np.stack(clip_in))}                                # f32 [N,3,64,64]
    if with_sr:
        bank["big"] = torch.from_numpy(np.stack(big)).permute(0, 3, 1, 2).contiguous()  # uint8 [N,3,128,128]
    return bank


def to_pm1(u8):
    return u8.float() / 127.5 - 1.0


def upscale_like_pipeline(small_pm1, size):
    """What UnCLIPPipeline does to the decoder output before super-resolution."""
    return F.interpolate(small_pm1, size=[size, size], mode="bicubic", align_corners=False, antialias=True)


# ----------------------------------------------------------------------------- diffusion helpers
class Diffusion:
    """The training side of the cosine (squaredcos_cap_v2) schedule UnCLIPScheduler uses."""

    def __init__(self, T=1000):
        from diffusers import UnCLIPScheduler
        s = UnCLIPScheduler(num_train_timesteps=T)
        self.T = T
        self.betas = s.betas.double()
        self.ac = s.alphas_cumprod.double()
        ac_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.ac[:-1]])
        self.post_var = self.betas * (1 - ac_prev) / (1 - self.ac)
        self.post_logvar = torch.log(torch.cat([self.post_var[1:2], self.post_var[1:]]))
        self.coef_x0 = self.betas * ac_prev.sqrt() / (1 - self.ac)
        self.coef_xt = (1 - ac_prev) * (1 - self.betas).sqrt() / (1 - self.ac)

    def _g(self, a, t, ndim):
        return a[t].float().view(-1, *([1] * (ndim - 1)))

    def q_sample(self, x0, t, noise):
        ac = self._g(self.ac, t, x0.ndim)
        return ac.sqrt() * x0 + (1 - ac).sqrt() * noise

    def vlb_learned_range(self, x0, xt, t, eps_pred_detached, v):
        """Improved-DDPM variational term for the learned-range variance (mean from the stop-grad epsilon)."""
        nd = x0.ndim
        ac = self._g(self.ac, t, nd)
        x0_pred = (xt - (1 - ac).sqrt() * eps_pred_detached) / ac.sqrt()
        cx0, cxt = self._g(self.coef_x0, t, nd), self._g(self.coef_xt, t, nd)
        true_mean, model_mean = cx0 * x0 + cxt * xt, cx0 * x0_pred + cxt * xt
        true_logvar = self._g(self.post_logvar, t, nd)
        frac = (v + 1) / 2
        model_logvar = frac * self._g(torch.log(self.betas), t, nd) + (1 - frac) * true_logvar
        kl = 0.5 * (-1.0 + model_logvar - true_logvar + torch.exp(true_logvar - model_logvar)
                    + (true_mean - model_mean) ** 2 * torch.exp(-model_logvar))
        kl = kl.mean(dim=list(range(1, nd))) / np.log(2.0)
        return torch.where(t > 0, kl, torch.zeros_like(kl)).mean()

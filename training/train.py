"""Train the tiny unCLIP cascade on the procedural shapes dataset, stage by stage.

    /usr/bin/python3 training/train.py all --seed 0   # tokenizer, clip, clip_hard, prior, superres, decoder, decoder_more
    /usr/bin/python3 training/train.py clip --seed 0         # one stage (later stages read earlier checkpoints)

Checkpoints go to training/runs/ (gitignored); export.py turns them into the diffusers UnCLIP folder.
Every random draw (scenes, captions, noise, timesteps, init) comes from --seed, so a run is reproducible
up to the last bits of the BLAS/thread count.
"""
import argparse
import copy
import math
import os
import time

from common import (DECODER_CFG, PRIOR_CFG, RUNS, SR_CFG, SR_SIZE, TEXT_CFG, TEXT_PROJ_CFG, VISION_CFG, Diffusion,
                    clip_processor, ds, learn_bpe, load_tokenizer, log, make_bank, np, seed_all, to_pm1, tokenize,
                    torch, upscale_like_pipeline, F)

STEPS = {"superres": 200, "clip": 300, "clip_hard": 250, "prior": 300, "decoder": 800, "decoder_more": 600}
BATCH = {"superres": 16, "clip": 128, "clip_hard": 128, "prior": 128, "decoder": 32}
LR = {"superres": 1e-3, "clip": 1e-3, "clip_hard": 5e-4, "prior": 5e-4, "decoder": 1e-3, "decoder_more": 5e-4}
BANK = int(os.environ.get("UNCLIP_BANK", 12000))  # scenes rendered for CLIP / prior / decoder


class EMA:
    def __init__(self, model, decay=0.995):
        self.m = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.m.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for pe, p in zip(self.m.parameters(), model.parameters()):
            pe.mul_(d).add_(p.detach(), alpha=1 - d)


def lr_at(step, total, base, warm=50):
    if step < warm:
        return base * (step + 1) / warm
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))


def run_loop(name, params, total, step_fn, ema_models=(), save_fn=None):
    opt = torch.optim.AdamW(params, lr=LR[name], weight_decay=0.0)
    t0, hist = time.time(), []
    for step in range(total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, LR[name])
        loss = step_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        for src, ema in ema_models:
            ema.update(src, step)
        hist.append(loss.item())
        if step % 50 == 0 or step == total - 1:
            log(f"{name} step {step}/{total} loss {np.mean(hist[-50:]):.4f} ({time.time() - t0:.0f}s)")
        if save_fn is not None and step % 250 == 249:
            save_fn(time.time() - t0)  # intermediate checkpoint (same format as the final one)
    return time.time() - t0


# ----------------------------------------------------------------------------- stages
def stage_tokenizer(seed):
    rng = np.random.default_rng(seed)
    texts = [ds.caption(ds.sample_scene(rng, "train"), rng) for _ in range(30000)]
    texts += [ds.caption(sc) for sc in ds.all_singles()[::7]] + [ds.caption(sc) for sc in ds.all_pairs()[::7]]
    # every word of the grammar at least once (held-out combinations use no new words)
    for d in (ds.SIZE_WORDS, ds.POS_PHRASES, ds.REL_PHRASES, ds.COLOUR_WORDS):
        texts += [" ".join(v) for v in d.values()]
    texts += [" ".join(ds.SHAPES), "a picture of there is with on background"]
    tok = learn_bpe(texts, os.path.join(RUNS, "tokenizer"))
    lens = [len(tok(t).input_ids) for t in texts[:2000]]
    log(f"tokenizer: vocab {tok.vocab_size}, longest caption {max(lens)} tokens; "
        f"example {tok.tokenize('a small blue square at the top left on a yellow background')}")


def stage_superres(seed):
    from diffusers import UNet2DModel
    seed_all(seed + 1)
    bank = make_bank(min(6000, BANK), seed + 101, with_sr=True)
    log("superres bank rendered")
    model = UNet2DModel(**SR_CFG).train()
    ema = EMA(model)
    diff = Diffusion()
    g = torch.Generator().manual_seed(seed + 201)
    B, crop = BATCH["superres"], 64

    def step_fn(step):
        idx = torch.randint(0, len(bank["scenes"]), (B,), generator=g)
        low = to_pm1(bank["small"][idx])
        # light augmentation so that the stage forgives a decoder's small errors
        low = low + 0.03 * torch.rand(B, 1, 1, 1, generator=g) * torch.randn(low.shape, generator=g)
        up = upscale_like_pipeline(low, SR_SIZE)
        x0 = to_pm1(bank["big"][idx])
        oy, ox = torch.randint(0, SR_SIZE - crop + 1, (2,), generator=g).tolist()
        up, x0 = up[:, :, oy:oy + crop, ox:ox + crop], x0[:, :, oy:oy + crop, ox:ox + crop]
        t = torch.randint(0, diff.T, (B,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        xt = diff.q_sample(x0, t, noise)
        pred = model(torch.cat([xt, up], 1), t).sample
        return F.mse_loss(pred, noise)

    def save(secs):
        torch.save({"model": ema.m.state_dict(), "secs": secs}, os.path.join(RUNS, "superres.pt"))

    save(run_loop("superres", list(model.parameters()), STEPS["superres"], step_fn, [(model, ema)], save))


def build_clip(vocab_size, tok):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection
    text = CLIPTextModelWithProjection(CLIPTextConfig(vocab_size=vocab_size, pad_token_id=tok.pad_token_id,
                                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                                      **TEXT_CFG))
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(**VISION_CFG))
    return text, vision


def get_bank(seed):
    path = os.path.join(RUNS, "bank.pt")
    if os.path.exists(path):
        return torch.load(path)
    bank = make_bank(BANK, seed + 102)
    bank["scenes"] = [ds.scene_to_dict(s) for s in bank["scenes"]]
    torch.save(bank, path)
    return bank


def hard_negatives(sc, rng):
    """Scenes that differ from sc in shape and in position (relation) only: the negatives in-batch sampling
    rarely provides, since colour + background alone tell most images of a batch apart."""
    if isinstance(sc, ds.Single):
        return [ds.Single(**{**sc.__dict__, "shape": ds._pick(rng, [s for s in ds.SHAPES if s != sc.shape])}),
                ds.Single(**{**sc.__dict__, "position": ds._pick(rng, [p for p in ds.POS_NAMES if p != sc.position])})]
    opp = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    return [ds.Pair(**{**sc.__dict__, "shape1": ds._pick(rng, [s for s in ds.SHAPES if s != sc.shape1])}),
            ds.Pair(**{**sc.__dict__, "relation": opp[sc.relation]})]


def stage_clip(seed, hard=False):
    """Contrastive CLIP. Phase 1 (hard=False): in-batch negatives. Phase 2 (hard=True, continues phase 1):
    half of the images also get two caption negatives that change only their shape / their position."""
    name = "clip_hard" if hard else "clip"
    seed_all(seed + (12 if hard else 2))
    tok = load_tokenizer()
    bank = get_bank(seed)
    scenes = [ds.scene_from_dict(d) for d in bank["scenes"]]
    log(f"{name} bank ready")
    text, vision = build_clip(tok.vocab_size, tok)
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    if hard:
        ck = torch.load(os.path.join(RUNS, "clip.pt"))
        text.load_state_dict(ck["text"]), vision.load_state_dict(ck["vision"])
        logit_scale.data.copy_(ck["logit_scale"])
    text.train(), vision.train()
    g = torch.Generator().manual_seed(seed + (212 if hard else 202))
    rng = np.random.default_rng(seed + (312 if hard else 302))
    B = BATCH["clip"]

    def step_fn(step):
        idx = torch.randint(0, len(scenes), (B,), generator=g)
        scs = [scenes[i] for i in idx.tolist()]
        caps, keys = [], [s.key() for s in scs]
        neg_caps, neg_keys = [], []
        for j, sc in enumerate(scs):
            if hard and j < B // 2:  # positive and negatives share one phrasing, all attributes stated
                s = int(rng.integers(1 << 30))
                caps.append(ds.caption(sc, np.random.default_rng(s), full=True))
                for ns in hard_negatives(sc, rng):
                    neg_caps.append(ds.caption(ns, np.random.default_rng(s), full=True))
                    neg_keys.append(ns.key())
            else:
                caps.append(ds.caption(sc, rng, full=rng.random() < 0.5))
        ids, _ = tokenize(tok, caps + neg_caps)
        te = F.normalize(text(ids).text_embeds, dim=-1)
        ie = F.normalize(vision(bank["clip"][idx]).image_embeds, dim=-1)
        logits = logit_scale.clamp(max=math.log(100)).exp() * ie @ te.t()  # [B, B + negatives]
        # captions of the same scene combination are not negatives of each other
        tkeys = keys + neg_keys
        same = torch.tensor([[a == b for b in tkeys] for a in keys])
        same[torch.arange(B), torch.arange(B)] = False
        logits = logits.masked_fill(same, -1e4)
        lab = torch.arange(B)
        return 0.5 * (F.cross_entropy(logits, lab) + F.cross_entropy(logits[:, :B].t(), lab))

    params = list(text.parameters()) + list(vision.parameters()) + [logit_scale]
    secs = run_loop(name, params, STEPS[name], step_fn)
    torch.save({"text": text.state_dict(), "vision": vision.state_dict(), "logit_scale": logit_scale.detach(),
                "secs": secs}, os.path.join(RUNS, "clip.pt"))
    if os.path.exists(os.path.join(RUNS, "bank_img_emb.pt")):  # image embeddings of the old CLIP are stale
        os.remove(os.path.join(RUNS, "bank_img_emb.pt"))


def load_clip():
    tok = load_tokenizer()
    text, vision = build_clip(tok.vocab_size, tok)
    ck = torch.load(os.path.join(RUNS, "clip.pt"))
    text.load_state_dict(ck["text"]), vision.load_state_dict(ck["vision"])
    return tok, text.eval(), vision.eval()


@torch.no_grad()
def image_embeds_of_bank(bank, vision):
    path = os.path.join(RUNS, "bank_img_emb.pt")
    if os.path.exists(path):
        return torch.load(path)
    embs = torch.cat([vision(bank["clip"][i:i + 512]).image_embeds for i in range(0, len(bank["clip"]), 512)])
    torch.save(embs, path)
    return embs


@torch.no_grad()
def encode_text(tok, text, caps):
    ids, mask = tokenize(tok, caps)
    out = text(ids)
    return out.text_embeds, out.last_hidden_state, mask.bool()


def stage_prior(seed):
    from diffusers import PriorTransformer
    seed_all(seed + 3)
    tok, text, vision = load_clip()
    bank = get_bank(seed)
    scenes = [ds.scene_from_dict(d) for d in bank["scenes"]]
    img = image_embeds_of_bank(bank, vision)
    prior = PriorTransformer(**PRIOR_CFG)
    with torch.no_grad():
        prior.clip_mean.copy_(img.mean(0, keepdim=True))
        prior.clip_std.copy_(img.std(0, keepdim=True))
    prior.train()
    ema = EMA(prior)
    diff = Diffusion()
    g = torch.Generator().manual_seed(seed + 203)
    rng = np.random.default_rng(seed + 303)
    B = BATCH["prior"]

    def step_fn(step):
        idx = torch.randint(0, len(scenes), (B,), generator=g)
        caps = [("" if rng.random() < 0.1 else ds.caption(scenes[i], rng)) for i in idx.tolist()]
        temb, hid, mask = encode_text(tok, text, caps)
        x0 = (img[idx] - prior.clip_mean) / prior.clip_std
        t = torch.randint(0, diff.T, (B,), generator=g)
        xt = diff.q_sample(x0, t, torch.randn(x0.shape, generator=g))
        pred = prior(xt, t, proj_embedding=temb, encoder_hidden_states=hid, attention_mask=mask).predicted_image_embedding
        return F.mse_loss(pred, x0)

    params = [p for n, p in prior.named_parameters() if n not in ("clip_mean", "clip_std")]
    prior.clip_mean.requires_grad_(False), prior.clip_std.requires_grad_(False)
    secs = run_loop("prior", params, STEPS["prior"], step_fn, [(prior, ema)])
    torch.save({"model": ema.m.state_dict(), "secs": secs}, os.path.join(RUNS, "prior.pt"))


def stage_decoder(seed, more=False):
    """Decoder + text_proj. more=True: a second phase that continues from runs/decoder.pt (its EMA weights)."""
    from diffusers import UNet2DConditionModel
    from diffusers.pipelines.unclip.text_proj import UnCLIPTextProjModel
    seed_all(seed + 4)
    tok, text, vision = load_clip()
    bank = get_bank(seed)
    scenes = [ds.scene_from_dict(d) for d in bank["scenes"]]
    img = image_embeds_of_bank(bank, vision)
    dec = UNet2DConditionModel(**DECODER_CFG).train()
    proj = UnCLIPTextProjModel(**TEXT_PROJ_CFG).train()
    if more:
        ck = torch.load(os.path.join(RUNS, "decoder.pt"))
        dec.load_state_dict(ck["decoder"]), proj.load_state_dict(ck["text_proj"])
        torch.save(ck, os.path.join(RUNS, "decoder_phase1.pt"))
    ema_d, ema_p = EMA(dec), EMA(proj)
    diff = Diffusion()
    g = torch.Generator().manual_seed(seed + (214 if more else 204))
    rng = np.random.default_rng(seed + (314 if more else 304))
    B = BATCH["decoder"]
    name = "decoder_more" if more else "decoder"

    def step_fn(step):
        idx = torch.randint(0, len(scenes), (B,), generator=g)
        caps = [("" if rng.random() < 0.2 else ds.caption(scenes[i], rng)) for i in idx.tolist()]
        temb, hid, mask = encode_text(tok, text, caps)
        ie = img[idx]
        drop = torch.rand(B, generator=g) < 0.1
        ie = torch.where(drop[:, None], proj.learned_classifier_free_guidance_embeddings[None].expand(B, -1), ie)
        hs, add = proj(image_embeddings=ie, prompt_embeds=temb, text_encoder_hidden_states=hid,
                       do_classifier_free_guidance=False)
        dmask = F.pad(mask, (proj.clip_extra_context_tokens, 0), value=True)
        x0 = to_pm1(bank["small"][idx])
        t = torch.randint(0, diff.T, (B,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        xt = diff.q_sample(x0, t, noise)
        out = dec(xt, t, encoder_hidden_states=hs, class_labels=add, attention_mask=dmask).sample
        eps, v = out.split(3, dim=1)
        return F.mse_loss(eps, noise) + diff.vlb_learned_range(x0, xt, t, eps.detach(), v)

    params = list(dec.parameters()) + list(proj.parameters())
    def save(secs):
        torch.save({"decoder": ema_d.m.state_dict(), "text_proj": ema_p.m.state_dict(), "secs": secs},
                   os.path.join(RUNS, "decoder.pt"))

    save(run_loop(name, params, STEPS[name], step_fn, [(dec, ema_d), (proj, ema_p)], save))


STAGES = {"tokenizer": stage_tokenizer, "clip": stage_clip, "clip_hard": lambda s: stage_clip(s, hard=True),
          "prior": stage_prior, "superres": stage_superres,
          "decoder": stage_decoder, "decoder_more": lambda s: stage_decoder(s, more=True)}
# the stages that made the shipped model, in order
ALL = ["tokenizer", "clip", "clip_hard", "prior", "superres", "decoder", "decoder_more"]

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=list(STAGES) + ["all"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="override the stage's step count (for smoke tests)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(RUNS, exist_ok=True)
    order = ALL if a.stage == "all" else [a.stage]
    if a.steps is not None:
        for k in STEPS:
            STEPS[k] = a.steps
    T0 = time.time()
    for s in order:
        t = time.time()
        STAGES[s](a.seed)
        log(f"stage {s} done in {time.time() - t:.0f}s")
    log(f"total {time.time() - T0:.0f}s")

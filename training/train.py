"""Train the tiny unCLIP cascade on the procedural shapes dataset, stage by stage.

    /usr/bin/python3 training/train.py all --seed 0   # the shipped model
    /usr/bin/python3 training/train.py clip --seed 0   # one stage (later stages read earlier checkpoints)
    /usr/bin/python3 training/train.py decoder_restart2 decoder_restart3   # several, in the order given

Stages, in order: tokenizer, clip, prior, superres, decoder, decoder_restart1, decoder_restart2, decoder_restart3.

Checkpoints go to training/runs/ (gitignored); export.py turns them into the diffusers UnCLIP folder.
Every random draw (scenes, captions, noise, timesteps, init) comes from --seed, so a run is reproducible
up to the last bits of the BLAS/thread count.
"""
import argparse
import copy
import math
import os
import time

from common import (DEC_SIZE, DECODER_CFG, EMB, PRIOR_CFG, RUNS, SR_CFG, SR_SCHED, SR_SIZE, TEXT_CFG, TEXT_PROJ_CFG,
                    VISION_CFG, Diffusion, F, Image, clip_processor, ds, learn_bpe, load_tokenizer, log, make_bank, np,
                    seed_all, set_blas_threads, to_pm1, tokenize, torch, upscale_like_pipeline)

# decoder_restart3 is shorter than the other restarts because of the 2 h budget, not its score: 1,200 steps would
# have put `train.py all` at about 125 min on the slower of the two CPUs it was timed on, 800 at about 116 min
# (training/README.md).
STEPS = {"superres": 400, "clip": 800, "prior": 800, "decoder": 2500, "decoder_restart1": 1200,
         "decoder_restart2": 1200, "decoder_restart3": 800}
BATCH = {"superres": 16, "clip": 128, "prior": 128, "decoder": 32}
LR = {"superres": 1e-3, "clip": 1e-3, "prior": 5e-4, "decoder": 1e-3, "decoder_restart1": 3e-4,
      "decoder_restart2": 3e-4, "decoder_restart3": 3e-4}
BANK = int(os.environ.get("UNCLIP_BANK", 20000))  # scenes rendered for CLIP / prior / decoder


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


STOP_AFTER = {}  # stage -> step count at which to stop early (its schedule still spans STEPS[stage])


def run_loop(name, params, total, step_fn, ema_models=(), save_fn=None):
    opt = torch.optim.AdamW(params, lr=LR[name], weight_decay=0.0)
    t0, hist = time.time(), []
    for step in range(min(total, STOP_AFTER.get(name, total))):
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
        return F.mse_loss(pred, x0)  # SR_SCHED's prediction_type is "sample"

    def save(secs):
        torch.save({"model": ema.m.state_dict(), "secs": secs}, os.path.join(RUNS, "superres.pt"))

    save(run_loop("superres", list(model.parameters()), STEPS["superres"], step_fn, [(model, ema)], save))
    log(f"superres on 32 held-out ground-truth scenes: {superres_check(ema.m, seed + 401)}")


@torch.no_grad()
def superres_check(model, seed, n=32):
    """Mean absolute error (0-255) against the 128-px render, of the pipeline's 7-step super-res of the 32-px render,
    overall and on the background border alone (where a colour shift shows), with plain bicubic for comparison."""
    from diffusers import UnCLIPScheduler
    rng = np.random.default_rng(seed)
    scenes = [ds.sample_scene(rng, "heldout") for _ in range(n)]
    ims = [ds.render(sc, rng, SR_SIZE) for sc in scenes]
    small = to_pm1(torch.from_numpy(np.stack([np.asarray(im.resize((DEC_SIZE, DEC_SIZE), Image.BOX)) for im in ims]))
                   .permute(0, 3, 1, 2))
    truth = torch.from_numpy(np.stack([np.asarray(im) for im in ims])).permute(0, 3, 1, 2).float()
    up = upscale_like_pipeline(small, SR_SIZE)
    sched = UnCLIPScheduler(**SR_SCHED)
    sched.set_timesteps(7)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(up.shape, generator=g)
    ts = sched.timesteps
    for i, t in enumerate(ts):
        prev = ts[i + 1] if i + 1 < len(ts) else None
        x = sched.step(model(torch.cat([x, up], 1), t).sample, t, x, prev_timestep=prev, generator=g).prev_sample
    border = torch.zeros(SR_SIZE, SR_SIZE, dtype=torch.bool)
    border[:8], border[-8:], border[:, :8], border[:, -8:] = True, True, True, True

    def err(img_pm1):
        e = ((img_pm1.clamp(-1, 1) + 1) * 127.5 - truth).abs()
        return round(e.mean().item(), 1), round(e[..., border].mean().item(), 1)

    (sr_all, sr_bg), (bi_all, bi_bg) = err(x), err(up)
    return {"mae": sr_all, "mae_border": sr_bg, "bicubic_mae": bi_all, "bicubic_mae_border": bi_bg}


def build_clip(vocab_size, tok):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection
    text = CLIPTextModelWithProjection(CLIPTextConfig(vocab_size=vocab_size, pad_token_id=tok.pad_token_id,
                                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                                      **TEXT_CFG))
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(**VISION_CFG))
    return text, vision


def get_bank(seed):
    """The training scenes of CLIP, prior and decoder: groups of near-copies (ds.sample_group), rendered once."""
    path = os.path.join(RUNS, "bank.pt")
    if os.path.exists(path):
        return torch.load(path)
    bank = make_bank(BANK, seed + 102, groups=True)
    bank["scenes"] = [ds.scene_to_dict(s) for s in bank["scenes"]]
    torch.save(bank, path)
    return bank


@torch.no_grad()
def clip_zero_shot(tok, text, vision, seed, n=200):
    """Zero-shot accuracy on n held-out ground-truth renders: the true caption against captions that differ in
    one attribute (evaluate.py's candidates). Logged so that a run shows whether CLIP learned each attribute."""
    from evaluate import candidates
    rng = np.random.default_rng(seed)
    proc = clip_processor()
    hits = {}
    for _ in range(n):
        sc = ds.sample_scene(rng, "heldout")
        pixels = torch.from_numpy(proc._one(ds.render(sc, rng, SR_SIZE)))[None]
        ie = F.normalize(vision(pixels).image_embeds, dim=-1)[0]
        for attr, (cands, true_i) in candidates(sc).items():
            te = F.normalize(text(tokenize(tok, [ds.caption(c) for c in cands])[0]).text_embeds, dim=-1)
            hits[attr] = hits.get(attr, 0) + int(int((te @ ie).argmax()) == true_i)
    return {k: round(v / n, 3) for k, v in hits.items()}


class AttributeHeads(torch.nn.Module):
    """Linear classifiers of each scene attribute from a (normalised) CLIP embedding, used only while
    training CLIP (not exported). Contrastive learning from scratch learns colour within a few hundred
    steps and then sits near chance on position and shape: two runs of 800 and 500 steps with hard groups
    left held-out zero-shot position at 17-18 % and shape at 26-30 %, both towers' embeddings of variants
    that differ only in those being near-identical, so the contrastive gradient between them is tiny. These
    heads give both towers a direct signal for every attribute (for a caption, only those it states). With
    them alone shape rose to 37 % and position stayed at chance (12 %); position came only with
    escape_position_saddle (see training/README.md)."""

    def __init__(self):
        super().__init__()
        self.fields = {"single": ["shape", "colour", "size", "position", "background"],
                       "pair": ["colour1", "shape1", "relation", "colour2", "shape2", "background"]}
        self.heads = torch.nn.ModuleDict({f"{kind}_{f}": torch.nn.Linear(EMB, len(ds.FIELD_VALUES[f]))
                                          for kind, fs in self.fields.items() for f in fs})

    def loss(self, emb, scenes, facts=None):
        total, count = 0.0, 0
        for kind, fs in self.fields.items():
            rows = [i for i, sc in enumerate(scenes) if isinstance(sc, ds.Single) == (kind == "single")]
            for f in fs:
                keep = [i for i in rows if facts is None or f in facts[i]]
                if keep:
                    target = torch.tensor([ds.FIELD_VALUES[f].index(getattr(scenes[i], f)) for i in keep])
                    total = total + F.cross_entropy(self.heads[f"{kind}_{f}"](emb[keep]) * 10.0, target)
                    count += 1
        return total / max(1, count)


def escape_position_saddle(text, vision):
    """Re-initialise both towers so that the vision tower can learn where things are. With transformers' CLIP init
    (every weight N(0, 0.02)) the CLS token starts as a near-mean over patches, which cancels position, and the
    gradient towards position is ~0: a supervised probe of the vision tower alone stayed at ln 9 on the 3x3 cell
    for 300 steps (also at lr 3e-3), and three contrastive recipes left held-out zero-shot position at chance.
    PyTorch's default (fan-in) init of the Linear / Conv2d weights plus position embeddings of std 0.5 reached
    94 % on that probe in 300 steps (either change alone did not); in this stage, held-out zero-shot position went
    from 12 % (without it) to 82.5 % at step 800 in the third run and 96.5 % in the shipped (fourth) run.
    See training/README.md."""
    for tower in (text, vision):
        for m in tower.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.reset_parameters()
    vision.vision_model.embeddings.position_embedding.weight.data.normal_(0, 0.5)


def stage_clip(seed):
    """Contrastive CLIP on batches of scene groups (ds.sample_group): every image has in-batch negatives that
    differ from it in its position, its shape, or one other attribute only. A group shares one phrasing; 30 % of
    groups get captions that leave some attributes out, and an image that fits a caption is no negative of it."""
    seed_all(seed + 2)
    tok = load_tokenizer()
    bank = get_bank(seed)
    scenes = [ds.scene_from_dict(d) for d in bank["scenes"]]
    n_groups = len(scenes) // ds.GROUP
    log(f"clip bank ready: {n_groups} groups of {ds.GROUP}")
    text, vision = build_clip(tok.vocab_size, tok)
    escape_position_saddle(text, vision)
    heads = AttributeHeads()
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    text.train(), vision.train()
    g = torch.Generator().manual_seed(seed + 202)
    rng = np.random.default_rng(seed + 302)
    B = BATCH["clip"]

    def step_fn(step):
        gi = torch.randint(0, n_groups, (B // ds.GROUP,), generator=g)
        idx = (gi[:, None] * ds.GROUP + torch.arange(ds.GROUP)).flatten()
        scs = [scenes[i] for i in idx.tolist()]
        caps, facts = [], []
        for k in range(0, len(scs), ds.GROUP):
            phrasing, full = int(rng.integers(1 << 30)), rng.random() < 0.7
            for sc in scs[k:k + ds.GROUP]:
                c, f = ds.caption_and_facts(sc, np.random.default_rng(phrasing), full)
                caps.append(c), facts.append(f)
        te = F.normalize(text(tokenize(tok, caps)[0]).text_embeds, dim=-1)
        ie = F.normalize(vision(bank["clip"][idx]).image_embeds, dim=-1)
        aux = heads.loss(ie, scs) + heads.loss(te, scs, facts)
        logits = logit_scale.clamp(max=math.log(100)).exp() * ie @ te.t()  # [image, caption]
        fits = torch.tensor([[i != j and ds.satisfies(scs[i], scs[j], facts[j]) for j in range(len(scs))]
                             for i in range(len(scs))])
        logits = logits.masked_fill(fits, -1e4)
        lab = torch.arange(len(scs))
        # plus the same loss within each group alone, so that the three hard negatives are not
        # outweighed by the batch's easy ones
        G, n = ds.GROUP, len(scs) // ds.GROUP
        grouped = logits.view(n, G, n, G).diagonal(dim1=0, dim2=2).permute(2, 0, 1)  # [group, image, caption]
        glab = torch.arange(G).repeat(n)
        return 0.5 * (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab)
                      + F.cross_entropy(grouped.reshape(-1, G), glab)
                      + F.cross_entropy(grouped.transpose(1, 2).reshape(-1, G), glab)) + aux

    def progress(secs):  # zero-shot every 250 steps, so a run shows early whether each attribute is learned
        text.eval(), vision.eval()
        log(f"clip zero-shot (100 held-out renders): {clip_zero_shot(tok, text, vision, seed + 402, n=100)}")
        text.train(), vision.train()

    params = list(text.parameters()) + list(vision.parameters()) + list(heads.parameters()) + [logit_scale]
    secs = run_loop("clip", params, STEPS["clip"], step_fn, save_fn=progress)
    text.eval(), vision.eval()
    log(f"clip zero-shot on held-out ground truth: {clip_zero_shot(tok, text, vision, seed + 402)}")
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
        caps = [("" if rng.random() < 0.1 else ds.caption(scenes[i], rng, full=rng.random() < 0.5))
                for i in idx.tolist()]
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


def stage_decoder(seed, name="decoder", start=None):
    """Decoder + text_proj, conditioned like Karlo's: the CLIP image embedding (time embedding + 4 extra context
    tokens) and the text hidden states (cross-attention). `start`: weights to begin from (a decoder.pt)."""
    from diffusers import UNet2DConditionModel
    from diffusers.pipelines.unclip.text_proj import UnCLIPTextProjModel
    seed_all(seed + 4)
    tok, text, vision = load_clip()
    bank = get_bank(seed)
    scenes = [ds.scene_from_dict(d) for d in bank["scenes"]]
    img = image_embeds_of_bank(bank, vision)
    dec = UNet2DConditionModel(**DECODER_CFG).train()
    proj = UnCLIPTextProjModel(**TEXT_PROJ_CFG).train()
    if start is not None:
        dec.load_state_dict(start["decoder"])
        proj.load_state_dict(start["text_proj"])
    ema_d, ema_p = EMA(dec), EMA(proj)
    diff = Diffusion()
    g = torch.Generator().manual_seed(seed + 204)
    rng = np.random.default_rng(seed + 304)
    B = BATCH["decoder"]

    def step_fn(step):
        idx = torch.randint(0, len(scenes), (B,), generator=g)
        # classifier-free guidance: the pipeline's unconditional branch has neither image embedding nor caption,
        # so drop both together 10 % of the time, and each alone 5 % / 10 %
        r = torch.rand(B, generator=g)
        drop_img, drop_text = r < 0.15, (r < 0.10) | ((r >= 0.15) & (r < 0.25))
        caps = [("" if drop_text[j] else ds.caption(scenes[i], rng, full=rng.random() < 0.5))
                for j, i in enumerate(idx.tolist())]
        temb, hid, mask = encode_text(tok, text, caps)
        ie = torch.where(drop_img[:, None], proj.learned_classifier_free_guidance_embeddings[None].expand(B, -1),
                         img[idx])
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
        torch.save({"decoder": ema_d.m.state_dict(), "text_proj": ema_p.m.state_dict(), "secs": secs, "stage": name},
                   os.path.join(RUNS, "decoder.pt"))

    save(run_loop(name, params, STEPS[name], step_fn, [(dec, ema_d), (proj, ema_p)], save))


def restart_stage(k):
    """A warm restart of the decoder: another, shorter cosine schedule at a lower learning rate, from the EMA
    weights the previous decoder stage saved (fresh optimizer, fresh EMA, draws from `seed + k`). After the first
    schedule the decoder still drew two copies of one object for two-object prompts, on training scenes too, and
    its loss was still falling; each restart separated the two objects further (training/README.md)."""
    previous = "decoder" if k == 1 else f"decoder_restart{k - 1}"

    def stage(seed):
        path = os.path.join(RUNS, "decoder.pt")
        start = torch.load(path)
        if start.get("stage") != previous:
            raise SystemExit(f"{path} was saved by stage {start.get('stage')!r}; decoder_restart{k} "
                             f"continues from {previous!r}: run that stage first")
        stage_decoder(seed + k, f"decoder_restart{k}", start)
    stage.__doc__ = restart_stage.__doc__
    return stage


STAGES = {"tokenizer": stage_tokenizer, "clip": stage_clip, "prior": stage_prior, "superres": stage_superres,
          "decoder": stage_decoder, "decoder_restart1": restart_stage(1), "decoder_restart2": restart_stage(2),
          "decoder_restart3": restart_stage(3)}
# the stages that made the shipped model, in order
ALL = list(STAGES)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("stages", nargs="+", choices=list(STAGES) + ["all"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="override the stage's step count (for smoke tests)")
    ap.add_argument("--stop-decoder-after", type=int, default=None,
                    help="end the decoder stage after this many steps of its schedule (its EMA weights at that step are "
                         "saved); the shipped model ran the whole schedule")
    a = ap.parse_args()
    if a.stop_decoder_after is not None:
        STOP_AFTER["decoder"] = a.stop_decoder_after
    torch.set_num_threads(a.threads)
    os.makedirs(RUNS, exist_ok=True)
    order = ALL if "all" in a.stages else a.stages
    if a.steps is not None:
        for k in STEPS:
            STEPS[k] = a.steps
    T0 = time.time()
    for s in order:
        t = time.time()
        # In the decoder stages OpenBLAS's own threads contend with PyTorch's OpenMP ones (0.4-0.7 s of system time per
        # step, under 0.1 s with one OpenBLAS thread): one thread made those stages 1.2x faster here, with bit-identical
        # weights. The transformer stages (CLIP, prior) are faster with an OpenBLAS thread per core.
        set_blas_threads(1 if s.startswith("decoder") else a.threads)
        STAGES[s](a.seed)
        log(f"stage {s} done in {time.time() - t:.0f}s")
    log(f"total {time.time() - T0:.0f}s")

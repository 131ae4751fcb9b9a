"""Judge a folder of generated images against their prompts, whichever engine made them.

    # 1. the held-out prompt set (scenes whose attribute combinations training never rendered)
    /usr/bin/python3 training/evaluate.py prompts --out training/eval/prompts.jsonl --n-single 200 --n-pair 60
    # 2. an engine writes one image per line into a folder (file name from the prompts file), e.g.
    /usr/bin/python3 training/generate_reference.py eval --prompts training/eval/prompts.jsonl --out /tmp/gen
    # 3. judge it
    /usr/bin/python3 training/evaluate.py judge --prompts training/eval/prompts.jsonl --images /tmp/gen

Two judges: (a) pixel read-back by the dataset's own code (dataset.judge_image: background from the border,
object colour = nearest palette colour, shape = best IoU against ideal shapes in the object's bounding box,
position = 3x3 cell of the bounding-box centre, or the relation between two objects); (b) the tiny CLIP's
zero-shot choice among captions that differ from the prompt's in one attribute only (its colour(s), its
shape(s), its position/relation), using the exported image_encoder + text_encoder + tokenizer.
`truth` renders the prompts with the dataset's renderer, to show what a perfect engine scores.
"""
import argparse
import itertools
import json
import os
from collections import defaultdict

from common import MODEL_DIR, ds, np, torch
from PIL import Image


def cmd_prompts(a):
    rng = np.random.default_rng(a.seed)
    rows, seen = [], set()
    for kind, n in (("single", a.n_single), ("pair", a.n_pair)):
        while sum(r["scene"]["kind"] == kind for r in rows) < n:
            sc = ds.sample_scene(rng, "heldout", pair_prob=1.0 if kind == "pair" else 0.0)
            if sc in seen:
                continue
            seen.add(sc)
            rows.append({"file": f"{len(rows):04d}.png", "prompt": ds.caption(sc, rng, full=True),
                         "scene": ds.scene_to_dict(sc)})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"wrote {len(rows)} held-out prompts to {a.out}")


def read_prompts(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_truth(a):
    rows = read_prompts(a.prompts)
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for r in rows:
        ds.render(ds.scene_from_dict(r["scene"]), rng, 128).save(os.path.join(a.out, r["file"]))
    print(f"rendered {len(rows)} ground-truth images to {a.out}")


# ----------------------------------------------------------------------------- zero-shot CLIP
def candidates(sc):
    """{attribute: (list of scenes differing only in that attribute, index of the true one)}."""
    if isinstance(sc, ds.Single):
        def vary(field, values):
            cs = [ds.Single(**{**sc.__dict__, field: v}) for v in values]
            cs = [c for c in cs if c.colour != c.background]
            return cs, cs.index(sc)
        return {"colour": vary("colour", ds.SHAPE_COLOURS), "shape": vary("shape", ds.SHAPES),
                "position": vary("position", ds.POS_NAMES)}
    d = sc.__dict__
    cols = [ds.Pair(**{**d, "colour1": c1, "colour2": c2}) for c1, c2 in itertools.permutations(ds.SHAPE_COLOURS, 2)
            if sc.background not in (c1, c2)]
    shapes = [ds.Pair(**{**d, "shape1": s1, "shape2": s2}) for s1, s2 in itertools.product(ds.SHAPES, repeat=2)]
    rels = [ds.Pair(**{**d, "relation": r}) for r in ds.RELATIONS]
    return {"colour": (cols, cols.index(sc)), "shape": (shapes, shapes.index(sc)), "position": (rels, rels.index(sc))}


class ZeroShot:
    def __init__(self, model_dir):
        from transformers import CLIPImageProcessor, CLIPTextModelWithProjection, CLIPTokenizer, \
            CLIPVisionModelWithProjection
        self.tok = CLIPTokenizer.from_pretrained(model_dir, subfolder="tokenizer")
        self.text = CLIPTextModelWithProjection.from_pretrained(model_dir, subfolder="text_encoder").float()
        self.vision = CLIPVisionModelWithProjection.from_pretrained(model_dir, subfolder="image_encoder").float()
        self.proc = CLIPImageProcessor.from_pretrained(model_dir, subfolder="feature_extractor")
        self.cache = {}

    @torch.no_grad()
    def text_emb(self, caps):
        todo = [c for c in caps if c not in self.cache]
        if todo:
            ids = self.tok(todo, padding="max_length", max_length=self.tok.model_max_length, truncation=True,
                           return_tensors="pt").input_ids
            e = torch.nn.functional.normalize(self.text(ids).text_embeds, dim=-1)
            self.cache.update(zip(todo, e))
        return torch.stack([self.cache[c] for c in caps])

    @torch.no_grad()
    def image_emb(self, img):
        pv = self.proc(img, return_tensors="pt").pixel_values
        return torch.nn.functional.normalize(self.vision(pv).image_embeds, dim=-1)[0]

    def judge(self, img, sc):
        ie = self.image_emb(img)
        out = {}
        for attr, (cands, true_i) in candidates(sc).items():
            te = self.text_emb([ds.caption(c) for c in cands])
            out[attr] = int((te @ ie).argmax()) == true_i
        return out


def cmd_judge(a):
    rows = read_prompts(a.prompts)
    zs = ZeroShot(a.model) if not a.no_clip else None
    tally = defaultdict(lambda: defaultdict(int))
    per_image = []
    missing = 0
    for r in rows:
        p = os.path.join(a.images, r["file"])
        if not os.path.exists(p):
            missing += 1
            continue
        img = Image.open(p).convert("RGB")
        sc = ds.scene_from_dict(r["scene"])
        pix = ds.judge_image(img, sc)
        res = {"file": r["file"], "prompt": r["prompt"], "pixel": {k: bool(pix[k]) for k in ("colour", "shape", "position")},
               "read": pix["read"]}
        if zs:
            res["clip"] = zs.judge(img, sc)
        per_image.append(res)
        kind = r["scene"]["kind"]
        for group in (kind, "all"):
            tally[group]["n"] += 1
            for judge in ("pixel", "clip"):
                for k, v in res.get(judge, {}).items():
                    tally[group][f"{judge}_{k}"] += int(v)
            tally[group]["pixel_all3"] += int(all(res["pixel"].values()))
    print(f"images judged: {len(per_image)} (missing {missing}) from {a.images}")
    header = f"{'split':8s} {'n':>4s} | {'pixel colour':>12s} {'shape':>6s} {'position':>8s} {'all 3':>6s} | " \
             f"{'clip colour':>11s} {'shape':>6s} {'position':>8s}"
    print(header)
    summary = {}
    for group in ("single", "pair", "all"):
        t = tally[group]
        n = t["n"]
        if not n:
            continue
        pc = lambda k: 100.0 * t[k] / n  # noqa: E731
        summary[group] = {"n": n, **{k: round(pc(k), 1) for k in t if k != "n"}}
        print(f"{group:8s} {n:4d} | {pc('pixel_colour'):11.1f}% {pc('pixel_shape'):5.1f}% {pc('pixel_position'):7.1f}% "
              f"{pc('pixel_all3'):5.1f}% | " + (f"{pc('clip_colour'):10.1f}% {pc('clip_shape'):5.1f}% "
                                                  f"{pc('clip_position'):7.1f}%" if zs else "(clip judge off)"))
    print("(position = 3x3 cell for one object, the stated relation for two objects)")
    if a.report:
        with open(a.report, "w") as f:
            json.dump({"summary": summary, "images": per_image}, f, indent=1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prompts")
    p.add_argument("--out", required=True)
    p.add_argument("--n-single", type=int, default=200)
    p.add_argument("--n-pair", type=int, default=60)
    p.add_argument("--seed", type=int, default=1234)
    p = sub.add_parser("truth")
    p.add_argument("--prompts", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("judge")
    p.add_argument("--prompts", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--model", default=MODEL_DIR)
    p.add_argument("--no-clip", action="store_true")
    p.add_argument("--report", default=None, help="write per-image results as JSON here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    {"prompts": cmd_prompts, "truth": cmd_truth, "judge": cmd_judge}[a.cmd](a)

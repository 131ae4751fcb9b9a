"""Procedural captioned-shapes dataset, its caption grammar, and the pixel read-back judge.

A scene is one of two kinds:
  * single: (shape, colour, size, position, background)
        "a small blue square at the top left on a yellow background"
  * pair:   (colour1, shape1, relation, colour2, shape2, background)
        "a red circle left of a blue square"

Scenes are drawn on the fly from a seeded numpy Generator. A fixed, seed-independent
fraction of the attribute combinations (keyed by a stable hash of the tuple) is held out:
training never renders them; evaluation prompts are drawn only from them.

The judge (`judge_image`) reads colour, shape and position back from the pixels of any
RGB image, so the same code scores images made by any engine.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# ----------------------------------------------------------------------------- vocabulary
PALETTE = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (245, 225, 50),
    "green": (40, 165, 70),
    "blue": (40, 80, 225),
    "purple": (140, 55, 185),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "gray": (128, 128, 128),
}
SHAPE_COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"]
BACKGROUNDS = list(PALETTE)  # any palette colour that differs from the object colour(s)
SHAPES = ["circle", "square", "triangle", "diamond"]
SIZES = {"small": 0.22, "medium": 0.32, "large": 0.44}  # object extent / image side
# 3x3 grid; (row, col) -> name
POSITIONS = {
    (0, 0): "top left", (0, 1): "top", (0, 2): "top right",
    (1, 0): "left", (1, 1): "center", (1, 2): "right",
    (2, 0): "bottom left", (2, 1): "bottom", (2, 2): "bottom right",
}
POS_NAMES = list(POSITIONS.values())
POS_CELL = {v: k for k, v in POSITIONS.items()}
CELL_CENTRE = (0.25, 0.5, 0.75)
RELATIONS = ["left of", "right of", "above", "below"]

HOLDOUT_MOD = 10  # 1 in 10 combinations is held out


def _stable_hash(key: str) -> int:
    return int(hashlib.md5(key.encode()).hexdigest()[:8], 16)


@dataclass(frozen=True)
class Single:
    shape: str
    colour: str
    size: str
    position: str
    background: str

    def key(self):
        return f"single|{self.shape}|{self.colour}|{self.size}|{self.position}|{self.background}"


@dataclass(frozen=True)
class Pair:
    colour1: str
    shape1: str
    relation: str
    colour2: str
    shape2: str
    background: str

    def key(self):
        # the background is not part of the held-out key: the combination is the two objects + relation
        return f"pair|{self.colour1}|{self.shape1}|{self.relation}|{self.colour2}|{self.shape2}"


def is_heldout(scene) -> bool:
    return _stable_hash(scene.key()) % HOLDOUT_MOD == 0


def all_singles():
    return [Single(s, c, z, p, b) for s in SHAPES for c in SHAPE_COLOURS for z in SIZES for p in POS_NAMES
            for b in BACKGROUNDS if b != c]


def all_pairs():
    return [Pair(c1, s1, r, c2, s2, "white") for c1 in SHAPE_COLOURS for s1 in SHAPES for r in RELATIONS
            for c2 in SHAPE_COLOURS if c2 != c1 for s2 in SHAPES]


# ----------------------------------------------------------------------------- captions
SIZE_WORDS = {"small": ["small", "little", "tiny"], "medium": ["medium", "medium-sized", "mid-sized"],
              "large": ["large", "big", "huge"]}
POS_PHRASES = {
    "top left": ["at the top left", "in the top left corner", "in the upper left"],
    "top": ["at the top", "at the top center", "at the top middle"],
    "top right": ["at the top right", "in the top right corner", "in the upper right"],
    "left": ["on the left", "at the left", "on the left side"],
    "center": ["in the center", "in the middle", "at the center"],
    "right": ["on the right", "at the right", "on the right side"],
    "bottom left": ["at the bottom left", "in the bottom left corner", "in the lower left"],
    "bottom": ["at the bottom", "at the bottom center", "at the bottom middle"],
    "bottom right": ["at the bottom right", "in the bottom right corner", "in the lower right"],
}
REL_PHRASES = {
    "left of": ["left of", "to the left of", "on the left of"],
    "right of": ["right of", "to the right of", "on the right of"],
    "above": ["above", "over", "on top of"],
    "below": ["below", "under", "beneath"],
}
COLOUR_WORDS = {c: [c] for c in PALETTE}
COLOUR_WORDS["gray"] = ["gray", "grey"]


def _pick(rng, xs):
    return xs[int(rng.integers(len(xs)))]


def caption_single(sc: Single, rng=None, full=False) -> tuple[str, frozenset]:
    """Plain-English caption and the scene fields it states. rng=None: the canonical phrasing (all fields).
    full=False may omit size/position/background."""
    if rng is None:
        return (f"a {sc.size} {sc.colour} {sc.shape} {POS_PHRASES[sc.position][0]} on a {sc.background} background",
                frozenset(sc.__dict__))
    size = _pick(rng, SIZE_WORDS[sc.size]) if (full or rng.random() > 0.3) else None
    pos = _pick(rng, POS_PHRASES[sc.position]) if (full or rng.random() > 0.2) else None
    bg = _pick(rng, COLOUR_WORDS[sc.background]) if (full or rng.random() > 0.3) else None
    col = _pick(rng, COLOUR_WORDS[sc.colour])
    noun = " ".join(w for w in (size, col, sc.shape) if w)
    t = int(rng.integers(5))
    if t == 0:
        s = f"a {noun}" + (f" {pos}" if pos else "") + (f" on a {bg} background" if bg else "")
    elif t == 1:
        s = f"a picture of a {noun}" + (f" {pos}" if pos else "") + (f" on {bg}" if bg else "")
    elif t == 2:
        s = noun + (f" {pos}" if pos else "") + (f", {bg} background" if bg else "")
    elif t == 3:
        s = (f"a {bg} background with a {noun}" if bg else f"a {noun}") + (f" {pos}" if pos else "")
    else:
        s = f"there is a {noun}" + (f" {pos}" if pos else "") + (f" on a {bg} background" if bg else "")
    stated = {"shape", "colour"} | {f for f, w in (("size", size), ("position", pos), ("background", bg)) if w}
    return s, frozenset(stated)


def caption_pair(sc: Pair, rng=None, full=False) -> tuple[str, frozenset]:
    if rng is None:
        return (f"a {sc.colour1} {sc.shape1} {sc.relation} a {sc.colour2} {sc.shape2} on a {sc.background} background",
                frozenset(sc.__dict__))
    rel = _pick(rng, REL_PHRASES[sc.relation])
    bg = _pick(rng, COLOUR_WORDS[sc.background]) if (full or rng.random() > 0.4) else None
    c1, c2 = _pick(rng, COLOUR_WORDS[sc.colour1]), _pick(rng, COLOUR_WORDS[sc.colour2])
    s = f"a {c1} {sc.shape1} {rel} a {c2} {sc.shape2}"
    if bg:
        s += _pick(rng, [f" on a {bg} background", f", {bg} background"])
    return s, frozenset(f for f in sc.__dict__ if f != "background" or bg)


def caption_and_facts(sc, rng=None, full=False) -> tuple[str, frozenset]:
    """A caption and the names of the scene fields it states (the others are left to chance)."""
    return caption_single(sc, rng, full) if isinstance(sc, Single) else caption_pair(sc, rng, full)


def caption(sc, rng=None, full=False) -> str:
    return caption_and_facts(sc, rng, full)[0]


def satisfies(scene, described, facts) -> bool:
    """Whether `scene` fits a caption of `described` that states `facts` (so it is no negative for it)."""
    return type(scene) is type(described) and all(getattr(scene, f) == getattr(described, f) for f in facts)


# ----------------------------------------------------------------------------- sampling
def sample_scene(rng, split="train", pair_prob=0.3):
    """Draw a random scene whose combination belongs to `split` ('train' or 'heldout')."""
    want = split == "heldout"
    while True:
        if rng.random() < pair_prob:
            c1 = _pick(rng, SHAPE_COLOURS)
            c2 = _pick(rng, [c for c in SHAPE_COLOURS if c != c1])
            bg = _pick(rng, [b for b in BACKGROUNDS if b not in (c1, c2)])
            sc = Pair(c1, _pick(rng, SHAPES), _pick(rng, RELATIONS), c2, _pick(rng, SHAPES), bg)
        else:
            c = _pick(rng, SHAPE_COLOURS)
            sc = Single(_pick(rng, SHAPES), c, _pick(rng, list(SIZES)), _pick(rng, POS_NAMES),
                        _pick(rng, [b for b in BACKGROUNDS if b != c]))
        if is_heldout(sc) == want:
            return sc


def _valid(sc) -> bool:
    if isinstance(sc, Single):
        return sc.colour != sc.background
    return sc.colour1 != sc.colour2 and sc.background not in (sc.colour1, sc.colour2)


FIELD_VALUES = {"shape": SHAPES, "colour": SHAPE_COLOURS, "size": list(SIZES), "position": POS_NAMES,
                "background": BACKGROUNDS, "shape1": SHAPES, "shape2": SHAPES, "relation": RELATIONS,
                "colour1": SHAPE_COLOURS, "colour2": SHAPE_COLOURS}


def variant(sc, field, rng, split="train"):
    """sc with `field` changed to another valid value, in `split`; None if there is none."""
    for v in rng.permutation([v for v in FIELD_VALUES[field] if v != getattr(sc, field)]):
        cand = type(sc)(**{**sc.__dict__, field: str(v)})
        if _valid(cand) and is_heldout(cand) == (split == "heldout"):
            return cand
    return None


GROUP = 4  # scenes per group


def swap_colours(sc, split):
    """The pair with its two colours exchanged (same shapes, same relation), in `split`; None if there is none."""
    cand = Pair(**{**sc.__dict__, "colour1": sc.colour2, "colour2": sc.colour1})
    return cand if cand != sc and _valid(cand) and is_heldout(cand) == (split == "heldout") else None


def sample_group(rng, split="train"):
    """A scene and three near-copies that each differ from it in one attribute. A contrastive batch made of
    such groups can only be told apart by reading every attribute, which in-batch negatives of random scenes
    never demand (colour alone suffices).

    One object: position, shape, and one of colour / size / background. Two objects (half of the groups):
    relation, the colours swapped between the two shapes, and one of shape1 / shape2 / colour1 / colour2 /
    background. The swapped copy is what teaches CLIP binding: it has the same colours, shapes and relation
    words as the scene, so only which colour goes with which shape tells them apart."""
    while True:
        sc = sample_scene(rng, split, pair_prob=0.5)
        if isinstance(sc, Single):
            fields = ["position", "shape", _pick(rng, ["colour", "size", "background"])]
        else:
            fields = ["relation", "swap_colours", _pick(rng, ["shape1", "shape2", "colour1", "colour2", "background"])]
        group = [sc] + [swap_colours(sc, split) if f == "swap_colours" else variant(sc, f, rng, split) for f in fields]
        if all(group):
            return group


# ----------------------------------------------------------------------------- rendering
SS = 4  # supersampling factor


def _shape_polygon(shape, cx, cy, r, n_circle=64):
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == "triangle":  # apex up, bounding box 2r x 2r centred at (cx, cy)
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "circle":
        return [(cx + r * math.cos(2 * math.pi * k / n_circle), cy + r * math.sin(2 * math.pi * k / n_circle))
                for k in range(n_circle)]
    raise ValueError(shape)


def _draw(draw, shape, colour, cx, cy, r):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=PALETTE[colour])
    else:
        draw.polygon(_shape_polygon(shape, cx, cy, r), fill=PALETTE[colour])


def render(sc, rng, size=128) -> Image.Image:
    """Render a scene at `size` px (antialiased by supersampling). Geometry jitter comes from rng."""
    S = size * SS
    img = Image.new("RGB", (S, S), PALETTE[sc.background])
    d = ImageDraw.Draw(img)
    if isinstance(sc, Single):
        row, col = POS_CELL[sc.position]
        ext = SIZES[sc.size] * (1 + rng.uniform(-0.08, 0.08))
        cx = CELL_CENTRE[col] + rng.uniform(-0.04, 0.04)
        cy = CELL_CENTRE[row] + rng.uniform(-0.04, 0.04)
        _draw(d, sc.shape, sc.colour, cx * S, cy * S, ext / 2 * S)
    else:
        ext = 0.30 * (1 + rng.uniform(-0.08, 0.08))
        a = rng.uniform(0.22, 0.30)   # along the relation axis: first object's coordinate
        b = rng.uniform(0.70, 0.78)   # second object's
        o1 = rng.uniform(0.35, 0.65)  # across the axis
        o2 = o1 + rng.uniform(-0.08, 0.08)
        if sc.relation == "left of":
            p1, p2 = (a, o1), (b, o2)
        elif sc.relation == "right of":
            p1, p2 = (b, o1), (a, o2)
        elif sc.relation == "above":
            p1, p2 = (o1, a), (o2, b)
        else:
            p1, p2 = (o1, b), (o2, a)
        _draw(d, sc.shape1, sc.colour1, p1[0] * S, p1[1] * S, ext / 2 * S)
        _draw(d, sc.shape2, sc.colour2, p2[0] * S, p2[1] * S, ext / 2 * S)
    return img.resize((size, size), Image.BOX)


# ----------------------------------------------------------------------------- judge
_PAL_NAMES = list(PALETTE)
_PAL = np.array([PALETTE[c] for c in _PAL_NAMES], dtype=np.float32)


def _nearest_colour_map(a: np.ndarray) -> np.ndarray:
    """[H,W,3] uint8 -> [H,W] palette index (nearest in RGB)."""
    d = ((a[:, :, None, :].astype(np.float32) - _PAL[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """4-connected largest component of a boolean mask (pure numpy/python flood fill; masks are small)."""
    H, W = mask.shape
    lab = np.zeros((H, W), np.int32)
    best, best_n, cur = 0, 0, 0
    for y0, x0 in zip(*np.nonzero(mask)):
        if lab[y0, x0]:
            continue
        cur += 1
        stack = [(y0, x0)]
        lab[y0, x0] = cur
        n = 0
        while stack:
            y, x = stack.pop()
            n += 1
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < H and 0 <= xx < W and mask[yy, xx] and not lab[yy, xx]:
                    lab[yy, xx] = cur
                    stack.append((yy, xx))
        if n > best_n:
            best, best_n = cur, n
    return lab == best if best else mask


def _shape_of(mask: np.ndarray) -> str:
    """Classify a (component) mask as the ideal shape with the best IoU, drawn in the mask's bounding box."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 4:
        return "none"
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = mask[y0:y1, x0:x1]
    h, w = crop.shape
    best, best_iou = "none", -1.0
    for shape in SHAPES:
        im = Image.new("L", (w * SS, h * SS), 0)
        dr = ImageDraw.Draw(im)
        # ideal shape stretched to the bbox
        if shape == "circle":
            dr.ellipse([0, 0, w * SS - 1, h * SS - 1], fill=255)
        else:
            poly = _shape_polygon(shape, 0.5, 0.5, 0.5)
            dr.polygon([(px * w * SS, py * h * SS) for px, py in poly], fill=255)
        ref = np.asarray(im.resize((w, h), Image.BOX)) > 127
        iou = (ref & crop).sum() / max(1, (ref | crop).sum())
        if iou > best_iou:
            best, best_iou = shape, iou
    return best


def _cell_of(mask):
    ys, xs = np.nonzero(mask)
    H, W = mask.shape
    cy = (ys.min() + ys.max() + 1) / 2 / H
    cx = (xs.min() + xs.max() + 1) / 2 / W
    row = 0 if cy < 1 / 3 else (1 if cy < 2 / 3 else 2)
    col = 0 if cx < 1 / 3 else (1 if cx < 2 / 3 else 2)
    return (row, col), (cx, cy)


def judge_image(img: Image.Image, sc) -> dict:
    """Read colour/shape/position back from pixels and compare with the scene (the prompt's meaning).

    Returns {'colour': bool, 'shape': bool, 'position': bool, 'read': {...what was read...}}.
    Works at any resolution (the image is resized to 64x64 first, BOX filter).
    """
    a = np.asarray(img.convert("RGB").resize((64, 64), Image.BOX))
    idx = _nearest_colour_map(a)
    border = np.concatenate([idx[0], idx[-1], idx[:, 0], idx[:, -1]])
    bg = int(np.bincount(border, minlength=len(_PAL_NAMES)).argmax())
    fg = idx != bg
    if isinstance(sc, Single):
        if fg.sum() < 8:
            return {"colour": False, "shape": False, "position": False, "read": {"empty": True}}
        counts = np.bincount(idx[fg], minlength=len(_PAL_NAMES))
        colour = _PAL_NAMES[int(counts.argmax())]
        comp = _largest_component(idx == _PAL_NAMES.index(colour))
        shape = _shape_of(comp)
        cell, _ = _cell_of(comp)
        pos = POSITIONS[cell]
        return {"colour": colour == sc.colour, "shape": shape == sc.shape, "position": pos == sc.position,
                "read": {"colour": colour, "shape": shape, "position": pos, "background": _PAL_NAMES[bg]}}
    # pair: each named colour must be present as a sizeable region
    out = {"read": {"background": _PAL_NAMES[bg]}}
    comps, ok_col = [], True
    for c in (sc.colour1, sc.colour2):
        m = idx == _PAL_NAMES.index(c)
        if m.sum() < 12 or _PAL_NAMES.index(c) == bg:
            ok_col = False
            comps.append(None)
        else:
            comps.append(_largest_component(m))
    out["colour"] = ok_col
    if not ok_col:
        out["shape"] = out["position"] = False
        return out
    s1, s2 = _shape_of(comps[0]), _shape_of(comps[1])
    out["read"].update(shape1=s1, shape2=s2)
    out["shape"] = s1 == sc.shape1 and s2 == sc.shape2
    (_, (x1, y1)), (_, (x2, y2)) = _cell_of(comps[0]), _cell_of(comps[1])
    dx, dy = x2 - x1, y2 - y1  # object2 - object1
    if abs(dx) >= abs(dy):
        rel = "left of" if dx > 0 else "right of"
    else:
        rel = "above" if dy > 0 else "below"
    out["read"]["relation"] = rel
    out["position"] = rel == sc.relation
    return out


# ----------------------------------------------------------------------------- parsing captions back
def parse_canonical(text: str):
    """Inverse of the canonical captions (rng=None). Used by evaluate.py to recover scenes from prompts."""
    w = text.strip().lower()
    assert w.startswith("a ") and " background" in w, text
    body, bg = w[2:].rsplit(" on a ", 1)
    bg = bg.replace(" background", "").strip()
    for rel in sorted(RELATIONS, key=len, reverse=True):
        tok = f" {rel} a "
        if tok in body:
            left, right = body.split(tok)
            c1, s1 = left.split()
            c2, s2 = right.split()
            return Pair(c1, s1, rel, c2, s2, bg)
    size, colour, shape, rest = body.split(" ", 3)
    pos = next(p for p, ph in POS_PHRASES.items() if ph[0] == rest)
    return Single(shape, colour, size, pos, bg)


def scene_to_dict(sc):
    d = dict(sc.__dict__)
    d["kind"] = "single" if isinstance(sc, Single) else "pair"
    return d


def scene_from_dict(d):
    d = dict(d)
    kind = d.pop("kind")
    return Single(**d) if kind == "single" else Pair(**d)


if __name__ == "__main__":
    import sys
    rng = np.random.default_rng(0)
    n_single, n_pair = len(all_singles()), len(all_pairs())
    h_single = sum(map(is_heldout, all_singles()))
    h_pair = sum(map(is_heldout, all_pairs()))
    print(f"single combinations {n_single} (held out {h_single}); pair combinations {n_pair} (held out {h_pair})")
    for _ in range(8):
        sc = sample_scene(rng)
        print(caption(sc, rng), "|", caption(sc))
    # judge self-check on ground truth renders
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    tot = {"colour": 0, "shape": 0, "position": 0}
    fails = []
    for i in range(n):
        sc = sample_scene(rng, "heldout" if i % 2 else "train")
        r = judge_image(render(sc, rng), sc)
        for k in tot:
            tot[k] += r[k]
        if not all(r[k] for k in tot):
            fails.append((caption(sc), r["read"]))
    print({k: v / n for k, v in tot.items()})
    for f in fails[:10]:
        print("FAIL", f)

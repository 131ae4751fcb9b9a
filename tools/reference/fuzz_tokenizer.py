#!/usr/bin/python3
"""Random prompts through openai/CLIP's SimpleTokenizer, for a larger tokenizer parity check than
the committed fixture (the output is not committed: it is big and reproducible from the seed).

Three mixes: HTML-entity/whitespace/sigma fragments with Latin text; random code points from
selected blocks (controls, C1, combining marks, Greek, Cyrillic, Hebrew/Arabic, Devanagari, Thai,
Hangul, CJK, full-width forms, ligatures, emoji); random assigned code points of planes 0-3
(Python's unicodedata). Prompts that ftfy's mojibake repair would change are skipped, as in
make_tokenizer_fixture.py.

    /usr/bin/python3 tools/reference/fuzz_tokenizer.py SEED COUNT > /tmp/clip_tokenizer_fuzz.json
    ./test -Dunclip.cuda=OFF -Dtest=ClipTokenizerFuzzTest -Dunclip.tokenizer.fuzz=/tmp/clip_tokenizer_fuzz.json
"""
import json
import pathlib
import random
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "third_party" / "ftfy_src"))
sys.path.insert(0, str(ROOT / "third_party" / "clip"))
import ftfy  # noqa: E402
import simple_tokenizer  # noqa: E402

FRAGMENTS = ['&', '#', ';', 'x', '#x41;', '&#', 'amp', '<', '\r', '\u2028', '\u00a0', 'Σ', 'İ', '\u0301', 'ς', ' ', 'a',
             'the', "'s", "'ll", '&amp;', '&#39;', '&lt;', '!', '1', '22', '\n', 'Ü', 'ß', '&eacute', '&EACUTE;',
             '&#x1F600;', '&#128;']
BLOCKS = [(0x20, 0x7e), (0xa0, 0x17f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff), (0x900, 0x97f),
          (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x218f), (0x2190, 0x23ff), (0x2460, 0x24ff),
          (0x3000, 0x30ff), (0x4e00, 0x4e80), (0xac00, 0xac80), (0xfb00, 0xfb06), (0xfe30, 0xfe4f), (0xff00, 0xffef),
          (0x1f300, 0x1f64f), (0x1f900, 0x1f9ff), (0x0, 0x1f), (0x80, 0x9f)]


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    tok = simple_tokenizer.SimpleTokenizer(str(ROOT.parent / "shared/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz"))
    assigned = [c for c in range(0x20, 0x32000) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    out = []
    for i in range(count):
        mix = i % 3
        s = ""
        for _ in range(rng.randint(0, 30) if mix < 2 else rng.randint(1, 12)):
            r = rng.random()
            if mix == 2:
                s += chr(rng.choice(assigned)) if r < 0.7 else rng.choice([" ", "a", "b", "1"])
            elif r < (0.6 if mix == 0 else 0.3):
                s += rng.choice(FRAGMENTS)
            else:
                lo, hi = rng.choice(BLOCKS)
                s += chr(rng.randint(lo, hi))
        if ftfy.fix_text(s) != ftfy.fix_text(s, fix_encoding=False):
            continue
        out.append({"prompt": s, "ids": tok.encode(s)})
    json.dump({"seed": seed, "ftfy": ftfy.__version__, "cases": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Golden ids of openai/CLIP's SimpleTokenizer for the Java ClipTokenizer parity test.

Writes java/src/test/resources/fixtures/clip_tokenizer_ids.json: for each prompt, the ids of
SimpleTokenizer.encode (no start/end) and the 77-token row clip.tokenize(truncate=True) gives
(start, ids, end, zero padding; the last token forced to end when truncated — clip.tokenize's
few lines are reproduced below because clip/clip.py imports torchvision and the model zoo).

Needs (REFERENCE.md): Debian /usr/bin/python3 with python3-regex, python3-wcwidth; openai/CLIP's
clip/simple_tokenizer.py at third_party/clip/ and ftfy's source at third_party/ftfy_src/ (both
gitignored, fetched from github:openai/CLIP and github:rspeer/python-ftfy); the vocabulary at
../shared/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz.

ftfy.fix_text's mojibake repair (fix_encoding) is not ported to Java: prompts where it changes
the text are listed under "excluded" with the reason, not in "cases".

Run from the repository root: /usr/bin/python3 tools/reference/make_tokenizer_fixture.py
"""
import json
import pathlib
import platform
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "third_party" / "ftfy_src"))
sys.path.insert(0, str(ROOT / "third_party" / "clip"))
import ftfy  # noqa: E402
import regex  # noqa: E402
import simple_tokenizer  # noqa: E402

BPE = ROOT.parent / "shared" / "data" / "clip-bpe" / "bpe_simple_vocab_16e6.txt.gz"
OUT = ROOT / "java/src/test/resources/fixtures/clip_tokenizer_ids.json"
CONTEXT = 77

HAND = [
    "", " ", "   \n\t  ", "a", "A", "hello", "Hello, world!", "a photo of a cat", "A photo of a dog.",
    "an astronaut riding a horse on the moon, digital art", "a corgi wearing a red bowtie and a purple party hat",
    "It's a dog's life", "they're here, we've gone, I'm fine, you'll see, he'd know", "DON'T STOP", "Can't won't shouldn't",
    "rock'n'roll", "'s 't 're 've 'm 'll 'd", "'S'T'RE'VE'M'LL'D", "O'Brien's", "don’t curly ‘quotes’ “double”",
    "1234567890", "3.14159", "1,000,000 dollars", "2023-11-23T14:00:00Z", "v1.2.3-rc4", "#hashtag @mention $100 50% off!",
    "x^2 + y^2 = z^2", "a+b=c; d-e=f", "C++ and C# and F#", "https://example.com/path?q=1&r=2#frag", "user@example.com",
    "...", "!!!", "???!!!", "--", "—", "– en dash", "(parentheses) [brackets] {braces} <angles>", "\"quoted\" 'single'",
    "semi;colon:colon", "tab\tseparated\tvalues", "line1\nline2\r\nline3\rline4", "multiple     spaces   here",
    "  leading and trailing  ", "\u00a0non-breaking\u00a0space\u00a0", "zero\u200bwidth\u200bspace", "ideographic\u3000space",
    "café", "naïve résumé", "Ångström", "São Paulo", "Zürich Straße", "ÉCOLE", "crème brûlée", "piñata", "façade",
    "cafe\u0301 decomposed", "Æsop's fables", "œuvre", "Dvořák", "Łódź", "İstanbul", "ΣΊΣΥΦΟΣ", "Σίσυφος ς", "Москва", "Привет, мир!",
    "東京", "東京タワーの夜景", "北京烤鸭", "中文，标点。", "日本語のテキスト", "한국어 텍스트", "ไทย", "العربية", "עברית",
    "हिन्दी", "ελληνικά", "Ελληνικά", "emoji 😀", "🐶🐱🐭", "👍🏽", "👨‍👩‍👧‍👦 family", "🇯🇵 flag", "❤️ love", "☕ coffee",
    "★☆✓✗", "© ® ™", "€ £ ¥ ₹", "½ ¼ ¾", "°C", "µm", "→ ← ↑ ↓", "∑ ∫ √ ∞", "ﬁnancial ﬂow", "ＬＯＵＤ　ＮＯＩＳＥＳ",
    "ｈａｌｆｗｉｄｔｈ ｶﾀｶﾅ", "&amp;", "&lt;b&gt;bold&lt;/b&gt;", "Tom &amp; Jerry", "&quot;quoted&quot;", "&#39;apos&#39;",
    "&#x263A; smile", "&eacute;t&eacute;", "&EACUTE;T&EACUTE;", "&amp;amp;", "&amp;amp;amp;lt;", "&nbsp;spaces&nbsp;",
    "&copy 2023", "&notit; &notin;", "AT&T", "fish & chips", "<b>html</b> &amp; tags", "&#0; &#128; &#150;", "&#x110000;",
    "<|startoftext|>", "<|endoftext|>", "hello <|endoftext|> world", "<|startoftext|>a photo<|endoftext|>",
    "\x1b[31mred\x1b[0m text", "control\x00chars\x07here", "soft\u00adhyphen", "\ufeffbom at start", "replacement \ufffd char",
    "a" * 100, "ab" * 60, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a  b\n\nc", "MiXeD CaSe TeXt", "ALL CAPS SENTENCE WITH WORDS", "snake_case_identifier", "camelCaseIdentifier",
    "kebab-case-identifier", "file.name.ext", "path/to/file.png", "C:\\Windows\\System32", "a\\b\\c", "~tilde `backtick`",
    "100% | pipes | here", "a photo of a 🐱 cat", "4k, ultra hd, trending on artstation", "oil painting by Van Gogh, 1889",
    "'ſ long s", "ypogegrammeni \u0345 alone", "ǅemal ŉ ﬅ", "&NTILDE; &nTILDE; &ntilde;", "para\u2028sep\u2029end",
    "next\u0085line", "c1 \x80 \x9f \x81 controls", "ß ẞ straße", "Ǆ ǆ", "ﬃ ﬄ", "⁰¹²³ superscripts", "①②③ circled",
    "a\u2014Σ&lt; final sigma", "Ⅲ¤Σ", "ΟΔΟΣ. ΚΑΙ ΣΑΣ'Σ", "ὈΔΥΣΣΕΎΣ", 
    "the year 1999", "7 samurai", "R2-D2 and C-3PO", "H2O CO2 NaCl", "3D render", "8-bit pixel art", "x86_64", "4.5/5 stars",
]

LONG = [
    " ".join(["a photo of a very very long prompt"] * 12),
    "a beautiful landscape with mountains, rivers, forests, lakes, clouds, birds, flowers, trees, a small village, "
    "a castle on a hill, a sunset sky with orange and purple hues, highly detailed, 8k, cinematic lighting, "
    "volumetric fog, octane render, unreal engine, trending on artstation, by greg rutkowski and alphonse mucha",
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40",
    "🍎" * 40,
    "東京" * 50,
    ", ".join(str(i) for i in range(60)),
]

WORDS = ["cat", "dog", "astronaut", "painting", "city", "night", "neon", "forest", "river", "robot", "portrait", "castle",
         "sunset", "watercolor", "sketch", "golden", "retriever", "mountain", "ocean", "spaceship", "dragon", "flower"]
EXTRA = ["é", "ß", "ø", "ñ", "ç", "ü", "東", "京", "🐉", "🌸", "!", "?", ",", ".", "'s", "'ll", "'re", "123", "4.5", "&amp;",
         "  ", "\n", "—", "…", "“", "”", "‘", "’", "ﬁ", "Ａ", "½", "%", "#", "@", "(", ")", "Ω", "Ж", "ح", "ש"]
MOJIBAKE = ["cafÃ©", "Ã¼ber", "â€œquotedâ€\x9d", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows."]


def generated(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 14)):
            r = rng.random()
            if r < 0.55:
                w = rng.choice(WORDS)
                parts.append(w.upper() if rng.random() < 0.1 else w.capitalize() if rng.random() < 0.2 else w)
            elif r < 0.85:
                parts.append(rng.choice(EXTRA))
            else:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 6))))
        sep = rng.choice([" ", " ", " ", "", ", ", "  "])
        out.append(sep.join(parts))
    return out


def tokenize(tok, text):
    """clip.tokenize(text, context_length=77, truncate=True) for one text, as a list."""
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    tokens = [sot] + tok.encode(text) + [eot]
    if len(tokens) > CONTEXT:
        tokens = tokens[:CONTEXT]
        tokens[-1] = eot
    return tokens + [0] * (CONTEXT - len(tokens))


def git_head(folder):
    """The openai/CLIP commit the files were extracted from, written to third_party/clip/COMMIT."""
    f = folder / "COMMIT"
    return f.read_text().strip() if f.exists() else "unknown (no third_party/clip/COMMIT)"


def main():
    tok = simple_tokenizer.SimpleTokenizer(str(BPE))
    prompts = HAND + LONG + MOJIBAKE + generated(120, 1234)
    cases, excluded, seen = [], [], set()
    for p in prompts:
        if p in seen:
            continue
        seen.add(p)
        if ftfy.fix_text(p) != ftfy.fix_text(p, fix_encoding=False):
            excluded.append({"prompt": p, "reason": "ftfy.fix_text's mojibake repair (fix_encoding) changes it"})
            continue
        cases.append({"prompt": p, "ids": tok.encode(p), "tokenized77": tokenize(tok, p)})
    doc = {
        "description": "openai/CLIP SimpleTokenizer.encode ids (no start/end) and clip.tokenize(context_length=77, "
                       "truncate=True) rows, for the Java ClipTokenizer parity test",
        "script": "tools/reference/make_tokenizer_fixture.py",
        "vocabulary": "bpe_simple_vocab_16e6.txt.gz (openai/CLIP, from ../shared/data/clip-bpe/)",
        "reference": {
            "openai_clip_simple_tokenizer": "github.com/openai/CLIP commit " + str(git_head(ROOT / "third_party" / "clip"))
                                            + " (clip/simple_tokenizer.py)",
            "ftfy": ftfy.__version__,
            "regex": regex.__version__,
            "python": sys.version.split()[0],
            "unicodedata": __import__("unicodedata").unidata_version,
            "platform": platform.platform(),
        },
        "ftfy_fix_encoding": "ftfy.fix_text ran in full; prompts its mojibake repair would change are excluded (the Java "
                             "clean-up ports every other ftfy fixer, not the mojibake detector)",
        "context_length": CONTEXT,
        "cases": cases,
        "excluded": excluded,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = [(k, v) for k, v in doc.items() if k not in ("cases", "excluded")]
        for k, v in items:
            f.write(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n")
        f.write('  "cases": [\n')
        f.write(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n  ],\n")
        f.write('  "excluded": [\n')
        f.write(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in excluded))
        f.write("\n  ]\n}\n")
    print(f"{len(cases)} cases, {len(excluded)} excluded -> {OUT}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes the HTML5 named character references (Python's html.entities.html5, i.e. the WHATWG
table) as java/src/main/resources/dev/unclip4j/clip/html5_entities.tsv: one line per name,
`name<TAB>code points in hex, space separated`. The CLIP text clean-up (ClipTextCleaner) decodes
entities exactly as Python's html.unescape and ftfy's unescape_html do, and needs the same table.

Run: /usr/bin/python3 tools/reference/make_html_entities.py
"""
import html.entities
import pathlib
import sys

out = pathlib.Path(__file__).resolve().parents[2] / "java/src/main/resources/dev/unclip4j/clip/html5_entities.tsv"
lines = [f"# html.entities.html5 of Python {sys.version.split()[0]}: name, code points (hex)"]
for name, chars in sorted(html.entities.html5.items()):
    lines.append(name + "\t" + " ".join("%x" % ord(c) for c in chars))
out.write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"wrote {len(lines) - 1} entities to {out}")

#!/usr/bin/env python3
"""Remakes the invoice fonts in this folder from Debian's font packages.

    apt-get install fonts-noto-core fonts-droid-fallback python3-fonttools
    /usr/bin/python3 assets/fonts/make-fonts.py

Noto Sans, Noto Sans Devanagari and Noto Sans Arabic keep every glyph and every layout feature
(the shaper needs GSUB/GPOS for conjuncts and joining); only their hinting goes, which a PDF
does not use. Droid Sans Fallback is cut down to the common Han characters — GB 2312
(6,763 simplified), Big5 level 1 (5,401 traditional) and JIS X 0208 level 1 (2,965 kanji),
9,237 together — plus kana, CJK punctuation and full-width forms. The output is deterministic
for a given fontTools version.
"""

import os
import sys
import unicodedata

from fontTools import subset

HERE = os.path.dirname(os.path.abspath(__file__))
NOTO = "/usr/share/fonts/truetype/noto"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


def han(codec, leads, trails):
    """The CJK unified ideographs of a two-byte legacy character set."""
    found = set()
    for lead in leads:
        for trail in trails:
            try:
                char = bytes([lead, trail]).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(char) == 1 and unicodedata.name(char, "").startswith("CJK UNIFIED"):
                found.add(ord(char))
    return found


def cut(source, target, unicodes, features, drop=()):
    options = subset.Options()
    options.drop_tables += list(drop)
    options.hinting = False
    options.layout_features = features
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.recalc_timestamp = False
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    subset.save_font(font, os.path.join(HERE, target), options)


def main():
    every = list(range(0x110000))
    for name in ["NotoSans-Regular", "NotoSansDevanagari-Regular", "NotoSansArabic-Regular"]:
        cut(f"{NOTO}/{name}.ttf", f"{name}.ttf", every, ["*"])
    common = han("gb2312", range(0xB0, 0xF8), range(0xA1, 0xFF))
    common |= han("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)))
    common |= han("euc_jp", range(0xB0, 0xD0), range(0xA1, 0xFF))
    extra = set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
    print(f"{len(common)} Han characters", file=sys.stderr)
    # Han needs no shaping here (horizontal text only): no layout or vertical-metrics tables.
    drop = ["GSUB", "GPOS", "GDEF", "vhea", "vmtx"]
    cut(DROID, "DroidSansFallback-Han.ttf", sorted(common | extra), [], drop)


if __name__ == "__main__":
    main()

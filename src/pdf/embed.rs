//! An embedded font as the PDF needs it: a Type 0 font (Identity-H, two-byte codes) over a
//! CIDFontType2 whose TrueType program is a subset holding only the glyphs the document draws,
//! with its widths, a CID-to-glyph map and a ToUnicode CMap for text extraction.
//!
//! Codes (CIDs) are handed out per pair of glyph and text, not per glyph: the same glyph can
//! stand for different text (a glyph that ends one cluster and is alone in another), and each
//! pair needs its own ToUnicode entry. The CID-to-glyph map sends them all to the glyph.

use std::collections::HashMap;
use std::fmt::Write as _;

use subsetter::GlyphRemapper;

use super::fonts::{self, FACES};

/// Codes above this reuse an earlier code of the same glyph (its text may then be off); far
/// beyond anything an invoice reaches.
const MAX_CODES: usize = 60_000;

/// The glyphs one font draws in a document.
#[derive(Debug)]
pub(super) struct FontUse {
    pub font: usize,
    codes: HashMap<(u16, String), u16>,
    /// Glyph and text of code `i + 1` (code 0 is `.notdef` with no text).
    entries: Vec<(u16, String)>,
}

impl FontUse {
    pub fn new(font: usize) -> FontUse {
        FontUse {
            font,
            codes: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// True when the document draws nothing in this font.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The code that draws `gid` and extracts as `text`.
    pub fn code(&mut self, gid: u16, text: &str) -> u16 {
        if let Some(&code) = self.codes.get(&(gid, text.to_owned())) {
            return code;
        }
        if self.entries.len() >= MAX_CODES {
            return self
                .entries
                .iter()
                .position(|(g, _)| *g == gid)
                .and_then(|i| u16::try_from(i + 1).ok())
                .unwrap_or(0);
        }
        self.entries.push((gid, text.to_owned()));
        let code = u16::try_from(self.entries.len()).unwrap_or(0);
        self.codes.insert((gid, text.to_owned()), code);
        code
    }

    /// The width of a glyph in thousandths of an em, as the PDF's widths give it.
    pub fn width(&self, gid: u16) -> i32 {
        fonts::face(self.font)
            .and_then(|f| f.glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid)))
            .map_or(0, |w| self.thousandths(i32::from(w)))
    }

    /// A length in font units, in thousandths of an em.
    pub fn thousandths(&self, units: i32) -> i32 {
        let per_em = fonts::face(self.font).map_or(1000, |f| f.units_per_em());
        (units * 1000 + per_em / 2).div_euclid(per_em.max(1))
    }

    /// The subset font program and each code's glyph id in it (index = code).
    pub fn subset(&self) -> Option<(Vec<u8>, Vec<u16>)> {
        let mut remapper = GlyphRemapper::new();
        let mut gids = vec![0u16];
        for (gid, _) in &self.entries {
            gids.push(remapper.remap(*gid));
        }
        let program = subsetter::subset(FACES.get(self.font)?.data, 0, &remapper).ok()?;
        Some((program, gids))
    }

    /// The ToUnicode CMap: each code to its text, in UTF-16BE.
    pub fn to_unicode(&self) -> String {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let mapped: Vec<(usize, &String)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, (_, text))| !text.is_empty())
            .map(|(i, (_, text))| (i + 1, text))
            .collect();
        for block in mapped.chunks(100) {
            let _ = writeln!(cmap, "{} beginbfchar", block.len());
            for (code, text) in block {
                let utf16: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
                let _ = writeln!(cmap, "<{code:04X}> <{utf16}>");
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        cmap
    }

    /// The `/W` array: every code's width, codes 1 up.
    pub fn widths(&self) -> String {
        let widths: Vec<String> = self
            .entries
            .iter()
            .map(|(gid, _)| self.width(*gid).to_string())
            .collect();
        format!("[1 [{}]]", widths.join(" "))
    }

    /// The subset's name: six capitals drawn from the glyphs it holds, then the font's name.
    pub fn base_name(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (gid, text) in &self.entries {
            for byte in gid.to_be_bytes().iter().chain(text.as_bytes()) {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        let tag: String = (0..6)
            .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
            .collect();
        let name = FACES.get(self.font).map_or("Font", |f| f.name);
        format!("{tag}+{name}")
    }

    /// The font descriptor's metrics: `/Ascent … /FontBBox […]`, in thousandths of an em.
    pub fn metrics(&self) -> String {
        let Some(face) = fonts::face(self.font) else {
            return String::new();
        };
        let t = |v: i16| self.thousandths(i32::from(v));
        let bbox = face.global_bounding_box();
        format!(
            "/Ascent {} /Descent {} /CapHeight {} /FontBBox [{} {} {} {}]",
            t(face.ascender()),
            t(face.descender()),
            t(face.capital_height().unwrap_or(face.ascender())),
            t(bbox.x_min),
            t(bbox.y_min),
            t(bbox.x_max),
            t(bbox.y_max)
        )
    }
}

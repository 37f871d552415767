//! The writer's output read back: its cross-reference table, the fonts it embeds, their subsets
//! and their ToUnicode maps.

use std::collections::HashMap;
use std::io::Read as _;

use rustybuzz::ttf_parser;

use super::embed::FontUse;
use super::*;

/// Every stream of `pdf`, inflated.
fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&pdf[from..], b">>\nstream\n").map(|i| from + i) {
        let dict_start = rfind(&pdf[..at], b"<< /Length ").expect("a stream's dictionary");
        let length: usize = String::from_utf8_lossy(&pdf[dict_start + 11..at])
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("its length");
        let data = &pdf[at + 10..at + 10 + length];
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut inflated)
            .expect("inflates");
        found.push(inflated);
        from = at + 10 + length;
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The code-to-text entries of a ToUnicode CMap.
fn to_unicode(cmap: &str) -> HashMap<u16, String> {
    let hex = |s: &str| s.trim_matches(['<', '>']).to_owned();
    cmap.lines()
        .filter_map(|line| line.split_once("> <"))
        .map(|(code, text)| {
            let code = u16::from_str_radix(&hex(code), 16).expect("code");
            let units: Vec<u16> = hex(text)
                .as_bytes()
                .chunks(4)
                .map(|u| {
                    u16::from_str_radix(std::str::from_utf8(u).expect("hex"), 16).expect("hex")
                })
                .collect();
            (code, String::from_utf16(&units).expect("UTF-16"))
        })
        .collect()
}

/// The glyph codes a content stream shows, in order.
fn shown_codes(content: &str) -> Vec<u16> {
    let mut codes = Vec::new();
    for piece in content.split('<').skip(1) {
        let hex = piece.split('>').next().unwrap_or_default();
        for code in hex.as_bytes().chunks(4) {
            codes.push(
                u16::from_str_radix(std::str::from_utf8(code).expect("hex"), 16).expect("hex"),
            );
        }
    }
    codes
}

/// A one-line document's text as a reader extracts it: its codes through its ToUnicode map.
fn extracted(text: &str) -> String {
    let pdf = document("t", &[Line::plain(text)]);
    let streams = streams(&pdf);
    let cmap = streams
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .find(|s| s.contains("beginbfchar"))
        .expect("a ToUnicode map");
    let content = String::from_utf8_lossy(streams.last().expect("content")).into_owned();
    let map = to_unicode(&cmap);
    shown_codes(&content)
        .iter()
        .map(|code| map.get(code).cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_document_is_a_pdf_with_a_correct_cross_reference() {
    let lines: Vec<Line> = (0..130)
        .map(|i| Line::plain(format!("Line {i} (with brackets) \\ \u{0} \u{202e} 한 ☃")))
        .collect();
    let pdf = document("Invoice (1) \\ अनन्या", &lines);
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Count 3"), "130 lines need three pages");
    // Every offset in the table points at its object (offsets count bytes).
    let at = |offset: usize, expected: &str| pdf[offset..].starts_with(expected.as_bytes());
    let tail = String::from_utf8_lossy(&pdf[pdf.len() - 40..]).into_owned();
    let start: usize = tail
        .split("startxref\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.parse().ok())
        .expect("startxref offset");
    assert!(at(start, "xref"));
    let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
    let size: usize = table
        .split("/Size ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("size");
    for (i, entry) in table.lines().skip(3).take(size - 1).enumerate() {
        let offset: usize = entry[..10].parse().expect("offset");
        assert!(at(offset, &format!("{} 0 obj", i + 1)), "{entry}");
    }
    // Only the fonts drawn are embedded: Latin, and nothing for Hangul or the snowman.
    assert_eq!(text.matches("/Subtype /Type0").count(), 1);
}

#[test]
fn a_subset_holds_exactly_the_glyphs_used() {
    let mut used = FontUse::new(0);
    let face = fonts::face(0).expect("Noto Sans");
    let gids: Vec<u16> = "Hello"
        .chars()
        .map(|c| face.glyph_index(c).expect("glyph").0)
        .collect();
    for (gid, c) in gids.iter().zip("Hello".chars()) {
        used.code(*gid, &c.to_string());
    }
    let (program, map) = used.subset().expect("subset");
    let subset = ttf_parser::Face::parse(&program, 0).expect("a font");
    // .notdef and H, e, l, o: the second l is the same code.
    assert_eq!(subset.number_of_glyphs(), 5);
    assert_eq!(map.len(), 5, "codes 0 to 4");
    // Each code's glyph in the subset is as wide as the original.
    for (code, gid) in [(1u16, gids[0]), (4, gids[4])] {
        let new = ttf_parser::GlyphId(map[usize::from(code)]);
        assert_eq!(
            subset.glyph_hor_advance(new),
            face.glyph_hor_advance(ttf_parser::GlyphId(gid))
        );
    }
    assert!(program.len() < 5_000, "{} bytes", program.len());
    // In a document: one font program per script drawn, small.
    let pdf = document("t", &[Line::plain("Ada Lovelace")]);
    assert!(pdf.len() < 8_000, "{} bytes", pdf.len());
}

#[test]
fn the_to_unicode_map_gives_the_text_back() {
    for text in [
        "Ada's (Test) Shop: 20.00 USD",
        "अनन्या शर्मा",
        "上海市",
        "Ünïcödé",
    ] {
        assert_eq!(extracted(text), text);
    }
    // Right to left, the glyphs are drawn reversed and a glyph's characters are stored
    // reversed: reading both backwards gives the text.
    let arabic = "شارع الملك فهد لا";
    let backwards: String = arabic.chars().rev().collect();
    assert_eq!(extracted(arabic), backwards);
}

#[test]
fn text_strings_take_any_character() {
    assert_eq!(text_string("A("), "<FEFF00410028>");
    assert_eq!(text_string("上\n"), "<FEFF4E0A0020>");
}

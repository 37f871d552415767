//! From a line of text to positioned glyphs in the order they are drawn: the text is cleaned,
//! split into bidirectional runs (Unicode's algorithm, so Arabic reads right to left inside a
//! left-to-right line and the other way round), each run into pieces of one font, and each
//! piece shaped with rustybuzz (Devanagari conjuncts and reordering, Arabic joining).
//!
//! Each glyph also carries the text it stands for, so the PDF's ToUnicode map gives the words
//! back as written. Left to right, a cluster's characters (a syllable with its conjuncts and
//! reordered vowel signs) are spread over its glyphs in drawing order: read left to right, the
//! glyphs spell the text. Right to left, a cluster's characters (a letter and its marks, a
//! lam-alef) all go to its letter; a reader extracts a right-to-left glyph's characters right
//! to left too (poppler does), so they are stored reversed: read right to left, glyph by glyph
//! and character by character, the glyphs spell the text.

use rustybuzz::{Direction, UnicodeBuffer};
use unicode_bidi::BidiInfo;

use super::fonts;

/// The most characters of a line that are drawn; the rest are cut (a line is at most a few
/// hundred characters: an address, a product name).
pub(super) const MAX_CHARS: usize = 1000;

/// One glyph to draw. Lengths are in the font's units.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Glyph {
    /// Index in [`fonts::FACES`].
    pub font: usize,
    /// Glyph id in that font (0, `.notdef`, for a character no font has).
    pub gid: u16,
    /// How far the pen moves after it.
    pub advance: i32,
    /// Where it is drawn, from the pen.
    pub dx: i32,
    pub dy: i32,
    /// The characters it stands for: its cluster's, or none for the other glyphs of a cluster.
    pub text: String,
}

/// `text` with every control character a space and bidirectional overrides, embeddings and
/// isolates dropped (a customer's text cannot reorder the lines around it), cut to
/// [`MAX_CHARS`].
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .take(MAX_CHARS)
        .collect()
}

/// The glyphs of one line, left to right as drawn.
pub(super) fn line(text: &str) -> Vec<Glyph> {
    let text = clean(text);
    if text.is_empty() {
        return Vec::new();
    }
    let picked = fonts::pick(&text);
    // Font of each byte offset's character, for splitting runs.
    let mut font_at = vec![0usize; text.len()];
    for ((offset, c), font) in text.char_indices().zip(&picked) {
        font_at[offset..offset + c.len_utf8()].fill(*font);
    }
    let bidi = BidiInfo::new(&text, None);
    let mut glyphs = Vec::new();
    for paragraph in &bidi.paragraphs {
        let (levels, runs) = bidi.visual_runs(paragraph, paragraph.range.clone());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            let mut pieces = Vec::new();
            let mut start = run.start;
            for (offset, _) in text[run.clone()].char_indices() {
                let at = run.start + offset;
                if font_at[at] != font_at[start] {
                    pieces.push(start..at);
                    start = at;
                }
            }
            pieces.push(start..run.end);
            if rtl {
                pieces.reverse();
            }
            for piece in pieces {
                glyphs.extend(shape(&text[piece.clone()], font_at[piece.start], rtl));
            }
        }
    }
    glyphs
}

/// Shapes `text` in one font and direction; glyphs in drawing order.
fn shape(text: &str, font: usize, rtl: bool) -> Vec<Glyph> {
    let Some(face) = fonts::face(font) else {
        return Vec::new();
    };
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    });
    let shaped = rustybuzz::shape(face, &[], buffer);
    let infos = shaped.glyph_infos();
    let positions = shaped.glyph_positions();
    // Each cluster's text runs from its start to the next cluster's start.
    let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let cluster_text = |start: usize| {
        let end = starts
            .iter()
            .find(|&&s| s > start)
            .copied()
            .unwrap_or(text.len());
        text.get(start..end).unwrap_or_default()
    };
    let mut glyphs: Vec<Glyph> = infos
        .iter()
        .zip(positions)
        .map(|(info, position)| Glyph {
            font,
            gid: u16::try_from(info.glyph_id).unwrap_or(0),
            advance: position.x_advance,
            dx: position.x_offset,
            dy: position.y_offset,
            text: String::new(),
        })
        .collect();
    // Right to left, a cluster's text goes to its widest glyph (the letter, not a mark);
    // left to right, its characters go to its glyphs in drawing order, one each, the last
    // glyph taking the rest (a reader splits a glyph's box between its characters, so spreading
    // them keeps a syllable's letters together).
    let mut i = 0;
    while i < infos.len() {
        let cluster = infos[i].cluster;
        let mut j = i;
        while j < infos.len() && infos[j].cluster == cluster {
            j += 1;
        }
        let text = cluster_text(cluster as usize);
        if rtl {
            let base = (i..j).max_by_key(|&g| glyphs[g].advance).unwrap_or(i);
            glyphs[base].text = text.chars().rev().collect();
        } else {
            let chars: Vec<char> = text.chars().collect();
            for (k, glyph) in glyphs[i..j].iter_mut().enumerate() {
                glyph.text = match chars.get(k..) {
                    Some(rest) if k + 1 == j - i => rest.iter().collect(),
                    Some(rest) => rest.iter().take(1).collect(),
                    None => String::new(),
                };
            }
        }
        i = j;
    }
    glyphs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelled(glyphs: &[Glyph]) -> String {
        glyphs.iter().map(|g| g.text.as_str()).collect()
    }

    #[test]
    fn control_characters_and_overrides_do_not_survive_and_lines_are_bounded() {
        assert_eq!(clean("a\tb\nc\u{202e}d\u{2067}e\u{0}"), "a b cde ");
        assert_eq!(clean(&"x".repeat(5000)).len(), MAX_CHARS);
        assert!(line("").is_empty());
        assert!(line("\u{202e}").is_empty());
    }

    #[test]
    fn glyphs_spell_left_to_right_text_as_written() {
        for text in [
            "Ada Lovelace (Test)",
            "अनन्या शर्मा",
            "上海市 200000",
            "Café ☃",
        ] {
            let glyphs = line(text);
            assert_eq!(spelled(&glyphs), text);
            assert!(glyphs.iter().all(|g| g.gid != 0 || g.text == "☃"), "{text}");
        }
        // A conjunct takes fewer glyphs than characters; the text is all there.
        assert!(line("न्य").len() < 3);
    }

    #[test]
    fn right_to_left_text_is_drawn_reversed_and_joined() {
        let text = "شارع الملك فهد";
        let glyphs = line(text);
        assert!(glyphs.iter().all(|g| g.font == 2 && g.gid != 0));
        // Drawn right to left: the last word's glyphs come first.
        let reversed: String = text.chars().rev().collect();
        assert_eq!(spelled(&glyphs), reversed);
        // Joining picks contextual forms: the two ل of "الملك" are not the same glyph as a
        // lone ل.
        let lone = line("ل")[0].gid;
        assert!(
            glyphs
                .iter()
                .filter(|g| g.text == "ل")
                .all(|g| g.gid != lone)
        );
        // Numbers inside Arabic keep their left-to-right order.
        let mixed = line("شارع 12");
        assert_eq!(spelled(&mixed[..2]), "12");
    }
}

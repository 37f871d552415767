//! The fonts compiled into the binary (see `assets/fonts/README.md` for where they come from
//! and their licences), parsed once, and the rule that picks one for each character: the first
//! font in [`FACES`] that has a glyph for it.

use std::sync::LazyLock;

use rustybuzz::Face;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A font's PostScript name (its `BaseFont` in the PDF) and its bytes.
pub(super) struct FontFile {
    pub name: &'static str,
    pub data: &'static [u8],
}

/// The fallback list, in order: Latin (with Greek and Cyrillic) first, so digits, spaces and
/// punctuation come from it; index 0 also draws the placeholder for characters no font has.
pub(super) static FACES: [FontFile; 4] = [
    FontFile {
        name: "NotoSans-Regular",
        data: include_bytes!("../../assets/fonts/NotoSans-Regular.ttf"),
    },
    FontFile {
        name: "NotoSansDevanagari-Regular",
        data: include_bytes!("../../assets/fonts/NotoSansDevanagari-Regular.ttf"),
    },
    FontFile {
        name: "NotoSansArabic-Regular",
        data: include_bytes!("../../assets/fonts/NotoSansArabic-Regular.ttf"),
    },
    FontFile {
        name: "DroidSansFallback-Han",
        data: include_bytes!("../../assets/fonts/DroidSansFallback-Han.ttf"),
    },
];

/// The parsed faces, index for index with [`FACES`]. A font that does not parse (it cannot:
/// they are fixed bytes, checked by a test) is left out of the fallback by being `None`.
static PARSED: LazyLock<Vec<Option<Face<'static>>>> = LazyLock::new(|| {
    FACES
        .iter()
        .map(|file| Face::from_slice(file.data, 0))
        .collect()
});

/// The parsed face of font `index`.
pub(super) fn face(index: usize) -> Option<&'static Face<'static>> {
    PARSED.get(index).and_then(Option::as_ref)
}

/// True for characters that belong to the character before them and must be shaped in the
/// same run: combining marks, joiners and variation selectors.
fn clings(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    ) || matches!(c, '\u{200c}' | '\u{200d}' | '\u{fe00}'..='\u{fe0f}')
}

/// The font of each character of `text`: the first font that has it; a mark or joiner stays
/// with the character before it; a space or punctuation mark stays with the font before it
/// when that font has it (so a line of Arabic words is one run); `0` when no font has it.
pub(super) fn pick(text: &str) -> Vec<usize> {
    let has = |index: usize, c: char| face(index).is_some_and(|f| f.glyph_index(c).is_some());
    let mut picked: Vec<usize> = Vec::with_capacity(text.len());
    for c in text.chars() {
        let previous = picked.last().copied();
        let font = match previous {
            Some(p) if clings(c) => p,
            Some(p) if !c.is_alphanumeric() && has(p, c) => p,
            _ => (0..FACES.len()).find(|&i| has(i, c)).unwrap_or(0),
        };
        picked.push(font);
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_font_parses_and_each_script_has_its_own() {
        for (i, file) in FACES.iter().enumerate() {
            assert!(face(i).is_some(), "{} parses", file.name);
        }
        assert_eq!(pick("Ab 1"), vec![0, 0, 0, 0]);
        assert_eq!(pick("अनन्या"), vec![1; 6]);
        assert_eq!(pick("شارع الملك"), vec![2; 10]);
        assert_eq!(pick("上海市"), vec![3; 3]);
        // Digits after Arabic stay Latin; the space between stays Arabic.
        assert_eq!(pick("فهد 12"), vec![2, 2, 2, 2, 0, 0]);
        // No font has Hangul: the placeholder comes from the first.
        assert_eq!(pick("한"), vec![0]);
    }
}

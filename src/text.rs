//! Words as product search sees them: lowercased runs of letters and digits, their
//! stems in the shop's language, and every spelling one edit away from a word.

use std::collections::BTreeSet;

use rust_stemmers::{Algorithm, Stemmer};

/// Longest word indexed or searched, in characters (longer runs are not words a shopper types).
pub const MAX_WORD_CHARS: usize = 40;

/// Most distinct words of one product indexed (its name's words always are).
pub const MAX_WORDS_PER_PRODUCT: usize = 400;

/// Shortest word for which a misspelling is looked for: shorter words are one edit away from
/// too many others to guess which was meant.
pub const MIN_FUZZY_CHARS: usize = 3;

/// Longest word for which a misspelling is looked for (bounds the spellings tried).
pub const MAX_FUZZY_CHARS: usize = 20;

/// The words of `text`, in order, lowercased; a run longer than [`MAX_WORD_CHARS`] is skipped.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    // Lowercased first: a lowercase letter can be longer than its capital (`İ`).
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && w.chars().count() <= MAX_WORD_CHARS)
}

/// The shop's language for stemming (`EMPORIUM_SEARCH_LANGUAGE`): a Snowball stemmer, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language {
    name: &'static str,
    algorithm: Option<Algorithm>,
}

const LANGUAGES: [(&str, Option<Algorithm>); 19] = [
    ("none", None),
    ("arabic", Some(Algorithm::Arabic)),
    ("danish", Some(Algorithm::Danish)),
    ("dutch", Some(Algorithm::Dutch)),
    ("english", Some(Algorithm::English)),
    ("finnish", Some(Algorithm::Finnish)),
    ("french", Some(Algorithm::French)),
    ("german", Some(Algorithm::German)),
    ("greek", Some(Algorithm::Greek)),
    ("hungarian", Some(Algorithm::Hungarian)),
    ("italian", Some(Algorithm::Italian)),
    ("norwegian", Some(Algorithm::Norwegian)),
    ("portuguese", Some(Algorithm::Portuguese)),
    ("romanian", Some(Algorithm::Romanian)),
    ("russian", Some(Algorithm::Russian)),
    ("spanish", Some(Algorithm::Spanish)),
    ("swedish", Some(Algorithm::Swedish)),
    ("tamil", Some(Algorithm::Tamil)),
    ("turkish", Some(Algorithm::Turkish)),
];

impl Language {
    pub const ENGLISH: Language = Language {
        name: "english",
        algorithm: Some(Algorithm::English),
    };

    /// The language called `name` (lowercase), if there is a stemmer for it.
    pub fn from_name(name: &str) -> Option<Language> {
        LANGUAGES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(name, algorithm)| Language {
                name,
                algorithm: *algorithm,
            })
    }

    /// The names [`Language::from_name`] knows.
    pub fn names() -> impl Iterator<Item = &'static str> {
        LANGUAGES.iter().map(|(name, _)| *name)
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A stemmer for many words (making one is cheap, but not free).
    pub fn stemmer(&self) -> Stems {
        Stems(self.algorithm.map(Stemmer::create))
    }
}

/// Stems words of one language.
pub struct Stems(Option<Stemmer>);

impl Stems {
    /// The stem of a lowercased word (the word itself without a stemmer).
    pub fn stem(&self, word: &str) -> String {
        match &self.0 {
            Some(stemmer) => stemmer.stem(word).into_owned(),
            None => word.to_owned(),
        }
    }
}

/// What one product puts in the index: each distinct word once, with whether its name has it.
pub fn product_words(name: &str, description: &str) -> Vec<(String, bool)> {
    let in_name: BTreeSet<String> = words(name).collect();
    let mut all: Vec<(String, bool)> = in_name.iter().map(|w| (w.clone(), true)).collect();
    let mut seen = in_name;
    for word in words(description) {
        if all.len() >= MAX_WORDS_PER_PRODUCT {
            break;
        }
        if seen.insert(word.clone()) {
            all.push((word, false));
        }
    }
    all.sort();
    all
}

/// Every spelling one edit from `word` — a letter deleted, inserted, replaced, or two
/// neighbours swapped — over the letters a–z, the digits and the word's own letters. Empty for
/// words outside [`MIN_FUZZY_CHARS`]..=[`MAX_FUZZY_CHARS`].
pub fn one_edit_away(word: &str) -> BTreeSet<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = BTreeSet::new();
    if chars.len() < MIN_FUZZY_CHARS || chars.len() > MAX_FUZZY_CHARS {
        return out;
    }
    let mut alphabet: BTreeSet<char> = ('a'..='z').chain('0'..='9').collect();
    alphabet.extend(chars.iter().copied());
    let spell = |letters: &[char]| letters.iter().collect::<String>();
    for i in 0..chars.len() {
        let mut deleted = chars.clone();
        deleted.remove(i);
        out.insert(spell(&deleted));
        if i + 1 < chars.len() {
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            out.insert(spell(&swapped));
        }
        for &letter in &alphabet {
            let mut replaced = chars.clone();
            replaced[i] = letter;
            out.insert(spell(&replaced));
        }
    }
    for i in 0..=chars.len() {
        for &letter in &alphabet {
            let mut inserted = chars.clone();
            inserted.insert(i, letter);
            out.insert(spell(&inserted));
        }
    }
    out.remove(word);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_runs_of_letters_and_digits() {
        let found: Vec<String> = words("Knife_Set, 100% Café-au-lait!").collect();
        assert_eq!(found, ["knife", "set", "100", "café", "au", "lait"]);
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(words(&format!("a {long} b")).count(), 2);
        let grows = "İ".repeat(MAX_WORD_CHARS / 2 + 1);
        assert_eq!(words(&grows).count(), 0, "too long once lowercased");
    }

    #[test]
    fn english_stems_plurals_and_endings() {
        let stems = Language::ENGLISH.stemmer();
        assert_eq!(stems.stem("chairs"), stems.stem("chair"));
        assert_eq!(stems.stem("running"), "run");
        let none = Language::from_name("none").expect("known");
        assert_eq!(none.stemmer().stem("chairs"), "chairs");
        assert!(Language::from_name("klingon").is_none());
    }

    #[test]
    fn a_products_words_are_distinct_and_name_words_are_marked() {
        let words = product_words("Red Chair", "A red chair, red as a rose");
        assert_eq!(
            words,
            [
                ("a".to_owned(), false),
                ("as".to_owned(), false),
                ("chair".to_owned(), true),
                ("red".to_owned(), true),
                ("rose".to_owned(), false),
            ]
        );
    }

    #[test]
    fn one_edit_covers_swaps_deletions_insertions_and_replacements() {
        let edits = one_edit_away("chiar");
        for near in ["chair", "char", "chiars", "chiat"] {
            assert!(edits.contains(near), "{near}");
        }
        assert!(!edits.contains("chiar"));
        assert!(!edits.contains("hcira"), "two edits away");
        assert!(one_edit_away("ab").is_empty(), "too short to guess");
    }
}

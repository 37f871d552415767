//! Tax class names, as products, variants, shipping methods and rates write them.

/// The class of a product, variant or method that names none.
pub const STANDARD: &str = "standard";

/// Why `class` is not a tax class name: 1–32 of `a–z 0–9 - _`.
pub fn problem(class: &str) -> Option<&'static str> {
    let fits = (1..=32).contains(&class.len())
        && class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
    (!fits).then_some("Enter 1 to 32 lower-case letters, digits, hyphens or underscores.")
}

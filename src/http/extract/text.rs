//! Text checks shared by body fields and query parameters: what is wrong with a text a person
//! typed.

/// What is wrong with a text a person typed (a field, or a query parameter such as `search`),
/// if anything: over `max` characters, or a control character — NUL and the others but tab
/// and line breaks are no text a person typed, and PostgreSQL refuses NUL in `text`.
pub fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.chars().count() > max {
        return Some(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if value.chars().any(is_forbidden_control) {
        return Some("Null characters and control characters are not allowed.".to_owned());
    }
    None
}

/// A control character that text fields refuse: any but tab, line feed and carriage return.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

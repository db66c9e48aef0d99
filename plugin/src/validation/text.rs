//! Text as inputs give it: blank is absent, lengths are in characters, and a problem quotes a
//! value only as far as a reader needs to recognise it.

/// How much of a bad value a message quotes: enough to recognise it, never the whole of a
/// hostile megabyte.
const SHOWN_CHARS: usize = 64;

/// `text` as a message quotes it: cut to a recognisable prefix.
pub fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `Some(trimmed)` when the text has anything besides whitespace.
pub fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Length in characters, as Dotdigital counts field limits.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_cuts_long_values_on_a_char_boundary() {
        assert_eq!(shown("GBP"), "GBP");
        let long = "é".repeat(1000);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), SHOWN_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

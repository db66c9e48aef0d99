//! Reads `--record` input as a stream: one JSON value, a JSON array of values, or NDJSON
//! (one value per line). NDJSON is read line by line, so memory does not grow with the file,
//! and a bad line is reported as that record's error without stopping the others.

use std::io::BufRead;

use anyhow::Result;
use serde_json::Value;

/// One record, or why its text is not a record.
pub type Item = Result<Value, NotJson>;

/// A line (or document) of the input that does not parse as JSON: that record's `input` error.
#[derive(Debug)]
pub struct NotJson(pub serde_json::Error);

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not JSON: {}", self.0)
    }
}

impl std::error::Error for NotJson {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Calls `push` for each record in order; stops early when `push` returns false. Every
/// record gets an item, good or bad: nothing in the input is silently skipped.
pub fn read_records(mut input: Box<dyn BufRead + Send>, mut push: impl FnMut(Item) -> bool) -> Result<()> {
    let mut first = Vec::new();
    // Skip blank lines to find the first value.
    loop {
        first.clear();
        if input.read_until(b'\n', &mut first)? == 0 {
            return Ok(());
        }
        if let Some(rest) = first.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
            first = rest.to_vec();
        }
        if !first.trim_ascii().is_empty() {
            break;
        }
    }
    let head = first.trim_ascii_start().first().copied();
    let first_is_a_record = serde_json::from_slice::<Value>(&first).is_ok();
    if head != Some(b'[') && (first_is_a_record || head != Some(b'{')) {
        // NDJSON (or one value on one line): line by line, in constant memory.
        if !push(parse_line(&first)) {
            return Ok(());
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if !line.trim_ascii().is_empty() && !push(parse_line(&line)) {
                return Ok(());
            }
        }
    }
    // A JSON array or a pretty-printed value: read it whole.
    let mut text = first;
    input.read_to_end(&mut text)?;
    let mut items = Vec::new();
    for value in serde_json::Deserializer::from_slice(&text).into_iter::<Value>() {
        match value {
            Ok(Value::Array(records)) => items.extend(records.into_iter().map(Ok)),
            Ok(value) => items.push(Ok(value)),
            Err(_) => {
                // Not one document after all: judge each line on its own instead.
                items = text.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()).map(parse_line).collect();
                break;
            }
        }
    }
    for item in items {
        if !push(item) {
            break;
        }
    }
    Ok(())
}

fn parse_line(line: &[u8]) -> Item {
    serde_json::from_slice::<Value>(line).map_err(NotJson)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        read_records(Box::new(std::io::Cursor::new(text.to_string())), |i| {
            items.push(i);
            true
        })
        .unwrap();
        items
    }

    #[test]
    fn shapes() {
        assert_eq!(read("{\"id\":1}\n\n{\"id\":2}\n").len(), 2);
        assert_eq!(read("[{\"id\":1},{\"id\":2},{\"id\":3}]").len(), 3);
        assert_eq!(read("{\n  \"id\": 1\n}\n").len(), 1);
        let items = read("{\"id\":1}\nnot json\n{\"id\":3}\n");
        assert_eq!(items.len(), 3);
        assert!(items[1].is_err() && items[2].is_ok());
        assert!(read("").is_empty());
    }

    #[test]
    fn bad_bytes_and_a_bad_first_line_lose_nothing() {
        let mut bytes = b"{\"id\":1}\n{\"id\":\"caf".to_vec();
        bytes.extend([0xE9, b'"', b'}', b'\n']);
        bytes.extend(b"{\"id\":3}\n");
        let mut items = Vec::new();
        read_records(Box::new(std::io::Cursor::new(bytes)), |i| {
            items.push(i);
            true
        })
        .unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_err() && items[2].is_ok());

        let items = read("{\"id\": broken\n{\"id\":2}\n{\"id\":3}\n");
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[0].is_err() && items[1].is_ok() && items[2].is_ok());
        assert_eq!(read("\u{feff}{\"id\":1}\n{\"id\":2}\n").len(), 2);
        assert_eq!(read("garbage\n{\"id\":2}\n").len(), 2);
    }
}

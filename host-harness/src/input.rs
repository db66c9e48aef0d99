//! Reads `--record` input as a stream: one JSON value, a JSON array of values, or NDJSON
//! (one value per line). NDJSON is read line by line, so memory does not grow with the file,
//! and a bad line is reported as that record's error without stopping the others.

use std::io::BufRead;

use anyhow::Result;
use serde_json::Value;

/// One record, or why its text is not a record.
pub type Item = Result<Value, String>;

/// Calls `push` for each record in order; stops early when `push` returns false.
pub fn read_records(mut input: Box<dyn BufRead + Send>, mut push: impl FnMut(Item) -> bool) -> Result<()> {
    let mut first = String::new();
    // Skip blank lines to find the first value.
    loop {
        first.clear();
        if input.read_line(&mut first)? == 0 {
            return Ok(());
        }
        if !first.trim().is_empty() {
            break;
        }
    }
    let starts_array = first.trim_start().starts_with('[');
    if !starts_array {
        if let Ok(value) = serde_json::from_str::<Value>(&first) {
            // NDJSON (or a single one-line value): keep going line by line.
            if !push(Ok(value)) {
                return Ok(());
            }
            let mut line = String::new();
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line.trim().is_empty() {
                    continue;
                }
                let item = serde_json::from_str::<Value>(&line).map_err(|e| format!("not JSON: {e}"));
                if !push(item) {
                    return Ok(());
                }
            }
        }
    }
    // A pretty-printed value or an array: read it whole.
    let mut rest = first;
    input.read_to_string(&mut rest)?;
    let stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
    for value in stream {
        let items: Vec<Item> = match value {
            Ok(Value::Array(items)) => items.into_iter().map(Ok).collect(),
            Ok(value) => vec![Ok(value)],
            Err(e) => vec![Err(format!("not JSON: {e}"))],
        };
        let stop = items.iter().any(|i| i.is_err());
        for item in items {
            if !push(item) {
                return Ok(());
            }
        }
        if stop {
            break;
        }
    }
    Ok(())
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
}

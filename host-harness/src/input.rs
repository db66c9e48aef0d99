//! Reads `--record` and `--input` as a stream: NDJSON (one value per line), a JSON array of
//! values, or one or more (pretty-printed) values. Nothing is read whole: NDJSON line by line,
//! an array element by element, so memory holds one record at a time, never the file. Every
//! record carries the line of the file it starts on, and a bad record is reported as that
//! record's error without stopping the others.

use std::io::BufRead;

use serde_json::Value;

/// One record of the input: the line of the file it starts on (1-based), and its JSON or why
/// its text is not JSON.
#[derive(Debug)]
pub struct Item {
    pub line: usize,
    pub record: Result<Value, NotJson>,
}

/// Text of the input that is not a JSON record: that record's `input` error. Positions in the
/// message are the file's, never relative to the record's own text.
#[derive(Debug)]
pub struct NotJson {
    message: String,
}

impl NotJson {
    /// serde's error for a record's text that starts at `line`, `column` of the file.
    fn parse(error: &serde_json::Error, line: usize, column: usize) -> NotJson {
        let text = error.to_string();
        // serde appends the position inside the text it was given; the file's replaces it.
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let problem = text.strip_suffix(&suffix).unwrap_or(&text);
        if error.line() == 0 {
            return NotJson { message: format!("{problem} (the record starting on line {line})") };
        }
        let at_line = line + error.line() - 1;
        let at_column = if error.line() == 1 { column + error.column().saturating_sub(1) } else { error.column() };
        NotJson { message: format!("{problem} at line {at_line} column {at_column} of the input") }
    }

    /// The input's structure is broken beyond this point: what was found, and where.
    fn structure(message: String) -> NotJson {
        NotJson { message }
    }
}

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not JSON: {}", self.message)
    }
}

impl std::error::Error for NotJson {}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The largest record the harness reads (an iPaaS.com record is kilobytes): a longer one is
/// that record's `input` error, and reading goes on after it, so one huge line (or
/// `--record /dev/zero`) never holds gigabytes.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// The record at `line` is larger than [`MAX_RECORD_BYTES`].
fn too_large(line: usize) -> NotJson {
    NotJson::structure(format!(
        "the record starting on line {line} is larger than {} MiB: it is skipped",
        MAX_RECORD_BYTES >> 20
    ))
}

/// One line into `buf` (cleared first), like `read_until(b'\n')`, but never more than
/// `MAX_RECORD_BYTES`: the rest of a longer line is read and dropped, and `Ok((n, true))`
/// says so. `n` is 0 at the end of the input.
fn read_line_capped(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut total = 0;
    let mut too_long = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok((total, too_long));
        }
        let (chunk, ends) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long && buf.len() + used <= MAX_RECORD_BYTES {
            buf.extend_from_slice(chunk);
        } else if !too_long {
            too_long = true;
            buf.clear();
        }
        total += used;
        input.consume(used);
        if ends {
            return Ok((total, too_long));
        }
    }
}

/// Calls `push` for each record in order; stops early when `push` returns false. Every
/// record gets an item, good or bad: nothing in the input is silently skipped. An array
/// whose structure breaks (an element never closed, a missing comma) ends with an item
/// naming the line, as nothing after it can be told apart.
pub fn read_records(mut input: Box<dyn BufRead + Send>, mut push: impl FnMut(Item) -> bool) -> std::io::Result<()> {
    let mut line_number = 0;
    let mut first = Vec::new();
    // Skip blank lines to find the first value.
    loop {
        let (read, too_long) = read_line_capped(&mut input, &mut first)?;
        if read == 0 {
            return Ok(());
        }
        line_number += 1;
        if too_long {
            // The input's shape is unknown yet: a huge first line is a record of its own (NDJSON).
            if !push(Item { line: line_number, record: Err(too_large(line_number)) }) {
                return Ok(());
            }
            continue;
        }
        if line_number == 1 {
            if let Some(rest) = first.strip_prefix(BOM) {
                first = rest.to_vec();
            }
        }
        if !first.trim_ascii().is_empty() {
            break;
        }
    }
    let first_line = line_number;
    let head = first.trim_ascii_start().first().copied();
    let ndjson = match head {
        Some(b'[') => false,
        Some(b'{') if serde_json::from_slice::<Value>(&first).is_err() => {
            // A pretty-printed value, or NDJSON whose first line is broken: its next line is
            // then a record of its own, which no line inside a pretty-printed value is.
            let mut next = Vec::new();
            let mut blank_lines = Vec::new();
            loop {
                let (read, too_long) = read_line_capped(&mut input, &mut next)?;
                if read == 0 || too_long || !next.trim_ascii().is_empty() {
                    break;
                }
                blank_lines.extend_from_slice(&next);
            }
            let is_ndjson = serde_json::from_slice::<Value>(&next).is_ok();
            first.extend(blank_lines);
            first.extend_from_slice(&next);
            is_ndjson
        }
        _ => true,
    };
    let rest = std::io::Read::chain(std::io::Cursor::new(first), input);
    if ndjson {
        read_lines(rest, first_line, push)
    } else {
        let mut scanner = Scanner { input: rest, line: first_line, column: 1 };
        scanner.read_values(&mut push)
    }
}

/// NDJSON: each non-blank line is a record (a bad one is that record's error).
fn read_lines(mut input: impl BufRead, first_line: usize, mut push: impl FnMut(Item) -> bool) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut number = first_line - 1;
    loop {
        let (read, too_long) = read_line_capped(&mut input, &mut line)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if too_long {
            if !push(Item { line: number, record: Err(too_large(number)) }) {
                return Ok(());
            }
            continue;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        let record = serde_json::from_slice::<Value>(&line).map_err(|e| NotJson::parse(&e, number, 1));
        if !push(Item { line: number, record }) {
            return Ok(());
        }
    }
}

/// Where the input's structure broke: the item to report, after which nothing more is read.
struct Broken(NotJson);

/// A byte-by-byte reader of JSON text that cuts it into values without parsing them, keeping
/// the position of each in the file. Only one value's text is held at a time.
struct Scanner<R> {
    input: R,
    /// The line and (byte) column of the next byte.
    line: usize,
    column: usize,
}

impl<R: BufRead> Scanner<R> {
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) -> std::io::Result<Option<u8>> {
        let byte = self.peek()?;
        if let Some(byte) = byte {
            self.input.consume(1);
            if byte == b'\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        Ok(byte)
    }

    fn skip_whitespace(&mut self) -> std::io::Result<()> {
        while matches!(self.peek()?, Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.bump()?;
        }
        Ok(())
    }

    /// Top-level values one after the other; an array's elements are the records.
    fn read_values(&mut self, push: &mut impl FnMut(Item) -> bool) -> std::io::Result<()> {
        let outcome = loop {
            self.skip_whitespace()?;
            match self.peek()? {
                None => return Ok(()),
                Some(b'[') => match self.read_array(push)? {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(broken) => break broken,
                },
                Some(_) => match self.read_value()? {
                    Ok(item) => {
                        if !push(item) {
                            return Ok(());
                        }
                    }
                    Err(broken) => break broken,
                },
            }
        };
        push(Item { line: self.line, record: Err(outcome.0) });
        Ok(())
    }

    /// The elements of the array starting here, each pushed as a record. `Ok(false)`: `push`
    /// asked to stop.
    fn read_array(&mut self, push: &mut impl FnMut(Item) -> bool) -> std::io::Result<Result<bool, Broken>> {
        let opened = self.line;
        self.bump()?;
        let unclosed = |scanner: &Self| {
            Broken(NotJson::structure(format!(
                "the array opened on line {opened} is not closed at the end of the input (line {})",
                scanner.line
            )))
        };
        loop {
            self.skip_whitespace()?;
            match self.peek()? {
                None => return Ok(Err(unclosed(self))),
                Some(b']') => {
                    self.bump()?;
                    return Ok(Ok(true));
                }
                Some(_) => {}
            }
            let item = match self.read_value()? {
                Ok(item) => item,
                Err(broken) => return Ok(Err(broken)),
            };
            let element_line = item.line;
            if !push(item) {
                return Ok(Ok(false));
            }
            self.skip_whitespace()?;
            match self.peek()? {
                Some(b',') => {
                    self.bump()?;
                }
                Some(b']') => {
                    self.bump()?;
                    return Ok(Ok(true));
                }
                None => return Ok(Err(unclosed(self))),
                Some(other) => {
                    return Ok(Err(Broken(NotJson::structure(format!(
                        "expected `,` or `]` after the element starting on line {element_line}, found `{}` at line \
                         {} column {}",
                        char::from(other).escape_default(),
                        self.line,
                        self.column
                    )))))
                }
            }
        }
    }

    /// One value's text, parsed: an object or array to its matching close, a string to its
    /// closing quote, anything else to the next delimiter. A value whose text does not parse is
    /// its record's error; one never closed breaks the input.
    fn read_value(&mut self) -> std::io::Result<Result<Item, Broken>> {
        let (line, column) = (self.line, self.column);
        let mut text = Vec::new();
        let mut closers: Vec<u8> = Vec::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut oversized = false;
        loop {
            let Some(byte) = self.peek()? else {
                if closers.is_empty() && !in_string && (!text.is_empty() || oversized) {
                    break;
                }
                let what = if in_string { "a string" } else { "the value" };
                return Ok(Err(Broken(NotJson::structure(format!(
                    "the input ends inside {what} of the record starting on line {line} (line {})",
                    self.line
                )))));
            };
            if text.len() > MAX_RECORD_BYTES {
                // Too large to keep: scanned to its end without storing, then reported.
                text.clear();
                oversized = true;
            }
            if in_string {
                self.bump()?;
                text.push(byte);
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                    if closers.is_empty() {
                        break;
                    }
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' => closers.push(b'}'),
                b'[' => closers.push(b']'),
                b'}' | b']' if closers.is_empty() => break,
                b'}' | b']' => {
                    if closers.pop() != Some(byte) {
                        return Ok(Err(Broken(NotJson::structure(format!(
                            "`{}` at line {} column {} does not close what the record starting on line {line} opened",
                            char::from(byte),
                            self.line,
                            self.column
                        )))));
                    }
                    if closers.is_empty() {
                        self.bump()?;
                        text.push(byte);
                        break;
                    }
                }
                // A bare value (number, word, garbage) ends at the next delimiter.
                b',' | b'\n' if closers.is_empty() => break,
                _ => {}
            }
            self.bump()?;
            text.push(byte);
        }
        if oversized {
            return Ok(Ok(Item { line, record: Err(too_large(line)) }));
        }
        let record = serde_json::from_slice::<Value>(&text).map_err(|e| NotJson::parse(&e, line, column));
        Ok(Ok(Item { line, record }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_bytes(bytes: Vec<u8>) -> Vec<Item> {
        let mut items = Vec::new();
        read_records(Box::new(std::io::Cursor::new(bytes)), |i| {
            items.push(i);
            true
        })
        .unwrap();
        items
    }

    fn read(text: &str) -> Vec<Item> {
        read_bytes(text.as_bytes().to_vec())
    }

    /// (line, record or the error's message) of each item.
    fn summary(items: &[Item]) -> Vec<(usize, Result<Value, String>)> {
        items.iter().map(|i| (i.line, i.record.as_ref().map(Value::clone).map_err(|e| e.to_string()))).collect()
    }

    #[test]
    fn shapes() {
        assert_eq!(read("{\"id\":1}\n\n{\"id\":2}\n").len(), 2);
        assert_eq!(read("[{\"id\":1},{\"id\":2},{\"id\":3}]").len(), 3);
        assert_eq!(read("{\n  \"id\": 1\n}\n").len(), 1);
        let items = read("{\"id\":1}\nnot json\n{\"id\":3}\n");
        assert_eq!(items.len(), 3);
        assert!(items[1].record.is_err() && items[2].record.is_ok());
        assert!(read("").is_empty());
        assert!(read("[]").is_empty());
        assert!(read("\n\n  [ \n ]\n").is_empty());
    }

    #[test]
    fn bad_bytes_and_a_bad_first_line_lose_nothing() {
        let mut bytes = b"{\"id\":1}\n{\"id\":\"caf".to_vec();
        bytes.extend([0xE9, b'"', b'}', b'\n']);
        bytes.extend(b"{\"id\":3}\n");
        let items = read_bytes(bytes);
        assert_eq!(items.len(), 3);
        assert!(items[0].record.is_ok() && items[1].record.is_err() && items[2].record.is_ok());

        let items = read("{\"id\": broken\n{\"id\":2}\n{\"id\":3}\n");
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[0].record.is_err() && items[1].record.is_ok() && items[2].record.is_ok());
        assert_eq!(items.iter().map(|i| i.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(read("\u{feff}{\"id\":1}\n{\"id\":2}\n").len(), 2);
        assert_eq!(read("\u{feff}[{\"id\":1},\n{\"id\":2}]\n").len(), 2);
        assert_eq!(read("garbage\n{\"id\":2}\n").len(), 2);
    }

    #[test]
    fn ndjson_lines_are_the_file_lines_and_errors_say_the_file_position() {
        let items = read("\n{\"id\":1}\n\n{\"id\":2}\n{\"id\": nope}\n");
        assert_eq!(items.iter().map(|i| i.line).collect::<Vec<_>>(), [2, 4, 5]);
        let message = items[2].record.as_ref().unwrap_err().to_string();
        assert_eq!(message, "not JSON: expected ident at line 5 column 9 of the input");
    }

    #[test]
    fn array_elements_may_span_lines_and_hold_any_bracket_or_quote() {
        let text = r#"[
  {
    "id": "a",
    "note": "a [ and a { and \"quoted ]\" and a } and \\",
    "lines": [[1, 2], {"x": "]"}]
  },
  {"id": "b", "tricky": "\\\"", "empty": {}}, {"id": "c"},

  "text with , and ] inside", 42, null, [1, [2]]
]"#;
        let items = summary(&read(text));
        assert_eq!(items.len(), 7, "{items:?}");
        assert_eq!(items[0].0, 2);
        let first = items[0].1.as_ref().unwrap();
        assert_eq!(first["note"], "a [ and a { and \"quoted ]\" and a } and \\");
        assert_eq!(first["lines"], json!([[1, 2], {"x": "]"}]));
        assert_eq!(items[1], (7, Ok(json!({"id": "b", "tricky": "\\\"", "empty": {}}))));
        assert_eq!(items[2], (7, Ok(json!({"id": "c"}))));
        assert_eq!(items[3], (9, Ok(json!("text with , and ] inside"))));
        assert_eq!(items[4], (9, Ok(json!(42))));
        assert_eq!(items[5], (9, Ok(Value::Null)));
        assert_eq!(items[6], (9, Ok(json!([1, [2]]))));
    }

    #[test]
    fn a_bad_element_is_its_own_error_and_the_rest_are_read() {
        let text = "[\n{\"id\": 1},\n{\"id\": 2, \"x\": nope},\n  oops  ,\n{\"id\": 4}\n]\n";
        let items = summary(&read(text));
        assert_eq!(items.len(), 4, "{items:?}");
        assert_eq!(items[0], (2, Ok(json!({"id": 1}))));
        assert_eq!(items[1].0, 3);
        assert_eq!(items[1].1, Err("not JSON: expected ident at line 3 column 17 of the input".into()));
        assert_eq!(items[2].0, 4);
        assert!(items[2].1.is_err());
        assert_eq!(items[3], (5, Ok(json!({"id": 4}))));
    }

    #[test]
    fn a_broken_array_stops_with_an_error_naming_the_line() {
        // An element never closed: everything after it is inside it.
        let items = summary(&read("[{\"id\": 1},\n{\"id\": \"2\n, {\"id\": 3}]\n"));
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items[0].1.is_ok());
        let message = items[1].1.as_ref().unwrap_err();
        assert!(message.contains("ends inside a string of the record starting on line 2"), "{message}");
        // A missing comma.
        let items = summary(&read("[{\"id\": 1}\n{\"id\": 2}]"));
        assert_eq!(items.len(), 2, "{items:?}");
        let message = items[1].1.as_ref().unwrap_err();
        assert!(message.contains("after the element starting on line 1, found `{` at line 2"), "{message}");
        // A bracket that closes the wrong thing.
        let items = summary(&read("[{\"id\": [1}]"));
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(items[0].1.as_ref().unwrap_err().contains("does not close"), "{items:?}");
        // No closing bracket.
        let items = summary(&read("[{\"id\": 1},\n{\"id\": 2}\n"));
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[2].1.as_ref().unwrap_err().contains("the array opened on line 1 is not closed"), "{items:?}");
    }

    #[test]
    fn pretty_printed_values_one_after_another() {
        let items = summary(&read("{\n  \"id\": 1\n}\n{\n  \"id\": 2\n}\n[{\"id\": 3}]\n"));
        assert_eq!(items, vec![(1, Ok(json!({"id": 1}))), (4, Ok(json!({"id": 2}))), (7, Ok(json!({"id": 3})))]);
    }

    #[test]
    fn stopping_early_reads_no_further() {
        let mut seen = 0;
        read_records(Box::new(std::io::Cursor::new("[1, 2, 3, 4]")), |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
        assert_eq!(seen, 2);
    }

    /// An array far larger than what the reader holds: the reader never runs more than a
    /// buffer's worth ahead of the records handed out, so the file is never held whole.
    #[test]
    fn a_large_array_is_read_element_by_element() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Generated {
            total: usize,
            produced: Arc<AtomicUsize>,
            pending: Vec<u8>,
        }
        impl std::io::Read for Generated {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let produced = self.produced.load(Ordering::SeqCst);
                if self.pending.is_empty() && produced < self.total {
                    self.produced.store(produced + 1, Ordering::SeqCst);
                    let separator = if produced + 1 == self.total { "]" } else { "," };
                    self.pending =
                        format!("{{\"id\": {produced}, \"pad\": \"{}\"}}{separator}\n", "x".repeat(1000)).into();
                }
                let n = buf.len().min(self.pending.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending.drain(..n);
                Ok(n)
            }
        }
        let records = 50_000; // ~50 MB of text
        let produced = Arc::new(AtomicUsize::new(0));
        let head = std::io::Cursor::new(b"[\n".to_vec());
        let source =
            std::io::Read::chain(head, Generated { total: records, produced: produced.clone(), pending: Vec::new() });
        let mut count = 0;
        let mut ahead = 0;
        read_records(Box::new(std::io::BufReader::with_capacity(1 << 16, source)), |item| {
            assert_eq!(item.record.unwrap()["id"], count);
            count += 1;
            assert_eq!(item.line, count + 1);
            ahead = ahead.max(produced.load(Ordering::SeqCst) - count);
            true
        })
        .unwrap();
        assert_eq!(count, records);
        // 64 KiB of buffer is ~64 records of 1 KB.
        assert!(ahead < 100, "the reader ran {ahead} records ahead");
    }

    #[test]
    fn a_record_larger_than_the_cap_is_its_own_error_and_the_next_is_read() {
        let huge = format!("{{\"id\":\"{}\"}}", "x".repeat(MAX_RECORD_BYTES + 10));
        // NDJSON: the huge line first, then in the middle.
        for text in [format!("{huge}\n{{\"id\":2}}\n"), format!("{{\"id\":1}}\n{huge}\n{{\"id\":3}}\n")] {
            let items = read(&text);
            let bad = items.iter().find(|i| i.record.is_err()).expect("the huge record is an error");
            assert!(bad.record.as_ref().unwrap_err().to_string().contains("larger than 16 MiB"));
            assert_eq!(items.iter().filter(|i| i.record.is_ok()).count(), items.len() - 1, "the others are read");
        }
        // An array element too large: skipped, the next element read.
        let items = read(&format!("[{{\"id\":1}},\n{huge},\n{{\"id\":3}}]"));
        let lines: Vec<(usize, bool)> = items.iter().map(|i| (i.line, i.record.is_ok())).collect();
        assert_eq!(lines, [(1, true), (2, false), (3, true)]);
    }
}

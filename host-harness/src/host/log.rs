//! Technical log as JSON lines on stderr (or in memory, for tests), one field set per
//! record: subscription, flow, record id and tracking GUID. Every line passes through the
//! redactor, so a secret the plugin or the host mentions never reaches the output.

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    pub fn parse(value: &str) -> Option<Level> {
        match value.to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }
}

/// Where lines go.
#[derive(Clone)]
pub enum LogTarget {
    Stderr,
    Memory(Arc<Mutex<Vec<String>>>),
}

/// The most a single plugin log message may be; longer ones are cut.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// Replaces every occurrence of each secret (and of its Basic-auth encoding) with `***`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 3).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// Adds `user:password` in base64, as it appears in an Authorization header.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        if !password.is_empty() {
            self.secrets.push(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

/// A handle that writes log lines with the current record's fields.
#[derive(Clone)]
pub struct LogSink {
    target: LogTarget,
    min_level: Level,
    redactor: Arc<Redactor>,
    fields: Arc<Vec<(&'static str, String)>>,
}

impl LogSink {
    pub fn new(target: LogTarget, min_level: Level, redactor: Redactor) -> Self {
        LogSink { target, min_level, redactor: Arc::new(redactor), fields: Arc::new(Vec::new()) }
    }

    /// The same sink, tagging each line with these fields as well.
    pub fn with(&self, extra: &[(&'static str, String)]) -> LogSink {
        let mut fields = (*self.fields).clone();
        fields.extend(extra.iter().cloned());
        LogSink { fields: Arc::new(fields), ..self.clone() }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A line from the host itself.
    pub fn emit(&self, level: Level, message: &str) {
        self.write(level, "host", message);
    }

    /// A line the plugin asked for.
    pub fn plugin(&self, level: Level, message: &str) {
        let mut cut = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        self.write(level, "plugin", &message[..cut]);
    }

    fn write(&self, level: Level, source: &str, message: &str) {
        if level > self.min_level {
            return;
        }
        let mut line = serde_json::Map::new();
        line.insert("ts".into(), now_rfc3339().into());
        line.insert("level".into(), level.as_str().into());
        line.insert("source".into(), source.into());
        for (key, value) in self.fields.iter() {
            line.insert((*key).into(), value.clone().into());
        }
        line.insert("message".into(), self.redactor.apply(message).into());
        let text = self.redactor.apply(&serde_json::Value::Object(line).to_string());
        match &self.target {
            LogTarget::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            LogTarget::Memory(lines) => lines.lock().unwrap_or_else(|p| p.into_inner()).push(text),
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_every_field() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = LogSink::new(
            LogTarget::Memory(lines.clone()),
            Level::Debug,
            Redactor::new(["s3cret-pw".to_string()]).with_basic_auth("u@x", "s3cret-pw"),
        )
        .with(&[("record", "s3cret-pw".into())]);
        sink.plugin(Level::Info, "password is s3cret-pw, header Basic dUB4OnMzY3JldC1wdw==");
        let text = lines.lock().unwrap().join("\n");
        assert!(!text.contains("s3cret-pw"), "{text}");
        assert!(!text.contains("dUB4OnMzY3JldC1wdw=="), "{text}");
        assert!(text.contains("***"));
    }

    #[test]
    fn levels_filter() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = LogSink::new(LogTarget::Memory(lines.clone()), Level::Info, Redactor::default());
        sink.emit(Level::Debug, "hidden");
        sink.emit(Level::Warn, "shown");
        assert_eq!(lines.lock().unwrap().len(), 1);
    }
}

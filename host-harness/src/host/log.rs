//! Technical log as JSON lines on stderr (or in memory, for tests), one field set per
//! record: subscription, flow, record id and tracking GUID. Every line passes through the
//! redactor, so a secret the plugin or the host mentions never reaches the output.

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

/// The most component-controlled text (a host name, a URL) a host line repeats.
pub const MAX_ECHO_CHARS: usize = 200;

/// `text` cut to `max_chars` characters, with the length it had when cut: what host lines use
/// to mention anything the component chose, so a 64 KB host name costs 200 characters.
pub fn clip(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => text.into(),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()).into(),
    }
}

/// What replaces a secret.
const MASK: &str = "***";

/// Replaces every occurrence of each secret (and of its Basic-auth encoding) in a value with
/// `***`. It works on values, never on serialized JSON, so a secret made of JSON syntax (`","`,
/// `\`, `}`) cannot break a line; and it redacts secrets of any length: a one-character
/// password masks that character everywhere in the line's values, over-redaction being the
/// price of never printing it.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add(secret);
        }
        redactor
    }

    /// A secret, and its JSON-escaped spelling when that differs (a plugin logging a request
    /// body shows `a\"b` for the password `a"b`).
    fn add(&mut self, secret: String) {
        if secret.is_empty() {
            return;
        }
        let quoted = serde_json::Value::String(secret.clone()).to_string();
        let escaped = &quoted[1..quoted.len() - 1];
        if escaped != secret && !self.secrets.iter().any(|s| s == escaped) {
            self.secrets.push(escaped.to_string());
        }
        if !self.secrets.contains(&secret) {
            self.secrets.push(secret);
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Adds `user:password` in base64, as it appears in an Authorization header.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        if !password.is_empty() {
            self.add(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        }
        self
    }

    /// One value with every secret masked.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        // A mask next to the text around it can spell a secret again (the secret `a**`
        // beside `a` + mask): then nothing of the value is kept.
        if self.secrets.iter().any(|s| out.contains(s.as_str())) {
            return MASK.to_string();
        }
        out
    }
}

/// Lines one call may write through its sink: the plugin's own, and the host's lines about
/// what the plugin did (a denied request). Past the cap, one line says so and the rest go.
struct CallBudget {
    cap: u32,
    used: std::sync::atomic::AtomicU32,
}

/// A handle that writes log lines with the current record's fields.
#[derive(Clone)]
pub struct LogSink {
    target: LogTarget,
    min_level: Level,
    redactor: Arc<Redactor>,
    fields: Arc<Vec<(&'static str, String)>>,
    /// Set on a call's sink (`for_call`); shared by its clones.
    budget: Option<Arc<CallBudget>>,
}

impl LogSink {
    pub fn new(target: LogTarget, min_level: Level, redactor: Redactor) -> Self {
        LogSink { target, min_level, redactor: Arc::new(redactor), fields: Arc::new(Vec::new()), budget: None }
    }

    /// The same sink, tagging each line with these fields as well.
    pub fn with(&self, extra: &[(&'static str, String)]) -> LogSink {
        let mut fields = (*self.fields).clone();
        fields.extend(extra.iter().cloned());
        LogSink { fields: Arc::new(fields), ..self.clone() }
    }

    /// The sink of one call: its plugin lines and its `call_event` lines share a fresh budget
    /// of `cap` lines.
    pub fn for_call(&self, cap: u32) -> LogSink {
        let budget = CallBudget { cap, used: std::sync::atomic::AtomicU32::new(0) };
        LogSink { budget: Some(Arc::new(budget)), ..self.clone() }
    }

    /// Whether a line of `level` would be written (a summary a caller formats itself obeys it).
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.min_level
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A line from the host itself.
    pub fn emit(&self, level: Level, message: &str) {
        self.write(level, "host", message);
    }

    /// A line from the host about something the plugin made happen: it counts against the
    /// call's budget, like the plugin's own lines.
    pub fn call_event(&self, level: Level, message: &str) {
        if self.spend() {
            self.write(level, "host", message);
        }
    }

    /// A line the plugin asked for.
    pub fn plugin(&self, level: Level, message: &str) {
        if !self.spend() {
            return;
        }
        let mut cut = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        self.write(level, "plugin", &message[..cut]);
    }

    /// Takes one line from the call's budget; the first line refused says so.
    fn spend(&self) -> bool {
        let Some(budget) = &self.budget else { return true };
        let used = budget.used.fetch_add(1, std::sync::atomic::Ordering::Relaxed).saturating_add(1);
        if used == budget.cap.saturating_add(1) {
            let cap = budget.cap;
            self.write(Level::Warn, "host", &format!("the call logged more than {cap} lines: the rest are dropped"));
        }
        used <= budget.cap
    }

    fn write(&self, level: Level, source: &str, message: &str) {
        if level > self.min_level {
            return;
        }
        // `ts`, `level` and `source` come from closed sets the host writes: they carry no
        // secret and stay readable. Everything else is redacted value by value, then
        // serialized, so the line is always valid JSON.
        let mut line = serde_json::Map::new();
        line.insert("ts".into(), now_rfc3339().into());
        line.insert("level".into(), level.as_str().into());
        line.insert("source".into(), source.into());
        for (key, value) in self.fields.iter() {
            line.insert((*key).into(), self.redactor.apply(value).into());
        }
        line.insert("message".into(), self.redactor.apply(message).into());
        let text = serde_json::Value::Object(line).to_string();
        match &self.target {
            // Above the progress bar when one is on screen, so the two never tear each other.
            LogTarget::Stderr => crate::terminal::write_line(&text),
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

    /// Every value of every line that could carry a secret (all but `ts`, `level`, `source`).
    fn values(line: &str) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let object = value.as_object().expect("a log line is an object");
        object
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "ts" | "level" | "source"))
            .map(|(_, value)| value.as_str().expect("every field is a string").to_string())
            .collect()
    }

    #[test]
    fn any_password_leaves_valid_json_and_no_secret() {
        use base64::Engine as _;
        for password in ["\",\"", "\\", "\"", "a", "}", "пароль🔑", "a\"b\\c\n"] {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("u@x:{password}"));
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = LogSink::new(
                LogTarget::Memory(lines.clone()),
                Level::Debug,
                Redactor::new([password.to_string()]).with_basic_auth("u@x", password),
            )
            .with(&[("record", format!("id-{password}-1"))]);
            let body = serde_json::json!({"password": password}).to_string();
            sink.plugin(Level::Info, &format!("password {password} in the body {body}"));
            sink.emit(Level::Warn, &format!("Authorization: Basic {basic}"));
            sink.for_call(10).call_event(Level::Warn, &format!("denied {password}"));
            let lines = lines.lock().unwrap();
            assert_eq!(lines.len(), 3);
            let escaped = serde_json::Value::String(password.into()).to_string();
            let escaped = &escaped[1..escaped.len() - 1];
            for line in lines.iter() {
                for value in values(line) {
                    assert!(!value.contains(password), "{password:?} in {value:?} of {line}");
                    assert!(!value.contains(escaped), "{escaped:?} in {value:?} of {line}");
                    assert!(!value.contains(&basic), "the Basic form of {password:?} in {line}");
                }
            }
            assert!(lines[0].contains("***"), "{}", lines[0]);
        }
    }

    #[test]
    fn a_mask_never_spells_a_secret_again() {
        let redactor = Redactor::new(["a**".to_string(), "pw1".to_string()]);
        assert_eq!(redactor.apply("apw1"), "***", "`a` + mask would read `a**`");
        assert_eq!(redactor.apply("x pw1 y"), "x *** y");
        assert_eq!(Redactor::new([String::new()]).apply("text"), "text", "an empty secret masks nothing");
    }

    #[test]
    fn component_text_is_clipped() {
        assert_eq!(clip("short", 200), "short");
        let long = "é".repeat(70_000);
        let clipped = clip(&long, 200);
        assert!(clipped.starts_with(&"é".repeat(200)) && clipped.ends_with("… (140000 bytes)"), "{clipped}");
        assert!(clipped.len() < 450);
    }

    #[test]
    fn a_call_shares_one_budget_between_plugin_and_host_lines() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = LogSink::new(LogTarget::Memory(lines.clone()), Level::Debug, Redactor::default());
        let call = sink.for_call(3);
        let hooks = call.clone();
        call.plugin(Level::Info, "one");
        hooks.call_event(Level::Warn, "two");
        call.plugin(Level::Info, "three");
        hooks.call_event(Level::Warn, "four");
        call.plugin(Level::Info, "five");
        sink.emit(Level::Warn, "the platform's own line is not the call's");
        sink.for_call(3).plugin(Level::Info, "a new call starts afresh");
        let lines = lines.lock().unwrap();
        let messages: Vec<&str> = lines.iter().map(|l| l.split("\"message\":").nth(1).unwrap()).collect();
        assert_eq!(messages.len(), 6, "{lines:?}");
        assert!(messages[..3].iter().all(|m| !m.contains("four")), "{lines:?}");
        assert!(messages[3].contains("more than 3 lines"), "{lines:?}");
        assert!(messages[4].contains("the platform's own"), "{lines:?}");
        assert!(messages[5].contains("afresh"), "{lines:?}");
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

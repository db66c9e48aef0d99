//! The stdout contract: one JSON line per record, in input order, with `ok`,
//! `flow`, `record`, then `outcome` and `attempts`, or `error` with its `kind`.

use serde_json::{json, Value};

pub use crate::failure::{sync_kind, Failure};
use crate::runtime::bindings::{Account, AreaAccess, FieldIssue, RemoteError, SyncAction, SyncError, SyncOutcome};

/// A failure as the stdout contract writes it.
impl Failure {
    /// The failure in words, for a message or a log line: its kind, then what the component
    /// or Dotdigital said (each settings or record issue by its field), and where.
    pub fn text(&self) -> String {
        let error = self.to_json();
        let mut text = self.kind().to_string();
        if let Some(issues) = error["issues"].as_array() {
            let issues: Vec<String> = issues
                .iter()
                .map(|i| format!("{}: {}", i["field"].as_str().unwrap_or("?"), i["problem"].as_str().unwrap_or("")))
                .collect();
            text += &format!(": {}", issues.join("; "));
        }
        if let Some(message) = error["message"].as_str().filter(|m| !m.is_empty()) {
            text += &format!(": {message}");
        }
        if let Some(endpoint) = error["endpoint"].as_str() {
            text += &format!(" ({endpoint})");
        }
        text
    }

    /// The `error` object of an output line.
    pub fn to_json(&self) -> Value {
        match self {
            Failure::NotJson(e) => json!({"kind": self.kind(), "message": e.to_string()}),
            Failure::Record(e) => json!({"kind": self.kind(), "message": e.to_string()}),
            Failure::Fault(fault) => json!({"kind": self.kind(), "message": fault.to_string()}),
            Failure::Sync(error) => error_json(error),
            Failure::Denied(error) => {
                let mut value = error_json(error);
                value["denied"] = json!(true);
                value
            }
        }
    }
}

pub fn action_name(action: SyncAction) -> &'static str {
    match action {
        SyncAction::Created => "created",
        SyncAction::Updated => "updated",
        SyncAction::Unchanged => "unchanged",
        SyncAction::Sent => "sent",
        SyncAction::Skipped => "skipped",
    }
}

pub fn outcome_json(outcome: &SyncOutcome) -> Value {
    json!({
        "external_id": outcome.external_id,
        "action": action_name(outcome.action),
        "api_calls": outcome.api_calls,
        "messages": outcome.messages,
    })
}

fn issues(issues: &[FieldIssue]) -> Value {
    issues.iter().map(|i| json!({"field": i.field, "problem": i.problem})).collect()
}

fn remote(kind: &str, r: &RemoteError) -> Value {
    json!({"kind": kind, "status": r.status, "code": r.code, "message": r.message, "endpoint": r.endpoint})
}

/// The WIT variant name is the error's `kind`.
pub fn error_json(error: &SyncError) -> Value {
    let kind = sync_kind(error);
    match error {
        SyncError::InvalidSettings(list) | SyncError::InvalidRecord(list) => {
            json!({"kind": kind, "issues": issues(list)})
        }
        SyncError::Unauthorized(r) | SyncError::Forbidden(r) | SyncError::Rejected(r) | SyncError::Unavailable(r) => {
            remote(kind, r)
        }
        SyncError::RateLimited(l) => {
            let mut value = remote(kind, &l.remote);
            value["wait_seconds"] = json!(l.wait_seconds);
            value["scope"] = json!(l.scope);
            value["limit"] = json!(l.limit);
            value
        }
        SyncError::Transport(message) => json!({"kind": kind, "message": message}),
    }
}

pub fn ok_line(flow: &str, record: &str, outcome: &SyncOutcome, attempts: u32) -> Value {
    json!({"ok": true, "flow": flow, "record": record, "outcome": outcome_json(outcome), "attempts": attempts})
}

pub fn error_line(flow: &str, record: &str, failure: &Failure, attempts: u32) -> Value {
    json!({"ok": false, "flow": flow, "record": record, "error": failure.to_json(), "attempts": attempts})
}

/// Adds the record's `line` (1-based, the line of the input file it starts on) to its output
/// line, after `record`, so a reader finds the record whatever its id says.
pub fn with_input_line(line: &mut Value, input_line: usize) {
    let Value::Object(fields) = line else { return };
    let at = fields.keys().position(|k| k == "record").map_or(fields.len(), |i| i + 1);
    fields.shift_insert(at, "line".into(), json!(input_line));
}

pub fn account_json(account: &Account) -> Value {
    let area = |a: &AreaAccess| json!({"area": a.area, "allowed": a.allowed, "detail": a.detail});
    json!({
        "id": account.id,
        "name": account.name,
        "api_endpoint": account.api_endpoint,
        "areas": account.areas.iter().map(area).collect::<Vec<_>>(),
        "problems": account.problems.iter().map(|i| json!({"field": i.field, "problem": i.problem})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::NotJson;
    use crate::records::RecordError;
    use crate::runtime::bindings::RateLimit;
    use crate::runtime::PluginFault;

    #[test]
    fn the_type_decides_the_kind() {
        let mut not_json = None;
        crate::input::read_records(Box::new(std::io::Cursor::new("{\"id\": }\n")), |item| {
            not_json = item.record.err();
            true
        })
        .unwrap();
        let not_json: NotJson = not_json.unwrap();
        assert_eq!(
            Failure::NotJson(not_json).to_json(),
            json!({"kind": "input", "message": "not JSON: expected value at line 1 column 8 of the input"})
        );
        let record = RecordError { path: Some("lines[0].qty".into()), problem: "\"x\" is not a number".into() };
        assert_eq!(
            Failure::Record(record).to_json(),
            json!({"kind": "input", "message": "lines[0].qty: \"x\" is not a number"})
        );
        let fault = Failure::Fault(PluginFault::MemoryLimit {
            cap: 32 << 20,
            refused: crate::runtime::sandbox::LimitExceeded::Table { desired: 200_000 },
        })
        .to_json();
        assert_eq!(fault["kind"], "plugin-fault");
        assert!(fault["message"].as_str().unwrap().contains("memory limit of 32 MiB"));
        let remote = RemoteError { status: 429, code: None, message: "slow down".into(), endpoint: "GET /x".into() };
        let limited = SyncError::RateLimited(RateLimit { wait_seconds: 3, scope: None, limit: Some(10), remote });
        let mut line = error_line("contact", "7", &Failure::Sync(limited), 2);
        with_input_line(&mut line, 12);
        let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["ok", "flow", "record", "line", "error", "attempts"]);
        assert_eq!(line["line"], 12);
        assert_eq!(line["error"]["kind"], "rate-limited");
        assert_eq!(line["error"]["wait_seconds"], 3);
        assert_eq!(line["error"]["status"], 429);
        assert_eq!(Failure::Sync(SyncError::InvalidRecord(vec![])).kind(), "invalid-record");
        assert_eq!(
            Failure::Sync(SyncError::Transport("reset".into())).to_json(),
            json!({"kind": "transport", "message": "reset"})
        );
        assert_eq!(
            Failure::Denied(SyncError::Transport("HttpRequestDenied".into())).to_json(),
            json!({"kind": "transport", "message": "HttpRequestDenied", "denied": true})
        );
    }
}

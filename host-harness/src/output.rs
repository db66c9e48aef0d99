//! The stdout contract (DESIGN §5): one JSON line per record, in input order, with `ok`,
//! `flow`, `record`, then `outcome` and `attempts`, or `error` with its `kind`.

use serde_json::{json, Value};

use crate::runtime::bindings::{Account, AreaAccess, FieldIssue, RemoteError, SyncAction, SyncError, SyncOutcome};
use crate::runtime::PluginFault;

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
    match error {
        SyncError::InvalidSettings(list) => json!({"kind": "invalid-settings", "issues": issues(list)}),
        SyncError::InvalidRecord(list) => json!({"kind": "invalid-record", "issues": issues(list)}),
        SyncError::Unauthorized(r) => remote("unauthorized", r),
        SyncError::Forbidden(r) => remote("forbidden", r),
        SyncError::Rejected(r) => remote("rejected", r),
        SyncError::Unavailable(r) => remote("unavailable", r),
        SyncError::RateLimited(l) => {
            let mut value = remote("rate-limited", &l.remote);
            value["wait_seconds"] = json!(l.wait_seconds);
            value["scope"] = json!(l.scope);
            value["limit"] = json!(l.limit);
            value
        }
        SyncError::Transport(message) => json!({"kind": "transport", "message": message}),
    }
}

pub fn input_error(message: &str) -> Value {
    json!({"kind": "input", "message": message})
}

pub fn fault_error(fault: &PluginFault) -> Value {
    json!({"kind": "plugin-fault", "message": fault.to_string()})
}

pub fn ok_line(flow: &str, record: &str, outcome: &SyncOutcome, attempts: u32) -> Value {
    json!({"ok": true, "flow": flow, "record": record, "outcome": outcome_json(outcome), "attempts": attempts})
}

pub fn error_line(flow: &str, record: &str, error: Value, attempts: u32) -> Value {
    json!({"ok": false, "flow": flow, "record": record, "error": error, "attempts": attempts})
}

pub fn account_json(account: &Account) -> Value {
    let area = |a: &AreaAccess| json!({"area": a.area, "allowed": a.allowed, "detail": a.detail});
    json!({
        "id": account.id,
        "name": account.name,
        "api_endpoint": account.api_endpoint,
        "areas": account.areas.iter().map(area).collect::<Vec<_>>(),
    })
}

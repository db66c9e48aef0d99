//! Reads Dotdigital's error answers (v2 `{"message"}` and v3 `{"errorCode","description"}`)
//! into the contract's typed errors, deciding what the platform should do with each.

use crate::platform::HttpResponse;
use crate::wit::{RateLimit, RemoteError, SyncError};

/// The parts of an error body the connector acts on.
#[derive(Debug, Default, PartialEq)]
pub struct ErrorBody {
    /// `contacts:invalidId` (v3) or `ERROR_CAMPAIGN_NOT_FOUND` (v2).
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Parses either generation of error body; anything else yields an empty `ErrorBody`.
pub fn parse_error_body(body: &[u8]) -> ErrorBody {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return ErrorBody::default();
    };
    if let Some(code) = value.get("errorCode").and_then(|c| c.as_str()) {
        let mut message = value.get("description").and_then(|d| d.as_str()).unwrap_or_default().to_string();
        // Details name the offending item; `error` is the docs' prose variant of `description`.
        if let Some(details) = value.get("details").and_then(|d| d.as_array()) {
            for detail in details.iter().take(10) {
                let item = detail.get("item").and_then(|i| i.as_str()).unwrap_or("");
                let text =
                    detail.get("description").or_else(|| detail.get("error")).and_then(|t| t.as_str()).unwrap_or("");
                if !item.is_empty() || !text.is_empty() {
                    message.push_str(&format!("; {item}: {text}"));
                }
            }
        }
        return ErrorBody { code: Some(code.to_string()), message: Some(message) };
    }
    if let Some(message) = value.get("message").and_then(|m| m.as_str()) {
        return ErrorBody { code: last_v2_code(message), message: Some(message.trim().to_string()) };
    }
    ErrorBody::default()
}

/// The last `ERROR_[A-Z0-9_]+` in a v2 message: the code Dotdigital appends to its sentence.
fn last_v2_code(message: &str) -> Option<String> {
    let bytes = message.as_bytes();
    let mut found = None;
    let mut i = 0;
    while let Some(pos) = message[i..].find("ERROR_") {
        let start = i + pos;
        let mut end = start + "ERROR_".len();
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase() || bytes[end].is_ascii_digit() || bytes[end] == b'_')
        {
            end += 1;
        }
        if end > start + "ERROR_".len() {
            found = Some(message[start..end].to_string());
        }
        i = end;
    }
    found
}

/// v2 codes that mean "try again later" although they come with a 400.
const RETRYABLE_V2: &[&str] = &[
    "ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE",
    "ERROR_ADDRESSBOOK_IN_USE",
    "ERROR_IMPORT_TOOMANYACTIVEIMPORTS",
    "ERROR_TRANSACTIONAL_DATA_COLLECTION_IS_RESTORING",
];

/// The hourly flat-rate cap, reported as a 400.
const FLAT_CAP: &str = "ERROR_APIUSAGE_EXCEEDED";
const FLAT_CAP_WAIT_SECONDS: u32 = 3600;
/// iPaaS.com's own template assumes a minute when the reset is unknown.
const DEFAULT_WAIT_SECONDS: u32 = 60;

/// Whether this answer is one the connector can never act on itself (auth, limits, outages),
/// as opposed to one a flow may read (2xx, a 404 it knows how to recover from, …).
pub fn is_blocking(response: &HttpResponse) -> bool {
    let status = response.status;
    if matches!(status, 401 | 403 | 429) || status >= 500 {
        return true;
    }
    if status == 400 {
        if let Some(code) = parse_error_body(&response.body).code {
            return code == FLAT_CAP || RETRYABLE_V2.contains(&code.as_str());
        }
    }
    false
}

/// Turns a non-success answer into the typed error the platform acts on.
pub fn classify(response: &HttpResponse, endpoint: &str, now_unix: i64) -> SyncError {
    let parsed = parse_error_body(&response.body);
    let status = response.status;
    let remote = RemoteError {
        status,
        code: parsed.code.clone(),
        message: parsed.message.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| status_summary(status)),
        endpoint: endpoint.to_string(),
    };
    let code = parsed.code.as_deref().unwrap_or("");
    match status {
        401 => SyncError::Unauthorized(remote),
        403 => SyncError::Forbidden(remote),
        429 => SyncError::RateLimited(rate_limit(response, remote, now_unix)),
        400 if code == FLAT_CAP => SyncError::RateLimited(RateLimit {
            wait_seconds: FLAT_CAP_WAIT_SECONDS,
            scope: Some("flat".into()),
            limit: None,
            remote,
        }),
        _ if RETRYABLE_V2.contains(&code) => SyncError::Unavailable(remote),
        s if s >= 500 => SyncError::Unavailable(remote),
        // Dotdigital's 4xx bodies are JSON (or empty); one that is not was damaged on the
        // way or came from something in between, so the answer is not Dotdigital's verdict.
        _ if garbled(&response.body) => {
            SyncError::Unavailable(RemoteError { message: format!("unreadable answer (HTTP {status})"), ..remote })
        }
        _ => SyncError::Rejected(remote),
    }
}

/// A body that is there but is not JSON.
fn garbled(body: &[u8]) -> bool {
    !body.iter().all(u8::is_ascii_whitespace) && serde_json::from_slice::<serde_json::Value>(body).is_err()
}

/// Seconds to wait from `X-RateLimit-Reset` (epoch when > 10^9, else delta) or `Retry-After`.
fn rate_limit(response: &HttpResponse, remote: RemoteError, now_unix: i64) -> RateLimit {
    let number = |name: &str| response.header(name).and_then(|v| v.trim().parse::<i64>().ok());
    let wait = match (number("x-ratelimit-reset"), number("retry-after")) {
        (Some(reset), _) if reset > 1_000_000_000 => reset.saturating_sub(now_unix),
        (Some(reset), _) => reset,
        (None, Some(after)) => after,
        (None, None) => DEFAULT_WAIT_SECONDS as i64,
    };
    RateLimit {
        wait_seconds: wait.clamp(1, 86_400) as u32,
        scope: response.header("x-ratelimit-scope").map(str::to_string),
        limit: number("x-ratelimit-limit").and_then(|l| u32::try_from(l).ok()),
        remote,
    }
}

fn status_summary(status: u16) -> String {
    match status {
        401 => "unauthorized: check the API user and password".into(),
        403 => "forbidden: access is denied".into(),
        404 => "not found".into(),
        429 => "too many requests".into(),
        s if s >= 500 => format!("Dotdigital is unavailable (HTTP {s})"),
        s => format!("HTTP {s}"),
    }
}

/// An answer whose status said success but whose body could not be read.
pub fn unreadable(status: u16, endpoint: &str, what: &str) -> SyncError {
    SyncError::Unavailable(RemoteError {
        status,
        code: None,
        message: format!("unreadable answer: {what}"),
        endpoint: endpoint.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn v3_body_with_details() {
        let body = br#"{"errorCode":"contacts:contactNotFound","description":"Contact not found","details":[{"item":"email","description":"Not found using the identifier 'email'"}]}"#;
        let parsed = parse_error_body(body);
        assert_eq!(parsed.code.as_deref(), Some("contacts:contactNotFound"));
        assert!(parsed.message.unwrap().contains("email: Not found"));
    }

    #[test]
    fn v2_code_is_the_last_match() {
        let parsed = parse_error_body(br#"{"message":"Campaign not found ERROR_X. ERROR_CAMPAIGN_NOT_FOUND "}"#);
        assert_eq!(parsed.code.as_deref(), Some("ERROR_CAMPAIGN_NOT_FOUND"));
        let parsed = parse_error_body(br#"{"message":"Authorization has been denied for this request."}"#);
        assert_eq!(parsed.code, None);
        assert_eq!(parse_error_body(b"<html>oops"), ErrorBody::default());
    }

    #[test]
    fn statuses_map_to_decisions() {
        let now = 1_700_000_000;
        assert!(matches!(classify(&response(401, &[], ""), "GET /x", now), SyncError::Unauthorized(_)));
        assert!(matches!(classify(&response(503, &[], ""), "GET /x", now), SyncError::Unavailable(_)));
        assert!(matches!(
            classify(
                &response(400, &[], r#"{"message":"Try later. ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"}"#),
                "GET /x",
                now
            ),
            SyncError::Unavailable(_)
        ));
        assert!(
            matches!(classify(&response(409, &[], r#"{"errorCode":"contacts:idAlreadyExists","description":"x"}"#), "GET /x", now), SyncError::Rejected(r) if r.code.as_deref() == Some("contacts:idAlreadyExists"))
        );
        assert!(matches!(classify(&response(412, &[], ""), "POST /x", now), SyncError::Rejected(_)));
        assert!(matches!(
            classify(&response(404, &[], r#"{"errorCode":"insightData:colle"#), "PUT /x", now),
            SyncError::Unavailable(_)
        ));
        match classify(
            &response(
                400,
                &[],
                r#"{"message":"Your account has generated excess API activity. ERROR_APIUSAGE_EXCEEDED"}"#,
            ),
            "GET /x",
            now,
        ) {
            SyncError::RateLimited(r) => assert_eq!((r.wait_seconds, r.scope.as_deref()), (3600, Some("flat"))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reset_header_epoch_or_delta_any_case() {
        let now = 1_700_000_000;
        let epoch = response(
            429,
            &[("X-RateLimit-Reset", "1700000007"), ("x-ratelimit-scope", "High"), ("X-RATELIMIT-LIMIT", "35")],
            "",
        );
        match classify(&epoch, "GET /x", now) {
            SyncError::RateLimited(r) => {
                assert_eq!(r.wait_seconds, 7);
                assert_eq!(r.scope.as_deref(), Some("High"));
                assert_eq!(r.limit, Some(35));
            }
            other => panic!("{other:?}"),
        }
        let delta = response(429, &[("x-ratelimit-reset", "12")], "");
        assert!(matches!(classify(&delta, "GET /x", now), SyncError::RateLimited(r) if r.wait_seconds == 12));
        let past = response(429, &[("x-ratelimit-reset", "1699999990")], "");
        assert!(matches!(classify(&past, "GET /x", now), SyncError::RateLimited(r) if r.wait_seconds == 1));
        let none = response(429, &[], "");
        assert!(matches!(classify(&none, "GET /x", now), SyncError::RateLimited(r) if r.wait_seconds == 60));
    }
}

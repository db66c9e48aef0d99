//! The log of every Dotdigital request the simulator received, in arrival order, for tests that
//! check what a client sent, when, and how many at once. It never holds a secret: the
//! `Authorization` header is not kept (`account_id` says whose credentials were valid) and the
//! integration token only as a [`Redacted`] fingerprint.

use serde::Serialize;

use crate::redacted::Redacted;

/// Longest request body the log keeps; longer ones are cut (the request itself is not).
pub(crate) const LOGGED_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query as sent (still percent-encoded).
    pub path: String,
    /// The `Host` header: tells r1 from r2 when a harness forwards to the simulator.
    pub host: String,
    /// The account whose credentials the request carried, if they were valid.
    pub account_id: Option<i64>,
    /// The status answered; 0 when no response was written (dropped, or still in flight).
    pub status: u16,
    /// Milliseconds since the simulator started.
    pub started_ms: f64,
    pub finished_ms: f64,
    /// Requests being served when this one arrived, itself included.
    pub in_flight_at_start: u32,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub user_agent: Option<String>,
    /// The `x-ddg-integration-token` header, fingerprinted: compare with [`Redacted::of`].
    pub integration_token: Option<Redacted>,
    /// The body as text (lossy UTF-8), cut at [`LOGGED_BODY_LIMIT`] bytes.
    pub body: String,
}

/// Records by arrival; a sequence number lets a request update its entry after a reset.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Vec<RequestRecord>,
    first_seq: u64,
}

impl RequestLog {
    /// Appends a record and returns the sequence number to update it by.
    pub(crate) fn open(&mut self, record: RequestRecord) -> u64 {
        self.entries.push(record);
        self.first_seq + self.entries.len() as u64 - 1
    }

    /// Updates a record unless the log was cleared since it was opened.
    pub(crate) fn update(&mut self, seq: u64, change: impl FnOnce(&mut RequestRecord)) {
        let index = seq.checked_sub(self.first_seq).and_then(|i| usize::try_from(i).ok());
        if let Some(record) = index.and_then(|i| self.entries.get_mut(i)) {
            change(record);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
    }

    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.entries.clone()
    }
}

/// The body as the log keeps it.
pub(crate) fn logged_body(body: &[u8]) -> String {
    let kept = &body[..body.len().min(LOGGED_BODY_LIMIT)];
    String::from_utf8_lossy(kept).into_owned()
}

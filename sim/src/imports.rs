//! The two asynchronous bulk imports (API.md §3b `PUT /contacts/v3/import`, §3c
//! `PUT /insightData/v3/import`): accepting one (`202 {"importId"}`), the active-import caps
//! (`429`), the status GETs, and when an import finishes. What an import does when it is
//! applied lives in `contact_import.rs` and `insight_import.rs`.
//!
//! An import is applied (and its report fixed) when it finishes, at whichever comes first: the
//! status GET after [`ImportConfig::contact_polls_to_finish`] (or `insight_…`) unfinished
//! answers, or [`ImportConfig::finish_after_ms`] after it was accepted, checked whenever its
//! account makes a call or the simulator's data is read. Until then nothing it carries is
//! visible, as with Dotdigital's asynchronous processing ("This is an async operation and you
//! will need to check when it is complete", contacts-v3.json `importContacts`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::config::ImportConfig;
use crate::contact_body::ContactPolicy;
use crate::contact_import::{parse_contact_import, ContactImport};
use crate::errors::V3Error;
use crate::insight_import::{parse_insight_import, InsightImport};
use crate::message::{decode_segment, SimResponse};
use crate::state::AccountState;

/// Which of the two import APIs an import came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportKind {
    Contacts,
    Insight,
}

impl ImportKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ImportKind::Contacts => "contacts",
            ImportKind::Insight => "insight",
        }
    }

    /// The v3 `errorCode` prefix of its routes.
    fn service(self) -> &'static str {
        match self {
            ImportKind::Contacts => "contacts",
            ImportKind::Insight => "insightData",
        }
    }
}

/// What an accepted import will do when it is applied.
pub(crate) enum Payload {
    Contacts(ContactImport),
    Insight(InsightImport),
}

enum Phase {
    Pending(Payload),
    /// Briefly, while the payload is being applied.
    Applying,
    /// The report's fields after `importId` and `status`.
    Finished(Map<String, Value>),
    /// Ended without importing anything, with this status word (the
    /// [`ImportConfig::contact_end_status`] / [`ImportConfig::insight_end_status`] knob).
    Ended(String),
}

pub(crate) struct Import {
    id: String,
    kind: ImportKind,
    accepted: Instant,
    /// Status GETs answered so far.
    polls: u32,
    /// Contacts or records submitted.
    submitted: usize,
    collection: Option<String>,
    phase: Phase,
}

impl Import {
    /// Finished or ended: no longer active, its answer fixed.
    fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished(_) | Phase::Ended(_))
    }

    /// The status word a GET answers now, without counting as a poll.
    fn status_word<'a>(&'a self, config: &'a ImportConfig) -> &'a str {
        if let Phase::Ended(word) = &self.phase {
            return word;
        }
        match (self.kind, self.is_finished()) {
            (ImportKind::Contacts, false) => &config.contact_running_status,
            (ImportKind::Contacts, true) => "Finished",
            (ImportKind::Insight, false) if self.polls <= 1 => "NotStarted",
            (ImportKind::Insight, false) => "Processing",
            (ImportKind::Insight, true) => config.insight_finished_status.word(),
        }
    }

    /// The status GET's body: only `importId` and `status` until finished, as both specs'
    /// in-progress examples show (insight-data-v3.json "Import in progress"; contacts-v3.json
    /// `inline_response_200_2` requires only those two).
    fn status_json(&self, config: &ImportConfig) -> Value {
        let mut body = Map::new();
        body.insert("importId".into(), json!(self.id));
        body.insert("status".into(), json!(self.status_word(config)));
        if let Phase::Finished(report) = &self.phase {
            body.extend(report.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(body)
    }

    /// A line of `GET /_sim/imports`.
    fn listing_json(&self, account_id: i64, config: &ImportConfig) -> Value {
        let summary = match &self.phase {
            Phase::Finished(report) => report.get("summary").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "account": account_id,
            "kind": self.kind.name(),
            "status": self.status_word(config),
            "finished": self.is_finished(),
            "polls": self.polls,
            "submitted": self.submitted,
            "collectionName": self.collection,
            "summary": summary,
        })
    }
}

/// One account's imports, oldest first.
#[derive(Default)]
pub(crate) struct ImportBook {
    list: Vec<Import>,
    by_id: HashMap<String, usize>,
}

impl ImportBook {
    fn active(&self, kind: ImportKind) -> usize {
        self.list.iter().filter(|i| i.kind == kind && !i.is_finished()).count()
    }

    pub(crate) fn listing(&self, account_id: i64, config: &ImportConfig) -> Vec<Value> {
        self.list.iter().map(|i| i.listing_json(account_id, config)).collect()
    }
}

/// What applying an import needs besides the account.
pub(crate) struct ImportContext<'a> {
    pub config: &'a ImportConfig,
    pub policy: ContactPolicy,
    /// Contact ids count up across the whole simulator.
    pub next_contact_id: &'a mut i64,
}

/// A GUID (version 4 layout) made from a run-wide sequence number: unique and reproducible.
/// contacts-v3.json and insight-data-v3.json show import ids as GUIDs
/// (`d7de900d-d337-43f6-b1e1-c8ec73e1a434`).
pub(crate) fn import_id(seq: u64) -> String {
    let digest = Sha256::digest(format!("dotdigital-sim import {seq}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The import id of a status path, lower-cased: a GUID as `8-4-4-4-12` hex digits, optionally
/// in braces, in any casing. assumed: the specs type `importId` as a string whose example is a
/// GUID; other forms .NET would parse (32 bare digits, parentheses) are refused as the stricter
/// reading.
fn parse_import_id(raw: &str) -> Option<String> {
    let decoded = decode_segment(raw)?;
    let inner = match decoded.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => decoded.as_str(),
    };
    let groups: Vec<&str> = inner.split('-').collect();
    let lengths_ok = groups.len() == 5 && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    (lengths_ok && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))).then(|| inner.to_ascii_lowercase())
}

impl AccountState {
    /// Finishes (applies) every unfinished import accepted at least `finish_after_ms` ago, oldest
    /// first.
    pub(crate) fn advance_imports(&mut self, now: Instant, context: &mut ImportContext) {
        let Some(after) = context.config.finish_after_ms.map(Duration::from_millis) else { return };
        for index in 0..self.imports.list.len() {
            let import = &self.imports.list[index];
            if !import.is_finished() && now.saturating_duration_since(import.accepted) >= after {
                self.finish_import(index, context);
            }
        }
    }

    /// Applies an import and fixes its report, or, when the end-status knob of its kind is set,
    /// ends it with that word and applies nothing (contacts-v3.json `getImportStatus` status
    /// enum: `RejectedByWatchdog`, `Failed`, `ExceedsAllowedContactLimit`; insight-data-v3.json
    /// `getImportStatus` enum: `Failed`). No report comes with such a word: the specs' report
    /// fields describe imported contacts and records.
    fn finish_import(&mut self, index: usize, context: &mut ImportContext) {
        let phase = std::mem::replace(&mut self.imports.list[index].phase, Phase::Applying);
        let end = match self.imports.list[index].kind {
            ImportKind::Contacts => &context.config.contact_end_status,
            ImportKind::Insight => &context.config.insight_end_status,
        };
        if let (Phase::Pending(_), Some(word)) = (&phase, end) {
            self.imports.list[index].phase = Phase::Ended(word.clone());
            return;
        }
        self.imports.list[index].phase = match phase {
            Phase::Pending(Payload::Contacts(payload)) => Phase::Finished(self.apply_contact_import(payload, context)),
            Phase::Pending(Payload::Insight(payload)) => {
                Phase::Finished(self.apply_insight_import(payload, context.config))
            }
            Phase::Applying => Phase::Finished(Map::new()),
            done => done,
        };
    }

    /// Accepts an import if the account has room for one more of its kind: `202 {"importId"}`.
    /// `seq` is the run-wide import counter.
    fn accept_import(
        &mut self,
        payload: Payload,
        collection: Option<String>,
        config: &ImportConfig,
        seq: &mut u64,
    ) -> Result<SimResponse, V3Error> {
        let (kind, submitted, limit) = match &payload {
            Payload::Contacts(p) => (ImportKind::Contacts, p.len(), config.max_active_contact_imports),
            Payload::Insight(p) => (ImportKind::Insight, p.len(), config.max_active_insight_imports),
        };
        if self.imports.active(kind) >= limit {
            return Err(too_many_active_imports(kind));
        }
        *seq += 1;
        let id = import_id(*seq);
        self.imports.by_id.insert(id.clone(), self.imports.list.len());
        self.imports.list.push(Import {
            id: id.clone(),
            kind,
            accepted: Instant::now(),
            polls: 0,
            submitted,
            collection,
            phase: Phase::Pending(payload),
        });
        Ok(SimResponse::json(202, &json!({ "importId": id })))
    }

    /// `PUT /contacts/v3/import`: `202 {"importId"}`, `400 contacts:badJson`,
    /// `429 contacts:tooManyActiveImports`.
    pub(crate) fn put_contact_import(&mut self, body: &[u8], config: &ImportConfig, seq: &mut u64) -> SimResponse {
        let payload = match parse_contact_import(body) {
            Ok(payload) => payload,
            Err(error) => return error.into(),
        };
        self.accept_import(Payload::Contacts(payload), None, config, seq).unwrap_or_else(Into::into)
    }

    /// `PUT /insightData/v3/import`: `202 {"importId"}`, `400 insightData:badJson`, `429`.
    pub(crate) fn put_insight_import(&mut self, body: &[u8], config: &ImportConfig, seq: &mut u64) -> SimResponse {
        let payload = match parse_insight_import(body) {
            Ok(payload) => payload,
            Err(error) => return error.into(),
        };
        if let Err(response) = self.check_import_collection(&payload) {
            return response;
        }
        let collection = Some(payload.collection.clone());
        self.accept_import(Payload::Insight(payload), collection, config, seq).unwrap_or_else(Into::into)
    }

    /// `GET /contacts/v3/import/{importId}` and `GET /insightData/v3/import/{importId}`: each
    /// call on an unfinished import counts as a poll; the one after the configured number
    /// finishes it. Another account's import, or one of the other kind, is not found.
    pub(crate) fn import_status(
        &mut self,
        kind: ImportKind,
        raw_id: &str,
        context: &mut ImportContext,
    ) -> Result<SimResponse, V3Error> {
        let service = kind.service();
        // contacts-v3.json / insight-data-v3.json `getImportStatus`: 400 `…:invalidId`,
        // 404 `…:importNotFound` with the spec's description.
        let id = parse_import_id(raw_id).ok_or_else(|| {
            V3Error::new(400, &format!("{service}:invalidId"), &format!("The import id '{raw_id}' is not a valid GUID"))
        })?;
        let not_found = || {
            V3Error::new(
                404,
                &format!("{service}:importNotFound"),
                &format!("The import request '{id}' could not be found!"),
            )
        };
        let index = *self.imports.by_id.get(&id).ok_or_else(not_found)?;
        if self.imports.list[index].kind != kind {
            return Err(not_found());
        }
        let import = &mut self.imports.list[index];
        if !import.is_finished() {
            import.polls += 1;
            let needed = match kind {
                ImportKind::Contacts => context.config.contact_polls_to_finish,
                ImportKind::Insight => context.config.insight_polls_to_finish,
            };
            if import.polls > needed {
                self.finish_import(index, context);
            }
        }
        Ok(SimResponse::json(200, &self.imports.list[index].status_json(context.config)))
    }
}

/// The 429 for one import too many. Contacts: contacts-v3.json's 429 example, verbatim.
/// Insight: assumed: the status and body are unconfirmed (API.md §9.18); the code
/// `insightData:tooManyActiveImports` is invented by the simulator after the contacts one.
fn too_many_active_imports(kind: ImportKind) -> V3Error {
    V3Error::new(
        429,
        &format!("{}:tooManyActiveImports", kind.service()),
        "Your import request cannot be accepted as too many imports are being processed for you account. Please wait for an import to complete and then resubmit.",
    )
}

#[cfg(test)]
mod tests {
    use super::{import_id, parse_import_id};

    #[test]
    fn import_ids_are_distinct_guids_that_parse_back() {
        let (a, b) = (import_id(1), import_id(2));
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version 4 layout");
        assert_eq!(parse_import_id(&a), Some(a.clone()));
        assert_eq!(parse_import_id(&format!("{{{}}}", a.to_uppercase())), Some(a.clone()));
        for bad in ["", "123", "not-a-guid", &a.replace('-', ""), &format!("{{{a}"), &a[..35]] {
            assert_eq!(parse_import_id(bad), None, "{bad}");
        }
    }
}

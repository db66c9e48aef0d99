//! One account's bulk imports as Dotdigital keeps them: what each carries until it is applied,
//! its phase and polls, and the status words and report its status GET shows
//! (contacts-v3.json and insight-data-v3.json `getImportStatus`).

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::insight::{CollectionScope, CollectionType};
use super::merge::MergeOption;
use crate::settings::ImportConfig;

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
}

/// An accepted contact import (`PUT /contacts/v3/import`), waiting to be applied: the body's
/// shape was checked, each contact is checked when it is applied.
pub(crate) struct ContactImport {
    pub merge: MergeOption,
    pub contacts: Vec<Map<String, Value>>,
}

/// An accepted Insight import (`PUT /insightData/v3/import`), waiting to be applied.
pub(crate) struct InsightImport {
    pub collection: String,
    pub scope: CollectionScope,
    pub kind: CollectionType,
    pub records: Vec<Map<String, Value>>,
}

/// What an accepted import will do when it is applied.
pub(crate) enum Payload {
    Contacts(ContactImport),
    Insight(InsightImport),
}

impl Payload {
    pub(crate) fn kind(&self) -> ImportKind {
        match self {
            Payload::Contacts(_) => ImportKind::Contacts,
            Payload::Insight(_) => ImportKind::Insight,
        }
    }

    /// Contacts or records submitted.
    fn len(&self) -> usize {
        match self {
            Payload::Contacts(import) => import.contacts.len(),
            Payload::Insight(import) => import.records.len(),
        }
    }
}

pub(crate) enum Phase {
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
    pub id: String,
    pub kind: ImportKind,
    pub accepted: Instant,
    /// Status GETs answered so far.
    pub polls: u32,
    /// Contacts or records submitted.
    submitted: usize,
    collection: Option<String>,
    pub phase: Phase,
}

impl Import {
    /// Finished or ended: no longer active, its answer fixed.
    pub(crate) fn is_finished(&self) -> bool {
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
    pub(crate) fn status_json(&self, config: &ImportConfig) -> Value {
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
    pub list: Vec<Import>,
    by_id: HashMap<String, usize>,
}

impl ImportBook {
    /// Unfinished imports of one kind: what the active-import caps count.
    pub(crate) fn active(&self, kind: ImportKind) -> usize {
        self.list.iter().filter(|i| i.kind == kind && !i.is_finished()).count()
    }

    /// Adds a pending import under `id`.
    pub(crate) fn add(&mut self, id: String, payload: Payload) {
        let collection = match &payload {
            Payload::Insight(import) => Some(import.collection.clone()),
            Payload::Contacts(_) => None,
        };
        self.by_id.insert(id.clone(), self.list.len());
        self.list.push(Import {
            id,
            kind: payload.kind(),
            accepted: Instant::now(),
            polls: 0,
            submitted: payload.len(),
            collection,
            phase: Phase::Pending(payload),
        });
    }

    /// The index of the import of this kind with this (lower-cased) id.
    pub(crate) fn find(&self, kind: ImportKind, id: &str) -> Option<usize> {
        self.by_id.get(id).copied().filter(|index| self.list[*index].kind == kind)
    }

    pub(crate) fn listing(&self, account_id: i64, config: &ImportConfig) -> Vec<Value> {
        self.list.iter().map(|i| i.listing_json(account_id, config)).collect()
    }
}

//! How an account's bulk imports progress: accepted under the active-import caps, polled, and
//! finished. Both imports are asynchronous ("This is an async operation and you will need to
//! check when it is complete", contacts-v3.json `importContacts`): an import is applied (and
//! its report fixed) when it finishes, and nothing it carries is visible before.
//!
//! It finishes at whichever comes first: the status GET after
//! [`ImportConfig::contact_polls_to_finish`] (or `insight_…`) unfinished answers, or
//! [`ImportConfig::finish_after_ms`] after it was accepted, checked whenever its account makes a
//! call or the simulator's data is read. Applying is `contact_import.rs` / `insight_import.rs`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::account_state::AccountState;
use super::contact_patch::ContactPolicy;
use super::guid::{guid, parse_guid};
use super::import_book::{ImportKind, Payload, Phase};
use crate::settings::ImportConfig;

/// What applying an import needs besides the account.
pub(crate) struct ImportContext<'a> {
    pub config: &'a ImportConfig,
    pub policy: ContactPolicy,
    /// Contact ids count up across the whole simulator.
    pub next_contact_id: &'a mut i64,
}

/// Why a status GET finds no import.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ImportLookup {
    /// The path's id is not a GUID.
    InvalidId,
    /// No import of this kind has this id in the account (the lower-cased id).
    NotFound(String),
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

    /// Accepts an import if the account has room for one more of its kind, and answers its new
    /// id; `Err` carries the kind whose cap is reached. `seq` is the run-wide import counter.
    pub(crate) fn accept_import(
        &mut self,
        payload: Payload,
        config: &ImportConfig,
        seq: &mut u64,
    ) -> Result<String, ImportKind> {
        let kind = payload.kind();
        let limit = match kind {
            ImportKind::Contacts => config.max_active_contact_imports,
            ImportKind::Insight => config.max_active_insight_imports,
        };
        if self.imports.active(kind) >= limit {
            return Err(kind);
        }
        *seq += 1;
        let id = guid(*seq);
        self.imports.add(id.clone(), payload);
        Ok(id)
    }

    /// A status GET: each call on an unfinished import counts as a poll; the one after the
    /// configured number finishes it. Another account's import, or one of the other kind, is not
    /// found. Answers the status body.
    pub(crate) fn poll_import(
        &mut self,
        kind: ImportKind,
        raw_id: &str,
        context: &mut ImportContext,
    ) -> Result<Value, ImportLookup> {
        let id = parse_guid(raw_id).ok_or(ImportLookup::InvalidId)?;
        let index = self.imports.find(kind, &id).ok_or(ImportLookup::NotFound(id))?;
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
        Ok(self.imports.list[index].status_json(context.config))
    }
}

//! The simulator's state behind one lock: the accounts (`model::AccountState`), the run's
//! settings, the outbox, the request log and the armed faults. Also the read-outs that
//! [`crate::Simulator`] and the control API share.

use std::time::Instant;

use serde_json::Value;

use super::faults::FaultPlan;
use super::request_log::RequestLog;
use crate::config::SimConfig;
use crate::model::{AccountState, ConfirmationEmail, ContactKey, ContactPolicy, ImportContext, Send, FIRST_CONTACT_ID};
use crate::settings::{ContactConfig, ImportConfig, RateLimitConfig};

pub(crate) struct SimState {
    pub accounts: Vec<AccountState>,
    pub rate_limit: RateLimitConfig,
    pub contact_policy: ContactPolicy,
    pub import_config: ImportConfig,
    pub contact_config: ContactConfig,
    /// Contact ids count up across all accounts.
    pub next_contact_id: i64,
    /// Imports accepted in this run (never reset, so an import id is never reused).
    pub import_seq: u64,
    pub outbox: Vec<Send>,
    pub log: RequestLog,
    pub faults: FaultPlan,
}

impl SimState {
    pub(crate) fn new(config: SimConfig) -> SimState {
        SimState {
            accounts: config.accounts.into_iter().map(AccountState::new).collect(),
            rate_limit: config.rate_limit,
            contact_policy: ContactPolicy {
                unknown_data_field: config.unknown_data_field,
                max_string_length: config.max_string_length,
            },
            import_config: config.imports,
            contact_config: config.contacts,
            next_contact_id: FIRST_CONTACT_ID,
            import_seq: 0,
            outbox: Vec::new(),
            log: RequestLog::default(),
            faults: FaultPlan::default(),
        }
    }

    /// Forgets all data, counters, sends, logged requests and faults; accounts stay.
    pub(crate) fn reset(&mut self) {
        self.accounts.iter_mut().for_each(AccountState::reset);
        self.next_contact_id = FIRST_CONTACT_ID;
        self.outbox.clear();
        self.log.clear();
        self.faults.clear();
    }

    /// Finishes every import whose time is up, in every account (see `model/import_progress.rs`).
    pub(crate) fn advance_imports(&mut self) {
        let now = Instant::now();
        let SimState { accounts, contact_policy, import_config, next_contact_id, .. } = self;
        let mut context = ImportContext { config: import_config, policy: *contact_policy, next_contact_id };
        for account in accounts.iter_mut() {
            account.advance_imports(now, &mut context);
        }
    }

    /// `GET /_sim/imports`: every import of the account (or of all accounts), oldest first.
    pub(crate) fn imports(&self, account_id: Option<i64>) -> Vec<Value> {
        self.accounts
            .iter()
            .filter(|entry| account_id.is_none_or(|id| entry.account.id == id))
            .flat_map(|entry| entry.imports.listing(entry.account.id, &self.import_config))
            .collect()
    }

    pub(crate) fn account(&self, account_id: i64) -> Option<&AccountState> {
        self.accounts.iter().find(|a| a.account.id == account_id)
    }

    /// The control view of a contact: as `GET /contacts/v3/…` answers it, always with `lists`
    /// (whatever `contact_answers_include_lists` says), so tests can read memberships.
    pub(crate) fn contact(&self, account_id: i64, email: &str) -> Option<Value> {
        let entry = self.account(account_id)?;
        let contact = entry.contacts.find(&ContactKey::Email(email.to_ascii_lowercase()))?;
        Some(contact.to_json(&entry.account, true))
    }

    /// Every contact of the account in the control view (see [`SimState::contact`]).
    pub(crate) fn contacts(&self, account_id: i64) -> Vec<Value> {
        self.account(account_id)
            .map(|entry| entry.contacts.all().map(|c| c.to_json(&entry.account, true)).collect())
            .unwrap_or_default()
    }

    /// `GET /_sim/confirmation-emails`: `[{contactId, email, sent}]`, oldest first.
    pub(crate) fn confirmation_emails(&self, account_id: i64) -> Vec<Value> {
        self.account(account_id)
            .map(|entry| entry.confirmation_emails.iter().map(ConfirmationEmail::to_json).collect())
            .unwrap_or_default()
    }

    pub(crate) fn insight_record(&self, account_id: i64, collection: &str, key: &str) -> Option<Value> {
        let record = self.account(account_id)?.insight.collections.get(collection)?.records.get(key)?;
        Some(record.to_json())
    }

    pub(crate) fn insight_records(&self, account_id: i64, collection: &str) -> Vec<Value> {
        self.account(account_id)
            .and_then(|entry| entry.insight.collections.get(collection))
            .map(|c| c.records.values().map(|r| r.to_json()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn collections(&self, account_id: i64) -> Vec<Value> {
        self.account(account_id)
            .map(|entry| entry.insight.collections.values().map(|c| c.summary_json()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn collection_schema(&self, account_id: i64, collection: &str) -> Option<Value> {
        Some(self.account(account_id)?.insight.collections.get(collection)?.schema.to_json())
    }

    pub(crate) fn schema_conflicts(&self, account_id: i64) -> Vec<String> {
        self.account(account_id).map(|entry| entry.insight.schema_conflicts.clone()).unwrap_or_default()
    }
}

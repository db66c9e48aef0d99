//! The simulator's state behind one lock: accounts with their contacts, Insight data and rate
//! counters, plus the outbox, the request log and the armed faults. Also the read-outs that
//! [`crate::Simulator`] and the control API share. Handlers live beside their routes, as
//! methods on [`AccountState`].

use std::time::Instant;

use serde_json::Value;

use crate::config::{ContactConfig, ImportConfig, RateLimitConfig, SimConfig};
use crate::contact_body::ContactPolicy;
use crate::faults::FaultPlan;
use crate::imports::{ImportBook, ImportContext};
use crate::limits::Usage;
use crate::model::{
    ConfirmationEmail, ContactBook, ContactKey, DataField, InsightStore, Send, SimAccount, FIRST_CONTACT_ID,
};
use crate::request_log::RequestLog;

/// One account and everything it holds.
pub(crate) struct AccountState {
    /// The account as it is now (password changes and auto-created data fields included).
    pub account: SimAccount,
    /// The data fields it was configured with, restored by a reset.
    pub configured_data_fields: Vec<DataField>,
    pub contacts: ContactBook,
    /// Confirmation emails verified double opt-in sent, oldest first.
    pub confirmation_emails: Vec<ConfirmationEmail>,
    pub insight: InsightStore,
    pub imports: ImportBook,
    pub usage: Usage,
}

impl AccountState {
    fn new(account: SimAccount) -> AccountState {
        AccountState {
            configured_data_fields: account.data_fields.clone(),
            account,
            contacts: ContactBook::default(),
            confirmation_emails: Vec::new(),
            insight: InsightStore::default(),
            imports: ImportBook::default(),
            usage: Usage::default(),
        }
    }

    /// Back to the configured account with no data and fresh counters; the password stays.
    fn reset(&mut self) {
        self.account.data_fields = self.configured_data_fields.clone();
        self.contacts = ContactBook::default();
        self.confirmation_emails.clear();
        self.insight = InsightStore::default();
        self.imports = ImportBook::default();
        self.usage = Usage::default();
    }
}

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

    /// Finishes every import whose time is up, in every account (see `imports.rs`).
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

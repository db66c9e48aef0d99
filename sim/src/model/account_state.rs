//! One account and everything it holds at run time: the account as configured (and changed
//! since), its contacts, Insight data, imports and call counters. The rules that change it are
//! `impl AccountState` blocks beside the model they touch (`contact_writes.rs`,
//! `import_progress.rs`, `contact_import.rs`, `insight_import.rs`).

use super::account::SimAccount;
use super::contact::{ConfirmationEmail, ContactBook};
use super::data_fields::DataField;
use super::import_book::ImportBook;
use super::insight::InsightStore;
use super::usage::Usage;

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
    pub(crate) fn new(account: SimAccount) -> AccountState {
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
    pub(crate) fn reset(&mut self) {
        self.account.data_fields = self.configured_data_fields.clone();
        self.contacts = ContactBook::default();
        self.confirmation_emails.clear();
        self.insight = InsightStore::default();
        self.imports = ImportBook::default();
        self.usage = Usage::default();
    }
}

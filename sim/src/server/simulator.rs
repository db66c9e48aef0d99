//! The handle to a running simulator: start it on two loopback ports (the Dotdigital API and
//! the control API), steer it (faults, limits, credentials) and read back what it holds.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, MutexGuard};

use anyhow::Context;
use serde_json::Value;
use tokio::net::TcpListener;

use super::faults::Fault;
use super::request_log::RequestRecord;
use super::shared::Shared;
use super::state::SimState;
use super::{control, listener};
use crate::config::{check_accounts, SimConfig};
use crate::model::Send;
use crate::settings::{ContactConfig, ImportConfig, RateLimitConfig};

/// A running simulator; clones share it. It serves until the tokio runtime shuts down, even
/// after every handle is dropped.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    control_addr: SocketAddr,
}

impl Simulator {
    /// Serves the Dotdigital API on 127.0.0.1:`port` (0 = any free port) and the control API on
    /// a free loopback port, on the current tokio runtime.
    pub async fn start(config: SimConfig, port: u16) -> anyhow::Result<Simulator> {
        Simulator::start_with_control_port(config, port, 0).await
    }

    /// [`Simulator::start`] with the control API on 127.0.0.1:`control_port` (0 = any free port).
    pub async fn start_with_control_port(config: SimConfig, port: u16, control_port: u16) -> anyhow::Result<Simulator> {
        check_accounts(&config.accounts).context("the simulator's accounts are not usable")?;
        let api = bind(port, "the Dotdigital simulator").await?;
        let control = bind(control_port, "the simulator's control API").await?;
        let addr = api.local_addr().context("the simulator's listening address is unknown")?;
        let control_addr = control.local_addr().context("the control API's listening address is unknown")?;
        let shared = Arc::new(Shared::new(SimState::new(config)));
        tokio::spawn(listener::serve(api, shared.clone()));
        tokio::spawn(control::serve(control, shared.clone()));
        Ok(Simulator { shared, addr, control_addr })
    }

    /// Where the Dotdigital API is served; the only address to give a client under test.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the control API (`/_sim/…`) is served.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// Arms a fault behind those already armed.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.arm(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Replaces the limits; counters keep running. Header case applies to new connections.
    pub fn set_rate_limit(&self, rate_limit: RateLimitConfig) {
        self.shared.lock().rate_limit = rate_limit;
    }

    /// Changes an API user's password (e.g. to revoke credentials mid-run); unknown users are ignored.
    pub fn set_password(&self, api_user: &str, new_password: &str) {
        let mut state = self.shared.lock();
        for entry in state.accounts.iter_mut().filter(|a| a.account.api_user.eq_ignore_ascii_case(api_user)) {
            entry.account.api_password = new_password.to_string();
        }
    }

    /// Replaces the import settings (polls and time to finish, active-import caps, report
    /// spellings, the body cap); imports already accepted keep their progress.
    pub fn set_import_config(&self, config: ImportConfig) {
        self.shared.lock().import_config = config;
    }

    pub fn import_config(&self) -> ImportConfig {
        self.shared.lock().import_config.clone()
    }

    /// Replaces the single-contact readings (see [`ContactConfig`]); stored data stays.
    pub fn set_contact_config(&self, config: ContactConfig) {
        self.shared.lock().contact_config = config;
    }

    pub fn contact_config(&self) -> ContactConfig {
        self.shared.lock().contact_config.clone()
    }

    /// Every contact and Insight import of the account, oldest first, as `GET /_sim/imports`
    /// lists them: `{id, account, kind: "contacts"|"insight", status, finished, polls,
    /// submitted, collectionName, summary}` (`summary` is `null` until finished).
    pub fn imports(&self, account_id: i64) -> Vec<Value> {
        self.state().imports(Some(account_id))
    }

    /// The state, after finishing the imports whose time is up: what a read sees.
    fn state(&self) -> MutexGuard<'_, SimState> {
        let mut state = self.shared.lock();
        state.advance_imports();
        state
    }

    /// The contact with this email, as `GET /contacts/v3/email/{email}` returns it, always with
    /// `lists` (as `GET /_sim/contacts` shows it).
    pub fn contact(&self, account_id: i64, email: &str) -> Option<Value> {
        self.state().contact(account_id, email)
    }

    /// Every contact of the account, oldest first, as [`Simulator::contact`] shows one.
    pub fn contacts(&self, account_id: i64) -> Vec<Value> {
        self.state().contacts(account_id)
    }

    /// The confirmation emails verified double opt-in sent to the account's contacts, oldest
    /// first, as `GET /_sim/confirmation-emails` lists them: `[{contactId, email, sent}]`.
    pub fn confirmation_emails(&self, account_id: i64) -> Vec<Value> {
        self.state().confirmation_emails(account_id)
    }

    /// `{key, json, created, updated, ownerContactId}`.
    pub fn insight_record(&self, account_id: i64, collection: &str, key: &str) -> Option<Value> {
        self.state().insight_record(account_id, collection, key)
    }

    /// Every record of the collection, by key.
    pub fn insight_records(&self, account_id: i64, collection: &str) -> Vec<Value> {
        self.state().insight_records(account_id, collection)
    }

    /// `[{collectionName, collectionType, collectionScope, recordCount}]`.
    pub fn collections(&self, account_id: i64) -> Vec<Value> {
        self.state().collections(account_id)
    }

    /// The inferred schema `{path: type}`, e.g. `{"products[].price": "number"}`.
    pub fn collection_schema(&self, account_id: i64, collection: &str) -> Option<Value> {
        self.state().collection_schema(account_id, collection)
    }

    /// Every type conflict a record PUT was refused for (empty = none).
    pub fn schema_conflicts(&self, account_id: i64) -> Vec<String> {
        self.state().schema_conflicts(account_id)
    }

    /// The triggered-campaign outbox, oldest first.
    pub fn sends(&self) -> Vec<Send> {
        self.shared.lock().outbox.clone()
    }

    /// Every Dotdigital request received, in arrival order, secrets redacted (control API
    /// requests are not logged).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.records()
    }

    /// Clears data, rate counters, outbox, request log and faults; accounts stay.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }
}

async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| format!("cannot bind {what} to 127.0.0.1:{port}"))
}

//! One call's store data, the one type a `Store` holds (wasmtime's `Ctx`, Zed's `WasmState`):
//! the WASI context (no files, no environment, no sockets, no stdio), the wasi:http context and
//! its outbound hooks, the resource table, the limits, and what the plugin's own imports reach
//! (the log and the persistent data). Beside it, the host side of those imports (`host`,
//! `types`): the WIT host traits, implemented on the store data itself.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::ipaas::dotdigital::{host, types};
use super::budget::{CallBudget, OverBudget};
use super::hooks::{Denials, OutboundHooks, OutboundPolicy};
use super::sandbox::{FieldsAllowance, GuestLimiter, SandboxLimits};
use crate::host::data::DataStore;
use crate::host::log::{self, Level, LogSink};

/// Log lines one call may write (the plugin's, and the host's about what the plugin did); a
/// plugin that logs or misbehaves in a loop cannot flood the host.
pub const MAX_LOG_LINES_PER_CALL: u32 = 1000;

/// What a caller grants one call: where its HTTP goes, where its logs go, which data it sees,
/// and where the requests the sandbox refuses are counted. All shared handles: the platform
/// keeps one per subscription and gives each call a fresh `denials` (and its own log fields).
#[derive(Clone)]
pub struct Grants {
    pub policy: Arc<OutboundPolicy>,
    pub log: LogSink,
    /// Its work is the call's CPU (it runs inside the call's poll); a wait for another
    /// process's lock sleeps, and costs nothing.
    pub data: Arc<DataStore>,
    /// Read it when the call has ended.
    pub denials: Arc<Denials>,
}

/// Everything a store holds for one call.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    fields: FieldsAllowance,
    budget: CallBudget,
    pub(super) limits: GuestLimiter,
    /// The call's own sink: every clone (the outbound hooks hold one) spends the same budget.
    log: LogSink,
    data: Arc<DataStore>,
}

impl CallState {
    pub fn new(limits: &SandboxLimits, grants: Grants, budget: CallBudget) -> Self {
        // No preopened directories, no env, no args, no stdio, and no sockets of any kind:
        // the only way out is wasi:http, through `OutboundHooks`.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let log = grants.log.for_call(MAX_LOG_LINES_PER_CALL);
        let hooks = OutboundHooks {
            policy: grants.policy,
            log: log.clone(),
            denials: grants.denials,
            outstanding: Arc::default(),
            max_outstanding: limits.max_outstanding_requests,
            requests: 0,
            max_requests: limits.max_requests_per_call,
            budget: budget.clone(),
            reserved: None,
        };
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits.max_header_bytes);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_resources);
        let fields = FieldsAllowance::new(budget.empty(), limits);
        let limiter = GuestLimiter::new(limits.memory_bytes);
        CallState { wasi, http, table, hooks, fields, budget, limits: limiter, log, data: grants.data }
    }

    /// The buffer budget's refusal, if this call had one: it ends as a plugin fault.
    pub fn over_budget(&self) -> Option<&OverBudget> {
        self.budget.refused()
    }

    /// A persistent-data operation that failed, said once in the call's log (clipped).
    fn data_refused(&self, what: &str, problem: &impl std::fmt::Display) {
        let line = format!("persistent data not {what}: {problem}");
        self.log.call_event(Level::Warn, &log::clip(&line, MAX_REFUSAL_CHARS));
    }

    /// The state database outlives the run and is copied around: a key or value holding one
    /// of the subscription's secrets (as the redactor knows them, Basic credentials included)
    /// is refused, never stored. A component set on hiding the password can still disguise
    /// it (the README says so); this stops the plain and the accidental case.
    fn refuse_secrets(&self, key: &str, value: &str) -> Result<(), String> {
        let redactor = self.log.redactor();
        if redactor.apply(key) != key || redactor.apply(value) != value {
            let problem = "refused: the key or value holds one of the subscription's secrets";
            self.log.call_event(Level::Warn, &format!("persistent data {problem}"));
            return Err(problem.into());
        }
        Ok(())
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.fields.account(&mut self.table);
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl types::Host for CallState {}

impl host::Host for CallState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let level = match level {
            host::LogLevel::Error => Level::Error,
            host::LogLevel::Warn => Level::Warn,
            host::LogLevel::Info => Level::Info,
            host::LogLevel::Debug => Level::Debug,
        };
        self.log.plugin(level, &message);
    }

    fn get_data(&mut self, key: String) -> Option<String> {
        // The contract has no error here: an unreadable value reads as absent, and the
        // certificate flow's claim (a write) still refuses a second send.
        self.data.get(&key).unwrap_or_else(|problem| {
            self.data_refused("read", &problem);
            None
        })
    }

    fn set_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<(), String> {
        self.refuse_secrets(&key, &value)?;
        // The contract carries the reason as text; the host keeps the type until here.
        self.data.set(&key, &value, ttl_seconds).map_err(|problem| {
            self.data_refused("stored", &problem);
            problem.to_string()
        })
    }

    fn claim_data(&mut self, key: String, value: String, ttl_seconds: Option<u32>) -> Result<bool, String> {
        self.refuse_secrets(&key, &value)?;
        // A claim guards a request (the certificate's email): its start in the shared rate
        // window is reserved before the claim, so a store lost right after the claim cannot
        // strand it unsent. The call's next request takes that start; while one is held, a
        // claim reserves no other (a component claiming in a loop cannot book the account's
        // budget ahead).
        let throttle = &self.hooks.policy.throttle;
        let window = self.hooks.reserved.is_none().then(|| throttle.shared_window()).flatten();
        let (claimed, wait) = self.data.claim_reserving(&key, &value, ttl_seconds, window).map_err(|problem| {
            self.data_refused("claimed", &problem);
            problem.to_string()
        })?;
        if let Some(wait) = wait {
            self.hooks.reserved = Some(std::time::Instant::now() + wait);
        }
        Ok(claimed)
    }
}

/// A refusal's text names what the component sent: a line's worth of it is logged.
const MAX_REFUSAL_CHARS: usize = 500;

//! The per-call sandbox: a store with no files, no environment, no sockets and no stdio;
//! a memory cap; and the state the WASI and HTTP views borrow from.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::outbound::{Denials, OutboundHooks, OutboundPolicy};
use crate::host::HostContext;

/// Limits of one call.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Linear memory the plugin may grow to, all its memories together.
    pub memory_bytes: usize,
    /// CPU time the call may spend: the component's execution and the host's work on its
    /// behalf (waiting on the network, the throttle or another process's lock does not count).
    pub cpu_time: Duration,
    /// Wall-clock bound on the whole call, waits included.
    pub wall_time: Duration,
    /// Bound on one HTTP request, connect to last byte.
    pub call_timeout: Duration,
    /// Largest answer body read from upstream.
    pub max_response_bytes: usize,
    /// Largest request body the plugin may send.
    pub max_request_bytes: usize,
    /// Largest total of strings a plugin may return (ids, messages, issues).
    pub max_result_bytes: usize,
    /// Host resources (wasi:http fields, requests, bodies, streams, pollables…) a call may hold
    /// at once: they live in host memory, outside `memory_bytes`.
    pub max_resources: usize,
    /// Bytes of names and values one wasi:http `fields` may hold.
    pub max_header_bytes: usize,
    /// Requests one call may have outstanding at once: each may hold a request body (up to
    /// `max_request_bytes`) in host memory before it is sent.
    pub max_outstanding_requests: u32,
    /// Requests one call may make in all: a contact sync makes a handful, plus one per
    /// marketing list it leaves (at most 100 lists).
    pub max_requests_per_call: u32,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            memory_bytes: 64 << 20,
            cpu_time: Duration::from_secs(10),
            // Dotdigital asks clients to allow 121 s per call; a sync makes a handful.
            wall_time: Duration::from_secs(600),
            call_timeout: Duration::from_secs(121),
            max_response_bytes: 16 << 20,
            max_request_bytes: 50 << 20,
            max_result_bytes: 1 << 20,
            // A request costs the connector about a dozen resources, all dropped when it ends; a
            // refused request can leave a few behind in the guest, and 3,000 refusals must
            // still end as refusals.
            max_resources: 10_000,
            // Our headers are a few hundred bytes; 10,000 × 8 KiB bounds fields at 80 MiB.
            max_header_bytes: 8 << 10,
            // The connector sends one request at a time.
            max_outstanding_requests: 4,
            max_requests_per_call: 250,
        }
    }
}

/// Everything a store holds for one call.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    pub(crate) limits: GuestLimiter,
    pub(crate) host: HostContext,
}

/// The error a refused growth raises: it travels through the trap unchanged, so the loader
/// recognises a memory-limit fault by its type.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitExceeded {
    /// Linear memory, all memories together, would have grown to this many bytes.
    Memory { desired_total: usize },
    /// A table would have grown to this many elements.
    Table { desired: usize },
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExceeded::Memory { desired_total } => {
                write!(f, "memory limit reached: growing to {desired_total} bytes")
            }
            LimitExceeded::Table { desired } => write!(f, "memory limit reached: a table of {desired} elements"),
        }
    }
}

impl std::error::Error for LimitExceeded {}

/// Caps the plugin's memory as a whole (every linear memory together, not each one) and
/// its tables, and turns a refused growth into a trap with a clear message.
pub struct GuestLimiter {
    memory_cap: usize,
    memory_used: usize,
}

impl GuestLimiter {
    pub fn new(memory_cap: usize) -> Self {
        GuestLimiter { memory_cap, memory_used: 0 }
    }
}

/// Table slots a connector could ever need; a `table.grow` beyond is refused.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Core instances, memories and tables one call's store may hold (the engine's pool is sized
/// from these too).
pub const MAX_CORE_INSTANCES: usize = 16;
pub const MAX_MEMORIES: usize = 8;
pub const MAX_TABLES: usize = 64;

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_sub(current).saturating_add(desired);
        if total > self.memory_cap || maximum.is_some_and(|max| desired > max) {
            return Err(LimitExceeded::Memory { desired_total: total }.into());
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS || maximum.is_some_and(|max| desired > max) {
            return Err(LimitExceeded::Table { desired }.into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

impl CallState {
    pub fn new(limits: &SandboxLimits, policy: Arc<OutboundPolicy>, host: HostContext, denials: Arc<Denials>) -> Self {
        // No preopened directories, no env, no args, no stdio, and no sockets of any kind:
        // the only way out is wasi:http, through `OutboundHooks`.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let hooks = OutboundHooks {
            policy,
            log: host.log.clone(),
            denials,
            outstanding: Arc::default(),
            max_outstanding: limits.max_outstanding_requests,
            requests: 0,
            max_requests: limits.max_requests_per_call,
        };
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits.max_header_bytes);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_resources);
        CallState { wasi, http, table, hooks, limits: GuestLimiter::new(limits.memory_bytes), host }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

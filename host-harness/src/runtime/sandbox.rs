//! The per-call sandbox: a store with no files, no environment, no sockets and no stdio;
//! a memory cap; and the state the WASI and HTTP views borrow from.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::outbound::{OutboundHooks, OutboundPolicy};
use crate::host::HostContext;

/// Limits of one call.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Linear memory the plugin may grow to.
    pub memory_bytes: usize,
    /// Time the plugin may run its own code (waiting on the network does not count).
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
        }
    }
}

/// Everything a store holds for one call.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    pub(crate) limits: StoreLimits,
    pub(crate) host: HostContext,
}

impl CallState {
    pub fn new(limits: &SandboxLimits, policy: Arc<OutboundPolicy>, host: HostContext, waiting_nanos: Arc<AtomicU64>) -> Self {
        // No preopened directories, no env, no args, no stdio, and no sockets of any kind:
        // the only way out is wasi:http, through `OutboundHooks`.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let hooks = OutboundHooks { policy, log: host.log.clone(), waiting_nanos };
        CallState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(16)
                .tables(64)
                .memories(8)
                .trap_on_grow_failure(true)
                .build(),
            host,
        }
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

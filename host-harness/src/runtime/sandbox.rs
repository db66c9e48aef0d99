//! The per-call sandbox's limits and how a call's store enforces them: a memory and table
//! cap ([`GuestLimiter`]), and the buffer budget's share for the wasi:http `fields` the
//! component holds ([`FieldsAllowance`]). The store data itself is `call::CallState`.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi_http::p2::types::{HostOutgoingRequest, HostOutgoingResponse};
use wasmtime_wasi_http::FieldMap;

use super::budget::Reservation;

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
    /// Largest request body the plugin may send: the host's ceiling on the memory one request
    /// may hold, whatever the API (the connector keeps to Dotdigital's own limit, the simulator
    /// enforces it).
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
    /// Bytes of bodies read whole and of `fields` that all calls together may hold (the
    /// per-call caps above, times the calls at once, would be gigabytes).
    pub buffer_budget_bytes: usize,
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
            // Five of the largest request bodies at once; the connector holds a few MB.
            buffer_budget_bytes: 256 << 20,
        }
    }
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

/// Fewest `fields` a call's reservation counts (128 KiB at 8 KiB each): a call with few is
/// not recounted at every wasi:http call.
const MIN_FIELDS_RESERVED: usize = 16;

/// `fields` one wasi:http call can add at most (a constructor, `clone`, `from-list` or a
/// `headers` getter adds one; twice that, to be safe).
const MAX_NEW_FIELDS_PER_CALL: usize = 2;

/// The process budget's share for a call's wasi:http `fields`. They live in the store's
/// resource table, where wasmtime-wasi-http caps each one (`max_header_bytes`) but not their
/// sum, and tells the host of neither their creation nor their drop. So they are counted
/// (with the requests and responses that hold them), at most `max_header_bytes` each, and
/// the reservation is resized to twice the count (at most the table's capacity); the next
/// count comes before enough calls to outgrow it. A refused call may change no header again
/// (`OutboundHooks`).
pub(super) struct FieldsAllowance {
    reservation: Reservation,
    per_fields: usize,
    max_resources: usize,
    calls_until_count: usize,
}

impl FieldsAllowance {
    pub(super) fn new(reservation: Reservation, limits: &SandboxLimits) -> Self {
        let (per_fields, max_resources) = (limits.max_header_bytes, limits.max_resources);
        FieldsAllowance { reservation, per_fields, max_resources, calls_until_count: 0 }
    }

    /// Called before each wasi:http call.
    pub(super) fn account(&mut self, table: &mut ResourceTable) {
        disarm_oversized_requests(table);
        if let Some(fewer) = self.calls_until_count.checked_sub(1) {
            self.calls_until_count = fewer;
            return;
        }
        let held = count_fields(table);
        let reserved = held.saturating_mul(2).max(MIN_FIELDS_RESERVED).min(self.max_resources).max(held);
        self.calls_until_count = match self.reservation.resize(reserved.saturating_mul(self.per_fields)) {
            // This call and the ones before the next count add at most (reserved - held).
            Ok(()) => ((reserved - held) / MAX_NEW_FIELDS_PER_CALL).saturating_sub(1),
            // Refused: no header may grow any more, so there is nothing left to count.
            Err(_) => usize::MAX,
        };
    }
}

/// The resources holding a mutable `fields` (or one made immutable by a request or response),
/// a request counting twice: its headers, and its method, authority and path (at most
/// [`MAX_REQUEST_TEXT`] together, see [`disarm_oversized_requests`]).
fn count_fields(table: &mut ResourceTable) -> usize {
    table
        .iter_mut()
        .map(|entry| match () {
            _ if entry.is::<HostOutgoingRequest>() => 2,
            _ if entry.is::<FieldMap>() || entry.is::<HostOutgoingResponse>() => 1,
            _ => 0,
        })
        .sum()
}

/// Bytes of method, authority and path one request may keep: Dotdigital's are a few hundred.
/// wasmtime-wasi-http stores what the component sets (an authority or a method of any length),
/// outside the component's memory and without a hook.
const MAX_REQUEST_TEXT: usize = 8 << 10;

/// What an oversized request's authority becomes: a reserved name (RFC 2606) the allowlist
/// refuses, so sending it is a denial like any other host's.
const OVERSIZED_AUTHORITY: &str = "oversized-request.invalid";

/// A request whose method, authority and path together exceed [`MAX_REQUEST_TEXT`] loses them
/// (before the next wasi:http call, so a call holds at most one such string, no larger than its
/// own memory), and can only be refused.
fn disarm_oversized_requests(table: &mut ResourceTable) {
    use wasmtime_wasi_http::p2::bindings::http::types::Method;
    for entry in table.iter_mut() {
        let Some(request) = entry.downcast_mut::<HostOutgoingRequest>() else { continue };
        let method = match &request.method {
            Method::Other(name) => name.len(),
            _ => 0,
        };
        let text = method
            + request.authority.as_ref().map_or(0, String::len)
            + request.path_with_query.as_ref().map_or(0, String::len);
        if text > MAX_REQUEST_TEXT {
            let refused = Some(OVERSIZED_AUTHORITY.to_string());
            (request.method, request.authority, request.path_with_query) = (Method::Get, refused, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::runtime::budget::{BufferBudget, CallBudget};

    fn allowance(budget: &Arc<BufferBudget>) -> (FieldsAllowance, CallBudget) {
        let limits = SandboxLimits { max_header_bytes: 1000, ..SandboxLimits::default() };
        let call = CallBudget::new(budget.clone());
        (FieldsAllowance::new(call.empty(), &limits), call)
    }

    #[test]
    fn the_reservation_always_covers_the_fields_held_until_the_budget_refuses() {
        let budget = BufferBudget::new(100_000);
        let (mut allowance, call) = allowance(&budget);
        let mut table = ResourceTable::new();
        let mut held = 0;
        // One wasi:http call after another, each making one `fields`.
        while call.refused().is_none() {
            allowance.account(&mut table);
            table.push(FieldMap::new_mutable(1000)).unwrap();
            held += 1;
            assert!(call.refused().is_some() || budget.used() >= held * 1000, "{held} held, {}", budget.used());
        }
        assert!((50..=100).contains(&held), "refused at {held} fields");
    }

    #[test]
    fn dropped_fields_give_their_share_back() {
        let budget = BufferBudget::new(1 << 20);
        let (mut allowance, _call) = allowance(&budget);
        let mut table = ResourceTable::new();
        let fields: Vec<_> = (0..100)
            .map(|_| {
                allowance.account(&mut table);
                table.push(FieldMap::new_mutable(1000)).unwrap()
            })
            .collect();
        assert!(budget.used() >= 100 * 1000);
        fields.into_iter().for_each(|f| drop(table.delete(f)));
        (0..200).for_each(|_| allowance.account(&mut table));
        assert_eq!(budget.used(), MIN_FIELDS_RESERVED * 1000);
        drop(allowance);
        assert_eq!(budget.used(), 0);
    }
}

//! The one outbound path: the per-call `WasiHttpHooks` wasmtime-wasi-http calls for every
//! request the plugin makes. `send_request` decides deny / forward once, before any
//! connection (the allowlist, the upstream's route, the call's request limits); an allowed
//! request is throttled, its body read whole, sent, and its answer read whole, each bounded in
//! time and size. A refusal is `HttpRequestDenied`, logged and counted for the platform.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HeaderName;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS};

use super::allowlist::{AllowedHost, Allowlist, Denial};
use super::budget::{collect, CallBudget, Collect, OverBudget};
use super::connections::ConnectionPool;
use super::throttle::Throttle;
use super::upstream::{rewrite, Route, Upstream};
use crate::host::log::{clip, Level, LogSink, MAX_ECHO_CHARS};

/// The subscription-wide outbound rules, shared by every call.
pub struct OutboundPolicy {
    pub upstream: Upstream,
    /// Bound on one request, from connect to the last byte of the answer.
    pub call_timeout: Duration,
    pub max_response_bytes: usize,
    /// Largest request body the plugin may send: the host's ceiling (see `SandboxLimits`).
    pub max_request_bytes: usize,
    pub throttle: Arc<Throttle>,
    /// Kept-alive connections to the upstream (at most `concurrent_connections` idle).
    pub connections: ConnectionPool,
}

impl OutboundPolicy {
    /// Nothing leaves: every request is refused before a connection (`describe`, and calls
    /// that only instantiate).
    pub fn deny_all() -> OutboundPolicy {
        OutboundPolicy {
            upstream: Upstream::Deny,
            call_timeout: Duration::from_secs(1),
            max_response_bytes: 0,
            max_request_bytes: 0,
            throttle: Arc::new(Throttle::new(1, Duration::from_secs(1), 1)),
            connections: ConnectionPool::new(1),
        }
    }
}

/// Refused requests logged one by one in a call; the rest are counted in one line at its end.
pub const DENIALS_LOGGED_PER_CALL: u32 = 3;

/// The requests the sandbox refused during one call. The platform reads it when the call
/// has ended: a call that was refused anything is not retried, whatever the plugin made of
/// the refusal (it sees `http-request-denied`, and reports `transport`).
#[derive(Debug, Default)]
pub struct Denials {
    count: AtomicU32,
}

impl Denials {
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// Counts one refusal; returns how many so far.
    fn record(&self) -> u32 {
        self.count.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }
}

/// The per-call hooks handed to wasmtime-wasi-http.
pub struct OutboundHooks {
    pub policy: Arc<OutboundPolicy>,
    /// The call's sink: denial lines spend its budget.
    pub log: LogSink,
    pub denials: Arc<Denials>,
    /// Requests of this call not yet answered (or abandoned), at most `max_outstanding`.
    pub outstanding: Arc<AtomicU32>,
    pub max_outstanding: u32,
    /// Requests this call has sent (or tried to), at most `max_requests`: one call cannot
    /// spend the subscription's whole throttle window.
    pub requests: u32,
    pub max_requests: u32,
    /// The call's share of the process's buffer budget: bodies read whole reserve from it.
    pub budget: CallBudget,
    /// A start in the shared rate window that a claim reserved (see `CallState::claim_data`):
    /// the call's next request takes it instead of asking the store.
    pub reserved: Option<Instant>,
}

/// One outstanding request of a call, counted until its future ends or is dropped (the
/// component dropping its `future-incoming-response` drops it too).
struct OutstandingSlot(Arc<AtomicU32>);

impl OutstandingSlot {
    fn take(outstanding: &Arc<AtomicU32>, max: u32) -> Option<OutstandingSlot> {
        outstanding.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        Some(OutstandingSlot(outstanding.clone()))
    }
}

impl Drop for OutstandingSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The call is over when its store, and these hooks with it, are dropped: the refusals
/// that were not logged one by one are summed up in one line.
impl Drop for OutboundHooks {
    fn drop(&mut self) {
        let count = self.denials.count();
        if count > DENIALS_LOGGED_PER_CALL {
            let (more, logged) = (count - DENIALS_LOGGED_PER_CALL, DENIALS_LOGGED_PER_CALL);
            let summary =
                format!("{more} more outbound requests denied in this call ({count} in all, {logged} logged)");
            self.log.emit(Level::Warn, &summary);
        }
    }
}

impl WasiHttpHooks for OutboundHooks {
    /// Once the buffer budget refused this call, no header may be set, appended or deleted:
    /// a refused call's `fields` can grow no more (a delete would copy a shared map).
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        self.budget.refused().is_some() || DEFAULT_FORBIDDEN_HEADERS.contains(name)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = Result<
                    (http::Response<WasiBody>, Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>),
                    HttpError,
                >,
            > + Send,
    > {
        // Decided here, before any task or throttle slot: a refusal costs next to nothing.
        let (parts, body) = request.into_parts();
        let (host, route, slot) = match self.admit(&parts) {
            Ok(admitted) => admitted,
            Err(denial) => {
                if self.denials.record() <= DENIALS_LOGGED_PER_CALL {
                    self.log.call_event(Level::Warn, &format!("outbound request denied: {denial}"));
                }
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        let (policy, log, budget) = (self.policy.clone(), self.log.clone(), self.budget.clone());
        let reserved = self.reserved.take();
        Box::new(async move {
            let response = send(&policy, &log, &budget, (host, route, reserved), parts, body).await;
            drop(slot);
            let done: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((response?, done))
        })
    }
}

impl OutboundHooks {
    /// The one decision on a request: the allowlist names its host, the upstream routes it
    /// (`Deny` refuses), and the call may still make it. `parts` keep the component's URI
    /// (the log names it) until [`rewrite`] runs, once the body is read.
    fn admit(
        &mut self,
        parts: &http::request::Parts,
    ) -> Result<(&'static AllowedHost, Route, OutstandingSlot), Denial> {
        let host = Allowlist::dotdigital().check(&parts.uri)?;
        let route = self.policy.upstream.route(host)?;
        if self.requests >= self.max_requests {
            return Err(Denial::TooManyRequests { limit: self.max_requests });
        }
        self.requests += 1;
        let slot = OutstandingSlot::take(&self.outstanding, self.max_outstanding)
            .ok_or(Denial::TooManyOutstanding { limit: self.max_outstanding })?;
        Ok((host, route, slot))
    }
}

/// Sends an admitted request along its route: its body read whole first, then the request
/// rewritten once for `host` ([`rewrite`]), then sent and its answer read ([`answer`]).
async fn send(
    policy: &OutboundPolicy,
    log: &LogSink,
    budget: &CallBudget,
    (host, route, reserved): (&AllowedHost, Route, Option<Instant>),
    mut parts: http::request::Parts,
    body: WasiBody,
) -> Result<http::Response<WasiBody>, HttpError> {
    let label = format!("{} {}", parts.method, clip(&parts.uri.to_string(), MAX_ECHO_CHARS));
    let timeout = policy.call_timeout;
    // The whole request body first, within the call timeout and before a connection slot:
    // a body held open ends here instead of pinning a slot. Reading it whole also means an early answer
    // (a 429 sent before the body was read) reaches the plugin as an answer, not a closed
    // stream. Its bytes are reserved from the budget as they arrive, until it is sent.
    let collect = collect(body, policy.max_request_bytes, budget);
    let body = match tokio::time::timeout(timeout, collect).await {
        Ok(collected) => collected.map_err(|e| match e {
            Collect::Body(e) => e,
            Collect::TooLarge => HttpError::HttpRequestBodySize(Some(policy.max_request_bytes as u64)),
            Collect::OverBudget(over) => over_budget(log, &label, &over),
        })?,
        Err(_) => {
            log.call_event(Level::Warn, &format!("{label}: the request body was not finished within {timeout:?}"));
            return Err(HttpError::ConnectionWriteTimeout);
        }
    };
    rewrite(&mut parts, host)?;
    let request = http::Request::from_parts(parts, Full::new(body).map_err(|never| match never {}).boxed_unsync());
    answer(policy, log, budget, &label, (route, reserved), request).await
}

/// A request whose body the buffer budget refused: logged, and failed as the host's own
/// error (the call ends as a plugin fault, see `CallState::over_budget`).
fn over_budget(log: &LogSink, label: &str, over: &OverBudget) -> HttpError {
    log.call_event(Level::Warn, &format!("{label}: {over}"));
    budget_error(over)
}

fn budget_error(over: &OverBudget) -> HttpError {
    HttpError::InternalError(Some(over.to_string()))
}

/// Takes a connection slot, sends the request and reads the answer whole, within the call
/// timeout (the throttle's wait is not part of it).
async fn answer(
    policy: &OutboundPolicy,
    log: &LogSink,
    budget: &CallBudget,
    label: &str,
    (route, reserved): (Route, Option<Instant>),
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    // Without a start in the shared window the request is not made: the account's budget
    // holds even when the store that counts it cannot be reached.
    let _permit = policy.throttle.acquire(reserved).await.map_err(|e| {
        let said = format!("not sent: the shared rate limit could not be checked ({e})");
        log.call_event(Level::Warn, &format!("{label}: {said}"));
        HttpError::InternalError(Some(said))
    })?;
    let timeout = policy.call_timeout;
    let exchange = async {
        let destination = match route {
            Route::Connection(destination) => destination,
            Route::InProcess(handler) => {
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                return Ok(handler.0(http::Request::from_parts(parts, body)));
            }
        };
        let (response, connection) = policy.connections.send(&destination, request, timeout).await?;
        let (parts, body) = response.into_parts();
        // Reserved from the budget as it arrives, until the component has read it.
        let bytes = collect(body, policy.max_response_bytes, budget).await.map_err(|e| match e {
            Collect::Body(e) => HttpError::Hyper(e),
            Collect::TooLarge => HttpError::HttpResponseBodySize(Some(policy.max_response_bytes as u64)),
            Collect::OverBudget(over) => budget_error(&over),
        })?;
        // Read whole: the connection may serve the next request.
        connection.release();
        Ok::<_, HttpError>(http::Response::from_parts(parts, bytes))
    };
    let response = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            let said = match &e {
                HttpError::Connect(io) => format!("could not connect: {}", crate::errors::io_reason(io)),
                other => other.to_string(),
            };
            log.call_event(Level::Warn, &format!("{label}: {said}"));
            return Err(e);
        }
        Err(_) => {
            let seconds = timeout.as_secs_f64();
            log.call_event(Level::Warn, &format!("{label}: no complete answer within {seconds:.0} s"));
            return Err(HttpError::HttpResponseTimeout);
        }
    };
    Ok(response.map(|bytes: Bytes| Full::new(bytes).map_err(|never| match never {}).boxed_unsync()))
}

//! The one outbound path: every HTTP request the plugin makes is checked against the
//! allowlist (https to Dotdigital's regional API hosts, nothing else), throttled, routed to
//! the chosen upstream with its original `Host` header, bounded in time and size, and read
//! whole. Anything else is refused before a connection is made.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::throttle::Throttle;
use crate::host::log::{Level, LogSink};

/// The hosts the connector may call, over https on the default port only.
pub const ALLOWED_HOSTS: &[&str] = &["r1-api.dotdigital.com", "r2-api.dotdigital.com", "r3-api.dotdigital.com"];

/// Where allowed requests go.
#[derive(Clone, Debug, PartialEq)]
pub enum Upstream {
    /// Nothing leaves: every request is refused (used while a plugin describes itself).
    Deny,
    /// Dotdigital itself, over TLS.
    Live,
    /// A plain-HTTP server (the embedded simulator, or a test server) that receives every
    /// allowed request with its original `Host` header.
    Forward(SocketAddr),
}

impl Upstream {
    /// `live`, or `http://HOST:PORT`. `sim` is resolved by the caller, which starts one.
    pub fn parse_forward(value: &str) -> Result<Upstream, UpstreamError> {
        if value == "live" {
            return Ok(Upstream::Live);
        }
        let rest =
            value.strip_prefix("http://").ok_or_else(|| UpstreamError::NotAnUpstream { value: value.to_string() })?;
        let rest = rest.trim_end_matches('/');
        use std::net::ToSocketAddrs;
        rest.to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(Upstream::Forward)
            .ok_or_else(|| UpstreamError::Unresolvable { value: value.to_string(), authority: rest.to_string() })
    }
}

/// Why an `--upstream` value was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamError {
    /// Neither `sim`, `live` nor `http://…`.
    NotAnUpstream { value: String },
    /// `http://HOST:PORT` whose authority does not resolve here.
    Unresolvable { value: String, authority: String },
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::NotAnUpstream { value } => {
                write!(f, "--upstream {value:?}: expected sim, live or http://HOST:PORT")
            }
            UpstreamError::Unresolvable { value, authority } => {
                write!(f, "--upstream {value:?}: {authority:?} is not a HOST:PORT this machine can resolve")
            }
        }
    }
}

impl std::error::Error for UpstreamError {}

/// Why a request was refused, naming the host and the rule.
#[derive(Debug, PartialEq)]
pub struct Denial(pub String);

/// The subscription-wide outbound rules, shared by every call.
pub struct OutboundPolicy {
    pub upstream: Upstream,
    /// Bound on one request, from connect to the last byte of the answer.
    pub call_timeout: Duration,
    pub max_response_bytes: usize,
    /// Largest request body the plugin may send (Dotdigital's own limit is 50 MB).
    pub max_request_bytes: usize,
    pub throttle: Arc<Throttle>,
}

impl OutboundPolicy {
    /// The allowlist check, before anything touches the network.
    pub fn check(uri: &http::Uri) -> Result<(), Denial> {
        let host = uri.host().unwrap_or("");
        if uri.scheme_str() != Some("https") {
            return Err(Denial(format!(
                "{}://{host}: only https is allowed",
                uri.scheme_str().unwrap_or("(no scheme)")
            )));
        }
        if !ALLOWED_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
            return Err(Denial(format!("{host}: not a Dotdigital API host (allowed: {})", ALLOWED_HOSTS.join(", "))));
        }
        if uri.port_u16().is_some_and(|p| p != 443) {
            return Err(Denial(format!(
                "{host}:{}: only the default https port is allowed",
                uri.port_u16().unwrap_or(0)
            )));
        }
        Ok(())
    }
}

/// Time a call spent with at least one request outstanding (network or throttle): time that
/// is not the plugin's CPU. Overlapping requests count once, so firing many at a time does
/// not buy a plugin extra CPU.
#[derive(Default)]
pub struct WaitClock {
    state: Mutex<WaitState>,
}

#[derive(Default)]
struct WaitState {
    outstanding: u32,
    since: Option<Instant>,
    total: Duration,
}

impl WaitClock {
    fn begin(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.outstanding == 0 {
            state.since = Some(Instant::now());
        }
        state.outstanding += 1;
    }

    fn end(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.outstanding = state.outstanding.saturating_sub(1);
        if state.outstanding == 0 {
            if let Some(since) = state.since.take() {
                state.total += since.elapsed();
            }
        }
    }

    /// Waiting so far, including a wait still going on.
    pub fn waited(&self) -> Duration {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.total + state.since.map(|s| s.elapsed()).unwrap_or_default()
    }
}

/// The per-call hooks handed to wasmtime-wasi-http.
pub struct OutboundHooks {
    pub policy: Arc<OutboundPolicy>,
    pub log: LogSink,
    pub waiting: Arc<WaitClock>,
}

impl WasiHttpHooks for OutboundHooks {
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
        let policy = self.policy.clone();
        let log = self.log.clone();
        let waiting = self.waiting.clone();
        Box::new(async move {
            waiting.begin();
            let result = send(&policy, &log, request).await;
            waiting.end();
            let response = result?;
            let done: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

async fn send(
    policy: &OutboundPolicy,
    log: &LogSink,
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let label = format!("{} {}", request.method(), request.uri());
    if let Err(Denial(why)) = OutboundPolicy::check(request.uri()) {
        log.emit(Level::Warn, &format!("outbound request denied: {why}"));
        return Err(HttpError::HttpRequestDenied);
    }
    if policy.upstream == Upstream::Deny {
        log.emit(Level::Warn, &format!("outbound request denied: no upstream for {label}"));
        return Err(HttpError::HttpRequestDenied);
    }
    // A connection slot first, so at most `concurrent` bodies are ever held in memory.
    let _permit = policy.throttle.acquire().await;
    // Then the whole request body: the plugin's writes always complete, so an early answer
    // (a 429 sent before the body was read) reaches it as an answer, not a closed stream.
    let (parts, body) = request.into_parts();
    let body =
        Limited::new(body, policy.max_request_bytes).collect().await.map_err(|e| match e.downcast::<HttpError>() {
            Ok(e) => *e,
            Err(_) => HttpError::HttpRequestBodySize(Some(policy.max_request_bytes as u64)),
        })?;
    let mut request =
        http::Request::from_parts(parts, Full::new(body.to_bytes()).map_err(|never| match never {}).boxed_unsync());
    if let Upstream::Forward(addr) = &policy.upstream {
        // The Host header already names the original authority; only the URI changes.
        let path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        *request.uri_mut() = format!("http://{addr}{path}").parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
    }
    let timeout = policy.call_timeout;
    let options = RequestOptions {
        connect_timeout: Some(timeout),
        first_byte_timeout: Some(timeout),
        between_bytes_timeout: Some(timeout),
    };
    let exchange = async {
        let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
        // `io` drives the connection while the body is read.
        let driver = tokio::spawn(io);
        let (parts, body) = response.into_parts();
        let collected = Limited::new(body, policy.max_response_bytes).collect().await;
        driver.abort();
        let bytes = collected
            .map_err(|e| match e.downcast::<HttpError>() {
                Ok(e) => *e,
                Err(_) => HttpError::HttpResponseBodySize(Some(policy.max_response_bytes as u64)),
            })?
            .to_bytes();
        Ok::<_, HttpError>(http::Response::from_parts(parts, bytes))
    };
    let response = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            log.emit(Level::Warn, &format!("{label}: {e}"));
            return Err(e);
        }
        Err(_) => {
            log.emit(Level::Warn, &format!("{label}: no complete answer within {timeout:?}"));
            return Err(HttpError::HttpResponseTimeout);
        }
    };
    Ok(response.map(|bytes: Bytes| Full::new(bytes).map_err(|never| match never {}).boxed_unsync()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str) -> Result<(), Denial> {
        OutboundPolicy::check(&uri.parse().unwrap())
    }

    #[test]
    fn only_https_dotdigital_hosts_pass() {
        assert!(check("https://r1-api.dotdigital.com/v2/account-info").is_ok());
        assert!(check("https://R3-API.dotdigital.com/contacts/v3/email/x").is_ok());
        assert!(check("https://r2-api.dotdigital.com:443/x").is_ok());
        assert!(check("http://r1-api.dotdigital.com/x").unwrap_err().0.contains("only https"));
        assert!(check("https://example.com/x").unwrap_err().0.contains("not a Dotdigital API host"));
        assert!(check("https://127.0.0.1/x").is_err());
        assert!(check("https://r1-api.dotdigital.com.evil.com/x").is_err());
        assert!(check("https://r1-api.dotdigital.com:8443/x").is_err());
    }

    #[test]
    fn overlapping_waits_count_once() {
        let clock = WaitClock::default();
        clock.begin();
        clock.begin();
        std::thread::sleep(Duration::from_millis(50));
        clock.end();
        std::thread::sleep(Duration::from_millis(50));
        clock.end();
        let waited = clock.waited();
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_millis(190), "{waited:?}");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(clock.waited(), waited, "nothing outstanding, nothing added");
    }

    #[test]
    fn upstream_parses() {
        assert_eq!(Upstream::parse_forward("live"), Ok(Upstream::Live));
        assert_eq!(
            Upstream::parse_forward("http://127.0.0.1:8080"),
            Ok(Upstream::Forward("127.0.0.1:8080".parse().unwrap()))
        );
        assert!(matches!(Upstream::parse_forward("ftp://x"), Err(UpstreamError::NotAnUpstream { .. })));
        assert!(matches!(Upstream::parse_forward("http://127.0.0.1"), Err(UpstreamError::Unresolvable { .. })));
    }
}

//! The one outbound path: every HTTP request the plugin makes is checked against the
//! allowlist (https to Dotdigital's regional API hosts, nothing else), throttled, routed to
//! the chosen upstream with the canonical `Host` header, bounded in time and size, and read
//! whole. Anything else is refused before a connection is made, and the refusal is final.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS};

use super::budget::{collect, CallBudget, Collect, OverBudget};
use super::connections::{ConnectionPool, Destination};
use super::throttle::Throttle;
use crate::host::log::{clip, Level, LogSink, MAX_ECHO_CHARS};

/// The origins the connector may call: https on the default port, nothing else.
pub const ALLOWED_ORIGINS: &[&str] =
    &["https://r1-api.dotdigital.com", "https://r2-api.dotdigital.com", "https://r3-api.dotdigital.com"];

/// `ALLOWED_ORIGINS`, parsed once.
static DOTDIGITAL: LazyLock<Allowlist> =
    LazyLock::new(|| Allowlist::parse(ALLOWED_ORIGINS).expect("ALLOWED_ORIGINS are https://HOST origins"));

/// One allowed destination: its lower-case host name, the only spelling that is ever sent
/// upstream (URI and `Host` header alike). The scheme is https and the port 443 for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost(String);

impl AllowedHost {
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// The typed allowlist (Spin's `allowed_outbound_hosts`, reduced to what this host allows):
/// parsed once, then one `check` per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowlist {
    hosts: Vec<AllowedHost>,
}

/// Why an allowlist entry was refused (a programming error: the list is a constant).
#[derive(Debug, Clone, PartialEq)]
pub struct AllowlistError(pub String);

impl Allowlist {
    /// Entries are `https://HOST` origins: no path, no user, no port (443 is implied).
    pub fn parse(origins: &[&str]) -> Result<Allowlist, AllowlistError> {
        let hosts = origins
            .iter()
            .map(|origin| {
                let host = origin
                    .strip_prefix("https://")
                    .filter(|host| {
                        !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                    })
                    .ok_or_else(|| AllowlistError(format!("{origin:?} is not an https://HOST origin")))?;
                Ok(AllowedHost(host.to_ascii_lowercase()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Allowlist { hosts })
    }

    /// Dotdigital's regional API hosts.
    pub fn dotdigital() -> &'static Allowlist {
        &DOTDIGITAL
    }

    /// The allowed host a request's URI names, or the rule it breaks. The authority must be
    /// exactly `HOST` or `HOST:443`: no user info, no empty port, no other spelling of 443
    /// (`:0443`), so what reaches upstream is never a spelling the component chose.
    pub fn check(&self, uri: &http::Uri) -> Result<&AllowedHost, Denial> {
        if uri.scheme_str() != Some("https") {
            let scheme = clip(uri.scheme_str().unwrap_or("(none)"), MAX_ECHO_CHARS).into_owned();
            return Err(Denial::NotHttps { scheme });
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        if authority.contains('@') {
            return Err(Denial::UserInfo);
        }
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 literal (`[::1]`) has colons of its own; it is not allowed anyway.
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (authority, None),
        };
        let allowed = self
            .hosts
            .iter()
            .find(|allowed| allowed.0.eq_ignore_ascii_case(host))
            .ok_or_else(|| Denial::NotAllowed { host: clip(host, MAX_ECHO_CHARS).into_owned() })?;
        match port {
            None | Some("443") => Ok(allowed),
            Some(port) => Err(Denial::Port { port: clip(port, MAX_ECHO_CHARS).into_owned() }),
        }
    }

    fn names(&self) -> String {
        self.hosts.iter().map(AllowedHost::name).collect::<Vec<_>>().join(", ")
    }
}

/// Headers a component may not send upstream: they would speak for a proxy or the
/// connection (who the client is, which host was asked for, how to frame the body).
/// wasi-http already refuses `Connection`, `Keep-Alive`, `Proxy-Authorization`,
/// `Proxy-Authenticate`, `Proxy-Connection`, `Transfer-Encoding`, `Upgrade` and `Host`; the
/// rest are dropped here, in the one outbound path.
fn is_proxy_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(
        name,
        "forwarded"
            | "x-real-ip"
            | "via"
            | "connection"
            | "te"
            | "upgrade"
            | "keep-alive"
            | "trailer"
            | "transfer-encoding"
            | "http2-settings"
            | "host"
    ) || name.starts_with("x-forwarded-")
        || name.starts_with("proxy-")
}

/// Drops every proxy or hop-by-hop header and names the allowed host as `Host`.
fn canonical_headers(headers: &mut HeaderMap, host: &AllowedHost) {
    let dropped: Vec<HeaderName> = headers.keys().filter(|name| is_proxy_header(name)).cloned().collect();
    for name in dropped {
        headers.remove(&name);
    }
    let host = HeaderValue::from_str(host.name()).expect("an allowed host is a valid header value");
    headers.insert(http::header::HOST, host);
}

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
    /// Answered in this process, without a socket (the benchmark's measure of the host's and
    /// the component's own cost): every check, the throttle and the body limits still apply.
    InProcess(InProcessHandler),
}

/// Answers an allowed request (canonical `Host`, body read whole) in this process.
#[derive(Clone)]
pub struct InProcessHandler(pub Arc<dyn Fn(http::Request<Bytes>) -> http::Response<Bytes> + Send + Sync>);

impl std::fmt::Debug for InProcessHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcessHandler")
    }
}

impl PartialEq for InProcessHandler {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
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

/// Why a request was refused, naming the rule. Whatever the component wrote is clipped to
/// `MAX_ECHO_CHARS`, so a refusal never repeats a 64 KB host name.
#[derive(Debug, Clone, PartialEq)]
pub enum Denial {
    NotHttps {
        scheme: String,
    },
    UserInfo,
    NotAllowed {
        host: String,
    },
    Port {
        port: String,
    },
    /// Nothing leaves this call at all (`Upstream::Deny`).
    NoUpstream,
    /// The call already has this many requests outstanding (each may hold a request body in
    /// host memory).
    TooManyOutstanding {
        limit: u32,
    },
    /// The call has already made this many requests.
    TooManyRequests {
        limit: u32,
    },
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::NotHttps { scheme } => write!(f, "{scheme}://: only https is allowed"),
            Denial::UserInfo => f.write_str("user info in the authority (user:password@host) is not allowed"),
            Denial::NotAllowed { host } => {
                write!(f, "{host}: not a Dotdigital API host (allowed: {})", Allowlist::dotdigital().names())
            }
            Denial::Port { port } => write!(f, "port {port:?}: only the default https port (443) is allowed"),
            Denial::NoUpstream => f.write_str("no upstream: nothing may leave this call"),
            Denial::TooManyOutstanding { limit } => {
                write!(f, "{limit} requests already outstanding in this call: finish one first")
            }
            Denial::TooManyRequests { limit } => write!(f, "this call has already made {limit} requests, its most"),
        }
    }
}

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

    /// The allowlist check, before anything touches the network.
    pub fn check(uri: &http::Uri) -> Result<&'static AllowedHost, Denial> {
        Allowlist::dotdigital().check(uri)
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
        let policy = self.policy.clone();
        let log = self.log.clone();
        let budget = self.budget.clone();
        // Decided here, before any task or throttle slot: a refusal costs next to nothing.
        let verdict = match OutboundPolicy::check(request.uri()) {
            Ok(_) if policy.upstream == Upstream::Deny => Err(Denial::NoUpstream),
            verdict => verdict,
        };
        let slot = verdict.and_then(|host| {
            if self.requests >= self.max_requests {
                return Err(Denial::TooManyRequests { limit: self.max_requests });
            }
            self.requests += 1;
            let slot = OutstandingSlot::take(&self.outstanding, self.max_outstanding)
                .ok_or(Denial::TooManyOutstanding { limit: self.max_outstanding })?;
            Ok((host, slot))
        });
        let (host, slot) = match slot {
            Ok(allowed) => allowed,
            Err(denial) => {
                if self.denials.record() <= DENIALS_LOGGED_PER_CALL {
                    log.call_event(Level::Warn, &format!("outbound request denied: {denial}"));
                }
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        Box::new(async move {
            let response = send(&policy, &log, &budget, host, request).await;
            drop(slot);
            let done: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((response?, done))
        })
    }
}

/// Sends an allowed request to the upstream, as `host` says: the component's spelling of
/// the authority and its proxy headers never leave.
async fn send(
    policy: &OutboundPolicy,
    log: &LogSink,
    budget: &CallBudget,
    host: &AllowedHost,
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let label = format!("{} {}", request.method(), clip(&request.uri().to_string(), MAX_ECHO_CHARS));
    let timeout = policy.call_timeout;
    // The whole request body first, within the call timeout and before a connection slot:
    // a body held open ends here instead of pinning a slot. Reading it whole also means an early answer
    // (a 429 sent before the body was read) reaches the plugin as an answer, not a closed
    // stream. Its bytes are reserved from the budget as they arrive, until it is sent.
    let (mut parts, body) = request.into_parts();
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
    canonical_headers(&mut parts.headers, host);
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
    parts.uri = match &policy.upstream {
        // The Host header names the allowed host; only the address changes.
        Upstream::Forward(addr) => format!("http://{addr}{path}"),
        _ => format!("https://{}{path}", host.name()),
    }
    .parse()
    .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let request = http::Request::from_parts(parts, Full::new(body).map_err(|never| match never {}).boxed_unsync());
    answer(policy, log, budget, &label, request).await
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
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let _permit = policy.throttle.acquire().await;
    let timeout = policy.call_timeout;
    let exchange = async {
        let (parts, body) = request.into_parts();
        let destination = match &policy.upstream {
            Upstream::Forward(addr) => Destination::Plain(*addr),
            Upstream::Live => Destination::Tls(parts.uri.host().unwrap_or_default().to_string()),
            Upstream::InProcess(handler) => {
                let body = body.collect().await?.to_bytes();
                return Ok(handler.0(http::Request::from_parts(parts, body)));
            }
            Upstream::Deny => return Err(HttpError::HttpRequestDenied),
        };
        let mut request = http::Request::from_parts(parts, body);
        // Origin form on the wire, as to any server that is not a proxy: the `Host` header
        // (the allowlist's spelling) names the host.
        let path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        *request.uri_mut() = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str) -> Result<&'static str, Denial> {
        OutboundPolicy::check(&uri.parse().unwrap()).map(AllowedHost::name)
    }

    #[test]
    fn only_https_dotdigital_hosts_pass() {
        assert_eq!(check("https://r1-api.dotdigital.com/v2/account-info"), Ok("r1-api.dotdigital.com"));
        assert_eq!(check("https://R3-API.DotDigital.com/contacts/v3/email/x"), Ok("r3-api.dotdigital.com"));
        assert!(check("http://r1-api.dotdigital.com/x").unwrap_err().to_string().contains("only https"));
        assert!(check("https://example.com/x").unwrap_err().to_string().contains("not a Dotdigital API host"));
        assert!(check("https://127.0.0.1/x").is_err());
        assert!(check("https://[::1]:443/x").is_err());
        assert!(check("https://r1-api.dotdigital.com.evil.com/x").is_err());
        assert!(check("https://r1-api.dotdigital.com./x").is_err(), "a trailing dot is another spelling");
        assert!(check("https://r1-api.dotdigital.com:8443/x").is_err());
    }

    #[test]
    fn the_authority_is_the_host_and_at_most_port_443() {
        // `:443` written out is the default port itself: allowed, and never forwarded as such.
        assert_eq!(check("https://r2-api.dotdigital.com:443/x"), Ok("r2-api.dotdigital.com"));
        assert_eq!(check("https://user:pw@r1-api.dotdigital.com/x"), Err(Denial::UserInfo));
        assert_eq!(check("https://@r1-api.dotdigital.com/x"), Err(Denial::UserInfo));
        assert_eq!(check("https://r1-api.dotdigital.com@example.com/x"), Err(Denial::UserInfo));
        assert_eq!(check("https://r1-api.dotdigital.com:/x"), Err(Denial::Port { port: String::new() }));
        assert_eq!(check("https://r1-api.dotdigital.com:0443/x"), Err(Denial::Port { port: "0443".into() }));
        assert_eq!(check("https://r1-api.dotdigital.com:80/x"), Err(Denial::Port { port: "80".into() }));
    }

    #[test]
    fn a_denial_never_repeats_more_than_a_clip_of_the_component_text() {
        let long = format!("https://{}.example.com/x", "a".repeat(60_000));
        let denial = check(&long).unwrap_err();
        assert!(denial.to_string().len() < MAX_ECHO_CHARS + 200, "{} bytes", denial.to_string().len());
    }

    #[test]
    fn the_allowlist_is_parsed_once_from_https_origins() {
        assert_eq!(Allowlist::dotdigital().hosts.len(), ALLOWED_ORIGINS.len());
        let list = Allowlist::parse(&["https://Example.com"]).unwrap();
        assert_eq!(list.check(&"https://EXAMPLE.com/".parse().unwrap()).map(AllowedHost::name), Ok("example.com"));
        for bad in ["http://example.com", "https://", "https://example.com:443", "https://u@example.com", "example.com"]
        {
            assert!(Allowlist::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxy_headers_are_dropped_and_host_is_canonical() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "R1-API.dotdigital.com:0443"),
            ("forwarded", "for=1.2.3.4;host=evil"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-host", "evil"),
            ("x-forwarded-proto", "http"),
            ("x-real-ip", "1.2.3.4"),
            ("via", "1.1 evil"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("proxy-foo", "x"),
            ("authorization", "Basic x"),
            ("content-type", "application/json"),
            ("user-agent", "connector"),
        ] {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        canonical_headers(&mut headers, &AllowedHost("r1-api.dotdigital.com".into()));
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort();
        assert_eq!(left, ["authorization", "content-type", "host", "user-agent"]);
        assert_eq!(headers.get_all("host").iter().collect::<Vec<_>>(), ["r1-api.dotdigital.com"]);
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

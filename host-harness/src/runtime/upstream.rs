//! Where allowed requests go: the upstream of a run (nowhere, Dotdigital, a plain-HTTP
//! server, or an in-process handler), parsed from `--upstream`, and the one place a request
//! is routed to it: `Deny` is decided here once, and the request's URI rewritten here once.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use wasmtime_wasi_http::Error as HttpError;

use super::allowlist::{canonical_headers, AllowedHost, Denial};
use super::connections::Destination;

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

/// Answers an allowed request (as [`rewrite`] leaves it, its body read whole) in this process.
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

    /// Where a request to `host` goes; `Deny` refuses it here, before any slot or task.
    pub fn route(&self, host: &AllowedHost) -> Result<Route, Denial> {
        Ok(match self {
            Upstream::Deny => return Err(Denial::NoUpstream),
            Upstream::Live => Route::Connection(Destination::Tls(host.name().to_string())),
            Upstream::Forward(addr) => Route::Connection(Destination::Plain(*addr)),
            Upstream::InProcess(handler) => Route::InProcess(handler.clone()),
        })
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

/// Where one allowed request goes, decided by [`Upstream::route`].
pub enum Route {
    /// Over a connection of the policy's pool.
    Connection(Destination),
    /// To the in-process handler.
    InProcess(InProcessHandler),
}

/// The request as it leaves, whatever the route: origin form (`/path?query`, as any server
/// that is not a proxy receives it), its proxy and hop-by-hop headers dropped, and `Host`
/// naming the allowed host. The component's spelling of the authority never leaves.
pub fn rewrite(parts: &mut http::request::Parts, host: &AllowedHost) -> Result<(), HttpError> {
    canonical_headers(&mut parts.headers, host);
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

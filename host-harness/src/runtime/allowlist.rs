//! The outbound rules, Spin-style: which origins a request may name (https to Dotdigital's
//! regional API hosts, parsed once into a typed allowlist), which headers never leave (proxy
//! and hop-by-hop ones; `Host` is the allowlist's spelling), and why a request was refused.
//! Pure: nothing here touches the network, so every rule is testable alone.

use std::sync::LazyLock;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::host::log::{clip, MAX_ECHO_CHARS};

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
/// rest are dropped by [`canonical_headers`], which the one outbound path applies to every
/// request it sends.
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
pub fn canonical_headers(headers: &mut HeaderMap, host: &AllowedHost) {
    let dropped: Vec<HeaderName> = headers.keys().filter(|name| is_proxy_header(name)).cloned().collect();
    for name in dropped {
        headers.remove(&name);
    }
    let host = HeaderValue::from_str(host.name()).expect("an allowed host is a valid header value");
    headers.insert(http::header::HOST, host);
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str) -> Result<&'static str, Denial> {
        Allowlist::dotdigital().check(&uri.parse().unwrap()).map(AllowedHost::name)
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
}

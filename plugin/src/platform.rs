//! What a flow needs from the outside world, as a trait: the component implements it with
//! wasi:http and the host imports; native unit tests implement it with a scripted fake.

/// An HTTP method the connector uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One outgoing request, fully built (headers included).
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    /// Names are constants: the connector never invents header names at run time.
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

/// An absolute URL's scheme, host (with any port) and path with its query, the parts wasi:http
/// sets one by one. The connector only builds `https://rN-api.dotdigital.com/…` URLs; anything
/// else is said rather than guessed at.
pub fn url_parts(url: &str) -> Result<(&str, &str, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if scheme.is_empty() || authority.is_empty() || url.contains('#') {
        return Err(format!("`{url}` is not an absolute URL without a fragment"));
    }
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    Ok((scheme, authority, path))
}

/// The answer, read whole.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Header lookup ignoring case (HTTP/2 lowercases, Dotdigital's docs capitalise).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// The host as the flows see it.
pub trait Platform {
    /// Sends one request; `Err` is a transport failure (no HTTP answer), described in words.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
    fn log(&self, level: LogLevel, message: &str);
    fn get_data(&self, key: &str) -> Option<String>;
    /// `Err` when the platform could not store it.
    fn set_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), String>;
    /// Stores `value` only if `key` is absent or expired: `Ok(true)` when this call stored
    /// it, `Ok(false)` when another holder has it, `Err` when nothing could be stored.
    fn claim_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, String>;
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

#[cfg(test)]
mod tests {
    use super::url_parts;

    #[test]
    fn a_url_splits_into_what_wasi_http_sets() {
        let parts = |url| url_parts(url).map(|(s, a, p)| (s.to_string(), a.to_string(), p));
        let ok = |s: &str, a: &str, p: &str| Ok((s.to_string(), a.to_string(), p.to_string()));
        assert_eq!(
            parts("https://r1-api.dotdigital.com/v2/account-info"),
            ok("https", "r1-api.dotdigital.com", "/v2/account-info")
        );
        assert_eq!(
            parts("https://r2-api.dotdigital.com/v2/x?a=1&b=%20"),
            ok("https", "r2-api.dotdigital.com", "/v2/x?a=1&b=%20")
        );
        assert_eq!(parts("http://127.0.0.1:8080"), ok("http", "127.0.0.1:8080", "/"));
        assert_eq!(parts("https://h?q=1"), ok("https", "h", "/?q=1"));
        for bad in ["r1-api.dotdigital.com/v2", "https:///v2", "://h/", "https://h#frag", "https://h/p#frag", ""] {
            assert!(url_parts(bad).is_err(), "{bad}");
        }
    }
}

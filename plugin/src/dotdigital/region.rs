//! Which regional host serves the account: the configured endpoint, else the one cached in
//! host data, else `GET /v2/account-info` on r1 (which answers for every account).

use crate::mapping::values::shown;
use crate::platform::{LogLevel, Platform};

/// Dotdigital's regions; each is served at `https://{region}-api.dotdigital.com` (API.md §1).
const REGIONS: [&str; 3] = ["r1", "r2", "r3"];
/// The host that answers account-info for every account.
pub const DISCOVERY_BASE: &str = "https://r1-api.dotdigital.com";
/// How long a discovered endpoint is trusted before it is looked up again.
const CACHE_TTL_SECONDS: u32 = 7 * 24 * 3600;

/// Where calls go, and whether the connector chose it (and may therefore change its mind).
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `https://rN-api.dotdigital.com`, no trailing slash.
    pub base: String,
    pub source: EndpointSource,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EndpointSource {
    /// The `api_endpoint` setting: never second-guessed.
    Configured,
    /// From host data, written by an earlier discovery.
    Cached,
    /// Looked up during this call.
    Discovered,
}

/// The host-data key of an API user's endpoint. Users are emails, so lowercase them.
pub fn cache_key(api_user: &str) -> String {
    format!("region:{}", api_user.trim().to_ascii_lowercase())
}

pub fn cached(platform: &dyn Platform, api_user: &str) -> Option<String> {
    platform.get_data(&cache_key(api_user)).filter(|base| is_dotdigital_api_base(base))
}

/// A cache that cannot be written only costs a discovery next time.
pub fn remember(platform: &dyn Platform, api_user: &str, base: &str) {
    match platform.set_data(&cache_key(api_user), base, Some(CACHE_TTL_SECONDS)) {
        Ok(()) => platform.log(LogLevel::Info, &format!("region endpoint {base} cached")),
        Err(why) => platform.log(LogLevel::Warn, &format!("region endpoint {base} not cached: {why}")),
    }
}

pub fn forget(platform: &dyn Platform, api_user: &str) {
    if let Err(why) = platform.set_data(&cache_key(api_user), "", None) {
        platform.log(LogLevel::Warn, &format!("stale region endpoint not cleared: {why}"));
    }
}

/// The one reading of a Dotdigital API endpoint, shared by the `api_endpoint` setting and by
/// region discovery (`ApiEndpoint`): `https://r1|r2|r3-api.dotdigital.com`, any casing, an
/// optional trailing `/`. The legacy `rN-api.dotmailer.com` hosts name the same regions and are
/// rewritten to the current ones. Anything else is refused rather than followed.
pub fn normalise_api_endpoint(text: &str) -> Result<String, String> {
    let lower = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let host = lower.strip_prefix("https://").ok_or_else(|| format!("`{}` must start with https://", shown(text)))?;
    for region in REGIONS {
        if host == format!("{region}-api.dotdigital.com") || host == format!("{region}-api.dotmailer.com") {
            return Ok(format!("https://{region}-api.dotdigital.com"));
        }
    }
    let bases: Vec<String> = REGIONS.iter().map(|region| format!("https://{region}-api.dotdigital.com")).collect();
    Err(format!(
        "`{}` is not a Dotdigital API endpoint: use {} (or the legacy rN-api.dotmailer.com)",
        shown(text),
        bases.join(", ")
    ))
}

/// A base exactly as [`normalise_api_endpoint`] writes it (what the cache may hold).
fn is_dotdigital_api_base(base: &str) -> bool {
    normalise_api_endpoint(base).is_ok_and(|normal| normal == base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_endpoint_is_normalised_and_checked() {
        for (given, expected) in [
            ("https://r2-api.dotdigital.com/", "https://r2-api.dotdigital.com"),
            (" HTTPS://R3-api.dotdigital.com ", "https://r3-api.dotdigital.com"),
            ("https://r1-api.dotdigital.com", "https://r1-api.dotdigital.com"),
            ("https://r3-api.dotdigital.com//", "https://r3-api.dotdigital.com"),
            ("HTTPS://r2-api.dotmailer.com/", "https://r2-api.dotdigital.com"),
            ("https://r1-api.dotmailer.com", "https://r1-api.dotdigital.com"),
        ] {
            assert_eq!(normalise_api_endpoint(given).as_deref(), Ok(expected), "{given}");
        }
        for bad in [
            "http://r1-api.dotdigital.com/",
            "https://evil.example.com/",
            "https://r1-api.dotdigital.com.evil.com",
            "https://r4-api.dotdigital.com",
            "https://evil.example/r1-api.dotdigital.com",
            "https://r1-api.dotdigital.com/v2",
            "https://r1-api.dotdigital.com:8443",
            "https://r1-api.dotmailer.co.uk",
            "https://apiconnector.com",
            "r1-api.dotdigital.com",
        ] {
            assert!(normalise_api_endpoint(bad).is_err(), "{bad}");
        }
    }
}

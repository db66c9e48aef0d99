//! Which regional host serves the account: the configured endpoint, else the one cached in
//! host data, else `GET /v2/account-info` on r1 (which answers for every account).

use crate::platform::{LogLevel, Platform};
use crate::settings::normalise_api_endpoint;

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

/// A base exactly as [`normalise_api_endpoint`] writes it (what the cache may hold).
fn is_dotdigital_api_base(base: &str) -> bool {
    normalise_api_endpoint(base).is_ok_and(|normal| normal == base)
}

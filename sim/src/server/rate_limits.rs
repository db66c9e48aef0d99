//! How a call over a rate limit is answered (developer.dotdigital.com/docs/call-rate-limits):
//! `429` with `X-RateLimit-*` headers for an exhausted tier window, `400
//! ERROR_APIUSAGE_EXCEEDED` for the older flat hourly cap. The counters are the model's
//! (`model/usage.rs`).

use std::time::Duration;

use crate::api::errors::{api_usage_exceeded, ApiFamily};
use crate::api::message::SimResponse;
use crate::clock::epoch_seconds;
use crate::model::{Tier, WindowReport};
use crate::settings::{RateLimitConfig, ResetMode};

/// The tier a path counts in: imports (any `import` segment) are Low, the rest High. assumed:
/// the call-rate-limits page says each call's reference page names its tier and bulk calls
/// are usually Low; the simulator keeps two tiers.
pub(crate) fn tier_of_path(path: &str) -> Tier {
    if path.to_ascii_lowercase().split('/').any(|segment| segment == "import") {
        Tier::Low
    } else {
        Tier::High
    }
}

/// The `X-RateLimit-*` headers (plus `Retry-After` on a 429 when configured).
pub(crate) fn headers(report: &WindowReport, config: &RateLimitConfig, throttled: bool) -> Vec<(String, String)> {
    let delta = report.reset_in.as_secs_f64().ceil() as u64;
    let reset = match config.reset {
        ResetMode::Epoch => (epoch_seconds() + report.reset_in.as_secs_f64()).ceil() as u64,
        ResetMode::Delta => delta,
    };
    let mut headers = vec![
        ("X-RateLimit-Limit".to_string(), report.limit.to_string()),
        ("X-RateLimit-Remaining".to_string(), report.remaining.to_string()),
        ("X-RateLimit-Reset".to_string(), reset.to_string()),
        ("X-RateLimit-Scope".to_string(), report.tier.name().to_string()),
    ];
    if throttled && config.retry_after {
        headers.push(("Retry-After".to_string(), delta.to_string()));
    }
    if config.lowercase_headers {
        for (name, _) in &mut headers {
            *name = name.to_ascii_lowercase();
        }
    }
    headers
}

/// The 429 for an exhausted tier: a v3 error on v3 paths, a v2 message elsewhere.
pub(crate) fn throttled(family: ApiFamily, report: &WindowReport, config: &RateLimitConfig) -> SimResponse {
    let description = format!(
        "You have exceeded the {} calls allowed per {} seconds for the {} tier; try again after the reset",
        report.limit,
        config.window.as_secs(),
        report.tier.name()
    );
    // assumed: the documents give the 429 and its headers but no body; `<service>:tooManyRequests`
    // and `ERROR_RATE_LIMIT_EXCEEDED` are invented by the simulator, so clients key on 429.
    family
        .error(429, "tooManyRequests", &description, "ERROR_RATE_LIMIT_EXCEEDED")
        .with_headers(headers(report, config, true))
}

/// A 429 forced by a fault: the window of the path's tier is spent and resets in `seconds`.
pub(crate) fn forced_throttle(family: ApiFamily, path: &str, seconds: u64, config: &RateLimitConfig) -> SimResponse {
    let tier = tier_of_path(path);
    let report = WindowReport { tier, limit: tier.limit(config), remaining: 0, reset_in: Duration::from_secs(seconds) };
    throttled(family, &report, config)
}

/// The flat cap's answer.
pub(crate) fn flat_capped() -> SimResponse {
    api_usage_exceeded()
}

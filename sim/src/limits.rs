//! Dotdigital's call-rate limits (API.md §6): fixed windows per account and tier answered with
//! `429` and `X-RateLimit-*` headers, and the older flat hourly cap answered with
//! `400 ERROR_APIUSAGE_EXCEEDED`.

use std::time::{Duration, Instant};

use crate::clock::epoch_seconds;
use crate::config::{RateLimitConfig, ResetMode};
use crate::errors::{api_usage_exceeded, ApiFamily};
use crate::message::SimResponse;

const HOUR: Duration = Duration::from_secs(3600);

/// What `account-info` reports as the hourly allowance when the flat cap is off.
pub(crate) const NOMINAL_HOURLY_ALLOWANCE: u32 = 2000;

/// A rate-limit tier: imports are Low, every other counted call is High.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    Low,
    High,
}

impl Tier {
    pub(crate) fn of_path(path: &str) -> Tier {
        if path.to_ascii_lowercase().split('/').any(|segment| segment == "import") {
            Tier::Low
        } else {
            Tier::High
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tier::Low => "Low",
            Tier::High => "High",
        }
    }

    fn limit(self, config: &RateLimitConfig) -> u32 {
        match self {
            Tier::Low => config.low_limit,
            Tier::High => config.default_limit,
        }
    }
}

/// A fixed window that opens with the first call after the previous one ended.
#[derive(Clone, Copy, Debug)]
struct Window {
    opened: Instant,
    calls: u32,
}

fn current(slot: &mut Option<Window>, length: Duration, now: Instant) -> &mut Window {
    if slot.is_some_and(|w| now.saturating_duration_since(w.opened) >= length) {
        *slot = None;
    }
    slot.get_or_insert(Window { opened: now, calls: 0 })
}

/// One account's counters.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    low: Option<Window>,
    high: Option<Window>,
    hour: Option<Window>,
}

/// The state of a tier window as the `X-RateLimit-*` headers report it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowReport {
    pub tier: Tier,
    pub limit: u32,
    pub remaining: u32,
    pub reset_in: Duration,
}

pub(crate) enum Admission {
    Allowed(WindowReport),
    Throttled(WindowReport),
    FlatCapped,
}

impl Usage {
    /// Counts a call unless a limit is reached. With the flat cap on, both it and the tier
    /// windows apply.
    pub(crate) fn admit(&mut self, tier: Tier, config: &RateLimitConfig, now: Instant) -> Admission {
        let hour = current(&mut self.hour, HOUR, now);
        if config.flat_hourly_limit.is_some_and(|cap| hour.calls >= cap) {
            return Admission::FlatCapped;
        }
        let limit = tier.limit(config);
        let slot = match tier {
            Tier::Low => &mut self.low,
            Tier::High => &mut self.high,
        };
        let window = current(slot, config.window, now);
        let reset_in = config.window.saturating_sub(now.saturating_duration_since(window.opened));
        if window.calls >= limit {
            return Admission::Throttled(WindowReport { tier, limit, remaining: 0, reset_in });
        }
        window.calls += 1;
        let remaining = limit - window.calls;
        if let Some(hour) = self.hour.as_mut() {
            hour.calls += 1;
        }
        Admission::Allowed(WindowReport { tier, limit, remaining, reset_in })
    }

    /// Counted calls in the current hour window (`ApiCallsInLastHour`).
    pub(crate) fn calls_this_hour(&self, now: Instant) -> u32 {
        self.hour.filter(|w| now.saturating_duration_since(w.opened) < HOUR).map_or(0, |w| w.calls)
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
    // and `ERROR_RATE_LIMIT_EXCEEDED` are invented (API.md §9.18, §10), so clients key on 429.
    family
        .error(429, "tooManyRequests", &description, "ERROR_RATE_LIMIT_EXCEEDED")
        .with_headers(headers(report, config, true))
}

/// A 429 forced by a fault: the window of the path's tier is spent and resets in `seconds`.
pub(crate) fn forced_throttle(family: ApiFamily, path: &str, seconds: u64, config: &RateLimitConfig) -> SimResponse {
    let tier = Tier::of_path(path);
    let report = WindowReport { tier, limit: tier.limit(config), remaining: 0, reset_in: Duration::from_secs(seconds) };
    throttled(family, &report, config)
}

/// The flat cap's answer.
pub(crate) fn flat_capped() -> SimResponse {
    api_usage_exceeded()
}

//! An account's call counters for Dotdigital's rate limits
//! (developer.dotdigital.com/docs/call-rate-limits): fixed windows per tier (`Low`, `High`),
//! and the hour the older flat cap counts. What a throttled call is answered lives in
//! `server/rate_limits.rs`.

use std::time::{Duration, Instant};

use crate::settings::RateLimitConfig;

const HOUR: Duration = Duration::from_secs(3600);

/// What `account-info` reports as the hourly allowance when the flat cap is off: the flat
/// scheme's 2000 calls an hour (developer.dotdigital.com/docs/call-rate-limits).
pub(crate) const NOMINAL_HOURLY_ALLOWANCE: u32 = 2000;

/// A rate-limit tier: imports are Low, every other counted call is High.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    Low,
    High,
}

impl Tier {
    /// `X-RateLimit-Scope`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tier::Low => "Low",
            Tier::High => "High",
        }
    }

    pub(crate) fn limit(self, config: &RateLimitConfig) -> u32 {
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

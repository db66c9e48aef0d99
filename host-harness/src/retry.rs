//! The host's retry policy (what iPaaS.com does with each error kind): rate limits wait for
//! the reset; outages and transport failures back off exponentially with jitter; every other
//! error is final, and so is any error of a call the sandbox refused a request in (the
//! refusal would only repeat). Attempts are bounded, so a record always ends.

use std::time::Duration;

use crate::failure::Failure;
use crate::runtime::bindings::SyncError;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per record, the first included.
    pub max_attempts: u32,
    /// First back-off after `unavailable` / `transport`; doubles each time.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest rate-limit wait served in place; a longer one is reported so the platform
    /// can hold the subscription until the reset.
    pub max_rate_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`, or `None` when the error is final.
    pub fn next_wait(&self, failure: &Failure, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let Failure::Sync(error) = failure else { return None };
        match error {
            SyncError::RateLimited(limit) => {
                let wait = Duration::from_secs(u64::from(limit.wait_seconds.max(1)));
                // A little jitter so clients released by the same reset do not collide.
                (wait <= self.max_rate_wait).then(|| wait + Duration::from_millis(fastrand::u64(0..250)))
            }
            SyncError::Unavailable(_) | SyncError::Transport(_) => {
                let exponent = attempt.saturating_sub(1).min(16);
                let backoff = self.base_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
                // Full jitter between half and all of the back-off.
                let nanos = backoff.as_nanos() as u64;
                Some(Duration::from_nanos(nanos / 2 + fastrand::u64(0..=nanos / 2)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::{RateLimit, RemoteError};

    fn remote() -> RemoteError {
        RemoteError { status: 503, code: None, message: "down".into(), endpoint: "GET /x".into() }
    }

    #[test]
    fn kinds_decide() {
        let policy = RetryPolicy::default();
        let unavailable = Failure::Sync(SyncError::Unavailable(remote()));
        let first = policy.next_wait(&unavailable, 1).unwrap();
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
        let third = policy.next_wait(&unavailable, 3).unwrap();
        assert!(third >= Duration::from_secs(1) && third <= Duration::from_secs(2));
        assert_eq!(policy.next_wait(&unavailable, 5), None);
        assert_eq!(policy.next_wait(&Failure::Sync(SyncError::Rejected(remote())), 1), None);
        let limited = |s| {
            Failure::Sync(SyncError::RateLimited(RateLimit {
                wait_seconds: s,
                scope: None,
                limit: None,
                remote: remote(),
            }))
        };
        let wait = policy.next_wait(&limited(3), 1).unwrap();
        assert!(wait >= Duration::from_secs(3) && wait < Duration::from_millis(3250));
        assert_eq!(policy.next_wait(&limited(3600), 1), None);
    }

    #[test]
    fn a_denied_call_is_final_whatever_the_plugin_made_of_it() {
        let policy = RetryPolicy::default();
        let transport = SyncError::Transport("HttpRequestDenied".into());
        assert!(policy.next_wait(&Failure::Sync(transport.clone()), 1).is_some(), "a plain transport error is retried");
        assert_eq!(policy.next_wait(&Failure::Denied(transport), 1), None);
        assert_eq!(policy.next_wait(&Failure::Denied(SyncError::Unavailable(remote())), 1), None);
    }
}

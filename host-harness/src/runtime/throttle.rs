//! iPaaS.com's per-subscription throttle, enforced on every outgoing request: at most
//! `limit` request starts in any `window`, and at most `concurrent` requests in flight.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests reach the server a little after they leave; spacing windows by this much keeps
/// the server's view of the rate within the limit too.
const ARRIVAL_MARGIN: Duration = Duration::from_millis(25);

pub struct Throttle {
    limit: usize,
    window: Duration,
    starts: Mutex<VecDeque<Instant>>,
    in_flight: Arc<Semaphore>,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration, concurrent: u32) -> Self {
        Throttle {
            limit: limit.max(1) as usize,
            window: window + ARRIVAL_MARGIN,
            starts: Mutex::new(VecDeque::new()),
            in_flight: Arc::new(Semaphore::new(concurrent.max(1) as usize)),
        }
    }

    /// Waits for a connection slot, then for room in the window. Hold the permit until the
    /// answer has been read.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        let permit = self.in_flight.clone().acquire_owned().await.expect("the throttle's semaphore is never closed");
        loop {
            let wait = {
                let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while starts.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    starts.pop_front();
                }
                if starts.len() < self.limit {
                    starts.push_back(now);
                    None
                } else {
                    starts.front().map(|oldest| (*oldest + self.window).saturating_duration_since(now))
                }
            };
            match wait {
                None => return permit,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn window_and_concurrency_are_respected() {
        let throttle = Arc::new(Throttle::new(3, Duration::from_millis(200), 2));
        let started = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            let permit = throttle.acquire().await;
            times.push(started.elapsed());
            drop(permit);
        }
        // 7 starts at 3 per window need at least two full windows.
        assert!(times[6] >= Duration::from_millis(400), "{times:?}");
        for i in 3..7 {
            assert!(times[i] - times[i - 3] >= Duration::from_millis(200), "{times:?}");
        }
        let a = throttle.acquire().await;
        let _b = throttle.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), throttle.acquire()).await;
        assert!(third.is_err(), "a third concurrent request must wait");
        drop(a);
    }
}

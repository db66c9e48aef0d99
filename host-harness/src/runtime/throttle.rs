//! iPaaS.com's per-subscription throttle, enforced on every outgoing request: at most
//! `limit` request starts in any `window`, and at most `concurrent` requests in flight.
//!
//! The window is this process's own when its data is in memory. With a state store (a SQLite
//! file, a PostgreSQL database) it is the store's, one per account: every process sharing the
//! store reserves each start there, so together they keep the limit. A start that cannot be
//! reserved is not made.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::host::data::{DataError, DataStore, RateWindow};

/// Requests reach the server a little after they leave; spacing windows by this much keeps
/// the server's view of the rate within the limit too.
const ARRIVAL_MARGIN: Duration = Duration::from_millis(25);
/// How late a reserved start may still be taken: well inside [`ARRIVAL_MARGIN`].
const RESERVATION_SLACK: Duration = Duration::from_millis(10);

pub struct Throttle {
    limit: usize,
    window: Duration,
    starts: Mutex<VecDeque<Instant>>,
    /// The store's window, when it is shared.
    shared: Option<(Arc<DataStore>, RateWindow)>,
    in_flight: Arc<Semaphore>,
}

/// The earliest start (microseconds) at or after `now` that keeps at most `limit` starts in
/// any window of `span`, given the latest start and the `limit`-th latest (`kth`) of those
/// kept. Starts are only ever appended in order, so a new one can only crowd the windows
/// that end with it: the one holding the `limit`-th latest start is full until that start
/// is `span` old.
pub fn next_start(now: i64, latest: Option<i64>, kth: Option<i64>, span: i64) -> i64 {
    let after_latest = latest.unwrap_or(now);
    let after_kth = kth.map_or(now, |kth| kth.saturating_add(span));
    now.max(after_latest).max(after_kth)
}

impl Throttle {
    pub fn new(limit: u32, window: Duration, concurrent: u32) -> Self {
        Throttle {
            limit: limit.max(1) as usize,
            window: window + ARRIVAL_MARGIN,
            starts: Mutex::new(VecDeque::new()),
            shared: None,
            in_flight: Arc::new(Semaphore::new(concurrent.max(1) as usize)),
        }
    }

    /// The same limit, kept in `data` for `account` across every process sharing it.
    pub fn shared(mut self, data: Arc<DataStore>, account: &str) -> Self {
        let window = RateWindow { account: account.to_string(), limit: self.limit as u32, window: self.window };
        self.shared = Some((data, window));
        self
    }

    /// The shared window, for a claim that reserves its request's start in its own transaction.
    pub fn shared_window(&self) -> Option<&RateWindow> {
        self.shared.as_ref().map(|(_, window)| window)
    }

    /// Waits for a connection slot, then for room in the window (or for `reserved`, a start
    /// already reserved in the shared window). Hold the permit until the answer has been read.
    /// Fails only when the shared window's store cannot be reached: the request is not made.
    pub async fn acquire(&self, reserved: Option<Instant>) -> Result<OwnedSemaphorePermit, DataError> {
        let permit = self.in_flight.clone().acquire_owned().await.expect("the throttle's semaphore is never closed");
        // A reserved start is taken only while it is still its moment: one that passed (a slow
        // claim, a wait for a connection slot) was counted by the other hosts where it was,
        // and is left unspent for a new one.
        if let Some(at) = reserved.filter(|at| Instant::now() <= *at + RESERVATION_SLACK) {
            tokio::time::sleep_until(at.into()).await;
            return Ok(permit);
        }
        if let Some((data, window)) = &self.shared {
            let wait = data.reserve(window).await?;
            tokio::time::sleep(wait).await;
            return Ok(permit);
        }
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
                None => return Ok(permit),
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
            let permit = throttle.acquire(None).await.unwrap();
            times.push(started.elapsed());
            drop(permit);
        }
        // 7 starts at 3 per window need at least two full windows.
        assert!(times[6] >= Duration::from_millis(400), "{times:?}");
        for i in 3..7 {
            assert!(times[i] - times[i - 3] >= Duration::from_millis(200), "{times:?}");
        }
        let a = throttle.acquire(None).await.unwrap();
        let _b = throttle.acquire(None).await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(50), throttle.acquire(None)).await;
        assert!(third.is_err(), "a third concurrent request must wait");
        drop(a);
    }

    /// A reserved start is taken at its moment, even in a full window; one whose moment has
    /// passed is not taken (the window is asked again).
    #[tokio::test]
    async fn a_reserved_start_is_taken_only_in_time() {
        let throttle = Throttle::new(1, Duration::from_secs(10), 2);
        drop(throttle.acquire(None).await.unwrap());
        let stale = Instant::now() - Duration::from_millis(100);
        let late = tokio::time::timeout(Duration::from_millis(100), throttle.acquire(Some(stale))).await;
        assert!(late.is_err(), "a start whose moment passed was taken in a full window");
        let at = Instant::now() + Duration::from_millis(30);
        drop(throttle.acquire(Some(at)).await.unwrap());
        assert!(Instant::now() >= at);
    }

    #[test]
    fn a_start_waits_for_the_limit_th_latest_to_leave_the_window() {
        // Nothing kept: now.
        assert_eq!(next_start(100, None, None, 10), 100);
        // Fewer than `limit` kept: now, but never before the latest reservation.
        assert_eq!(next_start(100, Some(90), None, 10), 100);
        assert_eq!(next_start(100, Some(120), None, 10), 120);
        // Full: when the limit-th latest is a window old.
        assert_eq!(next_start(100, Some(99), Some(95), 10), 105);
        assert_eq!(next_start(100, Some(130), Some(125), 10), 135);
        assert_eq!(next_start(100, Some(99), Some(80), 10), 100);
    }

    /// The windows every start of a sequence made by `next_start` falls in hold at most
    /// `limit`, whatever the arrival times.
    #[test]
    fn reserved_starts_never_crowd_a_window() {
        let (limit, span) = (3usize, 10i64);
        let mut starts: Vec<i64> = Vec::new();
        let mut now = 0;
        for step in 0..200 {
            now += [0, 1, 0, 4, 2, 0, 13][step % 7];
            starts.retain(|s| *s > now - span);
            let latest = starts.last().copied();
            let kth = starts.len().checked_sub(limit).map(|i| starts[i]);
            let start = next_start(now, latest, kth, span);
            assert!(start >= now);
            starts.push(start);
        }
        let mut all = starts.clone();
        all.sort();
        for (i, start) in all.iter().enumerate() {
            let in_window = all[i..].iter().take_while(|s| **s < start + span).count();
            assert!(in_window <= limit, "{in_window} starts in the window from {start}");
        }
    }
}

//! What both listeners and the [`crate::Simulator`] handle share: the state behind its lock,
//! the start time every logged millisecond counts from, and the requests in flight.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::state::SimState;

pub(crate) struct Shared {
    state: Mutex<SimState>,
    started: Instant,
    in_flight: AtomicU32,
}

impl Shared {
    pub(crate) fn new(state: SimState) -> Shared {
        Shared { state: Mutex::new(state), started: Instant::now(), in_flight: AtomicU32::new(0) }
    }

    /// The state; a handler that panicked mid-update does not lock everyone else out.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    pub(crate) fn elapsed_whole_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// Counts a Dotdigital request as being served for as long as it lives.
pub(crate) struct InFlight {
    shared: Arc<Shared>,
    pub count_at_entry: u32,
}

impl InFlight {
    pub(crate) fn enter(shared: &Arc<Shared>) -> InFlight {
        let count_at_entry = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        InFlight { shared: shared.clone(), count_at_entry }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

//! A call's CPU: the thread CPU time spent inside polls of its future. Wasmtime runs the
//! component on a fiber of the thread that polls the call, so that time is exactly the
//! component's execution plus the host work done synchronously on its behalf (persistent data,
//! logging). A request outstanding, the throttle, or a sleep in SQLite's busy handler (another
//! process holds the lock) leave the poll or the CPU idle, and cost nothing; computing while a
//! request is out is charged in full, however many requests are out.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

/// The CPU a call has spent so far.
#[derive(Debug, Default)]
pub struct CpuMeter {
    /// Nanoseconds of the polls that have ended.
    spent: AtomicU64,
    /// The polling thread's CPU clock when the current poll began, in nanoseconds (0: none).
    poll_began: AtomicU64,
}

impl CpuMeter {
    /// CPU spent so far, the current poll included. Called from the epoch callback, which runs
    /// on the polling thread inside the poll, so the thread's clock is the call's.
    pub fn spent(&self) -> Duration {
        let mut nanos = self.spent.load(Ordering::Relaxed);
        let began = self.poll_began.load(Ordering::Relaxed);
        if began != 0 {
            nanos += thread_cpu_nanos().saturating_sub(began);
        }
        Duration::from_nanos(nanos)
    }

    /// Runs `call` to completion, charging this meter with the CPU of each of its polls.
    pub async fn run<F: Future>(&self, call: F) -> F::Output {
        let mut call = pin!(call);
        std::future::poll_fn(|cx| {
            let began = thread_cpu_nanos().max(1);
            self.poll_began.store(began, Ordering::Relaxed);
            let polled = call.as_mut().poll(cx);
            let ended = thread_cpu_nanos();
            self.poll_began.store(0, Ordering::Relaxed);
            self.spent.fetch_add(ended.saturating_sub(began), Ordering::Relaxed);
            match polled {
                Poll::Ready(output) => Poll::Ready(output),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

/// This thread's CPU time (user and system), in nanoseconds.
fn thread_cpu_nanos() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write to; CLOCK_THREAD_CPUTIME_ID exists on every
    // Linux and macOS the harness builds for, and cannot fail with a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (now.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(now.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computes until this thread has spent `cpu` more.
    fn spin(cpu: Duration) {
        let until = thread_cpu_nanos() + cpu.as_nanos() as u64;
        while thread_cpu_nanos() < until {
            std::hint::black_box(0u64);
        }
    }

    #[tokio::test]
    async fn computing_is_charged_and_waiting_is_not() {
        let meter = CpuMeter::default();
        meter
            .run(async {
                spin(Duration::from_millis(60));
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::thread::sleep(Duration::from_millis(300));
                spin(Duration::from_millis(60));
            })
            .await;
        let spent = meter.spent();
        // The spins (120 ms of CPU) in full; the sleeps (600 ms) not.
        assert!(spent >= Duration::from_millis(120) && spent < Duration::from_millis(400), "{spent:?}");
    }
}

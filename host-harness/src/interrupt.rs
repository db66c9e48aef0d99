//! Ctrl-C (SIGINT) during `sync` and `bulk`: the first asks the run to stop at its next safe
//! point (work in flight finishes and is recorded), the second stops the process at once.
//!
//! A signal is process-wide, so the request is too: one flag the command arms with
//! [`listen`]. A library caller (a test running `Platform::run` in-process) never arms it,
//! and then [`requested`] stays false and [`wait`] never resolves.

use std::sync::OnceLock;

use tokio::sync::watch;

/// Exit status of an interrupted run: 128 + SIGINT, what a shell reports for a process that
/// SIGINT ended.
pub const EXIT_STATUS: u8 = 130;

/// Set once [`listen`] ran; holds `true` once Ctrl-C was pressed.
static REQUESTED: OnceLock<watch::Sender<bool>> = OnceLock::new();

/// A run stopped because it was asked to: the message says how far it got and what to do.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Takes over Ctrl-C for the rest of the process (tokio's handler replaces the default one,
/// which would end the process mid-write). Call it inside the runtime, once the run is about
/// to start; a second call does nothing.
pub fn listen() {
    let (sender, _) = watch::channel(false);
    if REQUESTED.set(sender).is_err() {
        return;
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: Ctrl-C keeps its default (the process ends).
            return;
        }
        if let Some(sender) = REQUESTED.get() {
            sender.send_replace(true);
        }
        crate::terminal::write_line(&log_line(
            "interrupt: finishing what is in flight and recording it, then stopping (press Ctrl-C again to stop at once)",
        ));
        if tokio::signal::ctrl_c().await.is_ok() {
            // What is recorded stays consistent: each ledger write is one transaction, and a
            // batch whose start was not recorded is sent again whole by the next run.
            crate::terminal::abandon();
            crate::terminal::write_line(&log_line("interrupted again: stopped at once"));
            std::process::exit(i32::from(EXIT_STATUS));
        }
    });
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.get().is_some_and(|sender| *sender.borrow())
}

/// Resolves once Ctrl-C is pressed; never, when [`listen`] did not run.
pub async fn wait() {
    match REQUESTED.get() {
        Some(sender) => {
            let mut receiver = sender.subscribe();
            // The sender lives in a static: the channel never closes.
            let _ = receiver.wait_for(|pressed| *pressed).await;
        }
        None => std::future::pending().await,
    }
}

/// A stderr line in the shape of the host's log lines (no subscription: the listener has none).
fn log_line(message: &str) -> String {
    serde_json::json!({"level": "warn", "source": "host", "message": message}).to_string()
}

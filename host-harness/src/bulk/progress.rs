//! How far a load is: a progress bar on stderr when it is a terminal (indicatif), else a
//! log line per finished batch (the bar would be noise in a log file).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::ledger::BatchRow;
use crate::host::log::{Level, LogSink};

pub struct Progress {
    bar: Option<ProgressBar>,
    log: LogSink,
    phase: &'static str,
    read: u64,
    done: u64,
    failed: u64,
}

impl Progress {
    pub fn new(log: LogSink, phase: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(phase);
            bar
        });
        Progress { bar, log, phase, read: 0, done: 0, failed: 0 }
    }

    /// `count` more input records were read into a batch.
    pub fn read(&mut self, count: usize) {
        self.read += count as u64;
        if let Some(bar) = &self.bar {
            bar.set_length(self.read);
        }
    }

    /// A batch is finished (now, or in an earlier run).
    pub fn finished(&mut self, row: &BatchRow) {
        // A record can be an entry and a failure (refused by the report): count it once.
        let sent: std::collections::HashSet<usize> = row.entries.iter().map(|e| e.record).collect();
        let unsent = row.failures.iter().filter(|f| !sent.contains(&f.record)).count();
        let records = (sent.len() + unsent + row.skipped as usize) as u64;
        self.done += records;
        self.failed += row.failures.len() as u64;
        match &self.bar {
            Some(bar) => {
                bar.set_position(self.done.min(self.read));
                bar.set_message(format!("{} failed", self.failed));
            }
            None => self.log.emit(
                Level::Info,
                &format!(
                    "{}: {} of {} records read are done, {} failed",
                    self.phase, self.done, self.read, self.failed
                ),
            ),
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

//! How far a phase of a load is: a progress bar on stderr when it is a terminal, else a log
//! line per finished batch (the bar would be noise in a log file); and, when the run is
//! interrupted, how many batches it got through.
//!
//! The bar's length is the input's size in bytes, known before the first record is read, so
//! its percentage and ETA mean something from the start. Its position is the input bytes of
//! the records whose batches are *finished*, not the bytes the reader has read: the reader
//! runs ahead of the imports (it starts as many imports as the component allows before it waits), so a bar of
//! bytes read would stand at 100% while most imports still run. A record's bytes are its JSON
//! text and line end, which for NDJSON is its line; what whitespace a pretty-printed input
//! holds besides is made up when the phase ends.

use std::collections::{HashMap, HashSet};

use super::ledger::BatchRow;
use super::InputRecord;
use crate::host::log::{Level, LogSink};
use crate::interrupt::Interrupted;
use crate::terminal::Bar;

pub struct Progress {
    bar: Option<Bar>,
    log: LogSink,
    phase: &'static str,
    /// Bytes of the input (`None` when the phase reads only some of its records).
    length: Option<u64>,
    /// Input bytes of each record read into a batch that has not finished yet.
    pending: HashMap<usize, u64>,
    /// Input bytes of the batches read so far, and of those finished.
    read_bytes: u64,
    done_bytes: u64,
    read: u64,
    done: u64,
    failed: u64,
    batches_read: u64,
    batches_done: u64,
}

impl Progress {
    /// `length`: the input's size in bytes, when the phase reads every record of it.
    pub fn new(log: LogSink, phase: &'static str, length: Option<u64>) -> Progress {
        let bar = Bar::new(phase, length);
        let progress = Progress {
            bar,
            log,
            phase,
            length,
            pending: HashMap::new(),
            read_bytes: 0,
            done_bytes: 0,
            read: 0,
            done: 0,
            failed: 0,
            batches_read: 0,
            batches_done: 0,
        };
        progress.show();
        progress
    }

    /// A batch was read from the input.
    pub(super) fn read(&mut self, records: &[InputRecord]) {
        for record in records {
            let bytes = record.value.as_ref().map(|v| v.to_string().len() as u64 + 1).unwrap_or(1);
            self.read_bytes += bytes;
            self.pending.insert(record.position, bytes);
        }
        self.read += records.len() as u64;
        self.batches_read += 1;
    }

    /// A batch an earlier run finished: counted at once, and the ETA measures this run only.
    pub fn resumed(&mut self, row: &BatchRow) {
        self.finished(row);
        if let Some(bar) = &self.bar {
            bar.reset_eta();
        }
    }

    /// A batch is finished.
    pub fn finished(&mut self, row: &BatchRow) {
        // A record can be an entry and a failure (refused by the report), and a skipped
        // record is an entry too: each counts once.
        let records: HashSet<usize> =
            row.entries.iter().map(|e| e.record).chain(row.failures.iter().map(|f| f.record)).collect();
        self.done += records.len() as u64;
        self.done_bytes += records.iter().filter_map(|record| self.pending.remove(record)).sum::<u64>();
        self.failed += row.failures.len() as u64;
        self.batches_done += 1;
        if self.bar.is_none() {
            self.log.emit(
                Level::Info,
                &format!(
                    "{}: {} of {} records read are done, {} failed",
                    self.phase, self.done, self.read, self.failed
                ),
            );
        }
        self.show();
    }

    fn show(&self) {
        let Some(bar) = &self.bar else { return };
        if let Some(length) = self.length {
            bar.set_position(self.done_bytes.min(length));
        }
        bar.set_message(format!("{} record(s) done, {} failed", self.done, self.failed));
    }

    /// Every batch of the phase is finished.
    pub fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }

    /// What the run says when Ctrl-C stopped it: `read_all` when the phase read its input to
    /// the end (then its batch count is known), `running` imports started and not finished.
    pub fn interrupted(&mut self, read_all: bool, running: usize) -> Interrupted {
        // The bar ends first, so the message is on a line of its own below it.
        drop(self.bar.take());
        let of = match self.length {
            _ if read_all => format!("{}", self.batches_read),
            // The batches read so far hold this share of the input's bytes.
            Some(length) if self.read_bytes > 0 => {
                let about = (self.batches_read as f64 * length as f64 / self.read_bytes as f64).round() as u64;
                format!("about {}", about.max(self.batches_read))
            }
            _ => format!("the {} read so far", self.batches_read),
        };
        let phase = match self.phase {
            "contacts" => String::new(),
            other => format!(" of the {other} phase"),
        };
        let running = match running {
            0 => String::new(),
            1 => " (1 import is still running at Dotdigital: the next run reads its report, it does not send it \
                  again)"
                .to_string(),
            n => format!(
                " ({n} imports are still running at Dotdigital: the next run reads their reports, it does not send \
                 them again)"
            ),
        };
        Interrupted(format!(
            "interrupted after {} of {of} batches{phase} — run the same command to resume{running}",
            self.batches_done
        ))
    }
}

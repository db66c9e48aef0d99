//! stderr when it is a terminal: at most one progress bar at a time, and every stderr line
//! drawn above it. Without a terminal nothing here draws anything (no escape codes in a log
//! file), and lines are written as they come.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar on screen. Log lines come from every task and thread (the component's calls, the
/// host, the Ctrl-C listener) through [`write_line`], which has no handle on the bar: a
/// process-wide slot is the one place they can find it, to clear it before a line and redraw
/// it after (`ProgressBar::suspend`), so a line never lands inside the bar. There is one
/// stderr, so one slot is enough.
static CURRENT: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
/// Tells bars apart in the slot (a `ProgressBar` has no identity of its own to compare).
static NEXT_BAR: AtomicU64 = AtomicU64::new(0);

/// Redraws of a bar while nothing changes, so its elapsed time and spinner keep moving
/// through a long wait (an import's status read may be 30 s away).
const TICK: Duration = Duration::from_millis(250);

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Writes one line to stderr, above the bar when one is on screen.
pub fn write_line(text: &str) {
    let bar = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(_, bar)| bar.clone());
    let write = || {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// stdout for record lines: when it is the terminal the bar is drawn on, each whole line is
/// written with the bar cleared first and redrawn after, as [`write_line`] does for stderr (a
/// line written beside it would be glued to the bar's text). Otherwise lines pass straight on.
pub struct Stdout {
    pending: Vec<u8>,
    terminal: bool,
}

impl Stdout {
    pub fn new() -> Stdout {
        Stdout { pending: Vec::new(), terminal: std::io::stdout().is_terminal() }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let bytes: Vec<u8> = self.pending.drain(..upto).collect();
        let mut result = Ok(());
        let mut write = || result = std::io::stdout().lock().write_all(&bytes).and_then(|()| std::io::stdout().flush());
        let bar = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(_, bar)| bar.clone());
        match bar.filter(|_| self.terminal) {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
        result
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.emit(end + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.emit(self.pending.len())
    }
}

/// Leaves the bar on screen as it is and ends its line: for a process about to exit without
/// unwinding (a second Ctrl-C).
pub fn abandon() {
    if let Some((_, bar)) = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).take() {
        bar.abandon();
        let _ = writeln!(std::io::stderr().lock());
    }
}

/// A progress bar on stderr while it lives. Dropped (finished or not), it stays on screen as
/// it was last drawn, and its line is ended, so what follows (the shell's prompt) starts on a
/// line of its own.
pub struct Bar {
    bar: ProgressBar,
    id: u64,
}

impl Bar {
    /// A bar over `length` (bytes of input), or a spinner when the length is unknown; `None`
    /// when stderr is not a terminal.
    pub fn new(prefix: &str, length: Option<u64>) -> Option<Bar> {
        if !stderr_is_terminal() {
            return None;
        }
        let (bar, template) = match length {
            Some(length) => (
                ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr()),
                "{prefix} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{prefix} {spinner} [{elapsed_precise}] {msg}",
            ),
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_prefix(prefix.to_string());
        bar.enable_steady_tick(TICK);
        let id = NEXT_BAR.fetch_add(1, Ordering::Relaxed);
        let mut current = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        // Two bars would draw over each other: a new one ends the old one's line first.
        if let Some((_, old)) = current.replace((id, bar.clone())) {
            old.abandon();
            let _ = writeln!(std::io::stderr().lock());
        }
        Some(Bar { bar, id })
    }

    pub fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Forgets the speed measured so far: work done by an earlier run, counted in one jump,
    /// would make the ETA promise far too little.
    pub fn reset_eta(&self) {
        self.bar.reset_eta();
    }

    /// All of it is done: the bar shows 100%.
    pub fn finish(self) {
        if let Some(length) = self.bar.length() {
            self.bar.set_position(length);
        }
        self.bar.finish();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        let mut current = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        // A bar no longer in the slot was ended by whoever took it out (a newer bar, `abandon`).
        if current.as_ref().is_some_and(|(id, _)| *id == self.id) {
            *current = None;
            if !self.bar.is_finished() {
                self.bar.abandon();
            }
            // indicatif leaves the cursor at the end of the bar's line.
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}

/// Counts the bytes the reader took from the input (consumed, not merely buffered): what a
/// bar over an input file measures.
struct CountingInput {
    inner: Box<dyn BufRead + Send>,
    count: Arc<AtomicU64>,
}

impl Read for CountingInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl BufRead for CountingInput {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}

/// `sync`'s input, and its progress when stderr is a terminal: over the bytes of `path` when
/// it is a regular file, else (stdin, a pipe) a spinner.
pub fn record_progress(
    prefix: &str,
    input: Box<dyn BufRead + Send>,
    path: &Path,
) -> (Box<dyn BufRead + Send>, Option<RecordProgress>) {
    if !stderr_is_terminal() {
        return (input, None);
    }
    let length = Some(path)
        .filter(|path| *path != Path::new("-"))
        .and_then(|path| std::fs::metadata(path).ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len());
    match length {
        Some(length) => {
            let count = Arc::new(AtomicU64::new(0));
            let input = Box::new(CountingInput { inner: input, count: count.clone() });
            (input, RecordProgress::new(prefix, Some((length, count))))
        }
        None => (input, RecordProgress::new(prefix, None)),
    }
}

/// `sync`'s progress on a terminal: records done, ok and failed, over the input's bytes when
/// it is a file (a spinner for stdin, whose size is unknown).
pub struct RecordProgress {
    bar: Bar,
    read: Option<Arc<AtomicU64>>,
    ok: u64,
    failed: u64,
}

impl RecordProgress {
    /// `read` counts the bytes read of an input of `length` bytes; `None` when stderr is not a
    /// terminal.
    fn new(prefix: &str, input: Option<(u64, Arc<AtomicU64>)>) -> Option<RecordProgress> {
        let bar = Bar::new(prefix, input.as_ref().map(|(length, _)| *length))?;
        let progress = RecordProgress { bar, read: input.map(|(_, read)| read), ok: 0, failed: 0 };
        progress.show();
        Some(progress)
    }

    /// One record's line was written.
    pub fn record(&mut self, ok: bool) {
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        self.show();
    }

    fn show(&self) {
        if let Some(read) = &self.read {
            self.bar.set_position(read.load(Ordering::Relaxed));
        }
        let done = self.ok + self.failed;
        self.bar.set_message(format!("{done} record(s): {} ok, {} failed", self.ok, self.failed));
    }

    /// The input is read to its end and every record has its line.
    pub fn finish(self) {
        self.bar.finish();
    }
}

//! What a person at a terminal sees, and what Ctrl-C does: the harness binary with its stderr
//! on a pseudo-terminal (`openpty`, as a terminal emulator gives it), or piped, as in a log file.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::{json, Value};

/// What a run under a terminal left: its status, its stdout, and every byte its terminal got.
struct TerminalRun {
    status: ExitStatus,
    stdout: String,
    terminal: String,
}

/// Runs `command` with stderr on a fresh pseudo-terminal of 120 columns, and stdout piped or
/// (`stdout_too`) on the same terminal, as in an interactive shell.
fn run_on_terminal(mut command: Command, stdout_too: bool) -> TerminalRun {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two descriptors into the ints it is given and reads `size`; the
    // name and termios pointers may be null.
    let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and belong to nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Close-on-exec (openpty leaves both inheritable): the tests share one process, and a child
    // another test spawns meanwhile must not hold this terminal open after ours exits.
    for fd in [&master, &slave] {
        // SAFETY: F_SETFD on a descriptor we own changes only its close-on-exec flag.
        assert_eq!(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }, 0);
    }
    let stdout = match stdout_too {
        true => Stdio::from(slave.try_clone().unwrap()),
        false => Stdio::piped(),
    };
    command.stdin(Stdio::null()).stdout(stdout).stderr(Stdio::from(slave));
    let child = command.spawn().unwrap();
    // The command holds the terminal's other end: once it is gone, the child's exit closes the
    // last one, and reading the master ends (EIO).
    drop(command);
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let (mut bytes, mut chunk) = (Vec::new(), [0u8; 4096]);
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        bytes
    });
    let output = child.wait_with_output().unwrap();
    let terminal = reader.join().unwrap();
    TerminalRun {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        terminal: String::from_utf8_lossy(&terminal).into_owned(),
    }
}

async fn on_terminal(command: Command) -> TerminalRun {
    tokio::task::spawn_blocking(move || run_on_terminal(command, false)).await.unwrap()
}

/// The terminal's text without escape sequences, cut where the cursor returns or moves down:
/// each piece is something drawn on a line of its own.
fn drawn_pieces(terminal: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = terminal.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final letter.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        break;
                    }
                }
            }
            plain.push('\r');
            continue;
        }
        plain.push(c);
    }
    plain.split(['\r', '\n']).map(str::trim).filter(|piece| !piece.is_empty()).map(str::to_string).collect()
}

/// Each log line (a piece with JSON in it) is whole: nothing of the bar before or in it.
fn assert_log_lines_whole(terminal: &str) -> usize {
    let mut logs = 0;
    for piece in drawn_pieces(terminal) {
        if piece.contains("{\"") {
            assert!(
                piece.starts_with('{') && serde_json::from_str::<Value>(&piece).is_ok(),
                "a log line torn by the bar: {piece:?}\nin {terminal:?}"
            );
            logs += 1;
        }
    }
    logs
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_on_a_terminal_shows_a_bar_with_a_percentage_and_ends_its_line() {
    let sim = simulator().await;
    let dir = temp_dir("terminal-bulk");
    let input = write_input(&dir, "contacts.ndjson", &(0..300).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("state"));
    command.args(["--batch-size", "50"]);
    let run = on_terminal(command).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.terminal);
    let pieces = drawn_pieces(&run.terminal);
    let bar = pieces.iter().rev().find(|p| p.starts_with("contacts [")).unwrap_or_else(|| panic!("{pieces:?}"));
    assert!(bar.contains("100%") && bar.contains("300 record(s) done, 0 failed"), "{bar:?}");
    assert!(run.terminal.ends_with('\n'), "the last line is ended: {:?}", run.terminal);
    // A log line per import started and finished, each whole above the bar.
    assert!(assert_log_lines_whole(&run.terminal) >= 12, "{pieces:?}");
    assert!(!run.terminal.contains("records read are done"), "the bar replaces the per-batch line");
    // stdout stays JSON lines.
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.last().unwrap()["created"], 300, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_on_a_terminal_shows_records_done() {
    let dir = temp_dir("terminal-sync");
    let records: Vec<Value> = (0..20)
        .map(|n| match n {
            7 => json!({"id": "c7", "email_address": "not-an-email"}),
            n => customer(n),
        })
        .collect();
    let input = write_input(&dir, "contacts.ndjson", &records);
    let settings = settings_file(&dir, json!({}));
    let mut command = Command::new(BIN);
    command.args(["sync", "contact", "--settings"]).arg(&settings).arg("--record").arg(&input);
    let run = on_terminal(command).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.terminal);
    let pieces = drawn_pieces(&run.terminal);
    let bar = pieces.iter().rev().find(|p| p.starts_with("contact [")).unwrap_or_else(|| panic!("{pieces:?}"));
    assert!(bar.contains("100%") && bar.contains("20 record(s): 19 ok, 1 failed"), "{bar:?}");
    assert!(run.terminal.ends_with('\n'), "{:?}", run.terminal);
    assert_log_lines_whole(&run.terminal);
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 20, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn piped_stderr_gets_log_lines_and_no_bar() {
    let sim = simulator().await;
    let dir = temp_dir("terminal-piped");
    let input = write_input(&dir, "contacts.ndjson", &(0..100).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("state"));
    command.args(["--batch-size", "50"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut sync = Command::new(BIN);
    sync.args(["sync", "contact", "--settings"]).arg(&settings).arg("--record").arg(&input).stdin(Stdio::null());
    let synced = run(sync).await;
    assert_eq!(synced.status.code(), Some(0), "{}", stderr(&synced));
    for text in [stderr(&output), stderr(&synced)] {
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "escape codes in a pipe: {text:?}");
        assert!(text.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{text}");
    }
    assert_eq!(stderr(&output).matches("records read are done").count(), 2, "a line per finished batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_load_interrupted_by_ctrl_c_says_how_to_resume_and_resumes_exactly() {
    // Imports stay running until the test lets them finish, so Ctrl-C lands mid-load: 30
    // batches, 25 running (Dotdigital's cap), 5 not sent.
    let sim = simulator().await;
    let mut config = sim.import_config();
    config.contact_polls_to_finish = 1_000_000;
    sim.set_import_config(config.clone());
    // 30 imports and their reads: more than the Low tier's import calls a minute.
    let mut limits = dotdigital_sim::SimConfig::demo().rate_limit;
    limits.low_limit = 10_000;
    sim.set_rate_limit(limits.clone());
    let dir = temp_dir("interrupt");
    let before = sim.contacts(ACCOUNT).len();
    let records: Vec<Value> = (0..300).map(customer).collect();
    let input = write_input(&dir, "contacts.ndjson", &records);
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let args = ["--batch-size", "10"];

    let mut first = bulk("contacts", &settings, &input, &sim, &state);
    first.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = first.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while imports(&sim, "contacts") < 25 {
        assert!(Instant::now() < deadline, "the first run never started 25 imports");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill sends a signal to our own child, which is alive (it has not been waited for).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let interrupted = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let text = stderr(&interrupted);
    assert_eq!(interrupted.status.code(), Some(130), "{text}");
    assert!(
        text.contains(
            "interrupted after 0 of about 30 batches — run the same command to resume (25 imports are still running"
        ),
        "{text}"
    );
    assert!(interrupted.stdout.is_empty(), "no record's line before the load is done");
    assert_eq!(imports(&sim, "contacts"), 25, "nothing was sent after Ctrl-C");
    // The ledger as Ctrl-C left it, for a resume against a Dotdigital that never saw its imports.
    let copied = dir.join("state-copy");
    std::fs::create_dir_all(&copied).unwrap();
    for file in std::fs::read_dir(&state).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), copied.join(file.file_name())).unwrap();
    }

    // The same command, with Dotdigital finishing imports again.
    config.contact_polls_to_finish = 1;
    sim.set_import_config(config);
    let mut again = bulk("contacts", &settings, &input, &sim, &state);
    again.args(args);
    let resumed = run(again).await;
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains("resumed"), "{}", stderr(&resumed));
    // The 25 started imports were read, not sent again: 5 more, 30 in all, one per batch.
    assert_eq!(imports(&sim, "contacts"), 30);
    assert_eq!(sim.contacts(ACCOUNT).len(), before + 300);

    // Everything as an uninterrupted load of the same records says it.
    let fresh = simulator().await;
    fresh.set_rate_limit(limits);
    let dir = temp_dir("uninterrupted");
    let mut whole = bulk("contacts", &settings, &input, &fresh, &dir.join("state"));
    whole.args(args);
    let uninterrupted = run(whole).await;
    assert_eq!(uninterrupted.status.code(), Some(0), "{}", stderr(&uninterrupted));
    let without_ids = |output: &std::process::Output| {
        let (mut lines, summary) = record_lines(output);
        for line in &mut lines {
            line["outcome"]["external_id"] = Value::Null;
        }
        (lines, summary)
    };
    let (lines, summary) = without_ids(&resumed);
    assert_eq!(lines.len(), 300, "one line per record");
    let ids: Vec<&str> = lines.iter().map(|l| l["record"].as_str().unwrap()).collect();
    assert_eq!(ids, (0..300).map(|n| format!("c{n}")).collect::<Vec<_>>());
    assert_eq!((lines, summary), without_ids(&uninterrupted));

    // Resumed where the 25 started imports are unknown (an embedded simulator that restarted):
    // they are sent again in the same run, which ends the load, not one failed run per import.
    let forgetful = simulator().await;
    let mut limits = dotdigital_sim::SimConfig::demo().rate_limit;
    limits.low_limit = 10_000;
    forgetful.set_rate_limit(limits);
    let mut resume = bulk("contacts", &settings, &input, &forgetful, &copied);
    resume.args(args);
    let resumed_elsewhere = run(resume).await;
    let text = stderr(&resumed_elsewhere);
    assert_eq!(resumed_elsewhere.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("is unknown to Dotdigital (404)").count(), 25, "{text}");
    assert_eq!(forgetful.contacts(ACCOUNT).len(), before + 300);
    assert_eq!(without_ids(&resumed_elsewhere).0.len(), 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_interrupted_by_ctrl_c_finishes_the_records_in_flight_and_counts_the_rest() {
    // Each contact's PATCH waits 300 ms, so Ctrl-C lands with most records not tried.
    let sim = simulator().await;
    sim.inject(dotdigital_sim::Fault {
        method: Some("PATCH".into()),
        path_prefix: "/contacts/v3".into(),
        times: None,
        action: dotdigital_sim::FaultAction::DelayBefore(Duration::from_millis(300)),
    });
    let dir = temp_dir("interrupt-sync");
    let before = sim.contacts(ACCOUNT).len();
    let input = write_input(&dir, "contacts.ndjson", &(0..100).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let mut command = Command::new(BIN);
    command
        .args(["sync", "contact", "--settings"])
        .arg(&settings)
        .arg("--record")
        .arg(&input)
        .args(["--upstream", &format!("http://{}", sim.addr())])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let patches = || sim.requests().iter().filter(|r| r.method == "PATCH").count();
    let deadline = Instant::now() + Duration::from_secs(60);
    while patches() < 4 {
        assert!(Instant::now() < deadline, "the sync never sent 4 contacts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill sends a signal to our own child, which is alive (it has not been waited for).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{text}");
    let lines: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let done = lines.len();
    assert!(lines.iter().all(|l| l["ok"] == true), "the records in flight finished: {lines:?}");
    assert!((4..100).contains(&done), "{done} records done");
    let said = format!("interrupted after {done} of 100 records ({done} ok, 0 failed): {} not attempted", 100 - done);
    assert!(text.contains(&said), "{said:?} in {text}");
    // Nothing after the records in flight was sent.
    assert_eq!(sim.contacts(ACCOUNT).len(), before + done);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_text_on_a_terminal_and_json_in_a_pipe() {
    let args = ["sync", "contact", "--settings", "/no/such/settings.json", "--record", "-"];
    let mut command = Command::new(BIN);
    command.args(args);
    let shown = on_terminal(command).await;
    assert_eq!(shown.status.code(), Some(2));
    assert!(
        shown.terminal.contains("error: settings /no/such/settings.json: cannot be read (no such file or folder)"),
        "{}",
        shown.terminal
    );
    assert!(!shown.terminal.contains("\"level\""), "a person reads it: {}", shown.terminal);

    let piped = Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap();
    let line: Value = serde_json::from_slice(&piped.stderr).expect("one JSON line");
    assert_eq!(line["level"], "error");
    assert!(line["message"].as_str().unwrap().contains("/no/such/settings.json"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_lines_on_the_bars_terminal_are_drawn_above_it() {
    let dir = temp_dir("terminal-both");
    let input = write_input(&dir, "contacts.ndjson", &(0..30).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let mut command = Command::new(BIN);
    command.args(["sync", "contact", "-q", "--settings"]).arg(&settings).arg("--record").arg(&input);
    let run = tokio::task::spawn_blocking(move || run_on_terminal(command, true)).await.unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", run.terminal);
    // Every record's line is whole on a line of its own, never glued to the bar's text.
    let records = drawn_pieces(&run.terminal).into_iter().filter(|p| p.contains("\"record\"")).count();
    assert_eq!(assert_log_lines_whole(&run.terminal), 30, "{:?}", run.terminal);
    assert_eq!(records, 30);
}

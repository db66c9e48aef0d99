//! `bulk` and the lock file under attack (from an adversarial review): each test states what
//! the README promises and reproduces a way it once broke.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::*;
use dotdigital_sim::{Fault, FaultAction, SimConfig};
use serde_json::{json, Value};

fn state_bytes(state: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(state).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `bulk contacts` of `count` records through the hostile component, whose attack is `attack`
/// (the records' `first_name`); returns the command and its state directory.
fn hostile_load(sim: &dotdigital_sim::Simulator, attack: &str, name: &str, count: usize) -> (Command, PathBuf) {
    let dir = temp_dir(name);
    let settings = dir.join("settings.json");
    std::fs::write(&settings, json!({"api_user": "demo@apiconnector.com", "api_password": PASSWORD}).to_string())
        .unwrap();
    let records: Vec<Value> = (0..count)
        .map(|n| json!({"id": format!("h{n}"), "first_name": attack, "email_address": format!("h{n}@example.com")}))
        .collect();
    let input = write_input(&dir, "in.ndjson", &records);
    let mut command = bulk("contacts", &settings, &input, sim, &dir.join("state"));
    command.args(["--plugin", test_support::guests::HOSTILE]);
    (command, dir.join("state"))
}

/// README "Command line": the password "never appears in logs, errors, outputs". The error
/// that stops a load (`CliError` printed by `cli::main`) is not redacted: Dotdigital's
/// answer text to a failed import `PUT` goes to stderr verbatim.
#[tokio::test(flavor = "multi_thread")]
async fn r1_a_stopped_load_never_prints_the_password() {
    let sim = simulator().await;
    sim.inject(Fault {
        method: Some("PUT".into()),
        path_prefix: "/contacts/v3/import".into(),
        times: None,
        action: FaultAction::Status {
            status: 400,
            body: json!({"errorCode": "contacts:badJson", "description": format!("echo {PASSWORD}")}).to_string(),
        },
    });
    let dir = temp_dir("r1");
    let input = write_input(&dir, "c.ndjson", &(0..3).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("state"))).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "the password leaked on stderr:\n{stderr}");
}

/// README "State": "the API password and tokens are never stored". The ledger stores the
/// import report's failure text as Dotdigital wrote it (redaction happens only when lines
/// are printed), so an echoed password lands in `dotdigital-state.sqlite3`.
#[tokio::test(flavor = "multi_thread")]
async fn r2_the_ledger_never_stores_the_password() {
    let sim = simulator().await;
    let report = json!({"importId": "x", "status": "Finished",
        "summary": {"newContacts": 2, "updatedContacts": 0},
        "failures": [{"matchIdentifier": "email", "identifiers": {"email": "bulk-0@example.com"},
                      "failures": [{"failureCode": "invalidEmail", "description": format!("echo {PASSWORD}")}]}]});
    sim.inject(Fault {
        method: Some("GET".into()),
        path_prefix: "/contacts/v3/import/".into(),
        times: None,
        action: FaultAction::Status { status: 200, body: report.to_string() },
    });
    let dir = temp_dir("r2");
    let input = write_input(&dir, "c.ndjson", &(0..3).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let output = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stdout).contains(PASSWORD), "stdout is redacted");
    assert!(!contains(&state_bytes(&state), PASSWORD), "the password is stored in the state database");
}

/// An import Dotdigital ends without importing (`RejectedByWatchdog`, `Failed`) must fail
/// every record in it. With a repeated email, `with_every_entry_failed` makes one failure
/// per key and `read_next` hands it to the key's last entry only: the first record of the
/// pair is counted nowhere (neither created, updated nor failed) and never reported. Since the
/// last version of a record wins, the first of the pair is never sent: it is skipped, and the
/// records the import held fail.
#[tokio::test(flavor = "multi_thread")]
async fn r3_a_failed_import_with_a_repeated_email_fails_every_record() {
    let sim = simulator().await;
    sim.inject(Fault {
        method: Some("GET".into()),
        path_prefix: "/contacts/v3/import/".into(),
        times: None,
        action: FaultAction::Status { status: 200, body: json!({"status": "RejectedByWatchdog"}).to_string() },
    });
    let dir = temp_dir("r3");
    let mut records: Vec<Value> = (0..3).map(customer).collect();
    records[2]["email_address"] = json!("bulk-0@example.com");
    let input = write_input(&dir, "c.ndjson", &records);
    let settings = settings_file(&dir, json!({}));
    let output = run(bulk("contacts", &settings, &input, &sim, &dir.join("state"))).await;
    let s = summary(&output);
    assert_eq!(output.status.code(), Some(1));
    let accounted = ["created", "updated", "failed", "skipped"].iter().map(|k| s[*k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(accounted, s["total"].as_u64().unwrap(), "every record counted once: {s}");
    assert_eq!((s["failed"].clone(), s["skipped"].clone()), (json!(2), json!(1)), "{s}");
}

/// `--input /dev/stdin` (or `<(zcat customers.ndjson.gz)`): `fingerprint` reads the pipe to
/// its end, then `run_phase` opens it again and reads nothing. The load "succeeds" with 0
/// records and exit 0 — every record silently dropped.
#[tokio::test(flavor = "multi_thread")]
async fn r4_a_pipe_input_is_refused_not_silently_empty() {
    let sim = simulator().await;
    let dir = temp_dir("r4");
    let settings = settings_file(&dir, json!({}));
    let mut command = bulk("contacts", &settings, Path::new("/dev/stdin"), &sim, &dir.join("state"));
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let text: String = (0..5).map(|n| format!("{}\n", customer(n))).collect();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Either refuse a non-seekable input (exit 2) or load its 5 records; never "0 records, ok".
    if output.status.code() != Some(2) {
        let s = summary(&output);
        assert_eq!(s["total"], 5, "records silently dropped: {s} (exit {:?}) {stderr}", output.status.code());
    }
}

/// The ledger key is `flow:sha256(input):batch_size` under the subscription's name: not the
/// settings that shape what is imported (collection, account, lists, data fields) nor the
/// component. After fixing `collection_name` and running again, every batch is "finished",
/// nothing is sent, and the summary reports the orders as loaded (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn r5_changed_settings_start_a_new_load() {
    let sim = simulator().await;
    let dir = temp_dir("r5");
    let records: Vec<Value> = (0..4).map(|n| order(n, "buyer@example.com")).collect();
    let input = write_input(&dir, "o.ndjson", &records);
    let state = dir.join("state");
    let settings = settings_file(&dir, json!({"collection_name": "Purchases"}));
    let first = run(bulk("orders", &settings, &input, &sim, &state)).await;
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(sim.insight_records(ACCOUNT, "Purchases").len(), 4);

    let settings = settings_file(&dir, json!({"collection_name": "Orders2024"}));
    let second = run(bulk("orders", &settings, &input, &sim, &state)).await;
    let s = summary(&second);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        sim.insight_records(ACCOUNT, "Orders2024").len(),
        4,
        "the run reported {s} but imported nothing into the new collection"
    );
}

/// Two `bulk` processes on one state directory (a cron overlap, a double click): nothing
/// claims a batch before its `PUT`, so both would send every batch. One load runs; the other
/// is refused (exit 2) by the directory's bulk lock, and each batch is sent once.
#[tokio::test(flavor = "multi_thread")]
async fn r6_two_bulk_processes_on_one_state_dir_send_each_import_once() {
    let sim = simulator().await;
    // The import PUT answers after 3 s: the window between a run's `ledger.get` (None) and its
    // `ledger.put` (Started) is the PUT's round trip, and the other run falls into it.
    sim.inject(Fault {
        method: Some("PUT".into()),
        path_prefix: "/contacts/v3/import".into(),
        times: None,
        action: FaultAction::DelayAfter(std::time::Duration::from_secs(3)),
    });
    let dir = temp_dir("r6");
    let input = write_input(&dir, "c.ndjson", &(0..200).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let mut a = bulk("contacts", &settings, &input, &sim, &state);
    let mut b = bulk("contacts", &settings, &input, &sim, &state);
    for c in [&mut a, &mut b] {
        c.args(["--batch-size", "50"]).stdout(Stdio::null()).stderr(Stdio::null());
    }
    let (ra, rb) = tokio::task::spawn_blocking(move || {
        let (mut ca, mut cb) = (a.spawn().unwrap(), b.spawn().unwrap());
        (ca.wait().unwrap(), cb.wait().unwrap())
    })
    .await
    .unwrap();
    let mut codes = [ra.code(), rb.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)], "one load runs, the other is refused");
    let sent = sim.imports(ACCOUNT).iter().filter(|i| i["kind"] == "contacts").count();
    assert_eq!(sent, 4, "4 batches, {sent} imports sent");
}

/// `--batch-size` is only checked against 0: `run_phase` then does
/// `Vec::with_capacity(batch_size)`, which panics (exit 101) instead of a usage error (2).
#[tokio::test(flavor = "multi_thread")]
async fn r7_an_enormous_batch_size_is_a_usage_error() {
    let sim = simulator().await;
    let dir = temp_dir("r7");
    let input = write_input(&dir, "c.ndjson", &[customer(1)]);
    let settings = settings_file(&dir, json!({}));
    let mut command = bulk("contacts", &settings, &input, &sim, &dir.join("state"));
    command.args(["--batch-size", &usize::MAX.to_string()]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

/// README: "a damaged lock ... is refused", "the lock obeyed and never silently dropped".
/// A `dotdigital.lock` that is a dangling symlink (the shared pin directory not mounted, a
/// moved target) reads as NotFound and the subscription runs unpinned.
#[tokio::test(flavor = "multi_thread")]
async fn r8_a_dangling_lock_symlink_is_refused() {
    let dir = temp_dir("r8");
    let settings = settings_file(&dir, json!({}));
    std::os::unix::fs::symlink(dir.join("missing/shop.lock"), dir.join("dotdigital.lock")).unwrap();
    let mut command = Command::new(BIN);
    command.args(["validate", "--settings"]).arg(&settings).stdin(Stdio::null());
    let output = run(command).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "a lock that cannot be read must stop the run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An import whose status Dotdigital no longer knows (`404 contacts:importNotFound`: an old
/// import id resumed days later, another account's, a wrong region) stops the load with exit 2
/// and "run the same command again to resume" — and every later run stops the same way:
/// the batch stays `Started` in the ledger and only `--restart` (re-sending everything) gets
/// past it. A 404 on a recorded import should re-send that one batch (imports are upserts).
#[tokio::test(flavor = "multi_thread")]
async fn r9_an_import_dotdigital_no_longer_knows_is_sent_again() {
    let sim = simulator().await;
    sim.inject(Fault {
        method: Some("GET".into()),
        path_prefix: "/contacts/v3/import/".into(),
        times: Some(1),
        action: FaultAction::Status {
            status: 404,
            body: json!({"errorCode": "contacts:importNotFound", "description": "not found"}).to_string(),
        },
    });
    let dir = temp_dir("r9");
    let input = write_input(&dir, "c.ndjson", &(0..3).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    // The 404 forgets the batch and the same run sends it again: one run ends the load.
    let first = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stderr(&first).contains("is unknown to Dotdigital (404): its batch 0 is sent again"));
    assert_eq!(imports(&sim, "contacts"), 2, "the batch once more, nothing else");
    assert_eq!(record_lines(&first).0.len(), 3);
    // A rerun finds the load finished and sends nothing.
    let second = run(bulk("contacts", &settings, &input, &sim, &state)).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(imports(&sim, "contacts"), 2);
}

/// Issue 19 (memory and log amplification through bulk answers): what a component says in
/// `begin-import` / `read-import` is checked and clipped before the host stores or echoes it.
#[tokio::test(flavor = "multi_thread")]
async fn r10_a_hostile_components_import_answers_are_checked_and_clipped() {
    let sim = simulator().await;
    let hostile = |attack: &str, name: &str| hostile_load(&sim, attack, name, 3);

    // A 1 MiB import id: refused as not Dotdigital's, never stored or printed whole.
    let (command, state) = hostile("bulk-import-id", "r10-id");
    let output = run(command).await;
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("is not a GUID as Dotdigital's are"), "{}", &text[..text.len().min(2000)]);
    assert!(text.len() < 64 << 10, "stderr is {} bytes", text.len());
    assert!(!contains(&state_bytes(&state), &"x".repeat(1000)), "the id is not in the ledger");

    // One record index 100,000 times (within the result cap): refused, not 100,000 entries.
    let (command, _) = hostile("bulk-repeat", "r10-repeat");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("record index 0 is named more than once"), "{}", stderr(&output));

    // An 8 MiB failure reason: each record's line carries it clipped.
    let (command, _) = hostile("bulk-failed-huge", "r10-failed");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (lines, _) = record_lines(&output);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let message = line["error"]["message"].as_str().unwrap();
        assert!(message.len() < 2_000 && message.ends_with(" bytes)"), "{}", &message[..message.len().min(200)]);
    }
    assert!(output.stdout.len() < 64 << 10, "stdout is {} bytes", output.stdout.len());
}

/// A FIFO at `<state>/dotdigital-bulk.lock` was opened blocking (write-only): the load waited
/// forever for a reader, with no output. Opened non-blocking, it is refused naming the file.
#[tokio::test(flavor = "multi_thread")]
async fn r11_a_fifo_in_place_of_the_bulk_lock_is_refused_at_once() {
    let sim = simulator().await;
    let dir = temp_dir("r10");
    let input = write_input(&dir, "c.ndjson", &[customer(0)]);
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let fifo = std::ffi::CString::new(state.join("dotdigital-bulk.lock").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let mut command = bulk("contacts", &settings, &input, &sim, &state);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("still running after 20 s (blocked on the FIFO?)");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dotdigital-bulk.lock") && stderr.contains("not a regular file"), "{stderr}");
    assert!(sim.imports(ACCOUNT).is_empty(), "nothing sent");
}

/// Issue 19 #6: a load is the bytes it sent. The input was hashed once and read again per
/// phase; rewritten meanwhile, batches of the new bytes were sent and kept under the old
/// load, so a rerun on the restored file reported records `created` that were never sent.
/// Each record is now checked against the first pass before its batch goes: the load stops
/// (exit 2) with nothing of the changed records sent.
#[tokio::test(flavor = "multi_thread")]
async fn r12_an_input_changed_mid_load_sends_nothing_of_the_change() {
    let sim = simulator().await;
    // The first import's PUT answers after 3 s: the file is rewritten while the run waits, the
    // reader having read a few hundred records ahead at most.
    sim.inject(Fault {
        method: Some("PUT".into()),
        path_prefix: "/contacts/v3/import".into(),
        times: Some(1),
        action: FaultAction::DelayAfter(std::time::Duration::from_secs(3)),
    });
    // 20 imports and their reads: more than the Low tier's 35 calls a minute.
    let mut limits = SimConfig::demo().rate_limit;
    limits.low_limit = 10_000;
    sim.set_rate_limit(limits);
    let dir = temp_dir("r12");
    let original: Vec<Value> = (0..2_000).map(customer).collect();
    let input = write_input(&dir, "c.ndjson", &original);
    // As long, but from record 1,000 on other emails.
    let mut changed = original.clone();
    for (n, record) in changed.iter_mut().enumerate().skip(1_000) {
        record["email_address"] = json!(format!("bulk-{n}@example.org"));
    }
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let mut command = bulk("contacts", &settings, &input, &sim, &state);
    command.args(["--batch-size", "100"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while imports(&sim, "contacts") == 0 {
        assert!(std::time::Instant::now() < deadline, "no import started");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    write_input(&dir, "c.ndjson", &changed);
    let first = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert_eq!(first.status.code(), Some(2), "{}", stderr(&first));

    // The file restored, the load resumes: every record reported created reached Dotdigital.
    write_input(&dir, "c.ndjson", &original);
    let mut again = bulk("contacts", &settings, &input, &sim, &state);
    again.args(["--batch-size", "100"]);
    let second = run(again).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let (lines, summary) = record_lines(&second);
    assert_eq!(summary["created"], 2_000, "{summary}");
    let unsent: Vec<&Value> = lines
        .iter()
        .filter(|line| line["outcome"]["action"] == "created")
        .filter(|line| {
            let n: usize = line["record"].as_str().unwrap()[1..].parse().unwrap();
            sim.contact(ACCOUNT, &format!("bulk-{n}@example.com")).is_none()
        })
        .collect();
    assert!(unsent.is_empty(), "{} record(s) reported created were never sent: {:?}", unsent.len(), unsent.first());
    let sent_changed = sim.contacts(ACCOUNT).iter().filter(|c| c.to_string().contains("@example.org")).count();
    assert_eq!(sent_changed, 0, "records of the rewritten file were sent");
    assert!(stderr(&first).contains("the input changed since this load began (line 1001)"), "{}", stderr(&first));
}

/// Issue 19 #3: an import Dotdigital ended without importing fails each of its records with
/// the import's reason. Clipped to 1,000 characters, it was still copied into every record's
/// failure, in memory and in the ledger: 20,000 records made 20 MB of one sentence. The
/// batch's reason is now stored once.
#[tokio::test(flavor = "multi_thread")]
async fn r13_a_failed_imports_reason_is_stored_once_per_batch() {
    let sim = simulator().await;
    let records = 5_000;
    let (command, state) = hostile_load(&sim, "bulk-failed-huge", "r13", records);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (lines, summary) = record_lines(&output);
    assert_eq!(summary["failed"], records, "{summary}");
    assert!(lines.iter().all(|line| line["error"]["message"].as_str().is_some_and(|m| m.len() > 1_000)));
    // Each record's entry and failure take well under 100 bytes; its own copy of the reason
    // would take 1,000.
    let stored = state_bytes(&state).len();
    assert!(stored < records * 400, "the state holds {stored} bytes for {records} records");
}

/// Issue 19 #8: the bulk ledger stored what a component handed the host as it came: a key
/// holding the password landed in the state database. Every string of the component's the
/// ledger keeps is redacted, and a long text is redacted before it is clipped (clipped first,
/// the part of the password before the cut survived redaction).
#[tokio::test(flavor = "multi_thread")]
async fn r14_a_components_keys_and_report_never_store_or_print_the_password() {
    let sim = simulator().await;
    let (command, state) = hostile_load(&sim, "bulk-secret", "r14", 3);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (lines, summary) = record_lines(&output);
    assert_eq!((summary["created"].clone(), summary["failed"].clone()), (json!(2), json!(1)), "{summary}");
    assert_eq!(line_of(&lines, "h1")["outcome"]["external_id"], "1001");
    let part = &PASSWORD[..8];
    for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr), ("the state", &state_bytes(&state))] {
        assert!(!contains(bytes, part), "{name} holds {part:?}: {}", String::from_utf8_lossy(bytes));
    }
}

/// Issue 19 #15: `--import-timeout` bounded the wait of one run only: an import that never
/// finishes was polled for another full timeout by every rerun. It is the import's maximum
/// age, counted from when it was started: a rerun past it reads the import once and stops.
#[tokio::test(flavor = "multi_thread")]
async fn r15_an_import_older_than_the_timeout_stops_a_rerun_at_once() {
    let sim = simulator().await;
    let mut config = sim.import_config();
    config.contact_polls_to_finish = u32::MAX;
    sim.set_import_config(config);
    let dir = temp_dir("r15");
    let input = write_input(&dir, "c.ndjson", &(0..3).map(customer).collect::<Vec<_>>());
    let settings = settings_file(&dir, json!({}));
    let state = dir.join("state");
    let reads = || {
        let requests = sim.requests();
        requests.iter().filter(|r| r.method == "GET" && r.path.starts_with("/contacts/v3/import/")).count()
    };
    let load = || {
        let mut command = bulk("contacts", &settings, &input, &sim, &state);
        command.args(["--import-timeout", "2"]);
        command
    };
    let first = run(load()).await;
    assert_eq!(first.status.code(), Some(2), "{}", stderr(&first));
    assert!(reads() >= 3, "the first run waited, reading: {}", reads());

    let before = reads();
    let second = run(load()).await;
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(reads() - before <= 1, "the rerun read the import {} more times", reads() - before);
    let text = stderr(&second);
    assert!(text.contains("--import-timeout") && text.contains("--restart"), "{text}");
    assert_eq!(imports(&sim, "contacts"), 1, "never sent again");
}

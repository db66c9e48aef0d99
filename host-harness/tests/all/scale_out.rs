//! Many hosts, one Dotdigital account: four harness processes stand in for four hosts sharing
//! one state store (a PostgreSQL database of the test cluster, or one SQLite directory), run
//! against one simulator. They send each certificate's email once, keep one rate limit
//! between them, survive the store going away without sending unclaimed email, and refuse to
//! start on a store they cannot reach.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dotdigital_harness::host::data::{DataStore, PgLocation};
use dotdigital_sim::{RateLimitConfig, SimConfig, Simulator};
use serde_json::{json, Value};
use test_support::postgres;

use crate::state::{certificate, lines, recipient};
use crate::support::{temp_dir, ACCOUNT, BIN, PASSWORD};

const HOSTS: usize = 4;

/// The demo account and certificate campaign, with `extra` settings.
fn settings_file(dir: &Path, extra: Value) -> PathBuf {
    let mut settings = json!({
        "name": "Scale out", "api_user": "demo@apiconnector.com", "api_password": PASSWORD,
        "default_currency": "GBP", "certificate_campaign_id": 9001
    });
    for (key, value) in extra.as_object().unwrap() {
        settings[key] = value.clone();
    }
    let path = dir.join("settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

fn write_records(dir: &Path, name: &str, records: impl IntoIterator<Item = Value>) -> PathBuf {
    let path = dir.join(name);
    let text: Vec<String> = records.into_iter().map(|r| r.to_string()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    path
}

/// `sync FLOW` of `records` against `sim` on `state`, with more arguments.
fn host(flow: &str, settings: &Path, records: &Path, sim: &Simulator, state: &str, more: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["sync", flow, "--settings"])
        .arg(settings)
        .arg("--record")
        .arg(records)
        .args(["--upstream", &format!("http://{}", sim.addr()), "--state", state])
        .args(more)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts every command at once and waits for all of them.
async fn all_at_once(commands: Vec<Command>) -> Vec<Output> {
    let runs: Vec<_> = commands
        .into_iter()
        .map(|mut command| tokio::task::spawn_blocking(move || command.output().expect("the harness runs")))
        .collect();
    let mut outputs = Vec::new();
    for run in runs {
        outputs.push(run.await.unwrap());
    }
    outputs
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Emails per recipient the simulator sent.
fn sends_per_recipient(sim: &Simulator) -> BTreeMap<String, usize> {
    let mut sends = BTreeMap::new();
    for send in sim.sends() {
        assert_eq!(send.to_addresses.len(), 1, "{send:?}");
        *sends.entry(send.to_addresses[0].clone()).or_default() += 1;
    }
    sends
}

/// A simulator whose account takes any number of calls, with settings to match: the tests of
/// claims make about 2,000 calls, which Dotdigital's 1,000 a minute and the settings' default
/// 500 a minute (shared by the hosts) would stretch over minutes. The rate limit has a test
/// of its own.
async fn unthrottled(dir: &Path) -> (Simulator, PathBuf) {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    sim.set_rate_limit(RateLimitConfig { default_limit: 1_000_000, ..RateLimitConfig::default() });
    (sim, settings_file(dir, json!({"api_throttle_limit": 1_000_000})))
}

fn store(url: &str) -> DataStore {
    DataStore::connect(&PgLocation::parse(url, |_| None).unwrap(), "Scale out").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_hosts_on_one_postgres_store_send_each_certificate_once() {
    let Some(pg) = postgres::cluster().or_skip() else { return };
    let url = pg.database();
    let dir = temp_dir("scale-certificates");
    let (sim, settings) = unthrottled(&dir).await;
    let records = write_records(&dir, "certificates.ndjson", (0..120).map(certificate));

    // Every host is given all 120 certificates, and all start together on a new database.
    let outputs =
        all_at_once((0..HOSTS).map(|_| host("certificate", &settings, &records, &sim, &url, &[])).collect()).await;

    let expected: BTreeMap<String, usize> = (0..120).map(|n| (recipient(n), 1)).collect();
    assert_eq!(sends_per_recipient(&sim), expected, "exactly one email per certificate");
    let mut reported_sent: BTreeMap<String, usize> = BTreeMap::new();
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        assert!(!stderr(output).contains(PASSWORD), "the password leaked into the log");
        let lines = lines(output);
        assert_eq!(lines.len(), 120, "no record lost");
        for line in lines {
            assert_eq!(line["ok"], true, "{line}");
            if line["outcome"]["action"] == "sent" {
                *reported_sent.entry(line["outcome"]["external_id"].as_str().unwrap().to_string()).or_default() += 1;
            }
        }
    }
    let expected: BTreeMap<String, usize> = (0..120).map(|n| (format!("LC-{n:03}"), 1)).collect();
    assert_eq!(reported_sent, expected, "each certificate reported `sent` by exactly one host");
    let _ = std::fs::remove_dir_all(dir);
}

/// At most `limit` of the simulator's requests in any `window` (by when they reached it).
fn assert_window_kept(sim: &Simulator, limit: usize, window: Duration) {
    let mut starts: Vec<f64> = sim.requests().iter().map(|r| r.started_ms).collect();
    starts.sort_by(f64::total_cmp);
    let span = window.as_secs_f64() * 1000.0;
    for (i, start) in starts.iter().enumerate() {
        let within = starts[i..].iter().take_while(|s| **s < start + span).count();
        assert!(within <= limit, "{within} requests in the {window:?} from {start} ms: {starts:?}");
    }
}

/// 80 contacts split across four hosts, 20 calls per 10 s for the account: the simulator
/// never sees more than 20 calls in any 10 s, and every contact arrives. Run on both stores.
async fn four_hosts_keep_one_rate_limit(state: &str, dir: &Path) {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let settings = settings_file(dir, json!({"api_throttle_limit": 20, "api_throttle_seconds": 10}));
    let customers: Vec<Value> = (0..80)
        .map(|n| {
            json!({"id": format!("c{n}"), "first_name": "Jane", "last_name": format!("Doe {n}"),
                        "email_address": format!("scale-{n}@example.com")})
        })
        .collect();
    let commands = (0..HOSTS)
        .map(|h| {
            let records =
                write_records(dir, &format!("customers-{h}.ndjson"), customers[h * 20..(h + 1) * 20].to_vec());
            host("contact", &settings, &records, &sim, state, &[])
        })
        .collect();
    let started = Instant::now();
    let outputs = all_at_once(commands).await;
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        assert!(lines(output).iter().all(|line| line["ok"] == true), "{:?}", lines(output));
    }
    let calls = sim.requests().len();
    assert!(calls >= 80, "{calls} calls for 80 contacts");
    assert_window_kept(&sim, 20, Duration::from_secs(10));
    for n in 0..80 {
        assert!(sim.contact(ACCOUNT, &format!("scale-{n}@example.com")).is_some(), "contact {n} did not arrive");
    }
    // Four separate budgets would have let all of it through in one window.
    let windows = (calls - 1) / 20;
    assert!(started.elapsed() >= Duration::from_secs(10 * windows as u64), "{calls} calls in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn four_hosts_on_one_postgres_store_keep_one_rate_limit() {
    let Some(pg) = postgres::cluster().or_skip() else { return };
    let dir = temp_dir("scale-throttle-pg");
    four_hosts_keep_one_rate_limit(&pg.database(), &dir).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_on_one_state_directory_keep_one_rate_limit() {
    let dir = temp_dir("scale-throttle-sqlite");
    let state = dir.join("state");
    four_hosts_keep_one_rate_limit(state.to_str().unwrap(), &dir).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL stopped while four hosts send certificates: no email goes out without its
/// claim, the records left fail as retryable, and a run after the server is back completes
/// them, with still one email per certificate.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_stopped_mid_run_sends_nothing_unclaimed_and_a_rerun_completes() {
    let Some(pg) = postgres::own().or_skip() else { return };
    let url = pg.database();
    let dir = temp_dir("scale-stopped");
    let (sim, settings) = unthrottled(&dir).await;
    let records = write_records(&dir, "certificates.ndjson", (0..80).map(certificate));

    let runs: Vec<_> = (0..HOSTS)
        .map(|_| {
            let mut command = host("certificate", &settings, &records, &sim, &url, &["--attempts", "2"]);
            tokio::task::spawn_blocking(move || command.output().unwrap())
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.sends().len() < 10 {
        assert!(Instant::now() < deadline, "no 10 emails within a minute");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::block_in_place(|| pg.stop());
    let mut outputs = Vec::new();
    for run in runs {
        outputs.push(run.await.unwrap());
    }
    let sent_while_up = sends_per_recipient(&sim);
    assert!(sent_while_up.values().all(|n| *n == 1), "{sent_while_up:?}");
    assert!(sent_while_up.len() < 80, "the store stopped too late to prove anything");

    // The records left failed, as something to retry, naming the store without a password.
    let mut failed = 0;
    for output in &outputs {
        assert!(!stderr(output).contains(PASSWORD));
        for line in lines(output).iter().filter(|line| line["ok"] == false) {
            failed += 1;
            assert_eq!(line["error"]["kind"], "transport", "{line}");
        }
    }
    assert!(failed > 0, "no record failed while the store was down");

    // Back up: every email sent has its claim in the store.
    tokio::task::block_in_place(|| pg.start());
    let markers = store(&url).ledger_query("SELECT key, value FROM entries", &[]).unwrap();
    for to in sent_while_up.keys() {
        let number = format!(
            "LC-{:03}",
            to.trim_start_matches("cert-").trim_end_matches("@example.com").parse::<usize>().unwrap()
        );
        let marker = markers.iter().find(|row| row[0].text().unwrap().contains(&format!("\"{number}\"")));
        let value = marker.and_then(|row| row[1].text()).unwrap_or_else(|| panic!("{to} was emailed without a claim"));
        assert!(value.starts_with("sent:") || value.starts_with("pending:"), "{number}: {value}");
    }

    // The rerun completes them all, and no certificate is emailed twice.
    let outputs =
        all_at_once((0..HOSTS).map(|_| host("certificate", &settings, &records, &sim, &url, &[])).collect()).await;
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        assert!(lines(output).iter().all(|line| line["ok"] == true), "{:?}", lines(output));
    }
    let expected: BTreeMap<String, usize> = (0..80).map(|n| (recipient(n), 1)).collect();
    assert_eq!(sends_per_recipient(&sim), expected);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_stops_the_run_naming_it_without_its_password() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let dir = temp_dir("scale-unreachable");
    let settings = settings_file(&dir, json!({}));
    let records = write_records(&dir, "certificates.ndjson", (0..3).map(certificate));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/state");
    let output = all_at_once(vec![host("certificate", &settings, &records, &sim, &url, &[])]).await.remove(0);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(output.stdout.is_empty(), "no record line: {}", String::from_utf8_lossy(&output.stdout));
    assert!(said.contains(&format!("postgres://app@127.0.0.1:{port}/state")), "names the store: {said}");
    assert!(!said.contains("hunter2"), "{said}");
    assert!(sim.requests().is_empty(), "nothing was sent");
    let _ = std::fs::remove_dir_all(dir);
}

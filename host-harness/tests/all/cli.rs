//! The command line as users and scripts see it: stdout lines, exit statuses, and requests
//! arriving at an external server (`--upstream http://…`) with their original Host header.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dotdigital_sim::{SimConfig, Simulator};
use serde_json::{json, Value};

use crate::support::{run_args as run, temp_dir, BIN, PASSWORD};

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = temp_dir("cli");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn settings(extra: Value) -> std::path::PathBuf {
    let mut s = json!({"name": "CLI test", "api_user": "demo@apiconnector.com", "api_password": PASSWORD, "default_currency": "GBP"});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    temp_file("settings.json", &s.to_string())
}

/// `sync FLOW --settings … --record … --upstream UPSTREAM [extra…]`, off the runtime (the
/// server it reaches lives on it).
async fn sync_via(flow: &str, settings: &Path, record: &Path, upstream: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = ["sync", flow, "--settings"].map(String::from).to_vec();
    args.extend([settings.display().to_string(), "--record".into(), record.display().to_string()]);
    args.extend(["--upstream".to_string(), upstream.to_string()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || run(&args.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap()
}

/// `sync contact` of `record` with the hostile test component (and the settings it declares).
fn sync_hostile(record: &Path, extra: &[&str]) -> Output {
    let settings =
        temp_file("settings.json", &json!({"api_user": "demo@apiconnector.com", "api_password": PASSWORD}).to_string());
    let (plugin, settings, record) =
        (test_support::guests::HOSTILE, settings.to_str().unwrap(), record.to_str().unwrap());
    let mut args = vec!["sync", "contact", "--plugin", plugin, "--settings", settings, "--record", record];
    args.extend(extra);
    run(&args)
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout is JSON lines"))
        .collect()
}

fn customer(id: &str, email: &str) -> String {
    json!({"id": id, "first_name": "Ana", "last_name": "Silva", "email_address": email}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_contact_reaches_an_external_server_with_the_original_host() {
    let server = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let upstream = format!("http://{}", server.addr());
    let record = temp_file("customer.json", &customer("150437", "ana.silva+vip@example.com"));
    let settings = settings(json!({}));
    let output = sync_via("contact", &settings, &record, &upstream, &["--log-level", "debug"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let out = lines(&output);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["ok"], true);
    assert_eq!(out[0]["flow"], "contact");
    assert_eq!(out[0]["record"], "150437");
    assert_eq!(out[0]["outcome"]["action"], "created");
    let patch = server.requests().into_iter().find(|r| r.method == "PATCH").expect("the server got a PATCH");
    assert_eq!(patch.path, "/contacts/v3/email/ana.silva%2Bvip%40example.com?merge-option=overwrite");
    assert_eq!(patch.host, "r1-api.dotdigital.com");
    assert_eq!(patch.content_length, Some(patch.body.len() as u64));
    assert_eq!(patch.account_id, Some(4711), "Basic auth identified the account");
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["identifiers"]["email"], "ana.silva+vip@example.com");
    let everything = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!everything.contains(PASSWORD), "the password leaked into the output");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_the_run_once_instead_of_failing_every_record() {
    let server = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let upstream = format!("http://{}", server.addr());
    let input: String = (0..1000).map(|n| customer(&n.to_string(), &format!("c{n}@example.com")) + "\n").collect();
    let record = temp_file("customers.ndjson", &input);
    let settings = settings(json!({"api_password": "not-the-password", "concurrent_connections": 4}));
    let output = sync_via("contact", &settings, &record, &upstream, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "a subscription-wide failure is a set-up error: {stderr}");
    let out = lines(&output);
    assert_eq!(out.len(), 1, "one failed line, not 1,000: {out:?}");
    assert_eq!(out[0]["error"]["kind"], "unauthorized");
    assert!(server.requests().len() <= 2, "at most 2 failed logins: {}", server.requests().len());
    assert!(stderr.contains("999 record(s) not attempted"), "{stderr}");
    assert_eq!(stderr.matches("stopped:").count(), 1, "said once: {stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}

#[test]
fn ndjson_records_come_back_in_order_and_a_failure_exits_1() {
    let input = format!(
        "{}\nnot json\n{}\n{}\n",
        customer("1", "a@example.com"),
        customer("3", "bad-email"),
        customer("4", "d@example.com")
    );
    let record = temp_file("customers.ndjson", &input);
    let settings = settings(json!({"concurrent_connections": 3}));
    let output =
        run(&["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output);
    let records: Vec<_> = out.iter().map(|l| l["record"].as_str().unwrap().to_string()).collect();
    assert_eq!(records, ["1", "#2", "3", "4"]);
    assert_eq!(out[1]["error"]["kind"], "input");
    assert_eq!(out[2]["error"]["kind"], "invalid-record");
    assert_eq!(out[2]["error"]["issues"][0]["field"], "email_address");
    assert!(out[0]["ok"] == true && out[3]["ok"] == true);
}

#[test]
fn set_up_problems_exit_2() {
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let unknown = settings(json!({"colection_name": "Typo"}));
    let output =
        run(&["sync", "contact", "--settings", unknown.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("colection_name"));
    assert!(output.stdout.is_empty());

    let pinned = settings(json!({"version": "9.9.9"}));
    let output =
        run(&["sync", "contact", "--settings", pinned.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pinned to plugin version 9.9.9"));

    let output =
        run(&["sync", "contact", "--settings", "/nonexistent/settings.json", "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let output =
        run(&["sync", "refund", "--settings", unknown.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_version_pin_is_a_semver_requirement() {
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let sync = |pin: &str| {
        let pinned = settings(json!({"version": pin}));
        run(&["sync", "contact", "--settings", pinned.to_str().unwrap(), "--record", record.to_str().unwrap()])
    };
    let version: Vec<u64> = env!("CARGO_PKG_VERSION").split('.').map(|n| n.parse().unwrap()).collect();
    // iPaaS.com's Version field: `vMAJOR.MINOR` accepts the MAJOR.MINOR.x plugin.
    let output = sync(&format!("v{}.{}", version[0], version[1]));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines(&output)[0]["ok"], true);
    // The next major is refused before any record runs, naming the pin and the plugin's version.
    let next = format!("{}.0", version[0] + 1);
    let output = sync(&next);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("pinned to plugin version {next}")), "{stderr}");
    assert!(stderr.contains(&format!("dotdigital-connector {}", env!("CARGO_PKG_VERSION"))), "{stderr}");
}

#[test]
fn records_can_come_from_stdin() {
    let settings = settings(json!({}));
    let mut child = Command::new(BIN)
        .args(["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!("[{}, {}]", customer("1", "a@example.com"), customer("2", "b@example.com"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output).len(), 2);
}

#[test]
fn describe_and_validate() {
    let output = run(&["describe"]);
    assert_eq!(output.status.code(), Some(0));
    let info = &lines(&output)[0];
    assert_eq!(info["name"], "dotdigital-connector");
    assert_eq!(
        info["contract"],
        format!("ipaas:dotdigital@{}", dotdigital_harness::runtime::contract::CONTRACT_VERSION)
    );
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["revision"].as_str().is_some_and(|r| !r.is_empty()), "{info}");
    assert_eq!(info["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(info["flows"], json!(["contact", "order", "certificate"]));
    // The throttle values the connector suggests are the ones the host enforces by default.
    use dotdigital_harness::settings::{
        DEFAULT_CONCURRENT_CONNECTIONS, DEFAULT_THROTTLE_LIMIT, DEFAULT_THROTTLE_SECONDS,
    };
    let suggested = |name: &str| {
        let preset = info["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned();
        preset.and_then(|s| s["default"].as_str().map(str::to_string)).unwrap_or_default()
    };
    assert_eq!(suggested("api_throttle_limit"), DEFAULT_THROTTLE_LIMIT.to_string());
    assert_eq!(suggested("api_throttle_seconds"), DEFAULT_THROTTLE_SECONDS.to_string());
    assert_eq!(suggested("concurrent_connections"), DEFAULT_CONCURRENT_CONNECTIONS.to_string());

    let settings = settings(json!({}));
    let output = run(&["validate", "--settings", settings.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let line = &lines(&output)[0];
    assert_eq!(line["account"]["id"], 4711);
    assert_eq!(line["account"]["api_endpoint"], "https://r1-api.dotdigital.com");
}

#[test]
fn the_demo_prints_every_flow() {
    let output = run(&["demo"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let out = lines(&output);
    let actions: Vec<_> = out
        .iter()
        .map(|l| {
            (l["flow"].as_str().unwrap().to_string(), l["outcome"]["action"].as_str().unwrap_or("error").to_string())
        })
        .collect();
    assert!(actions.contains(&("order".into(), "created".into())), "{actions:?}");
    assert!(actions.contains(&("certificate".into(), "sent".into())), "{actions:?}");
    assert_eq!(actions.iter().filter(|(_, a)| a == "sent").count(), 1, "one email");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_order_reaches_an_external_server_and_updates_in_place() {
    let server = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let upstream = format!("http://{}", server.addr());
    let record = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/order.json");
    let settings = settings(json!({"api_endpoint": "https://r1-api.dotdigital.com"}));
    let first = sync_via("order", &settings, &record, &upstream, &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(lines(&first)[0]["outcome"]["action"], "created");
    let second = sync_via("order", &settings, &record, &upstream, &[]).await;
    assert_eq!(lines(&second)[0]["outcome"]["action"], "updated");
    let puts: Vec<_> = server.requests().into_iter().filter(|r| r.method == "PUT").collect();
    let last = puts.last().expect("the server got the record");
    assert_eq!(last.path, "/insightData/v3/contacts/email/jane.doe%40example.com/Purchases/SO-100013");
    assert_eq!(last.host, "r1-api.dotdigital.com");
    assert_eq!(last.status, 204);
    assert_eq!(server.insight_records(4711, "Purchases").len(), 1);
}

#[test]
fn a_password_of_the_wrong_type_is_not_echoed() {
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let settings =
        temp_file("s.json", &json!({"api_user": "demo@apiconnector.com", "api_password": 987654321}).to_string());
    let output =
        run(&["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api_password"), "{stderr}");
    assert!(!stderr.contains("987654321"), "{stderr}");
}

/// One `Connection: close` GET over a plain socket; the status and the body.
fn http_get(base: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let authority = base.strip_prefix("http://").expect("an http:// address");
    let mut stream = std::net::TcpStream::connect(authority).expect("the address accepts connections");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: r1-api.dotdigital.com\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, reply.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

#[test]
fn sim_prints_its_api_and_control_addresses_on_one_line() {
    use std::io::{BufRead, BufReader};
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut sim =
        Running(Command::new(BIN).arg("sim").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("sim starts"));
    let mut line = String::new();
    BufReader::new(sim.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addresses: Value = serde_json::from_str(&line).expect("the first stdout line is JSON");
    let (api, control) = (addresses["api"].as_str().unwrap(), addresses["control"].as_str().unwrap());
    assert_ne!(api, control);

    let (status, body) = http_get(control, "/_sim/accounts");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("demo@apiconnector.com"), "{body}");
    let (status, body) = http_get(api, "/_sim/accounts");
    assert_eq!(status, 401, "not served on the Dotdigital port");
    assert!(!body.contains("demo@apiconnector.com"), "{body}");
}

/// `n` customers as NDJSON.
fn customers(n: usize) -> String {
    (0..n).map(|i| customer(&i.to_string(), &format!("c{i}@example.com")) + "\n").collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_the_component_refuses_are_said_once_before_anything_is_sent() {
    let server = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let upstream = format!("http://{}", server.addr());
    let record = temp_file("customers.ndjson", &customers(5));
    let settings = settings(json!({"collection_name": "not a collection!", "default_currency": "XYZ"}));
    let output = sync_via("contact", &settings, &record, &upstream, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "no record line: the settings are the problem");
    let stop: Vec<&str> = stderr.lines().filter(|l| l.contains("stopped:")).collect();
    assert_eq!(stop.len(), 1, "said once: {stderr}");
    for expected in [settings.to_str().unwrap(), "collection_name", "default_currency", "5 record(s) not attempted"] {
        assert!(stop[0].contains(expected), "{expected}: {}", stop[0]);
    }
    assert_eq!(server.requests().len(), 0, "nothing was sent");
}

#[test]
fn a_sandbox_refusal_stops_the_run() {
    let input: String = (0..4)
        .map(|i| {
            json!({"id": i.to_string(), "first_name": "http", "last_name": "https://evil.example.com/",
                   "email_address": format!("h{i}@example.com")})
            .to_string()
                + "\n"
        })
        .collect();
    let record = temp_file("hostile.ndjson", &input);
    let output = sync_hostile(&record, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let out = lines(&output);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["error"]["denied"], true);
    assert!(
        stderr.contains("stopped: the sandbox refused") && stderr.contains("3 record(s) not attempted"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_upstream_stops_after_a_few_records() {
    // A port nothing listens on: every request is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // Records refused before any request, between the others, do not reset the count.
    let mut input = customers(10);
    input.insert_str(0, &(customer("bad-1", "not-an-email") + "\n"));
    let at = input[..input.find("\"id\":\"2\"").unwrap()].rfind('\n').unwrap() + 1;
    input.insert_str(at, &(customer("bad-2", "still-not-an-email") + "\n"));
    let record = temp_file("customers.ndjson", &input);
    let settings = settings(json!({}));
    let upstream = format!("http://{closed}");
    let output = run(&[
        "sync",
        "contact",
        "--settings",
        settings.to_str().unwrap(),
        "--record",
        record.to_str().unwrap(),
        "--upstream",
        &upstream,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let out = lines(&output);
    let kinds: Vec<&str> = out.iter().map(|l| l["error"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["invalid-record", "transport", "transport", "invalid-record", "transport"]);
    assert_eq!(dotdigital_harness::platform::MAX_UNREACHABLE_IN_A_ROW, 3);
    assert!(stderr.contains(&format!("Check that the server at {upstream} can be reached")), "{stderr}");
    assert!(stderr.contains("7 record(s) not attempted"), "{stderr}");
}

#[test]
fn the_password_may_come_from_a_file_or_the_environment() {
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let no_secret = json!({"name": "CLI test", "api_user": "demo@apiconnector.com", "default_currency": "GBP"});
    let settings_without = temp_file("settings.json", &no_secret.to_string());
    let sync = |settings: &Path, env: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args([
            "sync",
            "contact",
            "--settings",
            settings.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
        ]);
        command.env_remove("DOTDIGITAL_API_PASSWORD").stdin(Stdio::null());
        if let Some(password) = env {
            command.env("DOTDIGITAL_API_PASSWORD", password);
        }
        command.output().unwrap()
    };
    assert_eq!(sync(&settings_without, Some(PASSWORD)).status.code(), Some(0));
    let wrong = sync(&settings_without, Some("env-wrong-password"));
    assert_eq!(wrong.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&wrong.stderr).contains("env-wrong-password"));
    // Without any password the component says which key is missing.
    let none = sync(&settings_without, None);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("api_password"));

    // A file beside the settings, named relative to them, ending in a line break.
    let folder = settings_without.parent().unwrap();
    std::fs::write(folder.join("password.txt"), format!("{PASSWORD}\n")).unwrap();
    let mut with_file = no_secret.clone();
    with_file["api_password_file"] = json!("password.txt");
    let path = folder.join("with-file.json");
    std::fs::write(&path, with_file.to_string()).unwrap();
    let output = sync(&path, Some("env-is-not-used"));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    // Both keys, or a file that is not there: one set-up message naming the settings file.
    with_file["api_password"] = json!(PASSWORD);
    std::fs::write(&path, with_file.to_string()).unwrap();
    let both = sync(&path, None);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("both set"));
    let mut missing = no_secret.clone();
    missing["api_password_file"] = json!("nope.txt");
    std::fs::write(&path, missing.to_string()).unwrap();
    let output = sync(&path, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("nope.txt") && stderr.contains("no such file"), "{stderr}");
}

#[test]
fn command_line_conventions() {
    let version = run(&["--version"]);
    let text = String::from_utf8_lossy(&version.stdout);
    let described = &lines(&run(&["describe"]))[0];
    assert!(text.contains(described["sha256"].as_str().unwrap()), "the embedded component's digest: {text}");
    assert!(text.contains(&format!("revision {}", described["revision"].as_str().unwrap())), "{text}");

    let script = run(&["completions", "bash"]);
    assert_eq!(script.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&script.stdout).contains("dotdigital-harness"));

    let schema = &lines(&run(&["describe", "--format", "json-schema"]))[0];
    assert_eq!(schema["properties"]["api_password"]["writeOnly"], true);
    assert_eq!(schema["properties"]["integration_token"]["writeOnly"], true);
    assert_eq!(schema["properties"]["list_ids"]["type"], json!(["array", "null"]));
    assert!(schema["properties"]["api_password_file"].is_object());
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["required"].as_array().unwrap().contains(&json!("api_user")));

    // One spelling per flow; the plural is read as the singular. Settings from the environment.
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let settings = settings(json!({}));
    let quiet = |extra: &[&str], rust_log: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args(["sync", "contacts", "--record", record.to_str().unwrap()]).args(extra);
        command.env("DOTDIGITAL_SETTINGS", &settings).env_remove("RUST_LOG").stdin(Stdio::null());
        if let Some(value) = rust_log {
            command.env("RUST_LOG", value);
        }
        command.output().unwrap()
    };
    let loud = quiet(&[], None);
    assert_eq!(loud.status.code(), Some(0), "{}", String::from_utf8_lossy(&loud.stderr));
    assert_eq!(lines(&loud)[0]["flow"], "contact");
    assert!(String::from_utf8_lossy(&loud.stderr).contains("1 record(s): 1 ok"), "the summary at info");
    for (extra, rust_log) in [(&["-q"][..], None), (&["--log-level", "warn"][..], None), (&[][..], Some("warn"))] {
        let output = quiet(extra, rust_log);
        assert_eq!(output.status.code(), Some(0));
        assert!(output.stderr.is_empty(), "{extra:?} {rust_log:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let debug = quiet(&["-v"], None);
    assert!(String::from_utf8_lossy(&debug.stderr).contains("\"level\":\"debug\""));
    assert_eq!(quiet(&["-q", "-v"], None).status.code(), Some(2), "one or the other");

    let folder = run(&["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", "/tmp"]);
    assert_eq!(folder.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&folder.stderr);
    assert!(stderr.contains("--record /tmp: it is a folder") && !stderr.contains("os error"), "{stderr}");
}

#[test]
fn where_the_data_goes_is_said() {
    let record = temp_file("c.json", &customer("1", "a@example.com"));
    let settings = settings(json!({}));
    let output =
        run(&["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", record.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("embedded Dotdigital simulator: nothing leaves this machine")
    );

    let card = json!({"id": "1", "number": "LC-1", "status": "Active", "email_address": "a@example.com"}).to_string();
    let card = temp_file("card.json", &card);
    let output =
        run(&["sync", "certificate", "--settings", settings.to_str().unwrap(), "--record", card.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no --state"), "a certificate run warns");

    let state = settings.parent().unwrap().join("state").join("deeper");
    let sync = || {
        run(&[
            "sync",
            "contact",
            "--settings",
            settings.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
    };
    let first = sync();
    assert_eq!(first.status.code(), Some(0));
    let database = state.join("dotdigital-state.sqlite3");
    assert!(String::from_utf8_lossy(&first.stderr)
        .contains(&format!("created a new state database at {}", database.display())));
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&database), 0o600, "it holds customers' emails");
    assert_eq!(mode(&state), 0o700);
    for suffix in ["-wal", "-shm"] {
        let file = state.join(format!("dotdigital-state.sqlite3{suffix}"));
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "{suffix}");
        }
    }
    assert!(!String::from_utf8_lossy(&sync().stderr).contains("created a new state database"));
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(String::from_utf8_lossy(&sync().stderr).contains("may be read by others (mode 644)"));
}

#[test]
fn validate_lists_the_settings_problems_beside_the_accounts() {
    let settings = settings(json!({"collection_name": "not a collection!", "list_ids": [999_999]}));
    let output = run(&["validate", "--settings", settings.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let line = &lines(&output)[0];
    let fields: Vec<&str> =
        line["account"]["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"collection_name") && fields.contains(&"list_ids[0]"), "{line}");
}

/// Issue 19 (log budget): refused writes log through the call's budget, each line clipped.
#[test]
fn a_flood_of_refused_writes_spends_the_calls_log_budget() {
    let record =
        json!({"id": "1", "first_name": "refused-writes", "last_name": "5000", "email_address": "a@example.com"});
    let record = temp_file("flood.json", &record.to_string());
    let output = sync_hostile(&record, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{}", &stderr[..stderr.len().min(2000)]);
    assert!(lines(&output)[0]["outcome"]["external_id"] == "5000 writes refused");
    let refusals = stderr.lines().filter(|l| l.contains("persistent data not stored")).count();
    assert!((1..=1_000).contains(&refusals), "{refusals} refusal lines");
    assert!(stderr.contains("the call logged more than"), "the budget says it was spent");
    assert!(stderr.len() < 2 << 20, "stderr is {} bytes", stderr.len());
}

/// Issue 19 (secrets stored raw): a component that hands the host the password to keep is
/// refused, and nothing of it reaches the state database.
#[test]
fn the_password_is_never_stored_in_the_state() {
    let record = json!({"id": "1", "first_name": "store-secret", "email_address": "a@example.com"});
    let record = temp_file("secret.json", &record.to_string());
    let state = record.parent().unwrap().join("state");
    let output = sync_hostile(&record, &["--state", state.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines(&output)[0]["outcome"]["external_id"], "value false, key false");
    for file in std::fs::read_dir(&state).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "the password is in the state");
    }
}

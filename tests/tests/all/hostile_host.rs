//! The hostile component (tests/hostile-plugin) against what the host itself writes and
//! forwards: a flood of refused requests costs one attempt and a few short log lines; an
//! authority is the allowed host and nothing else, and reaches upstream in its canonical
//! spelling without proxy headers; a password made of JSON syntax, or of one character,
//! never breaks a line nor appears in one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::{Flow, Platform};
use dotdigital_sim::{SimConfig, Simulator};
use e2e_tests::*;
use serde_json::{json, Value};

/// A loopback HTTP server standing for Dotdigital: it keeps the head of every request it
/// receives (request line and headers, as sent) and answers `200 ok`.
struct Recorder {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                    head.push(byte[0]);
                }
                kept.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
        });
        Recorder { addr, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

struct Arena {
    platform: Platform,
    upstream: Recorder,
    logs: Arc<Mutex<Vec<String>>>,
}

async fn arena() -> Arena {
    let limits =
        SandboxLimits { wall_time: Duration::from_secs(60), call_timeout: Duration::from_secs(2), ..test_limits() };
    let logs = Arc::new(Mutex::new(Vec::new()));
    let upstream = Recorder::start();
    let platform = hostile_platform(limits, Upstream::Forward(upstream.addr), &hostile_settings(), logs.clone()).await;
    Arena { platform, upstream, logs }
}

impl Arena {
    /// Runs one attack as record `id`; returns its output line.
    async fn attack(&self, id: &str, what: &str, argument: &str) -> Value {
        let record = json!({"id": id, "first_name": what, "last_name": argument, "email_address": "x@example.com"});
        self.platform.sync(Flow::Contact, 1, &record).await
    }

    /// The log lines of record `id`, parsed.
    fn lines_of(&self, id: &str) -> Vec<Value> {
        let logs = self.logs.lock().unwrap();
        logs.iter()
            .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            .filter(|line| line["record"] == id)
            .collect()
    }

    fn messages_of(&self, id: &str) -> Vec<String> {
        self.lines_of(id).iter().map(|line| line["message"].as_str().unwrap_or_default().to_string()).collect()
    }
}

/// Asserts the line is a final refusal: `kind`, `"denied": true`, one attempt.
fn denied<'a>(line: &'a Value, kind: &str) -> &'a Value {
    let error = failed(line, kind);
    assert_eq!(error["denied"], json!(true), "{line}");
    assert_eq!(line["attempts"], json!(1), "a refusal is not retried: {line}");
    error
}

#[tokio::test]
async fn a_flood_of_refusals_is_one_attempt_and_a_few_short_lines() {
    let arena = arena().await;
    // 3,000 requests to a 60,000-letter host name in one call.
    let line = arena.attack("flood", "deny-flood", "3000 60000").await;
    let error = denied(&line, "transport");
    assert_eq!(error["message"], "3000 of 3000 requests denied", "{line}");
    let logs: Vec<String> = arena.logs.lock().unwrap().iter().filter(|l| l.contains("\"flood\"")).cloned().collect();
    let bytes: usize = logs.iter().map(String::len).sum();
    assert!(bytes < 4096, "{bytes} bytes of log for one call: {logs:#?}");
    assert!(logs.iter().all(|l| l.len() < 1024), "{logs:#?}");
    let messages = arena.messages_of("flood");
    let one_by_one = messages.iter().filter(|m| m.starts_with("outbound request denied: ")).count();
    assert_eq!(one_by_one, 3, "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("not a Dotdigital API host")), "{messages:#?}");
    let summaries: Vec<&String> = messages.iter().filter(|m| m.contains("more outbound requests denied")).collect();
    assert_eq!(summaries.len(), 1, "{messages:#?}");
    assert!(summaries[0].starts_with("2997 more outbound requests denied in this call (3000 in all"), "{summaries:?}");
    assert!(arena.upstream.heads().is_empty(), "nothing left");
}

#[tokio::test]
async fn a_refused_call_is_final_whatever_error_the_plugin_makes_of_it() {
    let arena = arena().await;
    let line = arena.attack("unavailable", "deny-then-unavailable", "").await;
    denied(&line, "unavailable");
    let messages = arena.messages_of("unavailable");
    assert_eq!(messages.iter().filter(|m| m.starts_with("attempt ")).count(), 0, "no retry: {messages:#?}");
}

#[tokio::test]
async fn refusal_lines_spend_the_calls_log_budget() {
    let arena = arena().await;
    // 999 lines of its own, then 5 refusals: the first refusal is the 1,000th line.
    let line = arena.attack("budget", "log-then-deny", "999 5 10").await;
    denied(&line, "transport");
    let messages = arena.messages_of("budget");
    let tail = &messages[messages.len().saturating_sub(6)..];
    let plugin_lines = arena.lines_of("budget").iter().filter(|l| l["source"] == "plugin").count();
    assert_eq!(plugin_lines, 999);
    assert_eq!(messages.iter().filter(|m| m.starts_with("outbound request denied")).count(), 1, "{tail:#?}");
    assert_eq!(messages.iter().filter(|m| m.contains("logged more than 1000 lines")).count(), 1, "{tail:#?}");
    assert!(
        messages.iter().any(|m| m.starts_with("2 more outbound requests denied in this call (5 in all")),
        "{tail:#?}"
    );
    // The budget is the call's: the platform's own line about the record still follows.
    assert!(messages.last().unwrap().starts_with("failed after 1 attempt(s)"), "{tail:#?}");
}

#[tokio::test]
async fn an_authority_with_user_info_or_another_port_spelling_is_refused() {
    let arena = arena().await;
    for (id, url, rule) in [
        ("userinfo", "https://user:pw@r1-api.dotdigital.com/v2/account-info", "user info"),
        ("at", "https://r1-api.dotdigital.com@example.com/v2/account-info", "user info"),
        ("empty-port", "https://r1-api.dotdigital.com:/v2/account-info", "port \"\""),
        ("port-0443", "https://r1-api.dotdigital.com:0443/v2/account-info", "port \"0443\""),
        ("port-8443", "https://r1-api.dotdigital.com:8443/v2/account-info", "port \"8443\""),
    ] {
        let line = arena.attack(id, "http", url).await;
        assert!(denied(&line, "transport")["message"].as_str().unwrap().contains("Denied"), "{url}: {line}");
        let messages = arena.messages_of(id);
        assert!(
            messages.iter().any(|m| m.starts_with("outbound request denied") && m.contains(rule)),
            "{url}: {messages:#?}"
        );
    }
    assert!(arena.upstream.heads().is_empty(), "nothing reached upstream: {:?}", arena.upstream.heads());
}

#[tokio::test]
async fn upstream_sees_the_canonical_host_and_no_proxy_headers() {
    let arena = arena().await;
    for (n, url) in [
        "https://R1-API.DotDigital.com:443/v2/account-info",
        "https://r1-api.dotdigital.com/v2/account-info",
        "https://r1-API.dotdigital.COM/v2/account-info",
    ]
    .into_iter()
    .enumerate()
    {
        let line = arena.attack(&format!("headers-{n}"), "proxy-headers", url).await;
        assert_eq!(ok(&line)["external_id"], "HTTP 200: ok", "{url}: {line}");
        let heads = arena.upstream.heads();
        assert_eq!(heads.len(), n + 1, "{heads:#?}");
        assert!(heads[n].starts_with("GET /v2/account-info HTTP/1.1\r\n"), "{}", heads[n]);
        // The value exactly as the allowlist spells it, whatever the component wrote.
        let hosts: Vec<&str> =
            heads[n].lines().filter(|l| l.to_ascii_lowercase().starts_with("host:")).map(|l| l[5..].trim()).collect();
        assert_eq!(hosts, ["r1-api.dotdigital.com"], "{url}: {}", heads[n]);
        let head = heads[n].to_ascii_lowercase();
        for name in
            ["forwarded", "x-forwarded-", "x-real-ip", "\nvia:", "\nte:", "trailer", "proxy-", "evil", "203.0.113.7"]
        {
            assert!(!head.contains(name), "{name} reached upstream: {}", heads[n]);
        }
    }
}

/// Every string anywhere in `value` (keys aside).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_password_of_json_syntax_or_one_character_never_breaks_or_reaches_a_line() {
    for password in ["\",\"", "\\", "\"", "a", "}", "пароль🔑"] {
        let mut config = SimConfig::demo();
        config.accounts[0].api_password = password.to_string();
        let sim = Simulator::start(config, 0).await.expect("the simulator starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut settings = demo_settings();
        settings["api_password"] = json!(password);
        let options = platform_options(&sim, None, logs.clone());
        let platform = Platform::new(plugin().await, &settings, options).expect("the settings are accepted");
        let mut lines = vec![
            platform.sync(Flow::Contact, 1, &customer("1", "ana@example.com")).await,
            platform.sync(Flow::Contact, 2, &customer("2", "bad")).await,
        ];
        assert_eq!(lines[0]["ok"], true, "{password:?}: {}", lines[0]);
        sim.inject(fault(
            "PATCH",
            "/contacts/v3/",
            None,
            FaultAction::Status { status: 500, body: json!({"message": format!("echo {password}")}).to_string() },
        ));
        lines.push(platform.sync(Flow::Contact, 3, &customer("3", "cy@example.com")).await);
        lines.push(platform.validate().await);
        let escaped = json!(password).to_string();
        let escaped = escaped[1..escaped.len() - 1].to_string();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("demo@apiconnector.com:{password}"));
        // What stdout would carry: each line serialized, then read back.
        let mut values = Vec::new();
        for line in &lines {
            let text = line.to_string();
            let parsed: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{password:?}: not JSON ({e}): {text}"));
            strings(&parsed, &mut values);
        }
        let logs = logs.lock().unwrap().clone();
        assert!(logs.len() > 3, "{password:?}: {logs:#?}");
        for line in &logs {
            let parsed: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{password:?}: a log line is not JSON ({e}): {line}"));
            let object = parsed.as_object().unwrap_or_else(|| panic!("{line}"));
            // `ts`, `level` and `source` are the host's closed sets: a one-letter password
            // may be one of their letters.
            for (key, value) in object.iter().filter(|(k, _)| !matches!(k.as_str(), "ts" | "level" | "source")) {
                let text = value.as_str().unwrap_or_else(|| panic!("{key} is not a string: {line}"));
                values.push(text.to_string());
            }
        }
        for value in &values {
            assert!(!value.contains(password), "{password:?} appears in {value:?}");
            assert!(!value.contains(&escaped), "{password:?} appears escaped in {value:?}");
            assert!(!value.contains(&basic), "the Basic credentials of {password:?} appear in {value:?}");
        }
        assert!(values.iter().any(|v| v.contains("***")), "{password:?}: the echo was masked, not lost: {values:#?}");
    }
}

/// Issue 19: CPU was the call's wall time minus the time a request was outstanding, so a
/// component that kept two requests waiting on the throttle computed for free (283 s of CPU
/// against a 10 s cap). It is now what the call executes: this one is stopped at the cap.
#[tokio::test]
async fn computing_beside_requests_on_the_throttle_is_charged() {
    let limits =
        SandboxLimits { cpu_time: Duration::from_millis(500), wall_time: Duration::from_secs(20), ..test_limits() };
    let logs = Arc::new(Mutex::new(Vec::new()));
    let upstream = Recorder::start();
    // One call an hour: the second request waits on the throttle for the whole call.
    let mut settings = hostile_settings();
    settings["api_throttle_limit"] = json!(1);
    settings["api_throttle_seconds"] = json!(3600);
    let platform = hostile_platform(limits, Upstream::Forward(upstream.addr), &settings, logs).await;
    let record =
        json!({"id": "spin", "first_name": "spin-while-waiting", "last_name": "2", "email_address": "x@example.com"});
    let line = platform.sync(Flow::Contact, 1, &record).await;
    let message = failed(&line, "plugin-fault")["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("CPU limit"), "{line}");
}

/// Issue 19: persistent-data calls were all on the wait clock (meant for another process's
/// lock), so a component writing in a loop spent 58 s of CPU uncharged. Their work is now the
/// call's CPU.
#[tokio::test]
async fn persistent_data_work_is_charged() {
    let limits =
        SandboxLimits { cpu_time: Duration::from_millis(500), wall_time: Duration::from_secs(20), ..test_limits() };
    let logs = Arc::new(Mutex::new(Vec::new()));
    let upstream = Recorder::start();
    let platform = hostile_platform(limits, Upstream::Forward(upstream.addr), &hostile_settings(), logs).await;
    let record = json!({"id": "churn", "first_name": "data-churn", "email_address": "x@example.com"});
    let line = platform.sync(Flow::Contact, 1, &record).await;
    let message = failed(&line, "plugin-fault")["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("CPU limit"), "{line}");
}

/// Issue 19: one call may make at most `max_requests_per_call` requests, so it cannot spend
/// the subscription's whole throttle window; the rest are refused, and the call is final.
#[tokio::test]
async fn one_call_makes_at_most_its_share_of_requests() {
    let arena = arena().await;
    let cap = SandboxLimits::default().max_requests_per_call;
    let line = arena.attack("flood", "request-flood", &(cap + 30).to_string()).await;
    let error = denied(&line, "transport");
    assert_eq!(error["message"], format!("{cap} of {} requests answered", cap + 30), "{line}");
    assert_eq!(arena.upstream.heads().len(), cap as usize);
    let messages = arena.messages_of("flood");
    assert!(
        messages.iter().any(|m| m.contains(&format!("this call has already made {cap} requests, its most"))),
        "{messages:#?}"
    );
}

/// Issue 19 review: wasmtime-wasi-http keeps a request's authority and method as the component
/// sets them, of any length and outside its memory, where the buffer budget did not see them
/// (20 requests × 8 MiB were all kept). An oversized one is dropped before the next wasi:http
/// call, so a call holds at most one, no larger than its own memory.
#[tokio::test]
async fn oversized_request_text_is_not_kept_by_the_host() {
    let arena = arena().await;
    let line = arena.attack("authority", "long-authority", "20 8").await;
    assert_eq!(ok(&line)["external_id"], "0 of 20 kept the authority", "{line}");
    assert!(arena.upstream.heads().is_empty());
}

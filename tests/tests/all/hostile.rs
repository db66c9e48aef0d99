//! A hostile component (tests/hostile-plugin) tries to get out of the sandbox or take the host
//! down. Every attempt is refused or stopped with a clear error, nothing reaches the network,
//! and the same harness process serves a normal call right after.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::{Flow, Platform};
use e2e_tests::*;
use serde_json::{json, Value};

struct Arena {
    platform: Platform,
    /// Where allowed traffic would go: it must never see a connection.
    trap: TcpListener,
    logs: Arc<Mutex<Vec<String>>>,
}

async fn arena() -> Arena {
    arena_with(SandboxLimits {
        memory_bytes: 32 << 20,
        cpu_time: Duration::from_millis(500),
        wall_time: Duration::from_secs(5),
        call_timeout: Duration::from_secs(2),
        max_result_bytes: 1 << 20,
        ..SandboxLimits::default()
    })
    .await
}

async fn arena_with(limits: SandboxLimits) -> Arena {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let upstream = Upstream::Forward(trap.local_addr().unwrap());
    let platform = hostile_platform(limits, upstream, &hostile_settings(), logs.clone()).await;
    Arena { platform, trap, logs }
}

impl Arena {
    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    async fn attack(&self, what: &str, argument: &str) -> Value {
        let record = json!({"id": what, "first_name": what, "last_name": argument, "email_address": "x@example.com"});
        let line = self.platform.sync(Flow::Contact, 1, &record).await;
        // And the host is still fine: a normal call right after succeeds.
        let normal = self.platform.sync(Flow::Contact, 2, &json!({"id": "ok", "first_name": "ok"})).await;
        assert_eq!(normal["outcome"]["external_id"], "fine", "after {what}: {normal}");
        assert!(self.trap.accept().is_err(), "{what}: a connection reached the network");
        line
    }
}

/// Asserts the line failed with `kind`; returns its message.
fn refused(line: &Value, kind: &str) -> String {
    failed(line, kind)["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn files_env_and_sockets_are_not_there() {
    let arena = arena().await;
    let line = arena.attack("read-file", "/etc/passwd").await;
    assert!(refused(&line, "transport").contains("read-file"), "{line}");
    failed(&arena.attack("list-dir", "").await, "transport");
    let env = arena.attack("env", "").await;
    assert_eq!(ok(&env)["external_id"], "0 variables; HOME=None");
    let port = arena.trap.local_addr().unwrap().port().to_string();
    let line = arena.attack("socket", &port).await;
    assert!(refused(&line, "transport").contains("socket"), "{line}");
}

#[tokio::test]
async fn http_beyond_dotdigital_is_denied_before_connecting() {
    let arena = arena().await;
    let port = arena.trap.local_addr().unwrap().port();
    for url in [
        "https://example.com/".to_string(),
        format!("https://127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}/"),
        "http://r1-api.dotdigital.com/v2/account-info".to_string(),
        "https://r1-api.dotdigital.com:8443/v2/account-info".to_string(),
    ] {
        let line = arena.attack("http", &url).await;
        assert!(refused(&line, "transport").contains("Denied"), "{url}: {line}");
    }
    let logs = arena.logs.lock().unwrap().join("\n");
    assert!(logs.contains("outbound request denied: example.com: not a Dotdigital API host"), "{logs}");
    assert!(logs.contains("only https is allowed"), "{logs}");
}

#[tokio::test]
async fn memory_cpu_and_output_limits_stop_the_plugin() {
    let arena = arena().await;
    let line = arena.attack("memory", "").await;
    assert!(refused(&line, "plugin-fault").contains("memory limit"), "{line}");

    let started = Instant::now();
    let line = arena.attack("loop", "").await;
    assert!(refused(&line, "plugin-fault").contains("CPU limit"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped promptly: {:?}", started.elapsed());

    let line = arena.attack("huge-string", &(8 << 20).to_string()).await;
    assert!(refused(&line, "plugin-fault").contains("more than allowed"), "{line}");
    assert!(line.to_string().len() < 10_000, "the huge string is not echoed");

    let line = arena.attack("panic", "").await;
    assert!(refused(&line, "plugin-fault").contains("trapped"), "{line}");
}

/// A request body started and never finished is the component's own time: spinning beside
/// it hits the CPU limit (it used to count as waiting on the network, so only the wall clock
/// stopped it), and waiting for its answer ends at the call timeout, not the wall clock.
#[tokio::test]
async fn a_request_body_held_open_is_bounded_by_cpu_and_the_call_timeout() {
    let arena = arena().await;
    let line = arena.attack("held-open-body", "spin").await;
    assert!(refused(&line, "plugin-fault").contains("CPU limit"), "{line}");

    // CPU generous, call timeout short: the host gives up on the body after 1 s and the
    // component is told so, long before the 5 s wall clock.
    let arena = arena_with(SandboxLimits {
        cpu_time: Duration::from_secs(4),
        wall_time: Duration::from_secs(5),
        call_timeout: Duration::from_secs(1),
        ..SandboxLimits::default()
    })
    .await;
    let line = arena.attack("held-open-body", "block").await;
    let message = refused(&line, "transport");
    assert!(message.contains("ConnectionWriteTimeout"), "{line}");
    assert!(arena.logs().contains("request body was not finished within 1s"), "{}", arena.logs());

    // Fifty bodies held open at once: the host holds at most four; the rest are refused,
    // and the call is marked denied (not retried).
    let line = arena.attack("held-open-body", "many").await;
    assert_eq!(refused(&line, "transport"), "50 answered with an error, 0 not started", "{line}");
    assert_eq!(failed(&line, "transport")["denied"], true, "{line}");
    assert!(arena.logs().contains("4 requests already outstanding in this call"), "{}", arena.logs());
}

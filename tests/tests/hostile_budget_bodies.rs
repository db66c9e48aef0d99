//! Request bodies are read whole by the host before they are sent, each up to 50 MiB and four
//! outstanding per call: four calls at once would hold 800 MiB. One budget for the whole
//! process bounds them; a call refused by it fails as `plugin-fault` while the others go on.
//! Its own test binary, so the process's peak resident memory is this attack's alone.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::{json, Value};

/// Peak memory beyond the budget: the guests' own memories (up to 64 MiB each, a few MiB
/// used here) and the host's working set.
const MARGIN_MIB: u64 = 64;

/// What a call the budget refused says.
const SPENT: &str = "for bodies and headers of all calls is spent";

/// The process's peak resident memory in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() >> 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_of_concurrent_calls_share_one_budget() {
    let limits = SandboxLimits { call_timeout: Duration::from_secs(1), ..SandboxLimits::default() };
    // Accepts nothing: a sent request waits out the call timeout, its body still held.
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = Upstream::Forward(trap.local_addr().unwrap());
    // Every request gets a connection slot at once: the bodies are held by the requests.
    let mut settings = hostile_settings();
    settings["concurrent_connections"] = json!(16);
    let logs = Arc::new(Mutex::new(Vec::new()));
    let platform = Arc::new(hostile_platform(limits.clone(), upstream, &settings, logs).await);
    let before = peak_rss_mib();

    let calls: Vec<_> = (0..4)
        .map(|n| {
            let platform = platform.clone();
            let record = json!({"id": format!("b{n}"), "first_name": "big-bodies", "last_name": "4 50"});
            tokio::spawn(async move { platform.sync(Flow::Contact, n, &record).await })
        })
        .collect();
    let mut lines: Vec<Value> = Vec::new();
    for call in calls {
        lines.push(call.await.unwrap());
    }

    let grown = peak_rss_mib().saturating_sub(before);
    println!("peak resident memory {} MiB (grew {grown} MiB): {lines:#?}", peak_rss_mib());
    // The budget, and the guests' own memories and the host's working set besides.
    let bound = (limits.buffer_budget_bytes >> 20) as u64 + MARGIN_MIB;
    assert!(grown < bound, "peak resident memory grew by {grown} MiB (bound {bound} MiB)");
    let spent = |line: &&Value| line["error"]["message"].as_str().unwrap_or_default().contains(SPENT);
    let refused: Vec<&Value> = lines.iter().filter(spent).collect();
    assert!(!refused.is_empty(), "the budget refused some call: {lines:?}");
    for line in &refused {
        assert_eq!(line["error"]["kind"], "plugin-fault", "{line}");
        assert_eq!(line["attempts"], json!(1), "a budget fault is not retried: {line}");
    }
    // The rest went on (which calls are refused depends on how they interleave).
    let unanswered = lines.iter().filter(|line| line["outcome"]["external_id"] == "0 of 4 answered");
    assert_eq!(refused.len() + unanswered.count(), lines.len(), "{lines:?}");
    let normal = platform.sync(Flow::Contact, 9, &json!({"id": "ok", "first_name": "ok"})).await;
    assert_eq!(normal["outcome"]["external_id"], "fine", "{normal}");
}

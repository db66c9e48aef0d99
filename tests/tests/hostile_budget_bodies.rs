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
use serde_json::json;

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

    let lines = attacks_at_once(&platform, 4, "big-bodies", "4 50").await;
    let refused = refused_by_the_budget(&limits, before, &lines);
    // The rest went on (which calls are refused depends on how they interleave).
    let unanswered = lines.iter().filter(|line| line["outcome"]["external_id"] == "0 of 4 answered");
    assert_eq!(refused.len() + unanswered.count(), lines.len(), "{lines:?}");
    let normal = platform.sync(Flow::Contact, 9, &json!({"id": "ok", "first_name": "ok"})).await;
    assert_eq!(normal["outcome"]["external_id"], "fine", "{normal}");
}

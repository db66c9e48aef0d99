//! wasi:http `fields` live in host memory, each call's capped (10,000 resources × 8 KiB), but
//! calls at once multiply that cap: eight calls hoarding fields held over 400 MB. One budget
//! for the whole process bounds them; a call refused by it fails as `plugin-fault`. Its own
//! test binary, so the process's peak resident memory is this attack's alone.

use std::sync::{Arc, Mutex};

use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_concurrent_calls_share_one_budget() {
    let limits = SandboxLimits::default();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let platform = Arc::new(hostile_platform(limits.clone(), Upstream::Deny, &hostile_settings(), logs).await);
    let before = peak_rss_mib();

    // Values just under the per-fields cap (its count includes the name and some overhead):
    // only the resource cap stops one call.
    let value = (limits.max_header_bytes - 128).to_string();
    let lines = attacks_at_once(&platform, 8, "fields", &value).await;
    refused_by_the_budget(&limits, before, &lines);
    assert!(lines.iter().all(|line| line["ok"] == json!(false)), "every hoard is stopped: {lines:?}");
    let normal = platform.sync(Flow::Contact, 9, &json!({"id": "ok", "first_name": "ok"})).await;
    assert_eq!(normal["outcome"]["external_id"], "fine", "{normal}");
}

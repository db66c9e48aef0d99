//! wasi:http `fields` live in host memory, outside the component's 64 MiB: a component that
//! hoards them is stopped by the call's resource cap and header-size cap, and the host's peak
//! memory stays far from what 200,000 × 100 KiB would take. Its own test binary, so the
//! process's peak resident memory is this attack's alone.

use std::sync::{Arc, Mutex};

use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::json;

#[tokio::test]
async fn hoarded_fields_are_capped_in_host_memory() {
    let limits = SandboxLimits::default();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let platform = hostile_platform(limits.clone(), Upstream::Deny, &hostile_settings(), logs).await;
    let before = peak_rss_mib();

    // 100 KiB values: refused by the 8 KiB header cap.
    let line = platform.sync(Flow::Contact, 1, &json!({"id": "f", "first_name": "fields"})).await;
    assert_eq!(line["ok"], json!(false), "the hoard must be stopped: {line}");
    // Values under the cap: the resource cap alone bounds them (about 47 MiB here; with 100,000
    // resources allowed instead of 10,000, this grew the peak by 484 MiB).
    let small = (limits.max_header_bytes / 2).to_string();
    let line = platform.sync(Flow::Contact, 2, &json!({"id": "g", "first_name": "fields", "last_name": small})).await;
    assert_eq!(line["ok"], json!(false), "the hoard must be stopped: {line}");

    let grown = peak_rss_mib().saturating_sub(before);
    // 10,000 resources × 8 KiB is 80 MiB at most; without the caps this attack reached ~1 GB.
    assert!(grown < 100, "peak resident memory grew by {grown} MiB");
    let normal = platform.sync(Flow::Contact, 3, &json!({"id": "ok", "first_name": "ok"})).await;
    assert_eq!(normal["outcome"]["external_id"], "fine", "{normal}");
    println!("peak resident memory {} MiB (grew {grown} MiB)", peak_rss_mib());
}

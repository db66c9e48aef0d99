//! Records synced concurrently share what one subscription learns once: the region is
//! discovered by one `GET /v2/account-info` and the data fields read by one
//! `GET /v2/data-fields`, however many records start together (the platform runs a
//! subscription's first record alone), and the requests reuse a few kept-alive connections
//! instead of opening one each.

use std::io::Cursor;

use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::json;

fn customers(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": i.to_string(), "first_name": "Buyer", "email_address": format!("buyer{i}@example.com")})
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_records_discover_the_region_once() {
    let mut settings = demo_settings();
    settings["concurrent_connections"] = json!(4);
    assert!(settings.get("api_endpoint").is_none(), "the region is discovered");
    let world = World::new(settings).await;
    let mut out = Vec::new();
    let summary = world.platform.run(Flow::Contact, Box::new(Cursor::new(customers(24))), &mut out).await.unwrap();
    assert_eq!((summary.ok, summary.failed), (24, 0));

    let requests = world.sim.requests();
    let count = |path: &str| requests.iter().filter(|r| r.method == "GET" && r.path == path).count();
    assert_eq!(count("/v2/account-info"), 1, "one region discovery for 24 records, 4 at a time");
    assert_eq!(count("/v2/data-fields"), 1, "one read of the data fields");
    let patches = requests.iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reuse_kept_alive_connections() {
    let mut settings = demo_settings();
    settings["concurrent_connections"] = json!(2);
    let world = World::new(settings).await;
    let mut out = Vec::new();
    let summary = world.platform.run(Flow::Contact, Box::new(Cursor::new(customers(40))), &mut out).await.unwrap();
    assert_eq!((summary.ok, summary.failed), (40, 0));
    let (opened, requests) = world.platform.connection_counts();
    assert_eq!(requests as usize, world.sim.requests().len(), "every request counted");
    assert!(requests >= 42, "{requests} requests");
    assert!(opened <= 2, "{opened} connections for {requests} requests at 2 concurrent");
    let log = world.log_text();
    assert!(
        log.contains(&format!("{opened} upstream connection(s) opened for {requests} request(s) in this run")),
        "{log}"
    );
}

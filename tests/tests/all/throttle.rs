//! The subscription's throttle, proven from the simulator's side: 200 records with API
//! Throttle Limit 20 per 2 seconds and 2 concurrent connections. The request timestamps the
//! simulator recorded never show more than 20 starts in any 2-second window, nor more than 2
//! requests in flight, and every record still syncs.

use std::io::Cursor;

use dotdigital_harness::Flow;
use dotdigital_sim::FaultAction;
use e2e_tests::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_records_stay_within_the_throttle() {
    let mut settings = demo_settings();
    settings["api_endpoint"] = json!("https://r1-api.dotdigital.com");
    settings["api_throttle_limit"] = json!(20);
    settings["api_throttle_seconds"] = json!(2);
    settings["concurrent_connections"] = json!(2);
    let world = World::new(settings).await;
    // Each answer takes 40 ms, so two records in flight overlap at the simulator for sure:
    // kept-alive connections make a bare answer too quick for the two to meet by chance.
    world.sim.inject(fault(
        "PATCH",
        "/contacts/v3",
        None,
        FaultAction::DelayBefore(std::time::Duration::from_millis(40)),
    ));
    let input: String = (0..200)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": i.to_string(), "first_name": "Buyer", "email_address": format!("buyer{i}@example.com")})
            )
        })
        .collect();
    let mut out = Vec::new();
    let summary = world.platform.run(Flow::Contact, Box::new(Cursor::new(input)), &mut out).await.unwrap();
    assert_eq!((summary.ok, summary.failed), (200, 0));
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 200);

    let mut requests = world.sim.requests();
    let patches = requests.iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 200, "one PATCH per record");
    // The account's data fields are read once and cached; the two records that start
    // together may both miss the cache, no more.
    let field_reads = requests.iter().filter(|r| r.method == "GET" && r.path == "/v2/data-fields").count();
    assert!((1..=2).contains(&field_reads), "{field_reads} data-field reads");
    assert_eq!(requests.len(), patches + field_reads, "nothing else was called");
    requests.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
    let starts: Vec<f64> = requests.iter().map(|r| r.started_ms).collect();
    for i in 20..starts.len() {
        let window = starts[i] - starts[i - 20];
        assert!(window >= 2000.0, "requests {} and {i} started {window:.1} ms apart: 21 in one window", i - 20);
    }
    let busiest = requests.iter().map(|r| r.in_flight_at_start).max().unwrap();
    assert!(busiest <= 2, "{busiest} requests in flight at once");
    assert!(busiest == 2, "the two connections were used");
    let span = starts[starts.len() - 1] - starts[0];
    // Request n starts at least 2 s after request n-20, so the last one needs (n-1)/20 windows.
    let least = ((starts.len() - 1) / 20) as f64 * 2000.0;
    assert!(span >= least, "{} requests at 20 per 2 s need at least {least:.0} ms, took {span:.0} ms", starts.len());
}

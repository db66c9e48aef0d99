//! The subscription's throttle, proven from the simulator's side: 200 records with API
//! Throttle Limit 20 per 2 seconds and 2 concurrent connections. The request timestamps the
//! simulator recorded never show more than 20 starts in any 2-second window, nor more than 2
//! requests in flight, and every record still syncs.

use std::io::Cursor;

use dotdigital_harness::Flow;
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
    assert_eq!(requests.len(), 200, "one PATCH per record");
    requests.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
    let starts: Vec<f64> = requests.iter().map(|r| r.started_ms).collect();
    for i in 20..starts.len() {
        let window = starts[i] - starts[i - 20];
        assert!(window >= 2000.0, "requests {} and {i} started {window:.1} ms apart: 21 in one window", i - 20);
    }
    let busiest = requests.iter().map(|r| r.in_flight_at_start).max().unwrap();
    assert!(busiest <= 2, "{busiest} requests in flight at once");
    assert!(busiest == 2, "the two connections were used");
    let span = starts[199] - starts[0];
    assert!(span >= 18_000.0, "200 requests at 20 per 2 s need at least 18 s, took {span:.0} ms");
}

//! Fault injection: every action, matching, counting down, and arming over HTTP.

use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{call, demo, send, try_send, Connection, ACME};
use crate::{Fault, FaultAction, Simulator};

fn on_patch(action: FaultAction, times: Option<u32>) -> Fault {
    Fault { method: Some("PATCH".into()), path_prefix: "/contacts/v3".into(), times, action }
}

fn patch_call(email: &str) -> super::client::Call {
    call("PATCH", &format!("/contacts/v3/email/{email}")).json(json!({"dataFields": {"FIRSTNAME": "F"}}))
}

fn exists(sim: &Simulator, email: &str) -> bool {
    sim.contact(ACME, email).is_some()
}

#[tokio::test]
async fn status_faults_answer_instead_and_count_down() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::Status { status: 503, body: String::new() }, Some(2)));

    let first = send(&sim, patch_call("s@example.com")).await;
    assert_eq!(first.status, 503);
    assert!(first.body.is_empty());
    assert!(!exists(&sim, "s@example.com"), "not handled");
    assert_eq!(send(&sim, call("GET", "/contacts/v3/email/s@example.com")).await.status, 404, "GET is not matched");
    assert_eq!(send(&sim, patch_call("s@example.com")).await.status, 503);
    assert_eq!(send(&sim, patch_call("s@example.com")).await.status, 201, "the fault is used up");

    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 404, 503, 201], "faulted requests are logged too");

    sim.inject(Fault {
        method: None,
        path_prefix: "/v2/".into(),
        times: None,
        action: FaultAction::Status { status: 500, body: "{\"message\":\"boom\"}".into() },
    });
    for _ in 0..3 {
        let reply = send(&sim, call("GET", "/v2/account-info")).await;
        assert_eq!(reply.status, 500);
        assert_eq!(reply.json()["message"], "boom");
    }
    let no_auth = send(&sim, call("GET", "/v2/account-info").no_auth()).await;
    assert_eq!(no_auth.status, 500, "faults fire before credentials are checked");
    sim.clear_faults();
    assert_eq!(send(&sim, call("GET", "/v2/account-info")).await.status, 200);
}

#[tokio::test]
async fn delay_before_waits_then_handles() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::DelayBefore(Duration::from_millis(200)), Some(1)));
    let started = Instant::now();
    let reply = send(&sim, patch_call("d@example.com")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(reply.status, 201);
    let record = &sim.requests()[0];
    assert!(record.finished_ms - record.started_ms >= 200.0, "{record:?}");
}

#[tokio::test]
async fn delay_after_handles_first_then_waits() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::DelayAfter(Duration::from_millis(400)), Some(1)));
    let handle = {
        let sim = sim.clone();
        tokio::spawn(async move { send(&sim, patch_call("late@example.com")).await })
    };
    let deadline = Instant::now() + Duration::from_millis(300);
    while !exists(&sim, "late@example.com") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(exists(&sim, "late@example.com"), "the side effect happens before the answer");
    assert!(!handle.is_finished(), "the answer is still held back");
    let reply = handle.await.expect("task");
    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn drop_before_closes_without_handling() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::DropBefore, Some(1)));
    let result = try_send(&sim, patch_call("drop@example.com")).await;
    assert!(result.is_err(), "no response: {result:?}");
    assert!(!exists(&sim, "drop@example.com"));
    assert_eq!(sim.requests()[0].status, 0);
    assert_eq!(send(&sim, patch_call("drop@example.com")).await.status, 201);
}

#[tokio::test]
async fn drop_after_closes_after_handling() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::DropAfter, Some(1)));
    assert!(try_send(&sim, patch_call("dropped@example.com")).await.is_err());
    assert!(exists(&sim, "dropped@example.com"), "the contact was written");
    assert_eq!(send(&sim, patch_call("dropped@example.com")).await.status, 200);
}

#[tokio::test]
async fn malformed_after_sends_the_status_with_broken_json() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::MalformedAfter, Some(1)));
    let reply = send(&sim, patch_call("m@example.com")).await;
    assert_eq!(reply.status, 201);
    assert!(!reply.body.is_empty());
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.body).is_err(), "{}", reply.text());
    assert!(exists(&sim, "m@example.com"));

    sim.inject(Fault {
        method: Some("POST".into()),
        path_prefix: "/v2/email/triggered-campaign".into(),
        times: Some(1),
        action: FaultAction::MalformedAfter,
    });
    let empty_success = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign")
            .json(json!({"toAddresses": ["a@example.com"], "campaignId": 9001})),
    )
    .await;
    assert_eq!(empty_success.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&empty_success.body).is_err());
    assert_eq!(sim.sends().len(), 1);
}

#[tokio::test]
async fn throttle_and_v2_error_faults_answer_like_dotdigital() {
    let sim = demo().await;
    sim.inject(on_patch(FaultAction::RateLimited { seconds: 7 }, Some(1)));
    let throttled = send(&sim, patch_call("t@example.com")).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.json()["errorCode"], "contacts:tooManyRequests");
    assert_eq!(throttled.header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(throttled.header("X-RateLimit-Scope"), Some("High"));
    let reset: u64 = throttled.header("X-RateLimit-Reset").and_then(|v| v.parse().ok()).expect("reset");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(reset >= now + 6 && reset <= now + 8, "reset {reset} vs now {now}");

    sim.inject(on_patch(FaultAction::ApiUsageExceeded, Some(1)));
    let capped = send(&sim, patch_call("t@example.com")).await;
    assert_eq!(capped.status, 400);
    assert!(capped.json()["message"].as_str().is_some_and(|m| m.ends_with("ERROR_APIUSAGE_EXCEEDED")));

    sim.inject(on_patch(FaultAction::TemporarilyUnavailable, Some(1)));
    let unavailable = send(&sim, patch_call("t@example.com")).await;
    assert_eq!(unavailable.status, 400);
    assert!(unavailable.json()["message"]
        .as_str()
        .is_some_and(|m| m.ends_with("ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE")));
    assert!(!exists(&sim, "t@example.com"));
}

#[tokio::test]
async fn faults_can_be_armed_and_cleared_over_http() {
    let sim = demo().await;
    let mut connection = Connection::open_control(&sim).await;
    for body in [
        json!({"method": "PATCH", "path_prefix": "/contacts/v3", "times": 1, "action": {"status": {"status": 502, "body": ""}}}),
        json!({"path_prefix": "/contacts/v3/email/x%40", "times": 1, "action": "drop_before"}),
        json!({"path_prefix": "/v2/server-time", "action": {"delay_before": {"ms": 1}}}),
        json!({"action": {"rate_limited": {"seconds": 3}}, "path_prefix": "/nothing"}),
    ] {
        let armed =
            connection.send(&call("POST", "/_sim/faults").no_auth().json(body.clone()), true).await.expect("armed");
        assert_eq!(armed.status, 201, "{body}: {}", armed.text());
    }
    for bad in [json!({"action": "explode"}), json!({"action": {"status": {"status": 500}}, "colour": 1}), json!([])] {
        let refused =
            connection.send(&call("POST", "/_sim/faults").no_auth().json(bad.clone()), true).await.expect("answer");
        assert_eq!(refused.status, 400, "{bad}");
    }
    assert_eq!(send(&sim, patch_call("h@example.com")).await.status, 502);
    assert!(try_send(&sim, call("GET", "/contacts/v3/email/x%40example.com")).await.is_err());
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200);

    let cleared = connection.send(&call("DELETE", "/_sim/faults").no_auth(), true).await.expect("cleared");
    assert_eq!(cleared.status, 204);
    assert_eq!(send(&sim, call("GET", "/nothing")).await.status, 404);
}

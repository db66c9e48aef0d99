//! The fault matrix: every flow against every kind of trouble the simulator can inject. Each
//! case ends in success or the right typed error, within a bounded time, and leaves exactly
//! one contact, one record and at most one email behind.

use std::time::{Duration, Instant};

use dotdigital_harness::Flow;
use dotdigital_sim::{RateLimitConfig, ResetMode};
use e2e_tests::*;
use serde_json::{json, Value};

use test_support::fixtures::{DEMO_CERTIFICATE as CERTIFICATE, DEMO_ORDER as ORDER};
const EMAIL: &str = "jane.doe@example.com";

/// The record of each flow, and the request that does its main work.
fn case(flow: Flow) -> (Value, &'static str, &'static str) {
    match flow {
        Flow::Contact => (customer("150437", EMAIL), "PATCH", "/contacts/v3/"),
        Flow::Order => (serde_json::from_str(ORDER).unwrap(), "PUT", "/insightData/v3/contacts/"),
        Flow::Certificate => (serde_json::from_str(CERTIFICATE).unwrap(), "POST", "/v2/email/triggered-campaign"),
    }
}

const FLOWS: [Flow; 3] = [Flow::Contact, Flow::Order, Flow::Certificate];

/// Runs one flow with `action` injected `times` on its main request.
async fn run(flow: Flow, action: FaultAction, times: Option<u32>) -> (World, Value, Duration) {
    let world = World::new(demo_settings()).await;
    let (record, method, prefix) = case(flow);
    world.sim.inject(fault(method, prefix, times, action));
    let started = Instant::now();
    let line = world.sync(flow, &record).await;
    (world, line, started.elapsed())
}

/// Never a second contact, record or email.
fn no_duplicates(world: &World, flow: Flow, line: &Value) {
    assert!(world.sim.contacts(DEMO_ACCOUNT).len() <= 1, "{flow:?}: {line}");
    match flow {
        Flow::Contact => {}
        Flow::Order => assert!(world.sim.insight_records(DEMO_ACCOUNT, "Purchases").len() <= 1),
        Flow::Certificate => {
            assert!(world.sim.insight_records(DEMO_ACCOUNT, "LoyaltyCertificates").len() <= 1);
            assert!(world.sim.sends().len() <= 1, "{flow:?}: a second email: {line}");
        }
    }
}

fn succeeded_after(line: &Value, attempts: u64) {
    ok(line);
    assert_eq!(line["attempts"], attempts, "{line}");
}

#[tokio::test]
async fn rate_limits_with_epoch_and_delta_resets_wait_and_succeed() {
    for reset in [ResetMode::Epoch, ResetMode::Delta] {
        for flow in FLOWS {
            let world = World::new(demo_settings()).await;
            world.sim.set_rate_limit(RateLimitConfig { reset, ..RateLimitConfig::default() });
            let (record, method, prefix) = case(flow);
            world.sim.inject(fault(method, prefix, Some(1), FaultAction::RateLimited { seconds: 1 }));
            let started = Instant::now();
            let line = world.sync(flow, &record).await;
            succeeded_after(&line, 2);
            assert!(started.elapsed() >= Duration::from_millis(900), "{reset:?} {flow:?}: did not wait");
            assert!(started.elapsed() < Duration::from_secs(10));
            no_duplicates(&world, flow, &line);
        }
    }
}

#[tokio::test]
async fn the_flat_hourly_cap_is_reported_for_the_platform_to_hold() {
    for flow in FLOWS {
        let (world, line, took) = run(flow, FaultAction::ApiUsageExceeded, None).await;
        let error = failed(&line, "rate-limited");
        assert_eq!(error["scope"], "flat");
        assert_eq!(error["wait_seconds"], 3600);
        assert_eq!(line["attempts"], 1, "an hour is too long to wait in place");
        assert!(took < Duration::from_secs(5));
        no_duplicates(&world, flow, &line);
    }
}

#[tokio::test]
async fn server_errors_once_twice_and_always() {
    for flow in FLOWS {
        for (status, times, attempts) in [(503, Some(1), 2), (503, Some(2), 3), (500, Some(1), 2)] {
            let (world, line, _) = run(flow, FaultAction::Status { status, body: String::new() }, times).await;
            succeeded_after(&line, attempts);
            no_duplicates(&world, flow, &line);
            if flow == Flow::Certificate {
                // A 503 proves nothing was sent, so the retry sends; a 500 does not, so the
                // retry holds back rather than risk a second email.
                let expected = if status == 503 { 1 } else { 0 };
                assert_eq!(world.sim.sends().len(), expected, "{status}: {line}");
                if status == 500 {
                    assert!(line["outcome"]["messages"].to_string().contains("unconfirmed"), "{line}");
                }
            }
        }
        let (world, line, took) = run(flow, FaultAction::Status { status: 503, body: String::new() }, None).await;
        failed(&line, "unavailable");
        assert_eq!(line["attempts"], quick_retry().max_attempts);
        assert!(took < Duration::from_secs(15), "bounded: {took:?}");
        no_duplicates(&world, flow, &line);
    }
}

#[tokio::test]
async fn a_temporarily_unavailable_400_is_retried() {
    for flow in FLOWS {
        let (world, line, _) = run(flow, FaultAction::TemporarilyUnavailable, Some(1)).await;
        succeeded_after(&line, 2);
        no_duplicates(&world, flow, &line);
    }
}

#[tokio::test]
async fn dropped_connections_before_and_after_the_work() {
    for flow in FLOWS {
        for action in [FaultAction::DropBefore, FaultAction::DropAfter] {
            let (world, line, took) = run(flow, action.clone(), Some(1)).await;
            succeeded_after(&line, 2);
            assert!(took < Duration::from_secs(10));
            no_duplicates(&world, flow, &line);
        }
    }
}

#[tokio::test]
async fn an_answer_slower_than_the_call_timeout() {
    for flow in FLOWS {
        for action in
            [FaultAction::DelayBefore(Duration::from_secs(4)), FaultAction::DelayAfter(Duration::from_secs(4))]
        {
            let (world, line, took) = run(flow, action.clone(), Some(1)).await;
            succeeded_after(&line, 2);
            assert!(took < Duration::from_secs(10), "{action:?}: {took:?}");
            no_duplicates(&world, flow, &line);
        }
    }
}

#[tokio::test]
async fn a_malformed_success_body() {
    for flow in FLOWS {
        let (world, line, _) = run(flow, FaultAction::MalformedAfter, Some(1)).await;
        ok(&line);
        no_duplicates(&world, flow, &line);
        if flow == Flow::Certificate {
            assert_eq!(world.sim.sends().len(), 1);
        }
    }
    // Contacts read the body (the contactId): a truncated one is an outage, retried.
    let (_, line, _) = run(Flow::Contact, FaultAction::MalformedAfter, Some(1)).await;
    assert_eq!(line["attempts"], 2, "{line}");
}

#[tokio::test]
async fn a_wrong_region_after_a_cached_discovery() {
    for flow in FLOWS {
        let world = World::r2_with_stale_region().await;
        let (record, _, _) = case(flow);
        let line = world.sync(flow, &record).await;
        succeeded_after(&line, 1);
        assert_eq!(world.requests_to("GET", "/v2/account-info").len(), 1, "{flow:?}: one rediscovery");
        assert_eq!(world.sim.contacts(R2_ACCOUNT).len(), 1);
    }
}

#[tokio::test]
async fn credentials_revoked_mid_run() {
    for flow in FLOWS {
        let world = World::new(demo_settings()).await;
        let (record, _, _) = case(flow);
        ok(&world.sync(flow, &record).await);
        world.sim.set_password("demo@apiconnector.com", "rotated-password");
        let line = world.sync(flow, &record).await;
        failed(&line, "unauthorized");
        assert_eq!(line["attempts"], 1, "a 401 is never retried");
        no_duplicates(&world, flow, &line);
    }
}

#[tokio::test]
async fn the_simulators_own_limiter_answers_rate_limited_not_a_broken_stream() {
    // The simulator answers 429 before it reads the body; the plugin must still see the 429.
    let mut settings = demo_settings();
    settings["api_endpoint"] = json!("https://r1-api.dotdigital.com");
    let world = World::new(settings).await;
    // Three calls a minute: the first sync reads the data fields and PATCHes (2), the second
    // PATCHes (1, the fields are cached), so the third sync's PATCH, body and all, is the 429.
    world.sim.set_rate_limit(RateLimitConfig { default_limit: 3, ..RateLimitConfig::default() });
    let plain = |i: u32| json!({"id": i.to_string(), "email_address": format!("c{i}@example.com")});
    for i in 0..2 {
        ok(&world.sync(Flow::Contact, &plain(i)).await);
    }
    assert_eq!(world.sim.requests().len(), 3, "the window is used up");
    let line = world.sync(Flow::Contact, &plain(9)).await;
    let error = failed(&line, "rate-limited");
    assert_eq!(error["status"], 429);
    assert!(error["endpoint"].as_str().unwrap_or_default().starts_with("PATCH /contacts/v3/"), "{line}");
    assert!(error["wait_seconds"].as_u64().unwrap() > 5, "a minute window: reported, not waited: {line}");
}

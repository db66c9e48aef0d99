//! Rate limits: tiered windows with `X-RateLimit-*` headers, reset formats, header case, flat cap.

use std::time::Duration;

use serde_json::json;

use super::client::{call, send, start, upsert, Reply};
use crate::{RateLimitConfig, ResetMode, SimConfig};

fn with_limits(rate_limit: RateLimitConfig) -> SimConfig {
    SimConfig { rate_limit, ..SimConfig::demo() }
}

fn number(reply: &Reply, name: &str) -> u64 {
    reply.header(name).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} missing in {:?}", reply.headers))
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[tokio::test]
async fn an_exhausted_window_answers_429_with_rate_limit_headers() {
    let sim = start(with_limits(RateLimitConfig { default_limit: 2, ..RateLimitConfig::default() })).await;

    let first = send(&sim, call("GET", "/v2/account-info")).await;
    assert_eq!(first.status, 200);
    assert_eq!(number(&first, "X-RateLimit-Limit"), 2);
    assert_eq!(number(&first, "X-RateLimit-Remaining"), 1);
    assert_eq!(first.header("X-RateLimit-Scope"), Some("High"));
    let second = upsert(&sim, "a@example.com", json!({})).await;
    assert_eq!(number(&second, "X-RateLimit-Remaining"), 0);

    let throttled = send(&sim, call("GET", "/contacts/v3/email/a@example.com")).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(number(&throttled, "X-RateLimit-Limit"), 2);
    assert_eq!(number(&throttled, "X-RateLimit-Remaining"), 0);
    assert_eq!(throttled.header("X-RateLimit-Scope"), Some("High"));
    let reset = number(&throttled, "X-RateLimit-Reset");
    let now = now_epoch();
    assert!(reset > 1_000_000_000 && reset >= now && reset <= now + 61, "epoch reset {reset}, now {now}");
    assert!(throttled.header("Retry-After").is_none(), "off by default");
    assert_eq!(throttled.json()["errorCode"], "contacts:tooManyRequests");

    let v2 = send(&sim, call("GET", "/v2/account-info")).await;
    assert_eq!(v2.status, 429);
    assert!(v2.json()["message"].as_str().is_some_and(|m| m.contains("ERROR_")));

    // Header names are title-cased on the wire by default.
    assert!(throttled.headers.iter().any(|(name, _)| name == "X-Ratelimit-Reset"), "{:?}", throttled.headers);

    // Other accounts have their own windows.
    let other = send(&sim, call("GET", "/v2/account-info").auth(super::client::DEMO_R2).host(super::client::R2)).await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn delta_reset_retry_after_and_lowercase_names_are_configurable() {
    let sim = start(with_limits(RateLimitConfig {
        default_limit: 1,
        reset: ResetMode::Delta,
        retry_after: true,
        lowercase_headers: true,
        ..RateLimitConfig::default()
    }))
    .await;
    send(&sim, call("GET", "/v2/server-time")).await;
    let throttled = send(&sim, call("GET", "/v2/server-time")).await;
    assert_eq!(throttled.status, 429);
    let reset = number(&throttled, "x-ratelimit-reset");
    assert!((1..=60).contains(&reset), "delta reset {reset}");
    assert_eq!(number(&throttled, "retry-after"), reset);
    assert!(throttled.headers.iter().all(|(name, _)| name == &name.to_ascii_lowercase()), "{:?}", throttled.headers);
}

#[tokio::test]
async fn windows_reopen_after_they_end_and_imports_count_in_the_low_tier() {
    let sim = start(with_limits(RateLimitConfig {
        window: Duration::from_millis(300),
        default_limit: 1,
        low_limit: 5,
        ..RateLimitConfig::default()
    }))
    .await;
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200);
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 429);
    // Import calls are counted in their own tier, even when refused (a malformed id: 400).
    let import = send(&sim, call("GET", "/contacts/v3/import/abc")).await;
    assert_eq!(import.status, 400);
    assert_eq!(import.header("X-RateLimit-Scope"), Some("Low"));
    assert_eq!(number(&import, "X-RateLimit-Limit"), 5);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200);
}

#[tokio::test]
async fn the_flat_cap_answers_400_api_usage_exceeded() {
    let sim = start(with_limits(RateLimitConfig { flat_hourly_limit: Some(2), ..RateLimitConfig::default() })).await;
    let info = send(&sim, call("GET", "/v2/account-info")).await.json();
    let property = |name: &str| {
        info["properties"].as_array().and_then(|p| p.iter().find(|p| p["name"] == name)).map(|p| p["value"].clone())
    };
    assert_eq!(property("ApiCallsInLastHour"), Some(json!("1")));
    assert_eq!(property("ApiCallsRemaining"), Some(json!("1")));

    assert_eq!(upsert(&sim, "a@example.com", json!({})).await.status, 201);
    let capped = upsert(&sim, "a@example.com", json!({})).await;
    assert_eq!(capped.status, 400);
    let message = capped.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.ends_with("ERROR_APIUSAGE_EXCEEDED"), "{message}");
    assert!(message.starts_with("Your account has generated excess API activity"));
}

#[tokio::test]
async fn limits_can_change_while_running() {
    let sim = start(SimConfig::demo()).await;
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200);
    sim.set_rate_limit(RateLimitConfig { default_limit: 1, ..RateLimitConfig::default() });
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 429, "the call before counts");
    sim.reset();
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200, "reset clears the counters");
}

//! Speed and memory of the connector on this machine, as medians and ratios (never asserted:
//! the machine is shared and noisy). Run with
//! `cargo run --release -p dotdigital-harness --example bench [-- ROUNDS]`.
//!
//! - load: compile + link + pre-instantiate + `describe` of the embedded component;
//! - refused: one sync of an invalid customer — the component's own cost (fresh store,
//!   instantiate, validate), no network;
//! - contact / order / certificate: one sync each against the embedded simulator;
//! - raw PATCH: the same contact request sent by the host itself, without the component: the
//!   baseline the ratios compare to.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dotdigital_harness::host::log::{Level, LogSink, LogTarget, Redactor};
use dotdigital_harness::retry::RetryPolicy;
use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::{Flow, Platform, PlatformOptions};
use dotdigital_sim::{RateLimitConfig, SimConfig, Simulator};
use serde_json::{json, Value};

const ORDER: &str = include_str!("../demo/order.json");
const CERTIFICATE: &str = include_str!("../demo/certificate.json");

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn quiet() -> LogSink {
    LogSink::new(LogTarget::Stderr, Level::Error, Redactor::default())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let sim = Simulator::start(SimConfig::demo(), 0).await?;
    sim.set_rate_limit(RateLimitConfig { default_limit: u32::MAX, ..RateLimitConfig::default() });

    let mut loads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        dotdigital_harness::load_plugin(None, &Default::default(), SandboxLimits::default(), quiet()).await?;
        loads.push(started.elapsed());
    }
    let plugin = dotdigital_harness::load_plugin(None, &Default::default(), SandboxLimits::default(), quiet()).await?;
    let settings = json!({
        "api_user": "demo@apiconnector.com", "api_password": "demo-password",
        "api_endpoint": "https://r1-api.dotdigital.com", "default_currency": "GBP", "certificate_campaign_id": 9001,
        "api_throttle_limit": 1_000_000, "api_throttle_seconds": 1, "concurrent_connections": 1
    });
    let options = PlatformOptions {
        upstream: Upstream::Forward(sim.addr()),
        state_dir: None,
        state_busy_timeout: dotdigital_harness::host::data::BUSY_TIMEOUT,
        retry: RetryPolicy::default(),
        log_target: LogTarget::Stderr,
        log_level: Level::Error,
    };
    let platform = Platform::new(plugin, &settings, options).map_err(anyhow::Error::msg)?;

    let time = |samples: &mut Vec<Duration>, started: Instant| samples.push(started.elapsed());
    let (mut refused, mut contact, mut order, mut certificate, mut raw) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..rounds {
        let email = format!("bench{i}@example.com");
        let started = Instant::now();
        let line = platform.sync(Flow::Contact, i, &json!({"id": "x", "email_address": "not-an-email"})).await;
        time(&mut refused, started);
        assert_eq!(line["ok"], false);

        let started = Instant::now();
        let line = platform
            .sync(Flow::Contact, i, &json!({"id": i.to_string(), "first_name": "Bench", "email_address": email}))
            .await;
        time(&mut contact, started);
        assert_eq!(line["ok"], true, "{line}");

        let mut tx: Value = serde_json::from_str(ORDER)?;
        tx["transaction_number"] = json!(format!("B-{i}"));
        tx["email_address"] = json!(email);
        let started = Instant::now();
        let line = platform.sync(Flow::Order, i, &tx).await;
        time(&mut order, started);
        assert_eq!(line["ok"], true, "{line}");

        let mut card: Value = serde_json::from_str(CERTIFICATE)?;
        card["number"] = json!(format!("C-{i}"));
        card["receiving_customer_email"] = json!(email);
        let started = Instant::now();
        let line = platform.sync(Flow::Certificate, i, &card).await;
        time(&mut certificate, started);
        assert_eq!(line["ok"], true, "{line}");

        let addr = sim.addr();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || raw_patch(addr, &format!("raw{i}@example.com"))).await??;
        time(&mut raw, started);
    }

    let raw_median = median(raw.clone());
    println!("{rounds} rounds; medians on this machine (ratios against the host's own raw PATCH)");
    println!("{:<34} {:>12}", "load the component", format!("{:.1} ms", median(loads).as_secs_f64() * 1e3));
    for (name, samples) in [
        ("raw PATCH (no component)", raw),
        ("refused record (no network)", refused),
        ("sync contact (1 call)", contact),
        ("sync order (1 call)", order),
        ("sync certificate (4 calls)", certificate),
    ] {
        let m = median(samples);
        println!(
            "{:<34} {:>12} {:>8.2}x",
            name,
            format!("{:.0} µs", m.as_secs_f64() * 1e6),
            m.as_secs_f64() / raw_median.as_secs_f64()
        );
    }
    if let Some(peak) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
    }) {
        println!("{:<34} {:>12}", "peak resident memory", format!("{} MiB", peak / 1024));
    }
    Ok(())
}

/// The contact PATCH the component sends, written by hand on a fresh connection.
fn raw_patch(addr: std::net::SocketAddr, email: &str) -> anyhow::Result<()> {
    let body = json!({"identifiers": {"email": email}, "dataFields": {"FIRSTNAME": "Bench"}}).to_string();
    let path = format!("/contacts/v3/email/{}?merge-option=overwrite", email.replace('@', "%40"));
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "PATCH {path} HTTP/1.1\r\nHost: r1-api.dotdigital.com\r\nAuthorization: Basic ZGVtb0BhcGljb25uZWN0b3IuY29tOmRlbW8tcGFzc3dvcmQ=\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    anyhow::ensure!(answer.starts_with("HTTP/1.1 201"), "unexpected answer: {answer}");
    Ok(())
}

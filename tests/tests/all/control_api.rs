//! The simulator's control API (`/_sim/…`) lives on its own port: a component that sends
//! `/_sim/…` requests through its only way out (wasi:http to a Dotdigital host, forwarded to the
//! simulator's API port) gets what any unknown path gets and learns nothing, changes nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use base64::Engine;
use dotdigital_harness::runtime::{SandboxLimits, Upstream};
use dotdigital_harness::{Flow, Platform};
use dotdigital_sim::{SimConfig, Simulator};
use e2e_tests::*;
use serde_json::{json, Value};

/// The hostile component's `http-show` attack: GET through the sandbox, answer `HTTP <status>: <body>`.
async fn through_component(platform: &Platform, url: &str, authorization: Option<&str>) -> String {
    let argument = match authorization {
        Some(value) => format!("{url} {value}"),
        None => url.to_string(),
    };
    let record = json!({"id": "probe", "first_name": "http-show", "last_name": argument});
    let line = platform.sync(Flow::Contact, 1, &record).await;
    ok(&line)["external_id"].as_str().expect("the probe answers with text").to_string()
}

/// A plain HTTP/1.1 GET on the control port, off the runtime's threads (the simulator serves on them).
async fn control_get(sim: &Simulator, path: &str) -> String {
    let (addr, path) = (sim.control_addr(), path.to_string());
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_control_api_is_not_reachable_through_the_components_outbound_path() {
    let sim = Simulator::start(SimConfig::demo(), 0).await.unwrap();
    let settings = json!({"api_user": "demo@apiconnector.com", "api_password": DEMO_PASSWORD});
    let logs = Arc::new(Mutex::new(Vec::new()));
    let platform = hostile_platform(SandboxLimits::default(), Upstream::Forward(sim.addr()), &settings, logs).await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("demo@apiconnector.com:{DEMO_PASSWORD}"))
    );

    // A contact exists, so a leak would show it.
    let world = World::with_sim(sim.clone(), demo_settings(), fresh_state_dir()).await;
    ok(&world.sync(Flow::Contact, &customer("c-1", "leak.me@example.com")).await);
    let before = sim.contacts(DEMO_ACCOUNT);

    let unknown = through_component(&platform, "https://r1-api.dotdigital.com/v2/no-such-path", Some(&basic)).await;
    assert!(unknown.starts_with("HTTP 404"), "{unknown}");
    for path in ["/_sim/accounts", "/_sim/contacts?account=4711", "/_sim/requests", "/_sim/sends"] {
        let url = format!("https://r1-api.dotdigital.com{path}");
        let anonymous = through_component(&platform, &url, None).await;
        assert!(anonymous.starts_with("HTTP 401"), "{path} without credentials: {anonymous}");
        let answer = through_component(&platform, &url, Some(&basic)).await;
        assert!(answer.starts_with("HTTP 404"), "{path}: {answer}");
        // The same answer as any unknown path (the path itself aside), and nothing of the account.
        assert_eq!(answer.replace(path.split('?').next().unwrap(), "/v2/no-such-path"), unknown, "{path}");
        for secret in ["leak.me@example.com", "4711", DEMO_PASSWORD, "demo@apiconnector.com"] {
            assert!(!answer.contains(secret), "{path} revealed {secret}: {answer}");
        }
    }
    // Steering is refused too: a reset would drop the contact, an armed fault would drop the next call.
    for (method, path) in [("POST", "/_sim/reset"), ("POST", "/_sim/faults"), ("DELETE", "/_sim/faults")] {
        let url = format!("https://r1-api.dotdigital.com{path}");
        let answer = through_component(&platform, &format!("{method} {url}"), Some(&basic)).await;
        assert!(answer.starts_with("HTTP 404"), "{method} {path}: {answer}");
    }
    assert_eq!(sim.contacts(DEMO_ACCOUNT), before);
    ok(&world.sync(Flow::Contact, &customer("c-1", "leak.me@example.com")).await);

    // The control port still serves the tests.
    let accounts = control_get(&sim, "/_sim/accounts").await;
    assert!(accounts.starts_with("HTTP/1.1 200"), "{accounts}");
    let body: Value = serde_json::from_str(accounts.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body.to_string().contains("4711"), "{body}");
}

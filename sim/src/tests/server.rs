//! The HTTP side: keep-alive, chunked bodies, size limit, request log, concurrency, odd input,
//! and the control API on its own listener.

use std::time::Duration;

use serde_json::json;

use super::client::{call, control, create_collection, demo, put_record, send, upsert, Connection, ACME, DEMO, R2};
use crate::{Fault, FaultAction, Redacted};

const TOKEN: &str = "5a96bc79-19a7-4544-973b-e2da0c9136f9";
/// `demo@apiconnector.com:demo-password`, as the Authorization header carries it.
const DEMO_BASIC: &str = "ZGVtb0BhcGljb25uZWN0b3IuY29tOmRlbW8tcGFzc3dvcmQ=";

#[tokio::test]
async fn one_connection_carries_several_requests() {
    let sim = demo().await;
    let mut connection = Connection::open(&sim).await;
    for n in 0..3 {
        let reply = connection
            .send(&call("PATCH", &format!("/contacts/v3/email/k{n}@example.com")).json(json!({})), true)
            .await
            .expect("keep-alive answer");
        assert_eq!(reply.status, 201);
    }
    let last = connection.send(&call("GET", "/v2/server-time"), false).await.expect("answer");
    assert_eq!(last.status, 200);
    assert_eq!(sim.contacts(ACME).len(), 3);
}

#[tokio::test]
async fn chunked_bodies_are_read_and_logged() {
    let sim = demo().await;
    let reply = send(
        &sim,
        call("PATCH", "/contacts/v3/email/chunk@example.com")
            .json(json!({"dataFields": {"FIRSTNAME": "Chunky"}}))
            .chunked(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["dataFields"]["FIRSTNAME"], "Chunky");
    let record = &sim.requests()[0];
    assert!(record.chunked);
    assert_eq!(record.content_length, None);
    assert!(record.body.contains("Chunky"));
}

#[tokio::test]
async fn bodies_over_50_mb_get_400() {
    let sim = demo().await;
    let mut connection = Connection::open(&sim).await;
    let reply = connection
        .send(&call("PATCH", "/contacts/v3/email/big@example.com").header("Content-Length", "60000000"), false)
        .await
        .expect("answer before the body is sent");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["errorCode"], "contacts:badJson");
    assert_eq!(sim.requests()[0].status, 400);
}

#[tokio::test]
async fn the_request_log_keeps_what_was_sent_but_no_credentials() {
    let sim = demo().await;
    let reply = send(
        &sim,
        call("PATCH", "/contacts/v3/email/log@example.com?merge-option=overwrite")
            .json(json!({"dataFields": {"FIRSTNAME": "L"}}))
            .header("User-Agent", "dotdigital-connector/0.1.0")
            .header("x-ddg-integration-token", TOKEN),
    )
    .await;
    assert_eq!(reply.status, 201);
    send(&sim, call("GET", "/v2/account-info").auth((DEMO.0, "wrong")).host(R2)).await;
    control(&sim, call("GET", "/_sim/sends")).await;

    let log = sim.requests();
    assert_eq!(log.len(), 2, "control API requests are not logged");
    let first = &log[0];
    assert_eq!(first.method, "PATCH");
    assert_eq!(first.path, "/contacts/v3/email/log@example.com?merge-option=overwrite");
    assert_eq!(first.host, "r1-api.dotdigital.com");
    assert_eq!(first.account_id, Some(ACME));
    assert_eq!(first.status, 201);
    assert!(first.content_length.is_some_and(|l| l > 0));
    assert!(!first.chunked);
    assert_eq!(first.user_agent.as_deref(), Some("dotdigital-connector/0.1.0"));
    assert_eq!(first.integration_token, Some(Redacted::of(TOKEN)), "kept as a fingerprint");
    assert_ne!(first.integration_token, Some(Redacted::of("another-token")));
    assert_eq!(first.body, r#"{"dataFields":{"FIRSTNAME":"L"}}"#);
    assert!(first.finished_ms >= first.started_ms && first.started_ms >= 0.0);
    assert_eq!(first.in_flight_at_start, 1);
    assert_eq!(log[1].account_id, None);
    assert_eq!(log[1].status, 401);
    assert_eq!(log[1].host, R2);

    let serialized = serde_json::to_string(&log).expect("serializable");
    let over_http = control(&sim, call("GET", "/_sim/requests")).await.text();
    assert!(over_http.contains("log@example.com"), "{over_http}");
    for text in [&serialized, &format!("{log:?}"), &over_http] {
        for secret in [DEMO.1, "wrong", "Basic", DEMO_BASIC, TOKEN] {
            assert!(!text.contains(secret), "{secret:?} is in the log: {text}");
        }
    }
}

#[tokio::test]
async fn concurrent_requests_are_served_together() {
    let sim = demo().await;
    sim.inject(Fault {
        method: Some("GET".into()),
        path_prefix: "/v2/server-time".into(),
        times: None,
        action: FaultAction::DelayBefore(Duration::from_millis(300)),
    });
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let sim = sim.clone();
            tokio::spawn(async move { send(&sim, call("GET", "/v2/server-time")).await.status })
        })
        .collect();
    let started = std::time::Instant::now();
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    assert!(started.elapsed() < Duration::from_millis(1000), "served in parallel: {:?}", started.elapsed());
    let most = sim.requests().iter().map(|r| r.in_flight_at_start).max();
    assert_eq!(most, Some(4));
}

#[tokio::test]
async fn odd_input_never_takes_the_server_down() {
    let sim = demo().await;
    let raw_requests: [&[u8]; 6] = [
        b"GARBAGE\r\n\r\n",
        b"GET /contacts/v3/email/%%%%/%% HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v2/email/triggered-campaign HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PATCH /contacts/v3/email/a@example.com HTTP/1.1\r\nHost: r1-api.dotdigital.com\r\nAuthorization: Basic ZGVtb0BhcGljb25uZWN0b3IuY29tOmRlbW8tcGFzc3dvcmQ=\r\nContent-Length: 3\r\nConnection: close\r\n\r\n\xff\xfe\x00",
        b"GET /insightData/v3/contacts/email/a@example.com/Orders/%FF HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZGVtb0BhcGljb25uZWN0b3IuY29tOmRlbW8tcGFzc3dvcmQ=\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xff\r\nConnection: close\r\n\r\n",
    ];
    for raw in raw_requests {
        let mut connection = Connection::open(&sim).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), connection.send_raw(raw)).await;
    }
    for body in
        [&b"null"[..], b"{\"identifiers\": 5}", b"{\"dataFields\": [1]}", b"\"just a string\"", b"{\"lists\": [1e400]}"]
    {
        let reply = send(&sim, call("PATCH", "/contacts/v3/email/odd@example.com").raw_body(body)).await;
        assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(body));
    }
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200, "still serving");
}

#[tokio::test]
async fn the_control_api_reads_and_resets_state() {
    let sim = demo().await;
    upsert(&sim, "ana@example.com", json!({"dataFields": {"FIRSTNAME": "Ana"}})).await;
    create_collection(&sim, "Orders").await;
    put_record(&sim, "ana@example.com", "Orders", "1", json!({"total": 1})).await;
    put_record(&sim, "ana@example.com", "Orders", "2", json!({"total": "x"})).await;
    send(
        &sim,
        call("POST", "/v2/email/triggered-campaign")
            .json(json!({"toAddresses": ["ana@example.com"], "campaignId": 9001})),
    )
    .await;

    let get = |path: &str| call("GET", path);
    let contacts = control(&sim, get("/_sim/contacts?account=4711")).await;
    assert_eq!(contacts.status, 200);
    assert_eq!(contacts.json()[0]["dataFields"]["FIRSTNAME"], "Ana");
    let records = control(&sim, get("/_sim/records?account=4711&collection=Orders")).await.json();
    assert_eq!(records.as_array().map(Vec::len), Some(1));
    assert_eq!(control(&sim, get("/_sim/collections?account=4711")).await.json()[0]["recordCount"], 1);
    assert_eq!(
        control(&sim, get("/_sim/schema?account=4711&collection=Orders")).await.json(),
        json!({"total": "number"})
    );
    assert_eq!(
        control(&sim, get("/_sim/schema-conflicts?account=4711")).await.json().as_array().map(Vec::len),
        Some(1)
    );
    let sends = control(&sim, get("/_sim/sends")).await.json();
    assert_eq!(sends[0]["campaign_id"], 9001);
    assert_eq!(sends[0]["to_addresses"], json!(["ana@example.com"]));
    let requests = control(&sim, get("/_sim/requests")).await.json();
    assert_eq!(requests.as_array().map(Vec::len), Some(5));
    let accounts = control(&sim, get("/_sim/accounts")).await;
    assert!(!accounts.text().contains("demo-password"));
    assert_eq!(accounts.json().as_array().map(Vec::len), Some(2));

    assert_eq!(control(&sim, get("/_sim/contacts")).await.status, 400);
    assert_eq!(control(&sim, get("/_sim/contacts?account=1")).await.status, 404);
    assert_eq!(control(&sim, get("/_sim/records?account=4711")).await.status, 400);
    assert_eq!(control(&sim, get("/_sim/unknown")).await.status, 404);

    assert_eq!(control(&sim, call("POST", "/_sim/reset")).await.status, 204);
    assert!(sim.contacts(ACME).is_empty());
    assert!(sim.collections(ACME).is_empty());
    assert!(sim.sends().is_empty());
    assert!(sim.requests().is_empty());
    let again = upsert(&sim, "ana@example.com", json!({})).await;
    assert_eq!(again.json()["contactId"], 40_000_001, "ids start over");
}

#[tokio::test]
async fn the_control_api_is_not_served_on_the_dotdigital_port() {
    let sim = demo().await;
    upsert(&sim, "ana@example.com", json!({})).await;
    for (method, path) in [
        ("GET", "/_sim/accounts"),
        ("GET", "/_sim/contacts?account=4711"),
        ("GET", "/_sim/requests"),
        ("POST", "/_sim/reset"),
        ("POST", "/_sim/faults"),
        ("DELETE", "/_sim/faults"),
    ] {
        let fault = json!({"action": {"status": {"status": 500, "body": ""}}});
        let reply = send(&sim, call(method, path).json(fault)).await;
        let path_only = path.split('?').next().unwrap_or(path);
        let unknown = send(&sim, call(method, "/v2/nothing-here")).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text());
        assert_eq!(reply.text(), unknown.text().replace("/v2/nothing-here", path_only), "like any unknown path");
        for leak in ["Acme", "demo-r2", "4712", "ana@example.com", "armed", "api_user"] {
            assert!(!reply.text().contains(leak), "{method} {path} reveals {leak:?}: {}", reply.text());
        }

        let anonymous = send(&sim, call(method, path).no_auth()).await;
        let unknown = send(&sim, call(method, "/v2/nothing-here").no_auth()).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        assert_eq!(anonymous.text(), unknown.text());
        assert_eq!(anonymous.header("WWW-Authenticate"), unknown.header("WWW-Authenticate"));
    }
    assert_eq!(sim.contacts(ACME).len(), 1, "nothing was reset");
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200, "no fault was armed");
    let logged = sim.requests().iter().filter(|r| r.path.starts_with("/_sim/")).count();
    assert_eq!(logged, 12, "they are Dotdigital requests like any other");

    let accounts = control(&sim, call("GET", "/_sim/accounts")).await;
    assert_eq!(accounts.status, 200);
    assert_eq!(accounts.json()[1]["api_user"], "demo-r2@apiconnector.com", "the control port serves it");
    assert_eq!(accounts.json()[1]["region"], "r2");
    assert_ne!(sim.control_addr(), sim.addr());
    assert!(sim.control_addr().ip().is_loopback());
}

//! Credentials, regions, denied areas, account-info and unknown routes.

use serde_json::Value;

use super::client::{call, demo, send, start, upsert, ACME, DEMO, DEMO_R2, R1, R2, R3};
use crate::{Area, SimConfig};

#[tokio::test]
async fn bad_or_missing_credentials_get_401_in_each_format() {
    let sim = demo().await;

    let missing = send(&sim, call("GET", "/v2/account-info").no_auth()).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["message"], "Authorization has been denied for this request.");

    let wrong = send(&sim, call("GET", "/contacts/v3/email/a@example.com").auth((DEMO.0, "nope"))).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.is_empty(), "v3 401s have no body");

    let garbage = send(&sim, call("GET", "/v2/account-info").no_auth().header("Authorization", "Basic %%%")).await;
    assert_eq!(garbage.status, 401);

    let bearer = send(&sim, call("GET", "/v2/account-info").no_auth().header("Authorization", "Bearer abc")).await;
    assert_eq!(bearer.status, 401);
}

#[tokio::test]
async fn a_revoked_password_stops_working_at_once() {
    let sim = demo().await;
    assert_eq!(send(&sim, call("GET", "/v2/account-info")).await.status, 200);
    sim.set_password(DEMO.0, "rotated");
    assert_eq!(send(&sim, call("GET", "/v2/account-info")).await.status, 401);
    assert_eq!(send(&sim, call("GET", "/v2/account-info").auth((DEMO.0, "rotated"))).await.status, 200);
}

#[tokio::test]
async fn accounts_answer_only_on_their_region() {
    let sim = demo().await;

    let wrong = send(&sim, call("GET", "/contacts/v3/email/a@example.com").auth(DEMO_R2).host(R1)).await;
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.json()["message"], "Forbidden: Access is denied");

    let right = send(&sim, call("GET", "/contacts/v3/email/a@example.com").auth(DEMO_R2).host(R2)).await;
    assert_eq!(right.status, 404, "reached the handler: {}", right.text());

    let r1_on_r2 = send(&sim, call("GET", "/v2/server-time").host(R2)).await;
    assert_eq!(r1_on_r2.status, 403);

    // Any non-Dotdigital host counts as r1, including the simulator's own address.
    let local = send(&sim, call("GET", "/v2/server-time").host(&sim.addr().to_string())).await;
    assert_eq!(local.status, 200);
    assert!(local.json().is_string());
}

#[tokio::test]
async fn account_info_works_on_r1_for_every_account_and_names_the_endpoint() {
    let sim = demo().await;

    for host in [R1, R2] {
        let info = send(&sim, call("GET", "/v2/account-info").auth(DEMO_R2).host(host)).await;
        assert_eq!(info.status, 200, "on {host}");
        let body = info.json();
        assert_eq!(body["id"], 4712);
        let properties = body["properties"].as_array().expect("properties");
        assert!(properties.iter().all(|p| p["value"].is_string() && p["name"].is_string() && p["type"].is_string()));
        let value = |name: &str| properties.iter().find(|p| p["name"] == name).map(|p| p["value"].clone());
        assert_eq!(value("ApiEndpoint"), Some(Value::from("https://r2-api.dotdigital.com/")));
        assert_eq!(value("Name"), Some(Value::from("Acme North America (demo)")));
        for name in ["MainEmail", "ApiCallsRemaining", "ApiCallsInLastHour", "CurrencyCode"] {
            assert!(value(name).is_some(), "{name} missing");
        }
    }
    let r3 = send(&sim, call("GET", "/v2/account-info").auth(DEMO_R2).host(R3)).await;
    assert_eq!(r3.status, 403);

    let r1 = send(&sim, call("GET", "/v2/account-info")).await.json();
    assert_eq!(r1["id"], ACME);
}

#[tokio::test]
async fn denied_areas_answer_403_and_leave_the_rest_open() {
    let mut config = SimConfig::demo();
    config.accounts[0].denied_areas = vec![Area::InsightData, Area::TriggeredCampaigns];
    let sim = start(config).await;

    let insight = send(&sim, call("GET", "/insightData/v3/collections")).await;
    assert_eq!(insight.status, 403);
    assert_eq!(insight.json()["message"], "Forbidden: Access is denied");
    assert_eq!(send(&sim, call("GET", "/v2/campaigns/9001")).await.status, 403);
    let send_status = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign")
            .json(serde_json::json!({"toAddresses": ["a@example.com"], "campaignId": 9001})),
    )
    .await
    .status;
    assert_eq!(send_status, 403);
    assert_eq!(send(&sim, call("GET", "/contacts/v3/email/a@example.com")).await.status, 404);
    assert!(sim.sends().is_empty());
}

#[tokio::test]
async fn unknown_routes_get_404_and_wrong_methods_405_in_each_format() {
    let sim = demo().await;

    let v2 = send(&sim, call("GET", "/v2/nothing-here")).await;
    assert_eq!(v2.status, 404);
    assert!(v2.json()["message"].as_str().is_some_and(|m| m.contains("/v2/nothing-here")));

    let v3 = send(&sim, call("GET", "/contacts/v3/email/a@example.com/extra")).await;
    assert_eq!(v3.status, 404);
    assert_eq!(v3.json()["errorCode"], "contacts:resourceNotFound");

    let import = send(&sim, call("PUT", "/contacts/v3/import/extra/part")).await;
    assert_eq!(import.status, 404);
    assert_eq!(import.json()["errorCode"], "contacts:resourceNotFound");
    let import_get = send(&sim, call("GET", "/insightData/v3/import")).await;
    assert_eq!(import_get.status, 405);
    assert_eq!(import_get.json()["errorCode"], "insightData:methodNotAllowed");

    let wrong_method = send(&sim, call("DELETE", "/v2/account-info")).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.json()["message"].is_string());

    let wrong_v3 = send(&sim, call("POST", "/contacts/v3/email/a@example.com")).await;
    assert_eq!(wrong_v3.status, 405);
    assert_eq!(wrong_v3.json()["errorCode"], "contacts:methodNotAllowed");

    let unauthenticated = send(&sim, call("GET", "/v2/nothing-here").no_auth()).await;
    assert_eq!(unauthenticated.status, 401, "credentials are checked before routing");
}

#[tokio::test]
async fn a_legacy_account_reports_the_dotmailer_endpoint_but_is_served_on_dotdigital_hosts() {
    let mut config = SimConfig::demo();
    config.accounts[1].legacy_endpoint = true;
    let sim = start(config).await;

    let info = send(&sim, call("GET", "/v2/account-info").auth(DEMO_R2)).await.json();
    let endpoint = info["properties"].as_array().expect("properties").iter().find(|p| p["name"] == "ApiEndpoint");
    assert_eq!(endpoint.map(|p| p["value"].clone()), Some(Value::from("https://r2-api.dotmailer.com/")));
    let served = send(&sim, call("GET", "/contacts/v3/email/a@example.com").auth(DEMO_R2).host(R2)).await;
    assert_eq!(served.status, 404, "r2-api.dotdigital.com still serves the account");

    let modern = send(&sim, call("GET", "/v2/account-info")).await.json();
    let endpoint = modern["properties"].as_array().expect("properties").iter().find(|p| p["name"] == "ApiEndpoint");
    assert_eq!(endpoint.map(|p| p["value"].clone()), Some(Value::from("https://r1-api.dotdigital.com/")));
}

#[tokio::test]
async fn an_encoded_slash_in_a_path_segment_gets_400_in_each_format() {
    let sim = demo().await;
    assert_eq!(upsert(&sim, "a%2Bb@example.com", serde_json::json!({})).await.status, 201, "other escapes are fine");
    for (method, path, code) in [
        ("GET", "/contacts/v3/email/a%2Fb@example.com", "contacts:invalidId"),
        ("PATCH", "/contacts/v3/email/a%2fb@example.com", "contacts:invalidId"),
        ("GET", "/insightData/v3/contacts/email/a@example.com/Orders/10%2F1", "insightData:invalidId"),
        (
            "POST",
            "/insightData/v3/collections/Or%2fders?collectionScope=contact&collectionType=orders",
            "insightData:invalidId",
        ),
    ] {
        let reply = send(&sim, call(method, path).json(serde_json::json!({}))).await;
        assert_eq!(reply.status, 400, "{method} {path}");
        assert_eq!(reply.json()["errorCode"], code, "{method} {path}");
    }
    let v2 = send(&sim, call("GET", "/v2/campaigns/90%2F01")).await;
    assert_eq!(v2.status, 400);
    let message = v2.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.ends_with(". ERROR_PARAMETER_INVALID"), "{message}");
    assert_eq!(sim.contacts(ACME).len(), 1, "nothing was written");
}

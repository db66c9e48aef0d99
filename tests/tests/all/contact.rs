//! sync-contact end to end: the harness loads the component, its requests go over wasi:http
//! to the simulator, and the outcome lines are checked along with what the simulator holds.

use std::time::{Duration, Instant};

use dotdigital_harness::Flow;
use e2e_tests::*;
use serde_json::json;

#[tokio::test]
async fn created_then_updated_with_the_same_external_id() {
    let world = World::new(demo_settings()).await;
    let first = world.sync(Flow::Contact, &customer("150437", "jane.doe@example.com")).await;
    let outcome = ok(&first);
    assert_eq!(outcome["action"], "created");
    let mut changed = customer("150437", "jane.doe@example.com");
    changed["last_name"] = json!("Doe-Smith");
    let second = world.sync(Flow::Contact, &changed).await;
    assert_eq!(ok(&second)["action"], "updated");
    assert_eq!(ok(&second)["external_id"], outcome["external_id"]);
    let contact = world.sim.contact(DEMO_ACCOUNT, "jane.doe@example.com").expect("the contact exists");
    assert_eq!(contact["contactId"].to_string(), outcome["external_id"].as_str().unwrap());
    assert_eq!(contact["dataFields"]["LASTNAME"], "Doe-Smith");
    assert_eq!(contact["dataFields"]["LOYALTY_TIER"], "Gold");
    // The first run discovered the region (account-info) and read the account's data fields
    // (their types decide how mapped values are sent); the second reused both from the
    // persistent data, so the steady state is the PATCH alone.
    assert_eq!(world.requests_to("GET", "/v2/account-info").len(), 1);
    assert_eq!(world.requests_to("GET", "/v2/data-fields").len(), 1);
    assert!(world.state_text().contains("data-fields:demo@apiconnector.com"), "the field list is cached");
    assert_eq!(outcome["api_calls"], 3, "account-info, data-fields, PATCH: {first}");
    assert_eq!(ok(&second)["api_calls"], 1);
    assert_eq!(world.requests_to("PATCH", "/contacts/v3/").len(), 2);
}

#[tokio::test]
async fn the_request_carries_the_headers_dotdigital_expects() {
    let mut settings = demo_settings();
    settings["integration_token"] = json!("5a96bc79-19a7-4544-973b-e2da0c9136f9");
    let world = World::new(settings).await;
    ok(&world.sync(Flow::Contact, &customer("1", "ana+news@example.com")).await);
    let patch = world.requests_to("PATCH", "/contacts/v3/email/").pop().expect("a PATCH was sent");
    assert_eq!(patch.path, "/contacts/v3/email/ana%2Bnews%40example.com?merge-option=overwrite");
    assert_eq!(patch.host, "r1-api.dotdigital.com");
    assert_eq!(patch.content_length, Some(patch.body.len() as u64));
    assert!(!patch.chunked);
    assert!(patch.user_agent.as_deref().unwrap_or("").starts_with("ipaas-dotdigital-connector/"));
    let token = dotdigital_sim::Redacted::of("5a96bc79-19a7-4544-973b-e2da0c9136f9");
    assert_eq!(patch.integration_token, Some(token), "the log keeps the token's fingerprint");
}

#[tokio::test]
async fn an_r2_account_is_discovered_once_and_the_endpoint_reused_on_the_next_run() {
    let world = World::new(r2_settings()).await;
    ok(&world.sync(Flow::Contact, &customer("1", "ana@example.com")).await);
    let discovery = world.requests_to("GET", "/v2/account-info");
    assert_eq!(discovery.len(), 1);
    assert_eq!(discovery[0].host, "r1-api.dotdigital.com", "discovery always asks r1");
    assert_eq!(world.requests_to("PATCH", "/contacts/v3/").pop().unwrap().host, "r2-api.dotdigital.com");
    assert!(world.sim.contact(R2_ACCOUNT, "ana@example.com").is_some());

    // A new process with the same state directory uses the cached endpoint.
    let next = World::with_sim(world.sim.clone(), r2_settings(), world.state.clone()).await;
    let line = next.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    assert_eq!(ok(&line)["api_calls"], 1);
    assert_eq!(next.requests_to("GET", "/v2/account-info").len(), 1, "no second discovery");
}

#[tokio::test]
async fn an_explicit_endpoint_skips_discovery() {
    let mut settings = r2_settings();
    settings["api_endpoint"] = json!("https://r2-api.dotdigital.com/");
    let world = World::new(settings).await;
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    // No discovery: the data-field list (read once, then cached) and the PATCH.
    assert_eq!(ok(&line)["api_calls"], 2, "{line}");
    assert!(world.requests_to("GET", "/v2/account-info").is_empty());
    assert!(world.sim.requests().iter().all(|r| r.host == "r2-api.dotdigital.com"), "every call went to r2");
    let again = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    assert_eq!(ok(&again)["api_calls"], 1, "{again}");
    assert!(world.requests_to("GET", "/v2/account-info").is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_and_not_retried() {
    let mut settings = demo_settings();
    settings["api_password"] = json!("wrong-password-123");
    let world = World::new(settings).await;
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    let error = failed(&line, "unauthorized");
    assert_eq!(error["status"], 401);
    assert_eq!(line["attempts"], 1);
    assert!(!line.to_string().contains("wrong-password-123"));
    assert!(!world.log_text().contains("wrong-password-123"));
}

#[tokio::test]
async fn a_403_on_a_cached_endpoint_rediscovers_the_region_once() {
    let world = World::r2_with_stale_region().await;
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    // The sync's first call (the data-field read) meets the 403 on r1; one discovery follows,
    // and the rest goes to r2.
    assert_eq!(ok(&line)["api_calls"], 4, "data-fields on r1 (403), account-info, data-fields and PATCH on r2: {line}");
    let calls: Vec<_> = world
        .sim
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.host.clone(), r.path.split('?').next().unwrap_or_default().to_string(), r.status))
        .collect();
    let call = |method: &str, host: &str, path: &str, status| (method.into(), host.into(), path.to_string(), status);
    assert_eq!(
        calls,
        vec![
            call("GET", "r1-api.dotdigital.com", "/v2/data-fields", 403),
            call("GET", "r1-api.dotdigital.com", "/v2/account-info", 200),
            call("GET", "r2-api.dotdigital.com", "/v2/data-fields", 200),
            call("PATCH", "r2-api.dotdigital.com", "/contacts/v3/email/ana%40example.com", 201),
        ]
    );
    assert!(world.state_text().contains("https://r2-api.dotdigital.com"), "the new region is cached");
}

#[tokio::test]
async fn a_429_waits_for_the_reset_and_succeeds() {
    let world = World::new(demo_settings()).await;
    world.sim.inject(fault("PATCH", "/contacts/v3/", Some(1), FaultAction::RateLimited { seconds: 1 }));
    let started = Instant::now();
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    ok(&line);
    assert_eq!(line["attempts"], 2);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited for the reset");
}

#[tokio::test]
async fn a_503_is_retried() {
    let world = World::new(demo_settings()).await;
    world.sim.inject(fault(
        "PATCH",
        "/contacts/v3/",
        Some(1),
        FaultAction::Status { status: 503, body: String::new() },
    ));
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    assert_eq!(ok(&line)["action"], "created");
    assert_eq!(line["attempts"], 2);
}

#[tokio::test]
async fn persistent_5xx_ends_unavailable_within_a_bounded_time() {
    let world = World::new(demo_settings()).await;
    world.sim.inject(fault("PATCH", "/contacts/v3/", None, FaultAction::Status { status: 500, body: String::new() }));
    let started = Instant::now();
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    failed(&line, "unavailable");
    assert_eq!(line["attempts"], quick_retry().max_attempts);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_missing_or_malformed_email_is_refused_before_any_request() {
    let world = World::new(demo_settings()).await;
    let mut missing = customer("1", "x@example.com");
    missing.as_object_mut().unwrap().remove("email_address");
    let line = world.sync(Flow::Contact, &missing).await;
    assert_eq!(issue_fields(failed(&line, "invalid-record")), vec!["email_address"]);
    let line = world.sync(Flow::Contact, &customer("2", "jane.doe@@example")).await;
    assert_eq!(issue_fields(failed(&line, "invalid-record")), vec!["email_address"]);
    assert!(world.sim.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn invalid_settings_are_refused_before_any_request() {
    let mut settings = demo_settings();
    settings["email_type"] = json!("rich");
    settings["api_endpoint"] = json!("https://api.example.com");
    let world = World::new(settings).await;
    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    let fields = issue_fields(failed(&line, "invalid-settings"));
    assert!(fields.contains(&"email_type".to_string()) && fields.contains(&"api_endpoint".to_string()), "{fields:?}");
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn the_password_appears_in_no_output() {
    let world = World::new(demo_settings()).await;
    let mut lines = vec![
        world.sync(Flow::Contact, &customer("1", "ana@example.com")).await,
        world.sync(Flow::Contact, &customer("2", "bad")).await,
    ];
    world.sim.inject(fault(
        "PATCH",
        "/contacts/v3/",
        None,
        FaultAction::Status { status: 500, body: format!("{{\"message\":\"{DEMO_PASSWORD}\"}}") },
    ));
    lines.push(world.sync(Flow::Contact, &customer("3", "cy@example.com")).await);
    lines.push(world.platform.validate().await);
    let everything =
        format!("{}\n{}\n{}", serde_json::to_string(&lines).unwrap(), world.log_text(), world.state_text());
    assert!(!world.log_text().is_empty());
    assert!(!everything.contains(DEMO_PASSWORD), "the password leaked");
    assert!(!everything.contains("ZGVtb0BhcGljb25uZWN0b3IuY29tOmRlbW8tcGFzc3dvcmQ="), "the Basic credentials leaked");
}

#[tokio::test]
async fn contact_bodies_match_dotdigitals_openapi() {
    let world = World::new(demo_settings()).await;
    let mut full = customer("1", "ana@example.com");
    full["custom_fields"] = json!([
        {"id": "1", "custom_field_name": "Mobile Number", "value": "+44 7700 900123"},
        {"id": "2", "custom_field_name": "Loyalty Tier", "value": ""}
    ]);
    ok(&world.sync(Flow::Contact, &full).await);
    ok(&world.sync(Flow::Contact, &customer("2", "bo@example.com")).await);
    let spec = openapi_check::Spec::load("contacts-v3.json");
    let schema = spec.request_schema("/contacts/v3/{identifier}/{value}", "patch");
    // The second customer shares the first one's phone, so its PATCH is repeated without it.
    let patches = world.requests_to("PATCH", "/contacts/v3/");
    assert_eq!(patches.len(), 3);
    for patch in patches {
        let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
        let problems = spec.problems(schema, &body);
        assert!(problems.is_empty(), "{body}: {problems:?}");
    }
}

#[tokio::test]
async fn validate_connection_reports_the_account_and_its_areas() {
    let world = World::new(r2_settings()).await;
    let line = world.platform.validate().await;
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["account"]["id"], R2_ACCOUNT);
    assert_eq!(line["account"]["api_endpoint"], "https://r2-api.dotdigital.com");
    let areas = line["account"]["areas"].as_array().unwrap();
    assert_eq!(areas.len(), 3);
    assert!(areas.iter().all(|a| a["allowed"] == true), "{line}");
}

#[tokio::test]
async fn a_mobile_number_owned_by_another_contact_is_left_out_not_fatal() {
    let world = World::new(demo_settings()).await;
    ok(&world.sync(Flow::Contact, &customer("1", "ana@example.com")).await);
    // Same household phone on the billing address.
    let line = world.sync(Flow::Contact, &customer("2", "bo@example.com")).await;
    let outcome = ok(&line);
    assert_eq!(outcome["action"], "created");
    assert!(outcome["messages"].to_string().contains("belongs to another"), "{line}");
    let bo = world.sim.contact(DEMO_ACCOUNT, "bo@example.com").unwrap();
    assert!(bo["identifiers"].get("mobileNumber").is_none(), "{bo}");
}

#[tokio::test]
async fn validate_connection_names_a_mapping_to_a_missing_data_field() {
    let mut settings = demo_settings();
    settings["data_field_map"] = json!([
        {"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"},
        {"custom_field": "Shoe Size", "data_field": "SHOE_SIZE"}
    ]);
    let world = World::new(settings).await;
    // validate reaches the account and lists the problem (ok:false), naming the mapping.
    let line = world.platform.validate().await;
    assert_eq!(line["ok"], false, "{line}");
    assert_eq!(line["account"]["id"], DEMO_ACCOUNT, "{line}");
    assert_eq!(problem_fields(&line), vec!["data_field_map[1].data_field"], "{line}");
    // A sync with the same settings is refused the same way, before any PATCH.
    let sync = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    assert_eq!(issue_fields(failed(&sync, "invalid-settings")), vec!["data_field_map[1].data_field"]);
    assert!(world.requests_to("PATCH", "/contacts/v3/").is_empty());
}

//! Triggered campaigns: sends recorded in the outbox, validation, batch, campaign lookup.

use serde_json::json;

use super::client::{call, demo, send, start, ACME};
use crate::{Campaign, CampaignStatus, SimConfig};

#[tokio::test]
async fn a_valid_send_is_recorded_with_an_empty_200() {
    let sim = demo().await;
    let reply = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign").json(json!({
            "toAddresses": ["ana@example.com"],
            "campaignId": 9001,
            "personalizationValues": [{"name": "CERTIFICATE_CODE", "value": "GC-1"}, {"name": "AMOUNT", "value": "25.00"}],
            "metadata": {"source": "test"},
        })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.is_empty());

    let sends = sim.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].account_id, ACME);
    assert_eq!(sends[0].campaign_id, 9001);
    assert_eq!(sends[0].to_addresses, vec!["ana@example.com".to_string()]);
    assert_eq!(
        sends[0].personalization_values,
        vec![("CERTIFICATE_CODE".to_string(), "GC-1".to_string()), ("AMOUNT".to_string(), "25.00".to_string())]
    );
}

#[tokio::test]
async fn bad_sends_get_400_and_unknown_campaigns_404() {
    let sim = demo().await;
    let too_many: Vec<String> = (0..101).map(|n| format!("a{n}@example.com")).collect();
    for body in [
        json!({"campaignId": 9001}),
        json!({"toAddresses": [], "campaignId": 9001}),
        json!({"toAddresses": ["not-an-email"], "campaignId": 9001}),
        json!({"toAddresses": too_many, "campaignId": 9001}),
        json!({"toAddresses": ["a@example.com"]}),
        json!({"toAddresses": ["a@example.com"], "campaignId": "9001"}),
        json!({"toAddresses": ["a@example.com"], "campaignId": 9001, "personalizationValues": [{"name": "X"}]}),
        json!({"toAddresses": ["a@example.com"], "campaignId": 9001, "ccAddresses": ["bad"]}),
        json!([]),
    ] {
        let reply = send(&sim, call("POST", "/v2/email/triggered-campaign").json(body.clone())).await;
        assert_eq!(reply.status, 400, "{body}");
        let message = reply.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(message.ends_with(". ERROR_PARAMETER_INVALID"), "{body}: {message}");
    }
    let unknown = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign")
            .json(json!({"toAddresses": ["a@example.com"], "campaignId": 4242})),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), json!({"message": "Error: ERROR_CAMPAIGN_NOT_FOUND"}));
    assert!(sim.sends().is_empty());
}

#[tokio::test]
async fn sends_do_not_count_toward_the_rate_limit() {
    let mut config = SimConfig::demo();
    config.rate_limit.default_limit = 1;
    let sim = start(config).await;
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 200);
    assert_eq!(send(&sim, call("GET", "/v2/server-time")).await.status, 429);
    for _ in 0..3 {
        let reply = send(
            &sim,
            call("POST", "/v2/email/triggered-campaign")
                .json(json!({"toAddresses": ["a@example.com"], "campaignId": 9001})),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert!(reply.header("X-RateLimit-Limit").is_none());
    }
    assert_eq!(sim.sends().len(), 3);
}

#[tokio::test]
async fn batch_reports_each_item_inside_a_200() {
    let sim = demo().await;
    let reply = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign/batch").json(json!([
            {"toAddresses": ["a@example.com"], "campaignId": 9001},
            {"toAddresses": [], "campaignId": 9001},
            {"toAddresses": ["b@example.com"], "campaignId": 1},
        ])),
    )
    .await;
    assert_eq!(reply.status, 200);
    let results = reply.json();
    assert_eq!(results[0], json!({"index": 0}));
    assert_eq!(results[1]["failureCode"], "ERROR_PARAMETER_INVALID");
    assert_eq!(results[1]["failureReason"], "ToAddresses field is empty or invalid. ERROR_PARAMETER_INVALID");
    assert_eq!(results[2]["failureCode"], "ERROR_CAMPAIGN_NOT_FOUND");
    assert_eq!(sim.sends().len(), 1);
}

#[tokio::test]
async fn campaigns_can_be_looked_up_with_their_status() {
    let sim = demo().await;
    for (id, status) in [(9001, "Triggered"), (9002, "Sent"), (9003, "Unsent")] {
        let found = send(&sim, call("GET", &format!("/v2/campaigns/{id}"))).await;
        assert_eq!(found.status, 200);
        let campaign = found.json();
        assert_eq!(campaign["id"], id);
        assert_eq!(campaign["status"], status, "{id}");
        // The properties v2.json `ApiCampaign` requires.
        for field in ["name", "subject", "fromName", "htmlContent", "plainTextContent"] {
            assert!(campaign[field].as_str().is_some_and(|s| !s.is_empty()), "{id} {field}");
        }
    }
    let missing = send(&sim, call("GET", "/v2/campaigns/9999")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "Error: ERROR_CAMPAIGN_NOT_FOUND");
    assert_eq!(send(&sim, call("GET", "/v2/campaigns/abc")).await.status, 400);
}

#[tokio::test]
async fn only_triggered_campaigns_can_be_sent() {
    let mut config = SimConfig::demo();
    config.accounts[0].campaigns = CampaignStatus::ALL
        .iter()
        .enumerate()
        .map(|(n, status)| Campaign { id: 100 + n as u32, name: status.name().into(), status: *status })
        .collect();
    let sim = start(config).await;
    for (n, status) in CampaignStatus::ALL.iter().enumerate() {
        let id = 100 + n as u32;
        let reply = send(
            &sim,
            call("POST", "/v2/email/triggered-campaign")
                .json(json!({"toAddresses": ["a@example.com"], "campaignId": id})),
        )
        .await;
        if *status == CampaignStatus::Triggered {
            assert_eq!(reply.status, 200, "{status:?}: {}", reply.text());
        } else {
            assert_eq!(reply.status, 400, "{status:?}");
            let message = reply.json()["message"].as_str().unwrap_or_default().to_string();
            assert!(message.ends_with(". ERROR_CAMPAIGN_SENDNOTPERMITTED"), "{status:?}: {message}");
            assert!(message.contains(status.name()), "{message}");
        }
    }
    assert_eq!(sim.sends().len(), 1);

    let batch = send(
        &sim,
        call("POST", "/v2/email/triggered-campaign/batch").json(json!([
            {"toAddresses": ["a@example.com"], "campaignId": 100},
            {"toAddresses": ["a@example.com"], "campaignId": 108},
        ])),
    )
    .await;
    assert_eq!(batch.status, 200);
    assert_eq!(batch.json()[0]["failureCode"], "ERROR_CAMPAIGN_SENDNOTPERMITTED");
    assert_eq!(batch.json()[1], json!({"index": 1}));
    assert_eq!(sim.sends().len(), 2);
}

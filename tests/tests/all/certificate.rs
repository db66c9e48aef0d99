//! sync-certificate end to end: the certificate is kept as an insight record on the
//! recipient's contact, and its email goes out at most once whatever the retries.

use dotdigital_harness::Flow;
use e2e_tests::demo_certificate as certificate;
use e2e_tests::*;
use serde_json::{json, Value};

fn value<'a>(send: &'a dotdigital_sim::Send, name: &str) -> Option<&'a str> {
    send.personalization_values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn an_active_certificate_sends_exactly_one_email_with_its_values() {
    let world = World::new(demo_settings()).await;
    let line = world.sync(Flow::Certificate, &certificate("10573")).await;
    assert_eq!(ok(&line)["action"], "sent", "{line}");
    assert_eq!(ok(&line)["external_id"], "10573");
    let sends = world.sim.sends();
    assert_eq!(sends.len(), 1);
    let send = &sends[0];
    assert_eq!(send.campaign_id, 9001);
    assert_eq!(send.to_addresses, vec!["jane.doe@example.com".to_string()]);
    assert_eq!(value(send, "CERTIFICATE_NUMBER"), Some("10573"));
    assert_eq!(value(send, "CERTIFICATE_VALUE"), Some("10.00"));
    assert_eq!(value(send, "CURRENCY"), Some("GBP"));
    assert_eq!(value(send, "RECIPIENT_NAME"), Some("Jane Doe"));
    assert_eq!(value(send, "CERTIFICATE_URL"), Some("https://rewards.example.com/c/10573-9F2K"));
    let record = world.sim.insight_record(DEMO_ACCOUNT, "LoyaltyCertificates", "10573").expect("the record exists");
    assert_eq!(record["json"]["status"], "Active");
    assert!(record["json"]["announcedAt"].is_string(), "{record}");

    // Re-syncing sends nothing and leaves the record as it is.
    let again = world.sync(Flow::Certificate, &certificate("10573")).await;
    assert_eq!(ok(&again)["action"], "unchanged", "{again}");
    assert_eq!(world.sim.sends().len(), 1);
}

#[tokio::test]
async fn the_email_carries_ipaas_personalisation_names_and_a_calendar_expiry() {
    let world = World::new(demo_settings()).await;
    let mut card = certificate("10574");
    card["receiving_customer_email"] = json!("sam.gift@example.com");
    ok(&world.sync(Flow::Certificate, &card).await);
    let sends = world.sim.sends();
    assert_eq!(sends.len(), 1);
    let send = &sends[0];
    // The names iPaaS.com's own Dotdigital integration documents, beside the connector's.
    assert_eq!(value(send, "GiftCardValue"), Some("10.00"));
    assert_eq!(value(send, "GiftCardURL"), Some("https://rewards.example.com/c/10573-9F2K"));
    assert_eq!(value(send, "ReceivingCustomerEmail"), Some("sam.gift@example.com"));
    assert_eq!(value(send, "TriggeredCampaignId"), Some("9001"));
    // `2025-06-30T23:59:59` (no offset, read as UTC) is the day the card names, not a date-time.
    assert_eq!(value(send, "EXPIRY_DATE"), Some("2025-06-30"));

    // A card without an expiry or a URL sends neither (absent values are not sent).
    let mut plain = certificate("10575");
    plain["expiration_date"] = Value::Null;
    plain["custom_fields"].as_array_mut().unwrap().retain(|f| f["custom_field_name"] != "Certificate URL");
    ok(&world.sync(Flow::Certificate, &plain).await);
    let sends = world.sim.sends();
    assert_eq!(sends.len(), 2);
    for absent in ["EXPIRY_DATE", "GiftCardURL", "CERTIFICATE_URL"] {
        assert_eq!(value(&sends[1], absent), None, "{absent}: {:?}", sends[1].personalization_values);
    }
    assert_eq!(value(&sends[1], "ReceivingCustomerEmail"), Some("jane.doe@example.com"));
}

#[tokio::test]
async fn a_host_that_lost_its_data_still_does_not_send_twice() {
    let world = World::new(demo_settings()).await;
    ok(&world.sync(Flow::Certificate, &certificate("20001")).await);
    let elsewhere = World::with_sim(world.sim.clone(), demo_settings(), fresh_state_dir()).await;
    let line = elsewhere.sync(Flow::Certificate, &certificate("20001")).await;
    assert_ne!(ok(&line)["action"], "sent");
    assert_eq!(world.sim.sends().len(), 1, "the record's announcedAt is the proof");
}

#[tokio::test]
async fn a_failure_at_each_step_then_a_retry_yields_exactly_one_email() {
    // Each step of the flow in turn answers 503 once; the host retries the whole sync.
    let steps = [
        ("PATCH", "/contacts/v3/"),
        ("GET", "/insightData/v3/contacts/"),
        ("POST", "/v2/email/triggered-campaign"),
        ("PUT", "/insightData/v3/contacts/"),
        ("POST", "/insightData/v3/collections/"),
    ];
    for (i, (method, prefix)) in steps.iter().enumerate() {
        let world = World::new(demo_settings()).await;
        world.sim.inject(fault(method, prefix, Some(1), FaultAction::Status { status: 503, body: String::new() }));
        let line = world.sync(Flow::Certificate, &certificate(&format!("3000{i}"))).await;
        // A step after the send fails: the retry finds the email sent by the first attempt and
        // completes the record. `sent` is only ever the attempt that sent, so the line says
        // what was written, with the earlier send in its messages.
        if i < 3 {
            assert_eq!(ok(&line)["action"], "sent", "{method} {prefix}: {line}");
        } else {
            assert_ne!(ok(&line)["action"], "sent", "{method} {prefix}: {line}");
            assert!(ok(&line)["messages"].to_string().contains("already sent"), "{line}");
        }
        assert_eq!(world.sim.sends().len(), 1, "{method} {prefix}");
        // And a later re-sync changes nothing.
        let again = world.sync(Flow::Certificate, &certificate(&format!("3000{i}"))).await;
        assert_ne!(ok(&again)["action"], "sent");
        assert_eq!(world.sim.sends().len(), 1, "{method} {prefix}");
    }
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_is_never_repeated() {
    for action in [FaultAction::DropAfter, FaultAction::DelayAfter(std::time::Duration::from_secs(4))] {
        let world = World::new(demo_settings()).await;
        world.sim.inject(fault("POST", "/v2/email/triggered-campaign", Some(1), action.clone()));
        let line = world.sync(Flow::Certificate, &certificate("40001")).await;
        // The host retried after the transport failure; the retry did not send again.
        let outcome = ok(&line);
        assert!(outcome["messages"].to_string().contains("unconfirmed"), "{action:?}: {line}");
        assert_eq!(world.sim.sends().len(), 1, "{action:?}");
        ok(&world.sync(Flow::Certificate, &certificate("40001")).await);
        assert_eq!(world.sim.sends().len(), 1, "{action:?}");
    }
}

#[tokio::test]
async fn a_redeemed_certificate_updates_the_record_without_email() {
    let world = World::new(demo_settings()).await;
    let mut card = certificate("50001");
    card["status"] = json!("Redeemed");
    card["balance"] = json!(0);
    let line = world.sync(Flow::Certificate, &card).await;
    assert_eq!(ok(&line)["action"], "created");
    assert!(world.sim.sends().is_empty());
    // Active first (sent), then Redeemed: updated, still one email.
    ok(&world.sync(Flow::Certificate, &certificate("50002")).await);
    let mut redeemed = certificate("50002");
    redeemed["status"] = json!("Redeemed");
    let line = world.sync(Flow::Certificate, &redeemed).await;
    assert_eq!(ok(&line)["action"], "updated");
    assert_eq!(world.sim.sends().len(), 1);
    let record = world.sim.insight_record(DEMO_ACCOUNT, "LoyaltyCertificates", "50002").unwrap();
    assert_eq!(record["json"]["status"], "Redeemed");
    assert!(record["json"]["announcedAt"].is_string(), "the announcement is remembered");
}

#[tokio::test]
async fn bad_certificates_are_refused_with_the_field_named() {
    let mut settings = demo_settings();
    settings.as_object_mut().unwrap().remove("certificate_campaign_id");
    let world = World::new(settings).await;
    let mut http = certificate("1");
    http["custom_fields"][1]["value"] = json!("http://rewards.example.com/c/1");
    let mut no_recipient = certificate("2");
    no_recipient["receiving_customer_email"] = Value::Null;
    no_recipient["customer_email"] = Value::Null;
    let no_campaign = certificate("3");
    for (card, field) in [
        (http, "custom_fields.Certificate URL"),
        (no_recipient, "receiving_customer_email"),
        (no_campaign, "certificate_campaign_id"),
    ] {
        let line = world.sync(Flow::Certificate, &card).await;
        let fields = issue_fields(failed(&line, "invalid-record"));
        assert!(fields.iter().any(|f| f == field), "{field} missing from {fields:?}");
    }
    assert!(world.sim.requests().is_empty());
    assert!(world.sim.sends().is_empty());
}

#[tokio::test]
async fn an_unknown_campaign_is_rejected_with_dotdigitals_error() {
    let mut settings = demo_settings();
    settings["certificate_campaign_id"] = json!(424242);
    let world = World::new(settings).await;
    let line = world.sync(Flow::Certificate, &certificate("60001")).await;
    let error = failed(&line, "rejected");
    assert_eq!(error["code"], "ERROR_CAMPAIGN_NOT_FOUND", "{line}");
    assert!(world.sim.sends().is_empty());
    // The certificate itself is still recorded.
    assert!(world.sim.insight_record(DEMO_ACCOUNT, "LoyaltyCertificates", "60001").is_some());
}

#[tokio::test]
async fn the_same_certificate_twice_in_one_run_sends_one_email() {
    // Two events for one card back to back (created, then a manual resync), synced with two
    // connections: the second waits for the first instead of racing it.
    let mut settings = demo_settings();
    settings["concurrent_connections"] = json!(4);
    let world = World::new(settings).await;
    let card = certificate("70001").to_string();
    let input = format!("{card}\n{card}\n{card}\n");
    let mut out = Vec::new();
    let summary = world.platform.run(Flow::Certificate, Box::new(std::io::Cursor::new(input)), &mut out).await.unwrap();
    assert_eq!((summary.ok, summary.failed), (3, 0));
    assert_eq!(world.sim.sends().len(), 1);
    let actions: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["outcome"]["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("sent"), json!("unchanged"), json!("unchanged")]);
}

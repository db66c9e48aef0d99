//! "Right data in a real Dotdigital account", end to end: a customer keeps its contact when
//! its email changes, marketing consent is list membership (never a status), data fields get
//! values of their own type, the legacy endpoint is understood, `validate` lists every
//! misconfiguration at once, and a version pin is a semver requirement.

use dotdigital_harness::Flow;
use dotdigital_sim::{ContactConfig, SimConfig};
use e2e_tests::*;
use serde_json::{json, Value};

/// The iPaaS.com subscription whose `external_ids` rows hold this connector's contact ids.
const SUBSCRIPTION: i64 = 4412;
const WEB_SHOP: i64 = 123456;
const NEWSLETTER: i64 = 123457;

fn subscribed_settings() -> Value {
    let mut settings = demo_settings();
    settings["subscription_id"] = json!(SUBSCRIPTION);
    settings
}

fn consent_settings() -> Value {
    let mut settings = demo_settings();
    settings["list_ids"] = json!([WEB_SHOP]);
    settings["marketing_list_ids"] = json!([NEWSLETTER]);
    settings
}

fn body(request: &dotdigital_sim::RequestRecord) -> Value {
    serde_json::from_str(&request.body).unwrap_or_else(|e| panic!("{} {}: {e}", request.method, request.path))
}

// --- A changed email keeps its contact -------------------------------------------------------

#[tokio::test]
async fn a_customer_whose_email_changed_keeps_its_contact() {
    let world = World::new(subscribed_settings()).await;
    let first = world.sync(Flow::Contact, &customer("150437", "jane.doe@example.com")).await;
    assert_eq!(ok(&first)["action"], "created");
    let id = ok(&first)["external_id"].as_str().unwrap().to_string();

    // iPaaS.com stored the contactId; the customer then changed address.
    let moved = with_stored_contact_id(customer("150437", "jane.smith@example.com"), SUBSCRIPTION, &id);
    let second = world.sync(Flow::Contact, &moved).await;
    assert_eq!(ok(&second)["action"], "updated", "{second}");
    assert_eq!(ok(&second)["external_id"], id.as_str());
    assert_eq!(ok(&second)["api_calls"], 1, "{second}");
    let by_id = world.requests_to("PATCH", "/contacts/v3/contactId/");
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].path, format!("/contacts/v3/contactId/{id}?merge-option=overwrite"));
    assert_eq!(by_id[0].status, 200);
    assert_eq!(body(&by_id[0])["identifiers"]["email"], "jane.smith@example.com");
    assert_eq!(world.requests_to("PATCH", "/contacts/v3/email/").len(), 1, "only the first sync upserted by email");

    let contacts = world.sim.contacts(DEMO_ACCOUNT);
    assert_eq!(contacts.len(), 1, "one contact, not a second one: {contacts:?}");
    assert_eq!(contacts[0]["contactId"].to_string(), id);
    assert_eq!(contacts[0]["identifiers"]["email"], "jane.smith@example.com");
    assert!(world.sim.contact(DEMO_ACCOUNT, "jane.doe@example.com").is_none());
}

#[tokio::test]
async fn without_a_subscription_id_the_stored_id_is_not_used() {
    // The host picks the row by `subscription_id`; without it the email decides, as before.
    let world = World::new(demo_settings()).await;
    let first = world.sync(Flow::Contact, &customer("150437", "jane.doe@example.com")).await;
    let id = ok(&first)["external_id"].as_str().unwrap().to_string();
    let moved = with_stored_contact_id(customer("150437", "jane.smith@example.com"), SUBSCRIPTION, &id);
    assert_eq!(ok(&world.sync(Flow::Contact, &moved).await)["action"], "created");
    assert!(world.requests_to("PATCH", "/contacts/v3/contactId/").is_empty());
    assert_eq!(world.sim.contacts(DEMO_ACCOUNT).len(), 2);
}

#[tokio::test]
async fn a_stored_id_whose_contact_is_gone_becomes_the_contact_dotdigital_makes() {
    // importContact: "If no contact is found with the provided identifier, the contact is
    // created using the identifiers supplied" — the PATCH by id itself makes the new contact.
    let world = World::new(subscribed_settings()).await;
    let gone = "39999999";
    assert!(world.sim.contacts(DEMO_ACCOUNT).is_empty());
    let record = with_stored_contact_id(customer("150437", "jane.doe@example.com"), SUBSCRIPTION, gone);
    let line = world.sync(Flow::Contact, &record).await;
    let outcome = ok(&line);
    assert_eq!(outcome["action"], "created", "{line}");
    let new_id = outcome["external_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, gone);
    let messages = outcome["messages"].to_string();
    assert!(messages.contains(gone) && messages.contains(&new_id), "the outcome names both: {line}");

    let patches: Vec<_> =
        world.requests_to("PATCH", "/contacts/v3/").iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(patches, vec![(format!("/contacts/v3/contactId/{gone}?merge-option=overwrite"), 201)]);
    let contact = world.sim.contact(DEMO_ACCOUNT, "jane.doe@example.com").expect("made from the PATCH");
    assert_eq!(contact["contactId"].to_string(), new_id);
    assert_eq!(world.sim.contacts(DEMO_ACCOUNT).len(), 1);
}

#[tokio::test]
async fn a_stored_id_that_is_gone_while_another_contact_owns_the_email_moves_to_that_contact() {
    let world = World::new(subscribed_settings()).await;
    // The customer re-registered through a Dotdigital form: a contact of its own.
    let (status, owner) =
        demo_patch(&world.sim, "jane.doe@example.com", json!({"identifiers": {"email": "jane.doe@example.com"}})).await;
    assert_eq!(status, 201, "{owner}");
    let owner = owner["contactId"].to_string();
    let before = world.sim.requests().len();
    let gone = "39999999";
    let mut record = with_stored_contact_id(customer("150437", "jane.doe@example.com"), SUBSCRIPTION, gone);
    record["addresses"] = json!([]);
    let line = world.sync(Flow::Contact, &record).await;
    let outcome = ok(&line);
    assert_eq!(outcome["action"], "updated", "{line}");
    assert_eq!(outcome["external_id"], owner.as_str(), "the email's contact is the external id: {line}");
    let messages = outcome["messages"].to_string();
    assert!(messages.contains(gone) && messages.contains(&owner), "the outcome names both: {line}");
    let calls: Vec<_> = world.sim.requests()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/contacts/v3/"))
        .map(|r| (r.method.clone(), r.path.split('?').next().unwrap().to_string(), r.status))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("PATCH".to_string(), format!("/contacts/v3/contactId/{gone}"), 409),
            ("GET".to_string(), format!("/contacts/v3/contactId/{gone}"), 404),
            ("PATCH".to_string(), "/contacts/v3/email/jane.doe%40example.com".to_string(), 200),
        ]
    );
    assert_eq!(world.sim.contacts(DEMO_ACCOUNT).len(), 1, "no second contact");
}

#[tokio::test]
async fn a_new_email_owned_by_another_contact_is_rejected_naming_both() {
    let world = World::new(subscribed_settings()).await;
    let jane = ok(&world.sync(Flow::Contact, &customer("1", "jane.doe@example.com")).await)["external_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bob = customer("2", "bob@example.com");
    bob["addresses"] = json!([]);
    let bob = ok(&world.sync(Flow::Contact, &bob).await)["external_id"].as_str().unwrap().to_string();

    // Jane's customer now carries Bob's address.
    let mut clash = with_stored_contact_id(customer("1", "bob@example.com"), SUBSCRIPTION, &jane);
    clash["addresses"] = json!([]);
    let line = world.sync(Flow::Contact, &clash).await;
    let error = failed(&line, "rejected");
    assert_eq!(error["status"], 409, "{line}");
    assert_eq!(line["attempts"], 1, "not retried");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&jane), "names the stored contact {jane}: {message}");
    assert!(message.contains(&bob), "names the contact owning the email, {bob}: {message}");

    // Neither contact changed.
    assert_eq!(world.sim.contact(DEMO_ACCOUNT, "jane.doe@example.com").unwrap()["contactId"].to_string(), jane);
    assert_eq!(world.sim.contact(DEMO_ACCOUNT, "bob@example.com").unwrap()["contactId"].to_string(), bob);
    assert_eq!(world.sim.contacts(DEMO_ACCOUNT).len(), 2);
}

// --- Consent is list membership --------------------------------------------------------------

/// The demo account's contact answers without `lists` (the default: contacts-v3.json makes
/// them optional) and with them (the lenient reading): the connector must withdraw consent
/// under both.
fn both_list_readings() -> [ContactConfig; 2] {
    [false, true].map(|include| ContactConfig { contact_answers_include_lists: include, ..ContactConfig::default() })
}

#[tokio::test]
async fn consent_has_three_states_and_withdrawal_works_whatever_the_answer_carries() {
    for reading in both_list_readings() {
        let world = World::new(consent_settings()).await;
        world.sim.set_contact_config(reading.clone());
        let lists_of = |email: &str| {
            let mut ids = list_ids(&world.sim.contact(DEMO_ACCOUNT, email).unwrap());
            ids.sort_unstable();
            ids
        };

        // Ana signed up for the newsletter through a Dotdigital form, unknown to iPaaS.com.
        let (status, answer) = demo_patch(
            &world.sim,
            "ana@example.com",
            json!({"identifiers": {"email": "ana@example.com"}, "lists": [NEWSLETTER]}),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        // Her customer record has no consent value: she stays on it.
        let mut ana = customer("1", "ana@example.com");
        ana["addresses"] = json!([]);
        let line = world.sync(Flow::Contact, &ana).await;
        let outcome = ok(&line);
        assert_eq!(outcome["api_calls"], 3, "account-info, data-fields, PATCH: {line}");
        assert!(outcome["messages"].to_string().contains("consent unknown"), "{line}");
        assert_eq!(lists_of("ana@example.com"), vec![WEB_SHOP, NEWSLETTER], "{reading:?}");
        // A blank value is no answer either.
        set_custom_field(&mut ana, "Email Marketing Consent", " ");
        ok(&world.sync(Flow::Contact, &ana).await);
        assert_eq!(lists_of("ana@example.com"), vec![WEB_SHOP, NEWSLETTER], "{reading:?}");
        assert!(world.requests_to("DELETE", "/v2/address-books/").is_empty(), "nobody left a list yet");

        // Bo says yes: both lists.
        let mut bo = customer("2", "bo@example.com");
        bo["addresses"] = json!([]);
        set_custom_field(&mut bo, "Email Marketing Consent", "yes");
        let line = world.sync(Flow::Contact, &bo).await;
        let bo_id = ok(&line)["external_id"].as_str().unwrap().to_string();
        let sent = body(world.requests_to("PATCH", "/contacts/v3/email/bo%40").last().unwrap());
        assert_eq!(sent["lists"], json!([WEB_SHOP, NEWSLETTER]));
        assert_eq!(lists_of("bo@example.com"), vec![WEB_SHOP, NEWSLETTER]);

        // Bo withdraws: out of the marketing list, still on the other one, whether or not the
        // PATCH answer said which lists he was on.
        set_custom_field(&mut bo, "Email Marketing Consent", "N");
        let line = world.sync(Flow::Contact, &bo).await;
        let outcome = ok(&line);
        assert_eq!(outcome["api_calls"], 2, "PATCH, DELETE: {line}");
        assert!(
            outcome["messages"].to_string().contains(&format!("removed from marketing list {NEWSLETTER}")),
            "{line}"
        );
        let sent = body(world.requests_to("PATCH", "/contacts/v3/email/bo%40").last().unwrap());
        assert_eq!(sent["lists"], json!([WEB_SHOP]));
        let deletes: Vec<_> =
            world.requests_to("DELETE", "/v2/address-books/").iter().map(|r| (r.path.clone(), r.status)).collect();
        assert_eq!(deletes, vec![(format!("/v2/address-books/{NEWSLETTER}/contacts/{bo_id}"), 204)]);
        assert_eq!(lists_of("bo@example.com"), vec![WEB_SHOP]);

        // Withdrawn again: nothing left to remove. An answer with lists says so (no call); one
        // without costs the DELETE, which finds him not on the list.
        let line = world.sync(Flow::Contact, &bo).await;
        let expected = if reading.contact_answers_include_lists { 1 } else { 2 };
        assert_eq!(ok(&line)["api_calls"], expected, "{reading:?}: {line}");
        assert!(!ok(&line)["messages"].to_string().contains("removed from"), "{line}");
        assert_eq!(lists_of("bo@example.com"), vec![WEB_SHOP]);

        // Dotdigital made both contacts subscribed; no request ever sent a status.
        for email in ["ana@example.com", "bo@example.com"] {
            let contact = world.sim.contact(DEMO_ACCOUNT, email).unwrap();
            assert_eq!(contact["channelProperties"]["email"]["status"], "subscribed", "{contact}");
        }
        for patch in world.requests_to("PATCH", "/contacts/v3/").into_iter().filter(|r| r.path.contains("merge-option"))
        {
            assert!(body(&patch).pointer("/channelProperties/email/status").is_none(), "{}", patch.body);
        }
    }
}

#[tokio::test]
async fn a_withdrawal_for_an_unsubscribed_email_is_a_message_not_a_failure() {
    use dotdigital_sim::UnprocessedListRemoval;
    for reading in [UnprocessedListRemoval::Error, UnprocessedListRemoval::Ignored] {
        withdrawal_for_an_unsubscribed_email(ContactConfig {
            unsubscribed_list_removal: reading,
            ..ContactConfig::default()
        })
        .await;
    }
}

async fn withdrawal_for_an_unsubscribed_email(reading: ContactConfig) {
    let world = World::new(consent_settings()).await;
    world.sim.set_contact_config(reading);
    let mut bo = customer("2", "bo@example.com");
    bo["addresses"] = json!([]);
    set_custom_field(&mut bo, "Email Marketing Consent", "yes");
    ok(&world.sync(Flow::Contact, &bo).await);
    // Bo unsubscribes through an email's link.
    let (status, answer) =
        demo_patch(&world.sim, "bo@example.com", json!({"channelProperties": {"email": {"status": "unsubscribed"}}}))
            .await;
    assert_eq!(status, 200, "{answer}");
    set_custom_field(&mut bo, "Email Marketing Consent", "no");
    let line = world.sync(Flow::Contact, &bo).await;
    // Asked anyway (the record said no); refused (400) or silently not processed (204), the
    // outcome says so and the sync succeeds.
    let outcome = ok(&line);
    let messages = outcome["messages"].to_string();
    assert!(messages.contains("unsubscribed"), "{line}");
    assert_eq!(world.requests_to("DELETE", "/v2/address-books/").len(), 1);
    let contact = world.sim.contact(DEMO_ACCOUNT, "bo@example.com").unwrap();
    assert_eq!(contact["channelProperties"]["email"]["status"], "unsubscribed", "never resubscribed: {contact}");
}

/// The contact's opt-in type in the simulator's view, lower-cased.
fn opt_in_of(world: &World, email: &str) -> String {
    let contact = world.sim.contact(DEMO_ACCOUNT, email).unwrap();
    contact["channelProperties"]["email"]["optInType"].as_str().unwrap_or_default().to_ascii_lowercase()
}

#[tokio::test]
async fn a_confirmed_double_opt_in_is_not_downgraded_by_the_default() {
    let world = World::new(subscribed_settings()).await;
    // The customer's record says Double: written, whoever the contact is.
    let mut jane = customer("150437", "jane.doe@example.com");
    jane["addresses"] = json!([]);
    set_custom_field(&mut jane, "Email Opt In Type", "Double");
    let id = ok(&world.sync(Flow::Contact, &jane).await)["external_id"].as_str().unwrap().to_string();
    assert_eq!(opt_in_of(&world, "jane.doe@example.com"), "double");
    // Later records do not carry the field; the contactId is stored: the PATCH by id leaves the
    // opt-in type alone (the subscription's default is `single`).
    let mut later = with_stored_contact_id(customer("150437", "jane.doe@example.com"), SUBSCRIPTION, &id);
    later["addresses"] = json!([]);
    let line = world.sync(Flow::Contact, &later).await;
    assert_eq!(ok(&line)["api_calls"], 1, "{line}");
    let patch = world.requests_to("PATCH", "/contacts/v3/contactId/").pop().unwrap();
    assert!(body(&patch).pointer("/channelProperties/email/optInType").is_none(), "{}", patch.body);
    assert_eq!(opt_in_of(&world, "jane.doe@example.com"), "double");
}

#[tokio::test]
async fn verified_double_never_re_challenges_an_existing_subscriber() {
    use dotdigital_sim::VerifiedDoubleReading;
    for reading in [VerifiedDoubleReading::EveryRequest, VerifiedDoubleReading::NewOrStatusSent] {
        let mut settings = subscribed_settings();
        settings["opt_in_type"] = json!("verifiedDouble");
        let world = World::new(settings).await;
        world.sim.set_contact_config(ContactConfig { verified_double: reading, ..ContactConfig::default() });

        // A new customer: created with verifiedDouble, one confirmation email.
        let mut new = customer("1", "new@example.com");
        new["addresses"] = json!([]);
        let line = world.sync(Flow::Contact, &new).await;
        assert_eq!(ok(&line)["action"], "created", "{line}");
        let posts = world.requests_to("POST", "/contacts/v3");
        assert_eq!(posts.len(), 1);
        assert_eq!(body(&posts[0])["channelProperties"]["email"]["optInType"], "verifiedDouble");
        let contact = world.sim.contact(DEMO_ACCOUNT, "new@example.com").unwrap();
        assert_eq!(contact["channelProperties"]["email"]["status"], "pendingOptIn", "{contact}");
        assert_eq!(world.sim.confirmation_emails(DEMO_ACCOUNT).len(), 1);

        // A subscriber who signed up through a form, unknown to iPaaS.com: the create says
        // the contact exists, and the PATCH by email leaves the opt-in type alone.
        let (status, _) =
            demo_patch(&world.sim, "fan@example.com", json!({"identifiers": {"email": "fan@example.com"}})).await;
        assert_eq!(status, 201);
        let mut fan = customer("2", "fan@example.com");
        fan["addresses"] = json!([]);
        let line = world.sync(Flow::Contact, &fan).await;
        let outcome = ok(&line);
        assert_eq!((outcome["action"].as_str(), outcome["api_calls"].as_u64()), (Some("updated"), Some(2)), "{line}");
        assert!(outcome["messages"].to_string().contains("verifiedDouble not written"), "{line}");
        let fan_id = outcome["external_id"].as_str().unwrap().to_string();
        // Next time by its stored id: one PATCH, without the opt-in type.
        let mut stored = with_stored_contact_id(customer("2", "fan@example.com"), SUBSCRIPTION, &fan_id);
        stored["addresses"] = json!([]);
        assert_eq!(ok(&world.sync(Flow::Contact, &stored).await)["api_calls"], 1);
        for patch in world.requests_to("PATCH", "/contacts/v3/") {
            assert!(body(&patch).pointer("/channelProperties/email/optInType").is_none(), "{}", patch.body);
        }
        let contact = world.sim.contact(DEMO_ACCOUNT, "fan@example.com").unwrap();
        assert_eq!(contact["channelProperties"]["email"]["status"], "subscribed", "{reading:?}: {contact}");
        assert_eq!(world.sim.confirmation_emails(DEMO_ACCOUNT).len(), 1, "{reading:?}: only the new contact's");
    }
}

#[tokio::test]
async fn a_consent_value_that_is_not_yes_or_no_refuses_the_record() {
    let world = World::new(consent_settings()).await;
    let mut record = customer("1", "ana@example.com");
    set_custom_field(&mut record, "Email Marketing Consent", "maybe");
    let line = world.sync(Flow::Contact, &record).await;
    assert_eq!(issue_fields(failed(&line, "invalid-record")), vec!["custom_fields.Email Marketing Consent"]);
    assert!(world.requests_to("PATCH", "/contacts/v3/").is_empty());
}

#[tokio::test]
async fn contacts_made_for_orders_and_certificates_join_no_list() {
    let world = World::new(consent_settings()).await;
    let line = world.sync(Flow::Order, &demo_order("SO-1", "new.buyer@example.com")).await;
    assert_eq!(ok(&line)["action"], "created", "{line}");
    let mut card = demo_certificate("10573");
    card["receiving_customer_email"] = json!("gift.receiver@example.com");
    let line = world.sync(Flow::Certificate, &card).await;
    assert_eq!(ok(&line)["action"], "sent", "{line}");

    for email in ["new.buyer@example.com", "gift.receiver@example.com"] {
        let contact = world.sim.contact(DEMO_ACCOUNT, email).unwrap_or_else(|| panic!("{email} was made"));
        assert_eq!(list_ids(&contact), Vec::<i64>::new(), "{contact}");
        assert_eq!(contact["status"], "subscribed", "as Dotdigital makes every new contact: {contact}");
    }
    let patches = world.requests_to("PATCH", "/contacts/v3/");
    assert!(patches.len() >= 2);
    for patch in patches {
        let sent = body(&patch);
        assert!(sent.get("lists").is_none(), "{}", patch.body);
        assert!(sent.pointer("/channelProperties/email/status").is_none(), "{}", patch.body);
    }
    assert!(world.requests_to("DELETE", "/v2/address-books/").is_empty());
}

// --- Typed data fields -----------------------------------------------------------------------

fn typed_settings() -> Value {
    let mut settings = demo_settings();
    settings["data_field_map"] = json!([
        {"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"},
        {"custom_field": "Points", "data_field": "POINTS"},
        {"custom_field": "Birthday", "data_field": "BIRTHDAY"},
        {"custom_field": "VIP", "data_field": "VIP"}
    ]);
    settings
}

#[tokio::test]
async fn numeric_date_and_boolean_fields_get_typed_values() {
    let world = World::new(typed_settings()).await;
    let mut record = customer("1", "ana@example.com");
    set_custom_field(&mut record, "points", "1250");
    set_custom_field(&mut record, "Birthday", "1990-04-12");
    set_custom_field(&mut record, "VIP", "Yes");
    ok(&world.sync(Flow::Contact, &record).await);

    let sent = body(world.requests_to("PATCH", "/contacts/v3/").last().unwrap());
    assert_eq!(sent["dataFields"]["POINTS"].as_f64(), Some(1250.0), "{sent}");
    assert_eq!(sent["dataFields"]["VIP"], json!(true), "{sent}");
    let stored = &world.sim.contact(DEMO_ACCOUNT, "ana@example.com").unwrap()["dataFields"];
    assert!(stored["POINTS"].is_number(), "a JSON number: {stored}");
    assert_eq!(stored["POINTS"].as_f64(), Some(1250.0));
    assert_eq!(stored["BIRTHDAY"], "1990-04-12T00:00:00Z", "{stored}");
    assert_eq!(stored["VIP"], json!(true), "a JSON bool: {stored}");
    assert_eq!(stored["LOYALTY_TIER"], "Gold");

    // A later sync with other spellings of the same types.
    set_custom_field(&mut record, "Points", "-3.5");
    set_custom_field(&mut record, "VIP", "0");
    ok(&world.sync(Flow::Contact, &record).await);
    let stored = &world.sim.contact(DEMO_ACCOUNT, "ana@example.com").unwrap()["dataFields"];
    assert_eq!(stored["POINTS"].as_f64(), Some(-3.5), "{stored}");
    assert_eq!(stored["VIP"], json!(false), "{stored}");
}

#[tokio::test]
async fn a_value_that_does_not_fit_its_field_is_an_invalid_record_and_nothing_is_patched() {
    let world = World::new(typed_settings()).await;
    let mut record = customer("1", "ana@example.com");
    set_custom_field(&mut record, "Points", "lots");
    set_custom_field(&mut record, "VIP", "true");
    let line = world.sync(Flow::Contact, &record).await;
    let error = failed(&line, "invalid-record");
    assert_eq!(issue_fields(error), vec!["custom_fields.Points"], "{line}");
    assert!(error["issues"][0]["problem"].as_str().unwrap().contains("POINTS"), "names the data field: {line}");
    assert!(world.requests_to("PATCH", "/contacts/v3/").is_empty(), "no PATCH was sent");
    assert!(world.sim.contacts(DEMO_ACCOUNT).is_empty());
}

// --- The legacy endpoint ---------------------------------------------------------------------

#[tokio::test]
async fn discovery_understands_the_legacy_dotmailer_endpoint() {
    let mut config = SimConfig::demo();
    config.accounts.iter_mut().find(|a| a.id == R2_ACCOUNT).unwrap().legacy_endpoint = true;
    let world = World::with_config(config, r2_settings()).await;
    // What this account's account-info answers, seen from outside the component.
    let (status, info) = raw_get(
        &world.sim,
        "r1-api.dotdigital.com",
        "/v2/account-info",
        "demo-r2@apiconnector.com",
        "demo-r2-password",
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert!(info.contains("https://r2-api.dotmailer.com/"), "the account answers with the legacy host: {info}");

    let line = world.sync(Flow::Contact, &customer("1", "ana@example.com")).await;
    assert_eq!(ok(&line)["action"], "created", "{line}");
    let patch = world.requests_to("PATCH", "/contacts/v3/").pop().unwrap();
    assert_eq!(patch.host, "r2-api.dotdigital.com", "the legacy host names the same region");
    assert!(world.sim.contact(R2_ACCOUNT, "ana@example.com").is_some());
    assert!(world.state_text().contains("https://r2-api.dotdigital.com"), "cached in its current form");

    let validated = world.platform.validate().await;
    assert_eq!(validated["ok"], true, "{validated}");
    assert_eq!(validated["account"]["api_endpoint"], "https://r2-api.dotdigital.com");
}

// --- validate lists every problem --------------------------------------------------------------

#[tokio::test]
async fn validate_lists_every_misconfiguration_at_once() {
    let mut settings = demo_settings();
    settings["certificate_campaign_id"] = json!(9003);
    settings["list_ids"] = json!([WEB_SHOP, 555]);
    settings["marketing_list_ids"] = json!([NEWSLETTER, 556]);
    settings["data_field_map"] = json!([
        {"custom_field": "Loyalty Tier", "data_field": "LOYALTY_TIER"},
        {"custom_field": "Shoe Size", "data_field": "SHOE_SIZE"}
    ]);
    let world = World::new(settings.clone()).await;
    let line = world.platform.validate().await;
    assert_eq!(line["ok"], false, "{line}");
    assert_eq!(line["account"]["id"], DEMO_ACCOUNT);
    let mut fields = problem_fields(&line);
    fields.sort();
    assert_eq!(
        fields,
        vec!["certificate_campaign_id", "data_field_map[1].data_field", "list_ids[1]", "marketing_list_ids[1]"],
        "{line}"
    );
    let problem = |field: &str| {
        line["account"]["problems"].as_array().unwrap().iter().find(|p| p["field"] == field).unwrap()["problem"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(problem("certificate_campaign_id").contains("Unsent"), "{line}");
    assert!(problem("list_ids[1]").contains("555"), "{line}");
    assert!(problem("marketing_list_ids[1]").contains("556"), "{line}");
    assert!(problem("data_field_map[1].data_field").contains("SHOE_SIZE"), "{line}");
    // Each list was looked up: the problems came from the account, not from the settings alone.
    for id in [WEB_SHOP, 555, NEWSLETTER, 556] {
        assert_eq!(world.requests_to("GET", &format!("/v2/address-books/{id}")).len(), 1, "list {id}");
    }

    // A campaign that does not exist is a problem too; fixed settings are ready.
    settings["certificate_campaign_id"] = json!(424242);
    let world = World::new(settings).await;
    let line = world.platform.validate().await;
    assert_eq!(line["ok"], false);
    assert!(problem_fields(&line).contains(&"certificate_campaign_id".to_string()), "{line}");
    assert!(line.to_string().contains("424242"), "{line}");

    let ready = World::new(consent_settings()).await;
    let line = ready.platform.validate().await;
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["account"]["problems"], json!([]));
}

// --- Version pins ----------------------------------------------------------------------------

#[tokio::test]
async fn a_version_pin_is_a_semver_requirement() {
    let version = plugin().await.identity().version.clone().expect("the embedded connector carries its version");
    let n: Vec<u64> = version.split('.').map(|n| n.parse().unwrap()).collect();
    let (major, minor) = (n[0], n[1]);
    let sim = dotdigital_sim::Simulator::start(SimConfig::demo(), 0).await.unwrap();

    for accepted in [format!("v{major}.{minor}"), format!("{major}.{minor}"), format!("^{major}.{minor}.0")] {
        let mut settings = demo_settings();
        settings["version"] = json!(accepted);
        let platform = try_platform(&sim, &settings).await.unwrap_or_else(|e| panic!("{accepted}: {e}"));
        ok(&platform.sync(Flow::Contact, 1, &customer("1", "ana@example.com")).await);
    }
    for refused in [format!("{}.0", major + 1), format!("v{major}.{}", minor + 1), format!("={major}.{minor}.99")] {
        let mut settings = demo_settings();
        settings["version"] = json!(refused);
        let error = try_platform(&sim, &settings).await.err().unwrap_or_else(|| panic!("{refused} was accepted"));
        let text = error.to_string();
        assert!(text.contains(&format!("pinned to plugin version {refused}")), "{text}");
        assert!(text.contains(&version), "names the plugin's version: {text}");
    }
}

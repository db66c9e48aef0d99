//! Gift card → loyalty certificate: an insight record on the recipient's contact, and one
//! triggered-campaign email the first time the certificate is Active.
//!
//! At most one email, whatever the retries and however many runs at once: before sending,
//! the connector claims a `pending` marker in host data (`claim-data`: set only if absent, so
//! of two runs exactly one may send); an answer replaces it (`sent`, or cleared when the
//! answer proves nothing went out), while any other outcome leaves it `pending`, and a
//! pending certificate is never sent again automatically (the outcome says so). Markers are
//! keyed by API user, certificate collection and number. The record's `announcedAt` mirrors
//! the marker in Dotdigital, so a host that lost its data still does not send twice.

use super::contact_record::{create_contact, put_contact_record};
use super::{outcome, validated_settings};
use crate::dotdigital::insight::{self, RecordTarget, Stored};
use crate::dotdigital::{campaigns, Session};
use crate::mapping::certificate::{certificate, certificate_record, triggered_send, Certificate};
use crate::mapping::contact::contact_for_certificate;
use crate::platform::{LogLevel, Platform};
use crate::settings::Settings;
use crate::wit::{GiftCard, Settings as RawSettings, SyncAction, SyncError, SyncOutcome};

/// Host data forgets a sent marker after about 13 months; the record's `announcedAt` stays.
const SENT_MARKER_TTL_SECONDS: u32 = 400 * 24 * 3600;

/// What host data says about a certificate's email.
#[derive(Debug, PartialEq)]
enum Marker {
    None,
    /// A send was attempted at this time and got no answer.
    Pending(String),
    /// The email went out at this time.
    Sent(String),
}

/// The marker's key: one certificate number in one collection of one account (API user),
/// as a JSON array so no user, collection or number can spell another's key.
fn marker_key(settings: &Settings, number: &str) -> String {
    let scope =
        serde_json::json!([settings.api_user.trim().to_ascii_lowercase(), settings.certificate_collection, number]);
    format!("certificate-email:{scope}")
}

/// Connectors before 0.3 keyed the marker by the number alone; such a marker is still obeyed
/// (read, never written), so an upgrade does not forget a pending send.
fn legacy_marker_key(number: &str) -> String {
    format!("certificate-email:{number}")
}

fn read_marker(platform: &dyn Platform, settings: &Settings, number: &str) -> Marker {
    let parse = |v: String| {
        if let Some(at) = v.strip_prefix("sent:") {
            Marker::Sent(at.to_string())
        } else if let Some(at) = v.strip_prefix("pending:") {
            Marker::Pending(at.to_string())
        } else {
            Marker::None
        }
    };
    match platform.get_data(&marker_key(settings, number)).map(parse) {
        Some(Marker::None) | None => platform.get_data(&legacy_marker_key(number)).map(parse).unwrap_or(Marker::None),
        Some(marker) => marker,
    }
}

/// What the outcome says of a send that was started (here or by another run) and has no
/// recorded answer.
fn unconfirmed(at: &str) -> String {
    format!(
        "certificate email unconfirmed: a send was started at {at} and no answer is recorded, so it is not \
         repeated (at most one email); check the campaign's send report"
    )
}

pub fn sync_certificate(platform: &dyn Platform, raw: &RawSettings, card: &GiftCard) -> Result<SyncOutcome, SyncError> {
    let settings = validated_settings(raw)?;
    let cert = certificate(&settings, card).map_err(SyncError::InvalidRecord)?;
    let mut session = Session::open(platform, &settings)?;
    let mut messages = Vec::new();
    // The contact the certificate's recipient gets when Dotdigital lacks it.
    let make_contact = |names| contact_for_certificate(&cert, names);

    // The record first: an unchanged certificate costs this one call. The contact is only
    // written when Dotdigital says it is missing, before any email goes to its address.
    let target = RecordTarget {
        email: &cert.email,
        collection: &settings.certificate_collection,
        collection_type: "custom",
        key: &cert.number,
    };
    let existing = match insight::get_record(&mut session, &target)? {
        Stored::Record(json) => Some(json),
        Stored::Absent => None,
        Stored::NoContact => {
            create_contact(&mut session, &cert.email, &mut messages, make_contact)?;
            None
        }
    };
    let recorded_at =
        existing.as_ref().and_then(|json| json.get("announcedAt")).and_then(|v| v.as_str()).map(str::to_string);
    let marker = read_marker(platform, &settings, &cert.number);
    let mut announced_at = match (&recorded_at, &marker) {
        (Some(at), _) => Some(at.clone()),
        (None, Marker::Sent(at)) => Some(at.clone()),
        _ => None,
    };

    // A send on an earlier attempt (or by another run) that the record does not show yet:
    // this attempt completes the record, but `sent` is only ever this call's own send, so a
    // platform counting sends counts each email once.
    let mut sent = false;
    if recorded_at.is_none() && matches!(marker, Marker::Sent(_)) {
        messages.push(format!(
            "certificate email already sent at {} (by an earlier attempt or another run): not sent again",
            announced_at.as_deref().unwrap_or_default()
        ));
    }
    if cert.wants_announcement() && announced_at.is_none() {
        match announce(&mut session, &settings, &cert, &marker, &mut messages) {
            Ok((at, by_this_call)) => (announced_at, sent) = (at, by_this_call),
            Err(error) => {
                // Keep the certificate visible even when its email was refused.
                let record = certificate_record(&cert, None);
                if existing.as_ref() != Some(&record) {
                    let _ = put_contact_record(&mut session, &target, &record, &mut messages, Some(&make_contact));
                }
                return Err(error);
            }
        }
    }

    let record = certificate_record(&cert, announced_at.as_deref());
    let action = if existing.as_ref() == Some(&record) {
        SyncAction::Unchanged
    } else {
        let created = put_contact_record(&mut session, &target, &record, &mut messages, Some(&make_contact))?;
        if created {
            SyncAction::Created
        } else {
            SyncAction::Updated
        }
    };
    let action = if sent { SyncAction::Sent } else { action };
    Ok(outcome(cert.number.clone(), action, session.calls(), messages))
}

/// The email of a certificate that has none recorded: sent unless a send is pending (here or
/// in another run). Returns when the email went out, if known, and whether this call sent it.
fn announce(
    session: &mut Session,
    settings: &Settings,
    cert: &Certificate,
    marker: &Marker,
    messages: &mut Vec<String>,
) -> Result<(Option<String>, bool), SyncError> {
    if let Marker::Pending(at) = marker {
        messages.push(unconfirmed(at));
        return Ok((None, false));
    }
    Ok(match send_email(session, settings, cert)? {
        Announcement::Sent(at) => (Some(at), true),
        // Another run claimed the marker between our read and our claim.
        Announcement::HeldElsewhere(Marker::Sent(at)) => {
            messages.push(format!("certificate email sent by another run at {at}"));
            (Some(at), false)
        }
        Announcement::HeldElsewhere(Marker::Pending(at)) => {
            messages.push(unconfirmed(&at));
            (None, false)
        }
        Announcement::HeldElsewhere(Marker::None) => {
            messages.push(unconfirmed("an unknown time"));
            (None, false)
        }
    })
}

/// What `send_email` did when it did not fail.
enum Announcement {
    /// This call sent the email, at this time.
    Sent(String),
    /// Another run holds the marker (read again after the claim): nothing was sent here.
    HeldElsewhere(Marker),
}

/// Sends the email once: claims the pending marker first (and does not send when the
/// platform cannot store it, or another run holds it); an answer that proves nothing went out
/// clears the marker so a retry may send, anything else leaves it pending, never to be
/// repeated.
fn send_email(session: &mut Session, settings: &Settings, cert: &Certificate) -> Result<Announcement, SyncError> {
    let platform = session.platform();
    let campaign_id = cert.campaign_id.ok_or_else(|| {
        SyncError::InvalidRecord(vec![crate::wit::FieldIssue {
            field: "certificate_campaign_id".into(),
            problem: "an Active certificate needs a triggered campaign id".into(),
        }])
    })?;
    let key = marker_key(settings, &cert.number);
    let now = iso_utc(session.now_unix());
    let claimed = platform.claim_data(&key, &format!("pending:{now}"), None).map_err(|why| {
        SyncError::Transport(format!("the platform could not record the send beforehand ({why}); nothing was sent"))
    })?;
    if !claimed {
        return Ok(Announcement::HeldElsewhere(read_marker(platform, settings, &cert.number)));
    }
    match campaigns::send_triggered(session, &triggered_send(cert, campaign_id)) {
        Ok(()) => {
            if let Err(why) = platform.set_data(&key, &format!("sent:{now}"), Some(SENT_MARKER_TTL_SECONDS)) {
                // The record's announcedAt, written next, still proves the send.
                platform.log(
                    LogLevel::Warn,
                    &format!("certificate {} sent, but the marker was not stored: {why}", cert.number),
                );
            }
            platform.log(LogLevel::Info, &format!("certificate {} announced to campaign {campaign_id}", cert.number));
            Ok(Announcement::Sent(now))
        }
        Err(error) if nothing_was_sent(&error) => {
            if let Err(why) = platform.set_data(&key, "", None) {
                platform
                    .log(LogLevel::Warn, &format!("certificate {}: pending marker not cleared: {why}", cert.number));
            }
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// Whether an error proves Dotdigital did not send: it refused the request (4xx, including
/// 429 and auth), or said it could not serve it at all (503, "temporarily unavailable").
/// No answer, a 500/502/504 or a garbled body prove nothing: the send may have happened.
fn nothing_was_sent(error: &SyncError) -> bool {
    match error {
        SyncError::Transport(_) => false,
        SyncError::Unavailable(remote) => {
            remote.status == 503 || remote.code.as_deref() == Some("ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE")
        }
        _ => true,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
fn iso_utc(unix: i64) -> String {
    crate::mapping::datetime::format_utc(unix).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Method::{Get, Patch, Post, Put};
    use crate::test_support::{field, raw_settings, s, FakePlatform};
    use crate::wit;
    use serde_json::json;

    const R1: &str = "https://r1-api.dotdigital.com";

    fn url(path: &str) -> String {
        format!("{R1}{path}")
    }

    fn settings() -> wit::Settings {
        let mut raw = raw_settings();
        raw.api_endpoint = s(R1);
        raw.certificate_campaign_id = Some(42);
        raw
    }

    fn card() -> wit::GiftCard {
        wit::GiftCard {
            id: "7741".into(),
            tracking_guid: None,
            number: s("10573"),
            description: None,
            card_type: s("Store Credit"),
            original_amount: Some(10.0),
            balance: Some(10.0),
            status: s("Active"),
            purchase_date: None,
            expiration_date: None,
            customer_id: None,
            customer_name: s("Jane Doe"),
            customer_email: s("jane.doe@example.com"),
            receiving_customer: None,
            receiving_customer_email: None,
            transaction_id: None,
            custom_fields: vec![field("Currency", Some("GBP"))],
        }
    }

    const RECORD: &str = "/insightData/v3/contacts/email/jane.doe%40example.com/LoyaltyCertificates/10573";
    const SEND_PATH: &str = "/v2/email/triggered-campaign";
    const NO_CONTACT: &str = r#"{"errorCode":"insightData:contactNotFound","description":"Contact not found"}"#;
    const NO_RECORD: &str = r#"{"errorCode":"insightData:recordNotFound","description":"Not found"}"#;

    /// The calls before the send of a new certificate: the record (its contact is missing),
    /// then names and contact.
    fn up_to_the_send() -> FakePlatform {
        FakePlatform::new()
            .expect(Get, &url(RECORD), 404, NO_CONTACT)
            .expect(Get, &url("/v2/data-fields"), 200, r#"[{"name":"FIRSTNAME","type":"String"}]"#)
            .expect(
                Patch,
                &url("/contacts/v3/email/jane.doe%40example.com?merge-option=overwrite-if-empty"),
                200,
                r#"{"contactId":5}"#,
            )
    }

    /// The record Dotdigital holds for `card()` once it was announced at `at`.
    fn stored_answer(at: &str) -> String {
        let settings = validated_settings(&settings()).unwrap();
        let cert = certificate(&settings, &card()).unwrap();
        json!({"key": "10573", "json": certificate_record(&cert, Some(at))}).to_string()
    }

    #[test]
    fn an_unchanged_announced_certificate_costs_one_read() {
        let at = "2025-01-01T00:00:00Z";
        let platform = FakePlatform::new().with_data(&the_key(), &format!("sent:{at}")).expect(
            Get,
            &url(RECORD),
            200,
            &stored_answer(at),
        );
        let outcome = sync_certificate(&platform, &settings(), &card()).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Unchanged, 1), "{:?}", outcome.messages);
        // The record alone proves the send when host data forgot it.
        let forgetful = FakePlatform::new().expect(Get, &url(RECORD), 200, &stored_answer(at));
        let outcome = sync_certificate(&forgetful, &settings(), &card()).unwrap();
        forgetful.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Unchanged, 1));
    }

    #[test]
    fn a_changed_certificate_is_read_then_written_without_touching_the_contact() {
        let mut redeemed = card();
        redeemed.status = s("Redeemed");
        let platform = FakePlatform::new()
            .with_data(&the_key(), "sent:2025-01-01T00:00:00Z")
            .expect(Get, &url(RECORD), 200, &stored_answer("2025-01-01T00:00:00Z"))
            .expect(Put, &url(RECORD), 204, "");
        let outcome = sync_certificate(&platform, &settings(), &redeemed).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Updated, 2));
        assert_eq!(platform.body(1)["status"], "Redeemed");
        assert_eq!(platform.body(1)["announcedAt"], "2025-01-01T00:00:00Z", "the announcement is kept");
    }

    #[test]
    fn a_contact_missing_only_at_the_write_is_created_then_the_write_repeated() {
        // The record was readable, then its contact was deleted before the PUT.
        let mut redeemed = card();
        redeemed.status = s("Redeemed");
        let platform = FakePlatform::new()
            .expect(Get, &url(RECORD), 200, &stored_answer("2025-01-01T00:00:00Z"))
            .expect(Put, &url(RECORD), 404, NO_CONTACT)
            .expect(Get, &url("/v2/data-fields"), 200, "[]")
            .expect(
                Patch,
                &url("/contacts/v3/email/jane.doe%40example.com?merge-option=overwrite-if-empty"),
                201,
                r#"{"contactId":6}"#,
            )
            .expect(Put, &url(RECORD), 201, "");
        let outcome = sync_certificate(&platform, &settings(), &redeemed).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 5));
        assert!(outcome.messages.iter().any(|m| m.contains("contact 6 created")), "{:?}", outcome.messages);
    }

    #[test]
    fn a_new_certificate_without_email_creates_its_missing_contact_before_the_record() {
        let mut redeemed = card();
        redeemed.status = s("Redeemed");
        let platform = up_to_the_send().expect(Put, &url(RECORD), 201, "");
        let outcome = sync_certificate(&platform, &settings(), &redeemed).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 4));
        assert!(platform.sent.borrow().iter().all(|r| !r.url.ends_with(SEND_PATH)), "no send");
        // A contact that exists: the missing record alone costs a read and a write.
        let platform = FakePlatform::new().expect(Get, &url(RECORD), 404, NO_RECORD).expect(Put, &url(RECORD), 201, "");
        let outcome = sync_certificate(&platform, &settings(), &redeemed).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Created, 2));
    }

    #[test]
    fn a_new_active_certificate_creates_its_contact_before_the_email() {
        let platform = up_to_the_send().expect(Post, &url(SEND_PATH), 200, "").expect(Put, &url(RECORD), 201, "");
        let outcome = sync_certificate(&platform, &settings(), &card()).unwrap();
        platform.assert_done();
        assert_eq!((outcome.action, outcome.api_calls), (SyncAction::Sent, 5));
        assert!(platform.data.borrow()[&the_key()].0.starts_with("sent:"));
        assert!(platform.body(4)["announcedAt"].is_string());
    }

    fn the_key() -> String {
        marker_key(&validated_settings(&settings()).unwrap(), "10573")
    }

    #[test]
    fn the_marker_key_names_account_collection_and_number() {
        let mut settings = validated_settings(&settings()).unwrap();
        let key = marker_key(&settings, "10573");
        assert_eq!(key, r#"certificate-email:["apiuser-abc123@apiconnector.com","LoyaltyCertificates","10573"]"#);
        settings.certificate_collection = "Other".into();
        assert_ne!(marker_key(&settings, "10573"), key);
        // A separator in one part cannot spell another key.
        settings.certificate_collection = r#"a","b"#.into();
        assert!(marker_key(&settings, "c").contains(r#"a\",\"b"#));
    }

    #[test]
    fn a_claim_another_run_won_sends_nothing_and_says_so() {
        let platform = up_to_the_send().with_rival_claim("pending:2025-01-01T00:00:00Z").expect(
            Put,
            &url("/insightData/v3/contacts/email/jane.doe%40example.com/LoyaltyCertificates/10573"),
            201,
            "",
        );
        let outcome = sync_certificate(&platform, &settings(), &card()).unwrap();
        platform.assert_done();
        assert!(platform.sent.borrow().iter().all(|r| !r.url.ends_with(SEND_PATH)), "no send");
        assert_ne!(outcome.action, SyncAction::Sent);
        assert!(outcome.messages.iter().any(|m| m.contains("unconfirmed")), "{:?}", outcome.messages);
        assert_eq!(platform.data.borrow()[&the_key()].0, "pending:2025-01-01T00:00:00Z", "the rival's marker stays");
    }

    #[test]
    fn a_claim_lost_to_a_finished_send_records_its_time() {
        let platform = up_to_the_send().with_rival_claim("sent:2025-01-01T00:00:00Z").expect(
            Put,
            &url("/insightData/v3/contacts/email/jane.doe%40example.com/LoyaltyCertificates/10573"),
            201,
            "",
        );
        let outcome = sync_certificate(&platform, &settings(), &card()).unwrap();
        platform.assert_done();
        assert_ne!(outcome.action, SyncAction::Sent);
        assert!(outcome.messages.iter().any(|m| m.contains("sent by another run")), "{:?}", outcome.messages);
        assert_eq!(platform.body(3)["announcedAt"], "2025-01-01T00:00:00Z");
    }

    #[test]
    fn a_marker_that_cannot_be_stored_stops_the_send() {
        let platform = up_to_the_send().with_failing_writes().expect(
            Put,
            &url("/insightData/v3/contacts/email/jane.doe%40example.com/LoyaltyCertificates/10573"),
            201,
            "",
        );
        let error = sync_certificate(&platform, &settings(), &card()).unwrap_err();
        assert!(matches!(&error, SyncError::Transport(m) if m.contains("nothing was sent")), "{error:?}");
        assert!(platform.sent.borrow().iter().all(|r| !r.url.ends_with(SEND_PATH)), "no send");
        assert!(platform.data.borrow().get(&the_key()).is_none());
    }

    #[test]
    fn an_old_number_only_marker_is_obeyed() {
        let platform = up_to_the_send().with_data("certificate-email:10573", "pending:2024-12-31T00:00:00Z").expect(
            Put,
            &url("/insightData/v3/contacts/email/jane.doe%40example.com/LoyaltyCertificates/10573"),
            201,
            "",
        );
        let outcome = sync_certificate(&platform, &settings(), &card()).unwrap();
        platform.assert_done();
        assert!(outcome.messages.iter().any(|m| m.contains("2024-12-31")), "{:?}", outcome.messages);
        assert!(platform.data.borrow().get(&the_key()).is_none(), "no new claim");
    }
}

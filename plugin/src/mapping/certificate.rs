//! Gift Card used as a loyalty certificate → its insight record, and the body of the
//! triggered-campaign email that announces it.

use serde_json::{json, Value};

use super::values::{
    cents_json, cents_text, check_email, check_key, custom_value, money_cents, opt_cents_json, text_or_null,
    utc_timestamp, Offset, RECORD_KEY_MAX_CHARS,
};
use crate::settings::{positive_int32, Settings};
use crate::validation::currency::iso_currency;
use crate::validation::text::{non_empty, shown};
use crate::validation::{issue, At, Issues};
use crate::wit::{self, FieldIssue};

/// Custom field with the link to the certificate.
pub const URL_FIELD: &str = "Certificate URL";
/// Custom field overriding the `certificate_campaign_id` setting for one card.
pub const CAMPAIGN_FIELD: &str = "TriggeredCampaignId";

/// A gift card's lifecycle state, as iPaaS.com names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateStatus {
    Active,
    Pending,
    Redeemed,
    Expired,
    Void,
}

impl CertificateStatus {
    const ALL: [CertificateStatus; 5] = [Self::Active, Self::Pending, Self::Redeemed, Self::Expired, Self::Void];

    /// Reads a status in any casing.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Pending => "Pending",
            Self::Redeemed => "Redeemed",
            Self::Expired => "Expired",
            Self::Void => "Void",
        }
    }
}

/// A validated certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// The card number: the record key and the external id.
    pub number: String,
    /// Who receives it: `receiving_customer_email`, else `customer_email`.
    pub email: String,
    /// The name that goes with `email`.
    pub recipient_name: Option<String>,
    pub status: CertificateStatus,
    /// What the certificate is worth now: the balance, else the original amount.
    pub value_cents: i64,
    pub balance_cents: Option<i64>,
    pub original_cents: Option<i64>,
    /// ISO 4217, uppercased.
    pub currency: Option<String>,
    /// https only.
    pub url: Option<String>,
    /// The triggered campaign that announces it; always present when the status is Active.
    pub campaign_id: Option<u32>,
    /// `purchase_date` as UTC `YYYY-MM-DDTHH:MM:SSZ`.
    pub issue_date: Option<String>,
    /// `expiration_date` as UTC `YYYY-MM-DDTHH:MM:SSZ`.
    pub expiry_date: Option<String>,
    /// `expiration_date`'s calendar date as written (`2025-06-30`), for the email.
    pub expiry_day: Option<String>,
    pub card_type: Option<String>,
    pub description: Option<String>,
}

impl Certificate {
    /// Only an active certificate is announced by email (once; the flow keeps the marker).
    pub fn wants_announcement(&self) -> bool {
        self.status == CertificateStatus::Active
    }
}

/// Validates a gift card as a certificate, listing every problem.
pub fn certificate(settings: &Settings, card: &wit::GiftCard) -> Result<Certificate, Vec<FieldIssue>> {
    let mut found = Issues::default();
    let number = found.check(check_key(card.number.as_deref(), RECORD_KEY_MAX_CHARS).at("number"));
    let (email, recipient_name) = recipient(card);
    let email = found.check(email);
    let balance = found.check(amount(card.balance).at("balance")).flatten();
    let original = found.check(amount(card.original_amount).at("original_amount")).flatten();
    let value = match (card.balance, card.original_amount) {
        (None, None) => {
            found.add(issue("balance", "required: the certificate's value (balance, or original_amount)"));
            None
        }
        (Some(_), _) => balance,
        (None, Some(_)) => original,
    };
    let status = found.check(status(card.status.as_deref()));
    let url_path = format!("custom_fields.{URL_FIELD}");
    let url = custom_value(&card.custom_fields, URL_FIELD)
        .and_then(|url| found.check(check_https_url(url).map(|()| url.to_string()).at(&url_path)));
    let campaign_id = found.check(campaign(settings, card, status));
    let currency = match custom_value(&card.custom_fields, "Currency") {
        Some(code) => found.check(
            iso_currency(code)
                .ok_or_else(|| format!("`{}` is not an active ISO 4217 currency code", shown(code)))
                .at("custom_fields.Currency"),
        ),
        None => settings.default_currency.clone(),
    };
    let issue_date = found.check(date(card.purchase_date.as_deref()).at("purchase_date")).flatten();
    let expiry_date = found.check(date(card.expiration_date.as_deref()).at("expiration_date")).flatten();
    let expiry_day = expiry_date.as_ref().and_then(|_| calendar_day(card.expiration_date.as_deref()?));
    let (Some(number), Some(email), Some(value_cents), Some(status), true) =
        (number, email, value, status, found.is_empty())
    else {
        return Err(found.into_vec());
    };
    Ok(Certificate {
        number,
        email,
        recipient_name: recipient_name.map(str::to_string),
        status,
        value_cents,
        balance_cents: balance,
        original_cents: original,
        currency,
        url,
        campaign_id: campaign_id.flatten(),
        issue_date,
        expiry_date,
        expiry_day,
        card_type: non_empty(card.card_type.as_deref()).map(str::to_string),
        description: non_empty(card.description.as_deref()).map(str::to_string),
    })
}

/// Who receives the certificate (`receiving_customer_email`, else `customer_email`) and the
/// name that goes with that address.
fn recipient(card: &wit::GiftCard) -> (Result<String, FieldIssue>, Option<&str>) {
    let (email, email_path, name) = match non_empty(card.receiving_customer_email.as_deref()) {
        Some(email) => {
            // The purchaser's name only when the purchaser is the recipient.
            let same_person = non_empty(card.customer_email.as_deref()).is_some_and(|c| c.eq_ignore_ascii_case(email));
            let name = non_empty(card.receiving_customer.as_deref())
                .or_else(|| non_empty(card.customer_name.as_deref()).filter(|_| same_person));
            (Some(email), "receiving_customer_email", name)
        }
        None => (non_empty(card.customer_email.as_deref()), "customer_email", non_empty(card.customer_name.as_deref())),
    };
    let email = match email {
        None => Err(issue(
            "receiving_customer_email",
            "required: receiving_customer_email (or customer_email), the address the certificate is sent to",
        )),
        Some(email) => check_email(email).map(|()| email.to_string()).at(email_path),
    };
    (email, name)
}

fn status(text: Option<&str>) -> Result<CertificateStatus, FieldIssue> {
    let text = non_empty(text).ok_or("required: Active, Pending, Redeemed, Expired or Void").at("status")?;
    CertificateStatus::parse(text)
        .ok_or_else(|| format!("`{}` is not Active, Pending, Redeemed, Expired or Void", shown(text)))
        .at("status")
}

/// The card's `TriggeredCampaignId`, else the subscription's; an Active certificate, which is
/// emailed, needs one. A bad custom field is one problem, not also a missing campaign.
fn campaign(
    settings: &Settings,
    card: &wit::GiftCard,
    status: Option<CertificateStatus>,
) -> Result<Option<u32>, FieldIssue> {
    if let Some(text) = custom_value(&card.custom_fields, CAMPAIGN_FIELD) {
        let parsed =
            text.parse::<u32>().map_err(|_| format!("`{}` is not a campaign id (a whole number)", shown(text)));
        let id = parsed.and_then(|id| positive_int32(id).map(|()| id)).at(format!("custom_fields.{CAMPAIGN_FIELD}"))?;
        return Ok(Some(id));
    }
    if status == Some(CertificateStatus::Active) && settings.certificate_campaign_id.is_none() {
        return Err(issue(
            "certificate_campaign_id",
            format!("required for an Active certificate, which is emailed: set the certificate_campaign_id setting or the card's {CAMPAIGN_FIELD} custom field"),
        ));
    }
    Ok(settings.certificate_campaign_id)
}

/// The certificate's insight record: every key always present, `null` when absent.
/// `announced_at` is when its email went out (UTC), if it has.
pub fn certificate_record(cert: &Certificate, announced_at: Option<&str>) -> Value {
    json!({
        "number": cert.number,
        "status": cert.status.as_str(),
        "value": cents_json(cert.value_cents),
        "balance": opt_cents_json(cert.balance_cents),
        "originalAmount": opt_cents_json(cert.original_cents),
        "currency": cert.currency,
        "issueDate": cert.issue_date,
        "expiryDate": cert.expiry_date,
        "url": cert.url,
        "cardType": cert.card_type,
        "description": cert.description,
        "recipientEmail": cert.email,
        "recipientName": cert.recipient_name,
        "announcedAt": text_or_null(announced_at),
    })
}

/// The `POST /v2/email/triggered-campaign` body announcing the certificate. Personalisation
/// values are strings; a value the certificate lacks is left out rather than sent empty.
///
/// Two sets of names: the connector's own (`CERTIFICATE_VALUE`, …) and the ones iPaaS.com's
/// certified Dotdigital integration documents for its loyalty-certificate mapping
/// (`GiftCardValue`, `GiftCardURL`, `ReceivingCustomerEmail`, `TriggeredCampaignId`;
/// support.ipaas.com/en/articles/12844580-dotdigital-loyalty-certificate-from-ipaas-com-mapping-documentation),
/// so a campaign built for either fills in.
pub fn triggered_send(cert: &Certificate, campaign_id: u32) -> Value {
    let value = cents_text(cert.value_cents);
    let pairs = [
        ("RECIPIENT_NAME", cert.recipient_name.clone()),
        ("CERTIFICATE_NUMBER", Some(cert.number.clone())),
        ("CERTIFICATE_VALUE", Some(value.clone())),
        ("CURRENCY", cert.currency.clone()),
        ("CERTIFICATE_URL", cert.url.clone()),
        ("EXPIRY_DATE", cert.expiry_day.clone()),
        ("GiftCardValue", Some(value)),
        ("GiftCardURL", cert.url.clone()),
        ("ReceivingCustomerEmail", Some(cert.email.clone())),
        ("TriggeredCampaignId", Some(campaign_id.to_string())),
    ];
    let values: Vec<Value> = pairs
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| json!({"name": name, "value": value})))
        .collect();
    json!({
        "toAddresses": [cert.email],
        "campaignId": campaign_id,
        "personalizationValues": values,
    })
}

/// The `YYYY-MM-DD` a valid ISO 8601 date or date-time starts with: the day as the record
/// writes it, whatever its offset.
fn calendar_day(text: &str) -> Option<String> {
    let day = text.trim().get(..10)?;
    super::datetime::parse_date(day)?;
    Some(day.to_string())
}

/// An amount on the card: at most two decimals, not negative.
fn amount(value: Option<f64>) -> Result<Option<i64>, String> {
    let Some(value) = value else { return Ok(None) };
    match money_cents(value)? {
        cents if cents < 0 => Err("must not be negative".to_string()),
        cents => Ok(Some(cents)),
    }
}

fn date(text: Option<&str>) -> Result<Option<String>, String> {
    non_empty(text).map(|text| utc_timestamp(text, Offset::OptionalUtc)).transpose()
}

/// `https://host[:port][/…]`: https only (the link goes into an email), a host, and no
/// whitespace, control characters or credentials.
pub fn check_https_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| format!("`{}` is not a URL: it must start with https://", shown(url)))?;
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(format!("must be an https URL, not {}", shown(scheme)));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry a user name or password".into());
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return Err(format!("`{}` has an invalid port", shown(authority))),
        None => authority,
    };
    let labels_ok =
        host.split('.').all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if host.is_empty() || !labels_ok {
        return Err(format!("`{}` has no valid host", shown(url)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{raw_settings, s};

    fn field(name: &str, value: &str) -> wit::CustomField {
        wit::CustomField { name: name.into(), value: s(value) }
    }

    fn settings(campaign: Option<u32>) -> Settings {
        let mut raw = raw_settings();
        raw.certificate_campaign_id = campaign;
        Settings::validate(&raw).unwrap()
    }

    /// A gift card in iPaaS.com's Gift Card shape (support.ipaas.com/en/articles/9052441-gift-cards).
    fn example() -> wit::GiftCard {
        wit::GiftCard {
            id: "7741".into(),
            tracking_guid: s("9e47b0aa-13c2-4f0b-a1de-55c7f2e6b804"),
            number: s("10573"),
            description: s("Loyalty reward certificate - 500 points"),
            card_type: s("Store Credit"),
            original_amount: Some(10.00),
            balance: Some(10.00),
            status: s("Active"),
            purchase_date: s("2025-03-14T10:30:00"),
            expiration_date: s("2025-06-30T23:59:59"),
            customer_id: Some(150437),
            customer_name: s("Jane Doe"),
            customer_email: s("jane.doe@example.com"),
            receiving_customer: s("Jane Doe"),
            receiving_customer_email: s("jane.doe@example.com"),
            transaction_id: Some(902114),
            custom_fields: vec![
                field("Certificate Type", "Loyalty"),
                field("Certificate URL", "https://rewards.example.com/c/10573-9F2K"),
                field("Currency", "GBP"),
            ],
        }
    }

    fn fields(settings: &Settings, card: &wit::GiftCard) -> Vec<String> {
        certificate(settings, card).expect_err("invalid").into_iter().map(|i| i.field).collect()
    }

    #[test]
    fn the_example_card() {
        let cert = certificate(&settings(Some(4242)), &example()).unwrap();
        assert_eq!(
            cert,
            Certificate {
                number: "10573".into(),
                email: "jane.doe@example.com".into(),
                recipient_name: s("Jane Doe"),
                status: CertificateStatus::Active,
                value_cents: 1000,
                balance_cents: Some(1000),
                original_cents: Some(1000),
                currency: s("GBP"),
                url: s("https://rewards.example.com/c/10573-9F2K"),
                campaign_id: Some(4242),
                issue_date: s("2025-03-14T10:30:00Z"),
                expiry_date: s("2025-06-30T23:59:59Z"),
                expiry_day: s("2025-06-30"),
                card_type: s("Store Credit"),
                description: s("Loyalty reward certificate - 500 points"),
            }
        );
        assert!(cert.wants_announcement());
        assert_eq!(
            certificate_record(&cert, Some("2025-03-14T10:31:00Z")),
            json!({
                "number": "10573", "status": "Active", "value": 10.0, "balance": 10.0, "originalAmount": 10.0,
                "currency": "GBP", "issueDate": "2025-03-14T10:30:00Z", "expiryDate": "2025-06-30T23:59:59Z",
                "url": "https://rewards.example.com/c/10573-9F2K", "cardType": "Store Credit",
                "description": "Loyalty reward certificate - 500 points", "recipientEmail": "jane.doe@example.com",
                "recipientName": "Jane Doe", "announcedAt": "2025-03-14T10:31:00Z"
            })
        );
        assert_eq!(
            triggered_send(&cert, 4242),
            json!({
                "toAddresses": ["jane.doe@example.com"],
                "campaignId": 4242,
                "personalizationValues": [
                    {"name": "RECIPIENT_NAME", "value": "Jane Doe"},
                    {"name": "CERTIFICATE_NUMBER", "value": "10573"},
                    {"name": "CERTIFICATE_VALUE", "value": "10.00"},
                    {"name": "CURRENCY", "value": "GBP"},
                    {"name": "CERTIFICATE_URL", "value": "https://rewards.example.com/c/10573-9F2K"},
                    {"name": "EXPIRY_DATE", "value": "2025-06-30"},
                    {"name": "GiftCardValue", "value": "10.00"},
                    {"name": "GiftCardURL", "value": "https://rewards.example.com/c/10573-9F2K"},
                    {"name": "ReceivingCustomerEmail", "value": "jane.doe@example.com"},
                    {"name": "TriggeredCampaignId", "value": "4242"}
                ]
            })
        );
    }

    #[test]
    fn a_sparse_card_has_the_same_record_keys_and_a_shorter_send() {
        let card = wit::GiftCard {
            balance: Some(7.5),
            original_amount: None,
            status: s("redeemed"),
            purchase_date: None,
            expiration_date: s(" "),
            customer_name: None,
            receiving_customer: None,
            receiving_customer_email: None,
            card_type: None,
            description: None,
            custom_fields: vec![],
            ..example()
        };
        let cert = certificate(&settings(None), &card).unwrap();
        assert_eq!(cert.status, CertificateStatus::Redeemed);
        assert!(!cert.wants_announcement());
        let record = certificate_record(&cert, None);
        let full =
            certificate_record(&certificate(&settings(Some(1)), &example()).unwrap(), Some("2025-03-14T10:31:00Z"));
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&record), keys(&full));
        for (key, value) in record.as_object().unwrap() {
            assert!(value.is_null() || std::mem::discriminant(value) == std::mem::discriminant(&full[key]), "{key}");
        }
        assert_eq!(record["value"], json!(7.5));
        assert_eq!(record["originalAmount"], Value::Null);
        assert_eq!(record["announcedAt"], Value::Null);
        assert_eq!(record["url"], Value::Null);

        let send = triggered_send(&cert, 77);
        assert_eq!(
            send["personalizationValues"],
            json!([
                {"name": "CERTIFICATE_NUMBER", "value": "10573"},
                {"name": "CERTIFICATE_VALUE", "value": "7.50"},
                {"name": "GiftCardValue", "value": "7.50"},
                {"name": "ReceivingCustomerEmail", "value": "jane.doe@example.com"},
                {"name": "TriggeredCampaignId", "value": "77"}
            ])
        );
    }

    #[test]
    fn the_expiry_date_in_the_email_is_the_day_the_card_names() {
        for (written, day, utc) in [
            ("2025-06-30T23:59:59", "2025-06-30", "2025-06-30T23:59:59Z"),
            ("2025-06-30", "2025-06-30", "2025-06-30T00:00:00Z"),
            // Late evening in New York is the next day in UTC; the card still means the 30th.
            ("2025-06-30T23:00:00-05:00", "2025-06-30", "2025-07-01T04:00:00Z"),
        ] {
            let card = wit::GiftCard { expiration_date: s(written), ..example() };
            let cert = certificate(&settings(Some(1)), &card).unwrap();
            assert_eq!((cert.expiry_day.as_deref(), cert.expiry_date.as_deref()), (Some(day), Some(utc)), "{written}");
            let send = triggered_send(&cert, 1);
            let expiry = send["personalizationValues"].as_array().unwrap().iter().find(|v| v["name"] == "EXPIRY_DATE");
            assert_eq!(expiry.unwrap()["value"], day);
        }
    }

    #[test]
    fn value_is_the_balance_else_the_original_amount() {
        let card = wit::GiftCard { balance: None, original_amount: Some(25.0), ..example() };
        let cert = certificate(&settings(Some(1)), &card).unwrap();
        assert_eq!((cert.value_cents, cert.balance_cents, cert.original_cents), (2500, None, Some(2500)));
        assert_eq!(triggered_send(&cert, 1)["personalizationValues"][2]["value"], "25.00");

        let card = wit::GiftCard { balance: Some(0.0), ..example() };
        assert_eq!(certificate(&settings(Some(1)), &card).unwrap().value_cents, 0);

        for (balance, original, expected) in [
            (None, None, vec!["balance"]),
            (Some(-1.0), None, vec!["balance"]),
            (Some(10.005), Some(10.0), vec!["balance"]),
            (Some(f64::NAN), Some(f64::INFINITY), vec!["balance", "original_amount"]),
            (Some(5.0), Some(-5.0), vec!["original_amount"]),
            (None, Some(1e308), vec!["original_amount"]),
        ] {
            let card = wit::GiftCard { balance, original_amount: original, ..example() };
            assert_eq!(fields(&settings(Some(1)), &card), expected, "{balance:?} {original:?}");
        }
    }

    #[test]
    fn the_recipient_is_the_receiving_customer_else_the_purchaser() {
        let card = wit::GiftCard {
            receiving_customer: s("Sam Smith"),
            receiving_customer_email: s(" sam@example.org "),
            ..example()
        };
        let cert = certificate(&settings(Some(1)), &card).unwrap();
        assert_eq!((cert.email.as_str(), cert.recipient_name.as_deref()), ("sam@example.org", Some("Sam Smith")));

        // A recipient without a name does not borrow the purchaser's.
        let card =
            wit::GiftCard { receiving_customer: None, receiving_customer_email: s("sam@example.org"), ..example() };
        assert_eq!(certificate(&settings(Some(1)), &card).unwrap().recipient_name, None);
        // Unless the recipient is the purchaser.
        let card = wit::GiftCard {
            receiving_customer: None,
            receiving_customer_email: s("JANE.DOE@example.com"),
            ..example()
        };
        assert_eq!(certificate(&settings(Some(1)), &card).unwrap().recipient_name.as_deref(), Some("Jane Doe"));

        let card = wit::GiftCard { receiving_customer: s("Sam"), receiving_customer_email: None, ..example() };
        let cert = certificate(&settings(Some(1)), &card).unwrap();
        assert_eq!((cert.email.as_str(), cert.recipient_name.as_deref()), ("jane.doe@example.com", Some("Jane Doe")));
    }

    #[test]
    fn missing_or_bad_recipient() {
        let card = wit::GiftCard { receiving_customer_email: None, customer_email: s("  "), ..example() };
        assert_eq!(fields(&settings(Some(1)), &card), ["receiving_customer_email"]);
        let card = wit::GiftCard { receiving_customer_email: s("sam@"), ..example() };
        assert_eq!(fields(&settings(Some(1)), &card), ["receiving_customer_email"]);
        let card = wit::GiftCard { receiving_customer_email: None, customer_email: s("jane"), ..example() };
        assert_eq!(fields(&settings(Some(1)), &card), ["customer_email"]);
    }

    #[test]
    fn statuses() {
        for (text, status) in [
            ("active", CertificateStatus::Active),
            ("PENDING", CertificateStatus::Pending),
            (" Void ", CertificateStatus::Void),
            ("expired", CertificateStatus::Expired),
        ] {
            let card = wit::GiftCard { status: s(text), ..example() };
            assert_eq!(certificate(&settings(Some(1)), &card).unwrap().status, status);
        }
        for bad in [None, s(""), s("Cancelled"), s("Activ")] {
            let card = wit::GiftCard { status: bad.clone(), ..example() };
            assert_eq!(fields(&settings(Some(1)), &card), ["status"], "{bad:?}");
        }
    }

    #[test]
    fn the_campaign_is_required_only_when_active() {
        let card = example();
        let issues = certificate(&settings(None), &card).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "certificate_campaign_id");
        assert!(issues[0].problem.contains("TriggeredCampaignId"));

        for status in ["Pending", "Redeemed", "Expired", "Void"] {
            let card = wit::GiftCard { status: s(status), ..example() };
            let cert = certificate(&settings(None), &card).unwrap();
            assert_eq!(cert.campaign_id, None);
            assert!(!cert.wants_announcement());
        }

        // The card's custom field overrides the setting, and stands in for it.
        let mut card = example();
        card.custom_fields.push(field("triggeredcampaignid", " 555 "));
        assert_eq!(certificate(&settings(None), &card).unwrap().campaign_id, Some(555));
        assert_eq!(certificate(&settings(Some(1)), &card).unwrap().campaign_id, Some(555));

        for bad in ["0", "-3", "abc", "1.5", "4294967296", "2147483648"] {
            let mut card = example();
            card.custom_fields.push(field("TriggeredCampaignId", bad));
            // Reported once, under the custom field, whatever the setting.
            assert_eq!(fields(&settings(None), &card), ["custom_fields.TriggeredCampaignId"], "{bad}");
            assert_eq!(fields(&settings(Some(9)), &card), ["custom_fields.TriggeredCampaignId"], "{bad}");
        }
    }

    #[test]
    fn certificate_urls() {
        for ok in [
            "https://rewards.example.com/c/10573-9F2K",
            "HTTPS://example.com",
            "https://example.com:8443/x?y=1#z",
            "https://localhost",
            "https://bücher.example/c",
        ] {
            assert_eq!(check_https_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://rewards.example.com/c/1",
            "rewards.example.com/c/1",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com/a b",
            "https://user:pw@example.com",
            "https://example.com:port",
            "https://.example.com",
            "ftp://example.com",
            "javascript:alert(1)",
        ] {
            assert!(check_https_url(bad).is_err(), "{bad}");
        }
        let mut card = example();
        card.custom_fields[1].value = s("http://rewards.example.com/c/10573");
        let issues = certificate(&settings(Some(1)), &card).unwrap_err();
        assert_eq!(issues[0].field, "custom_fields.Certificate URL");
        assert!(issues[0].problem.contains("https"));
    }

    #[test]
    fn currency_and_dates() {
        let mut card = example();
        card.custom_fields.retain(|f| f.name != "Currency");
        assert_eq!(certificate(&settings(Some(1)), &card).unwrap().currency, None);
        let mut raw = raw_settings();
        raw.certificate_campaign_id = Some(1);
        raw.default_currency = s("eur");
        assert_eq!(certificate(&Settings::validate(&raw).unwrap(), &card).unwrap().currency.as_deref(), Some("EUR"));

        card.custom_fields.push(field("Currency", "Pounds"));
        card.purchase_date = s("14/03/2025");
        card.expiration_date = s("2025-02-30T00:00:00");
        assert_eq!(fields(&settings(Some(1)), &card), ["custom_fields.Currency", "purchase_date", "expiration_date"]);

        let card = wit::GiftCard { expiration_date: s("2025-06-30T23:59:59+02:00"), ..example() };
        assert_eq!(
            certificate(&settings(Some(1)), &card).unwrap().expiry_date.as_deref(),
            Some("2025-06-30T21:59:59Z")
        );
    }

    #[test]
    fn every_card_problem_is_listed() {
        let card = wit::GiftCard {
            number: None,
            receiving_customer_email: s("nobody"),
            balance: Some(-0.5),
            status: s("Gone"),
            purchase_date: s("yesterday"),
            custom_fields: vec![field("Certificate URL", "http://x.example"), field("Currency", "XX")],
            ..example()
        };
        assert_eq!(
            fields(&settings(None), &card),
            [
                "number",
                "receiving_customer_email",
                "balance",
                "status",
                "custom_fields.Certificate URL",
                "custom_fields.Currency",
                "purchase_date"
            ]
        );
    }

    #[test]
    fn the_certificate_contact_splits_the_recipients_name() {
        use crate::mapping::contact::contact_for_certificate;
        use crate::mapping::data_fields::NameFields;
        let mut cert = certificate(&settings(Some(1)), &example()).unwrap();
        cert.recipient_name = s("Jane  van Doe");
        let upsert = contact_for_certificate(&cert, NameFields::ALL);
        assert_eq!(upsert.merge_option, "overwrite-if-empty");
        assert_eq!(
            upsert.body,
            json!({"identifiers": {"email": "jane.doe@example.com"},
                   "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": "van Doe", "FULLNAME": "Jane van Doe"}})
        );
        cert.recipient_name = s("Cher");
        assert_eq!(
            contact_for_certificate(&cert, NameFields::ALL).body["dataFields"],
            json!({"FIRSTNAME": "Cher", "FULLNAME": "Cher"})
        );
        cert.recipient_name = None;
        assert_eq!(
            contact_for_certificate(&cert, NameFields::ALL).body,
            json!({"identifiers": {"email": "jane.doe@example.com"}})
        );

        // Only the name fields the account has; the others are noted, never sent.
        cert.recipient_name = s("Jane Doe");
        let upsert = contact_for_certificate(&cert, NameFields { first: false, last: true, full: false });
        assert_eq!(upsert.body["dataFields"], json!({"LASTNAME": "Doe"}));
        assert_eq!(upsert.notes.len(), 2, "{:?}", upsert.notes);
        assert!(upsert.notes[0].contains("FIRSTNAME"), "{:?}", upsert.notes);
        // A contact made for a certificate joins no list and leaves none.
        assert!(upsert.body.get("lists").is_none() && upsert.leave_lists.is_empty() && upsert.contact_id.is_none());
    }
}

//! What a simulator run is configured with: the accounts it knows, its rate limits and the
//! validation choices where Dotdigital's behaviour is not published (API.md §9 **[cfg]**).
//! Accounts are parsed into the typed model once, here; a bad one is refused naming its field.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::model::{
    is_valid_data_field_name, AddressBook, Campaign, CampaignStatus, DataField, DataFieldType, Region, SimAccount,
};

/// Everything [`crate::Simulator::start`] needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub accounts: Vec<SimAccount>,
    pub rate_limit: RateLimitConfig,
    /// What a PATCH naming a data field the account lacks gets.
    pub unknown_data_field: UnknownDataField,
    /// Longest value a `String` data field may hold: 255 by default, as Dotdigital support
    /// ("Creating and deleting contact data fields") says text fields hold "up to 255
    /// characters" (a docs error example says 256; the stricter figure is the default).
    pub max_string_length: usize,
    /// The bulk imports and the request-body cap; can be changed while running
    /// ([`crate::Simulator::set_import_config`], `PATCH /_sim/import-config`).
    pub imports: ImportConfig,
    /// The single-contact calls' readings where the documents are silent; can be changed while
    /// running ([`crate::Simulator::set_contact_config`], `PATCH /_sim/contact-config`).
    pub contacts: ContactConfig,
}

/// How the single-contact calls (`PATCH`, `POST` and `GET` on `/contacts/v3…`, the v2 list
/// removal) behave where the documents leave room. Each default is the stricter reading; the
/// other value is the lenient one, kept so a client can be tested against both.
///
/// As JSON (`GET`/`PATCH /_sim/contact-config`; every field optional in a PATCH):
/// `{"contact_answers_include_lists": false, "unsubscribed_list_removal": "error",
/// "verified_double": "every_request"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactConfig {
    /// Whether the contact answered by `PATCH`, `POST` and `GET /contacts/v3/{identifier}/{value}`
    /// carries `lists`. contacts-v3.json declares `contact.lists` optional, and `getContacts`
    /// returns list data only when asked (`include` enum `lists`); what the single-contact
    /// answers carry is not documented. Default `false`: no `lists` (a client must not rely on
    /// them); `true` adds `[{id, name, status}]` to every such answer.
    pub contact_answers_include_lists: bool,
    /// What `DELETE /v2/address-books/{list}/contacts/{id}` answers for a contact whose email
    /// channel is unsubscribed or suppressed. Either way the contact stays on the list:
    /// "If a contacts email channel status becomes unsubscribed or suppressed, then updates to
    /// the contact via API v2 are not processed" (developer.dotdigital.com/reference/unified-contacts).
    /// How that shows in the answer is not documented.
    pub unsubscribed_list_removal: UnprocessedListRemoval,
    /// When `optInType: verifiedDouble` puts the email channel in `pendingOptIn` and sends a
    /// confirmation email, on the PATCH and the POST. contacts-v3.json
    /// (`channelProperties_channelProperties_email.optInType`) says it does, with no limit to
    /// new contacts; the status description says an unsent status "remains unaltered for
    /// existing contacts".
    pub verified_double: VerifiedDoubleReading,
}

/// See [`ContactConfig::verified_double`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedDoubleReading {
    /// Every request carrying `optInType: verifiedDouble` challenges the contact: a new one, or
    /// an existing one with an email whose channel is (or is asked to be) subscribed or already
    /// pending, goes to `pendingOptIn` and is sent a confirmation email. An unsubscribed or
    /// suppressed channel stays as it is unless the request sets a status.
    #[default]
    EveryRequest,
    /// Only a new contact, or a request that sends `status: subscribed`, is challenged, when
    /// the contact's opt-in type (stored or sent) is verified double.
    NewOrStatusSent,
}

/// See [`ContactConfig::unsubscribed_list_removal`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnprocessedListRemoval {
    /// `400 {"message": "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"}` (assumed: the code
    /// v2 uses for suppressed contacts; v2.json declares only the 204).
    #[default]
    Error,
    /// `204`, as if removed: the call is silently not processed.
    Ignored,
}

/// How the two bulk imports (`PUT /contacts/v3/import`, `PUT /insightData/v3/import`) behave
/// where the documents leave it open (API.md §9 items 10, 11, 15, 17, 18), and the body cap.
///
/// An import is applied (contacts created, records written) when it finishes, and it finishes
/// at whichever comes first: the status GET after `…_polls_to_finish` "not finished" answers,
/// or `finish_after_ms` after it was accepted (checked whenever the account makes a call, the
/// control API is read or the [`crate::Simulator`] handle reads data).
///
/// As JSON (`GET`/`PATCH /_sim/import-config`; every field optional in a PATCH):
/// `{"contact_polls_to_finish": 1, "insight_polls_to_finish": 1, "finish_after_ms": 10000,
/// "max_active_contact_imports": 25, "max_active_insight_imports": 5,
/// "failure_code_casing": "camel", "insight_finished_status": "Finished",
/// "key_owned_by_other_contact": "DuplicateKey", "max_body_bytes": 50000000,
/// "oversize_body_status": 400, "contact_running_status": "NotFinished",
/// "contact_end_status": null, "insight_end_status": null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Status GETs of a contact import answered `NotFinished` before one answers `Finished`
    /// (API.md §9.10 **[cfg]**, default 1: the first GET says `NotFinished`, the second
    /// `Finished`). 0 finishes it on the first GET.
    pub contact_polls_to_finish: u32,
    /// Status GETs of an Insight import answered unfinished (the first `NotStarted`, later ones
    /// `Processing`) before one answers finished (API.md §9.17; default 1).
    pub insight_polls_to_finish: u32,
    /// An import nobody polls still finishes this long after it was accepted, as a real one
    /// would. `None`: only polls finish imports. Default 10 s (assumed: Dotdigital gives no
    /// processing time; its docs say to poll every 5-30 s, API.md §3c).
    pub finish_after_ms: Option<u64>,
    /// Unfinished contact imports an account may have; one more gets
    /// `429 contacts:tooManyActiveImports` (API.md §3b limits, §9.11: 25).
    pub max_active_contact_imports: usize,
    /// Unfinished Insight imports an account may have; one more gets `429` (API.md §3c, §9.18: 5).
    pub max_active_insight_imports: usize,
    /// `failureCode` spelling in contact import reports (API.md §3b, §9.11: camel by default).
    pub failure_code_casing: FailureCodeCasing,
    /// The word a finished Insight import reports (API.md §3c "status word conflict", §9.17).
    pub insight_finished_status: InsightFinishedStatus,
    /// The `failureReason` of an imported record whose key another contact owns (API.md §9.15
    /// **[cfg]**, default `DuplicateKey`); one of insight-data-v3.json's `failureReason` values.
    pub key_owned_by_other_contact: String,
    /// Largest request body accepted on any Dotdigital route (API.md §3b/§3c: 50 MB, read as
    /// 50,000,000 bytes, the stricter reading of "MB").
    pub max_body_bytes: usize,
    /// The status a larger body gets (API.md §9.11 **[cfg]**, default 400).
    pub oversize_body_status: u16,
    /// The word an unfinished contact import answers. contacts-v3.json `getImportStatus` enumerates
    /// only `NotFinished` as running (the default); Dotdigital's v2 transactional-data imports
    /// also say `NotStarted` (v2.json `ApiTransactionalDataImportStatuses`), and Dotdigital's
    /// Magento extension treats any word it does not know as still running, so any word may be set.
    pub contact_running_status: String,
    /// When set, each contact import that finishes ends with this word instead of `Finished` and
    /// imports nothing: contacts-v3.json `getImportStatus` enumerates `RejectedByWatchdog`,
    /// `Failed` and `ExceedsAllowedContactLimit`; v2.json `ApiContactImportStatuses` adds
    /// `InvalidFileFormat`, `Unknown`, `NotAvailableInThisVersion`. Default none.
    pub contact_end_status: Option<String>,
    /// Likewise for Insight imports: insight-data-v3.json `getImportStatus` enumerates `Failed`;
    /// v2.json `ApiTransactionalDataImportStatuses` adds `NotAvailableInThisVersion`. Default none.
    pub insight_end_status: Option<String>,
}

/// How contact import `failureCode`s are spelled (API.md §3b: the spec's examples are
/// camelCase, the docs page PascalCase).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureCodeCasing {
    /// `invalidEmail`, `duplicateIdentifier`.
    #[default]
    Camel,
    /// `InvalidEmail`, `DuplicateIdentifier`.
    Pascal,
}

/// The status word of a finished Insight import (insight-data-v3.json: the schema enum says
/// `Complete`, its examples `Finished`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InsightFinishedStatus {
    #[default]
    Finished,
    Complete,
}

impl InsightFinishedStatus {
    pub(crate) fn word(self) -> &'static str {
        match self {
            InsightFinishedStatus::Finished => "Finished",
            InsightFinishedStatus::Complete => "Complete",
        }
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            contact_polls_to_finish: 1,
            insight_polls_to_finish: 1,
            finish_after_ms: Some(10_000),
            max_active_contact_imports: 25,
            max_active_insight_imports: 5,
            failure_code_casing: FailureCodeCasing::Camel,
            insight_finished_status: InsightFinishedStatus::Finished,
            key_owned_by_other_contact: "DuplicateKey".to_string(),
            max_body_bytes: 50_000_000,
            oversize_body_status: 400,
            contact_running_status: "NotFinished".to_string(),
            contact_end_status: None,
            insight_end_status: None,
        }
    }
}

/// How a contact PATCH naming an unknown data field is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownDataField {
    /// `400 contacts:badJson` naming the field.
    #[default]
    Reject,
    /// The field is created in the account (upper-cased, private, typed after the value:
    /// number → Numeric, boolean → Boolean, anything else String) and the value stored.
    AutoCreate,
}

/// The format of `X-RateLimit-Reset` (sources conflict, API.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResetMode {
    /// UTC epoch seconds at which the window ends.
    #[default]
    Epoch,
    /// Seconds until the window ends.
    Delta,
}

/// The tiered limiter (fixed windows per account and tier) and the optional flat hourly cap.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub window: Duration,
    /// Calls per window for the Low tier (imports).
    pub low_limit: u32,
    /// Calls per window for every other counted call (scope `High`).
    pub default_limit: u32,
    pub reset: ResetMode,
    /// Send `x-ratelimit-*` instead of `X-Ratelimit-*` (see the module docs on header case).
    pub lowercase_headers: bool,
    /// Also send `Retry-After` (seconds) on a 429.
    pub retry_after: bool,
    /// The flat scheme: the (n+1)th counted call within an hour gets `400 ERROR_APIUSAGE_EXCEEDED`.
    pub flat_hourly_limit: Option<u32>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            window: Duration::from_secs(60),
            low_limit: 35,
            default_limit: 1000,
            reset: ResetMode::Epoch,
            lowercase_headers: false,
            retry_after: false,
            flat_hourly_limit: None,
        }
    }
}

const DEMO_DATA_FIELDS: [(&str, DataFieldType); 10] = [
    ("FIRSTNAME", DataFieldType::String),
    ("LASTNAME", DataFieldType::String),
    ("FULLNAME", DataFieldType::String),
    ("GENDER", DataFieldType::String),
    ("POSTCODE", DataFieldType::String),
    ("LOYALTY_TIER", DataFieldType::String),
    ("MOBILE_OPT_IN", DataFieldType::Boolean),
    ("POINTS", DataFieldType::Numeric),
    ("BIRTHDAY", DataFieldType::Date),
    ("VIP", DataFieldType::Boolean),
];

/// The demo accounts' data fields; `VIP` defaults to `false`.
fn demo_data_fields() -> Vec<DataField> {
    DEMO_DATA_FIELDS
        .iter()
        .map(|(name, kind)| {
            let mut field = DataField::new(name, *kind);
            if *name == "VIP" {
                field.default_value = serde_json::Value::Bool(false);
            }
            field
        })
        .collect()
}

/// The demo accounts' campaigns: 9001 can be triggered; 9002 (already sent) and 9003 (a
/// draft) cannot.
fn demo_campaigns() -> Vec<Campaign> {
    vec![
        Campaign { id: 9001, name: "Gift certificate".into(), status: CampaignStatus::Triggered },
        Campaign { id: 9002, name: "Spring newsletter".into(), status: CampaignStatus::Sent },
        Campaign { id: 9003, name: "Summer newsletter (draft)".into(), status: CampaignStatus::Unsent },
    ]
}

impl SimConfig {
    /// Two demo accounts (r1 and r2) with campaigns 9001 (Triggered), 9002 (Sent) and 9003
    /// (Unsent), lists 123456 "Web shop" and 123457 "Newsletter", and typed data fields:
    /// FIRSTNAME, LASTNAME, FULLNAME, GENDER, POSTCODE, LOYALTY_TIER (String), MOBILE_OPT_IN
    /// and VIP (Boolean), POINTS (Numeric), BIRTHDAY (Date).
    pub fn demo() -> SimConfig {
        let demo_account = |id, name: &str, api_user: &str, api_password: &str, region: Region| SimAccount {
            id,
            name: name.to_string(),
            api_user: api_user.to_string(),
            api_password: api_password.to_string(),
            region,
            legacy_endpoint: false,
            campaigns: demo_campaigns(),
            lists: vec![AddressBook::new(123456, "Web shop"), AddressBook::new(123457, "Newsletter")],
            data_fields: demo_data_fields(),
            denied_areas: Vec::new(),
        };
        SimConfig {
            accounts: vec![
                demo_account(4711, "Acme Retail (demo)", "demo@apiconnector.com", "demo-password", Region::R1),
                demo_account(
                    4712,
                    "Acme North America (demo)",
                    "demo-r2@apiconnector.com",
                    "demo-r2-password",
                    Region::R2,
                ),
            ],
            rate_limit: RateLimitConfig::default(),
            unknown_data_field: UnknownDataField::Reject,
            max_string_length: 255,
            imports: ImportConfig::default(),
            contacts: ContactConfig::default(),
        }
    }

    /// The demo defaults with the accounts replaced by those in `path` (a JSON array of accounts).
    pub fn from_accounts_file(path: &Path) -> anyhow::Result<SimConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the accounts file {}", path.display()))?;
        let accounts: Vec<SimAccount> = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} must be a JSON array of accounts ({{id, name, api_user, api_password, region?, legacy_endpoint?, campaigns?, lists?, data_fields?, denied_areas?}})",
                path.display()
            )
        })?;
        check_accounts(&accounts).with_context(|| format!("in the accounts file {}", path.display()))?;
        Ok(SimConfig { accounts, ..SimConfig::demo() })
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::demo()
    }
}

/// Refuses account sets the simulator could not serve unambiguously (region and areas are
/// already typed).
pub(crate) fn check_accounts(accounts: &[SimAccount]) -> anyhow::Result<()> {
    if accounts.is_empty() {
        bail!("at least one account is needed");
    }
    let mut ids = HashSet::new();
    let mut users = HashSet::new();
    for account in accounts {
        let who = format!("account {} ({})", account.id, account.api_user);
        if !ids.insert(account.id) {
            bail!("{who}: the id {} is used twice", account.id);
        }
        if !users.insert(account.api_user.to_ascii_lowercase()) {
            bail!("{who}: the api_user is used twice");
        }
        let mut names = HashSet::new();
        for field in &account.data_fields {
            let name = &field.name;
            if !is_valid_data_field_name(name) {
                bail!("{who}: data field {name:?} must be 1-20 characters of A-Z, a-z, 0-9, _ or -");
            }
            if !names.insert(name.to_ascii_uppercase()) {
                bail!("{who}: data field {name:?} is listed twice (names compare case-insensitively)");
            }
        }
        let mut campaigns = HashSet::new();
        if let Some(twice) = account.campaigns.iter().find(|c| !campaigns.insert(c.id)) {
            bail!("{who}: campaign {} is listed twice", twice.id);
        }
        let mut lists = HashSet::new();
        if let Some(twice) = account.lists.iter().find(|l| !lists.insert(l.id)) {
            bail!("{who}: list {} is listed twice", twice.id);
        }
    }
    Ok(())
}

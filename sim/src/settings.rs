//! The behaviours a run can adjust where Dotdigital's documents are silent or conflict, and the
//! limits a client is tested against: plain data that the model's rules, the handlers and the
//! listeners read. Set at start ([`crate::SimConfig`]) and, for imports and contacts, while
//! running (`PATCH /_sim/import-config`, `/_sim/contact-config`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Dotdigital's largest request body: 50 MB for both imports
/// (developer.dotdigital.com/reference/importcontacts-1 and …/reference-link/importinsightdata),
/// read as 50,000,000 bytes, the stricter reading of "MB". The default of
/// [`ImportConfig::max_body_bytes`], and the control API's cap.
pub(crate) const MAX_BODY_BYTES: usize = 50_000_000;

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
/// where the documents leave it open (poll counts, status words, spellings), and the body cap.
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
    /// (default 1: the first GET says `NotFinished`, the second `Finished`; contacts-v3.json
    /// `getImportStatus` gives the words, not the timing). 0 finishes it on the first GET.
    pub contact_polls_to_finish: u32,
    /// Status GETs of an Insight import answered unfinished (the first `NotStarted`, later ones
    /// `Processing`, insight-data-v3.json `getImportStatus` enum) before one answers finished
    /// (default 1).
    pub insight_polls_to_finish: u32,
    /// An import nobody polls still finishes this long after it was accepted, as a real one
    /// would. `None`: only polls finish imports. Default 10 s (assumed: Dotdigital gives no
    /// processing time; its import page says to poll every 5-30 s,
    /// developer.dotdigital.com/reference-link/importinsightdata).
    pub finish_after_ms: Option<u64>,
    /// Unfinished contact imports an account may have; one more gets
    /// `429 contacts:tooManyActiveImports` (25: contacts-v3.json `importContacts` 429 example,
    /// and developer.dotdigital.com/reference/importcontacts-1).
    pub max_active_contact_imports: usize,
    /// Unfinished Insight imports an account may have; one more gets `429` (5 concurrent imports:
    /// developer.dotdigital.com/reference-link/importinsightdata; the answer is assumed).
    pub max_active_insight_imports: usize,
    /// `failureCode` spelling in contact import reports (camel by default, see
    /// [`FailureCodeCasing`]).
    pub failure_code_casing: FailureCodeCasing,
    /// The word a finished Insight import reports (insight-data-v3.json `getImportStatus`: the
    /// status enum says `Complete`, the examples `Finished`).
    pub insight_finished_status: InsightFinishedStatus,
    /// The `failureReason` of an imported record whose key another contact owns (default
    /// `DuplicateKey`; assumed: the documents name no reason for it); one of
    /// insight-data-v3.json's `failureReason` values.
    pub key_owned_by_other_contact: String,
    /// Largest request body accepted on any Dotdigital route (default [`MAX_BODY_BYTES`]).
    pub max_body_bytes: usize,
    /// The status a larger body gets (default 400; assumed: the documents give the limit, not
    /// the answer).
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

/// How contact import `failureCode`s are spelled: contacts-v3.json's `getImportStatus` examples
/// are camelCase (`invalidEmail`), the docs page PascalCase (`InvalidEmail`,
/// developer.dotdigital.com/reference-link/getimportstatus).
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
            max_body_bytes: MAX_BODY_BYTES,
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

/// The format of `X-RateLimit-Reset`: developer.dotdigital.com/docs/call-rate-limits names the
/// header; a summary of it reads epoch seconds, Dotdigital's PHP SDK (`dotmailer/dotdigital-php`)
/// seconds until the reset.
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

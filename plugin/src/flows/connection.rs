//! `validate-connection`: are the credentials right, which region serves the account, and
//! may the API user use each area the flows need? Run when the subscription is saved.

use super::validated_settings;
use crate::dotdigital::{segment, Session};
use crate::platform::Platform;
use crate::wit::{Account, AreaAccess, FieldIssue, Settings as RawSettings, SyncError};

/// An address no account holds: a 404 for it proves contacts are readable.
const PROBE_EMAIL: &str = "connection-check@example.com";
/// The data fields every customer sync writes.
const STANDARD_FIELDS: [&str; 3] = ["FIRSTNAME", "LASTNAME", "FULLNAME"];

/// `GET /v2/data-fields`: the names of the account's contact data fields.
fn data_fields(session: &mut Session) -> Result<Vec<String>, SyncError> {
    let reply = session.get("/v2/data-fields")?;
    if reply.status() != 200 {
        return Err(reply.into_error());
    }
    let fields = reply.json()?;
    Ok(fields
        .as_array()
        .map(|list| list.iter().filter_map(|f| f.get("name")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

pub fn validate_connection(platform: &dyn Platform, raw: &RawSettings) -> Result<Account, SyncError> {
    let settings = validated_settings(raw)?;
    let mut session = Session::open(platform, &settings)?;
    let info = match session.account() {
        Some(info) => info.clone(),
        None => session.discover()?,
    };
    if let Some(configured) = &settings.api_endpoint {
        if *configured != info.base {
            return Err(SyncError::InvalidSettings(vec![FieldIssue {
                field: "api_endpoint".into(),
                problem: format!("the account is served by {}; set api_endpoint to it or leave it empty", info.base),
            }]));
        }
    }
    let mut contacts = probe(&mut session, "contacts", &format!("/contacts/v3/email/{}", segment(PROBE_EMAIL)), |s| {
        matches!(s, 200 | 404).then_some(None)
    })?;
    if contacts.allowed {
        // Dotdigital refuses a contact that names a data field the account lacks: catch a
        // mapping to a missing field now rather than on every customer.
        let existing = data_fields(&mut session)?;
        let has = |name: &str| existing.iter().any(|f| f.eq_ignore_ascii_case(name));
        let issues: Vec<FieldIssue> = settings
            .data_field_map
            .iter()
            .enumerate()
            .filter(|(_, m)| !has(&m.data_field))
            .map(|(i, m)| FieldIssue {
                field: format!("data_field_map[{i}].data_field"),
                problem: format!(
                    "the account has no contact data field {} (create it in Settings > Contacts > Contact data fields)",
                    m.data_field
                ),
            })
            .collect();
        if !issues.is_empty() {
            return Err(SyncError::InvalidSettings(issues));
        }
        let missing: Vec<&str> = STANDARD_FIELDS.into_iter().filter(|f| !has(f)).collect();
        if !missing.is_empty() {
            contacts.detail =
                Some(format!("names will not be stored: the account lacks the data field(s) {}", missing.join(", ")));
        }
    }
    let insight = probe(&mut session, "insight-data", "/insightData/v3/collections", |s| (s == 200).then_some(None))?;
    let campaigns = match settings.certificate_campaign_id {
        Some(id) => probe(&mut session, "triggered-campaigns", &format!("/v2/campaigns/{id}"), |s| match s {
            200 => Some(None),
            404 => Some(Some(format!("campaign {id} (certificate_campaign_id) does not exist"))),
            _ => None,
        })?,
        None => AreaAccess {
            area: "triggered-campaigns".into(),
            allowed: true,
            detail: Some("not checked: no certificate_campaign_id set".into()),
        },
    };
    Ok(Account { id: info.id, name: info.name, api_endpoint: info.base, areas: vec![contacts, insight, campaigns] })
}

/// One cheap read in an area. `judge` maps a status to `Some(detail)` when the area is
/// usable (a detail makes it unusable for another reason); a 403 means no permission.
fn probe(
    session: &mut Session,
    area: &str,
    path: &str,
    judge: impl Fn(u16) -> Option<Option<String>>,
) -> Result<AreaAccess, SyncError> {
    match session.get(path) {
        Ok(reply) => match judge(reply.status()) {
            Some(detail) => Ok(AreaAccess { area: area.into(), allowed: detail.is_none(), detail }),
            None => Err(reply.into_error()),
        },
        Err(SyncError::Forbidden(remote)) => Ok(AreaAccess {
            area: area.into(),
            allowed: false,
            detail: Some(format!("the API user may not use this area ({}: {})", remote.endpoint, remote.message)),
        }),
        Err(other) => Err(other),
    }
}

//! `validate-connection`: are the credentials right, which region serves the account, may the
//! API user use each area the flows need, and will anything the settings name make a sync
//! fail? Run when the subscription is saved; every problem is listed at once.

use crate::dotdigital::{data_fields, segment, Session};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::validation::issue;
use crate::wit::{Account, AreaAccess, FieldIssue, RemoteError, Settings as RawSettings, SyncError};

/// An address no account holds: a 404 for it proves contacts are readable.
const PROBE_EMAIL: &str = "connection-check@example.com";

/// Campaign statuses a triggered send can use. v2.json `ApiCampaign.status` (enum
/// `ApiCampaignStatuses`) lists Unsent, Sending, Sent, Paused, Cancelled,
/// RequiresSystemApproval, RequiresSMSApproval, RequiresWorkflowApproval, Triggered and
/// NotAvailableInThisVersion, but neither the spec nor the docs say which of them a
/// triggered send accepts. The stricter reading is taken: only `Triggered`. A campaign that
/// is `Unsent` may be one built for triggered sends that never fired, or a draft meant for a
/// list; `validate` says so rather than let the first certificate find out.
const TRIGGERABLE_STATUSES: [&str; 1] = ["Triggered"];

pub fn validate_connection(platform: &dyn Platform, raw: &RawSettings) -> Result<Account, SyncError> {
    // The settings' own problems are listed with the account's, not instead of them: only
    // credentials that cannot sign in stop the check (nothing else could be judged).
    let (settings, own_problems) = Settings::read(raw);
    if own_problems.iter().any(|p| p.field == "api_user" || p.field == "api_password") {
        return Err(SyncError::InvalidSettings(own_problems));
    }
    // With problems of its own, a refusal of the account is one more problem of the settings,
    // listed with them (else `unauthorized` alone would hide them until it is fixed).
    let with_own = |error: SyncError, field: &str, problem: String| match own_problems.is_empty() {
        true => error,
        false => SyncError::InvalidSettings(own_problems.iter().cloned().chain([issue(field, problem)]).collect()),
    };
    let mut session = Session::open(platform, &settings)?;
    let info = match session.account() {
        Some(info) => info.clone(),
        None => match session.discover() {
            Ok(info) => info,
            Err(SyncError::Unauthorized(remote)) => {
                let problem = format!("Dotdigital refused the API user or password ({})", remote.message);
                return Err(with_own(SyncError::Unauthorized(remote), "api_password", problem));
            }
            Err(other) => return Err(other),
        },
    };
    if let Some(configured) = &settings.api_endpoint {
        // Every probe would answer 403 from the wrong region: nothing else can be judged.
        if *configured != info.base {
            let problem = format!("the account is served by {}; set api_endpoint to it or leave it empty", info.base);
            let alone = SyncError::InvalidSettings(vec![issue("api_endpoint", problem.clone())]);
            return Err(with_own(alone, "api_endpoint", problem));
        }
    }
    let mut problems = own_problems;

    let mut contacts = probe(&mut session, "contacts", &format!("/contacts/v3/email/{}", segment(PROBE_EMAIL)), |s| {
        matches!(s, 200 | 404)
    })?;
    if contacts.allowed {
        // Fresh, not cached: the settings are being saved, and the syncs reuse this read.
        let fields = data_fields::fetch(&mut session)?;
        if let Err(issues) = fields.typed_mappings(&settings.data_field_map) {
            problems.extend(issues);
        }
        let missing = fields.missing_name_fields();
        if !missing.is_empty() {
            contacts.detail = Some(format!(
                "names will not be stored: the account lacks the String data field(s) {}",
                missing.join(", ")
            ));
        }
        problems.extend(missing_lists(&mut session, &settings)?);
    }
    let insight = probe(&mut session, "insight-data", "/insightData/v3/collections", |s| s == 200)?;
    let campaigns = match settings.certificate_campaign_id {
        Some(id) => campaign(&mut session, id, &mut problems)?,
        None => AreaAccess {
            area: "triggered-campaigns".into(),
            allowed: true,
            detail: Some("not checked: no certificate_campaign_id set".into()),
        },
    };
    let areas = vec![contacts, insight, campaigns];
    for area in areas.iter().filter(|a| !a.allowed) {
        problems.push(issue(
            "api_user",
            format!("may not use the {} area: {}", area.area, area.detail.as_deref().unwrap_or("access denied")),
        ));
    }
    Ok(Account { id: info.id, name: info.name, api_endpoint: info.base, areas, problems })
}

/// `GET /v2/address-books/{id}` for each list the settings name: 200 exists, 404 missing.
fn missing_lists(session: &mut Session, settings: &Settings) -> Result<Vec<FieldIssue>, SyncError> {
    let mut problems = Vec::new();
    for (key, ids) in [("list_ids", &settings.list_ids), ("marketing_list_ids", &settings.marketing_list_ids)] {
        for (i, id) in ids.iter().enumerate() {
            let reply = session.get(&format!("/v2/address-books/{id}"))?;
            match reply.status() {
                200 => {}
                404 => problems.push(issue(format!("{key}[{i}]"), format!("the account has no list {id}"))),
                _ => return Err(reply.into_error()),
            }
        }
    }
    Ok(problems)
}

/// `GET /v2/campaigns/{id}`: the campaign exists and its status allows a triggered send.
fn campaign(session: &mut Session, id: u32, problems: &mut Vec<FieldIssue>) -> Result<AreaAccess, SyncError> {
    let area = "triggered-campaigns";
    let reply = match session.get(&format!("/v2/campaigns/{id}")) {
        Ok(reply) => reply,
        Err(SyncError::Forbidden(remote)) => return Ok(denied(area, &remote)),
        Err(other) => return Err(other),
    };
    let mut unusable = None;
    match reply.status() {
        200 => {
            let json = reply.json()?;
            let status = json.get("status").and_then(|s| s.as_str());
            if !status.is_some_and(|s| TRIGGERABLE_STATUSES.iter().any(|ok| ok.eq_ignore_ascii_case(s))) {
                unusable = Some(format!(
                    "campaign {id} has status {}, so it cannot be used for a triggered send (usable: {})",
                    status.unwrap_or("(none given)"),
                    TRIGGERABLE_STATUSES.join(" or ")
                ));
            }
        }
        404 => unusable = Some(format!("campaign {id} does not exist in the account")),
        _ => return Err(reply.into_error()),
    }
    if let Some(problem) = &unusable {
        problems.push(issue("certificate_campaign_id", problem.clone()));
    }
    Ok(AreaAccess { area: area.into(), allowed: true, detail: unusable })
}

/// One cheap read in an area: `usable` says which statuses prove access; a 403 means no
/// permission; any other answer is the call's typed error.
fn probe(session: &mut Session, area: &str, path: &str, usable: impl Fn(u16) -> bool) -> Result<AreaAccess, SyncError> {
    match session.get(path) {
        Ok(reply) if usable(reply.status()) => Ok(AreaAccess { area: area.into(), allowed: true, detail: None }),
        Ok(reply) => Err(reply.into_error()),
        Err(SyncError::Forbidden(remote)) => Ok(denied(area, &remote)),
        Err(other) => Err(other),
    }
}

/// An area the API user may not use (a 403 after the region was rediscovered).
fn denied(area: &str, remote: &RemoteError) -> AreaAccess {
    AreaAccess {
        area: area.into(),
        allowed: false,
        detail: Some(format!("the API user may not use this area ({}: {})", remote.endpoint, remote.message)),
    }
}

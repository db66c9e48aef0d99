//! `validate-connection`: are the credentials right, which region serves the account, may the
//! API user use each area the flows need, and will anything the settings name make a sync
//! fail? Run when the subscription is saved; every problem is listed at once.

use crate::dotdigital::campaigns::{self, TRIGGERABLE_STATUSES};
use crate::dotdigital::{contacts, data_fields, insight, lists, Session};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::validation::issue;
use crate::wit::{Account, AreaAccess, FieldIssue, RemoteError, Settings as RawSettings, SyncError};

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

    let mut contacts = area("contacts", contacts::can_read(&mut session))?;
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
    let insight = area("insight-data", insight::can_read(&mut session))?;
    let campaigns = match settings.certificate_campaign_id {
        Some(id) => {
            let (access, problem) = campaign(&mut session, id)?;
            problems.extend(problem);
            access
        }
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

/// Each list the settings name that the account lacks.
fn missing_lists(session: &mut Session, settings: &Settings) -> Result<Vec<FieldIssue>, SyncError> {
    let mut problems = Vec::new();
    for (key, ids) in [("list_ids", &settings.list_ids), ("marketing_list_ids", &settings.marketing_list_ids)] {
        for (i, id) in ids.iter().enumerate() {
            if !lists::exists(session, *id)? {
                problems.push(issue(format!("{key}[{i}]"), format!("the account has no list {id}")));
            }
        }
    }
    Ok(problems)
}

/// The certificate campaign exists and its status allows a triggered send; if not, the
/// settings problem that says so.
fn campaign(session: &mut Session, id: u32) -> Result<(AreaAccess, Option<FieldIssue>), SyncError> {
    let area = "triggered-campaigns";
    let campaign = match campaigns::get(session, id) {
        Ok(campaign) => campaign,
        Err(SyncError::Forbidden(remote)) => return Ok((denied(area, &remote), None)),
        Err(other) => return Err(other),
    };
    let unusable = match campaign {
        Some(campaign) if campaign.triggerable() => None,
        Some(campaign) => Some(format!(
            "campaign {id} has status {}, so it cannot be used for a triggered send (usable: {})",
            campaign.status.as_deref().unwrap_or("(none given)"),
            TRIGGERABLE_STATUSES.join(" or ")
        )),
        None => Some(format!("campaign {id} does not exist in the account")),
    };
    let problem = unusable.clone().map(|problem| issue("certificate_campaign_id", problem));
    Ok((AreaAccess { area: area.into(), allowed: true, detail: unusable }, problem))
}

/// What one cheap read in an area says of access: a 403 means no permission; any other
/// failure is the call's typed error.
fn area(area: &str, read: Result<(), SyncError>) -> Result<AreaAccess, SyncError> {
    match read {
        Ok(()) => Ok(AreaAccess { area: area.into(), allowed: true, detail: None }),
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

//! Who may call what: Basic credentials pick the account, the `Host` header's `rN` prefix
//! picks the region, and an account's denied areas close whole groups of routes.

use base64::Engine;

use super::config::SimAccount;

pub(crate) const REGIONS: [&str; 3] = ["r1", "r2", "r3"];

/// A group of routes an API user may be refused (Settings > Access in Dotdigital).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    /// `/contacts/v3/*`
    Contacts,
    /// `/insightData/v3/*`
    InsightData,
    /// `/v2/email/triggered-campaign*` and `/v2/campaigns/*`
    TriggeredCampaigns,
}

impl Area {
    pub(crate) fn parse(name: &str) -> Option<Area> {
        match name.to_ascii_lowercase().as_str() {
            "contacts" => Some(Area::Contacts),
            "insight-data" => Some(Area::InsightData),
            "triggered-campaigns" => Some(Area::TriggeredCampaigns),
            _ => None,
        }
    }

    pub(crate) fn of_path(path: &str) -> Option<Area> {
        let path = path.to_ascii_lowercase();
        if path.starts_with("/contacts/v3/") || path == "/contacts/v3" || path.starts_with("/v2/data-fields") {
            Some(Area::Contacts)
        } else if path.starts_with("/insightdata/v3/") || path == "/insightdata/v3" {
            Some(Area::InsightData)
        } else if path.starts_with("/v2/email/triggered-campaign") || path.starts_with("/v2/campaigns/") {
            Some(Area::TriggeredCampaigns)
        } else {
            None
        }
    }
}

/// The region a request was sent to: the `rN` prefix of its host; any other host is r1.
pub(crate) fn region_of_host(host: &str) -> &'static str {
    let host = host.trim().to_ascii_lowercase();
    REGIONS.iter().find(|region| host.starts_with(&format!("{region}-"))).copied().unwrap_or("r1")
}

/// The index of the account whose API user and password the `Authorization` header carries.
pub(crate) fn authenticate<'a>(
    accounts: impl IntoIterator<Item = &'a SimAccount>,
    authorization: Option<&str>,
) -> Option<usize> {
    let (user, password) = basic_credentials(authorization?)?;
    accounts.into_iter().position(|a| a.api_user.eq_ignore_ascii_case(&user) && a.api_password == password)
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

pub(crate) fn denies(account: &SimAccount, area: Area) -> bool {
    account.denied_areas.iter().any(|name| Area::parse(name) == Some(area))
}

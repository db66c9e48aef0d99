//! Access areas: groups of routes an API user may be refused (Settings > Access in Dotdigital).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A group of routes an account's API user may lack; configured by [`Area::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Area {
    /// `/contacts/v3/*`, `/v2/data-fields` and `/v2/address-books/*`
    Contacts,
    /// `/insightData/v3/*`
    InsightData,
    /// `/v2/email/triggered-campaign*` and `/v2/campaigns/*`
    TriggeredCampaigns,
}

impl Area {
    pub const ALL: [Area; 3] = [Area::Contacts, Area::InsightData, Area::TriggeredCampaigns];

    /// `contacts`, `insight-data` or `triggered-campaigns`.
    pub fn name(self) -> &'static str {
        match self {
            Area::Contacts => "contacts",
            Area::InsightData => "insight-data",
            Area::TriggeredCampaigns => "triggered-campaigns",
        }
    }

    /// A configured name, in any casing.
    pub fn parse(name: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|area| area.name().eq_ignore_ascii_case(name))
    }

    /// The area a request path belongs to; `None` for paths every API user may call.
    pub(crate) fn of_path(path: &str) -> Option<Area> {
        let path = path.to_ascii_lowercase();
        if path.starts_with("/contacts/v3/")
            || path == "/contacts/v3"
            || path.starts_with("/v2/data-fields")
            || path.starts_with("/v2/address-books")
        {
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

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Area {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The error names the field, so an accounts file points at what to fix.
impl<'de> Deserialize<'de> for Area {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Area, D::Error> {
        let name = String::deserialize(deserializer)?;
        Area::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "denied_areas may hold contacts, insight-data, triggered-campaigns, not {name:?}"
            ))
        })
    }
}

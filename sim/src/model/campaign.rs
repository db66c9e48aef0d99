//! Email campaigns of an account as v2.json `ApiCampaign` describes them, with the status
//! (`ApiCampaignStatuses`) that decides whether a triggered send may use one.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// v2.json `ApiCampaignStatuses` (without `NotAvailableInThisVersion`, a version marker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CampaignStatus {
    Unsent,
    Sending,
    Sent,
    Paused,
    Cancelled,
    RequiresSystemApproval,
    RequiresSMSApproval,
    RequiresWorkflowApproval,
    Triggered,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 9] = [
        CampaignStatus::Unsent,
        CampaignStatus::Sending,
        CampaignStatus::Sent,
        CampaignStatus::Paused,
        CampaignStatus::Cancelled,
        CampaignStatus::RequiresSystemApproval,
        CampaignStatus::RequiresSMSApproval,
        CampaignStatus::RequiresWorkflowApproval,
        CampaignStatus::Triggered,
    ];

    /// The `ApiCampaignStatuses` spelling.
    pub fn name(self) -> &'static str {
        match self {
            CampaignStatus::Unsent => "Unsent",
            CampaignStatus::Sending => "Sending",
            CampaignStatus::Sent => "Sent",
            CampaignStatus::Paused => "Paused",
            CampaignStatus::Cancelled => "Cancelled",
            CampaignStatus::RequiresSystemApproval => "RequiresSystemApproval",
            CampaignStatus::RequiresSMSApproval => "RequiresSMSApproval",
            CampaignStatus::RequiresWorkflowApproval => "RequiresWorkflowApproval",
            CampaignStatus::Triggered => "Triggered",
        }
    }

    /// A configured name, in any casing.
    pub fn parse(name: &str) -> Option<CampaignStatus> {
        CampaignStatus::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One email campaign (v2.json `ApiCampaign`: id, name, subject, fromName, status, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// int32 in v2.json; positive.
    pub id: u32,
    pub name: String,
    pub status: CampaignStatus,
}

impl Campaign {
    /// A triggered campaign named after its id.
    pub fn triggered(id: u32) -> Campaign {
        Campaign { id, name: format!("Triggered campaign {id}"), status: CampaignStatus::Triggered }
    }

    /// Whether `POST /v2/email/triggered-campaign` may send it. The documents are silent on
    /// which statuses qualify; the transactional-email docs speak only of "a triggered campaign
    /// as set up in Dotdigital", so the stricter reading is taken: status `Triggered` only.
    pub(crate) fn can_be_triggered(&self) -> bool {
        self.status == CampaignStatus::Triggered
    }

    /// An accounts-file entry: a plain id (a `Triggered` campaign, as older files meant it) or
    /// `{id, name?, status?}` (status `Triggered` when absent).
    fn from_config(value: Value) -> Result<Campaign, String> {
        let mut object: Map<String, Value> = match value {
            Value::Object(object) => object,
            other => return positive_id(&other).map(Campaign::triggered),
        };
        let id = positive_id(&object.remove("id").unwrap_or(Value::Null))?;
        let mut campaign = Campaign::triggered(id);
        match object.remove("name") {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) if (1..=255).contains(&name.chars().count()) => campaign.name = name,
            Some(other) => return Err(format!("campaign {id}: name must be 1-255 characters, not {other}")),
        }
        match object.remove("status") {
            None | Some(Value::Null) => {}
            Some(Value::String(status)) => {
                campaign.status = CampaignStatus::parse(&status).ok_or_else(|| {
                    let allowed: Vec<&str> = CampaignStatus::ALL.iter().map(|s| s.name()).collect();
                    format!("campaign {id}: status must be one of {}, not {status:?}", allowed.join(", "))
                })?
            }
            Some(other) => return Err(format!("campaign {id}: status must be a string, not {other}")),
        }
        if let Some(unknown) = object.keys().next() {
            return Err(format!("campaign {id}: unknown key {unknown:?} (allowed: id, name, status)"));
        }
        Ok(campaign)
    }
}

/// A positive int32, as v2 ids are.
pub(crate) fn positive_id(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .filter(|id| (1..=i32::MAX as u64).contains(id))
        .map(|id| id as u32)
        .ok_or_else(|| format!("an id must be a positive int32, not {value}"))
}

impl<'de> Deserialize<'de> for Campaign {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Campaign, D::Error> {
        Campaign::from_config(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

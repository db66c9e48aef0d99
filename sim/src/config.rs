//! What a simulator run is configured with: the accounts it knows (the demo pair, or an accounts
//! file) and the settings of `settings.rs`. Accounts are parsed into the typed model once, here;
//! a bad one is refused naming its field.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context};

use crate::model::{
    is_valid_data_field_name, AddressBook, Campaign, CampaignStatus, DataField, DataFieldType, Region, SimAccount,
};
use crate::settings::{ContactConfig, ImportConfig, RateLimitConfig, UnknownDataField};

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

/// One of the accounts `SimConfig::demo()` holds: what the demo, the benchmark and the tests
/// sign in with, stated once.
#[derive(Clone, Copy, Debug)]
pub struct DemoAccount {
    pub id: i64,
    pub name: &'static str,
    pub api_user: &'static str,
    pub api_password: &'static str,
    pub region: Region,
}

/// The demo account in r1.
pub const DEMO_ACCOUNT: DemoAccount = DemoAccount {
    id: 4711,
    name: "Acme Retail (demo)",
    api_user: "demo@apiconnector.com",
    api_password: "demo-password",
    region: Region::R1,
};

/// The demo account in r2.
pub const DEMO_R2_ACCOUNT: DemoAccount = DemoAccount {
    id: 4712,
    name: "Acme North America (demo)",
    api_user: "demo-r2@apiconnector.com",
    api_password: "demo-r2-password",
    region: Region::R2,
};

impl SimConfig {
    /// Two demo accounts (r1 and r2) with campaigns 9001 (Triggered), 9002 (Sent) and 9003
    /// (Unsent), lists 123456 "Web shop" and 123457 "Newsletter", and typed data fields:
    /// FIRSTNAME, LASTNAME, FULLNAME, GENDER, POSTCODE, LOYALTY_TIER (String), MOBILE_OPT_IN
    /// and VIP (Boolean), POINTS (Numeric), BIRTHDAY (Date).
    pub fn demo() -> SimConfig {
        let demo_account = |demo: DemoAccount| SimAccount {
            id: demo.id,
            name: demo.name.to_string(),
            api_user: demo.api_user.to_string(),
            api_password: demo.api_password.to_string(),
            region: demo.region,
            legacy_endpoint: false,
            campaigns: demo_campaigns(),
            lists: vec![AddressBook::new(123456, "Web shop"), AddressBook::new(123457, "Newsletter")],
            data_fields: demo_data_fields(),
            denied_areas: Vec::new(),
        };
        SimConfig {
            accounts: vec![demo_account(DEMO_ACCOUNT), demo_account(DEMO_R2_ACCOUNT)],
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

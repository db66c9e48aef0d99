//! One configured Dotdigital account and the API user that reaches it.

use serde::{Deserialize, Serialize};

use super::address_book::AddressBook;
use super::area::Area;
use super::campaign::Campaign;
use super::data_fields::DataField;
use super::region::Region;

/// One Dotdigital account; region and denied areas are typed, so an accounts file with a bad
/// one is refused when it is read.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimAccount {
    pub id: i64,
    pub name: String,
    pub api_user: String,
    pub api_password: String,
    /// The only API host this account answers on (r1 by default).
    #[serde(default)]
    pub region: Region,
    /// `account-info` reports the legacy host `https://rN-api.dotmailer.com/` as `ApiEndpoint`
    /// (Dotdigital's older hosts, developer.dotdigital.com/docs/api-end-points); requests still
    /// arrive on the `rN-api.dotdigital.com` hosts.
    #[serde(default)]
    pub legacy_endpoint: bool,
    /// Email campaigns with their status; configured as ids (triggered) or `{id, name?, status?}`.
    #[serde(default)]
    pub campaigns: Vec<Campaign>,
    /// Address books (lists); configured as ids or `{id, name?, visibility?}`.
    #[serde(default)]
    pub lists: Vec<AddressBook>,
    /// Contact data fields with their types; configured as names (String) or
    /// `{name, type, visibility?, default_value?}`. Names compare case-insensitively.
    #[serde(default)]
    pub data_fields: Vec<DataField>,
    /// Areas the API user lacks (403).
    #[serde(default)]
    pub denied_areas: Vec<Area>,
}

impl SimAccount {
    /// The API user compares case-insensitively, the password exactly.
    pub(crate) fn accepts(&self, api_user: &str, api_password: &str) -> bool {
        self.api_user.eq_ignore_ascii_case(api_user) && self.api_password == api_password
    }

    pub(crate) fn denies(&self, area: Area) -> bool {
        self.denied_areas.contains(&area)
    }

    pub(crate) fn campaign(&self, id: u32) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }

    pub(crate) fn list(&self, id: u32) -> Option<&AddressBook> {
        self.lists.iter().find(|l| l.id == id)
    }

    /// The `ApiEndpoint` that `account-info` reports, with its trailing slash.
    pub(crate) fn api_endpoint(&self) -> String {
        let domain = if self.legacy_endpoint { "dotmailer" } else { "dotdigital" };
        format!("https://{}-api.{domain}.com/", self.region.name())
    }
}

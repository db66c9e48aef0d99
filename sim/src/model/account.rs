//! One configured Dotdigital account and the API user that reaches it.

use serde::{Deserialize, Serialize};

use super::area::Area;
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
    /// Triggered campaigns that exist.
    #[serde(default)]
    pub campaigns: Vec<u32>,
    /// Address books (lists) that exist.
    #[serde(default)]
    pub lists: Vec<u32>,
    /// Contact data fields that exist; names compare case-insensitively.
    #[serde(default)]
    pub data_fields: Vec<String>,
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
}

//! Dotdigital's regions: each account lives on one, and the API host's `rN-` prefix names it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The region an account lives on; configured as `r1`, `r2` or `r3`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Region {
    #[default]
    R1,
    R2,
    R3,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::R1, Region::R2, Region::R3];

    /// `r1`, `r2` or `r3`, as hosts and configuration spell it.
    pub fn name(self) -> &'static str {
        match self {
            Region::R1 => "r1",
            Region::R2 => "r2",
            Region::R3 => "r3",
        }
    }

    /// Exactly `r1`, `r2` or `r3`.
    pub fn parse(name: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|region| region.name() == name)
    }

    /// Currency and time zone `account-info` reports, so the r2 demo account looks North
    /// American (`CurrencyCode`, `TimeZoneIana`; the r1/r2/r3 areas are Europe, North America
    /// and Asia Pacific, developer.dotdigital.com/docs/api-end-points).
    pub(crate) fn locale(self) -> (&'static str, &'static str) {
        match self {
            Region::R1 => ("GBP", "Europe/London"),
            Region::R2 => ("USD", "America/New_York"),
            Region::R3 => ("AUD", "Australia/Sydney"),
        }
    }

    /// The region a request was sent to: the `rN-` prefix of its host; any other host is r1.
    pub(crate) fn of_host(host: &str) -> Region {
        let host = host.trim().to_ascii_lowercase();
        Region::ALL.into_iter().find(|region| host.starts_with(&format!("{}-", region.name()))).unwrap_or(Region::R1)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The error names the field, so an accounts file points at what to fix.
impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Region, D::Error> {
        let name = String::deserialize(deserializer)?;
        Region::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("region must be one of r1, r2, r3, not {name:?}")))
    }
}

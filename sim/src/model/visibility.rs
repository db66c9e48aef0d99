//! Who may see a data field or an address book: v2.json `ApiDataFieldVisibility` and
//! `ApiAddressBookVisibility`, both `Private | Public` (the enums' `NotAvailableInThisVersion`
//! is a version marker, not a setting, so configuration cannot choose it).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    /// The default for a new data field (v2 "Create data field" docs: private by default).
    #[default]
    Private,
    Public,
}

impl Visibility {
    pub fn name(self) -> &'static str {
        match self {
            Visibility::Private => "Private",
            Visibility::Public => "Public",
        }
    }

    /// A configured name, in any casing.
    pub fn parse(name: &str) -> Option<Visibility> {
        [Visibility::Private, Visibility::Public].into_iter().find(|v| v.name().eq_ignore_ascii_case(name))
    }
}

impl Serialize for Visibility {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Visibility {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Visibility, D::Error> {
        let name = String::deserialize(deserializer)?;
        Visibility::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("visibility must be Private or Public, not {name:?}")))
    }
}

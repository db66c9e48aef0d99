//! Address books (lists) of an account as v2.json `ApiAddressBook` describes them (id, name,
//! visibility, contacts); a contact's memberships are kept on the contact.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::campaign::positive_id;
use super::visibility::Visibility;

/// Most contact ids one bulk removal from a list takes ("bulk deletes ≤ 5000",
/// developer.dotdigital.com call limits); more are refused, the stricter reading of a limit the
/// v2 schema does not state.
pub(crate) const MAX_BULK_REMOVAL: usize = 5000;

/// One list. Its `contacts` count is not stored: it is counted from the contacts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressBook {
    /// int32 in v2.json; positive.
    pub id: u32,
    /// 1-128 characters (`ApiAddressBook.name` minLength 1; contacts-v3.json `contact_lists.name`
    /// maxLength 128).
    pub name: String,
    pub visibility: Visibility,
}

impl AddressBook {
    /// A private list named after its id.
    pub fn new(id: u32, name: &str) -> AddressBook {
        AddressBook { id, name: name.to_string(), visibility: Visibility::Private }
    }

    /// An accounts-file entry: a plain id (named `List <id>`, private) or `{id, name?, visibility?}`.
    fn from_config(value: Value) -> Result<AddressBook, String> {
        let mut object: Map<String, Value> = match value {
            Value::Object(object) => object,
            other => return positive_id(&other).map(|id| AddressBook::new(id, &format!("List {id}"))),
        };
        let id = positive_id(&object.remove("id").unwrap_or(Value::Null))?;
        let mut book = AddressBook::new(id, &format!("List {id}"));
        match object.remove("name") {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) if (1..=128).contains(&name.chars().count()) => book.name = name,
            Some(other) => return Err(format!("list {id}: name must be 1-128 characters, not {other}")),
        }
        match object.remove("visibility") {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => {
                book.visibility = Visibility::parse(&v)
                    .ok_or_else(|| format!("list {id}: visibility must be Private or Public, not {v:?}"))?
            }
            Some(other) => return Err(format!("list {id}: visibility must be a string, not {other}")),
        }
        if let Some(unknown) = object.keys().next() {
            return Err(format!("list {id}: unknown key {unknown:?} (allowed: id, name, visibility)"));
        }
        Ok(book)
    }
}

impl<'de> Deserialize<'de> for AddressBook {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AddressBook, D::Error> {
        AddressBook::from_config(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

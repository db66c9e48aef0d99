//! The typed model at the base of the simulator: pure state and Dotdigital's rules, no HTTP.
//! Regions, access areas, accounts (typed data fields, lists, campaigns with a status),
//! contacts and the rules a contact write follows (validation, merge options, identifier
//! uniqueness), Insight collections and records, the two bulk imports, triggered sends, and the
//! call counters of the rate limits. Nothing here knows about routes, status codes, locks or
//! listeners; configuration is parsed into these types once, when an account is set up.

mod account;
mod account_state;
mod address_book;
mod area;
mod campaign;
mod contact;
mod contact_import;
mod contact_patch;
mod contact_writes;
mod data_fields;
mod guid;
mod identifiers;
mod import_book;
mod import_progress;
mod insight;
mod insight_import;
mod merge;
mod region;
mod schema;
mod send;
mod usage;
mod visibility;

pub use account::SimAccount;
pub(crate) use account_state::AccountState;
pub use address_book::AddressBook;
pub(crate) use address_book::MAX_BULK_REMOVAL;
pub use area::Area;
pub use campaign::{Campaign, CampaignStatus};
pub(crate) use contact::{ConfirmationEmail, FIRST_CONTACT_ID};
pub(crate) use contact_patch::{read_contact, ContactPatch, ContactPolicy, ContactRules, ContactSchema};
pub(crate) use contact_writes::ContactWrite;
pub(crate) use data_fields::is_valid_data_field_name;
pub use data_fields::{DataField, DataFieldType};
pub(crate) use guid::guid;
pub(crate) use identifiers::{decode_segment, is_valid_email, ContactKey};
pub(crate) use import_book::{ContactImport, ImportKind, InsightImport, Payload};
pub(crate) use import_progress::{ImportContext, ImportLookup};
pub(crate) use insight::{
    is_valid_collection_name, Collection, CollectionScope, CollectionType, Creation, RecordRefusal,
};
pub(crate) use insight_import::ImportClash;
pub(crate) use merge::MergeOption;
pub use region::Region;
pub use send::Send;
pub(crate) use send::{MAX_ADDRESSES, MAX_METADATA_CHARS};
pub(crate) use usage::{Admission, Tier, WindowReport, NOMINAL_HOURLY_ALLOWANCE};
pub use visibility::Visibility;

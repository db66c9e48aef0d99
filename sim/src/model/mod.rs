//! The typed model at the base of the simulator: regions, access areas, accounts (typed data
//! fields, lists, campaigns with a status), contacts,
//! Insight collections and records, and triggered sends. Nothing here knows about HTTP routing,
//! locks or listeners; configuration is parsed into these types once, when an account is set up.

mod account;
mod address_book;
mod area;
mod campaign;
mod contact;
mod data_fields;
mod identifiers;
mod insight;
mod region;
mod schema;
mod send;
mod visibility;

pub use account::SimAccount;
pub use address_book::AddressBook;
pub use area::Area;
pub use campaign::{Campaign, CampaignStatus};
pub(crate) use contact::{
    ChannelStatus, ConfirmationEmail, Contact, ContactBook, EmailType, OptInType, FIRST_CONTACT_ID,
};
pub(crate) use data_fields::is_valid_data_field_name;
pub use data_fields::{DataField, DataFieldType};
pub(crate) use identifiers::{decode_segment, is_valid_email, is_valid_mobile_number, ContactKey};
pub(crate) use insight::{Collection, CollectionScope, CollectionType, InsightRecord, InsightStore};
pub use region::Region;
pub(crate) use schema::RecordProblem;
pub use send::Send;
pub use visibility::Visibility;

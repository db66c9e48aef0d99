//! Transaction → contact-scoped insight record keyed by the transaction number.
//!
//! The single-record PUT creates neither the contact nor the collection, so the flow does
//! what the API's 404s ask: create the missing one, then repeat the PUT (both are upserts,
//! so a host retry at any point is safe).

use super::{name_fields, outcome, upsert_contact, validated_settings};
use crate::dotdigital::{segment, Session};
use crate::mapping::contact::{contact_for_order, ContactUpsert};
use crate::mapping::data_fields::NameFields;
use crate::mapping::order::{plan_order, OrderPlan};
use crate::platform::{LogLevel, Method, Platform};
use crate::settings::OrderContacts;
use crate::wit::{Settings as RawSettings, SyncAction, SyncError, SyncOutcome, Transaction};

pub fn sync_order(
    platform: &dyn Platform,
    raw: &RawSettings,
    contacts: Option<&str>,
    tx: &Transaction,
) -> Result<SyncOutcome, SyncError> {
    let settings = validated_settings(raw)?;
    let contacts = OrderContacts::validate(contacts)?;
    let order = match plan_order(&settings, tx).map_err(SyncError::InvalidRecord)? {
        OrderPlan::Skip { reason } => {
            platform.log(LogLevel::Info, &format!("transaction {} skipped: {reason}", tx.id));
            let key = tx.transaction_number.clone().unwrap_or_else(|| tx.id.clone());
            return Ok(outcome(key, SyncAction::Skipped, 0, vec![reason]));
        }
        OrderPlan::Upsert(order) => order,
    };
    let mut session = Session::open(platform, &settings)?;
    let mut messages = Vec::new();
    let make_contact = |names| contact_for_order(&order, names);
    let created = put_contact_record(
        &mut session,
        &RecordTarget {
            email: &order.email,
            collection: &settings.collection_name,
            collection_type: "orders",
            key: &order.key,
        },
        &order.record,
        &mut messages,
        (contacts == OrderContacts::Create).then_some(&make_contact),
    )?;
    let action = if created { SyncAction::Created } else { SyncAction::Updated };
    Ok(outcome(order.key.clone(), action, session.calls(), messages))
}

/// The 404 of a record call whose contact does not exist (a missing record or collection has
/// codes of their own).
pub const CONTACT_NOT_FOUND: &str = "insightData:contactNotFound";

/// Where a contact-scoped insight record lives.
pub struct RecordTarget<'a> {
    pub email: &'a str,
    pub collection: &'a str,
    /// `collectionType` used if the collection has to be created.
    pub collection_type: &'a str,
    pub key: &'a str,
}

impl RecordTarget<'_> {
    pub fn path(&self) -> String {
        format!(
            "/insightData/v3/contacts/email/{}/{}/{}",
            segment(self.email),
            segment(self.collection),
            segment(self.key)
        )
    }
}

/// PUTs the record, creating the collection when Dotdigital says it is missing, and the
/// contact too when `contact` says how (`None`: a missing contact is `rejected`). Returns
/// whether the record is new (201) rather than replaced (204).
pub fn put_contact_record(
    session: &mut Session,
    target: &RecordTarget,
    record: &serde_json::Value,
    messages: &mut Vec<String>,
    contact: Option<&dyn Fn(NameFields) -> ContactUpsert>,
) -> Result<bool, SyncError> {
    let path = target.path();
    let mut fixed_contact = false;
    let mut fixed_collection = false;
    // Contact and collection may each be missing once, so this runs at most three times.
    loop {
        let reply = session.send_json(Method::Put, &path, record)?;
        match (reply.status(), reply.error_code().as_deref()) {
            (201, _) => return Ok(true),
            (200 | 204, _) => return Ok(false),
            (404, Some(CONTACT_NOT_FOUND)) if !fixed_contact => {
                let Some(contact) = contact else {
                    return Err(contact_required(reply.into_error(), target.email));
                };
                fixed_contact = true;
                create_contact(session, target.email, messages, contact)?;
            }
            (404, Some("insightData:collectionNotFound")) if !fixed_collection => {
                fixed_collection = true;
                create_collection(session, target.collection, target.collection_type)?;
                messages.push(format!("collection {} created", target.collection));
            }
            _ => return Err(reply.into_error()),
        }
    }
}

/// The contact is missing and the subscription does not let an order create it.
fn contact_required(error: SyncError, email: &str) -> SyncError {
    match error {
        SyncError::Rejected(mut remote) => {
            remote.message = format!(
                "Dotdigital has no contact with the email {email}, and order_contacts is `require`: \
                 sync the customer first, then this order"
            );
            SyncError::Rejected(remote)
        }
        other => other,
    }
}

/// Creates the contact a record belongs to, once Dotdigital has said it is missing: the
/// account's name fields (cached for a day), then the upsert.
pub fn create_contact(
    session: &mut Session,
    email: &str,
    messages: &mut Vec<String>,
    contact: impl Fn(NameFields) -> ContactUpsert,
) -> Result<(), SyncError> {
    let upsert = contact(name_fields(session)?);
    let upserted = upsert_contact(session, &upsert)?;
    messages.push(format!("contact {} created for {email}", upserted.contact_id));
    messages.extend(upsert.notes);
    Ok(())
}

/// `POST /insightData/v3/collections/{name}` in contact scope: 201 created, 200 already there.
fn create_collection(session: &mut Session, name: &str, collection_type: &str) -> Result<(), SyncError> {
    let path = format!(
        "/insightData/v3/collections/{}?collectionScope=contact&collectionType={collection_type}",
        segment(name)
    );
    let reply = session.send_empty(Method::Post, &path)?;
    match reply.status() {
        200 | 201 => {
            session.platform().log(LogLevel::Info, &format!("insight collection {name} ready"));
            Ok(())
        }
        _ => Err(reply.into_error()),
    }
}

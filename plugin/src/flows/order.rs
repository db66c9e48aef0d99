//! Transaction → contact-scoped insight record keyed by the transaction number, its contact
//! and collection created when Dotdigital says they are missing (see `contact_record`).

use super::contact_record::put_contact_record;
use super::{outcome, validated_settings};
use crate::dotdigital::insight::RecordTarget;
use crate::dotdigital::Session;
use crate::mapping::contact::contact_for_order;
use crate::mapping::order::{plan_order, OrderPlan};
use crate::platform::{LogLevel, Platform};
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

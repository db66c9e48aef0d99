//! How a bulk load sizes and paces its imports. The component knows the API it imports into:
//! from contract 1.2 it says so (`describe-bulk`). An older component does not, and gets the
//! host's own caution instead, which assumes nothing of any API. Either way the host keeps
//! ceilings of its own, so no answer makes it hold more than it would for a real load.

use crate::host::log::Level;
use crate::platform::Platform;
use crate::runtime::bindings::ImportKind;
pub use crate::runtime::bindings::{BulkLimits, ImportLimits};
use crate::runtime::PluginFault;

/// The host's ceilings, whatever a component says: imports running at once (each holds its
/// batch's entries in memory until its report is read), records per import, and contacts per
/// `leave-marketing-lists` call (its requests per call stay far under the sandbox's 250).
pub const MAX_RUNNING: u32 = 32;
pub const MAX_RECORDS_PER_IMPORT: u32 = 100_000;
pub const MAX_CONTACTS_PER_REMOVAL: u32 = 10_000;

/// For a component older than 1.2: one import at a time, of 1,000 records (up to the host's
/// ceiling on request), and 1,000 contacts per marketing-list removal. Its imports are named
/// by the function that made them.
pub fn cautious(speaks_1_1: bool) -> BulkLimits {
    let function = if speaks_1_1 { "begin-import" } else { "start-import" };
    let kind = |what: &str| ImportLimits {
        records_per_import: 1_000,
        max_records_per_import: MAX_RECORDS_PER_IMPORT,
        max_running: 1,
        endpoint: format!("{function} ({what})"),
    };
    BulkLimits { contacts: kind("contacts"), orders: kind("orders"), contacts_per_removal: 1_000 }
}

/// A component whose `describe-bulk` faulted: it cannot load in bulk.
#[derive(Debug)]
pub struct DescribeBulkFailed(pub PluginFault);

impl std::fmt::Display for DescribeBulkFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the component's describe-bulk failed: {}", self.0)
    }
}

impl std::error::Error for DescribeBulkFailed {}

/// What the platform's component says (asked once, in a call that may send nothing), or
/// [`cautious`] limits, with a warning, when it cannot say. A component whose `describe-bulk`
/// fails cannot load in bulk: the error says so.
pub async fn of(platform: &Platform) -> Result<BulkLimits, DescribeBulkFailed> {
    let said = platform.describe_bulk().await.map_err(DescribeBulkFailed)?;
    Ok(match said {
        Some(said) => taken(&said),
        None => {
            platform.log().emit(
                Level::Warn,
                &format!(
                    "the component implements contract {}, which does not say how large its imports may be \
                     (describe-bulk, 1.2): one import at a time, 1,000 records each unless --batch-size says more",
                    platform.contract_version()
                ),
            );
            cautious(platform.speaks_1_1())
        }
    })
}

/// A component's answer as the host takes it: within the host's ceilings, a zero read as one
/// (a load always makes progress), a default above the maximum read as the maximum. The
/// endpoint is the component's text: redacted and clipped where it is written.
fn taken(said: &BulkLimits) -> BulkLimits {
    let kind = |k: &ImportLimits| {
        let max_records = k.max_records_per_import.clamp(1, MAX_RECORDS_PER_IMPORT);
        ImportLimits {
            records_per_import: k.records_per_import.clamp(1, max_records),
            max_records_per_import: max_records,
            max_running: k.max_running.clamp(1, MAX_RUNNING),
            endpoint: k.endpoint.clone(),
        }
    };
    BulkLimits {
        contacts: kind(&said.contacts),
        orders: kind(&said.orders),
        contacts_per_removal: said.contacts_per_removal.clamp(1, MAX_CONTACTS_PER_REMOVAL),
    }
}

/// The limits of one import kind.
pub fn of_kind(limits: &BulkLimits, kind: ImportKind) -> &ImportLimits {
    match kind {
        ImportKind::Contacts => &limits.contacts,
        ImportKind::Orders => &limits.orders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_and_huge_numbers_are_not_taken_as_they_are() {
        let kind = |records_per_import, max_records_per_import, max_running| ImportLimits {
            records_per_import,
            max_records_per_import,
            max_running,
            endpoint: "PUT /x".into(),
        };
        let said = BulkLimits { contacts: kind(0, 0, 0), orders: kind(50, 7, u32::MAX), contacts_per_removal: 0 };
        let taken = taken(&said);
        assert_eq!((taken.contacts.records_per_import, taken.contacts.max_records_per_import), (1, 1));
        assert_eq!((taken.orders.records_per_import, taken.orders.max_records_per_import), (7, 7));
        assert_eq!((taken.contacts.max_running, taken.orders.max_running), (1, MAX_RUNNING));
        assert_eq!(taken.contacts_per_removal, 1);
        let huge =
            BulkLimits { contacts: kind(u32::MAX, u32::MAX, 5), orders: kind(1, 1, 1), contacts_per_removal: u32::MAX };
        let taken = super::taken(&huge);
        assert_eq!(taken.contacts.records_per_import, MAX_RECORDS_PER_IMPORT);
        assert_eq!(taken.contacts_per_removal, MAX_CONTACTS_PER_REMOVAL);
    }

    #[test]
    fn the_cautious_limits_run_one_import_at_a_time_and_name_the_function() {
        for speaks_1_1 in [false, true] {
            let limits = cautious(speaks_1_1);
            for kind in [ImportKind::Contacts, ImportKind::Orders] {
                let limits = of_kind(&limits, kind);
                assert_eq!(limits.max_running, 1);
                assert!(limits.records_per_import <= limits.max_records_per_import);
            }
            let function = if speaks_1_1 { "begin-import (contacts)" } else { "start-import (contacts)" };
            assert_eq!(limits.contacts.endpoint, function);
        }
    }
}

//! How a bulk load sizes and paces its imports. The component knows the API it imports into:
//! from contract 1.2 it says so (`describe-bulk`). An older component does not, and gets the
//! host's own caution instead, which assumes nothing of any API.

use crate::host::log::clip;
use crate::runtime::bindings::ImportKind;
pub use crate::runtime::bindings::{BulkLimits, ImportLimits};
use crate::runtime::Plugin;

/// For a component older than 1.2: one import at a time, of 1,000 records (at most 20,000 when
/// the operator asks), and 1,000 contacts per marketing-list removal. Its imports are named by
/// the functions that made them.
pub fn cautious() -> BulkLimits {
    let kind = |endpoint: &str| ImportLimits {
        records_per_import: 1_000,
        max_records_per_import: 20_000,
        max_running: 1,
        endpoint: endpoint.into(),
    };
    BulkLimits {
        contacts: kind("begin-import (contacts)"),
        orders: kind("begin-import (orders)"),
        contacts_per_removal: 1_000,
    }
}

/// An endpoint is a method and a path: longer text is the component's, clipped.
const MAX_ENDPOINT_CHARS: usize = 200;

/// What `plugin` says, or [`cautious`] when it cannot say.
pub fn of(plugin: &Plugin) -> BulkLimits {
    plugin.bulk_limits().map_or_else(cautious, taken)
}

/// A component's answer as the host takes it: a zero is read as one (a load always makes
/// progress), a default above the maximum as the maximum, an endpoint clipped.
fn taken(said: &BulkLimits) -> BulkLimits {
    let kind = |k: &ImportLimits| ImportLimits {
        records_per_import: k.records_per_import.clamp(1, k.max_records_per_import.max(1)),
        max_records_per_import: k.max_records_per_import.max(1),
        max_running: k.max_running.max(1),
        endpoint: clip(&k.endpoint, MAX_ENDPOINT_CHARS).into_owned(),
    };
    BulkLimits {
        contacts: kind(&said.contacts),
        orders: kind(&said.orders),
        contacts_per_removal: said.contacts_per_removal.max(1),
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
    fn zeros_and_long_endpoints_are_not_taken_as_they_are() {
        let kind = |records_per_import, max_records_per_import| ImportLimits {
            records_per_import,
            max_records_per_import,
            max_running: 0,
            endpoint: "x".repeat(10_000),
        };
        let said = BulkLimits { contacts: kind(0, 0), orders: kind(50, 7), contacts_per_removal: 0 };
        let taken = taken(&said);
        assert_eq!((taken.contacts.records_per_import, taken.contacts.max_records_per_import), (1, 1));
        assert_eq!((taken.orders.records_per_import, taken.orders.max_records_per_import), (7, 7));
        assert_eq!((taken.contacts.max_running, taken.orders.max_running, taken.contacts_per_removal), (1, 1, 1));
        assert!(taken.contacts.endpoint.len() < MAX_ENDPOINT_CHARS + 30, "{}", taken.contacts.endpoint);
    }

    #[test]
    fn the_cautious_limits_run_one_import_at_a_time() {
        let limits = cautious();
        for kind in [ImportKind::Contacts, ImportKind::Orders] {
            let limits = of_kind(&limits, kind);
            assert_eq!(limits.max_running, 1);
            assert!(limits.records_per_import <= limits.max_records_per_import);
        }
    }
}

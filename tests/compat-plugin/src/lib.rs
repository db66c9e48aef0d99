//! A connector that implements another minor of the contract (see Cargo.toml): every
//! function answers without calling anything, so the tests see only what loading decides
//! (and, for `v1-0`, what the host does with a 1.0 component's bulk answers).

#[cfg(feature = "newer-minor")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/newer-minor", generate_all });
#[cfg(feature = "lacking")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/lacking", generate_all });
#[cfg(feature = "v1-0")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/v1-0", generate_all });
#[cfg(feature = "v1-1")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/v1-1", generate_all });

use exports::ipaas::dotdigital::connector::Guest;
use ipaas::dotdigital::types::*;

struct Compat;

fn done(external_id: &str) -> Result<SyncOutcome, SyncError> {
    Ok(SyncOutcome { external_id: external_id.into(), action: SyncAction::Unchanged, api_calls: 0, messages: vec![] })
}

fn not_here<T>() -> Result<T, SyncError> {
    Err(SyncError::Transport("a compatibility test component".into()))
}

impl Guest for Compat {
    fn describe() -> PluginInfo {
        let preset = |name: &str, required: bool| SettingPreset {
            name: name.into(),
            required,
            default_value: None,
            description: String::new(),
        };
        let mut settings = vec![preset("api_user", true), preset("api_password", true)];
        if cfg!(feature = "v1-0") {
            settings.extend(["list_ids", "marketing_list_ids"].map(|name| preset(name, false)));
        }
        PluginInfo { flows: vec!["contact".into(), "order".into()], settings }
    }

    fn validate_connection(_: Settings) -> Result<Account, SyncError> {
        not_here()
    }

    fn sync_contact(_: Settings, _: Customer) -> Result<SyncOutcome, SyncError> {
        done(if cfg!(feature = "newer-minor") {
            "newer minor"
        } else if cfg!(feature = "v1-0") {
            "v1.0"
        } else if cfg!(feature = "v1-1") {
            "v1.1"
        } else {
            "lacking"
        })
    }

    fn sync_order(_: Settings, _: Transaction) -> Result<SyncOutcome, SyncError> {
        done("order")
    }

    fn sync_certificate(_: Settings, _: GiftCard) -> Result<SyncOutcome, SyncError> {
        done("certificate")
    }

    #[cfg(not(feature = "v1-0"))]
    fn start_import(_: Settings, _: ImportBatch) -> Result<ImportStarted, SyncError> {
        not_here()
    }

    /// Every record goes in, keyed as the connector keys them; the id carries the count.
    #[cfg(feature = "v1-0")]
    fn start_import(_: Settings, batch: ImportBatch) -> Result<ImportStarted, SyncError> {
        let keys: Vec<String> = match &batch {
            ImportBatch::Contacts(customers) => {
                customers.iter().map(|c| c.email_address.clone().unwrap_or_default().to_lowercase()).collect()
            }
            ImportBatch::OrderContacts(orders) => {
                orders.iter().map(|t| t.email_address.clone().unwrap_or_default().to_lowercase()).collect()
            }
            ImportBatch::Orders(orders) => {
                orders.iter().map(|t| t.transaction_number.clone().unwrap_or_default()).collect()
            }
        };
        let entries: Vec<ImportEntry> =
            keys.into_iter().enumerate().map(|(index, key)| ImportEntry { index: index as u32, key }).collect();
        // Shaped like Dotdigital's (a GUID, which the host checks), the count in its last group.
        let import_id = Some(format!("00000000-0000-4000-8000-{:012}", entries.len()));
        Ok(ImportStarted { import_id, entries, refused: vec![], skipped: vec![], api_calls: 0 })
    }

    #[cfg(any(feature = "newer-minor", feature = "v1-1"))]
    fn import_status(_: Settings, _: ImportKind, _: String) -> Result<ImportState, SyncError> {
        not_here()
    }

    /// Finished, every record imported as new.
    #[cfg(feature = "v1-0")]
    fn import_status(_: Settings, _: ImportKind, import_id: String) -> Result<ImportState, SyncError> {
        let count = import_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        Ok(ImportState::Finished(ImportReport { created: count, updated: 0, failures: vec![] }))
    }

    #[cfg(not(feature = "v1-0"))]
    fn sync_order_with(_: Settings, _: OrderSettings, _: Transaction) -> Result<SyncOutcome, SyncError> {
        done("order")
    }

    #[cfg(feature = "lacking")]
    fn begin_import(_: Settings, _: OrderSettings, _: ImportBatch) -> Result<ImportBegun, SyncError> {
        not_here()
    }

    /// Every customer goes in, keyed as the connector keys them; the id carries the count.
    #[cfg(any(feature = "v1-1", feature = "newer-minor"))]
    fn begin_import(_: Settings, _: OrderSettings, batch: ImportBatch) -> Result<ImportBegun, SyncError> {
        let ImportBatch::Contacts(customers) = batch else { return not_here() };
        let entries: Vec<ImportRecord> = customers
            .iter()
            .enumerate()
            .map(|(index, c)| ImportRecord {
                index: index as u32,
                key: c.email_address.clone().unwrap_or_default().to_lowercase(),
                leaves_marketing_lists: false,
            })
            .collect();
        // Imports running at once need ids of their own: a hash of the keys, then the count.
        let hash = entries
            .iter()
            .flat_map(|e| e.key.bytes())
            .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        let import_id = format!("00000000-0000-4000-{:04x}-{:012}", hash & 0xffff, entries.len());
        // The keys are kept for `read-import`, which gets only the id.
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        ipaas::dotdigital::host::set_data(&import_id, &keys.join("\n"), None).map_err(SyncError::Transport)?;
        Ok(ImportBegun { import_id: Some(import_id), entries, refused: vec![], skipped: vec![], api_calls: 0 })
    }

    #[cfg(feature = "lacking")]
    fn read_import(_: Settings, _: ImportKind, _: String) -> Result<ImportProgress, SyncError> {
        not_here()
    }

    /// Finished: the import's contacts created, each contact id carrying the size of its import
    /// (times 1,000,000), so a test reads from the lines how the host cut its batches.
    #[cfg(any(feature = "v1-1", feature = "newer-minor"))]
    fn read_import(_: Settings, _: ImportKind, import_id: String) -> Result<ImportProgress, SyncError> {
        let count: u64 = import_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let keys = ipaas::dotdigital::host::get_data(&import_id).unwrap_or_default();
        let contacts: Vec<ImportedContact> = keys
            .split('\n')
            .filter(|key| !key.is_empty())
            .enumerate()
            .map(|(n, key)| {
                // Distinct across imports: the number in the key (`bulk-<n>@…`), else the position.
                let digits: String = key.chars().filter(char::is_ascii_digit).collect();
                let n = digits.parse().unwrap_or(n as u64);
                ImportedContact {
                    key: key.to_string(),
                    contact_id: count * 1_000_000 + n + 1,
                    action: SyncAction::Created,
                }
            })
            .collect();
        let created = contacts.len() as u32;
        let result = ImportResult { created, updated: 0, contacts, failures: vec![], retry_without_contact_id: vec![] };
        Ok(ImportProgress::Finished(result))
    }

    #[cfg(not(feature = "v1-0"))]
    fn leave_marketing_lists(_: Settings, _: Vec<u64>) -> Result<ListsLeft, SyncError> {
        not_here()
    }

    /// Limits unlike the connector's, so a test can tell whose the host used.
    #[cfg(not(any(feature = "v1-0", feature = "v1-1")))]
    fn describe_bulk() -> BulkLimits {
        let kind = |endpoint: &str| ImportLimits {
            records_per_import: 3,
            max_records_per_import: 7,
            max_running: 2,
            endpoint: endpoint.into(),
        };
        BulkLimits {
            contacts: kind("PUT /compat/contacts"),
            orders: kind("PUT /compat/orders"),
            contacts_per_removal: 11,
        }
    }

    /// The function the newer minor added: an older host never calls it.
    #[cfg(feature = "newer-minor")]
    fn ping() -> String {
        "pong".into()
    }
}

export!(Compat);

//! A connector that implements another minor of the contract (see Cargo.toml): every
//! function answers without calling anything, so the tests see only what loading decides.

#[cfg(feature = "newer-minor")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/newer-minor", generate_all });
#[cfg(feature = "lacking")]
wit_bindgen::generate!({ world: "dotdigital-connector", path: "wit-gen/lacking", generate_all });

use exports::ipaas::dotdigital::connector::Guest;
use ipaas::dotdigital::types::*;

struct Compat;

fn done(external_id: &str) -> Result<SyncOutcome, SyncError> {
    Ok(SyncOutcome { external_id: external_id.into(), action: SyncAction::Unchanged, api_calls: 0, messages: vec![] })
}

impl Guest for Compat {
    fn describe() -> PluginInfo {
        let preset = |name: &str| SettingPreset {
            name: name.into(),
            required: true,
            default_value: None,
            description: String::new(),
        };
        PluginInfo { flows: vec!["contact".into()], settings: vec![preset("api_user"), preset("api_password")] }
    }

    fn validate_connection(_: Settings) -> Result<Account, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    fn sync_contact(_: Settings, _: Customer) -> Result<SyncOutcome, SyncError> {
        done(if cfg!(feature = "newer-minor") { "newer minor" } else { "lacking" })
    }

    fn sync_order(_: Settings, _: Transaction) -> Result<SyncOutcome, SyncError> {
        done("order")
    }

    fn sync_certificate(_: Settings, _: GiftCard) -> Result<SyncOutcome, SyncError> {
        done("certificate")
    }

    fn start_import(_: Settings, _: ImportBatch) -> Result<ImportStarted, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    #[cfg(feature = "newer-minor")]
    fn import_status(_: Settings, _: ImportKind, _: String) -> Result<ImportState, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    fn begin_import(_: Settings, _: ImportBatch) -> Result<ImportBegun, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    fn read_import(_: Settings, _: ImportKind, _: String) -> Result<ImportProgress, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    fn leave_marketing_lists(_: Settings, _: Vec<u64>) -> Result<ListsLeft, SyncError> {
        Err(SyncError::Transport("a compatibility test component".into()))
    }

    /// The function the newer minor added: an older host never calls it.
    #[cfg(feature = "newer-minor")]
    fn ping() -> String {
        "pong".into()
    }
}

export!(Compat);

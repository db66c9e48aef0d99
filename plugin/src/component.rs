//! The component side of [`crate::platform::Platform`]: wasi:http (`wasi_http`), host imports
//! for logs and persistent data, and the export of the `connector` interface.

use crate::bindings::exports::ipaas::dotdigital::connector::Guest;
use crate::bindings::ipaas::dotdigital::host;
use crate::platform::{HttpRequest, HttpResponse, LogLevel, Platform};
use crate::wit::{
    Account, BulkLimits, Customer, GiftCard, ImportBatch, ImportBegun, ImportKind, ImportProgress, ImportStarted,
    ImportState, ListsLeft, OrderSettings, PluginInfo, Settings, SyncError, SyncOutcome, Transaction,
};

struct Component;

impl Platform for Component {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        crate::wasi_http::send(request)
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Error => host::LogLevel::Error,
            LogLevel::Warn => host::LogLevel::Warn,
            LogLevel::Info => host::LogLevel::Info,
            LogLevel::Debug => host::LogLevel::Debug,
        };
        host::log(level, message);
    }

    fn get_data(&self, key: &str) -> Option<String> {
        host::get_data(key).filter(|v| !v.is_empty())
    }

    fn set_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), String> {
        host::set_data(key, value, ttl_seconds)
    }

    fn claim_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, String> {
        host::claim_data(key, value, ttl_seconds)
    }

    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

impl Guest for Component {
    fn describe() -> PluginInfo {
        crate::info::describe()
    }

    fn validate_connection(settings: Settings) -> Result<Account, SyncError> {
        crate::flows::connection::validate_connection(&Component, &settings)
    }

    fn sync_contact(settings: Settings, customer: Customer) -> Result<SyncOutcome, SyncError> {
        crate::flows::contact::sync_contact(&Component, &settings, &customer)
    }

    fn sync_order(settings: Settings, transaction: Transaction) -> Result<SyncOutcome, SyncError> {
        crate::flows::order::sync_order(&Component, &settings, None, &transaction)
    }

    fn sync_certificate(settings: Settings, gift_card: GiftCard) -> Result<SyncOutcome, SyncError> {
        crate::flows::certificate::sync_certificate(&Component, &settings, &gift_card)
    }

    fn start_import(settings: Settings, batch: ImportBatch) -> Result<ImportStarted, SyncError> {
        crate::flows::import::start_import(&Component, &settings, &batch)
    }

    fn import_status(settings: Settings, kind: ImportKind, import_id: String) -> Result<ImportState, SyncError> {
        crate::flows::import::import_status(&Component, &settings, kind, &import_id)
    }

    fn sync_order_with(
        settings: Settings,
        order_settings: OrderSettings,
        transaction: Transaction,
    ) -> Result<SyncOutcome, SyncError> {
        crate::flows::order::sync_order(&Component, &settings, order_settings.order_contacts.as_deref(), &transaction)
    }

    fn begin_import(
        settings: Settings,
        order_settings: OrderSettings,
        batch: ImportBatch,
    ) -> Result<ImportBegun, SyncError> {
        crate::flows::import::begin_import(&Component, &settings, order_settings.order_contacts.as_deref(), &batch)
    }

    fn read_import(settings: Settings, kind: ImportKind, import_id: String) -> Result<ImportProgress, SyncError> {
        crate::flows::import::import_progress_of(&Component, &settings, kind, &import_id)
    }

    fn leave_marketing_lists(settings: Settings, contact_ids: Vec<u64>) -> Result<ListsLeft, SyncError> {
        crate::flows::import::leave_marketing_lists(&Component, &settings, &contact_ids)
    }

    fn describe_bulk() -> BulkLimits {
        crate::flows::import::bulk_limits()
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);

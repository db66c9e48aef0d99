//! A triggered-campaign email the simulator "sent": what its outbox holds.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Send {
    pub account_id: i64,
    pub campaign_id: u32,
    pub to_addresses: Vec<String>,
    pub personalization_values: Vec<(String, String)>,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
}

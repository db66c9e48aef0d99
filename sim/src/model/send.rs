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

/// Most addresses `toAddresses`, `ccAddresses` or `bccAddresses` may hold
/// (transactional-email-v2.json `send-transactional-email-using-a-triggered-campaign`:
/// `maxItems: 100`).
pub(crate) const MAX_ADDRESSES: usize = 100;

/// Longest `metadata` object, in characters of its JSON ("JSON object a max of 1500 characters").
pub(crate) const MAX_METADATA_CHARS: usize = 1500;

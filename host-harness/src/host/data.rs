//! Persistent data per subscription (iPaaS.com's "Persistent Data"): a small key/value map
//! with expiry, kept in memory or written through to `<state>/<subscription>.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Bounds a plugin cannot exceed, so it cannot fill the disk.
const MAX_KEY_BYTES: usize = 2048;
const MAX_VALUE_BYTES: usize = 64 * 1024;
const MAX_ENTRIES: usize = 100_000;
const MAX_TOTAL_BYTES: usize = 64 << 20;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
}

/// Why a value was not stored. The plugin sees the message; the host logs it.
#[derive(Debug)]
pub enum DataError {
    /// Empty, or longer than the key limit.
    Key { bytes: usize },
    /// Longer than the value limit.
    Value { bytes: usize },
    /// The subscription already holds the most keys it may.
    TooManyKeys,
    /// The subscription's data would exceed its total size.
    TooLarge,
    /// The state file could not be written.
    Write(anyhow::Error),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Key { bytes } => write!(f, "key of {bytes} bytes (1..={MAX_KEY_BYTES} allowed)"),
            DataError::Value { bytes } => write!(f, "value of {bytes} bytes (at most {MAX_VALUE_BYTES})"),
            DataError::TooManyKeys => write!(f, "more than {MAX_ENTRIES} keys"),
            DataError::TooLarge => write!(f, "more than {} MiB in all", MAX_TOTAL_BYTES >> 20),
            DataError::Write(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Write(e) => Some(&**e),
            _ => None,
        }
    }
}

pub struct DataStore {
    file: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl DataStore {
    pub fn in_memory() -> Self {
        DataStore { file: None, entries: Mutex::new(BTreeMap::new()) }
    }

    /// Opens (or starts) `<dir>/<subscription>.json`.
    pub fn open(dir: &std::path::Path, subscription: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the state directory {}", dir.display()))?;
        let file = dir.join(format!("{}.json", file_stem(subscription)));
        let entries = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        Ok(DataStore { file: Some(file), entries: Mutex::new(entries) })
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        match entry.expires_at {
            Some(at) if at <= now() => None,
            _ => Some(entry.value.clone()),
        }
    }

    /// Stores a value; an empty value removes the key.
    pub fn set(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), DataError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(DataError::Key { bytes: key.len() });
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(DataError::Value { bytes: value.len() });
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = now();
        entries.retain(|_, e| e.expires_at.is_none_or(|at| at > now));
        if value.is_empty() {
            entries.remove(key);
        } else {
            if !entries.contains_key(key) && entries.len() >= MAX_ENTRIES {
                return Err(DataError::TooManyKeys);
            }
            let others: usize =
                entries.iter().filter(|(k, _)| k.as_str() != key).map(|(k, e)| k.len() + e.value.len()).sum();
            if others + key.len() + value.len() > MAX_TOTAL_BYTES {
                return Err(DataError::TooLarge);
            }
            let expires_at = ttl_seconds.map(|ttl| now + u64::from(ttl));
            entries.insert(key.to_string(), Entry { value: value.to_string(), expires_at });
        }
        self.flush(&entries).map_err(DataError::Write)
    }

    /// Writes the whole map to a temporary file, then renames it over the old one, so a
    /// crash leaves either the old or the new state, never half of one.
    fn flush(&self, entries: &BTreeMap<String, Entry>) -> Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(entries)?).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, file).with_context(|| format!("replacing {}", file.display()))?;
        Ok(())
    }
}

/// A file name from a subscription name: letters, digits, `-`, `_` and `.` kept.
fn file_stem(subscription: &str) -> String {
    let stem: String = subscription
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let stem = stem.trim_matches('.').to_string();
    if stem.is_empty() {
        "subscription".into()
    } else {
        stem
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_persist_expire_and_clear() {
        let dir = std::env::temp_dir().join(format!("dd-data-{}", std::process::id()));
        let store = DataStore::open(&dir, "Dotdigital - Production").unwrap();
        store.set("region:a", "https://r2-api.dotdigital.com", Some(3600)).unwrap();
        store.set("gone", "x", Some(0)).unwrap();
        let reopened = DataStore::open(&dir, "Dotdigital - Production").unwrap();
        assert_eq!(reopened.get("region:a").as_deref(), Some("https://r2-api.dotdigital.com"));
        assert_eq!(reopened.get("gone"), None);
        reopened.set("region:a", "", None).unwrap();
        assert_eq!(DataStore::open(&dir, "Dotdigital - Production").unwrap().get("region:a"), None);
        assert!(matches!(store.set("k", &"x".repeat(MAX_VALUE_BYTES + 1), None), Err(DataError::Value { .. })));
        assert!(matches!(store.set("", "x", None), Err(DataError::Key { bytes: 0 })));
        assert!(dir.join("Dotdigital_-_Production.json").exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! Secrets as the request log keeps them: a short SHA-256 fingerprint, enough for a test to
//! check which value was sent, never the value itself.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A secret header value, kept as `sha256:` and the first 16 hex digits of its digest.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn of(secret: &str) -> Redacted {
        let digest = Sha256::digest(secret.as_bytes());
        let hex: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        Redacted(format!("sha256:{hex}"))
    }

    pub fn fingerprint(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redacted({})", self.0)
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

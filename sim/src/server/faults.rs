//! Faults injected on purpose: each matches by method and path prefix, fires a set number of
//! times (or always), and replaces, delays, cuts off or corrupts the exchange it hits.

use std::time::Duration;

use serde::Deserialize;

/// One armed fault. Faults are tried in injection order; the first match fires.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Matches any method when `None`; otherwise compared case-insensitively.
    #[serde(default)]
    pub method: Option<String>,
    /// Prefix of the raw path and query (`/contacts/v3`); empty matches everything.
    #[serde(default)]
    pub path_prefix: String,
    /// Fires this many times, then is removed; `None` fires every time.
    #[serde(default)]
    pub times: Option<u32>,
    pub action: FaultAction,
}

/// What a fault does to the request it matches.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "FaultActionWire")]
pub enum FaultAction {
    /// Answer this instead of handling the request.
    Status { status: u16, body: String },
    /// Wait, then handle normally.
    DelayBefore(Duration),
    /// Handle (side effects happen), then wait before answering.
    DelayAfter(Duration),
    /// Close the connection without handling or answering.
    DropBefore,
    /// Handle (side effects happen), then close without answering.
    DropAfter,
    /// Handle, then answer the success status with a truncated, invalid JSON body.
    MalformedAfter,
    /// 429 with `X-RateLimit-*` headers; the window resets `seconds` from now.
    RateLimited { seconds: u64 },
    /// 400 with the flat-cap `ERROR_APIUSAGE_EXCEEDED` message.
    ApiUsageExceeded,
    /// 400 with `ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE`.
    TemporarilyUnavailable,
}

/// The JSON spelling of [`FaultAction`] (see the `sim` module docs).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum FaultActionWire {
    Status {
        status: u16,
        #[serde(default)]
        body: String,
    },
    DelayBefore {
        ms: u64,
    },
    DelayAfter {
        ms: u64,
    },
    DropBefore,
    DropAfter,
    MalformedAfter,
    RateLimited {
        seconds: u64,
    },
    ApiUsageExceeded,
    TemporarilyUnavailable,
}

impl From<FaultActionWire> for FaultAction {
    fn from(wire: FaultActionWire) -> FaultAction {
        match wire {
            FaultActionWire::Status { status, body } => FaultAction::Status { status, body },
            FaultActionWire::DelayBefore { ms } => FaultAction::DelayBefore(Duration::from_millis(ms)),
            FaultActionWire::DelayAfter { ms } => FaultAction::DelayAfter(Duration::from_millis(ms)),
            FaultActionWire::DropBefore => FaultAction::DropBefore,
            FaultActionWire::DropAfter => FaultAction::DropAfter,
            FaultActionWire::MalformedAfter => FaultAction::MalformedAfter,
            FaultActionWire::RateLimited { seconds } => FaultAction::RateLimited { seconds },
            FaultActionWire::ApiUsageExceeded => FaultAction::ApiUsageExceeded,
            FaultActionWire::TemporarilyUnavailable => FaultAction::TemporarilyUnavailable,
        }
    }
}

impl Fault {
    fn matches(&self, method: &str, path_and_query: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path_and_query.starts_with(&self.path_prefix)
            && self.times != Some(0)
    }
}

/// The armed faults, in injection order.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    faults: Vec<Fault>,
}

impl FaultPlan {
    pub(crate) fn arm(&mut self, fault: Fault) {
        if fault.times != Some(0) {
            self.faults.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    /// The action of the first fault matching this request, counting it down.
    pub(crate) fn fire(&mut self, method: &str, path_and_query: &str) -> Option<FaultAction> {
        let index = self.faults.iter().position(|f| f.matches(method, path_and_query))?;
        let fault = &mut self.faults[index];
        let action = fault.action.clone();
        if let Some(times) = fault.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                self.faults.remove(index);
            }
        }
        Some(action)
    }
}

//! Loads a connector component once (checksum, import check, compile, link,
//! pre-instantiate, `describe`) and runs each call in a fresh, limited store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use super::bindings::{
    Account, Customer, DotdigitalConnector, DotdigitalConnectorPre, GiftCard, PluginInfo, Settings, SyncError,
    SyncOutcome, Transaction,
};
use super::outbound::{OutboundPolicy, Upstream, WaitClock};
use super::sandbox::{CallState, SandboxLimits, MEMORY_LIMIT_MESSAGE};
use super::throttle::Throttle;
use crate::host::data::DataStore;
use crate::host::log::LogSink;
use crate::host::HostContext;

/// The contract this harness speaks; a plugin must match its major and minor (0.x).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// How many epoch ticks pass between CPU-deadline checks.
const CHECK_TICKS: u64 = 10;

/// One call into the plugin.
#[derive(Clone)]
pub enum Call {
    Describe,
    Validate(Settings),
    Contact(Settings, Customer),
    Order(Settings, Transaction),
    Certificate(Settings, GiftCard),
}

#[derive(Debug)]
pub enum CallOutput {
    Info(PluginInfo),
    Account(Result<Account, SyncError>),
    Sync(Result<SyncOutcome, SyncError>),
}

/// The plugin misbehaved (or ran out of a limit): reported as kind `plugin-fault`.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginFault {
    Trap(String),
    MemoryLimit(usize),
    CpuLimit(Duration),
    WallClock(Duration),
    OversizedResult(usize),
}

impl std::fmt::Display for PluginFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginFault::Trap(why) => write!(f, "the plugin trapped: {why}"),
            PluginFault::MemoryLimit(cap) => write!(f, "the plugin exceeded its memory limit of {} MiB", cap >> 20),
            PluginFault::CpuLimit(limit) => write!(f, "the plugin ran longer than its CPU limit of {limit:?}"),
            PluginFault::WallClock(limit) => write!(f, "the call did not finish within {limit:?}"),
            PluginFault::OversizedResult(bytes) => {
                write!(f, "the plugin returned {bytes} bytes of text, more than allowed")
            }
        }
    }
}

/// What one call may touch: where HTTP goes, where logs go, which data it sees.
#[derive(Clone)]
pub struct CallContext {
    pub policy: Arc<OutboundPolicy>,
    pub log: LogSink,
    pub data: Arc<DataStore>,
}

/// Raised by the epoch callback; found again when classifying the error.
#[derive(Debug)]
struct CpuLimitExceeded;
impl std::fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CPU limit exceeded")
    }
}
impl std::error::Error for CpuLimitExceeded {}

/// A loaded connector.
pub struct Plugin {
    engine: Engine,
    pre: DotdigitalConnectorPre<CallState>,
    info: PluginInfo,
    sha256: String,
    limits: SandboxLimits,
}

impl Plugin {
    pub async fn load(engine: &Engine, bytes: &[u8], limits: SandboxLimits, log: LogSink) -> Result<Plugin> {
        let sha256 = hex(&Sha256::digest(bytes));
        let component =
            Component::new(engine, bytes).map_err(|e| anyhow::anyhow!("compiling the plugin component: {e:#}"))?;
        check_imports(engine, &component)?;
        let mut linker = Linker::<CallState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        DotdigitalConnector::add_to_linker::<CallState, HasSelf<HostContext>>(&mut linker, |state| &mut state.host)?;
        let pre = DotdigitalConnectorPre::new(linker.instantiate_pre(&component)?)?;
        let mut plugin = Plugin {
            engine: engine.clone(),
            pre,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                contract_version: String::new(),
                flows: vec![],
                settings: vec![],
            },
            sha256,
            limits,
        };
        // `describe` runs with everything denied: no upstream, no data kept.
        let context = CallContext {
            policy: Arc::new(OutboundPolicy {
                upstream: Upstream::Deny,
                call_timeout: Duration::from_secs(1),
                max_response_bytes: 0,
                max_request_bytes: 0,
                throttle: Arc::new(Throttle::new(1, Duration::from_secs(1), 1)),
            }),
            log,
            data: Arc::new(DataStore::in_memory()),
        };
        plugin.info = match plugin.call(context, Call::Describe).await {
            Ok(CallOutput::Info(info)) => info,
            Ok(_) => bail!("describe returned something else"),
            Err(fault) => bail!("describe failed: {fault}"),
        };
        if !compatible(&plugin.info.contract_version) {
            bail!(
                "the plugin implements contract ipaas:dotdigital@{}; this harness speaks @{CONTRACT_VERSION}",
                plugin.info.contract_version
            );
        }
        Ok(plugin)
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Hex SHA-256 of the component bytes, for operators who pin a build.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Runs one call in a fresh store with the sandbox limits.
    pub async fn call(&self, context: CallContext, call: Call) -> Result<CallOutput, PluginFault> {
        let waiting = Arc::new(WaitClock::default());
        let host = HostContext::new(context.log, context.data);
        let mut store = Store::new(&self.engine, CallState::new(&self.limits, context.policy, host, waiting.clone()));
        store.limiter(|state| &mut state.limits);
        let started = Instant::now();
        let cpu_limit = self.limits.cpu_time;
        store.set_epoch_deadline(CHECK_TICKS);
        store.epoch_deadline_callback(move |_| {
            if started.elapsed().saturating_sub(waiting.waited()) > cpu_limit {
                return Err(CpuLimitExceeded.into());
            }
            // Yield so the wall-clock timeout can fire even for a plugin that never waits.
            Ok(UpdateDeadline::Yield(CHECK_TICKS))
        });
        let run = async {
            let connector = self.pre.instantiate_async(&mut store).await?;
            let api = connector.ipaas_dotdigital_connector();
            Ok::<_, wasmtime::Error>(match call {
                Call::Describe => CallOutput::Info(api.call_describe(&mut store).await?),
                Call::Validate(s) => CallOutput::Account(api.call_validate_connection(&mut store, &s).await?),
                Call::Contact(s, r) => CallOutput::Sync(api.call_sync_contact(&mut store, &s, &r).await?),
                Call::Order(s, r) => CallOutput::Sync(api.call_sync_order(&mut store, &s, &r).await?),
                Call::Certificate(s, r) => CallOutput::Sync(api.call_sync_certificate(&mut store, &s, &r).await?),
            })
        };
        let output = match tokio::time::timeout(self.limits.wall_time, run).await {
            Err(_) => return Err(PluginFault::WallClock(self.limits.wall_time)),
            Ok(Err(error)) => return Err(self.classify(error)),
            Ok(Ok(output)) => output,
        };
        let size = result_bytes(&output);
        if size > self.limits.max_result_bytes {
            return Err(PluginFault::OversizedResult(size));
        }
        Ok(output)
    }

    fn classify(&self, error: wasmtime::Error) -> PluginFault {
        if error.chain().any(|cause| cause.downcast_ref::<CpuLimitExceeded>().is_some()) {
            return PluginFault::CpuLimit(self.limits.cpu_time);
        }
        let text = format!("{error:#}");
        if text.contains(MEMORY_LIMIT_MESSAGE) {
            return PluginFault::MemoryLimit(self.limits.memory_bytes);
        }
        PluginFault::Trap(text)
    }
}

/// A component may import only WASI and this contract's own interfaces.
fn check_imports(engine: &Engine, component: &Component) -> Result<()> {
    for (name, _) in component.component_type().imports(engine) {
        if !(name.starts_with("wasi:") || name.starts_with("ipaas:dotdigital/")) {
            bail!("the plugin imports {name}, which this host does not provide (only wasi:* and ipaas:dotdigital/*)");
        }
    }
    Ok(())
}

/// Same major, and for 0.x the same minor: the semver rule for the contract.
fn compatible(version: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    let (ours, theirs) = (parts(CONTRACT_VERSION), parts(version));
    if ours.len() != 3 || theirs.len() != 3 {
        return false;
    }
    if ours[0] == 0 {
        ours[..2] == theirs[..2]
    } else {
        ours[0] == theirs[0]
    }
}

/// Total text a result carries, counted from its debug form (an over-estimate is fine).
fn result_bytes(output: &CallOutput) -> usize {
    format!("{output:?}").len()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract_versions() {
        assert!(super::compatible("0.1.0"));
        assert!(super::compatible("0.1.7"));
        assert!(!super::compatible("0.2.0"));
        assert!(!super::compatible("1.1.0"));
        assert!(!super::compatible("junk"));
    }
}

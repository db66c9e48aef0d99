//! Loads a connector component once (checksum, contract check, compile or read from the
//! compile cache, link, pre-instantiate, `describe`) and runs each call in a fresh, limited
//! store instantiated from the one `InstancePre`: one typed method per export of the
//! contract, all through one private `run`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use super::bindings::exports::ipaas::dotdigital::connector::Guest;
use super::bindings::{
    v1_0, v1_1, Account, BulkLimits, Customer, DotdigitalConnector, DotdigitalConnectorPre, GiftCard, ImportBatch,
    ImportBegun, ImportKind, ImportProgress, ImportStarted, ImportState, ListsLeft, OrderSettings, PluginInfo,
    Settings, SyncError, SyncOutcome, Transaction,
};
use super::budget::{BufferBudget, CallBudget, OverBudget};
use super::cache::{self, CompileCache};
use super::call::{CallState, Grants};
use super::contract::{self, ContractError, ContractVersion};
use super::cpu::CpuMeter;
use super::engine::INSTANCE_SLOTS;
use super::hooks::OutboundPolicy;
use super::metadata::{Identity, MetadataError};
use super::sandbox::{LimitExceeded, SandboxLimits};
use crate::digest::hex;
use crate::host::data::DataStore;
use crate::host::log::LogSink;

/// How many epoch ticks pass between CPU-deadline checks.
const CHECK_TICKS: u64 = 10;

/// What a `sync-*` export answers: an outcome, or the typed error the platform acts on.
pub type SyncAnswer = Result<SyncOutcome, SyncError>;

/// What `validate-connection` answers.
pub type AccountAnswer = Result<Account, SyncError>;

/// The plugin misbehaved (or ran out of a limit): reported as kind `plugin-fault`.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginFault {
    Trap(String),
    /// The cap in bytes, and the growth that was refused (memory or a table).
    MemoryLimit {
        cap: usize,
        refused: LimitExceeded,
    },
    CpuLimit(Duration),
    WallClock(Duration),
    OversizedResult(usize),
    /// The process's buffer budget refused a body or header of this call.
    BufferBudget(OverBudget),
}

impl fmt::Display for PluginFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginFault::Trap(why) => write!(f, "the plugin trapped: {why}"),
            PluginFault::MemoryLimit { cap, refused } => {
                write!(f, "the plugin exceeded its memory limit of {} MiB ({refused})", cap >> 20)
            }
            PluginFault::CpuLimit(limit) => write!(f, "the plugin ran longer than its CPU limit of {limit:?}"),
            PluginFault::WallClock(limit) => write!(f, "the call did not finish within {limit:?}"),
            PluginFault::OversizedResult(bytes) => {
                write!(f, "the plugin returned {bytes} bytes of text, more than allowed")
            }
            PluginFault::BufferBudget(over) => write!(f, "the plugin's HTTP bodies and headers did not fit: {over}"),
        }
    }
}

impl std::error::Error for PluginFault {}

/// Why a component was not loaded: a set-up error for whoever asked for it.
#[derive(Debug)]
pub enum LoadError {
    /// Not a component whose metadata can be read.
    Metadata(MetadataError),
    /// Not a component this engine compiles.
    Compile(wasmtime::Error),
    /// Its interface names say another contract (or none).
    Contract(ContractError),
    /// The host's imports could not be linked to it.
    Link(wasmtime::Error),
    /// It faulted while describing itself.
    Describe(PluginFault),
    /// The in-memory data `describe` runs with could not be made.
    Data(crate::host::data::StateError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Metadata(e) => e.fmt(f),
            LoadError::Compile(e) => write!(f, "compiling the plugin component: {e:#}"),
            LoadError::Contract(e) => e.fmt(f),
            LoadError::Link(e) => write!(
                f,
                "the plugin does not implement {}@{} as this host calls it: {e}",
                contract::PACKAGE,
                contract::CONTRACT_VERSION
            ),
            LoadError::Describe(fault) => write!(f, "describe failed: {fault}"),
            LoadError::Data(e) => write!(f, "preparing data for describe: {e}"),
        }
    }
}

/// The message already says the cause: a `source` would make `{:#}` say it twice.
impl std::error::Error for LoadError {}

impl From<ContractError> for LoadError {
    fn from(error: ContractError) -> Self {
        LoadError::Contract(error)
    }
}

/// Raised by the epoch callback; found again, by type, when classifying the error.
#[derive(Debug)]
struct CpuLimitExceeded;

impl fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CPU limit exceeded")
    }
}

impl std::error::Error for CpuLimitExceeded {}

/// The future one export call returns, borrowing the instance and the store of its call.
type ExportCall<'a, T> = Pin<Box<dyn Future<Output = wasmtime::Result<T>> + Send + 'a>>;

/// A component pre-instantiated through the binding module of its contract minor.
enum Pre {
    /// This host's minor or a newer one (the newer one's extra functions are never called).
    Current(DotdigitalConnectorPre<CallState>),
    /// A 1.1 component: everything but `describe-bulk`.
    V1_1(v1_1::DotdigitalConnectorPre<CallState>),
    /// A 1.0 component: everything but the functions 1.1 added.
    V1_0(v1_0::DotdigitalConnectorPre<CallState>),
}

/// One instance's connector export, as its minor offers it.
enum Api<'a> {
    Current(&'a Guest),
    V1_1(&'a v1_1::exports::ipaas::dotdigital::connector::Guest),
    V1_0(&'a v1_0::exports::ipaas::dotdigital::connector::Guest),
}

/// Calls a function every minor has: the two binding modules share their types.
macro_rules! on_any_minor {
    ($api:expr, |$guest:ident| $call:expr) => {
        match $api {
            Api::Current($guest) => $call,
            Api::V1_1($guest) => $call,
            Api::V1_0($guest) => $call,
        }
    };
}

/// Calls a function 1.1 added; on a 1.0 component it is the host's mistake (see
/// [`not_in_1_0`]).
macro_rules! since_1_1 {
    ($api:expr, $function:literal, |$guest:ident| $call:expr) => {
        match $api {
            Api::Current($guest) => $call,
            Api::V1_1($guest) => $call,
            Api::V1_0(_) => Err(not_in_1_0($function)),
        }
    };
}

/// A function 1.1 added, called on a 1.0 component: the host checks
/// [`Plugin::speaks_1_1`] first, so this is the host's mistake, reported as a trap.
fn not_in_1_0(function: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("{function} is not in contract 1.0, which this component implements"))
}

/// A loaded connector.
pub struct Plugin {
    engine: Engine,
    pre: Pre,
    info: PluginInfo,
    identity: Identity,
    contract: ContractVersion,
    sha256: String,
    limits: SandboxLimits,
    /// One per instance the engine's pool holds: a call beyond waits for a slot instead of
    /// failing to instantiate.
    instance_slots: Arc<tokio::sync::Semaphore>,
    /// What all its calls together may hold in bodies and headers.
    buffers: Arc<BufferBudget>,
}

impl Plugin {
    /// Compiles `bytes` in this process (no compile cache).
    pub async fn load(engine: &Engine, bytes: &[u8], limits: SandboxLimits, log: LogSink) -> Result<Plugin, LoadError> {
        Plugin::load_cached(engine, bytes, limits, log, &CompileCache::Off).await
    }

    /// Loads `bytes`, compiled once per machine through `cache`.
    pub async fn load_cached(
        engine: &Engine,
        bytes: &[u8],
        limits: SandboxLimits,
        log: LogSink,
        cache: &CompileCache,
    ) -> Result<Plugin, LoadError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha256 = hex(&digest);
        // Who it is comes from its metadata, before anything is compiled or run.
        let identity = Identity::read(bytes).map_err(LoadError::Metadata)?;
        let component = cache::compile(engine, bytes, &digest, cache, &log).map_err(LoadError::Compile)?;
        // Read before anything runs: a component of another contract is never instantiated.
        let contract = contract::check_component(engine, &component)?;
        let pre = link(engine, &component, contract).map_err(LoadError::Link)?;
        let mut plugin = Plugin {
            engine: engine.clone(),
            pre,
            info: PluginInfo { flows: vec![], settings: vec![] },
            identity,
            contract,
            sha256,
            buffers: BufferBudget::new(limits.buffer_budget_bytes),
            limits,
            instance_slots: Arc::new(tokio::sync::Semaphore::new(INSTANCE_SLOTS as usize)),
        };
        // `describe` runs with everything denied: no upstream, no data kept.
        let grants = Grants {
            policy: Arc::new(OutboundPolicy::deny_all()),
            log,
            data: Arc::new(DataStore::in_memory("describe").map_err(LoadError::Data)?),
            denials: Arc::default(),
        };
        plugin.info = plugin.describe(grants).await.map_err(LoadError::Describe)?;
        Ok(plugin)
    }

    /// What `describe` answered: flows and setting presets.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Name, version and source revision, from the component's metadata.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The contract version the component implements, read from its interface names.
    pub fn contract_version(&self) -> ContractVersion {
        self.contract
    }

    /// Whether the component has the functions contract 1.1 added (`begin-import`,
    /// `read-import`, `leave-marketing-lists`); a 1.0 component has not.
    pub fn speaks_1_1(&self) -> bool {
        !matches!(self.pre, Pre::V1_0(_))
    }

    /// `describe-bulk` (1.2): what the component says its imports allow. `Ok(None)` for an
    /// older component, which has no such function. Asked by bulk loads only.
    pub async fn describe_bulk(&self, grants: Grants) -> Result<Option<BulkLimits>, PluginFault> {
        if !matches!(self.pre, Pre::Current(_)) {
            return Ok(None);
        }
        let described = self.run(grants, |api, store| match api {
            Api::Current(g) => Box::pin(g.call_describe_bulk(store)),
            // Not reached: a component of an older minor returned above.
            _ => Box::pin(async { Err(wasmtime::Error::msg("describe-bulk is not in this component's contract")) }),
        });
        described.await.map(Some)
    }

    /// Hex SHA-256 of the component bytes, for operators who pin a build.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// `describe`: the plugin's name, version, flows and settings presets.
    pub async fn describe(&self, grants: Grants) -> Result<PluginInfo, PluginFault> {
        self.run(grants, |api, store| on_any_minor!(api, |g| Box::pin(g.call_describe(store)))).await
    }

    /// `validate-connection`: credentials, region and the areas the flows need.
    pub async fn validate_connection(&self, grants: Grants, settings: &Settings) -> Result<AccountAnswer, PluginFault> {
        let settings = settings.clone();
        self.run(grants, move |api, store| {
            Box::pin(async move { on_any_minor!(api, |g| g.call_validate_connection(store, &settings).await) })
        })
        .await
    }

    /// `sync-contact`: one iPaaS.com customer.
    pub async fn sync_contact(
        &self,
        grants: Grants,
        settings: &Settings,
        customer: &Customer,
    ) -> Result<SyncAnswer, PluginFault> {
        let (settings, customer) = (settings.clone(), customer.clone());
        self.run(grants, move |api, store| {
            Box::pin(async move { on_any_minor!(api, |g| g.call_sync_contact(store, &settings, &customer).await) })
        })
        .await
    }

    /// `sync-order`: one iPaaS.com transaction.
    /// A 1.1 component gets the order settings 1.1 added (`sync-order-with`); a 1.0 one
    /// `sync-order` (its settings cannot name them: the keys are not among its presets).
    pub async fn sync_order(
        &self,
        grants: Grants,
        settings: &Settings,
        order_settings: &OrderSettings,
        transaction: &Transaction,
    ) -> Result<SyncAnswer, PluginFault> {
        let (settings, order_settings, transaction) = (settings.clone(), order_settings.clone(), transaction.clone());
        self.run(grants, move |api, store| {
            Box::pin(async move {
                match api {
                    Api::Current(g) => g.call_sync_order_with(store, &settings, &order_settings, &transaction).await,
                    Api::V1_1(g) => g.call_sync_order_with(store, &settings, &order_settings, &transaction).await,
                    Api::V1_0(g) => g.call_sync_order(store, &settings, &transaction).await,
                }
            })
        })
        .await
    }

    /// `sync-certificate`: one iPaaS.com gift card used as a loyalty certificate.
    pub async fn sync_certificate(
        &self,
        grants: Grants,
        settings: &Settings,
        gift_card: &GiftCard,
    ) -> Result<SyncAnswer, PluginFault> {
        let (settings, gift_card) = (settings.clone(), gift_card.clone());
        self.run(grants, move |api, store| {
            Box::pin(async move { on_any_minor!(api, |g| g.call_sync_certificate(store, &settings, &gift_card).await) })
        })
        .await
    }

    /// `start-import`: one Dotdigital import of many records.
    pub async fn start_import(
        &self,
        grants: Grants,
        settings: &Settings,
        batch: ImportBatch,
    ) -> Result<Result<ImportStarted, SyncError>, PluginFault> {
        let settings = settings.clone();
        self.run(grants, move |api, store| {
            Box::pin(async move { on_any_minor!(api, |g| g.call_start_import(store, &settings, &batch).await) })
        })
        .await
    }

    /// `import-status`: one read of an import's status.
    pub async fn import_status(
        &self,
        grants: Grants,
        settings: &Settings,
        kind: ImportKind,
        import_id: &str,
    ) -> Result<Result<ImportState, SyncError>, PluginFault> {
        let (settings, import_id) = (settings.clone(), import_id.to_string());
        self.run(grants, move |api, store| {
            Box::pin(
                async move { on_any_minor!(api, |g| g.call_import_status(store, &settings, kind, &import_id).await) },
            )
        })
        .await
    }

    /// `begin-import` (1.1): `start-import` with each entry's after-import duty.
    pub async fn begin_import(
        &self,
        grants: Grants,
        settings: &Settings,
        order_settings: &OrderSettings,
        batch: ImportBatch,
    ) -> Result<Result<ImportBegun, SyncError>, PluginFault> {
        let (settings, order_settings) = (settings.clone(), order_settings.clone());
        self.run(grants, move |api, store| {
            Box::pin(async move {
                since_1_1!(api, "begin-import", |g| g
                    .call_begin_import(store, &settings, &order_settings, &batch)
                    .await)
            })
        })
        .await
    }

    /// `read-import` (1.1): an import's status, record by record.
    pub async fn read_import(
        &self,
        grants: Grants,
        settings: &Settings,
        kind: ImportKind,
        import_id: &str,
    ) -> Result<Result<ImportProgress, SyncError>, PluginFault> {
        let (settings, import_id) = (settings.clone(), import_id.to_string());
        self.run(grants, move |api, store| {
            Box::pin(async move {
                since_1_1!(api, "read-import", |g| g.call_read_import(store, &settings, kind, &import_id).await)
            })
        })
        .await
    }

    /// `leave-marketing-lists` (1.1): contacts taken off the subscription's marketing lists.
    pub async fn leave_marketing_lists(
        &self,
        grants: Grants,
        settings: &Settings,
        contact_ids: &[u64],
    ) -> Result<Result<ListsLeft, SyncError>, PluginFault> {
        let (settings, contact_ids) = (settings.clone(), contact_ids.to_vec());
        self.run(grants, move |api, store| {
            Box::pin(async move {
                since_1_1!(api, "leave-marketing-lists", |g| g
                    .call_leave_marketing_lists(store, &settings, &contact_ids)
                    .await)
            })
        })
        .await
    }

    /// Runs `call` against a fresh instance in a fresh store with the sandbox limits, and
    /// turns whatever stopped it into a `PluginFault`.
    async fn run<T, F>(&self, grants: Grants, call: F) -> Result<T, PluginFault>
    where
        T: fmt::Debug,
        F: for<'a> FnOnce(Api<'a>, &'a mut Store<CallState>) -> ExportCall<'a, T>,
    {
        let _slot = self.instance_slots.acquire().await.expect("the instance slots are never closed");
        let (mut store, cpu) = self.store(grants);
        let run = cpu.run(async {
            match &self.pre {
                Pre::Current(pre) => {
                    let connector = pre.instantiate_async(&mut store).await?;
                    call(Api::Current(connector.ipaas_dotdigital_connector()), &mut store).await
                }
                Pre::V1_1(pre) => {
                    let connector = pre.instantiate_async(&mut store).await?;
                    call(Api::V1_1(connector.ipaas_dotdigital_connector()), &mut store).await
                }
                Pre::V1_0(pre) => {
                    let connector = pre.instantiate_async(&mut store).await?;
                    call(Api::V1_0(connector.ipaas_dotdigital_connector()), &mut store).await
                }
            }
        });
        let ended = tokio::time::timeout(self.limits.wall_time, run).await;
        // Whatever the plugin made of the refusal, the budget's is the fault to report.
        if let Some(over) = store.data().over_budget() {
            return Err(PluginFault::BufferBudget(over.clone()));
        }
        let output = match ended {
            Err(_) => return Err(PluginFault::WallClock(self.limits.wall_time)),
            Ok(Err(error)) => return Err(classify(&error, &self.limits)),
            Ok(Ok(output)) => output,
        };
        if let Some(size) = oversized(&output, self.limits.max_result_bytes) {
            return Err(PluginFault::OversizedResult(size));
        }
        Ok(output)
    }

    /// What one call costs before the component runs: a fresh store with the sandbox limits,
    /// instantiated from the shared `InstancePre` (the benchmark's instantiation figure).
    pub async fn instantiate_only(&self, grants: Grants) -> Result<(), PluginFault> {
        let _slot = self.instance_slots.acquire().await.expect("the instance slots are never closed");
        let (mut store, cpu) = self.store(grants);
        // Metered and timed like a call: a start function that spins is stopped here too.
        let instantiate = cpu.run(async {
            match &self.pre {
                Pre::Current(pre) => pre.instantiate_async(&mut store).await.map(drop),
                Pre::V1_1(pre) => pre.instantiate_async(&mut store).await.map(drop),
                Pre::V1_0(pre) => pre.instantiate_async(&mut store).await.map(drop),
            }
        });
        match tokio::time::timeout(self.limits.wall_time, instantiate).await {
            Err(_) => Err(PluginFault::WallClock(self.limits.wall_time)),
            Ok(instantiated) => instantiated.map_err(|error| classify(&error, &self.limits)),
        }
    }

    /// A call's store: its limits, what it was granted, and a CPU deadline on what the call
    /// executes (the meter charges the polls that `run` makes through it). The epoch callback
    /// fires only while wasm runs, so it sees the meter from inside a poll.
    fn store(&self, grants: Grants) -> (Store<CallState>, Arc<CpuMeter>) {
        let budget = CallBudget::new(self.buffers.clone());
        let state = CallState::new(&self.limits, grants, budget);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        let cpu = Arc::new(CpuMeter::default());
        let (meter, cpu_limit) = (cpu.clone(), self.limits.cpu_time);
        store.set_epoch_deadline(CHECK_TICKS);
        store.epoch_deadline_callback(move |_| {
            if meter.spent() > cpu_limit {
                return Err(CpuLimitExceeded.into());
            }
            // Yield so the wall-clock timeout can fire even for a plugin that never waits.
            Ok(UpdateDeadline::Yield(CHECK_TICKS))
        });
        (store, cpu)
    }
}

/// The linker every call instantiates through: WASI without sockets or files (the store
/// grants none), wasi:http through the outbound hooks, and the contract's host imports (a
/// 1.0 component's `host@1.0.0` import is met by this minor's, semver-compatibly). The
/// export is bound through the module of the component's minor: a 1.0 component has no 1.1
/// function, a 1.1 component no 1.2 one, and one claiming a minor must have all of its functions.
fn link(engine: &Engine, component: &Component, contract: ContractVersion) -> wasmtime::Result<Pre> {
    let mut linker = Linker::<CallState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    DotdigitalConnector::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)?;
    let pre = linker.instantiate_pre(component)?;
    match (contract.major, contract.minor) {
        (1, 0) => Ok(Pre::V1_0(v1_0::DotdigitalConnectorPre::new(pre)?)),
        (1, 1) => Ok(Pre::V1_1(v1_1::DotdigitalConnectorPre::new(pre)?)),
        _ => Ok(Pre::Current(DotdigitalConnectorPre::new(pre)?)),
    }
}

/// A limit is recognised by the type of error that enforced it, wherever it sits in the
/// chain; anything else is a trap, reported with its whole message.
fn classify(error: &wasmtime::Error, limits: &SandboxLimits) -> PluginFault {
    if error.chain().any(|cause| cause.is::<CpuLimitExceeded>()) {
        return PluginFault::CpuLimit(limits.cpu_time);
    }
    if let Some(refused) = error.chain().find_map(|cause| cause.downcast_ref::<LimitExceeded>()) {
        return PluginFault::MemoryLimit { cap: limits.memory_bytes, refused: refused.clone() };
    }
    PluginFault::Trap(clipped(&format!("{error:#}")))
}

/// Most of a trap message the host repeats: the text (and its backtrace's names) is the
/// component's to choose, and must not bypass the result cap.
const MAX_TRAP_TEXT: usize = 4096;

fn clipped(text: &str) -> String {
    if text.len() <= MAX_TRAP_TEXT {
        return text.to_string();
    }
    let mut end = MAX_TRAP_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes not shown)", &text[..end], text.len() - end)
}

/// The result's text size, counted from its debug form (an over-estimate is fine) without
/// building it, and abandoned as soon as it passes `limit`: `Some(bytes counted)` when it did.
fn oversized(output: &impl fmt::Debug, limit: usize) -> Option<usize> {
    struct Counter {
        bytes: usize,
        limit: usize,
    }
    impl fmt::Write for Counter {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            self.bytes += text.len();
            if self.bytes > self.limit {
                return Err(fmt::Error);
            }
            Ok(())
        }
    }
    let mut counter = Counter { bytes: 0, limit };
    let _ = fmt::write(&mut counter, format_args!("{output:?}"));
    (counter.bytes > limit).then_some(counter.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::sandbox::GuestLimiter;

    #[test]
    fn a_result_is_measured_without_being_formatted_whole() {
        let small = vec!["x".repeat(100); 3];
        assert_eq!(oversized(&small, 1 << 10), None);
        // The counter only adds up the lengths of the slices Debug hands it: nothing is copied,
        // and formatting stops at the first write past the limit.
        let huge = "x".repeat(50 << 20);
        let counted = oversized(&huge, 1 << 20).expect("over the limit");
        assert!(counted > 1 << 20, "{counted}");
        let many = vec!["y".repeat(1000); 10_000];
        let counted = oversized(&many, 1 << 20).expect("over the limit");
        assert!(counted < (1 << 20) + 2000, "stopped early: {counted}");
    }

    #[test]
    fn trap_text_is_capped() {
        let long = format!("trap in {}", "é".repeat(1 << 20));
        let error = wasmtime::Error::msg(long.clone());
        let PluginFault::Trap(text) = classify(&error, &SandboxLimits::default()) else { panic!("a trap") };
        assert!(text.len() < MAX_TRAP_TEXT + 64, "{}", text.len());
        assert!(text.ends_with("more bytes not shown)"), "{}", &text[text.len() - 40..]);
        let short = classify(&wasmtime::Error::msg("unreachable"), &SandboxLimits::default());
        assert_eq!(short, PluginFault::Trap("unreachable".into()));
    }

    /// A core function that grows its memory by `pages`, lifted into a component.
    fn grower(engine: &Engine) -> Component {
        let wat = r#"(component
            (core module $m
                (memory 1)
                (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
            (core instance $i (instantiate $m))
            (func (export "grow") (param "pages" u32) (result s32) (canon lift (core func $i "grow"))))"#;
        Component::new(engine, wat::parse_str(wat).unwrap()).unwrap()
    }

    /// Grows the memory of a fresh instance by `pages` in a store limited like a call's.
    async fn grow(engine: &Engine, component: &Component, limits: &SandboxLimits, pages: u32) -> wasmtime::Result<i32> {
        let mut store = Store::new(engine, GuestLimiter::new(limits.memory_bytes));
        store.limiter(|limiter| limiter);
        let instance = Linker::new(engine).instantiate_async(&mut store, component).await?;
        let grow = instance.get_typed_func::<(u32,), (i32,)>(&mut store, "grow")?;
        Ok(grow.call_async(&mut store, (pages,)).await?.0)
    }

    #[tokio::test]
    async fn a_refused_growth_is_a_memory_fault_by_type() {
        let engine = Engine::default();
        let component = grower(&engine);
        let limits = SandboxLimits { memory_bytes: 4 << 20, ..SandboxLimits::default() };
        assert_eq!(grow(&engine, &component, &limits, 1).await.unwrap(), 1, "within the cap, growth is allowed");
        let error = grow(&engine, &component, &limits, 1000).await.unwrap_err();
        let fault = classify(&error, &limits);
        let PluginFault::MemoryLimit { cap: 4194304, refused: LimitExceeded::Memory { desired_total } } = fault else {
            panic!("{fault:?} from {error:#}")
        };
        assert!(desired_total > 4 << 20, "{desired_total}");
        assert!(
            fault
                .to_string()
                .starts_with("the plugin exceeded its memory limit of 4 MiB (memory limit reached: growing to"),
            "{fault}"
        );
    }

    #[tokio::test]
    async fn another_contract_is_refused_before_it_runs() {
        let engine = Engine::default();
        let load = |version: &str| {
            let wat =
                format!(r#"(component (instance $c) (export "ipaas:dotdigital/connector@{version}" (instance $c)))"#);
            let engine = engine.clone();
            async move {
                let log = LogSink::new(
                    crate::host::log::LogTarget::Memory(Default::default()),
                    crate::host::log::Level::Debug,
                    Default::default(),
                );
                let bytes = wat::parse_str(&wat).expect("valid WAT");
                Plugin::load(&engine, &bytes, SandboxLimits::default(), log).await
            }
        };
        let Err(LoadError::Contract(error)) = load("9.0.0").await else { panic!("a 9.x contract is refused") };
        let message = error.to_string();
        assert!(message.contains("@9.0.0") && message.contains(contract::CONTRACT_VERSION), "{message}");
        // The right version passes the contract check; this empty instance then fails to link.
        assert!(matches!(load(contract::CONTRACT_VERSION).await, Err(LoadError::Link(_))));
    }

    #[test]
    fn other_errors_are_traps_whatever_their_text() {
        let limits = SandboxLimits::default();
        let error = wasmtime::Error::msg("memory limit reached: growing to 1 bytes");
        assert!(matches!(classify(&error, &limits), PluginFault::Trap(_)), "text alone is not a limit");
        let error = wasmtime::Error::from(CpuLimitExceeded).context("in the epoch callback");
        assert_eq!(classify(&error, &limits), PluginFault::CpuLimit(limits.cpu_time));
    }
}

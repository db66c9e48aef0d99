//! One engine per process: compiled once, shared by every call. The host owns time: an epoch
//! ticker advances it so a call that never yields can still be stopped.
//!
//! Instances come from wasmtime's pooling allocator, sized from the sandbox limits: a call's
//! instance reuses a slot (memory, tables, stack) that is already mapped, instead of mapping
//! and unmapping its own. A machine that cannot reserve the pool's address space (a tight
//! `ulimit -v`, for one) gets the on-demand allocator and a log line saying so.

use std::time::Duration;

use wasmtime::Result;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy};

use super::sandbox::{SandboxLimits, MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES, MAX_TABLE_ELEMENTS};

/// `DOTDIGITAL_PERFMAP=1`: the engine writes a perf map of the compiled component.
pub const PERFMAP_VARIABLE: &str = "DOTDIGITAL_PERFMAP";

/// How often the epoch advances; the CPU deadline is checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Calls that may hold an instance at once, per engine: the pool's size. `sync` runs at most
/// `concurrent_connections` records at a time, so beyond this a call waits for a slot (see
/// `Plugin::run`) rather than failing.
pub const INSTANCE_SLOTS: u32 = 64;

/// Memories a benign component holds (the connector has two: its own and the WASI
/// adapter's); the pool keeps this many per slot on average. A component with more (up to
/// `MAX_MEMORIES`) still runs, in fewer slots at once.
const MEMORIES_PER_SLOT: u32 = 4;
const TABLES_PER_SLOT: u32 = 8;

/// Which instance allocator an engine uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocator {
    Pooling,
    OnDemand,
}

impl Allocator {
    pub fn name(self) -> &'static str {
        match self {
            Allocator::Pooling => "pooling",
            Allocator::OnDemand => "on-demand",
        }
    }
}

/// An engine and what it ended up with.
pub struct EngineChoice {
    pub engine: Engine,
    pub allocator: Allocator,
    /// Why the pooling allocator was not used, when it was asked for and refused.
    pub fallback: Option<String>,
}

/// The pooling engine, else the on-demand one with the reason: what every command uses.
pub fn new_engine(limits: &SandboxLimits) -> Result<EngineChoice> {
    engine_with(Allocator::Pooling, limits)
}

/// An engine with `allocator` (pooling falls back to on-demand when it cannot be set up).
pub fn engine_with(allocator: Allocator, limits: &SandboxLimits) -> Result<EngineChoice> {
    if allocator == Allocator::Pooling {
        match Engine::new(&config(Some(pool(limits)))) {
            Ok(engine) => {
                start_epoch_ticker(&engine);
                return Ok(EngineChoice { engine, allocator, fallback: None });
            }
            Err(error) => {
                let engine = Engine::new(&config(None))?;
                start_epoch_ticker(&engine);
                let why =
                    format!("the pooling allocator could not be set up ({error:#}): instances are allocated on demand");
                return Ok(EngineChoice { engine, allocator: Allocator::OnDemand, fallback: Some(why) });
            }
        }
    }
    let engine = Engine::new(&config(None))?;
    start_epoch_ticker(&engine);
    Ok(EngineChoice { engine, allocator: Allocator::OnDemand, fallback: None })
}

fn config(pool: Option<PoolingAllocationConfig>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // `perf` names the component's functions (from its name section) through
    // /tmp/perf-<pid>.map: how the README's performance breakdown was taken.
    if std::env::var_os(PERFMAP_VARIABLE).is_some_and(|v| v == "1") {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    if let Some(pool) = pool {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// The pool, from the limits every call runs under: a slot's memory is the sandbox's memory
/// cap, its tables the limiter's, and a component may hold as many core instances, memories
/// and tables as the store's limiter allows.
fn pool(limits: &SandboxLimits) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * MAX_CORE_INSTANCES as u32)
        .total_memories(INSTANCE_SLOTS * MEMORIES_PER_SLOT)
        .total_tables(INSTANCE_SLOTS * TABLES_PER_SLOT)
        .total_stacks(INSTANCE_SLOTS)
        .max_core_instances_per_component(MAX_CORE_INSTANCES as u32)
        .max_memories_per_component(MAX_MEMORIES as u32)
        .max_tables_per_component(MAX_TABLES as u32)
        .max_memory_size(limits.memory_bytes)
        .table_elements(MAX_TABLE_ELEMENTS);
    pool
}

/// Advances the epoch until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .expect("spawning the epoch ticker thread");
}

//! One engine per process: compiled once, shared by every call. The host owns time: an epoch
//! ticker advances it so a call that never yields can still be stopped.

use std::time::Duration;

use anyhow::Result;
use wasmtime::{Config, Engine};

/// How often the epoch advances; the CPU deadline is checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
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

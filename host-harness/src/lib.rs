//! The iPaaS.com side of the Dotdigital connector: a wasmtime host that loads the
//! component, sandboxes it, routes its HTTP, throttles and retries like the platform, and an
//! embedded Dotdigital simulator to answer it.

pub mod bulk;
pub mod cli;
pub mod demo;
pub mod digest;
pub mod errors;
pub mod failure;
pub mod host;
pub mod input;
pub mod interrupt;
pub mod output;
pub mod platform;
pub mod records;
pub mod release;
pub mod retry;
pub mod runtime;
pub mod settings;
pub mod terminal;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

pub use platform::{Flow, Platform, PlatformOptions, Summary};

/// The connector built from `plugin/` by build.rs: the default plugin.
pub const EMBEDDED_PLUGIN: &[u8] = include_bytes!(env!("DOTDIGITAL_GUEST_CONNECTOR"));

/// The component at `path`, or the embedded one.
pub fn plugin_bytes(path: Option<&Path>) -> Result<Vec<u8>> {
    Ok(match path {
        Some(path) => std::fs::read(path).map_err(|e| {
            anyhow::anyhow!("--plugin {}: cannot be read ({})", path.display(), crate::errors::io_reason(&e))
        })?,
        None => EMBEDDED_PLUGIN.to_vec(),
    })
}

/// Loads `path`, or the embedded plugin, on a fresh engine, compiling it in this process.
pub async fn load_plugin(
    path: Option<&Path>,
    pins: &release::Pins,
    limits: runtime::SandboxLimits,
    log: host::log::LogSink,
) -> Result<Arc<runtime::Plugin>> {
    load_plugin_cached(path, pins, limits, log, &runtime::CompileCache::Off).await
}

/// Loads `path`, or the embedded plugin, on a fresh engine (pooling allocator when the
/// machine can reserve it), compiled once per machine through `cache`. The pin is checked
/// first: a component other than the pinned one is never compiled or read from the cache.
pub async fn load_plugin_cached(
    path: Option<&Path>,
    pins: &release::Pins,
    limits: runtime::SandboxLimits,
    log: host::log::LogSink,
    cache: &runtime::CompileCache,
) -> Result<Arc<runtime::Plugin>> {
    let bytes = plugin_bytes(path)?;
    pins.verify(&bytes).with_context(|| {
        format!("loading the plugin {}", path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into()))
    })?;
    let choice = runtime::engine::new_engine(&limits)?;
    if let Some(why) = &choice.fallback {
        log.emit(host::log::Level::Warn, why);
    }
    let plugin = runtime::Plugin::load_cached(&choice.engine, &bytes, limits, log, cache).await.with_context(|| {
        format!("loading the plugin {}", path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into()))
    })?;
    Ok(Arc::new(plugin))
}

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

pub use platform::{Flow, Platform, PlatformOptions, RunError, Summary};

/// The connector built from `plugin/` by build.rs: the default plugin.
pub const EMBEDDED_PLUGIN: &[u8] = include_bytes!(env!("DOTDIGITAL_GUEST_CONNECTOR"));

/// Why the plugin a command asked for was not loaded: a set-up error. Each names the
/// component (its `--plugin` path, or "(embedded)").
#[derive(Debug)]
pub enum LoadPluginError {
    /// The `--plugin` file cannot be read.
    Unreadable { path: String, reason: String },
    /// Its SHA-256 is not the pinned one: it was neither compiled nor run.
    Pinned { plugin: String, error: release::PinError },
    /// No engine could be made on this machine.
    Engine(wasmtime::Error),
    /// The engine refused it (metadata, contract, link, or `describe`).
    Load { plugin: String, error: runtime::LoadError },
}

impl std::fmt::Display for LoadPluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadPluginError::Unreadable { path, reason } => write!(f, "--plugin {path}: cannot be read ({reason})"),
            LoadPluginError::Pinned { plugin, error } => write!(f, "loading the plugin {plugin}: {error}"),
            LoadPluginError::Engine(error) => write!(f, "{error:#}"),
            LoadPluginError::Load { plugin, error } => write!(f, "loading the plugin {plugin}: {error}"),
        }
    }
}

/// The message already says the cause: a `source` would make `{:#}` say it twice.
impl std::error::Error for LoadPluginError {}

/// The component at `path`, or the embedded one.
pub fn plugin_bytes(path: Option<&Path>) -> Result<Vec<u8>, LoadPluginError> {
    Ok(match path {
        Some(path) => std::fs::read(path).map_err(|e| LoadPluginError::Unreadable {
            path: path.display().to_string(),
            reason: crate::errors::io_reason(&e),
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
) -> Result<Arc<runtime::Plugin>, LoadPluginError> {
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
) -> Result<Arc<runtime::Plugin>, LoadPluginError> {
    let bytes = plugin_bytes(path)?;
    let plugin = || path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into());
    pins.verify(&bytes).map_err(|error| LoadPluginError::Pinned { plugin: plugin(), error })?;
    let choice = runtime::engine::new_engine(&limits).map_err(LoadPluginError::Engine)?;
    if let Some(why) = &choice.fallback {
        log.emit(host::log::Level::Warn, why);
    }
    let loaded = runtime::Plugin::load_cached(&choice.engine, &bytes, limits, log, cache).await;
    let plugin = loaded.map_err(|error| LoadPluginError::Load { plugin: plugin(), error })?;
    Ok(Arc::new(plugin))
}

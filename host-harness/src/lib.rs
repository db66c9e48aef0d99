//! The iPaaS.com side of the Dotdigital connector: a wasmtime host that loads the
//! component, sandboxes it, routes its HTTP, throttles and retries like the platform, and an
//! embedded Dotdigital simulator to answer it.

pub mod bulk;
pub mod cli;
pub mod demo;
pub mod guests;
pub mod host;
pub mod input;
pub mod output;
pub mod platform;
pub mod records;
pub mod release;
pub mod retry;
pub mod runtime;
pub mod settings;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

pub use platform::{Flow, Platform, PlatformOptions, Summary};

/// The connector built from `plugin/` by build.rs: the default plugin.
pub const EMBEDDED_PLUGIN: &[u8] = include_bytes!(env!("DOTDIGITAL_GUEST_CONNECTOR"));

/// Loads `path`, or the embedded plugin, on a fresh engine.
/// The component at `path`, or the embedded one.
pub fn plugin_bytes(path: Option<&Path>) -> Result<Vec<u8>> {
    Ok(match path {
        Some(path) => std::fs::read(path).with_context(|| format!("reading the plugin {}", path.display()))?,
        None => EMBEDDED_PLUGIN.to_vec(),
    })
}

pub async fn load_plugin(
    path: Option<&Path>,
    pins: &release::Pins,
    limits: runtime::SandboxLimits,
    log: host::log::LogSink,
) -> Result<Arc<runtime::Plugin>> {
    let bytes = plugin_bytes(path)?;
    // The pin first: a component other than the pinned one is never compiled.
    pins.verify(&bytes).with_context(|| {
        format!("loading the plugin {}", path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into()))
    })?;
    let engine = runtime::engine::new_engine()?;
    let plugin = runtime::Plugin::load(&engine, &bytes, limits, log).await.with_context(|| {
        format!("loading the plugin {}", path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into()))
    })?;
    Ok(Arc::new(plugin))
}

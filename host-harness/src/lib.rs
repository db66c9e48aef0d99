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
pub async fn load_plugin(
    path: Option<&Path>,
    limits: runtime::SandboxLimits,
    log: host::log::LogSink,
) -> Result<Arc<runtime::Plugin>> {
    let bytes = match path {
        Some(path) => std::fs::read(path).with_context(|| format!("reading the plugin {}", path.display()))?,
        None => EMBEDDED_PLUGIN.to_vec(),
    };
    let engine = runtime::engine::new_engine()?;
    let plugin = runtime::Plugin::load(&engine, &bytes, limits, log).await.with_context(|| {
        format!("loading the plugin {}", path.map(|p| p.display().to_string()).unwrap_or_else(|| "(embedded)".into()))
    })?;
    Ok(Arc::new(plugin))
}

//! `dotdigital-harness demo`: the whole path on sample records. The embedded plugin runs in
//! the sandbox, its requests go over wasi:http to the embedded simulator, and each record's
//! outcome line is printed: customers (created, updated, one refused), an order, and a
//! certificate announced once and then re-synced without a second email.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::host::log::{Level, LogSink, LogTarget, Redactor};
use crate::platform::{Flow, Platform, PlatformOptions};
use crate::runtime::{CompileCache, SandboxLimits, Upstream};
use dotdigital_sim::{SimConfig, Simulator};

const SETTINGS: &str = include_str!("../demo/settings.json");
const CUSTOMERS: &str = include_str!("../demo/customers.ndjson");
const ORDER: &str = include_str!("../demo/order.json");
const CERTIFICATE: &str = include_str!("../demo/certificate.json");

pub async fn run(cache: &CompileCache) -> Result<()> {
    let sim = Simulator::start(SimConfig::demo(), 0).await.context("starting the simulator")?;
    let log = LogSink::new(LogTarget::Stderr, Level::Warn, Redactor::default());
    let pins = crate::release::Pins::default();
    let plugin = crate::load_plugin_cached(None, &pins, SandboxLimits::default(), log, cache).await?;
    let settings: Value = serde_json::from_str(SETTINGS)?;
    let options = PlatformOptions::new(Upstream::Forward(sim.addr()));
    let platform = Arc::new(Platform::new(plugin.clone(), &settings, options)?);
    eprintln!(
        "demo: {} (sha256 {}) against the simulator at {}",
        plugin.identity().label(),
        &plugin.sha256()[..12],
        sim.addr()
    );

    let mut stdout = std::io::stdout();
    let sync = |flow: Flow, text: &'static str| {
        let platform = platform.clone();
        async move { platform.run(flow, Box::new(std::io::Cursor::new(text)), &mut std::io::stdout()).await }
    };
    sync(Flow::Contact, CUSTOMERS).await?;
    sync(Flow::Order, ORDER).await?;
    sync(Flow::Order, ORDER).await?;
    sync(Flow::Certificate, CERTIFICATE).await?;
    sync(Flow::Certificate, CERTIFICATE).await?;
    stdout.flush()?;

    let account = dotdigital_sim::DEMO_ACCOUNT.id;
    eprintln!(
        "demo: the simulator now holds {} contacts, {} order record(s) in Purchases, {} certificate record(s), and {} email(s) in its outbox",
        sim.contacts(account).len(),
        sim.insight_records(account, "Purchases").len(),
        sim.insight_records(account, "LoyaltyCertificates").len(),
        sim.sends().len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's settings file (also the README's example) signs in as the simulator's demo
    /// account: the credentials are stated by the simulator, the file only repeats them.
    #[test]
    fn the_demo_settings_sign_in_as_the_simulators_demo_account() {
        let settings: Value = serde_json::from_str(SETTINGS).unwrap();
        assert_eq!(settings["api_user"], dotdigital_sim::DEMO_ACCOUNT.api_user);
        assert_eq!(settings["api_password"], dotdigital_sim::DEMO_ACCOUNT.api_password);
    }
}

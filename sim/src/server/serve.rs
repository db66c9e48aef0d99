//! The `dotdigital-harness sim` command: serve a simulator until Ctrl-C, announcing both
//! addresses on one stdout line that scripts parse.

use anyhow::Context;
use serde_json::json;

use super::simulator::Simulator;
use crate::config::SimConfig;

/// Starts a simulator, prints `{"api":"http://127.0.0.1:P","control":"http://127.0.0.1:Q"}` on
/// stdout (and a log line on stderr), then serves until interrupted.
pub async fn serve_until_interrupted(config: SimConfig, port: u16, control_port: u16) -> anyhow::Result<()> {
    let sim = Simulator::start_with_control_port(config, port, control_port).await?;
    let (api, control) = (format!("http://{}", sim.addr()), format!("http://{}", sim.control_addr()));
    let message = format!("Dotdigital simulator listening on {api} (control API on {control})");
    eprintln!("{}", json!({"level": "info", "source": "sim", "message": message}));
    println!("{}", json!({"api": api, "control": control}));
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}

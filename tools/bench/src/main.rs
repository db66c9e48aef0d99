//! `dotdigital-bench`: what the host and the component cost on this machine (see `run.rs`).
//! A tool of the project's, not part of the product: the harness ships without it and without
//! the connector's native build it measures against.

mod canned;
mod native;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Measures the host's and the component's costs on this machine; a table on stdout.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Rounds per measurement (medians and 99th percentiles are taken over them).
    #[arg(long, default_value_t = 300)]
    rounds: usize,
    /// The `dotdigital-harness` binary whose cold start is measured; default: the one beside
    /// this binary (`cargo build --release -p dotdigital-harness` puts it there).
    #[arg(long)]
    harness: Option<PathBuf>,
    /// Only sync this flow's records in process, one after another, for `--seconds`: a steady
    /// load to attach a profiler to (`perf record -p`), with nothing else in the profile.
    #[arg(long, value_name = "FLOW", value_parser = ["contact", "order", "certificate"])]
    repeat: Option<String>,
    /// Measure this component instead of the connector built into the harness (the cold starts
    /// still run the harness's own).
    #[arg(long, value_name = "WASM")]
    plugin: Option<PathBuf>,
    /// How long `--repeat` runs.
    #[arg(long, default_value_t = 10, requires = "repeat")]
    seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let measured = async {
        let plugin = match &args.plugin {
            Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            None => dotdigital_harness::EMBEDDED_PLUGIN.to_vec(),
        };
        if let Some(flow) = &args.repeat {
            return run::repeat(flow, std::time::Duration::from_secs(args.seconds), &plugin).await;
        }
        let harness = match args.harness {
            Some(path) => path,
            None => beside_this_binary()?,
        };
        run::run(args.rounds, args.json.as_deref(), &harness, &plugin).await
    };
    match measured.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dotdigital-harness` in this binary's folder, or an error saying how to build it.
fn beside_this_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let harness = exe.with_file_name("dotdigital-harness");
    anyhow::ensure!(
        harness.is_file(),
        "{} is not built: run `cargo build --release -p dotdigital-harness` first, or pass --harness PATH",
        harness.display()
    );
    Ok(harness)
}

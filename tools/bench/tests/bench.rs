//! The benchmark as its user runs it: every figure in the JSON, a table on stdout. What the
//! figures are is the machine's, never asserted.

use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn bench_json_has_every_figure() {
    let dir = test_support::temp_dir("bench");
    let json = dir.join("bench.json");
    // The harness binary beside it: `cargo test --workspace` builds it (debug, like the bench).
    let output = Command::new(env!("CARGO_BIN_EXE_dotdigital-bench"))
        .args(["--rounds", "2", "--json", json.to_str().unwrap()])
        .env("XDG_CACHE_HOME", &dir)
        .stdin(Stdio::null())
        .output()
        .expect("the harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("contact sync, in process"), "a table on stdout: {stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let number = |path: &[&str]| {
        let value = path.iter().fold(&report, |v, key| &v[*key]);
        assert!(value.is_number(), "{path:?} in {report:#}");
    };
    for flow in ["contact", "order", "certificate"] {
        for key in ["overhead_us_p50", "overhead_us_p99", "native_us_p50"] {
            number(&[flow, key]);
        }
        number(&["api_calls_per_record", flow, "first"]);
        number(&["api_calls_per_record", flow, "steady"]);
    }
    number(&["instantiate_us_p50", "pooling"]);
    number(&["instantiate_us_p50", "on_demand"]);
    number(&["cold_start_ms", "compile"]);
    number(&["cold_start_ms", "cached"]);
    for concurrent in ["1", "2", "4", "8"] {
        number(&["throughput_per_s", "in_process", concurrent]);
        number(&["throughput_per_s", "loopback", concurrent]);
    }
    number(&["connections_per_100_calls", "loopback"]);
    number(&["component_bytes"]);
    assert!(report["component_bytes"].as_u64().unwrap() > 0);
}

/// `--repeat`: one flow in a loop for a profiler, its count and median on stdout; `--plugin`
/// names the component it measures, and a missing one is said, not replaced by the built-in.
#[test]
fn repeat_runs_one_flow_and_plugin_names_the_component() {
    let dir = test_support::temp_dir("bench-repeat");
    let bench = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dotdigital-bench"))
            .args(args)
            .env("XDG_CACHE_HOME", &dir)
            .stdin(Stdio::null())
            .output()
            .expect("the bench runs")
    };
    let output = bench(&["--repeat", "contact", "--seconds", "1"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    let line = stdout.trim();
    assert!(line.contains(" contact syncs in process: p50 ") && line.ends_with(" µs"), "{line}");
    let count: u64 = line.split_whitespace().next().unwrap().parse().expect("a count first");
    assert!(count > 0, "{line}");

    let missing = dir.join("no-such.wasm");
    let output = bench(&["--repeat", "order", "--seconds", "1", "--plugin", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && output.stdout.is_empty(), "{stderr}");
    assert!(stderr.contains("no-such.wasm"), "names the component it could not read: {stderr}");
}

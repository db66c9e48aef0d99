//! NDJSON input is read as a stream: a 200 MB file is synced with the same peak memory as a
//! 20 MB one. The records are large (a 100 KB comment each) and refused by the connector
//! (no email), so the run measures the harness, not the network.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{temp_dir, BIN};

/// NDJSON, or (`array`) one pretty-printed JSON array of the same records.
fn write_input(path: &Path, megabytes: usize, array: bool) {
    let comment = "x".repeat(100 * 1024);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    if array {
        writeln!(out, "[").unwrap();
    }
    let count = megabytes * 11;
    for i in 0..count {
        let record = json!({"id": i.to_string(), "first_name": "Big", "comment": comment, "email_address": ""});
        match array {
            false => writeln!(out, "{record}").unwrap(),
            true => {
                let comma = if i + 1 < count { "," } else { "" };
                writeln!(out, "{}{comma}", serde_json::to_string_pretty(&record).unwrap()).unwrap()
            }
        }
    }
    if array {
        writeln!(out, "]").unwrap();
    }
    out.flush().unwrap();
}

/// Runs `sync contact` on `input`; returns (records out, peak RSS in KiB).
fn run(dir: &Path, input: &Path) -> (usize, u64) {
    let settings = dir.join("settings.json");
    std::fs::write(
        &settings,
        json!({"api_user": "demo@apiconnector.com", "api_password": "demo-password"}).to_string(),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args([
            "sync",
            "contact",
            "--settings",
            settings.to_str().unwrap(),
            "--record",
            input.to_str().unwrap(),
            // The summary line (with the peak) is an info line.
            "--log-level",
            "info",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "every record is refused");
    let lines = String::from_utf8_lossy(&output.stdout).lines().count();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &Value| v.get("peak_rss_kib").is_some())
        .expect("a summary line");
    (lines, summary["peak_rss_kib"].as_u64().expect("Linux reports VmHWM"))
}

#[test]
fn peak_memory_does_not_grow_with_the_input() {
    peak_memory_does_not_grow_with(false);
}

/// A JSON array is read element by element, never whole.
#[test]
fn peak_memory_does_not_grow_with_a_json_array() {
    peak_memory_does_not_grow_with(true);
}

fn peak_memory_does_not_grow_with(array: bool) {
    let dir: PathBuf = temp_dir(&format!("stream-{array}"));
    let small = dir.join("small.json");
    let large = dir.join("large.json");
    write_input(&small, 20, array);
    write_input(&large, 200, array);
    assert!(std::fs::metadata(&large).unwrap().len() >= 200 * 1024 * 1024);
    let (small_lines, small_peak) = run(&dir, &small);
    let (large_lines, large_peak) = run(&dir, &large);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((small_lines, large_lines), (220, 2200));
    eprintln!("peak RSS: 20 MB input {small_peak} KiB, 200 MB input {large_peak} KiB");
    // Ten times the input may not cost more than a few megabytes of allocator noise.
    assert!(large_peak < small_peak + 16 * 1024, "peak grew from {small_peak} KiB to {large_peak} KiB");
}

//! Version-pinned distribution as an operator meets it: `package` writes an artifact that
//! standard tools verify; a pin (`--sha256`, or `dotdigital.lock` from `pin`) loads exactly
//! that component and refuses any other with exit status 2; the contract is read from the
//! component's interface names, so a newer minor loads and a component lacking a function
//! the host calls does not.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dotdigital_harness::runtime::contract::CONTRACT_VERSION;
use serde_json::{json, Value};
use test_support::guests::{LACKING, NEWER_MINOR};

use crate::support::{run_args as run, stderr, temp_dir};

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// A subscription's settings and one customer, in `dir`.
fn subscription(dir: &Path) -> (PathBuf, PathBuf) {
    let settings = dir.join("settings.json");
    std::fs::write(
        &settings,
        json!({"name": "Pinned", "api_user": "demo@apiconnector.com", "api_password": "demo-password"}).to_string(),
    )
    .unwrap();
    let record = dir.join("customer.json");
    std::fs::write(&record, json!({"id": "1", "email_address": "pinned@example.com"}).to_string()).unwrap();
    (settings, record)
}

fn sync(settings: &Path, record: &Path, extra: &[&str]) -> Output {
    let mut args =
        vec!["sync", "contact", "--settings", settings.to_str().unwrap(), "--record", record.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

/// `package --out DIR` for the embedded component; returns the artifact's path and digest.
fn package(dir: &Path) -> (PathBuf, String, Value) {
    let out = dir.join("release");
    let output = run(&["package", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(stdout_json(&output), manifest);
    let file = out.join(manifest["file"].as_str().unwrap());
    (file, manifest["sha256"].as_str().unwrap().to_string(), manifest)
}

#[test]
fn the_release_artifact_is_verifiable_with_standard_tools() {
    let dir = temp_dir("package");
    let (file, sha256, manifest) = package(&dir);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(file.file_name().unwrap().to_str().unwrap(), format!("ipaas-dotdigital-{version}.wasm"));
    assert_eq!(manifest["name"], "dotdigital-connector");
    assert_eq!(manifest["version"], version);
    assert_eq!(manifest["contract"], format!("ipaas:dotdigital@{CONTRACT_VERSION}"));
    assert_eq!(manifest["allowed_outbound_hosts"][0], "https://r1-api.dotdigital.com");
    assert!(manifest["toolchain"].as_str().unwrap().starts_with("rustc 1.95"), "{manifest}");
    assert!(manifest["source_revision"].as_str().is_some_and(|r| !r.is_empty()), "{manifest}");

    // `sha256sum -c` reads the checksum file as written.
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{}.sha256", file.file_name().unwrap().to_str().unwrap()))
        .current_dir(file.parent().unwrap())
        .output()
        .expect("sha256sum runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let sums = std::fs::read_to_string(format!("{}.sha256", file.display())).unwrap();
    assert_eq!(sums, format!("{sha256}  {}\n", file.file_name().unwrap().to_str().unwrap()));

    // The artifact loads with its pin, and describes itself from its metadata.
    let output = run(&["describe", "--plugin", file.to_str().unwrap(), "--sha256", &sha256]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let info = stdout_json(&output);
    assert_eq!((&info["version"], &info["sha256"]), (&json!(version), &json!(sha256)));
}

#[test]
fn a_wrong_pin_or_one_tampered_byte_is_refused_with_exit_2() {
    let dir = temp_dir("tamper");
    let (file, sha256, _) = package(&dir);
    let (settings, record) = subscription(&dir);
    let plugin = file.to_str().unwrap();

    let output = sync(&settings, &record, &["--plugin", plugin, "--sha256", &sha256]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let wrong = "0".repeat(64);
    let output = sync(&settings, &record, &["--plugin", plugin, "--sha256", &wrong]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no record runs");
    assert!(stderr(&output).contains(&format!("pins {wrong}")), "{}", stderr(&output));

    // One byte of a custom section changed: still a valid component, no longer the pinned one.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 1;
    bytes[at] ^= 0x01;
    let tampered = dir.join("tampered.wasm");
    std::fs::write(&tampered, &bytes).unwrap();
    let output = sync(&settings, &record, &["--plugin", tampered.to_str().unwrap(), "--sha256", &sha256]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("refusing to load a component other than the pinned one"), "{}", stderr(&output));

    let output = run(&["describe", "--sha256", "not-hex"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn pin_writes_a_lock_that_every_later_run_obeys() {
    let dir = temp_dir("lock");
    let (file, sha256, _) = package(&dir);
    let (settings, record) = subscription(&dir);
    let plugin = file.to_str().unwrap();

    let output = run(&["pin", "--settings", settings.to_str().unwrap(), "--plugin", plugin]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lock: Value = serde_json::from_slice(&std::fs::read(dir.join("dotdigital.lock")).unwrap()).unwrap();
    assert_eq!(lock["sha256"], sha256);
    assert_eq!(lock["contract"], format!("ipaas:dotdigital@{CONTRACT_VERSION}"));

    // The pinned component runs; the same bytes elsewhere run too (the digest is what is pinned).
    assert_eq!(sync(&settings, &record, &["--plugin", plugin]).status.code(), Some(0));
    let copy = dir.join("copy.wasm");
    std::fs::copy(&file, &copy).unwrap();
    assert_eq!(sync(&settings, &record, &["--plugin", copy.to_str().unwrap()]).status.code(), Some(0));

    // Anything else is refused, naming the lock: a tampered copy, or another component.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&copy, &bytes).unwrap();
    for other in [copy.to_str().unwrap(), NEWER_MINOR] {
        let output = sync(&settings, &record, &["--plugin", other]);
        assert_eq!(output.status.code(), Some(2), "{other}");
        assert!(stderr(&output).contains("dotdigital.lock pins"), "{}", stderr(&output));
    }
    // A damaged lock never unpins: it is an error too.
    std::fs::write(dir.join("dotdigital.lock"), "{").unwrap();
    let output = sync(&settings, &record, &["--plugin", plugin]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not a dotdigital lock file"), "{}", stderr(&output));
}

#[test]
fn a_newer_minor_loads_and_a_component_lacking_a_function_is_refused() {
    let dir = temp_dir("compat");
    let (settings, record) = subscription(&dir);
    let ours: Vec<u64> = CONTRACT_VERSION.split('.').map(|n| n.parse().unwrap()).collect();

    // Exported as the next minor, with a function this host does not know: it loads and runs.
    let output = run(&["describe", "--plugin", NEWER_MINOR]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["contract"], format!("ipaas:dotdigital@{}.{}.0", ours[0], ours[1] + 1));
    let output = sync(&settings, &record, &["--plugin", NEWER_MINOR]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["outcome"]["external_id"], "newer minor");

    // This version's name, without `import-status`: refused before anything runs.
    let output = sync(&settings, &record, &["--plugin", LACKING]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.contains("does not implement ipaas:dotdigital@") && message.contains("import-status"), "{message}");
}

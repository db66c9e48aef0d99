//! Builds the test-only hostile component (tests/hostile-plugin) for wasm32-wasip2 and tells
//! the tests where it is (`HOSTILE_PLUGIN_WASM`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let crate_dir = dir.join("hostile-plugin");
    for watched in ["src", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", crate_dir.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", dir.join("../wit").display());
    ensure_target();
    let target_dir = dir.join("../target/hostile-wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&crate_dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("running cargo to build the hostile plugin");
    assert!(status.success(), "building tests/hostile-plugin failed");
    let wasm = target_dir.join("wasm32-wasip2/release/hostile_plugin.wasm");
    println!("cargo:rustc-env=HOSTILE_PLUGIN_WASM={}", wasm.display());
}

/// This may run before the harness's build script, which installs the target too.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output().ok().filter(|o| o.status.success());
    let installed = sysroot
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("lib/rustlib/wasm32-wasip2").exists())
        .unwrap_or(false);
    if !installed {
        let added = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(added, "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed: run it, then build again");
    }
}

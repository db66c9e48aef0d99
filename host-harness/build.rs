//! Builds `plugin/` for wasm32-wasip2 (release) and embeds the component as the harness's
//! default plugin. Installs the wasm32-wasip2 target with rustup when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host-harness lives in the workspace").to_path_buf();
    for watched in ["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_target();

    // A target directory of its own, so this nested build never waits on the outer one's lock.
    let target_dir = root.join("target").join("plugin-wasm");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "--package", "dotdigital-plugin", "--target", TARGET, "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("running cargo to build the plugin");
    if !status.success() {
        panic!("building plugin/ for {TARGET} failed (see the errors above)");
    }
    let wasm = target_dir.join(TARGET).join("release").join("dotdigital_plugin.wasm");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("dotdigital_plugin.wasm");
    copy(&wasm, &out);
}

/// `targets` in rust-toolchain.toml does not install the target on a toolchain that is
/// already installed, so check the sysroot and ask rustup when it is missing.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().ok().filter(|o| o.status.success());
    let installed = sysroot
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("lib/rustlib").join(TARGET).exists())
        .unwrap_or(false);
    if installed {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status().map(|s| s.success()).unwrap_or(false);
    if !added {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed: run it yourself, then build again"
        );
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
}

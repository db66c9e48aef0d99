//! Builds every guest component the workspace needs, for wasm32-wasip2, in one place:
//!
//! * `plugin/` (the connector), embedded as the harness's default plugin;
//! * `tests/hostile-plugin/` (test-only, never embedded), whose path the end-to-end tests read
//!   from `dotdigital_harness::guests`.
//!
//! Installs the wasm32-wasip2 target with rustup when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// One guest: where its crate lives (from the workspace root), which package to build, and the
/// environment variable that tells the harness where its `.wasm` is.
struct Guest {
    dir: &'static str,
    package: &'static str,
    env: &'static str,
}

const GUESTS: &[Guest] = &[
    Guest { dir: "plugin", package: "dotdigital-plugin", env: "DOTDIGITAL_GUEST_CONNECTOR" },
    Guest { dir: "tests/hostile-plugin", package: "hostile-plugin", env: "DOTDIGITAL_GUEST_HOSTILE" },
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host-harness lives in the workspace").to_path_buf();
    for watched in ["wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();
    // A target directory of its own, so these nested builds never wait on the outer one's lock.
    let target_dir = root.join("target").join("guests");
    for guest in GUESTS {
        let dir = root.join(guest.dir);
        // Only paths that exist: cargo reruns a script every time for a missing one.
        for watched in ["src", "Cargo.toml", "Cargo.lock"].map(|name| dir.join(name)).iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
        let wasm = build(&dir, guest.package, &target_dir);
        println!("cargo:rustc-env={}={}", guest.env, wasm.display());
    }
}

/// `cargo build --release` of one guest; its own workspace (the hostile plugin is not a member of
/// ours) decides its lock file and profile.
fn build(dir: &Path, package: &str, target_dir: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(dir)
        .args(["build", "--release", "--package", package, "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("running cargo to build a guest component");
    if !status.success() {
        panic!("building {} for {TARGET} failed (see the errors above)", dir.display());
    }
    let wasm = target_dir.join(TARGET).join("release").join(format!("{}.wasm", package.replace('-', "_")));
    assert!(wasm.exists(), "cargo built {package} but {} is missing", wasm.display());
    wasm
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

//! Builds every guest component the workspace needs (see `tools/guest-build`): the connector,
//! embedded as the harness's default plugin, and the test-only components whose paths the
//! end-to-end tests read from `dotdigital_harness::guests`.

use std::path::PathBuf;

use guest_build::{build_guest, ensure_target, toolchain, GUESTS};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host-harness lives in the workspace").to_path_buf();
    for watched in ["wit", "Cargo.lock", ".git/HEAD", ".git/refs/heads", "tools/guest-build/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();
    println!("cargo:rustc-env=DOTDIGITAL_GUEST_TOOLCHAIN={} ({})", toolchain(), guest_build::TARGET);
    // A target directory of its own, so these nested builds never wait on the outer one's lock.
    let target_dir = root.join("target").join("guests");
    for guest in GUESTS {
        let dir = root.join(guest.dir);
        // Only paths that exist: cargo reruns a script every time for a missing one.
        for watched in ["src", "Cargo.toml", "Cargo.lock"].map(|name| dir.join(name)).iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
        let wasm = build_guest(&root, guest, &target_dir);
        println!("cargo:rustc-env={}={}", guest.env, wasm.display());
    }
}

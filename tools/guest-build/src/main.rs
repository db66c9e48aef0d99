//! `guest-build [--target-dir DIR]`: builds the connector component from this checkout, as
//! `host-harness/build.rs` does, and prints `<sha256>  <path>`. CI runs it in two checkouts
//! of one commit in different folders: the same digest twice shows the build is reproducible.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root");
    let mut args = std::env::args().skip(1);
    let target_dir = match (args.next().as_deref(), args.next()) {
        // Absolute: the nested cargo runs in the guest's folder, not this one.
        (Some("--target-dir"), Some(dir)) => std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir)),
        (None, _) => root.join("target").join("guests"),
        _ => {
            eprintln!("usage: guest-build [--target-dir DIR]");
            std::process::exit(2);
        }
    };
    guest_build::ensure_target();
    let wasm = guest_build::build_guest(&root, guest_build::connector(), &target_dir);
    let bytes = std::fs::read(&wasm).expect("reading the built component");
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    println!("{digest}  {}", wasm.display());
}

//! `guest-build [--root DIR] [--target-dir DIR]`: builds the connector component from a checkout
//! (this one unless `--root` names another), as `host-harness/build.rs` does, and prints
//! `<sha256>  <path>`. CI runs it for two checkouts of one commit in different folders: the same
//! digest twice shows the build is reproducible.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut target_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--root", Some(dir)) => root = PathBuf::from(dir),
            ("--target-dir", Some(dir)) => target_dir = Some(PathBuf::from(dir)),
            _ => {
                eprintln!("usage: guest-build [--root DIR] [--target-dir DIR]");
                std::process::exit(2);
            }
        }
    }
    let root = root.canonicalize().unwrap_or_else(|e| {
        eprintln!("guest-build: the checkout {} cannot be read: {e}", root.display());
        std::process::exit(2);
    });
    let target_dir = target_dir.unwrap_or_else(|| root.join("target").join("guests"));
    guest_build::ensure_target();
    let wasm = guest_build::build_guest(&root, guest_build::connector(), &target_dir);
    let bytes = std::fs::read(&wasm).expect("reading the built component");
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    println!("{digest}  {}", wasm.display());
}

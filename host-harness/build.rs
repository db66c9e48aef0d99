//! Builds the connector component (see `tools/guest-build`), embedded as the harness's default
//! plugin. The test-only components are built by `tests/support/build.rs`, for the tests alone.

use std::path::PathBuf;

use guest_build::{build_for_build_script, toolchain, CONNECTOR};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host-harness lives in the workspace").to_path_buf();
    build_for_build_script(&root, &[&CONNECTOR]);
    println!("cargo:rustc-env=DOTDIGITAL_GUEST_TOOLCHAIN={} ({})", toolchain(), guest_build::TARGET);
}

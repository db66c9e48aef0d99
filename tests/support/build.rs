//! Builds the test-only guest components (see `tools/guest-build`) for the tests alone: the
//! product's build (`host-harness/build.rs`) builds only the connector. Also derives the test
//! compile cache's folder from where cargo builds (see `compile_cache_dir`).

use std::path::{Path, PathBuf};

use guest_build::{build_for_build_script, TEST_GUESTS};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.ancestors().nth(2).expect("tests/support lives in the workspace").to_path_buf();
    build_for_build_script(&root, &TEST_GUESTS.iter().collect::<Vec<_>>());
    // OUT_DIR is `<target>/<profile>/build/test-support-<hash>/out`: the profile's folder is
    // shared by every test binary of the build (both test homes), and `cargo clean` empties it.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out_dir.ancestors().nth(3).map(Path::to_path_buf).expect("OUT_DIR is under the target dir");
    println!("cargo:rustc-env=TEST_SUPPORT_COMPILE_CACHE={}", profile_dir.join("test-compile-cache").display());
}

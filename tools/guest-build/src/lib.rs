//! Builds the workspace's guest components for wasm32-wasip2, reproducibly: the connector
//! (stamped with its name, version and source revision), and the test-only components. Used by
//! `host-harness/build.rs` (which embeds the connector), `tests/support/build.rs` (the test
//! components) and the `guest-build` binary (which CI runs in two checkouts to show the
//! connector's bytes do not depend on where it was built).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// One guest: where its crate lives (from the workspace root), which package to build, and the
/// environment variable that tells the harness where its `.wasm` is.
pub struct Guest {
    pub dir: &'static str,
    pub package: &'static str,
    pub env: &'static str,
    /// The name its metadata carries, for the shipped component (`wasm-tools metadata show`).
    pub release_name: Option<&'static str>,
    /// A variant built with this cargo feature, from WIT derived from ours (see `derive_wit`);
    /// its `.wasm` is copied to a name of its own (`compat_plugin-<variant>.wasm`).
    pub variant: Option<&'static str>,
}

/// The connector: built by `host-harness/build.rs` and embedded as the harness's default plugin.
pub const CONNECTOR: Guest = Guest {
    dir: "plugin",
    package: "dotdigital-plugin",
    env: "DOTDIGITAL_GUEST_CONNECTOR",
    release_name: Some("dotdigital-connector"),
    variant: None,
};

/// The test-only components: built by `tests/support/build.rs` for the tests alone, never by
/// the product's build.
pub const TEST_GUESTS: &[Guest] = &[
    Guest {
        dir: "tests/hostile-plugin",
        package: "hostile-plugin",
        env: "DOTDIGITAL_GUEST_HOSTILE",
        release_name: None,
        variant: None,
    },
    Guest {
        dir: "tests/compat-plugin",
        package: "compat-plugin",
        env: "DOTDIGITAL_GUEST_NEWER_MINOR",
        release_name: None,
        variant: Some("newer-minor"),
    },
    Guest {
        dir: "tests/compat-plugin",
        package: "compat-plugin",
        env: "DOTDIGITAL_GUEST_LACKING",
        release_name: None,
        variant: Some("lacking"),
    },
    Guest {
        dir: "tests/compat-plugin",
        package: "compat-plugin",
        env: "DOTDIGITAL_GUEST_V1_0",
        release_name: None,
        variant: Some("v1-0"),
    },
    Guest {
        dir: "tests/compat-plugin",
        package: "compat-plugin",
        env: "DOTDIGITAL_GUEST_V1_1",
        release_name: None,
        variant: Some("v1-1"),
    },
];

/// The connector's entry.
pub fn connector() -> &'static Guest {
    &CONNECTOR
}

/// Where a build script builds `guests`: rerun when they or the contract change, build each
/// into `<workspace>/target/guests` (a target directory of its own, so these nested builds
/// never wait on the outer one's lock), and hand each `.wasm` path to the crate as its `env`.
/// Every guest shares that one directory and one release profile, so the proc macros they all
/// use (wit-bindgen's, waki's) and their common wasm32 dependencies are compiled once.
pub fn build_for_build_script(root: &Path, guests: &[&Guest]) {
    for watched in ["wit", "Cargo.lock", ".git/HEAD", ".git/refs/heads", "tools/guest-build/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();
    let target_dir = root.join("target").join("guests");
    for guest in guests {
        let dir = root.join(guest.dir);
        // Only paths that exist: cargo reruns a script every time for a missing one.
        for watched in ["src", "Cargo.toml", "Cargo.lock"].map(|name| dir.join(name)).iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
        let wasm = build_guest(root, guest, &target_dir);
        println!("cargo:rustc-env={}={}", guest.env, wasm.display());
    }
}

/// Builds `guest` (and stamps it, for the connector) under `target_dir`; returns its `.wasm`.
pub fn build_guest(root: &Path, guest: &Guest, target_dir: &Path) -> PathBuf {
    let dir = root.join(guest.dir);
    match (guest.release_name, guest.variant) {
        (Some(name), _) => with_metadata(root, &build(root, &dir, guest.package, target_dir, &[]), name),
        (None, Some(variant)) => build_variant(root, guest, variant, target_dir),
        (None, None) => build(root, &dir, guest.package, target_dir, &[]),
    }
}

/// One feature variant of a guest, copied to `<package>-<variant>.wasm`. Every variant's
/// cdylib is written to the one unhashed name `<package>.wasm`, so cargo would take a variant
/// whose own build is fresh as built and leave another variant's bytes there: its output is
/// removed first (cargo then links it again), and a lock keeps another process's build of
/// another variant from landing between this build and its copy.
fn build_variant(root: &Path, guest: &Guest, variant: &str, target_dir: &Path) -> PathBuf {
    let dir = root.join(guest.dir);
    derive_wit(root, &dir, variant);
    std::fs::create_dir_all(target_dir).expect("creating the guests' target directory");
    let lock = std::fs::File::create(target_dir.join(".variants.lock")).expect("creating the variants' lock file");
    lock.lock().expect("locking the guests' variants");
    let file = format!("{}.wasm", guest.package.replace('-', "_"));
    let release = target_dir.join(TARGET).join("release");
    for stale in [release.join(&file), release.join("deps").join(&file)] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("removing {}: {e}", stale.display()),
            _ => {}
        }
    }
    let wasm = build(root, &dir, guest.package, target_dir, &["--features", variant]);
    let own = wasm.with_file_name(format!("{}-{variant}.wasm", guest.package.replace('-', "_")));
    std::fs::copy(&wasm, &own).expect("copying a variant's component to its own name");
    own
}

/// `rustc --version` of the toolchain the guests are built with, for release manifests.
pub fn toolchain() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `cargo build --release` of one guest; its own workspace (the hostile plugin is not a member of
/// ours) decides its lock file and profile. Paths of this checkout and of the cargo home are
/// remapped, so two checkouts of one commit in different folders build the same bytes.
fn build(root: &Path, dir: &Path, package: &str, target_dir: &Path, features: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut flags = vec![format!("--remap-path-prefix={}=/build", root.display())];
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    let status = Command::new(&cargo)
        .current_dir(dir)
        // Size over speed for the guests only (the host's release build is opt-level 3). Speed
        // barely differs here: a contact sync measured the same at "z", "s" and 3 (README).
        .args(["build", "--release", "--config", "profile.release.opt-level=\"z\""])
        .args(["--package", package, "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        .args(features)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
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

/// The contract as a test component of another minor sees it, written to
/// `<dir>/wit-gen/<variant>/`: `newer-minor` is the next minor with one more function;
/// `lacking` is this version without `import-status`, a function the host calls; `v1-0` is
/// the released 1.0.0 contract (`wit/released/1.0.0/`), as a 1.0 component was built.
fn derive_wit(root: &Path, dir: &Path, variant: &str) {
    let ours = std::fs::read_to_string(root.join("wit/dotdigital.wit")).expect("reading wit/dotdigital.wit");
    let package = ours.lines().find(|l| l.starts_with("package ipaas:dotdigital@")).expect("a package line");
    let version = package.trim_start_matches("package ipaas:dotdigital@").trim_end_matches(';');
    let mut parts = version.split('.').map(|n| n.parse::<u64>().expect("a numeric version"));
    let (major, minor) = (parts.next().expect("major"), parts.next().expect("minor"));
    let derived = match variant {
        "newer-minor" => {
            let newer = ours.replace(package, &format!("package ipaas:dotdigital@{major}.{}.0;", minor + 1));
            let marker = "    describe: func() -> plugin-info;";
            assert!(newer.contains(marker), "the connector interface declares describe");
            newer.replace(marker, &format!("{marker}\n    /// Added by the newer minor.\n    ping: func() -> string;"))
        }
        "lacking" => {
            let mut lines: Vec<&str> = ours.lines().collect();
            let at =
                lines.iter().position(|l| l.trim_start().starts_with("import-status: func")).expect("import-status");
            let mut from = at;
            while from > 0 && lines[from - 1].trim_start().starts_with("///") {
                from -= 1;
            }
            lines.drain(from..=at);
            lines.join("\n")
        }
        "v1-0" => std::fs::read_to_string(root.join("wit/released/1.0.0/dotdigital.wit"))
            .expect("reading wit/released/1.0.0/dotdigital.wit"),
        "v1-1" => std::fs::read_to_string(root.join("wit/released/1.1.0/dotdigital.wit"))
            .expect("reading wit/released/1.1.0/dotdigital.wit"),
        other => panic!("unknown test component variant {other}"),
    };
    let out = dir.join("wit-gen").join(variant);
    std::fs::create_dir_all(&out).expect("creating the derived WIT directory");
    let file = out.join("dotdigital.wit");
    // Rewritten only when it changes, so the guest is not rebuilt for nothing.
    if std::fs::read_to_string(&file).ok().as_deref() != Some(derived.as_str()) {
        std::fs::write(&file, derived).expect("writing the derived WIT");
    }
}

/// The shipped component: the build with standard metadata (the component name, the
/// connector's version, the source revision) that `wasm-tools metadata show` reads and the
/// harness checks before loading. Everything in it comes from the checkout, so it is as
/// reproducible as the build.
fn with_metadata(root: &Path, wasm: &Path, name: &str) -> PathBuf {
    // The version is the workspace's (this crate shares it).
    let version = env!("CARGO_PKG_VERSION");
    let revision = Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut metadata = wasm_metadata::AddMetadata::default();
    metadata.name = wasm_metadata::AddMetadataField::Set(name.to_string());
    metadata.version = wasm_metadata::AddMetadataField::Set(wasm_metadata::Version::new(version.to_string()));
    metadata.revision = wasm_metadata::AddMetadataField::Set(wasm_metadata::Revision::new(revision));
    let bytes = std::fs::read(wasm).expect("reading the built component");
    let stamped = metadata.to_wasm(&bytes).expect("adding metadata to the component");
    let out = wasm.with_file_name(format!("{name}.wasm"));
    std::fs::write(&out, stamped).expect("writing the component with its metadata");
    out
}

/// `targets` in rust-toolchain.toml does not install the target on a toolchain that is
/// already installed, so check the sysroot and ask rustup when it is missing.
pub fn ensure_target() {
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

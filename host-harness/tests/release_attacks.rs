//! `package` under attack (from an adversarial review): forged version metadata never names a
//! path, and a published release is never replaced by other bytes.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dotdigital-harness");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dd-review-rel-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn leb(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            return out;
        }
    }
}

/// The embedded connector with one more top-level `version` custom section (the last one is
/// what wasm-metadata, and so the harness, reads): anyone can write any version.
fn with_version(version: &str) -> Vec<u8> {
    let mut payload = leb("version".len());
    payload.extend_from_slice(b"version");
    payload.extend_from_slice(version.as_bytes());
    let mut bytes = dotdigital_harness::EMBEDDED_PLUGIN.to_vec();
    bytes.push(0);
    bytes.extend(leb(payload.len()));
    bytes.extend(payload);
    bytes
}

/// `release::package` builds the file name `ipaas-dotdigital-{version}.wasm` from the
/// component's metadata unchecked: a version holding `/` and `..` writes outside `--out`.
#[test]
fn r10_forged_version_metadata_never_names_a_path() {
    let dir = temp_dir("r10");
    let plugin = dir.join("forged.wasm");
    std::fs::write(&plugin, with_version("x/../../escaped")).unwrap();
    let out = dir.join("release/dist");
    std::fs::create_dir_all(out.join("ipaas-dotdigital-x")).unwrap();
    let status = Command::new(BIN)
        .args(["package", "--out"])
        .arg(&out)
        .arg("--plugin")
        .arg(&plugin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let escaped = dir.join("release/escaped.wasm");
    assert!(!escaped.exists(), "package wrote {} outside --out (exit {status})", escaped.display());
    assert_eq!(status.code(), Some(2), "a version that is not semver is refused");
}

/// `package` into a folder that already holds a release of that version replaces it without
/// a word (`write_new` renames over it): a second, different build "1.0.0" silently
/// replaces the published one and its checksum.
#[test]
fn r11_a_published_release_is_never_replaced() {
    let dir = temp_dir("r11");
    let out = dir.join("dist");
    let package = |plugin: Option<&PathBuf>| {
        let mut command = Command::new(BIN);
        command.args(["package", "--out"]).arg(&out).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(plugin) = plugin {
            command.arg("--plugin").arg(plugin);
        }
        command.status().unwrap()
    };
    assert!(package(None).success());
    let name = format!("ipaas-dotdigital-{}.wasm.sha256", env!("CARGO_PKG_VERSION"));
    let published = std::fs::read(out.join(&name)).unwrap();
    // Another build claiming the same version (here: one extra byte of metadata).
    let other = dir.join("other.wasm");
    std::fs::write(&other, with_version(env!("CARGO_PKG_VERSION"))).unwrap();
    let status = package(Some(&other));
    assert_eq!(status.code(), Some(2), "refused");
    assert_eq!(
        std::fs::read(out.join(&name)).unwrap(),
        published,
        "the published 1.0.0 was replaced by another build (exit {status})"
    );
}

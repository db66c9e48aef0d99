//! `package`, `pin` and the lock under attack (from adversarial reviews): forged version
//! metadata never names a path, a published release is never replaced by other bytes, planted
//! symlinks and FIFOs are never written through or waited on, and a symlinked settings file
//! never escapes the lock beside the file it names.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dotdigital_harness::host::log::{Level, LogSink, LogTarget, Redactor};
use dotdigital_harness::release::{self, Pins};
use dotdigital_harness::runtime::{CompileCache, SandboxLimits};

use crate::support::{output_within_20s, temp_dir, BIN};

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

/// Runs `command`, killing it after 20 s: a run that waits on a planted FIFO fails the test
/// instead of hanging it.
fn settings(dir: &Path) -> PathBuf {
    let path = dir.join("settings.json");
    std::fs::write(
        &path,
        r#"{"name": "Pinned", "api_user": "demo@apiconnector.com", "api_password": "demo-password", "default_currency": "GBP"}"#,
    )
    .unwrap();
    path
}

/// `package` and `pin` wrote through `<name>.tmp-<pid>` with `fs::write`, which follows a
/// symlink: anyone who may write the folder plants links at the guessable names, and two
/// unrelated files of the operator's are overwritten. Run in this process, whose id is known.
#[tokio::test(flavor = "multi_thread")]
async fn r12_package_and_pin_never_write_through_planted_symlinks() {
    let dir = temp_dir("r12");
    let log = LogSink::new(LogTarget::Stderr, Level::Warn, Redactor::new(Vec::new()));
    let cache = CompileCache::Dir(test_support::compile_cache_dir());
    let plugin = dotdigital_harness::load_plugin_cached(None, &Pins::default(), SandboxLimits::default(), log, &cache)
        .await
        .unwrap();
    let out = dir.join("dist");
    std::fs::create_dir_all(&out).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let pid = std::process::id();
    let victims: Vec<PathBuf> = (0..4).map(|n| dir.join(format!("victim-{n}"))).collect();
    let planted = [
        out.join(format!("ipaas-dotdigital-{version}.tmp-{pid}")),
        out.join(format!("ipaas-dotdigital-{version}.wasm.tmp-{pid}")),
        out.join(format!("manifest.tmp-{pid}")),
        dir.join(format!("dotdigital.tmp-{pid}")),
    ];
    for (link, victim) in planted.iter().zip(&victims) {
        std::fs::write(victim, b"the operator's own file").unwrap();
        std::os::unix::fs::symlink(victim, link).unwrap();
    }
    release::package(&plugin, dotdigital_harness::EMBEDDED_PLUGIN, &out).unwrap();
    release::pin(&plugin, &settings(&dir)).unwrap();
    for victim in &victims {
        assert_eq!(std::fs::read(victim).unwrap(), b"the operator's own file", "{} overwritten", victim.display());
    }
}

/// A folder other users may write lets them plant files under the release's names between the
/// check and the rename: `package` refuses it before writing anything.
#[test]
fn r13_package_refuses_a_folder_others_may_write() {
    let dir = temp_dir("r13");
    let out = dir.join("dist");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut command = Command::new(BIN);
    command.args(["package", "--out"]).arg(&out);
    let output = output_within_20s(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("may be written by other users") && stderr.contains(&out.display().to_string()),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing written");
}

/// A FIFO at `dotdigital.lock` made the run wait forever for a writer (no output, killed by the
/// operator's timeout): opened non-blocking, it is refused as not a regular file.
#[test]
fn r14_a_fifo_in_place_of_the_lock_is_refused_at_once() {
    let dir = temp_dir("r14");
    let settings = settings(&dir);
    let fifo = std::ffi::CString::new(dir.join("dotdigital.lock").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let mut command = Command::new(BIN);
    command.args(["validate", "--settings"]).arg(&settings);
    let output = output_within_20s(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dotdigital.lock") && stderr.contains("not a regular file"), "{stderr}");
}

/// `shop/settings.json` a symlink to `real/settings.json`, pinned by `real/dotdigital.lock`:
/// the lock was looked for only in `shop/`, so any other plugin ran (exit 0). The lock beside
/// the real file pins too; two locks that disagree stop the run naming both.
#[test]
fn r15_a_symlinked_settings_file_keeps_the_lock_beside_the_real_one() {
    let dir = temp_dir("r15");
    let real = dir.join("real");
    let shop = dir.join("shop");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&shop).unwrap();
    let target = settings(&real);
    let link = shop.join("settings.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let lock = |sha: &str| format!(r#"{{"name": null, "version": null, "contract": "x", "sha256": "{sha}"}}"#);
    std::fs::write(real.join("dotdigital.lock"), lock(&"0".repeat(64))).unwrap();
    let validate = || {
        let mut command = Command::new(BIN);
        command.args(["validate", "--settings"]).arg(&link);
        output_within_20s(command)
    };
    let output = validate();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "the real file's lock pins: {stderr}");
    assert!(stderr.contains("refusing to load") && stderr.contains("real/dotdigital.lock"), "{stderr}");

    std::fs::write(shop.join("dotdigital.lock"), lock(&"1".repeat(64))).unwrap();
    let output = validate();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("shop/dotdigital.lock") && stderr.contains("real/dotdigital.lock"), "names both: {stderr}");
}

//! Release artifacts and pins: `package` writes the component an operator ships with its
//! checksum and manifest; `pin` writes `dotdigital.lock` beside a subscription's settings;
//! every load checks the component's SHA-256 against `--sha256` and the lock before it is
//! compiled, so a subscription runs exactly the component it pinned.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::runtime::contract::PACKAGE;
use crate::runtime::outbound::ALLOWED_ORIGINS;
use crate::runtime::Plugin;

/// The lock file's name, in the directory of the settings file it pins.
pub const LOCK_FILE: &str = "dotdigital.lock";

/// What `pin` records: the component's digest, and who it is (for the operator reading it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract: String,
    pub sha256: String,
}

/// `manifest.json` of a release.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract: String,
    pub sha256: String,
    pub file: String,
    pub allowed_outbound_hosts: Vec<String>,
    pub toolchain: String,
    pub source_revision: Option<String>,
}

/// The digests a component must have to be loaded: `--sha256`, and the lock beside the
/// settings when there is one.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    pins: Vec<(String, String)>,
}

impl Pins {
    /// `--sha256 HEX`: 64 hex digits, any case.
    pub fn with_flag(mut self, sha256: Option<&str>) -> Result<Pins, String> {
        if let Some(hex) = sha256 {
            let hex = digest(hex).ok_or_else(|| format!("--sha256 {hex:?}: expected 64 hex digits"))?;
            self.pins.push(("--sha256".into(), hex));
        }
        Ok(self)
    }

    /// The lock beside `settings`, if there is one; an unreadable lock is an error, never
    /// ignored (it would unpin the subscription).
    pub fn with_lock_beside(mut self, settings: &Path) -> Result<Pins> {
        let path = lock_path(settings);
        // Anything at the lock's path pins: a dangling symlink or a directory is an error, not
        // "no lock".
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            Ok(_) => {}
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading the lock {}", path.display()))?;
        let lock: Lock = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a dotdigital lock file", path.display()))?;
        let sha256 = digest(&lock.sha256).with_context(|| {
            format!("{} is not a dotdigital lock file: its sha256 is not 64 hex digits", path.display())
        })?;
        self.pins.push((path.display().to_string(), sha256));
        Ok(self)
    }

    /// Refuses `bytes` unless their SHA-256 is every pinned one.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), PinError> {
        let actual = sha256_hex(bytes);
        match self.pins.iter().find(|(_, expected)| *expected != actual) {
            Some((source, expected)) => Err(PinError { source: source.clone(), expected: expected.clone(), actual }),
            None => Ok(()),
        }
    }
}

/// A component whose digest is not the pinned one.
#[derive(Debug, Clone, PartialEq)]
pub struct PinError {
    pub source: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the plugin's SHA-256 is {}, but {} pins {}: refusing to load a component other than the pinned one",
            self.actual, self.source, self.expected
        )
    }
}

impl std::error::Error for PinError {}

/// A SHA-256 as 64 hex digits (any case, no spaces inside), lower-cased.
fn digest(text: &str) -> Option<String> {
    let hex = text.trim().to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

pub fn lock_path(settings: &Path) -> PathBuf {
    settings
        .parent()
        .map(|dir| if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
        .unwrap_or(Path::new("."))
        .join(LOCK_FILE)
}

fn contract(plugin: &Plugin) -> String {
    format!("{PACKAGE}@{}", plugin.contract_version())
}

/// Writes `dotdigital.lock` beside `settings` for the loaded `plugin`; returns its path.
pub fn pin(plugin: &Plugin, settings: &Path) -> Result<(PathBuf, Lock)> {
    let identity = plugin.identity();
    let lock = Lock {
        name: identity.name.clone(),
        version: identity.version.clone(),
        contract: contract(plugin),
        sha256: plugin.sha256().to_string(),
    };
    let path = lock_path(settings);
    write_new(&path, format!("{}\n", serde_json::to_string_pretty(&lock)?).as_bytes())?;
    Ok((path, lock))
}

/// Writes `ipaas-dotdigital-<version>.wasm`, its `.sha256` (the `sha256sum` format) and
/// `manifest.json` into `out`.
pub fn package(plugin: &Plugin, bytes: &[u8], out: &Path) -> Result<Manifest> {
    let identity = plugin.identity();
    let version = identity
        .version
        .clone()
        .context("the component carries no version metadata: only a stamped build can be released")?;
    // The version names files: only a semver, never a path.
    semver::Version::parse(&version)
        .map_err(|e| anyhow::anyhow!("the component's version metadata {version:?} is not a semver version ({e})"))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let file = format!("ipaas-dotdigital-{version}.wasm");
    let sha256 = sha256_hex(bytes);
    write_release(&out.join(&file), bytes)?;
    write_release(&out.join(format!("{file}.sha256")), format!("{sha256}  {file}\n").as_bytes())?;
    let manifest = Manifest {
        name: identity.name.clone(),
        version: Some(version),
        contract: contract(plugin),
        sha256,
        file,
        allowed_outbound_hosts: ALLOWED_ORIGINS.iter().map(|o| o.to_string()).collect(),
        toolchain: env!("DOTDIGITAL_GUEST_TOOLCHAIN").to_string(),
        source_revision: identity.revision.clone(),
    };
    write_release(&out.join("manifest.json"), format!("{}\n", serde_json::to_string_pretty(&manifest)?).as_bytes())?;
    Ok(manifest)
}

/// A release file is never replaced by other bytes: packaging the same component again is a
/// no-op, a different one under the same version is refused.
fn write_release(path: &Path, bytes: &[u8]) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new(path, bytes),
        Ok(meta) if meta.file_type().is_file() && std::fs::read(path).ok().as_deref() == Some(bytes) => Ok(()),
        Ok(_) => Err(anyhow::anyhow!(
            "{} already exists with other contents: a release is never overwritten (package into an empty directory)",
            path.display()
        )),
        Err(e) => Err(e).with_context(|| format!("checking {}", path.display())),
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temp, bytes).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_refuses_any_other_digest() {
        let bytes = b"component";
        let right = sha256_hex(bytes);
        assert!(Pins::default().verify(bytes).is_ok());
        assert!(Pins::default().with_flag(Some(&right.to_uppercase())).unwrap().verify(bytes).is_ok());
        let mut tampered = bytes.to_vec();
        tampered[0] ^= 1;
        let error = Pins::default().with_flag(Some(&right)).unwrap().verify(&tampered).unwrap_err();
        assert_eq!((error.source.as_str(), error.expected.as_str()), ("--sha256", right.as_str()));
        assert!(Pins::default().with_flag(Some("abc")).is_err());
        assert!(Pins::default().with_flag(Some(&"g".repeat(64))).is_err());
    }

    #[test]
    fn the_lock_lives_beside_the_settings() {
        assert_eq!(lock_path(Path::new("/etc/shop/settings.json")), Path::new("/etc/shop/dotdigital.lock"));
        assert_eq!(lock_path(Path::new("settings.json")), Path::new("./dotdigital.lock"));
    }
}

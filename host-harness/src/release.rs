//! Release artifacts and pins: `package` writes the component an operator ships with its
//! checksum and manifest; `pin` writes `dotdigital.lock` beside a subscription's settings;
//! every load checks the component's SHA-256 against `--sha256` and the lock before it is
//! compiled, so a subscription runs exactly the component it pinned.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::errors::io_reason;
use crate::runtime::allowlist::ALLOWED_ORIGINS;
use crate::runtime::contract::PACKAGE;
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
    pub fn with_flag(mut self, sha256: Option<&str>) -> Result<Pins, NotADigest> {
        if let Some(hex) = sha256 {
            let hex = digest(hex).ok_or_else(|| NotADigest { flag: hex.to_string() })?;
            self.pins.push(("--sha256".into(), hex));
        }
        Ok(self)
    }

    /// The lock beside `settings`, if there is one; an unreadable lock is an error, never
    /// ignored (it would unpin the subscription). When `settings` is a symlink, the lock beside
    /// the file it resolves to pins too: the two must agree, or the run is refused.
    pub fn with_lock_beside(mut self, settings: &Path) -> Result<Pins, ReleaseError> {
        let given = lock_path(settings);
        let beside_real = std::fs::canonicalize(settings).ok().map(|real| lock_path(&real));
        let mut found = read_lock(&given)?.map(|sha| (given.clone(), sha));
        if let Some(real) = beside_real.filter(|real| !same_file(real, &given)) {
            if let Some(sha) = read_lock(&real)? {
                match &found {
                    Some((path, other)) if *other != sha => {
                        return Err(ReleaseError::LocksDisagree {
                            given: (path.clone(), other.clone()),
                            beside_real: (real, sha),
                        })
                    }
                    Some(_) => {}
                    None => found = Some((real, sha)),
                }
            }
        }
        if let Some((path, sha256)) = found {
            self.pins.push((path.display().to_string(), sha256));
        }
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

/// Why a lock could not be read or written, or a release not packaged: a set-up error. Each
/// names the file or folder it is about.
#[derive(Debug)]
pub enum ReleaseError {
    /// The lock beside the settings and the one beside the file they link to pin different
    /// components: (path, digest) of each.
    LocksDisagree { given: (PathBuf, String), beside_real: (PathBuf, String) },
    /// Something is at the lock's path, and it cannot be read as a lock file.
    UnreadableLock { path: PathBuf, reason: String },
    /// The lock's text is not a lock: why.
    NotALock { path: PathBuf, why: String },
    /// Only a stamped build (with version metadata) can be released.
    NoVersion,
    /// The version metadata is not a semver version (it names the release's files).
    NotSemver { version: String, reason: String },
    /// The release folder may be written by other users.
    SharedFolder { dir: PathBuf, mode: u32 },
    /// A release file exists with other contents: a release is never overwritten.
    Exists { path: PathBuf },
    /// A file or folder could not be read, checked, created or written: what was being done.
    Io { doing: String, reason: String },
}

impl std::fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReleaseError::LocksDisagree { given: (path, other), beside_real: (real, sha) } => write!(
                f,
                "{} pins {other} but {} (beside the file the settings link to) pins {sha}: make them agree, or remove \
                 one",
                path.display(),
                real.display()
            ),
            ReleaseError::UnreadableLock { path, reason } => write!(f, "reading the lock {}: {reason}", path.display()),
            ReleaseError::NotALock { path, why } => {
                write!(f, "{} is not a dotdigital lock file: {why}", path.display())
            }
            ReleaseError::NoVersion => {
                f.write_str("the component carries no version metadata: only a stamped build can be released")
            }
            ReleaseError::NotSemver { version, reason } => {
                write!(f, "the component's version metadata {version:?} is not a semver version ({reason})")
            }
            ReleaseError::SharedFolder { dir, mode } => write!(
                f,
                "the folder {} may be written by other users (mode {mode:o}): package into a folder only you can write",
                dir.display()
            ),
            ReleaseError::Exists { path } => write!(
                f,
                "{} already exists with other contents: a release is never overwritten (package into an empty \
                 directory)",
                path.display()
            ),
            ReleaseError::Io { doing, reason } => write!(f, "{doing}: {reason}"),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// A `--sha256` value that is not 64 hex digits: a usage error.
#[derive(Debug, Clone, PartialEq)]
pub struct NotADigest {
    pub flag: String,
}

impl std::fmt::Display for NotADigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--sha256 {:?}: expected 64 hex digits", self.flag)
    }
}

impl std::error::Error for NotADigest {}

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

/// The lock's digest at `path`; `None` when nothing is there. Anything at the path pins: a
/// dangling symlink, a directory or a FIFO is an error, not "no lock". Opened non-blocking
/// (a FIFO planted there would otherwise hang the run) and read only if a small regular file.
fn read_lock(path: &Path) -> Result<Option<String>, ReleaseError> {
    let unreadable = |reason| ReleaseError::UnreadableLock { path: path.to_path_buf(), reason };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(io_reason(&e))),
        Ok(_) => {}
    }
    let bytes = read_regular(path, MAX_LOCK_BYTES).map_err(unreadable)?;
    let not_a_lock = |why: String| ReleaseError::NotALock { path: path.to_path_buf(), why };
    let lock: Lock = serde_json::from_slice(&bytes).map_err(|e| not_a_lock(e.to_string()))?;
    let sha256 = digest(&lock.sha256).ok_or_else(|| not_a_lock("its sha256 is not 64 hex digits".into()))?;
    Ok(Some(sha256))
}

/// A lock is a few hundred bytes; anything much bigger is not one.
const MAX_LOCK_BYTES: u64 = 64 << 10;

/// The bytes of `path` if it is a regular file of at most `max` bytes, checked on the open
/// descriptor (`O_NONBLOCK`: opening a FIFO returns at once instead of waiting for a writer).
fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > max {
        return Err(format!("it is {} bytes, too big for one", meta.len()));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| io_reason(&e))?;
    Ok(bytes)
}

/// Whether two paths name one file (both must exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => std::fs::canonicalize(a).ok().zip(std::fs::canonicalize(b).ok()).is_some_and(|(a, b)| a == b),
    }
}

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
pub fn pin(plugin: &Plugin, settings: &Path) -> Result<(PathBuf, Lock), ReleaseError> {
    let identity = plugin.identity();
    let lock = Lock {
        name: identity.name.clone(),
        version: identity.version.clone(),
        contract: contract(plugin),
        sha256: plugin.sha256().to_string(),
    };
    let path = lock_path(settings);
    write_new(&path, format!("{}\n", pretty(&lock)).as_bytes())?;
    Ok((path, lock))
}

/// Writes `ipaas-dotdigital-<version>.wasm`, its `.sha256` (the `sha256sum` format) and
/// `manifest.json` into `out`.
pub fn package(plugin: &Plugin, bytes: &[u8], out: &Path) -> Result<Manifest, ReleaseError> {
    let identity = plugin.identity();
    let version = identity.version.clone().ok_or(ReleaseError::NoVersion)?;
    // The version names files: only a semver, never a path.
    semver::Version::parse(&version)
        .map_err(|e| ReleaseError::NotSemver { version: version.clone(), reason: e.to_string() })?;
    std::fs::create_dir_all(out).map_err(|e| ReleaseError::Io {
        doing: format!("creating the folder {}", out.display()),
        reason: io_reason(&e),
    })?;
    check_private_dir(out)?;
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
    write_release(&out.join("manifest.json"), format!("{}\n", pretty(&manifest)).as_bytes())?;
    Ok(manifest)
}

/// A lock or a manifest as the pretty JSON its file holds (plain strings and options: it
/// cannot fail).
fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a lock or a manifest is JSON")
}

/// A release file is never replaced by other bytes: packaging the same component again is a
/// no-op, a different one under the same version is refused.
fn write_release(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new(path, bytes),
        Ok(meta)
            if meta.file_type().is_file() && read_regular(path, bytes.len() as u64).ok().as_deref() == Some(bytes) =>
        {
            Ok(())
        }
        Ok(_) => Err(ReleaseError::Exists { path: path.to_path_buf() }),
        Err(e) => Err(ReleaseError::Io { doing: format!("checking {}", path.display()), reason: e.to_string() }),
    }
}

/// Refuses a folder that another user may write: they could plant a file or a symlink
/// under the release's names between our check and our rename. A sticky folder of ours
/// (only a file's owner may replace it) is accepted.
fn check_private_dir(dir: &Path) -> Result<(), ReleaseError> {
    let meta = std::fs::metadata(dir).map_err(|e| ReleaseError::Io {
        doing: format!("reading the folder {}", dir.display()),
        reason: io_reason(&e),
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    let others_may_write = meta.mode() & 0o022 != 0;
    let sticky = meta.mode() & 0o1000 != 0;
    if others_may_write && !(sticky && ours) {
        return Err(ReleaseError::SharedFolder { dir: dir.to_path_buf(), mode: meta.mode() & 0o7777 });
    }
    Ok(())
}

/// Writes through a temporary file and a rename, so a reader never sees half a file. The
/// temporary name has a random suffix and is created new without following symlinks: a file
/// or symlink planted at a guessable name is never written through.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("release");
    let temp = path.with_file_name(format!(".{name}.{:016x}.tmp", fastrand::u64(..)));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(ReleaseError::Io { doing: format!("writing {}", path.display()), reason: io_reason(&e) });
    }
    Ok(())
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

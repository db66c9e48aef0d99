//! The compiled component, kept on disk so a machine compiles each build once: every process
//! after the first deserializes it (about a millisecond) instead of compiling (hundreds).
//!
//! One file per component and engine, named by the component's SHA-256 and the engine's
//! compatibility hash (wasmtime's version and every setting that changes the code). Its
//! content is a header (a magic string, the component's SHA-256, an HMAC-SHA256 of both under
//! a key kept outside the cache) and the artifact `Component::serialize` wrote. A file that is
//! missing, truncated, tampered with, for another component, not made with this machine's
//! key, a symlink, a FIFO, or refused by wasmtime is rebuilt, never used; the cache failing in
//! any way costs a compile and a log line, never the run.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::digest::hex;
use crate::host::log::{Level, LogSink};

/// Where compiled components are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileCache {
    /// Compile in every process (`--no-cache`, or no cache directory is known).
    Off,
    /// This directory (created 0700 when missing).
    Dir(PathBuf),
}

/// The directory name under the user's cache directory.
const DIR_NAME: &str = "dotdigital-harness";

/// Starts every cache file, so nothing else is ever read as an artifact.
/// (v2: the checksum became a MAC; a v1 file is rebuilt once.)
const MAGIC: &[u8; 16] = b"ddh-cwasm-v2\0\0\0\n";
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;

/// More than any compiled connector; a bigger file is not ours.
const MAX_FILE_BYTES: u64 = 256 << 20;

impl CompileCache {
    /// `$XDG_CACHE_HOME/dotdigital-harness`, else `~/.cache/dotdigital-harness` (XDG's rule: a
    /// relative `XDG_CACHE_HOME` is ignored); `Off` when neither is known.
    pub fn user_default() -> CompileCache {
        let absolute = |value: std::ffi::OsString| Some(PathBuf::from(value)).filter(|p| p.is_absolute());
        let base = std::env::var_os("XDG_CACHE_HOME")
            .and_then(absolute)
            .or_else(|| std::env::var_os("HOME").and_then(absolute).map(|home| home.join(".cache")));
        match base {
            Some(base) => CompileCache::Dir(base.join(DIR_NAME)),
            None => CompileCache::Off,
        }
    }

    /// What `--cache-dir DIR` and `--no-cache` ask for.
    pub fn from_args(dir: Option<PathBuf>, no_cache: bool) -> CompileCache {
        match (no_cache, dir) {
            (true, _) => CompileCache::Off,
            (false, Some(dir)) => CompileCache::Dir(dir),
            (false, None) => CompileCache::user_default(),
        }
    }
}

/// The file a component compiled by `engine` is kept in.
pub fn file_for(dir: &Path, engine: &Engine, component_sha256: &[u8; 32]) -> PathBuf {
    /// Feeds `Hash` output into SHA-256: a key that is the same in every process and every
    /// build of the harness (std's hasher promises neither).
    struct Sha256Hasher(Sha256);
    impl std::hash::Hasher for Sha256Hasher {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    let engine_key = hasher.0.finalize();
    dir.join(format!("{}-{}.cwasm", hex(component_sha256), hex(&engine_key[..8])))
}

/// The component, from the cache when a valid file is there, else compiled (and stored).
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    component_sha256: &[u8; 32],
    cache: &CompileCache,
    log: &LogSink,
) -> wasmtime::Result<Component> {
    let CompileCache::Dir(dir) = cache else {
        return Component::new(engine, bytes);
    };
    if let Err(why) = prepare_dir(dir) {
        log.emit(Level::Warn, &format!("compile cache {}: {why}; compiling without it", dir.display()));
        return Component::new(engine, bytes);
    }
    let key = match CacheKey::for_cache(dir) {
        Ok(key) => key,
        Err(why) => {
            log.emit(Level::Warn, &format!("compile cache {}: {why}; compiling without it", dir.display()));
            return Component::new(engine, bytes);
        }
    };
    let file = file_for(dir, engine, component_sha256);
    match load(engine, &file, component_sha256, &key) {
        Ok(Some(component)) => {
            log.emit(Level::Debug, &format!("compiled component read from the cache {}", file.display()));
            return Ok(component);
        }
        Ok(None) => {}
        Err(why) => log.emit(Level::Warn, &format!("compile cache {}: {why}; rebuilt", file.display())),
    }
    let started = Instant::now();
    let component = Component::new(engine, bytes)?;
    let compiled_in = started.elapsed();
    match component
        .serialize()
        .map_err(|e| format!("{e:#}"))
        .and_then(|artifact| store(&file, component_sha256, &artifact, &key).map_err(|e| format!("not written: {e}")))
    {
        Ok(()) => log.emit(
            Level::Debug,
            &format!("component compiled in {} ms and cached in {}", compiled_in.as_millis(), file.display()),
        ),
        Err(why) => log.emit(Level::Warn, &format!("compile cache {}: {why}", file.display())),
    }
    Ok(component)
}

/// Creates the directory (0700) if missing, and accepts it only if it is a real directory
/// (not a symlink), ours, and writable by nobody else: whoever can write there chooses the
/// code this process runs.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| format!("cannot create it: {e}"))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("is a symlink, refused".into());
    }
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    if meta.uid() != euid() {
        return Err(format!("belongs to user {}, not to this one", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("is writable by others (mode {:o}), refused", meta.mode() & 0o777));
    }
    Ok(())
}

/// The cached component: `Ok(None)` when there is none yet, `Err` when the file is there but
/// not usable (it is then replaced).
fn load(
    engine: &Engine,
    file: &Path,
    component_sha256: &[u8; 32],
    key: &CacheKey,
) -> Result<Option<Component>, String> {
    // O_NOFOLLOW: a symlink planted in place of the file is refused, never followed.
    // O_NONBLOCK: a FIFO planted there opens at once (and fails the regular-file check below)
    // instead of waiting forever for a writer.
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let mut handle = match OpenOptions::new().read(true).custom_flags(flags).open(file) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err("is a symlink, refused".into()),
        Err(e) => return Err(format!("cannot be opened: {e}")),
    };
    let meta = handle.metadata().map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() || meta.uid() != euid() || meta.len() > MAX_FILE_BYTES {
        return Err("is not a regular file of this user's".into());
    }
    let mut content = Vec::with_capacity(meta.len() as usize);
    handle.read_to_end(&mut content).map_err(|e| format!("cannot be read: {e}"))?;
    let artifact = verified_artifact(&content, component_sha256, key)?;
    // SAFETY: `Component::deserialize` runs the machine code in `artifact` as it is; wasmtime
    // only checks that it was made by a compatible engine. These bytes are trusted because
    // (1) they sit in a directory that is ours, not a symlink and writable by no other user
    // (`prepare_dir`), in a regular file of ours opened without following symlinks, so only
    // this user (who could run any code anyway) can have written them; (2) this process
    // writes such files only whole, to a temporary name and then renamed (`store`), so a
    // reader never sees a partial one; (3) the header's HMAC of the component's SHA-256 and
    // the artifact is checked against these very bytes (in memory: the file changing
    // afterwards cannot matter) under a key that lives outside the cache directory, so a
    // truncated, edited or planted artifact, or one renamed from another component's, is
    // refused even when whoever planted it may write the cache (a pinned run then still
    // runs only code this harness compiled from the pinned bytes).
    match unsafe { Component::deserialize(engine, artifact) } {
        Ok(component) => Ok(Some(component)),
        Err(e) => Err(format!("refused by wasmtime: {e:#}")),
    }
}

/// The artifact, if `content` is a whole cache file for this component.
fn verified_artifact<'a>(content: &'a [u8], component_sha256: &[u8; 32], key: &CacheKey) -> Result<&'a [u8], String> {
    if content.len() < HEADER_LEN || &content[..MAGIC.len()] != MAGIC {
        return Err("is not a cache file (truncated or foreign)".into());
    }
    let (component, rest) = content[MAGIC.len()..].split_at(32);
    let (mac, artifact) = rest.split_at(32);
    if component != component_sha256 {
        return Err("was compiled from another component".into());
    }
    // Compared in constant time: the MAC is what stands between the cache and the code run.
    let expected = key.mac(component_sha256, artifact);
    if mac.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) != 0 {
        return Err("does not match its checksum (truncated, altered, or not written by this harness)".into());
    }
    Ok(artifact)
}

/// Writes the file whole under a temporary name (0600, created new), syncs it, then renames
/// it over `file`: readers see the old file or the new one, and two processes storing at once
/// both store a whole file (the last rename wins).
fn store(file: &Path, component_sha256: &[u8; 32], artifact: &[u8], key: &CacheKey) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("component");
    let temporary = dir.join(format!(".{name}.{}.{:016x}.tmp", std::process::id(), fastrand::u64(..)));
    let written = (|| {
        let mut out: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)?;
        out.write_all(MAGIC)?;
        out.write_all(component_sha256)?;
        out.write_all(&key.mac(component_sha256, artifact))?;
        out.write_all(artifact)?;
        out.sync_all()?;
        fs::rename(&temporary, file)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// The key that authenticates cache files: 32 random bytes in
/// `$XDG_CONFIG_HOME/dotdigital-harness/cache-key` (else `~/.config/…`), `0600`, created on
/// first use. It lives outside the cache directory, so write access to the cache alone (a
/// synced or shared cache folder, a tool that cleans or fills caches) cannot make a file this
/// harness runs; a process that can write the user's config could also replace the harness.
pub struct CacheKey([u8; 32]);

const KEY_FILE: &str = "cache-key";

impl CacheKey {
    /// The key for the cache in `cache_dir`, created if missing.
    fn for_cache(cache_dir: &Path) -> Result<CacheKey, String> {
        let absolute = |value: std::ffi::OsString| Some(PathBuf::from(value)).filter(|p| p.is_absolute());
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .and_then(absolute)
            .or_else(|| std::env::var_os("HOME").and_then(absolute).map(|home| home.join(".config")))
            .ok_or("no place for its key (neither XDG_CONFIG_HOME nor HOME is set)")?;
        let dir = base.join(DIR_NAME);
        let inside = |a: &Path, b: &Path| {
            fs::canonicalize(a).ok().zip(fs::canonicalize(b).ok()).is_some_and(|(a, b)| a.starts_with(b))
        };
        prepare_dir(&dir).map_err(|why| format!("its key's folder {} {why}", dir.display()))?;
        if inside(&dir, cache_dir) || inside(cache_dir, &dir) {
            return Err(format!("its key's folder {} must not hold or be held by the cache", dir.display()));
        }
        let path = dir.join(KEY_FILE);
        match read_key(&path) {
            Err(why) if why.kind() == std::io::ErrorKind::NotFound => create_key(&path),
            other => other,
        }
        .map(CacheKey)
        .map_err(|e| format!("its key {}: {}", path.display(), crate::errors::io_reason(&e)))
    }

    /// HMAC-SHA256 (RFC 2104) of the component's SHA-256 and the artifact.
    fn mac(&self, component_sha256: &[u8; 32], artifact: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0, &[component_sha256, artifact])
    }
}

/// HMAC-SHA256 of the concatenated `parts`, for a key of at most one block (64 bytes).
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let mut inner = Sha256::new_with_prefix(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    Sha256::new_with_prefix(pad(0x5c)).chain_update(inner.finalize()).finalize().into()
}

/// The key at `path`: a regular file of this user's, readable by no one else, of 32 bytes.
fn read_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let mut file = OpenOptions::new().read(true).custom_flags(flags).open(path)?;
    let meta = file.metadata()?;
    let invalid = |what: &str| std::io::Error::other(what.to_string());
    if !meta.is_file() || meta.uid() != euid() || meta.mode() & 0o077 != 0 {
        return Err(invalid("it must be a regular file of this user's that no one else may read or write"));
    }
    if meta.len() != 32 {
        return Err(invalid("it is not 32 bytes long (remove it: a new one is made)"));
    }
    let mut key = [0u8; 32];
    file.read_exact(&mut key)?;
    Ok(key)
}

/// Writes 32 random bytes under a temporary name and links them into place: two processes
/// creating the key at once both end up with the one that was linked first.
fn create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    // SAFETY: getrandom writes at most `key.len()` bytes into `key`.
    let filled = unsafe { libc::getrandom(key.as_mut_ptr().cast(), key.len(), 0) };
    if filled != key.len() as isize {
        return Err(std::io::Error::last_os_error());
    }
    let temporary = path.with_file_name(format!(".{KEY_FILE}.{:016x}.tmp", fastrand::u64(..)));
    let linked = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)?;
        out.write_all(&key)?;
        out.sync_all()?;
        match fs::hard_link(&temporary, path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    })();
    let _ = fs::remove_file(&temporary);
    linked?;
    read_key(path)
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_accepted_only_whole_and_for_its_component() {
        let sha = [7u8; 32];
        let key = CacheKey([1u8; 32]);
        let artifact = b"machine code".to_vec();
        let mut content = MAGIC.to_vec();
        content.extend_from_slice(&sha);
        content.extend_from_slice(&key.mac(&sha, &artifact));
        content.extend_from_slice(&artifact);
        assert_eq!(verified_artifact(&content, &sha, &key), Ok(&artifact[..]));
        assert!(verified_artifact(&content[..content.len() - 1], &sha, &key).unwrap_err().contains("checksum"));
        assert!(verified_artifact(&content[..HEADER_LEN - 1], &sha, &key).unwrap_err().contains("truncated"));
        assert!(verified_artifact(&content, &[8u8; 32], &key).unwrap_err().contains("another component"));
        let mut edited = content.clone();
        *edited.last_mut().unwrap() ^= 1;
        assert!(verified_artifact(&edited, &sha, &key).unwrap_err().contains("checksum"));
        assert!(verified_artifact(b"", &sha, &key).is_err());
        // Another machine's (or an attacker's) key: the same bytes are refused.
        assert!(verified_artifact(&content, &sha, &CacheKey([2u8; 32])).unwrap_err().contains("checksum"));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: key "Jefe".
        let mac = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn the_default_follows_xdg_then_home() {
        // Read-only look at the rule; the environment is not changed (tests run in parallel).
        match CompileCache::from_args(None, false) {
            CompileCache::Dir(dir) => assert!(dir.ends_with(DIR_NAME), "{}", dir.display()),
            CompileCache::Off => assert!(std::env::var_os("HOME").is_none()),
        }
        assert_eq!(CompileCache::from_args(Some("/x".into()), true), CompileCache::Off);
        assert_eq!(CompileCache::from_args(Some("/x".into()), false), CompileCache::Dir("/x".into()));
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        let dir = std::env::temp_dir().join(format!("ddh-cache-test-{}-{:x}", std::process::id(), fastrand::u64(..)));
        prepare_dir(&dir).expect("a new directory is ours");
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        assert!(prepare_dir(&dir).unwrap_err().contains("writable by others"));
        let link = dir.with_extension("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(prepare_dir(&link).unwrap_err().contains("symlink"));
        fs::remove_file(&link).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}

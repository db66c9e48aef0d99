//! The compile cache as processes see it: the first process compiles and stores the
//! component, later ones read it; a truncated, altered or planted file is rebuilt, never
//! used; two processes filling an empty cache at once both succeed and leave one whole file.
//! Also the benchmark's JSON (its keys, not its speeds).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{output_within_20s, temp_dir, BIN};

/// `describe` with the cache in `cache`: the component's SHA-256, and stderr.
fn describe(cache: &Path) -> (String, String) {
    described(describe_with(cache, &[]).output().expect("the harness runs"))
}

/// The `describe` command, with the cache's key beside the cache folder (not in the user's
/// config) and `extra` arguments.
fn describe_with(cache: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["describe", "--cache-dir", cache.to_str().unwrap()])
        .args(extra)
        .env("XDG_CONFIG_HOME", cache.parent().unwrap().join("config"))
        .stdin(Stdio::null());
    command
}

fn described(output: Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let info: Value = serde_json::from_slice(&output.stdout).expect("describe prints JSON");
    (info["sha256"].as_str().unwrap().to_string(), stderr)
}

/// The cache's files: the compiled component(s), and anything else left there.
fn files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn the_cache_file(cache: &Path) -> PathBuf {
    let files = files(cache);
    assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "cwasm"), "{files:?}");
    files[0].clone()
}

#[test]
fn the_cache_is_filled_once_then_read() {
    let cache = temp_dir("cache").join("cache");
    let (sha, stderr) = describe(&cache);
    assert!(!stderr.contains("compile cache"), "no complaint on a first fill: {stderr}");
    let file = the_cache_file(&cache);
    assert!(file.file_name().unwrap().to_str().unwrap().starts_with(&sha), "named by the component: {file:?}");
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    let (again, stderr) = describe(&cache);
    assert_eq!(again, sha);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written, "read, not rewritten");
}

#[test]
fn a_truncated_or_altered_file_is_rebuilt_not_used() {
    let cache = temp_dir("cache").join("cache");
    describe(&cache);
    let file = the_cache_file(&cache);
    let whole = std::fs::read(&file).unwrap();

    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.contains("does not match its checksum") && stderr.contains("rebuilt"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), whole, "rebuilt whole");

    // One byte of machine code changed, the header intact: the checksum catches it.
    let mut altered = whole.clone();
    let last = altered.len() - 100;
    altered[last] ^= 0x40;
    std::fs::write(&file, &altered).unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.contains("does not match its checksum") && stderr.contains("rebuilt"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), whole);

    std::fs::write(&file, b"").unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.contains("is not a cache file") && stderr.contains("rebuilt"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), whole);
}

#[test]
fn a_symlink_is_never_followed() {
    let dir = temp_dir("cache");
    let cache = dir.join("cache");
    describe(&cache);
    let file = the_cache_file(&cache);
    let elsewhere = dir.join("planted.cwasm");
    std::fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.contains("is a symlink, refused") && stderr.contains("rebuilt"), "{stderr}");
    assert!(!std::fs::symlink_metadata(&file).unwrap().file_type().is_symlink(), "replaced by a file of its own");

    // A cache directory that is a symlink, or that others may write, is not used at all.
    let link = dir.join("link");
    std::os::unix::fs::symlink(&cache, &link).unwrap();
    let (_, stderr) = describe(&link);
    assert!(stderr.contains("is a symlink, refused") && stderr.contains("compiling without it"), "{stderr}");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.contains("writable by others") && stderr.contains("compiling without it"), "{stderr}");
}

#[test]
fn two_processes_filling_an_empty_cache_at_once_both_succeed() {
    let cache = temp_dir("cache").join("cache");
    let start = || describe_with(&cache, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (first, second) = (start(), start());
    let (a, a_err) = described(first.wait_with_output().unwrap());
    let (b, b_err) = described(second.wait_with_output().unwrap());
    assert_eq!(a, b);
    assert!(a_err.is_empty() && b_err.is_empty(), "{a_err}\n{b_err}");
    let file = the_cache_file(&cache);
    // Whatever rename won, the file is whole: a third process reads it without a word.
    let before = std::fs::read(&file).unwrap();
    let (_, stderr) = describe(&cache);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn no_cache_writes_nothing_and_the_default_follows_xdg() {
    let xdg = temp_dir("cache");
    let run = |extra: &[&str]| {
        let output = Command::new(BIN)
            .arg("describe")
            .args(extra)
            .env("XDG_CACHE_HOME", &xdg)
            .env("XDG_CONFIG_HOME", xdg.join("config"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        described(output)
    };
    run(&["--no-cache"]);
    assert!(!xdg.join("dotdigital-harness").exists(), "--no-cache wrote a cache");
    run(&[]);
    the_cache_file(&xdg.join("dotdigital-harness"));
}

/// Runs `command`, killing it after 20 s: a run that waits on a planted FIFO fails the test
/// instead of hanging it.
/// A FIFO in place of the cache file was opened blocking: the run waited forever for a
/// writer. Opened non-blocking, it is refused as not a regular file and the run compiles.
#[test]
fn a_fifo_in_place_of_the_cache_file_is_rebuilt_not_waited_on() {
    let cache = temp_dir("cache").join("cache");
    describe(&cache);
    let file = the_cache_file(&cache);
    std::fs::remove_file(&file).unwrap();
    let fifo = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let (_, stderr) = described(output_within_20s(describe_with(&cache, &[])));
    assert!(stderr.contains("not a regular file") && stderr.contains("rebuilt"), "{stderr}");
    assert!(std::fs::symlink_metadata(&file).unwrap().is_file(), "replaced by a file of its own");
}

/// Whoever may write the cache folder could copy another component's compiled file under the
/// pinned component's name, with the header's component digest rewritten and the checksum
/// still right (it covered only the artifact): `--sha256` checked the component's bytes, then
/// ran the other one's code. Here "another component" is the connector with one more byte of
/// metadata; any compiled code would do. The file's MAC, under a key outside the cache, now
/// refuses it.
#[test]
fn a_planted_artifact_never_runs_under_a_pin() {
    let dir = temp_dir("cache");
    let cache = dir.join("cache");
    let (sha, _) = describe(&cache);
    let pinned_file = the_cache_file(&cache);
    // The other component: a custom section appended (name "x", no payload).
    let other = dir.join("other.wasm");
    let mut bytes = dotdigital_harness::EMBEDDED_PLUGIN.to_vec();
    bytes.extend_from_slice(&[0, 2, 1, b'x']);
    std::fs::write(&other, &bytes).unwrap();
    let output = describe_with(&cache, &["--plugin", other.to_str().unwrap()]).output().unwrap();
    described(output);
    let other_file = files(&cache).into_iter().find(|f| *f != pinned_file).expect("the other component's file");

    let mut planted = std::fs::read(&other_file).unwrap();
    let digest: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&sha[2 * i..2 * i + 2], 16).unwrap()).collect();
    planted[16..48].copy_from_slice(&digest);
    std::fs::write(&pinned_file, &planted).unwrap();

    let output = describe_with(&cache, &["--sha256", &sha]).output().unwrap();
    let (_, stderr) = described(output);
    // Read silently and left in place, the planted file would have been what ran.
    assert!(stderr.contains("does not match its checksum") && stderr.contains("rebuilt"), "planted code ran: {stderr}");
    assert_ne!(std::fs::read(&pinned_file).unwrap(), planted, "rebuilt");
}

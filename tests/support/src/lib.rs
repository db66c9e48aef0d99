//! What every test home shares, without the harness's types (the harness dev-depends on this
//! crate): the test-only guest components, the demo account and fixtures, temporary folders,
//! the compile cache's folder, and the process's peak memory. Helpers that take or return the
//! harness's types live in `tests/src/lib.rs` (end-to-end) and `host-harness/tests/all/support.rs`.

use std::path::PathBuf;

/// A throwaway PostgreSQL cluster, one database per test.
pub mod postgres;

/// Test-only guest components, built by this crate's build.rs (never by the product's build,
/// never embedded, never shipped): tests load them by path.
pub mod guests {
    /// `tests/hostile-plugin`: a component that attacks the sandbox on request.
    pub const HOSTILE: &str = env!("DOTDIGITAL_GUEST_HOSTILE");

    /// `tests/compat-plugin` built for the next minor of the contract, with one more function.
    pub const NEWER_MINOR: &str = env!("DOTDIGITAL_GUEST_NEWER_MINOR");

    /// `tests/compat-plugin` claiming this contract version but lacking `import-status`.
    pub const LACKING: &str = env!("DOTDIGITAL_GUEST_LACKING");

    /// `tests/compat-plugin` built against the released 1.0.0 contract: no 1.1 function; its
    /// imports answer without a network (every record imported, no contact ids).
    pub const V1_0: &str = env!("DOTDIGITAL_GUEST_V1_0");

    /// `tests/compat-plugin` built against the released 1.1.0 contract: no `describe-bulk`, so
    /// a host paces its bulk loads with caution of its own.
    pub const V1_1: &str = env!("DOTDIGITAL_GUEST_V1_1");
}

/// The demo account (r1) and its password, as the simulator states them; tests grep every
/// output for the password.
pub const DEMO_ACCOUNT: i64 = dotdigital_sim::DEMO_ACCOUNT.id;
pub const DEMO_PASSWORD: &str = dotdigital_sim::DEMO_ACCOUNT.api_password;
/// The demo account in r2.
pub const R2_ACCOUNT: i64 = dotdigital_sim::DEMO_R2_ACCOUNT.id;

/// The demo records shipped with the harness (`host-harness/demo/`).
pub mod fixtures {
    pub const DEMO_ORDER: &str = include_str!("../../../host-harness/demo/order.json");
    pub const DEMO_CERTIFICATE: &str = include_str!("../../../host-harness/demo/certificate.json");
}

/// A new, empty folder `dd-<name>-<pid>-<random>` under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dd-{name}-{}-{:016x}", std::process::id(), random_u64()));
    std::fs::create_dir_all(&dir).expect("creating a temporary folder");
    dir
}

/// A number no two calls share in practice (std's randomly keyed hasher over the time).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

/// Where the tests keep the compiled connector (the harness's compile cache): one folder for
/// the whole build, so a test run compiles it once, whichever test home or binary comes
/// first. The cache writes whole files under temporary names and renames them, so test
/// binaries filling it at once are safe. Tests of the cache itself use folders of their own.
pub fn compile_cache_dir() -> PathBuf {
    PathBuf::from(env!("TEST_SUPPORT_COMPILE_CACHE"))
}

/// The process's peak resident memory in MiB (Linux `VmHWM`): a test measuring it runs in a
/// binary of its own, so the peak is its attack's alone.
pub fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() >> 10
}

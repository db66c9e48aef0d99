//! Test-only guest components, built by build.rs beside the connector (never embedded, never
//! shipped): the end-to-end tests load them by path.

/// `tests/hostile-plugin`: a component that attacks the sandbox on request.
pub const HOSTILE: &str = env!("DOTDIGITAL_GUEST_HOSTILE");

/// `tests/compat-plugin` built for the next minor of the contract, with one more function.
pub const NEWER_MINOR: &str = env!("DOTDIGITAL_GUEST_NEWER_MINOR");

/// `tests/compat-plugin` claiming this contract version but lacking `import-status`.
pub const LACKING: &str = env!("DOTDIGITAL_GUEST_LACKING");

/// `tests/compat-plugin` built against the released 1.0.0 contract: no 1.1 function; its
/// imports answer without a network (every record imported, no contact ids).
pub const V1_0: &str = env!("DOTDIGITAL_GUEST_V1_0");

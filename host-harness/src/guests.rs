//! Test-only guest components, built by build.rs beside the connector (never embedded, never
//! shipped): the end-to-end tests load them by path.

/// `tests/hostile-plugin`: a component that attacks the sandbox on request.
pub const HOSTILE: &str = env!("DOTDIGITAL_GUEST_HOSTILE");

/// `tests/compat-plugin` built for the next minor of the contract, with one more function.
pub const NEWER_MINOR: &str = env!("DOTDIGITAL_GUEST_NEWER_MINOR");

/// `tests/compat-plugin` claiming this contract version but lacking `import-status`.
pub const LACKING: &str = env!("DOTDIGITAL_GUEST_LACKING");

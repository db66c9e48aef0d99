//! Test-only guest components, built by build.rs beside the connector (never embedded, never
//! shipped): the end-to-end tests load them by path.

/// `tests/hostile-plugin`: a component that attacks the sandbox on request.
pub const HOSTILE: &str = env!("DOTDIGITAL_GUEST_HOSTILE");

//! Everything that runs the component: the engine and loader, the per-call sandbox, and the
//! one outbound path every HTTP request of the plugin takes.

pub mod bindings;
pub mod engine;
pub mod loader;
pub mod outbound;
pub mod sandbox;
pub mod throttle;

pub use loader::{Call, CallContext, CallOutput, Plugin, PluginFault};
pub use outbound::{OutboundPolicy, Upstream};
pub use sandbox::SandboxLimits;
pub use throttle::Throttle;

//! Everything that runs the component: the engine, the contract check and loader, the per-call sandbox, and the
//! one outbound path every HTTP request of the plugin takes.

pub mod bindings;
pub mod budget;
pub mod cache;
pub mod connections;
pub mod contract;
pub mod cpu;
pub mod engine;
pub mod loader;
pub mod metadata;
pub mod outbound;
pub mod sandbox;
pub mod throttle;

pub use cache::CompileCache;
pub use contract::{ContractError, ContractVersion};
pub use loader::{AccountAnswer, CallContext, LoadError, Plugin, PluginFault, SyncAnswer};
pub use outbound::{InProcessHandler, OutboundPolicy, Upstream, UpstreamError};
pub use sandbox::SandboxLimits;
pub use throttle::Throttle;

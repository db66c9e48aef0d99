//! Everything that runs the component: the engine, the contract check and loader, the per-call sandbox, and the
//! one outbound path every HTTP request of the plugin takes: its rules in `allowlist`, where
//! allowed requests go in `upstream`, and the hooks that apply both to each request in `hooks`.

pub mod allowlist;
pub mod bindings;
pub mod budget;
pub mod cache;
pub mod call;
pub mod connections;
pub mod contract;
pub mod cpu;
pub mod engine;
pub mod hooks;
pub mod loader;
pub mod metadata;
pub mod sandbox;
pub mod throttle;
pub mod upstream;

pub use cache::CompileCache;
pub use call::{CallState, Grants};
pub use contract::{ContractError, ContractVersion};
pub use hooks::OutboundPolicy;
pub use loader::{AccountAnswer, LoadError, Plugin, PluginFault, SyncAnswer};
pub use sandbox::SandboxLimits;
pub use throttle::Throttle;
pub use upstream::{InProcessHandler, Upstream, UpstreamError};

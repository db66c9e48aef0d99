//! The simulator as a running program: the Dotdigital listener (`listener.rs`: log, fault,
//! route, answer) with its routes and the checks every request passes (`routes.rs`,
//! `access.rs`, `rate_limits.rs`), the control listener (`control.rs`), the hyper glue both
//! share (`transport.rs`), the state behind its lock (`state.rs`, `shared.rs`), the request log
//! and faults, and the public handle (`simulator.rs`) and `sim` command (`serve.rs`).

mod access;
mod control;
pub(crate) mod faults;
mod listener;
mod rate_limits;
pub(crate) mod request_log;
mod routes;
pub(crate) mod serve;
mod shared;
pub(crate) mod simulator;
mod state;
mod transport;

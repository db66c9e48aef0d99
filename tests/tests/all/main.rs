//! End-to-end flows, in one binary so the suite links wasmtime once: the harness loads the
//! component (compiled once per test run, see `e2e_tests::plugin`), whose requests go over
//! wasi:http to the simulator. The tests measuring the process's peak memory run in binaries
//! of their own (`tests/tests/hostile_*.rs`).
//!
//! Tests here share one process and the loaded component: none may change the process's
//! environment, current directory, umask or signal handling.

mod api_calls;
mod certificate;
mod concurrency;
mod contact;
mod control_api;
mod faults;
mod fidelity;
mod hostile;
mod hostile_host;
mod hostile_input;
mod order;
mod state;
mod throttle;

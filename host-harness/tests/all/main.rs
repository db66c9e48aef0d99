//! The harness's integration tests, in one binary so the suite links wasmtime once: the CLI
//! as an operator runs it (`sync`, `bulk`, `describe`, `package`, `pin`, `sim`), the compile
//! cache, releases, persistent state and streaming input, through the binary or the library.
//! End-to-end flows against the simulator live in `tests/tests/all`.
//!
//! Tests here share one process: none may change its environment, current directory, umask or
//! signal handling; what they need differently goes to the child they run.

mod bulk;
mod bulk_attacks;
mod bulk_identity;
mod cache;
mod cli;
mod release;
mod release_attacks;
mod scale_out;
mod state;
mod stream;
mod support;

//! The iPaaS.com → Dotdigital connector, compiled to a wasm32-wasip2 component.
//!
//! This file is WIT glue only: it hands the generated types to the flows, giving them the
//! component's [`platform::Platform`] (wasi:http, and the host imports).

pub mod bindings {
    wit_bindgen::generate!({
        world: "dotdigital-connector",
        path: "../wit",
        generate_all,
    });
}

/// The contract's shared types (settings, records, outcome, errors).
pub use bindings::ipaas::dotdigital::types as wit;

pub mod dotdigital;
pub mod flows;
pub mod info;
pub mod mapping;
pub mod platform;
pub mod settings;
pub mod validation;

#[cfg(test)]
mod test_support;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod wasi_http;

//! Host-side bindings of `wit/`: the world's imports become traits the host implements,
//! its exports become typed functions the harness calls. One module per contract minor the
//! host runs: the current one (`wit/dotdigital.wit`) and the frozen older minors, [`v1_1`]
//! (`wit/released/1.1.0/`) and [`v1_0`] (`wit/released/1.0.0/`), whose types and host imports
//! are the current module's (a minor only adds), so all of them call the same Rust types.

wasmtime::component::bindgen!({
    world: "dotdigital-connector",
    path: "../wit",
    exports: { default: async },
});

pub use ipaas::dotdigital::types::*;

/// The 1.0.0 contract's connector export: what a 1.0 component offers.
pub mod v1_0 {
    wasmtime::component::bindgen!({
        world: "dotdigital-connector",
        path: "../wit/released/1.0.0",
        exports: { default: async },
        with: {
            "ipaas:dotdigital/types": super::ipaas::dotdigital::types,
            "ipaas:dotdigital/host": super::ipaas::dotdigital::host,
        },
    });
}

/// The 1.1.0 contract's connector export: everything but `describe-bulk` (1.2).
pub mod v1_1 {
    wasmtime::component::bindgen!({
        world: "dotdigital-connector",
        path: "../wit/released/1.1.0",
        exports: { default: async },
        with: {
            "ipaas:dotdigital/types": super::ipaas::dotdigital::types,
            "ipaas:dotdigital/host": super::ipaas::dotdigital::host,
        },
    });
}

//! Host-side bindings of `wit/`: the world's imports become traits the host implements,
//! its exports become typed functions the harness calls.

wasmtime::component::bindgen!({
    world: "dotdigital-connector",
    path: "../wit",
    exports: { default: async },
});

pub use ipaas::dotdigital::types::*;

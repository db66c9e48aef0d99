//! Who a component is, read from its bytes before it is compiled: the standard metadata
//! sections (`component-name`, and the OCI `version` and `revision` annotations that
//! `wasm-tools metadata show` prints), stamped at build time by `build.rs`. A running
//! component cannot change them, unlike anything it says about itself.

use std::fmt;

/// The identity a component's metadata carries; absent sections stay `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    pub name: Option<String>,
    pub version: Option<String>,
    pub revision: Option<String>,
}

/// The bytes are not a component whose metadata can be read.
#[derive(Debug)]
pub struct MetadataError(pub String);

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reading the component's metadata: {}", self.0)
    }
}

impl std::error::Error for MetadataError {}

impl Identity {
    /// The top-level component's own metadata (not that of the modules inside it).
    pub fn read(bytes: &[u8]) -> Result<Identity, MetadataError> {
        if !bytes.starts_with(b"\0asm") {
            return Err(MetadataError("it is not a WebAssembly file (no `\\0asm` header)".into()));
        }
        // The parser's own text of the first problem, on one line (its context chain and
        // byte-array dumps repeat themselves).
        let payload = wasm_metadata::Payload::from_binary(bytes).map_err(|e| {
            let text = e.root_cause().to_string();
            MetadataError(text.lines().next().unwrap_or_default().to_string())
        })?;
        if !matches!(payload, wasm_metadata::Payload::Component { .. }) {
            return Err(MetadataError("a core module, not a component".into()));
        }
        let metadata = payload.metadata();
        Ok(Identity {
            name: metadata.name.clone(),
            version: metadata.version.as_ref().map(|v| v.to_string()),
            revision: metadata.revision.as_ref().map(|r| r.to_string()),
        })
    }

    /// `name version`, with placeholders for what the component does not carry.
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.name.as_deref().unwrap_or("(unnamed component)"),
            self.version.as_deref().unwrap_or("(no version metadata)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_connector_carries_its_name_version_and_revision() {
        let identity = Identity::read(crate::EMBEDDED_PLUGIN).unwrap();
        assert_eq!(identity.name.as_deref(), Some("dotdigital-connector"));
        assert_eq!(identity.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
        assert!(identity.revision.is_some_and(|r| !r.is_empty()));
    }

    #[test]
    fn a_component_without_metadata_has_none_and_garbage_is_an_error() {
        let identity = Identity::read(&std::fs::read(test_support::guests::HOSTILE).unwrap()).unwrap();
        assert_eq!(identity.version, None);
        assert!(Identity::read(b"not wasm").is_err());
    }
}

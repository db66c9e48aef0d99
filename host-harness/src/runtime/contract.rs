//! The contract version, one fact in one place: the harness's own comes from the
//! `package ipaas:dotdigital@X;` line of `wit/` at compile time; a plugin's comes from the
//! interface names its component exports and imports, before it is instantiated, never from
//! what the plugin says about itself.

use std::fmt;

use wasmtime::component::Component;
use wasmtime::Engine;

/// The WIT package this harness is built against.
pub const PACKAGE: &str = "ipaas:dotdigital";

/// The interface a connector exports.
pub const CONNECTOR_INTERFACE: &str = "ipaas:dotdigital/connector";

/// The contract version this harness speaks, as written in `wit/dotdigital.wit`.
pub const CONTRACT_VERSION: &str = package_version(include_str!("../../../wit/dotdigital.wit"));

/// The text after `package ipaas:dotdigital@` up to the `;`, at compile time.
const fn package_version(wit: &str) -> &str {
    const NEEDLE: &[u8] = b"package ipaas:dotdigital@";
    let bytes = wit.as_bytes();
    let mut start = 0;
    while start + NEEDLE.len() <= bytes.len() {
        let mut matched = 0;
        while matched < NEEDLE.len() && bytes[start + matched] == NEEDLE[matched] {
            matched += 1;
        }
        if matched == NEEDLE.len() {
            let (_, rest) = bytes.split_at(start + NEEDLE.len());
            let mut end = 0;
            while end < rest.len() && rest[end] != b';' {
                end += 1;
            }
            assert!(end < rest.len(), "the package line of wit/dotdigital.wit has no `;`");
            let (version, _) = rest.split_at(end);
            return match std::str::from_utf8(version) {
                Ok(version) => version,
                Err(_) => panic!("the contract version in wit/dotdigital.wit is not UTF-8"),
            };
        }
        start += 1;
    }
    panic!("wit/dotdigital.wit has no `package ipaas:dotdigital@<version>;` line")
}

/// A semver `major.minor.patch` (pre-release and build suffixes are not used by the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl ContractVersion {
    /// The version this harness speaks.
    pub fn ours() -> ContractVersion {
        ContractVersion::parse(CONTRACT_VERSION).expect("wit/dotdigital.wit carries a major.minor.patch version")
    }

    pub fn parse(text: &str) -> Option<ContractVersion> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let version = ContractVersion { major: parts.next()??, minor: parts.next()??, patch: parts.next()?? };
        parts.next().is_none().then_some(version)
    }

    /// Same major, and for 0.x the same minor: the semver rule for the contract.
    pub fn compatible_with(self, other: ContractVersion) -> bool {
        if self.major == 0 {
            (self.major, self.minor) == (other.major, other.minor)
        } else {
            self.major == other.major
        }
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Why a component's contract is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ContractError {
    /// The component does not export `ipaas:dotdigital/connector` at all.
    NoConnector,
    /// An `ipaas:dotdigital/*` interface name carries no version, or not a semver one.
    Unversioned { interface: String },
    /// The component's contract differs from this harness's in major (or minor while 0.x).
    Incompatible { interface: String, theirs: String, ours: ContractVersion },
    /// The component imports something this host does not provide.
    ForeignImport { name: String },
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractError::NoConnector => write!(
                f,
                "the plugin does not export {CONNECTOR_INTERFACE}@{CONTRACT_VERSION}: it is not a Dotdigital connector"
            ),
            ContractError::Unversioned { interface } => {
                write!(f, "the plugin names {interface} without a major.minor.patch contract version")
            }
            ContractError::Incompatible { interface, theirs, ours } => write!(
                f,
                "the plugin implements contract {PACKAGE}@{theirs} (through {interface}); this harness speaks @{ours}"
            ),
            ContractError::ForeignImport { name } => {
                write!(f, "the plugin imports {name}, which this host does not provide (only wasi:* and {PACKAGE}/*)")
            }
        }
    }
}

impl std::error::Error for ContractError {}

/// An interface name of this package: `ipaas:dotdigital/<interface>@<version>`.
fn ours(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(match rest.split_once('@') {
        Some((interface, version)) => (interface, Some(version)),
        None => (rest, None),
    })
}

/// Checks the names a component exports and imports against `expected`: it must export the
/// connector, every name of this package must carry a compatible version, and it may import
/// only WASI and this package. Returns the version the connector export carries.
pub fn check_names<'a>(
    exports: impl IntoIterator<Item = &'a str>,
    imports: impl IntoIterator<Item = &'a str>,
    expected: ContractVersion,
) -> Result<ContractVersion, ContractError> {
    let version_of = |name: &str, version: Option<&str>| -> Result<ContractVersion, ContractError> {
        let text = version.ok_or_else(|| ContractError::Unversioned { interface: name.to_string() })?;
        let version =
            ContractVersion::parse(text).ok_or_else(|| ContractError::Unversioned { interface: name.into() })?;
        if !expected.compatible_with(version) {
            return Err(ContractError::Incompatible { interface: name.into(), theirs: text.into(), ours: expected });
        }
        Ok(version)
    };
    let mut connector = None;
    for name in exports {
        if let Some((interface, version)) = ours(name) {
            let checked = version_of(name, version)?;
            if interface == "connector" {
                connector = Some(checked);
            }
        }
    }
    let connector = connector.ok_or(ContractError::NoConnector)?;
    for name in imports {
        match ours(name) {
            Some((_, version)) => {
                version_of(name, version)?;
            }
            None if name.starts_with("wasi:") => {}
            None => return Err(ContractError::ForeignImport { name: name.to_string() }),
        }
    }
    Ok(connector)
}

/// The contract version `component` implements, read from its export and import names.
pub fn check_component(engine: &Engine, component: &Component) -> Result<ContractVersion, ContractError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    check_names(exports, imports, ContractVersion::ours())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ContractVersion {
        ContractVersion::parse(text).unwrap()
    }

    /// A released contract never changes: components built against it are in operators' hands.
    #[test]
    fn the_released_contracts_are_frozen() {
        use sha2::{Digest, Sha256};
        let released = [
            (
                include_str!("../../../wit/released/1.0.0/dotdigital.wit"),
                "1.0.0",
                "7d59bcf6e7fbabdbec3aaf8b3b20180d65535bf159be9fa421da0b80cce4539d",
            ),
            (
                include_str!("../../../wit/released/1.1.0/dotdigital.wit"),
                "1.1.0",
                "73affdec50eb4ec54ff275e525b8d0259fb8151d1b4d97737f09f19f58bbad20",
            ),
        ];
        for (wit, version, sha256) in released {
            assert_eq!(package_version(wit), version);
            assert_eq!(crate::digest::hex(&Sha256::digest(wit.as_bytes())), sha256, "wit/released/{version} changed");
        }
    }

    #[test]
    fn our_version_is_the_wit_package_line() {
        let wit = include_str!("../../../wit/dotdigital.wit");
        let line = wit.lines().find(|l| l.starts_with("package ")).unwrap();
        assert_eq!(line, format!("package {PACKAGE}@{CONTRACT_VERSION};"));
        assert_eq!(package_version("// x\npackage ipaas:dotdigital@1.2.3;\n"), "1.2.3");
        assert_eq!(ContractVersion::ours().to_string(), CONTRACT_VERSION);
    }

    #[test]
    fn versions_follow_semver_for_the_contract() {
        assert!(v("0.1.0").compatible_with(v("0.1.7")));
        assert!(!v("0.1.0").compatible_with(v("0.2.0")));
        assert!(!v("0.1.0").compatible_with(v("1.1.0")));
        assert!(v("1.0.0").compatible_with(v("1.4.2")));
        assert!(!v("1.0.0").compatible_with(v("2.0.0")));
        assert_eq!(ContractVersion::parse("junk"), None);
        assert_eq!(ContractVersion::parse("0.1"), None);
        assert_eq!(ContractVersion::parse("0.1.0.1"), None);
    }

    const WASI: &str = "wasi:http/outgoing-handler@0.2.2";

    #[test]
    fn the_version_is_read_from_interface_names() {
        let ours = v("0.1.0");
        let found = check_names(
            ["ipaas:dotdigital/connector@0.1.3"],
            ["ipaas:dotdigital/types@0.1.3", "ipaas:dotdigital/host@0.1.3", WASI],
            ours,
        );
        assert_eq!(found, Ok(v("0.1.3")));

        let error = check_names(["ipaas:dotdigital/connector@0.2.0"], [WASI], ours).unwrap_err();
        assert!(matches!(error, ContractError::Incompatible { .. }));
        let message = error.to_string();
        assert!(message.contains("@0.2.0") && message.contains("@0.1.0"), "names both versions: {message}");

        let error = check_names(["ipaas:dotdigital/connector@0.1.0"], ["ipaas:dotdigital/host@1.0.0"], ours);
        assert!(matches!(error, Err(ContractError::Incompatible { theirs, .. }) if theirs == "1.0.0"));
        assert_eq!(check_names(["other:pkg/connector@0.1.0"], [], ours), Err(ContractError::NoConnector));
        assert!(matches!(
            check_names(["ipaas:dotdigital/connector"], [], ours),
            Err(ContractError::Unversioned { .. })
        ));
        assert!(matches!(
            check_names(["ipaas:dotdigital/connector@0.1.0"], ["evil:fs/files@1.0.0"], ours),
            Err(ContractError::ForeignImport { name }) if name == "evil:fs/files@1.0.0"
        ));
    }
}

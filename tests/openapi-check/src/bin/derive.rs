//! Regenerates the structure-only copies under `tests/openapi-check/schemas/` from Dotdigital's
//! original OpenAPI files: `cargo run -p openapi-check --bin derive [DIR]`, where DIR defaults
//! to `DOTDIGITAL_OPENAPI_DIR`, else `../shared/dotdigital/openapi` beside the project.

use std::path::PathBuf;
use std::process::ExitCode;

use openapi_check::{derive::derive_text, originals_dir, schemas_dir, DERIVED};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from).or_else(originals_dir) else {
        eprintln!(
            "derive: Dotdigital's OpenAPI files are not at hand; pass their directory, set DOTDIGITAL_OPENAPI_DIR, \
             or put them in ../shared/dotdigital/openapi beside the project"
        );
        return ExitCode::FAILURE;
    };
    for file in DERIVED {
        let source = dir.join(file);
        let doc: serde_json::Value = match std::fs::read_to_string(&source)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        {
            Ok(doc) => doc,
            Err(e) => {
                eprintln!("derive: {}: {e}", source.display());
                return ExitCode::FAILURE;
            }
        };
        let text = derive_text(&doc);
        let target = schemas_dir().join(file);
        if let Err(e) = std::fs::write(&target, &text) {
            eprintln!("derive: {}: {e}", target.display());
            return ExitCode::FAILURE;
        }
        println!("{} -> {} ({} bytes)", source.display(), target.display(), text.len());
    }
    ExitCode::SUCCESS
}

//! `dotdigital-harness`: see `cli.rs`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dotdigital_harness::cli::main().await
}

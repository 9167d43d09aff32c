//! `hbc-compile`: compiles one WebAssembly plugin into the agent's compile cache format.
//!
//! The agent (`hbc`) is built without Cranelift and runs this in a child process for
//! each plugin it has not compiled yet (found beside its own binary or on `PATH`), so the
//! compiler's code and memory never stay in the long-running agent. Operators can also
//! run it by hand. It must be the same version as the agent: the agent checks the
//! result and says so if it is not.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Compile an hbc WebAssembly plugin (a component) for this machine.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The plugin's .wasm file.
    wasm: PathBuf,
    /// The compiled file to write (replaced atomically).
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match hbc::wasm::Runtime::new(None).and_then(|rt| rt.compile_to(&cli.wasm, &cli.out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hbc-compile: {}: {error}", cli.wasm.display());
            ExitCode::FAILURE
        }
    }
}

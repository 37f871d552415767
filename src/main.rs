//! The `emporium` binary: parse the command line, load the settings, run the command.

use std::process::ExitCode;

use clap::Parser;
use emporium::cli::{Cli, Command, run};
use emporium::settings::Settings;
use emporium::telemetry;

/// mimalloc: the system allocator spent a tenth of a cached read in `malloc` and `free`, and
/// keeps freed memory in per-thread arenas. Built without its transparent huge pages (the
/// `no_thp` feature): it asked the kernel for them over its whole 1 GiB arena, and every
/// 2 MiB page it touched stayed resident — 35 of the 60 MiB an idle server held.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Needs no settings, so it works anywhere (CI, docs builds).
        println!("{}", emporium::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("emporium: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("emporium: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emporium: {e}");
            ExitCode::FAILURE
        }
    }
}

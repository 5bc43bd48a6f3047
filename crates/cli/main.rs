//! The einv-load binary: parse arguments, set up logging, call the engine, map the result
//! to an exit code (0 pass, 1 SLO failed or regression, 2 bad input, 3 the run could not be
//! carried out, 4 a comparison is inconclusive).

// The doc comments of the arguments are `--help` text, where `[slo]` names a profile
// table, not a Rust item.
#[allow(rustdoc::broken_intra_doc_links)]
mod args;
mod commands;
mod out;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages, and the kernel then zeroes a fresh 2 MiB
    // page on a connection's first touch of it: a flood of new connections cost `serve`
    // 4-5x the CPU per connection (measured: ~90 us against ~20 us), and a normal request
    // waited behind it. Small pages for the whole process; this never fails on Linux.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EINV_LOG").unwrap_or_else(|_| cli.log_filter().into()),
        )
        .init();
    match cli.command.execute() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Errors of the binary's own (standard output gone) are the run's, not the input's.
            let verdict = e.downcast_ref::<einv_engine::Error>().map(einv_engine::Error::verdict);
            out::exit(&verdict.unwrap_or(einv_engine::Verdict::NotCarriedOut(None)))
        }
    }
}

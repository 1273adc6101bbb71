//! `cf-invalidate`: CloudFront invalidation from CodeBuild, Makefiles and any CI, a thin shell over
//! the cf-invalidate engine.

mod args;
mod aws;
mod changed;
mod cifiles;
mod commands;
mod error;
mod guard;
mod planview;
mod progress;
mod redact;
mod report;
mod s3sync;
mod sources;

use std::process::ExitCode;

use clap::Parser;

use args::Cli;
use error::{EXIT_FAILED, EXIT_USAGE};

/// Parses the command line, runs it, and turns the outcome into the exit code (0, 1, 2 or 130).
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version end here too, with clap's exit code 0; usage errors with 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    init_logging(cli.debug);
    ExitCode::from(try_main(cli))
}

/// Runs a parsed command line; errors are printed here, once, as `error: ...`.
fn try_main(cli: Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

/// The engine logs through `tracing`; the CLI shows them on stderr only when asked (`--debug`,
/// or `RUST_LOG`), because its own progress lines already tell the story.
fn init_logging(debug: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec,
        _ if debug => DEBUG_FILTER.to_owned(),
        _ => return,
    };
    // Colour only for a person at a terminal who has not asked for none (NO_COLOR).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(redact::Stderr)
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// What `--debug` shows: the SDK's requests and answers on the wire, its retries and signing,
/// and the engine's own events.
const DEBUG_FILTER: &str = "debug,aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,aws_smithy_http_client=trace,hyper_util=debug,h2=info,rustls=info";

//! The benchmark harness of cf-invalidate: figures, not assertions, for `docs/benchmarks.md`.
//!
//! One run ([`run::run`]) measures, through local-aws over real HTTP on 127.0.0.1:
//!
//! 1. cold start of `cf-invalidate-lambda` against a Python baseline (boto3 under awslambdaric),
//!    through the same Runtime API ([`cold_start`]);
//! 2. completion-detection lag and GetInvalidation calls, ours against
//!    `aws cloudfront wait invalidation-completed` ([`lag`]), with the poll schedule worked out
//!    for a 10-minute invalidation ([`schedule`]);
//! 3. Lambda invocations per job ([`lag`] too: the same pipeline runs);
//! 4. planning time for 1k, 10k and 100k paths ([`planning`], plus criterion's estimates);
//! 5. the size of the release artefacts ([`size`]);
//!
//! and, on its own ([`events::run`], `--events-only`), the S3-events function against the
//! Python sample users copy, written into its own section of the report ([`events_report`],
//! [`events_chart`]);
//!
//! then writes the markdown report ([`report`]) and the SVG chart ([`chart`]). The machine is
//! noisy, so every comparison is a ratio of two measurements taken in the same run, and every
//! figure is a median over several runs ([`stats`]).

pub mod artifact;
pub mod chart;
pub mod cold_start;
pub mod events;
pub mod events_chart;
pub mod events_report;
pub mod lag;
pub mod machine;
pub mod planning;
pub mod process;
pub mod report;
pub mod run;
pub mod schedule;
pub mod size;
pub mod stats;
pub mod tree;

use std::path::PathBuf;

/// A benchmark could not produce its figure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A program or file the harness needs is not there.
    #[error("{what} not found at {}: {hint}", path.display())]
    Missing {
        /// What was looked for.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },
    /// A process could not be started.
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        /// The executable.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The emulator did not start.
    #[error(transparent)]
    Emulator(#[from] local_aws::EmulatorError),
    /// The pipeline driver could not run the function.
    #[error(transparent)]
    Pipeline(#[from] local_aws::pipeline::PipelineError),
    /// The events driver could not run the function.
    #[error(transparent)]
    Events(#[from] local_aws::events::EventsError),
    /// A measured run did not end as it must for its figure to mean anything (the job failed,
    /// the waiter failed, a timeout); the message says which run and shows its output.
    #[error("{0}")]
    Run(String),
    /// A result file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The chart could not be drawn.
    #[error("cannot draw the chart {}: {message}", path.display())]
    Chart {
        /// The SVG file.
        path: PathBuf,
        /// plotters' error.
        message: String,
    },
}

/// The last `max` characters of a process's output, for error messages.
pub(crate) fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let cut: String = text.chars().skip(count - max).collect();
    format!("…{cut}")
}

/// Fails with the first `(what, path, hint)` whose file is missing: what the harness needs is
/// checked before anything runs, so that a missing build fails in a second, not after minutes.
pub(crate) fn require_files(
    checks: &[(&'static str, &std::path::Path, &'static str)],
) -> Result<(), BenchError> {
    for &(what, path, hint) in checks {
        if !path.is_file() {
            return Err(BenchError::Missing {
                what,
                path: path.to_path_buf(),
                hint,
            });
        }
    }
    Ok(())
}

//! The benchmark harness of cf-invalidate: measures, through local-aws on 127.0.0.1, what
//! `docs/benchmarks.md` publishes, and writes those figures into the report's blocks.
//!
//! The full run ([`run::run`]): cold start and memory against a Python baseline
//! ([`cold_start`]), completion-detection lag against `aws cloudfront wait
//! invalidation-completed` and invocations per job ([`lag`], with the poll schedules worked
//! out in [`schedule`]), planning time ([`planning`]) and size ([`size`]). On their own: the
//! S3-events function against the Python sample users copy ([`events`]), and
//! `pathsFromArtifact` ([`artifact`]). Every comparison is a ratio of two measurements taken
//! in the same run, every figure a median ([`stats`]).

pub mod artifact;
pub mod chart;
pub mod cold_start;
pub mod events;
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

use std::path::{Path, PathBuf};

/// A benchmark could not produce its figure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{what} not found at {}: {hint}", path.display())]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Emulator(#[from] local_aws::EmulatorError),
    #[error(transparent)]
    Pipeline(#[from] local_aws::pipeline::PipelineError),
    #[error(transparent)]
    Events(#[from] local_aws::events::EventsError),
    /// A measured run did not end as it must for its figure to mean anything (the job failed,
    /// the waiter failed, a timeout); the message says which run and shows its output.
    #[error("{0}")]
    Run(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot draw the chart {}: {message}", path.display())]
    Chart { path: PathBuf, message: String },
}

/// The last `max` characters of a process's output, for error messages: its end says why it
/// failed, where [`cf_invalidate::text::truncate`] keeps the start.
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
    checks: &[(&'static str, &Path, &'static str)],
) -> Result<(), BenchError> {
    match checks.iter().find(|(_, path, _)| !path.is_file()) {
        Some(&(what, path, hint)) => Err(BenchError::Missing {
            what,
            path: path.to_path_buf(),
            hint,
        }),
        None => Ok(()),
    }
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates the directory `path` goes into, if it has one.
pub(crate) fn create_parent(path: &Path) -> Result<(), BenchError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

pub fn write_file(path: &Path, text: &str) -> Result<(), BenchError> {
    create_parent(path)?;
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `results` as pretty JSON into `path`.
pub fn write_json(path: &Path, results: &impl serde::Serialize) -> Result<(), BenchError> {
    let text = serde_json::to_string_pretty(results)
        .map_err(|e| BenchError::Run(format!("cannot serialise the results: {e}")))?;
    write_file(path, &text)
}

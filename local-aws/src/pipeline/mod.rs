//! The pipeline driver: plays CodePipeline and Lambda against a function binary. It creates
//! jobs, delivers job events through the Runtime API, enforces Lambda's deadline and retries,
//! follows continuation tokens with new jobs, and applies CodePipeline's timeouts. `config`
//! says how a run goes, `driver` plays it, `report` tells what happened.

mod config;
mod driver;
mod function;
mod report;

use std::path::PathBuf;

pub use config::{
    ArtifactCredentials, INHERITED_ENV, MAX_USER_PARAMETERS, Observer, PipelineConfig,
};
pub use driver::INIT_ALLOWANCE;
pub use function::{ExitInfo, OutputLine, OutputStream};
pub use report::{
    Counts, Failure, FailureCause, InvocationEnd, InvocationReport, PipelineReport, TimelineEntry,
    TimelineKind, Verdict,
};

/// One CodePipeline job of a run: the emulator's own record of it.
pub use crate::codepipeline::JobRecord as JobReport;

use crate::server::{Emulator, EmulatorError};

/// The run could not be carried out (a usage or environment problem, not a failed action).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The function path does not name a file.
    #[error(
        "function '{0}' not found: give the path of the Lambda bootstrap executable (for example target/debug/cf-invalidate-lambda)"
    )]
    FunctionNotFound(PathBuf),
    /// The function could not be started.
    #[error("cannot start function '{path}': {source} (is it executable?)")]
    Spawn {
        /// The executable.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `UserParameters` is over CodePipeline's limit.
    #[error(
        "UserParameters is {0} characters; CodePipeline allows at most 1000 per action configuration value"
    )]
    UserParametersTooLong(usize),
    /// The emulator did not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
}

/// Runs the action to its end and reports. Needs a Tokio runtime with timers, I/O and process
/// support (`#[tokio::test]` is fine).
pub async fn run(config: PipelineConfig) -> Result<PipelineReport, PipelineError> {
    let length = config.user_parameters.chars().count();
    if length > MAX_USER_PARAMETERS {
        return Err(PipelineError::UserParametersTooLong(length));
    }
    let mut config = config;
    config.function = resolve_program(&config.function)
        .ok_or_else(|| PipelineError::FunctionNotFound(config.function.clone()))?;
    let emu = Emulator::start(config.emulator_config()).await?;
    driver::play(config, emu).await
}

/// The executable a path names: the file itself, or for a bare name (`python3`) the first
/// match on `PATH`.
fn resolve_program(program: &std::path::Path) -> Option<PathBuf> {
    if program.is_file() {
        return Some(program.to_path_buf());
    }
    if program.components().count() != 1 {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// [`run`] on a runtime of its own, for synchronous callers.
pub fn run_blocking(config: PipelineConfig) -> Result<PipelineReport, PipelineError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| PipelineError::Spawn {
            path: config.function.clone(),
            source,
        })?;
    runtime.block_on(run(config))
}

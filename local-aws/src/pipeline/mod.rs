//! The pipeline driver: plays CodePipeline and Lambda against a function binary. It resolves
//! the pipeline variables of UserParameters, creates jobs, delivers job events through the
//! Runtime API, enforces Lambda's deadline and retries, follows continuation tokens with new
//! jobs, and applies CodePipeline's timeouts. `config` says how a run goes, `variables`
//! resolves `#{...}`, `deploy` plays the S3 deploy before the action, `viewer` looks at the
//! site through the edge, `driver` plays it all, `report` tells what happened.

mod artifact;
pub(crate) mod config;
mod deploy;
mod driver;
pub(crate) mod function;
mod report;
mod variables;
pub mod viewer;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use artifact::{ArtifactError, ArtifactRole, ArtifactSource, StagedArtifact, zip_directory};
pub use config::{
    ArtifactCredentials, INHERITED_ENV, MAX_USER_PARAMETERS, Observer, PipelineConfig,
};
pub use deploy::{DeployReport, DeployTarget, DeployTargetError, content_type};
pub use driver::INIT_ALLOWANCE;
pub use function::{ExitInfo, OutputLine, OutputStream};
pub use report::{
    Counts, Failure, FailureCause, InvocationEnd, InvocationReport, PipelineReport, TimelineEntry,
    TimelineKind, Verdict,
};
pub use variables::{
    CODEPIPELINE_NAMESPACE, MAX_RESOLVED_CONFIGURATION_BYTES, PIPELINE_EXECUTION_ID,
    VariableNameError, check_variable_name, is_pipeline_execution_id, parse_variable_assignment,
};
pub use viewer::{ServedVersion, ViewMoment, ViewReport, ViewerError, ViewerReply};

/// One CodePipeline job of a run: the emulator's own record of it.
pub use crate::codepipeline::JobRecord as JobReport;

use crate::server::{Emulator, EmulatorError, EmulatorHandle};

/// The run could not be carried out (a usage or environment problem, not a failed action).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("function '{}' not found: {hint}", .path.display())]
    FunctionNotFound {
        /// The path (or bare name) given.
        path: PathBuf,
        hint: MissingFunctionHint,
    },
    #[error("cannot start function '{path}': {source} (is it executable?)")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "UserParameters is {0} characters; CodePipeline allows at most 1000 per action configuration value (pipeline variables count as written, #{{...}} included)"
    )]
    UserParametersTooLong(usize),
    #[error(transparent)]
    VariableName(#[from] VariableNameError),
    /// The pipeline execution id is not shaped as CodePipeline's.
    #[error(
        "invalid pipeline execution id '{0}': expected 8-4-4-4-12 lowercase hex digits as CodePipeline writes them, e.g. 0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c"
    )]
    PipelineExecutionId(String),
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// `--view` without an edge to look through.
    #[error(
        "no edge serves the deploy bucket '{0}', so viewers have nothing to look through: declare a distribution with --origin ID={0} (DistributionConfig::origin)"
    )]
    NoEdgeForViews(String),
}

/// What a missing function path may have meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingFunctionHint {
    /// The same file exists in the other Cargo profile (`target/release` for `target/debug`,
    /// or the other way round).
    #[error("'{}' exists: give that path, or build this one", .0.display())]
    OtherProfile(PathBuf),
    /// A path into a Cargo profile directory whose build is missing: `cargo build` with these
    /// arguments makes it.
    #[error("build it first: cargo build {}", .0.join(" "))]
    Build(Vec<String>),
    #[error("no such file, and no executable of that name on PATH")]
    NotOnPath,
    #[error(
        "give the path of the Lambda bootstrap executable (for example target/debug/cf-invalidate-lambda)"
    )]
    None,
}

/// The project's Lambda bootstrap, the one binary whose build command is known.
const LAMBDA_BINARY: &str = "cf-invalidate-lambda";

/// The executable a path names: the file itself, or for a bare name (`python3`) the first
/// match on `PATH`. When there is none, the error says what may be meant: the same binary in
/// the other Cargo profile, or how to build it.
pub fn find_function(program: &Path) -> Result<PathBuf, PipelineError> {
    if let Some(found) = resolve_program(program) {
        return Ok(found);
    }
    Err(PipelineError::FunctionNotFound {
        path: program.to_path_buf(),
        hint: missing_function_hint(program),
    })
}

fn missing_function_hint(program: &Path) -> MissingFunctionHint {
    if program.components().count() == 1 {
        return MissingFunctionHint::NotOnPath;
    }
    let components: Vec<&OsStr> = program.iter().collect();
    // The last `debug` or `release` directory is the profile (`target/debug`,
    // `target/x86_64-unknown-linux-musl/release`).
    let Some(profile_at) = components
        .iter()
        .rposition(|c| *c == "debug" || *c == "release")
    else {
        return MissingFunctionHint::None;
    };
    let release = components[profile_at] == "release";
    let other: PathBuf = components
        .iter()
        .enumerate()
        .map(|(i, c)| match i == profile_at {
            true => OsStr::new(if release { "debug" } else { "release" }),
            false => c,
        })
        .collect();
    if other.is_file() {
        return MissingFunctionHint::OtherProfile(other);
    }
    if program.file_name() == Some(OsStr::new(LAMBDA_BINARY)) {
        let mut args: Vec<String> = ["-p", "cf-invalidate", "--bin", LAMBDA_BINARY]
            .map(String::from)
            .to_vec();
        if release {
            args.push("--release".to_string());
        }
        return MissingFunctionHint::Build(args);
    }
    MissingFunctionHint::None
}

/// Runs the action to its end on an emulator of its own (this run's world) and reports.
/// Needs a Tokio runtime with timers, I/O and process support (`#[tokio::test]` is fine).
pub async fn run(config: PipelineConfig) -> Result<PipelineReport, PipelineError> {
    let mut config = checked(config)?;
    let artifacts = artifact::read_all(&config)?;
    if config.artifact.is_some() {
        // The job's own access key, drawn before the emulator starts so that its S3 accepts
        // that key alone; from the run's seed, so that a seed repeats it.
        let seed = *config
            .world
            .seed
            .get_or_insert_with(crate::rng::seed_from_time);
        config.artifact_credentials.access_key_id = artifact::job_access_key_id(seed);
    }
    let emu = Emulator::start(config.emulator_config()).await?;
    let report = driver::play(config, artifacts, &emu).await;
    emu.shutdown().await;
    report
}

/// Runs the action to its end on an emulator the caller started and keeps, and reports this
/// run alone (its jobs, calls and the invalidations it created). The world is the emulator's:
/// the config's world fields (distributions, faults, seed, CloudFront modes, the GetJobDetails
/// mode, port) are not used, and the artifact credentials are the config's as given (set the
/// emulator's `s3_required_access_key` to their access key id to refuse any other). Two runs
/// on one emulator are two action executions against one CloudFront: with the same
/// [`PipelineConfig::pipeline_execution_id`], the second is a pipeline "Retry".
pub async fn run_on(
    config: PipelineConfig,
    emu: &EmulatorHandle,
) -> Result<PipelineReport, PipelineError> {
    let config = checked(config)?;
    let artifacts = artifact::read_all(&config)?;
    driver::play(config, artifacts, emu).await
}

/// The config with its function found, once its values are checked as CodePipeline would
/// check the pipeline definition.
fn checked(mut config: PipelineConfig) -> Result<PipelineConfig, PipelineError> {
    let length = config.user_parameters.chars().count();
    if length > MAX_USER_PARAMETERS {
        return Err(PipelineError::UserParametersTooLong(length));
    }
    for (name, _) in &config.variables {
        check_variable_name(name)?;
    }
    if let Some(id) = &config.pipeline_execution_id
        && !is_pipeline_execution_id(id)
    {
        return Err(PipelineError::PipelineExecutionId(id.clone()));
    }
    config.function = find_function(&config.function)?;
    Ok(config)
}

/// The file itself, or for a bare name the first match on `PATH`.
fn resolve_program(program: &Path) -> Option<PathBuf> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, with `files` (path, contents) in it.
    pub(crate) fn scratch(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let id = std::process::id();
        let root = std::env::temp_dir().join(format!("local-aws-{tag}-{id}-{nanos}"));
        let _ = std::fs::create_dir_all(&root);
        for (name, body) in files {
            let path = root.join(name);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&path, body);
        }
        root
    }

    fn hint_for(path: &Path) -> Option<MissingFunctionHint> {
        match find_function(path) {
            Err(PipelineError::FunctionNotFound { hint, .. }) => Some(hint),
            _ => None,
        }
    }

    #[test]
    fn a_missing_build_points_at_the_other_profile() {
        let root = scratch("other", &[("target/release/cf-invalidate-lambda", "")]);
        let debug = root.join("target/debug/cf-invalidate-lambda");
        let release = root.join("target/release/cf-invalidate-lambda");
        assert_eq!(
            hint_for(&debug),
            Some(MissingFunctionHint::OtherProfile(release.clone()))
        );
        let message = find_function(&debug)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            message,
            format!(
                "function '{}' not found: '{}' exists: give that path, or build this one",
                debug.display(),
                release.display()
            )
        );
        let _ = std::fs::remove_dir_all(&root);
        // And the other way round, for any binary.
        let root = scratch("other-way", &[("target/debug/bootstrap", "")]);
        assert_eq!(
            hint_for(&root.join("target/release/bootstrap")),
            Some(MissingFunctionHint::OtherProfile(
                root.join("target/debug/bootstrap")
            ))
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn with_neither_build_it_says_how_to_build_the_lambda() {
        let root = scratch("none", &[]);
        let message = find_function(&root.join("target/release/cf-invalidate-lambda"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.ends_with(
                "not found: build it first: cargo build -p cf-invalidate --bin cf-invalidate-lambda --release"
            ),
            "{message}"
        );
        assert_eq!(
            hint_for(&root.join("target/debug/cf-invalidate-lambda")),
            Some(MissingFunctionHint::Build(
                ["-p", "cf-invalidate", "--bin", "cf-invalidate-lambda"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        // Other binaries: no build command is guessed.
        assert_eq!(
            hint_for(&root.join("target/debug/other")),
            Some(MissingFunctionHint::None)
        );
        assert_eq!(
            hint_for(Path::new("/nonexistent/bootstrap")),
            Some(MissingFunctionHint::None)
        );
        assert_eq!(
            hint_for(Path::new("no-such-program-on-path")),
            Some(MissingFunctionHint::NotOnPath)
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn views_need_an_edge_serving_the_deploy_bucket() {
        let Ok(emu) = Emulator::start(crate::server::EmulatorConfig::default()).await else {
            panic!("the emulator did not start");
        };
        let site = scratch("views-no-edge", &[("index.html", "v1")]);
        let mut config = PipelineConfig::new("sh", "");
        config.artifact = Some(ArtifactSource::Directory(site.clone()));
        config.deploy_to = "site".parse().ok();
        config.views = vec!["/index.html".to_string()];
        let message = run_on(config, &emu).await.err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "no edge serves the deploy bucket 'site', so viewers have nothing to look through: declare a distribution with --origin ID=site (DistributionConfig::origin)"
            )
        );
        assert!(emu.jobs().is_empty(), "no job before the check");
        let _ = std::fs::remove_dir_all(&site);
        emu.shutdown().await;
    }
}

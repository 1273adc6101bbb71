//! `pathsFromArtifact`: the URL paths of a job's input artifact, every file or only the files
//! added, changed and removed since the action's last successful run. The pipeline action's use
//! of [`super::previous`] (which run) and [`super::zipdir`] (what it held).

use std::fmt;
use std::future::Future;

use tracing::{info, warn};

use super::previous::{
    ArtifactLocation, HistoryError, HistoryErrorKind, HistoryPages, JobContext, NotLocated,
    PipelineHistory, Previous, find_previous_in, locate_in,
};
use super::{Listing, RangeSource, ZipEntry, ZipError, changed_paths, compare, read_listing};
use crate::params::{ArtifactMode, ArtifactParams};
use crate::token::{FallbackCode, MAX_PINNED_KEY_LEN, TokenArtifact};

/// The job's `artifactCredentials`: the pipeline's temporary credentials for its artifact
/// bucket. `Debug` shows none of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ArtifactCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for ArtifactCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArtifactCredentials { .. }")
    }
}

/// The job's `encryptionKey`: the KMS key the artifacts are encrypted with. S3 decrypts on
/// GetObject when the credentials may use the key; the id goes into messages when it may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    pub id: String,
    /// `KMS`.
    pub kind: String,
}

/// Reading an artifact with the job's credentials.
pub trait ArtifactStore: Send + Sync {
    type Zip: RangeSource;

    fn open(
        &self,
        location: &ArtifactLocation,
        credentials: &ArtifactCredentials,
    ) -> impl Future<Output = Result<Self::Zip, ZipError>> + Send;
}

/// Everything `pathsFromArtifact` calls: the pipeline's history and its artifact bucket.
pub trait Artifacts: PipelineHistory + ArtifactStore {}

impl<T: PipelineHistory + ArtifactStore> Artifacts for T {}

/// What the job event says about artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobInputs {
    /// Input artifacts with a name and an S3 location, in the event's order.
    pub artifacts: Vec<ArtifactLocation>,
    /// `artifactCredentials`, to read them with.
    pub credentials: Option<ArtifactCredentials>,
    /// `encryptionKey`.
    pub encryption_key: Option<EncryptionKey>,
}

/// The job whose artifact is read.
#[derive(Debug, Clone, Copy)]
pub struct JobArtifacts<'a> {
    pub job_id: &'a str,
    /// As the function received them (variables resolved): they identify the action in the
    /// history when GetJobDetails is not used.
    pub user_parameters: &'a str,
    pub inputs: &'a JobInputs,
}

/// What the artifact contributed to a job: facts for its summary (the pipeline action words
/// them), its output variables and the continuation token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFacts {
    /// What the next invocation must compare again. Its `plan` is left empty here: the
    /// continuation token takes the job plan's fingerprint when it is written.
    pub pin: TokenArtifact,
    /// The input artifact's name.
    pub artifact: String,
    /// How its files were chosen.
    pub selection: Selection,
    /// Files added, changed and removed; every file when all were taken.
    pub changed_files: usize,
    /// Files outside `keyPrefix`, left out (0 without a prefix).
    pub outside_prefix: usize,
    /// The `keyPrefix` they are outside of.
    pub key_prefix: String,
}

/// How the artifact's files to invalidate were chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Compared with the artifact of the last successful run, in pipeline execution `since`.
    Changes {
        added: usize,
        changed: usize,
        removed: usize,
        since: String,
    },
    /// "changed" took every file: no earlier run to compare with, or its artifact unusable.
    Fallback {
        code: FallbackCode,
        execution: Option<String>,
    },
    /// `pathsFromArtifact: "all"`.
    All,
}

/// Bytes and reads spent on the artifacts, against their sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCost {
    pub bytes_read: u64,
    pub reads: u32,
    pub artifact_bytes: u64,
}

/// The artifact's share of a job's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromArtifact {
    /// URL paths, before planning.
    pub paths: Vec<String>,
    pub facts: ArtifactFacts,
    pub cost: ReadCost,
    /// The files behind `paths`, with their CRC-32 and size (none for a removed file), for
    /// `verify` to compare with what the edge serves.
    pub deployed: Vec<crate::verify::DeployedFile>,
}

/// Why the artifact could not give paths: facts, which the pipeline action words.
#[derive(Debug, PartialEq, Eq)]
pub enum ArtifactError {
    /// The action has no input artifact.
    NoInputs,
    /// `artifact` names none of the action's input artifacts.
    NotAnInput { name: String, inputs: Vec<String> },
    /// The job event carries no `artifactCredentials`.
    NoCredentials,
    /// No file of the artifact is under `keyPrefix`; `first` are its first few names.
    NothingUnderPrefix {
        artifact: String,
        prefix: String,
        files: usize,
        first: Vec<String>,
    },
    /// An artifact could not be read or listed.
    Unreadable {
        role: ArtifactRole,
        location: Box<ArtifactLocation>,
        error: ZipError,
        key: Option<EncryptionKey>,
    },
    /// The run the job's first invocation compared with is no longer the last successful one.
    PinGone { expected: String },
    /// `pipelineName`'s history does not show this action running.
    NotLocated { pipeline: String, why: NotLocated },
    /// GetJobDetails was refused, and `pipelineName` is not given.
    JobDetailsRefused(HistoryError),
    /// The pipeline's history could not be read; `pipeline` is `None` before it is known.
    History {
        pipeline: Option<String>,
        error: HistoryError,
    },
}

/// Which of the job's artifacts an [`ArtifactError::Unreadable`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactRole {
    Input,
    /// The artifact of the last successful run.
    Previous,
}

/// What the history gives to compare the current artifact with.
enum Basis {
    /// The previous run's artifact.
    Previous {
        execution: String,
        location: ArtifactLocation,
    },
    /// "changed" with nothing to compare with: every file, and why.
    Fallback {
        code: FallbackCode,
        execution: Option<String>,
    },
}

/// The paths `params` asks for, read from the job's input artifact (and, for "changed", the
/// previous run's). `pinned` is what the job's first invocation compared with.
pub async fn paths_from_artifact(
    ports: &impl Artifacts,
    params: &ArtifactParams,
    job: JobArtifacts<'_>,
    pinned: Option<&TokenArtifact>,
) -> Result<FromArtifact, ArtifactError> {
    // For the log line only: how long finding, reading and comparing took, calls included.
    let started = std::time::Instant::now();
    let current = select_input(params.artifact.as_deref(), &job.inputs.artifacts)?;
    let credentials = job
        .inputs
        .credentials
        .as_ref()
        .ok_or(ArtifactError::NoCredentials)?;
    let mut cost = ReadCost::default();
    let mut listing = read(
        ports,
        current,
        credentials,
        &job,
        "input artifact",
        &mut cost,
    )
    .await
    .map_err(|error| unreadable(ArtifactRole::Input, current, error, &job))?;
    let under_prefix = |entry: &ZipEntry| entry.name.starts_with(&params.key_prefix);
    let files = listing.files.len();
    let in_scope = listing
        .files
        .iter()
        .filter(|entry| under_prefix(entry))
        .count();
    if in_scope == 0 && files > 0 {
        return Err(ArtifactError::NothingUnderPrefix {
            artifact: current.name.clone(),
            prefix: params.key_prefix.clone(),
            files,
            first: listing
                .files
                .iter()
                .take(3)
                .map(|e| e.name.clone())
                .collect(),
        });
    }
    // From here on only the files under keyPrefix count, on both sides.
    listing.files.retain(under_prefix);

    let outside_prefix = if params.key_prefix.is_empty() {
        0
    } else {
        files - in_scope
    };
    let facts = |pin, selection, changed_files| ArtifactFacts {
        pin,
        artifact: current.name.clone(),
        selection,
        changed_files,
        outside_prefix,
        key_prefix: params.key_prefix.clone(),
    };
    let url_paths = |names: &mut dyn Iterator<Item = &str>| {
        changed_paths(names, &params.key_prefix, &params.path_prefix).0
    };
    let every_file = || url_paths(&mut listing.files.iter().map(|entry| entry.name.as_str()));
    let every_name = || {
        listing
            .files
            .iter()
            .map(|entry| entry.name.clone())
            .collect()
    };
    let fallback = |code, execution: Option<String>| {
        let pin = TokenArtifact::without_previous(execution.clone(), Some(code));
        let selection = Selection::Fallback { code, execution };
        (every_file(), facts(pin, selection, in_scope), every_name())
    };
    let (paths, facts, names) = match params.mode {
        ArtifactMode::All => {
            let pin = TokenArtifact::without_previous(None, None);
            (
                every_file(),
                facts(pin, Selection::All, in_scope),
                every_name(),
            )
        }
        ArtifactMode::Changed => match basis(ports, params, &job, current, pinned).await? {
            Basis::Fallback { code, execution } => fallback(code, execution),
            Basis::Previous {
                execution,
                location,
            } => {
                let what = "previous artifact";
                match read(ports, &location, credentials, &job, what, &mut cost).await {
                    Ok(mut previous) => {
                        previous.files.retain(under_prefix);
                        let changes = compare(&previous, &listing);
                        let long_key = location.key.len() > MAX_PINNED_KEY_LEN;
                        let pin = TokenArtifact {
                            plan: String::new(),
                            previous_execution: Some(execution.clone()),
                            previous_bucket: (!long_key).then_some(location.bucket),
                            previous_key: (!long_key).then_some(location.key),
                            fallback: None,
                        };
                        let selection = Selection::Changes {
                            added: changes.added.len(),
                            changed: changes.changed.len(),
                            removed: changes.removed.len(),
                            since: execution,
                        };
                        (
                            url_paths(&mut changes.names()),
                            facts(pin, selection, changes.count()),
                            changes.names().map(str::to_owned).collect::<Vec<_>>(),
                        )
                    }
                    Err(ZipError::Missing(_)) => fallback(FallbackCode::Gone, Some(execution)),
                    // The same credentials just read the current artifact from the bucket:
                    // a refusal here is most likely S3 hiding that the object is gone from
                    // credentials that may not list the bucket. Every file is the safe answer.
                    Err(ZipError::Denied(detail)) => {
                        warn!(%detail, "the previous artifact was refused; every file is invalidated");
                        fallback(FallbackCode::Unreadable, Some(execution))
                    }
                    Err(error) => {
                        return Err(unreadable(ArtifactRole::Previous, &location, error, &job));
                    }
                }
            }
        },
    };
    info!(
        artifact = %current.name,
        files,
        changed_files = facts.changed_files,
        paths = paths.len(),
        bytes_read = cost.bytes_read,
        reads = cost.reads,
        artifact_bytes = cost.artifact_bytes,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "artifact read"
    );
    let digests: std::collections::HashMap<&str, (u32, u64)> = listing
        .files
        .iter()
        .map(|entry| (entry.name.as_str(), (entry.crc32, entry.size)))
        .collect();
    let deployed = names
        .iter()
        .filter_map(|name| {
            let path =
                crate::events::keys::object_path(name, &params.key_prefix, &params.path_prefix);
            Some(crate::verify::DeployedFile {
                path: path.ok()?,
                digest: digests.get(name.as_str()).copied(),
            })
        })
        .collect();
    Ok(FromArtifact {
        paths,
        facts,
        cost,
        deployed,
    })
}

/// The input artifact named `wanted`, or the first.
fn select_input<'a>(
    wanted: Option<&str>,
    inputs: &'a [ArtifactLocation],
) -> Result<&'a ArtifactLocation, ArtifactError> {
    match wanted {
        _ if inputs.is_empty() => Err(ArtifactError::NoInputs),
        None => Ok(&inputs[0]),
        Some(name) => inputs
            .iter()
            .find(|input| input.name == name)
            .ok_or_else(|| ArtifactError::NotAnInput {
                name: name.to_owned(),
                inputs: inputs.iter().map(|input| input.name.clone()).collect(),
            }),
    }
}

async fn read(
    ports: &impl Artifacts,
    location: &ArtifactLocation,
    credentials: &ArtifactCredentials,
    job: &JobArtifacts<'_>,
    what: &str,
    cost: &mut ReadCost,
) -> Result<Listing, ZipError> {
    let zip = ports.open(location, credentials).await?;
    let listing = read_listing(&zip).await?;
    cost.bytes_read += listing.bytes_read;
    cost.reads += listing.reads;
    cost.artifact_bytes += zip.size();
    info!(
        what,
        bucket = %location.bucket,
        key = %location.key,
        size = zip.size(),
        files = listing.files.len(),
        bytes_read = listing.bytes_read,
        reads = listing.reads,
        encryption_key = job.inputs.encryption_key.as_ref().map(|key| key.id.as_str()),
        "listing read"
    );
    Ok(listing)
}

fn unreadable(
    role: ArtifactRole,
    location: &ArtifactLocation,
    error: ZipError,
    job: &JobArtifacts<'_>,
) -> ArtifactError {
    ArtifactError::Unreadable {
        role,
        location: Box::new(location.clone()),
        error,
        key: job.inputs.encryption_key.as_ref().cloned(),
    }
}

/// What the current artifact is compared with: pinned by an earlier invocation of the job, or
/// found in the pipeline's history.
async fn basis(
    ports: &impl Artifacts,
    params: &ArtifactParams,
    job: &JobArtifacts<'_>,
    current: &ArtifactLocation,
    pinned: Option<&TokenArtifact>,
) -> Result<Basis, ArtifactError> {
    if let Some(pin) = pinned {
        if let Some(code) = pin.fallback {
            return Ok(Basis::Fallback {
                code,
                execution: pin.previous_execution.clone(),
            });
        }
        if let (Some(execution), Some(bucket), Some(key)) = (
            &pin.previous_execution,
            &pin.previous_bucket,
            &pin.previous_key,
        ) {
            return Ok(Basis::Previous {
                execution: execution.clone(),
                location: ArtifactLocation {
                    name: current.name.clone(),
                    bucket: bucket.clone(),
                    key: key.clone(),
                },
            });
        }
    }
    // One reader of the history pages for finding this job and the run before: a page is
    // never asked for twice.
    let (context, mut pages) = match &params.pipeline_name {
        Some(pipeline) => {
            let mut pages = HistoryPages::new(ports, pipeline);
            let context = located(&mut pages, job).await?;
            (context, pages)
        }
        None => {
            let context = job_details(ports, job).await?;
            let mut pages = HistoryPages::new(ports, &context.pipeline_name);
            let context = with_execution(context, &mut pages, job).await?;
            (context, pages)
        }
    };
    let found = find_previous_in(&mut pages, &context, &current.name)
        .await
        .map_err(|error| history_failure(error, &context.pipeline_name))?;
    let basis = match found {
        Previous::Found {
            pipeline_execution_id,
            artifact,
        } => Basis::Previous {
            execution: pipeline_execution_id,
            location: artifact,
        },
        Previous::Nothing {
            code,
            execution,
            reason,
        } => {
            info!(%reason, "nothing to compare the artifact with; every file is invalidated");
            Basis::Fallback { code, execution }
        }
    };
    // A pin without the location (its key was too long) names the run compared with first.
    if let Some(expected) = pinned.and_then(|pin| pin.previous_execution.as_deref()) {
        let found = match &basis {
            Basis::Previous { execution, .. } => Some(execution.as_str()),
            _ => None,
        };
        if found != Some(expected) {
            return Err(ArtifactError::PinGone {
                expected: expected.to_owned(),
            });
        }
    }
    Ok(basis)
}

/// This job's pipeline execution, stage and action, found in `pipelineName`'s history.
async fn located<H: PipelineHistory>(
    pages: &mut HistoryPages<'_, H>,
    job: &JobArtifacts<'_>,
) -> Result<JobContext, ArtifactError> {
    let pipeline = pages.pipeline().to_owned();
    match locate_in(pages, job.job_id, job.user_parameters).await {
        Ok(Ok(context)) => Ok(context),
        Ok(Err(why)) => Err(ArtifactError::NotLocated { pipeline, why }),
        Err(error) => Err(history_failure(error, &pipeline)),
    }
}

/// The pipeline, stage and action this job runs in, from GetJobDetails.
async fn job_details(
    ports: &impl Artifacts,
    job: &JobArtifacts<'_>,
) -> Result<JobContext, ArtifactError> {
    match ports.job_context(job.job_id).await {
        Ok(context) => Ok(context),
        Err(error) if error.kind == HistoryErrorKind::Refused => {
            warn!(error = %error, "GetJobDetails refused; pipelineName is needed");
            Err(ArtifactError::JobDetailsRefused(error))
        }
        Err(error) => Err(ArtifactError::History {
            pipeline: None,
            error,
        }),
    }
}

/// `context` with its pipeline execution. GetJobDetails documents `pipelineExecutionId` for
/// custom actions only; without it a Retry of this run could be compared with the run's own
/// earlier success, so it is looked up in the history (the same pages the search reads next).
async fn with_execution<H: PipelineHistory>(
    mut context: JobContext,
    pages: &mut HistoryPages<'_, H>,
    job: &JobArtifacts<'_>,
) -> Result<JobContext, ArtifactError> {
    if context.pipeline_execution_id.is_some() {
        return Ok(context);
    }
    match locate_in(pages, job.job_id, job.user_parameters).await {
        Ok(Ok(found))
            if found.stage_name == context.stage_name
                && found.action_name == context.action_name =>
        {
            context.pipeline_execution_id = found.pipeline_execution_id;
        }
        Ok(_) => warn!(
            "GetJobDetails named no pipeline execution, and the history shows none running for \
             this action; a success of this same run may be taken as the previous one"
        ),
        Err(error) => return Err(history_failure(error, &context.pipeline_name)),
    }
    Ok(context)
}

fn history_failure(error: HistoryError, pipeline: &str) -> ArtifactError {
    ArtifactError::History {
        pipeline: Some(pipeline.to_owned()),
        error,
    }
}

#[cfg(test)]
mod tests;

//! The CodePipeline job event: the parts the action uses, read once; the rest, credentials
//! and all, is dropped.

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;
use serde_json::Value;

use crate::artifact::job::{ArtifactCredentials, EncryptionKey, JobInputs};
use crate::artifact::previous::ArtifactLocation;

/// The parts of the job event the action uses. The `artifactCredentials` are kept only to read
/// the input artifact for `pathsFromArtifact`; their `Debug` shows nothing of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEvent {
    pub job_id: String,
    pub account_id: Option<String>,
    pub user_parameters: Option<String>,
    pub continuation_token: Option<String>,
    /// The input artifacts, their credentials and KMS key, for `pathsFromArtifact`.
    pub inputs: JobInputs,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error(
        "the event is not a CodePipeline job event: it has no \"CodePipeline.job\".\"id\", so no result can be reported"
    )]
    NoJobId,
    #[error("the CodePipeline job event does not have the expected shape ({what})")]
    Malformed { job_id: String, what: String },
}

/// Reads the job event. Only field names go into error messages: values may be secrets.
pub fn read_job_event(payload: &Value) -> Result<JobEvent, EventError> {
    let raw_job = payload.get("CodePipeline.job");
    let job_id = raw_job
        .and_then(|job| job.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(EventError::NoJobId)?
        .to_owned();
    let event: CodePipelineJobEvent =
        serde_json::from_value(payload.clone()).map_err(|error| EventError::Malformed {
            job_id: job_id.clone(),
            // serde's message can quote a value, and values may be credentials: keep only where it broke.
            what: format!("line {} column {}", error.line(), error.column()),
        })?;
    let job = event.code_pipeline_job;
    let artifacts = job
        .data
        .input_artifacts
        .into_iter()
        .filter_map(|artifact| {
            let location = artifact.location.s3_location;
            Some(ArtifactLocation {
                name: artifact.name?,
                bucket: location.bucket_name?,
                key: location.object_key?,
            })
        })
        .collect();
    let credentials = job.data.artifact_credentials;
    let credentials = match (credentials.access_key_id, credentials.secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Some(ArtifactCredentials {
            access_key_id,
            secret_access_key,
            session_token: credentials.session_token,
        }),
        _ => None,
    };
    // Not in aws_lambda_events' type: read from the event itself.
    let encryption_key = raw_job
        .and_then(|job| job.get("data"))
        .and_then(|data| data.get("encryptionKey"))
        .and_then(|key| {
            Some(EncryptionKey {
                id: key.get("id")?.as_str()?.to_owned(),
                kind: key
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("KMS")
                    .to_owned(),
            })
        });
    Ok(JobEvent {
        job_id,
        account_id: job.account_id,
        user_parameters: job.data.action_configuration.configuration.user_parameters,
        continuation_token: job.data.continuation_token,
        inputs: JobInputs {
            artifacts,
            credentials,
            encryption_key,
        },
    })
}

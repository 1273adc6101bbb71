//! The `JobReport` port on the AWS SDK's CodePipeline client.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultError;
use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultError;
use aws_sdk_codepipeline::types::{
    ExecutionDetails as SdkExecutionDetails, FailureDetails, FailureType as SdkFailureType,
};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{Failure, detail, is_transient, split};
use crate::ports::{
    ExecutionDetails, FailureType, JobFailure, JobReport, JobSuccess, ReportError, ReportErrorKind,
};

#[derive(Debug, Clone)]
pub struct SdkJobReport {
    client: Client,
}

impl SdkJobReport {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn put_success(
        &self,
        job_id: &str,
        token: Option<&str>,
        details: &ExecutionDetails,
        success: Option<&JobSuccess>,
    ) -> Result<(), ReportError> {
        let mut request = self
            .client
            .put_job_success_result()
            .job_id(job_id)
            .execution_details(sdk_details(details))
            .set_continuation_token(token.map(str::to_owned));
        if let Some(success) = success {
            let variables = success.output_variables.clone().into_iter().collect();
            request = request.set_output_variables(Some(variables));
        }
        request.send().await.map(|_| ()).map_err(|error| {
            report_error("PutJobSuccessResult", error, |service| match service {
                PutJobSuccessResultError::InvalidJobStateException(_) => {
                    Some(ReportErrorKind::AlreadyReported)
                }
                PutJobSuccessResultError::JobNotFoundException(_) => {
                    Some(ReportErrorKind::JobNotFound)
                }
                PutJobSuccessResultError::ValidationException(_)
                | PutJobSuccessResultError::OutputVariablesSizeExceededException(_) => {
                    Some(ReportErrorKind::Rejected)
                }
                _ => None,
            })
        })
    }
}

impl JobReport for SdkJobReport {
    async fn succeed(&self, job_id: &str, success: &JobSuccess) -> Result<(), ReportError> {
        self.put_success(job_id, None, &success.details, Some(success))
            .await
    }

    async fn keep_going(
        &self,
        job_id: &str,
        token: &str,
        details: &ExecutionDetails,
    ) -> Result<(), ReportError> {
        self.put_success(job_id, Some(token), details, None).await
    }

    async fn fail(&self, job_id: &str, failure: &JobFailure) -> Result<(), ReportError> {
        let details = FailureDetails::builder()
            .r#type(sdk_failure_type(failure.kind))
            .message(&failure.message)
            .set_external_execution_id(failure.external_execution_id.clone())
            .build()
            .map_err(|error| ReportError {
                kind: ReportErrorKind::Rejected,
                message: format!("could not build the failure details: {error}"),
                source: Some(Box::new(error)),
            })?;
        self.client
            .put_job_failure_result()
            .job_id(job_id)
            .failure_details(details)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                report_error("PutJobFailureResult", error, |service| match service {
                    PutJobFailureResultError::InvalidJobStateException(_) => {
                        Some(ReportErrorKind::AlreadyReported)
                    }
                    PutJobFailureResultError::JobNotFoundException(_) => {
                        Some(ReportErrorKind::JobNotFound)
                    }
                    PutJobFailureResultError::ValidationException(_) => {
                        Some(ReportErrorKind::Rejected)
                    }
                    _ => None,
                })
            })
    }
}

/// Errors the operation's model does not list. CodePipeline's throttling arrives this way
/// (`ThrottlingException`, HTTP 400): it is transient, never a refusal of the result.
fn classify_unmodelled(code: Option<&str>, status: u16) -> ReportErrorKind {
    if is_transient(code, status) {
        ReportErrorKind::Unavailable
    } else {
        ReportErrorKind::Refused
    }
}

fn sdk_details(details: &ExecutionDetails) -> SdkExecutionDetails {
    SdkExecutionDetails::builder()
        .summary(&details.summary)
        .set_external_execution_id(details.external_execution_id.clone())
        .percent_complete(i32::from(details.percent_complete))
        .build()
}

fn sdk_failure_type(kind: FailureType) -> SdkFailureType {
    match kind {
        FailureType::ConfigurationError => SdkFailureType::ConfigurationError,
        FailureType::PermissionError => SdkFailureType::PermissionError,
        FailureType::SystemUnavailable => SdkFailureType::SystemUnavailable,
        FailureType::JobFailed => SdkFailureType::JobFailed,
    }
}

/// A failed PutJob call: the service's modelled errors classified by `modelled`, the rest by
/// how the call failed.
fn report_error<E>(
    operation: &str,
    error: SdkError<E, HttpResponse>,
    modelled: fn(&E) -> Option<ReportErrorKind>,
) -> ReportError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match split(&error) {
        Failure::Service(service, status) => {
            modelled(service).unwrap_or_else(|| classify_unmodelled(service.code(), status))
        }
        Failure::Transient => ReportErrorKind::Unavailable,
        Failure::Construction => ReportErrorKind::Rejected,
    };
    ReportError {
        kind,
        message: format!("{operation} failed: {}", detail(&error)),
        source: Some(Box::new(error)),
    }
}

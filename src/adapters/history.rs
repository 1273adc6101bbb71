//! The `PipelineHistory` port on the AWS SDK's CodePipeline client: GetJobDetails for the
//! action's place, ListActionExecutions for the runs before (`pathsFromArtifact`).

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{Failure, detail, error_chain, is_transient, split};
use crate::artifact::previous::{
    ActionExecution, ArtifactLocation, ExecutionPage, HISTORY_PAGE_SIZE, HistoryError,
    HistoryErrorKind, JobContext, PipelineHistory,
};

#[derive(Debug, Clone)]
pub struct SdkPipelineHistory {
    client: Client,
}

impl SdkPipelineHistory {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn history_error<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> HistoryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, code, message) = match split(error) {
        Failure::Service(service, status) => {
            let code = service.code().map(str::to_owned);
            let kind = match code.as_deref() {
                // GetJobDetails is documented for custom actions; for a Lambda invoke job
                // CodePipeline (or IAM, for a role without the grant) may refuse it either way.
                Some("AccessDeniedException" | "JobNotFoundException") => HistoryErrorKind::Refused,
                Some("PipelineNotFoundException") => HistoryErrorKind::NotFound,
                code if is_transient(code, status) => HistoryErrorKind::Unavailable,
                _ => HistoryErrorKind::Other,
            };
            (kind, code, detail(service))
        }
        Failure::Transient => (HistoryErrorKind::Unavailable, None, error_chain(error)),
        Failure::Construction => (HistoryErrorKind::Other, None, error_chain(error)),
    };
    HistoryError {
        kind,
        operation,
        code,
        message,
    }
}

impl PipelineHistory for SdkPipelineHistory {
    async fn job_context(&self, job_id: &str) -> Result<JobContext, HistoryError> {
        let answer = self
            .client
            .get_job_details()
            .job_id(job_id)
            .send()
            .await
            .map_err(|error| history_error("GetJobDetails", &error))?;
        let context = answer
            .job_details()
            .and_then(|details| details.data())
            .and_then(|data| data.pipeline_context());
        let missing = || HistoryError {
            kind: HistoryErrorKind::Other,
            operation: "GetJobDetails",
            code: None,
            message: "the answer has no pipelineContext with the pipeline, stage and action names"
                .to_owned(),
        };
        let context = context.ok_or_else(missing)?;
        Ok(JobContext {
            pipeline_name: context.pipeline_name().ok_or_else(missing)?.to_owned(),
            stage_name: context
                .stage()
                .and_then(|stage| stage.name())
                .ok_or_else(missing)?
                .to_owned(),
            action_name: context
                .action()
                .and_then(|action| action.name())
                .ok_or_else(missing)?
                .to_owned(),
            pipeline_execution_id: context.pipeline_execution_id().map(str::to_owned),
        })
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        next_token: Option<String>,
    ) -> Result<ExecutionPage, HistoryError> {
        let answer = self
            .client
            .list_action_executions()
            .pipeline_name(pipeline)
            .max_results(HISTORY_PAGE_SIZE as i32)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| history_error("ListActionExecutions", &error))?;
        let executions = answer
            .action_execution_details()
            .iter()
            .map(|detail| ActionExecution {
                pipeline_execution_id: detail
                    .pipeline_execution_id()
                    .unwrap_or_default()
                    .to_owned(),
                action_execution_id: detail.action_execution_id().unwrap_or_default().to_owned(),
                user_parameters: detail.input().and_then(|input| {
                    [input.resolved_configuration(), input.configuration()]
                        .into_iter()
                        .find_map(|config| config?.get("UserParameters").cloned())
                }),
                stage_name: detail.stage_name().unwrap_or_default().to_owned(),
                action_name: detail.action_name().unwrap_or_default().to_owned(),
                status: detail
                    .status()
                    .map(|status| status.as_str().to_owned())
                    .unwrap_or_default(),
                input_artifacts: detail
                    .input()
                    .map(|input| input.input_artifacts())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|artifact| {
                        let location = artifact.s3_location()?;
                        Some(ArtifactLocation {
                            name: artifact.name()?.to_owned(),
                            bucket: location.bucket()?.to_owned(),
                            key: location.key()?.to_owned(),
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(ExecutionPage {
            executions,
            next_token: answer.next_token().map(str::to_owned),
        })
    }
}

//! Which artifact this action deployed last time: the input artifact of its most recent
//! successful execution in another pipeline execution, found in the pipeline's history.

use std::future::Future;

use crate::token::FallbackCode;

/// Where the action runs: GetJobDetails' `pipelineContext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobContext {
    pub pipeline_name: String,
    pub stage_name: String,
    pub action_name: String,
    /// The pipeline execution this job belongs to, when CodePipeline says.
    pub pipeline_execution_id: Option<String>,
}

/// An artifact's place in the artifact bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLocation {
    pub name: String,
    pub bucket: String,
    pub key: String,
}

/// One action execution, as ListActionExecutions gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionExecution {
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub stage_name: String,
    pub action_name: String,
    /// `InProgress`, `Abandoned`, `Succeeded` or `Failed`.
    pub status: String,
    pub input_artifacts: Vec<ArtifactLocation>,
    /// `UserParameters` of its resolved configuration (else of its configuration).
    pub user_parameters: Option<String>,
}

/// One page of executions, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionPage {
    pub executions: Vec<ActionExecution>,
    pub next_token: Option<String>,
}

/// Why the history could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryErrorKind {
    /// AccessDenied, or GetJobDetails refused for a job that is not a custom action's.
    Refused,
    /// The pipeline (or job) is unknown.
    NotFound,
    /// Throttling, 5xx, a broken connection, after the SDK's retries.
    Unavailable,
    Other,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{operation}: {message}")]
pub struct HistoryError {
    pub kind: HistoryErrorKind,
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

/// The two CodePipeline calls the search needs.
pub trait PipelineHistory: Send + Sync {
    /// GetJobDetails' `pipelineContext` of `job_id`.
    fn job_context(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<JobContext, HistoryError>> + Send;

    /// One page of ListActionExecutions for `pipeline`, newest first.
    fn action_executions(
        &self,
        pipeline: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<ExecutionPage, HistoryError>> + Send;
}

/// Executions asked for per ListActionExecutions page: the most CodePipeline gives.
pub const HISTORY_PAGE_SIZE: usize = 100;

/// Pages of ListActionExecutions read at most ([`HISTORY_PAGE_SIZE`] executions each): a
/// pipeline with more recent executions of other actions than that gets "all" and says why.
pub const MAX_HISTORY_PAGES: usize = 5;

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// The artifact the last successful execution deployed.
    Found {
        pipeline_execution_id: String,
        artifact: ArtifactLocation,
    },
    /// Nothing to compare with: why, and the run concerned when there is one.
    Nothing {
        code: FallbackCode,
        execution: Option<String>,
        reason: String,
    },
}

/// A pipeline's ListActionExecutions pages, newest first: each page is read once however
/// often it is looked at, and at most [`MAX_HISTORY_PAGES`] are read.
pub struct HistoryPages<'a, H> {
    history: &'a H,
    pipeline: String,
    pages: Vec<Vec<ActionExecution>>,
    /// The token of the next page; `None` once the last page is read.
    next_token: Option<Option<String>>,
}

impl<'a, H: PipelineHistory> HistoryPages<'a, H> {
    pub fn new(history: &'a H, pipeline: &str) -> Self {
        Self {
            history,
            pipeline: pipeline.to_owned(),
            pages: Vec::new(),
            next_token: Some(None),
        }
    }

    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Page `index`, read now if it was not yet; `None` past the last page or the bound.
    async fn page(&mut self, index: usize) -> Result<Option<&[ActionExecution]>, HistoryError> {
        while self.pages.len() <= index && self.pages.len() < MAX_HISTORY_PAGES {
            let Some(token) = self.next_token.take() else {
                break;
            };
            let page = self
                .history
                .action_executions(&self.pipeline, token)
                .await?;
            self.next_token = page.next_token.map(Some);
            self.pages.push(page.executions);
        }
        Ok(self.pages.get(index).map(Vec::as_slice))
    }

    /// Executions in the pages read so far.
    fn seen(&self) -> usize {
        self.pages.iter().map(Vec::len).sum()
    }

    /// Whether the history has no page after those read.
    fn ended(&self) -> bool {
        self.next_token.is_none()
    }
}

/// The input artifact `artifact_name` of the most recent `Succeeded` execution of the same
/// stage and action in another pipeline execution, looking through at most
/// [`MAX_HISTORY_PAGES`] pages.
pub async fn find_previous(
    history: &impl PipelineHistory,
    context: &JobContext,
    artifact_name: &str,
) -> Result<Previous, HistoryError> {
    let mut pages = HistoryPages::new(history, &context.pipeline_name);
    find_previous_in(&mut pages, context, artifact_name).await
}

/// [`find_previous`] over pages that may have been read already.
pub async fn find_previous_in<H: PipelineHistory>(
    pages: &mut HistoryPages<'_, H>,
    context: &JobContext,
    artifact_name: &str,
) -> Result<Previous, HistoryError> {
    let mut index = 0;
    while let Some(page) = pages.page(index).await? {
        let latest = page.iter().find(|execution| {
            execution.stage_name == context.stage_name
                && execution.action_name == context.action_name
                && execution.status == "Succeeded"
                && Some(&execution.pipeline_execution_id) != context.pipeline_execution_id.as_ref()
        });
        if let Some(execution) = latest {
            let id = &execution.pipeline_execution_id;
            let artifacts = &execution.input_artifacts;
            return Ok(match artifacts.iter().find(|a| a.name == artifact_name) {
                Some(artifact) => Previous::Found {
                    pipeline_execution_id: id.clone(),
                    artifact: artifact.clone(),
                },
                None => Previous::Nothing {
                    code: FallbackCode::NoSuchArtifact,
                    execution: Some(id.clone()),
                    reason: format!(
                        "the last successful run ({id}) had no input artifact named {artifact_name:?}"
                    ),
                },
            });
        }
        index += 1;
    }
    let reason = if pages.ended() {
        format!(
            "no earlier successful run of {}/{} in the pipeline's history",
            context.stage_name, context.action_name
        )
    } else {
        format!(
            "no successful run of {}/{} among the pipeline's {} most recent action executions",
            context.stage_name,
            context.action_name,
            pages.seen()
        )
    };
    Ok(Previous::Nothing {
        code: FallbackCode::NoEarlierRun,
        execution: None,
        reason,
    })
}

/// Why the history does not show which action a job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLocated {
    /// None of the `seen` most recent action executions runs with this job's parameters.
    NoneRunning { seen: usize },
    /// Several actions (stage, action) run with the same parameters.
    Several { places: Vec<(String, String)> },
}

/// This job's pipeline execution, stage and action, from the history alone (for when
/// GetJobDetails is not used): the running execution whose id is the job id, or else the one
/// running with the same resolved UserParameters. `Ok(Err(reason))` when none or several
/// match. The pages read stay for [`find_previous_in`].
pub async fn locate_in<H: PipelineHistory>(
    pages: &mut HistoryPages<'_, H>,
    job_id: &str,
    user_parameters: &str,
) -> Result<Result<JobContext, NotLocated>, HistoryError> {
    let pipeline = pages.pipeline().to_owned();
    let mut matches: Vec<ActionExecution> = Vec::new();
    let mut index = 0;
    while let Some(page) = pages.page(index).await? {
        for execution in page {
            // Whether CodePipeline uses the job id as the action execution id is not
            // documented; when it does, that settles it.
            if execution.action_execution_id == job_id {
                return Ok(Ok(context_of(&pipeline, execution.clone())));
            }
            if execution.status == "InProgress"
                && execution.user_parameters.as_deref() == Some(user_parameters)
            {
                matches.push(execution.clone());
            }
        }
        // Running executions are the newest: once some are found, older pages add nothing.
        if !matches.is_empty() {
            break;
        }
        index += 1;
    }
    let mut places: Vec<(String, String)> = matches
        .iter()
        .map(|e| (e.stage_name.clone(), e.action_name.clone()))
        .collect();
    places.sort();
    places.dedup();
    Ok(match places.len() {
        0 => Err(NotLocated::NoneRunning { seen: pages.seen() }),
        1 => Ok(context_of(&pipeline, matches.swap_remove(0))),
        _ => Err(NotLocated::Several { places }),
    })
}

fn context_of(pipeline: &str, execution: ActionExecution) -> JobContext {
    JobContext {
        pipeline_name: pipeline.to_owned(),
        stage_name: execution.stage_name,
        action_name: execution.action_name,
        pipeline_execution_id: Some(execution.pipeline_execution_id),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A history of pages, newest first, counting the pages read.
    struct Pages {
        pages: Vec<Vec<ActionExecution>>,
        read: Mutex<usize>,
    }

    impl Pages {
        fn of(pages: Vec<Vec<ActionExecution>>) -> Self {
            let read = Mutex::new(0);
            Self { pages, read }
        }
    }

    impl PipelineHistory for Pages {
        async fn job_context(&self, _job_id: &str) -> Result<JobContext, HistoryError> {
            Ok(context())
        }

        async fn action_executions(
            &self,
            _pipeline: &str,
            next_token: Option<String>,
        ) -> Result<ExecutionPage, HistoryError> {
            *self.read.lock().unwrap() += 1;
            let index: usize = next_token.map_or(0, |t| t.parse().unwrap());
            Ok(ExecutionPage {
                executions: self.pages.get(index).cloned().unwrap_or_default(),
                next_token: (index + 1 < self.pages.len()).then(|| (index + 1).to_string()),
            })
        }
    }

    fn context() -> JobContext {
        JobContext {
            pipeline_name: "site".to_owned(),
            stage_name: "Deploy".to_owned(),
            action_name: "Invalidate".to_owned(),
            pipeline_execution_id: Some("run-3".to_owned()),
        }
    }

    fn execution(run: &str, stage: &str, action: &str, status: &str) -> ActionExecution {
        ActionExecution {
            pipeline_execution_id: run.to_owned(),
            action_execution_id: format!("{run}-{stage}-{action}"),
            user_parameters: Some("{\"distributionId\": \"E2QWRUHAPOMQZL\"}".to_owned()),
            stage_name: stage.to_owned(),
            action_name: action.to_owned(),
            status: status.to_owned(),
            input_artifacts: vec![ArtifactLocation {
                name: "BuildArtifact".to_owned(),
                bucket: "codepipeline-us-east-1-123456789012".to_owned(),
                key: format!("site/BuildArtif/{run}"),
            }],
        }
    }

    async fn locate(history: &Pages, job_id: &str, params: &str) -> Result<JobContext, NotLocated> {
        let mut pages = HistoryPages::new(history, "site");
        locate_in(&mut pages, job_id, params).await.unwrap()
    }

    async fn search(pages: Vec<Vec<ActionExecution>>) -> (Previous, usize) {
        let history = Pages::of(pages);
        let found = find_previous(&history, &context(), "BuildArtifact")
            .await
            .unwrap();
        let read = *history.read.lock().unwrap();
        (found, read)
    }

    #[tokio::test]
    async fn the_latest_success_of_the_same_action_in_another_run_is_taken() {
        let (found, _) = search(vec![vec![
            execution("run-3", "Deploy", "Invalidate", "InProgress"),
            execution("run-3", "Deploy", "Upload", "Succeeded"),
            execution("run-2", "Deploy", "Invalidate", "Failed"),
            execution("run-2", "Deploy", "Upload", "Succeeded"),
            execution("run-1", "Deploy", "Invalidate", "Succeeded"),
            execution("run-0", "Deploy", "Invalidate", "Succeeded"),
        ]])
        .await;
        let Previous::Found {
            pipeline_execution_id,
            artifact,
        } = found
        else {
            panic!("expected a previous artifact, got {found:?}");
        };
        assert_eq!(pipeline_execution_id, "run-1");
        assert_eq!(artifact.key, "site/BuildArtif/run-1");
    }

    #[tokio::test]
    async fn a_success_in_this_same_run_is_not_a_previous_deploy() {
        // A Retry of the stage: this run's own earlier attempt succeeded.
        let (found, _) = search(vec![vec![execution(
            "run-3",
            "Deploy",
            "Invalidate",
            "Succeeded",
        )]])
        .await;
        assert!(
            matches!(&found, Previous::Nothing { reason, .. } if reason.contains("no earlier successful run of Deploy/Invalidate")),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn pages_are_followed_and_bounded() {
        let filler = || vec![execution("run-x", "Build", "Compile", "Succeeded"); 100];
        let mut pages = vec![filler(), filler()];
        pages.push(vec![execution(
            "run-1",
            "Deploy",
            "Invalidate",
            "Succeeded",
        )]);
        let (found, read) = search(pages).await;
        assert!(matches!(found, Previous::Found { .. }), "{found:?}");
        assert_eq!(read, 3);

        let pages: Vec<_> = (0..MAX_HISTORY_PAGES + 3).map(|_| filler()).collect();
        let (found, read) = search(pages).await;
        assert_eq!(read, MAX_HISTORY_PAGES);
        assert!(
            matches!(&found, Previous::Nothing { reason, .. } if reason.contains("among the pipeline's 500 most recent")),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn an_artifact_of_another_name_is_said() {
        let mut run = execution("run-1", "Deploy", "Invalidate", "Succeeded");
        run.input_artifacts[0].name = "SourceArtifact".to_owned();
        let (found, _) = search(vec![vec![run]]).await;
        assert!(
            matches!(&found, Previous::Nothing { reason, .. } if reason.contains("no input artifact named \"BuildArtifact\"")),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn this_job_is_located_by_its_running_parameters_or_its_id() {
        let history = Pages::of(vec![vec![
            execution("run-3", "Deploy", "Upload", "InProgress"),
            execution("run-3", "Deploy", "Invalidate", "InProgress"),
            execution("run-2", "Deploy", "Invalidate", "Succeeded"),
        ]]);
        let params = "{\"distributionId\": \"E2QWRUHAPOMQZL\"}";
        // Two running actions with the same parameters: ambiguous.
        let found = locate(&history, "job-1", params).await;
        assert!(
            matches!(&found, Err(NotLocated::Several { places })
                if places == &[("Deploy".to_owned(), "Invalidate".to_owned()), ("Deploy".to_owned(), "Upload".to_owned())]),
            "{found:?}"
        );
        // The job id as the action execution id settles it.
        let found = locate(&history, "run-3-Deploy-Invalidate", "other").await;
        assert_eq!(found, Ok(context()));
        // Parameters no running action has.
        let found = locate(&history, "job-1", "other").await;
        assert!(
            matches!(&found, Err(NotLocated::NoneRunning { seen }) if *seen > 0),
            "{found:?}"
        );
        let mut pages = history.pages.clone();
        pages[0].remove(0);
        let history = Pages::of(pages);
        let found = locate(&history, "job-1", params).await;
        assert_eq!(found, Ok(context()));
    }
}

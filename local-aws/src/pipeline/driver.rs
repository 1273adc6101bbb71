//! The driver: one run of the action, job after job, invocation after invocation, until a
//! verdict; then the report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::time::{Instant, sleep, sleep_until};

use super::artifact::{
    self, ArtifactBytes, ArtifactRole, StagedArtifact, artifact_bucket, object_key,
};
use super::config::{Observer, function_env};
use super::deploy::{self, DeployReport};
use super::function::{FunctionProcess, OutputLine, OutputSink, SpawnSpec};
use super::report::short_id;
use super::variables::{self, MAX_RESOLVED_CONFIGURATION_BYTES, VariableValues};
use super::viewer::{ViewMoment, ViewReport, Viewers};
use super::{
    Counts, Failure, FailureCause, InvocationEnd, InvocationReport, PipelineConfig, PipelineError,
    PipelineReport, TimelineEntry, TimelineKind, Verdict,
};
use crate::clock::{Clock, epoch_ms};
use crate::codepipeline::JobResult;
use crate::codepipeline::executions::{
    ActionExecution, ActionExecutionStatus, ActionOutput, JobContext, S3Artifact,
};
use crate::duration::format_exact;
use crate::faults::Api;
use crate::rng::SeededRng;
use crate::runtime_api::InvocationStatus;
use crate::server::EmulatorHandle;
use crate::text::shorten;

/// How long a cold-started process may take to ask for its first event (Lambda's init limit).
pub const INIT_ALLOWANCE: Duration = Duration::from_secs(10);

/// Plays the action on `emu` until its verdict, then reports on what this run did there.
pub(super) async fn play(
    config: PipelineConfig,
    artifacts: ArtifactBytes,
    emu: &EmulatorHandle,
) -> Result<PipelineReport, PipelineError> {
    let viewers = viewers(&config, &artifacts, emu)?;
    let mut driver = Driver::new(config, artifacts, emu);
    driver.viewers = viewers;
    let ending = driver.drive().await;
    driver.finish(ending).await
}

/// The viewers of `--view`, looking through the edge whose origin is the deploy bucket.
fn viewers(
    config: &PipelineConfig,
    artifacts: &ArtifactBytes,
    emu: &EmulatorHandle,
) -> Result<Option<Viewers>, PipelineError> {
    let Some(target) = config
        .deploy_to
        .as_ref()
        .filter(|_| !config.views.is_empty())
    else {
        return Ok(None);
    };
    let distributions = emu.distributions();
    let mut served = distributions.iter().filter_map(|d| {
        let serves = d.origin.as_deref() == Some(target.bucket.as_str());
        Some((emu.edge_addr(&d.id).filter(|_| serves)?, d))
    });
    let Some((addr, distribution)) = served.next() else {
        return Err(PipelineError::NoEdgeForViews(target.bucket.clone()));
    };
    let files = |files: &Option<Vec<deploy::SiteFile>>| files.clone().unwrap_or_default();
    Ok(Some(Viewers::new(
        addr,
        config.views.clone(),
        distribution.default_root_object.clone(),
        target,
        &files(&artifacts.current_files),
        &files(&artifacts.previous_files),
    )))
}

/// Why [`Driver::drive`] stopped.
enum Ending {
    Verdict,
    SpawnFailed(std::io::Error),
}

enum JobEnd {
    Result(JobResult),
    NoReply,
    TotalTimeout,
}

/// What the emulator held before the run, so that the report tells this run alone when the
/// emulator is shared ([`super::run_on`]).
struct Baseline {
    started_ms: u64,
    requests: usize,
    invalidations: BTreeSet<String>,
    init_errors: usize,
}

struct Driver<'e> {
    config: PipelineConfig,
    emu: &'e EmulatorHandle,
    baseline: Baseline,
    /// `#{codepipeline.PipelineExecutionId}` of this run.
    pipeline_execution_id: String,
    /// `UserParameters` as the function sees it, once resolved.
    user_parameters: String,
    /// This run's action execution in the pipeline's history, once recorded.
    action_execution_id: Option<String>,
    job_ids: Vec<String>,
    /// Whether the run still forwards the emulator's calls to the observer.
    observing: Arc<AtomicBool>,
    process: FunctionProcess,
    clock: Clock,
    total_deadline: Instant,
    invocations: Vec<InvocationReport>,
    events: Mutex<Vec<TimelineEntry>>,
    verdict: Option<(Verdict, Option<Failure>)>,
    /// The driver's own draws (duplicate deliveries, kills), on a stream of the run's seed.
    rng: SeededRng,
    /// The zips to put in the artifact bucket before the action starts.
    artifacts: ArtifactBytes,
    staged: Vec<StagedArtifact>,
    deploys: Vec<DeployReport>,
    viewers: Option<Viewers>,
    views: Vec<ViewReport>,
}

#[derive(Clone, Copy)]
struct Delivery<'a> {
    job_number: u32,
    job_id: &'a str,
    attempt: u32,
    duplicate: bool,
    event: &'a Value,
    /// Kill the process this long after it takes the event (`kill_rate`).
    kill_after: Option<Duration>,
}

impl<'e> Driver<'e> {
    fn new(config: PipelineConfig, artifacts: ArtifactBytes, emu: &'e EmulatorHandle) -> Self {
        let clock = emu.clock().clone();
        let baseline = Baseline {
            started_ms: clock.elapsed_ms(),
            requests: emu.request_log().len(),
            invalidations: emu.all_invalidations().into_iter().map(|i| i.id).collect(),
            init_errors: emu.init_errors().len(),
        };
        let pipeline_execution_id = config
            .pipeline_execution_id
            .clone()
            .unwrap_or_else(|| emu.new_pipeline_execution_id());
        let sink = config
            .observer
            .clone()
            .map(|Observer(observer)| -> OutputSink {
                Arc::new(move |line: &OutputLine| observer(&TimelineEntry::of_output(line)))
            });
        let spec = SpawnSpec {
            program: config.function.clone(),
            args: config.function_args.clone(),
            env: function_env(&config, emu),
        };
        let observing = Arc::new(AtomicBool::new(true));
        if let Some(Observer(observer)) = config.observer.clone() {
            let observing = observing.clone();
            emu.watch_requests(move |r| {
                if observing.load(Ordering::Relaxed)
                    && let Some(entry) = TimelineEntry::of_request(r)
                {
                    observer(&entry);
                }
            });
        }
        Self {
            rng: SeededRng::with_stream(emu.seed(), 7),
            total_deadline: Instant::now() + config.total_timeout,
            process: FunctionProcess::new(spec, clock.clone(), sink),
            user_parameters: config.user_parameters.clone(),
            action_execution_id: None,
            config,
            emu,
            baseline,
            pipeline_execution_id,
            job_ids: Vec::new(),
            observing,
            clock,
            invocations: Vec::new(),
            events: Mutex::default(),
            verdict: None,
            artifacts,
            staged: Vec::new(),
            deploys: Vec::new(),
            viewers: None,
            views: Vec::new(),
        }
    }

    fn event(&self, kind: TimelineKind, text: String) {
        let entry = TimelineEntry {
            at_ms: self.clock.elapsed_ms(),
            kind,
            text,
        };
        if let Some(Observer(observer)) = &self.config.observer {
            observer(&entry);
        }
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    fn job_event(&self, job_id: &str, continuation_token: Option<&str>) -> Value {
        let mut credentials = self.config.artifact_credentials.to_json();
        credentials["expirationTime"] = json!(epoch_ms(SystemTime::now()) + 3_600_000);
        let input_artifacts = self.config.input_artifacts.iter();
        let mut data = json!({
            "actionConfiguration": {
                "configuration": {
                    "FunctionName": self.config.function_name,
                    "UserParameters": self.user_parameters,
                }
            },
            "inputArtifacts": input_artifacts.map(S3Artifact::job_input).collect::<Vec<_>>(),
            "outputArtifacts": [],
            "artifactCredentials": credentials,
        });
        if let Some(token) = continuation_token {
            data["continuationToken"] = json!(token);
        }
        json!({
            "CodePipeline.job": {"id": job_id, "accountId": self.config.account_id, "data": data}
        })
    }

    /// `UserParameters` as an execution of the action in `pipeline_execution_id` resolves it.
    fn resolve(&self, pipeline_execution_id: &str) -> variables::Resolution {
        let values = VariableValues {
            pipeline_execution_id,
            variables: &self.config.variables,
        };
        variables::resolve(&self.config.user_parameters, &values)
    }

    /// Resolves the action configuration's variables as CodePipeline does before it runs an
    /// action; `false` when the action fails there, before any job.
    fn resolve_variables(&mut self) -> bool {
        let resolution = self.resolve(&self.pipeline_execution_id);
        let execution = format!("pipeline execution {}", self.pipeline_execution_id);
        let references = |names: &[String]| {
            let references: Vec<_> = names.iter().map(|name| format!("#{{{name}}}")).collect();
            references.join(", ")
        };
        if !resolution.unresolved.is_empty() {
            let references = references(&resolution.unresolved);
            let example = resolution
                .unresolved
                .iter()
                .find(|name| !name.starts_with("codepipeline."))
                .map_or("NAMESPACE.NAME", String::as_str);
            let message = format!(
                "one or more variables could not be resolved: {references} in UserParameters. CodePipeline fails the action before it runs, without invoking the function (\"An action in this pipeline failed because one or more variables could not be resolved: Action name=...\"). Give each variable a value (--variable {example}=VALUE) or correct the reference: namespaces and names are case-sensitive, and PipelineExecutionId is the one codepipeline variable the user guide lists"
            );
            self.fail_before_run(
                format!("{execution}: UserParameters references {references}, which CodePipeline cannot resolve"),
                "variables could not be resolved",
                Failure {
                    unresolved_variables: resolution.unresolved,
                    ..Failure::of(FailureCause::UnresolvedVariables, message)
                },
            );
            return false;
        }
        let configuration_bytes = "FunctionName".len()
            + self.config.function_name.len()
            + "UserParameters".len()
            + resolution.text.len();
        if configuration_bytes > MAX_RESOLVED_CONFIGURATION_BYTES {
            let message = format!(
                "the resolved action configuration is {configuration_bytes} bytes, over CodePipeline's limit of 100 KB ({MAX_RESOLVED_CONFIGURATION_BYTES} bytes) for the total resolved action configuration: a variable's value is much longer than intended"
            );
            self.fail_before_run(
                format!("{execution}: {message}"),
                "the resolved configuration is too large",
                Failure::of(FailureCause::ResolvedConfigurationTooLarge, message),
            );
            return false;
        }
        self.event(
            TimelineKind::Job,
            if resolution.resolved.is_empty() {
                execution
            } else {
                let names = references(&resolution.resolved);
                format!("{execution}: UserParameters resolved {names}")
            },
        );
        self.user_parameters = resolution.text;
        true
    }

    /// The action fails before it runs: `job` on the timeline, then the verdict and `why`.
    fn fail_before_run(&mut self, job: String, why: &str, failure: Failure) {
        self.event(TimelineKind::Job, job);
        self.event(
            TimelineKind::Verdict,
            format!("FAILED before the action ran: {why}"),
        );
        self.fail(failure);
    }

    /// The action configuration with these `UserParameters` (as written, or resolved).
    fn configuration(&self, user_parameters: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("FunctionName".into(), self.config.function_name.clone()),
            ("UserParameters".into(), user_parameters.to_string()),
        ])
    }

    /// An execution of this action in `pipeline_execution_id`, its configuration as written.
    fn execution(&self, pipeline_execution_id: String) -> ActionExecution {
        let mut execution = ActionExecution::started(
            self.config.pipeline_name.clone(),
            self.config.stage_name.clone(),
            self.config.action_name.clone(),
            pipeline_execution_id,
        );
        execution.configuration = self.configuration(&self.config.user_parameters);
        execution.region = self.config.region.clone();
        execution
    }

    /// Puts the artifacts in the artifact bucket, as the actions before this one left them: the
    /// current one becomes the first input artifact; the previous one is the input of an
    /// earlier execution of this action, recorded in the history.
    fn stage_artifacts(&mut self) {
        let (current, previous) = (
            self.artifacts.current.take(),
            self.artifacts.previous.take(),
        );
        if current.is_none() && previous.is_none() {
            return;
        }
        let bucket = artifact_bucket(&self.config.region, &self.config.account_id);
        self.emu.create_bucket(&bucket);
        // Keys on a stream of their own, so that adding an artifact changes no other draw.
        let mut keys = SeededRng::with_stream(self.emu.seed(), 9);
        let name = &self.config.artifact_name;
        let mut location = |zip| {
            // A key not taken yet: runs on one emulator draw the same ids, and a second run must
            // not overwrite the artifact the first one's history points to.
            let key = loop {
                let id = artifact::object_id(&mut keys);
                let key = object_key(&self.config.pipeline_name, name, &id);
                if self.emu.object(&bucket, &key).is_none() {
                    break key;
                }
            };
            let (name, bucket) = (name.clone(), bucket.clone());
            (S3Artifact { name, bucket, key }, zip)
        };
        let current = current.map(&mut location);
        let previous = previous.map(&mut location);
        let staged = [
            (ArtifactRole::Previous, previous),
            (ArtifactRole::Current, current),
        ];
        for (role, (location, zip)) in staged.into_iter().filter_map(|(r, a)| Some((r, a?))) {
            let size = zip.len() as u64;
            let stored = role == ArtifactRole::Current || !self.config.previous_artifact_gone;
            if stored {
                self.store(&location, zip);
            }
            let S3Artifact { name, bucket, key } = &location;
            let (action_execution_id, text) = match role {
                ArtifactRole::Previous => {
                    let id = self.record_previous_execution(&location);
                    let deleted = if stored { "" } else { ", object deleted" };
                    let status = self.config.previous_status;
                    let text = format!(
                        "previous execution {id} of this action: {status:?}, input artifact {name} at s3://{bucket}/{key} ({size} bytes{deleted})"
                    );
                    (Some(id), text)
                }
                ArtifactRole::Current => {
                    self.config.input_artifacts.insert(0, location.clone());
                    let access_key_id = &self.config.artifact_credentials.access_key_id;
                    let text = format!(
                        "input artifact {name} at s3://{bucket}/{key} ({size} bytes), readable with access key id {access_key_id}"
                    );
                    (None, text)
                }
            };
            self.event(TimelineKind::Job, text);
            self.staged.push(StagedArtifact {
                role,
                location,
                size,
                stored,
                action_execution_id,
            });
        }
    }

    fn store(&self, location: &S3Artifact, zip: Vec<u8>) {
        // The bucket was created just before: the store cannot miss it.
        let _ = self.emu.put_object(
            &location.bucket,
            &location.key,
            zip,
            Some("application/zip"),
        );
    }

    /// An earlier execution of this action, in another pipeline execution, an hour ago.
    fn record_previous_execution(&self, input: &S3Artifact) -> String {
        let pipeline_execution_id = self.emu.new_pipeline_execution_id();
        let resolved = self.resolve(&pipeline_execution_id);
        let mut execution = self.execution(pipeline_execution_id);
        let now = epoch_ms(self.clock.wall());
        execution.start_epoch_ms = now.saturating_sub(3_600_000);
        execution.last_update_epoch_ms = now.saturating_sub(3_540_000);
        execution.status = self.config.previous_status;
        execution.resolved_configuration = self.configuration(&resolved.text);
        execution.input_artifacts = vec![input.clone()];
        if self.config.previous_status == ActionExecutionStatus::Failed {
            execution.output.error = Some((
                "JobFailed".to_string(),
                "the previous run failed (planted by local-aws)".to_string(),
            ));
        }
        self.emu.record_action_execution(execution)
    }

    /// Records this run's action execution as InProgress in the pipeline's history, as
    /// CodePipeline does when the action starts; the emulator ends it with the final result.
    fn record_execution(&mut self) -> String {
        let mut execution = self.execution(self.pipeline_execution_id.clone());
        execution.resolved_configuration = self.configuration(&self.user_parameters);
        execution.input_artifacts = self.config.input_artifacts.clone();
        let id = self.emu.record_action_execution(execution);
        self.action_execution_id = Some(id.clone());
        id
    }

    /// What `GetJobDetails` says of this run's jobs.
    fn job_context(&self, action_execution_id: &str) -> JobContext {
        JobContext {
            pipeline_name: self.config.pipeline_name.clone(),
            stage_name: self.config.stage_name.clone(),
            action_name: self.config.action_name.clone(),
            action_execution_id: action_execution_id.to_string(),
            pipeline_execution_id: self.pipeline_execution_id.clone(),
            configuration: self.configuration(&self.user_parameters),
            input_artifacts: self.config.input_artifacts.clone(),
            artifact_credentials: Some(self.config.artifact_credentials.clone()),
        }
    }

    /// The S3 deploys before the action: the previous execution's, then this one's, each
    /// followed by the viewers' look (two after the previous one: a miss, then a hit).
    async fn deploy_site(&mut self) {
        let Some(target) = self.config.deploy_to.clone() else {
            return;
        };
        let cache_control = self.config.deploy_cache_control.clone();
        let previous = self.artifacts.previous_files.take();
        let current = self.artifacts.current_files.take();
        let deploys = [
            (
                ArtifactRole::Previous,
                previous,
                ViewMoment::AfterPreviousDeploy,
                2,
            ),
            (ArtifactRole::Current, current, ViewMoment::AfterDeploy, 1),
        ];
        for (role, files, moment, looks) in deploys {
            let Some(files) = files else { continue };
            let (step, viewers) = match role {
                ArtifactRole::Previous => (
                    "the previous pipeline execution deploys its artifact",
                    "; viewers load the site",
                ),
                ArtifactRole::Current => (
                    "this pipeline execution deploys its artifact",
                    "; viewers load the site again",
                ),
            };
            let viewers = if self.viewers.is_some() { viewers } else { "" };
            self.event(TimelineKind::Step, format!("{step}{viewers}"));
            let report = deploy::deploy(self.emu, role, &target, cache_control.as_deref(), &files);
            let whose = match role {
                ArtifactRole::Previous => "the previous execution's S3 deploy",
                ArtifactRole::Current => "S3 deploy",
            };
            let cache = (report.cache_control.as_deref())
                .map(|c| format!(", Cache-Control {c}"))
                .unwrap_or_default();
            let text = format!(
                "{whose}: {} file(s) of {} extracted to {target} ({} bytes{cache})",
                report.keys.len(),
                self.config.artifact_name,
                report.bytes
            );
            self.event(TimelineKind::Deploy, text);
            self.deploys.push(report);
            for _ in 0..looks {
                self.view(moment).await;
            }
        }
    }

    /// The viewers look through the edge, each answer a line of the timeline.
    async fn view(&mut self, moment: ViewMoment) {
        let Some(viewers) = &self.viewers else {
            return;
        };
        let (clock, emu) = (self.clock.clone(), self.emu);
        let bucket = self.config.deploy_to.as_ref().map(|t| t.bucket.clone());
        let origin = |key: &str| {
            let object = emu.object(bucket.as_deref()?, key)?;
            Some(object.body.to_vec())
        };
        let before = emu.request_log().len();
        let mut reports = viewers.look(moment, || clock.elapsed_ms(), origin).await;
        // The edge logged each GET, in order: link them, so that the timeline tells each once.
        let logged = emu.request_log().into_iter().skip(before);
        let mut gets = logged.filter(|r| r.operation == "ViewerGet");
        for report in reports.iter_mut().filter(|r| r.status.is_some()) {
            report.request_seq = gets.next().map(|r| r.seq);
        }
        for report in reports {
            self.event(TimelineKind::Viewer, report.describe());
            self.views.push(report);
        }
    }

    /// The deploys, the action, and the viewers' look at the end.
    async fn drive(&mut self) -> Ending {
        self.stage_artifacts();
        self.deploy_site().await;
        if self.config.deploy_to.is_some() {
            let text = "the invalidation action runs until its verdict";
            self.event(TimelineKind::Step, text.to_string());
        }
        let ending = self.run_action().await;
        if let Ending::Verdict = ending
            && self.viewers.is_some()
        {
            let text = "after the verdict, viewers load the site again";
            self.event(TimelineKind::Step, text.to_string());
            self.view(ViewMoment::AfterVerdict).await;
        }
        ending
    }

    /// Jobs until a terminal result or a timeout.
    async fn run_action(&mut self) -> Ending {
        if !self.resolve_variables() {
            return Ending::Verdict;
        }
        let action_execution_id = self.record_execution();
        let ending = self.drive_jobs(&action_execution_id).await;
        if let Ending::SpawnFailed(e) = &ending {
            // CodePipeline would see the function fail; keep the history from showing a run
            // that is still going.
            self.emu.update_action_execution(
                &action_execution_id,
                ActionExecutionStatus::Failed,
                Some(ActionOutput {
                    error: Some((
                        "JobFailed".to_string(),
                        format!("the function could not start: {e}"),
                    )),
                    ..ActionOutput::default()
                }),
            );
        }
        ending
    }

    async fn drive_jobs(&mut self, action_execution_id: &str) -> Ending {
        let mut token: Option<String> = None;
        loop {
            // The emulator numbers the jobs the same way.
            let number = self.job_ids.len() as u32 + 1;
            let job_id = self
                .emu
                .create_job_in(self.job_context(action_execution_id), token.clone());
            self.job_ids.push(job_id.clone());
            self.event(
                TimelineKind::Job,
                match &token {
                    None => format!("job {number} {job_id} created"),
                    Some(t) => format!(
                        "job {number} {job_id} created, continuing with token ({} chars)",
                        t.chars().count()
                    ),
                },
            );
            let event = self.job_event(&job_id, token.as_deref());
            let end = match self.run_job(number, &job_id, &event).await {
                Ok(end) => end,
                Err(e) => return Ending::SpawnFailed(e),
            };
            match end {
                JobEnd::Result(JobResult::Succeeded {
                    continuation_token: Some(next),
                    summary,
                    ..
                }) => {
                    self.event(
                        TimelineKind::Job,
                        format!(
                            "job {number} {}: in progress{}; next invocation in {}",
                            short_id(&job_id),
                            summary
                                .map(|s| format!(" ({})", shorten(&s, 160)))
                                .unwrap_or_default(),
                            format_exact(self.config.reinvoke_delay)
                        ),
                    );
                    let wake = Instant::now() + self.config.reinvoke_delay;
                    self.view(ViewMoment::JobInProgress { job: number }).await;
                    if wake >= self.total_deadline {
                        sleep_until(self.total_deadline).await;
                        self.fail_total(&job_id);
                        return Ending::Verdict;
                    }
                    sleep_until(wake).await;
                    token = Some(next);
                }
                JobEnd::Result(JobResult::Succeeded { .. }) => {
                    self.verdict = Some((Verdict::Succeeded, None));
                    self.event(
                        TimelineKind::Verdict,
                        format!(
                            "job {number} {}: SUCCEEDED, the action succeeded",
                            short_id(&job_id)
                        ),
                    );
                    return Ending::Verdict;
                }
                JobEnd::Result(JobResult::Failed {
                    failure_type,
                    message,
                    external_execution_id,
                }) => {
                    self.event(
                        TimelineKind::Verdict,
                        format!(
                            "job {number} {}: FAILED {failure_type}: {}",
                            short_id(&job_id),
                            shorten(&message, 300)
                        ),
                    );
                    self.fail(Failure {
                        failure_type: Some(failure_type),
                        external_execution_id,
                        ..Failure::of(FailureCause::Reported, message)
                    });
                    return Ending::Verdict;
                }
                JobEnd::Result(JobResult::TimedOut { .. }) | JobEnd::NoReply => {
                    let message = format!(
                        "no result for job {job_id} within {}: CodePipeline fails a Lambda invoke action whose function sends neither PutJobSuccessResult nor PutJobFailureResult in time",
                        format_exact(self.config.no_reply_timeout)
                    );
                    self.emu.time_out_job(&job_id, &message);
                    self.event(
                        TimelineKind::Verdict,
                        format!("job {number} {}: FAILED, {message}", short_id(&job_id)),
                    );
                    self.fail(Failure::of(FailureCause::NoReply, message));
                    return Ending::Verdict;
                }
                JobEnd::TotalTimeout => {
                    self.fail_total(&job_id);
                    return Ending::Verdict;
                }
            }
        }
    }

    fn fail_total(&mut self, job_id: &str) {
        let message = format!(
            "the action ran longer than {}: CodePipeline fails a Lambda invoke action after 24 hours in all",
            format_exact(self.config.total_timeout)
        );
        self.emu.time_out_job(job_id, &message);
        self.event(TimelineKind::Verdict, format!("FAILED, {message}"));
        self.fail(Failure::of(FailureCause::TotalTimeout, message));
    }

    fn fail(&mut self, failure: Failure) {
        self.verdict = Some((Verdict::Failed, Some(failure)));
    }

    fn job_result(&self, job_id: &str) -> Option<JobResult> {
        self.emu.job(job_id).and_then(|j| j.result)
    }

    /// Whether the next delivery of an event is killed on purpose, and when.
    fn draw_kill(&mut self, kills_so_far: u32) -> Option<Duration> {
        if kills_so_far >= self.config.kills_per_event || !self.rng.chance(self.config.kill_rate) {
            return None;
        }
        let window = u64::try_from(self.config.lambda_timeout.as_millis()).unwrap_or(u64::MAX);
        let after = self.rng.between(0, window.saturating_sub(1));
        Some(Duration::from_millis(after))
    }

    /// Invocations of one job (first delivery, a duplicate delivery, Lambda's retries) until
    /// it has a result or CodePipeline gives up.
    async fn run_job(
        &mut self,
        number: u32,
        job_id: &str,
        event: &Value,
    ) -> Result<JobEnd, std::io::Error> {
        let no_reply_deadline = Instant::now() + self.config.no_reply_timeout;
        let deadline = no_reply_deadline.min(self.total_deadline);
        let no_reply_first = no_reply_deadline <= self.total_deadline;
        let timeout_end = || {
            Ok(if no_reply_first {
                JobEnd::NoReply
            } else {
                JobEnd::TotalTimeout
            })
        };
        // Drawn once per event, before anything else, so that a seed always duplicates the
        // same events.
        let mut duplicate_pending = self.rng.chance(self.config.duplicate_delivery_rate);
        let mut kills = 0u32;
        let mut attempt = 1u32;
        loop {
            let mut failed = false;
            for duplicate in [false, true] {
                if duplicate {
                    if !std::mem::take(&mut duplicate_pending) {
                        break;
                    }
                    // Lambda delivers the same event once more, whatever became of the first.
                    self.event(
                        TimelineKind::Invocation,
                        format!(
                            "Lambda delivers the event of job {number} {} again (duplicate delivery)",
                            short_id(job_id)
                        ),
                    );
                }
                let delivery = Delivery {
                    job_number: number,
                    job_id,
                    attempt,
                    duplicate,
                    event,
                    kill_after: self.draw_kill(kills),
                };
                let report = tokio::select! {
                    biased;
                    report = self.invoke(delivery) => report?,
                    // CodePipeline gives up; the function's process goes with the run.
                    _ = sleep_until(deadline) => return timeout_end(),
                };
                failed |= !duplicate && report.end.is_function_error();
                kills += u32::from(matches!(report.end, InvocationEnd::Killed { .. }));
                self.invocations.push(report);
            }
            if let Some(result) = self.job_result(job_id) {
                return Ok(JobEnd::Result(result));
            }
            if failed && attempt < 3 {
                let delay = self.config.retry_delay * attempt;
                self.event(
                    TimelineKind::Invocation,
                    format!(
                        "Lambda retries the event (attempt {} of 3) in {}",
                        attempt + 1,
                        format_exact(delay)
                    ),
                );
                if Instant::now() + delay >= deadline {
                    sleep_until(deadline).await;
                    return timeout_end();
                }
                sleep(delay).await;
                attempt += 1;
                continue;
            }
            // Nothing more will invoke the function for this job: wait for a late result
            // (none is expected) until CodePipeline gives up.
            let mut changes = self.emu.watch_jobs();
            loop {
                if let Some(result) = self.job_result(job_id) {
                    return Ok(JobEnd::Result(result));
                }
                // A closed channel disables its branch: then only the deadline is left.
                tokio::select! {
                    Ok(()) = changes.changed() => {}
                    _ = sleep_until(deadline) => return timeout_end(),
                }
            }
        }
    }

    /// One invocation: start the process if needed, queue the event, wait for the answer, a
    /// crash, the deadline, or an injected kill.
    async fn invoke(&mut self, delivery: Delivery<'_>) -> Result<InvocationReport, std::io::Error> {
        if let Some(exit) = self.process.is_running() {
            self.event(
                TimelineKind::Invocation,
                format!(
                    "function process {} had exited ({})",
                    self.process.generation(),
                    exit.describe()
                ),
            );
        }
        let cold_start = !self.process.alive();
        if cold_start {
            self.process.spawn()?;
        }
        let queued_ms = self.clock.elapsed_ms();
        let queued_at = Instant::now();
        let mut invocation = self.emu.invoke(delivery.event, self.config.lambda_timeout);
        let request_id = invocation.request_id().to_string();
        let mut report = InvocationReport {
            number: self.invocations.len() as u32 + 1,
            job_number: delivery.job_number,
            job_id: delivery.job_id.to_string(),
            attempt: delivery.attempt,
            duplicate: delivery.duplicate,
            request_id: request_id.clone(),
            cold_start,
            process: self.process.generation(),
            queued_ms,
            started_ms: None,
            ended_ms: queued_ms,
            end: InvocationEnd::Timeout { started: false },
            event: delivery.event.clone(),
        };
        let (number, job, process) = (report.number, report.job_number, report.process);
        let duplicate = if report.duplicate { " (duplicate)" } else { "" };
        let start = if cold_start { "cold start" } else { "warm" };
        let text = format!(
            "invocation {number}: job {job} {}, attempt {}{duplicate}, {start} (process {process}), request {request_id}",
            short_id(delivery.job_id),
            delivery.attempt,
        );
        self.event(TimelineKind::Invocation, text);
        let limit = self.config.lambda_timeout + self.config.deadline_grace;
        // Lambda gives a cold start's init phase up to 10 s on top of the function timeout.
        let pickup_limit = if cold_start {
            limit.max(INIT_ALLOWANCE)
        } else {
            limit
        };

        // Until the function takes the event.
        let started = tokio::select! {
            biased;
            s = invocation.started() => s,
            exit = self.process.exited() => {
                self.emu.abandon_invocation(&request_id);
                return Ok(self.ended(report, InvocationEnd::Crashed { exit, started: false }));
            }
            _ = sleep_until(queued_at + pickup_limit) => {
                self.give_up(&request_id).await;
                return Ok(self.ended(report, InvocationEnd::Timeout { started: false }));
            }
        };
        report.started_ms = started.map(|(ms, _)| ms);
        let started_at = Instant::now();
        let kill_at = started_at + delivery.kill_after.unwrap_or(limit);

        // Until it answers.
        let end = tokio::select! {
            biased;
            outcome = invocation.finished() => {
                outcome.map_or(InvocationEnd::Timeout { started: true }, InvocationEnd::from)
            }
            exit = self.process.exited() => {
                // The process may have answered just before exiting.
                match invocation.status() {
                    InvocationStatus::Finished(outcome) => outcome.into(),
                    _ => {
                        self.emu.abandon_invocation(&request_id);
                        InvocationEnd::Crashed { exit, started: true }
                    }
                }
            }
            _ = sleep_until(kill_at), if delivery.kill_after.is_some() => {
                self.give_up(&request_id).await;
                InvocationEnd::Killed { after_ms: crate::clock::duration_ms(started_at.elapsed()) }
            }
            _ = sleep_until(started_at + limit) => {
                self.give_up(&request_id).await;
                InvocationEnd::Timeout { started: true }
            }
        };
        Ok(self.ended(report, end))
    }

    /// Abandons the invocation and kills the process that holds it.
    async fn give_up(&mut self, request_id: &str) {
        self.emu.abandon_invocation(request_id);
        self.process.kill().await;
    }

    fn ended(&self, mut report: InvocationReport, end: InvocationEnd) -> InvocationReport {
        report.ended_ms = self.clock.elapsed_ms();
        report.end = end;
        self.event(
            TimelineKind::Invocation,
            format!(
                "invocation {} ended after {} ms: {}",
                report.number,
                report.duration_ms(),
                report.end.describe()
            ),
        );
        report
    }

    async fn finish(mut self, ending: Ending) -> Result<PipelineReport, PipelineError> {
        let function_output = self.process.finish().await;
        self.observing.store(false, Ordering::Relaxed);
        if let Ending::SpawnFailed(source) = ending {
            return Err(PipelineError::Spawn {
                path: self.config.function.clone(),
                source,
            });
        }
        let (verdict, failure) = self.verdict.take().unwrap_or((Verdict::Failed, None));
        let (baseline, emu) = (&self.baseline, self.emu);
        let duration_ms = self.clock.elapsed_ms().saturating_sub(baseline.started_ms);
        let mut jobs = emu.jobs();
        jobs.retain(|job| self.job_ids.contains(&job.job_id));
        // The last job that said so gives the summary, the external id and the variables.
        let (mut summary, mut external_execution_id, mut output_variables) =
            (None, None, BTreeMap::new());
        for job in &jobs {
            if let Some(JobResult::Succeeded {
                summary: s,
                external_execution_id: x,
                output_variables: vars,
                ..
            }) = &job.result
            {
                summary = s.clone().or(summary);
                external_execution_id = x.clone().or(external_execution_id);
                if !vars.is_empty() {
                    output_variables = vars.clone();
                }
            }
        }
        let requests: Vec<_> = emu
            .request_log()
            .into_iter()
            .skip(baseline.requests)
            .collect();
        let mut invalidations = emu.all_invalidations();
        invalidations.retain(|i| !baseline.invalidations.contains(&i.id));
        let count = |pick: fn(&InvocationReport) -> bool| {
            self.invocations.iter().filter(|i| pick(i)).count() as u32
        };
        let mut counts = Counts {
            jobs: jobs.len() as u32,
            invocations: self.invocations.len() as u32,
            cold_starts: count(|i| i.cold_start),
            function_errors: count(|i| i.end.is_function_error()),
            timeouts: count(|i| matches!(i.end, InvocationEnd::Timeout { .. })),
            crashes: count(|i| matches!(i.end, InvocationEnd::Crashed { .. })),
            kills: count(|i| matches!(i.end, InvocationEnd::Killed { .. })),
            duplicate_deliveries: count(|i| i.duplicate),
            results_refused: jobs.iter().map(|j| j.results_refused).sum(),
            invalidations: invalidations.len() as u32,
            paths: invalidations.iter().map(|i| i.paths.len() as u32).sum(),
            ..Counts::default()
        };
        for r in &requests {
            if r.fault.is_some() {
                counts.faults_injected += 1;
            }
            if r.api == Api::S3 && r.operation == "GetObject" {
                counts.s3_get_object_calls += 1;
                counts.s3_body_bytes_sent += r.body_bytes.unwrap_or(0);
            }
            // A viewer's request to an edge is no API call.
            let viewer = matches!(r.operation.as_str(), "ViewerGet" | "ViewerHead");
            if matches!(r.api, Api::CloudFront | Api::CodePipeline) && !viewer {
                counts.api_calls += 1;
                *counts
                    .calls_by_operation
                    .entry(r.operation.clone())
                    .or_default() += 1;
            }
            if let Some(code) = &r.error_code {
                *counts.errors_by_code.entry(code.clone()).or_default() += 1;
            }
        }
        let events = self
            .events
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let init_errors = emu.init_errors().into_iter().skip(baseline.init_errors);
        Ok(PipelineReport {
            verdict,
            failure,
            summary,
            external_execution_id,
            output_variables,
            jobs,
            invocations: std::mem::take(&mut self.invocations),
            requests,
            invalidations,
            init_errors: init_errors.collect(),
            function_output,
            counts,
            events: std::mem::take(events),
            seed: emu.seed(),
            endpoint: emu.endpoint(),
            pipeline_execution_id: std::mem::take(&mut self.pipeline_execution_id),
            action_execution_id: self.action_execution_id.take(),
            user_parameters: std::mem::take(&mut self.user_parameters),
            artifacts: std::mem::take(&mut self.staged),
            deploys: std::mem::take(&mut self.deploys),
            views: std::mem::take(&mut self.views),
            function_peak_rss_kib: self.process.peak_rss_kib(),
            started_ms: baseline.started_ms,
            duration_ms,
        })
    }
}

impl Failure {
    fn of(cause: FailureCause, message: String) -> Self {
        Self {
            cause,
            failure_type: None,
            message,
            external_execution_id: None,
            unresolved_variables: Vec::new(),
        }
    }
}

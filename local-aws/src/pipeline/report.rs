//! What a pipeline run produced: verdict, jobs, invocations, calls, output, and the timeline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::artifact::{ArtifactRole, StagedArtifact};
use super::deploy::DeployReport;
use super::function::{ExitInfo, OutputLine, OutputStream};
use super::viewer::{ViewMoment, ViewReport};
use crate::cloudfront::InvalidationInfo;
use crate::codepipeline::JobRecord;
use crate::faults::Api;
use crate::log::RequestRecord;
use crate::runtime_api::{InitError, InvocationOutcome};
use crate::text::{seconds, shorten};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A `PutJobSuccessResult` without continuation token.
    Succeeded,
    /// A `PutJobFailureResult`, or CodePipeline gave up (no reply, 24 h).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// The function reported `PutJobFailureResult`.
    Reported,
    /// No result for a job within the no-reply timeout (20 minutes in CodePipeline).
    NoReply,
    /// The whole action ran past the total timeout (24 hours in CodePipeline).
    TotalTimeout,
    /// `UserParameters` references a variable that has no value: CodePipeline fails the
    /// action before it runs (no job, no invocation).
    UnresolvedVariables,
    /// The action configuration, once its variables are resolved, is over CodePipeline's
    /// 100 KB: the action fails before it runs.
    ResolvedConfigurationTooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub cause: FailureCause,
    /// `failureDetails.type` when reported (`JobFailed`, `ConfigurationError`, ...).
    pub failure_type: Option<String>,
    /// `failureDetails.message`, or the emulator's explanation of a timeout.
    pub message: String,
    /// `failureDetails.externalExecutionId`, when reported.
    pub external_execution_id: Option<String>,
    /// The variables that could not be resolved (`Deploy.CommitId`), for
    /// [`FailureCause::UnresolvedVariables`]; empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved_variables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvocationEnd {
    /// The function posted `/response`.
    Response { body: String },
    /// The function posted `/error`.
    Error {
        error_type: String,
        error_message: String,
    },
    /// No answer by the deadline (plus grace): the process was killed.
    Timeout {
        /// Whether the function had taken the event (false: it never called `/next` in time).
        started: bool,
    },
    /// Killed by the driver at a random moment before the deadline
    /// ([`super::PipelineConfig::kill_rate`]), as a crash or a host failure would end it.
    Killed {
        /// How long after taking the event it was killed, in ms.
        after_ms: u64,
    },
    /// The process exited before answering (`started`: after taking the event).
    Crashed { exit: ExitInfo, started: bool },
}

impl From<InvocationOutcome> for InvocationEnd {
    fn from(outcome: InvocationOutcome) -> Self {
        match outcome {
            InvocationOutcome::Response { body } => Self::Response { body },
            InvocationOutcome::Error {
                error_type,
                error_message,
            } => Self::Error {
                error_type,
                error_message,
            },
        }
    }
}

impl InvocationEnd {
    /// Whether Lambda counts this as a function error (and retries it).
    pub fn is_function_error(&self) -> bool {
        !matches!(self, InvocationEnd::Response { .. })
    }

    /// A short human description (`response ...`, `error Type: message`, `timed out ...`).
    pub fn describe(&self) -> String {
        match self {
            Self::Response { body } => format!("response {}", shorten(body, 120)),
            Self::Error {
                error_type,
                error_message,
            } => format!("error {error_type}: {}", shorten(error_message, 200)),
            Self::Timeout { started: true } => {
                "timed out (no response by the deadline): process killed".to_string()
            }
            Self::Timeout { started: false } => {
                "timed out before taking the event: process killed".to_string()
            }
            Self::Killed { after_ms } => {
                format!("killed (SIGKILL) {after_ms} ms after taking the event [injected kill]")
            }
            Self::Crashed { exit, started } => {
                let when = if *started {
                    "answering"
                } else {
                    "taking the event"
                };
                format!("process exited ({}) before {when}", exit.describe())
            }
        }
    }
}

/// One Lambda invocation; times are ms since the run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvocationReport {
    /// 1 for the first invocation of the run.
    pub number: u32,
    /// The job it delivered (its [`crate::JobRecord::number`]).
    pub job_number: u32,
    pub job_id: String,
    /// 1 for the first delivery of the event, 2 and 3 for Lambda's retries (a duplicate
    /// delivery has the attempt number of the delivery it repeats).
    pub attempt: u32,
    /// Whether this is a duplicate delivery of the event (Lambda's at-least-once delivery,
    /// [`super::PipelineConfig::duplicate_delivery_rate`]).
    pub duplicate: bool,
    pub request_id: String,
    /// Whether a new process was started for it.
    pub cold_start: bool,
    /// Which process ran it (see [`OutputLine::process`]).
    pub process: u32,
    pub queued_ms: u64,
    pub started_ms: Option<u64>,
    pub ended_ms: u64,
    pub end: InvocationEnd,
    /// The event delivered. Left out of the JSON report: it holds the artifact credentials.
    #[serde(skip)]
    pub event: Value,
}

impl InvocationReport {
    /// Milliseconds from taking the event to the end (or from queueing, if never taken).
    pub fn duration_ms(&self) -> u64 {
        self.ended_ms
            .saturating_sub(self.started_ms.unwrap_or(self.queued_ms))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub jobs: u32,
    /// Retries included.
    pub invocations: u32,
    pub cold_starts: u32,
    /// Invocations that ended in a function error (error post, timeout, crash).
    pub function_errors: u32,
    /// Of those, timeouts.
    pub timeouts: u32,
    /// Of those, crashes.
    pub crashes: u32,
    /// Of those, invocations the driver killed before their deadline (`kill_rate`).
    pub kills: u32,
    /// Duplicate deliveries of an event (`duplicate_delivery_rate`).
    pub duplicate_deliveries: u32,
    /// PutJob calls refused with `InvalidJobStateException` (the job already had a result).
    pub results_refused: u32,
    /// Calls to the CloudFront and CodePipeline APIs.
    pub api_calls: u32,
    pub calls_by_operation: BTreeMap<String, u32>,
    /// Error responses by AWS error code.
    pub errors_by_code: BTreeMap<String, u32>,
    /// Calls shaped by an injected fault.
    pub faults_injected: u32,
    pub invalidations: u32,
    /// Paths (and cache tags) in those invalidations.
    pub paths: u32,
    /// S3 GetObject calls (ranged or whole, refused included).
    pub s3_get_object_calls: u32,
    /// Body bytes those calls sent.
    pub s3_body_bytes_sent: u64,
}

/// What the timeline line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A job was created or got its result.
    Job,
    /// An invocation started or ended.
    Invocation,
    /// A call to an emulated API.
    Request,
    /// An invalidation changed status.
    Invalidation,
    /// A line the function printed (verbose timeline only).
    Output,
    /// The action's end.
    Verdict,
    /// An S3 deploy before the action (`deploy_to`).
    Deploy,
    /// A viewer's GET through the edge (`views`).
    Viewer,
    /// A headline: the next part of the run (with `deploy_to`).
    Step,
}

/// One line of the timeline (`at_ms`: since the run started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub at_ms: u64,
    pub kind: TimelineKind,
    pub text: String,
}

impl TimelineEntry {
    /// `+   1.234s  text`, indented by kind; a step is a headline of its own.
    pub fn render(&self) -> String {
        if self.kind == TimelineKind::Step {
            return format!("\n== {}", self.text);
        }
        let indent = match self.kind {
            TimelineKind::Job
            | TimelineKind::Verdict
            | TimelineKind::Deploy
            | TimelineKind::Step => "",
            TimelineKind::Invocation | TimelineKind::Viewer => "  ",
            TimelineKind::Request | TimelineKind::Invalidation => "    ",
            TimelineKind::Output => "      | ",
        };
        format!("+{:>9}  {indent}{}", seconds(self.at_ms), self.text)
    }

    /// The line for a line the function printed.
    pub(crate) fn of_output(line: &OutputLine) -> Self {
        let stream = match line.stream {
            OutputStream::Stdout => "out",
            OutputStream::Stderr => "err",
        };
        Self {
            at_ms: line.at_ms,
            kind: TimelineKind::Output,
            text: format!("[process {} {stream}] {}", line.process, line.text),
        }
    }

    /// The line for a call, or `None` for a Runtime API call that went well: the invocation
    /// lines already tell those (an `InitError` post is always shown).
    pub(crate) fn of_request(r: &RequestRecord) -> Option<Self> {
        if r.api == Api::LambdaRuntime && r.succeeded() && r.operation != "InitError" {
            return None;
        }
        Some(Self {
            at_ms: r.at_ms,
            kind: TimelineKind::Request,
            text: r.line(true),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineReport {
    pub verdict: Verdict,
    pub failure: Option<Failure>,
    /// `executionDetails.summary` of the last `PutJobSuccessResult`.
    pub summary: Option<String>,
    /// `executionDetails.externalExecutionId` of the last `PutJobSuccessResult`.
    pub external_execution_id: Option<String>,
    /// `outputVariables` of the final `PutJobSuccessResult`.
    pub output_variables: BTreeMap<String, String>,
    /// Jobs in order (the first, then one per continuation).
    pub jobs: Vec<JobRecord>,
    pub invocations: Vec<InvocationReport>,
    /// Every call to the emulator, in arrival order.
    pub requests: Vec<RequestRecord>,
    /// Every invalidation created, oldest first, with its status at the end of the run.
    pub invalidations: Vec<InvalidationInfo>,
    /// `/runtime/init/error` posts.
    pub init_errors: Vec<InitError>,
    pub function_output: Vec<OutputLine>,
    pub counts: Counts,
    /// The driver's own events (jobs, invocations, verdict) as timeline lines.
    pub events: Vec<TimelineEntry>,
    /// The seed used (pass it as `--seed` to repeat the run).
    pub seed: u64,
    pub endpoint: String,
    /// `#{codepipeline.PipelineExecutionId}` of the run (give it as
    /// [`super::PipelineConfig::pipeline_execution_id`] to replay a pipeline "Retry").
    pub pipeline_execution_id: String,
    /// The run's action execution in the pipeline's history (`ListActionExecutions`), `None`
    /// when the action failed before it ran (unresolved variables).
    pub action_execution_id: Option<String>,
    /// `UserParameters` as the function got it: variables resolved (as written when they
    /// could not be).
    pub user_parameters: String,
    /// When the run started, in ms on the emulator's clock, which every `at_ms` of the report
    /// also reads: about 0 on an emulator of its own, later on a shared one
    /// ([`super::run_on`]).
    pub started_ms: u64,
    pub duration_ms: u64,
    /// The function's largest peak resident set (`VmHWM`, KiB) over its processes, read before
    /// each was stopped (Linux only; `None` elsewhere, or when none was stopped).
    pub function_peak_rss_kib: Option<u64>,
    /// The artifacts the run put in the artifact bucket (none without
    /// [`super::PipelineConfig::artifact`] or `previous_artifact`).
    pub artifacts: Vec<StagedArtifact>,
    /// The S3 deploys before the action (none without [`super::PipelineConfig::deploy_to`]).
    pub deploys: Vec<DeployReport>,
    /// The viewers' GETs through the edge (none without [`super::PipelineConfig::views`]).
    pub views: Vec<ViewReport>,
}

impl PipelineReport {
    /// What the viewers' last look found: `after the verdict, 3 of 3 path(s) fresh`.
    fn last_look(&self, moment: ViewMoment) -> String {
        let last: Vec<&ViewReport> = self.views.iter().filter(|v| v.moment == moment).collect();
        let count = |fresh| last.iter().filter(|v| v.fresh == Some(fresh)).count();
        let (fresh, stale) = (count(true), count(false));
        let total = last.len();
        format!("{moment}, {fresh} of {total} path(s) fresh, {stale} stale")
    }
}

pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

impl PipelineReport {
    pub fn succeeded(&self) -> bool {
        self.verdict == Verdict::Succeeded
    }

    /// The process exit code the CLI uses: 0 succeeded, 1 failed.
    pub fn exit_code(&self) -> i32 {
        if self.succeeded() { 0 } else { 1 }
    }

    /// The calls of one operation (`CreateInvalidation`, `PutJobSuccessResult`, ...).
    pub fn requests_for(&self, operation: &str) -> Vec<&RequestRecord> {
        self.requests
            .iter()
            .filter(|r| r.operation == operation)
            .collect()
    }

    /// Everything the function printed, stdout and stderr interleaved, one line each.
    pub fn function_output_text(&self) -> String {
        self.function_output
            .iter()
            .map(|line| format!("{}\n", line.text))
            .collect()
    }

    /// The report as JSON (what `--json` prints).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The timeline: jobs, invocations, API calls, invalidation status changes, the verdict,
    /// and with `verbose` the function's output, in time order.
    pub fn timeline(&self, verbose: bool) -> Vec<TimelineEntry> {
        // At one moment: the driver's events, calls, completions, output, and the verdict (and
        // what the driver did after it) last.
        let mut after_verdict = false;
        let events = (self.events.iter().cloned()).map(|e| {
            after_verdict |= e.kind == TimelineKind::Verdict;
            (if after_verdict { 9 } else { 1 }, e)
        });
        // A viewer line tells its own GET better than the edge's log line.
        let viewed: BTreeSet<u64> = self.views.iter().filter_map(|v| v.request_seq).collect();
        let requests = self.requests.iter().filter(|r| !viewed.contains(&r.seq));
        let requests = requests.filter_map(TimelineEntry::of_request);
        let end = self.started_ms + self.duration_ms;
        let completions = self
            .invalidations
            .iter()
            .filter(|inv| inv.completes_at_ms <= end);
        let completions = completions.map(|inv| TimelineEntry {
            at_ms: inv.completes_at_ms,
            kind: TimelineKind::Invalidation,
            text: format!(
                "invalidation {} on {} is now Completed ({} path(s))",
                inv.id,
                inv.target(),
                inv.paths.len()
            ),
        });
        let output = self.function_output.iter().filter(|_| verbose);
        let output = output.map(|line| (4, TimelineEntry::of_output(line)));
        let mut entries: Vec<(u8, TimelineEntry)> = events
            .chain(requests.map(|e| (2, e)))
            .chain(completions.map(|e| (3, e)))
            .chain(output)
            .collect();
        // Stable: entries of one moment and order keep the order they came in.
        entries.sort_by_key(|(order, e)| (e.at_ms, *order));
        entries.into_iter().map(|(_, e)| e).collect()
    }

    /// The readable report the CLI prints: the timeline, then the verdict block.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = String::new();
        for e in self.timeline(verbose) {
            let _ = writeln!(out, "{}", e.render());
        }
        let outcome = if self.succeeded() {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        let _ = writeln!(out, "\nVERDICT: the action {outcome}");
        // Each fact on a line of its own, its label in a column 16 wide.
        fn fact(out: &mut String, label: &str, value: impl std::fmt::Display) {
            let _ = writeln!(out, "  {label:<16}{value}");
        }
        if let (Verdict::Failed, Some(f)) = (&self.verdict, &self.failure) {
            if let Some(t) = &f.failure_type {
                fact(&mut out, "failure type:", t);
            }
            fact(&mut out, "message:", &f.message);
            if let Some(x) = &f.external_execution_id {
                fact(&mut out, "external id:", x);
            }
        }
        if let Some(s) = &self.summary {
            fact(&mut out, "summary:", s);
        }
        if let Some(x) = &self.external_execution_id
            && self.succeeded()
        {
            fact(&mut out, "external id:", x);
        }
        if !self.output_variables.is_empty() {
            let _ = writeln!(out, "  output variables:");
            for (k, v) in &self.output_variables {
                let _ = writeln!(out, "    {k} = {v}");
            }
        }
        let c = &self.counts;
        let totals = format!(
            "{} job(s), {} invocation(s) ({} cold start(s), {} function error(s), {} killed, {} duplicate(s)), {} API call(s), {} invalidation(s) of {} path(s), {} injected fault(s)",
            c.jobs,
            c.invocations,
            c.cold_starts,
            c.function_errors,
            c.kills,
            c.duplicate_deliveries,
            c.api_calls,
            c.invalidations,
            c.paths,
            c.faults_injected
        );
        fact(&mut out, "totals:", totals);
        if !self.artifacts.is_empty() || c.s3_get_object_calls > 0 {
            let sizes: Vec<String> = self
                .artifacts
                .iter()
                .map(|a| {
                    let role = match a.role {
                        ArtifactRole::Current => "artifact",
                        ArtifactRole::Previous => "previous artifact",
                    };
                    let gone = if a.stored { "" } else { ", object deleted" };
                    format!("{role} {} bytes{gone}", a.size)
                })
                .collect();
            let (calls, bytes) = (c.s3_get_object_calls, c.s3_body_bytes_sent);
            let sizes = sizes.join(", ");
            let reads = format!("{calls} GetObject call(s), {bytes} body byte(s) sent ({sizes})");
            fact(&mut out, "S3 reads:", reads);
        }
        let deploys: Vec<String> = (self.deploys.iter())
            .map(|d| format!("{} file(s) of {} to {}", d.keys.len(), d.role, d.target))
            .collect();
        if !deploys.is_empty() {
            fact(&mut out, "S3 deploys:", deploys.join(", then "));
        }
        if let Some(last) = self.views.last() {
            fact(&mut out, "viewers:", self.last_look(last.moment));
        }
        if !c.errors_by_code.is_empty() {
            let codes: Vec<String> = (c.errors_by_code.iter())
                .map(|(k, v)| format!("{k} x{v}"))
                .collect();
            fact(&mut out, "error replies:", codes.join(", "));
        }
        let id = &self.pipeline_execution_id;
        let retry = format!("{id} (replay a pipeline Retry with --pipeline-execution-id {id})");
        fact(&mut out, "execution:", retry);
        let (run, seed) = (seconds(self.duration_ms), self.seed);
        let run = format!("{run}, seed {seed} (repeat with --seed {seed})");
        fact(&mut out, "run:", run);
        out
    }
}

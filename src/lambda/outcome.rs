//! The engine's verdict in CodePipeline's words: the summary, failure type and message, output
//! variables and continuation token of the one PutJob result of an invocation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use tracing::warn;

use crate::artifact::ZipError;
use crate::artifact::job::{ArtifactError, ArtifactFacts, ArtifactRole, Selection};
use crate::artifact::previous::{HistoryErrorKind, NotLocated};
use crate::engine::{
    EngineSettings, FailedTarget, JobRun, JobSpec, PendingInvalidation, Progress,
    REFERENCE_SEARCH_LIMIT, Verdict,
};
use crate::params::{self, OnStale, OnTimeout, ParamsError, Target};
use crate::plan::PlanError;
use crate::ports::{
    CloudFrontErrorKind, ExecutionDetails, FailureType, JobFailure, JobSuccess, Millis,
};
use crate::text::{format_duration, plural, preview, thousands, truncate};
use crate::token::FallbackCode;
use crate::token::TokenError;
use crate::verify::{Verified, VerifyReport};

/// CodePipeline's limits on the fields we send back.
pub const MAX_SUMMARY_LEN: usize = 2048;
pub const MAX_FAILURE_MESSAGE_LEN: usize = 5000;
pub const MAX_EXTERNAL_ID_LEN: usize = 1500;

/// How the job ends this invocation: the one thing reported to CodePipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded(JobSuccess),
    StillRunning {
        token: String,
        details: ExecutionDetails,
    },
    Failed(JobFailure),
}

impl JobOutcome {
    /// A failure whose message is cut to CodePipeline's limit.
    pub(super) fn failed(kind: FailureType, message: &str, external_id: Option<String>) -> Self {
        Self::Failed(JobFailure {
            kind,
            message: truncate(message, MAX_FAILURE_MESSAGE_LEN),
            external_execution_id: external_id,
        })
    }
}

/// Execution details whose summary is cut to CodePipeline's limit.
fn details(summary: &str, external_id: Option<String>, percent: u8) -> ExecutionDetails {
    ExecutionDetails {
        summary: truncate(summary, MAX_SUMMARY_LEN),
        external_execution_id: external_id,
        percent_complete: percent,
    }
}

/// The engine's verdict in CodePipeline's terms: the one result this invocation reports.
pub fn outcome(
    spec: &JobSpec,
    run: &JobRun,
    verdict: &Verdict,
    now: Millis,
    settings: &EngineSettings,
) -> JobOutcome {
    let elapsed = format_duration(Duration::from_millis(now.saturating_sub(run.started_at)));
    let external_id = external_execution_id(run);
    let failed =
        |message: &str| JobOutcome::failed(FailureType::JobFailed, message, external_id.clone());
    match verdict {
        Verdict::Finished => JobOutcome::Succeeded(success(spec, run, &elapsed, None)),
        Verdict::Failed {
            causes,
            in_progress,
        } => {
            // The most actionable cause decides the type: configuration, then permissions.
            let kind = causes
                .iter()
                .map(|failed| FailureType::of(failed.cause.kind))
                .min()
                .unwrap_or(FailureType::JobFailed);
            let mut message = causes
                .iter()
                .map(|failed| cause_message(spec, failed, settings))
                .collect::<Vec<_>>()
                .join("; ");
            let others = pending_list(in_progress);
            if !others.is_empty() {
                let _ = write!(
                    message,
                    ". Already created and still in progress (they finish on their own): {others}"
                );
            }
            JobOutcome::failed(kind, &message, external_id)
        }
        Verdict::TimedOut {
            queued,
            in_progress,
        } => {
            let queued: Vec<String> = queued
                .iter()
                .map(|q| {
                    if q.failures_in_a_row > 0 {
                        format!(
                            "{} (its last {} CreateInvalidation calls failed: CloudFront was unavailable or throttling)",
                            q.target, q.failures_in_a_row
                        )
                    } else {
                        format!(
                            "{} (CloudFront refused it {} times with TooManyInvalidationsInProgress)",
                            q.target, q.refusals
                        )
                    }
                })
                .collect();
            let waiting = pending_list(in_progress);
            let timeout = format_duration(spec.timeout);
            if !queued.is_empty() {
                // Nothing was invalidated there: succeeding would leave stale content behind silently.
                let mut message = format!(
                    "timed out after {timeout} before CloudFront accepted the invalidation for {}. Other invalidations in progress on the distribution must finish first; raise timeoutMinutes or invalidate fewer wildcard paths at once",
                    queued.join(", ")
                );
                if !waiting.is_empty() {
                    let _ = write!(
                        message,
                        ". Still in progress (they finish on their own): {waiting}"
                    );
                }
                return failed(&message);
            }
            match spec.on_timeout {
                OnTimeout::Fail => failed(&format!(
                    "timed out after {timeout} waiting for CloudFront: {waiting} still in progress. They finish on their own; raise timeoutMinutes, or set onTimeout to \"succeed\" so that a slow invalidation does not fail the pipeline"
                )),
                OnTimeout::Succeed => {
                    let warning = format!(
                        "WARNING: still in progress after {timeout}: {waiting}. They finish on their own (onTimeout is \"succeed\")."
                    );
                    JobOutcome::Succeeded(success(spec, run, &elapsed, Some(warning)))
                }
            }
        }
        Verdict::OutOfTime => {
            let total = run.distributions.len();
            let completed = run.count(|p| matches!(p, Progress::Completed { .. }));
            let queued = run.count(|p| matches!(p, Progress::Queued { .. }));
            let mut summary = if spec.wait {
                format!(
                    "{completed} of {total} distribution{} completed, {elapsed} elapsed",
                    plural(total)
                )
            } else {
                format!(
                    "{} of {total} invalidation{} created, {elapsed} elapsed",
                    total - queued,
                    plural(total)
                )
            };
            if queued > 0 {
                let _ = write!(
                    summary,
                    "; waiting for CloudFront to accept {queued} invalidation{}",
                    plural(queued)
                );
            }
            let percent = u8::try_from((completed * 100 / total.max(1)).min(99)).unwrap_or(99);
            JobOutcome::StillRunning {
                token: run.to_token(spec).encode(),
                details: details(&summary, external_id, percent),
            }
        }
    }
}

fn success(spec: &JobSpec, run: &JobRun, elapsed: &str, warning: Option<String>) -> JobSuccess {
    let all_completed = run
        .distributions
        .iter()
        .all(|d| matches!(d.progress, Progress::Completed { .. }));
    let pairs: Vec<String> = run
        .distributions
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.distribution,
                d.progress.invalidation_id().unwrap_or("")
            )
        })
        .collect();
    let paths = spec.plan.billed_paths();
    let collapsed = if spec.plan.was_collapsed() {
        format!(
            " (collapsed from {} requested to stay within maxPaths)",
            spec.plan.requested_paths()
        )
    } else {
        String::new()
    };
    let tenants = spec.distributions.iter().filter(|d| d.is_tenant()).count();
    let targets = if run.distributions.len() == 1 {
        let d = &run.distributions[0];
        let noun = if d.distribution.is_tenant() {
            "distribution tenant "
        } else {
            ""
        };
        format!(
            "{noun}{} ({})",
            d.distribution,
            d.progress.invalidation_id().unwrap_or("?")
        )
    } else {
        let counted = match (run.distributions.len() - tenants, tenants) {
            (distributions, 0) => format!("{distributions} distributions"),
            (0, tenants) => format!("{tenants} distribution tenants"),
            (distributions, tenants) => format!(
                "{distributions} distribution{} and {tenants} distribution tenant{}",
                plural(distributions),
                plural(tenants)
            ),
        };
        format!("{counted}: {}", pairs.join(", "))
    };
    let counted = format!("{paths} path{}", plural(paths));
    let mut summary = match (&warning, all_completed) {
        (Some(warning), _) => format!(
            "{warning} Invalidation of {counted} on {targets}{collapsed} created {elapsed} ago."
        ),
        (None, true) => format!("Invalidated {counted} on {targets}{collapsed} in {elapsed}."),
        (None, false) => format!(
            "Created invalidation of {counted} on {targets}{collapsed}; not waiting for it to complete (wait is false)."
        ),
    };
    let _ = write!(summary, " Paths: {}", preview(spec.plan.items(), 10));
    if let Some(facts) = &spec.from_artifact {
        summary = format!("{} {summary}", artifact_summary(facts));
    }
    let first_id = run
        .distributions
        .first()
        .and_then(|d| d.progress.invalidation_id())
        .unwrap_or("");
    JobSuccess {
        details: details(&summary, external_execution_id(run), 100),
        output_variables: output_variables(
            &spec.distributions,
            [first_id, &pairs.join(",")],
            paths,
            if all_completed {
                "Completed"
            } else {
                "InProgress"
            },
            spec.from_artifact.as_ref(),
        ),
    }
}

/// The output variables of a success. `DistributionIds` is empty when the job named only
/// tenants; `DistributionTenantIds` is set when it named tenants.
fn output_variables(
    targets: &[Target],
    [first_id, ids]: [&str; 2],
    paths: usize,
    status: &str,
    facts: Option<&ArtifactFacts>,
) -> BTreeMap<String, String> {
    let ids_of = |tenant: bool| {
        targets
            .iter()
            .filter(|d| d.is_tenant() == tenant)
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut variables = BTreeMap::from([
        ("InvalidationId", first_id.to_owned()),
        ("InvalidationIds", ids.to_owned()),
        ("DistributionIds", ids_of(false)),
        ("PathCount", paths.to_string()),
        ("Status", status.to_owned()),
    ]);
    if targets.iter().any(Target::is_tenant) {
        variables.insert("DistributionTenantIds", ids_of(true));
    }
    if let Some(facts) = facts {
        variables.insert("ChangedFiles", facts.changed_files.to_string());
    }
    variables
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The invalidations completed and `verify` asked the edge: its sentence leads the summary; a
/// stale file fails the job unless `onStale` is "warn".
pub fn verified(
    spec: &JobSpec,
    run: &JobRun,
    verified: Verified,
    on_stale: OnStale,
    now: Millis,
) -> JobOutcome {
    let elapsed = format_duration(Duration::from_millis(now.saturating_sub(run.started_at)));
    let external_id = external_execution_id(run);
    let (sentence, problem, on_stale) = match verified {
        Verified::OutOfTime { progress, planned } => {
            let mut token = run.to_token(spec);
            let checked = progress.next;
            token.verify = Some(progress);
            let summary = format!(
                "Every invalidation completed; verifying through the edge: {checked} of {planned} checks made, {elapsed} elapsed"
            );
            return JobOutcome::StillRunning {
                token: token.encode(),
                details: details(&summary, external_id, 99),
            };
        }
        Verified::Unverifiable(problem) => (
            None,
            Some(format!(
                "the invalidations completed, but the edge could not be verified: {problem}"
            )),
            // Nothing was compared: with "fail" the job says so rather than pass unchecked.
            on_stale,
        ),
        Verified::TimedOut(report) => {
            let sentence = verify_sentence(&report);
            let problem = format!(
                "timed out after {} while verifying through the edge: {sentence} Raise timeoutMinutes, or lower verify.maxObjects",
                format_duration(spec.timeout)
            );
            let on_timeout = match spec.on_timeout {
                OnTimeout::Fail => OnStale::Fail,
                OnTimeout::Succeed => OnStale::Warn,
            };
            (None, Some(problem), on_timeout)
        }
        Verified::Done(report) if report.failed() => {
            let sentence = verify_sentence(&report);
            let problem = format!(
                "the invalidations completed, but the edge still serves files that are not the deployed ones. {sentence} Run cf-invalidate verify for advice on each, or set verify.onStale to \"warn\""
            );
            (Some(sentence), Some(problem), on_stale)
        }
        Verified::Done(report) => (Some(verify_sentence(&report)), None, on_stale),
    };
    match (problem, on_stale) {
        (Some(problem), OnStale::Fail) => {
            JobOutcome::failed(FailureType::JobFailed, &problem, external_id)
        }
        (problem, _) => {
            let mut success = success(spec, run, &elapsed, None);
            let lead = match (problem, sentence) {
                (Some(problem), _) => format!("WARNING: {problem}"),
                (None, Some(sentence)) => sentence,
                (None, None) => String::new(),
            };
            success.details.summary = truncate(
                &format!("{lead} {}", success.details.summary),
                MAX_SUMMARY_LEN,
            );
            JobOutcome::Succeeded(success)
        }
    }
}

/// "Verified 13 of 13 changed files fresh at the edge." and what went wrong.
fn verify_sentence(report: &VerifyReport) -> String {
    let p = &report.progress;
    let checked = p.fresh + p.stale + p.missing + p.not_comparable;
    let noun = if report.from_artifact {
        "changed files"
    } else {
        "files"
    };
    let at = if report.edges > 1 {
        format!("at the edges of {} distributions", report.edges)
    } else {
        "at the edge".to_owned()
    };
    let mut text = format!("Verified {} of {checked} {noun} fresh {at}", p.fresh);
    if report.listed > report.planned / report.edges.max(1) {
        text.push_str(&format!(
            " (a sample of {} across the {} listed, maxObjects)",
            report.planned / report.edges.max(1),
            report.listed
        ));
    }
    text.push('.');
    if report.failed() {
        let named: Vec<String> = report
            .failing
            .iter()
            .filter(|f| f.verdict.fails())
            .map(|f| match &f.edge {
                Some(edge) => format!("{} at {edge} ({})", f.path, f.reason),
                None => format!("{} ({})", f.path, f.reason),
            })
            .collect();
        let more = (p.stale + p.missing) as usize - named.len().min((p.stale + p.missing) as usize);
        text.push_str(&format!(
            " Not fresh: {}{}.",
            named.join("; "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let skipped: Vec<String> = report
        .unchecked
        .iter()
        .map(|f| format!("{} ({})", f.path, f.reason))
        .collect();
    if p.not_comparable > 0 || !skipped.is_empty() {
        text.push_str(&format!(
            " Not comparable: {}.",
            if skipped.is_empty() {
                format!(
                    "{} file{}",
                    p.not_comparable,
                    crate::text::plural(p.not_comparable as usize)
                )
            } else {
                skipped.join("; ")
            }
        ));
    }
    text
}

/// Success without an invalidation: "changed" found no change and no paths were listed.
pub(super) fn nothing_changed(targets: &[Target], facts: &ArtifactFacts) -> JobOutcome {
    JobOutcome::Succeeded(JobSuccess {
        details: details(
            &format!("{} Nothing invalidated.", artifact_summary(facts)),
            None,
            100,
        ),
        output_variables: output_variables(targets, ["", ""], 0, "NoChanges", Some(facts)),
    })
}

/// `TARGET invalidation ID, ...`.
fn pending_list(in_progress: &[PendingInvalidation]) -> String {
    in_progress
        .iter()
        .map(|p| format!("{} invalidation {}", p.target, p.invalidation_id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn external_execution_id(run: &JobRun) -> Option<String> {
    let ids: Vec<&str> = run
        .distributions
        .iter()
        .filter_map(|d| d.progress.invalidation_id())
        .collect();
    (!ids.is_empty()).then(|| truncate(&ids.join(","), MAX_EXTERNAL_ID_LEN))
}

/// The failure type and message of one distribution's cause, for CodePipeline's reader: the
/// pipeline's user, who edits UserParameters and the function's role.
fn cause_message(spec: &JobSpec, failed: &FailedTarget, settings: &EngineSettings) -> String {
    let (distribution, cause) = (&failed.target, &failed.cause);
    let code = cause.code.as_deref().unwrap_or("error");
    let actions = distribution.iam_actions();
    let action = cause.operation.iam_action(distribution);
    match cause.kind {
        CloudFrontErrorKind::NoSuchDistribution if distribution.is_tenant() => format!(
            "CloudFront has no distribution tenant {distribution} ({code}): check distributionTenantId(s) in UserParameters and that the tenant belongs to this AWS account"
        ),
        CloudFrontErrorKind::NoSuchDistribution => format!(
            "CloudFront has no distribution {distribution} (NoSuchDistribution): check the distribution id in UserParameters and that it belongs to this AWS account. If {distribution} is a multi-tenant distribution, CloudFront answers this for the distribution itself: invalidate its tenants with distributionTenantId(s) instead"
        ),
        CloudFrontErrorKind::InvalidRequest => format!(
            "CloudFront refused the invalidation for {distribution} ({code}): {}. Paths sent: {}",
            cause.message,
            preview(spec.plan.items(), 5)
        ),
        CloudFrontErrorKind::CallerReferenceReused => format!(
            "CloudFront refused CallerReference {:?} for {distribution}: it was used for an earlier invalidation batch of that distribution ({code}: {}), and none of its {REFERENCE_SEARCH_LIMIT} newest invalidations carries it, so it is not this job's. Give callerReference a value unique to each pipeline run, such as #{{codepipeline.PipelineExecutionId}}, or leave it out",
            spec.caller_reference(distribution),
            cause.message
        ),
        CloudFrontErrorKind::AccessDenied => format!(
            "access denied: the function's role may not call {action} on {arn}. Grant {}, {} and {} on {arn}; or, if {distribution} is not the {noun} you meant, correct the id in UserParameters: a role limited to its {noun}s' ARNs is refused this way for any other id, before CloudFront looks it up (CloudFront said: {})",
            actions[0],
            actions[1],
            actions[2],
            cause.message,
            noun = distribution.noun(),
            arn = spec.distribution_arn(distribution)
        ),
        CloudFrontErrorKind::Unavailable => format!(
            "CloudFront kept failing for {distribution}: {} ({} calls in a row failed after the SDK's own retries); run the action again later",
            cause.message, settings.transient_failure_limit
        ),
        CloudFrontErrorKind::NoAnswer { within } => format!(
            "CloudFront kept failing for {distribution}: {action} did not answer within {} ({} calls in a row failed after the SDK's own retries); run the action again later",
            format_duration(within),
            settings.transient_failure_limit
        ),
        CloudFrontErrorKind::Unreachable | CloudFrontErrorKind::NotCloudFront => format!(
            "{action} for {distribution} did not reach CloudFront: {}. Check the function's network (VPC, NAT, proxy) and any CloudFront endpoint set in its environment (AWS_ENDPOINT_URL_CLOUDFRONT)",
            cause.message
        ),
        CloudFrontErrorKind::NoSuchInvalidation => format!(
            "CloudFront no longer knows invalidation {} of {distribution} (NoSuchInvalidation)",
            failed.invalidation_id.as_deref().unwrap_or("?")
        ),
        CloudFrontErrorKind::TooManyInProgress | CloudFrontErrorKind::Other => format!(
            "{action} failed for {distribution} ({code}): {}",
            cause.message
        ),
    }
}

/// What the input artifact contributed, in the summary's words: one or two sentences.
fn artifact_summary(facts: &ArtifactFacts) -> String {
    let artifact = &facts.artifact;
    let files = facts.changed_files;
    let mut summary = match &facts.selection {
        Selection::Changes { since, .. } if files == 0 => format!(
            "No file of input artifact {artifact} changed since the last successful run \
             (pipeline execution {since})."
        ),
        Selection::Changes {
            added,
            changed,
            removed,
            since,
        } => format!(
            "{added} file{} added, {changed} changed, {removed} removed in input artifact \
             {artifact} since the last successful run (pipeline execution {since}).",
            plural(*added)
        ),
        Selection::Fallback { code, execution } => format!(
            "Every file of input artifact {artifact} invalidated ({files} file{}): {}.",
            plural(files),
            fallback_reason(*code, execution.as_deref(), artifact)
        ),
        Selection::All => format!(
            "Every file of input artifact {artifact} invalidated ({files} file{}, \
             pathsFromArtifact \"all\").",
            plural(files)
        ),
    };
    if facts.outside_prefix > 0 {
        let _ = write!(
            summary,
            " {} file{} outside keyPrefix {:?} ignored.",
            facts.outside_prefix,
            plural(facts.outside_prefix),
            facts.key_prefix
        );
    }
    summary
}

/// Why "changed" took every file.
fn fallback_reason(code: FallbackCode, execution: Option<&str>, artifact: &str) -> String {
    let run = execution
        .map(|id| format!(" (pipeline execution {id})"))
        .unwrap_or_default();
    match code {
        FallbackCode::NoEarlierRun => {
            "no earlier successful run of this action in the pipeline's history to compare with"
                .to_owned()
        }
        FallbackCode::Gone => format!(
            "the artifact of the last successful run{run} is gone from the artifact bucket (a \
             lifecycle rule may have removed it)"
        ),
        FallbackCode::Unreadable => format!(
            "the artifact of the last successful run{run} could not be read with the job's \
             artifact credentials (S3 answers AccessDenied for a removed object when they may \
             not list the bucket)"
        ),
        FallbackCode::NoSuchArtifact => {
            format!("the last successful run{run} had no input artifact named {artifact}")
        }
    }
}

/// Why an invocation stopped before the engine ran: each is reported as a failure.
#[derive(Debug)]
pub enum Refusal {
    NoParameters,
    Parameters(ParamsError),
    Token(TokenError),
    Artifact(ArtifactError),
    /// The artifacts read now give another plan than the job's first invocation made.
    PlanChanged,
    Paths(PlanError),
    /// The continuation token is another action's.
    ForeignToken {
        expected: Vec<String>,
        found: Vec<String>,
    },
}

/// The failure that ends an invocation refused before the engine ran, logged once here.
pub fn refused(refusal: Refusal) -> JobOutcome {
    let (kind, message) = match refusal {
        Refusal::NoParameters => (
            FailureType::ConfigurationError,
            "UserParameters is empty: give a JSON object such as {\"distributionId\": \
             \"E2QWRUHAPOMQZL\", \"paths\": [\"/*\"]}, or the plain form \"E2QWRUHAPOMQZL \
             /index.html\""
                .to_owned(),
        ),
        Refusal::Parameters(error) => (
            FailureType::ConfigurationError,
            params::refusal_message(&error),
        ),
        Refusal::Token(error) => (
            FailureType::JobFailed,
            format!(
                "{error}. The job cannot continue safely; run the action again (retrying reuses \
                 any invalidation already created)"
            ),
        ),
        Refusal::Artifact(error) => artifact_failure(&error),
        Refusal::PlanChanged => (
            FailureType::JobFailed,
            "the artifacts read in this invocation give other paths than the job's first \
             invocation planned (an artifact changed or disappeared meanwhile); run the action \
             again"
                .to_owned(),
        ),
        Refusal::Paths(error) => (
            FailureType::ConfigurationError,
            params::paths_refusal_message(&error),
        ),
        Refusal::ForeignToken { expected, found } => (
            FailureType::JobFailed,
            format!(
                "the continuation token names distributions {found:?}, but UserParameters names \
                 {expected:?}; the token does not belong to this action"
            ),
        ),
    };
    warn!(failure_type = %kind, "{message}");
    JobOutcome::failed(kind, &message, None)
}

/// Why `pathsFromArtifact` gave no paths, as the failure type and message to report.
fn artifact_failure(error: &ArtifactError) -> (FailureType, String) {
    use FailureType::{ConfigurationError, JobFailed, PermissionError, SystemUnavailable};
    match error {
        ArtifactError::NoInputs => (
            ConfigurationError,
            "pathsFromArtifact reads this action's input artifact, and the action has none: add \
             the artifact the site is deployed from (the S3 deploy action's input, such as \
             BuildArtifact) as this action's input artifact"
                .to_owned(),
        ),
        ArtifactError::NotAnInput { name, inputs } => (
            ConfigurationError,
            format!(
                "\"artifact\" in UserParameters is {name:?}, which is not an input artifact of \
                 this action; its input artifacts are: {}",
                inputs.join(", ")
            ),
        ),
        ArtifactError::NoCredentials => (
            JobFailed,
            "the job event has no artifactCredentials, so the input artifact cannot be read; is \
             this function invoked by a CodePipeline Lambda invoke action?"
                .to_owned(),
        ),
        ArtifactError::NothingUnderPrefix {
            artifact,
            prefix,
            files,
            first,
        } => {
            let mut shown = first.join(" ");
            if *files > first.len() {
                let _ = write!(shown, " … and {} more", thousands(files - first.len()));
            }
            (
                ConfigurationError,
                format!(
                    "no file of input artifact {artifact} is under keyPrefix {prefix:?} in \
                     UserParameters: its {files} file{} start with {shown}; set keyPrefix to \
                     the folder the site's files are in, or remove it",
                    plural(*files)
                ),
            )
        }
        ArtifactError::Unreadable {
            role,
            location,
            error,
            key,
        } => {
            let what = match role {
                ArtifactRole::Input => "input artifact",
                ArtifactRole::Previous => "the artifact of the last successful run,",
            };
            let place = format!(
                "{what} {} (s3://{}/{})",
                location.name, location.bucket, location.key
            );
            match error {
                ZipError::Missing(_) => (
                    JobFailed,
                    format!(
                        "{place} is not in the artifact bucket; run the pipeline again from its \
                         source"
                    ),
                ),
                ZipError::Denied(detail) => {
                    let kms = key
                        .as_ref()
                        .map(|key| {
                            format!(
                                " The artifacts are encrypted with {} key {}: the pipeline's \
                                 service role needs kms:Decrypt on it.",
                                key.kind, key.id
                            )
                        })
                        .unwrap_or_default();
                    (
                        PermissionError,
                        format!(
                            "could not read {place} with the job's artifact credentials: \
                             {detail}. The credentials are the pipeline's: its service role \
                             needs s3:GetObject on the artifact bucket.{kms}"
                        ),
                    )
                }
                ZipError::Source(detail) => (
                    SystemUnavailable,
                    format!("could not read {place}: {detail}; run the action again"),
                ),
                other => (
                    JobFailed,
                    format!(
                        "cannot list the files of {place}: {other}. pathsFromArtifact reads the \
                         zip CodePipeline stores; if the artifact is damaged, run the pipeline \
                         again, or remove pathsFromArtifact and list paths"
                    ),
                ),
            }
        }
        ArtifactError::PinGone { expected } => (
            JobFailed,
            format!(
                "the first invocation of this job compared the artifact with pipeline execution \
                 {expected}, which the history no longer shows as the last successful run; run \
                 the action again"
            ),
        ),
        ArtifactError::NotLocated { pipeline, why } => {
            let reason = match why {
                NotLocated::NoneRunning { seen } => format!(
                    "none of its {seen} most recent action executions is running with this \
                     action's UserParameters; check that \"pipelineName\" names the pipeline \
                     this action is in"
                ),
                NotLocated::Several { places } => format!(
                    "{} actions run with the same UserParameters ({}); remove \"pipelineName\" \
                     so that the action asks GetJobDetails, or make the UserParameters differ",
                    places.len(),
                    places
                        .iter()
                        .map(|(stage, action)| format!("{stage}/{action}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            (
                ConfigurationError,
                format!(
                    "pathsFromArtifact \"changed\" could not find this action in pipeline \
                     {pipeline:?} (\"pipelineName\" in UserParameters): {reason}"
                ),
            )
        }
        ArtifactError::JobDetailsRefused(error) => (
            ConfigurationError,
            format!(
                "pathsFromArtifact \"changed\" needs to know this action's pipeline, and \
                 CodePipeline refused GetJobDetails ({}: {}; the API reference documents it for \
                 custom actions): add \"pipelineName\": \"<this pipeline's name>\" to \
                 UserParameters",
                error.code.as_deref().unwrap_or("refused"),
                error.message
            ),
        ),
        ArtifactError::History { pipeline, error } => {
            let pipeline = pipeline.as_deref().unwrap_or("of this job");
            let said = format!(
                "{} ({})",
                error.message,
                error.code.as_deref().unwrap_or("error")
            );
            let operation = error.operation;
            match error.kind {
                HistoryErrorKind::Refused => (
                    PermissionError,
                    format!(
                        "the function's role may not call codepipeline:{operation} on pipeline \
                         {pipeline}: grant codepipeline:ListActionExecutions and \
                         codepipeline:GetJobDetails (CodePipeline said: {said})"
                    ),
                ),
                HistoryErrorKind::NotFound => (
                    ConfigurationError,
                    format!(
                        "CodePipeline has no pipeline {pipeline:?}: check \"pipelineName\" in \
                         UserParameters (CodePipeline said: {said})"
                    ),
                ),
                HistoryErrorKind::Unavailable => (
                    SystemUnavailable,
                    format!(
                        "{operation} kept failing while looking for the last successful run: \
                         {said}; run the action again"
                    ),
                ),
                HistoryErrorKind::Other => (
                    JobFailed,
                    format!("{operation} failed while looking for the last successful run: {said}"),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_ends, assert_mentions, assert_starts};
    use crate::token::TokenArtifact;

    fn facts(selection: Selection, changed_files: usize, outside_prefix: usize) -> ArtifactFacts {
        ArtifactFacts {
            pin: TokenArtifact::without_previous(None, None),
            artifact: "BuildArtifact".to_owned(),
            selection,
            changed_files,
            outside_prefix,
            key_prefix: "dist/".to_owned(),
        }
    }

    #[test]
    fn artifact_failures_name_the_value_and_say_what_to_do() {
        use crate::artifact::job::EncryptionKey;
        use crate::artifact::previous::{ArtifactLocation, HistoryError};
        let said = |error: ArtifactError| artifact_failure(&error);
        let location = ArtifactLocation {
            name: "BuildArtifact".to_owned(),
            bucket: "artifacts".to_owned(),
            key: "site/Build/abc.zip".to_owned(),
        };
        let refused = HistoryError {
            kind: HistoryErrorKind::Refused,
            operation: "GetJobDetails",
            code: Some("InvalidJobException".to_owned()),
            message: "custom actions only".to_owned(),
        };

        let (kind, message) = said(ArtifactError::JobDetailsRefused(refused.clone()));
        assert_eq!(kind, FailureType::ConfigurationError);
        assert_ends(
            &message,
            "refused GetJobDetails (InvalidJobException: custom actions only; the API \
             reference documents it for custom actions): add \"pipelineName\": \"<this \
             pipeline's name>\" to UserParameters",
        );

        let files = |n: usize| (0..n).map(|i| format!("dist/{i}.html")).collect::<Vec<_>>();
        let (kind, message) = said(ArtifactError::NothingUnderPrefix {
            artifact: "BuildArtifact".to_owned(),
            prefix: "build/".to_owned(),
            files: 1200,
            first: files(3),
        });
        assert_eq!(kind, FailureType::ConfigurationError);
        assert_eq!(
            message,
            "no file of input artifact BuildArtifact is under keyPrefix \"build/\" in \
             UserParameters: its 1200 files start with dist/0.html dist/1.html dist/2.html … and \
             1,197 more; set keyPrefix to the folder the site's files are in, or remove it"
        );

        let (kind, message) = said(ArtifactError::NoInputs);
        assert_eq!(kind, FailureType::ConfigurationError);
        assert!(message.contains("add the artifact the site is deployed from"));
        let (_, message) = said(ArtifactError::NotAnInput {
            name: "SourceArtifact".to_owned(),
            inputs: vec!["BuildArtifact".to_owned(), "Other".to_owned()],
        });
        assert_ends(
            &message,
            "\"SourceArtifact\", which is not an input artifact of this action; its input \
             artifacts are: BuildArtifact, Other",
        );

        let (kind, message) = said(ArtifactError::Unreadable {
            role: ArtifactRole::Input,
            location: Box::new(location.clone()),
            error: ZipError::Denied("Access Denied".to_owned()),
            key: Some(EncryptionKey {
                id: "arn:aws:kms:eu-west-1:1:key/k".to_owned(),
                kind: "KMS".to_owned(),
            }),
        });
        assert_eq!(kind, FailureType::PermissionError);
        assert_starts(
            &message,
            "could not read input artifact BuildArtifact (s3://artifacts/site/Build/abc.zip) with \
             the job's artifact credentials: Access Denied.",
        );
        assert_ends(
            &message,
            "KMS key arn:aws:kms:eu-west-1:1:key/k: the pipeline's service role needs kms:Decrypt \
             on it.",
        );
        let (kind, message) = said(ArtifactError::Unreadable {
            role: ArtifactRole::Previous,
            location: Box::new(location),
            error: ZipError::NotAZip {
                searched: 3,
                len: 3,
            },
            key: None,
        });
        assert_eq!(kind, FailureType::JobFailed);
        assert_starts(
            &message,
            "cannot list the files of the artifact of the last successful run, BuildArtifact \
             (s3://artifacts/site/Build/abc.zip): it is not a zip archive: no \
             end-of-central-directory record in its last 3 bytes (of 3). pathsFromArtifact \
             reads the zip CodePipeline stores",
        );

        let (kind, message) = said(ArtifactError::NotLocated {
            pipeline: "site".to_owned(),
            why: NotLocated::Several {
                places: vec![
                    ("Deploy".to_owned(), "Invalidate".to_owned()),
                    ("Deploy".to_owned(), "Upload".to_owned()),
                ],
            },
        });
        assert_eq!(kind, FailureType::ConfigurationError);
        assert_ends(
            &message,
            "in pipeline \"site\" (\"pipelineName\" in UserParameters): 2 actions run with \
             the same UserParameters (Deploy/Invalidate, Deploy/Upload); remove \
             \"pipelineName\" so that the action asks GetJobDetails, or make the \
             UserParameters differ",
        );
        let (_, message) = said(ArtifactError::NotLocated {
            pipeline: "site".to_owned(),
            why: NotLocated::NoneRunning { seen: 40 },
        });
        assert_mentions(&message, &["none of its 40 most recent action executions"]);

        let (kind, message) = said(ArtifactError::History {
            pipeline: None,
            error: refused,
        });
        assert_eq!(kind, FailureType::PermissionError);
        assert_starts(
            &message,
            "the function's role may not call codepipeline:GetJobDetails on pipeline of this \
             job",
        );
    }

    #[test]
    fn the_artifact_sentences_say_how_its_files_were_chosen() {
        let changes = |added, changed, removed| Selection::Changes {
            added,
            changed,
            removed,
            since: "run-1".to_owned(),
        };
        let fallback = |code, execution: Option<&str>| Selection::Fallback {
            code,
            execution: execution.map(str::to_owned),
        };
        for (facts, sentence) in [
            (
                facts(changes(1, 1, 1), 3, 0),
                "1 file added, 1 changed, 1 removed in input artifact BuildArtifact since the last successful run (pipeline execution run-1).",
            ),
            (
                facts(changes(2, 0, 0), 2, 1),
                "2 files added, 0 changed, 0 removed in input artifact BuildArtifact since the last successful run (pipeline execution run-1). 1 file outside keyPrefix \"dist/\" ignored.",
            ),
            (
                facts(changes(0, 0, 0), 0, 0),
                "No file of input artifact BuildArtifact changed since the last successful run (pipeline execution run-1).",
            ),
            (
                facts(fallback(FallbackCode::NoEarlierRun, None), 4, 0),
                "Every file of input artifact BuildArtifact invalidated (4 files): no earlier successful run of this action in the pipeline's history to compare with.",
            ),
            (
                facts(fallback(FallbackCode::Gone, Some("run-1")), 1, 2),
                "Every file of input artifact BuildArtifact invalidated (1 file): the artifact of the last successful run (pipeline execution run-1) is gone from the artifact bucket (a lifecycle rule may have removed it). 2 files outside keyPrefix \"dist/\" ignored.",
            ),
            (
                facts(fallback(FallbackCode::Unreadable, Some("run-1")), 4, 0),
                "Every file of input artifact BuildArtifact invalidated (4 files): the artifact of the last successful run (pipeline execution run-1) could not be read with the job's artifact credentials (S3 answers AccessDenied for a removed object when they may not list the bucket).",
            ),
            (
                facts(fallback(FallbackCode::NoSuchArtifact, Some("run-1")), 4, 0),
                "Every file of input artifact BuildArtifact invalidated (4 files): the last successful run (pipeline execution run-1) had no input artifact named BuildArtifact.",
            ),
            (
                facts(Selection::All, 4, 0),
                "Every file of input artifact BuildArtifact invalidated (4 files, pathsFromArtifact \"all\").",
            ),
        ] {
            assert_eq!(artifact_summary(&facts), sentence);
        }
    }
}

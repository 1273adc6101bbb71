//! The subcommands, one file each: each checks all of its input first, then drives the engine
//! or makes one call. This module holds what they share: driving a job to its end, the report
//! of a run, and printing.

mod invalidate;
mod list;
mod plan;
mod status;
mod verify;
mod wait;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;

use cf_invalidate::engine::{
    Cause, Engine, EngineSettings, JobRun, JobSpec, Operation, Progress, Verdict,
};
use cf_invalidate::params::{JobParams, OnTimeout, Target};
use cf_invalidate::plan::{PlanOptions, plan_paths};
use cf_invalidate::ports::{Clock, FailureType, Invalidations, SystemClock};
use cf_invalidate::text::format_duration;
use cf_invalidate::values::{self, CallerReferenceProblem};

use crate::args::{
    Cli, Command, InvalidateArgs, ListArgs, OnTimeoutArg, OutputArgs, OutputFormat, PlanArgs,
    StatusArgs, VerifyArgs, WaitArgs,
};
use crate::aws::{Session, explain};
use crate::error::{CliError, EXIT_FAILED, EXIT_INTERRUPTED};
use crate::guard::local_root_entries;
use crate::planview::{
    CostEstimate, DryRunTarget, PlanView, SyncCounts, plan_warnings, plural, thousands,
};
use crate::progress::{Entry, ProgressMode, Status, Tracker};
use crate::report::{
    DistributionReport, RunReport, RunResult, seconds, summary_sentence, target_key,
};
use crate::sources::{CollectedPaths, collect};

pub async fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Invalidate(args) => {
            let ci = args.ci.clone();
            let result = invalidate::invalidate(args).await;
            // A run that ended before it started still tells the CI so; a finished run has
            // written its report already.
            if let Err(error) = &result
                && !matches!(error, CliError::WriteFile { .. })
            {
                ci.write_error(error)?;
            }
            result
        }
        Command::Wait(args) => wait::wait(args).await,
        Command::Status(args) => status::status(args).await,
        Command::List(args) => list::list(args).await,
        Command::Plan(args) => plan::plan(args).await,
        Command::Verify(args) => verify::verify(args).await,
    }
}

/// The paths the flags name, standard input included, checked against the shell-expansion guard.
/// `s3://` sides of `--changed-between` are read first, with the SDK.
async fn collect_from_stdin(
    paths: &crate::args::PathArgs,
    session: &Session<'_>,
) -> Result<CollectedPaths, CliError> {
    let s3 = crate::changed::read_s3_sides(paths, session).await?;
    // `--paths A B` (the AWS CLI's way) and `A B` are one list, checked by the same guard.
    let mut merged = paths.clone();
    merged.paths.append(&mut merged.paths_option);
    collect(
        &merged,
        &mut std::io::stdin().lock(),
        &local_root_entries(),
        &s3,
    )
}

/// Drives the job to its end without a deadline; `None` when Ctrl-C (or the heartbeat task's
/// end) interrupted it.
async fn drive_until_done<I: Invalidations>(
    spec: &JobSpec,
    run: &mut JobRun,
    cloudfront: I,
    tracker: &Tracker,
) -> Option<Verdict> {
    let engine = Engine {
        cloudfront,
        clock: SystemClock,
        settings: EngineSettings::default(),
    };
    let interrupted = async {
        // Without a signal handler, run to the end rather than stop at once.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        verdict = engine.drive(spec, run, None, tracker) => Some(verdict),
        () = tracker.heartbeats() => None,
        () = interrupted => None,
    }
}

/// The report of a finished (or interrupted) run: the engine's verdict, the CLI's words.
fn run_report(
    command: &'static str,
    spec: &JobSpec,
    run: &JobRun,
    verdict: Option<&Verdict>,
    tracker: &Tracker,
    elapsed: Duration,
) -> RunReport {
    let creates = command == "invalidate";
    // The engine's state is the truth about ids and statuses; the tracker knows the timings.
    let distributions: Vec<DistributionReport> = tracker
        .entries()
        .into_iter()
        .zip(&run.distributions)
        .map(|(mut entry, distribution)| {
            let target = &distribution.distribution;
            let caller_reference = creates.then(|| spec.caller_reference(target));
            entry.invalidation_id = distribution
                .progress
                .invalidation_id()
                .map(str::to_owned)
                .or(entry.invalidation_id);
            let mut error = None;
            entry.status = match &distribution.progress {
                Progress::Queued { .. } => Status::Waiting,
                Progress::InProgress { .. } => Status::InProgress,
                Progress::Completed { .. } => Status::Completed,
                Progress::Failed {
                    cause,
                    invalidation_id,
                } => {
                    entry.failure = Some(FailureType::of(cause.kind));
                    let reference = caller_reference.as_deref();
                    error = Some(explain(
                        cause,
                        target,
                        invalidation_id.as_deref(),
                        reference,
                    ));
                    Status::Failed
                }
            };
            DistributionReport::from_entry(&entry, caller_reference, error)
        })
        .collect();
    let running: Vec<(&DistributionReport, &str)> = distributions
        .iter()
        .filter(|report| report.status == Status::InProgress.as_str())
        .filter_map(|report| Some((report, report.invalidation_id.as_deref()?)))
        .collect();
    let in_progress = running
        .iter()
        .map(|(report, id)| format!("{} ({id})", report.target))
        .collect::<Vec<_>>()
        .join(", ");
    let wait_hint = running
        .first()
        .map(|(report, id)| {
            let flag = if report.target.is_tenant() {
                "--distribution-tenant-id"
            } else {
                "--distribution-id"
            };
            format!(
                "; `cf-invalidate wait {flag} {} --id {id}` waits for it again",
                report.target
            )
        })
        .unwrap_or_default();
    let timeout = format_duration(spec.timeout);
    let mut warnings = Vec::new();

    let (result, exit_code, message) = match verdict {
        None if in_progress.is_empty() => (
            RunResult::Interrupted,
            EXIT_INTERRUPTED,
            "interrupted".to_owned(),
        ),
        None => (
            RunResult::Interrupted,
            EXIT_INTERRUPTED,
            format!(
                "interrupted: still in progress in CloudFront, where it finishes on its own: {in_progress}{wait_hint}"
            ),
        ),
        Some(Verdict::Finished) => {
            let result = if spec.wait {
                RunResult::Completed
            } else {
                RunResult::Created
            };
            let message = if command == "wait" {
                wait_sentence(&distributions, elapsed)
            } else {
                summary_sentence(result, spec.plan.billed_paths(), &distributions, elapsed)
            };
            (result, 0, message)
        }
        Some(Verdict::TimedOut { queued, .. }) => {
            // Nothing was invalidated where CloudFront never accepted the invalidation: that
            // fails even with --on-timeout succeed.
            let succeeded = queued.is_empty() && spec.on_timeout == OnTimeout::Succeed;
            // Name TooManyInvalidationsInProgress only when CloudFront said it.
            let waited_on_limits = queued.iter().any(|q| q.refusals > 0);
            let why = if waited_on_limits {
                "too many invalidations in progress there".to_owned()
            } else {
                let said: Vec<&str> = queued
                    .iter()
                    .filter_map(|q| {
                        // Tried, and no answer to quote: the call was cut at the limit.
                        q.last_error
                            .as_deref()
                            .or((q.failures_in_a_row > 0).then_some("no answer"))
                    })
                    .collect();
                format!("CloudFront kept failing: {}", said.join("; "))
            };
            let remedy = if waited_on_limits {
                "Raise --timeout, or invalidate fewer wildcard paths at once"
            } else {
                "Run the command again later"
            };
            let queued: Vec<String> = queued.iter().map(|q| q.target.to_string()).collect();
            // With --on-timeout succeed, suggesting it would only confuse.
            let advice = if succeeded {
                ""
            } else {
                ". Raise --timeout, or add --on-timeout succeed so that a slow invalidation does not fail the build"
            };
            let mut text = if queued.is_empty() {
                format!(
                    "timed out after {timeout} waiting for CloudFront: {in_progress} still InProgress. It finishes on its own{wait_hint}{advice}"
                )
            } else {
                format!(
                    "CloudFront did not accept the invalidation of {} within {timeout} ({why}): nothing was invalidated on it. {remedy}",
                    queued.join(", ")
                )
            };
            if !queued.is_empty() && !in_progress.is_empty() {
                text.push_str(&format!(
                    ". Still in progress (they finish on their own): {in_progress}"
                ));
            }
            if succeeded {
                warnings.push(format!("{text} (exiting 0: --on-timeout succeed)"));
                let message = format!(
                    "Still in progress after {timeout}: {in_progress} (--on-timeout succeed)."
                );
                (RunResult::TimedOut, 0, message)
            } else {
                (RunResult::TimedOut, EXIT_FAILED, text)
            }
        }
        Some(Verdict::Failed { .. } | Verdict::OutOfTime) => {
            let errors: Vec<&str> = distributions
                .iter()
                .filter_map(|report| report.error.as_deref())
                .collect();
            let mut message = if errors.is_empty() {
                "the run ended before CloudFront finished".to_owned()
            } else {
                errors.join("; ")
            };
            if !in_progress.is_empty() {
                message.push_str(&format!(
                    ". Already created and still in progress (they finish on their own): {in_progress}"
                ));
            }
            (RunResult::Failed, EXIT_FAILED, message)
        }
    };
    RunReport {
        command,
        result,
        succeeded: exit_code == 0,
        exit_code,
        elapsed_seconds: seconds(elapsed),
        paths: None,
        billed_paths: None,
        requested_paths: None,
        collapsed: None,
        changes: None,
        distributions,
        message,
        warnings,
    }
}

/// Writes the report where it belongs: the result on stdout, warnings and errors on stderr.
/// The first `already_shown` warnings were written to stderr earlier and are not repeated.
fn emit(report: &RunReport, output: &OutputArgs, already_shown: usize) -> Result<u8, CliError> {
    print_result(output, report, || report.to_values(), || report.to_text())?;
    if !output.quiet {
        for warning in report.warnings.iter().skip(already_shown) {
            eprintln!("warning: {warning}");
        }
    }
    if !report.succeeded {
        eprintln!("error: {}", report.message);
    }
    Ok(report.exit_code)
}

/// The result on standard output in the format asked for; `--quiet` silences all but JSON.
fn print_result<T: Serialize>(
    output: &OutputArgs,
    json: &T,
    values: impl FnOnce() -> String,
    summary: impl FnOnce() -> String,
) -> Result<(), CliError> {
    match output.output {
        OutputFormat::Json => print_json(json),
        _ if output.quiet => Ok(()),
        OutputFormat::Text => print_stdout(&values()),
        OutputFormat::Summary => print_stdout(&summary()),
    }
}

/// A plan (`plan`, `invalidate --dry-run`); the input's warnings went to standard error already,
/// and the JSON document carries them before the plan's own.
fn print_plan(
    view: &PlanView,
    input_warnings: &[String],
    output: &OutputArgs,
) -> Result<(), CliError> {
    let mut json = view.clone();
    json.warnings.splice(0..0, input_warnings.iter().cloned());
    print_result(output, &json, || view.to_values(), || view.to_text())
}

fn progress_mode(quiet: bool) -> ProgressMode {
    if quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Live
    } else {
        ProgressMode::Plain
    }
}

fn on_timeout(arg: OnTimeoutArg) -> OnTimeout {
    match arg {
        OnTimeoutArg::Fail => OnTimeout::Fail,
        OnTimeoutArg::Succeed => OnTimeout::Succeed,
    }
}

fn cloudfront_error(
    operation: Operation,
    error: cf_invalidate::ports::CloudFrontError,
    distribution: &Target,
    invalidation_id: Option<&str>,
) -> CliError {
    CliError::CloudFront {
        message: explain(
            &Cause::of(operation, &error),
            distribution,
            invalidation_id,
            None,
        ),
        source: error,
    }
}

fn checked_caller_reference(raw: &str) -> Result<String, CliError> {
    values::caller_reference(raw).map_err(|problem| {
        let advice = match problem {
            CallerReferenceProblem::Empty => {
                " (is the variable it comes from, such as CODEBUILD_BUILD_ID, set?): give a stable id, or leave the flag out for a new invalidation each run"
            }
            CallerReferenceProblem::TooLong => ": give a short stable id such as the build id",
            CallerReferenceProblem::Character { .. } => "",
        };
        CliError::Flag {
            flag: "--caller-reference",
            value: raw.to_owned(),
            problem: format!("{problem}{advice}"),
        }
    })
}

fn checked_directory_index(raw: Option<&str>) -> Result<Option<String>, CliError> {
    raw.map(|raw| {
        values::directory_index(raw).map_err(|problem| CliError::Flag {
            flag: "--directory-index",
            value: raw.to_owned(),
            problem: format!("{problem}: give a file name such as index.html"),
        })
    })
    .transpose()
}

fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(value).map_err(std::io::Error::other);
    print_stdout(&(json.map_err(CliError::Output)? + "\n"))
}

fn wait_sentence(distributions: &[DistributionReport], elapsed: Duration) -> String {
    match distributions {
        [one] => format!(
            "Invalidation {} on {} is Completed (waited {}).",
            one.invalidation_id.as_deref().unwrap_or("-"),
            one.target,
            format_duration(elapsed)
        ),
        _ => format!("Completed (waited {}).", format_duration(elapsed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_references_are_checked_like_the_action_checks_them() {
        assert_eq!(
            checked_caller_reference(" proj:b1e6661e-e4f2 ").ok(),
            Some("proj:b1e6661e-e4f2".to_owned())
        );
        let empty = checked_caller_reference("").expect_err("empty");
        assert!(empty.to_string().contains("CODEBUILD_BUILD_ID"), "{empty}");
        let said = |raw: &str| checked_caller_reference(raw).expect_err(raw).to_string();
        assert_eq!(
            said("a b"),
            "--caller-reference \"a b\" contains ' ' at position 2: use printable ASCII without \
             spaces (codes 33 to 126)"
        );
        assert!(said(&"x".repeat(129)).ends_with(
            "\" is longer than 128 characters: give a short stable id such as the build id"
        ));
    }

    #[test]
    fn default_caller_references_differ_between_runs() {
        let first = invalidate::default_caller_reference();
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(first, invalidate::default_caller_reference());
        assert!(first.starts_with("cf-invalidate-"));
    }

    #[test]
    fn directory_index_is_a_file_name() {
        assert_eq!(
            checked_directory_index(Some("index.html")).ok(),
            Some(Some("index.html".to_owned()))
        );
        let said = |raw| {
            checked_directory_index(Some(raw))
                .expect_err(raw)
                .to_string()
        };
        assert_eq!(
            said("docs/index.html"),
            "--directory-index \"docs/index.html\" contains \"/\" (it names the file inside \
             every directory, without a directory): give a file name such as index.html"
        );
        assert_eq!(
            said(" "),
            "--directory-index \" \" contains whitespace or a control character: give a file \
             name such as index.html"
        );
        assert_eq!(checked_directory_index(None).ok(), Some(None));
    }
}

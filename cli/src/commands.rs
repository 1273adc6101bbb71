//! The subcommands: each checks all of its input first, then drives the engine or makes one call.

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

use super::args::{
    Cli, Command, InvalidateArgs, ListArgs, OnTimeoutArg, OutputArgs, OutputFormat, PlanArgs,
    StatusArgs, WaitArgs,
};
use super::aws::{connect, explain};
use super::error::{CliError, EXIT_FAILED, EXIT_INTERRUPTED};
use super::guard::local_root_entries;
use super::planview::{DryRunTarget, PlanView, SyncCounts, plan_warnings, plural, thousands};
use super::progress::{Entry, ProgressMode, Status, Tracker};
use super::report::{
    DistributionReport, RunReport, RunResult, TargetKey, seconds, summary_sentence,
};
use super::sources::{CollectedPaths, collect};

pub async fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Invalidate(args) => invalidate(args).await,
        Command::Wait(args) => wait(args).await,
        Command::Status(args) => status(args).await,
        Command::List(args) => list(args).await,
        Command::Plan(args) => plan(args),
    }
}

async fn invalidate(args: InvalidateArgs) -> Result<u8, CliError> {
    let started = tokio::time::Instant::now();
    let mut distributions: Vec<Target> = Vec::new();
    for id in args.distribution_ids.iter().chain(&args.tenant_ids) {
        // The same id twice would only create the same invalidation twice.
        if !distributions.contains(id) {
            distributions.push(id.clone());
        }
    }
    if distributions.is_empty() {
        return Err(CliError::NoDistribution);
    }
    let directory_index = checked_directory_index(args.paths.directory_index.as_deref())?;
    let caller_reference = args
        .caller_reference
        .as_deref()
        .map(checked_caller_reference)
        .transpose()?;
    let collected = collect(
        &args.paths,
        &mut std::io::stdin().lock(),
        &local_root_entries(),
    )?;
    if collected.is_unchanged_sync() {
        return emit(&nothing_to_invalidate(&collected), &args.output, 0);
    }
    if collected.paths.is_empty() {
        return Err(CliError::NoPaths);
    }
    let max_paths = args.paths.max_paths;
    let params = JobParams {
        targets: distributions,
        paths: collected.paths.clone(),
        wait: args.wait(),
        timeout: args.waiting.timeout,
        on_timeout: on_timeout(args.waiting.on_timeout),
        max_paths,
        directory_index,
        caller_reference: caller_reference.clone(),
    };
    // Unique per run by default, so that running the command again invalidates again.
    let reference_base = caller_reference.unwrap_or_else(default_caller_reference);
    let spec = JobSpec::new(&params, reference_base, None)?;
    let warnings = plan_warnings(&spec.plan, max_paths);

    if args.dry_run {
        let targets = spec
            .distributions
            .iter()
            .map(|distribution| DryRunTarget {
                target: TargetKey::of(distribution),
                caller_reference: spec.caller_reference(distribution),
            })
            .collect();
        let view = PlanView::new(
            "invalidate",
            &spec.plan,
            max_paths,
            collected.sync.as_ref(),
            targets,
        );
        match args.output.output {
            OutputFormat::Json => print_json(&view)?,
            OutputFormat::Text if !args.output.quiet => print_stdout(&view.to_text())?,
            OutputFormat::Text => {}
        }
        return Ok(0);
    }

    let cloudfront = connect(&args.aws).await?;
    let tracker = Tracker::new(
        progress_mode(args.output.quiet),
        spec.distributions.iter().cloned().map(Entry::new).collect(),
        args.waiting.heartbeat,
    );
    if let Some(changes) = &collected.sync {
        let counts = SyncCounts::from(changes);
        tracker.note(&format!(
            "The sync changed {} object{}: {} uploaded, {} copied, {} deleted.",
            counts.uploaded + counts.copied + counts.deleted,
            plural(counts.uploaded + counts.copied + counts.deleted),
            counts.uploaded,
            counts.copied,
            counts.deleted
        ));
    }
    tracker.note(&header(&spec));
    for warning in &warnings {
        tracker.note(&format!("warning: {warning}"));
    }
    let mut run = JobRun::start(&spec, SystemClock.now());
    let verdict = drive_until_done(&spec, &mut run, cloudfront, &tracker).await;
    tracker.finish();
    let mut report = run_report(
        "invalidate",
        &spec,
        &run,
        verdict.as_ref(),
        &tracker,
        started.elapsed(),
    );
    report.paths = Some(spec.plan.items().to_vec());
    report.billed_paths = Some(spec.plan.billed_paths());
    report.requested_paths = Some(spec.plan.requested_paths());
    report.collapsed = Some(spec.plan.was_collapsed());
    report.changes = collected.sync.as_ref().map(SyncCounts::from);
    // The plan's warnings were shown before waiting; the JSON document still carries them.
    let shown = warnings.len();
    report.warnings.splice(0..0, warnings);
    emit(&report, &args.output, shown)
}

async fn wait(args: WaitArgs) -> Result<u8, CliError> {
    let started = tokio::time::Instant::now();
    let distribution = args.target.of.target();
    let invalidation_id = args.target.invalidation_id.clone();
    let cloudfront = connect(&args.aws).await?;
    let spec = JobSpec::watch(
        distribution.clone(),
        args.waiting.timeout,
        on_timeout(args.waiting.on_timeout),
    );
    let mut run = JobRun::watching(&spec, &invalidation_id, SystemClock.now());
    let tracker = Tracker::new(
        progress_mode(args.output.quiet),
        vec![Entry::existing(
            distribution.clone(),
            invalidation_id.clone(),
        )],
        args.waiting.heartbeat,
    );
    tracker.note(&format!(
        "Waiting up to {} for invalidation {invalidation_id} on {distribution} to complete.",
        format_duration(args.waiting.timeout)
    ));
    let verdict = drive_until_done(&spec, &mut run, cloudfront, &tracker).await;
    tracker.finish();
    let report = run_report(
        "wait",
        &spec,
        &run,
        verdict.as_ref(),
        &tracker,
        started.elapsed(),
    );
    emit(&report, &args.output, 0)
}

#[derive(Debug, Serialize)]
struct StatusView {
    #[serde(flatten)]
    target: TargetKey,
    invalidation_id: String,
    status: String,
    completed: bool,
}

async fn status(args: StatusArgs) -> Result<u8, CliError> {
    let distribution = &args.target.of.target();
    let id = &args.target.invalidation_id;
    let cloudfront = connect(&args.aws).await?;
    let status = cloudfront
        .get(distribution, id)
        .await
        .map_err(|error| cloudfront_error(Operation::Get, error, distribution, Some(id)))?;
    let view = StatusView {
        target: TargetKey::of(distribution),
        invalidation_id: status.id.clone(),
        completed: status.is_completed(),
        status: status.status,
    };
    match args.output.output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text if !args.output.quiet => print_stdout(&format!(
            "{} on {}: {}\n",
            view.invalidation_id, view.target, view.status
        ))?,
        OutputFormat::Text => {}
    }
    Ok(0)
}

#[derive(Debug, Serialize)]
struct ListedInvalidation {
    id: String,
    status: String,
    create_time: String,
}

#[derive(Debug, Serialize)]
struct ListView {
    #[serde(flatten)]
    target: TargetKey,
    invalidations: Vec<ListedInvalidation>,
}

async fn list(args: ListArgs) -> Result<u8, CliError> {
    let distribution = &args.of.target();
    let cloudfront = connect(&args.aws).await?;
    let found = cloudfront
        .with_page_size(args.page_size)
        .list(distribution, args.limit)
        .await
        .map_err(|error| cloudfront_error(Operation::List, error, distribution, None))?;
    let view = ListView {
        target: TargetKey::of(distribution),
        invalidations: found
            .into_iter()
            .map(|item| ListedInvalidation {
                id: item.id,
                status: item.status,
                create_time: item.create_time,
            })
            .collect(),
    };
    match args.output.output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text if args.output.quiet => {}
        OutputFormat::Text if view.invalidations.is_empty() => {
            print_stdout(&format!("No invalidations on {distribution}.\n"))?;
        }
        OutputFormat::Text => {
            let width = view
                .invalidations
                .iter()
                .map(|item| item.id.len())
                .max()
                .unwrap_or(2)
                .max(2);
            let mut text = format!("{:<width$}  {:<10}  CREATED\n", "ID", "STATUS");
            for item in &view.invalidations {
                text.push_str(&format!(
                    "{:<width$}  {:<10}  {}\n",
                    item.id, item.status, item.create_time
                ));
            }
            print_stdout(&text)?;
        }
    }
    Ok(0)
}

fn plan(args: PlanArgs) -> Result<u8, CliError> {
    let directory_index = checked_directory_index(args.paths.directory_index.as_deref())?;
    let collected = collect(
        &args.paths,
        &mut std::io::stdin().lock(),
        &local_root_entries(),
    )?;
    if collected.is_unchanged_sync() {
        match args.output {
            OutputFormat::Json => print_json(&serde_json::json!({
                "command": "plan",
                "paths": [],
                "billed_paths": 0,
                "requested_paths": 0,
                "changes": collected.sync.as_ref().map(SyncCounts::from),
                "warnings": [],
            }))?,
            OutputFormat::Text => print_stdout(
                "The sync changed nothing: there is nothing to invalidate and nothing to pay.\n",
            )?,
        }
        return Ok(0);
    }
    if collected.paths.is_empty() {
        return Err(CliError::NoPaths);
    }
    let max_paths = args.paths.max_paths;
    let plan = plan_paths(
        &collected.paths,
        &PlanOptions {
            max_paths,
            directory_index,
        },
    )?;
    let view = PlanView::new(
        "plan",
        &plan,
        max_paths,
        collected.sync.as_ref(),
        Vec::new(),
    );
    match args.output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text => print_stdout(&view.to_text())?,
    }
    Ok(0)
}

/// Runs the engine until the job ends, Ctrl-C is pressed, or never: heartbeats run alongside.
/// `None` means interrupted.
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
    let mut errors: Vec<Option<String>> = Vec::with_capacity(run.distributions.len());
    let entries: Vec<Entry> = tracker
        .entries()
        .into_iter()
        .zip(&run.distributions)
        .map(|(mut entry, distribution)| {
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
                    error = Some(explain(
                        cause,
                        &distribution.distribution,
                        invalidation_id.as_deref(),
                        creates
                            .then(|| spec.caller_reference(&distribution.distribution))
                            .as_deref(),
                    ));
                    Status::Failed
                }
            };
            errors.push(error);
            entry
        })
        .collect();
    let distributions: Vec<DistributionReport> = entries
        .iter()
        .zip(&errors)
        .map(|(entry, error)| {
            DistributionReport::from_entry(
                entry,
                creates.then(|| spec.caller_reference(&entry.distribution)),
                error.clone(),
            )
        })
        .collect();
    let in_progress: Vec<String> = entries
        .iter()
        .filter(|entry| entry.status == Status::InProgress)
        .filter_map(|entry| {
            entry
                .invalidation_id
                .as_ref()
                .map(|id| format!("{} ({id})", entry.distribution))
        })
        .collect();
    let wait_hint = entries
        .iter()
        .find(|entry| entry.status == Status::InProgress)
        .and_then(|entry| {
            entry.invalidation_id.as_ref().map(|id| {
                let flag = if entry.distribution.is_tenant() {
                    "--distribution-tenant-id"
                } else {
                    "--distribution-id"
                };
                format!(
                    "`cf-invalidate wait {flag} {} --id {id}` waits for it again",
                    entry.distribution
                )
            })
        });
    let timeout = format_duration(spec.timeout);
    let billed = spec.plan.billed_paths();
    let mut warnings = Vec::new();

    let (result, exit_code, message) = match verdict {
        None => {
            let mut message = "interrupted".to_owned();
            if !in_progress.is_empty() {
                message.push_str(&format!(
                    ": still in progress in CloudFront, where it finishes on its own: {}",
                    in_progress.join(", ")
                ));
                if let Some(hint) = &wait_hint {
                    message.push_str(&format!("; {hint}"));
                }
            }
            (RunResult::Interrupted, EXIT_INTERRUPTED, message)
        }
        Some(Verdict::Finished) => {
            let result = if spec.wait {
                RunResult::Completed
            } else {
                RunResult::Created
            };
            let message = if command == "wait" {
                wait_sentence(&entries, elapsed)
            } else {
                summary_sentence(result, billed, &entries, elapsed)
            };
            (result, 0, message)
        }
        Some(Verdict::TimedOut { queued, .. }) => {
            // Nothing was invalidated where CloudFront never accepted the invalidation: that
            // fails even with --on-timeout succeed.
            let succeeded = queued.is_empty() && spec.on_timeout == OnTimeout::Succeed;
            let queued: Vec<String> = queued.iter().map(|q| q.target.to_string()).collect();
            // With --on-timeout succeed, suggesting it would only confuse.
            let advice = if succeeded {
                ""
            } else {
                ". Raise --timeout, or add --on-timeout succeed so that a slow invalidation does not fail the build"
            };
            let mut text = if queued.is_empty() {
                format!(
                    "timed out after {timeout} waiting for CloudFront: {} still InProgress. It finishes on its own{}{advice}",
                    in_progress.join(", "),
                    wait_hint
                        .as_ref()
                        .map(|hint| format!("; {hint}"))
                        .unwrap_or_default()
                )
            } else {
                format!(
                    "CloudFront did not accept the invalidation of {} within {timeout} (too many invalidations in progress there): nothing was invalidated on it. Raise --timeout, or invalidate fewer wildcard paths at once",
                    queued.join(", ")
                )
            };
            if !queued.is_empty() && !in_progress.is_empty() {
                text.push_str(&format!(
                    ". Still in progress (they finish on their own): {}",
                    in_progress.join(", ")
                ));
            }
            if succeeded {
                warnings.push(format!("{text} (exiting 0: --on-timeout succeed)"));
                (
                    RunResult::TimedOut,
                    0,
                    format!(
                        "Still in progress after {timeout}: {} (--on-timeout succeed).",
                        in_progress.join(", ")
                    ),
                )
            } else {
                (RunResult::TimedOut, EXIT_FAILED, text)
            }
        }
        Some(Verdict::Failed { .. } | Verdict::OutOfTime) => {
            let mut message = errors
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            if message.is_empty() {
                message = "the run ended before CloudFront finished".to_owned();
            }
            if !in_progress.is_empty() {
                message.push_str(&format!(
                    ". Already created and still in progress (they finish on their own): {}",
                    in_progress.join(", ")
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

fn wait_sentence(entries: &[Entry], elapsed: Duration) -> String {
    match entries {
        [entry] => format!(
            "Invalidation {} on {} is Completed (waited {}).",
            entry.invalidation_id.as_deref().unwrap_or("-"),
            entry.distribution,
            format_duration(elapsed)
        ),
        _ => format!("Completed (waited {}).", format_duration(elapsed)),
    }
}

fn nothing_to_invalidate(collected: &CollectedPaths) -> RunReport {
    let mut message =
        "The sync changed nothing: no invalidation was created (nothing sent to AWS).".to_owned();
    let mut warnings = Vec::new();
    if let Some(changes) = &collected.sync
        && changes.dry_run_lines > 0
    {
        message = "The sync was a dry run (aws s3 sync --dryrun) and changed nothing: no invalidation was created.".to_owned();
        warnings.push(format!(
            "{} \"(dryrun)\" line{} ignored: run aws s3 sync without --dryrun to change the bucket",
            changes.dry_run_lines,
            plural(changes.dry_run_lines)
        ));
    }
    RunReport {
        command: "invalidate",
        result: RunResult::NothingToInvalidate,
        succeeded: true,
        exit_code: 0,
        elapsed_seconds: 0.0,
        paths: Some(Vec::new()),
        billed_paths: Some(0),
        requested_paths: Some(0),
        collapsed: Some(false),
        changes: collected.sync.as_ref().map(SyncCounts::from),
        distributions: Vec::new(),
        message,
        warnings,
    }
}

/// Writes the report where it belongs: the result on stdout, warnings and errors on stderr.
/// The first `already_shown` warnings were written to stderr earlier and are not repeated.
fn emit(report: &RunReport, output: &OutputArgs, already_shown: usize) -> Result<u8, CliError> {
    match output.output {
        OutputFormat::Json => print_json(report)?,
        OutputFormat::Text if !output.quiet => print_stdout(&report.to_text())?,
        OutputFormat::Text => {}
    }
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

fn header(spec: &JobSpec) -> String {
    let billed = spec.plan.billed_paths();
    let targets = spec
        .distributions
        .iter()
        .map(Target::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let requested = if spec.plan.requested_paths() != billed {
        format!(" ({} requested)", thousands(spec.plan.requested_paths()))
    } else {
        String::new()
    };
    let waiting = if spec.wait {
        format!(
            "waiting up to {} for Completed",
            format_duration(spec.timeout)
        )
    } else {
        "not waiting (--no-wait)".to_owned()
    };
    format!(
        "Invalidating {} path{}{requested} on {targets}; {waiting}.",
        thousands(billed),
        plural(billed)
    )
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

/// `cf-invalidate-<ms since the epoch>-<pid>`: two runs never share it, even in the same millisecond.
fn default_caller_reference() -> String {
    format!("cf-invalidate-{}-{}", SystemClock.now(), std::process::id())
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
        CliError::CallerReference {
            value: raw.to_owned(),
            problem: format!("{problem}{advice}"),
        }
    })
}

fn checked_directory_index(raw: Option<&str>) -> Result<Option<String>, CliError> {
    raw.map(|raw| {
        values::directory_index(raw).map_err(|problem| CliError::DirectoryIndex {
            value: raw.to_owned(),
            problem,
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
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::other)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
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
        assert!(checked_caller_reference("a b").is_err());
        assert!(checked_caller_reference(&"x".repeat(129)).is_err());
    }

    #[test]
    fn default_caller_references_differ_between_runs() {
        let first = default_caller_reference();
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(first, default_caller_reference());
        assert!(first.starts_with("cf-invalidate-"));
    }

    #[test]
    fn directory_index_is_a_file_name() {
        assert_eq!(
            checked_directory_index(Some("index.html")).ok(),
            Some(Some("index.html".to_owned()))
        );
        assert!(checked_directory_index(Some("docs/index.html")).is_err());
        assert!(checked_directory_index(Some(" ")).is_err());
        assert_eq!(checked_directory_index(None).ok(), Some(None));
    }
}

//! `cf-invalidate invalidate`: plan the paths, create one invalidation per distribution, wait,
//! and with `--verify` check the edge afterwards.

use super::verify::{FreshnessCheck, VerifyReport};
use super::*;

pub(super) async fn invalidate(args: InvalidateArgs) -> Result<u8, CliError> {
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
    if !args.verify
        && let Some((flag, value)) = args.check.first_given()
    {
        return Err(CliError::Flag {
            flag,
            value,
            problem: "applies only with --verify: add --verify to check the edge after Completed, or leave the flag out".to_owned(),
        });
    }
    let session = Session::new(&args.aws);
    let collected = collect_from_stdin(&args.paths, &session).await?;
    if collected.is_unchanged_sync() {
        let report = nothing_to_invalidate(&collected);
        let code = emit(&report, &args.output, 0)?;
        args.ci.write_report(&report)?;
        return Ok(code);
    }
    if collected.paths.is_empty() {
        return Err(CliError::NoPaths);
    }
    let max_paths = args.paths.max_paths;
    let params = JobParams {
        targets: distributions,
        paths: collected.paths.clone(),
        // `--wait` is the default; it exists to override an earlier `--no-wait`.
        wait: !args.no_wait,
        timeout: args.waiting.timeout,
        on_timeout: on_timeout(args.waiting.on_timeout),
        max_paths,
        directory_index,
        caller_reference: caller_reference.clone(),
        from_artifact: None,
        // The CLI's own check runs after Completed (`--verify`), not the action's.
        verify: None,
    };
    // Unique per run by default, so that running the command again invalidates again.
    let reference_base = caller_reference.unwrap_or_else(default_caller_reference);
    let spec = JobSpec::new(&params, reference_base, None)?;
    let warnings = plan_warnings(&spec.plan, max_paths);
    // Checked now, so that a mistake in verify's flags is found before anything is sent.
    let check = if args.verify {
        Some(freshness_check(&args, &spec.distributions, &collected)?)
    } else {
        None
    };

    if args.dry_run {
        let targets = spec
            .distributions
            .iter()
            .map(|distribution| DryRunTarget {
                target: distribution.clone(),
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
        if !args.output.quiet {
            for warning in &collected.warnings {
                eprintln!("warning: {warning}");
            }
        }
        // A dry run's values: the paths it would send, one a line.
        print_plan(&view, &collected.warnings, &args.output)?;
        return Ok(0);
    }

    let cloudfront = session.cloudfront().await?;
    let tracker = Tracker::new(
        progress_mode(args.output.quiet),
        spec.distributions.iter().cloned().map(Entry::new).collect(),
        args.waiting.heartbeat,
    );
    if let Some(changes) = &collected.sync {
        tracker.note(&SyncCounts::from(changes).sentence());
    }
    if let Some(build) = &collected.build {
        tracker.note(&build.sentence());
    }
    tracker.note(&header(&spec));
    // Above the free tier, the price is said before anything is sent, as `plan` says it.
    let cost = CostEstimate::new(spec.plan.billed_paths(), spec.distributions.len());
    if cost.paths_beyond_free > 0 {
        tracker.note(&cost.sentence(""));
    }
    let warnings: Vec<String> = collected.warnings.iter().cloned().chain(warnings).collect();
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
    let code = match check {
        None => emit(&report, &args.output, shown)?,
        Some(check) => {
            // Verify asks about what CloudFront has finished removing, so only after Completed.
            let verified = match report.result {
                RunResult::Completed => Some(check.run(&session).await),
                _ => None,
            };
            emit_verified(&mut report, verified, &args.output, shown)?
        }
    };
    args.ci.write_report(&report)?;
    Ok(code)
}

/// Verify's check of the invalidated paths: the edge is --base-url, else the one distribution's
/// own domain (a tenant's or several distributions' edges need --base-url).
fn freshness_check(
    args: &InvalidateArgs,
    targets: &[Target],
    collected: &CollectedPaths,
) -> Result<FreshnessCheck, CliError> {
    let distribution = match targets {
        [one] if !one.is_tenant() => Some(one.clone()),
        _ => None,
    };
    if distribution.is_none() && args.check.base_url.is_none() {
        let targets: Vec<&str> = targets.iter().map(Target::as_str).collect();
        return Err(CliError::Flag {
            flag: "--verify",
            value: targets.join(", "),
            problem: "names no single distribution whose domain verify could ask: give the site's address with --base-url, or invalidate one distribution".to_owned(),
        });
    }
    FreshnessCheck::new(
        &args.check,
        (args.verify_timeout, "--verify-timeout"),
        distribution,
        args.paths.site_prefix.as_deref(),
        collected,
    )
}

/// The report of `invalidate --verify`: the run's, with verify's figures under `verify` (`null`
/// when the invalidation did not complete, or verify could not finish).
#[derive(Serialize)]
struct VerifiedRunReport<'a> {
    #[serde(flatten)]
    run: &'a RunReport,
    verify: Option<&'a VerifyReport>,
}

/// Prints the run and what verify found: the run's summary, then verify's lines and counts. A
/// stale or missing object fails the run, whose message says the invalidation itself completed.
fn emit_verified(
    report: &mut RunReport,
    verified: Option<Result<VerifyReport, CliError>>,
    output: &OutputArgs,
    already_shown: usize,
) -> Result<u8, CliError> {
    let (run_values, run_text) = (report.to_values(), report.to_text());
    let (verify, failure) = match verified {
        None => {
            report.warnings.push(format!(
                "--verify: not run, because the invalidation did not complete ({})",
                report.message
            ));
            (None, None)
        }
        Some(Ok(verify)) if verify.succeeded => (Some(verify), None),
        Some(Ok(verify)) => {
            let failure = format!(
                "the invalidation completed, but not every object is fresh through the edge: {}",
                verify.message
            );
            (Some(verify), Some(failure))
        }
        Some(Err(error)) => (
            None,
            Some(format!(
                "the invalidation completed, but verify could not finish: {error}"
            )),
        ),
    };
    if let Some(failure) = failure {
        report.message = failure;
        report.succeeded = false;
        report.exit_code = EXIT_FAILED;
    }
    let json = VerifiedRunReport {
        run: report,
        verify: verify.as_ref(),
    };
    print_result(
        output,
        &json,
        || {
            run_values
                + &verify
                    .as_ref()
                    .map(super::verify::values)
                    .unwrap_or_default()
        },
        || {
            run_text
                + &verify
                    .as_ref()
                    .map(super::verify::summary)
                    .unwrap_or_default()
        },
    )?;
    if !output.quiet {
        let verify_warnings = verify.iter().flat_map(|verify| &verify.warnings);
        for warning in report
            .warnings
            .iter()
            .skip(already_shown)
            .chain(verify_warnings)
        {
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

fn nothing_to_invalidate(collected: &CollectedPaths) -> RunReport {
    let mut message = format!(
        "{}: no invalidation was created (nothing sent to AWS).",
        collected.unchanged_sentence()
    );
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
        warnings: warnings
            .into_iter()
            .chain(collected.warnings.iter().cloned())
            .collect(),
    }
}

/// `cf-invalidate-<ms since the epoch>-<pid>`: two runs never share it, even in the same millisecond.
pub(super) fn default_caller_reference() -> String {
    format!("cf-invalidate-{}-{}", SystemClock.now(), std::process::id())
}

//! `cf-invalidate wait`: watch an invalidation that already exists until it is Completed.

use super::*;

pub(super) async fn wait(args: WaitArgs) -> Result<u8, CliError> {
    let started = tokio::time::Instant::now();
    let distribution = args.target.of.target()?;
    let invalidation_id = args.target.invalidation_id.clone();
    let cloudfront = Session::new(&args.aws).cloudfront().await?;
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

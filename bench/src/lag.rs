//! Completion-detection lag and invocations per job: our function through `local-aws pipeline`
//! and `aws cloudfront wait invalidation-completed`, each on its own emulator, side by side.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use local_aws::pipeline::{self, PipelineConfig, Verdict};
use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig};
use serde::Serialize;

use crate::BenchError;
use crate::process::cli_env;

/// The distribution every lag run invalidates (one per emulator).
pub const DISTRIBUTION: &str = "E2BENCHLAGDIST";

/// One pipeline run of our function; lag from `Completed` to our final PutJobSuccessResult.
#[derive(Debug, Clone, Serialize)]
pub struct OursRun {
    pub duration_s: f64,
    pub lambda_timeout_s: f64,
    /// 1 for the first run of this case.
    pub run: usize,
    pub lag_ms: i64,
    pub get_invalidation_calls: usize,
    /// Lambda invocations of the whole action.
    pub invocations: usize,
    /// CodePipeline jobs (1 + continuations).
    pub jobs: usize,
}

/// One run of the AWS CLI waiter; lag from `Completed` to its exit.
#[derive(Debug, Clone, Serialize)]
pub struct WaiterRun {
    pub duration_s: f64,
    pub run: usize,
    pub lag_ms: i64,
    pub get_invalidation_calls: usize,
}

/// Runs our function through a whole pipeline action: one invalidation of `/index.html` that
/// completes `duration` after its creation, with a function timeout of `lambda_timeout`.
pub async fn ours(
    lambda: &Path,
    duration: Duration,
    lambda_timeout: Duration,
    run: usize,
    seed: u64,
) -> Result<OursRun, BenchError> {
    let parameters = format!(r#"{{"distributionId": "{DISTRIBUTION}", "paths": ["/index.html"]}}"#);
    let mut config = PipelineConfig::new(lambda, parameters);
    config.world.distributions =
        vec![DistributionConfig::new(DISTRIBUTION).completes_after(DurationRange::fixed(duration))];
    config.lambda_timeout = lambda_timeout;
    config.world.seed = Some(seed);
    // A broken run ends in minutes, not in CodePipeline's 20 minutes.
    config.no_reply_timeout = lambda_timeout.min(duration) + Duration::from_secs(60);
    config.total_timeout = duration + Duration::from_secs(180);
    let what = format!(
        "cf-invalidate-lambda, {}s invalidation, {}s function timeout, run {run}",
        duration.as_secs(),
        lambda_timeout.as_secs()
    );
    let report = pipeline::run(config).await?;
    if report.verdict != Verdict::Succeeded {
        return Err(BenchError::Run(format!(
            "{what}: the action did not succeed ({:?}); function output:\n{}",
            report.failure,
            crate::tail(&report.function_output_text(), 3000)
        )));
    }
    let completed_ms = report
        .invalidations
        .iter()
        .map(|i| i.completes_at_ms)
        .max()
        .ok_or_else(|| BenchError::Run(format!("{what}: no invalidation was created")))?;
    let reported_ms = report
        .requests
        .iter()
        .filter(|r| r.operation == "PutJobSuccessResult" && r.succeeded())
        .map(|r| r.at_ms)
        .max()
        .ok_or_else(|| BenchError::Run(format!("{what}: no PutJobSuccessResult was accepted")))?;
    Ok(OursRun {
        duration_s: duration.as_secs_f64(),
        lambda_timeout_s: lambda_timeout.as_secs_f64(),
        run,
        lag_ms: signed_diff(reported_ms, completed_ms),
        get_invalidation_calls: report.requests_for("GetInvalidation").len(),
        invocations: report.invocations.len(),
        jobs: report.jobs.len(),
    })
}

/// Runs `aws cloudfront create-invalidation` then `aws cloudfront wait invalidation-completed`
/// against an emulator whose invalidations complete `duration` after their creation.
pub async fn waiter(
    aws: &Path,
    home: &Path,
    duration: Duration,
    run: usize,
    seed: u64,
) -> Result<WaiterRun, BenchError> {
    let emu = Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DISTRIBUTION).completes_after(DurationRange::fixed(duration)),
        ],
        seed: Some(seed),
        ..EmulatorConfig::default()
    })
    .await?;
    let endpoint = emu.endpoint();
    let what = format!(
        "AWS CLI waiter, {}s invalidation, run {run}",
        duration.as_secs()
    );
    let endpoint = format!("--endpoint-url {endpoint} --distribution-id {DISTRIBUTION}");
    let create = format!(
        "create-invalidation --paths /index.html --query Invalidation.Id --output text {endpoint}"
    );
    let created = cli(aws, home, &create, Duration::from_secs(60))
        .await
        .map_err(|e| BenchError::Run(format!("{what}: create-invalidation: {e}")))?;
    let id = created.trim().to_string();
    // The waiter gives up after 30 × 20 s; leave it that and a minute.
    let wait = format!("wait invalidation-completed --id {id} {endpoint}");
    cli(aws, home, &wait, Duration::from_secs(660))
        .await
        .map_err(|e| BenchError::Run(format!("{what}: wait invalidation-completed: {e}")))?;
    let exited_ms = emu.clock().elapsed_ms();
    let completed_ms = emu
        .invalidations(DISTRIBUTION)
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.completes_at_ms)
        .ok_or_else(|| BenchError::Run(format!("{what}: invalidation {id} is unknown")))?;
    let calls = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "GetInvalidation")
        .count();
    emu.shutdown().await;
    Ok(WaiterRun {
        duration_s: duration.as_secs_f64(),
        run,
        lag_ms: signed_diff(exited_ms, completed_ms),
        get_invalidation_calls: calls,
    })
}

/// Runs `aws cloudfront <args>` (split on spaces) and returns what it printed; an error with
/// its stderr when it fails.
async fn cli(aws: &Path, home: &Path, args: &str, limit: Duration) -> Result<String, String> {
    let mut command = tokio::process::Command::new(aws);
    command
        .arg("cloudfront")
        .args(args.split(' '))
        .env_clear()
        .envs(cli_env(home))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .map_err(|_| format!("no exit within {}s", limit.as_secs()))?
        .map_err(|e| format!("cannot run {}: {e}", aws.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} ({}): {}",
            aws.display(),
            output.status,
            crate::tail(&String::from_utf8_lossy(&output.stderr), 2000)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn signed_diff(a: u64, b: u64) -> i64 {
    i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX)
}

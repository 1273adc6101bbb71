//! End to end: the README's `"callerReference": "#{codepipeline.PipelineExecutionId}"` with the
//! real `cf-invalidate-lambda`, local-aws resolving the variable as CodePipeline does before
//! the function runs, and a pipeline Retry (the same execution, a new job) run against the same
//! emulator getting the first run's invalidation back.

mod e2e_support;

use e2e_support::explain;

use std::time::Duration;

use local_aws::pipeline::{PipelineConfig, PipelineReport, Verdict, run, run_on};
use local_aws::{
    CallerReferenceReuse, DistributionConfig, DurationRange, Emulator, EmulatorConfig,
    EmulatorHandle,
};

const DIST: &str = "E2QWRUHAPOMQZL";
const EXECUTION: &str = "6b5ed6a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const PARAMS: &str = r##"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/css/*"], "callerReference": "#{codepipeline.PipelineExecutionId}"}"##;

fn pipeline(execution: Option<&str>) -> PipelineConfig {
    let mut config = PipelineConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-lambda"), PARAMS);
    config.pipeline_execution_id = execution.map(str::to_string);
    config.world.seed = Some(7);
    config.reinvoke_delay = Duration::from_millis(200);
    config.retry_delay = Duration::from_millis(300);
    config.no_reply_timeout = Duration::from_secs(60);
    config
}

fn distribution(completes_after: Duration) -> DistributionConfig {
    DistributionConfig::new(DIST).completes_after(DurationRange::fixed(completes_after))
}

fn invalidation_id(report: &PipelineReport) -> Option<&str> {
    report
        .output_variables
        .get("InvalidationId")
        .map(String::as_str)
}

#[tokio::test]
async fn the_execution_id_becomes_the_caller_reference_across_continuations() {
    // GIVEN an invalidation slower than the function's timeout, so the job continues
    let mut config = pipeline(None).distribution(distribution(Duration::from_secs(7)));
    config.lambda_timeout = Duration::from_secs(5);
    // WHEN the action runs
    let report = match run(config).await {
        Ok(report) => report,
        Err(error) => panic!("the pipeline could not run: {error}"),
    };
    // THEN it succeeded with one invalidation whose CallerReference starts with the execution id
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    let execution = &report.pipeline_execution_id;
    assert_eq!(report.invalidations.len(), 1, "{}", explain(&report));
    let reference = &report.invalidations[0].caller_reference;
    assert!(
        reference.starts_with(&format!("{execution}-{DIST}-")),
        "{reference} does not start with {execution}"
    );
    // AND every job (continuations included) got the resolved text, not the variable
    assert!(report.jobs.len() >= 2, "{}", explain(&report));
    assert_eq!(report.invocations.len(), report.jobs.len());
    for invocation in &report.invocations {
        let sent = invocation.event["CodePipeline.job"]["data"]["actionConfiguration"]
            ["configuration"]["UserParameters"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            sent,
            PARAMS.replace("#{codepipeline.PipelineExecutionId}", execution)
        );
    }
}

async fn start_emulator() -> EmulatorHandle {
    let config = EmulatorConfig {
        distributions: vec![distribution(Duration::from_secs(1))],
        seed: Some(7),
        ..EmulatorConfig::default()
    };
    match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(error) => panic!("the emulator did not start: {error}"),
    }
}

async fn run_against(emu: &EmulatorHandle, execution: Option<&str>) -> PipelineReport {
    match run_on(pipeline(execution), emu).await {
        Ok(report) => report,
        Err(error) => panic!("the pipeline could not run: {error}"),
    }
}

#[tokio::test]
async fn a_retry_of_the_same_execution_gets_the_same_invalidation_back() {
    // GIVEN one emulator (one CloudFront) and a first run of execution EXECUTION
    let emu = start_emulator().await;
    let first = run_against(&emu, Some(EXECUTION)).await;
    assert_eq!(first.verdict, Verdict::Succeeded, "{}", explain(&first));
    assert_eq!(first.invalidations.len(), 1);
    let created = first.invalidations[0].id.clone();
    assert_eq!(invalidation_id(&first), Some(created.as_str()));

    // WHEN the action is retried in the same execution (a new job id)
    let retry = run_against(&emu, Some(EXECUTION)).await;
    // THEN CloudFront returned the existing invalidation: nothing new was created or billed
    assert_eq!(retry.verdict, Verdict::Succeeded, "{}", explain(&retry));
    assert_ne!(retry.jobs[0].job_id, first.jobs[0].job_id);
    assert!(retry.invalidations.is_empty(), "{}", explain(&retry));
    assert_eq!(invalidation_id(&retry), Some(created.as_str()));
    let reuse: Vec<Option<CallerReferenceReuse>> = retry
        .requests_for("CreateInvalidation")
        .iter()
        .map(|r| r.caller_reference_reuse)
        .collect();
    assert_eq!(reuse, [Some(CallerReferenceReuse::ReturnedExisting)]);

    // WHEN CloudFront refuses the reused reference instead (as users report) and it is
    // retried once more
    emu.set_strict_caller_reference(true);
    let strict = run_against(&emu, Some(EXECUTION)).await;
    // THEN the function finds the invalidation that carries it and reports that one
    assert_eq!(strict.verdict, Verdict::Succeeded, "{}", explain(&strict));
    assert!(strict.invalidations.is_empty(), "{}", explain(&strict));
    assert_eq!(invalidation_id(&strict), Some(created.as_str()));
    let refused = strict
        .requests_for("CreateInvalidation")
        .iter()
        .filter(|r| r.caller_reference_reuse == Some(CallerReferenceReuse::RefusedStrict))
        .count();
    assert_eq!(refused, 1, "{}", explain(&strict));

    // AND a new execution is a new invalidation
    let next = run_against(&emu, None).await;
    assert_eq!(next.verdict, Verdict::Succeeded, "{}", explain(&next));
    assert_ne!(next.pipeline_execution_id, EXECUTION);
    assert_eq!(next.invalidations.len(), 1, "{}", explain(&next));
    assert_ne!(invalidation_id(&next), Some(created.as_str()));
    assert_eq!(emu.all_invalidations().len(), 2);
    emu.shutdown().await;
}

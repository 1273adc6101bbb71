//! Pipeline variables in UserParameters, resolved by the driver as CodePipeline resolves them
//! before the action runs: `#{codepipeline.PipelineExecutionId}` (one id per run, the same for
//! every job and retry), namespace variables given by the caller, and the action failing
//! before any invocation when a reference names no variable. Against the fake function of
//! tests/support, which logs the UserParameters it received.

mod support;

use support::{fake_function, json_lines, state_dir};

use std::time::Duration;

use local_aws::pipeline::{
    self, FailureCause, PipelineConfig, PipelineError, PipelineReport, Verdict,
    is_pipeline_execution_id,
};
use local_aws::{
    CallerReferenceReuse, DistributionConfig, DurationRange, Emulator, EmulatorConfig,
};
use serde_json::{Value, json};

const EXECUTION: &str = "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c";

/// A run of the fake function with short timings.
fn config(params: &Value) -> PipelineConfig {
    let mut c = PipelineConfig::new("python3", params.to_string());
    c.function_args = vec![fake_function()];
    c.lambda_timeout = Duration::from_secs(5);
    c.deadline_grace = Duration::from_millis(200);
    c.retry_delay = Duration::from_millis(100);
    c.reinvoke_delay = Duration::from_millis(100);
    c.no_reply_timeout = Duration::from_secs(10);
    c.world.seed = Some(7);
    c
}

async fn run(c: PipelineConfig) -> PipelineReport {
    match pipeline::run(c).await {
        Ok(r) => r,
        Err(e) => panic!("the run did not complete: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_are_resolved_once_and_every_job_and_retry_gets_the_same_text() {
    // GIVEN UserParameters that reference the execution id and a namespace variable, a
    // function that continues twice and fails the first delivery of every job
    let dir = state_dir("resolved");
    let params = json!({
        "steps": 2,
        "error_attempts": [1],
        "state_dir": dir,
        "echo": "#{codepipeline.PipelineExecutionId}/#{Deploy.CommitId}",
    });
    let c = config(&params).variable("Deploy.CommitId", "abc123");
    // WHEN the action runs
    let report = run(c).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    // THEN the run has a new execution id, shaped as CodePipeline's
    let execution = report.pipeline_execution_id.clone();
    assert!(is_pipeline_execution_id(&execution), "{execution}");
    // AND every delivery (three jobs, each retried once by Lambda) got the same, resolved text
    let expected = params
        .to_string()
        .replace("#{codepipeline.PipelineExecutionId}", &execution)
        .replace("#{Deploy.CommitId}", "abc123");
    let seen = json_lines(&dir, "events.jsonl");
    assert_eq!(seen.len(), 6, "{seen:?}");
    let jobs: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|e| e["job"].as_str()).collect();
    assert_eq!(jobs.len(), 3, "three jobs, each delivered twice");
    for entry in &seen {
        assert_eq!(entry["user_parameters"], expected.as_str(), "{entry}");
    }
    assert_eq!(report.user_parameters, expected);
    assert_eq!(
        report.output_variables.get("Echo").map(String::as_str),
        Some(format!("{execution}/abc123").as_str())
    );
    // AND the timeline says which variables were resolved
    let text = report.render(false);
    assert!(
        text.contains(&format!(
            "pipeline execution {execution}: UserParameters resolved #{{codepipeline.PipelineExecutionId}}, #{{Deploy.CommitId}}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("--pipeline-execution-id {execution}")),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_is_a_new_execution_unless_its_id_is_given() {
    let params = json!({"echo": "#{codepipeline.PipelineExecutionId}"});
    let echo = |r: &PipelineReport| r.output_variables.get("Echo").cloned();

    // Without a seed, two runs are two executions.
    let mut first = config(&params);
    first.world.seed = None;
    let mut second = config(&params);
    second.world.seed = None;
    let (a, b) = (run(first).await, run(second).await);
    assert_ne!(a.pipeline_execution_id, b.pipeline_execution_id);
    assert_eq!(echo(&a), Some(a.pipeline_execution_id.clone()));
    assert_eq!(echo(&b), Some(b.pipeline_execution_id.clone()));

    // The same seed repeats a run exactly, its execution id included.
    let (c, d) = (run(config(&params)).await, run(config(&params)).await);
    assert_eq!(c.pipeline_execution_id, d.pipeline_execution_id);

    // A given id is the one resolved (a pipeline Retry of that execution).
    let mut retry = config(&params);
    retry.pipeline_execution_id = Some(EXECUTION.to_string());
    let e = run(retry).await;
    assert_eq!(e.pipeline_execution_id, EXECUTION);
    assert_eq!(echo(&e).as_deref(), Some(EXECUTION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_variable_fails_the_action_before_the_function_runs() {
    // GIVEN a reference whose name differs from the variable given only by case
    let dir = state_dir("unknown");
    let params = json!({
        "state_dir": dir,
        "echo": "#{Deploy.CommitID} #{codepipeline.PipelineExecutionId} #{variables.Stage}",
    });
    let c = config(&params).variable("Deploy.CommitId", "abc123");
    // WHEN the action runs
    let report = run(c).await;
    // THEN it fails, naming each variable that could not be resolved
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(report.exit_code(), 1);
    let failure = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure"));
    assert_eq!(failure.cause, FailureCause::UnresolvedVariables);
    assert_eq!(failure.failure_type, None);
    assert_eq!(
        failure.unresolved_variables,
        ["Deploy.CommitID", "variables.Stage"]
    );
    assert!(
        failure
            .message
            .starts_with("one or more variables could not be resolved: #{Deploy.CommitID}, #{variables.Stage} in UserParameters"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("--variable Deploy.CommitID=VALUE"),
        "{}",
        failure.message
    );
    // AND nothing ran: no job, no invocation, no process, no call
    assert!(report.jobs.is_empty());
    assert!(report.invocations.is_empty());
    assert_eq!(report.counts.cold_starts, 0);
    assert!(report.function_output.is_empty());
    assert!(report.requests.is_empty(), "{:?}", report.requests);
    assert!(json_lines(&dir, "events.jsonl").is_empty());
    // AND the report says why
    let text = report.render(false);
    assert!(
        text.contains("VERDICT: the action FAILED")
            && text.contains("FAILED before the action ran: variables could not be resolved")
            && text.contains("#{Deploy.CommitID}"),
        "{text}"
    );
    assert_eq!(
        report.to_json()["failure"]["unresolved_variables"],
        json!(["Deploy.CommitID", "variables.Stage"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1000_character_limit_is_on_the_text_as_written_and_100_kb_on_the_resolved_one() {
    // GIVEN UserParameters under 1000 characters that resolve to 5000
    let long = "v".repeat(5_000);
    let params = json!({"echo": "#{Build.Long}"});
    let report = run(config(&params).variable("Build.Long", long.clone())).await;
    // THEN the function gets the whole resolved text
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    assert_eq!(report.output_variables.get("Echo"), Some(&long));

    // GIVEN a value that takes the resolved configuration over 100 KB
    let report = run(config(&params).variable("Build.Long", "v".repeat(110 * 1024))).await;
    // THEN the action fails before it runs
    assert_eq!(report.verdict, Verdict::Failed);
    let failure = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure"));
    assert_eq!(failure.cause, FailureCause::ResolvedConfigurationTooLarge);
    assert!(failure.message.contains("100 KB"), "{}", failure.message);
    assert!(report.invocations.is_empty() && report.jobs.is_empty());

    // GIVEN UserParameters over 1000 characters as written: a usage error, nothing runs
    let written = json!({"echo": "#{Build.Long}".repeat(80)});
    assert!(matches!(
        pipeline::run(config(&written).variable("Build.Long", "")).await,
        Err(PipelineError::UserParametersTooLong(n)) if n > 1000
    ));
}

#[tokio::test]
async fn names_and_ids_codepipeline_could_not_have_are_usage_errors() {
    let params = json!({});
    for name in [
        "CommitId",
        "Deploy.Commit Id",
        "codepipeline.PipelineExecutionId",
    ] {
        let result = pipeline::run(config(&params).variable(name, "x")).await;
        assert!(
            matches!(result, Err(PipelineError::VariableName(_))),
            "{name}: {result:?}"
        );
    }
    let mut c = config(&params);
    c.pipeline_execution_id = Some("run-1".to_string());
    let message = pipeline::run(c)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.starts_with("invalid pipeline execution id 'run-1'"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_on_the_same_emulator_meets_the_first_runs_invalidation() {
    // GIVEN one emulator, and a function that creates an invalidation whose CallerReference
    // is the execution id
    let emu = match Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new("E2QWRUHEXAMPLE")
                .completes_after(DurationRange::fixed(Duration::from_millis(500))),
        ],
        seed: Some(11),
        ..EmulatorConfig::default()
    })
    .await
    {
        Ok(emu) => emu,
        Err(e) => panic!("emulator: {e}"),
    };
    let params = json!({"invalidations": [{
        "distribution": "E2QWRUHEXAMPLE",
        "paths": ["/index.html"],
        "reference": "#{codepipeline.PipelineExecutionId}",
    }]});
    let run_on = |c: PipelineConfig| {
        let emu = &emu;
        async move {
            match pipeline::run_on(c, emu).await {
                Ok(r) => r,
                Err(e) => panic!("the run did not complete: {e}"),
            }
        }
    };
    // WHEN the action runs, then runs again in the same execution (a pipeline Retry)
    let mut first = config(&params);
    first.pipeline_execution_id = Some(EXECUTION.to_string());
    let first = run_on(first).await;
    let mut retry = config(&params);
    retry.pipeline_execution_id = Some(EXECUTION.to_string());
    let retry = run_on(retry).await;
    // THEN the first run created the invalidation
    assert_eq!(first.verdict, Verdict::Succeeded);
    assert_eq!(first.invalidations.len(), 1);
    assert_eq!(first.invalidations[0].caller_reference, EXECUTION);
    // AND the retry, a new job, got it back and created none: each report tells its own run
    assert_eq!(retry.verdict, Verdict::Succeeded);
    assert_eq!(retry.jobs.len(), 1);
    assert_ne!(retry.jobs[0].job_id, first.jobs[0].job_id);
    assert!(retry.invalidations.is_empty(), "{:?}", retry.invalidations);
    let creates = retry.requests_for("CreateInvalidation");
    assert_eq!(creates.len(), 1);
    assert_eq!(
        creates[0].caller_reference_reuse,
        Some(CallerReferenceReuse::ReturnedExisting)
    );
    assert_eq!(
        creates[0].invalidation_id.as_deref(),
        Some(first.invalidations[0].id.as_str())
    );
    assert!(retry.started_ms >= first.started_ms + first.duration_ms);
    assert!(retry.requests.iter().all(|r| r.at_ms >= retry.started_ms));
    // AND a new execution on the same emulator is a new invalidation
    let next = run_on(config(&params)).await;
    assert_ne!(next.pipeline_execution_id, EXECUTION);
    assert_eq!(next.invalidations.len(), 1);
    assert_eq!(
        next.invalidations[0].caller_reference,
        next.pipeline_execution_id
    );
    assert_eq!(emu.all_invalidations().len(), 2);
    emu.shutdown().await;
}

fn local_aws(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run local-aws: {e}"))
}

#[tokio::test]
async fn the_cli_resolves_variables_and_fails_unknown_ones_with_exit_1() {
    let s = fake_function();
    let params = r##"{"echo": "#{codepipeline.PipelineExecutionId} #{Deploy.CommitId}"}"##;
    let base = [
        "pipeline",
        "--function",
        "python3",
        "--function-arg",
        &s,
        "--user-parameters",
        params,
        "--json",
    ];
    let ok = local_aws(
        &[
            &base[..],
            &[
                "--variable",
                "Deploy.CommitId=abc=123",
                "--pipeline-execution-id",
                EXECUTION,
            ],
        ]
        .concat(),
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap_or(Value::Null);
    assert_eq!(report["pipeline_execution_id"], EXECUTION);
    assert_eq!(
        report["output_variables"]["Echo"],
        format!("{EXECUTION} abc=123")
    );

    let failed = local_aws(&base);
    assert_eq!(failed.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&failed.stdout).unwrap_or(Value::Null);
    assert_eq!(report["failure"]["cause"], "unresolved_variables");
    assert_eq!(
        report["failure"]["unresolved_variables"],
        json!(["Deploy.CommitId"])
    );
    assert_eq!(report["counts"]["invocations"], 0);

    for (args, fragment) in [
        (
            vec!["--variable", "Deploy=abc"],
            "invalid variable 'Deploy': expected NAMESPACE.NAME,",
        ),
        (
            vec!["--variable", "Deploy.CommitId"],
            "invalid variable 'Deploy.CommitId': expected NAMESPACE.NAME=VALUE",
        ),
        (
            vec!["--variable", "codepipeline.PipelineExecutionId=x"],
            "--pipeline-execution-id",
        ),
        (
            vec!["--pipeline-execution-id", "run-1"],
            "invalid pipeline execution id 'run-1'",
        ),
    ] {
        let out = local_aws(&[&base[..], &args[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    }
}

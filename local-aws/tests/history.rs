//! The action execution history through the pipeline driver: each run records its execution,
//! its jobs carry their pipeline context, the function can read both (GetJobDetails,
//! ListActionExecutions) while it runs, and the job's result ends the execution.

mod support;

use support::{fake_function, json_lines, state_dir};

use std::time::Duration;

use local_aws::pipeline::{self, PipelineConfig, PipelineReport, Verdict};
use local_aws::{
    ActionExecutionStatus, Emulator, EmulatorConfig, EmulatorHandle, GetJobDetailsMode, S3Artifact,
};
use serde_json::{Value, json};

const PIPELINE: &str = "site-pipeline";

fn artifact(key: &str) -> S3Artifact {
    S3Artifact {
        name: "SourceOutput".to_string(),
        bucket: "artifact-bucket".to_string(),
        key: key.to_string(),
    }
}

fn config(params: Value, key: &str) -> PipelineConfig {
    let mut c = PipelineConfig::new("python3", params.to_string());
    c.function_args = vec![fake_function()];
    c.lambda_timeout = Duration::from_secs(5);
    c.retry_delay = Duration::from_millis(100);
    c.reinvoke_delay = Duration::from_millis(100);
    c.no_reply_timeout = Duration::from_secs(10);
    c.pipeline_name = PIPELINE.to_string();
    c.input_artifacts = vec![artifact(key)];
    c
}

async fn run_on(c: PipelineConfig, emu: &EmulatorHandle) -> PipelineReport {
    match pipeline::run_on(c, emu).await {
        Ok(r) => r,
        Err(e) => panic!("the run did not complete: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_recorded_and_the_function_reads_them_while_it_runs() {
    let emu = Emulator::start(EmulatorConfig {
        seed: Some(5),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("emulator did not start: {e}"));
    let dir = state_dir("history");

    // GIVEN a first run of the action that failed
    let failed = run_on(config(json!({"fail": "boom"}), "a.zip"), &emu).await;
    assert_eq!(failed.verdict, Verdict::Failed, "{}", failed.render(true));

    // WHEN a second run (two jobs: one continuation) reads GetJobDetails and the history
    let params = json!({"steps": 1, "history": true, "state_dir": dir.display().to_string()});
    let second = run_on(config(params, "b.zip"), &emu).await;
    assert_eq!(
        second.verdict,
        Verdict::Succeeded,
        "{}",
        second.render(true)
    );
    let second_id = second.action_execution_id.clone().unwrap_or_default();
    let failed_id = failed.action_execution_id.clone().unwrap_or_default();
    assert!(!second_id.is_empty() && second_id != failed_id);

    // THEN each job's GetJobDetails named this run's pipeline context and artifact
    let seen = json_lines(&dir, "history.jsonl");
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (entry, job) in seen.iter().zip(&second.jobs) {
        assert_eq!(entry["job"], job.job_id.as_str());
        assert_eq!(entry["details_status"], 200, "{entry}");
        let data = &entry["details"]["jobDetails"]["data"];
        let context = &data["pipelineContext"];
        assert_eq!(context["pipelineName"], PIPELINE);
        assert_eq!(context["stage"]["name"], "Deploy");
        assert_eq!(context["action"]["name"], "Invalidate");
        assert_eq!(context["action"]["actionExecutionId"], second_id.as_str());
        assert_eq!(
            context["pipelineExecutionId"],
            second.pipeline_execution_id.as_str()
        );
        assert_eq!(
            data["inputArtifacts"][0]["location"]["s3Location"],
            json!({"bucketName": "artifact-bucket", "objectKey": "b.zip"})
        );
        assert_eq!(
            data["continuationToken"].as_str(),
            job.continuation_token.as_deref()
        );
        // AND the history showed this run in progress, newest first, then the failed one
        assert_eq!(entry["list_status"], 200, "{entry}");
        let details = &entry["list"]["actionExecutionDetails"];
        assert_eq!(details[0]["actionExecutionId"], second_id.as_str());
        assert_eq!(details[0]["status"], "InProgress");
        assert_eq!(details[1]["actionExecutionId"], failed_id.as_str());
        assert_eq!(details[1]["status"], "Failed");
        assert_eq!(
            details[1]["input"]["inputArtifacts"][0]["s3location"],
            json!({"bucket": "artifact-bucket", "key": "a.zip"})
        );
    }

    // AND the final result ended the second execution, with its output
    let history = emu.action_executions(PIPELINE).unwrap_or_default();
    let statuses: Vec<(String, ActionExecutionStatus)> = history
        .iter()
        .map(|e| (e.action_execution_id.clone(), e.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (second_id.clone(), ActionExecutionStatus::Succeeded),
            (failed_id.clone(), ActionExecutionStatus::Failed),
        ]
    );
    assert_eq!(
        history[0]
            .output
            .output_variables
            .get("Steps")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        history[1].output.error,
        Some(("JobFailed".to_string(), "boom".to_string()))
    );
    assert!(history[0].last_update_epoch_ms >= history[0].start_epoch_ms);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_get_job_details_reaches_the_function() {
    for (mode, code) in [
        (GetJobDetailsMode::AccessDenied, "AccessDeniedException"),
        (GetJobDetailsMode::NotFound, "JobNotFoundException"),
    ] {
        // GIVEN an emulator whose GetJobDetails refuses Lambda invoke jobs
        let emu = Emulator::start(EmulatorConfig {
            get_job_details: mode,
            ..EmulatorConfig::default()
        })
        .await
        .unwrap_or_else(|e| panic!("emulator did not start: {e}"));
        let dir = state_dir("history-refused");
        // WHEN the function asks for its job's details
        let params = json!({"history": true, "state_dir": dir.display().to_string()});
        let report = run_on(config(params, "c.zip"), &emu).await;
        // THEN it gets the refusal, and the unknown pipeline it then lists is not found
        assert_eq!(
            report.verdict,
            Verdict::Succeeded,
            "{}",
            report.render(true)
        );
        let seen = json_lines(&dir, "history.jsonl");
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0]["details_status"], 400);
        assert_eq!(seen[0]["details"]["__type"], code, "{mode}");
        assert_eq!(seen[0]["list"]["__type"], "PipelineNotFoundException");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

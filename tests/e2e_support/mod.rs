//! What the end-to-end tests of the pipeline action share: running a job through local-aws, and
//! the whole story of a run for an assertion's message.
// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

use local_aws::pipeline::{PipelineConfig, PipelineReport, run};

/// Runs the job to its end; a pipeline that cannot run at all is a broken test.
pub async fn run_to_end(config: PipelineConfig) -> PipelineReport {
    match run(config).await {
        Ok(report) => report,
        Err(error) => panic!("the pipeline could not run: {error}"),
    }
}

/// The verdict, failure, summary, every timeline event and the function's output.
pub fn explain(report: &PipelineReport) -> String {
    let events: Vec<String> = report.events.iter().map(|e| e.render()).collect();
    format!(
        "verdict {:?}, failure {:?}, summary {:?}\n{}\n--- function output ---\n{}",
        report.verdict,
        report.failure,
        report.summary,
        events.join("\n"),
        report.function_output_text()
    )
}

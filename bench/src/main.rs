//! `cf-invalidate-bench`: measures cf-invalidate against a Python Lambda and the AWS CLI waiter
//! through local-aws, writes the figures into the report's blocks, its charts and a JSON file,
//! and prints the headline. `scripts/bench.sh` builds everything and runs it.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use cf_invalidate_bench::events::{self, EventsPlan};
use cf_invalidate_bench::run::{self, Plan, Settings};
use cf_invalidate_bench::{BenchError, chart, events_report, report, write_file, write_json};
use clap::Parser;
use serde::Serialize;

/// This process's command line, one option a line, as a shell accepts it (for the report).
fn invocation() -> String {
    let mut out = String::new();
    for arg in std::env::args() {
        let arg = if arg.is_empty() || arg.contains([' ', '"', '\'', '$', '`']) {
            format!("'{}'", arg.replace('\'', r"'\''"))
        } else {
            arg
        };
        if !out.is_empty() {
            out.push_str(if arg.starts_with("--") {
                " \\\n  "
            } else {
                " "
            });
        }
        out.push_str(&arg);
    }
    out
}

fn main() -> ExitCode {
    let settings = Settings {
        invocation: invocation(),
        ..Settings::parse()
    };
    match try_main(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cf-invalidate-bench: {error}");
            match error {
                BenchError::Missing { .. } => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| BenchError::Run(format!("cannot start the Tokio runtime: {source}")))
}

/// Writes `results` as JSON into `json`, the report's `blocks` (keeping the rest of it) and
/// the chart's path, and prints block `shown` and where everything went.
fn publish(
    results: &impl Serialize,
    json: &Path,
    (report, blocks): (&Path, &[report::Block]),
    chart: &Path,
    shown: usize,
) -> Result<(), BenchError> {
    write_json(json, results)?;
    // Only a missing report starts afresh: any other error must not overwrite the prose.
    let previous = match std::fs::read_to_string(report) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        read => {
            read.map_err(|e| BenchError::Run(format!("cannot read {}: {e}", report.display())))?
        }
    };
    write_file(report, &report::splice(&previous, blocks))?;
    let (report, chart, json) = (report.display(), chart.display(), json.display());
    println!(
        "{}\nreport {report}\nchart {chart}\nresults {json}",
        blocks[shown].body
    );
    Ok(())
}

fn try_main(settings: Settings) -> Result<(), BenchError> {
    let started = Instant::now();
    let progress = |line: &str| eprintln!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
    let smoke = if settings.smoke { "smoke-" } else { "" };
    let work_dir = &settings.work_dir;
    if settings.events_only {
        let plan = if settings.smoke {
            EventsPlan::smoke()
        } else {
            EventsPlan::full()
        };
        let results = runtime()?.block_on(events::run(&settings, &plan, &progress))?;
        let chart = &settings.events_chart;
        chart::events(&results, chart)?;
        let json = work_dir.join(format!("{smoke}events-results.json"));
        let blocks = events_report::blocks(&results, &settings);
        return publish(&results, &json, (&settings.report, &blocks), chart, 2);
    }
    if settings.artifact_only {
        let sizes: &[usize] = if settings.smoke {
            &[2_000]
        } else {
            &[10_000, 100_000]
        };
        let measured = cf_invalidate_bench::artifact::measure(settings.lambda()?, sizes);
        print!("{}", runtime()?.block_on(measured)?);
        return Ok(());
    }
    let plan = if settings.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let runtime = runtime()?;
    if settings.cold_start_only {
        let cold_start = runtime.block_on(run::cold_starts(&settings, &plan, &progress))?;
        let json = work_dir.join("cold-start.json");
        write_json(&json, &cold_start)?;
        println!(
            "{}\nresults {}",
            report::cold_start(&cold_start),
            json.display()
        );
        return Ok(());
    }
    let results = runtime.block_on(run::run(&settings, &plan, &progress))?;
    chart::lag(&results.lag, &settings.chart)?;
    let json = work_dir.join(format!("{smoke}results.json"));
    let blocks = report::blocks(&results, &settings);
    publish(
        &results,
        &json,
        (&settings.report, &blocks),
        &settings.chart,
        1,
    )
}

//! CI's smoke runs of the benchmark harness (`cf-invalidate-bench --smoke`, and
//! `--events-only --smoke`): every measurement once, small, so that the harness keeps working. It checks that figures came out, never what
//! they are: speed is not asserted anywhere.

use std::path::PathBuf;
use std::process::Command;

use cf_invalidate_bench::events_report::BLOCKS;
use cf_invalidate_bench::report::{begin_marker, end_marker};
use serde_json::Value;

#[path = "../../local-aws/tests/support/tools.rs"]
mod tools;

use tools::{python_tool, workspace_root};

/// `cf-invalidate-lambda` from the same build: `cargo test --workspace` and `cargo nextest run
/// --workspace` (scripts/test.sh) build the root package's binaries for its own end-to-end
/// tests, into the directory that holds this crate's binary.
fn lambda_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_cf-invalidate-bench"));
    let lambda = bench
        .parent()
        .map(|dir| dir.join("cf-invalidate-lambda"))
        .unwrap_or_default();
    assert!(
        lambda.is_file(),
        "cf-invalidate-lambda was not found at {}: run this test with the workspace \
         (./scripts/test.sh, or cargo test --workspace), or build it first with \
         cargo build --bin cf-invalidate-lambda",
        lambda.display()
    );
    lambda
}

/// `cf-invalidate-events` from the same build (see [`lambda_binary`]).
fn events_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_cf-invalidate-bench"));
    let events = bench
        .parent()
        .map(|dir| dir.join("cf-invalidate-events"))
        .unwrap_or_default();
    assert!(
        events.is_file(),
        "cf-invalidate-events was not found at {}: run this test with the workspace \
         (./scripts/test.sh, or cargo test --workspace), or build it first with \
         cargo build --bin cf-invalidate-events",
        events.display()
    );
    events
}

/// The baseline's Python: `$BENCH_PYTHON`, else the test virtualenv's (prepared if need be).
/// It must import awslambdaric and boto3; the test fails (never skips) when it cannot.
fn python() -> PathBuf {
    let python = python_tool("BENCH_PYTHON", "python", "the benchmark's Python baseline");
    let imports = Command::new(&python)
        .args(["-c", "import awslambdaric, boto3"])
        .output();
    let ok = imports.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the benchmark smoke test needs a Python with awslambdaric and boto3 (the pins are in \
         bench/python_baseline/requirements.txt) and found none at {}: run ./scripts/test.sh \
         (its .venv comes from scripts/requirements-test.txt), or set BENCH_PYTHON, for example \
         to target/bench-venv/bin/python after ./scripts/bench.sh --smoke. {}",
        python.display(),
        match &imports {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        }
    );
    python
}

/// The AWS CLI: `$AWS_CLI`, else the test virtualenv's (prepared if need be).
fn aws_cli() -> PathBuf {
    python_tool("AWS_CLI", "aws", "the AWS CLI")
}

fn number(json: &Value, pointer: &str) -> f64 {
    json.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in the results: {json:#}"))
}

#[test]
fn the_smoke_run_measures_everything_and_writes_the_report_and_the_chart() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-smoke");
    let _ = std::fs::remove_dir_all(&out);
    let report = out.join("benchmarks.md");
    let chart = out.join("detection-lag.svg");
    let run = Command::new(env!("CARGO_BIN_EXE_cf-invalidate-bench"))
        .current_dir(workspace_root())
        .arg("--smoke")
        .arg("--lambda")
        .arg(lambda_binary())
        .arg("--python")
        .arg(python())
        .arg("--aws")
        .arg(aws_cli())
        .arg("--work-dir")
        .arg(&out)
        .arg("--target-dir")
        .arg(out.join("no-target"))
        .arg("--report")
        .arg(&report)
        .arg("--chart")
        .arg(&chart)
        .args(["--profile", "debug", "--command"])
        .arg("cargo test -p cf-invalidate-bench --test smoke")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cf-invalidate-bench: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "cf-invalidate-bench --smoke failed ({}):\n{stderr}\n{stdout}",
        run.status
    );

    // The figures, one of each kind, are there (whatever their values).
    let results: Value = std::fs::read_to_string(out.join("smoke-results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("no smoke-results.json in {}", out.display()));
    for who in ["ours", "python"] {
        for figure in ["to_first_next_ms", "to_result_ms", "peak_rss_kib"] {
            assert!(number(&results, &format!("/cold_start/{who}/{figure}")) > 0.0);
        }
    }
    let lag = results["lag"].as_array().cloned().unwrap_or_default();
    assert_eq!(lag.len(), 2, "two durations in the smoke run: {lag:?}");
    for case in &lag {
        for who in ["ours", "waiter"] {
            assert_eq!(case[who].as_array().map(Vec::len), Some(1), "{case}");
            assert!(number(case, &format!("/{who}/0/get_invalidation_calls")) >= 1.0);
            number(case, &format!("/{who}/0/lag_ms"));
        }
    }
    let invocations = results["invocations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(invocations.len(), 2, "{invocations:?}");
    for case in &invocations {
        assert!(number(case, "/invocations") >= 1.0, "{case}");
    }
    assert!(number(&results, "/ten_minutes/ours/calls") >= 1.0);
    let planning = results["planning"].as_array().cloned().unwrap_or_default();
    assert_eq!(planning.len(), 2);
    for size in &planning {
        assert!(number(size, "/harness_median_ns") > 0.0, "{size}");
    }
    assert!(
        results["sizes"]
            .as_array()
            .is_some_and(|sizes| sizes.iter().any(|s| s["bytes"].as_u64() > Some(0))),
        "no artefact size in {results:#}"
    );

    // The report has every section, no missing figure, and links the chart.
    let markdown = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", report.display()));
    for heading in [
        "## Headline",
        "## Machine",
        "## 1. Cold start",
        "## 2. Completion-detection lag",
        "## 3. Invocations per job",
        "## 4. Planning",
        "## 5. Size",
    ] {
        assert!(markdown.contains(heading), "{heading} missing:\n{markdown}");
    }
    assert!(!markdown.contains('—'), "a figure is missing:\n{markdown}");
    assert!(markdown.contains("](detection-lag.svg)"), "{markdown}");
    let svg = std::fs::read_to_string(&chart)
        .unwrap_or_else(|e| panic!("no chart at {}: {e}", chart.display()));
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains("cf-invalidate-lambda") && svg.contains("<circle"),
        "{svg}"
    );

    // And the headline was printed.
    assert!(
        stdout.contains("Cold start") && stdout.contains("GetInvalidation calls"),
        "{stdout}"
    );
}

#[test]
fn the_events_smoke_run_rewrites_its_section_alone_and_ours_leaves_no_key_stale() {
    // GIVEN a report with other figures and hand-written prose around old events blocks
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-events-smoke");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::create_dir_all(&out);
    let report = out.join("benchmarks.md");
    let chart = out.join("benchmarks").join("events.svg");
    let before = "# Benchmarks\n\n## 5. Size\n\n<!-- bench:sizes -->\nthe other figures\n<!-- /bench:sizes -->\n\n";
    let after = "\n\n## What these figures do not say\n\n- kept as it is\n";
    let old: Vec<String> = BLOCKS
        .iter()
        .map(|name| format!("{}\nold figures\n{}", begin_marker(name), end_marker(name)))
        .collect();
    std::fs::write(
        &report,
        format!("{before}{}{after}", old.join("\n\nhand-written\n\n")),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", report.display()));

    // WHEN the events comparison runs alone, small
    let run = Command::new(env!("CARGO_BIN_EXE_cf-invalidate-bench"))
        .current_dir(workspace_root())
        .args(["--events-only", "--smoke", "--events-function"])
        .arg(events_binary())
        .arg("--python")
        .arg(python())
        .arg("--work-dir")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .arg("--events-chart")
        .arg(&chart)
        .args(["--profile", "debug", "--command"])
        .arg("cargo test -p cf-invalidate-bench --test smoke")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cf-invalidate-bench: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "cf-invalidate-bench --events-only --smoke failed ({}):\n{stderr}\n{stdout}",
        run.status
    );

    // THEN ours left no key stale, and both functions were measured
    let results: Value = std::fs::read_to_string(out.join("smoke-events-results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("no smoke-events-results.json in {}", out.display()));
    assert_eq!(
        results
            .pointer("/ours/stale_key_events")
            .and_then(Value::as_u64),
        Some(0),
        "ours left keys stale: {:#}",
        results["ours"]["report"]
    );
    assert!(number(&results, "/ours/key_events") >= 300.0, "{results:#}");
    assert!(number(&results, "/ours/report/cloudfront/create_calls") >= 2.0);
    assert!(number(&results, "/sample/report/cloudfront/create_calls") >= 300.0);
    assert!(number(&results, "/memory/report/function_peak_rss_kib") > 0.0);

    // AND the report's events blocks were rewritten, and nothing else
    let markdown = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", report.display()));
    let first = begin_marker(BLOCKS[0]);
    assert!(
        markdown.starts_with(&format!("{before}{first}\n")),
        "{markdown}"
    );
    let last = end_marker(BLOCKS[BLOCKS.len() - 1]);
    assert!(markdown.ends_with(&format!("{last}{after}")), "{markdown}");
    assert_eq!(
        markdown.matches("hand-written").count(),
        BLOCKS.len() - 1,
        "{markdown}"
    );
    assert!(!markdown.contains("old figures"), "{markdown}");
    for row in [
        "CreateInvalidation calls",
        "paths billed",
        "TooManyInvalidationsInProgress",
        "key events left stale",
        "last key covered",
        "peak RSS on the largest batch",
        "](benchmarks/events.svg)",
    ] {
        assert!(markdown.contains(row), "{row} missing:\n{markdown}");
    }
    let svg = std::fs::read_to_string(&chart)
        .unwrap_or_else(|e| panic!("no chart at {}: {e}", chart.display()));
    assert!(svg.starts_with("<svg") && svg.contains("<rect"), "{svg}");

    // AND the figures were printed
    assert!(
        stdout.contains("cf-invalidate-events") && stdout.contains("Python sample"),
        "{stdout}"
    );
}

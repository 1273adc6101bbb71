//! The markdown report (`docs/benchmarks.md`) and the short summary printed at the end of a run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(crate) use cf_invalidate::text::thousands;

use crate::cold_start::{ColdStartSummary, Implementation};
use crate::run::{Results, Settings};
use crate::schedule;

/// The whole report; `events_section` is the previous report's S3-events section, kept as it
/// is (a placeholder when it had none): only `--events-only` measures and rewrites it.
pub fn markdown(results: &Results, settings: &Settings, events_section: Option<&str>) -> String {
    let mut out = String::new();
    let r = results;
    let cs = &r.cold_start;
    let _ = writeln!(out, "# Benchmarks\n");
    if r.smoke {
        let _ = writeln!(
            out,
            "> **Smoke run** (`{}`): one run of each measurement, 2-3 s invalidations, no criterion. \
             It proves the harness works; its figures are not the project's figures.\n",
            settings.command
        );
    }
    let _ = writeln!(
        out,
        "Every figure below comes from one run of `{}` on {} ({} of measurements). Everything runs on \
         one machine against [local-aws](local-aws.md) on 127.0.0.1: no AWS account, no network. \
         The machine is noisy, so every comparison is a ratio of two measurements taken in the same \
         run, and every figure is a median over several runs. These are figures, not tests: nothing \
         here is asserted.\n",
        settings.command,
        day(&r.machine.date),
        duration_text(r.wall_s)
    );

    // Headline.
    let _ = writeln!(out, "## Headline\n");
    let _ = writeln!(
        out,
        "- **Cold start {}× faster** than the Python baseline (boto3 under awslambdaric): \
         `cf-invalidate-lambda` asks for its first event {} after spawn, the baseline {} \
         (target: at least 30×). The first job is reported {}× sooner ({} against {}).",
        ratio(cs.init_ratio),
        ms_text(cs.ours.to_first_next_ms),
        ms_text(cs.python.to_first_next_ms),
        ratio(cs.result_ratio),
        ms_text(cs.ours.to_result_ms),
        ms_text(cs.python.to_result_ms),
    );
    let _ = writeln!(
        out,
        "- **{}× less memory**: peak RSS {} against {} (target: at least 4×).",
        ratio(cs.memory_ratio),
        mib(cs.ours.peak_rss_kib),
        mib(cs.python.peak_rss_kib)
    );
    let durations: Vec<String> = r
        .lag
        .iter()
        .map(|c| format!("{} s", c.duration_s))
        .collect();
    let ours_lags: Vec<String> = r.lag.iter().map(|c| secs(c.ours_lag_s)).collect();
    let waiter_lags: Vec<String> = r.lag.iter().map(|c| secs(c.waiter_lag_s)).collect();
    let within = r.lag.iter().all(|c| c.ours_lag_s <= c.target_s);
    let _ = writeln!(
        out,
        "- **Completion noticed {} after `Completed`** for {} invalidations (median), against {} for \
         `aws cloudfront wait invalidation-completed`; {} max(1 s, 10 % of the wait).",
        ours_lags.join(" / "),
        durations.join(", "),
        waiter_lags.join(" / "),
        if within {
            "within the target of"
        } else {
            "**not always within** the target of"
        }
    );
    let ten = &r.ten_minutes;
    let _ = writeln!(
        out,
        "- **{} GetInvalidation calls for a 10-minute invalidation** (from the schedule; target: at \
         most 65). The waiter makes {} and then {}.\n",
        ten.ours.calls,
        ten.waiter.calls,
        if ten.waiter.lag_s.is_none() {
            "fails (`Max attempts exceeded`): it gives up after 30 × 20 s"
        } else {
            "sees it"
        }
    );

    // Reproduce.
    let _ = writeln!(out, "## Reproduce\n");
    let _ = writeln!(
        out,
        "```sh\n./scripts/bench.sh          # the full run (about 8 minutes once built; the first build takes about 25): writes docs/benchmarks.md and docs/benchmarks/detection-lag.svg\n\
         ./scripts/bench.sh --smoke  # the tiny version CI runs (bench/tests/smoke.rs); writes under target/bench/smoke/\n\
         ./scripts/bench.sh --events # only section 6 (S3 events) and docs/benchmarks/events.svg; the rest stays as it is\n```\n"
    );
    let _ = writeln!(
        out,
        "`scripts/bench.sh` creates `target/bench-venv` from \
         `bench/python_baseline/requirements.txt` (awslambdaric, boto3, the AWS CLI v1, pinned), runs \
         `cargo bench --bench plan` (criterion), builds `cf-invalidate-lambda`, the `cf-invalidate` \
         CLI and the harness (`bench/`, crate `cf-invalidate-bench`) with the release profile (after \
         criterion, whose build of the binaries would otherwise be the one measured), then runs the \
         harness, which measures everything else and writes this report. This run's harness \
         command:\n\n```sh\n{}\n```\n",
        harness_command(settings)
    );

    // Machine.
    let m = &r.machine;
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "| | |\n| --- | --- |");
    let rows = [
        ("date (UTC)", m.date.clone()),
        ("CPU", format!("{} × {}", m.cpus, m.cpu)),
        ("memory", format!("{:.1} GiB", m.memory_gib)),
        ("OS, kernel", format!("{}, Linux {}", m.os, m.kernel)),
        (
            "load average (1, 5, 15 min)",
            format!(
                "{} at the start, {} at the end",
                m.load_at_start, r.load_at_end
            ),
        ),
        ("Rust", m.rustc.clone()),
        (
            "build",
            format!("`{}` profile of the workspace", settings.profile),
        ),
        ("Python", format!("{} ({})", m.python, m.python_packages)),
        ("AWS CLI", m.aws_cli.clone()),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    out.push('\n');

    cold_start_section(&mut out, r);
    lag_section(&mut out, r, settings);
    invocations_section(&mut out, r);
    planning_section(&mut out, r);
    size_section(&mut out, r);
    match events_section {
        Some(section) => out.push_str(section),
        None => out.push_str(&crate::events_report::placeholder()),
    }
    out.push_str("\n\n");
    limits_section(&mut out, r);
    out
}

fn cold_start_section(out: &mut String, r: &Results) {
    let cs = &r.cold_start;
    let _ = writeln!(out, "## 1. Cold start\n");
    let _ = writeln!(
        out,
        "Each run starts a fresh process with Lambda's environment against a fresh local-aws whose \
         Runtime API already holds one CodePipeline job event; the job invalidates `/index.html` on a \
         distribution whose invalidations are `Completed` at once. Measured: from `spawn` to the \
         process's first `GET /2018-06-01/runtime/invocation/next` (its init), from `spawn` to the \
         job's `PutJobSuccessResult` (init plus one CreateInvalidation and one PutJob), and the peak \
         RSS of the process (`ru_maxrss` from `wait4`, after it is killed once the job is reported).\n\n\
         The baseline is [`bench/python_baseline/handler.py`](../bench/python_baseline/handler.py): \
         boto3 clients created at import time, run as `python -m awslambdaric handler.handler` (AWS's \
         runtime interface client, as in a Python container image). One warm-up pair runs first \
         (not counted) so that both read their files from the page cache; then {}, \
         alternating which goes first. Ratios are baseline ÷ ours within each pair, then the median.\n",
        plural(cs.runs, "pair", "pairs")
    );
    let _ = writeln!(
        out,
        "| median of {} | cf-invalidate-lambda | Python baseline | ratio (median of pairs) | target |\n| --- | ---: | ---: | ---: | --- |",
        plural(cs.runs, "run", "runs")
    );
    let _ = writeln!(
        out,
        "| spawn → first `/next` (init) | {} | {} | **{}×** (pairs: {}× to {}×) | ≥ 30× |",
        ms_text(cs.ours.to_first_next_ms),
        ms_text(cs.python.to_first_next_ms),
        ratio(cs.init_ratio),
        ratio(cs.init_ratio_range.0),
        ratio(cs.init_ratio_range.1),
    );
    let _ = writeln!(
        out,
        "| spawn → PutJobSuccessResult | {} | {} | **{}×** | |",
        ms_text(cs.ours.to_result_ms),
        ms_text(cs.python.to_result_ms),
        ratio(cs.result_ratio)
    );
    let _ = writeln!(
        out,
        "| peak RSS | {} | {} | **{}×** | ≥ 4× |\n",
        mib(cs.ours.peak_rss_kib),
        mib(cs.python.peak_rss_kib),
        ratio(cs.memory_ratio)
    );
    let _ = writeln!(
        out,
        "<details><summary>Every run</summary>\n\n| run | function | first `/next` | PutJob result | peak RSS |\n| ---: | --- | ---: | ---: | ---: |"
    );
    for s in &cs.samples {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            s.run,
            match s.implementation {
                Implementation::Ours => "cf-invalidate-lambda",
                Implementation::Python => "Python baseline",
            },
            ms_text(s.to_first_next_ms),
            ms_text(s.to_result_ms),
            mib(s.peak_rss_kib as f64)
        );
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn lag_section(out: &mut String, r: &Results, settings: &Settings) {
    let _ = writeln!(out, "## 2. Completion-detection lag\n");
    let _ = writeln!(
        out,
        "local-aws keeps each invalidation `InProgress` for a fixed time, then `Completed`. For each \
         duration, two things run side by side, each on its own local-aws:\n\n\
         - **ours**: `cf-invalidate-lambda` driven like CodePipeline and Lambda would (`local-aws \
           pipeline`, function timeout {} s, so one invocation waits it out). Lag: from the moment the \
           invalidation became `Completed` to the arrival of our `PutJobSuccessResult`.\n\
         - **the waiter**: `aws cloudfront create-invalidation`, then `aws cloudfront wait \
           invalidation-completed` (AWS CLI from PyPI, `--endpoint-url` at local-aws). Lag: from \
           `Completed` to the waiter's exit.\n\n\
         GetInvalidation calls are counted from each emulator's request log. The lag ratio is \
         waiter ÷ ours within each pair, then the median.\n",
        r.plan.lag_lambda_timeout_s
    );
    let _ = writeln!(
        out,
        "| invalidation | runs | ours: lag (median) | ours: GetInvalidation | waiter: lag (median) | waiter: GetInvalidation | waiter ÷ ours | target lag max(1 s, 10 %) | ours within it |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for c in &r.lag {
        let _ = writeln!(
            out,
            "| {} s | {} | **{}** | {} | {} | {} | {} | {} | {} |",
            c.duration_s,
            c.ours.len(),
            secs(c.ours_lag_s),
            count(c.ours_calls),
            secs(c.waiter_lag_s),
            count(c.waiter_calls),
            c.lag_ratio
                .map(|x| format!("{}×", ratio(x)))
                .unwrap_or_else(|| "—".into()),
            secs(c.target_s),
            if c.ours_lag_s <= c.target_s {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    let _ = writeln!(
        out,
        "\n![Detection lag against invalidation duration]({})\n",
        chart_link(settings)
    );
    let _ = writeln!(
        out,
        "What the two schedules predict with instant calls (ours: first poll 1 s after the create, \
         then a gap of 10 % of the time waited, between 1 s and 20 s; the waiter: a poll at once, \
         then every 20 s, 30 polls at most):\n"
    );
    let _ = writeln!(
        out,
        "| invalidation | ours: calls | ours: lag | waiter: calls | waiter: lag |\n| ---: | ---: | ---: | ---: | ---: |"
    );
    let ten = std::time::Duration::from_secs(600);
    let mut rows: Vec<(String, schedule::Prediction, schedule::Prediction)> = r
        .lag
        .iter()
        .map(|c| {
            (
                format!("{} s", c.duration_s),
                c.predicted_ours,
                c.predicted_waiter,
            )
        })
        .collect();
    rows.push((
        "**10 min**".into(),
        schedule::ours(ten),
        schedule::waiter(ten),
    ));
    for (label, ours, waiter) in rows {
        let lag = |p: &schedule::Prediction| match p.lag_s {
            Some(s) => secs(s),
            None => "gives up (fails)".into(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} |",
            ours.calls,
            lag(&ours),
            waiter.calls,
            lag(&waiter)
        );
    }
    let gaps = &r.ten_minutes.our_gaps_s;
    let ones = gaps.iter().take_while(|g| **g <= 1.0).count();
    let twenties = gaps.iter().filter(|g| **g >= 20.0).count();
    let _ = writeln!(
        out,
        "\nFor a 10-minute invalidation our schedule is {ones} polls 1 s apart (the first 10 s), \
         {} polls whose gap grows by 10 % each, then {twenties} polls 20 s apart: **{} calls** \
         (target: at most 65), computed with `cf_invalidate::engine::poll_gap`. The measured counts \
         above can exceed the prediction by one when a call lands a few milliseconds before the \
         completion time.\n",
        gaps.len() - ones - twenties,
        r.ten_minutes.ours.calls
    );
}

fn invocations_section(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## 3. Invocations per job\n");
    let _ = writeln!(
        out,
        "Lambda invocations of the whole action, counted by the pipeline driver. When an invocation \
         would outlive its deadline, the function hands CodePipeline a continuation token 3 s before \
         it, and CodePipeline invokes it again with a new job (local-aws waits 1 s before that \
         invocation).\n"
    );
    let _ = writeln!(
        out,
        "| invalidation | function timeout | runs | invocations (median) | jobs (median) | lag after `Completed` (median) | target |\n| ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for (i, c) in r.invocations.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} s | {} s | {} | **{}** | {} | {} | {} |",
            c.duration_s,
            c.lambda_timeout_s,
            c.runs.len(),
            count(c.invocations),
            count(c.jobs),
            secs(c.lag_s),
            if i == 0 {
                "1 (these are the lag runs above)".to_string()
            } else {
                let usable = c.lambda_timeout_s.saturating_sub(3).max(1);
                format!(
                    "none set; at least ⌈{} ÷ ({} − 3)⌉ = {}",
                    c.duration_s,
                    c.lambda_timeout_s,
                    c.duration_s.div_ceil(usable)
                )
            }
        );
    }
    out.push('\n');
}

fn planning_section(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## 4. Planning\n");
    let criterion = r.planning.iter().any(|p| p.criterion_median_ns.is_some());
    let _ = writeln!(
        out,
        "`cf_invalidate::plan::plan_paths` with `maxPaths` 3000 on a generated site \
         ([`bench/src/tree.rs`](../bench/src/tree.rs)): 40 % hashed assets three levels deep, 30 % \
         `docs/vN/guide/page-i/index.html`, 29 % images with spaces in their names, 1 % root pages. \
         Planning normalises and encodes every path, sorts and deduplicates them, then collapses them \
         into at most 3000 items and 15 wildcards. {}\n",
        if criterion {
            "The lead figure is criterion's median (`cargo bench --bench plan`, \
             [`benches/plan.rs`](../benches/plan.rs)); the harness's own median, taken later in \
             the same run, is beside it."
        } else {
            "criterion did not run (smoke run): the figures are the harness's own medians."
        }
    );
    let _ = writeln!(
        out,
        "| paths | median | per path | harness median | items in the plan (wildcards) | target |\n| ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for p in &r.planning {
        let _ = writeln!(
            out,
            "| {} | **{}** | {:.0} ns | {} (of {}) | {} ({}) | {} |",
            thousands(p.paths),
            ms_text(p.best_ns() / 1e6),
            p.ns_per_path(),
            ms_text(p.harness_median_ns / 1e6),
            p.harness_runs,
            p.items,
            p.wildcards,
            if p.paths == 100_000 { "< 100 ms" } else { "" }
        );
    }
    let spread = r
        .planning
        .iter()
        .filter_map(|p| p.criterion_median_ns.map(|c| c / p.harness_median_ns))
        .map(|ratio| if ratio < 1.0 { 1.0 / ratio } else { ratio })
        .fold(1.0, f64::max);
    if spread > 1.15 {
        let _ = writeln!(
            out,
            "\nThe two medians differ by up to {spread:.2}×. They were taken minutes apart on a \
             shared machine, and the builds differ: Cargo compiles a bench target with \
             `panic = \"unwind\"` whatever the profile says (rust-lang/cargo#11214), while the \
             harness is built like the shipped binaries (`panic = \"abort\"`)."
        );
    }
    if let (Some(first), Some(last)) = (r.planning.first(), r.planning.last())
        && first.paths < last.paths
    {
        let growth = last.ns_per_path() / first.ns_per_path();
        // What the sort alone (n log n) would add per path over the same range.
        let log_growth = (last.paths as f64).ln() / (first.paths as f64).ln();
        let _ = writeln!(
            out,
            "\nFrom {} to {} paths ({}× the input) the time grows {:.1}× and the cost per path {}: {}.\n",
            thousands(first.paths),
            thousands(last.paths),
            last.paths / first.paths,
            last.best_ns() / first.best_ns(),
            if growth <= 1.0 {
                format!("falls {:.2}×", 1.0 / growth)
            } else {
                format!("grows {growth:.2}×")
            },
            if growth <= 1.0 {
                "linear or better".to_string()
            } else {
                format!(
                    "a little more than linear; the planner sorts the paths, and an n log n sort \
                     alone would grow {log_growth:.2}× per path over this range"
                )
            }
        );
    }
}

fn size_section(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## 5. Size\n");
    let _ = writeln!(
        out,
        "The release's assets come from `scripts/release.sh --out target/dist` (cargo-lambda), \
         reported when `target/dist/` holds them, with their build date. The binaries this \
         benchmark ran are always reported; their zip is made by the harness with cargo-lambda's \
         layout (`bootstrap` alone, deflated). The release profile strips symbols.\n"
    );
    let _ = writeln!(
        out,
        "| artefact | size | bytes | built (UTC) |\n| --- | ---: | ---: | --- |"
    );
    for a in &r.sizes {
        let _ = writeln!(
            out,
            "| {} | **{:.2} MiB** | {} | {} |",
            a.what,
            a.bytes as f64 / 1024.0 / 1024.0,
            thousands(a.bytes as usize),
            a.built
        );
    }
    if !r.sizes.iter().any(|a| a.what.contains("release.sh")) {
        let _ = writeln!(
            out,
            "\n`target/dist/` holds no release: run `scripts/release.sh --out target/dist` before \
             `scripts/bench.sh` to report the release's zips and static CLI too."
        );
    }
    out.push('\n');
}

fn limits_section(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## What these figures do not say\n");
    let _ = writeln!(
        out,
        "- **This is not AWS Lambda.** Both functions run as plain processes on this {arch} machine, \
           not in a Firecracker micro-VM; Lambda's own init overhead (downloading and unpacking the \
           code, starting the sandbox) comes on top for both and is not measured. AWS's managed \
           Python runtime ships boto3 in its image, so its import cost is the same kind as here. \
           The arm64 zip is measured for size only: it cannot run on this machine.\n\
         - **Cold start is measured from the outside**: a warm page cache (one warm-up pair), a \
           128 MB function configuration that nothing enforces, and local HTTP calls that take well \
           under a millisecond. Real calls to CloudFront and CodePipeline over TLS add the same \
           round trips to both.\n\
         - **The lag is set by the schedules, not by CPU**: local-aws completes an invalidation at \
           an exact time, and the measured lag is that schedule plus milliseconds of calls. Below \
           10 s our polls are 1 s apart from the create, so a whole-second duration such as 5 s is \
           seen by a poll that lands just after it (lag: the calls' milliseconds); a completion \
           between two polls would be seen up to 1 s late. The waiter's lag also depends on when its \
           first poll happened (its Python start-up time).\n\
         - **Invocations**: CodePipeline's real delay before invoking a continuation is not \
           documented; local-aws waits 1 s.\n\
         - **Load**: other work was running on the machine (load average {} at the start); medians \
           and same-run ratios are there to absorb it, not to remove it.\n",
        r.machine.load_at_start,
        arch = std::env::consts::ARCH
    );
}

/// The line from which the report is written by hand (notes on past changes and their
/// measurements): a run keeps that part, marker included, below the figures it writes.
pub const KEPT_MARKER: &str =
    "<!-- Written by hand from here on: cf-invalidate-bench keeps it. -->";

/// `report` followed by the hand-written part of the `previous` report, if it had one.
pub fn with_kept_part(report: String, previous: Option<&str>) -> String {
    match previous.and_then(|text| text.find(KEPT_MARKER).map(|at| &text[at..])) {
        Some(kept) => format!("{}\n\n{kept}", report.trim_end_matches('\n')),
        None => report,
    }
}

/// The cold-start lines of the summary (all that `--cold-start-only` prints).
pub fn cold_start_summary(cs: &ColdStartSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  cold start   first /next {} vs {} (Python): {}×   PutJob result {} vs {}: {}×",
        ms_text(cs.ours.to_first_next_ms),
        ms_text(cs.python.to_first_next_ms),
        ratio(cs.init_ratio),
        ms_text(cs.ours.to_result_ms),
        ms_text(cs.python.to_result_ms),
        ratio(cs.result_ratio)
    );
    let _ = writeln!(
        out,
        "  memory       peak RSS {} vs {}: {}× less",
        mib(cs.ours.peak_rss_kib),
        mib(cs.python.peak_rss_kib),
        ratio(cs.memory_ratio)
    );
    out
}

/// The short summary printed on stdout at the end of a run.
pub fn summary(results: &Results, report: &Path, chart: &Path) -> String {
    let r = results;
    let cs = &r.cold_start;
    let mut out = String::new();
    let _ = writeln!(out, "\ncf-invalidate benchmarks ({} s)", r.wall_s.round());
    out.push_str(&cold_start_summary(cs));
    for c in &r.lag {
        let _ = writeln!(
            out,
            "  lag {:>3} s    ours {} ({} GetInvalidation) vs waiter {} ({}); target {}",
            c.duration_s,
            secs(c.ours_lag_s),
            count(c.ours_calls),
            secs(c.waiter_lag_s),
            count(c.waiter_calls),
            secs(c.target_s)
        );
    }
    let _ = writeln!(
        out,
        "  10 minutes   {} GetInvalidation calls (schedule); the waiter: {} then {}",
        r.ten_minutes.ours.calls,
        r.ten_minutes.waiter.calls,
        if r.ten_minutes.waiter.lag_s.is_none() {
            "gives up"
        } else {
            "done"
        }
    );
    for c in &r.invocations {
        let _ = writeln!(
            out,
            "  invocations  {} s invalidation, {} s timeout: {} invocation(s), {} job(s)",
            c.duration_s,
            c.lambda_timeout_s,
            count(c.invocations),
            count(c.jobs)
        );
    }
    for p in &r.planning {
        let _ = writeln!(
            out,
            "  planning     {} paths: {} ({:.0} ns/path)",
            thousands(p.paths),
            ms_text(p.best_ns() / 1e6),
            p.ns_per_path()
        );
    }
    for a in &r.sizes {
        let _ = writeln!(
            out,
            "  size         {}: {:.2} MiB",
            a.what,
            a.bytes as f64 / 1024.0 / 1024.0
        );
    }
    let _ = writeln!(out, "  report       {}", report.display());
    let _ = writeln!(out, "  chart        {}", chart.display());
    out
}

fn harness_command(settings: &Settings) -> String {
    // One option per line, as a shell would accept it.
    settings.invocation.replace(" --", " \\\n  --")
}

/// The chart's path relative to the report's directory when it is below it.
fn chart_link(settings: &Settings) -> String {
    let base: PathBuf = settings
        .report
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    settings
        .chart
        .strip_prefix(&base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| settings.chart.display().to_string())
}

/// `1 run`, `2 runs`, `10,000 invocations`: a count and the word that agrees with it.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

pub(crate) fn day(iso: &str) -> String {
    iso.split('T').next().unwrap_or(iso).to_string()
}

pub(crate) fn duration_text(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// `12.3 ms`, `1.23 s`.
pub(crate) fn ms_text(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

pub(crate) fn secs(s: f64) -> String {
    if s.is_finite() {
        format!("{s:.2} s")
    } else {
        "—".into()
    }
}

fn ratio(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

pub(crate) fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn count(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(ms_text(4.567), "4.57 ms");
        assert_eq!(ms_text(456.7), "457 ms");
        assert_eq!(ms_text(1234.0), "1.23 s");
        assert_eq!(ratio(37.6), "38");
        assert_eq!(ratio(6.14), "6.1");
        assert_eq!(count(1.0), "1");
        assert_eq!(count(2.5), "2.5");
    }

    #[test]
    fn a_rewrite_keeps_the_hand_written_part_and_drops_the_old_figures() {
        let previous = format!(
            "# Benchmarks\n\nold figures\n\n{KEPT_MARKER}\n\n## A change\n\nbefore 3 MiB, after 2 MiB\n"
        );
        let report = with_kept_part(
            "# Benchmarks\n\nnew figures\n\n".to_owned(),
            Some(&previous),
        );
        assert_eq!(
            report,
            format!(
                "# Benchmarks\n\nnew figures\n\n{KEPT_MARKER}\n\n## A change\n\nbefore 3 MiB, after 2 MiB\n"
            )
        );
    }

    #[test]
    fn a_report_without_the_marker_is_replaced_whole() {
        let report = with_kept_part("new\n".to_owned(), Some("old\n"));
        assert_eq!(report, "new\n");
        assert_eq!(with_kept_part("new\n".to_owned(), None), "new\n");
    }
}

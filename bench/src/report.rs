//! The report: each run writes its figures into named blocks of `docs/benchmarks.md`
//! (`<!-- bench:NAME -->` … `<!-- /bench:NAME -->`) and keeps every other line, so the prose
//! around the figures is written, and kept, by hand.

use std::path::Path;

pub(crate) use cf_invalidate::text::{format_duration, plural, thousands};

use crate::cold_start::{ColdStartSample, ColdStartSummary};
use crate::planning::PlanTiming;
use crate::run::{InvocationCase, LagCase, Results, Settings};
use crate::schedule::{self, Prediction};
use crate::size::Artefact;

/// One block of figures: its name in the markers, the heading it is given when a report
/// lacks it, and its markdown.
pub struct Block {
    pub name: &'static str,
    pub heading: Option<&'static str>,
    pub body: String,
}

impl Block {
    /// Blocks from `(name, heading, body)`, in the order they are written.
    pub fn list<const N: usize>(
        blocks: [(&'static str, Option<&'static str>, String); N],
    ) -> Vec<Self> {
        let block = |(name, heading, body)| Self {
            name,
            heading,
            body,
        };
        blocks.into_iter().map(block).collect()
    }
}

/// The fenced command line a section was produced by.
pub(crate) fn command_block(invocation: &str) -> String {
    format!("```sh\n{invocation}\n```")
}

/// A smoke run's warning, before a section's first line (nothing for a full run).
pub(crate) fn smoke_banner(smoke: bool, command: &str, ran: &str, proves: &str) -> String {
    if !smoke {
        return String::new();
    }
    format!(
        "> **Smoke run** (`{command}`): {ran}. It proves the {proves} works; its figures are not \
         the project's figures.\n\n"
    )
}

/// `yes`, or a bold `no`: whether a target was met.
pub(crate) fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

pub fn begin_marker(name: &str) -> String {
    format!("<!-- bench:{name} -->")
}

pub fn end_marker(name: &str) -> String {
    format!("<!-- /bench:{name} -->")
}

/// `report` with each block's text between its markers replaced; a block the report lacks is
/// added at the end under its heading, so that a new report holds every figure.
pub fn splice(report: &str, blocks: &[Block]) -> String {
    let mut out = report.to_owned();
    for block in blocks {
        let (begin, end) = (begin_marker(block.name), end_marker(block.name));
        let text = format!("{begin}\n{}\n{end}", block.body.trim_end());
        let found = out
            .find(&begin)
            .and_then(|at| Some((at, at + out[at..].find(&end)? + end.len())));
        match found {
            Some((start, stop)) => out.replace_range(start..stop, &text),
            None => {
                out.truncate(out.trim_end().len());
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                if let Some(heading) = block.heading {
                    out.push_str(heading);
                    out.push_str("\n\n");
                }
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    out
}

/// A markdown table; a header cell that starts with `>` heads a right-aligned column.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let row = |cells: &mut dyn Iterator<Item = &str>| {
        cells.fold("|".to_string(), |line, cell| match cell {
            "" => line + " |",
            cell => format!("{line} {cell} |"),
        })
    };
    let names = header.iter().map(|h| h.trim_start_matches('>'));
    let mut rule = header
        .iter()
        .map(|h| if h.starts_with('>') { "---:" } else { "---" });
    let mut out = format!("{}\n{}\n", row(&mut names.into_iter()), row(&mut rule));
    for cells in rows {
        out.push_str(&row(&mut cells.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// A column of a table of `T`s: its header (as in [`table`]) and its cell for each item.
pub type Column<'a, T> = (&'a str, &'a dyn Fn(&T) -> String);

/// A markdown table with one row per item.
pub fn columns<T>(items: &[T], columns: &[Column<T>]) -> String {
    let header: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| columns.iter().map(|c| c.1(item)).collect())
        .collect();
    table(&header, &rows)
}

/// The blocks of the full run (every section but the S3 events').
pub fn blocks(r: &Results, settings: &Settings) -> Vec<Block> {
    Block::list([
        ("run", None, run_line(r, settings)),
        ("headline", Some("## Headline"), headline(r)),
        (
            "command",
            Some("## Reproduce"),
            command_block(&settings.invocation),
        ),
        ("machine", Some("## Machine"), machine(r, settings)),
        (
            "cold-start",
            Some("## 1. Cold start"),
            cold_start(&r.cold_start),
        ),
        (
            "lag",
            Some("## 2. Completion-detection lag"),
            lag(r, settings),
        ),
        ("schedule", None, schedules(r)),
        (
            "invocations",
            Some("## 3. Invocations per job"),
            invocations(r),
        ),
        ("planning", Some("## 4. Planning"), planning(r)),
        ("sizes", Some("## 5. Size"), sizes(r)),
    ])
}

fn run_line(r: &Results, settings: &Settings) -> String {
    let ran = "one run of each measurement, 2-3 s invalidations, no criterion";
    let banner = smoke_banner(r.smoke, &settings.command, ran, "harness");
    format!(
        "{banner}Every figure below comes from one run of `{}` on {} ({} of measurements).",
        settings.command,
        day(&r.machine.date),
        format_duration(std::time::Duration::from_secs_f64(r.wall_s))
    )
}

pub fn headline(r: &Results) -> String {
    let cs = &r.cold_start;
    let lags = |pick: fn(&LagCase) -> f64| -> String {
        let texts: Vec<String> = r.lag.iter().map(|c| secs(pick(c))).collect();
        texts.join(" / ")
    };
    let durations: Vec<String> = r
        .lag
        .iter()
        .map(|c| format!("{} s", c.duration_s))
        .collect();
    let within = r.lag.iter().all(|c| c.ours_lag_s <= c.target_s);
    let ten = &r.ten_minutes;
    format!(
        "- **Cold start {}× faster** than the Python baseline (boto3 under awslambdaric): \
         `cf-invalidate-lambda` asks for its first event {} after spawn, the baseline {} \
         (target: at least 30×). The first job is reported {}× sooner ({} against {}).\n\
         - **{}× less memory**: peak RSS {} against {} (target: at least 4×).\n\
         - **Completion noticed {} after `Completed`** for {} invalidations (median), against {} \
         for `aws cloudfront wait invalidation-completed`; {} max(1 s, 10 % of the wait).\n\
         - **{} GetInvalidation calls for a 10-minute invalidation** (from the schedule; target: \
         at most 65). The waiter makes {} and then {}.",
        ratio(cs.init_ratio),
        ms_text(cs.ours.to_first_next_ms),
        ms_text(cs.python.to_first_next_ms),
        ratio(cs.result_ratio),
        ms_text(cs.ours.to_result_ms),
        ms_text(cs.python.to_result_ms),
        ratio(cs.memory_ratio),
        mib(cs.ours.peak_rss_kib),
        mib(cs.python.peak_rss_kib),
        lags(|c| c.ours_lag_s),
        durations.join(", "),
        lags(|c| c.waiter_lag_s),
        if within {
            "within the target of"
        } else {
            "**not always within** the target of"
        },
        ten.ours.calls,
        ten.waiter.calls,
        if ten.waiter.lag_s.is_none() {
            "fails (`Max attempts exceeded`): it gives up after 30 × 20 s"
        } else {
            "sees it"
        }
    )
}

fn machine(r: &Results, settings: &Settings) -> String {
    let m = &r.machine;
    let rows = [
        ("date (UTC)", m.date.clone()),
        (
            "CPU",
            format!("{} × {} ({})", m.cpus, m.cpu, std::env::consts::ARCH),
        ),
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
    table(&["", ""], &rows.map(|(k, v)| vec![k.to_string(), v]))
}

/// The cold-start table and every run behind it (all that `--cold-start-only` prints).
pub fn cold_start(cs: &ColdStartSummary) -> String {
    let runs = format!("median of {} run{}", cs.runs, plural(cs.runs));
    let (o, p) = (&cs.ours, &cs.python);
    let medians = format!(
        "| {runs} | cf-invalidate-lambda | Python baseline | ratio (median of pairs) | target |\n\
         | --- | ---: | ---: | ---: | --- |\n\
         | spawn → first `/next` (init) | {} | {} | **{}×** (pairs: {}× to {}×) | ≥ 30× |\n\
         | spawn → PutJobSuccessResult | {} | {} | **{}×** | |\n\
         | peak RSS | {} | {} | **{}×** | ≥ 4× |\n",
        ms_text(o.to_first_next_ms),
        ms_text(p.to_first_next_ms),
        ratio(cs.init_ratio),
        ratio(cs.init_ratio_range.0),
        ratio(cs.init_ratio_range.1),
        ms_text(o.to_result_ms),
        ms_text(p.to_result_ms),
        ratio(cs.result_ratio),
        mib(o.peak_rss_kib),
        mib(p.peak_rss_kib),
        ratio(cs.memory_ratio),
    );
    let cells: [Column<ColdStartSample>; 5] = [
        (">run", &|s| s.run.to_string()),
        ("function", &|s| s.implementation.label().into()),
        (">first `/next`", &|s| ms_text(s.to_first_next_ms)),
        (">PutJob result", &|s| ms_text(s.to_result_ms)),
        (">peak RSS", &|s| mib(s.peak_rss_kib as f64)),
    ];
    format!(
        "{medians}\n<details><summary>Every run</summary>\n\n{}\n</details>",
        columns(&cs.samples, &cells)
    )
}

fn lag(r: &Results, settings: &Settings) -> String {
    let within = |c: &LagCase| yes(c.ours_lag_s <= c.target_s).into();
    let cells: [Column<LagCase>; 9] = [
        (">invalidation", &|c| format!("{} s", c.duration_s)),
        (">runs", &|c| c.ours.len().to_string()),
        (">ours: lag (median)", &|c| {
            format!("**{}**", secs(c.ours_lag_s))
        }),
        (">ours: GetInvalidation", &|c| count(c.ours_calls)),
        (">waiter: lag (median)", &|c| secs(c.waiter_lag_s)),
        (">waiter: GetInvalidation", &|c| count(c.waiter_calls)),
        (">waiter ÷ ours", &|c| {
            c.lag_ratio.map_or("—".into(), |x| format!("{}×", ratio(x)))
        }),
        (">target lag max(1 s, 10 %)", &|c| secs(c.target_s)),
        ("ours within it", &within),
    ];
    format!(
        "{}\n![Detection lag against invalidation duration]({})",
        columns(&r.lag, &cells),
        relative_link(&settings.report, &settings.chart)
    )
}

fn schedules(r: &Results) -> String {
    let ten = std::time::Duration::from_secs(600);
    let mut cases: Vec<(String, Prediction, Prediction)> = r
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
    cases.push((
        "**10 min**".into(),
        schedule::ours(ten),
        schedule::waiter(ten),
    ));
    let lag = |p: &Prediction| p.lag_s.map_or("gives up (fails)".into(), secs);
    let cells: [Column<(String, Prediction, Prediction)>; 5] = [
        (">invalidation", &|c| c.0.clone()),
        (">ours: calls", &|c| c.1.calls.to_string()),
        (">ours: lag", &|c| lag(&c.1)),
        (">waiter: calls", &|c| c.2.calls.to_string()),
        (">waiter: lag", &|c| lag(&c.2)),
    ];
    let gaps = &r.ten_minutes.our_gaps_s;
    let ones = gaps.iter().take_while(|g| **g <= 1.0).count();
    let twenties = gaps.iter().filter(|g| **g >= 20.0).count();
    format!(
        "{}\nFor a 10-minute invalidation our schedule is {ones} polls 1 s apart (the first 10 s), \
         {} polls whose gap grows by 10 % each, then {twenties} polls 20 s apart: **{} calls** \
         (target: at most 65).",
        columns(&cases, &cells),
        gaps.len() - ones - twenties,
        r.ten_minutes.ours.calls
    )
}

fn invocations(r: &Results) -> String {
    let target = |c: &InvocationCase| match c.lambda_timeout_s {
        t if t == r.plan.lag_lambda_timeout_s => "1 (these are the lag runs above)".to_string(),
        t => format!(
            "none set; at least ⌈{} ÷ ({t} − 3)⌉ = {}",
            c.duration_s,
            c.duration_s.div_ceil(t.saturating_sub(3).max(1))
        ),
    };
    let cells: [Column<InvocationCase>; 7] = [
        (">invalidation", &|c| format!("{} s", c.duration_s)),
        (">function timeout", &|c| {
            format!("{} s", c.lambda_timeout_s)
        }),
        (">runs", &|c| c.runs.len().to_string()),
        (">invocations (median)", &|c| {
            format!("**{}**", count(c.invocations))
        }),
        (">jobs (median)", &|c| count(c.jobs)),
        (">lag after `Completed` (median)", &|c| secs(c.lag_s)),
        ("target", &target),
    ];
    columns(&r.invocations, &cells)
}

fn planning(r: &Results) -> String {
    let cells: [Column<PlanTiming>; 6] = [
        (">paths", &|p| thousands(p.paths)),
        (">median", &|p| {
            format!("**{}**", ms_text(p.best_ns() / 1e6))
        }),
        (">per path", &|p| format!("{:.0} ns", p.ns_per_path())),
        (">harness median", &|p| {
            format!(
                "{} (of {})",
                ms_text(p.harness_median_ns / 1e6),
                p.harness_runs
            )
        }),
        (">items in the plan (wildcards)", &|p| {
            format!("{} ({})", p.items, p.wildcards)
        }),
        ("target", &|p| {
            (if p.paths == 100_000 { "< 100 ms" } else { "" }).into()
        }),
    ];
    let mut out = columns(&r.planning, &cells);
    if r.planning.iter().all(|p| p.criterion_median_ns.is_none()) {
        out.push_str("\ncriterion did not run: the medians are the harness's own.\n");
    }
    let spread = r
        .planning
        .iter()
        .filter_map(|p| p.criterion_median_ns.map(|c| c / p.harness_median_ns))
        .map(|x| x.max(1.0 / x))
        .fold(1.0, f64::max);
    if spread > 1.15 {
        out.push_str(&format!(
            "\nThe two medians differ by up to {spread:.2}×.\n"
        ));
    }
    if let (Some(first), Some(last)) = (r.planning.first(), r.planning.last())
        && first.paths < last.paths
    {
        // What the sort alone (n log n) would add per path over the same range.
        let log_growth = (last.paths as f64).ln() / (first.paths as f64).ln();
        out.push_str(&format!(
            "\nFrom {} to {} paths ({}× the input) the time grows {:.1}× and the cost per path \
             {:.2}×; an n log n sort alone would grow {log_growth:.2}× per path over this range.\n",
            thousands(first.paths),
            thousands(last.paths),
            last.paths / first.paths,
            last.best_ns() / first.best_ns(),
            last.ns_per_path() / first.ns_per_path(),
        ));
    }
    out
}

fn sizes(r: &Results) -> String {
    let cells: [Column<Artefact>; 4] = [
        ("artefact", &|a| a.what.clone()),
        (">size", &|a| {
            format!("**{:.2} MiB**", a.bytes as f64 / 1024.0 / 1024.0)
        }),
        (">bytes", &|a| {
            thousands(usize::try_from(a.bytes).unwrap_or(usize::MAX))
        }),
        ("built (UTC)", &|a| a.built.clone()),
    ];
    let mut out = columns(&r.sizes, &cells);
    if !r.sizes.iter().any(|a| a.what.contains("release.sh")) {
        out.push_str(
            "\n`target/dist/` holds no release (`scripts/release.sh --out target/dist`).\n",
        );
    }
    out
}

/// `path` relative to the report's directory when it is below it (for links).
pub(crate) fn relative_link(report: &Path, path: &Path) -> String {
    let base = report.parent().unwrap_or(Path::new(""));
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) fn day(iso: &str) -> String {
    iso.split('T').next().unwrap_or(iso).to_string()
}

/// `4.57 ms`, `12.3 ms`, `457 ms`, `1.23 s`.
pub(crate) fn ms_text(ms: f64) -> String {
    match ms {
        _ if !ms.is_finite() => "—".into(),
        1000.0.. => format!("{:.2} s", ms / 1000.0),
        100.0.. => format!("{ms:.0} ms"),
        10.0.. => format!("{ms:.1} ms"),
        _ => format!("{ms:.2} ms"),
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
    match x {
        _ if !x.is_finite() => "—".into(),
        10.0.. => format!("{x:.0}"),
        _ => format!("{x:.1}"),
    }
}

pub(crate) fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn count(x: f64) -> String {
    match x {
        _ if !x.is_finite() => "—".into(),
        _ if x.fract() == 0.0 => format!("{x:.0}"),
        _ => format!("{x:.1}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(ms_text(4.567), "4.57 ms");
        assert_eq!(ms_text(45.67), "45.7 ms");
        assert_eq!(ms_text(456.7), "457 ms");
        assert_eq!(ms_text(1234.0), "1.23 s");
        assert_eq!(ratio(37.6), "38");
        assert_eq!(ratio(6.14), "6.1");
        assert_eq!(count(1.0), "1");
        assert_eq!(count(2.5), "2.5");
    }

    #[test]
    fn a_table_aligns_the_columns_its_header_marks() {
        let rows = [
            vec!["a".to_string(), "1".to_string()],
            vec![String::new(), "2".to_string()],
        ];
        assert_eq!(
            table(&["name", ">n"], &rows),
            "| name | n |\n| --- | ---: |\n| a | 1 |\n| | 2 |\n"
        );
    }

    #[test]
    fn a_run_replaces_its_blocks_and_keeps_every_other_line() {
        // GIVEN a report with prose around one block, and a block it lacks
        let report = "# B\n\nhand\n\n<!-- bench:a -->\nold\n<!-- /bench:a -->\n\nkept\n";
        let blocks = [
            ("a", Some("## A"), "new\n".into()),
            ("b", Some("## B"), "more".into()),
        ];
        let blocks = Block::list(blocks);
        // THEN the block is rewritten in place, and the missing one added at the end
        assert_eq!(
            splice(report, &blocks),
            "# B\n\nhand\n\n<!-- bench:a -->\nnew\n<!-- /bench:a -->\n\nkept\n\n\
             ## B\n\n<!-- bench:b -->\nmore\n<!-- /bench:b -->\n"
        );
        assert_eq!(
            splice("", &blocks[1..]),
            "## B\n\n<!-- bench:b -->\nmore\n<!-- /bench:b -->\n"
        );
    }
}

//! The S3-events section of `docs/benchmarks.md`, between its two markers: written by
//! `--events-only`, which replaces that section alone, and kept as it is by the full run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::events::{EventsResults, EventsSettings, MEMORY_TARGET_KIB, SideResult};
use crate::report::{KEPT_MARKER, day, duration_text, mib, plural, secs, thousands};

/// The line that opens the section.
pub const BEGIN: &str = "<!-- events:begin: written by ./scripts/bench.sh --events -->";
/// The line that closes it.
pub const END: &str = "<!-- events:end -->";
/// The section's heading.
pub const HEADING: &str = "## 6. S3 events: cf-invalidate-events against the sample users copy";
/// Where the section goes in a report that has none: before this heading.
const LIMITS_HEADING: &str = "## What these figures do not say";

/// The section of `report`, markers included, if it has one.
pub fn section_of(report: &str) -> Option<&str> {
    let start = report.find(BEGIN)?;
    let end = start + report[start..].find(END)? + END.len();
    Some(&report[start..end])
}

/// The section a report gets before any events run.
pub fn placeholder() -> String {
    format!(
        "{BEGIN}\n{HEADING}\n\nNot measured yet: `./scripts/bench.sh --events` measures it and \
         writes this section.\n{END}"
    )
}

/// `report` with its events section replaced by `section`; a report without one gets it
/// before "What these figures do not say" (or the hand-written part, or at the end).
pub fn splice(report: &str, section: &str) -> String {
    if let Some(old) = section_of(report)
        && let Some(start) = report.find(old)
    {
        return format!(
            "{}{section}{}",
            &report[..start],
            &report[start + old.len()..]
        );
    }
    let at = report
        .find(LIMITS_HEADING)
        .or_else(|| report.find(KEPT_MARKER));
    match at {
        Some(at) => format!("{}{section}\n\n{}", &report[..at], &report[at..]),
        None if report.is_empty() => format!("{section}\n"),
        None => format!("{}\n\n{section}\n", report.trim_end_matches('\n')),
    }
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn covered_after(side: &SideResult) -> String {
    side.last_key_covered_ms
        .map_or("**never**".to_string(), |ms| secs(ms as f64 / 1000.0))
}

fn n(v: u64) -> String {
    thousands(usize::try_from(v).unwrap_or(usize::MAX))
}

/// The chart's path relative to the report's directory when it is below it.
fn chart_link(report: &Path, chart: &Path) -> String {
    let base: PathBuf = report.parent().map(Path::to_path_buf).unwrap_or_default();
    chart
        .strip_prefix(&base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| chart.display().to_string())
}

/// The section, markers included.
pub fn section(r: &EventsResults, settings: &EventsSettings) -> String {
    let mut out = String::new();
    let p = &r.plan;
    let (o, s) = (&r.ours, &r.sample);
    let t = &r.targets;
    let _ = writeln!(out, "{BEGIN}\n{HEADING}\n");
    if r.smoke {
        let _ = writeln!(
            out,
            "> **Smoke run** (`{}`): {} uploads. It proves the comparison works; its figures are \
             not the project's figures.\n",
            settings.command, p.uploads
        );
    }
    let _ = writeln!(
        out,
        "From one run of `{}` on {} ({} of measurements; {} × {}, load average {} at the start, \
         {} at the end; `{}` build). That command rewrites this section alone; the full run \
         keeps it as it is.\n",
        settings.command,
        day(&r.machine.date),
        duration_text(r.wall_s),
        r.machine.cpus,
        r.machine.cpu,
        r.machine.load_at_start,
        r.load_at_end,
        settings.profile
    );
    let e = &o.report.events;
    let _ = writeln!(
        out,
        "The same burst goes to both functions on one local-aws, through its \
         [events driver](local-aws.md#events-uploads-a-queue-and-an-event-source-mapping): \
         {} S3 event notifications (seed {}, spread over {}): {} uploads ({} multipart, \
         {} directory markers) and {} deletes. {:.0} % of the keys are plain \
         (`assets/js/app-12.js`, `docs/guide/section-40/index.html`), the others awkward \
         (spaces, `+`, `%`, `&`, `*`, brackets, non-ASCII and emoji folders); re-uploads \
         and deletes of earlier keys come in between. Each function invalidates two distributions \
         of its own; an invalidation stays `InProgress` {} to {}, and CloudFront's limits \
         apply (3000 file paths and 15 wildcard paths in progress per distribution).\n",
        thousands(p.uploads),
        p.seed,
        secs(p.burst_ms as f64 / 1000.0),
        n(e.uploads),
        n(e.multipart_uploads),
        n(e.directory_markers),
        n(e.deletes),
        (1.0 - p.awkward_keys) * 100.0,
        secs(p.completion_ms.0 as f64 / 1000.0),
        secs(p.completion_ms.1 as f64 / 1000.0),
    );
    let _ = writeln!(
        out,
        "- **cf-invalidate-events**, delivered as `infra/events.yaml` deploys it: S3 → SQS → an \
         event source mapping with `BatchSize` {}, a batching window of {} (the template's 60 s, \
         scaled down), `MaximumConcurrency` {}, a function timeout of {} s, a visibility timeout \
         of {} s (the template's 360 s, scaled down to the least Lambda accepts) and \
         `maxReceiveCount` {}; `CF_INVALIDATE_PARAMETERS` `{}` (so `maxPaths` is its default, \
         {}).\n\
         - **the Python sample** \
         ([`bench/python_events_sample/handler.py`](../bench/python_events_sample/handler.py)), \
         the function users copy today: it reads `Records[0]` only, uses the key as it arrives \
         (form-encoded: `my+file.html` for `my file.html`), creates one invalidation per record \
         and distribution with the CallerReference `\"lambda-\" + key`, and retries nothing. S3 \
         invokes it once per notification (an asynchronous invocation), {} at a time, under \
         awslambdaric from the same virtualenv as the cold-start baseline; function timeout {} s; \
         Lambda's two retries after an error come {} and {} later (about 1 and 2 minutes on \
         AWS).\n",
        p.batch_size,
        secs(p.batching_window_ms as f64 / 1000.0),
        p.concurrency,
        p.function_timeout_s,
        p.visibility_timeout_s,
        p.max_receive_count,
        o.report.parameters,
        p.max_paths,
        p.sample_concurrency,
        p.sample_timeout_s,
        secs(p.retry_delay_ms as f64 / 1000.0),
        secs(2.0 * p.retry_delay_ms as f64 / 1000.0),
    );

    let (oc, sc) = (&o.report.cloudfront, &s.report.cloudfront);
    let per_distribution = |side: &SideResult| {
        side.invalidations_per_distribution
            .values()
            .map(|v| n(*v))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let target_invalidations = p.invalidations_target();
    let memory = &r.memory;
    let _ = writeln!(
        out,
        "| | cf-invalidate-events | Python sample | target (ours) | met |\n| --- | ---: | ---: | --- | --- |"
    );
    let rows: Vec<[String; 4]> = vec![
        [
            "invocations (cold starts)".into(),
            format!(
                "{} ({})",
                n(o.report.invocations.total),
                n(o.report.invocations.cold_starts)
            ),
            format!(
                "{} ({})",
                n(s.report.invocations.total),
                n(s.report.invocations.cold_starts)
            ),
            String::new(),
        ],
        [
            "CreateInvalidation calls (refused ones included)".into(),
            format!("**{}**", n(oc.create_calls)),
            n(sc.create_calls),
            String::new(),
        ],
        [
            "invalidations created (per distribution)".into(),
            format!(
                "**{}** ({})",
                n(oc.invalidations_created),
                per_distribution(o)
            ),
            format!("{} ({})", n(sc.invalidations_created), per_distribution(s)),
            format!(
                "≤ ⌈{} ÷ {}⌉ = {} per distribution | {}",
                thousands(p.uploads),
                thousands(p.batch_size),
                target_invalidations,
                yes(t.invalidations)
            ),
        ],
        [
            "paths billed (wildcards)".into(),
            format!("**{}** ({})", n(oc.paths_billed), n(oc.wildcard_paths)),
            format!("{} ({})", n(sc.paths_billed), n(sc.wildcard_paths)),
            format!(
                "≤ `maxPaths` ({}) per invalidation; most in one: {} | {}",
                p.max_paths,
                o.most_paths_in_one_invalidation,
                yes(t.paths_per_invalidation)
            ),
        ],
        [
            "`TooManyInvalidationsInProgress` answers".into(),
            n(oc.too_many_in_progress),
            n(sc.too_many_in_progress),
            String::new(),
        ],
        [
            "key events left stale (of key events × distributions)".into(),
            format!("**{}** of {}", n(o.stale_key_events), n(o.key_events)),
            format!("**{}** of {}", n(s.stale_key_events), n(s.key_events)),
            format!("0 | {}", yes(t.no_stale_keys)),
        ],
        [
            "last key covered (notification → covering invalidation `Completed`)".into(),
            covered_after(o),
            covered_after(s),
            String::new(),
        ],
        [
            "events dead-lettered (ours) / dropped after Lambda's retries (sample)".into(),
            n(o.report.messages.dead_lettered),
            n(s.report.messages.dead_lettered),
            String::new(),
        ],
        [
            "wall time (burst, queue drained, processes stopped)".into(),
            secs(o.wall_ms as f64 / 1000.0),
            secs(s.wall_ms as f64 / 1000.0),
            String::new(),
        ],
        [
            format!(
                "peak RSS on the largest batch ({} records, {:.2} MB)",
                thousands(
                    usize::try_from(memory.run.report.invocations.largest_batch).unwrap_or(0)
                ),
                memory.run.report.invocations.largest_payload_bytes as f64 / 1e6
            ),
            memory.peak_rss_kib().map_or("not read".to_string(), |kib| {
                format!("**{}**", mib(kib as f64))
            }),
            "not measured".into(),
            format!("< {} | {}", mib(MEMORY_TARGET_KIB as f64), yes(t.memory)),
        ],
    ];
    for [what, ours, sample, target] in rows {
        let target = if target.is_empty() {
            " | ".to_string()
        } else {
            target
        };
        let _ = writeln!(out, "| {what} | {ours} | {sample} | {target} |");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "![S3 events: CreateInvalidation calls, paths billed, stale keys and time to the last key covered, ours against the Python sample]({})\n",
        chart_link(&settings.report, &settings.chart)
    );

    // What the figures mean.
    let _ = writeln!(out, "What the rows mean:\n");
    let refused = oc.create_calls.saturating_sub(oc.invalidations_created);
    let _ = writeln!(
        out,
        "- **Calls against invalidations, ours**: {} calls created {} invalidations. {}",
        n(oc.create_calls),
        n(oc.invalidations_created),
        if refused == 0 {
            "Every call created one.".to_string()
        } else {
            format!(
                "The other {} were refused ({} with `TooManyInvalidationsInProgress`{}): a \
                 batch's planned paths collapse into wildcards, CloudFront holds at most 15 \
                 wildcard paths in progress per distribution, and the function waits (2 s, 4 s, \
                 … up to 30 s) and asks again within the same invocation, so a refused call \
                 costs time, not a stale key or a second invalidation.",
                n(refused),
                n(oc.too_many_in_progress),
                if oc.other_errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {}",
                        oc.other_errors
                            .iter()
                            .map(|(k, v)| format!("{v} `{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )
        }
    );
    let oi = &o.report.invocations;
    let om = &o.report.messages;
    let _ = writeln!(
        out,
        "- **Invalidations per distribution, ours**: at most {} on one distribution against a \
         target of {}: one per invocation and distribution, and {} for {} messages \
         ({} redelivered). {}",
        o.most_invalidations_on_one_distribution(),
        target_invalidations,
        plural(
            usize::try_from(oi.total).unwrap_or(usize::MAX),
            "invocation",
            "invocations"
        ),
        n(om.sent),
        n(om.redelivered),
        if oi.total > target_invalidations {
            format!(
                "So at least one batch went out short of {} records: a batch goes when it is \
                 full, when its window of {} ends, or at 6 MB (the largest here was {:.2} MB), \
                 and the {} pollers gather at once, so the burst's last records are shared \
                 between batches that each wait out their window. The target counts full \
                 batches only.",
                thousands(p.batch_size),
                secs(p.batching_window_ms as f64 / 1000.0),
                oi.largest_payload_bytes as f64 / 1e6,
                p.concurrency
            )
        } else {
            "The batches were as full as the burst allows.".to_string()
        }
    );
    let sample_reused = sc.create_calls.saturating_sub(sc.invalidations_created);
    let _ = writeln!(
        out,
        "- **The sample**: {} calls created {} invalidations, one path each. {} The keys it \
         leaves stale have two causes: a key with a space, `+`, `%` or non-ASCII characters \
         is requested in its form-encoded spelling (`/my+file.html` is not `/my file.html`), \
         and a second event on a key (a re-upload, or a delete after the upload) sends the \
         same CallerReference, so CloudFront answers with the first event's invalidation, \
         created before the second notification, and nothing new is invalidated; besides, \
         every refused call (TooManyInvalidationsInProgress once thousands of single-path \
         invalidations are in progress) ends the invocation in an error, and after Lambda's \
         two retries the event is dropped.",
        n(sc.create_calls),
        n(sc.invalidations_created),
        if sample_reused == 0 {
            "Every call created one.".to_string()
        } else {
            format!(
                "The other {} got an earlier invalidation back: the CallerReference \
                 `\"lambda-\" + key` was already used{}.",
                n(sample_reused),
                if sc.too_many_in_progress + sc.other_errors.values().sum::<u64>() > 0 {
                    ", or the call was refused"
                } else {
                    ""
                }
            )
        }
    );
    let examples: Vec<String> = s
        .report
        .coverage
        .uncovered_keys
        .iter()
        .take(5)
        .map(|u| {
            format!(
                "`{}` ({}, on {})",
                u.key.replace('`', "'"),
                u.change.event_name(),
                u.target
            )
        })
        .collect();
    if !examples.is_empty() {
        let _ = writeln!(
            out,
            "  Stale after the sample, the first the driver lists: {}.",
            examples.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "- **Last key covered**: the longest time from a notification to the completion of an \
         invalidation, created after it, that covers its key (\"never\" when a key is left \
         stale). Ours waits for its batching window and, when CloudFront refuses, for the \
         wildcards of the batch before; invalidations here complete within {}, where \
         CloudFront takes minutes.",
        secs(p.completion_ms.1 as f64 / 1000.0)
    );
    let mem = &memory.run.report.invocations;
    let _ = writeln!(
        out,
        "- **Peak memory**: a separate run of ours on the same burst and a new pair of \
         distributions, with `BatchSize` {} and a batching window of {}, one invocation at a \
         time, so that one process takes every batch. {} It took {}, the largest \
         {} records ({:.2} MB of event); the figure is the largest resident set of that \
         process (`VmHWM` in `/proc/<pid>/status`, read by the driver just before it stopped \
         the process). That run left {} key events stale.\n",
        thousands(memory.batch_size),
        secs(p.memory_window_ms as f64 / 1000.0),
        if memory.split_by_payload_limit {
            let per_record = mem.largest_payload_bytes as f64 / mem.largest_batch.max(1) as f64;
            format!(
                "The batch is split: Lambda caps a synchronous invocation's payload at 6 MB, so \
                 an event source mapping cannot hand one invocation 10,000 S3 notifications. \
                 The driver counts each record as its body plus 1 KB for the SQS record around \
                 it and cuts the batch before that count passes 6 MB; the event it sent came to \
                 {:.2} KB a record, so a cut on the exact size would fit about {} records, \
                 still not 10,000.",
                per_record / 1000.0,
                thousands(
                    (local_aws::events::MAX_PAYLOAD_BYTES as f64 / per_record.max(1.0)) as usize
                )
            )
        } else {
            "The batch was not split by the 6 MB payload limit.".to_string()
        },
        plural(
            usize::try_from(mem.total).unwrap_or(usize::MAX),
            "invocation",
            "invocations"
        ),
        n(mem.largest_batch),
        mem.largest_payload_bytes as f64 / 1e6,
        n(memory.run.stale_key_events),
    );

    let _ = writeln!(out, "What these figures do not say:\n");
    let _ = writeln!(
        out,
        "- **Time is scaled down**: the batching window ({} for 60 s), Lambda's retry delays \
         ({} for about a minute) and CloudFront's completion ({} to {} for minutes). With real \
         completion times, more batches meet the 15 in-progress wildcard paths and wait \
         longer; and the sample's single paths count against CloudFront's 3000 file paths in \
         progress per distribution: the faster a deploy uploads and the slower invalidations \
         complete, the sooner it passes them, and each refused call is an error that Lambda \
         retries twice and then drops.\n\
         - **Batches depend on timing**: which batch a message lands in varies from run to \
         run (the seed repeats the burst, not the interleaving), so a run can make one short \
         batch more than ⌈uploads ÷ batch size⌉ when the pollers share the burst's tail.\n\
         - **The sample's concurrency is chosen**: Lambda scales an asynchronous function out \
         by itself, and {} at a time is this run's choice for a machine of two cores; it sets \
         the sample's wall time, not its calls, invalidations or stale keys.\n\
         - **This is not AWS Lambda or S3**: both functions run as local processes against \
         local-aws, and the notifications are the driver's (S3's shape and key encoding, \
         [local-aws.md](local-aws.md#what-it-plays)).\n",
        secs(p.batching_window_ms as f64 / 1000.0),
        secs(p.retry_delay_ms as f64 / 1000.0),
        secs(p.completion_ms.0 as f64 / 1000.0),
        secs(p.completion_ms.1 as f64 / 1000.0),
        p.sample_concurrency
    );
    let _ = writeln!(
        out,
        "Reproduce (about {} once built; the release build of `cf-invalidate-events` and the \
         harness comes first):\n\n```sh\n./scripts/bench.sh --events   # this section and {} only; the rest of the page stays as it is\n```\n\nThis run's harness command:\n\n```sh\n{}\n```",
        duration_text(r.wall_s),
        chart_link(&settings.report, &settings.chart),
        settings.invocation
    );
    let _ = write!(out, "{END}");
    out
}

/// The lines printed at the end of an events run.
pub fn summary(r: &EventsResults, report: &Path, chart: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nS3 events: {} uploads ({} s)",
        thousands(r.plan.uploads),
        r.wall_s.round()
    );
    let t = &r.targets;
    for side in [&r.ours, &r.sample] {
        let c = &side.report.cloudfront;
        let _ = writeln!(
            out,
            "  {:<21} {} CreateInvalidation calls, {} invalidations ({}), {} paths billed, {} TooManyInvalidationsInProgress, {} of {} key events stale, last key covered {}, wall {}",
            side.side.label(),
            c.create_calls,
            c.invalidations_created,
            side.invalidations_per_distribution
                .iter()
                .map(|(id, v)| format!("{id} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            c.paths_billed,
            c.too_many_in_progress,
            side.stale_key_events,
            side.key_events,
            side.last_key_covered_ms
                .map_or("never".to_string(), |ms| secs(ms as f64 / 1000.0)),
            secs(side.wall_ms as f64 / 1000.0)
        );
    }
    let m = &r.memory;
    let _ = writeln!(
        out,
        "  memory                peak RSS {} on batches of up to {} records ({:.2} MB; BatchSize {}{}), {} invocations",
        m.peak_rss_kib()
            .map_or("not read".to_string(), |kib| mib(kib as f64)),
        m.run.report.invocations.largest_batch,
        m.run.report.invocations.largest_payload_bytes as f64 / 1e6,
        m.batch_size,
        if m.split_by_payload_limit {
            ", split by the 6 MB payload limit"
        } else {
            ""
        },
        m.run.report.invocations.total
    );
    let _ = writeln!(
        out,
        "  targets (ours)        stale keys 0: {}; ≤ {} invalidations per distribution: {}; ≤ {} paths per invalidation: {}; peak RSS < 32 MiB: {}",
        met(t.no_stale_keys),
        r.plan.invalidations_target(),
        met(t.invalidations),
        r.plan.max_paths,
        met(t.paths_per_invalidation),
        met(t.memory)
    );
    let _ = writeln!(out, "  report section        {}", report.display());
    let _ = writeln!(out, "  chart                 {}", chart.display());
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_replaces_the_old_one_and_nothing_else() {
        let old = format!("# B\n\nfigures\n\n{BEGIN}\nold\n{END}\n\n## Later\n\nkept\n");
        let new = format!("{BEGIN}\nnew\n{END}");
        assert_eq!(
            splice(&old, &new),
            format!("# B\n\nfigures\n\n{BEGIN}\nnew\n{END}\n\n## Later\n\nkept\n")
        );
        assert_eq!(
            section_of(&old),
            Some(format!("{BEGIN}\nold\n{END}").as_str())
        );
    }

    #[test]
    fn a_report_without_a_section_gets_it_before_the_limits_or_the_kept_part() {
        let new = format!("{BEGIN}\nnew\n{END}");
        let report = format!("# B\n\n## 5. Size\n\nx\n\n{LIMITS_HEADING}\n\ny\n");
        assert_eq!(
            splice(&report, &new),
            format!("# B\n\n## 5. Size\n\nx\n\n{new}\n\n{LIMITS_HEADING}\n\ny\n")
        );
        let report = format!("# B\n\n{KEPT_MARKER}\n\nhand\n");
        assert_eq!(
            splice(&report, &new),
            format!("# B\n\n{new}\n\n{KEPT_MARKER}\n\nhand\n")
        );
        assert_eq!(splice("# B\n", &new), format!("# B\n\n{new}\n"));
        assert_eq!(splice("", &new), format!("{new}\n"));
        assert_eq!(section_of("# B\n"), None);
    }
}

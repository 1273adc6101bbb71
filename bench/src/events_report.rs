//! The S3-events blocks of the report, written by `--events-only` alone.

use crate::events::{EventsResults, MEMORY_TARGET_KIB, SideResult};
use crate::report::{
    Block, command_block, day, format_duration, mib, plural, relative_link, secs, smoke_banner,
    thousands, yes,
};
use crate::run::Settings;

/// The heading the section gets in a report that lacks it.
pub const HEADING: &str = "## 6. S3 events: cf-invalidate-events against the sample users copy";
/// The blocks' names, in the order they are written.
pub const BLOCKS: [&str; 5] = [
    "events-run",
    "events-setup",
    "events",
    "events-notes",
    "events-command",
];

fn n(v: u64) -> String {
    thousands(usize::try_from(v).unwrap_or(usize::MAX))
}

fn seconds(ms: u64) -> String {
    secs(ms as f64 / 1000.0)
}

pub fn blocks(r: &EventsResults, settings: &Settings) -> Vec<Block> {
    let [run, setup, figures, notes, command] = BLOCKS;
    Block::list([
        (run, Some(HEADING), run_line(r, settings)),
        (setup, None, self::setup(r)),
        (figures, None, self::figures(r, settings)),
        (notes, None, self::notes(r)),
        (command, None, command_block(&settings.invocation)),
    ])
}

fn run_line(r: &EventsResults, settings: &Settings) -> String {
    let ran = format!("{} uploads", r.plan.uploads);
    let banner = smoke_banner(r.smoke, &settings.command, &ran, "comparison");
    format!(
        "{banner}From one run of `{}` on {} ({} of measurements; {} × {}, load average {} at the \
         start, {} at the end; `{}` build).",
        settings.command,
        day(&r.machine.date),
        format_duration(std::time::Duration::from_secs_f64(r.wall_s)),
        r.machine.cpus,
        r.machine.cpu,
        r.machine.load_at_start,
        r.load_at_end,
        settings.profile
    )
}

fn setup(r: &EventsResults) -> String {
    let (p, e) = (&r.plan, &r.ours.report.events);
    format!(
        "The burst: {} S3 event notifications (seed {}, spread over {}): {} uploads ({} \
         multipart, {} directory markers) and {} deletes, {:.0} % of the keys plain. Each function \
         invalidates two distributions of its own; an invalidation stays `InProgress` {} to {}.\n\n\
         | | cf-invalidate-events | Python sample |\n\
         | --- | --- | --- |\n\
         | invoked | by an event source mapping on the SQS queue S3 notifies | by S3, once per notification (asynchronous) |\n\
         | batch | `BatchSize` {}, a batching window of {} (the template's 60 s) | one notification |\n\
         | concurrency | `MaximumConcurrency` {} | {} at a time |\n\
         | function timeout | {} s | {} s |\n\
         | after an error | redelivered after the visibility timeout, {} s (the template's 360 s), at most `maxReceiveCount` {} times \
         | Lambda's two retries, {} and {} later (about 1 and 2 minutes on AWS) |\n\
         | parameters | `CF_INVALIDATE_PARAMETERS` `{}` (`maxPaths` {}, its default) | `DISTRIBUTION_ID`, `SECOND_DISTRIBUTION_ID` |\n",
        thousands(p.uploads),
        p.seed,
        seconds(p.burst_ms),
        n(e.uploads),
        n(e.multipart_uploads),
        n(e.directory_markers),
        n(e.deletes),
        (1.0 - p.awkward_keys) * 100.0,
        seconds(p.completion_ms.0),
        seconds(p.completion_ms.1),
        p.batch_size,
        seconds(p.batching_window_ms),
        p.concurrency,
        p.sample_concurrency,
        p.function_timeout_s,
        p.sample_timeout_s,
        p.visibility_timeout_s,
        p.max_receive_count,
        seconds(p.retry_delay_ms),
        seconds(2 * p.retry_delay_ms),
        r.ours.report.parameters,
        p.max_paths,
    )
}

fn figures(r: &EventsResults, settings: &Settings) -> String {
    let (o, s, p) = (&r.ours, &r.sample, &r.plan);
    let (oc, sc) = (&o.report.cloudfront, &s.report.cloudfront);
    let per_distribution = |side: &SideResult| {
        let counts = side.invalidations_per_distribution.values().map(|v| n(*v));
        counts.collect::<Vec<_>>().join(" + ")
    };
    let both = |f: &dyn Fn(&SideResult) -> String| format!("{} | {}", f(o), f(s));
    let memory = &r.memory.report.invocations;
    let peak = r.memory.report.function_peak_rss_kib;
    format!(
        "| | cf-invalidate-events | Python sample | target (ours) | met |\n\
         | --- | ---: | ---: | --- | --- |\n\
         | invocations (cold starts) | {} | | |\n\
         | CreateInvalidation calls (refused ones included) | **{}** | {} | | |\n\
         | invalidations created (per distribution) | **{}** ({}) | {} ({}) \
         | ≤ ⌈{} ÷ {}⌉ = {} per distribution | {} |\n\
         | paths billed (wildcards) | **{}** ({}) | {} ({}) \
         | ≤ `maxPaths` ({}) per invalidation; most in one: {} | {} |\n\
         | `TooManyInvalidationsInProgress` answers | {} | {} | | |\n\
         | key events left stale (of key events × distributions) | {} | 0 | {} |\n\
         | last key covered (notification → covering invalidation `Completed`) | {} | | |\n\
         | events dead-lettered (ours) / dropped after Lambda's retries (sample) | {} | | |\n\
         | wall time (burst, queue drained, processes stopped) | {} | | |\n\
         | peak RSS on the largest batch ({} records, {:.2} MB) | {} | not measured | < {} | {} |\n\
         \n![S3 events: CreateInvalidation calls, paths billed, stale keys and time to the last key \
         covered, ours against the Python sample]({})",
        both(&|x| format!(
            "{} ({})",
            n(x.report.invocations.total),
            n(x.report.invocations.cold_starts)
        )),
        n(oc.create_calls),
        n(sc.create_calls),
        n(oc.invalidations_created),
        per_distribution(o),
        n(sc.invalidations_created),
        per_distribution(s),
        thousands(p.uploads),
        thousands(p.batch_size),
        p.invalidations_target(),
        yes(o.most_invalidations_on_one_distribution() <= p.invalidations_target()),
        n(oc.paths_billed),
        n(oc.wildcard_paths),
        n(sc.paths_billed),
        n(sc.wildcard_paths),
        p.max_paths,
        o.most_paths_in_one_invalidation,
        yes(o.most_paths_in_one_invalidation <= p.max_paths as u64),
        n(oc.too_many_in_progress),
        n(sc.too_many_in_progress),
        both(&|x| format!("**{}** of {}", n(x.stale_key_events), n(x.key_events))),
        yes(o.stale_key_events == 0),
        both(&|x| x.last_key_covered_ms.map_or("**never**".into(), seconds)),
        both(&|x| n(x.report.messages.dead_lettered)),
        both(&|x| seconds(x.wall_ms)),
        n(memory.largest_batch),
        memory.largest_payload_bytes as f64 / 1e6,
        peak.map_or("not read".into(), |kib| format!("**{}**", mib(kib as f64))),
        mib(MEMORY_TARGET_KIB as f64),
        yes(peak.is_some_and(|kib| kib < MEMORY_TARGET_KIB)),
        relative_link(&settings.report, &settings.events_chart)
    )
}

fn notes(r: &EventsResults) -> String {
    let (o, s, p) = (&r.ours, &r.sample, &r.plan);
    let (oc, sc) = (&o.report.cloudfront, &s.report.cloudfront);
    let errors: String = oc
        .other_errors
        .iter()
        .map(|(code, count)| format!(", {count} `{code}`"))
        .collect();
    let (oi, om) = (&o.report.invocations, &o.report.messages);
    let ours = format!(
        "- **Ours**: {} CreateInvalidation calls created {} invalidations; {} were refused ({} \
         `TooManyInvalidationsInProgress`{errors}). {} invocations for {} messages ({} \
         redelivered), the largest batch {:.2} MB of event; at most {} invalidations on one \
         distribution, against a target of {}.",
        n(oc.create_calls),
        n(oc.invalidations_created),
        n(oc.create_calls.saturating_sub(oc.invalidations_created)),
        n(oc.too_many_in_progress),
        n(oi.total),
        n(om.sent),
        n(om.redelivered),
        oi.largest_payload_bytes as f64 / 1e6,
        o.most_invalidations_on_one_distribution(),
        p.invalidations_target(),
    );
    let stale: Vec<String> = s
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
    let sample = format!(
        "- **The sample**: {} calls created {} invalidations, one path each; {} got an earlier \
         invalidation back (the CallerReference was already used) or were refused. Stale after \
         it, the first the driver lists: {}.",
        n(sc.create_calls),
        n(sc.invalidations_created),
        n(sc.create_calls.saturating_sub(sc.invalidations_created)),
        if stale.is_empty() {
            "none".into()
        } else {
            stale.join("; ")
        },
    );
    let mi = &r.memory.report.invocations;
    let per_record = mi.largest_payload_bytes as f64 / mi.largest_batch.max(1) as f64;
    let memory = format!(
        "- **Peak memory**: a separate run of ours with `BatchSize` {}, a batching window of {} \
         and one invocation at a time took {} invocation{}, the largest {} records ({:.2} MB of \
         event, {:.2} KB a record: a cut at exactly 6 MB would fit about {}); {}. That run left \
         {} key events stale.",
        thousands(p.memory_batch_size),
        seconds(p.memory_window_ms),
        n(mi.total),
        plural(mi.total as usize),
        n(mi.largest_batch),
        mi.largest_payload_bytes as f64 / 1e6,
        per_record / 1000.0,
        thousands((local_aws::events::MAX_PAYLOAD_BYTES as f64 / per_record.max(1.0)) as usize),
        if mi.largest_batch < p.memory_batch_size.min(p.uploads) as u64 {
            "the 6 MB payload limit split the batch"
        } else {
            "the 6 MB payload limit did not split the batch"
        },
        n(r.memory.stale_key_events),
    );
    format!("{ours}\n{sample}\n{memory}")
}

//! What an events run did, and whether every key got invalidated, judged from the keys
//! uploaded, CloudFront's invalidations, the dead letters' bodies and what the edge served,
//! never the function's code.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::burst::{ObjectChange, ObjectEvent};
use super::config::{CoverageParameters, Delivery};
use super::edge::{EdgeCheck, EdgeView};
use super::queue::{DeadLetter, QueueCounts};
use crate::cloudfront::InvalidationInfo;
use crate::faults::{Api, FaultKind};
use crate::log::RequestRecord;
use cf_invalidate::text::percent_decode;

/// Whether an invalidation path covers a URL path: the percent-decoded path equals it, or
/// ends in `*` and its decoded part before the `*` is a prefix of it (`/*` covers all). A path
/// whose escapes are not UTF-8 covers nothing: no key's path decodes to it.
pub fn path_covers(invalidation_path: &str, url_path: &str) -> bool {
    match invalidation_path.strip_suffix('*') {
        Some(prefix) => percent_decode(prefix, false).is_some_and(|p| url_path.starts_with(&p)),
        None => percent_decode(invalidation_path, false).is_some_and(|p| p == url_path),
    }
}

/// The run's invalidations of one target (distribution or tenant), by decoded exact path and
/// decoded wildcard prefix.
#[derive(Debug, Default)]
struct TargetIndex {
    exact: HashMap<String, Times>,
    wildcard: HashMap<String, Times>,
}

/// Invalidations of one path: `(created, earliest completion of those created then or
/// later)`, sorted by creation time once sealed.
#[derive(Debug, Default)]
struct Times(Vec<(u64, u64)>);

impl Times {
    fn push(&mut self, created: u64, completes: u64) {
        self.0.push((created, completes));
    }

    fn seal(&mut self) {
        self.0.sort_unstable();
        let mut earliest = u64::MAX;
        for (_, completes) in self.0.iter_mut().rev() {
            earliest = earliest.min(*completes);
            *completes = earliest;
        }
    }

    /// The earliest completion of an invalidation created at or after `since`.
    fn completed_after(&self, since: u64) -> Option<u64> {
        let i = self.0.partition_point(|&(created, _)| created < since);
        self.0.get(i).map(|&(_, earliest)| earliest)
    }
}

impl TargetIndex {
    fn new<'a>(invalidations: impl IntoIterator<Item = &'a InvalidationInfo>) -> Self {
        let mut index = Self::default();
        for inv in invalidations {
            for path in &inv.paths {
                let (map, encoded) = match path.strip_suffix('*') {
                    Some(prefix) => (&mut index.wildcard, prefix),
                    None => (&mut index.exact, path.as_str()),
                };
                // As in `path_covers`: a path that is not UTF-8 once decoded covers nothing.
                let Some(key) = percent_decode(encoded, false) else {
                    continue;
                };
                map.entry(key)
                    .or_default()
                    .push(inv.created_ms, inv.completes_at_ms);
            }
        }
        index.exact.values_mut().for_each(Times::seal);
        index.wildcard.values_mut().for_each(Times::seal);
        index
    }

    /// When the first invalidation created at or after `since` that covers `url_path`
    /// completes.
    fn covered(&self, url_path: &str, since: u64) -> Option<u64> {
        let exact = self
            .exact
            .get(url_path)
            .and_then(|t| t.completed_after(since));
        let wild = self
            .wildcard
            .iter()
            .filter(|(prefix, _)| url_path.starts_with(prefix.as_str()))
            .filter_map(|(_, t)| t.completed_after(since));
        exact.into_iter().chain(wild).min()
    }
}

/// A key (raw, and its URL path) that no invalidation on `target` created after its
/// notification (`sent_ms` since the run started) covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncoveredKey {
    pub key: String,
    pub path: String,
    pub target: String,
    pub change: ObjectChange,
    pub sent_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The distributions and tenants checked (those of the parameters).
    pub targets: Vec<String>,
    /// (event, target) pairs expected to be covered: uploads and deletes under the key
    /// prefix, directory markers excepted, times each target.
    pub expected: u64,
    /// Of those, covered by an invalidation created after the notification was sent.
    pub covered: u64,
    pub uncovered: u64,
    /// Up to 10 of them.
    pub uncovered_keys: Vec<UncoveredKey>,
    /// Time from an upload's notification until its covering invalidation completed.
    pub latency_max_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
}

/// Checks every event against the invalidations. `sent_ms[i]` is when event `i`'s
/// notification was sent (`None`: never sent, so not expected).
pub fn check_coverage(
    params: &CoverageParameters,
    targets: &[String],
    events: &[ObjectEvent],
    sent_ms: &[Option<u64>],
    invalidations: &[InvalidationInfo],
) -> Coverage {
    let index_of = |t: &String| TargetIndex::new(invalidations.iter().filter(|i| i.target() == t));
    let indexes: Vec<(&String, TargetIndex)> = targets.iter().map(|t| (t, index_of(t))).collect();
    let mut coverage = Coverage {
        targets: targets.to_vec(),
        ..Coverage::default()
    };
    let mut latencies: Vec<u64> = Vec::new();
    for (event, sent) in events.iter().zip(sent_ms) {
        let Some(sent) = *sent else { continue };
        if event.is_directory_marker() {
            continue;
        }
        let Some(path) = params.url_path(&event.key) else {
            continue;
        };
        for (target, index) in &indexes {
            coverage.expected += 1;
            match index.covered(&path, sent) {
                Some(completes) => {
                    coverage.covered += 1;
                    latencies.push(completes.saturating_sub(sent));
                }
                None => {
                    coverage.uncovered += 1;
                    if coverage.uncovered_keys.len() < 10 {
                        coverage.uncovered_keys.push(UncoveredKey {
                            key: event.key.clone(),
                            path: path.clone(),
                            target: target.to_string(),
                            change: event.change,
                            sent_ms: sent,
                        });
                    }
                }
            }
        }
    }
    latencies.sort_unstable();
    coverage.latency_max_ms = latencies.last().copied();
    coverage.latency_p95_ms = percentile(&latencies, 95);
    coverage
}

/// The `p`th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The key of an S3 notification or an EventBridge S3 event, raw (a notification's key is
/// form-decoded); `None` for any other body (S3's test event included), and for a notification
/// whose key's escapes are not UTF-8, which the function skips as no S3 key looks like that.
pub fn event_key(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    if let Some(key) = value
        .pointer("/Records/0/s3/object/key")
        .and_then(Value::as_str)
    {
        return percent_decode(key, true);
    }
    let key = value.pointer("/detail/object/key").and_then(Value::as_str);
    key.filter(|_| value.get("source").and_then(Value::as_str) == Some("aws.s3"))
        .map(str::to_string)
}

/// A dead-lettered message that should have succeeded, with the key its body names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WronglyDeadLettered {
    pub message_id: String,
    pub key: String,
    pub receive_count: u32,
}

/// Dead-lettered messages whose body is a valid S3 or EventBridge event under the key prefix
/// (every one counts; up to 10 listed), and their number.
pub fn wrongly_dead_lettered(
    params: &CoverageParameters,
    dead: &[DeadLetter],
) -> (u64, Vec<WronglyDeadLettered>) {
    let mut wrong: Vec<WronglyDeadLettered> = dead
        .iter()
        .filter_map(|d| {
            let key = event_key(&d.body).filter(|k| k.starts_with(&params.key_prefix))?;
            let (message_id, receive_count) = (d.message_id.clone(), d.receive_count);
            Some(WronglyDeadLettered {
                message_id,
                key,
                receive_count,
            })
        })
        .collect();
    let count = wrong.len() as u64;
    wrong.truncate(10);
    (count, wrong)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// Uploads (`ObjectCreated:*`), directory markers included.
    pub uploads: u64,
    pub multipart_uploads: u64,
    pub deletes: u64,
    /// Keys ending in `/`: not expected to be invalidated.
    pub directory_markers: u64,
    /// Events on keys outside the key prefix: not expected to be invalidated.
    pub outside_prefix: u64,
    /// Whether S3's `s3:TestEvent` message was queued first.
    pub test_event: bool,
}

impl EventCounts {
    pub(super) fn of(events: &[ObjectEvent], key_prefix: &str, test_event: bool) -> Self {
        let mut counts = Self {
            test_event,
            ..Self::default()
        };
        for e in events {
            match e.change {
                ObjectChange::Delete => counts.deletes += 1,
                ObjectChange::MultipartUpload => counts.multipart_uploads += 1,
                ObjectChange::Put => {}
            }
            counts.uploads += u64::from(!e.change.is_delete());
            counts.directory_markers += u64::from(e.is_directory_marker());
            counts.outside_prefix += u64::from(!e.key.starts_with(key_prefix));
        }
        counts
    }
}

/// Invocations by how they ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationCounts {
    pub total: u64,
    /// Processes started (the first of each environment, and after each kill, timeout or
    /// crash).
    pub cold_starts: u64,
    /// Answered, every record succeeded.
    pub ok: u64,
    /// Answered with `batchItemFailures` naming some records.
    pub with_item_failures: u64,
    /// Records named in those answers.
    pub item_failures: u64,
    /// Answered with a response that fails the whole batch (not JSON, not an object, an
    /// item without a valid `itemIdentifier`, or an id not in the batch).
    pub rejected_responses: u64,
    /// Invocations that posted `/error`, got no answer by the function timeout (killed),
    /// exited before answering, were killed on purpose while running (`kill_rate`).
    pub errored: u64,
    pub timed_out: u64,
    pub crashed: u64,
    pub killed: u64,
    /// Records in the largest invocation (the batch size, or fewer when the 6 MB payload
    /// limit or the batching window cut the batch).
    pub largest_batch: u64,
    pub largest_payload_bytes: u64,
}

/// Proof that each planted fault fired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    /// The `--faults` spec in force.
    pub spec: String,
    /// Injected faults seen in the request log, by `api.kind` (`CloudFront.too-many`).
    pub injected: BTreeMap<String, u64>,
    /// Fault kinds of the spec that never fired.
    pub never_fired: Vec<String>,
    /// Invocations drawn for a kill: killed while running, or answered (or ended otherwise)
    /// before the kill's moment.
    pub kills_planted: u64,
    pub kills_fired: u64,
    pub kills_missed: u64,
    /// Duplicate copies planted in the queue, and delivered.
    pub duplicates_planted: u64,
    pub duplicates_delivered: u64,
    /// Answered batches invoked again whole (`redeliver_rate`).
    pub batches_redelivered: u64,
}

/// CloudFront as the run used it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CloudFrontCounts {
    /// CreateInvalidation (and ...ForDistributionTenant) calls, from the request log.
    pub create_calls: u64,
    /// Invalidations created (a reused CallerReference returning an existing one is not new).
    pub invalidations_created: u64,
    /// Paths of the created invalidations, as CloudFront bills them (a wildcard is one path).
    pub paths_billed: u64,
    pub wildcard_paths: u64,
    /// `TooManyInvalidationsInProgress` answers from CloudFront's real limits.
    pub too_many_in_progress: u64,
    /// `TooManyInvalidationsInProgress` answers injected by `--faults`.
    pub too_many_injected: u64,
    /// Other error answers to create calls (injected or not), by code.
    pub other_errors: BTreeMap<String, u64>,
}

impl CloudFrontCounts {
    /// The run's invalidations and CloudFront calls counted; every injected fault in the
    /// request log, of any API, is counted into `injected`.
    pub(super) fn of(
        invalidations: &[InvalidationInfo],
        requests: &[RequestRecord],
        injected: &mut BTreeMap<String, u64>,
    ) -> Self {
        let paths = invalidations.iter().flat_map(|i| &i.paths);
        let mut counts = Self {
            invalidations_created: invalidations.len() as u64,
            paths_billed: paths.clone().count() as u64,
            wildcard_paths: paths.filter(|p| p.ends_with('*')).count() as u64,
            ..Self::default()
        };
        for r in requests {
            if let Some(kind) = r.fault {
                *injected
                    .entry(format!("{}.{}", r.api, kind.name()))
                    .or_default() += 1;
            }
            if r.api != Api::CloudFront || !r.operation.starts_with("CreateInvalidation") {
                continue;
            }
            counts.create_calls += 1;
            match (r.error_code.as_deref(), r.fault) {
                (Some("TooManyInvalidationsInProgress"), Some(FaultKind::TooMany)) => {
                    counts.too_many_injected += 1;
                }
                (Some("TooManyInvalidationsInProgress"), _) => counts.too_many_in_progress += 1,
                (Some(code), _) => *counts.other_errors.entry(code.to_string()).or_default() += 1,
                (None, _) => {}
            }
        }
        counts
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "invariant", rename_all = "snake_case")]
pub enum Violation {
    /// (Event, target) pairs left without a covering invalidation.
    UncoveredKeys { count: u64 },
    /// Valid events under the prefix sent to the dead-letter queue (or, direct, dropped after
    /// Lambda's retries).
    DeadLetteredEvents { count: u64 },
    /// (Key, distribution) pairs an edge served stale after the last invalidation completed.
    StaleAtEdge { count: u64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct EventsReport {
    pub seed: u64,
    pub delivery: Delivery,
    /// The parameters the function got (`CF_INVALIDATE_PARAMETERS`).
    pub parameters: String,
    /// What the coverage check read from them.
    pub coverage_parameters: CoverageParameters,
    pub events: EventCounts,
    /// The queue (direct delivery: Lambda's asynchronous queue; dead-lettered means dropped
    /// after the retries).
    pub messages: QueueCounts,
    pub invocations: InvocationCounts,
    pub faults: FaultCounts,
    pub cloudfront: CloudFrontCounts,
    pub coverage: Coverage,
    /// The keys asked for through the edge of each target distribution that has one (`None`:
    /// no target has an edge).
    pub edge: Option<EdgeCheck>,
    /// Dead-lettered messages that should have succeeded, up to 10.
    pub wrongly_dead_lettered: Vec<WronglyDeadLettered>,
    /// The broken invariants (empty: the run holds).
    pub violations: Vec<Violation>,
    /// When the last notification was sent, and when the queue was empty (ms since the start).
    pub burst_ms: u64,
    pub drained_ms: u64,
    /// The whole run, waiting for the last invalidation included (ms).
    pub duration_ms: u64,
    /// Whether the run stopped at its time limit with messages left.
    pub gave_up: bool,
    /// The last lines the function printed (up to 20).
    pub function_output_tail: Vec<String>,
    /// The largest peak resident set (`VmHWM`) among the function's processes, in KiB, read
    /// when the driver stopped each one (Linux only; a process that exited by itself, by a
    /// crash, is not counted).
    pub function_peak_rss_kib: Option<u64>,
}

impl EventsReport {
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
        let [delivery, dropped, were_dropped] = self.delivery.words();
        let e = &self.events;
        let _ = writeln!(
            out,
            "events run: {delivery} delivery, seed {} (repeat with --seed {}), {} in all (burst {}, queue empty at {})",
            self.seed,
            self.seed,
            secs(self.duration_ms),
            secs(self.burst_ms),
            secs(self.drained_ms)
        );
        let _ = writeln!(out, "  parameters:      {}", self.parameters);
        let _ = writeln!(
            out,
            "  events:          {} uploads ({} multipart), {} deletes, {} directory markers, {} outside the key prefix{}",
            e.uploads,
            e.multipart_uploads,
            e.deletes,
            e.directory_markers,
            e.outside_prefix,
            if e.test_event {
                ", s3:TestEvent first"
            } else {
                ""
            }
        );
        let m = &self.messages;
        let _ = writeln!(
            out,
            "  messages:        {} sent, {} received, {} redelivered, {} deleted, {} {dropped}, {} stale deletes",
            m.sent, m.received, m.redelivered, m.deleted, m.dead_lettered, m.stale_deletes
        );
        let i = &self.invocations;
        let _ = writeln!(
            out,
            "  invocations:     {} ({} cold starts): {} ok, {} with item failures ({} items), {} rejected responses, {} errored, {} timed out, {} crashed, {} killed",
            i.total,
            i.cold_starts,
            i.ok,
            i.with_item_failures,
            i.item_failures,
            i.rejected_responses,
            i.errored,
            i.timed_out,
            i.crashed,
            i.killed
        );
        let _ = writeln!(
            out,
            "                   largest: {} records, {:.2} MB; function peak RSS {}",
            i.largest_batch,
            i.largest_payload_bytes as f64 / 1e6,
            self.function_peak_rss_kib
                .map_or("not read".to_string(), |kib| format!(
                    "{:.1} MiB",
                    kib as f64 / 1024.0
                ))
        );
        let c = &self.cloudfront;
        let _ = writeln!(
            out,
            "  CloudFront:      {} CreateInvalidation calls, {} invalidations, {} paths billed ({} wildcards), {} TooManyInvalidationsInProgress (+{} injected){}",
            c.create_calls,
            c.invalidations_created,
            c.paths_billed,
            c.wildcard_paths,
            c.too_many_in_progress,
            c.too_many_injected,
            if c.other_errors.is_empty() {
                String::new()
            } else {
                format!(", other errors: {}", listed(&c.other_errors, " "))
            }
        );
        let f = &self.faults;
        let _ = writeln!(
            out,
            "  faults:          {}; fired: {}",
            f.spec,
            if f.injected.is_empty() {
                "none".to_string()
            } else {
                listed(&f.injected, " ")
            }
        );
        if !f.never_fired.is_empty() {
            let _ = writeln!(
                out,
                "                   planted but never fired: {}",
                f.never_fired.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "                   kills: {} planted, {} fired, {} missed (answered first); duplicates: {} planted, {} delivered; whole batches redelivered: {}",
            f.kills_planted,
            f.kills_fired,
            f.kills_missed,
            f.duplicates_planted,
            f.duplicates_delivered,
            f.batches_redelivered
        );
        let cov = &self.coverage;
        let ms = |v: Option<u64>| v.map_or("-".to_string(), secs);
        let _ = writeln!(
            out,
            "  coverage:        {} of {} key events covered on {} ({} uncovered); upload to completed invalidation: max {}, P95 {}",
            cov.covered,
            cov.expected,
            if cov.targets.is_empty() {
                "no distribution".to_string()
            } else {
                cov.targets.join(", ")
            },
            cov.uncovered,
            ms(cov.latency_max_ms),
            ms(cov.latency_p95_ms)
        );
        for u in &cov.uncovered_keys {
            let _ = writeln!(
                out,
                "    uncovered: {:?} ({}, path {:?}) on {}, notified at {}",
                u.key,
                u.change.event_name(),
                u.path,
                u.target,
                secs(u.sent_ms)
            );
        }
        if let Some(edge) = &self.edge {
            render_edge(&mut out, edge);
        }
        for d in &self.wrongly_dead_lettered {
            let _ = writeln!(
                out,
                "    dead-lettered: message {} for {:?} after {} receives",
                d.message_id, d.key, d.receive_count
            );
        }
        if self.gave_up {
            let _ = writeln!(
                out,
                "  the run stopped at its time limit with messages still in the queue"
            );
        }
        if self.holds() {
            let _ = writeln!(
                out,
                "INVARIANT HOLDS: every key under the prefix is covered by an invalidation created after its notification, and no valid event was dead-lettered"
            );
            if let Some(edge) = &self.edge {
                let _ = writeln!(
                    out,
                    "INVARIANT HOLDS through the edge: each of the {} key(s) checked on {} serves its newest version",
                    edge.checked,
                    edge.distributions.join(", ")
                );
            }
        } else {
            for v in &self.violations {
                let _ = match v {
                    Violation::UncoveredKeys { count } => writeln!(
                        out,
                        "INVARIANT BROKEN: {count} key event(s) not covered by any invalidation created after the notification"
                    ),
                    Violation::DeadLetteredEvents { count } => writeln!(
                        out,
                        "INVARIANT BROKEN: {count} valid event(s) under the key prefix {were_dropped}"
                    ),
                    Violation::StaleAtEdge { count } => writeln!(
                        out,
                        "INVARIANT BROKEN: {count} key(s) served stale through the edge after the last invalidation completed"
                    ),
                };
            }
        }
        out
    }
}

fn render_edge(out: &mut String, edge: &EdgeCheck) {
    let _ = writeln!(
        out,
        "  edge:            {} key(s) checked through the edge of {} (bucket {}) after the last invalidation completed (waited {:.1}s): {} fresh, {} stale",
        edge.checked,
        edge.distributions.join(", "),
        edge.bucket,
        edge.waited_ms as f64 / 1000.0,
        edge.fresh,
        edge.stale
    );
    let _ = writeln!(
        out,
        "                   right after an upload, before its notification: {} of {} view(s) served an older version",
        edge.stale_after_upload, edge.views_after_upload
    );
    for v in &edge.stale_keys {
        let _ = writeln!(out, "    stale at edge: {}", viewed_line(v));
    }
}

/// `"key" (GET /path) on E1: served 200 ETag "x" (Hit from cloudfront, Age 3), newest ETag "y"`.
fn viewed_line(v: &EdgeView) -> String {
    let age = v.age.map_or(String::new(), |a| format!(", Age {a}"));
    format!(
        "{:?} (GET {}) on {}: served {} ETag {} ({}{age}), newest {}",
        v.key,
        v.path,
        v.distribution,
        v.status,
        v.etag.as_deref().unwrap_or("none"),
        v.x_cache.as_deref().unwrap_or("no X-Cache"),
        v.expected_etag
            .as_ref()
            .map_or("deleted".to_string(), |e| format!("ETag {e}"))
    )
}

/// `a 1, b 2`: each key with its count, joined by `between`.
pub(crate) fn listed<N: std::fmt::Display>(counts: &BTreeMap<String, N>, between: &str) -> String {
    let items: Vec<String> = counts
        .iter()
        .map(|(k, n)| format!("{k}{between}{n}"))
        .collect();
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::InvalidationStatus;
    use std::time::Duration;

    fn inv(target: &str, created: u64, paths: &[&str]) -> InvalidationInfo {
        InvalidationInfo {
            id: format!("I{created}"),
            distribution_id: target.into(),
            distribution_tenant_id: None,
            status: InvalidationStatus::Completed,
            create_time: String::new(),
            created_ms: created,
            completes_at_ms: created + 1000,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            caller_reference: String::new(),
        }
    }

    fn event(index: usize, key: &str, change: ObjectChange) -> ObjectEvent {
        ObjectEvent {
            index,
            key: key.into(),
            change,
            at: Duration::ZERO,
            sequencer: String::new(),
            size: 1,
            etag: String::new(),
        }
    }

    fn dl(body: &str) -> DeadLetter {
        DeadLetter {
            message_id: "m".into(),
            body: body.into(),
            receive_count: 5,
            at_ms: 0,
        }
    }

    #[test]
    fn paths_cover_after_decoding_and_wildcards_by_prefix() {
        assert!(path_covers("/a%20b.html", "/a b.html"));
        assert!(path_covers("/c%2B%2B.pdf", "/c++.pdf"));
        assert!(path_covers("/caf%C3%A9/x", "/caf\u{e9}/x"));
        assert!(path_covers("/100%25", "/100%"));
        assert!(
            !path_covers("/a+b.html", "/a b.html"),
            "a + in a path is a plus"
        );
        assert!(path_covers("/*", "/anything/at all"));
        assert!(path_covers("/docs/*", "/docs/a"));
        assert!(path_covers("/caf%C3%A9*", "/caf\u{e9}/menu.html"));
        assert!(!path_covers("/docs/*", "/doc"));
        assert!(!path_covers("/a.html", "/a.htm"));
    }

    #[test]
    fn coverage_needs_an_invalidation_created_after_the_notification() {
        // GIVEN keys notified at 100 (two targets), a marker, and a key outside the prefix
        let params = CoverageParameters::parse(r#"{"distributionId":"E1","keyPrefix":"site/"}"#);
        let params = params.unwrap();
        let events = vec![
            event(0, "site/a b.html", ObjectChange::Put),
            event(1, "site/docs/x.html", ObjectChange::Delete),
            event(2, "site/late.html", ObjectChange::Put),
            event(3, "site/folder/", ObjectChange::Put),
            event(4, "logs/x", ObjectChange::Put),
            event(5, "site/never sent", ObjectChange::Put),
        ];
        let sent = [Some(100), Some(100), Some(100), Some(100), Some(100), None];
        // WHEN CloudFront holds: an exact path after, a wildcard after, and the third key
        // invalidated only before its notification
        let invalidations = vec![
            inv("E1", 50, &["/late.html"]),
            inv("E1", 150, &["/a%20b.html"]),
            inv("E1", 300, &["/docs/*"]),
            inv("E2", 300, &["/*"]),
        ];
        let targets = vec!["E1".to_string()];
        let c = check_coverage(&params, &targets, &events, &sent, &invalidations);
        // THEN two of three expected events are covered, the late one is listed
        assert_eq!((c.expected, c.covered, c.uncovered), (3, 2, 1));
        assert_eq!(c.uncovered_keys[0].key, "site/late.html");
        assert_eq!(c.latency_max_ms, Some(1200));
        assert_eq!(c.latency_p95_ms, Some(1200));
        // AND with the tenant-less second distribution as a target, its /* covers all three
        let both = vec!["E1".to_string(), "E2".to_string()];
        let c = check_coverage(&params, &both, &events, &sent, &invalidations);
        assert_eq!((c.expected, c.covered), (6, 5));
    }

    #[test]
    fn the_earliest_completion_among_later_invalidations_counts() {
        let mut t = Times::default();
        t.push(300, 5000);
        t.push(100, 400);
        t.push(200, 900);
        t.seal();
        assert_eq!(t.completed_after(0), Some(400));
        assert_eq!(t.completed_after(150), Some(900));
        assert_eq!(t.completed_after(301), None);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 95), None);
    }

    #[test]
    fn dead_letters_count_when_their_body_is_a_valid_event_under_the_prefix() {
        let params = CoverageParameters::parse(r#"{"keyPrefix":"site/"}"#).unwrap();
        let dead = vec![
            dl(r#"{"Records":[{"s3":{"object":{"key":"site/a+b%2B.html"}}}]}"#),
            dl(r#"{"source":"aws.s3","detail":{"object":{"key":"site/x y"}}}"#),
            dl(r#"{"Records":[{"s3":{"object":{"key":"logs/x"}}}]}"#),
            dl(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#),
            dl("not json"),
        ];
        let (count, listed) = wrongly_dead_lettered(&params, &dead);
        assert_eq!(count, 2);
        assert_eq!(listed[0].key, "site/a b+.html");
        assert_eq!(listed[1].key, "site/x y");
    }

    /// GIVEN a notification whose key's escapes are not UTF-8 WHEN the S3-events function and
    /// this oracle read it THEN both skip it: the function invalidates nothing for it, and the
    /// oracle neither expects it covered nor calls its dead letter wrong. (The oracle once
    /// decoded it lossily, to a key the function never saw.)
    #[test]
    fn an_undecodable_key_is_skipped_by_the_function_and_the_oracle_alike() {
        use cf_invalidate::events::keys::{KeySkip, decode_form};
        let body =
            |key: &str| format!(r#"{{"Records":[{{"s3":{{"object":{{"key":"{key}"}}}}}}]}}"#);
        for raw in [
            "site/a%FFb.html",
            "a%FFb.html",
            "site/a+b%2B.html",
            "site/caf%C3%A9",
        ] {
            let function = decode_form(raw);
            assert_eq!(event_key(&body(raw)), function.clone().ok(), "{raw}");
            if raw.contains("%FF") {
                assert_eq!(function, Err(KeySkip::Undecodable));
            }
        }
        let params = CoverageParameters::parse(r#"{"keyPrefix":"site/"}"#).unwrap();
        let dead = dl(&body("site/a%FFb.html"));
        assert_eq!(wrongly_dead_lettered(&params, &[dead]).0, 0);
        assert!(!path_covers("/a%FFb.html", "/a\u{FFFD}b.html"));
        let index = TargetIndex::new(&[inv("E1", 0, &["/a%FFb.html", "/a%FF*"])]);
        assert_eq!(index.covered("/a\u{FFFD}b.html", 0), None);
    }
}

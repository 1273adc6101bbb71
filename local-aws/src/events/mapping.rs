//! The event source mapping: pollers that batch the queue and invoke the function, each in an
//! execution environment and process of its own that Lambda reuses, and read its answers (or,
//! direct, one asynchronous invocation per notification with Lambda's two retries).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::time::{Instant, sleep, sleep_until};

use super::config::{Delivery, EventsConfig, MAX_PAYLOAD_BYTES};
use super::edge::Origin;
use super::queue::{Queue, Received};
use super::report::{FaultCounts, InvocationCounts};
use crate::clock::{Clock, duration_ms, epoch_ms};
use crate::pipeline::function::FunctionProcess;
use crate::pipeline::{INIT_ALLOWANCE, InvocationEnd};
use crate::rng::SeededRng;
use crate::runtime_api::InvocationStatus;
use crate::server::ExecutionEnvironment;

/// How often an idle poller looks at the queue again.
const POLL: Duration = Duration::from_millis(10);
/// Extra time after the function timeout before the process is killed.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);
/// Bytes of an SQS record around its body (ids, receipt handle, attributes, ARN), rounded up.
const RECORD_OVERHEAD: usize = 1024;
/// The `SenderId` of messages S3 sends.
const S3_SENDER_ID: &str = "AIDAJHIPRHEMV73VRJEBU";

/// When the event source mapping sends a batch: `BatchSize`, `MaximumBatchingWindowInSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRule {
    pub size: usize,
    pub window: Duration,
}

impl BatchRule {
    /// Whether a batch of `count` records, whose first record was received `waited` ago,
    /// goes now: it is full, the next record would take it over 6 MB (`payload_full`), or
    /// the window is over.
    pub fn ready(&self, count: usize, payload_full: bool, waited: Duration) -> bool {
        count > 0 && (count >= self.size || payload_full || waited >= self.window)
    }
}

/// The size of a body inside an SQS record, as JSON writes it, plus the record around it.
pub fn record_size(body: &str) -> usize {
    let escaped: usize = body
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum();
    escaped + 2 + RECORD_OVERHEAD
}

/// What a function's answer to a batch means (ReportBatchItemFailures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAnswer {
    /// Every record succeeded: an empty or null `batchItemFailures`, `{}`, `null`, or no body.
    AllSucceeded,
    /// These message ids failed; the others succeeded.
    ItemFailures(BTreeSet<String>),
    /// The whole batch failed: the answer is not JSON, not an object, or an item has no
    /// valid `itemIdentifier`, or names a message that is not in the batch.
    Rejected(Rejection),
}

/// Why an answer fails the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    NotJson,
    NotAnObject,
    FailuresNotAnArray,
    /// An item without an `itemIdentifier` string, or an empty one.
    BadItem,
    /// An `itemIdentifier` that is not a message of the batch.
    UnknownId(String),
}

/// Reads the function's answer as Lambda reads it for a batch of `batch_ids`.
pub fn read_batch_answer(body: &str, batch_ids: &HashSet<&str>) -> BatchAnswer {
    let body = body.trim();
    if body.is_empty() {
        return BatchAnswer::AllSucceeded;
    }
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return BatchAnswer::Rejected(Rejection::NotJson);
    };
    let object = match value {
        Value::Null => return BatchAnswer::AllSucceeded,
        Value::Object(o) => o,
        _ => return BatchAnswer::Rejected(Rejection::NotAnObject),
    };
    let items = match object.get("batchItemFailures") {
        None | Some(Value::Null) => return BatchAnswer::AllSucceeded,
        Some(Value::Array(items)) => items,
        Some(_) => return BatchAnswer::Rejected(Rejection::FailuresNotAnArray),
    };
    let mut failed = BTreeSet::new();
    for item in items {
        let id = item.get("itemIdentifier").and_then(Value::as_str);
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            return BatchAnswer::Rejected(Rejection::BadItem);
        };
        if !batch_ids.contains(id) {
            return BatchAnswer::Rejected(Rejection::UnknownId(id.to_string()));
        }
        failed.insert(id.to_string());
    }
    if failed.is_empty() {
        BatchAnswer::AllSucceeded
    } else {
        BatchAnswer::ItemFailures(failed)
    }
}

/// Everything the pollers share.
pub(super) struct World {
    pub queue: Queue,
    /// Every notification has been sent.
    pub producer_done: bool,
    pub invocations: InvocationCounts,
    /// The kills and whole redeliveries; the queue counts the duplicates.
    pub faults: FaultCounts,
    /// How long answered invocations take (a moving average), to plant kills mid-run.
    pub typical_ms: f64,
    /// The driver's draws (kills).
    pub rng: SeededRng,
    /// The run stopped at its time limit.
    pub gave_up: bool,
}

pub(super) type SharedWorld = Arc<Mutex<World>>;

pub(super) fn lock(world: &SharedWorld) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) struct MappingSettings {
    pub config: EventsConfig,
    pub queue_arn: String,
    /// The run stops here, whatever is left.
    pub time_limit: Instant,
    pub clock: Clock,
}

/// One concurrent invocation's execution environment and process.
pub(super) struct Slot {
    pub env: ExecutionEnvironment,
    pub process: FunctionProcess,
}

impl Slot {
    /// One invocation: start the process if needed (a cold start), queue the event, wait for
    /// the answer, a crash, the deadline, or the planted kill. Returns how it ended, whether
    /// it was a cold start, and how long the function took from taking the event.
    async fn invoke(
        &mut self,
        event: &Value,
        timeout: Duration,
        kill_after: Option<Duration>,
    ) -> std::io::Result<(InvocationEnd, bool, Duration)> {
        let _ = self.process.is_running();
        let cold_start = !self.process.alive();
        if cold_start {
            self.process.spawn()?;
        }
        let queued_at = Instant::now();
        let mut invocation = self.env.invoke(event, timeout);
        let request_id = invocation.request_id().to_string();
        let limit = timeout + DEADLINE_GRACE;
        let pickup_limit = if cold_start {
            limit.max(INIT_ALLOWANCE)
        } else {
            limit
        };
        tokio::select! {
            biased;
            _ = invocation.started() => {}
            exit = self.process.exited() => {
                self.env.abandon_invocation(&request_id);
                return Ok((InvocationEnd::Crashed { exit, started: false }, cold_start, Duration::ZERO));
            }
            _ = sleep_until(queued_at + pickup_limit) => {
                self.env.abandon_invocation(&request_id);
                self.process.kill().await;
                return Ok((InvocationEnd::Timeout { started: false }, cold_start, Duration::ZERO));
            }
        }
        let started_at = Instant::now();
        let end = tokio::select! {
            biased;
            outcome = invocation.finished() => outcome.map_or(InvocationEnd::Timeout { started: true }, InvocationEnd::from),
            exit = self.process.exited() => match invocation.status() {
                // It may have answered just before exiting.
                InvocationStatus::Finished(outcome) => outcome.into(),
                _ => {
                    self.env.abandon_invocation(&request_id);
                    InvocationEnd::Crashed { exit, started: true }
                }
            },
            // The planted kill, or the deadline, whichever comes first.
            _ = sleep_until(started_at + kill_after.unwrap_or(limit).min(limit)) => {
                self.env.abandon_invocation(&request_id);
                self.process.kill().await;
                match kill_after {
                    Some(after) if after <= limit => InvocationEnd::Killed { after_ms: duration_ms(started_at.elapsed()) },
                    _ => InvocationEnd::Timeout { started: true },
                }
            }
        };
        Ok((end, cold_start, started_at.elapsed()))
    }
}

/// Whether the run is over: every notification sent and every message gone, or the time
/// limit passed.
fn finished(world: &mut World, settings: &MappingSettings) -> bool {
    let done = world.producer_done && world.queue.is_empty();
    if !done && Instant::now() >= settings.time_limit {
        world.gave_up = true;
    }
    done || world.gave_up
}

/// Gathers one batch; `None` when the run is over.
async fn gather(world: &SharedWorld, settings: &MappingSettings) -> Option<Vec<Received>> {
    let config = &settings.config;
    let rule = match config.delivery {
        Delivery::Sqs => BatchRule {
            size: config.batch_size,
            window: config.batching_window,
        },
        Delivery::Direct => BatchRule {
            size: 1,
            window: Duration::ZERO,
        },
    };
    let mut batch: Vec<Received> = Vec::new();
    let mut bytes = 16usize;
    let mut first_at: Option<Instant> = None;
    loop {
        let payload_full = {
            let mut w = lock(world);
            if batch.is_empty() && finished(&mut w, settings) {
                return None;
            }
            let room = rule.size - batch.len();
            let budget = MAX_PAYLOAD_BYTES.saturating_sub(bytes);
            let got = w
                .queue
                .receive(settings.clock.elapsed_ms(), room, budget, record_size);
            let got_all = got.len() == room;
            for r in got {
                bytes += record_size(&r.body);
                batch.push(r);
            }
            // Stopped short of the room with messages left: the next one does not fit.
            !got_all && w.queue.has_visible()
        };
        if !batch.is_empty() && first_at.is_none() {
            first_at = Some(Instant::now());
        }
        let waited = first_at.map_or(Duration::ZERO, |t| t.elapsed());
        if rule.ready(batch.len(), payload_full, waited) {
            return Some(batch);
        }
        let nap = first_at.map_or(POLL, |_| POLL.min(rule.window.saturating_sub(waited)));
        sleep(nap.max(Duration::from_millis(1))).await;
    }
}

fn sqs_record(r: &Received, settings: &MappingSettings) -> Value {
    let wall = |ms: u64| epoch_ms(settings.clock.wall_at(Duration::from_millis(ms))).to_string();
    json!({
        "messageId": r.message_id,
        "receiptHandle": r.receipt_handle,
        "body": &*r.body,
        "attributes": {
            "ApproximateReceiveCount": r.receive_count.to_string(),
            "SentTimestamp": wall(r.sent_ms),
            "SenderId": S3_SENDER_ID,
            "ApproximateFirstReceiveTimestamp": wall(r.first_receive_ms),
        },
        "messageAttributes": {},
        "md5OfBody": &*r.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": settings.queue_arn,
        "awsRegion": settings.config.region,
    })
}

/// Whether this invocation gets killed, and when: a moment drawn in the first half of the
/// typical time from taking an event to answering, so that most planted kills land while the
/// function runs (a kill drawn later than its answer is reported as missed).
fn draw_kill(world: &mut World, settings: &MappingSettings) -> Option<Duration> {
    if !world.rng.chance(settings.config.kill_rate) {
        return None;
    }
    world.faults.kills_planted += 1;
    let upper = (world.typical_ms * 500.0) as u64;
    let cap = u64::try_from(settings.config.function_timeout.as_micros()).unwrap_or(u64::MAX);
    Some(Duration::from_micros(world.rng.between(0, upper.min(cap))))
}

/// One poller: batches until the run is over. Returns its slot (to collect the output).
pub(super) async fn poll(
    mut slot: Slot,
    world: SharedWorld,
    settings: Arc<MappingSettings>,
) -> (Slot, Option<std::io::Error>) {
    while let Some(batch) = gather(&world, &settings).await {
        let event = match settings.config.delivery {
            Delivery::Sqs => {
                let records: Vec<Value> = batch.iter().map(|r| sqs_record(r, &settings)).collect();
                json!({ "Records": records })
            }
            // S3 (or EventBridge) invokes the function with the notification itself.
            Delivery::Direct => batch
                .first()
                .and_then(|r| serde_json::from_str(&r.body).ok())
                .unwrap_or(Value::Null),
        };
        let payload_bytes = serde_json::to_string(&event).map_or(0, |text| text.len()) as u64;
        let kill_after = draw_kill(&mut lock(&world), &settings);
        let (end, cold_start, took) = match slot
            .invoke(&event, settings.config.function_timeout, kill_after)
            .await
        {
            Ok(x) => x,
            Err(e) => {
                let mut w = lock(&world);
                for r in &batch {
                    w.queue.abandon(&r.receipt_handle);
                }
                return (slot, Some(e));
            }
        };
        let redeliver = {
            let mut w = lock(&world);
            settle(&mut w, &settings, &batch, &end);
            let c = &mut w.invocations;
            c.total += 1;
            c.cold_starts += u64::from(cold_start);
            c.largest_batch = c.largest_batch.max(batch.len() as u64);
            c.largest_payload_bytes = c.largest_payload_bytes.max(payload_bytes);
            if kill_after.is_some() {
                if matches!(end, InvocationEnd::Killed { .. }) {
                    w.faults.kills_fired += 1;
                } else {
                    w.faults.kills_missed += 1;
                }
            }
            if matches!(end, InvocationEnd::Response { .. }) {
                let ms = took.as_secs_f64() * 1000.0;
                w.typical_ms = w.typical_ms * 0.9 + ms * 0.1;
            }
            settings.config.delivery == Delivery::Sqs
                && matches!(end, InvocationEnd::Response { .. })
                && w.rng.chance(settings.config.redeliver_rate)
        };
        if redeliver {
            // The same batch again, as the mapping sends it when its delete was lost: the
            // messages were deleted already, so the answer changes nothing in the queue; the
            // function must find the invalidation it created, not create another.
            let again = slot
                .invoke(&event, settings.config.function_timeout, None)
                .await;
            let mut w = lock(&world);
            w.faults.batches_redelivered += 1;
            w.invocations.total += 1;
            if let Ok((_, cold_start, _)) = again {
                w.invocations.cold_starts += u64::from(cold_start);
            }
        }
    }
    (slot, None)
}

/// What the answer does to the batch's messages, and the counts.
fn settle(world: &mut World, settings: &MappingSettings, batch: &[Received], end: &InvocationEnd) {
    let now = settings.clock.elapsed_ms();
    let c = &mut world.invocations;
    match end {
        InvocationEnd::Error { .. } => c.errored += 1,
        InvocationEnd::Timeout { .. } => c.timed_out += 1,
        InvocationEnd::Crashed { .. } => c.crashed += 1,
        InvocationEnd::Killed { .. } => c.killed += 1,
        InvocationEnd::Response { .. } => {}
    }
    if settings.config.delivery == Delivery::Direct {
        let c = &mut world.invocations;
        for r in batch {
            if matches!(end, InvocationEnd::Response { .. }) {
                c.ok += 1;
                world.queue.delete(&r.receipt_handle);
            } else {
                // Lambda retries an asynchronous event twice, after about 1 and 2 minutes
                // (scaled by --retry-delay); after the third failure it drops the event.
                let delay = if r.receive_count < 3 {
                    duration_ms(settings.config.retry_delay) * u64::from(r.receive_count)
                } else {
                    0
                };
                world
                    .queue
                    .change_visibility(&r.receipt_handle, now + delay);
            }
        }
        return;
    }
    let ids: HashSet<&str> = batch.iter().map(|r| r.message_id.as_str()).collect();
    let whole_batch = || batch.iter().map(|r| r.message_id.clone()).collect();
    // Failed records come back after the visibility timeout; the others are deleted.
    let failed: BTreeSet<String> = match end {
        InvocationEnd::Response { body } => match read_batch_answer(body, &ids) {
            BatchAnswer::AllSucceeded => {
                c.ok += 1;
                BTreeSet::new()
            }
            BatchAnswer::ItemFailures(failed) => {
                c.with_item_failures += 1;
                c.item_failures += failed.len() as u64;
                failed
            }
            BatchAnswer::Rejected(_) => {
                c.rejected_responses += 1;
                whole_batch()
            }
        },
        _ => whole_batch(),
    };
    for r in batch {
        if failed.contains(&r.message_id) {
            world.queue.abandon(&r.receipt_handle);
        } else {
            world.queue.delete(&r.receipt_handle);
        }
    }
}

/// Plays the burst in real time onto the queue, as S3 sends each notification (S3's test
/// event first, when given); returns when each body was sent (run clock, ms).
/// With an origin, each event's object is written to the bucket (and viewed through the
/// edges) just before its notification.
pub(super) async fn produce(
    bodies: Vec<(Duration, String)>,
    test_event: Option<String>,
    world: SharedWorld,
    clock: Clock,
    origin: Option<Arc<Origin>>,
) -> Vec<Option<u64>> {
    let start = Instant::now();
    let mut sent = vec![None; bodies.len()];
    if let Some(test) = &test_event {
        lock(&world).queue.send(test, clock.elapsed_ms());
    }
    let mut i = 0;
    while i < bodies.len() {
        if let (Some(origin), Some((at, _))) = (&origin, bodies.get(i)) {
            sleep_until(start + *at).await;
            origin.play(i).await;
        }
        {
            let mut w = lock(&world);
            let now = start.elapsed();
            while let Some((at, body)) = bodies.get(i) {
                if *at > now {
                    break;
                }
                let ms = clock.elapsed_ms();
                w.queue.send(body, ms);
                sent[i] = Some(ms);
                i += 1;
                // The next object must be written before its notification goes out.
                if origin.is_some() {
                    break;
                }
            }
        }
        if let Some((at, _)) = bodies.get(i) {
            sleep_until(start + *at).await;
        }
    }
    lock(&world).producer_done = true;
    sent
}

/// The notification time of the wall clock, for bodies built ahead of time.
pub(super) fn wall_at(clock: &Clock, since_start: Duration) -> SystemTime {
    clock.wall_at(clock.elapsed() + since_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_goes_when_full_at_the_window_end_or_at_the_payload_limit() {
        let rule = BatchRule {
            size: 10,
            window: Duration::from_millis(200),
        };
        assert!(!rule.ready(0, false, Duration::from_secs(9)), "never empty");
        assert!(!rule.ready(3, false, Duration::from_millis(199)));
        assert!(rule.ready(3, false, Duration::from_millis(200)));
        assert!(rule.ready(10, false, Duration::ZERO));
        assert!(rule.ready(1, true, Duration::ZERO));
        let no_window = BatchRule {
            size: 10,
            window: Duration::ZERO,
        };
        assert!(no_window.ready(1, false, Duration::ZERO));
    }

    #[test]
    fn record_size_counts_json_escapes() {
        assert_eq!(record_size("ab"), 4 + RECORD_OVERHEAD);
        assert_eq!(record_size("\"\\"), 6 + RECORD_OVERHEAD);
        assert_eq!(record_size("\u{e9}"), 4 + RECORD_OVERHEAD);
    }

    #[test]
    fn batch_answers_are_read_as_lambda_reads_them() {
        let ids: HashSet<&str> = ["m1", "m2"].into_iter().collect();
        let ok = BatchAnswer::AllSucceeded;
        for body in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
        ] {
            assert_eq!(read_batch_answer(body, &ids), ok, "{body:?}");
        }
        assert_eq!(
            read_batch_answer(r#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#, &ids),
            BatchAnswer::ItemFailures(["m2".to_string()].into_iter().collect())
        );
        assert_eq!(
            read_batch_answer(r#"{"batchItemFailures":[{"itemIdentifier":"m9"}]}"#, &ids),
            BatchAnswer::Rejected(Rejection::UnknownId("m9".into()))
        );
        assert_eq!(
            read_batch_answer(r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#, &ids),
            BatchAnswer::Rejected(Rejection::BadItem)
        );
        assert_eq!(
            read_batch_answer(r#"{"batchItemFailures":[{"id":"m1"}]}"#, &ids),
            BatchAnswer::Rejected(Rejection::BadItem)
        );
        assert_eq!(
            read_batch_answer(r#"{"batchItemFailures":{}}"#, &ids),
            BatchAnswer::Rejected(Rejection::FailuresNotAnArray)
        );
        assert_eq!(
            read_batch_answer("{oops", &ids),
            BatchAnswer::Rejected(Rejection::NotJson)
        );
        assert_eq!(
            read_batch_answer("\"ok\"", &ids),
            BatchAnswer::Rejected(Rejection::NotAnObject)
        );
    }
}

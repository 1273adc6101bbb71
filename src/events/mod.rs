//! The S3-events shell on the engine: every record of a batch of uploads and deletes becomes
//! one plan, one CloudFront invalidation per distribution, created idempotently and not waited
//! for. SQS batches answer with the messages that must come back; direct events with an error.
//!
//! - [`incoming`]: the shapes of event, told apart;
//! - [`keys`]: from an object key to the URL path a viewer requests.

pub mod incoming;
pub mod keys;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::engine::{Engine, JobObserver, JobRun, JobSpec, Progress, ProgressEvent};
use crate::params::OnTimeout;
use crate::params::events::{EventsParams, VARIABLE};
use crate::plan::{PlanOptions, normalise_item, plan_normalised};
use crate::ports::{Clock, CloudFrontErrorKind, Invalidations, Millis};
use crate::text::{format_duration, hex, truncate};
use incoming::{Change, ChangeKind, Contents, Delivery, EncodedKey, Envelope, EventSkip};
use keys::{decode_form, url_path};

/// How long a batch may keep trying when the invocation has no deadline (a local run): the
/// longest a Lambda function may run.
const NO_DEADLINE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Identities hashed into the CallerReference's stable part.
const REFERENCE_PREFIX: &str = "s3-events-";

/// What the function answers an SQS event source mapping (`ReportBatchItemFailures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// What an invocation answers when it succeeds, serialised as Lambda returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// An SQS batch: the messages that must come back.
    Batch(BatchResponse),
    /// A direct event whose invalidations were created: `{}`.
    Direct {},
}

/// Why a direct invocation failed; Lambda's asynchronous retries and on-failure destination take it from there.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventsError {
    #[error(
        "the event is neither an SQS batch, an S3 event notification nor an EventBridge S3 event \
         (no \"Records\" from aws:sqs or aws:s3, no \"source\": \"aws.s3\" with a \"detail\"): \
         send this function S3 notifications, EventBridge \"Object Created\"/\"Object Deleted\" \
         events, or an SQS queue that receives them; the on-failure destination keeps the event"
    )]
    Unrecognised,

    #[error("the invalidation was not created for {}", .reasons.join("; "))]
    NotCreated { reasons: Vec<String> },
}

impl From<EventsError> for lambda_runtime::Diagnostic {
    fn from(error: EventsError) -> Self {
        let error_type = match &error {
            EventsError::Unrecognised => "CfInvalidate.UnrecognisedEvent",
            EventsError::NotCreated { .. } => "CfInvalidate.NotCreated",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The facts of one invocation, logged as one line (JSON under `AWS_LAMBDA_LOG_FORMAT=JSON`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// `sqs`, `s3` or `eventbridge`.
    pub delivery: &'static str,
    pub messages: usize,
    /// Objects created and removed (before any skipping by key).
    pub created: usize,
    pub removed: usize,
    /// Records and keys that asked for nothing, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Distinct paths the keys asked for, directory-index variants included.
    pub paths_planned: usize,
    /// Paths in each invalidation sent (after collapsing into wildcards within `maxPaths`).
    pub paths_sent: usize,
    /// `target=invalidation id` for each invalidation created (or found again).
    pub invalidations: Vec<String>,
    /// Why each target got no invalidation.
    pub not_created: Vec<String>,
    pub item_failures: usize,
}

impl BatchSummary {
    fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    fn log(&self) {
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|(reason, count)| format!("{reason}={count}"))
            .collect();
        info!(
            delivery = self.delivery,
            messages = self.messages,
            created = self.created,
            removed = self.removed,
            skipped = %skipped.join(","),
            paths_planned = self.paths_planned,
            paths_sent = self.paths_sent,
            invalidations = %self.invalidations.join(","),
            not_created = %self.not_created.join("; "),
            item_failures = self.item_failures,
            "batch done"
        );
    }
}

/// The S3-events function: the engine and the configuration read at start-up.
pub struct EventsFunction<I, C> {
    pub engine: Engine<I, C>,
    pub params: EventsParams,
}

impl<I: Invalidations, C: Clock> EventsFunction<I, C> {
    pub fn new(engine: Engine<I, C>, params: EventsParams) -> Self {
        Self { engine, params }
    }

    /// Handles one invocation. An SQS batch always answers `Ok` with the messages to redeliver;
    /// a direct event answers `Err` when its invalidation was not created.
    pub async fn handle(
        &self,
        envelope: Envelope,
        deadline: Option<Millis>,
    ) -> Result<(Response, BatchSummary), EventsError> {
        match envelope.into_delivery() {
            Delivery::Sqs(messages) => {
                let (response, summary) = self.handle_batch(messages, deadline).await;
                Ok((Response::Batch(response), summary))
            }
            Delivery::Direct(contents) => {
                let delivery = match contents.changes.first().map(|change| &change.key) {
                    Some(EncodedKey::EventBridge(_)) => "eventbridge",
                    _ => "s3",
                };
                let mut summary = BatchSummary {
                    delivery,
                    messages: 1,
                    ..BatchSummary::default()
                };
                let identities = contents.identities();
                let mut paths = Vec::new();
                self.gather(contents, &mut paths, &mut summary);
                let created = self
                    .invalidate(paths, &identities, deadline, &mut summary)
                    .await;
                summary.log();
                if created {
                    Ok((Response::Direct {}, summary))
                } else {
                    Err(EventsError::NotCreated {
                        reasons: summary.not_created,
                    })
                }
            }
            Delivery::Unrecognised => Err(EventsError::Unrecognised),
        }
    }

    async fn handle_batch(
        &self,
        messages: Vec<(String, String)>,
        deadline: Option<Millis>,
    ) -> (BatchResponse, BatchSummary) {
        let mut summary = BatchSummary {
            delivery: "sqs",
            messages: messages.len(),
            ..BatchSummary::default()
        };
        let mut paths = Vec::new();
        // The messages whose keys are in the plan: they fail together if it is not created.
        let mut contributing = Vec::new();
        for (message_id, body) in messages {
            match incoming::read_body(&body) {
                Ok(contents) => {
                    let before = paths.len();
                    self.gather(contents, &mut paths, &mut summary);
                    if paths.len() > before {
                        contributing.push(message_id);
                    }
                }
                // Acknowledged, not retried: no redelivery can change a body, and a queue whose
                // dead-letter queue holds only invalidations that failed keeps its alarm meaningful.
                Err(preview) => {
                    warn!(
                        message_id = %message_id,
                        preview = %preview,
                        "skipping a message that is not an S3 or EventBridge event; it is deleted from the queue, not retried"
                    );
                    summary.skip(EventSkip::Unrecognised.as_str());
                }
            }
        }
        let created = self
            .invalidate(paths, &contributing, deadline, &mut summary)
            .await;
        let failures: Vec<ItemFailure> = if created {
            Vec::new()
        } else {
            contributing
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect()
        };
        summary.item_failures = failures.len();
        summary.log();
        (
            BatchResponse {
                batch_item_failures: failures,
            },
            summary,
        )
    }

    /// Adds the URL paths of `contents`' changes to `paths`, normalised for the planner,
    /// counting what is skipped and why.
    fn gather(&self, contents: Contents, paths: &mut Vec<String>, summary: &mut BatchSummary) {
        for skip in contents.skipped {
            summary.skip(skip.as_str());
        }
        for Change {
            kind, bucket, key, ..
        } in contents.changes
        {
            match kind {
                ChangeKind::Created => summary.created += 1,
                ChangeKind::Removed => summary.removed += 1,
            }
            if let Some(wanted) = &self.params.bucket
                && *wanted != bucket
            {
                let other_bucket = EventSkip::OtherBucket.as_str();
                // Warned about once per invocation: at the first such record.
                if !summary.skipped.contains_key(other_bucket) {
                    warn!(
                        bucket = %truncate(&bucket, 63),
                        configured = %wanted,
                        "skipping records of a bucket other than the configured one; check what sends events to this function"
                    );
                }
                summary.skip(other_bucket);
                continue;
            }
            for key in candidate_keys(&key) {
                let path = key.and_then(|key| url_path(&key, &self.params));
                match path {
                    Ok(path) => match normalise_item(&path) {
                        Ok(normalised) => paths.push(normalised),
                        Err(error) => {
                            warn!(error = %error, "skipping a key CloudFront cannot invalidate");
                            summary.skip("not_invalidatable");
                        }
                    },
                    Err(skip) => summary.skip(skip.as_str()),
                }
            }
        }
    }

    /// Plans `paths` (normalised by [`Self::gather`]) and creates one invalidation per target;
    /// true when every target has one.
    async fn invalidate(
        &self,
        paths: Vec<String>,
        identities: &[String],
        deadline: Option<Millis>,
        summary: &mut BatchSummary,
    ) -> bool {
        if paths.is_empty() {
            return true;
        }
        let plan = plan_normalised(
            paths,
            &PlanOptions {
                max_paths: self.params.max_paths,
                directory_index: self.params.directory_index.clone(),
            },
        );
        summary.paths_planned = plan.requested_paths();
        summary.paths_sent = plan.billed_paths();
        let mut identities: Vec<&str> = identities.iter().map(String::as_str).collect();
        identities.sort_unstable();
        identities.dedup();
        let spec = JobSpec {
            distributions: self.params.targets.clone(),
            plan,
            wait: false,
            timeout: NO_DEADLINE_LIMIT,
            on_timeout: OnTimeout::Fail,
            reference_base: reference_base(&identities),
            account_id: None,
            from_artifact: None,
        };
        let mut run = JobRun::start(&spec, self.engine.clock.now());
        self.engine
            .drive(&spec, &mut run, deadline, &LogProgress)
            .await;
        for dist in &run.distributions {
            let target = &dist.distribution;
            match &dist.progress {
                Progress::InProgress {
                    invalidation_id, ..
                }
                | Progress::Completed { invalidation_id } => summary
                    .invalidations
                    .push(format!("{target}={invalidation_id}")),
                Progress::Queued {
                    refusals,
                    failures_in_a_row,
                    last_error,
                    ..
                } => summary.not_created.push(format!(
                    "{target}: {} ({refusals} TooManyInvalidationsInProgress answers); the messages come back after the queue's visibility timeout",
                    last_error.as_deref().unwrap_or(if *failures_in_a_row > 0 {
                        "no answer"
                    } else {
                        "no time left to try"
                    })
                )),
                Progress::Failed { cause, .. } => {
                    let advice = match cause.kind {
                        CloudFrontErrorKind::AccessDenied => format!(
                            ": grant {} on {} to the function's role, or correct the id in {VARIABLE}",
                            cause.operation.iam_action(target),
                            spec.distribution_arn(target)
                        ),
                        CloudFrontErrorKind::NoSuchDistribution => {
                            format!(": correct the id in {VARIABLE}")
                        }
                        _ => String::new(),
                    };
                    let said = match cause.kind {
                        CloudFrontErrorKind::NoAnswer { within } => format!(
                            "{} did not answer within {}",
                            cause.operation.iam_action(target),
                            format_duration(within)
                        ),
                        _ => format!(
                            "{} ({})",
                            cause.message,
                            cause.code.as_deref().unwrap_or("error")
                        ),
                    };
                    summary.not_created.push(format!("{target}: {said}{advice}"));
                }
            }
        }
        summary.not_created.is_empty()
    }
}

/// The keys an event may mean. S3 notifications encode the key as a form value. EventBridge's
/// documentation does not say whether it encodes it; when the raw and the decoded key differ
/// (a `+` or a `%XX` in it), both are invalidated, so the object is covered either way.
fn candidate_keys(key: &EncodedKey) -> Vec<Result<String, keys::KeySkip>> {
    match key {
        EncodedKey::Form(raw) => vec![decode_form(raw)],
        EncodedKey::EventBridge(raw) => match decode_form(raw) {
            Ok(decoded) if decoded != *raw => vec![Ok(raw.clone()), Ok(decoded)],
            _ => vec![Ok(raw.clone())],
        },
    }
}

/// The stable part of the batch's CallerReference: a digest of its events' identities (SQS
/// message ids, or S3 sequencers and EventBridge ids), never of the keys alone. A redelivered
/// batch gets the same invalidation; a new upload of the same key, a new event and a new one.
pub fn reference_base<S: AsRef<str>>(identities: &[S]) -> String {
    let mut hasher = Sha256::new();
    for identity in identities {
        hasher.update(identity.as_ref().as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    format!("{REFERENCE_PREFIX}{}", hex(&digest[..16]))
}

/// Logs refusals as they happen (the adapter logs each invalidation it creates).
struct LogProgress;

impl JobObserver for LogProgress {
    fn on_event(&self, _elapsed: Duration, event: ProgressEvent<'_>) {
        if let ProgressEvent::Deferred {
            distribution,
            reason,
            attempts,
            retry_in,
        } = event
        {
            info!(
                distribution = %distribution,
                reason = reason.unwrap_or("no answer"),
                attempts,
                retry_in = %format_duration(retry_in),
                "CloudFront deferred the invalidation; trying again"
            );
        }
    }
}

#[cfg(test)]
mod tests;

//! The request log: every call the emulator answered (or dropped), in arrival order.

use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::cloudfront::CallerReferenceReuse;
use crate::faults::{Api, FaultKind};
use crate::text::{seconds, shorten};

/// The longest detail a log line shows.
const DETAIL_SHOWN: usize = 160;

/// One call to the emulator and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When the call arrived, in milliseconds since the emulator started.
    pub at_ms: u64,
    /// How long the emulator took to answer it, in real milliseconds (including injected
    /// latency and, for `NextInvocation`, the long poll).
    pub duration_ms: u64,
    pub api: Api,
    /// The operation, named as AWS names it (`CreateInvalidation`, `PutJobSuccessResult`,
    /// `NextInvocation`, `InvocationResponse`, `InvocationError`, `InitError`, ...), or
    /// `Unsupported` for a path the emulator does not serve.
    pub operation: String,
    /// The request id sent back (`x-amz-request-id` / `x-amzn-RequestId`).
    pub request_id: String,
    /// CloudFront distribution id, when the call names one.
    pub distribution_id: Option<String>,
    /// CloudFront distribution tenant id, when the call names one (the `...ForDistributionTenant`
    /// operations).
    pub distribution_tenant_id: Option<String>,
    /// CloudFront invalidation id: the one asked for, or the one created.
    pub invalidation_id: Option<String>,
    /// CodePipeline job id, when the call names one.
    pub job_id: Option<String>,
    /// Lambda invocation request id, for Runtime API calls.
    pub lambda_request_id: Option<String>,
    /// HTTP status sent, or `None` when the connection was closed without a response.
    pub status: Option<u16>,
    /// AWS error code of an error response (`NoSuchDistribution`, `ValidationException`, ...).
    pub error_code: Option<String>,
    /// The injected fault that shaped this outcome, if any.
    pub fault: Option<FaultKind>,
    /// A short human description (paths in the batch, continuation token present, ...).
    /// Never contains credentials.
    pub detail: Option<String>,
    /// For a create call whose CallerReference was used before on the same distribution or
    /// tenant: what CloudFront did with it.
    pub caller_reference_reuse: Option<CallerReferenceReuse>,
    /// For a successful S3 GetObject: the body bytes sent (the range's length, or the whole
    /// object's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
}

impl RequestRecord {
    /// `201`, `400 InvalidArgument`, or `dropped` (no response).
    pub fn outcome(&self) -> String {
        match (self.status, &self.error_code) {
            (None, _) if self.fault == Some(FaultKind::Hang) => "hung".to_string(),
            (None, _) => "dropped".to_string(),
            (Some(s), Some(code)) => format!("{s} {code}"),
            (Some(s), None) => s.to_string(),
        }
    }

    /// Whether the call got a 2xx response.
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }

    /// The call in one line, as `serve`'s log and a pipeline's timeline show it: the API, the
    /// operation, every id the call names, how it ended, the fault that shaped it and, with
    /// `with_detail`, the detail (cut to 160 characters):
    /// `CloudFront CreateInvalidation E2QWRUHEXAMPLE I2J0I21PCUYOIK -> 201 (1 path(s), …)`.
    pub fn line(&self, with_detail: bool) -> String {
        let mut line = format!("{} {}", self.api, self.operation);
        let ids = [
            &self.distribution_id,
            &self.distribution_tenant_id,
            &self.invalidation_id,
            &self.job_id,
            &self.lambda_request_id,
        ];
        for id in ids.into_iter().flatten() {
            let _ = write!(line, " {id}");
        }
        let _ = write!(line, " -> {}", self.outcome());
        if let Some(fault) = self.fault {
            let _ = write!(line, " [injected {}]", fault.name());
        }
        if with_detail && let Some(detail) = &self.detail {
            let _ = write!(line, " ({})", shorten(detail, DETAIL_SHOWN));
        }
        line
    }

    /// The call as `serve` logs it live: when it arrived, then its line, with the detail only
    /// when it tells what became of a reused CallerReference, or an edge request's path and
    /// `X-Cache` (`CloudFront ViewerGet E1 -> 200 (/index.html: Hit from cloudfront)`).
    pub fn live_line(&self) -> String {
        let viewer = matches!(self.operation.as_str(), "ViewerGet" | "ViewerHead");
        let with_detail = self.caller_reference_reuse.is_some() || viewer;
        format!("+{} {}", seconds(self.at_ms), self.line(with_detail))
    }
}

/// The shared log, with a live feed for watchers.
#[derive(Debug)]
pub(crate) struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    feed: broadcast::Sender<RequestRecord>,
}

impl RequestLog {
    pub(crate) fn new() -> Self {
        let (feed, _) = broadcast::channel(1024);
        Self {
            records: Mutex::new(Vec::new()),
            feed,
        }
    }

    pub(crate) fn push(&self, mut record: RequestRecord) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        record.seq = records.len() as u64 + 1;
        records.push(record.clone());
        drop(records);
        // Nobody listening is fine.
        let _ = self.feed.send(record);
    }

    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<RequestRecord> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            seq: 1,
            at_ms: 120,
            duration_ms: 1,
            api: Api::CloudFront,
            operation: "CreateInvalidation".to_string(),
            request_id: "r".to_string(),
            distribution_id: Some("E2QWRUHEXAMPLE".to_string()),
            distribution_tenant_id: None,
            invalidation_id: Some("I2J0I21PCUYOIK".to_string()),
            job_id: None,
            lambda_request_id: None,
            status: None,
            error_code: None,
            fault: Some(FaultKind::DropAfter),
            detail: Some(format!("1 path(s), CallerReference {}", "x".repeat(200))),
            caller_reference_reuse: None,
            body_bytes: None,
        }
    }

    #[test]
    fn one_line_names_the_call_its_ids_its_end_and_its_fault() {
        let r = record();
        assert_eq!(
            r.line(false),
            "CloudFront CreateInvalidation E2QWRUHEXAMPLE I2J0I21PCUYOIK -> dropped [injected drop-after]"
        );
        let with_detail = r.line(true);
        assert!(
            with_detail.ends_with(&format!(
                "[injected drop-after] (1 path(s), CallerReference {}…)",
                "x".repeat(160 - "1 path(s), CallerReference ".len())
            )),
            "{with_detail}"
        );
        let runtime = RequestRecord {
            api: Api::LambdaRuntime,
            operation: "InitError".to_string(),
            distribution_id: None,
            invalidation_id: None,
            status: Some(202),
            fault: None,
            detail: None,
            ..record()
        };
        assert_eq!(runtime.line(true), "Lambda InitError -> 202");
    }

    #[test]
    fn serve_shows_why_a_reused_caller_reference_was_refused() {
        let refused = RequestRecord {
            at_ms: 1_250,
            operation: "CreateInvalidationForDistributionTenant".to_string(),
            distribution_id: None,
            distribution_tenant_id: Some("dt_abc".to_string()),
            invalidation_id: None,
            status: Some(400),
            error_code: Some("InvalidArgument".to_string()),
            fault: None,
            detail: Some(
                "1 path(s), CallerReference r (same batch as I1, refused by the strict CallerReference mode)"
                    .to_string(),
            ),
            caller_reference_reuse: Some(CallerReferenceReuse::RefusedStrict),
            ..record()
        };
        assert_eq!(
            refused.live_line(),
            "+1.250s CloudFront CreateInvalidationForDistributionTenant dt_abc -> 400 InvalidArgument (1 path(s), CallerReference r (same batch as I1, refused by the strict CallerReference mode))"
        );
        // Other details stay out of the live log.
        let plain = RequestRecord {
            caller_reference_reuse: None,
            ..refused
        };
        assert_eq!(
            plain.live_line(),
            "+1.250s CloudFront CreateInvalidationForDistributionTenant dt_abc -> 400 InvalidArgument"
        );
    }
}

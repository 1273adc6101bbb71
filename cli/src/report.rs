//! The result of `invalidate` and `wait`: a short text summary, or one JSON document for scripts.

use cf_invalidate::params::Target;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeMap as _;

use cf_invalidate::text::{format_duration, preview};

use super::planview::{SyncCounts, plural, thousands};
use super::progress::{Entry, Status};

/// How the run ended, as scripts match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Every invalidation is Completed.
    Completed,
    /// `--no-wait`: created, not waited for.
    Created,
    /// `--timeout` ran out (exit 0 with `--on-timeout succeed`, else 1).
    TimedOut,
    Failed,
    /// The sync changed nothing, so nothing was sent.
    NothingToInvalidate,
    /// Ctrl-C: what was created goes on in CloudFront.
    Interrupted,
}

/// A distribution's or a tenant's id under the JSON key that names its kind, for
/// `#[serde(flatten, serialize_with = "target_key")]`: `"distribution_id"` or
/// `"distribution_tenant_id"`.
pub fn target_key<S: serde::Serializer>(target: &Target, serializer: S) -> Result<S::Ok, S::Error> {
    let key = if target.is_tenant() {
        "distribution_tenant_id"
    } else {
        "distribution_id"
    };
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, target.as_str())?;
    map.end()
}

#[derive(Debug, Clone, Serialize)]
pub struct DistributionReport {
    #[serde(flatten, serialize_with = "target_key")]
    pub target: Target,
    /// CloudFront's own field names (`Id`, `Status`), so that `jq` habits carry over.
    #[serde(rename = "Id")]
    pub invalidation_id: Option<String>,
    /// `Completed`, `InProgress`, `Waiting` (never accepted by CloudFront) or `Failed`.
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_reference: Option<String>,
    /// Seconds from the start of the run until CloudFront accepted the invalidation.
    pub created_after_seconds: Option<f64>,
    /// Seconds from the start of the run until it was seen Completed.
    pub completed_after_seconds: Option<f64>,
    /// Seconds from creation to completion, when both were seen.
    pub duration_seconds: Option<f64>,
    pub failure_type: Option<String>,
    pub error: Option<String>,
}

impl DistributionReport {
    /// From creation to completion, for people, when both were seen.
    pub fn took(&self) -> Option<String> {
        let seconds = self.duration_seconds?;
        Some(format_duration(Duration::from_secs_f64(seconds)))
    }

    pub fn from_entry(
        entry: &Entry,
        caller_reference: Option<String>,
        error: Option<String>,
    ) -> Self {
        let duration = match (entry.created_after, entry.completed_after) {
            (Some(created), Some(completed)) => Some(seconds(completed.saturating_sub(created))),
            _ => None,
        };
        Self {
            target: entry.distribution.clone(),
            invalidation_id: entry.invalidation_id.clone(),
            status: match entry.status {
                // `wait` on an invalidation never read: it existed, so it was in progress.
                Status::Checking => Status::InProgress.as_str(),
                status => status.as_str(),
            },
            caller_reference,
            created_after_seconds: entry.created_after.map(seconds),
            completed_after_seconds: entry.completed_after.map(seconds),
            duration_seconds: duration,
            failure_type: entry.failure.map(|kind| failure_word(kind).to_owned()),
            error,
        }
    }
}

/// Everything a script needs to know about an `invalidate` or `wait` run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    pub result: RunResult,
    pub succeeded: bool,
    pub exit_code: u8,
    pub elapsed_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_paths: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_paths: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<SyncCounts>,
    pub distributions: Vec<DistributionReport>,
    /// The summary (success) or the error (failure), as the text output says it.
    pub message: String,
    pub warnings: Vec<String>,
}

impl RunReport {
    /// `--output text`: bare, tab-separated values, a line per distribution, as the AWS CLI
    /// prints them: the id, the invalidation id (`-` when none was created) and its status.
    pub fn to_values(&self) -> String {
        self.distributions
            .iter()
            .map(|d| {
                format!(
                    "{}\t{}\t{}\n",
                    d.target,
                    d.invalidation_id.as_deref().unwrap_or("-"),
                    d.status
                )
            })
            .collect()
    }

    /// The text summary for standard output: the message, then a line per distribution.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        if self.succeeded {
            let _ = writeln!(text, "{}", self.message);
        }
        for distribution in &self.distributions {
            let timing = distribution
                .took()
                .map_or(String::new(), |took| format!(" in {took}"));
            let _ = writeln!(
                text,
                "  {}  {}  {}{timing}",
                distribution.target,
                distribution.invalidation_id.as_deref().unwrap_or("-"),
                distribution.status
            );
        }
        if let Some(paths) = self.paths.as_ref().filter(|paths| !paths.is_empty()) {
            // CloudFront bills an invalidation it created; one it refused costs nothing.
            let created = self
                .distributions
                .iter()
                .filter(|distribution| distribution.invalidation_id.is_some())
                .count();
            let count = if created > 0 {
                let billed = self.billed_paths.unwrap_or(paths.len());
                format!("{} billed", thousands(billed.saturating_mul(created)))
            } else {
                "none created, nothing billed".to_owned()
            };
            let _ = writeln!(text, "  Paths ({count}): {}", preview(paths, 10));
        }
        text
    }
}

/// What the run did, in one sentence, for a successful end.
pub fn summary_sentence(
    result: RunResult,
    billed_paths: usize,
    distributions: &[DistributionReport],
    elapsed: Duration,
) -> String {
    let targets = match distributions {
        [one] => format!(
            "{} ({})",
            one.target,
            one.invalidation_id.as_deref().unwrap_or("-")
        ),
        many => format!("{} distributions", many.len()),
    };
    let paths = format!("{} path{}", thousands(billed_paths), plural(billed_paths));
    match result {
        RunResult::Completed => format!(
            "Invalidated {paths} on {targets} in {}.",
            format_duration(elapsed)
        ),
        RunResult::Created => format!(
            "Created the invalidation of {paths} on {targets}; not waiting for it to complete (--no-wait)."
        ),
        _ => format!("{paths} on {targets}."),
    }
}

/// The CLI's word for why a distribution failed, in place of CodePipeline's failure types:
/// what a person at a terminal fixes.
pub fn failure_word(kind: cf_invalidate::ports::FailureType) -> &'static str {
    use cf_invalidate::ports::FailureType;
    match kind {
        FailureType::ConfigurationError => "configuration",
        FailureType::PermissionError => "permission",
        FailureType::SystemUnavailable => "unavailable",
        FailureType::JobFailed => "failed",
    }
}

pub fn seconds(duration: Duration) -> f64 {
    // Milliseconds are plenty for people and scripts, and keep the JSON short.
    (duration.as_millis() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_ids_paths_and_time() {
        let mut entry = Entry::new(Target::parse("E2QWRUHAPOMQZL").expect("id"));
        entry.status = Status::Completed;
        entry.invalidation_id = Some("I2J0I21PCUYOIK".to_owned());
        entry.created_after = Some(Duration::from_millis(120));
        entry.completed_after = Some(Duration::from_millis(2120));
        let distributions = vec![DistributionReport::from_entry(&entry, None, None)];
        let report = RunReport {
            command: "invalidate",
            result: RunResult::Completed,
            succeeded: true,
            exit_code: 0,
            elapsed_seconds: 2.2,
            paths: Some(vec!["/a.html".to_owned(), "/b%20c.html".to_owned()]),
            billed_paths: Some(2),
            requested_paths: Some(2),
            collapsed: Some(false),
            changes: None,
            message: summary_sentence(
                RunResult::Completed,
                2,
                &distributions,
                Duration::from_millis(2200),
            ),
            distributions,
            warnings: Vec::new(),
        };
        assert_eq!(
            report.to_text(),
            "Invalidated 2 paths on E2QWRUHAPOMQZL (I2J0I21PCUYOIK) in 2s.\n  E2QWRUHAPOMQZL  I2J0I21PCUYOIK  Completed in 2s\n  Paths (2 billed): /a.html /b%20c.html\n"
        );
        assert_eq!(report.distributions[0].duration_seconds, Some(2.0));
    }
}

//! The action's `verify`: once every invalidation is `Completed`, each invalidated file is
//! fetched through the edge and compared with what was deployed (the input artifact's CRC-32,
//! else S3's ETag), within the invocation's deadline, carried across continuations.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::edge::EdgeError;
use crate::freshness::{EdgeAnswer, Truth, Verdict, judge, sample_evenly};
use crate::params::{OnStale, Target, VerifyParams};
use crate::plan::normalise_item;
use crate::ports::{Clock, Millis, millis};
use crate::text::percent_decode;

/// Each request through the edge, and each S3 call, gets at most this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A round of requests needs at least this long before the deadline; with less, the next
/// invocation makes it. (A short Lambda timeout cuts each request's time to what is left.)
const MIN_ROUND: Duration = Duration::from_secs(1);
/// Requests in flight at once.
pub const CONCURRENCY: usize = 8;
/// Most failing paths a continuation token carries (by index); the count goes on beyond them.
const MAX_CARRIED_FAILURES: usize = 20;
/// Most keys one wildcard of `paths` is expanded to.
const LISTING_LIMIT: usize = 10_000;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a distribution serves and what it serves from, per GetDistribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionSite {
    /// `https://d111111abcdef8.cloudfront.net`, or `http://HOST:PORT` for an emulator's edge.
    pub base_url: String,
    /// The S3 bucket of the default cache behaviour's origin, when it is one.
    pub bucket: Option<String>,
    /// Its `OriginPath` as a key prefix: "" or ending in "/".
    pub prefix: String,
}

/// What `verify` needs besides the clock: GetDistribution, the edge, and the site's bucket.
pub trait Site: Send + Sync {
    fn distribution<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<DistributionSite, String>>;
    /// HEAD, or GET `with_body`, within `timeout`.
    fn ask<'a>(
        &'a self,
        url: &'a str,
        base_url: &'a str,
        with_body: bool,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<EdgeAnswer, EdgeError>>;
    /// HeadObject's ETag, `None` for no such key, within `timeout`.
    fn etag<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, String>>;
    /// Keys under `prefix`, at most `limit`.
    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, String>>;
}

/// A file the input artifact deployed (or removed), by URL path, as `pathsFromArtifact` read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedFile {
    /// As the artifact's name maps to a URL path (before normalising).
    pub path: String,
    /// CRC-32 and size from the zip's central directory; `None` for a removed file.
    pub digest: Option<(u32, u64)>,
}

/// What to check, as the invocation knows it.
#[derive(Debug, Clone, Copy)]
pub struct VerifyJob<'a> {
    pub params: &'a VerifyParams,
    pub targets: &'a [Target],
    /// `paths` as given (not from the artifact): compared with S3's ETag.
    pub paths: &'a [String],
    /// The artifact's files, compared with their CRC-32.
    pub deployed: &'a [DeployedFile],
    /// When the job started, and its `timeoutMinutes`.
    pub started_at: Millis,
    pub timeout: Duration,
}

/// How far verification got, carried in the continuation token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyProgress {
    /// Checks done: the next check's index.
    #[serde(rename = "n")]
    pub next: u32,
    #[serde(rename = "f", default)]
    pub fresh: u32,
    #[serde(rename = "s", default)]
    pub stale: u32,
    #[serde(rename = "m", default)]
    pub missing: u32,
    #[serde(rename = "x", default)]
    pub not_comparable: u32,
    /// Indexes of the first failing checks, to name them at the end.
    #[serde(rename = "i", default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<u32>,
}

/// One failing (or not comparable) check, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    /// The distribution whose edge was asked, when several were.
    pub edge: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
}

/// Verification done: the counts and what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Checks planned: objects times edges.
    pub planned: usize,
    pub progress: VerifyProgress,
    /// The failing checks named (those carried, or this invocation's).
    pub failing: Vec<Finding>,
    /// Paths that could not be checked at all (cache tags, wildcards without a listing), and why.
    pub unchecked: Vec<Finding>,
    /// Objects listed before the sample was taken.
    pub listed: usize,
    pub from_artifact: bool,
    pub edges: usize,
    pub on_stale: OnStale,
}

impl VerifyReport {
    pub fn failed(&self) -> bool {
        self.progress.stale + self.progress.missing > 0
    }
}

/// How verification ended this invocation.
#[derive(Debug)]
pub enum Verified {
    Done(VerifyReport),
    /// The invocation's time ran out; the next one goes on from here.
    OutOfTime {
        progress: VerifyProgress,
        planned: usize,
    },
    /// `timeoutMinutes` ran out before every check was made.
    TimedOut(VerifyReport),
    /// The site could not be asked at all: what failed, in words.
    Unverifiable(String),
}

/// One planned check: an object at one edge.
struct Check {
    path: String,
    /// The distribution whose edge this is, when there are several.
    edge: usize,
    truth: Source,
}

#[derive(Clone)]
enum Source {
    Digest(u32, u64),
    Absent,
    Key { bucket: String, key: String },
}

/// Checks the job's files through the edge from where `progress` left off, until done or until
/// `deadline` (less `margin`) is too near for another round of requests.
pub async fn verify(
    site: &dyn Site,
    clock: &impl Clock,
    job: VerifyJob<'_>,
    mut progress: VerifyProgress,
    deadline: Option<Millis>,
    margin: Duration,
) -> Verified {
    let params = job.params;
    // The edges: the site's own address, else each distribution's domain.
    let mut edges: Vec<(Option<String>, String)> = Vec::new();
    let mut origin: Option<(String, String)> = params
        .bucket
        .clone()
        .map(|bucket| (bucket, params.prefix.clone()));
    let distributions: Vec<&Target> = job.targets.iter().filter(|t| !t.is_tenant()).collect();
    let needs_origin = origin.is_none() && !job.paths.is_empty();
    if params.base_url.is_none() || needs_origin {
        for target in &distributions {
            match site.distribution(target.as_str()).await {
                Ok(found) => {
                    if params.base_url.is_none() {
                        edges.push((Some(target.to_string()), found.base_url));
                    }
                    if origin.is_none() {
                        origin = found.bucket.map(|bucket| (bucket, found.prefix));
                    }
                }
                Err(problem) => return Verified::Unverifiable(problem),
            }
        }
    }
    if let Some(base_url) = &params.base_url {
        edges = vec![(None, base_url.clone())];
    }
    if edges.len() == 1 {
        edges[0].0 = None;
    }
    if edges.is_empty() {
        return Verified::Unverifiable(
            "no edge to ask: give \"verify\": {\"baseUrl\": \"https://www.example.com\"} for a distribution tenant's domain".to_owned(),
        );
    }

    // The objects: the artifact's files, then `paths` (wildcards expanded against the bucket).
    let mut unchecked = Vec::new();
    let mut objects: Vec<(String, Source)> = Vec::new();
    let add = |objects: &mut Vec<(String, Source)>, path: String, truth: Source| {
        if !objects.iter().any(|(known, _)| *known == path) {
            objects.push((path, truth));
        }
    };
    for file in job.deployed {
        match normalise_item(&file.path) {
            Ok(path) if !path.ends_with('*') => {
                let truth = match file.digest {
                    Some((crc32, size)) => Source::Digest(crc32, size),
                    None => Source::Absent,
                };
                add(&mut objects, path, truth);
            }
            _ => unchecked.push(finding(&file.path, "no path CloudFront serves one file at")),
        }
    }
    for raw in job.paths {
        let Ok(path) = normalise_item(raw) else {
            continue;
        };
        if path.starts_with('#') {
            unchecked.push(finding(&path, "a cache tag names no object"));
            continue;
        }
        let Some((bucket, prefix)) = &origin else {
            unchecked.push(finding(
                &path,
                "no S3 bucket to compare with: give \"verify\": {\"bucket\": ...}",
            ));
            continue;
        };
        let key_of = |path: &str| {
            path.strip_prefix('/')
                .and_then(|rest| percent_decode(rest, false))
                .map(|rest| format!("{prefix}{rest}"))
        };
        if let Some(start) = path.strip_suffix('*') {
            let Some(start) = key_of(start) else {
                unchecked.push(finding(&path, "its escapes do not decode to UTF-8"));
                continue;
            };
            match site.list(bucket, &start, LISTING_LIMIT).await {
                Ok(keys) if keys.is_empty() => {
                    unchecked.push(finding(&path, "a wildcard that matches no object"));
                }
                Ok(keys) => {
                    for key in keys {
                        let mapped = crate::events::keys::object_path(&key, prefix, "/");
                        match mapped.ok().and_then(|raw| normalise_item(&raw).ok()) {
                            Some(found) if !found.ends_with('*') => {
                                let truth = Source::Key {
                                    bucket: bucket.clone(),
                                    key: key.clone(),
                                };
                                add(&mut objects, found, truth);
                            }
                            _ => unchecked
                                .push(finding(&key, "listed, but no path CloudFront serves")),
                        }
                    }
                }
                Err(problem) => unchecked.push(finding(
                    &path,
                    &format!("a wildcard whose objects could not be listed ({problem})"),
                )),
            }
            continue;
        }
        if path == "/" {
            unchecked.push(finding(
                &path,
                "served from the default root object: list its own path",
            ));
            continue;
        }
        match key_of(&path) {
            Some(key) => add(
                &mut objects,
                path,
                Source::Key {
                    bucket: bucket.clone(),
                    key,
                },
            ),
            None => unchecked.push(finding(&path, "its escapes do not decode to UTF-8")),
        }
    }
    let listed = objects.len();
    let chosen = sample_evenly(&objects, params.max_objects);
    let checks: Vec<Check> = (0..edges.len())
        .flat_map(|edge| {
            chosen.iter().map(move |(path, truth)| Check {
                path: path.clone(),
                edge,
                truth: truth.clone(),
            })
        })
        .collect();
    let planned = checks.len();
    let mut failing = Vec::new();
    let job_ends = job.started_at.saturating_add(millis(job.timeout));
    let mut start = progress.next as usize;
    while start < checks.len() {
        let now = clock.now();
        let left = deadline.map_or(REQUEST_TIMEOUT, |deadline| {
            Duration::from_millis(deadline.saturating_sub(now)).saturating_sub(margin)
        });
        let budget = left.min(REQUEST_TIMEOUT);
        if budget < MIN_ROUND {
            return Verified::OutOfTime { progress, planned };
        }
        if now.saturating_add(millis(budget)) > job_ends {
            progress.not_comparable += (checks.len() - start) as u32;
            let report = report(
                &progress, planned, &checks, &edges, failing, unchecked, listed, job, params,
            );
            return Verified::TimedOut(report);
        }
        let end = (start + CONCURRENCY).min(checks.len());
        let round = futures::future::join_all(
            checks[start..end]
                .iter()
                .map(|check| one(site, check, &edges[check.edge].1, budget)),
        )
        .await;
        // An answer cut short by the invocation's deadline is asked again in the next one.
        if budget < REQUEST_TIMEOUT && round.iter().any(|answer| matches!(answer, Err((_, true)))) {
            return Verified::OutOfTime { progress, planned };
        }
        for (offset, answer) in round.into_iter().enumerate() {
            let index = start + offset;
            let (verdict, reason) = match answer {
                Ok(judged) => judged,
                Err((problem, _)) => return Verified::Unverifiable(problem),
            };
            match verdict {
                Verdict::Fresh => progress.fresh += 1,
                Verdict::Stale => progress.stale += 1,
                Verdict::Missing => progress.missing += 1,
                Verdict::NotComparable => progress.not_comparable += 1,
            }
            if verdict.fails() {
                if progress.failing.len() < MAX_CARRIED_FAILURES {
                    progress.failing.push(index as u32);
                }
                failing.push((index, verdict, reason));
            }
        }
        start = end;
        progress.next = end as u32;
    }
    let report = report(
        &progress, planned, &checks, &edges, failing, unchecked, listed, job, params,
    );
    Verified::Done(report)
}

#[allow(clippy::too_many_arguments)]
fn report(
    progress: &VerifyProgress,
    planned: usize,
    checks: &[Check],
    edges: &[(Option<String>, String)],
    this_time: Vec<(usize, Verdict, String)>,
    unchecked: Vec<Finding>,
    listed: usize,
    job: VerifyJob<'_>,
    params: &VerifyParams,
) -> VerifyReport {
    // Failures of earlier invocations are known by index only; this one's carry their reason.
    let mut failing: Vec<Finding> = progress
        .failing
        .iter()
        .filter(|index| !this_time.iter().any(|(i, _, _)| *i == **index as usize))
        .filter_map(|&index| checks.get(index as usize))
        .map(|check| Finding {
            path: check.path.clone(),
            edge: edges[check.edge].0.clone(),
            verdict: Verdict::Stale,
            reason: "found stale in an earlier invocation".to_owned(),
        })
        .collect();
    failing.extend(
        this_time
            .into_iter()
            .filter_map(|(index, verdict, reason)| {
                let check = checks.get(index)?;
                Some(Finding {
                    path: check.path.clone(),
                    edge: edges[check.edge].0.clone(),
                    verdict,
                    reason,
                })
            }),
    );
    failing.truncate(MAX_CARRIED_FAILURES);
    VerifyReport {
        planned,
        progress: progress.clone(),
        failing,
        unchecked,
        listed,
        from_artifact: job.paths.is_empty() && !job.deployed.is_empty(),
        edges: edges.len(),
        on_stale: params.on_stale,
    }
}

fn finding(path: &str, reason: &str) -> Finding {
    Finding {
        path: path.to_owned(),
        edge: None,
        verdict: Verdict::NotComparable,
        reason: reason.to_owned(),
    }
}

/// One check: the edge's answer against the truth. An error is the whole run's: the edge or the
/// bucket cannot be asked (and whether the edge ran out of `timeout`).
async fn one(
    site: &dyn Site,
    check: &Check,
    base_url: &str,
    timeout: Duration,
) -> Result<(Verdict, String), (String, bool)> {
    let url = format!("{base_url}{}", check.path);
    let (answer, truth) = match &check.truth {
        Source::Digest(crc32, size) => (
            site.ask(&url, base_url, true, timeout).await,
            Ok(Truth::Digest {
                crc32: *crc32,
                size: *size,
            }),
        ),
        Source::Absent => (
            site.ask(&url, base_url, false, timeout).await,
            Ok(Truth::Absent),
        ),
        Source::Key { bucket, key } => {
            let (answer, etag) = futures::join!(
                site.ask(&url, base_url, false, timeout),
                site.etag(bucket, key, timeout)
            );
            let truth = etag.map(|etag| match etag {
                Some(etag) => Truth::Object { etag },
                None => Truth::Absent,
            });
            (answer, truth)
        }
    };
    let answer = answer.map_err(|error| (error.problem, error.timed_out))?;
    let truth = truth.map_err(|problem| (problem, false))?;
    Ok(judge(&answer, &truth))
}

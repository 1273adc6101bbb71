//! `cf-invalidate verify`: asks the edge (HEAD) and the origin bucket (HeadObject) about each
//! path, and reports the verdict `freshness` gives, with what to do about a stale object.

use std::fmt::Write as _;

use futures::{StreamExt, TryStreamExt};

use cf_invalidate::adapters::error_chain;
use cf_invalidate::edge::EdgeClient;
use cf_invalidate::plan::normalise_item;
use cf_invalidate::text::percent_decode;

use super::*;
use crate::args::CheckArgs;
use cf_invalidate::freshness::{
    Coverage, EdgeAnswer, Truth, Verdict, advice, invalidation_covers, judge, sample_evenly,
};

/// How many of the newest invalidations are read to explain a stale object.
const RECENT_INVALIDATIONS: usize = 10;

/// One object's figures, as the edge and the origin gave them.
#[derive(Debug, Serialize)]
struct ObjectReport {
    path: String,
    key: Option<String>,
    verdict: Verdict,
    status: Option<u16>,
    x_cache: Option<String>,
    age: Option<u64>,
    cache_control: Option<String>,
    edge_etag: Option<String>,
    origin_etag: Option<String>,
    reason: String,
    covered_by: Option<String>,
    advice: Option<String>,
}

/// The figures of one check: what `verify` prints, and what `invalidate --verify` carries.
#[derive(Debug, Serialize)]
pub(super) struct VerifyReport {
    command: &'static str,
    base_url: String,
    distribution_id: Option<String>,
    /// Where the truth is: `s3://BUCKET/PREFIX` or the build directory.
    origin: String,
    pub(super) succeeded: bool,
    pub(super) exit_code: u8,
    /// Objects the paths named, before sampling.
    listed: usize,
    checked: usize,
    fresh: usize,
    stale: usize,
    missing: usize,
    not_comparable: usize,
    objects: Vec<ObjectReport>,
    pub(super) message: String,
    pub(super) warnings: Vec<String>,
}

pub(super) async fn verify(args: VerifyArgs) -> Result<u8, CliError> {
    refuse_planning_flags(&args.paths)?;
    let session = Session::new(&args.aws);
    let collected = collect_from_stdin(&args.paths, &session).await?;
    let check = FreshnessCheck::new(
        &args.check,
        (args.timeout, "--timeout"),
        args.distribution_id.clone(),
        args.paths.site_prefix.as_deref(),
        &collected,
    )?;
    let mut report = check.run(&session).await?;
    report
        .warnings
        .splice(0..0, collected.warnings.iter().cloned());
    print_result(
        &args.output,
        &report,
        || values(&report),
        || summary(&report),
    )?;
    if !args.output.quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    if !report.succeeded {
        eprintln!("error: {}", report.message);
    }
    Ok(report.exit_code)
}

/// Where the truth is, as the flags name it; a zip's entries are read when the check runs.
enum Origin {
    Bucket { bucket: String, prefix: String },
    Build(std::path::PathBuf),
}

/// A check of the edge against the origin, its input read and checked before anything is asked
/// of AWS or the edge: `verify` runs it at once, `invalidate --verify` after Completed.
pub(super) struct FreshnessCheck {
    base_url: Option<String>,
    distribution_id: Option<Target>,
    origin: Origin,
    /// Paths of objects, in the order given, without repeats.
    paths: Vec<String>,
    wildcards: Vec<String>,
    /// What names no object: reported not comparable.
    unchecked: Vec<ObjectReport>,
    warnings: Vec<String>,
    max_objects: usize,
    concurrency: usize,
    timeout: Duration,
    /// The flag that gives `timeout`, named when the edge is too slow.
    timeout_flag: &'static str,
}

impl FreshnessCheck {
    /// The edge is `--base-url`, else `distribution_id`'s domain; the truth `--build`, else the
    /// bucket of `--bucket` or of the sync, under `--prefix` or `site_prefix`.
    pub(super) fn new(
        flags: &CheckArgs,
        (timeout, timeout_flag): (Duration, &'static str),
        distribution_id: Option<Target>,
        site_prefix: Option<&str>,
        collected: &CollectedPaths,
    ) -> Result<Self, CliError> {
        let base_url = flags
            .base_url
            .as_deref()
            .map(checked_base_url)
            .transpose()?;
        let origin = match &flags.build {
            Some(dir) if !dir.exists() => {
                return Err(CliError::Flag {
                    flag: "--build",
                    value: dir.display().to_string(),
                    problem: "does not exist: give the build's output directory, or its zip, the one that was uploaded".to_owned(),
                });
            }
            Some(dir) => Origin::Build(dir.clone()),
            None => {
                let (bucket, prefix) = truth_location(flags, site_prefix, collected)?;
                Origin::Bucket { bucket, prefix }
            }
        };
        let mut paths: Vec<String> = Vec::new();
        let mut unchecked: Vec<ObjectReport> = Vec::new();
        let mut wildcards: Vec<String> = Vec::new();
        for raw in &collected.paths {
            let item = normalise_item(raw)?;
            if paths.contains(&item)
                || wildcards.contains(&item)
                || unchecked.iter().any(|o| o.path == item)
            {
                continue;
            }
            let reason = if item.starts_with('#') {
                Some("a cache tag names no object: not checkable")
            } else if item.ends_with('*') {
                wildcards.push(item);
                continue;
            } else if item == "/" {
                Some(
                    "/ is served from the default root object: give its own path, such as /index.html",
                )
            } else {
                None
            };
            match reason {
                Some(reason) => unchecked.push(not_checked(item, reason)),
                None => paths.push(item),
            }
        }
        if paths.is_empty() && unchecked.is_empty() && wildcards.is_empty() {
            return Err(CliError::NoPaths);
        }
        if base_url.is_none() && distribution_id.is_none() {
            return Err(CliError::NoDistribution);
        }
        Ok(Self {
            base_url,
            distribution_id,
            origin,
            paths,
            wildcards,
            unchecked,
            warnings: Vec::new(),
            max_objects: flags.max_objects,
            concurrency: flags.concurrency,
            timeout,
            timeout_flag,
        })
    }

    /// Asks the edge and the origin about every object (wildcards expanded, at most
    /// `--max-objects` of them) and judges each; stale ones are explained with the
    /// distribution's recent invalidations.
    pub(super) async fn run(self, session: &Session<'_>) -> Result<VerifyReport, CliError> {
        let Self {
            base_url,
            distribution_id,
            origin,
            mut paths,
            wildcards,
            mut unchecked,
            mut warnings,
            max_objects,
            concurrency,
            timeout,
            timeout_flag,
        } = self;
        let base_url = match (base_url, &distribution_id) {
            (Some(url), _) => url,
            (None, Some(id)) => distribution_url(&session.cloudfront_client().await?, id).await?,
            (None, None) => return Err(CliError::NoDistribution),
        };
        let edge = EdgeClient::new(&base_url)?.with_timeout_setting(timeout_flag);
        let source = match origin {
            Origin::Bucket { bucket, prefix } => Source::Bucket {
                s3: session.s3().await?,
                bucket,
                prefix,
            },
            Origin::Build(dir) if dir.is_dir() => Source::Build(dir),
            Origin::Build(zip) => Source::Zip {
                files: zip_entries(&zip).await?,
                path: zip,
            },
        };
        for wildcard in wildcards {
            let expanded = match &source {
                Source::Bucket { s3, bucket, prefix } => {
                    expand(s3, bucket, prefix, &wildcard).await
                }
                Source::Build(dir) => expand_build(dir, &wildcard),
                Source::Zip { files, .. } => expand_zip(files, &wildcard),
            };
            match expanded {
                Ok((found, _)) if found.is_empty() => {
                    let reason =
                        format!("a wildcard that matches no object in {source}: not checkable");
                    unchecked.push(not_checked(wildcard, &reason));
                }
                Ok((found, complete)) => {
                    if !complete {
                        warnings.push(format!(
                            "{wildcard}: only the first {LISTING_LIMIT} keys of its listing are checked"
                        ));
                    }
                    for raw in found {
                        match normalise_item(&raw) {
                            Ok(path) if !paths.contains(&path) => paths.push(path),
                            Ok(_) => {}
                            Err(error) => unchecked.push(not_checked(
                                raw,
                                &format!("listed, but no path CloudFront serves: {error}"),
                            )),
                        }
                    }
                }
                Err(problem) => unchecked.push(not_checked(
                    wildcard,
                    &format!(
                        "a wildcard, not checkable: its objects could not be listed ({problem})"
                    ),
                )),
            }
        }

        let listed = paths.len();
        let sample = sample_evenly(&paths, max_objects);
        if sample.len() < listed {
            warnings.push(format!(
                "{listed} objects named: {} of them checked, chosen evenly across the list (--max-objects {max_objects})",
                sample.len(),
            ));
        }
        let checks = futures::stream::iter(sample.into_iter().map(|path| {
            let (edge, source, base_url) = (&edge, &source, &base_url);
            async move { check(path, edge, base_url, source, timeout).await }
        }))
        .buffered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;

        let mut objects = Vec::new();
        let failing = checks.iter().any(|(_, verdict, _)| verdict.fails());
        let invalidations = match (&distribution_id, failing) {
            (Some(id), true) => match recent_invalidations(session, id).await {
                Ok(found) => Some(found),
                Err(error) => {
                    warnings.push(format!(
                        "the recent invalidations could not be read, so stale objects are explained without them: {error}"
                    ));
                    None
                }
            },
            _ => None,
        };
        let distribution = distribution_id.as_ref().map(ToString::to_string);
        for (mut object, verdict, answer) in checks {
            if verdict.fails() {
                let coverage = coverage(&object.path, invalidations.as_deref());
                if let Coverage::Covered { id, .. } = &coverage {
                    object.covered_by = Some(id.clone());
                }
                object.advice = advice(
                    &object.path,
                    verdict,
                    &answer,
                    &coverage,
                    distribution.as_deref(),
                );
            }
            objects.push(object);
        }
        for object in &unchecked {
            warnings.push(format!("{}: {}", object.path, object.reason));
        }
        objects.extend(unchecked);

        let count = |wanted: Verdict| objects.iter().filter(|o| o.verdict == wanted).count();
        let (fresh, stale, missing, not_comparable) = (
            count(Verdict::Fresh),
            count(Verdict::Stale),
            count(Verdict::Missing),
            count(Verdict::NotComparable),
        );
        let failed: Vec<&str> = objects
            .iter()
            .filter(|o| o.verdict.fails())
            .map(|o| o.path.as_str())
            .collect();
        let checked = objects.len() - not_comparable;
        let exit_code = if failed.is_empty() { 0 } else { EXIT_FAILED };
        let mut message = format!(
            "{checked} object{} checked through {base_url}: {fresh} fresh, {stale} stale, {missing} missing",
            plural(checked)
        );
        if not_comparable > 0 {
            let _ = write!(message, ", {not_comparable} not comparable");
        }
        message.push('.');
        if !failed.is_empty() {
            let _ = write!(message, " Not fresh: {}", failed.join(", "));
        }
        Ok(VerifyReport {
            command: "verify",
            base_url,
            distribution_id: distribution,
            origin: source.to_string(),
            succeeded: exit_code == 0,
            exit_code,
            listed,
            checked,
            fresh,
            stale,
            missing,
            not_comparable,
            objects,
            message,
            warnings,
        })
    }
}

fn not_checked(path: String, reason: &str) -> ObjectReport {
    ObjectReport {
        path,
        key: None,
        verdict: Verdict::NotComparable,
        status: None,
        x_cache: None,
        age: None,
        cache_control: None,
        edge_etag: None,
        origin_etag: None,
        reason: reason.to_owned(),
        covered_by: None,
        advice: None,
    }
}

/// The flags that shape an invalidation plan mean nothing to verify, which checks each path as
/// given: refused rather than silently ignored.
fn refuse_planning_flags(paths: &crate::args::PathArgs) -> Result<(), CliError> {
    if let Some(index) = &paths.directory_index {
        return Err(CliError::Flag {
            flag: "--directory-index",
            value: index.clone(),
            problem:
                "does not apply to verify: give the index file's own path, such as /docs/index.html"
                    .to_owned(),
        });
    }
    if paths.max_paths != cf_invalidate::params::DEFAULT_MAX_PATHS {
        return Err(CliError::Flag {
            flag: "--max-paths",
            value: paths.max_paths.to_string(),
            problem: "does not apply to verify, which collapses nothing: bound the objects checked with --max-objects".to_owned(),
        });
    }
    Ok(())
}

/// `--base-url`: an http or https URL with a host and no path beyond `/`, as `verify.baseUrl`.
fn checked_base_url(raw: &str) -> Result<String, CliError> {
    match cf_invalidate::params::base_url_problem(raw) {
        Some(problem) => Err(CliError::Flag {
            flag: "--base-url",
            value: raw.to_owned(),
            problem: format!("{problem}: give the site's root, such as https://www.example.com"),
        }),
        None => Ok(raw.trim().trim_end_matches('/').to_owned()),
    }
}

/// The bucket and key prefix holding the truth: the flags, else the bucket the sync wrote to and
/// its --site-prefix.
fn truth_location(
    flags: &CheckArgs,
    site_prefix: Option<&str>,
    collected: &CollectedPaths,
) -> Result<(String, String), CliError> {
    let prefix = flags.prefix.as_deref().or(site_prefix).map(|raw| {
        // `s3://bucket/site` as --site-prefix takes it: the key prefix is after the bucket.
        raw.trim()
            .strip_prefix("s3://")
            .map_or(raw, |rest| rest.split_once('/').map_or("", |(_, p)| p))
    });
    let prefix = key_prefix(prefix);
    if let Some(bucket) = &flags.bucket {
        return Ok((bucket.clone(), prefix));
    }
    let mut buckets: Vec<&str> = collected
        .sync
        .iter()
        .flat_map(|sync| sync.objects().map(|object| object.bucket.as_str()))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    match buckets.as_slice() {
        [bucket] => Ok(((*bucket).to_owned(), prefix)),
        [] => Err(CliError::NoTruth),
        several => Err(CliError::Flag {
            flag: "--paths-from-s3-sync",
            value: several.join(", "),
            problem: "are several buckets: give the one the distribution reads with --bucket"
                .to_owned(),
        }),
    }
}

/// `--prefix` as a key prefix: without slashes at its ends, with one after it when not empty.
fn key_prefix(raw: Option<&str>) -> String {
    match raw.map(|p| p.trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => String::new(),
    }
}

/// The distribution's own domain from GetDistribution: https, as CloudFront serves it, or http
/// when the domain carries a port (an emulator's edge on 127.0.0.1).
async fn distribution_url(
    client: &aws_sdk_cloudfront::Client,
    id: &Target,
) -> Result<String, CliError> {
    let answer = client
        .get_distribution()
        .id(id.as_str())
        .send()
        .await
        .map_err(|error| CliError::Aws {
            what: format!("GetDistribution of {id}"),
            detail: error_chain(&error),
            hint: ": check --distribution-id and that these credentials may call cloudfront:GetDistribution on it, or give the site's address with --base-url",
            source: Box::new(error),
        })?;
    let domain = answer
        .distribution()
        .map(|d| d.domain_name().trim().to_owned())
        .filter(|domain| !domain.is_empty());
    match domain {
        Some(domain) if domain.contains(':') => Ok(format!("http://{domain}")),
        Some(domain) => Ok(format!("https://{domain}")),
        None => Err(CliError::Edge {
            problem: format!(
                "GetDistribution of {id} answered without a DomainName: give the site's address with --base-url"
            ),
            source: None,
        }),
    }
}

/// Most keys one wildcard is expanded to: a sample is taken of them anyway (--max-objects).
const LISTING_LIMIT: usize = 10_000;

/// What the keys a wildcard covers start with: the part before `*`, decoded, without the `/`.
fn wildcard_start(wildcard: &str) -> Result<String, String> {
    wildcard
        .strip_suffix('*')
        .and_then(|w| w.strip_prefix('/'))
        .and_then(|w| percent_decode(w, false))
        .ok_or_else(|| format!("{wildcard} does not decode to UTF-8"))
}

/// The paths of the keys a wildcard covers, from ListObjectsV2 of the bucket under the prefix;
/// `false` when the listing was cut at [`LISTING_LIMIT`]. The error is S3's, in words.
async fn expand(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    wildcard: &str,
) -> Result<(Vec<String>, bool), String> {
    let start = wildcard_start(wildcard)?;
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{prefix}{start}"))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| error_chain(&error))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            // A "folder" marker is no page of the site.
            let Some(rest) = key.strip_prefix(prefix).filter(|rest| !rest.ends_with('/')) else {
                continue;
            };
            if found.len() == LISTING_LIMIT {
                return Ok((found, false));
            }
            found.push(format!("/{rest}"));
        }
    }
    Ok((found, true))
}

/// Where the truth is.
enum Source {
    /// Objects in a bucket, compared by ETag (HeadObject).
    Bucket {
        s3: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
    /// A build's output directory, compared by content (the edge's body with the file).
    Build(std::path::PathBuf),
    /// A zipped build, compared by the CRC-32 and size its central directory gives each entry.
    Zip {
        path: std::path::PathBuf,
        files: std::collections::HashMap<String, (u32, u64)>,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bucket { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
            Self::Build(dir) | Self::Zip { path: dir, .. } => write!(f, "{}", dir.display()),
        }
    }
}

/// One object: the edge's answer and the truth's, judged.
async fn check(
    path: String,
    edge: &EdgeClient,
    base_url: &str,
    source: &Source,
    timeout: Duration,
) -> Result<(ObjectReport, Verdict, EdgeAnswer), CliError> {
    let Some(rest) = path
        .strip_prefix('/')
        .and_then(|rest| percent_decode(rest, false))
    else {
        let report = not_checked(
            path,
            "its escapes do not decode to UTF-8, so no key is known",
        );
        return Ok((report, Verdict::NotComparable, EdgeAnswer::default()));
    };
    let url = format!("{base_url}{path}");
    let (key, answer, truth) = match source {
        Source::Bucket { s3, bucket, prefix } => {
            let key = format!("{prefix}{rest}");
            let (answer, truth) = tokio::join!(
                edge.ask(&url, base_url, timeout, false),
                origin(s3, bucket, &key)
            );
            (key, answer?, truth?)
        }
        Source::Build(dir) => {
            if rest.split('/').any(|part| matches!(part, "" | "." | "..")) {
                let report = not_checked(
                    path,
                    "it names no file of the build (an empty, . or .. segment)",
                );
                return Ok((report, Verdict::NotComparable, EdgeAnswer::default()));
            }
            let truth = build_file(dir, &rest)?;
            let answer = edge.ask(&url, base_url, timeout, true).await?;
            (rest, answer, truth)
        }
        Source::Zip { files, .. } => {
            let truth = match files.get(&rest) {
                Some(&(crc32, size)) => Truth::Digest { crc32, size },
                None => Truth::Absent,
            };
            let answer = edge.ask(&url, base_url, timeout, true).await?;
            (rest, answer, truth)
        }
    };
    let (verdict, reason) = judge(&answer, &truth);
    let report = ObjectReport {
        path,
        key: Some(key),
        verdict,
        status: Some(answer.status),
        x_cache: answer.x_cache.clone(),
        age: answer.age,
        cache_control: answer.cache_control.clone(),
        edge_etag: answer.etag.clone(),
        origin_etag: match &truth {
            Truth::Object { etag } => Some(etag.clone()),
            Truth::Content(_) | Truth::Digest { .. } | Truth::Absent => None,
        },
        reason,
        covered_by: None,
        advice: None,
    };
    Ok((report, verdict, answer))
}

/// The build's file for a path, or that it has none.
fn build_file(dir: &std::path::Path, relative: &str) -> Result<Truth, CliError> {
    let file = dir.join(relative);
    match std::fs::read(&file) {
        Ok(content) => Ok(Truth::Content(content)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Truth::Absent),
        Err(source) => Err(CliError::ReadFile {
            flag: "--build",
            path: file,
            source,
        }),
    }
}

/// A zipped build's files from its central directory: name, CRC-32 and size.
async fn zip_entries(
    zip: &std::path::Path,
) -> Result<std::collections::HashMap<String, (u32, u64)>, CliError> {
    let refused = |problem: String| CliError::Flag {
        flag: "--build",
        value: zip.display().to_string(),
        problem,
    };
    let source = cf_invalidate::artifact::LocalZip::open(zip)
        .map_err(|error| refused(format!("cannot be read: {error}")))?;
    let listing = cf_invalidate::artifact::read_listing(&source)
        .await
        .map_err(|error| {
            refused(format!(
                "is neither a directory nor a zip ({error}): give the build's output directory or its zip"
            ))
        })?;
    Ok(listing
        .files
        .into_iter()
        .map(|entry| (entry.name, (entry.crc32, entry.size)))
        .collect())
}

/// The paths of a zipped build's entries a wildcard covers, sorted.
fn expand_zip(
    files: &std::collections::HashMap<String, (u32, u64)>,
    wildcard: &str,
) -> Result<(Vec<String>, bool), String> {
    let start = wildcard_start(wildcard)?;
    let mut found: Vec<String> = files
        .keys()
        .filter(|name| name.starts_with(&start))
        .map(|name| format!("/{name}"))
        .collect();
    found.sort();
    let complete = found.len() <= LISTING_LIMIT;
    found.truncate(LISTING_LIMIT);
    Ok((found, complete))
}

/// The paths of the build's files a wildcard covers, walking the directory (at most
/// [`LISTING_LIMIT`]; `false` when cut there).
fn expand_build(dir: &std::path::Path, wildcard: &str) -> Result<(Vec<String>, bool), String> {
    let start = wildcard_start(wildcard)?;
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((directory, relative)) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| format!("{}: {error}", directory.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("{}: {error}", directory.display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let path = format!("{relative}{name}");
            if entry.path().is_dir() {
                pending.push((entry.path(), format!("{path}/")));
            } else if path.starts_with(&start) {
                if found.len() == LISTING_LIMIT {
                    return Ok((found, false));
                }
                found.push(format!("/{path}"));
            }
        }
    }
    found.sort();
    Ok((found, true))
}

/// HeadObject: the object's ETag, or that there is no such key.
async fn origin(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Truth, CliError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => Ok(Truth::Object {
            etag: head.e_tag().unwrap_or_default().to_owned(),
        }),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
            Ok(Truth::Absent)
        }
        Err(error) => Err(CliError::Aws {
            what: format!("HeadObject of s3://{bucket}/{key}"),
            detail: error_chain(&error),
            hint: ": check --bucket and --prefix, and that these credentials may call s3:GetObject there (without s3:ListBucket, S3 answers 403 for a missing key); S3's endpoint is AWS_ENDPOINT_URL_S3 when set",
            source: Box::new(error),
        }),
    }
}

/// The newest invalidations with their paths, newest first.
async fn recent_invalidations(
    session: &Session<'_>,
    id: &Target,
) -> Result<Vec<(String, String, Vec<String>)>, CliError> {
    let listed = session
        .cloudfront()
        .await?
        .list(id, RECENT_INVALIDATIONS)
        .await
        .map_err(|error| cloudfront_error(Operation::List, error, id, None))?;
    let client = session.cloudfront_client().await?;
    let mut found = Vec::new();
    for item in listed {
        let answer = client
            .get_invalidation()
            .distribution_id(id.as_str())
            .id(&item.id)
            .send()
            .await
            .map_err(|error| CliError::Aws {
                what: format!("GetInvalidation of {} on {id}", item.id),
                detail: error_chain(&error),
                hint: "",
                source: Box::new(error),
            })?;
        let paths = answer
            .invalidation()
            .and_then(|i| i.invalidation_batch())
            .and_then(|batch| batch.paths())
            .map(|paths| paths.items().to_vec())
            .unwrap_or_default();
        found.push((item.id, item.status, paths));
    }
    Ok(found)
}

fn coverage(path: &str, invalidations: Option<&[(String, String, Vec<String>)]>) -> Coverage {
    let Some(invalidations) = invalidations else {
        return Coverage::Unknown;
    };
    invalidations
        .iter()
        .find(|(_, _, paths)| paths.iter().any(|p| invalidation_covers(p, path)))
        .map_or(
            Coverage::Uncovered {
                looked_at: invalidations.len(),
            },
            |(id, status, _)| Coverage::Covered {
                id: id.clone(),
                status: status.clone(),
            },
        )
}

/// Bare values, a line per object, as `--output text` prints elsewhere.
pub(super) fn values(report: &VerifyReport) -> String {
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    report
        .objects
        .iter()
        .map(|o| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                o.verdict.as_str(),
                o.path,
                or_dash(o.status.map(|s| s.to_string())),
                or_dash(o.x_cache.clone()),
                or_dash(o.age.map(|a| a.to_string())),
                or_dash(o.cache_control.clone()),
            )
        })
        .collect()
}

/// A line per object with its figures, the reason and advice below it, then the counts.
pub(super) fn summary(report: &VerifyReport) -> String {
    let mut text = String::new();
    for o in &report.objects {
        let mut figures = Vec::new();
        if let Some(status) = o.status {
            figures.push(status.to_string());
        }
        if let Some(x_cache) = &o.x_cache {
            figures.push(format!("X-Cache: {x_cache}"));
        }
        if let Some(age) = o.age {
            figures.push(format!("Age: {age}"));
        }
        if let Some(cache_control) = &o.cache_control {
            figures.push(format!("Cache-Control: {cache_control}"));
        }
        let _ = writeln!(
            text,
            "{:<14} {}  ({})",
            o.verdict.as_str(),
            o.path,
            figures.join(", ")
        );
        let _ = writeln!(text, "{:<14}   {}", "", o.reason);
        if let Some(advice) = &o.advice {
            let _ = writeln!(text, "{:<14}   what to do: {advice}", "");
        }
    }
    let _ = writeln!(text, "{}", report.message);
    text
}

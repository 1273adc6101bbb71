//! CloudFront invalidations (REST-XML, API version 2020-05-31): CreateInvalidation,
//! GetInvalidation and ListInvalidations with CloudFront's rules and limits.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::clock::{Clock, duration_ms, iso8601};
use crate::duration::{DurationError, DurationRange};
use crate::reply::{CallInfo, Reply, query_pairs};
use crate::rng::SeededRng;
use crate::xml::{BatchReadError, escape, read_invalidation_batch};

/// The XML namespace of every CloudFront 2020-05-31 document.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
/// At most this many paths in one batch (`BatchTooLarge` above).
pub const MAX_PATHS_PER_BATCH: usize = 3000;
/// At most this many file paths (and cache tags) in progress per distribution.
pub const MAX_FILE_PATHS_IN_PROGRESS: usize = 3000;
/// At most this many wildcard paths in progress per distribution.
pub const MAX_WILDCARD_PATHS_IN_PROGRESS: usize = 15;
/// Longest accepted path.
pub const MAX_PATH_LEN: usize = 4000;
/// Longest accepted cache tag.
pub const MAX_CACHE_TAG_LEN: usize = 256;

const XML: &str = "text/xml";

/// Whether the caller may use a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DistributionAccess {
    /// Calls succeed (subject to CloudFront's rules).
    Allowed,
    /// Every call gets `AccessDenied` (403), as when the role lacks `cloudfront:*Invalidation*`.
    Denied,
}

/// A distribution the emulator knows. Calls naming any other id get `NoSuchDistribution`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionConfig {
    /// The distribution id, e.g. `E2QWRUHEXAMPLE`.
    pub id: String,
    /// Allowed or denied.
    pub access: DistributionAccess,
    /// How long its invalidations stay `InProgress`; `None` uses the emulator's default.
    pub completes_after: Option<DurationRange>,
}

impl DistributionConfig {
    /// An allowed distribution using the emulator's default completion time.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            access: DistributionAccess::Allowed,
            completes_after: None,
        }
    }

    /// A distribution whose every call is `AccessDenied`.
    pub fn denied(id: impl Into<String>) -> Self {
        Self {
            access: DistributionAccess::Denied,
            ..Self::new(id)
        }
    }

    /// Sets how long its invalidations stay `InProgress`.
    pub fn completes_after(mut self, range: DurationRange) -> Self {
        self.completes_after = Some(range);
        self
    }
}

/// A `--distribution` value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionSpecError {
    /// Nothing before the colon.
    #[error(
        "invalid distribution '{0}': expected ID or ID:COMPLETES-AFTER, e.g. E2QWRUHEXAMPLE:3s"
    )]
    MissingId(String),
    /// The id has characters no distribution id has.
    #[error("invalid distribution id '{0}': use letters and digits only")]
    BadId(String),
    /// The completion time is not a duration.
    #[error("invalid distribution '{spec}': {source}")]
    BadDuration {
        /// The whole value given.
        spec: String,
        /// The duration error.
        #[source]
        source: DurationError,
    },
}

impl FromStr for DistributionConfig {
    type Err = DistributionSpecError;

    /// `ID`, `ID:3s` or `ID:2s..5s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, after) = match s.split_once(':') {
            Some((id, after)) => (id.trim(), Some(after.trim())),
            None => (s.trim(), None),
        };
        if id.is_empty() {
            return Err(DistributionSpecError::MissingId(s.to_string()));
        }
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(DistributionSpecError::BadId(id.to_string()));
        }
        let mut config = DistributionConfig::new(id);
        if let Some(after) = after {
            let range = after
                .parse()
                .map_err(|source| DistributionSpecError::BadDuration {
                    spec: s.to_string(),
                    source,
                })?;
            config.completes_after = Some(range);
        }
        Ok(config)
    }
}

/// Status of an invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InvalidationStatus {
    /// Still propagating.
    InProgress,
    /// Done.
    Completed,
}

impl InvalidationStatus {
    /// The wire spelling (`InProgress`, `Completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidationStatus::InProgress => "InProgress",
            InvalidationStatus::Completed => "Completed",
        }
    }
}

impl fmt::Display for InvalidationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invalidation as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidationInfo {
    /// Invalidation id (`I` followed by 12 to 25 uppercase letters and digits).
    pub id: String,
    /// The distribution it belongs to.
    pub distribution_id: String,
    /// Status now.
    pub status: InvalidationStatus,
    /// `CreateTime` as sent on the wire.
    pub create_time: String,
    /// When it was created, in milliseconds since the emulator started.
    pub created_ms: u64,
    /// When it turns `Completed`, in milliseconds since the emulator started.
    pub completes_at_ms: u64,
    /// The paths (and cache tags) of its batch, in the order sent.
    pub paths: Vec<String>,
    /// The batch's `CallerReference`.
    pub caller_reference: String,
}

#[derive(Debug, Clone)]
struct StoredInvalidation {
    id: String,
    created: Duration,
    completes_after: Duration,
    paths: Vec<String>,
    caller_reference: String,
}

impl StoredInvalidation {
    fn status(&self, now: Duration) -> InvalidationStatus {
        if now >= self.created + self.completes_after {
            InvalidationStatus::Completed
        } else {
            InvalidationStatus::InProgress
        }
    }

    fn is_wildcard(path: &str) -> bool {
        path.ends_with('*')
    }
}

#[derive(Debug, Clone)]
struct Distribution {
    config: DistributionConfig,
    /// In creation order (oldest first).
    invalidations: Vec<StoredInvalidation>,
}

/// All distributions and their invalidations.
#[derive(Debug)]
pub(crate) struct CloudFrontState {
    distributions: BTreeMap<String, Distribution>,
    default_completion: DurationRange,
    issued_ids: BTreeSet<String>,
}

/// What a CloudFront handler needs besides the state.
pub(crate) struct CfContext<'a> {
    pub clock: &'a Clock,
    pub endpoint: &'a str,
    pub account_id: &'a str,
    pub role: &'a str,
    pub request_id: &'a str,
}

/// A CloudFront operation, routed from method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CfOp {
    Create {
        distribution_id: String,
    },
    Get {
        distribution_id: String,
        id: String,
    },
    List {
        distribution_id: String,
        query: String,
    },
}

impl CfOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            CfOp::Create { .. } => "CreateInvalidation",
            CfOp::Get { .. } => "GetInvalidation",
            CfOp::List { .. } => "ListInvalidations",
        }
    }

    pub(crate) fn distribution_id(&self) -> &str {
        match self {
            CfOp::Create { distribution_id }
            | CfOp::Get {
                distribution_id, ..
            }
            | CfOp::List {
                distribution_id, ..
            } => distribution_id,
        }
    }

    pub(crate) fn call_info(&self) -> CallInfo {
        let mut info = CallInfo::op(self.name());
        info.distribution_id = Some(self.distribution_id().to_string());
        if let CfOp::Get { id, .. } = self {
            info.invalidation_id = Some(id.clone());
        }
        info
    }
}

/// Routes `segments` (the decoded path segments after `/2020-05-31/`).
pub(crate) fn route(method: &str, segments: &[String], query: &str) -> Option<CfOp> {
    match (method, segments) {
        ("POST", [d, dist, inv]) if d == "distribution" && inv == "invalidation" => {
            Some(CfOp::Create {
                distribution_id: dist.clone(),
            })
        }
        ("GET", [d, dist, inv]) if d == "distribution" && inv == "invalidation" => {
            Some(CfOp::List {
                distribution_id: dist.clone(),
                query: query.to_string(),
            })
        }
        ("GET", [d, dist, inv, id]) if d == "distribution" && inv == "invalidation" => {
            Some(CfOp::Get {
                distribution_id: dist.clone(),
                id: id.clone(),
            })
        }
        _ => None,
    }
}

/// The XML error document CloudFront sends.
pub(crate) fn error_reply(status: u16, code: &str, message: &str, request_id: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id)
    );
    Reply::new(status, XML, body).with_error_code(code)
}

impl CloudFrontState {
    pub(crate) fn new(
        distributions: &[DistributionConfig],
        default_completion: DurationRange,
    ) -> Self {
        let mut state = Self {
            distributions: BTreeMap::new(),
            default_completion,
            issued_ids: BTreeSet::new(),
        };
        for d in distributions {
            state.add_distribution(d.clone());
        }
        state
    }

    /// Declares (or re-declares, keeping its invalidations) a distribution.
    pub(crate) fn add_distribution(&mut self, config: DistributionConfig) {
        match self.distributions.get_mut(&config.id) {
            Some(existing) => existing.config = config,
            None => {
                self.distributions.insert(
                    config.id.clone(),
                    Distribution {
                        config,
                        invalidations: Vec::new(),
                    },
                );
            }
        }
    }

    pub(crate) fn distribution_configs(&self) -> Vec<DistributionConfig> {
        self.distributions
            .values()
            .map(|d| d.config.clone())
            .collect()
    }

    /// Invalidations of one distribution, newest first; `None` if it is not declared.
    pub(crate) fn invalidations(
        &self,
        distribution_id: &str,
        clock: &Clock,
    ) -> Option<Vec<InvalidationInfo>> {
        let dist = self.distributions.get(distribution_id)?;
        Some(
            dist.invalidations
                .iter()
                .rev()
                .map(|inv| info(distribution_id, inv, clock))
                .collect(),
        )
    }

    /// Every invalidation of every distribution, in creation order.
    pub(crate) fn all_invalidations(&self, clock: &Clock) -> Vec<InvalidationInfo> {
        let mut all: Vec<InvalidationInfo> = self
            .distributions
            .values()
            .flat_map(|d| {
                d.invalidations
                    .iter()
                    .map(|inv| info(&d.config.id, inv, clock))
            })
            .collect();
        all.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.id.cmp(&b.id)));
        all
    }

    /// Handles one routed call.
    pub(crate) fn handle(
        &mut self,
        op: &CfOp,
        body: &[u8],
        ctx: &CfContext<'_>,
        rng: &mut SeededRng,
    ) -> (Reply, CallInfo) {
        let mut call = op.call_info();
        let dist_id = op.distribution_id();
        let Some(dist) = self.distributions.get(dist_id) else {
            let reply = error_reply(
                404,
                "NoSuchDistribution",
                "The specified distribution does not exist.",
                ctx.request_id,
            );
            return (reply, call);
        };
        if dist.config.access == DistributionAccess::Denied {
            let message = format!(
                "User: arn:aws:sts::{account}:assumed-role/{role} is not authorized to perform: cloudfront:{op} on resource: arn:aws:cloudfront::{account}:distribution/{dist_id} because no identity-based policy allows the cloudfront:{op} action",
                account = ctx.account_id,
                role = ctx.role,
                op = op.name(),
            );
            return (
                error_reply(403, "AccessDenied", &message, ctx.request_id),
                call,
            );
        }
        let reply = match op {
            CfOp::Create { .. } => self.create(dist_id, body, ctx, rng, &mut call),
            CfOp::Get { id, .. } => self.get(dist_id, id, ctx),
            CfOp::List { query, .. } => self.list(dist_id, query, ctx),
        };
        (reply, call)
    }

    fn get(&self, dist_id: &str, id: &str, ctx: &CfContext<'_>) -> Reply {
        let found = self
            .distributions
            .get(dist_id)
            .and_then(|d| d.invalidations.iter().find(|inv| inv.id == id));
        match found {
            Some(inv) => Reply::new(200, XML, invalidation_xml(inv, ctx.clock)),
            None => error_reply(
                404,
                "NoSuchInvalidation",
                "The specified invalidation does not exist.",
                ctx.request_id,
            ),
        }
    }

    fn list(&self, dist_id: &str, query: &str, ctx: &CfContext<'_>) -> Reply {
        let mut marker = String::new();
        let mut max_items_text: Option<String> = None;
        for (k, v) in query_pairs(query) {
            match k.as_str() {
                "Marker" => marker = v,
                "MaxItems" => max_items_text = Some(v),
                _ => {}
            }
        }
        let max_items = match &max_items_text {
            None => 100,
            Some(t) => match t.trim().parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    return error_reply(
                        400,
                        "InvalidArgument",
                        &format!("MaxItems must be a non-negative integer, got '{t}'."),
                        ctx.request_id,
                    );
                }
            },
        };
        let newest_first: Vec<&StoredInvalidation> = self
            .distributions
            .get(dist_id)
            .map(|d| d.invalidations.iter().rev().collect())
            .unwrap_or_default();
        let start = if marker.is_empty() {
            0
        } else {
            match newest_first.iter().position(|inv| inv.id == marker) {
                Some(i) => i + 1,
                None => {
                    return error_reply(
                        400,
                        "InvalidArgument",
                        &format!(
                            "The marker '{marker}' is not an invalidation of this distribution."
                        ),
                        ctx.request_id,
                    );
                }
            }
        };
        let rest = &newest_first[start.min(newest_first.len())..];
        let page = &rest[..max_items.min(rest.len())];
        let truncated = rest.len() > page.len();
        let now = ctx.clock.elapsed();
        let mut xml = format!(
            "<?xml version=\"1.0\"?>\n<InvalidationList xmlns=\"{NAMESPACE}\"><Marker>{}</Marker>",
            escape(&marker)
        );
        if truncated && let Some(last) = page.last() {
            xml.push_str(&format!("<NextMarker>{}</NextMarker>", escape(&last.id)));
        }
        xml.push_str(&format!(
            "<MaxItems>{max_items}</MaxItems><IsTruncated>{truncated}</IsTruncated><Quantity>{}</Quantity>",
            page.len()
        ));
        if !page.is_empty() {
            xml.push_str("<Items>");
            for inv in page {
                xml.push_str(&format!(
                    "<InvalidationSummary><Id>{}</Id><CreateTime>{}</CreateTime><Status>{}</Status></InvalidationSummary>",
                    escape(&inv.id),
                    iso8601(ctx.clock.wall_at(inv.created)),
                    inv.status(now)
                ));
            }
            xml.push_str("</Items>");
        }
        xml.push_str("</InvalidationList>");
        Reply::new(200, XML, xml)
    }

    fn create(
        &mut self,
        dist_id: &str,
        body: &[u8],
        ctx: &CfContext<'_>,
        rng: &mut SeededRng,
        call: &mut CallInfo,
    ) -> Reply {
        let err = |status: u16, code: &str, message: &str| {
            error_reply(status, code, message, ctx.request_id)
        };
        let text = String::from_utf8_lossy(body);
        if text.trim().is_empty() {
            return err(
                400,
                "MissingBody",
                "This operation requires a body. Ensure that the body is present and the Content-Type header is set.",
            );
        }
        let raw = match read_invalidation_batch(&text) {
            Ok(raw) => raw,
            Err(BatchReadError::Malformed(why)) => {
                return err(
                    400,
                    "MalformedInput",
                    &format!("The XML document is malformed: {why}"),
                );
            }
        };
        let Some(caller_reference) = raw.caller_reference.clone() else {
            return err(
                400,
                "InvalidArgument",
                "The request is missing the required element CallerReference.",
            );
        };
        if caller_reference.is_empty() {
            return err(400, "InvalidArgument", "CallerReference must not be empty.");
        }
        if !raw.has_paths {
            return err(
                400,
                "InvalidArgument",
                "The request is missing the required element Paths.",
            );
        }
        let Some(quantity_text) = raw.quantity.as_deref() else {
            return err(
                400,
                "InvalidArgument",
                "The request is missing the required element Paths/Quantity.",
            );
        };
        let Ok(quantity) = quantity_text.trim().parse::<usize>() else {
            return err(
                400,
                "MalformedInput",
                &format!("Paths/Quantity must be an integer, got '{quantity_text}'."),
            );
        };
        let paths = raw.paths;
        call.detail = Some(format!(
            "{} path(s), CallerReference {caller_reference}",
            paths.len()
        ));
        if quantity != paths.len() {
            return err(
                400,
                "InconsistentQuantities",
                &format!(
                    "The value of Quantity ({quantity}) and the size of Items ({}) don't match.",
                    paths.len()
                ),
            );
        }
        if paths.is_empty() {
            return err(
                400,
                "InvalidArgument",
                "Your request must contain at least one invalidation path.",
            );
        }
        if paths.len() > MAX_PATHS_PER_BATCH {
            return err(
                413,
                "BatchTooLarge",
                &format!(
                    "Your request contains {} invalidation paths; the maximum is {MAX_PATHS_PER_BATCH} per batch.",
                    paths.len()
                ),
            );
        }
        for path in &paths {
            if let Err(why) = check_path(path) {
                return err(
                    400,
                    "InvalidArgument",
                    &format!("Your request contains one or more invalid invalidation paths: {why}"),
                );
            }
        }
        let now = ctx.clock.elapsed();
        let Some(dist) = self.distributions.get_mut(dist_id) else {
            return err(
                404,
                "NoSuchDistribution",
                "The specified distribution does not exist.",
            );
        };

        if let Some(existing) = dist
            .invalidations
            .iter()
            .find(|inv| inv.caller_reference == caller_reference)
        {
            let same: BTreeSet<&str> = existing.paths.iter().map(String::as_str).collect();
            let asked: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
            if same == asked {
                call.invalidation_id = Some(existing.id.clone());
                call.detail = Some(format!(
                    "{} path(s), CallerReference {caller_reference} (existing invalidation returned)",
                    paths.len()
                ));
                return created_reply(dist_id, existing, ctx);
            }
            return err(
                400,
                "InvalidationBatchAlreadyExists",
                &format!(
                    "An invalidation batch with CallerReference {caller_reference} already exists ({}) with different paths.",
                    existing.id
                ),
            );
        }

        let (mut files, mut wildcards) = (0usize, 0usize);
        for inv in dist
            .invalidations
            .iter()
            .filter(|inv| inv.status(now) == InvalidationStatus::InProgress)
        {
            for p in &inv.paths {
                if StoredInvalidation::is_wildcard(p) {
                    wildcards += 1;
                } else {
                    files += 1;
                }
            }
        }
        let new_wildcards = paths
            .iter()
            .filter(|p| StoredInvalidation::is_wildcard(p))
            .count();
        let new_files = paths.len() - new_wildcards;
        if wildcards + new_wildcards > MAX_WILDCARD_PATHS_IN_PROGRESS {
            return err(
                400,
                "TooManyInvalidationsInProgress",
                &format!(
                    "Processing your request would cause the maximum number of wildcard invalidations in progress to be exceeded ({wildcards} in progress + {new_wildcards} requested > {MAX_WILDCARD_PATHS_IN_PROGRESS})."
                ),
            );
        }
        if files + new_files > MAX_FILE_PATHS_IN_PROGRESS {
            return err(
                400,
                "TooManyInvalidationsInProgress",
                &format!(
                    "Processing your request would cause the maximum number of file invalidations in progress to be exceeded ({files} in progress + {new_files} requested > {MAX_FILE_PATHS_IN_PROGRESS})."
                ),
            );
        }

        let id = loop {
            let len = usize::try_from(rng.between(12, 25)).unwrap_or(13);
            let candidate = format!(
                "I{}",
                rng.string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
            );
            if self.issued_ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        let Some(dist) = self.distributions.get_mut(dist_id) else {
            return err(
                404,
                "NoSuchDistribution",
                "The specified distribution does not exist.",
            );
        };
        let completes_after = dist
            .config
            .completes_after
            .unwrap_or(self.default_completion)
            .draw(rng);
        let inv = StoredInvalidation {
            id: id.clone(),
            created: now,
            completes_after,
            paths,
            caller_reference,
        };
        let reply = created_reply(dist_id, &inv, ctx);
        dist.invalidations.push(inv);
        call.invalidation_id = Some(id);
        reply
    }
}

fn created_reply(dist_id: &str, inv: &StoredInvalidation, ctx: &CfContext<'_>) -> Reply {
    Reply::new(201, XML, invalidation_xml(inv, ctx.clock)).with_header(
        "Location",
        format!(
            "{}/2020-05-31/distribution/{dist_id}/invalidation/{}",
            ctx.endpoint, inv.id
        ),
    )
}

fn info(distribution_id: &str, inv: &StoredInvalidation, clock: &Clock) -> InvalidationInfo {
    InvalidationInfo {
        id: inv.id.clone(),
        distribution_id: distribution_id.to_string(),
        status: inv.status(clock.elapsed()),
        create_time: iso8601(clock.wall_at(inv.created)),
        created_ms: duration_ms(inv.created),
        completes_at_ms: duration_ms(inv.created + inv.completes_after),
        paths: inv.paths.clone(),
        caller_reference: inv.caller_reference.clone(),
    }
}

fn invalidation_xml(inv: &StoredInvalidation, clock: &Clock) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"{NAMESPACE}\"><Id>{}</Id><Status>{}</Status><CreateTime>{}</CreateTime><InvalidationBatch><Paths><Quantity>{}</Quantity><Items>",
        escape(&inv.id),
        inv.status(clock.elapsed()),
        iso8601(clock.wall_at(inv.created)),
        inv.paths.len()
    );
    for p in &inv.paths {
        xml.push_str(&format!("<Path>{}</Path>", escape(p)));
    }
    xml.push_str(&format!(
        "</Items></Paths><CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        escape(&inv.caller_reference)
    ));
    xml
}

/// CloudFront's rules for one item of a batch: a path, or a cache tag (`#...`).
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if let Some(tag) = path.strip_prefix('#') {
        if path.len() > MAX_CACHE_TAG_LEN {
            return Err(format!(
                "cache tag '{}...' is longer than {MAX_CACHE_TAG_LEN} characters",
                prefix(path, 40)
            ));
        }
        if tag.is_empty() {
            return Err("cache tag '#' is empty".to_string());
        }
        if let Some(c) = tag
            .chars()
            .find(|c| !(('!'..='~').contains(c)) || *c == ',' || *c == '*')
        {
            return Err(format!(
                "cache tag '{path}' contains {}; tags are ASCII 33-126 without commas or wildcards",
                describe(c)
            ));
        }
        return Ok(());
    }
    if !path.starts_with('/') {
        return Err(format!("'{}' does not begin with /", prefix(path, 80)));
    }
    if path.chars().count() > MAX_PATH_LEN {
        return Err(format!(
            "'{}...' is longer than {MAX_PATH_LEN} characters",
            prefix(path, 40)
        ));
    }
    if let Some(star) = path.find('*')
        && star != path.len() - 1
    {
        return Err(format!(
            "'{}' has * before its end; a wildcard is only allowed as the last character",
            prefix(path, 80)
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|c| *c == ' ' || !c.is_ascii() || c.is_ascii_control())
    {
        return Err(format!(
            "'{}' contains {}; URL-encode it",
            prefix(path, 80),
            describe(c)
        ));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        ' ' => "an unencoded space".to_string(),
        c if !c.is_ascii() => format!("the non-ASCII character '{c}'"),
        c if c.is_ascii_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("'{c}'"),
    }
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        for ok in [
            "/",
            "/a",
            "/a/*",
            "/*",
            "/a%20b",
            "/a.jpg?x=1",
            "#product:42",
            "/~user/[x]",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("a", "does not begin with /"),
            ("/a*/b", "only allowed as the last"),
            ("/a b", "unencoded space"),
            ("/caf\u{e9}", "non-ASCII"),
            ("/a\tb", "control character"),
            ("#a,b", "contains ','"),
            ("#a*", "contains '*'"),
            ("#", "empty"),
            ("#caf\u{e9}", "non-ASCII"),
        ] {
            let err = check_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert!(check_path(&long).unwrap_err().contains("longer than 4000"));
        assert_eq!(
            check_path(&format!("/{}", "a".repeat(MAX_PATH_LEN - 1))),
            Ok(())
        );
        let long_tag = format!("#{}", "t".repeat(MAX_CACHE_TAG_LEN));
        assert!(check_path(&long_tag).is_err());
    }

    #[test]
    fn distribution_specs() {
        let d: DistributionConfig = "E1ABC".parse().unwrap();
        assert_eq!(d, DistributionConfig::new("E1ABC"));
        let d: DistributionConfig = "E1ABC:3s".parse().unwrap();
        assert_eq!(
            d.completes_after,
            Some(DurationRange::fixed(Duration::from_secs(3)))
        );
        let d: DistributionConfig = "E1ABC:1s..2s".parse().unwrap();
        assert_eq!(d.completes_after.unwrap().to_string(), "1s..2s");
        assert!(
            ":3s"
                .parse::<DistributionConfig>()
                .unwrap_err()
                .to_string()
                .contains("':3s'")
        );
        assert!(
            "E1/x"
                .parse::<DistributionConfig>()
                .unwrap_err()
                .to_string()
                .contains("'E1/x'")
        );
        assert!(
            "E1:soon"
                .parse::<DistributionConfig>()
                .unwrap_err()
                .to_string()
                .contains("'soon'")
        );
    }
}

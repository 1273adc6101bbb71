//! CloudFront invalidations (REST-XML, API version 2020-05-31): CreateInvalidation,
//! GetInvalidation and ListInvalidations, and their twins for distribution tenants, with
//! CloudFront's rules and limits, IAM's answer for ids that do not exist, and multi-tenant
//! distributions.

mod config;
mod create;
mod distribution;
pub(crate) mod edge;
mod error;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

pub use config::{
    ConnectionMode, DistributionAccess, DistributionConfig, DistributionSpecError,
    DistributionTenantConfig, EdgeSettingError, TenantSetupError, TenantSpecError, UnknownIds,
    UnknownIdsError, assign_tenants, edge_port_setting, edge_setting, is_distribution_tenant_id,
};
pub use edge::{EdgeInvalidatesAt, EdgeInvalidatesAtError};
pub(crate) use error::CfError;

use crate::clock::{Clock, duration_ms, iso8601};
use crate::duration::DurationRange;
use crate::reply::{CallInfo, Reply, query_pairs};
use crate::rng::SeededRng;
use crate::xml;

/// The XML namespace of every CloudFront 2020-05-31 document.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
/// At most this many paths in one batch (`BatchTooLarge` above).
pub const MAX_PATHS_PER_BATCH: usize = 3000;
/// At most this many file paths (and cache tags) in progress per distribution (per tenant for
/// a distribution tenant).
pub const MAX_FILE_PATHS_IN_PROGRESS: usize = 3000;
/// At most this many wildcard paths in progress per distribution (per tenant for a
/// distribution tenant).
pub const MAX_WILDCARD_PATHS_IN_PROGRESS: usize = 15;
/// Longest accepted path.
pub const MAX_PATH_LEN: usize = 4000;
/// Longest accepted cache tag.
pub const MAX_CACHE_TAG_LEN: usize = 256;
/// What CloudFront answers, with `InvalidArgument`, to a CallerReference used before on the
/// same distribution: the words users report seeing.
pub const CALLER_REFERENCE_REUSED: &str = "Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.";

/// Status of an invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InvalidationStatus {
    /// Still propagating.
    InProgress,
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

/// What CloudFront did with a create call whose CallerReference an earlier invalidation of the
/// same distribution (or tenant) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallerReferenceReuse {
    /// The same paths: the existing invalidation was returned (201), as AWS documents.
    ReturnedExisting,
    /// Other paths: `InvalidArgument` (400).
    RefusedOtherPaths,
    /// The same paths, refused all the same with `InvalidArgument` (400): strict mode
    /// (`--strict-caller-reference`), as some users report real CloudFront does.
    RefusedStrict,
}

/// An invalidation as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidationInfo {
    /// Invalidation id (`I` followed by 12 to 25 uppercase letters and digits).
    pub id: String,
    /// The distribution it belongs to: the one invalidated, or for a tenant's invalidation the
    /// tenant's multi-tenant distribution (empty when the tenant was declared without one).
    pub distribution_id: String,
    /// The distribution tenant invalidated, for `CreateInvalidationForDistributionTenant`.
    pub distribution_tenant_id: Option<String>,
    pub status: InvalidationStatus,
    /// `CreateTime` as sent on the wire.
    pub create_time: String,
    /// When it was created, in milliseconds since the emulator started.
    pub created_ms: u64,
    /// When it turns `Completed`, in milliseconds since the emulator started.
    pub completes_at_ms: u64,
    /// The paths (and cache tags) of its batch, in the order sent.
    pub paths: Vec<String>,
    pub caller_reference: String,
}

impl InvalidationInfo {
    /// The id the create call named: the tenant id for a tenant's invalidation, else the
    /// distribution id.
    pub fn target(&self) -> &str {
        self.distribution_tenant_id
            .as_deref()
            .unwrap_or(&self.distribution_id)
    }
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
}

/// A distribution or a tenant: its configuration and its invalidations.
#[derive(Debug, Clone)]
struct Invalidated<C> {
    config: C,
    /// In creation order (oldest first).
    invalidations: Vec<StoredInvalidation>,
}

/// Declares `config` under `id`; one declared before keeps its invalidations.
fn declare<C>(map: &mut BTreeMap<String, Invalidated<C>>, id: String, config: C) {
    match map.entry(id) {
        Entry::Occupied(mut held) => held.get_mut().config = config,
        Entry::Vacant(free) => {
            _ = free.insert(Invalidated {
                config,
                invalidations: Vec::new(),
            })
        }
    }
}

/// The CloudFront behaviours a run chooses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CloudFrontRules {
    /// Refuse a reused CallerReference even with the same paths.
    pub strict_caller_reference: bool,
    /// How ids that do not exist are answered.
    pub unknown_ids: UnknownIds,
}

/// All distributions, tenants and their invalidations.
#[derive(Debug)]
pub(crate) struct CloudFrontState {
    distributions: BTreeMap<String, Invalidated<DistributionConfig>>,
    tenants: BTreeMap<String, Invalidated<DistributionTenantConfig>>,
    default_completion: DurationRange,
    issued_ids: BTreeSet<String>,
    rules: CloudFrontRules,
}

/// What a CloudFront handler needs besides the state.
pub(crate) struct CfContext<'a> {
    pub clock: &'a Clock,
    pub endpoint: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// The viewer address of each distribution that has an origin (GetDistribution's
    /// `DomainName`).
    pub edges: &'a BTreeMap<String, SocketAddr>,
    pub role: &'a str,
    pub request_id: &'a str,
}

/// What a call names: a distribution or a distribution tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Distribution(String),
    Tenant(String),
}

impl Target {
    pub(crate) fn id(&self) -> &str {
        match self {
            Target::Distribution(id) | Target::Tenant(id) => id,
        }
    }

    /// The resource type, as in its ARN and in the API's paths.
    fn resource(&self) -> &'static str {
        match self {
            Target::Distribution(_) => "distribution",
            Target::Tenant(_) => "distribution-tenant",
        }
    }

    fn noun(&self) -> &'static str {
        match self {
            Target::Distribution(_) => "distribution",
            Target::Tenant(_) => "distribution tenant",
        }
    }

    fn arn(&self, account_id: &str) -> String {
        format!(
            "arn:aws:cloudfront::{account_id}:{}/{}",
            self.resource(),
            self.id()
        )
    }
}

/// A CloudFront operation, routed from method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CfOp {
    GetDistribution { target: Target },
    Create { target: Target },
    Get { target: Target, id: String },
    List { target: Target, query: String },
}

impl CfOp {
    pub(crate) fn name(&self) -> &'static str {
        match (self, self.target()) {
            (CfOp::GetDistribution { .. }, _) => "GetDistribution",
            (CfOp::Create { .. }, Target::Distribution(_)) => "CreateInvalidation",
            (CfOp::Get { .. }, Target::Distribution(_)) => "GetInvalidation",
            (CfOp::List { .. }, Target::Distribution(_)) => "ListInvalidations",
            (CfOp::Create { .. }, Target::Tenant(_)) => "CreateInvalidationForDistributionTenant",
            (CfOp::Get { .. }, Target::Tenant(_)) => "GetInvalidationForDistributionTenant",
            (CfOp::List { .. }, Target::Tenant(_)) => "ListInvalidationsForDistributionTenant",
        }
    }

    pub(crate) fn target(&self) -> &Target {
        match self {
            CfOp::GetDistribution { target }
            | CfOp::Create { target }
            | CfOp::Get { target, .. }
            | CfOp::List { target, .. } => target,
        }
    }

    /// Whether the call creates an invalidation (the calls `too-many` faults apply to).
    pub(crate) fn is_create(&self) -> bool {
        matches!(self, CfOp::Create { .. })
    }

    pub(crate) fn call_info(&self) -> CallInfo {
        let mut info = CallInfo::op(self.name());
        match self.target() {
            Target::Distribution(id) => info.distribution_id = Some(id.clone()),
            Target::Tenant(id) => info.distribution_tenant_id = Some(id.clone()),
        }
        if let CfOp::Get { id, .. } = self {
            info.invalidation_id = Some(id.clone());
        }
        info
    }
}

/// Routes `segments` (the decoded path segments after `/2020-05-31/`).
pub(crate) fn route(method: &str, segments: &[&str], query: &str) -> Option<CfOp> {
    if let (["distribution", id], "GET") = (segments, method) {
        return Some(CfOp::GetDistribution {
            target: Target::Distribution(id.to_string()),
        });
    }
    let [kind, id, "invalidation", rest @ ..] = segments else {
        return None;
    };
    let target = match *kind {
        "distribution" => Target::Distribution(id.to_string()),
        "distribution-tenant" => Target::Tenant(id.to_string()),
        _ => return None,
    };
    match (method, rest) {
        ("POST", []) => Some(CfOp::Create { target }),
        ("GET", []) => Some(CfOp::List {
            target,
            query: query.to_string(),
        }),
        ("GET", [invalidation]) => Some(CfOp::Get {
            target,
            id: invalidation.to_string(),
        }),
        _ => None,
    }
}

/// IAM's refusal of `op` on `target`, in the words IAM uses for an assumed role.
fn access_denied(op: &CfOp, target: &Target, ctx: &CfContext<'_>) -> CfError {
    let message = format!(
        "User: arn:aws:sts::{account}:assumed-role/{role} is not authorized to perform: cloudfront:{action} on resource: {arn} because no identity-based policy allows the cloudfront:{action} action",
        account = ctx.account_id,
        role = ctx.role,
        action = op.name(),
        arn = target.arn(ctx.account_id),
    );
    CfError::AccessDenied(message)
}

/// A declared target as the state holds it.
struct Held<'a> {
    /// The distribution an [`InvalidationInfo`] names: for a tenant, its distribution's.
    distribution_id: &'a str,
    tenant_id: Option<&'a str>,
    access: DistributionAccess,
    multi_tenant: bool,
    /// Oldest first.
    invalidations: &'a [StoredInvalidation],
}

impl CloudFrontState {
    pub(crate) fn new(
        distributions: &[DistributionConfig],
        tenants: &[DistributionTenantConfig],
        default_completion: DurationRange,
        rules: CloudFrontRules,
    ) -> Self {
        let mut state = Self {
            distributions: BTreeMap::new(),
            tenants: BTreeMap::new(),
            default_completion,
            issued_ids: BTreeSet::new(),
            rules,
        };
        for d in distributions {
            state.add_distribution(d.clone());
        }
        for t in tenants {
            state.add_tenant(t.clone());
        }
        state
    }

    pub(crate) fn rules_mut(&mut self) -> &mut CloudFrontRules {
        &mut self.rules
    }

    /// Declares (or re-declares, keeping its invalidations) a distribution.
    pub(crate) fn add_distribution(&mut self, config: DistributionConfig) {
        declare(&mut self.distributions, config.id.clone(), config);
    }

    /// Declares (or re-declares, keeping its invalidations) a distribution tenant.
    pub(crate) fn add_tenant(&mut self, config: DistributionTenantConfig) {
        declare(&mut self.tenants, config.id.clone(), config);
    }

    pub(crate) fn distribution_configs(&self) -> Vec<DistributionConfig> {
        self.distributions
            .values()
            .map(|d| d.config.clone())
            .collect()
    }

    pub(crate) fn tenant_configs(&self) -> Vec<DistributionTenantConfig> {
        self.tenants.values().map(|t| t.config.clone()).collect()
    }

    /// Invalidations of one distribution or tenant, newest first; `None` if it is not
    /// declared. A multi-tenant distribution has none of its own.
    pub(crate) fn invalidations(
        &self,
        target: &Target,
        clock: &Clock,
    ) -> Option<Vec<InvalidationInfo>> {
        let held = self.held(target)?;
        let newest_first = held.invalidations.iter().rev();
        Some(newest_first.map(|inv| info(&held, inv, clock)).collect())
    }

    /// Every invalidation of every distribution and tenant, in creation order.
    pub(crate) fn all_invalidations(&self, clock: &Clock) -> Vec<InvalidationInfo> {
        let distributions = self.distributions.keys().cloned().map(Target::Distribution);
        let targets = distributions.chain(self.tenants.keys().cloned().map(Target::Tenant));
        // Ids are unique, so the sort alone fixes the order.
        let mut all: Vec<InvalidationInfo> = targets
            .flat_map(|target| self.invalidations(&target, clock).unwrap_or_default())
            .collect();
        all.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.id.cmp(&b.id)));
        all
    }

    fn held(&self, target: &Target) -> Option<Held<'_>> {
        match target {
            Target::Distribution(id) => self.distributions.get(id).map(|d| Held {
                distribution_id: &d.config.id,
                tenant_id: None,
                access: d.config.access,
                multi_tenant: d.config.is_multi_tenant(),
                invalidations: &d.invalidations,
            }),
            Target::Tenant(id) => self.tenants.get(id).map(|t| Held {
                distribution_id: t.config.distribution_id.as_deref().unwrap_or(""),
                tenant_id: Some(&t.config.id),
                access: t.config.access,
                multi_tenant: false,
                invalidations: &t.invalidations,
            }),
        }
    }

    /// The invalidations of a distribution that the edge applies at `now`, as (id, items):
    /// those created (with [`EdgeInvalidatesAt::Created`]) or completed by then.
    pub(crate) fn in_effect_at_edge(
        &self,
        distribution_id: &str,
        now: Duration,
        at: EdgeInvalidatesAt,
    ) -> Vec<(&str, &[String])> {
        let held = self.stored(&Target::Distribution(distribution_id.to_string()));
        let effective = |inv: &StoredInvalidation| match at {
            EdgeInvalidatesAt::Created => inv.created,
            EdgeInvalidatesAt::Completed => inv.created + inv.completes_after,
        };
        held.iter()
            .filter(|inv| effective(inv) <= now)
            .map(|inv| (inv.id.as_str(), inv.paths.as_slice()))
            .collect()
    }

    fn stored(&self, target: &Target) -> &[StoredInvalidation] {
        self.held(target).map_or(&[], |held| held.invalidations)
    }

    fn stored_mut(&mut self, target: &Target) -> Option<&mut Vec<StoredInvalidation>> {
        match target {
            Target::Distribution(id) => {
                self.distributions.get_mut(id).map(|d| &mut d.invalidations)
            }
            Target::Tenant(id) => self.tenants.get_mut(id).map(|t| &mut t.invalidations),
        }
    }

    /// How long the target's invalidations stay `InProgress`: its own setting, else (for a
    /// tenant) its distribution's, else the default.
    fn completion(&self, target: &Target) -> DurationRange {
        let distribution = |id: &str| {
            self.distributions
                .get(id)
                .and_then(|d| d.config.completes_after)
        };
        let own = match target {
            Target::Distribution(id) => distribution(id),
            Target::Tenant(id) => self.tenants.get(id).and_then(|t| {
                t.config
                    .completes_after
                    .or_else(|| t.config.distribution_id.as_deref().and_then(distribution))
            }),
        };
        own.unwrap_or(self.default_completion)
    }

    pub(crate) fn handle(
        &mut self,
        op: &CfOp,
        body: &[u8],
        ctx: &CfContext<'_>,
        rng: &mut SeededRng,
    ) -> (Reply, CallInfo) {
        let mut call = op.call_info();
        let target = op.target();
        let answer = self.admit(op, ctx, &mut call).and_then(|()| match op {
            CfOp::GetDistribution { .. } => self.get_distribution(target, ctx),
            CfOp::Create { .. } => self.create(target, body, ctx, rng, &mut call),
            CfOp::Get { id, .. } => self.get(target, id, ctx),
            CfOp::List { query, .. } => self.list(target, query, ctx),
        });
        let reply = answer.unwrap_or_else(|e| e.reply(ctx.request_id));
        (reply, call)
    }

    /// IAM, then the target's existence: IAM decides before CloudFront looks the id up.
    fn admit(&self, op: &CfOp, ctx: &CfContext<'_>, call: &mut CallInfo) -> Result<(), CfError> {
        let target = op.target();
        match self.held(target) {
            None => match self.rules.unknown_ids {
                UnknownIds::NotFound => Err(CfError::not_found(target)),
                UnknownIds::AccessDenied => {
                    call.detail = Some(format!(
                        "no such {}: answered as IAM does for a policy scoped to ARNs (--unknown-ids access-denied)",
                        target.noun()
                    ));
                    Err(access_denied(op, target, ctx))
                }
            },
            Some(held) if held.access == DistributionAccess::Denied => {
                Err(access_denied(op, target, ctx))
            }
            Some(held) if held.multi_tenant && !matches!(op, CfOp::GetDistribution { .. }) => {
                call.detail = Some(
                    "a multi-tenant distribution: invalidate its tenants (CreateInvalidationForDistributionTenant)"
                        .to_string(),
                );
                Err(CfError::not_found(target))
            }
            Some(_) => Ok(()),
        }
    }

    fn get_distribution(&self, target: &Target, ctx: &CfContext<'_>) -> Result<Reply, CfError> {
        let config = (self.distributions.get(target.id()))
            .map(|d| &d.config)
            .ok_or_else(|| CfError::not_found(target))?;
        let now = ctx.clock.elapsed();
        let statuses = self.stored(target).iter().map(|inv| inv.status(now));
        let in_progress = distribution::count_in_progress(statuses);
        Ok(distribution::reply(config, in_progress, ctx))
    }

    fn get(&self, target: &Target, id: &str, ctx: &CfContext<'_>) -> Result<Reply, CfError> {
        let inv = self
            .stored(target)
            .iter()
            .find(|inv| inv.id == id)
            .ok_or(CfError::NoSuchInvalidation)?;
        Ok(xml::reply(200, &invalidation(inv, ctx.clock)))
    }

    fn list(&self, target: &Target, query: &str, ctx: &CfContext<'_>) -> Result<Reply, CfError> {
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
            Some(t) => t.trim().parse::<usize>().map_err(|_| {
                CfError::InvalidArgument(format!(
                    "MaxItems must be a non-negative integer, got '{t}'."
                ))
            })?,
        };
        let newest_first: Vec<&StoredInvalidation> = self.stored(target).iter().rev().collect();
        let start = if marker.is_empty() {
            0
        } else {
            let i = newest_first
                .iter()
                .position(|inv| inv.id == marker)
                .ok_or_else(|| {
                    CfError::InvalidArgument(format!(
                        "The marker '{marker}' is not an invalidation of this {}.",
                        target.noun()
                    ))
                })?;
            i + 1
        };
        let rest = &newest_first[start.min(newest_first.len())..];
        let page = &rest[..max_items.min(rest.len())];
        let truncated = rest.len() > page.len();
        let now = ctx.clock.elapsed();
        let summaries: Vec<InvalidationSummary> = page
            .iter()
            .map(|inv| InvalidationSummary {
                id: &inv.id,
                create_time: iso8601(ctx.clock.wall_at(inv.created)),
                status: inv.status(now),
            })
            .collect();
        Ok(xml::reply(
            200,
            &InvalidationList {
                xmlns: NAMESPACE,
                marker: &marker,
                next_marker: page
                    .last()
                    .filter(|_| truncated)
                    .map(|last| last.id.as_str()),
                max_items,
                is_truncated: truncated,
                quantity: page.len(),
                items: (!summaries.is_empty()).then_some(SummaryItems {
                    invalidation_summary: summaries,
                }),
            },
        ))
    }
}

fn created_reply(target: &Target, inv: &StoredInvalidation, ctx: &CfContext<'_>) -> Reply {
    xml::reply(201, &invalidation(inv, ctx.clock)).with_header(
        "Location",
        format!(
            "{}/2020-05-31/{}/{}/invalidation/{}",
            ctx.endpoint,
            target.resource(),
            target.id(),
            inv.id
        ),
    )
}

fn info(held: &Held<'_>, inv: &StoredInvalidation, clock: &Clock) -> InvalidationInfo {
    InvalidationInfo {
        id: inv.id.clone(),
        distribution_id: held.distribution_id.to_string(),
        distribution_tenant_id: held.tenant_id.map(str::to_string),
        status: inv.status(clock.elapsed()),
        create_time: iso8601(clock.wall_at(inv.created)),
        created_ms: duration_ms(inv.created),
        completes_at_ms: duration_ms(inv.created + inv.completes_after),
        paths: inv.paths.clone(),
        caller_reference: inv.caller_reference.clone(),
    }
}

fn invalidation<'a>(inv: &'a StoredInvalidation, clock: &Clock) -> Invalidation<'a> {
    Invalidation {
        xmlns: NAMESPACE,
        id: &inv.id,
        status: inv.status(clock.elapsed()),
        create_time: iso8601(clock.wall_at(inv.created)),
        invalidation_batch: InvalidationBatch {
            paths: Paths {
                quantity: inv.paths.len(),
                items: PathItems { path: &inv.paths },
            },
            caller_reference: &inv.caller_reference,
        },
    }
}

// The documents CloudFront answers, element for element in the wire order.

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Invalidation<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    id: &'a str,
    status: InvalidationStatus,
    create_time: String,
    invalidation_batch: InvalidationBatch<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvalidationBatch<'a> {
    paths: Paths<'a>,
    caller_reference: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Paths<'a> {
    quantity: usize,
    items: PathItems<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PathItems<'a> {
    path: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvalidationList<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    marker: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<&'a str>,
    max_items: usize,
    is_truncated: bool,
    quantity: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<SummaryItems<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SummaryItems<'a> {
    invalidation_summary: Vec<InvalidationSummary<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvalidationSummary<'a> {
    id: &'a str,
    create_time: String,
    status: InvalidationStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalidation_is_written_element_for_element() {
        let clock = Clock::manual();
        let inv = StoredInvalidation {
            id: "IABC".to_string(),
            created: Duration::ZERO,
            completes_after: Duration::from_secs(1),
            paths: vec!["/a&b".to_string(), "/c*".to_string()],
            caller_reference: "r'1".to_string(),
        };
        let created = iso8601(clock.wall_at(Duration::ZERO));
        assert_eq!(
            String::from_utf8_lossy(&xml::reply(200, &invalidation(&inv, &clock)).body),
            format!(
                "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"{NAMESPACE}\"><Id>IABC</Id><Status>InProgress</Status><CreateTime>{created}</CreateTime><InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/a&amp;b</Path><Path>/c*</Path></Items></Paths><CallerReference>r&apos;1</CallerReference></InvalidationBatch></Invalidation>"
            )
        );
    }
}

//! The CloudFront world a run declares: distributions (standard or multi-tenant), distribution
//! tenants, and how ids that were not declared are answered; with the flag syntax of each.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::duration::{DurationError, DurationRange};

/// Whether the caller may use a distribution or a distribution tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DistributionAccess {
    /// Calls succeed (subject to CloudFront's rules).
    Allowed,
    /// Every call gets `AccessDenied` (403), as when the role lacks `cloudfront:*Invalidation*`.
    Denied,
}

/// How a distribution serves viewers: CloudFront's `ConnectionMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionMode {
    /// A standard distribution: it is invalidated itself.
    #[default]
    Direct,
    /// A multi-tenant distribution: only its distribution tenants serve viewers, so they are
    /// what gets invalidated (`CreateInvalidationForDistributionTenant`).
    TenantOnly,
}

/// A distribution the emulator knows. Calls naming any other id get `NoSuchDistribution`
/// (or `AccessDenied`, see [`UnknownIds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionConfig {
    /// The distribution id, e.g. `E2QWRUHEXAMPLE`.
    pub id: String,
    pub access: DistributionAccess,
    /// How long its invalidations stay `InProgress`; `None` uses the emulator's default. For a
    /// multi-tenant distribution: the default of its tenants.
    pub completes_after: Option<DurationRange>,
    /// Standard (`Direct`) or multi-tenant (`TenantOnly`).
    pub connection_mode: ConnectionMode,
    /// The S3 bucket (of local-aws's S3) it serves viewers from: with one, the emulator
    /// serves its edge on a port of its own (see docs/local-aws.md, "The edge").
    pub origin: Option<String>,
    /// The object served for `/` (`DefaultRootObject`, e.g. `index.html`).
    pub default_root_object: Option<String>,
    /// `CacheTagConfig.HeaderName`: the origin response header that carries the object's
    /// cache tags, e.g. `x-amz-meta-cache-tags` for S3 user metadata `cache-tags`.
    pub cache_tag_header: Option<String>,
    /// The edge's port on 127.0.0.1; `None` (or 0) lets the system choose a free one.
    pub edge_port: Option<u16>,
}

impl DistributionConfig {
    /// An allowed standard distribution using the emulator's default completion time.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            access: DistributionAccess::Allowed,
            completes_after: None,
            connection_mode: ConnectionMode::Direct,
            origin: None,
            default_root_object: None,
            cache_tag_header: None,
            edge_port: None,
        }
    }

    /// Serves viewers from `bucket` through an edge cache.
    pub fn origin(mut self, bucket: impl Into<String>) -> Self {
        self.origin = Some(bucket.into());
        self
    }

    /// The object served for `/`.
    pub fn default_root_object(mut self, name: impl Into<String>) -> Self {
        self.default_root_object = Some(name.into());
        self
    }

    /// The origin response header that carries cache tags (`CacheTagConfig.HeaderName`).
    pub fn cache_tag_header(mut self, header: impl Into<String>) -> Self {
        self.cache_tag_header = Some(header.into());
        self
    }

    /// Serves the edge on this port of 127.0.0.1 (0: any free port).
    pub fn edge_port(mut self, port: u16) -> Self {
        self.edge_port = Some(port);
        self
    }

    pub fn denied(id: impl Into<String>) -> Self {
        Self {
            access: DistributionAccess::Denied,
            ..Self::new(id)
        }
    }

    /// A multi-tenant distribution (`ConnectionMode` `tenant-only`): the invalidation calls that
    /// name it are refused; its tenants are invalidated instead.
    pub fn multi_tenant(id: impl Into<String>) -> Self {
        Self {
            connection_mode: ConnectionMode::TenantOnly,
            ..Self::new(id)
        }
    }

    pub fn completes_after(mut self, range: DurationRange) -> Self {
        self.completes_after = Some(range);
        self
    }

    pub fn is_multi_tenant(&self) -> bool {
        self.connection_mode == ConnectionMode::TenantOnly
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionSpecError {
    #[error(
        "invalid distribution '{0}': expected ID or ID:COMPLETES-AFTER, e.g. E2QWRUHEXAMPLE:3s"
    )]
    MissingId(String),
    #[error("invalid distribution id '{0}': use letters and digits only")]
    BadId(String),
    #[error("invalid distribution '{spec}': invalid duration '{}': {source}", .source.value())]
    BadDuration {
        spec: String,
        #[source]
        source: DurationError,
    },
}

fn split_completion(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((id, after)) => (id.trim(), Some(after.trim())),
        None => (s.trim(), None),
    }
}

fn is_distribution_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

impl FromStr for DistributionConfig {
    type Err = DistributionSpecError;

    /// `ID`, `ID:3s` or `ID:2s..5s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, after) = split_completion(s);
        if id.is_empty() {
            return Err(DistributionSpecError::MissingId(s.to_string()));
        }
        if !is_distribution_id(id) {
            return Err(DistributionSpecError::BadId(id.to_string()));
        }
        let spec = s.to_string();
        let completes_after = (after.map(str::parse).transpose())
            .map_err(|source| DistributionSpecError::BadDuration { spec, source })?;
        Ok(DistributionConfig {
            completes_after,
            ..DistributionConfig::new(id)
        })
    }
}

/// A distribution's edge setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeSettingError {
    #[error("invalid edge setting '{0}': expected ID=VALUE, e.g. E2QWRUHEXAMPLE=site-bucket")]
    Shape(String),
    #[error("invalid distribution id '{id}' in '{spec}': use letters and digits only")]
    BadId { spec: String, id: String },
    #[error(
        "distribution '{distribution}' has {setting} but no origin: give it one with --origin {distribution}=BUCKET (DistributionConfig::origin)"
    )]
    WithoutOrigin {
        distribution: String,
        setting: &'static str,
    },
    #[error("invalid {setting} '{value}' for distribution '{distribution}': {why}")]
    BadValue {
        distribution: String,
        setting: &'static str,
        value: String,
        why: &'static str,
    },
}

/// `ID=VALUE`, the shape of `--origin`, `--default-root-object` and `--cache-tag-header`.
pub fn edge_setting(text: &str) -> Result<(String, String), EdgeSettingError> {
    let Some((id, value)) = text.split_once('=') else {
        return Err(EdgeSettingError::Shape(text.to_string()));
    };
    let (id, value) = (id.trim(), value.trim());
    if value.is_empty() {
        return Err(EdgeSettingError::Shape(text.to_string()));
    }
    if !is_distribution_id(id) {
        return Err(EdgeSettingError::BadId {
            spec: text.to_string(),
            id: id.to_string(),
        });
    }
    Ok((id.to_string(), value.to_string()))
}

/// `ID=PORT`, the shape of `--edge-port`.
pub fn edge_port_setting(text: &str) -> Result<(String, u16), EdgeSettingError> {
    let (id, port) = edge_setting(text)?;
    match port.parse::<u16>() {
        Ok(port) => Ok((id, port)),
        Err(_) => Err(EdgeSettingError::BadValue {
            distribution: id,
            setting: "edge port",
            value: port,
            why: "use a port number from 0 to 65535 (0: any free port)",
        }),
    }
}

impl DistributionConfig {
    /// Checks the edge settings: a bucket name S3 could route, a default root object that
    /// does not begin with `/` (the API refuses one), a header name HTTP can carry.
    pub fn check_edge(&self) -> Result<(), EdgeSettingError> {
        let bad = |setting, value: &str, why| EdgeSettingError::BadValue {
            distribution: self.id.clone(),
            setting,
            value: value.to_string(),
            why,
        };
        if let Some(bucket) = &self.origin {
            let allowed =
                |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
            if bucket.is_empty() || !bucket.chars().all(allowed) {
                return Err(bad(
                    "origin bucket",
                    bucket,
                    "use lowercase letters, digits, '-' and '.'",
                ));
            }
        }
        if let Some(root) = &self.default_root_object
            && (root.is_empty() || root.starts_with('/'))
        {
            return Err(bad(
                "default root object",
                root,
                "name the object without a leading '/', e.g. index.html",
            ));
        }
        if let Some(header) = &self.cache_tag_header
            && hyper::header::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            return Err(bad(
                "cache-tag header",
                header,
                "use an HTTP header name, e.g. x-amz-meta-cache-tags",
            ));
        }
        Ok(())
    }
}

/// Whether `id` has the shape of a distribution tenant id: `dt_` then letters and digits
/// (`dt_2wjDZi3hD1ivOXf6rpZJO1AB`). The service model gives no pattern; this is the shape of
/// every id AWS shows.
pub fn is_distribution_tenant_id(id: &str) -> bool {
    id.strip_prefix("dt_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A distribution tenant the emulator knows. Calls naming any other tenant id get
/// `EntityNotFound` (or `AccessDenied`, see [`UnknownIds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionTenantConfig {
    /// The tenant id, e.g. `dt_2wjDZi3hD1ivOXf6rpZJO1AB`.
    pub id: String,
    /// The multi-tenant distribution it belongs to. `None` when declared alone; when exactly
    /// one multi-tenant distribution is declared, [`crate::Emulator::start`] assigns it.
    pub distribution_id: Option<String>,
    pub access: DistributionAccess,
    /// How long its invalidations stay `InProgress`; `None` uses its distribution's, else the
    /// emulator's default.
    pub completes_after: Option<DurationRange>,
}

impl DistributionTenantConfig {
    /// An allowed tenant, of no distribution yet, with the default completion time.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            distribution_id: None,
            access: DistributionAccess::Allowed,
            completes_after: None,
        }
    }

    pub fn denied(id: impl Into<String>) -> Self {
        Self {
            access: DistributionAccess::Denied,
            ..Self::new(id)
        }
    }

    /// Makes it a tenant of the multi-tenant distribution `distribution_id`.
    pub fn of_distribution(mut self, distribution_id: impl Into<String>) -> Self {
        self.distribution_id = Some(distribution_id.into());
        self
    }

    pub fn completes_after(mut self, range: DurationRange) -> Self {
        self.completes_after = Some(range);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantSpecError {
    #[error(
        "invalid distribution tenant id '{id}' in '{spec}': expected dt_ followed by letters and digits, e.g. dt_2wjDZi3hD1ivOXf6rpZJO1AB (write [DISTRIBUTION/]ID[:COMPLETES-AFTER])"
    )]
    BadId { spec: String, id: String },
    #[error(
        "invalid distribution id '{distribution}' in '{spec}': use letters and digits only, e.g. EMULTITENANT/dt_2wjDZi3hD1ivOXf6rpZJO1AB"
    )]
    BadDistribution { spec: String, distribution: String },
    #[error("invalid distribution tenant '{spec}': invalid duration '{}': {source}", .source.value())]
    BadDuration {
        spec: String,
        #[source]
        source: DurationError,
    },
}

impl FromStr for DistributionTenantConfig {
    type Err = TenantSpecError;

    /// `ID`, `ID:3s`, `ID:2s..5s`, each optionally after `DISTRIBUTION/`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (named, after) = split_completion(s);
        let (distribution, id) = match named.split_once('/') {
            Some((d, id)) => (Some(d.trim()), id.trim()),
            None => (None, named),
        };
        if !is_distribution_tenant_id(id) {
            return Err(TenantSpecError::BadId {
                spec: s.to_string(),
                id: id.to_string(),
            });
        }
        let mut config = DistributionTenantConfig::new(id);
        if let Some(d) = distribution {
            if !is_distribution_id(d) {
                return Err(TenantSpecError::BadDistribution {
                    spec: s.to_string(),
                    distribution: d.to_string(),
                });
            }
            config.distribution_id = Some(d.to_string());
        }
        let spec = s.to_string();
        config.completes_after = (after.map(str::parse).transpose())
            .map_err(|source| TenantSpecError::BadDuration { spec, source })?;
        Ok(config)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantSetupError {
    #[error(
        "distribution tenant '{tenant}' belongs to '{distribution}', which is not declared as a multi-tenant distribution: declare it with --multi-tenant-distribution {distribution}"
    )]
    NotMultiTenant {
        tenant: String,
        distribution: String,
    },
    #[error(
        "distribution tenant '{tenant}' could belong to any of the multi-tenant distributions {candidates}: write DISTRIBUTION/{tenant}"
    )]
    Ambiguous {
        tenant: String,
        /// The multi-tenant distributions declared, comma-separated.
        candidates: String,
    },
    #[error(
        "distribution tenant '{0}' is declared twice: declare each tenant once (--distribution-tenant or --denied-distribution-tenant)"
    )]
    Duplicate(String),
}

/// Gives each tenant declared without a distribution the multi-tenant distribution, when
/// exactly one is declared, and checks that every tenant's distribution is multi-tenant.
pub fn assign_tenants(
    distributions: &[DistributionConfig],
    tenants: &[DistributionTenantConfig],
) -> Result<Vec<DistributionTenantConfig>, TenantSetupError> {
    let multi: Vec<&str> = distributions
        .iter()
        .filter(|d| d.is_multi_tenant())
        .map(|d| d.id.as_str())
        .collect();
    let mut out: Vec<DistributionTenantConfig> = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        if out.iter().any(|t| t.id == tenant.id) {
            return Err(TenantSetupError::Duplicate(tenant.id.clone()));
        }
        let mut tenant = tenant.clone();
        match (&tenant.distribution_id, multi.as_slice()) {
            (Some(d), _) if !multi.contains(&d.as_str()) => {
                return Err(TenantSetupError::NotMultiTenant {
                    tenant: tenant.id,
                    distribution: d.clone(),
                });
            }
            (Some(_), _) | (None, []) => {}
            (None, [only]) => tenant.distribution_id = Some((*only).to_string()),
            (None, several) => {
                return Err(TenantSetupError::Ambiguous {
                    tenant: tenant.id,
                    candidates: several.join(", "),
                });
            }
        }
        out.push(tenant);
    }
    Ok(out)
}

/// How CloudFront answers a call naming a distribution or tenant id that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownIds {
    /// `NoSuchDistribution` / `EntityNotFound` (404): a role allowed on every resource (`*`).
    #[default]
    NotFound,
    /// `AccessDenied` (403) naming the id's ARN: a role whose policy lists distribution ARNs,
    /// since IAM is checked before CloudFront looks the id up.
    AccessDenied,
}

impl UnknownIds {
    /// The flag spelling: `not-found` or `access-denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownIds::NotFound => "not-found",
            UnknownIds::AccessDenied => "access-denied",
        }
    }
}

impl fmt::Display for UnknownIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --unknown-ids '{0}': use not-found or access-denied")]
pub struct UnknownIdsError(pub String);

impl FromStr for UnknownIds {
    type Err = UnknownIdsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "not-found" => Ok(UnknownIds::NotFound),
            "access-denied" => Ok(UnknownIds::AccessDenied),
            _ => Err(UnknownIdsError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        for (bad, fragment) in [(":3s", "':3s'"), ("E1/x", "'E1/x'"), ("E1:soon", "'soon'")] {
            let err = bad.parse::<DistributionConfig>().unwrap_err().to_string();
            assert!(err.contains(fragment), "{bad}: {err}");
        }
    }

    #[test]
    fn tenant_specs() {
        let t: DistributionTenantConfig = "dt_2wjDZi3hD1ivOXf6rpZJO1AB".parse().unwrap();
        assert_eq!(
            t,
            DistributionTenantConfig::new("dt_2wjDZi3hD1ivOXf6rpZJO1AB")
        );
        let t: DistributionTenantConfig = "EMULTI/dt_abc:2s..3s".parse().unwrap();
        assert_eq!(t.distribution_id.as_deref(), Some("EMULTI"));
        assert_eq!(t.id, "dt_abc");
        assert_eq!(t.completes_after.unwrap().to_string(), "2s..3s");
        for (bad, fragment) in [
            ("E2QWRUHEXAMPLE", "'E2QWRUHEXAMPLE'"),
            ("dt_", "expected dt_"),
            ("dt_a-b", "'dt_a-b'"),
            ("E-1/dt_abc", "invalid distribution id 'E-1'"),
            ("dt_abc:later", "'later'"),
        ] {
            let err = bad
                .parse::<DistributionTenantConfig>()
                .unwrap_err()
                .to_string();
            assert!(err.contains(fragment), "{bad}: {err}");
        }
    }

    #[test]
    fn tenants_find_their_distribution() {
        let one = [
            DistributionConfig::new("ESTD"),
            DistributionConfig::multi_tenant("EMULTI"),
        ];
        let tenants = [
            DistributionTenantConfig::new("dt_a"),
            DistributionTenantConfig::new("dt_b").of_distribution("EMULTI"),
        ];
        let assigned = assign_tenants(&one, &tenants).unwrap();
        assert!(
            assigned
                .iter()
                .all(|t| t.distribution_id.as_deref() == Some("EMULTI"))
        );
        // Without a multi-tenant distribution, a tenant stands alone.
        let alone = assign_tenants(&[], &tenants[..1]).unwrap();
        assert_eq!(alone[0].distribution_id, None);

        let err = assign_tenants(&one[..1], &tenants[1..]).unwrap_err();
        assert!(
            err.to_string()
                .contains("--multi-tenant-distribution EMULTI"),
            "{err}"
        );
        let two = [
            DistributionConfig::multi_tenant("EM1"),
            DistributionConfig::multi_tenant("EM2"),
        ];
        let err = assign_tenants(&two, &tenants[..1]).unwrap_err();
        assert!(err.to_string().contains("EM1, EM2"), "{err}");
        assert!(err.to_string().contains("DISTRIBUTION/dt_a"), "{err}");
        let err = assign_tenants(&one, &[tenants[0].clone(), tenants[0].clone()]).unwrap_err();
        assert_eq!(err, TenantSetupError::Duplicate("dt_a".into()));
    }

    #[test]
    fn unknown_ids_flag() {
        assert_eq!("access-denied".parse(), Ok(UnknownIds::AccessDenied));
        assert_eq!("not-found".parse(), Ok(UnknownIds::NotFound));
        assert_eq!(UnknownIds::default(), UnknownIds::NotFound);
        let err = "denied".parse::<UnknownIds>().unwrap_err().to_string();
        assert!(
            err.contains("'denied'") && err.contains("access-denied"),
            "{err}"
        );
    }
}

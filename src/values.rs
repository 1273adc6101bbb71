//! The validated values every shell reads: distribution and tenant ids, CallerReference,
//! directoryIndex and invalidation ids, with their limits. UserParameters, the command line's
//! flags and the continuation token all read them here, so that one rule has one home.

use std::fmt;

use crate::text::head_chars;

/// Most distributions and distribution tenants one job may invalidate, in all: each adds state
/// to the continuation token.
pub const MAX_DISTRIBUTIONS: usize = 10;
/// Longest distribution id, in characters.
pub const MAX_DISTRIBUTION_ID_LEN: usize = 64;
/// Longest distribution tenant id, in characters, `dt_` included.
pub const MAX_TENANT_ID_LEN: usize = 64;
/// Longest accepted CallerReference base, in characters.
pub const MAX_CALLER_REFERENCE_LEN: usize = 128;
/// Longest accepted `directoryIndex`, in characters.
pub const MAX_DIRECTORY_INDEX_LEN: usize = 255;
/// Longest invalidation id, in characters.
pub const MAX_INVALIDATION_ID_LEN: usize = 64;

/// Quoted values are cut after this many characters, so that one huge value cannot bury the
/// rest of a message (and every message fits a CodePipeline failure summary).
pub(crate) const SHOWN_CHARS: usize = 60;
pub(crate) const EXAMPLE_ID: &str = "E2QWRUHAPOMQZL";
pub(crate) const EXAMPLE_TENANT_ID: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
const TENANT_ID_PREFIX: &str = "dt_";

/// Why a value was refused. `Display` is the whole message; string fields hold values already
/// escaped and shortened for it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    /// `noun`: "distribution id" or "distribution tenant id".
    #[error("{} not a valid CloudFront {noun}: {hint}", id_subject(.field, .value))]
    InvalidId {
        field: Option<String>,
        value: String,
        noun: &'static str,
        hint: String,
    },
}

/// How a shell names the two kinds of id, for the hint that a value is of the other kind.
#[derive(Debug, Clone, Copy)]
pub struct IdNames {
    pub distribution: &'static str,
    pub tenant: &'static str,
}

impl IdNames {
    /// For a caller that names no field.
    pub const PLAIN: Self = Self {
        distribution: "a distribution id",
        tenant: "a distribution tenant id",
    };
}

/// A validated id newtype: `parse` accepts exactly a valid id; near misses (lowercase, an ARN,
/// surrounding spaces) are errors that suggest the id, because guessing silently could invalidate
/// the wrong distribution. `parse_as` names the fields of the caller's shell in its hints.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $noun:literal, $valid:expr, $hint:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts exactly a valid id; a near miss is an error that suggests the id.
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                Self::parse_as(raw, None, &IdNames::PLAIN)
            }

            /// The id as CloudFront spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Like [`Self::parse`], naming the fields of the caller's shell in its hints.
            pub fn parse_as(
                raw: &str,
                field: Option<String>,
                names: &IdNames,
            ) -> Result<Self, ValueError> {
                if $valid(raw) {
                    return Ok(Self(raw.to_owned()));
                }
                Err(ValueError::InvalidId {
                    field,
                    value: shown(raw),
                    noun: $noun,
                    hint: $hint(raw, names),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A CloudFront distribution id: 1 to 64 uppercase ASCII letters and digits.
    DistributionId,
    "distribution id",
    is_valid_distribution_id,
    distribution_id_hint
);

id_type!(
    /// A distribution tenant of a multi-tenant distribution: `dt_` and then ASCII letters and
    /// digits, at most [`MAX_TENANT_ID_LEN`] characters in all.
    DistributionTenantId,
    "distribution tenant id",
    is_valid_tenant_id,
    tenant_id_hint
);

/// The IAM actions of creating, getting and listing a distribution's invalidations.
pub const DISTRIBUTION_IAM_ACTIONS: [&str; 3] = [
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
];
/// The same for a distribution tenant's invalidations.
pub const TENANT_IAM_ACTIONS: [&str; 3] = [
    "cloudfront:CreateInvalidationForDistributionTenant",
    "cloudfront:GetInvalidationForDistributionTenant",
    "cloudfront:ListInvalidationsForDistributionTenant",
];

/// What `verify` needs on each distribution: its `DomainName` and its default cache behaviour's
/// S3 origin, read-only. Tenants need nothing: a tenant is verified at its `baseUrl`.
pub const VERIFY_IAM_ACTIONS: [&str; 1] = ["cloudfront:GetDistribution"];
/// What `verify` needs on the site's objects (`arn:aws:s3:::BUCKET/*`) to compare `paths` with
/// S3: HeadObject is authorised as GetObject.
pub const SITE_OBJECT_IAM_ACTIONS: [&str; 1] = ["s3:GetObject"];
/// What it needs on the site's bucket (`arn:aws:s3:::BUCKET`): ListObjectsV2 for a wildcard, and
/// without it S3 answers a missing key with 403 instead of 404.
pub const SITE_BUCKET_IAM_ACTIONS: [&str; 1] = ["s3:ListBucket"];

/// What one invalidation goes to: a distribution, or a tenant of a multi-tenant distribution
/// (which CloudFront invalidates through the tenant, never through the distribution).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Distribution(DistributionId),
    Tenant(DistributionTenantId),
}

impl Target {
    /// Either kind of id: they cannot be mistaken for each other (`dt_` is never uppercase).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::parse_as(raw, None, &IdNames::PLAIN)
    }

    pub(crate) fn parse_as(
        raw: &str,
        field: Option<String>,
        names: &IdNames,
    ) -> Result<Self, ValueError> {
        if raw.starts_with(TENANT_ID_PREFIX) {
            DistributionTenantId::parse_as(raw, field, names).map(Self::Tenant)
        } else {
            DistributionId::parse_as(raw, field, names).map(Self::Distribution)
        }
    }

    /// The id as CloudFront spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Distribution(id) => id.as_str(),
            Self::Tenant(id) => id.as_str(),
        }
    }

    pub fn is_tenant(&self) -> bool {
        matches!(self, Self::Tenant(_))
    }

    /// "distribution" or "distribution tenant", for sentences.
    pub fn noun(&self) -> &'static str {
        match self {
            Self::Distribution(_) => "distribution",
            Self::Tenant(_) => "distribution tenant",
        }
    }

    /// The resource an IAM policy names; `account` may be a placeholder.
    pub fn arn(&self, account: &str) -> String {
        match self {
            Self::Distribution(id) => format!("arn:aws:cloudfront::{account}:distribution/{id}"),
            Self::Tenant(id) => format!("arn:aws:cloudfront::{account}:distribution-tenant/{id}"),
        }
    }

    /// The IAM actions of creating, getting and listing invalidations here.
    pub fn iam_actions(&self) -> [&'static str; 3] {
        match self {
            Self::Distribution(_) => DISTRIBUTION_IAM_ACTIONS,
            Self::Tenant(_) => TENANT_IAM_ACTIONS,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DistributionId> for Target {
    fn from(id: DistributionId) -> Self {
        Self::Distribution(id)
    }
}

impl From<DistributionTenantId> for Target {
    fn from(id: DistributionTenantId) -> Self {
        Self::Tenant(id)
    }
}

/// What is wrong with a CallerReference; completes the sentence "... is "x", which ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerReferenceProblem {
    Empty,
    TooLong,
    Character { bad: char, position: usize },
}

impl fmt::Display for CallerReferenceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::TooLong => write!(f, "is longer than {MAX_CALLER_REFERENCE_LEN} characters"),
            Self::Character { bad, position } => write!(
                f,
                "contains {bad:?} at position {position}: use printable ASCII without spaces \
                 (codes 33 to 126)"
            ),
        }
    }
}

/// The stable base of every CallerReference of a job: trimmed, 1 to
/// [`MAX_CALLER_REFERENCE_LEN`] printable ASCII characters without spaces.
pub fn caller_reference(raw: &str) -> Result<String, CallerReferenceProblem> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(CallerReferenceProblem::Empty);
    }
    if trimmed.chars().count() > MAX_CALLER_REFERENCE_LEN {
        return Err(CallerReferenceProblem::TooLong);
    }
    if let Some((index, bad)) = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| !matches!(c, '!'..='~'))
    {
        return Err(CallerReferenceProblem::Character {
            bad,
            position: index + 1,
        });
    }
    Ok(trimmed.to_owned())
}

/// What is wrong with a `directoryIndex`; completes the sentence "... is "x", which ...".
pub fn directory_index(raw: &str) -> Result<String, &'static str> {
    let problem = if raw.is_empty() {
        "is empty"
    } else if raw.chars().count() > MAX_DIRECTORY_INDEX_LEN {
        "is longer than 255 characters"
    } else if raw.contains('/') {
        "contains \"/\" (it names the file inside every directory, without a directory)"
    } else if raw.contains('*') {
        "contains \"*\""
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "contains whitespace or a control character"
    } else {
        return Ok(raw.to_owned());
    };
    Err(problem)
}

/// An invalidation id as CloudFront issues them: uppercase ASCII letters and digits.
pub fn is_invalidation_id(candidate: &str) -> bool {
    (1..=MAX_INVALIDATION_ID_LEN).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

fn is_valid_distribution_id(candidate: &str) -> bool {
    (1..=MAX_DISTRIBUTION_ID_LEN).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

fn is_valid_tenant_id(candidate: &str) -> bool {
    candidate.len() <= MAX_TENANT_ID_LEN
        && candidate
            .strip_prefix(TENANT_ID_PREFIX)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn tenant_id_hint(raw: &str, names: &IdNames) -> String {
    const LOOKS_LIKE: &str = "a tenant id is \"dt_\" followed by letters and digits, as in";
    let trimmed = raw.trim();
    if trimmed != raw && is_valid_tenant_id(trimmed) {
        return format!("did you mean \"{trimmed}\"? (without the surrounding spaces)");
    }
    if trimmed.starts_with("arn:") {
        let tail = trimmed.rsplit(['/', ':']).next().unwrap_or_default();
        if is_valid_tenant_id(tail) {
            return format!(
                "did you mean \"{tail}\"? (give the id at the end of the ARN, not the ARN)"
            );
        }
    }
    if is_valid_distribution_id(trimmed) {
        return format!(
            "that looks like a distribution id: give it as {}; {LOOKS_LIKE} \
             \"{EXAMPLE_TENANT_ID}\"",
            names.distribution
        );
    }
    let length = trimmed.chars().count();
    if length > MAX_TENANT_ID_LEN {
        return format!(
            "it has {length} characters, more than {MAX_TENANT_ID_LEN}; {LOOKS_LIKE} \
             \"{EXAMPLE_TENANT_ID}\""
        );
    }
    format!("{LOOKS_LIKE} \"{EXAMPLE_TENANT_ID}\" (shown in the CloudFront console)")
}

/// Says what to do about an invalid id, suggesting the id itself when the mistake is a common one.
fn distribution_id_hint(raw: &str, names: &IdNames) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return format!("it is empty; give an id such as \"{EXAMPLE_ID}\"");
    }
    if is_valid_tenant_id(trimmed) {
        return format!(
            "\"{trimmed}\" is a distribution tenant id: did you mean {}?",
            names.tenant
        );
    }
    if trimmed.starts_with("arn:") {
        let tail = trimmed.rsplit(['/', ':']).next().unwrap_or_default();
        let candidate = tail.to_ascii_uppercase();
        if is_valid_distribution_id(&candidate) {
            return format!(
                "did you mean \"{candidate}\"? (give the id at the end of the ARN, not the ARN)"
            );
        }
        return "give the distribution id at the end of the ARN, not the ARN".to_owned();
    }
    if trimmed.to_ascii_lowercase().ends_with(".cloudfront.net") {
        return format!(
            "that is the distribution's domain name; give its id instead, such as \"{EXAMPLE_ID}\" \
             (shown in the CloudFront console)"
        );
    }
    let candidate = trimmed.to_ascii_uppercase();
    if is_valid_distribution_id(&candidate) {
        let why = match (candidate != trimmed, trimmed != raw) {
            (true, true) => "ids are uppercase, without surrounding spaces",
            (true, false) => "ids are uppercase",
            _ => "without the surrounding spaces",
        };
        return format!("did you mean \"{candidate}\"? ({why})");
    }
    let length = trimmed.chars().count();
    if length > MAX_DISTRIBUTION_ID_LEN {
        return format!(
            "it has {length} characters; an id has at most {MAX_DISTRIBUTION_ID_LEN} uppercase \
             letters and digits, such as \"{EXAMPLE_ID}\""
        );
    }
    match trimmed
        .chars()
        .find(|c| !c.is_ascii_uppercase() && !c.is_ascii_digit())
    {
        Some(bad) if !bad.is_ascii() => format!(
            "it contains {bad:?} (U+{:04X}), a non-ASCII character that may look like a Latin \
             letter or digit: retype the id using only A-Z and 0-9",
            u32::from(bad)
        ),
        Some(bad) => format!(
            "it contains {bad:?}; an id has only uppercase letters A-Z and digits 0-9, such as \
             \"{EXAMPLE_ID}\""
        ),
        None => {
            format!("an id has only uppercase letters A-Z and digits 0-9, such as \"{EXAMPLE_ID}\"")
        }
    }
}

/// A user-supplied string made safe for a message: escaped so control characters are visible,
/// and cut after [`SHOWN_CHARS`] characters.
pub fn shown(text: &str) -> String {
    match head_chars(text, SHOWN_CHARS) {
        None => format!("{text:?}"),
        Some(head) => format!("{head:?}… ({} characters)", text.chars().count()),
    }
}

fn id_subject(field: &Option<String>, value: &str) -> String {
    match field {
        Some(field) => format!("{field} is {value}, which is"),
        None => format!("{value} is"),
    }
}

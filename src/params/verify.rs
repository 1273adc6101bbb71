//! `verify` in UserParameters: after `Completed`, the invalidated files are fetched through the
//! edge and compared with what was deployed.

use serde_json::{Map, Value};

use super::{ParamsError, Source, choice, invalid_value, whole_number, wrong_type};

/// How many objects are checked when `maxObjects` is absent.
pub const DEFAULT_MAX_OBJECTS: usize = 100;
/// Most objects one job checks: each is an HTTP request within the Lambda's 15 minutes.
pub const MAX_OBJECTS: u64 = 1000;
/// The keys of the `verify` object, in the order the documentation lists them.
pub const VERIFY_KEYS: [&str; 5] = ["baseUrl", "maxObjects", "onStale", "bucket", "prefix"];

/// What a stale (or missing) object does to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStale {
    /// The job fails as JobFailed, naming the stale paths.
    Fail,
    /// The job succeeds; its summary names the stale paths.
    Warn,
}

/// `verify`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyParams {
    /// The site's root, such as `https://www.example.com`, without a trailing `/`; `None` =
    /// each distribution's own domain, from GetDistribution.
    pub base_url: Option<String>,
    pub max_objects: usize,
    pub on_stale: OnStale,
    /// The bucket the site is deployed to, compared by ETag where no input artifact gives the
    /// bytes; `None` = the distribution's S3 origin.
    pub bucket: Option<String>,
    /// The key prefix of the site in that bucket: "" or ending in "/".
    pub prefix: String,
}

impl Default for VerifyParams {
    fn default() -> Self {
        Self {
            base_url: None,
            max_objects: DEFAULT_MAX_OBJECTS,
            on_stale: OnStale::Fail,
            bucket: None,
            prefix: String::new(),
        }
    }
}

/// `verify` as written: `true`, `false` or an object of [`VERIFY_KEYS`].
pub(super) fn verify_params(
    value: Option<&Value>,
    wait: bool,
    tenants: bool,
) -> Result<Option<VerifyParams>, ParamsError> {
    let origin = Source::UserParameters;
    let object = match value {
        None | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => &Map::new(),
        Some(Value::Object(object)) => object,
        Some(other) => {
            return Err(wrong_type(
                "\"verify\" in UserParameters".to_owned(),
                "true, or an object such as {\"baseUrl\": \"https://www.example.com\"}",
                other,
                String::new(),
            ));
        }
    };
    if !wait {
        return Err(invalid_value(
            origin,
            "verify",
            &value.map(Value::to_string).unwrap_or_default(),
            "needs the wait: the edge is checked once the invalidations are Completed; remove \
             \"wait\": false, or remove \"verify\"",
        ));
    }
    if let Some(key) = object
        .keys()
        .find(|key| !VERIFY_KEYS.contains(&key.as_str()))
    {
        return Err(invalid_value(
            origin,
            "verify",
            key,
            format!(
                "is not a key of \"verify\": it takes {}",
                VERIFY_KEYS.map(|k| format!("\"{k}\"")).join(", ")
            ),
        ));
    }
    let text = |key: &'static str, expected| match object.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(other) => Err(wrong_type(
            format!("\"verify.{key}\" in UserParameters"),
            expected,
            other,
            String::new(),
        )),
    };
    let base_url = text(
        "baseUrl",
        "a URL string such as \"https://www.example.com\"",
    )?
    .map(|raw| match base_url_problem(raw) {
        Some(problem) => Err(invalid_value(
            origin,
            "verify.baseUrl",
            raw,
            format!("{problem}: give the site's root, such as https://www.example.com"),
        )),
        None => Ok(raw.trim().trim_end_matches('/').to_owned()),
    })
    .transpose()?;
    let max_objects = whole_number(
        origin,
        "verify.maxObjects",
        object.get("maxObjects"),
        MAX_OBJECTS,
        "each object is one request through the edge; a larger site is sampled evenly",
    )?
    .map_or(DEFAULT_MAX_OBJECTS, |max| max as usize);
    let on_stale = match text("onStale", "\"fail\" or \"warn\"")? {
        None => OnStale::Fail,
        Some(raw) => choice(
            "verify.onStale",
            raw,
            &[("fail", OnStale::Fail), ("warn", OnStale::Warn)],
            "give \"fail\" (a stale file fails the job) or \"warn\" (the summary names it)",
        )?,
    };
    let bucket = text("bucket", "a bucket name string")?
        .map(|raw| super::bucket_name(raw, origin, "verify.bucket"))
        .transpose()?;
    let prefix = match text("prefix", "a key prefix string such as \"site/\"")? {
        None => String::new(),
        Some(raw) => {
            if let Some(problem) = super::key_prefix_problem(raw) {
                return Err(invalid_value(origin, "verify.prefix", raw, problem));
            }
            match raw.trim_matches('/') {
                "" => String::new(),
                folder => format!("{folder}/"),
            }
        }
    };
    if bucket.is_none() && object.contains_key("prefix") {
        return Err(invalid_value(
            origin,
            "verify.prefix",
            &prefix,
            "applies only with \"verify.bucket\": without it the objects are looked up where the \
             distribution's S3 origin and its OriginPath put them; add the bucket, or remove \
             the prefix",
        ));
    }
    if tenants && base_url.is_none() {
        return Err(invalid_value(
            origin,
            "verify",
            &value.map(Value::to_string).unwrap_or_default(),
            "names no \"baseUrl\", which a distribution tenant needs: a tenant is served at a \
             domain of its own; give \"verify\": {\"baseUrl\": \"https://tenant.example.com\"}",
        ));
    }
    Ok(Some(VerifyParams {
        base_url,
        max_objects,
        on_stale,
        bucket,
        prefix,
    }))
}

/// What is wrong with a site's root URL (`verify.baseUrl`, the CLI's `--base-url`), if anything:
/// http or https, a host, and no path beyond `/`.
pub fn base_url_problem(raw: &str) -> Option<&'static str> {
    let url = raw.trim().trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("does not start with http:// or https://");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Some("does not start with http:// or https://");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains a space or a control character");
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.is_empty() || host.starts_with(':') {
        return Some("has no host");
    }
    if host.contains('@') {
        return Some("has a user name or password in it, which is not sent");
    }
    if host_end < rest.len() {
        return Some("has a path or query");
    }
    None
}

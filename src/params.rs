//! UserParameters: the user-facing contract of the CodePipeline action, parsed and validated once.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::plan::{MAX_PATHS_PER_BATCH, max_paths_per_batch, path_budget};
use crate::text::clip;
use crate::values::{
    CallerReferenceProblem, EXAMPLE_ID, EXAMPLE_TENANT_ID, IdNames, SHOWN_CHARS, shown,
};
pub use crate::values::{
    DistributionId, DistributionTenantId, MAX_CALLER_REFERENCE_LEN, MAX_DIRECTORY_INDEX_LEN,
    MAX_DISTRIBUTION_ID_LEN, MAX_DISTRIBUTIONS, MAX_TENANT_ID_LEN, Target, ValueError,
};

/// `timeoutMinutes` when the key is absent.
pub const DEFAULT_TIMEOUT_MINUTES: u64 = 30;
/// `maxPaths` when the key is absent.
pub const DEFAULT_MAX_PATHS: usize = 100;
/// Longest accepted `timeoutMinutes`: CodePipeline fails any action after 24 hours anyway.
pub const MAX_TIMEOUT_MINUTES: u64 = 1440;
/// Largest accepted UserParameters, in bytes. CodePipeline caps a configuration value at 1000
/// characters, but pipeline variables are expanded after that check.
pub const MAX_USER_PARAMETERS_BYTES: usize = 64 * 1024;
/// What is invalidated when no paths are given.
pub const DEFAULT_PATH: &str = "/*";
/// Longest accepted `keyPrefix` or `pathPrefix`: S3 keys are at most 1024 bytes.
pub const MAX_PREFIX_LEN: usize = 1024;
/// Longest artifact or pipeline name CodePipeline accepts.
pub const MAX_PIPELINE_NAME_LEN: usize = 100;

/// Every key UserParameters accepts, in the order the documentation lists them.
pub const KNOWN_KEYS: [&str; 17] = [
    "distributionId",
    "distributionIds",
    "distributionTenantId",
    "distributionTenantIds",
    "paths",
    "wait",
    "timeoutMinutes",
    "onTimeout",
    "maxPaths",
    "directoryIndex",
    "callerReference",
    "pathsFromArtifact",
    "artifact",
    "keyPrefix",
    "pathPrefix",
    "pipelineName",
    "verify",
];

/// UserParameters is a flat object, so anything deeper is a mistake; checking this ourselves
/// keeps the message ours and stays far below serde_json's own recursion limit.
const MAX_JSON_DEPTH: usize = 32;
/// Beyond this distance a "did you mean" guess is more confusing than the list of keys.
const MAX_SUGGESTION_DISTANCE: usize = 3;

const EXAMPLE_JSON: &str =
    r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/css/*"]}"#;
const EXAMPLE_PLAIN: &str = "E2QWRUHAPOMQZL /index.html /css/*";

/// What the job reports when the invalidations are still running at the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    Fail,
    Succeed,
}

/// Which files of the input artifact `pathsFromArtifact` invalidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactMode {
    All,
    /// The files added, changed or removed since the last successful run of the action.
    Changed,
}

/// `pathsFromArtifact` and the keys that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactParams {
    pub mode: ArtifactMode,
    /// The input artifact to read; `None` = the first.
    pub artifact: Option<String>,
    /// Only entries under it count, and it is removed from them ("" = every entry).
    pub key_prefix: String,
    /// Starts and ends with "/"; put before the rest of the entry's name to form the URL path.
    pub path_prefix: String,
    /// Where to look for the previous run; `None` = ask GetJobDetails.
    pub pipeline_name: Option<String>,
}

/// Where a set of parameters was written, named in every message about it: the same keys follow
/// the same rules and get the same messages in each shell that reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The CodePipeline action's UserParameters.
    UserParameters,
    /// The S3-events function's environment variable `CF_INVALIDATE_PARAMETERS`.
    EventsEnvironment,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Self::UserParameters => "UserParameters",
            Self::EventsEnvironment => events::VARIABLE,
        }
    }

    /// Every key this source accepts, in the order the documentation lists them.
    pub fn known_keys(self) -> &'static [&'static str] {
        match self {
            Self::UserParameters => &KNOWN_KEYS,
            Self::EventsEnvironment => &events::KNOWN_KEYS,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::UserParameters => "action",
            Self::EventsEnvironment => "function",
        }
    }

    fn split_advice(self) -> &'static str {
        match self {
            Self::UserParameters => "split them across several actions",
            Self::EventsEnvironment => {
                "deploy a second function (with its own queue) for the others"
            }
        }
    }

    fn json_hint(self) -> &'static str {
        match self {
            Self::UserParameters => {
                "check that keys and strings use double quotes, that no comma follows the last \
                 item, and that braces match; or use the plain form, such as E2QWRUHAPOMQZL \
                 /index.html"
            }
            Self::EventsEnvironment => {
                "check that keys and strings use double quotes, that no comma follows the last \
                 item, and that braces match"
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The validated UserParameters of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobParams {
    /// Distributions, then tenants: at least one, at most [`MAX_DISTRIBUTIONS`] in all,
    /// without duplicates, each kind in the order given.
    pub targets: Vec<Target>,
    /// Raw items as given (at most [`MAX_PATHS_PER_BATCH`], free of ASCII control characters); the
    /// planner normalises and encodes them. Empty only when `from_artifact` is given without
    /// `paths`: `"/*"` is the default only when neither is.
    pub paths: Vec<String>,
    pub wait: bool,
    pub timeout: Duration,
    pub on_timeout: OnTimeout,
    pub max_paths: usize,
    pub directory_index: Option<String>,
    /// Trimmed; printable ASCII only.
    pub caller_reference: Option<String>,
    /// `pathsFromArtifact`: the input artifact's files are invalidated too.
    pub from_artifact: Option<ArtifactParams>,
    /// `verify`: the edge is asked for the invalidated files after `Completed`.
    pub verify: Option<VerifyParams>,
}

/// Why UserParameters was rejected. `Display` is the whole message shown to the pipeline's user;
/// string fields hold values already escaped and truncated for that message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    #[error(
        "{field} is {value}, which contains a pipeline variable (\"#{{...}}\") that was not \
         resolved: CodePipeline replaces variables such as #{{codepipeline.PipelineExecutionId}} \
         before the function runs only where they appear in the action configuration, so write \
         it in the action's UserParameters setting and check its namespace and name"
    )]
    UnresolvedVariable { field: String, value: String },

    #[error(
        "UserParameters is empty: name the distribution to invalidate, as JSON such as {json} \
         or in the plain form {plain} (an id alone invalidates \"/*\")",
        json = EXAMPLE_JSON,
        plain = EXAMPLE_PLAIN
    )]
    Empty,

    #[error(
        "UserParameters is {len} bytes, more than the {max} accepted (a pipeline variable may \
         have expanded to far more than intended): list fewer paths, or cover them with \
         wildcards such as \"/images/*\"",
        max = MAX_USER_PARAMETERS_BYTES
    )]
    TooLong { len: usize },

    #[error(
        "UserParameters must be a JSON object or the plain form, got {got}: write {json}, or \
         {plain} without quotes",
        json = EXAMPLE_JSON,
        plain = EXAMPLE_PLAIN
    )]
    NotAnObject { got: &'static str },

    #[error("{origin} starts with \"{{\" but is not valid JSON ({detail}): {hint}")]
    InvalidJson {
        origin: Source,
        detail: String,
        hint: &'static str,
    },

    #[error(
        "{origin} nests JSON arrays or objects more than {limit} levels deep: it is a flat \
         object whose only arrays, such as \"distributionIds\", hold strings",
        limit = MAX_JSON_DEPTH
    )]
    TooDeep { origin: Source },

    #[error(
        "{origin} has the control character {character:?} inside a JSON string at line \
         {line}, column {column}: remove it (no value in {origin} may contain one; \
         a variable may have brought it in)"
    )]
    ControlCharInJsonString {
        origin: Source,
        character: char,
        line: usize,
        column: usize,
    },

    #[error("unknown key {key} in {origin}: {}", key_advice(*.origin, .nearest))]
    UnknownKey {
        origin: Source,
        key: String,
        nearest: Option<&'static str>,
    },

    #[error("{field} must be {expected}, got {got}{}", advice(.hint))]
    WrongType {
        field: String,
        expected: &'static str,
        got: String,
        hint: String,
    },

    #[error("{field} is null: remove the key, or give {expected}")]
    NullValue {
        field: String,
        expected: &'static str,
    },

    #[error("{field} is {got}, out of range: give a whole number from 1 to {max} ({hint})")]
    OutOfRange {
        field: String,
        got: String,
        max: u64,
        hint: &'static str,
    },

    #[error(
        "{origin} has both \"distributionId\" and \"distributionIds\": keep only one (put \
         every id in \"distributionIds\" to invalidate several distributions)"
    )]
    BothDistributionKeys { origin: Source },

    #[error(
        "{origin} has both \"distributionTenantId\" and \"distributionTenantIds\": keep \
         only one (put every tenant id in \"distributionTenantIds\" to invalidate several tenants)"
    )]
    BothTenantKeys { origin: Source },

    #[error(
        "{origin} names no distribution: add \"distributionId\": \"{id}\", or \
         \"distributionIds\": [\"{id}\", ...] to invalidate several (for a tenant of a \
         multi-tenant distribution: \"distributionTenantId\": \"{tenant}\")",
        id = EXAMPLE_ID,
        tenant = EXAMPLE_TENANT_ID
    )]
    MissingDistribution { origin: Source },

    #[error("{field} is an empty array: list at least one {what}, such as [\"{example}\"]")]
    NoDistributions {
        field: String,
        what: &'static str,
        example: &'static str,
    },

    #[error(
        "the distribution id list {list} in plain-form UserParameters has an empty entry at \
         position {position}: remove the stray comma (separate ids with single commas and no \
         spaces, as in \"{id},E1ABCDEFGHIJKL\")",
        id = EXAMPLE_ID
    )]
    EmptyIdEntry { list: String, position: usize },

    #[error(
        "{origin} names {count} distributions, more than the {max} one {} handles \
         (distribution tenants count too; the continuation token that tracks them must stay \
         small): {}",
        origin.unit(),
        origin.split_advice(),
        max = MAX_DISTRIBUTIONS
    )]
    TooManyDistributions { origin: Source, count: usize },

    #[error(transparent)]
    Value(#[from] ValueError),

    #[error(
        "{field} is {form}: omit \"paths\" to invalidate everything (\"/*\"), or list at least \
         one path"
    )]
    EmptyPaths { field: String, form: &'static str },

    #[error(
        "{field} has {count} paths, more than the {max} CloudFront accepts in one invalidation: \
         cover them with wildcards such as \"/images/*\"",
        max = MAX_PATHS_PER_BATCH
    )]
    TooManyPaths { field: String, count: usize },

    #[error(
        "{field} is {value}, which contains a control character (such as NUL, tab or newline): \
         remove it"
    )]
    ControlCharInPath { field: String, value: String },

    #[error(
        "{variable} is not set or empty: set it to a JSON object that names the distribution, \
         such as {json}",
        variable = events::VARIABLE,
        json = events::EXAMPLE
    )]
    EventsUnset,

    #[error(
        "{variable} must be a JSON object, got {got}: write {json}",
        variable = events::VARIABLE,
        json = events::EXAMPLE
    )]
    EventsNotAnObject { got: String },

    #[error(
        "\"{key}\" does not apply in {variable}: {why}; remove it (it is a key of the pipeline \
         action's UserParameters)",
        variable = events::VARIABLE
    )]
    NotForEvents {
        key: &'static str,
        why: &'static str,
    },

    #[error("\"{key}\" in {origin} is {value}, which {problem}")]
    InvalidValue {
        origin: Source,
        key: &'static str,
        value: String,
        problem: String,
    },

    /// A value that is none of the choices: `suggestion` is the one it matches but for case and
    /// surrounding spaces, if any; `otherwise` lists them.
    #[error(
        "\"{key}\" in UserParameters is {value}: {}",
        match .suggestion {
            Some(known) => format!("did you mean {known:?}? (the value is case-sensitive)"),
            None => (*.otherwise).to_owned(),
        }
    )]
    InvalidChoice {
        key: &'static str,
        value: String,
        suggestion: Option<&'static str>,
        otherwise: &'static str,
    },

    #[error(
        "\"{key}\" in UserParameters applies only with \"pathsFromArtifact\": add \
         \"pathsFromArtifact\": \"changed\" (or \"all\"), or remove \"{key}\""
    )]
    NeedsPathsFromArtifact { key: &'static str },

    #[error(
        "plain-form UserParameters starts with {token}, which looks like a path: the \
         distribution id must come first, as in {plain}",
        plain = EXAMPLE_PLAIN
    )]
    PlainFormPathFirst { token: String },
}

/// Parses UserParameters in either accepted form: a JSON object, or the plain form
/// `ID[,ID...] [PATH...]`.
pub fn parse_user_parameters(input: &str) -> Result<JobParams, ParamsError> {
    if input.len() > MAX_USER_PARAMETERS_BYTES {
        return Err(ParamsError::TooLong { len: input.len() });
    }
    let text = trimmed(input);
    match text.chars().next() {
        None => Err(ParamsError::Empty),
        Some('{') => parse_json(text),
        Some('[') => Err(ParamsError::NotAnObject {
            got: "a JSON array",
        }),
        Some('"') => Err(ParamsError::NotAnObject {
            got: "a quoted string",
        }),
        Some(_) => match text {
            "null" => Err(ParamsError::NotAnObject { got: "JSON null" }),
            "true" | "false" => Err(ParamsError::NotAnObject {
                got: "a JSON boolean",
            }),
            _ => parse_plain(text),
        },
    }
}

/// Editors on Windows may prepend a byte-order mark, which `trim` leaves in place.
fn trimmed(text: &str) -> &str {
    text.trim().trim_start_matches('\u{feff}').trim()
}

/// The JSON form as written, every key of either source. serde checks the type of each value;
/// the functions below give the values their meaning. `paths`, `timeoutMinutes` and `maxPaths`
/// stay JSON: a string where an array or a number belongs, or a number written as a float, gets
/// its own advice, which serde's message cannot carry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawParams {
    distribution_id: Option<String>,
    distribution_ids: Option<Vec<String>>,
    distribution_tenant_id: Option<String>,
    distribution_tenant_ids: Option<Vec<String>>,
    paths: Option<Value>,
    wait: Option<bool>,
    timeout_minutes: Option<Value>,
    on_timeout: Option<String>,
    max_paths: Option<Value>,
    directory_index: Option<String>,
    caller_reference: Option<String>,
    paths_from_artifact: Option<String>,
    artifact: Option<String>,
    key_prefix: Option<String>,
    path_prefix: Option<String>,
    pipeline_name: Option<String>,
    bucket: Option<String>,
    verify: Option<Value>,
}

fn parse_json(text: &str) -> Result<JobParams, ParamsError> {
    let origin = Source::UserParameters;
    let raw = read_json(text, origin)?;
    let targets = targets(&raw, origin)?;
    let from_artifact = artifact_params(&raw)?;
    let paths = match &raw.paths {
        // With pathsFromArtifact the artifact says what to invalidate; "/*" would undo it.
        None if from_artifact.is_some() => Vec::new(),
        None => vec![DEFAULT_PATH.to_owned()],
        Some(value) => json_paths(value)?,
    };
    let timeout_minutes = whole_number(
        origin,
        "timeoutMinutes",
        raw.timeout_minutes.as_ref(),
        MAX_TIMEOUT_MINUTES,
        "in minutes; CodePipeline fails any action after 24 hours anyway",
    )?;
    let max_paths = max_paths(raw.max_paths.as_ref(), origin)?;
    let on_timeout = match &raw.on_timeout {
        None => OnTimeout::Fail,
        Some(value) => choice(
            "onTimeout",
            value,
            &[("fail", OnTimeout::Fail), ("succeed", OnTimeout::Succeed)],
            "give \"fail\" (the job fails when the wait runs out) or \"succeed\"",
        )?,
    };
    let wait = raw.wait.unwrap_or(true);
    let verify = verify::verify_params(
        raw.verify.as_ref(),
        wait,
        targets.iter().any(Target::is_tenant),
    )?;
    Ok(JobParams {
        targets,
        paths,
        wait,
        timeout: Duration::from_secs(timeout_minutes.unwrap_or(DEFAULT_TIMEOUT_MINUTES) * 60),
        on_timeout,
        max_paths,
        directory_index: directory_index(raw.directory_index.as_deref(), origin)?,
        caller_reference: caller_reference(raw.caller_reference.as_deref())?,
        from_artifact,
        verify,
    })
}

/// `pathsFromArtifact` and its companions; the companions alone are a mistake.
fn artifact_params(raw: &RawParams) -> Result<Option<ArtifactParams>, ParamsError> {
    let Some(mode) = &raw.paths_from_artifact else {
        let companions = [
            ("artifact", &raw.artifact),
            ("keyPrefix", &raw.key_prefix),
            ("pathPrefix", &raw.path_prefix),
            ("pipelineName", &raw.pipeline_name),
        ];
        return match companions.into_iter().find(|(_, value)| value.is_some()) {
            Some((key, _)) => Err(ParamsError::NeedsPathsFromArtifact { key }),
            None => Ok(None),
        };
    };
    let mode = choice(
        "pathsFromArtifact",
        mode,
        &[
            ("changed", ArtifactMode::Changed),
            ("all", ArtifactMode::All),
        ],
        "give \"changed\" (the files changed since the last successful run) or \"all\" (every \
         file of the input artifact)",
    )?;
    let name = |key, value: &Option<String>, pipeline| {
        value
            .as_deref()
            .map(|raw| pipeline_name_rule(raw, key, pipeline))
            .transpose()
    };
    let artifact = name("artifact", &raw.artifact, false)?;
    let pipeline_name = name("pipelineName", &raw.pipeline_name, true)?;
    let (key_prefix, path_prefix) = raw.prefixes(Source::UserParameters)?;
    Ok(Some(ArtifactParams {
        mode,
        artifact,
        key_prefix,
        path_prefix,
        pipeline_name,
    }))
}

/// CodePipeline's naming rule for artifacts (letters, digits, `_` and `-`) and pipelines (also
/// `.` and `@`), 1 to 100 characters.
fn pipeline_name_rule(raw: &str, key: &'static str, pipeline: bool) -> Result<String, ParamsError> {
    reject_unresolved(raw, || key_label(Source::UserParameters, key))?;
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || c == '_' || c == '-' || (pipeline && (c == '.' || c == '@'))
    };
    let problem = if raw.is_empty() {
        Some(if pipeline {
            "is empty: give the pipeline's name, or remove the key to let the action find it"
        } else {
            "is empty: give the input artifact's name, or remove the key to read the first input \
             artifact"
        })
    } else if raw.len() > MAX_PIPELINE_NAME_LEN {
        Some("is longer than the 100 characters CodePipeline allows in a name")
    } else if !raw.chars().all(allowed) {
        Some(if pipeline {
            "is not a pipeline name (letters, digits, \".\", \"@\", \"-\" and \"_\" only): give \
             the name as the console shows it, not an ARN"
        } else {
            "is not an artifact name (letters, digits, \"-\" and \"_\" only): give the name listed \
             under the action's input artifacts"
        })
    } else {
        None
    };
    match problem {
        Some(problem) => Err(invalid_value(Source::UserParameters, key, raw, problem)),
        None => Ok(raw.to_owned()),
    }
}

/// S3's naming rules for general purpose buckets, enough to catch a pasted ARN or URL.
pub(crate) fn bucket_name(
    raw: &str,
    origin: Source,
    key: &'static str,
) -> Result<String, ParamsError> {
    let valid_chars = raw
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = raw
        .bytes()
        .next()
        .zip(raw.bytes().last())
        .is_some_and(|(first, last)| first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric());
    if raw.starts_with("arn:") || raw.starts_with("s3://") {
        return Err(invalid_value(
            origin,
            key,
            raw,
            "is an ARN or a URL: give the bucket's name alone, such as \"example-site\"",
        ));
    }
    if !(3..=63).contains(&raw.len()) || !valid_chars || !ends_ok {
        return Err(invalid_value(
            origin,
            key,
            raw,
            "is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, \
             starting and ending with a letter or digit)",
        ));
    }
    Ok(raw.to_owned())
}

/// How a pipeline variable starts: `#{codepipeline.PipelineExecutionId}`.
const UNRESOLVED_VARIABLE_MARKER: &str = "#{";

/// Refuses a value that holds a pipeline variable CodePipeline did not resolve; `field` names
/// the value in the message.
fn reject_unresolved(raw: &str, field: impl FnOnce() -> String) -> Result<(), ParamsError> {
    if raw.contains(UNRESOLVED_VARIABLE_MARKER) {
        return Err(ParamsError::UnresolvedVariable {
            field: field(),
            value: shown(raw),
        });
    }
    Ok(())
}

pub(crate) fn invalid_value(
    origin: Source,
    key: &'static str,
    value: &str,
    problem: impl Into<String>,
) -> ParamsError {
    ParamsError::InvalidValue {
        origin,
        key,
        value: shown(value),
        problem: problem.into(),
    }
}

/// What is wrong with a `keyPrefix` (also the CLI's `--key-prefix`), if anything: each shell
/// names the value its own way.
pub fn key_prefix_problem(raw: &str) -> Option<&'static str> {
    if raw.len() > MAX_PREFIX_LEN {
        Some("is longer than any S3 key (1024 bytes): give the folder the site's objects are under")
    } else if raw.chars().any(char::is_control) {
        Some("contains a control character: remove it")
    } else {
        None
    }
}

/// What is wrong with a `pathPrefix` (also the CLI's `--path-prefix`), if anything: it starts
/// and ends with "/".
pub fn path_prefix_problem(raw: &str) -> Option<&'static str> {
    if !raw.starts_with('/') || !raw.ends_with('/') {
        Some("does not start and end with \"/\": write \"/\" for the site root, or \"/blog/\"")
    } else if raw.len() > MAX_PREFIX_LEN {
        Some("is longer than 1024 characters: give the URL folder the keys are served under")
    } else if raw.contains(['*', '?', '#']) {
        Some(
            "contains \"*\", \"?\" or \"#\": give the plain URL folder the keys are served \
             under, such as \"/blog/\"",
        )
    } else if raw.chars().any(char::is_control) {
        Some("contains a control character: remove it")
    } else {
        None
    }
}

impl RawParams {
    /// `keyPrefix` ("" when absent) and `pathPrefix` ("/" when absent), once each follows its rule.
    fn prefixes(&self, origin: Source) -> Result<(String, String), ParamsError> {
        let checked = |key, raw: &Option<String>, default, problem: fn(&str) -> _| {
            let raw = raw.as_deref().unwrap_or(default);
            match problem(raw) {
                Some(problem) => Err(invalid_value(origin, key, raw, problem)),
                None => Ok(raw.to_owned()),
            }
        };
        Ok((
            checked("keyPrefix", &self.key_prefix, "", key_prefix_problem)?,
            checked("pathPrefix", &self.path_prefix, "/", path_prefix_problem)?,
        ))
    }
}

/// The JSON object in `text`, read once nesting, control characters, unknown keys, nulls and the
/// type of every value are checked.
fn read_json(text: &str, origin: Source) -> Result<RawParams, ParamsError> {
    prescan_json(text, origin)?;
    let value: Value = serde_json::from_str(text).map_err(|error| invalid_json(&error, origin))?;
    let Value::Object(object) = &value else {
        return Err(ParamsError::NotAnObject {
            got: "a JSON value that is not an object",
        });
    };
    // Unknown keys first: a misspelt "distributionID" should be reported as the typo it is,
    // not as a missing distribution.
    if let Some(key) = object
        .keys()
        .find(|key| !origin.known_keys().contains(&key.as_str()))
    {
        return Err(ParamsError::UnknownKey {
            origin,
            key: shown(key),
            nearest: nearest_key(key, origin),
        });
    }
    // serde would read null as an absent key, the default; it is more likely a variable or a
    // template that produced nothing.
    if let Some(key) = object.keys().find(|key| object[key.as_str()].is_null()) {
        return Err(ParamsError::NullValue {
            field: key_label(origin, key),
            expected: expected(key),
        });
    }
    serde_path_to_error::deserialize(&value).map_err(|error| wrong_shape(&error, &value, origin))
}

/// What the value under `key` must be, in the words of the messages.
fn expected(key: &str) -> &'static str {
    match key {
        "distributionId" => "a distribution id string",
        "distributionIds" => "an array of distribution id strings",
        "distributionTenantId" => "a distribution tenant id string",
        "distributionTenantIds" => "an array of distribution tenant id strings",
        "paths" => "an array of strings, or one string of space-separated paths",
        "wait" => "a boolean (true or false)",
        "timeoutMinutes" => "a whole number of minutes from 1 to 1440",
        "onTimeout" => "\"fail\" or \"succeed\"",
        "maxPaths" => concat!("a whole number from 1 to ", max_paths_per_batch!()),
        "directoryIndex" => "a file name string such as \"index.html\"",
        "callerReference" => "a string such as the pipeline execution id",
        "pathsFromArtifact" => "\"changed\" or \"all\"",
        "artifact" => "the name of an input artifact, such as \"BuildArtifact\"",
        "keyPrefix" => "a string such as \"site/\"",
        "pathPrefix" => "a string such as \"/\" or \"/blog/\"",
        "pipelineName" => "the pipeline's name, such as \"site-pipeline\"",
        "bucket" => "a bucket name string",
        "verify" => "true, or an object such as {\"baseUrl\": \"https://www.example.com\"}",
        _ => "a value this key accepts",
    }
}

/// serde's refusal of a value, in the words of the other messages: the path names the value and
/// the key says what it must be. serde's own text ("invalid type: integer `3`, expected a
/// string") names neither, nor what to write instead.
fn wrong_shape(
    error: &serde_path_to_error::Error<serde_json::Error>,
    value: &Value,
    origin: Source,
) -> ParamsError {
    let mut path = error.path().iter();
    let (Some(Segment::Map { key }), item) = (path.next(), path.next()) else {
        return invalid_json(error.inner(), origin);
    };
    let got = &value[key.as_str()];
    let ids = ID_KEYS.iter().find(|ids| ids.one == key || ids.many == key);
    if let (Some(Segment::Seq { index }), Some(ids)) = (item, ids) {
        let field = item_label(origin, key, *index);
        return wrong_type(field, expected(ids.one), &got[*index], String::new());
    }
    let hint = match (ids, got) {
        (Some(ids), Value::Array(_)) if ids.one == key => {
            format!("use \"{}\" for a list of {}", ids.many, ids.plural)
        }
        (Some(ids), Value::String(_)) if ids.many == key => format!(
            "write [\"{}\", ...], or use \"{}\" for one",
            ids.example, ids.one
        ),
        (None, Value::String(text))
            if key == "wait"
                && ["true", "false"].contains(&text.trim().to_ascii_lowercase().as_str()) =>
        {
            "write true or false without quotes".to_owned()
        }
        _ => String::new(),
    };
    wrong_type(key_label(origin, key), expected(key), got, hint)
}

/// Distributions, then tenants: at least one, at most [`MAX_DISTRIBUTIONS`], no duplicates.
fn targets(raw: &RawParams, origin: Source) -> Result<Vec<Target>, ParamsError> {
    let [distributions, tenants] = &ID_KEYS;
    let mut targets = Vec::new();
    for (keys, one, many) in [
        (distributions, &raw.distribution_id, &raw.distribution_ids),
        (
            tenants,
            &raw.distribution_tenant_id,
            &raw.distribution_tenant_ids,
        ),
    ] {
        match (one, many) {
            (Some(_), Some(_)) => return Err((keys.both)(origin)),
            (None, None) => {}
            (Some(id), None) => targets.push(keys.read(id, key_label(origin, keys.one))?),
            (None, Some(ids)) if ids.is_empty() => {
                return Err(ParamsError::NoDistributions {
                    field: key_label(origin, keys.many),
                    what: keys.what,
                    example: keys.example,
                });
            }
            (None, Some(ids)) => {
                for (index, id) in ids.iter().enumerate() {
                    targets.push(keys.read(id, item_label(origin, keys.many, index))?);
                }
            }
        }
    }
    if targets.is_empty() {
        return Err(ParamsError::MissingDistribution { origin });
    }
    distinct_ids(targets, origin)
}

fn max_paths(value: Option<&Value>, origin: Source) -> Result<usize, ParamsError> {
    let max = whole_number(
        origin,
        "maxPaths",
        value,
        MAX_PATHS_PER_BATCH as u64,
        concat!(
            "CloudFront accepts at most ",
            max_paths_per_batch!(),
            " paths in one invalidation"
        ),
    )?;
    // A path budget by now (the range above is the plan's); the fallback only avoids a panic path.
    Ok(max.map_or(DEFAULT_MAX_PATHS, |max| {
        path_budget(max).unwrap_or(MAX_PATHS_PER_BATCH)
    }))
}

fn parse_plain(text: &str) -> Result<JobParams, ParamsError> {
    let mut tokens = text.split_ascii_whitespace();
    let Some(id_list) = tokens.next() else {
        return Err(ParamsError::Empty);
    };
    reject_unresolved(id_list, || {
        "the distribution id list in plain-form UserParameters".to_owned()
    })?;
    if id_list.starts_with('/') || id_list.starts_with('#') {
        return Err(ParamsError::PlainFormPathFirst {
            token: shown(id_list),
        });
    }

    let mut ids = Vec::new();
    for (index, entry) in id_list.split(',').enumerate() {
        if entry.is_empty() {
            return Err(ParamsError::EmptyIdEntry {
                list: shown(id_list),
                position: index + 1,
            });
        }
        let field = format!("distribution id {} in plain-form UserParameters", index + 1);
        ids.push(Target::parse_as(entry, Some(field), &ID_NAMES)?);
    }
    let targets = distinct_ids(ids, Source::UserParameters)?;

    let mut paths: Vec<String> = tokens.map(str::to_owned).collect();
    if paths.is_empty() {
        paths.push(DEFAULT_PATH.to_owned());
    }
    if paths.len() > MAX_PATHS_PER_BATCH {
        return Err(ParamsError::TooManyPaths {
            field: "plain-form UserParameters".to_owned(),
            count: paths.len(),
        });
    }
    reject_control_chars(&paths, |index| {
        format!("path {} in plain-form UserParameters", index + 1)
    })?;

    Ok(JobParams {
        targets,
        paths,
        wait: true,
        timeout: Duration::from_secs(DEFAULT_TIMEOUT_MINUTES * 60),
        on_timeout: OnTimeout::Fail,
        max_paths: DEFAULT_MAX_PATHS,
        directory_index: None,
        caller_reference: None,
        from_artifact: None,
        verify: None,
    })
}

/// The two keys that name one kind of target, and how to word and read its ids.
struct IdKeys {
    one: &'static str,
    many: &'static str,
    /// "distribution id"
    what: &'static str,
    /// "distributions"
    plural: &'static str,
    example: &'static str,
    both: fn(Source) -> ParamsError,
    parse: fn(&str, Option<String>) -> Result<Target, ValueError>,
}

impl IdKeys {
    /// An id, refused with its own message when it holds an unresolved pipeline variable.
    fn read(&self, raw: &str, field: String) -> Result<Target, ParamsError> {
        reject_unresolved(raw, || field.clone())?;
        Ok((self.parse)(raw, Some(field))?)
    }
}

/// The keys an id of either kind is given under, for the hint that it is of the other kind.
const ID_NAMES: IdNames = IdNames {
    distribution: "distributionId",
    tenant: "distributionTenantId",
};

const ID_KEYS: [IdKeys; 2] = [
    IdKeys {
        one: "distributionId",
        many: "distributionIds",
        what: "distribution id",
        plural: "distributions",
        example: EXAMPLE_ID,
        both: |origin| ParamsError::BothDistributionKeys { origin },
        parse: |raw, field| {
            DistributionId::parse_as(raw, field, &ID_NAMES).map(Target::Distribution)
        },
    },
    IdKeys {
        one: "distributionTenantId",
        many: "distributionTenantIds",
        what: "distribution tenant id",
        plural: "distribution tenants",
        example: EXAMPLE_TENANT_ID,
        both: |origin| ParamsError::BothTenantKeys { origin },
        parse: |raw, field| {
            DistributionTenantId::parse_as(raw, field, &ID_NAMES).map(Target::Tenant)
        },
    },
];

/// Duplicates are dropped silently: invalidating a distribution twice in one job gains nothing.
fn distinct_ids(ids: Vec<Target>, origin: Source) -> Result<Vec<Target>, ParamsError> {
    let mut seen = HashSet::new();
    let distinct: Vec<Target> = ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    if distinct.len() > MAX_DISTRIBUTIONS {
        return Err(ParamsError::TooManyDistributions {
            origin,
            count: distinct.len(),
        });
    }
    Ok(distinct)
}

fn json_paths(value: &Value) -> Result<Vec<String>, ParamsError> {
    let origin = Source::UserParameters;
    let field = key_label(origin, "paths");
    // Items are read before they are counted, but a wrong item is reported only after the count.
    let (items, form): (Vec<Result<String, ParamsError>>, _) = match value {
        Value::Array(items) => {
            let item = |(index, item): (usize, &Value)| match item {
                Value::String(path) => Ok(path.clone()),
                other => Err(wrong_type(
                    item_label(origin, "paths", index),
                    "a string (a path such as \"/index.html\" or a cache tag such as \
                     \"#product-42\")",
                    other,
                    String::new(),
                )),
            };
            (
                items.iter().enumerate().map(item).collect(),
                "an empty array",
            )
        }
        Value::String(joined) => {
            let paths = joined
                .split_ascii_whitespace()
                .map(|path| Ok(path.to_owned()));
            (paths.collect(), "a string with no paths")
        }
        other => return Err(wrong_type(field, expected("paths"), other, String::new())),
    };
    if items.is_empty() {
        return Err(ParamsError::EmptyPaths { field, form });
    }
    if items.len() > MAX_PATHS_PER_BATCH {
        let count = items.len();
        return Err(ParamsError::TooManyPaths { field, count });
    }
    let paths = items.into_iter().collect::<Result<Vec<_>, _>>()?;
    reject_control_chars(&paths, |index| match value {
        Value::Array(_) => item_label(origin, "paths", index),
        _ => format!("path {} of \"paths\" in UserParameters", index + 1),
    })?;
    Ok(paths)
}

/// Path syntax is the planner's business, but control characters can never be meant and would
/// be invisible in logs, so they stop here.
fn reject_control_chars(
    paths: &[String],
    label: impl Fn(usize) -> String,
) -> Result<(), ParamsError> {
    match paths
        .iter()
        .enumerate()
        .find(|(_, path)| path.bytes().any(|byte| byte.is_ascii_control()))
    {
        Some((index, path)) => Err(ParamsError::ControlCharInPath {
            field: label(index),
            value: shown(path),
        }),
        None => Ok(()),
    }
}

/// A whole number from 1 to `max`, if given. Read by hand: serde_json turns `2.5`, `30.0`, `1e3`
/// and integers beyond u64 into floats, and each of those is reported in the terms the user wrote.
fn whole_number(
    origin: Source,
    key: &'static str,
    value: Option<&Value>,
    max: u64,
    range_hint: &'static str,
) -> Result<Option<u64>, ParamsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let out_of_range = |got: String| ParamsError::OutOfRange {
        field: key_label(origin, key),
        got,
        max,
        hint: range_hint,
    };
    let hint = match value {
        Value::Number(number) => {
            if let Some(whole) = number.as_u64() {
                return if (1..=max).contains(&whole) {
                    Ok(Some(whole))
                } else {
                    Err(out_of_range(whole.to_string()))
                };
            }
            if let Some(negative) = number.as_i64() {
                return Err(out_of_range(negative.to_string()));
            }
            let float = number.as_f64().unwrap_or(f64::NAN);
            let is_whole = float.is_finite() && float.fract() == 0.0;
            if is_whole && (float < 1.0 || float > max as f64) {
                return Err(out_of_range(clipped(&format!("{float:.0}"))));
            }
            if is_whole {
                format!("write it without a decimal point or exponent, as {float:.0}")
            } else {
                String::new()
            }
        }
        Value::String(text) if text.trim().parse::<i64>().is_ok() => {
            "write the number without quotes".to_owned()
        }
        _ => String::new(),
    };
    Err(wrong_type(
        key_label(origin, key),
        expected(key),
        value,
        hint,
    ))
}

/// The choice spelt exactly `raw`; otherwise an error suggesting the one it matches but for case
/// and surrounding spaces, if any, or else saying `otherwise`.
fn choice<T: Copy>(
    key: &'static str,
    raw: &str,
    choices: &[(&'static str, T)],
    otherwise: &'static str,
) -> Result<T, ParamsError> {
    if let Some((_, choice)) = choices.iter().find(|(known, _)| *known == raw) {
        return Ok(*choice);
    }
    Err(ParamsError::InvalidChoice {
        key,
        value: shown(raw),
        suggestion: choices
            .iter()
            .map(|(known, _)| *known)
            .find(|known| known.eq_ignore_ascii_case(raw.trim())),
        otherwise,
    })
}

fn directory_index(raw: Option<&str>, origin: Source) -> Result<Option<String>, ParamsError> {
    raw.map(|raw| {
        crate::values::directory_index(raw).map_err(|problem| {
            let problem = format!("{problem}: give a file name such as \"index.html\"");
            invalid_value(origin, "directoryIndex", raw, problem)
        })
    })
    .transpose()
}

fn caller_reference(raw: Option<&str>) -> Result<Option<String>, ParamsError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    // Checked before anything else: an unresolved variable is otherwise a valid-looking
    // reference that every run would share, so retries of different runs would collide.
    reject_unresolved(raw, || key_label(Source::UserParameters, "callerReference"))?;
    crate::values::caller_reference(raw)
        .map_err(|problem| {
            let advice = match problem {
                CallerReferenceProblem::Empty => {
                    ": remove the key to derive one from the job, or give a stable id such as the \
                 pipeline execution id"
                }
                CallerReferenceProblem::TooLong => {
                    ": give a short stable id such as the pipeline execution id"
                }
                CallerReferenceProblem::Character { .. } => "",
            };
            let problem = format!("{problem}{advice}");
            invalid_value(Source::UserParameters, "callerReference", raw, problem)
        })
        .map(Some)
}

/// The nearest known key by case-insensitive edit distance, if near enough to be a likely typo.
fn nearest_key(unknown: &str, origin: Source) -> Option<&'static str> {
    let unknown: String = unknown.chars().flat_map(char::to_lowercase).collect();
    let length = unknown.chars().count();
    let distance = |known: &str| strsim::levenshtein(&unknown, &known.to_ascii_lowercase());
    origin
        .known_keys()
        .iter()
        // Length alone bounds the distance from below; skipping keeps huge keys cheap.
        .filter(|known| length.abs_diff(known.len()) <= MAX_SUGGESTION_DISTANCE)
        .map(|known| (distance(known), *known))
        .filter(|(distance, _)| *distance <= MAX_SUGGESTION_DISTANCE)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Rejects deep nesting before serde_json sees it, so the error is ours and no recursion happens.
/// Also finds raw control characters inside strings, which serde_json rejects with a message
/// about syntax that would send the user looking for a quoting mistake.
fn prescan_json(text: &str, origin: Source) -> Result<(), ParamsError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let (mut line, mut column) = (1usize, 0usize);
    for character in text.chars() {
        if character == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            if character.is_ascii_control() {
                return Err(ParamsError::ControlCharInJsonString {
                    origin,
                    character,
                    line,
                    column,
                });
            }
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '{' | '[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ParamsError::TooDeep { origin });
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn invalid_json(error: &serde_json::Error, origin: Source) -> ParamsError {
    let hint = match error.classify() {
        serde_json::error::Category::Eof => {
            "the JSON ends too early: check for a missing closing brace, bracket or quote"
        }
        _ => origin.json_hint(),
    };
    ParamsError::InvalidJson {
        origin,
        detail: error.to_string(),
        hint,
    }
}

fn wrong_type(field: String, expected: &'static str, got: &Value, hint: String) -> ParamsError {
    let got = match got {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {}", clipped(&number.to_string())),
        Value::String(text) => format!("the string {}", shown(text)),
        Value::Array(_) => format!("an array {}", clipped(&got.to_string())),
        Value::Object(_) => format!("an object {}", clipped(&got.to_string())),
    };
    ParamsError::WrongType {
        field,
        expected,
        got,
        hint,
    }
}

fn key_label(origin: Source, key: &str) -> String {
    format!("{key:?} in {origin}")
}

fn item_label(origin: Source, key: &str, index: usize) -> String {
    format!("{key:?}[{index}] in {origin}")
}

/// Like [`shown`] for text that is already escaped, such as rendered JSON.
fn clipped(text: &str) -> String {
    clip(text, SHOWN_CHARS)
}

fn advice(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!(": {hint}")
    }
}

fn key_advice(origin: Source, nearest: &Option<&'static str>) -> String {
    match nearest {
        Some(key) => format!("did you mean {key:?}?"),
        None => {
            let keys: Vec<String> = origin
                .known_keys()
                .iter()
                .map(|key| format!("{key:?}"))
                .collect();
            format!("the keys are {} (case-sensitive)", keys.join(", "))
        }
    }
}

/// The message a job fails with when its UserParameters are refused. Most of the parser's
/// messages name UserParameters already; the others get it said once.
pub fn refusal_message(error: &ParamsError) -> String {
    let message = error.to_string();
    if message.contains("UserParameters") {
        message
    } else {
        format!("invalid UserParameters: {message}")
    }
}

/// The message a job fails with when the paths it was given cannot be planned.
pub fn paths_refusal_message(error: &crate::plan::PlanError) -> String {
    format!("invalid paths in UserParameters: {error}")
}

pub mod events;
mod verify;

pub use verify::{
    DEFAULT_MAX_OBJECTS, MAX_OBJECTS, OnStale, VERIFY_KEYS, VerifyParams, base_url_problem,
};

#[cfg(test)]
mod tests;

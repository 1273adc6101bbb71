//! UserParameters: the user-facing contract of the CodePipeline action, parsed and validated once.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::plan::{MAX_PATHS_PER_BATCH, max_paths_per_batch, path_budget};
use crate::values::{
    CallerReferenceProblem, EXAMPLE_ID, EXAMPLE_TENANT_ID, UNRESOLVED_VARIABLE_MARKER, shown,
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
/// Every key the JSON form accepts, in the order the documentation lists them.
pub const KNOWN_KEYS: [&str; 16] = [
    KEY_DISTRIBUTION_ID,
    KEY_DISTRIBUTION_IDS,
    KEY_DISTRIBUTION_TENANT_ID,
    KEY_DISTRIBUTION_TENANT_IDS,
    KEY_PATHS,
    KEY_WAIT,
    KEY_TIMEOUT_MINUTES,
    KEY_ON_TIMEOUT,
    KEY_MAX_PATHS,
    KEY_DIRECTORY_INDEX,
    KEY_CALLER_REFERENCE,
    KEY_PATHS_FROM_ARTIFACT,
    KEY_ARTIFACT,
    KEY_KEY_PREFIX,
    KEY_PATH_PREFIX,
    KEY_PIPELINE_NAME,
];

const KEY_DISTRIBUTION_ID: &str = "distributionId";
const KEY_DISTRIBUTION_IDS: &str = "distributionIds";
const KEY_DISTRIBUTION_TENANT_ID: &str = "distributionTenantId";
const KEY_DISTRIBUTION_TENANT_IDS: &str = "distributionTenantIds";
const KEY_PATHS: &str = "paths";
const KEY_WAIT: &str = "wait";
const KEY_TIMEOUT_MINUTES: &str = "timeoutMinutes";
const KEY_ON_TIMEOUT: &str = "onTimeout";
const KEY_MAX_PATHS: &str = "maxPaths";
const KEY_DIRECTORY_INDEX: &str = "directoryIndex";
const KEY_CALLER_REFERENCE: &str = "callerReference";
const KEY_PATHS_FROM_ARTIFACT: &str = "pathsFromArtifact";
const KEY_ARTIFACT: &str = "artifact";
pub(crate) const KEY_KEY_PREFIX: &str = "keyPrefix";
pub(crate) const KEY_PATH_PREFIX: &str = "pathPrefix";
const KEY_PIPELINE_NAME: &str = "pipelineName";
/// Keys that only mean something with `pathsFromArtifact`.
const ARTIFACT_ONLY_KEYS: [&str; 4] = [
    KEY_ARTIFACT,
    KEY_KEY_PREFIX,
    KEY_PATH_PREFIX,
    KEY_PIPELINE_NAME,
];

/// Longest accepted `keyPrefix` or `pathPrefix`: S3 keys are at most 1024 bytes.
pub const MAX_PREFIX_LEN: usize = 1024;
/// Longest artifact or pipeline name CodePipeline accepts.
pub const MAX_PIPELINE_NAME_LEN: usize = 100;

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

impl OnTimeout {
    /// The spelling used in UserParameters.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Fail => "fail",
            OnTimeout::Succeed => "succeed",
        }
    }
}

impl fmt::Display for OnTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which files of the input artifact `pathsFromArtifact` invalidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactMode {
    /// Every file of the artifact.
    All,
    /// The files added, changed or removed since the last successful run of the action.
    Changed,
}

impl ArtifactMode {
    /// The spelling used in UserParameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Changed => "changed",
        }
    }
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
}

/// Why UserParameters was rejected. `Display` is the whole message shown to the pipeline's user;
/// string fields hold values already escaped and truncated for that message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
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
        line: usize,
        column: usize,
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

    #[error("{field} is {got}, out of range: give a whole number from {min} to {max} ({hint})")]
    OutOfRange {
        field: String,
        got: String,
        min: u64,
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
        "\"onTimeout\" in UserParameters is {value}: {}",
        choice_advice(
            .suggestion,
            "give \"fail\" (the job fails when the wait runs out) or \"succeed\""
        )
    )]
    InvalidOnTimeout {
        value: String,
        suggestion: Option<&'static str>,
    },

    #[error(
        "\"directoryIndex\" in {origin} is {value}, which {problem}: give a file name such \
         as \"index.html\""
    )]
    InvalidDirectoryIndex {
        origin: Source,
        value: String,
        problem: &'static str,
    },

    #[error("\"callerReference\" in UserParameters is {value}, which {problem}")]
    InvalidCallerReference { value: String, problem: String },

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
        problem: &'static str,
    },

    #[error(
        "\"pathsFromArtifact\" in UserParameters is {value}: {}",
        choice_advice(
            .suggestion,
            "give \"changed\" (the files changed since the last successful run) or \"all\" \
             (every file of the input artifact)"
        )
    )]
    InvalidArtifactMode {
        value: String,
        suggestion: Option<&'static str>,
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
    // Editors on Windows may prepend a byte-order mark, which `trim` leaves in place.
    let text = input.trim().trim_start_matches('\u{feff}').trim();
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

fn parse_json(text: &str) -> Result<JobParams, ParamsError> {
    let origin = Source::UserParameters;
    let object = json_object(text, origin)?;
    let targets = json_all_targets(&object, origin)?;
    let from_artifact = json_artifact_params(&object)?;
    let paths = match object.get(KEY_PATHS) {
        // With pathsFromArtifact the artifact says what to invalidate; "/*" would undo it.
        None if from_artifact.is_some() => Vec::new(),
        None => vec![DEFAULT_PATH.to_owned()],
        Some(value) => json_paths(value)?,
    };
    let wait = match object.get(KEY_WAIT) {
        None => true,
        Some(value) => json_bool(KEY_WAIT, value)?,
    };
    let timeout_minutes = match object.get(KEY_TIMEOUT_MINUTES) {
        None => DEFAULT_TIMEOUT_MINUTES,
        Some(value) => json_whole_number(
            origin,
            KEY_TIMEOUT_MINUTES,
            value,
            MAX_TIMEOUT_MINUTES,
            "a whole number of minutes from 1 to 1440",
            "in minutes; CodePipeline fails any action after 24 hours anyway",
        )?,
    };
    let max_paths = json_max_paths(&object, origin)?;
    let on_timeout = match object.get(KEY_ON_TIMEOUT) {
        None => OnTimeout::Fail,
        Some(value) => json_on_timeout(value)?,
    };
    let directory_index = object
        .get(KEY_DIRECTORY_INDEX)
        .map(|value| json_directory_index(value, origin))
        .transpose()?;
    let caller_reference = object
        .get(KEY_CALLER_REFERENCE)
        .map(json_caller_reference)
        .transpose()?;

    Ok(JobParams {
        targets,
        paths,
        wait,
        timeout: Duration::from_secs(timeout_minutes * 60),
        on_timeout,
        max_paths,
        directory_index,
        caller_reference,
        from_artifact,
    })
}

/// `pathsFromArtifact` and its companions; the companions alone are a mistake.
fn json_artifact_params(
    object: &serde_json::Map<String, Value>,
) -> Result<Option<ArtifactParams>, ParamsError> {
    let origin = Source::UserParameters;
    let Some(mode) = object.get(KEY_PATHS_FROM_ARTIFACT) else {
        return match ARTIFACT_ONLY_KEYS
            .into_iter()
            .find(|key| object.contains_key(*key))
        {
            Some(key) => Err(ParamsError::NeedsPathsFromArtifact { key }),
            None => Ok(None),
        };
    };
    let raw = json_string(
        origin,
        KEY_PATHS_FROM_ARTIFACT,
        mode,
        "\"changed\" or \"all\"",
    )?;
    let mode = one_of(
        raw,
        [ArtifactMode::Changed, ArtifactMode::All],
        ArtifactMode::as_str,
    )
    .map_err(|suggestion| ParamsError::InvalidArtifactMode {
        value: shown(raw),
        suggestion,
    })?;
    let artifact = object
        .get(KEY_ARTIFACT)
        .map(|value| {
            let raw = json_string(
                origin,
                KEY_ARTIFACT,
                value,
                "the name of an input artifact, such as \"BuildArtifact\"",
            )?;
            pipeline_name_rule(raw, KEY_ARTIFACT, false)
        })
        .transpose()?;
    let pipeline_name = object
        .get(KEY_PIPELINE_NAME)
        .map(|value| {
            let raw = json_string(
                origin,
                KEY_PIPELINE_NAME,
                value,
                "the pipeline's name, such as \"site-pipeline\"",
            )?;
            pipeline_name_rule(raw, KEY_PIPELINE_NAME, true)
        })
        .transpose()?;
    Ok(Some(ArtifactParams {
        mode,
        artifact,
        key_prefix: json_prefix(object, origin, &KEY_PREFIX_RULE)?,
        path_prefix: json_prefix(object, origin, &PATH_PREFIX_RULE)?,
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

/// Refuses a value that holds a pipeline variable CodePipeline did not resolve; `field` names
/// the value in the message.
fn reject_unresolved(raw: &str, field: impl FnOnce() -> String) -> Result<(), ParamsError> {
    if raw.contains(UNRESOLVED_VARIABLE_MARKER) {
        return Err(ParamsError::Value(ValueError::UnresolvedVariable {
            field: field(),
            value: shown(raw),
        }));
    }
    Ok(())
}

pub(crate) fn invalid_value(
    origin: Source,
    key: &'static str,
    value: &str,
    problem: &'static str,
) -> ParamsError {
    ParamsError::InvalidValue {
        origin,
        key,
        value: shown(value),
        problem,
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

/// A prefix key, its value when absent, and its rule.
struct PrefixKey {
    key: &'static str,
    default: &'static str,
    expected: &'static str,
    problem: fn(&str) -> Option<&'static str>,
}

/// `keyPrefix`: "" when absent.
const KEY_PREFIX_RULE: PrefixKey = PrefixKey {
    key: KEY_KEY_PREFIX,
    default: "",
    expected: "a string such as \"site/\"",
    problem: key_prefix_problem,
};

/// `pathPrefix`: "/" when absent.
const PATH_PREFIX_RULE: PrefixKey = PrefixKey {
    key: KEY_PATH_PREFIX,
    default: "/",
    expected: "a string such as \"/\" or \"/blog/\"",
    problem: path_prefix_problem,
};

/// The value of `prefix.key`, its default when absent.
fn json_prefix(
    object: &serde_json::Map<String, Value>,
    origin: Source,
    prefix: &PrefixKey,
) -> Result<String, ParamsError> {
    let Some(value) = object.get(prefix.key) else {
        return Ok(prefix.default.to_owned());
    };
    let raw = json_string(origin, prefix.key, value, prefix.expected)?;
    match (prefix.problem)(raw) {
        Some(problem) => Err(invalid_value(origin, prefix.key, raw, problem)),
        None => Ok(raw.to_owned()),
    }
}

/// The JSON object in `text`, once nesting, control characters and unknown keys are checked.
fn json_object(text: &str, origin: Source) -> Result<serde_json::Map<String, Value>, ParamsError> {
    prescan_json(text, origin)?;
    let value: Value = serde_json::from_str(text).map_err(|error| invalid_json(error, origin))?;
    let Value::Object(object) = value else {
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
    Ok(object)
}

/// Distributions, then tenants: at least one, at most [`MAX_DISTRIBUTIONS`], no duplicates.
fn json_all_targets(
    object: &serde_json::Map<String, Value>,
    origin: Source,
) -> Result<Vec<Target>, ParamsError> {
    let mut targets = json_targets(
        object,
        &DISTRIBUTION_KEYS,
        ParamsError::BothDistributionKeys { origin },
        origin,
    )?;
    targets.extend(json_targets(
        object,
        &TENANT_KEYS,
        ParamsError::BothTenantKeys { origin },
        origin,
    )?);
    if targets.is_empty() {
        return Err(ParamsError::MissingDistribution { origin });
    }
    distinct_ids(targets, origin)
}

fn json_max_paths(
    object: &serde_json::Map<String, Value>,
    origin: Source,
) -> Result<usize, ParamsError> {
    match object.get(KEY_MAX_PATHS) {
        None => Ok(DEFAULT_MAX_PATHS),
        Some(value) => {
            let max = json_whole_number(
                origin,
                KEY_MAX_PATHS,
                value,
                MAX_PATHS_PER_BATCH as u64,
                concat!("a whole number from 1 to ", max_paths_per_batch!()),
                concat!(
                    "CloudFront accepts at most ",
                    max_paths_per_batch!(),
                    " paths in one invalidation"
                ),
            )?;
            // A path budget by now (the range above is the plan's); the fallback only avoids a
            // panic path.
            Ok(path_budget(max).unwrap_or(MAX_PATHS_PER_BATCH))
        }
    }
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
        ids.push(Target::parse_as(entry, Some(field)).map_err(ParamsError::Value)?);
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
    })
}

/// The two keys that name one kind of target, and how to word and read its ids.
struct IdKeys {
    one: &'static str,
    many: &'static str,
    /// "a distribution id string"
    expected_one: &'static str,
    /// "an array of distribution id strings"
    expected_many: &'static str,
    /// "distribution id"
    what: &'static str,
    /// "distributions"
    plural: &'static str,
    example: &'static str,
    parse: fn(&str, Option<String>) -> Result<Target, ParamsError>,
}

const DISTRIBUTION_KEYS: IdKeys = IdKeys {
    one: KEY_DISTRIBUTION_ID,
    many: KEY_DISTRIBUTION_IDS,
    expected_one: "a distribution id string",
    expected_many: "an array of distribution id strings",
    what: "distribution id",
    plural: "distributions",
    example: EXAMPLE_ID,
    parse: |raw, field| Ok(DistributionId::parse_as(raw, field).map(Target::Distribution)?),
};

const TENANT_KEYS: IdKeys = IdKeys {
    one: KEY_DISTRIBUTION_TENANT_ID,
    many: KEY_DISTRIBUTION_TENANT_IDS,
    expected_one: "a distribution tenant id string",
    expected_many: "an array of distribution tenant id strings",
    what: "distribution tenant id",
    plural: "distribution tenants",
    example: EXAMPLE_TENANT_ID,
    parse: |raw, field| Ok(DistributionTenantId::parse_as(raw, field).map(Target::Tenant)?),
};

/// The ids under `keys.one` or `keys.many` (not both); empty when neither key is there.
fn json_targets(
    object: &serde_json::Map<String, Value>,
    keys: &IdKeys,
    both: ParamsError,
    origin: Source,
) -> Result<Vec<Target>, ParamsError> {
    match (object.get(keys.one), object.get(keys.many)) {
        (Some(_), Some(_)) => Err(both),
        (None, None) => Ok(Vec::new()),
        (Some(value), None) => json_one_target(keys, value, origin).map(|target| vec![target]),
        (None, Some(value)) => json_many_targets(keys, value, origin),
    }
}

fn json_one_target(keys: &IdKeys, value: &Value, origin: Source) -> Result<Target, ParamsError> {
    let field = key_label(origin, keys.one);
    match value {
        Value::String(raw) => (keys.parse)(raw, Some(field)),
        Value::Null => Err(ParamsError::NullValue {
            field,
            expected: keys.expected_one,
        }),
        Value::Array(_) => Err(wrong_type(
            field,
            keys.expected_one,
            value,
            &format!("use \"{}\" for a list of {}", keys.many, keys.plural),
        )),
        other => Err(wrong_type(field, keys.expected_one, other, "")),
    }
}

fn json_many_targets(
    keys: &IdKeys,
    value: &Value,
    origin: Source,
) -> Result<Vec<Target>, ParamsError> {
    let field = key_label(origin, keys.many);
    let items = match value {
        Value::Array(items) => items,
        Value::Null => {
            return Err(ParamsError::NullValue {
                field,
                expected: keys.expected_many,
            });
        }
        Value::String(_) => {
            return Err(wrong_type(
                field,
                keys.expected_many,
                value,
                &format!(
                    "write [\"{}\", ...], or use \"{}\" for one",
                    keys.example, keys.one
                ),
            ));
        }
        other => return Err(wrong_type(field, keys.expected_many, other, "")),
    };
    if items.is_empty() {
        return Err(ParamsError::NoDistributions {
            field,
            what: keys.what,
            example: keys.example,
        });
    }
    let mut ids = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_field = item_label(origin, keys.many, index);
        match item {
            Value::String(raw) => ids.push((keys.parse)(raw, Some(item_field))?),
            other => return Err(wrong_type(item_field, keys.expected_one, other, "")),
        }
    }
    Ok(ids)
}

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
    const EXPECTED: &str = "an array of strings, or one string of space-separated paths";
    let field = key_label(Source::UserParameters, KEY_PATHS);
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ParamsError::EmptyPaths {
                    field,
                    form: "an empty array",
                });
            }
            if items.len() > MAX_PATHS_PER_BATCH {
                return Err(ParamsError::TooManyPaths {
                    field,
                    count: items.len(),
                });
            }
            let mut paths = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::String(path) => paths.push(path.clone()),
                    other => {
                        return Err(wrong_type(
                            item_label(Source::UserParameters, KEY_PATHS, index),
                            "a string (a path such as \"/index.html\" or a cache tag such as \"#product-42\")",
                            other,
                            "",
                        ));
                    }
                }
            }
            reject_control_chars(&paths, |index| {
                item_label(Source::UserParameters, KEY_PATHS, index)
            })?;
            Ok(paths)
        }
        Value::String(joined) => {
            let count = joined.split_ascii_whitespace().count();
            if count == 0 {
                return Err(ParamsError::EmptyPaths {
                    field,
                    form: "a string with no paths",
                });
            }
            if count > MAX_PATHS_PER_BATCH {
                return Err(ParamsError::TooManyPaths { field, count });
            }
            let paths: Vec<String> = joined.split_ascii_whitespace().map(str::to_owned).collect();
            reject_control_chars(&paths, |index| {
                format!("path {} of \"paths\" in UserParameters", index + 1)
            })?;
            Ok(paths)
        }
        Value::Null => Err(ParamsError::NullValue {
            field,
            expected: EXPECTED,
        }),
        other => Err(wrong_type(field, EXPECTED, other, "")),
    }
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

fn json_bool(key: &'static str, value: &Value) -> Result<bool, ParamsError> {
    const EXPECTED: &str = "a boolean (true or false)";
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::Null => Err(ParamsError::NullValue {
            field: key_label(Source::UserParameters, key),
            expected: EXPECTED,
        }),
        Value::String(text)
            if text.trim().eq_ignore_ascii_case("true")
                || text.trim().eq_ignore_ascii_case("false") =>
        {
            Err(wrong_type(
                key_label(Source::UserParameters, key),
                EXPECTED,
                value,
                "write true or false without quotes",
            ))
        }
        other => Err(wrong_type(
            key_label(Source::UserParameters, key),
            EXPECTED,
            other,
            "",
        )),
    }
}

/// Integers only: serde_json turns `2.5`, `30.0`, `1e3` and integers beyond u64 into floats,
/// and each of those is reported in the terms the user wrote them.
fn json_whole_number(
    origin: Source,
    key: &'static str,
    value: &Value,
    max: u64,
    expected: &'static str,
    range_hint: &'static str,
) -> Result<u64, ParamsError> {
    const MIN: u64 = 1;
    let out_of_range = |got: String| ParamsError::OutOfRange {
        field: key_label(origin, key),
        got,
        min: MIN,
        max,
        hint: range_hint,
    };
    match value {
        Value::Number(number) => {
            if let Some(whole) = number.as_u64() {
                if (MIN..=max).contains(&whole) {
                    Ok(whole)
                } else {
                    Err(out_of_range(whole.to_string()))
                }
            } else if let Some(negative) = number.as_i64() {
                Err(out_of_range(negative.to_string()))
            } else {
                let float = number.as_f64().unwrap_or(f64::NAN);
                let is_whole = float.is_finite() && float.fract() == 0.0;
                if is_whole && (float < MIN as f64 || float > max as f64) {
                    Err(out_of_range(clipped(&format!("{float:.0}"))))
                } else if is_whole {
                    let hint =
                        format!("write it without a decimal point or exponent, as {float:.0}");
                    Err(wrong_type(key_label(origin, key), expected, value, &hint))
                } else {
                    Err(wrong_type(key_label(origin, key), expected, value, ""))
                }
            }
        }
        Value::Null => Err(ParamsError::NullValue {
            field: key_label(origin, key),
            expected,
        }),
        Value::String(text) if text.trim().parse::<i64>().is_ok() => Err(wrong_type(
            key_label(origin, key),
            expected,
            value,
            "write the number without quotes",
        )),
        other => Err(wrong_type(key_label(origin, key), expected, other, "")),
    }
}

fn json_on_timeout(value: &Value) -> Result<OnTimeout, ParamsError> {
    let raw = json_string(
        Source::UserParameters,
        KEY_ON_TIMEOUT,
        value,
        "\"fail\" or \"succeed\"",
    )?;
    one_of(
        raw,
        [OnTimeout::Fail, OnTimeout::Succeed],
        OnTimeout::as_str,
    )
    .map_err(|suggestion| ParamsError::InvalidOnTimeout {
        value: shown(raw),
        suggestion,
    })
}

/// The choice spelt exactly `raw`; otherwise `Err` with the one it matches but for case and
/// surrounding spaces, if any, to suggest.
fn one_of<T: Copy, const N: usize>(
    raw: &str,
    choices: [T; N],
    spelling: fn(T) -> &'static str,
) -> Result<T, Option<&'static str>> {
    match choices.into_iter().find(|choice| spelling(*choice) == raw) {
        Some(choice) => Ok(choice),
        None => Err(choices
            .into_iter()
            .map(spelling)
            .find(|known| known.eq_ignore_ascii_case(raw.trim()))),
    }
}

fn json_directory_index(value: &Value, origin: Source) -> Result<String, ParamsError> {
    let raw = json_string(
        origin,
        KEY_DIRECTORY_INDEX,
        value,
        "a file name string such as \"index.html\"",
    )?;
    crate::values::directory_index(raw).map_err(|problem| ParamsError::InvalidDirectoryIndex {
        origin,
        value: shown(raw),
        problem,
    })
}

fn json_caller_reference(value: &Value) -> Result<String, ParamsError> {
    let raw = json_string(
        Source::UserParameters,
        KEY_CALLER_REFERENCE,
        value,
        "a string such as the pipeline execution id",
    )?;
    // Checked before anything else: an unresolved variable is otherwise a valid-looking
    // reference that every run would share, so retries of different runs would collide.
    reject_unresolved(raw, || {
        key_label(Source::UserParameters, KEY_CALLER_REFERENCE)
    })?;
    crate::values::caller_reference(raw).map_err(|problem| {
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
        ParamsError::InvalidCallerReference {
            value: shown(raw),
            problem: format!("{problem}{advice}"),
        }
    })
}

fn json_string<'a>(
    origin: Source,
    key: &'static str,
    value: &'a Value,
    expected: &'static str,
) -> Result<&'a str, ParamsError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Null => Err(ParamsError::NullValue {
            field: key_label(origin, key),
            expected,
        }),
        other => Err(wrong_type(key_label(origin, key), expected, other, "")),
    }
}

/// The nearest known key by case-insensitive edit distance, if near enough to be a likely typo.
fn nearest_key(unknown: &str, origin: Source) -> Option<&'static str> {
    let unknown: Vec<char> = unknown.chars().flat_map(char::to_lowercase).collect();
    origin
        .known_keys()
        .iter()
        .filter_map(|known| {
            let known_chars: Vec<char> = known.chars().map(|c| c.to_ascii_lowercase()).collect();
            // Length alone bounds the distance from below; skipping keeps huge keys cheap.
            if unknown.len().abs_diff(known_chars.len()) > MAX_SUGGESTION_DISTANCE {
                return None;
            }
            let distance = edit_distance(&unknown, &known_chars);
            (distance <= MAX_SUGGESTION_DISTANCE).then_some((distance, *known))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, a_char) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
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

fn invalid_json(error: serde_json::Error, origin: Source) -> ParamsError {
    let hint = match error.classify() {
        serde_json::error::Category::Eof => {
            "the JSON ends too early: check for a missing closing brace, bracket or quote"
        }
        _ => origin.json_hint(),
    };
    ParamsError::InvalidJson {
        origin,
        detail: error.to_string(),
        line: error.line(),
        column: error.column(),
        hint,
    }
}

fn wrong_type(field: String, expected: &'static str, got: &Value, hint: &str) -> ParamsError {
    ParamsError::WrongType {
        field,
        expected,
        got: json_kind(got),
        hint: hint.to_owned(),
    }
}

fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {}", clipped(&number.to_string())),
        Value::String(text) => format!("the string {}", shown(text)),
        Value::Array(_) => format!("an array {}", clipped(&value.to_string())),
        Value::Object(_) => format!("an object {}", clipped(&value.to_string())),
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
    match text.char_indices().nth(crate::values::SHOWN_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
    }
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

/// The rest of the message about a value that is none of the choices ([`one_of`]): the
/// suggestion, or else `otherwise`, which lists them.
fn choice_advice(suggestion: &Option<&'static str>, otherwise: &str) -> String {
    match suggestion {
        Some(known) => format!("did you mean {known:?}? (the value is case-sensitive)"),
        None => otherwise.to_owned(),
    }
}

pub mod events;

#[cfg(test)]
mod tests;

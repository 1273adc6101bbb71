//! Errors of the CLI layer: each says what was wrong, with the value, and what to do.

use std::path::PathBuf;

use cf_invalidate::plan::PlanError;
use cf_invalidate::ports::CloudFrontError;

use super::s3sync::SyncError;

/// Exit code: the invalidation failed or timed out (or a CloudFront call failed).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage or configuration; nothing was sent to AWS.
pub const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C, as shells report a SIGINT death.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "no distribution given: add --distribution-id E2QWRUHAPOMQZL (repeat it, or separate ids with commas, for several) or --distribution-tenant-id, or set CF_DISTRIBUTION_ID"
    )]
    NoDistribution,

    #[error(
        "no paths given: list them as arguments (quote wildcards: '/*'), or use --paths-from FILE or --paths-from-s3-sync FILE"
    )]
    NoPaths,

    #[error(
        "nothing to compare the edge with: give the origin bucket with --bucket BUCKET (and --prefix if the site lives under one), or --paths-from-s3-sync with the sync's output, which names the bucket"
    )]
    NoTruth,

    #[error(
        "these {count} paths look like your shell expanded an unquoted /* into the names in this computer's root directory ({shown}). Quote the wildcard, as in: cf-invalidate invalidate --distribution-id ID '/*'. If you really mean these paths, add --allow-root-like-paths"
    )]
    ShellExpanded { count: usize, shown: String },

    #[error("cannot read {flag} {path}: {source}")]
    ReadFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{flag} {path} is not UTF-8 text (at byte {offset}): give a text file with one entry a line"
    )]
    NotText {
        flag: &'static str,
        path: String,
        offset: usize,
    },

    #[error(
        "--paths-from and --paths-from-s3-sync both read standard input (-): only one of them can; give the other a file"
    )]
    StdinTwice,

    #[error("in --paths-from-s3-sync {path}: {source}")]
    SyncOutput {
        path: String,
        #[source]
        source: SyncError,
    },

    #[error(
        "--paths-from-s3-sync {path} does not look like `aws s3 sync` output: its first line is {first:?}, and no line of it is one the sync prints (upload:, copy:, delete:, a failure, progress). Give the sync's output unchanged, as in: aws s3 sync public/ s3://my-bucket/ > s3-sync.txt 2>&1. A sync that changed nothing prints nothing: give an empty file for that"
    )]
    NotSyncOutput { path: String, first: String },

    #[error("{0}")]
    SitePrefix(#[source] SyncError),

    #[error("--changed-between: {side} {problem}")]
    Build { side: String, problem: String },

    #[error("--{flag} is {value}, which {problem}")]
    BuildPrefix {
        flag: &'static str,
        value: String,
        problem: &'static str,
    },

    #[error("{0}")]
    Plan(#[from] PlanError),

    /// A flag's value refused: `problem` says why and what to give instead.
    #[error("{flag} {value:?} {problem}")]
    Flag {
        flag: &'static str,
        value: String,
        problem: String,
    },

    #[error(
        "no AWS credentials{}: configure them the way the AWS CLI finds them (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, or the role of the CodeBuild project, EC2 instance or container). The SDK tried: {detail}",
        profile_note(.profile)
    )]
    Credentials {
        profile: Option<String>,
        detail: String,
    },

    #[error(
        "the config profile ({profile}) could not be found in {searched}: check the name (profiles in the config file are written [profile NAME], in the credentials file [NAME]), or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that define it"
    )]
    UnknownProfile { profile: String, searched: String },

    /// A CloudFront call of `status` or `list` failed; the message is already the whole story.
    #[error("{message}")]
    CloudFront {
        message: String,
        #[source]
        source: CloudFrontError,
    },

    #[error(
        "cannot write {flag} {path}: {source}: give a file in a directory that exists and can be written"
    )]
    WriteFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An AWS call other than the engine's failed; `what` names the call and its subject.
    #[error("{what} failed: {detail}{hint}")]
    Aws {
        what: String,
        detail: String,
        hint: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The edge gave no usable answer: `problem` says what happened, with the URL.
    #[error("{problem}")]
    Edge {
        problem: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    #[error("cannot write the result: {0}")]
    Output(#[source] std::io::Error),
}

impl CliError {
    /// 2 when nothing was sent to AWS, 1 when a call to AWS failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::CloudFront { .. }
            | Self::Aws { .. }
            | Self::Edge { .. }
            | Self::Output(_)
            | Self::WriteFile { .. } => EXIT_FAILED,
            _ => EXIT_USAGE,
        }
    }
}

fn profile_note(profile: &Option<String>) -> String {
    match profile {
        Some(name) => format!(
            " for profile {name:?} (is it defined in ~/.aws/config, or the file AWS_CONFIG_FILE names?)"
        ),
        None => String::new(),
    }
}

impl From<cf_invalidate::edge::EdgeError> for CliError {
    fn from(error: cf_invalidate::edge::EdgeError) -> Self {
        Self::Edge {
            problem: error.problem,
            source: error.source,
        }
    }
}

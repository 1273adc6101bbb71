//! The command line, as clap derive types: every flag a person can give, with its help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use cf_invalidate::params::{DEFAULT_MAX_PATHS, DistributionId, DistributionTenantId, Target};
use cf_invalidate::plan::path_budget;
use cf_invalidate::values::{IdNames, is_invalidation_id};

use crate::error::CliError;

const ABOUT: &str = "Invalidate CloudFront paths from CodeBuild, a Makefile or any CI, and wait until they are gone";

const LONG_ABOUT: &str = "\
Invalidate CloudFront paths from CodeBuild, a Makefile or any CI, and wait until CloudFront \
says Completed.

cf-invalidate normalises and encodes the paths the way CloudFront wants them, invalidates only \
what an `aws s3 sync` changed, collapses big changes into a few wildcards to keep the bill \
small, refuses paths that look like a shell-expanded /*, and waits with a sensible polling \
schedule.";

const MAIN_EXAMPLES: &str = "\
Examples:
  cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL '/index.html' '/css/*'
  aws s3 sync site/ s3://my-bucket/ --delete --no-progress > s3-sync.txt
  cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL --paths-from-s3-sync s3-sync.txt
  cf-invalidate plan --paths-from-s3-sync s3-sync.txt --directory-index index.html

Exit codes: 0 done (or created, with --no-wait), 1 failed or timed out, 2 usage or configuration
error (nothing was sent to AWS), 130 interrupted.";

const INVALIDATE_EXAMPLES: &str = "\
Examples:
  # Two files and a directory, waiting until CloudFront has completed:
  cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL /index.html /about.html '/css/*'

  # Exactly what `aws s3 sync --delete` changed (keep its output in a file):
  aws s3 sync site/ s3://my-bucket/ --delete --no-progress > s3-sync.txt
  cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL \\
      --paths-from-s3-sync s3-sync.txt --directory-index index.html

  # The same, then proof that the edge serves the new objects (exit 1 if one is stale):
  cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL \\
      --paths-from-s3-sync s3-sync.txt --verify

  # In CodeBuild: a retried build reuses the same invalidation instead of paying twice:
  cf-invalidate invalidate --distribution-id \"$DISTRIBUTION_ID\" '/*' \\
      --caller-reference \"$CODEBUILD_BUILD_ID\"

Always quote wildcards ('/*'): unquoted, the shell replaces /* with the names in your
computer's root directory, and cf-invalidate refuses to send those.";

/// `cf-invalidate`: one binary, six subcommands.
#[derive(Debug, Parser)]
#[command(
    name = "cf-invalidate",
    version = cf_invalidate::VERSION_LINE,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = MAIN_EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log every HTTP request and answer of the AWS SDK on standard error, as the AWS CLI's
    /// --debug does, with credentials and signatures redacted (finer control: RUST_LOG)
    #[arg(long, global = true)]
    pub debug: bool,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Invalidate paths on one or more distributions and wait until CloudFront has completed
    ///
    /// Reads the paths from the arguments, a file, or the output of `aws s3 sync`, plans the
    /// cheapest batch that covers them, creates one invalidation per distribution, and waits for
    /// Completed (unless --no-wait).
    #[command(after_help = INVALIDATE_EXAMPLES)]
    Invalidate(InvalidateArgs),

    /// Wait until an existing invalidation has completed
    ///
    /// Useful after `invalidate --no-wait`, or after a timeout: the invalidation goes on in
    /// CloudFront whatever happens to the command that created it.
    #[command(
        after_help = "Example:\n  cf-invalidate wait --distribution-id E2QWRUHAPOMQZL --id I2J0I21PCUYOIK --timeout 20m"
    )]
    Wait(WaitArgs),

    /// Show the status of one invalidation (InProgress or Completed)
    #[command(
        after_help = "Example:\n  cf-invalidate status --distribution-id E2QWRUHAPOMQZL --id I2J0I21PCUYOIK --output json"
    )]
    Status(StatusArgs),

    /// List a distribution's recent invalidations, newest first
    #[command(
        after_help = "Example:\n  cf-invalidate list --distribution-id E2QWRUHAPOMQZL --limit 5"
    )]
    List(ListArgs),

    /// Show what would be invalidated and what it costs, without calling AWS
    ///
    /// Prints the normalised, deduplicated and (if needed) collapsed paths, the number of paths
    /// CloudFront bills, and an estimate of the price.
    #[command(
        after_help = "Examples:\n  cf-invalidate plan '/index.html' '/css/*' '/my file.html'\n  cf-invalidate plan --paths-from-s3-sync s3-sync.txt --directory-index index.html --max-paths 50"
    )]
    Plan(PlanArgs),

    /// Check that the edge serves what the origin holds: fresh, stale, missing or not comparable
    ///
    /// Asks the distribution's edge for each path (HEAD) and S3 for the object behind it
    /// (HeadObject) and compares their ETags, or, with --build, compares the edge's body (GET)
    /// with the build's file; says what to do about a stale object. A wildcard is expanded
    /// against the bucket's listing (ListObjectsV2) or the build; a cache tag is not checkable.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  cf-invalidate verify --distribution-id E2QWRUHAPOMQZL --bucket my-bucket /index.html '/css/*'
  cf-invalidate verify --base-url https://www.example.com --bucket my-bucket \\
      --paths-from-s3-sync s3-sync.txt --max-objects 50

Exit codes: 0 every object checked is fresh, 1 one is stale or missing (or the edge or AWS
failed), 2 usage.";

/// Where the paths come from and how they are planned; shared by `invalidate` and `plan`.
#[derive(Debug, Clone, Default, Args)]
pub struct PathArgs {
    /// Paths to invalidate, such as /index.html or '/css/*' (quote wildcards); an item starting
    /// with # is a cache tag
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// The same paths under the AWS CLI's flag: `--paths /index.html '/css/*'`, as with
    /// `aws cloudfront create-invalidation`
    #[arg(long = "paths", value_name = "PATH", num_args = 1.., action = clap::ArgAction::Append)]
    pub paths_option: Vec<String>,

    /// Read more paths from FILE, one per line (spaces inside a line are part of the path); - reads
    /// standard input
    #[arg(long, value_name = "FILE|-")]
    pub paths_from: Option<PathBuf>,

    /// Invalidate what `aws s3 sync` changed: reads its output (upload:, copy: and delete:
    /// lines) from FILE, or - for standard input
    #[arg(long, value_name = "FILE|-")]
    pub paths_from_s3_sync: Option<PathBuf>,

    /// The bucket key prefix the site lives under, removed from synced keys to get site paths
    /// (`site` or `s3://my-bucket/site`: key site/a.html is path /a.html)
    #[arg(long, value_name = "PREFIX", requires = "paths_from_s3_sync")]
    pub site_prefix: Option<String>,

    /// Invalidate what differs between two builds of the site, each a directory, a .zip or an
    /// s3://BUCKET/KEY.zip (only its central directory is read): files added, changed (CRC-32
    /// or size) or removed
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    pub changed_between: Option<Vec<PathBuf>>,

    /// With --changed-between: only files under this prefix count, and it is removed
    /// (`dist/`: dist/a.html is served as /a.html)
    #[arg(long, value_name = "PREFIX", requires = "changed_between")]
    pub key_prefix: Option<String>,

    /// With --changed-between: the URL path the files are served under, starting and ending
    /// with / (default /)
    #[arg(long, value_name = "PATH", requires = "changed_between")]
    pub path_prefix: Option<String>,

    /// The file a directory serves, such as index.html: /docs/index.html then also invalidates
    /// /docs/ and /docs
    #[arg(long, value_name = "NAME")]
    pub directory_index: Option<String>,

    #[arg(
        long,
        help = concat!(
            "Cost budget: a plan with more paths is collapsed into directory wildcards (1 to ",
            cf_invalidate::plan::max_paths_per_batch!(),
            ")"
        ),
        value_name = "N",
        default_value_t = DEFAULT_MAX_PATHS,
        value_parser = parse_max_paths
    )]
    pub max_paths: usize,

    /// Send the paths even though they look like a shell-expanded /* (the names in this
    /// computer's root directory)
    #[arg(long)]
    pub allow_root_like_paths: bool,
}

/// The AWS connection; the AWS CLI's flag names, and its environment variables work too.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// AWS region for the SDK (CloudFront itself is global); default: AWS_REGION, the profile,
    /// else us-east-1
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from ~/.aws/config to take credentials from (default: AWS_PROFILE)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every CloudFront call to this URL instead of AWS's (for an emulator such as
    /// local-aws); also AWS_ENDPOINT_URL_CLOUDFRONT. S3 reads (--changed-between s3://...) take
    /// AWS_ENDPOINT_URL_S3
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Seconds to wait for a connection to CloudFront, as the AWS CLI's flag (default 10, where
    /// the AWS CLI waits 60: a CI job should learn early that the endpoint is wrong or down)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub cli_connect_timeout: Duration,

    /// Seconds to wait for each answer once connected, as the AWS CLI's flag (default 30; a call
    /// that gets no answer is tried again, and the command ends as a failure after a few)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub cli_read_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A short summary for people (the default)
    Summary,
    /// Bare, tab-separated values, a line per item, as the AWS CLI's `--output text`
    Text,
    /// One JSON document on standard output, for scripts (progress stays on standard error)
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Format of the result on standard output
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Summary)]
    pub output: OutputFormat,

    /// Print nothing but errors (a JSON document asked for with --output json is still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnTimeoutArg {
    /// Exit 1: the build fails when CloudFront is slower than --timeout
    Fail,
    /// Exit 0 with a warning: the invalidation finishes on its own
    Succeed,
}

/// How long to wait and what a timeout means; shared by `invalidate` and `wait`.
#[derive(Debug, Clone, Args)]
pub struct WaitingArgs {
    /// How long to wait for Completed, such as 90s, 30m or 1h30m
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// What the exit code says when --timeout runs out
    #[arg(long, value_enum, value_name = "fail|succeed", default_value_t = OnTimeoutArg::Fail)]
    pub on_timeout: OnTimeoutArg,

    /// Interval of the "still waiting" lines written when standard error is not a terminal
    #[arg(
        long,
        hide = true,
        env = "CF_INVALIDATE_HEARTBEAT",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_positive_duration
    )]
    pub heartbeat: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct InvalidateArgs {
    /// Distribution to invalidate; repeat the flag or separate ids with commas to invalidate
    /// several at once
    #[arg(
        long = "distribution-id",
        value_name = "ID",
        env = "CF_DISTRIBUTION_ID",
        value_delimiter = ',',
        value_parser = parse_distribution_id
    )]
    pub distribution_ids: Vec<Target>,

    /// Distribution tenant of a multi-tenant distribution to invalidate (dt_...); repeat the
    /// flag or separate ids with commas for several. May be combined with --distribution-id
    #[arg(
        long = "distribution-tenant-id",
        value_name = "TENANT_ID",
        env = "CF_DISTRIBUTION_TENANT_ID",
        value_delimiter = ',',
        value_parser = parse_tenant_id
    )]
    pub tenant_ids: Vec<Target>,

    #[command(flatten)]
    pub paths: PathArgs,

    /// Wait until CloudFront says Completed (the default)
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,

    /// Exit as soon as the invalidations are created
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,

    #[command(flatten)]
    pub waiting: WaitingArgs,

    /// A stable id for this deployment, such as "$CODEBUILD_BUILD_ID": running again with the
    /// same id and paths reuses the invalidation instead of creating (and paying for) another.
    /// Default: unique to each run
    #[arg(long, value_name = "REF")]
    pub caller_reference: Option<String>,

    /// Print the plan and what would be sent, and send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// After Completed, check through the edge that each path serves what the origin holds, as
    /// `verify` does (exit 1 when one is stale or missing); takes verify's flags. It needs the
    /// wait, so not with --no-wait
    #[arg(long, conflicts_with = "no_wait")]
    pub verify: bool,

    #[command(flatten)]
    pub check: CheckArgs,

    /// With --verify: how long each request to the edge may take, such as 10s (verify's
    /// --timeout; here --timeout is the wait for Completed)
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_EDGE_TIMEOUT, value_parser = parse_positive_duration, requires = "verify")]
    pub verify_timeout: Duration,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub ci: crate::cifiles::CiFiles,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The distribution or the distribution tenant a command is about: exactly one of the two.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["distribution_id", "tenant_id"])))]
pub struct OneTarget {
    /// The distribution
    #[arg(
        long = "distribution-id",
        value_name = "ID",
        env = "CF_DISTRIBUTION_ID",
        value_parser = parse_distribution_id
    )]
    pub distribution_id: Option<Target>,

    /// The distribution tenant (dt_...), instead of --distribution-id
    #[arg(
        long = "distribution-tenant-id",
        value_name = "TENANT_ID",
        env = "CF_DISTRIBUTION_TENANT_ID",
        value_parser = parse_tenant_id
    )]
    pub tenant_id: Option<Target>,
}

impl OneTarget {
    /// The one the command names; clap's group makes exactly one present.
    pub fn target(&self) -> Result<Target, CliError> {
        self.distribution_id
            .clone()
            .or_else(|| self.tenant_id.clone())
            .ok_or(CliError::NoDistribution)
    }
}

/// One existing invalidation.
#[derive(Debug, Clone, Args)]
pub struct InvalidationRef {
    #[command(flatten)]
    pub of: OneTarget,

    /// The invalidation id, as printed by `invalidate` or `list` (I2J0I21PCUYOIK)
    #[arg(long = "id", value_name = "INVALIDATION_ID", value_parser = parse_invalidation_id)]
    pub invalidation_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub target: InvalidationRef,

    #[command(flatten)]
    pub waiting: WaitingArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: InvalidationRef,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub of: OneTarget,

    /// How many invalidations to show at most (pages are followed as needed)
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = parse_limit)]
    pub limit: usize,

    /// Invalidations asked for per ListInvalidations call (tests use it to exercise paging)
    #[arg(long, hide = true, default_value_t = cf_invalidate::adapters::cloudfront::LIST_PAGE_SIZE)]
    pub page_size: usize,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub paths: PathArgs,

    /// Format of the plan on standard output
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Summary)]
    pub output: OutputFormat,

    /// Used only to read `--changed-between s3://...` sides: plan sends nothing to CloudFront.
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("edge").required(true).args(["distribution_id", "base_url"])))]
pub struct VerifyArgs {
    /// The distribution whose edge to ask: its DomainName from GetDistribution (https, or http
    /// when the domain has a port, as an emulator's does); its invalidations explain stale objects
    #[arg(
        long = "distribution-id",
        value_name = "ID",
        env = "CF_DISTRIBUTION_ID",
        value_parser = parse_distribution_id
    )]
    pub distribution_id: Option<Target>,

    #[command(flatten)]
    pub paths: PathArgs,

    #[command(flatten)]
    pub check: CheckArgs,

    /// How long each request to the edge may take, such as 10s
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_EDGE_TIMEOUT, value_parser = parse_positive_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How long each request to the edge may take, by default.
pub const DEFAULT_EDGE_TIMEOUT: &str = "10s";
pub use cf_invalidate::params::DEFAULT_MAX_OBJECTS;
/// Requests in flight at once, as the action's `verify` sends them.
pub const DEFAULT_CONCURRENCY: usize = cf_invalidate::verify::CONCURRENCY;

/// Which edge to ask, where the truth is and how much to check; shared by `verify` and
/// `invalidate --verify`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Ask the edge at this URL instead, such as an alternate domain https://www.example.com
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// The origin bucket holding the truth, compared through HeadObject's ETag (default: the
    /// bucket --paths-from-s3-sync wrote to)
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,

    /// The key prefix the site lives under in the bucket (`site`: /a.html is key site/a.html;
    /// default: --site-prefix)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// Compare with a build instead of a bucket: the edge's body (GET) with the file of the
    /// same path in a directory, or with the CRC-32 and size of a zip's entry
    #[arg(long, value_name = "DIR|ZIP", conflicts_with_all = ["bucket", "prefix"])]
    pub build: Option<PathBuf>,

    /// Check at most N objects, chosen evenly across the list when there are more
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_OBJECTS, value_parser = parse_limit)]
    pub max_objects: usize,

    /// Objects checked at once
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = parse_limit)]
    pub concurrency: usize,
}

impl CheckArgs {
    /// The first flag given a value of its own, for refusing it where it means nothing.
    pub fn first_given(&self) -> Option<(&'static str, String)> {
        let option = |flag, value: &Option<String>| value.clone().map(|v| (flag, v));
        option("--base-url", &self.base_url)
            .or_else(|| option("--bucket", &self.bucket))
            .or_else(|| option("--prefix", &self.prefix))
            .or_else(|| {
                self.build
                    .as_ref()
                    .map(|build| ("--build", build.display().to_string()))
            })
            .or_else(|| {
                (self.max_objects != DEFAULT_MAX_OBJECTS)
                    .then(|| ("--max-objects", self.max_objects.to_string()))
            })
            .or_else(|| {
                (self.concurrency != DEFAULT_CONCURRENCY)
                    .then(|| ("--concurrency", self.concurrency.to_string()))
            })
    }
}

/// The flags an id of either kind is given with, for the hint that it is of the other kind.
const ID_NAMES: IdNames = IdNames {
    distribution: "--distribution-id",
    tenant: "--distribution-tenant-id",
};

/// Clap's value parser for ids: the engine's own validation, with its suggestions.
fn parse_distribution_id(raw: &str) -> Result<Target, String> {
    DistributionId::parse_as(raw, None, &ID_NAMES)
        .map(Target::Distribution)
        .map_err(|error| error.to_string())
}

fn parse_tenant_id(raw: &str) -> Result<Target, String> {
    DistributionTenantId::parse_as(raw, None, &ID_NAMES)
        .map(Target::Tenant)
        .map_err(|error| error.to_string())
}

fn parse_invalidation_id(raw: &str) -> Result<String, String> {
    if is_invalidation_id(raw) {
        return Ok(raw.to_owned());
    }
    // Suggest only what looks like an id CloudFront issued (I followed by a dozen or more
    // letters and digits): "nope" must not become a suggestion of "NOPE".
    let upper = raw.trim().to_ascii_uppercase();
    let hint = if is_invalidation_id(&upper) && upper.starts_with('I') && upper.len() >= 13 {
        format!(" (did you mean {upper}?)")
    } else {
        String::new()
    };
    Err(format!(
        "{raw:?} is not an invalidation id: ids are uppercase letters and digits such as I2J0I21PCUYOIK{hint}"
    ))
}

/// Whole seconds, at least 1: an unbounded wait is what these flags are there to prevent.
fn parse_seconds(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err(format!(
            "{raw:?} would wait for ever: give a whole number of seconds of at least 1"
        )),
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => Err(format!(
            "{raw:?} is not a whole number of seconds: give one such as 10 (as the AWS CLI takes it)"
        )),
    }
}

fn parse_max_paths(raw: &str) -> Result<usize, String> {
    match raw.trim().parse::<u64>().ok().and_then(path_budget) {
        Some(n) => Ok(n),
        None => Err(format!(
            "{raw:?} is not a path budget: give a whole number from 1 to {} (CloudFront's limit per invalidation)",
            cf_invalidate::plan::MAX_PATHS_PER_BATCH
        )),
    }
}

fn parse_limit(raw: &str) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{raw:?} is not a count: give a whole number of 1 or more"
        )),
    }
}

fn parse_positive_duration(raw: &str) -> Result<Duration, String> {
    cf_invalidate::duration::parse_duration(raw).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--max-paths` and `maxPaths` accept the same budgets: one rule, the plan's.
    #[test]
    fn max_paths_accepts_what_user_parameters_accept() {
        for n in [0, 1, 100, 2999, 3000, 3001, 5000, 1 << 40] {
            let cli = parse_max_paths(&n.to_string()).ok();
            let params = cf_invalidate::params::parse_user_parameters(&format!(
                r#"{{"distributionId": "E2QWRUHAPOMQZL", "maxPaths": {n}}}"#
            ))
            .ok()
            .map(|params| params.max_paths);
            assert_eq!(cli, params, "maxPaths {n}");
            assert_eq!(cli, path_budget(n), "maxPaths {n}");
        }
    }

    /// GIVEN `30M` WHEN the CLI reads it as --timeout and local-aws as a fault's latency THEN
    /// both mean 30 minutes (local-aws once read months); the CLI refuses the zero local-aws takes.
    #[test]
    fn durations_read_the_same_in_the_cli_and_local_aws() {
        let wait = |timeout: &str| {
            Cli::try_parse_from([
                "cf-invalidate",
                "wait",
                "--distribution-id",
                "E2QWRUHAPOMQZL",
                "--id",
                "I2J0I21PCUYOIK",
                "--timeout",
                timeout,
            ])
            .map(|cli| match cli.command {
                Command::Wait(args) => args.waiting.timeout,
                other => panic!("parsed as {other:?}"),
            })
        };
        let thirty_minutes = Duration::from_secs(1800);
        assert_eq!(wait("30M").ok(), Some(thirty_minutes));
        let faults: local_aws::Faults = "cloudfront.latency=30M".parse().unwrap();
        assert_eq!(
            faults.cloudfront.latency,
            Some(local_aws::DurationRange::fixed(thirty_minutes))
        );

        let refused = wait("0s").unwrap_err().to_string();
        assert!(
            refused.contains("\"0s\" is no time at all: give at least 1s"),
            "{refused}"
        );
        let faults: local_aws::Faults = "cloudfront.latency=0s".parse().unwrap();
        assert_eq!(
            faults.cloudfront.latency,
            Some(local_aws::DurationRange::fixed(Duration::ZERO))
        );
    }

    /// `--max-paths`'s help quotes the plan's limit, not a copy of it.
    #[test]
    fn max_paths_help_quotes_the_plans_limit() {
        let command = <Cli as clap::CommandFactory>::command();
        let help = command
            .find_subcommand("invalidate")
            .and_then(|invalidate| {
                invalidate
                    .get_arguments()
                    .find(|arg| arg.get_long() == Some("max-paths"))
            })
            .and_then(|arg| arg.get_help())
            .map(ToString::to_string);
        assert_eq!(
            help,
            Some(format!(
                "Cost budget: a plan with more paths is collapsed into directory wildcards (1 to {})",
                cf_invalidate::plan::MAX_PATHS_PER_BATCH
            ))
        );
    }
}

//! local-aws: emulates CloudFront, CodePipeline, the Lambda Runtime API and S3 on 127.0.0.1
//! ([`Emulator::start`]), and drives function binaries through them as AWS would
//! ([`pipeline::run`], [`events::run`], [`chaos::run`]). See `docs/local-aws.md`.

pub mod chaos;
mod clock;
pub mod cloudfront;
pub mod codepipeline;
mod duration;
pub mod events;
mod faults;
mod log;
pub mod pipeline;
mod reply;
mod rng;
pub mod runtime_api;
mod s3;
mod server;
mod text;
mod xml;

pub use clock::{Clock, iso8601};
pub use cloudfront::{
    CallerReferenceReuse, ConnectionMode, DistributionAccess, DistributionConfig,
    DistributionTenantConfig, EdgeInvalidatesAt, EdgeSettingError, InvalidationInfo,
    InvalidationStatus, UnknownIds,
};
pub use codepipeline::executions::{
    ActionExecution, ActionExecutionStatus, ActionOutput, GetJobDetailsMode, JobContext,
    S3Artifact, SessionCredentials,
};
pub use codepipeline::{JobRecord, JobResult};
pub use duration::{DurationError, DurationRange};
pub use faults::{Api, ApiFaults, Dose, FaultKind, FaultSpecError, Faults};
pub use log::RequestRecord;
pub use rng::SeededRng;
pub use runtime_api::{InitError, Invocation, InvocationOutcome, InvocationStatus};
pub use s3::{NoSuchBucket, StoredObject};
pub use server::{
    Emulator, EmulatorConfig, EmulatorError, EmulatorHandle, ExecutionEnvironment, World,
};

/// A flag group read from `args` (no program name) as the command line reads it.
fn parse_flags<T: clap::Args + clap::FromArgMatches>(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> Result<T, clap::Error> {
    let command = T::augment_args(clap::Command::new("local-aws").no_binary_name(true));
    T::from_arg_matches(&command.try_get_matches_from(args)?)
}

/// A flag group at the defaults its `#[arg]`s declare, so that each default is written once;
/// `args` gives the required flags.
fn clap_defaults<T: clap::Args + clap::FromArgMatches>(args: &[&str]) -> T {
    // Only the declared defaults are parsed here: a failure is a bug in a declaration.
    parse_flags(args).unwrap_or_else(|e| panic!("a declared default does not parse: {e}"))
}

//! cf-invalidate: the engine that plans, creates and waits for CloudFront invalidations.
//!
//! Without the default `runtime` feature only the UserParameters rules remain (params, plan,
//! values, text): pure code, which the CDK construct runs as WebAssembly at synth time.

#[cfg(feature = "runtime")]
pub mod adapters;
#[cfg(feature = "runtime")]
pub mod artifact;
#[cfg(feature = "runtime")]
pub mod duration;
#[cfg(feature = "runtime")]
pub mod edge;
#[cfg(feature = "runtime")]
pub mod engine;
#[cfg(feature = "runtime")]
pub mod events;
pub mod freshness;
#[cfg(feature = "runtime")]
pub mod lambda;
#[cfg(feature = "runtime")]
pub mod logging;
pub mod params;
pub mod plan;
#[cfg(feature = "runtime")]
pub mod ports;
/// In-memory fakes of the ports, for this crate's tests and, with the `test-util` feature, for
/// integration tests and other crates' tests.
#[cfg(all(feature = "runtime", any(test, feature = "test-util")))]
pub mod testing;
pub mod text;
#[cfg(feature = "runtime")]
pub mod token;
pub mod values;
#[cfg(feature = "runtime")]
pub mod verify;

/// This build's version: the workspace's, shared by the CLI, both functions and the release assets.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit this build comes from (build.rs), or `unknown`.
pub const COMMIT: &str = env!("CF_INVALIDATE_COMMIT");

/// `0.2.0 (commit 576a89a1b2c3)`: what `--version` prints after the program's name.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CF_INVALIDATE_COMMIT_SHORT"),
    ")"
);

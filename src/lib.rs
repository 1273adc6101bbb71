//! cf-invalidate: the engine that plans, creates and waits for CloudFront invalidations.

pub mod adapters;
pub mod artifact;
pub mod engine;
pub mod events;
pub mod lambda;
pub mod logging;
pub mod params;
pub mod plan;
pub mod ports;
/// In-memory fakes of the ports, for this crate's tests and, with the `test-util` feature, for
/// integration tests and other crates' tests.
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod text;
pub mod token;
pub mod values;

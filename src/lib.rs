//! cf-invalidate: the engine that plans, creates and waits for CloudFront invalidations.

pub mod adapters;
pub mod engine;
#[cfg(test)]
mod fakes;
pub mod lambda;
pub mod logging;
pub mod params;
pub mod plan;
pub mod ports;
pub mod text;
pub mod token;
pub mod values;

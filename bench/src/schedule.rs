//! The two poll schedules worked out on paper: cf-invalidate's (`engine::poll_gap`) and the
//! AWS CLI waiter's (`InvalidationCompleted`: every 20 s, at most 30 attempts).

use std::time::Duration;

use cf_invalidate::engine::poll_gap;
use serde::Serialize;

/// The waiter's delay between GetInvalidation calls (botocore's `waiters-2.json`).
pub const WAITER_DELAY: Duration = Duration::from_secs(20);
/// The waiter's attempts before it fails with "Max attempts exceeded".
pub const WAITER_MAX_ATTEMPTS: u32 = 30;

/// What a schedule predicts for an invalidation that completes `completes_after` after it
/// was created, assuming instant calls.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// GetInvalidation calls up to and including the one that sees `Completed` (or up to the
    /// last one, when the schedule gives up first).
    pub calls: u32,
    /// Seconds from completion to the call that sees it; `None` when it gives up first.
    pub lag_s: Option<f64>,
}

/// cf-invalidate: the first GetInvalidation 1 s after the create, then after each one a gap of
/// `poll_gap(time waited)`.
pub fn ours(completes_after: Duration) -> Prediction {
    let mut at = Duration::ZERO;
    let mut calls = 0;
    loop {
        at += poll_gap(at);
        calls += 1;
        if at >= completes_after {
            return Prediction {
                calls,
                lag_s: Some((at - completes_after).as_secs_f64()),
            };
        }
    }
}

/// The waiter: a GetInvalidation at once, then every 20 s, 30 attempts in all.
pub fn waiter(completes_after: Duration) -> Prediction {
    for attempt in 0..WAITER_MAX_ATTEMPTS {
        let at = WAITER_DELAY * attempt;
        if at >= completes_after {
            return Prediction {
                calls: attempt + 1,
                lag_s: Some((at - completes_after).as_secs_f64()),
            };
        }
    }
    Prediction {
        calls: WAITER_MAX_ATTEMPTS,
        lag_s: None,
    }
}

/// The lag target of the issue: at most max(1 s, 10 % of the wait).
pub fn lag_target(completes_after: Duration) -> Duration {
    (completes_after / 10).max(Duration::from_secs(1))
}

/// Our gaps for a `completes_after` invalidation, in seconds, for the report's schedule line.
pub fn our_gaps(completes_after: Duration) -> Vec<f64> {
    let mut at = Duration::ZERO;
    let mut gaps = Vec::new();
    while at < completes_after {
        let gap = poll_gap(at);
        gaps.push(gap.as_secs_f64());
        at += gap;
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTES_10: Duration = Duration::from_secs(600);

    #[test]
    fn a_ten_minute_invalidation_costs_us_62_calls_and_the_waiter_gives_up() {
        let ours = ours(MINUTES_10);
        assert_eq!(ours.calls, 62);
        assert!(ours.lag_s.is_some_and(|lag| lag <= 20.0));
        assert_eq!(
            waiter(MINUTES_10),
            Prediction {
                calls: 30,
                lag_s: None
            }
        );
    }

    #[test]
    fn short_invalidations() {
        // 1 s gaps until 10 s waited: a 5 s invalidation is seen by the 5th call, on time.
        assert_eq!(
            ours(Duration::from_secs(5)),
            Prediction {
                calls: 5,
                lag_s: Some(0.0)
            }
        );
        // The waiter sees it on its second call, at 20 s.
        assert_eq!(
            waiter(Duration::from_secs(5)),
            Prediction {
                calls: 2,
                lag_s: Some(15.0)
            }
        );
        assert_eq!(lag_target(Duration::from_secs(5)), Duration::from_secs(1));
        assert_eq!(lag_target(Duration::from_secs(90)), Duration::from_secs(9));
        assert_eq!(our_gaps(Duration::from_secs(3)), vec![1.0, 1.0, 1.0]);
    }
}

//! Durations for flags and fault specs, read by the workspace's one parser (zero allowed: a
//! latency or a window of none is a real choice here), and ranges `2s..5s`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use cf_invalidate::duration::DurationError;
pub(crate) use cf_invalidate::duration::{format_exact, parse_duration_or_zero};

/// A fixed duration (`3s`) or a range to draw from uniformly (`2s..5s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    /// The longest duration drawn (equal to `min` for a fixed duration).
    pub max: Duration,
}

impl DurationRange {
    /// Always exactly `d`.
    pub const fn fixed(d: Duration) -> Self {
        Self { min: d, max: d }
    }

    /// Uniformly between `min` and `max` (swapped if given the wrong way round).
    pub fn between(min: Duration, max: Duration) -> Self {
        if max < min {
            Self { min: max, max: min }
        } else {
            Self { min, max }
        }
    }

    /// Draws a duration (millisecond resolution) from the range.
    pub(crate) fn draw(&self, rng: &mut crate::rng::SeededRng) -> Duration {
        let lo = crate::clock::duration_ms(self.min);
        let hi = crate::clock::duration_ms(self.max);
        Duration::from_millis(rng.between(lo, hi))
    }
}

impl FromStr for DurationRange {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("..") {
            Some((a, b)) => {
                // `..5s` names the whole range, not an empty part.
                let whole = |error: DurationError| match error {
                    DurationError::Malformed { value } if value.trim().is_empty() => {
                        DurationError::Malformed {
                            value: s.to_owned(),
                        }
                    }
                    other => other,
                };
                Ok(Self::between(
                    parse_duration_or_zero(a).map_err(whole)?,
                    parse_duration_or_zero(b).map_err(whole)?,
                ))
            }
            None => parse_duration_or_zero(s).map(Self::fixed),
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            f.write_str(&format_exact(self.min))
        } else {
            write!(f, "{}..{}", format_exact(self.min), format_exact(self.max))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let r: DurationRange = "2s..5s".parse().unwrap();
        assert_eq!(r.min, Duration::from_secs(2));
        assert_eq!(r.max, Duration::from_secs(5));
        assert_eq!(r.to_string(), "2s..5s");
        assert_eq!(
            "1500ms".parse::<DurationRange>().unwrap().to_string(),
            "1500ms"
        );
        assert!("2s..x".parse::<DurationRange>().is_err());
        assert_eq!("..5s".parse::<DurationRange>().unwrap_err().value(), "..5s");
        let mut rng = crate::rng::SeededRng::new(3);
        for _ in 0..100 {
            let d = r.draw(&mut rng);
            assert!(d >= r.min && d <= r.max);
        }
    }

    /// The emulator reads durations as the CLI does (`30M` is minutes, not months), and takes
    /// the zero the CLI refuses: a latency or a completion time of none.
    #[test]
    fn reads_durations_as_the_cli_does_and_takes_zero() {
        assert_eq!(
            "30M".parse::<DurationRange>(),
            Ok(DurationRange::fixed(Duration::from_secs(1800)))
        );
        for zero in ["0", "0s"] {
            assert_eq!(
                zero.parse::<DurationRange>(),
                Ok(DurationRange::fixed(Duration::ZERO))
            );
        }
        for bad in ["", "5", "s", "5x", "-1s", "ms", "11y"] {
            let error = bad.parse::<DurationRange>().unwrap_err();
            assert_eq!(error.value(), bad);
        }
    }
}

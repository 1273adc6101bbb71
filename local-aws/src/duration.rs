//! Human durations for flags and fault specs, in humantime's syntax (`500ms`, `5s`, `1.5s`,
//! `2m`, `1h30m`), and ranges `2s..5s`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration '{value}': expected a whole number followed by ms, s, m or h (for example 500ms, 5s, 2m)"
)]
pub struct DurationError {
    /// The text that was given.
    pub value: String,
}

/// The longest duration accepted: ten years, far past any timeout, and short enough that adding
/// it to the time now cannot overflow.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Parses a duration as humantime reads it (`500ms`, `5s`, `1.5s`, `2m`, `1h30m`, `0`), up to
/// ten years.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|d| *d <= LONGEST)
        .ok_or_else(|| DurationError {
            value: text.to_string(),
        })
}

/// Writes a duration the way [`parse_duration`] reads it, choosing the largest exact unit.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".to_string()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A fixed duration (`3s`) or a range to draw from uniformly (`2s..5s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The shortest duration drawn.
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
                let wrap = |e: DurationError| DurationError {
                    value: if e.value.is_empty() {
                        s.to_string()
                    } else {
                        e.value
                    },
                };
                Ok(Self::between(
                    parse_duration(a).map_err(wrap)?,
                    parse_duration(b).map_err(wrap)?,
                ))
            }
            None => parse_duration(s).map(Self::fixed),
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            f.write_str(&format_duration(self.min))
        } else {
            write!(
                f,
                "{}..{}",
                format_duration(self.min),
                format_duration(self.max)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 1h30m "), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn rejects_and_names_bad_values() {
        for bad in ["", "5", "s", "5x", "-1s", "1e999s", "ms", "11y"] {
            let err = parse_duration(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err.to_string().contains(&format!("'{bad}'")));
        }
    }

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
        let mut rng = crate::rng::SeededRng::new(3);
        for _ in 0..100 {
            let d = r.draw(&mut rng);
            assert!(d >= r.min && d <= r.max);
        }
    }
}

//! Durations as people write them on a command line (`90s`, `30m`, `1h30m`, `500ms`): the one
//! parser of the workspace, and the writer of its syntax.

use std::time::Duration;

/// The longest duration accepted: ten years, far past any timeout, and short enough that adding
/// it to the time now cannot overflow.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{value:?} is not a duration: give a number and a unit, such as 90s, 30m or 1h30m")]
    Malformed { value: String },
    #[error("{value:?} has no unit: write {value}s for seconds or {value}m for minutes")]
    NoUnit { value: String },
    #[error(
        "{value:?} has the unknown unit {unit:?}: use ms, s, m, h or d, as in 90s, 30m or 1h30m"
    )]
    UnknownUnit { value: String, unit: String },
    #[error("{value:?} is too long a time")]
    Overflow { value: String },
    #[error("{value:?} is no time at all: give at least 1s")]
    Zero { value: String },
}

impl DurationError {
    /// The text that could not be read, as given.
    pub fn value(&self) -> &str {
        match self {
            Self::Malformed { value }
            | Self::NoUnit { value }
            | Self::UnknownUnit { value, .. }
            | Self::Overflow { value }
            | Self::Zero { value } => value,
        }
    }
}

/// Parses a duration with humantime's syntax (`90s`, `30m`, `1h30m`, `1h 30m`, `500ms`, `1.5s`,
/// `2 days`), case-insensitively, up to ten years. A bare number is refused rather than guessed,
/// and so is a duration of zero: a timeout or an interval of no time is a mistake.
pub fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    match parse_duration_or_zero(raw)? {
        duration if duration.is_zero() => Err(DurationError::Zero {
            value: raw.to_owned(),
        }),
        duration => Ok(duration),
    }
}

/// [`parse_duration`] that also takes zero (`0s`, and a bare `0`, which is zero in every unit):
/// for delays and windows where none at all is a real choice, such as the emulator's latency.
pub fn parse_duration_or_zero(raw: &str) -> Result<Duration, DurationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(DurationError::Malformed {
            value: raw.to_owned(),
        });
    }
    if value.bytes().all(|byte| byte == b'0') {
        return Ok(Duration::ZERO);
    }
    // A bare number is ambiguous (seconds? minutes?), so it is refused rather than guessed.
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DurationError::NoUnit {
            value: value.to_owned(),
        });
    }
    // Lowercase: `45S` means seconds here, and `30M` minutes, never humantime's months.
    match humantime::parse_duration(&value.to_ascii_lowercase()) {
        Ok(duration) if duration <= LONGEST => Ok(duration),
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => Err(DurationError::Overflow {
            value: raw.to_owned(),
        }),
        Err(humantime::DurationError::UnknownUnit { unit, .. }) => {
            Err(DurationError::UnknownUnit {
                value: raw.to_owned(),
                unit,
            })
        }
        Err(_) => Err(DurationError::Malformed {
            value: raw.to_owned(),
        }),
    }
}

/// Writes a duration the way [`parse_duration_or_zero`] reads it, exact to the millisecond, in
/// the largest exact unit (`1500ms`, `90s`, `2m`): for values a command line or a fault spec
/// gives back. People reading how long something took get `text::format_duration` instead,
/// rounded to the second.
pub fn format_exact(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        "0s".to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("30M", 1800),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2d", 172_800),
            (" 45S ", 45),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30 minutes"), Ok(Duration::from_secs(1800)));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        for (bad, kind) in [
            ("30", "NoUnit"),
            ("5x", "UnknownUnit"),
            ("m5", "Malformed"),
            ("", "Malformed"),
            ("-1s", "Malformed"),
            ("99999999999999999999d", "Overflow"),
            ("11y", "Overflow"),
        ] {
            let error = parse_duration_or_zero(bad).unwrap_err();
            assert!(format!("{error:?}").starts_with(kind), "{bad}: {error:?}");
            assert_eq!(error.value(), bad);
        }
        let message = parse_duration("30").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("\"30\" has no unit: write 30s for seconds or 30m for minutes".to_owned())
        );
    }

    /// Zero is refused by the strict parser and taken, bare or with a unit, by the other.
    #[test]
    fn zero_only_where_asked_for() {
        for zero in ["0", "0s", "0ms", " 00 "] {
            assert_eq!(parse_duration_or_zero(zero), Ok(Duration::ZERO), "{zero}");
        }
        assert_eq!(
            parse_duration("0s").map_err(|e| e.to_string()),
            Err("\"0s\" is no time at all: give at least 1s".to_owned())
        );
        assert!(matches!(
            parse_duration("0"),
            Err(DurationError::Zero { .. })
        ));
    }

    #[test]
    fn format_exact_reads_back() {
        for (ms, text) in [
            (0, "0s"),
            (1500, "1500ms"),
            (90_000, "90s"),
            (120_000, "2m"),
            (86_400_000, "24h"),
        ] {
            let duration = Duration::from_millis(ms);
            assert_eq!(format_exact(duration), text);
            assert_eq!(parse_duration_or_zero(text), Ok(duration));
        }
    }
}

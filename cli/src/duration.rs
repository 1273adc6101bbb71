//! Durations as people write them on a command line: `90s`, `30m`, `1h30m`, `500ms`.

use std::time::Duration;

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
}

/// Parses a duration with humantime's syntax (`90s`, `30m`, `1h30m`, `1h 30m`, `500ms`,
/// `2 days`), case-insensitively; a bare number is refused rather than guessed.
pub fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(DurationError::Malformed {
            value: raw.to_owned(),
        });
    }
    // A bare number is ambiguous (seconds? minutes?), so it is refused rather than guessed.
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DurationError::NoUnit {
            value: value.to_owned(),
        });
    }
    // Lowercase: `45S` means seconds here, and `30M` minutes, never humantime's months.
    humantime::parse_duration(&value.to_ascii_lowercase()).map_err(|error| match error {
        humantime::DurationError::UnknownUnit { unit, .. } => DurationError::UnknownUnit {
            value: raw.to_owned(),
            unit,
        },
        humantime::DurationError::NumberOverflow => DurationError::Overflow {
            value: raw.to_owned(),
        },
        _ => DurationError::Malformed {
            value: raw.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
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
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30 minutes"), Ok(Duration::from_secs(1800)));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        assert!(matches!(
            parse_duration("30"),
            Err(DurationError::NoUnit { .. })
        ));
        assert!(matches!(
            parse_duration("5x"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("m5"),
            Err(DurationError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration(""),
            Err(DurationError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999d"),
            Err(DurationError::Overflow { .. })
        ));
        let message = parse_duration("30").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("\"30\" has no unit: write 30s for seconds or 30m for minutes".to_owned())
        );
    }
}

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

/// Parses one or more `<whole number><unit>` parts; units are `ms`, `s`, `m`, `h` and `d`.
pub fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    let value = raw.trim();
    let malformed = || DurationError::Malformed {
        value: raw.to_owned(),
    };
    if value.is_empty() {
        return Err(malformed());
    }
    // A bare number is ambiguous (seconds? minutes?), so it is refused rather than guessed.
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DurationError::NoUnit {
            value: value.to_owned(),
        });
    }
    let mut total = Duration::ZERO;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed());
        }
        let (number, tail) = rest.split_at(digits);
        let letters = tail
            .bytes()
            .take_while(|byte| byte.is_ascii_alphabetic())
            .count();
        let (unit, tail) = tail.split_at(letters);
        let amount: u64 = number.parse().map_err(|_| DurationError::Overflow {
            value: raw.to_owned(),
        })?;
        let unit_millis: u64 = match unit.to_ascii_lowercase().as_str() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(malformed()),
            other => {
                return Err(DurationError::UnknownUnit {
                    value: raw.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        let part = amount
            .checked_mul(unit_millis)
            .ok_or(DurationError::Overflow {
                value: raw.to_owned(),
            })?;
        total = total
            .checked_add(Duration::from_millis(part))
            .ok_or(DurationError::Overflow {
                value: raw.to_owned(),
            })?;
        rest = tail;
    }
    Ok(total)
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
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        assert!(matches!(
            parse_duration("30"),
            Err(DurationError::NoUnit { .. })
        ));
        assert!(matches!(
            parse_duration("30 minutes"),
            Err(DurationError::UnknownUnit { .. } | DurationError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("5w"),
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

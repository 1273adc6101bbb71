//! The emulator's clock: real time for runs, a hand-driven clock for tests of time-based rules.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time as the emulator sees it: how long since it started, and the matching wall-clock time.
///
/// Invalidation lifecycles (`InProgress` until `completes_after`), request-log timestamps and
/// the CodePipeline job timers read this clock. A [`Clock::manual`] clock only moves when
/// [`Clock::advance`] is called, so a test can prove a schedule without sleeping.
/// Cloning gives another view of the same clock.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    start: Instant,
    start_wall: SystemTime,
    /// For a manual clock, how far it has been advanced: real time does not move it.
    manual: Option<Mutex<Duration>>,
}

impl Clock {
    fn new(manual: Option<Mutex<Duration>>) -> Self {
        let (start, start_wall) = (Instant::now(), SystemTime::now());
        let inner = ClockInner {
            start,
            start_wall,
            manual,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A clock that follows real time, starting now.
    pub fn system() -> Self {
        Self::new(None)
    }

    /// A clock that stands still until [`Clock::advance`] moves it; its wall time starts at the
    /// real current time.
    pub fn manual() -> Self {
        Self::new(Some(Mutex::new(Duration::ZERO)))
    }

    /// Time since the clock started.
    pub fn elapsed(&self) -> Duration {
        match &self.inner.manual {
            Some(elapsed) => *elapsed.lock().unwrap_or_else(PoisonError::into_inner),
            None => self.inner.start.elapsed(),
        }
    }

    /// Milliseconds since the clock started (the unit of the request log and reports).
    pub fn elapsed_ms(&self) -> u64 {
        duration_ms(self.elapsed())
    }

    /// Wall-clock time now, as the clock sees it.
    pub fn wall(&self) -> SystemTime {
        self.wall_at(self.elapsed())
    }

    /// Wall-clock time of a moment given as time since the clock started.
    pub fn wall_at(&self, since_start: Duration) -> SystemTime {
        self.inner.start_wall + since_start
    }

    /// Moves a manual clock forward. Returns `false` (and does nothing) on a system clock.
    pub fn advance(&self, by: Duration) -> bool {
        let Some(elapsed) = &self.inner.manual else {
            return false;
        };
        *elapsed.lock().unwrap_or_else(PoisonError::into_inner) += by;
        true
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(duration_ms).unwrap_or(0)
}

/// ISO 8601 UTC with milliseconds, as CloudFront writes `CreateTime`: `2026-11-22T01:02:03.456Z`
/// (RFC 3339). A time outside 1970 to 9999 is written as the nearest end of that span.
pub fn iso8601(t: SystemTime) -> String {
    // 9999-12-31T23:59:59Z: the last second a four-digit year can write.
    let last = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    humantime::format_rfc3339_millis(t.clamp(UNIX_EPOCH, last)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_iso8601_with_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_309_323_456);
        assert_eq!(iso8601(t), "2026-11-22T01:02:03.456Z");
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(iso8601(far), "9999-12-31T23:59:59.000Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(iso8601(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert!(clock.advance(Duration::from_secs(3)));
        assert_eq!(clock.elapsed_ms(), 3000);
        assert!(!Clock::system().advance(Duration::from_secs(1)));
    }
}

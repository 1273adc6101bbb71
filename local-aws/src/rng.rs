//! A small seedable random generator (SplitMix64), so a run with `--seed` can be repeated exactly.

use std::time::{SystemTime, UNIX_EPOCH};

/// Deterministic pseudo-random numbers: the same seed gives the same sequence on every platform
/// and every version of this crate's dependencies.
#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for `seed`, on an independent stream named by `stream` (so faults on one API
    /// do not shift the draws of another).
    pub fn with_stream(seed: u64, stream: u64) -> Self {
        let mut mixer = Self::new(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        Self::new(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits are all an f64 mantissa holds.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.next_f64() < p
    }

    /// A uniform integer in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low + 1;
        low + self.next_u64() % span
    }

    /// `n` characters drawn from `alphabet`.
    pub fn string_from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| {
                let i = usize::try_from(self.next_u64() % alphabet.len() as u64).unwrap_or(0);
                char::from(alphabet[i])
            })
            .collect()
    }

    /// A random id in UUID v4 shape, lowercase: `8-4-4-4-12` hex digits.
    pub fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        // Set the version (4) and variant (10xx) bits like a real v4 UUID.
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        self.string_from(b"0123456789abcdef", n)
    }
}

/// A seed taken from the current time, for runs without `--seed`.
pub fn seed_from_time() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut mixer = SeededRng::new(now.as_secs() ^ u64::from(now.subsec_nanos()) << 20);
    mixer.next_u64() ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SeededRng::new(42);
        let mut b = SeededRng::new(42);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(
            SeededRng::with_stream(42, 1).next_u64(),
            SeededRng::with_stream(42, 2).next_u64()
        );
    }

    #[test]
    fn uuid_has_job_id_shape() {
        let mut rng = SeededRng::new(7);
        for _ in 0..100 {
            let id = rng.uuid();
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
            assert!(!id.chars().any(|c| c.is_ascii_uppercase()));
        }
    }

    #[test]
    fn between_and_chance_stay_in_bounds() {
        let mut rng = SeededRng::new(1);
        for _ in 0..1000 {
            let v = rng.between(12, 25);
            assert!((12..=25).contains(&v));
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
    }
}

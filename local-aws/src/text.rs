//! Small text helpers shared by the log lines and the reports.

/// `s` on one line, cut to `n` characters with `…` when longer.
pub(crate) fn shorten(s: &str, n: usize) -> String {
    cf_invalidate::text::clip(&s.replace('\n', " "), n)
}

/// Milliseconds as seconds with three decimals: `1.250s`.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_text_to_one_line() {
        assert_eq!(shorten("a\nb", 10), "a b");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(seconds(1_250), "1.250s");
        assert_eq!(seconds(61_005), "61.005s");
    }
}

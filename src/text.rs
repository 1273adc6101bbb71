//! Small pieces of wording every shell shares: durations, counts, plurals, previews, cuts, hex.

use std::fmt::Write as _;
use std::time::Duration;

/// `45s`, `3m07s`, `2h05m`: how long something took, for people.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `bytes` as lowercase hex, two digits a byte: digests in references, fingerprints and checksums.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
    out
}

/// The first `max` items, space-separated, and how many more there are.
pub fn preview(items: &[String], max: usize) -> String {
    let mut shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if items.len() > max {
        let _ = write!(shown, " … and {} more", thousands(items.len() - max));
    }
    shown
}

pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `1234567` as `1,234,567`: counts of paths are read by people deciding whether to pay.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_on_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let bytes: Vec<u8> = (0..=255).collect();
        let formatted: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(hex(&bytes), formatted);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let cases = [(0, "0s"), (45, "45s"), (187, "3m07s"), (7500, "2h05m")];
        for (secs, text) in cases {
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn counts_get_separators_and_previews_say_how_many_more() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        let items: Vec<String> = (0..1_500).map(|n| format!("/{n}")).collect();
        assert_eq!(preview(&items, 2), "/0 /1 … and 1,498 more");
        assert_eq!(plural(1), "");
        assert_eq!(plural(2), "s");
    }
}

//! Small pieces of wording every shell shares: durations, counts, plurals, previews, cuts, hex,
//! and the one percent-decoder.

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

/// The first `max_chars` characters of `text`, or `None` when it has no more than that.
pub fn head_chars(text: &str, max_chars: usize) -> Option<&str> {
    text.char_indices()
        .nth(max_chars)
        .map(|(cut, _)| &text[..cut])
}

/// `text` cut after `max_chars` characters, marked with `…`: a value quoted in a message.
pub fn clip(text: &str, max_chars: usize) -> String {
    match head_chars(text, max_chars) {
        Some(head) => format!("{head}…"),
        None => text.to_owned(),
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut: for fields
/// whose limit is in bytes, such as CodePipeline's.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = text.floor_char_boundary(max.saturating_sub('…'.len_utf8()));
    format!("{}…", &text[..end])
}

/// `bytes` as lowercase hex, two digits a byte: digests in references, fingerprints and checksums.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in form values and query
/// strings); a `%` not followed by two hex digits stays as written. `None` when the bytes are
/// not UTF-8: no S3 key, URL path or parameter we read looks like that, so the S3-events
/// function skips such a key and the emulator's coverage check must not expect it covered.
pub fn percent_decode(raw: &str, plus_is_space: bool) -> Option<String> {
    if !raw.contains(|c| c == '%' || (plus_is_space && c == '+')) {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => match (
                hex_digit(bytes.get(index + 1)),
                hex_digit(bytes.get(index + 2)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    index += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_digit(byte: Option<&u8>) -> Option<u8> {
    // A hex digit is below 16, so the cast is exact.
    char::from(*byte?).to_digit(16).map(|digit| digit as u8)
}

/// The first `max` items, space-separated, and how many more there are.
pub fn preview(items: &[String], max: usize) -> String {
    let mut shown = items[..max.min(items.len())].join(" ");
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
    fn clip_counts_characters() {
        assert_eq!(clip("héllo", 5), "héllo");
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(head_chars("héllo", 2), Some("hé"));
        assert_eq!(head_chars("hé", 2), None);
    }

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
    }

    #[test]
    fn percent_decode_keeps_bad_escapes_and_refuses_what_is_not_utf8() {
        assert_eq!(percent_decode("a+b%2Bc", true).as_deref(), Some("a b+c"));
        assert_eq!(percent_decode("a+b%2Bc", false).as_deref(), Some("a+b+c"));
        assert_eq!(percent_decode("a%2", false).as_deref(), Some("a%2"));
        assert_eq!(percent_decode("%zz%41", false).as_deref(), Some("%zzA"));
        assert_eq!(percent_decode("caf%C3%A9", false).as_deref(), Some("café"));
        assert_eq!(percent_decode("a%FFb.html", true), None);
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

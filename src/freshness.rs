//! Whether what the edge serves is what the origin holds: the verdict on one object, and what
//! to do about a stale one. Facts in, facts out; no I/O.

use crate::text::percent_decode;

/// CloudFront's default TTL (CachingOptimized) when the origin sends no `max-age`.
pub const DEFAULT_TTL_SECONDS: u64 = 86_400;

/// What the edge answered to a HEAD of the object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeAnswer {
    pub status: u16,
    pub etag: Option<String>,
    pub x_cache: Option<String>,
    pub age: Option<u64>,
    pub cache_control: Option<String>,
    /// The body, when it was read (a comparison by content).
    pub body: Option<Vec<u8>>,
}

/// What the origin holds for the object's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    /// The object, with its ETag.
    Object { etag: String },
    /// The build's file, with its content.
    Content(Vec<u8>),
    /// A zipped build's entry, as its central directory describes it.
    Digest { crc32: u32, size: u64 },
    /// No such key.
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The edge serves what the origin holds (or, for a deleted key, serves nothing).
    Fresh,
    /// The edge serves something the origin no longer holds.
    Stale,
    /// The origin holds the object, the edge answers an error.
    Missing,
    /// No comparison was possible; the reason says why.
    NotComparable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Stale => "stale",
            Self::Missing => "missing",
            Self::NotComparable => "not comparable",
        }
    }

    /// Whether this verdict fails the run.
    pub fn fails(self) -> bool {
        matches!(self, Self::Stale | Self::Missing)
    }
}

/// The verdict and the fact behind it, in words.
pub fn judge(edge: &EdgeAnswer, truth: &Truth) -> (Verdict, String) {
    let served = (200..300).contains(&edge.status);
    match truth {
        Truth::Absent if served => (
            Verdict::Stale,
            format!(
                "the origin has no such object, but the edge still serves it ({})",
                edge.status
            ),
        ),
        Truth::Absent if matches!(edge.status, 403 | 404) => (
            Verdict::Fresh,
            format!("gone from the origin and from the edge ({})", edge.status),
        ),
        Truth::Object { .. } | Truth::Content(_) | Truth::Digest { .. }
            if matches!(edge.status, 403 | 404) =>
        {
            (
                Verdict::Missing,
                format!(
                    "the origin has the object, but the edge answers {} (an error it cached, or a path that does not reach the object)",
                    edge.status
                ),
            )
        }
        Truth::Object { etag } if served => match edge.etag.as_deref() {
            None => (
                Verdict::NotComparable,
                "the edge sent no ETag to compare with the origin's".to_owned(),
            ),
            Some(served) if same_etag(served, etag) => (
                Verdict::Fresh,
                format!("the edge serves the origin's ETag {}", bare_etag(etag)),
            ),
            Some(served) => (
                Verdict::Stale,
                format!(
                    "the edge serves ETag {}, the origin holds {}",
                    bare_etag(served),
                    bare_etag(etag)
                ),
            ),
        },
        Truth::Content(content) if served => match edge.body.as_deref() {
            None => (
                Verdict::NotComparable,
                "the edge's body was not read".to_owned(),
            ),
            Some(body) if body == content.as_slice() => (
                Verdict::Fresh,
                format!("the edge serves the build's {} bytes", content.len()),
            ),
            Some(body) => (
                Verdict::Stale,
                format!(
                    "the edge serves {} bytes that differ from the build's {}",
                    body.len(),
                    content.len()
                ),
            ),
        },
        Truth::Digest { crc32, size } if served => match edge.body.as_deref() {
            None => (
                Verdict::NotComparable,
                "the edge's body was not read".to_owned(),
            ),
            Some(body) if body.len() as u64 == *size && crc32fast::hash(body) == *crc32 => (
                Verdict::Fresh,
                format!("the edge serves the zip entry's {size} bytes (CRC-32 {crc32:08x})"),
            ),
            Some(body) => (
                Verdict::Stale,
                format!(
                    "the edge serves {} bytes with CRC-32 {:08x}, the zip entry has {size} with {crc32:08x}",
                    body.len(),
                    crc32fast::hash(body)
                ),
            ),
        },
        _ => (
            Verdict::NotComparable,
            format!(
                "the edge answered {}, which says nothing about the object",
                edge.status
            ),
        ),
    }
}

/// An ETag without quotes or the weak marker: S3 quotes it, some proxies weaken it.
fn bare_etag(etag: &str) -> &str {
    let etag = etag.trim();
    etag.strip_prefix("W/").unwrap_or(etag).trim_matches('"')
}

fn same_etag(a: &str, b: &str) -> bool {
    bare_etag(a) == bare_etag(b)
}

/// How long the edge keeps the object, from its `Cache-Control` as CloudFront reads it:
/// `s-maxage`, else `max-age`, else the default TTL; `no-cache`, `no-store` and `private` keep
/// it for the minimum, 0 in CloudFront's managed policies' terms the viewer sees.
pub fn edge_ttl(cache_control: Option<&str>) -> u64 {
    let directives = directives(cache_control);
    if directives
        .iter()
        .any(|(name, _)| matches!(name.as_str(), "no-cache" | "no-store" | "private"))
    {
        return 0;
    }
    let seconds = |wanted: &str| {
        directives
            .iter()
            .find(|(name, _)| name == wanted)
            .and_then(|(_, value)| value.as_deref()?.parse::<u64>().ok())
    };
    seconds("s-maxage")
        .or_else(|| seconds("max-age"))
        .unwrap_or(DEFAULT_TTL_SECONDS)
}

/// How long a browser keeps the object: its `max-age`, if any.
pub fn browser_max_age(cache_control: Option<&str>) -> Option<u64> {
    directives(cache_control)
        .into_iter()
        .find(|(name, _)| name == "max-age")
        .and_then(|(_, value)| value?.parse().ok())
}

fn directives(cache_control: Option<&str>) -> Vec<(String, Option<String>)> {
    cache_control
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            let (name, value) = match part.split_once('=') {
                Some((name, value)) => (name, Some(value.trim().trim_matches('"').to_owned())),
                None => (part, None),
            };
            Some((name.trim().to_ascii_lowercase(), value))
        })
        .collect()
}

/// Whether an invalidation path covers `path` (both as CloudFront takes them, encoded or not):
/// the same path, or a wildcard whose prefix begins it. Compared decoded, as the edge does.
pub fn invalidation_covers(invalidation_path: &str, path: &str) -> bool {
    let decoded = |raw: &str| percent_decode(raw, false).unwrap_or_else(|| raw.to_owned());
    let path = decoded(path);
    match invalidation_path.strip_suffix('*') {
        Some(prefix) => path.starts_with(&decoded(prefix)),
        None => decoded(invalidation_path) == path,
    }
}

/// What the recent invalidations say about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// The newest invalidation that covers it, and its status.
    Covered { id: String, status: String },
    /// None of the `looked_at` newest invalidations covers it.
    Uncovered { looked_at: usize },
    /// The invalidations were not looked at (no distribution id).
    Unknown,
}

/// What to do about a stale (or missing) object, for a person reading a build log.
pub fn advice(
    path: &str,
    verdict: Verdict,
    edge: &EdgeAnswer,
    coverage: &Coverage,
    distribution: Option<&str>,
) -> Option<String> {
    if !verdict.fails() {
        return None;
    }
    let id = distribution.unwrap_or("ID");
    let invalidate = format!("cf-invalidate invalidate --distribution-id {id} '{path}'");
    if verdict == Verdict::Missing {
        return Some(format!(
            "CloudFront caches an error for 10 seconds by default: verify again shortly, or invalidate it: {invalidate}"
        ));
    }
    let ttl = edge_ttl(edge.cache_control.as_deref());
    let left = ttl.saturating_sub(edge.age.unwrap_or(0));
    let mut text = match coverage {
        Coverage::Covered { id: inv, status } if !status.eq_ignore_ascii_case("completed") => {
            format!(
                "invalidation {inv} covers it and is still {status}: wait for it (cf-invalidate wait --distribution-id {id} --id {inv}), then verify again"
            )
        }
        Coverage::Covered { id: inv, .. } => format!(
            "invalidation {inv} covers it and is Completed, yet the edge serves an older copy: the object was probably uploaded after that invalidation; invalidate it again: {invalidate}"
        ),
        Coverage::Uncovered { looked_at } => format!(
            "no invalidation covered {path} (of the {looked_at} newest): the edge keeps its copy until its TTL of {} runs out (about {} left); invalidate it: {invalidate}",
            seconds_text(ttl),
            seconds_text(left)
        ),
        Coverage::Unknown => format!(
            "the edge keeps its copy until its TTL of {} runs out (about {} left); give --distribution-id to learn whether an invalidation covers it, or invalidate it: {invalidate}",
            seconds_text(ttl),
            seconds_text(left)
        ),
    };
    if let Some(max_age) = browser_max_age(edge.cache_control.as_deref()).filter(|age| *age > 0) {
        text.push_str(&format!(
            ". Browsers that fetched it keep their copy for max-age={max_age} ({}) whatever CloudFront does: a new file name or a shorter max-age avoids that",
            seconds_text(max_age)
        ));
    }
    Some(text)
}

/// A TTL in words; a year reads better as days than as 8760h00m.
fn seconds_text(seconds: u64) -> String {
    if seconds >= 2 * 86_400 {
        return format!("{}d{:02}h", seconds / 86_400, seconds % 86_400 / 3600);
    }
    crate::text::format_duration(std::time::Duration::from_secs(seconds))
}

/// At most `max` of `items`, spread evenly over the whole list (first and last included), so
/// that a sample of a big sync still reaches every directory.
pub fn sample_evenly<T: Clone>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    if max <= 1 {
        return items.iter().take(max).cloned().collect();
    }
    let last = items.len() - 1;
    (0..max)
        .filter_map(|i| items.get(i * last / (max - 1)).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(etag: &str, cache_control: &str) -> EdgeAnswer {
        EdgeAnswer {
            status: 200,
            etag: Some(format!("\"{etag}\"")),
            x_cache: Some("Hit from cloudfront".to_owned()),
            age: Some(60),
            cache_control: Some(cache_control.to_owned()),
            body: None,
        }
    }

    fn object(etag: &str) -> Truth {
        Truth::Object {
            etag: format!("\"{etag}\""),
        }
    }

    #[test]
    fn the_same_etag_is_fresh_and_another_is_stale() {
        let edge = served("abc", "max-age=60");
        assert_eq!(judge(&edge, &object("abc")).0, Verdict::Fresh);
        let (verdict, reason) = judge(&edge, &object("def"));
        assert_eq!(verdict, Verdict::Stale);
        assert_eq!(reason, "the edge serves ETag abc, the origin holds def");
        // A weak ETag from a proxy is still the same object.
        let weak = EdgeAnswer {
            etag: Some("W/\"abc\"".to_owned()),
            ..edge
        };
        assert_eq!(judge(&weak, &object("abc")).0, Verdict::Fresh);
    }

    #[test]
    fn a_build_is_compared_by_content() {
        let edge = EdgeAnswer {
            body: Some(b"new".to_vec()),
            ..served("abc", "")
        };
        assert_eq!(
            judge(&edge, &Truth::Content(b"new".to_vec())).0,
            Verdict::Fresh
        );
        let (verdict, reason) = judge(&edge, &Truth::Content(b"newer".to_vec()));
        assert_eq!(verdict, Verdict::Stale);
        assert_eq!(
            reason,
            "the edge serves 3 bytes that differ from the build's 5"
        );
        let digest = |body: &[u8]| Truth::Digest {
            crc32: crc32fast::hash(body),
            size: body.len() as u64,
        };
        assert_eq!(judge(&edge, &digest(b"new")).0, Verdict::Fresh);
        assert_eq!(judge(&edge, &digest(b"old")).0, Verdict::Stale);
        let unread = served("abc", "");
        assert_eq!(
            judge(&unread, &Truth::Content(Vec::new())).0,
            Verdict::NotComparable
        );
    }

    #[test]
    fn deleted_objects_and_errors_get_their_own_verdicts() {
        let denied = EdgeAnswer {
            status: 403,
            ..EdgeAnswer::default()
        };
        assert_eq!(judge(&denied, &Truth::Absent).0, Verdict::Fresh);
        assert_eq!(judge(&denied, &object("abc")).0, Verdict::Missing);
        assert_eq!(judge(&served("abc", ""), &Truth::Absent).0, Verdict::Stale);
        let no_etag = EdgeAnswer {
            etag: None,
            ..served("abc", "")
        };
        assert_eq!(judge(&no_etag, &object("abc")).0, Verdict::NotComparable);
        let broken = EdgeAnswer {
            status: 502,
            ..EdgeAnswer::default()
        };
        assert_eq!(judge(&broken, &object("abc")).0, Verdict::NotComparable);
    }

    #[test]
    fn ttls_are_read_as_cloudfront_reads_them() {
        assert_eq!(edge_ttl(Some("public, max-age=31536000")), 31_536_000);
        assert_eq!(edge_ttl(Some("max-age=60, s-maxage=600")), 600);
        assert_eq!(edge_ttl(Some("no-cache")), 0);
        assert_eq!(edge_ttl(None), DEFAULT_TTL_SECONDS);
        assert_eq!(edge_ttl(Some("max-age=oops")), DEFAULT_TTL_SECONDS);
        assert_eq!(browser_max_age(Some("s-maxage=600")), None);
        assert_eq!(browser_max_age(Some("Max-Age=\"30\"")), Some(30));
    }

    #[test]
    fn invalidation_paths_cover_encoded_and_plain_forms_and_wildcards() {
        assert!(invalidation_covers("/a%20b.html", "/a b.html"));
        assert!(invalidation_covers("/docs/*", "/docs/caf%C3%A9.html"));
        assert!(invalidation_covers("/*", "/x"));
        assert!(!invalidation_covers("/docs/a.html", "/docs/a.htm"));
        assert!(!invalidation_covers("/Docs/*", "/docs/a.html"));
        // `+` is a plus in a path.
        assert!(!invalidation_covers("/a b", "/a+b"));
    }

    /// GIVEN a year's max-age and no invalidation WHEN advised THEN the uncovered path, the time
    /// left and the command to run are named, and browsers are warned about.
    #[test]
    fn a_stale_object_no_invalidation_covered_is_told_what_to_do() {
        let edge = served("old", "max-age=31536000");
        let text = advice(
            "/app.js",
            Verdict::Stale,
            &edge,
            &Coverage::Uncovered { looked_at: 3 },
            Some("E2QWRUHAPOMQZL"),
        )
        .unwrap_or_default();
        assert!(
            text.starts_with("no invalidation covered /app.js (of the 3 newest): the edge keeps its copy until its TTL of 365d00h runs out"),
            "{text}"
        );
        assert!(
            text.contains("cf-invalidate invalidate --distribution-id E2QWRUHAPOMQZL '/app.js'"),
            "{text}"
        );
        assert!(text.contains("Browsers that fetched it"), "{text}");
        let pending = Coverage::Covered {
            id: "I1".to_owned(),
            status: "InProgress".to_owned(),
        };
        let text =
            advice("/app.js", Verdict::Stale, &edge, &pending, Some("E2")).unwrap_or_default();
        assert!(text.starts_with("invalidation I1 covers it and is still InProgress: wait for it (cf-invalidate wait --distribution-id E2 --id I1)"), "{text}");
        assert_eq!(
            advice("/app.js", Verdict::Fresh, &edge, &pending, None),
            None
        );
    }

    #[test]
    fn samples_are_spread_evenly_and_bounded() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(sample_evenly(&items, 3), vec![0, 4, 9]);
        assert_eq!(sample_evenly(&items, 20), items);
        assert_eq!(sample_evenly(&items, 1), vec![0]);
        for max in 1..=10 {
            let sample = sample_evenly(&items, max);
            assert_eq!(sample.len(), max);
            let mut unique = sample.clone();
            unique.dedup();
            assert_eq!(unique, sample, "no object twice for max {max}");
        }
    }
}

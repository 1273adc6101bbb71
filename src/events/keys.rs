//! From an object key as an event carries it to the URL path a viewer requests.

use crate::params::events::EventsParams;
use crate::text::percent_decode;

/// Why a key asks for no invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeySkip {
    /// Not under `keyPrefix`.
    OutsidePrefix,
    /// A key ending in "/": the console's "create folder", which no viewer requests.
    DirectoryMarker,
    /// Its `%XX` escapes do not decode to UTF-8: no S3 key looks like that.
    Undecodable,
}

impl KeySkip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsidePrefix => "outside_key_prefix",
            Self::DirectoryMarker => "directory_marker",
            Self::Undecodable => "undecodable_key",
        }
    }
}

/// Decodes a key as S3 event notifications encode it: a form value, so `+` is a space, then
/// `%XX` escapes are bytes of UTF-8. A `%` not followed by two hex digits stays as it is.
pub fn decode_form(raw: &str) -> Result<String, KeySkip> {
    percent_decode(raw, true).ok_or(KeySkip::Undecodable)
}

/// The URL path a viewer requests for the object `key` (decoded), ready for the planner: the
/// key under `keyPrefix`, without it, after `pathPrefix`.
///
/// The planner percent-encodes what CloudFront wants encoded (spaces, non-ASCII, unsafe
/// characters) and keeps existing `%XX` escapes, so what a key holds literally is escaped here
/// first: `%` (a key `100%.html` is requested as `/100%25.html`), `?` (it would start a query
/// string) and control characters. A `*` in a key cannot be sent literally, since CloudFront
/// reads it as a wildcard and accepts one only at the end: the path ends at it instead, a
/// wildcard that covers the object whatever CloudFront makes of the character.
pub fn url_path(key: &str, params: &EventsParams) -> Result<String, KeySkip> {
    object_path(key, &params.key_prefix, &params.path_prefix)
}

/// [`url_path`] for any `keyPrefix` and `pathPrefix` (checked already): the rule the S3-events
/// function and the artifact comparison share.
pub fn object_path(key: &str, key_prefix: &str, path_prefix: &str) -> Result<String, KeySkip> {
    let rest = key.strip_prefix(key_prefix).ok_or(KeySkip::OutsidePrefix)?;
    if rest.is_empty() || rest.ends_with('/') {
        return Err(KeySkip::DirectoryMarker);
    }
    let mut path = String::with_capacity(path_prefix.len() + rest.len() + 8);
    path.push_str(path_prefix);
    for character in rest.chars() {
        match character {
            '%' => path.push_str("%25"),
            '?' => path.push_str("%3F"),
            '*' => {
                path.push('*');
                break;
            }
            control if control.is_ascii_control() => {
                path.push_str(&format!("%{:02X}", u32::from(control)));
            }
            other => path.push(other),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::normalise_item;

    fn params(key_prefix: &str, path_prefix: &str) -> EventsParams {
        crate::params::events::parse_events_parameters(Some(&format!(
            r#"{{"distributionId": "E2QWRUHAPOMQZL", "keyPrefix": "{key_prefix}", "pathPrefix": "{path_prefix}"}}"#
        )))
        .unwrap()
    }

    /// What CloudFront is sent for a key as S3 notifications carry it.
    fn sent(raw: &str, params: &EventsParams) -> Result<String, KeySkip> {
        let key = decode_form(raw)?;
        Ok(normalise_item(&url_path(&key, params)?).unwrap())
    }

    #[test]
    fn keys_are_decoded_as_form_values() {
        assert_eq!(decode_form("my+file.html").unwrap(), "my file.html");
        assert_eq!(decode_form("%2Blayout.css").unwrap(), "+layout.css");
        assert_eq!(
            decode_form("caf%C3%A9/men%C3%BC.html").unwrap(),
            "café/menü.html"
        );
        assert_eq!(decode_form("100%25.html").unwrap(), "100%.html");
        assert_eq!(decode_form("a%2+b%zz").unwrap(), "a%2 b%zz");
        assert_eq!(decode_form("plain/key.html").unwrap(), "plain/key.html");
        assert_eq!(decode_form("bad%FF.html"), Err(KeySkip::Undecodable));
    }

    #[test]
    fn the_issue_example_maps_to_the_encoded_url_path() {
        let site = params("site/", "/");
        assert_eq!(sent("site/a+b.html", &site).unwrap(), "/a%20b.html");
        assert_eq!(sent("site/%2Blayout.css", &site).unwrap(), "/+layout.css");
        assert_eq!(
            sent("site/caf%C3%A9.html", &site).unwrap(),
            "/caf%C3%A9.html"
        );
        assert_eq!(sent("site/100%25.html", &site).unwrap(), "/100%25.html");
        assert_eq!(sent("site/a%3Fb.html", &site).unwrap(), "/a%3Fb.html");
        assert_eq!(sent("site/a%2520b.html", &site).unwrap(), "/a%2520b.html");
    }

    #[test]
    fn path_prefix_is_put_before_the_rest_of_the_key() {
        let blog = params("", "/blog/");
        assert_eq!(sent("posts/x.html", &blog).unwrap(), "/blog/posts/x.html");
    }

    #[test]
    fn keys_outside_the_prefix_and_directory_markers_are_skipped() {
        let site = params("site/", "/");
        assert_eq!(sent("other/a.html", &site), Err(KeySkip::OutsidePrefix));
        assert_eq!(sent("site/", &site), Err(KeySkip::DirectoryMarker));
        assert_eq!(sent("site/img/", &site), Err(KeySkip::DirectoryMarker));
        assert_eq!(sent("site", &site), Err(KeySkip::OutsidePrefix));
    }

    #[test]
    fn a_star_ends_the_path_as_a_wildcard_and_control_characters_are_escaped() {
        let root = params("", "/");
        assert_eq!(sent("a*b.html", &root).unwrap(), "/a*");
        assert_eq!(sent("tab%09x.html", &root).unwrap(), "/tab%09x.html");
    }
}

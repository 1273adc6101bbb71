//! Just enough XML: escaping for responses, and reading a CloudFront `InvalidationBatch`.

use xmlparser::{ElementEnd, Token, Tokenizer};

/// Escapes text for an XML element body or attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Resolves the five predefined entities and character references.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .ok_or_else(|| format!("unterminated entity in '{raw}'"))?;
        let name = &after[..semi];
        let resolved = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity '&{name};'"))?
            }
        };
        out.push(resolved);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An `InvalidationBatch` as sent, before CloudFront's rules are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawBatch {
    /// `Paths/Quantity` as written, if present.
    pub quantity: Option<String>,
    /// `Paths/Items/Path` values, in order.
    pub paths: Vec<String>,
    /// Whether `Paths` was present at all.
    pub has_paths: bool,
    /// `CallerReference`, if present.
    pub caller_reference: Option<String>,
}

/// Why a body could not be read as an `InvalidationBatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BatchReadError {
    /// Not well-formed XML, or not an `InvalidationBatch` document.
    Malformed(String),
}

/// Reads an `InvalidationBatch` document (namespace prefixes and unknown elements are ignored).
pub(crate) fn read_invalidation_batch(body: &str) -> Result<RawBatch, BatchReadError> {
    let malformed = |m: String| BatchReadError::Malformed(m);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut batch = RawBatch {
        quantity: None,
        paths: Vec::new(),
        has_paths: false,
        caller_reference: None,
    };
    let mut saw_root = false;
    for token in Tokenizer::from(body) {
        let token = token.map_err(|e| malformed(e.to_string()))?;
        match token {
            Token::ElementStart { local, .. } => {
                if stack.is_empty() {
                    if saw_root {
                        return Err(malformed("more than one root element".into()));
                    }
                    saw_root = true;
                    if local.as_str() != "InvalidationBatch" {
                        return Err(malformed(format!(
                            "expected root element InvalidationBatch, found {}",
                            local.as_str()
                        )));
                    }
                }
                stack.push(local.as_str().to_string());
                text.clear();
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => text.clear(),
                ElementEnd::Close(_, local) => {
                    let Some(open) = stack.last() else {
                        return Err(malformed(format!(
                            "unexpected closing tag {}",
                            local.as_str()
                        )));
                    };
                    if open != local.as_str() {
                        return Err(malformed(format!(
                            "closing tag {} does not match {open}",
                            local.as_str()
                        )));
                    }
                    record(&stack, std::mem::take(&mut text), &mut batch);
                    stack.pop();
                }
                ElementEnd::Empty => {
                    record(&stack, String::new(), &mut batch);
                    stack.pop();
                }
            },
            Token::Text { text: t } if !stack.is_empty() => {
                text.push_str(&unescape(t.as_str()).map_err(malformed)?);
            }
            Token::Cdata { text: t, .. } => text.push_str(t.as_str()),
            _ => {}
        }
    }
    if !saw_root || !stack.is_empty() {
        return Err(malformed(
            "the document ends before InvalidationBatch is closed".into(),
        ));
    }
    Ok(batch)
}

fn record(stack: &[String], text: String, batch: &mut RawBatch) {
    let path: Vec<&str> = stack.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["InvalidationBatch", "Paths"] => batch.has_paths = true,
        ["InvalidationBatch", "Paths", "Quantity"] => batch.quantity = Some(text),
        ["InvalidationBatch", "Paths", "Items", "Path"] => batch.paths.push(text),
        ["InvalidationBatch", "CallerReference"] => batch.caller_reference = Some(text),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_batch_as_botocore_writes_it() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>2</Quantity><Items><Path>/a&amp;b</Path><Path>/c*</Path></Items></Paths><CallerReference>ref-1</CallerReference></InvalidationBatch>"#;
        let batch = read_invalidation_batch(body).unwrap();
        assert_eq!(batch.quantity.as_deref(), Some("2"));
        assert_eq!(batch.paths, ["/a&b", "/c*"]);
        assert_eq!(batch.caller_reference.as_deref(), Some("ref-1"));
        assert!(batch.has_paths);
    }

    #[test]
    fn rejects_malformed_documents() {
        for bad in [
            "<InvalidationBatch><Paths></InvalidationBatch>",
            "<Other/>",
            "not xml",
            "<InvalidationBatch><CallerReference>a &bogus; b</CallerReference></InvalidationBatch>",
            "<InvalidationBatch>",
        ] {
            assert!(read_invalidation_batch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escape_and_unescape_round_trip() {
        let s = "/a<b>&\"c'&#x41;";
        assert_eq!(unescape(&escape(s)).unwrap(), s);
        assert_eq!(unescape("&#65;&#x42;").unwrap(), "AB");
    }
}

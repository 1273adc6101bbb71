//! The XML documents of CloudFront's REST-XML API: wire shapes written and read with quick-xml.

use quick_xml::se::{QuoteLevel, Serializer};
use serde::{Deserialize, Serialize};

use crate::reply::Reply;

/// `value` as a `text/xml` reply: an XML declaration, then the element its type names. All
/// five special characters are escaped and empty elements written open and closed, as before
/// quick-xml wrote them.
pub(crate) fn reply(status: u16, value: &impl Serialize) -> Reply {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n");
    let mut serializer = Serializer::new(&mut xml);
    serializer
        .set_quote_level(QuoteLevel::Full)
        .expand_empty_elements(true);
    // Only a shape quick-xml cannot write fails (a map, bytes), never a value: a bug here,
    // told to the caller rather than panicking in the server.
    match value.serialize(serializer) {
        Ok(_) => Reply::new(status, "text/xml", xml),
        Err(e) => Reply::new(
            500,
            "text/plain",
            format!("local-aws could not write its reply: {e}"),
        )
        .with_error_code("InternalError"),
    }
}

/// An `InvalidationBatch` as sent, before CloudFront's rules are applied. Namespace prefixes
/// and unknown elements are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawBatch {
    pub paths: Option<RawPaths>,
    pub caller_reference: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawPaths {
    /// As written: a bad number is CloudFront's `MalformedInput`, worded by the caller.
    pub quantity: Option<String>,
    #[serde(default)]
    pub items: RawItems,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawItems {
    #[serde(rename = "Path", default)]
    pub paths: Vec<String>,
}

/// The root element names the variant: any other root is refused.
#[derive(Deserialize)]
enum BatchDocument {
    InvalidationBatch(RawBatch),
}

/// Reads an `InvalidationBatch` document; `Err` says why it is not one.
pub(crate) fn read_invalidation_batch(body: &str) -> Result<RawBatch, String> {
    match quick_xml::de::from_str(body) {
        Ok(BatchDocument::InvalidationBatch(batch)) => Ok(batch),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_batch_as_botocore_writes_it() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>2</Quantity><Items><Path>/a&amp;b</Path><Path>/c*</Path></Items></Paths><CallerReference>ref-1</CallerReference></InvalidationBatch>"#;
        let batch = read_invalidation_batch(body).unwrap_or_default();
        let paths = batch.paths.unwrap_or_default();
        assert_eq!(paths.quantity.as_deref(), Some("2"));
        assert_eq!(paths.items.paths, ["/a&b", "/c*"]);
        assert_eq!(batch.caller_reference.as_deref(), Some("ref-1"));
    }

    #[test]
    fn a_path_keeps_its_spaces_for_the_rules_to_refuse() {
        let body = "<InvalidationBatch><Paths><Quantity> 1</Quantity><Items><Path>/a </Path></Items></Paths><CallerReference> r</CallerReference></InvalidationBatch>";
        let batch = read_invalidation_batch(body).unwrap_or_default();
        let paths = batch.paths.unwrap_or_default();
        assert_eq!(paths.items.paths, ["/a "]);
        assert_eq!(paths.quantity.as_deref(), Some(" 1"));
        assert_eq!(batch.caller_reference.as_deref(), Some(" r"));
    }

    #[test]
    fn reads_prefixes_cdata_references_and_empty_elements() {
        let body = "<cf:InvalidationBatch xmlns:cf=\"x\"><cf:Paths/><Other>1</Other><CallerReference><![CDATA[a<b]]>&#x41;&#66;</CallerReference></cf:InvalidationBatch>";
        let batch = read_invalidation_batch(body).unwrap_or_default();
        assert!(batch.paths.is_some_and(|p| p.quantity.is_none()));
        assert_eq!(batch.caller_reference.as_deref(), Some("a<bAB"));
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
    fn documents_escape_every_special_character_and_keep_empty_elements_open() {
        #[derive(Serialize)]
        #[serde(rename = "Doc", rename_all = "PascalCase")]
        struct Doc {
            #[serde(rename = "@xmlns")]
            xmlns: &'static str,
            text: &'static str,
            empty: &'static str,
        }
        let doc = Doc {
            xmlns: "ns",
            text: "/a<b>&\"c'",
            empty: "",
        };
        let reply = reply(201, &doc);
        assert_eq!(reply.status, 201);
        assert_eq!(
            String::from_utf8_lossy(&reply.body),
            "<?xml version=\"1.0\"?>\n<Doc xmlns=\"ns\"><Text>/a&lt;b&gt;&amp;&quot;c&apos;</Text><Empty></Empty></Doc>"
        );
    }
}

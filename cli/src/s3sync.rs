//! Reads the output of `aws s3 sync` and turns the objects it changed into site paths.

use std::fmt;

/// What one `aws s3 sync` run did to the destination bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncChanges {
    pub uploaded: Vec<S3Object>,
    pub copied: Vec<S3Object>,
    pub deleted: Vec<S3Object>,
    /// `(dryrun)` lines: the sync only said what it would do, so nothing changed.
    pub dry_run_lines: usize,
}

impl SyncChanges {
    pub fn objects(&self) -> impl Iterator<Item = &S3Object> {
        self.uploaded
            .iter()
            .chain(&self.copied)
            .chain(&self.deleted)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.objects().next().is_none()
    }
}

/// An object of the destination bucket, as `aws s3 sync` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

impl fmt::Display for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Where the site lives in the bucket: `site` or `s3://my-bucket/site`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePrefix {
    /// Checked against every object when the prefix was given as an `s3://` URL.
    pub bucket: Option<String>,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl SitePrefix {
    pub fn parse(raw: &str) -> Result<Self, SyncError> {
        let text = raw.trim();
        let (bucket, prefix) = match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(SyncError::BadSitePrefix {
                        value: raw.to_owned(),
                    });
                }
                (Some(bucket.to_owned()), prefix)
            }
            None => (None, text),
        };
        Ok(Self {
            bucket,
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error(
        "line {line} of the s3 sync output is {text:?}, which starts like an `aws s3 sync` {verb} line but names no s3:// destination: give the output of `aws s3 sync` unchanged"
    )]
    Unreadable {
        line: usize,
        verb: &'static str,
        text: String,
    },
    #[error(
        "the s3 sync output changed {object}, which is not under --site-prefix {prefix:?}: give the prefix the site was synced to (the part after the bucket in the sync's s3:// destination), or leave --site-prefix out"
    )]
    OutsidePrefix { object: String, prefix: String },
    #[error(
        "--site-prefix {value:?} names no bucket: write it as s3://my-bucket/prefix, or as the prefix alone"
    )]
    BadSitePrefix { value: String },
}

/// Finds the `upload:`, `copy:` and `delete:` lines; anything else (progress, warnings,
/// `upload failed:`) changed nothing and is skipped.
pub fn parse_sync_output(text: &str) -> Result<SyncChanges, SyncError> {
    let mut changes = SyncChanges::default();
    for (index, raw_line) in text.split('\n').enumerate() {
        // On a terminal the CLI rewrites its progress line with `\r`, so one line of a captured
        // log can hold several statements; results are padded with spaces to hide the progress.
        for statement in raw_line.split('\r') {
            let statement = statement.trim_end();
            let statement = match statement.strip_prefix("(dryrun) ") {
                Some(_) => {
                    changes.dry_run_lines += 1;
                    continue;
                }
                None => statement,
            };
            let unreadable = |verb| SyncError::Unreadable {
                line: index + 1,
                verb,
                text: statement.chars().take(120).collect(),
            };
            if let Some(rest) = statement.strip_prefix("upload: ") {
                let object = destination(rest, 0).ok_or_else(|| unreadable("upload:"))?;
                changes.uploaded.push(object);
            } else if let Some(rest) = statement.strip_prefix("copy: ") {
                // The source is itself an s3:// URL: look for the destination after it.
                let object = destination(rest, "s3://".len()).ok_or_else(|| unreadable("copy:"))?;
                changes.copied.push(object);
            } else if let Some(rest) = statement.strip_prefix("delete: ") {
                let object = rest
                    .strip_prefix("s3://")
                    .and_then(object_of)
                    .ok_or_else(|| unreadable("delete:"))?;
                changes.deleted.push(object);
            }
        }
    }
    Ok(changes)
}

/// The object after the first ` to s3://` at or after `from`: the AWS CLI prints keys literally,
/// so a key may hold spaces, but a local file name holding ` to s3://` is not worth guessing about.
fn destination(rest: &str, from: usize) -> Option<S3Object> {
    const SEPARATOR: &str = " to s3://";
    let tail = rest.get(from..)?;
    let at = tail.find(SEPARATOR)?;
    object_of(&tail[at + SEPARATOR.len()..])
}

fn object_of(bucket_and_key: &str) -> Option<S3Object> {
    let (bucket, key) = bucket_and_key.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| S3Object {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
}

/// Site paths (`/css/app.css`) of the changed objects, in the order the sync printed them.
pub fn site_paths(
    changes: &SyncChanges,
    prefix: Option<&SitePrefix>,
) -> Result<Vec<String>, SyncError> {
    changes
        .objects()
        .map(|object| site_path(object, prefix))
        .collect()
}

fn site_path(object: &S3Object, prefix: Option<&SitePrefix>) -> Result<String, SyncError> {
    let Some(prefix) = prefix else {
        return Ok(format!("/{}", object.key));
    };
    let outside = || SyncError::OutsidePrefix {
        object: object.to_string(),
        prefix: match &prefix.bucket {
            Some(bucket) => format!("s3://{bucket}/{}", prefix.prefix),
            None => prefix.prefix.clone(),
        },
    };
    if prefix
        .bucket
        .as_ref()
        .is_some_and(|bucket| bucket != &object.bucket)
    {
        return Err(outside());
    }
    if prefix.prefix.is_empty() {
        return Ok(format!("/{}", object.key));
    }
    let below = object
        .key
        .strip_prefix(prefix.prefix.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(outside)?;
    Ok(format!("/{below}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(bucket: &str, key: &str) -> S3Object {
        S3Object {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    }

    #[test]
    fn reads_uploads_copies_and_deletes_and_skips_the_rest() {
        let output = "\
Completed 1.2 KiB/4.0 KiB (10.1 KiB/s) with 3 file(s) remaining\rupload: site/css/app.css to s3://my-bucket/css/app.css     
upload: site/my page.html to s3://my-bucket/my page.html
copy: s3://other-bucket/img/a.png to s3://my-bucket/img/a.png
delete: s3://my-bucket/old page.html
upload failed: site/x.html to s3://my-bucket/x.html An error occurred (AccessDenied)
warning: Skipping file /site/broken. File does not exist.
(dryrun) upload: site/y.html to s3://my-bucket/y.html
";
        let changes = parse_sync_output(output).expect("readable");
        assert_eq!(
            changes.uploaded,
            vec![
                object("my-bucket", "css/app.css"),
                object("my-bucket", "my page.html")
            ]
        );
        assert_eq!(changes.copied, vec![object("my-bucket", "img/a.png")]);
        assert_eq!(changes.deleted, vec![object("my-bucket", "old page.html")]);
        assert_eq!(changes.dry_run_lines, 1);
        assert_eq!(
            site_paths(&changes, None),
            Ok(vec![
                "/css/app.css".to_owned(),
                "/my page.html".to_owned(),
                "/img/a.png".to_owned(),
                "/old page.html".to_owned()
            ])
        );
    }

    #[test]
    fn a_sync_that_changed_nothing_is_empty() {
        let changes = parse_sync_output("").expect("readable");
        assert!(changes.is_empty());
        let changes = parse_sync_output("Completed 0 Bytes\n\n").expect("readable");
        assert!(changes.is_empty());
    }

    #[test]
    fn the_site_prefix_is_removed_and_checked() {
        let changes = parse_sync_output(
            "upload: out/index.html to s3://b/site/index.html\ndelete: s3://b/site/docs/old.html\n",
        )
        .expect("readable");
        for prefix in ["site", "/site/", "s3://b/site", "s3://b/site/"] {
            let prefix = SitePrefix::parse(prefix).expect("prefix");
            assert_eq!(
                site_paths(&changes, Some(&prefix)),
                Ok(vec!["/index.html".to_owned(), "/docs/old.html".to_owned()])
            );
        }
        let wrong = SitePrefix::parse("www").expect("prefix");
        let error = site_paths(&changes, Some(&wrong)).expect_err("outside");
        assert!(
            error.to_string().contains("s3://b/site/index.html"),
            "{error}"
        );
        // `site2/` is not under `site/`.
        let sibling = parse_sync_output("upload: a to s3://b/site2/a.html").expect("readable");
        let site = SitePrefix::parse("site").expect("prefix");
        assert!(site_paths(&sibling, Some(&site)).is_err());
        let other_bucket = SitePrefix::parse("s3://c/site").expect("prefix");
        assert!(site_paths(&changes, Some(&other_bucket)).is_err());
        assert!(SitePrefix::parse("s3:///site").is_err());
    }

    #[test]
    fn a_known_verb_without_a_destination_is_an_error_with_its_line() {
        let error = parse_sync_output("upload: a\nupload: site/x.html\n").expect_err("bad");
        assert_eq!(
            error,
            SyncError::Unreadable {
                line: 1,
                verb: "upload:",
                text: "upload: a".to_owned()
            }
        );
    }
}

//! Reads the output of `aws s3 sync` and turns the objects it changed into site paths.

use cf_invalidate::events::keys::object_path;
use std::fmt;

/// What one `aws s3 sync` run did to the destination bucket, and what else its output held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncChanges {
    pub uploaded: Vec<S3Object>,
    pub copied: Vec<S3Object>,
    pub deleted: Vec<S3Object>,
    /// `(dryrun)` lines: the sync only said what it would do, so nothing changed.
    pub dry_run_lines: usize,
    /// `download:` and `download failed:` lines: that sync wrote to this computer, not to a bucket.
    pub download_lines: usize,
    /// `upload failed:`, `copy failed:` and `delete failed:` lines: objects the sync left as they were.
    pub failed: Vec<NumberedLine>,
    /// The `fatal error:` (or `cancelled: ctrl-c received`) line that ended the sync early.
    pub stopped: Option<NumberedLine>,
    /// Lines with something the sync prints: results, failures, progress, its own warnings.
    pub sync_lines: usize,
    /// Lines that are neither blank nor anything the sync prints.
    pub foreign_lines: usize,
    /// The first of them: when no line is the sync's, the first line that is not blank.
    pub first_foreign: Option<NumberedLine>,
}

/// A line of the sync output, numbered from 1, without the padding the AWS CLI adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedLine {
    pub line: usize,
    pub text: String,
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

    /// False for text with words in it but no line of `aws s3 sync`: a wrong file, not a sync
    /// that changed nothing (which prints nothing at all).
    pub fn looks_like_sync_output(&self) -> bool {
        self.sync_lines > 0 || self.foreign_lines == 0
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

/// The verbs of the lines the AWS CLI prints for a failed transfer (`{transfer_type} failed:` in
/// its `results.py`). `download` is left out: it never changes a bucket.
const FAILED_VERBS: [&str; 3] = ["upload failed: ", "copy failed: ", "delete failed: "];

/// How the AWS CLI begins the warnings a sync prints (`create_warning` in its `utils.py`, and the
/// S3 Express one of `subcommands.py`).
const SYNC_WARNINGS: [&str; 3] = [
    "warning: Skipping file ",
    "warning: File ",
    "warning: Recursive copies/moves ",
];

/// Reads the sync's lines: `upload:`, `copy:` and `delete:` are the changes; failures, the line
/// that stopped it, `download:` and `(dryrun)` lines are counted as facts; progress and the sync's
/// own warnings are skipped; anything else is counted as foreign.
pub fn parse_sync_output(text: &str) -> Result<SyncChanges, SyncError> {
    let mut changes = SyncChanges::default();
    // Windows PowerShell's `Out-File -Encoding utf8` starts the file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw_line) in text.split('\n').enumerate() {
        let line = index + 1;
        let (mut sync_here, mut foreign_here) = (false, None);
        // On a terminal the CLI rewrites its progress line with `\r`, so one line of a captured
        // log can hold several statements; results are padded with spaces to hide the progress.
        for statement in raw_line.split('\r') {
            let statement = statement.trim_end();
            if statement.trim_start().is_empty() {
                continue;
            }
            if read_statement(statement, line, &mut changes)? {
                sync_here = true;
            } else if foreign_here.is_none() {
                foreign_here = Some(statement);
            }
        }
        changes.sync_lines += usize::from(sync_here);
        if let Some(foreign) = foreign_here {
            changes.foreign_lines += 1;
            changes.first_foreign.get_or_insert_with(|| NumberedLine {
                line,
                text: foreign.trim_start().to_owned(),
            });
        }
    }
    Ok(changes)
}

/// Records one non-blank statement; false when it is nothing `aws s3 sync` prints.
fn read_statement(
    statement: &str,
    line: usize,
    changes: &mut SyncChanges,
) -> Result<bool, SyncError> {
    let unreadable = |verb| SyncError::Unreadable {
        line,
        verb,
        text: statement.chars().take(120).collect(),
    };
    if statement.starts_with("(dryrun) ") {
        changes.dry_run_lines += 1;
    } else if let Some(rest) = statement.strip_prefix("upload: ") {
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
    } else if FAILED_VERBS
        .iter()
        .any(|prefix| statement.starts_with(prefix))
    {
        changes.failed.push(NumberedLine {
            line,
            text: statement.to_owned(),
        });
    } else if statement.starts_with("fatal error: ") || statement == "cancelled: ctrl-c received" {
        changes.stopped.get_or_insert_with(|| NumberedLine {
            line,
            text: statement.to_owned(),
        });
    } else if statement.starts_with("download: ") || statement.starts_with("download failed: ") {
        changes.download_lines += 1;
    } else if !(is_progress(statement)
        || SYNC_WARNINGS
            .iter()
            .any(|prefix| statement.starts_with(prefix)))
    {
        return Ok(false);
    }
    Ok(true)
}

/// `Completed 1.2 MiB/~3.4 MiB (1.1 MiB/s) with ~2 file(s) remaining (calculating...)`, or
/// `Completed 3 file(s) with 1 file(s) remaining` when there are no bytes to count.
fn is_progress(statement: &str) -> bool {
    statement.starts_with("Completed ") && statement.contains(" file(s) remaining")
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
        return Ok(key_path(&object.key));
    };
    let in_bucket = prefix
        .bucket
        .as_ref()
        .is_none_or(|bucket| bucket == &object.bucket);
    let below = match prefix.prefix.as_str() {
        "" => Some(object.key.as_str()),
        site => object
            .key
            .strip_prefix(site)
            .and_then(|rest| rest.strip_prefix('/')),
    };
    match below.filter(|_| in_bucket) {
        Some(below) => Ok(key_path(below)),
        None => Err(SyncError::OutsidePrefix {
            object: object.to_string(),
            prefix: match &prefix.bucket {
                Some(bucket) => format!("s3://{bucket}/{}", prefix.prefix),
                None => prefix.prefix.clone(),
            },
        }),
    }
}

/// The URL path of a key as the sync prints it, unencoded: what the key holds literally (`%`,
/// `?`, a `*`) is escaped as the S3-events function escapes a key, so that `100%41.html` is
/// not read as `100A.html`, nor `what?.html` as `what` with a query. A folder marker (`docs/`)
/// is no page, but its path still names the folder, as before.
fn key_path(key: &str) -> String {
    object_path(key, "", "/").unwrap_or_else(|_| format!("/{key}"))
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
            changes.failed,
            vec![NumberedLine {
                line: 5,
                text: "upload failed: site/x.html to s3://my-bucket/x.html An error occurred (AccessDenied)".to_owned()
            }]
        );
        assert_eq!((changes.sync_lines, changes.foreign_lines), (7, 0));
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
        for output in [
            "",
            "\n  \r\n\t\n",
            "Completed 3 file(s) with ~0 file(s) remaining (calculating...)\r          \n",
        ] {
            let changes = parse_sync_output(output).expect("readable");
            assert!(changes.is_empty(), "{output:?}");
            assert!(changes.looks_like_sync_output(), "{output:?}");
            assert_eq!(changes.foreign_lines, 0, "{output:?}");
        }
    }

    #[test]
    fn prose_is_not_sync_output_and_its_first_line_is_kept() {
        // GIVEN a file of words without one line of `aws s3 sync`, after a blank line
        let changes = parse_sync_output("\n  Deploy notes  \nUpload the site, then copy: it.\n")
            .expect("readable");
        // THEN it is not taken for a sync that changed nothing
        assert!(!changes.looks_like_sync_output());
        assert_eq!(changes.foreign_lines, 2);
        assert_eq!(
            changes.first_foreign,
            Some(NumberedLine {
                line: 2,
                text: "Deploy notes".to_owned()
            })
        );
    }

    #[test]
    fn a_sync_that_did_not_finish_keeps_what_it_changed_and_says_what_failed() {
        // GIVEN the log of a sync (stdout and stderr) that lost one upload, then the bucket
        let log = "\
upload: public/index.html to s3://site-bucket/index.html
upload failed: public/big.bin to s3://site-bucket/big.bin An error occurred (AccessDenied) when calling the PutObject operation: Access Denied
delete failed: s3://site-bucket/old.html An error occurred (AccessDenied) when calling the DeleteObject operation: Access Denied
copy failed: s3://other/a.png to s3://site-bucket/a.png An error occurred (NoSuchKey)
fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist
cancelled: ctrl-c received
";
        let changes = parse_sync_output(log).expect("readable");
        // THEN the upload that happened is kept, and each failure is a fact with its line
        assert_eq!(changes.uploaded, vec![object("site-bucket", "index.html")]);
        let failed: Vec<(usize, &str)> = changes
            .failed
            .iter()
            .map(|failure| {
                (
                    failure.line,
                    &failure.text[..failure.text.find(':').unwrap_or(0)],
                )
            })
            .collect();
        assert_eq!(
            failed,
            vec![
                (2, "upload failed"),
                (3, "delete failed"),
                (4, "copy failed")
            ]
        );
        assert!(
            changes.failed[1]
                .text
                .starts_with("delete failed: s3://site-bucket/old.html An error")
        );
        // AND the first line that stopped the sync is the one kept
        let stopped = changes.stopped.expect("stopped");
        assert_eq!(stopped.line, 5);
        assert!(
            stopped
                .text
                .starts_with("fatal error: An error occurred (NoSuchBucket)")
        );
        assert_eq!((changes.sync_lines, changes.foreign_lines), (6, 0));
    }

    #[test]
    fn a_fatal_error_alone_is_a_sync_that_changed_nothing() {
        let changes = parse_sync_output(
            "fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist\n",
        )
        .expect("readable");
        assert!(changes.is_empty());
        assert!(changes.looks_like_sync_output());
        assert!(changes.stopped.is_some());
    }

    #[test]
    fn foreign_lines_are_counted_once_a_line_and_the_first_is_kept() {
        // GIVEN a build log: shell trace lines around the sync's, with Windows line ends
        let log = "+ aws s3 sync public/ s3://b/ --delete\r\n\
upload: public/a.html to s3://b/a.html\r\n\
Completed 1 file(s) with 1 file(s) remaining\rsomething else\rand more\r\n\
download: s3://b/c.html to public/c.html\r\n\
warning: Skipping file /src/public/broken. File does not exist.\r\n\
warning: unused variable `x`\r\n";
        let changes = parse_sync_output(log).expect("readable");
        assert_eq!(changes.uploaded, vec![object("b", "a.html")]);
        assert_eq!(changes.download_lines, 1);
        // THEN line 3 counts once although two of its statements are foreign
        assert_eq!(changes.foreign_lines, 3);
        assert_eq!(changes.sync_lines, 4);
        assert_eq!(
            changes.first_foreign,
            Some(NumberedLine {
                line: 1,
                text: "+ aws s3 sync public/ s3://b/ --delete".to_owned()
            })
        );
    }

    /// GIVEN keys holding `%`, `?`, `*`, `+`, `~`, a space and é literally, as the sync prints
    /// them THEN their paths escape what the planner would otherwise read as an escape, a query
    /// or a wildcard in the middle, and leave the rest for the planner to encode.
    #[test]
    fn keys_are_paths_with_their_literal_percent_and_question_mark_escaped() {
        let output = "\
upload: s/100%41.html to s3://b/site/100%41.html
upload: s/100%.html to s3://b/site/100%.html
upload: s/what?.html to s3://b/site/what?.html
upload: s/a*b.html to s3://b/site/a*b.html
upload: s/a b+c~é.html to s3://b/site/a b+c~é.html
delete: s3://b/site/docs/
";
        let changes = parse_sync_output(output).expect("readable");
        let site = SitePrefix::parse("site").expect("prefix");
        let paths = site_paths(&changes, Some(&site)).expect("under the prefix");
        assert_eq!(
            paths,
            [
                "/100%2541.html",
                "/100%25.html",
                "/what%3F.html",
                "/a*",
                "/a b+c~é.html",
                "/docs/"
            ]
        );
        let sent: Vec<String> = paths
            .iter()
            .map(|path| cf_invalidate::plan::normalise_item(path).expect("a path"))
            .collect();
        assert_eq!(sent[0], "/100%2541.html");
        assert_eq!(sent[4], "/a%20b+c%7E%C3%A9.html");
        assert_eq!(
            site_paths(&changes, None).expect("no prefix")[2],
            "/site/what%3F.html"
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_hide_the_first_line() {
        let changes =
            parse_sync_output("\u{feff}upload: a.html to s3://b/a.html\n").expect("readable");
        assert_eq!(changes.uploaded, vec![object("b", "a.html")]);
        assert_eq!(changes.foreign_lines, 0);
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
        let outside = site_paths(&sibling, Some(&site)).expect_err("a sibling");
        assert_eq!(
            outside.to_string(),
            "the s3 sync output changed s3://b/site2/a.html, which is not under --site-prefix \
             \"site\": give the prefix the site was synced to (the part after the bucket in the \
             sync's s3:// destination), or leave --site-prefix out"
        );
        let other_bucket = SitePrefix::parse("s3://c/site").expect("prefix");
        let elsewhere = site_paths(&changes, Some(&other_bucket)).expect_err("another bucket");
        assert!(
            elsewhere.to_string().starts_with(
                "the s3 sync output changed s3://b/site/index.html, which is not under \
                 --site-prefix \"s3://c/site\""
            ),
            "{elsewhere}"
        );
        let no_bucket = SitePrefix::parse("s3:///site").expect_err("no bucket");
        assert_eq!(
            no_bucket.to_string(),
            "--site-prefix \"s3:///site\" names no bucket: write it as s3://my-bucket/prefix, or \
             as the prefix alone"
        );
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

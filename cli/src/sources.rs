//! Gathers the raw paths from arguments, a paths file and `aws s3 sync` output, and guards them.

use std::io::Read;
use std::path::Path;

use cf_invalidate::text::{clip, plural};

use super::args::PathArgs;
use cf_invalidate::params::{key_prefix_problem, path_prefix_problem};

use super::changed::{BuildChanges, S3Listings, changed_between};
use super::error::CliError;
use super::guard::root_like_paths;
use super::s3sync::{NumberedLine, SitePrefix, SyncChanges, parse_sync_output, site_paths};

/// The raw items to plan, and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectedPaths {
    /// Raw paths in the order read; the planner normalises, encodes and deduplicates them.
    pub paths: Vec<String>,
    /// What the sync did, when `--paths-from-s3-sync` was given.
    pub sync: Option<SyncChanges>,
    /// What differs between the builds, when `--changed-between` was given.
    pub build: Option<BuildChanges>,
    /// What the user must hear about the input although it was usable: a sync that did not
    /// finish, lines that were not the sync's. Each is shown as `warning: {text}`.
    pub warnings: Vec<String>,
}

impl CollectedPaths {
    /// Only a sync or two builds were asked about, and nothing changed: there is nothing to
    /// invalidate.
    pub fn is_unchanged_sync(&self) -> bool {
        self.paths.is_empty() && (self.sync.is_some() || self.build.is_some())
    }

    /// What a run with nothing to invalidate says first.
    pub fn unchanged_sentence(&self) -> &'static str {
        if self.build.is_some() {
            "The builds are the same"
        } else {
            "The sync changed nothing"
        }
    }
}

/// Where a `FILE|-` argument points.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads every source; `stdin` stands for standard input and `root_entries` for the names in `/`.
pub fn collect(
    args: &PathArgs,
    stdin: &mut dyn Read,
    root_entries: &[String],
    s3: &S3Listings,
) -> Result<CollectedPaths, CliError> {
    if !args.allow_root_like_paths {
        let suspicious = root_like_paths(&args.paths, root_entries);
        if !suspicious.is_empty() {
            let mut shown: Vec<&str> = suspicious.iter().copied().take(8).collect();
            if suspicious.len() > shown.len() {
                shown.push("…");
            }
            return Err(CliError::ShellExpanded {
                count: suspicious.len(),
                shown: shown.join(" "),
            });
        }
    }
    if let (Some(list), Some(sync)) = (&args.paths_from, &args.paths_from_s3_sync)
        && is_stdin(list)
        && is_stdin(sync)
    {
        return Err(CliError::StdinTwice);
    }
    // Checked before reading anything, so that a wrong prefix fails fast even on a big sync log.
    let prefix = args
        .site_prefix
        .as_deref()
        .map(SitePrefix::parse)
        .transpose()
        .map_err(CliError::SitePrefix)?;

    let mut collected = CollectedPaths {
        paths: args.paths.clone(),
        ..CollectedPaths::default()
    };
    if let Some(source) = &args.paths_from {
        let text = read_text("--paths-from", source, stdin)?;
        collected.paths.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
    if let Some(source) = &args.paths_from_s3_sync {
        let text = read_text("--paths-from-s3-sync", source, stdin)?;
        let shown = source.display().to_string();
        let unreadable = |source| CliError::SyncOutput {
            path: shown.clone(),
            source,
        };
        let changes = parse_sync_output(&text).map_err(unreadable)?;
        let name = if is_stdin(source) {
            "standard input"
        } else {
            shown.as_str()
        };
        if !changes.looks_like_sync_output() {
            return Err(CliError::NotSyncOutput {
                path: if is_stdin(source) {
                    format!("- ({name})")
                } else {
                    shown
                },
                first: changes
                    .first_foreign
                    .as_ref()
                    .map(|first| clip(&first.text, QUOTED_FOREIGN_CHARS))
                    .unwrap_or_default(),
            });
        }
        collected.warnings.extend(sync_warnings(&changes, name));
        let paths = site_paths(&changes, prefix.as_ref()).map_err(unreadable)?;
        collected.paths.extend(paths);
        collected.sync = Some(changes);
    }
    if let Some(sides) = &args.changed_between
        && let [old, new] = sides.as_slice()
    {
        let (key_prefix, path_prefix) = prefixes(args)?;
        let mut build = changed_between(old, new, key_prefix, path_prefix, s3)?;
        collected.paths.append(&mut build.paths);
        collected.build = Some(build);
    }
    Ok(collected)
}

/// `--key-prefix` (default none) and `--path-prefix` (default `/`), checked.
pub fn prefixes(args: &PathArgs) -> Result<(&str, &str), CliError> {
    let key_prefix = args.key_prefix.as_deref().unwrap_or_default();
    let path_prefix = args.path_prefix.as_deref().unwrap_or("/");
    checked_prefix("key-prefix", key_prefix, key_prefix_problem)?;
    checked_prefix("path-prefix", path_prefix, path_prefix_problem)?;
    Ok((key_prefix, path_prefix))
}

/// The prefix rules are the S3-events function's; the message names the flag.
fn checked_prefix(
    flag: &'static str,
    value: &str,
    problem: fn(&str) -> Option<&'static str>,
) -> Result<(), CliError> {
    match problem(value) {
        Some(problem) => Err(CliError::BuildPrefix {
            flag,
            value: cf_invalidate::values::shown(value),
            problem,
        }),
        None => Ok(()),
    }
}

/// How much of a line that is not the sync's is quoted: enough to recognise it.
const QUOTED_FOREIGN_CHARS: usize = 80;
/// How much of a failure is quoted: the object, the error code and usually its message.
const QUOTED_FAILURE_CHARS: usize = 240;
/// Failed transfers quoted one by one; the rest are counted.
const FAILURES_SHOWN: usize = 3;

/// What the user must know of a usable sync output beyond the paths: `source` names it.
fn sync_warnings(changes: &SyncChanges, source: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let failed = changes.failed.len();
    if failed > 0 {
        let mut shown: Vec<String> = changes
            .failed
            .iter()
            .take(FAILURES_SHOWN)
            .map(|failure| quoted(failure, QUOTED_FAILURE_CHARS))
            .collect();
        if failed > FAILURES_SHOWN {
            shown.push(format!("and {} more", failed - FAILURES_SHOWN));
        }
        let (those, were, are) = if failed == 1 {
            ("its object", "was", "is")
        } else {
            ("their objects", "were", "are")
        };
        warnings.push(format!(
            "the sync did not finish: {failed} transfer{} failed, so {those} {were} not changed and {are} not invalidated ({}). Fix the cause and run the sync again; only what the sync did change is invalidated",
            plural(failed),
            shown.join("; ")
        ));
    }
    if let Some(stop) = &changes.stopped {
        warnings.push(format!(
            "the sync did not finish: it stopped at {}, so what it had not reached was not changed and is not invalidated. Fix the cause and run the sync again; only what the sync did change is invalidated",
            quoted(stop, QUOTED_FAILURE_CHARS)
        ));
    }
    let downloads = changes.download_lines;
    if downloads > 0 {
        warnings.push(format!(
            "{downloads} download line{} of {source} {} skipped: that sync copied from S3 to this computer, which changes nothing to invalidate. Give the output of the sync to the bucket",
            plural(downloads),
            if downloads == 1 { "was" } else { "were" }
        ));
    }
    let foreign = changes.foreign_lines;
    if let Some(first) = &changes.first_foreign {
        warnings.push(if foreign == 1 {
            format!(
                "1 line of {source} was not a sync line and was skipped ({})",
                quoted(first, QUOTED_FOREIGN_CHARS)
            )
        } else {
            format!(
                "{foreign} lines of {source} were not sync lines and were skipped (first: {})",
                quoted(first, QUOTED_FOREIGN_CHARS)
            )
        });
    }
    warnings
}

/// `line 4: "upload failed: …"`, cut to `max_chars` characters of the line.
fn quoted(line: &NumberedLine, max_chars: usize) -> String {
    format!("line {}: {:?}", line.line, clip(&line.text, max_chars))
}

fn read_text(flag: &'static str, source: &Path, stdin: &mut dyn Read) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let read = if is_stdin(source) {
        stdin.read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(source).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|error| CliError::ReadFile {
        flag,
        path: source.to_path_buf(),
        source: error,
    })?;
    // Lossy decoding would turn a byte into U+FFFD and invalidate a path that does not exist.
    String::from_utf8(bytes).map_err(|error| CliError::NotText {
        flag,
        path: source.display().to_string(),
        offset: error.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args(paths: &[&str]) -> PathArgs {
        PathArgs {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            ..PathArgs::default()
        }
    }

    /// `collect` with `stdin` as standard input, a root of four names and no S3 side.
    fn collect_from(args: &PathArgs, stdin: impl AsRef<[u8]>) -> Result<CollectedPaths, CliError> {
        let root = ["bin", "etc", "usr", "var"].map(str::to_owned);
        collect(args, &mut stdin.as_ref(), &root, &S3Listings::new())
    }

    #[test]
    fn paths_from_standard_input_keep_spaces_and_skip_blank_lines() {
        let mut given = args(&["/a.html"]);
        given.paths_from = Some(PathBuf::from("-"));
        let collected =
            collect_from(&given, "/my file.html\r\n\n  /b.html  \n").expect("collected");
        assert_eq!(collected.paths, vec!["/a.html", "/my file.html", "/b.html"]);
        assert!(collected.sync.is_none());
    }

    #[test]
    fn a_sync_from_standard_input_becomes_site_paths() {
        let mut given = args(&[]);
        given.paths_from_s3_sync = Some(PathBuf::from("-"));
        given.site_prefix = Some("www".to_owned());
        let upload = "upload: out/a b.html to s3://bkt/www/a b.html\n";
        let collected = collect_from(&given, upload).expect("collected");
        assert_eq!(collected.paths, vec!["/a b.html"]);
        let unchanged = collect_from(&given, "").expect("collected");
        assert!(unchanged.is_unchanged_sync());
    }

    fn sync_from_stdin(text: &str) -> Result<CollectedPaths, CliError> {
        let mut given = args(&[]);
        given.paths_from_s3_sync = Some(PathBuf::from("-"));
        collect_from(&given, text)
    }

    #[test]
    fn text_that_is_not_sync_output_is_refused_with_its_first_line() {
        let long = "x".repeat(100);
        let error = sync_from_stdin(&format!("\n{long}\nmore words\n")).expect_err("not a sync");
        let message = error.to_string();
        assert!(
            message.starts_with(
                "--paths-from-s3-sync - (standard input) does not look like `aws s3 sync` output: its first line is \"xxxx"
            ),
            "{message}"
        );
        assert!(
            message.contains(&format!("\"{}…\"", "x".repeat(80))),
            "{message}"
        );
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
    }

    #[test]
    fn blank_input_is_a_sync_that_changed_nothing_without_a_warning() {
        let collected = sync_from_stdin("\n \r\n").expect("collected");
        assert!(collected.is_unchanged_sync());
        assert_eq!(collected.warnings, Vec::<String>::new());
    }

    #[test]
    fn failures_a_stop_and_foreign_lines_are_warned_about_once_each() {
        let collected = sync_from_stdin(
            "\
+ aws s3 sync public/ s3://b/
upload: public/a.html to s3://b/a.html
upload failed: public/big.bin to s3://b/big.bin An error occurred (AccessDenied) when calling the PutObject operation: Access Denied
download: s3://b/c.html to public/c.html
make: *** [deploy] Error 1
fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist
",
        )
        .expect("collected");
        assert_eq!(collected.paths, vec!["/a.html"]);
        assert_eq!(
            collected.warnings,
            vec![
                "the sync did not finish: 1 transfer failed, so its object was not changed and is not invalidated (line 3: \"upload failed: public/big.bin to s3://b/big.bin An error occurred (AccessDenied) when calling the PutObject operation: Access Denied\"). Fix the cause and run the sync again; only what the sync did change is invalidated",
                "the sync did not finish: it stopped at line 6: \"fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist\", so what it had not reached was not changed and is not invalidated. Fix the cause and run the sync again; only what the sync did change is invalidated",
                "1 download line of standard input was skipped: that sync copied from S3 to this computer, which changes nothing to invalidate. Give the output of the sync to the bucket",
                "2 lines of standard input were not sync lines and were skipped (first: line 1: \"+ aws s3 sync public/ s3://b/\")",
            ]
        );
    }

    #[test]
    fn many_failures_are_counted_after_the_first_three() {
        let log: String = (1..=5)
            .map(|n| format!("delete failed: s3://b/{n}.html An error occurred (AccessDenied)\n"))
            .collect();
        let collected = sync_from_stdin(&log).expect("collected");
        assert!(collected.is_unchanged_sync());
        let [warning] = collected.warnings.as_slice() else {
            panic!("one warning: {:?}", collected.warnings);
        };
        assert!(
            warning.starts_with("the sync did not finish: 5 transfers failed, so their objects were not changed and are not invalidated (line 1: \"delete failed: s3://b/1.html"),
            "{warning}"
        );
        assert!(
            warning.contains("(AccessDenied)\"; and 2 more). Fix the cause"),
            "{warning}"
        );
        assert!(!warning.contains("4.html"), "{warning}");
    }

    #[test]
    fn the_guard_and_the_stdin_rule_stop_before_reading() {
        let expanded = args(&["/bin", "/etc", "/usr", "/var"]);
        let error = collect_from(&expanded, "").expect_err("guarded");
        assert!(error.to_string().contains("'/*'"), "{error}");
        let mut allowed = expanded.clone();
        allowed.allow_root_like_paths = true;
        assert!(collect_from(&allowed, "").is_ok());

        let mut both = args(&[]);
        both.paths_from = Some(PathBuf::from("-"));
        both.paths_from_s3_sync = Some(PathBuf::from("-"));
        assert!(matches!(collect_from(&both, ""), Err(CliError::StdinTwice)));
    }

    #[test]
    fn unreadable_and_binary_files_are_named() {
        let mut missing = args(&[]);
        missing.paths_from = Some(PathBuf::from("/nonexistent/paths.txt"));
        let error = collect_from(&missing, "").expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("cannot read --paths-from /nonexistent/paths.txt:"),
            "{error}"
        );
        let mut binary = args(&[]);
        binary.paths_from = Some(PathBuf::from("-"));
        let error = collect_from(&binary, [b'/', b'a', 0xff]).expect_err("bin");
        assert!(error.to_string().contains("not UTF-8"), "{error}");
    }
}

//! Gathers the raw paths from arguments, a paths file and `aws s3 sync` output, and guards them.

use std::io::Read;
use std::path::Path;

use super::args::PathArgs;
use super::error::CliError;
use super::guard::root_like_paths;
use super::s3sync::{SitePrefix, SyncChanges, parse_sync_output, site_paths};

/// The raw items to plan, and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectedPaths {
    /// Raw paths in the order read; the planner normalises, encodes and deduplicates them.
    pub paths: Vec<String>,
    /// What the sync did, when `--paths-from-s3-sync` was given.
    pub sync: Option<SyncChanges>,
}

impl CollectedPaths {
    /// Only a sync was asked about, and it changed nothing: there is nothing to invalidate.
    pub fn is_unchanged_sync(&self) -> bool {
        self.paths.is_empty() && self.sync.is_some()
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
        sync: None,
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
        let changes = parse_sync_output(&text).map_err(|source| CliError::SyncOutput {
            path: shown.clone(),
            source,
        })?;
        let paths =
            site_paths(&changes, prefix.as_ref()).map_err(|source| CliError::SyncOutput {
                path: shown,
                source,
            })?;
        collected.paths.extend(paths);
        collected.sync = Some(changes);
    }
    Ok(collected)
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
            paths_option: Vec::new(),
            paths_from: None,
            paths_from_s3_sync: None,
            site_prefix: None,
            directory_index: None,
            max_paths: 100,
            allow_root_like_paths: false,
        }
    }

    fn root() -> Vec<String> {
        ["bin", "etc", "usr", "var"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn paths_from_standard_input_keep_spaces_and_skip_blank_lines() {
        let mut given = args(&["/a.html"]);
        given.paths_from = Some(PathBuf::from("-"));
        let mut stdin = "/my file.html\r\n\n  /b.html  \n".as_bytes();
        let collected = collect(&given, &mut stdin, &root()).expect("collected");
        assert_eq!(collected.paths, vec!["/a.html", "/my file.html", "/b.html"]);
        assert!(collected.sync.is_none());
    }

    #[test]
    fn a_sync_from_standard_input_becomes_site_paths() {
        let mut given = args(&[]);
        given.paths_from_s3_sync = Some(PathBuf::from("-"));
        given.site_prefix = Some("www".to_owned());
        let mut stdin = "upload: out/a b.html to s3://bkt/www/a b.html\n".as_bytes();
        let collected = collect(&given, &mut stdin, &root()).expect("collected");
        assert_eq!(collected.paths, vec!["/a b.html"]);
        let mut nothing = "".as_bytes();
        let unchanged = collect(&given, &mut nothing, &root()).expect("collected");
        assert!(unchanged.is_unchanged_sync());
    }

    #[test]
    fn the_guard_and_the_stdin_rule_stop_before_reading() {
        let expanded = args(&["/bin", "/etc", "/usr", "/var"]);
        let error = collect(&expanded, &mut "".as_bytes(), &root()).expect_err("guarded");
        assert!(error.to_string().contains("'/*'"), "{error}");
        let mut allowed = expanded.clone();
        allowed.allow_root_like_paths = true;
        assert!(collect(&allowed, &mut "".as_bytes(), &root()).is_ok());

        let mut both = args(&[]);
        both.paths_from = Some(PathBuf::from("-"));
        both.paths_from_s3_sync = Some(PathBuf::from("-"));
        assert!(matches!(
            collect(&both, &mut "".as_bytes(), &root()),
            Err(CliError::StdinTwice)
        ));
    }

    #[test]
    fn unreadable_and_binary_files_are_named() {
        let mut missing = args(&[]);
        missing.paths_from = Some(PathBuf::from("/nonexistent/paths.txt"));
        let error = collect(&missing, &mut "".as_bytes(), &root()).expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("cannot read --paths-from /nonexistent/paths.txt:"),
            "{error}"
        );
        let mut binary = args(&[]);
        binary.paths_from = Some(PathBuf::from("-"));
        let error = collect(&binary, &mut [b'/', b'a', 0xff].as_slice(), &root()).expect_err("bin");
        assert!(error.to_string().contains("not UTF-8"), "{error}");
    }
}

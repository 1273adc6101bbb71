//! `--outputs-file` and `--summary-file`: a CI's view of an `invalidate` run, written where the CI
//! reads it. The formats are GitHub Actions' (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`), and
//! `name=value` lines are also a dotenv file for the CIs that read those.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use cf_invalidate::text::{plural, thousands};

use crate::error::CliError;
use crate::report::{RunReport, RunResult};

/// The most paths the summary lists; GitHub keeps 1 MiB of a step's summary.
const SUMMARY_PATHS: usize = 1000;

/// Where the run's outputs and summary are appended; both optional.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CiFiles {
    /// Append the outputs `invalidation-ids=`, `status=` and `path-count=` to FILE, one a line
    /// (GitHub Actions: --outputs-file "$GITHUB_OUTPUT"; also a dotenv file)
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,

    /// Append a Markdown summary of the run to FILE: each distribution's invalidation, status,
    /// paths billed and time, then the plan (GitHub Actions: --summary-file "$GITHUB_STEP_SUMMARY")
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
}

impl CiFiles {
    /// Writes a finished run's outputs and summary.
    pub fn write_report(&self, report: &RunReport) -> Result<(), CliError> {
        if let Some(file) = &self.outputs_file {
            append("--outputs-file", file, &outputs(report))?;
        }
        if let Some(file) = &self.summary_file {
            append("--summary-file", file, &summary(report))?;
        }
        Ok(())
    }

    /// Writes the outputs and summary of a run that ended before it could start: bad input,
    /// no credentials. A CI step that reads `status` then sees `Failed`, not nothing.
    pub fn write_error(&self, error: &CliError) -> Result<(), CliError> {
        if let Some(file) = &self.outputs_file {
            append(
                "--outputs-file",
                file,
                "invalidation-ids=\nstatus=Failed\npath-count=0\n",
            )?;
        }
        if let Some(file) = &self.summary_file {
            let text = format!(
                "### CloudFront invalidation: failed\n\nNothing was sent to CloudFront.\n\n> {}\n\n",
                one_line(&error.to_string())
            );
            append("--summary-file", file, &text)?;
        }
        Ok(())
    }
}

/// The outputs' `status` (CloudFront's word for the invalidations where there is one) and the
/// summary's heading.
fn words(result: RunResult) -> (&'static str, &'static str) {
    match result {
        RunResult::Completed => ("Completed", "completed"),
        // Created and not waited for, or still running when --timeout ran out.
        RunResult::Created => ("InProgress", "created, not waited for"),
        RunResult::TimedOut => ("InProgress", "still in progress at the timeout"),
        RunResult::Failed => ("Failed", "failed"),
        RunResult::NothingToInvalidate => ("NothingToInvalidate", "nothing to invalidate"),
        RunResult::Interrupted => ("Interrupted", "interrupted"),
    }
}

fn outputs(report: &RunReport) -> String {
    let ids: Vec<&str> = report
        .distributions
        .iter()
        .filter_map(|distribution| distribution.invalidation_id.as_deref())
        .collect();
    format!(
        "invalidation-ids={}\nstatus={}\npath-count={}\n",
        ids.join(","),
        words(report.result).0,
        report.billed_paths.unwrap_or(0)
    )
}

fn summary(report: &RunReport) -> String {
    let mut text = String::new();
    let heading = words(report.result).1;
    let _ = writeln!(text, "### CloudFront invalidation: {heading}\n");
    if !report.distributions.is_empty() {
        let billed = report.billed_paths.unwrap_or(0);
        text.push_str("| Distribution | Invalidation | Status | Paths billed | Time |\n");
        text.push_str("| --- | --- | --- | ---: | ---: |\n");
        for distribution in &report.distributions {
            let id = distribution
                .invalidation_id
                .as_deref()
                .map_or_else(|| "none created".to_owned(), |id| format!("`{id}`"));
            // CloudFront bills the paths of an invalidation it created, once per distribution.
            let paths = if distribution.invalidation_id.is_some() {
                thousands(billed)
            } else {
                "0".to_owned()
            };
            let time = distribution.took().unwrap_or_else(|| "–".to_owned());
            let _ = writeln!(
                text,
                "| `{}` | {id} | {} | {paths} | {time} |",
                distribution.target, distribution.status
            );
        }
        text.push('\n');
    }
    let _ = writeln!(text, "{}\n", one_line(&report.message));
    for warning in &report.warnings {
        let _ = writeln!(text, "- warning: {}", one_line(warning));
    }
    if !report.warnings.is_empty() {
        text.push('\n');
    }
    if let Some(paths) = report.paths.as_ref().filter(|paths| !paths.is_empty()) {
        let requested = report.requested_paths.unwrap_or(paths.len());
        let collapsed = if report.collapsed == Some(true) {
            format!(", collapsed from {} requested", thousands(requested))
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "<details><summary>The plan: {} path{}{collapsed}</summary>\n",
            thousands(paths.len()),
            plural(paths.len())
        );
        // A fence longer than any run of backticks in the paths, so none can end it early.
        let longest = paths
            .iter()
            .map(|path| backtick_run(path))
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = writeln!(text, "{fence}text");
        for path in paths.iter().take(SUMMARY_PATHS) {
            let _ = writeln!(text, "{path}");
        }
        if paths.len() > SUMMARY_PATHS {
            let _ = writeln!(
                text,
                "… and {} more",
                thousands(paths.len() - SUMMARY_PATHS)
            );
        }
        let _ = writeln!(text, "{fence}\n\n</details>\n");
    }
    text
}

/// The longest run of backticks in `text`.
fn backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A message as one Markdown line: newlines would end a quote or a list item.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn append(flag: &'static str, file: &Path, text: &str) -> Result<(), CliError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut handle| handle.write_all(text.as_bytes()))
        .map_err(|source| CliError::WriteFile {
            flag,
            path: file.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::DistributionReport;
    use cf_invalidate::params::Target;

    fn report(result: RunResult, ids: &[Option<&str>], paths: &[&str]) -> RunReport {
        RunReport {
            command: "invalidate",
            result,
            succeeded: matches!(result, RunResult::Completed),
            exit_code: if matches!(result, RunResult::Completed) {
                0
            } else {
                1
            },
            elapsed_seconds: 2.0,
            paths: Some(paths.iter().map(|path| (*path).to_owned()).collect()),
            billed_paths: Some(paths.len()),
            requested_paths: Some(paths.len()),
            collapsed: Some(false),
            changes: None,
            distributions: ids
                .iter()
                .enumerate()
                .map(|(n, id)| DistributionReport {
                    target: Target::parse(&format!("E2QWRUHAPOMQZ{n}")).expect("id"),
                    invalidation_id: id.map(str::to_owned),
                    status: if id.is_some() { "Completed" } else { "Failed" },
                    caller_reference: None,
                    created_after_seconds: Some(0.1),
                    completed_after_seconds: Some(2.1),
                    duration_seconds: id.map(|_| 2.0),
                    failure_type: None,
                    error: None,
                })
                .collect(),
            message: "Invalidated 2 paths on 2 distributions in 2s.".to_owned(),
            warnings: vec!["one\nwarning".to_owned()],
        }
    }

    #[test]
    fn outputs_name_the_created_ids_the_status_and_the_billed_paths() {
        let done = report(
            RunResult::Completed,
            &[Some("I2J0I21PCUYOIK"), Some("I3K1J32QDVZPJL")],
            &["/a.html", "/b.html"],
        );
        assert_eq!(
            outputs(&done),
            "invalidation-ids=I2J0I21PCUYOIK,I3K1J32QDVZPJL\nstatus=Completed\npath-count=2\n"
        );
        let half = report(RunResult::Failed, &[Some("I2J0I21PCUYOIK"), None], &["/a"]);
        assert_eq!(
            outputs(&half),
            "invalidation-ids=I2J0I21PCUYOIK\nstatus=Failed\npath-count=1\n"
        );
        assert_eq!(words(RunResult::TimedOut).0, "InProgress");
        assert_eq!(words(RunResult::Created).0, "InProgress");
    }

    #[test]
    fn the_summary_is_a_table_then_the_plan_in_a_fence_no_path_can_close() {
        let text = summary(&report(
            RunResult::Failed,
            &[Some("I2J0I21PCUYOIK"), None],
            &["/a.html", "/odd```name.html"],
        ));
        assert!(
            text.starts_with("### CloudFront invalidation: failed\n\n"),
            "{text}"
        );
        assert!(
            text.contains("| `E2QWRUHAPOMQZ0` | `I2J0I21PCUYOIK` | Completed | 2 | 2s |\n"),
            "{text}"
        );
        assert!(
            text.contains("| `E2QWRUHAPOMQZ1` | none created | Failed | 0 | – |\n"),
            "{text}"
        );
        assert!(text.contains("- warning: one warning\n"), "{text}");
        assert!(
            text.contains("````text\n/a.html\n/odd```name.html\n````\n"),
            "{text}"
        );
    }

    #[test]
    fn a_long_plan_is_cut_in_the_summary() {
        let paths: Vec<String> = (0..1500).map(|n| format!("/p{n}.html")).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let text = summary(&report(RunResult::Completed, &[Some("I1")], &refs));
        assert!(text.contains("/p999.html\n… and 500 more\n"), "{text}");
        assert!(!text.contains("/p1000.html"));
    }

    #[test]
    fn files_are_appended_to_not_replaced() {
        let dir =
            std::env::temp_dir().join(format!("cf-invalidate-cifiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let outputs_file = dir.join("outputs");
        std::fs::write(&outputs_file, "earlier=1\n").expect("write");
        let files = CiFiles {
            outputs_file: Some(outputs_file.clone()),
            summary_file: None,
        };
        files
            .write_error(&CliError::NoDistribution)
            .expect("written");
        assert_eq!(
            std::fs::read_to_string(&outputs_file).expect("read"),
            "earlier=1\ninvalidation-ids=\nstatus=Failed\npath-count=0\n"
        );
        let missing = CiFiles {
            outputs_file: Some(dir.join("no-such-dir").join("outputs")),
            summary_file: None,
        };
        let error = missing
            .write_error(&CliError::NoDistribution)
            .expect_err("cannot write");
        assert!(
            error
                .to_string()
                .starts_with("cannot write --outputs-file "),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

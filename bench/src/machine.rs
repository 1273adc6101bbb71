//! What the figures were measured on: CPU, memory, OS, load, tool versions, date.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde::Serialize;

/// The machine and the software versions of a run; anything unreadable is "unknown".
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// UTC, ISO 8601, when the run started.
    pub date: String,
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    pub memory_gib: f64,
    pub os: String,
    pub kernel: String,
    /// 1-, 5- and 15-minute load averages.
    pub load_at_start: String,
    pub rustc: String,
    pub python: String,
    /// awslambdaric, boto3 and botocore in that Python.
    pub python_packages: String,
    /// "not used" when the run needs no AWS CLI.
    pub aws_cli: String,
}

/// The value after `key` on the first line of `file` that starts with it.
fn field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    Some(
        line.trim_start_matches([':', '=', ' ', '\t'])
            .trim()
            .trim_matches('"')
            .to_string(),
    )
}

pub fn describe(python: &Path, aws: Option<&Path>) -> Machine {
    let memory_kib: f64 = field("/proc/meminfo", "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let versions = "import importlib.metadata as m; print('awslambdaric', m.version('awslambdaric'), \
                    '/ boto3', m.version('boto3'), '/ botocore', m.version('botocore'))";
    Machine {
        date: local_aws::iso8601(SystemTime::now()),
        cpu: field("/proc/cpuinfo", "model name").unwrap_or_else(unknown),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: memory_kib / 1024.0 / 1024.0,
        os: field("/etc/os-release", "PRETTY_NAME").unwrap_or_else(unknown),
        kernel: field("/proc/sys/kernel/osrelease", "").unwrap_or_else(unknown),
        load_at_start: load_now(),
        rustc: output(Path::new("rustc"), &["-V"]),
        python: output(python, &["--version"]),
        python_packages: output(python, &["-c", versions]),
        aws_cli: aws.map_or_else(|| "not used".to_string(), |aws| output(aws, &["--version"])),
    }
}

pub fn load_now() -> String {
    field("/proc/loadavg", "")
        .map(|line| {
            line.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(unknown)
}

fn output(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().ok();
    let output = output.filter(|o| o.status.success());
    let text = output.map(|o| {
        if o.stdout.is_empty() {
            o.stderr
        } else {
            o.stdout
        }
    });
    let text = text.map(|t| String::from_utf8_lossy(&t).trim().to_string());
    text.filter(|t| !t.is_empty()).unwrap_or_else(unknown)
}

fn unknown() -> String {
    "unknown".to_string()
}

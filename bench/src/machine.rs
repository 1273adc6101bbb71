//! What the figures were measured on: CPU, memory, OS, load, tool versions, date.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde::Serialize;

/// The machine and the software versions of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// UTC, ISO 8601, when the run started.
    pub date: String,
    /// CPU model name.
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// OS name and version.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// 1-, 5- and 15-minute load averages at the start.
    pub load_at_start: String,
    /// `rustc -V`.
    pub rustc: String,
    /// `python --version` of the baseline's interpreter.
    pub python: String,
    /// Versions of awslambdaric and boto3 in that interpreter.
    pub python_packages: String,
    /// `aws --version` ("not used" when the run needs no AWS CLI).
    pub aws_cli: String,
}

/// Reads it all; anything unreadable is "unknown".
pub fn describe(python: &Path, aws: Option<&Path>) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
        .unwrap_or_else(unknown);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(unknown);
    let first_line = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
            .unwrap_or_else(unknown)
    };
    let load = first_line("/proc/loadavg");
    let load_at_start = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    Machine {
        date: local_aws::iso8601(SystemTime::now()),
        cpu,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: memory_kib / 1024.0 / 1024.0,
        os,
        kernel: first_line("/proc/sys/kernel/osrelease"),
        load_at_start,
        rustc: output(Path::new("rustc"), &["-V"]),
        python: output(python, &["--version"]),
        python_packages: output(
            python,
            &[
                "-c",
                "import importlib.metadata as m; print('awslambdaric', m.version('awslambdaric'), '/ boto3', m.version('boto3'), '/ botocore', m.version('botocore'))",
            ],
        ),
        aws_cli: aws.map_or_else(|| "not used".to_string(), |aws| output(aws, &["--version"])),
    }
}

/// The 1-minute load average now.
pub fn load_now() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| {
            let fields: Vec<&str> = t.split_whitespace().take(3).collect();
            (!fields.is_empty()).then(|| fields.join(" "))
        })
        .unwrap_or_else(unknown)
}

fn output(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text).trim().to_string()
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(unknown)
}

fn unknown() -> String {
    "unknown".to_string()
}

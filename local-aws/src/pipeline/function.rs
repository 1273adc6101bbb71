//! The function under test as a child process: Lambda's environment, captured output, kill.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputLine {
    /// When it was read, in milliseconds since the run started.
    pub at_ms: u64,
    /// Which process printed it (1 for the first cold start, 2 after the first restart, ...).
    pub process: u32,
    pub stream: OutputStream,
    /// The line, without its newline (invalid UTF-8 replaced).
    pub text: String,
}

/// How the child ended (neither code nor signal: the wait itself failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl ExitInfo {
    pub(crate) fn from_status(status: ExitStatus) -> Self {
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&status);
        #[cfg(not(unix))]
        let signal = None;
        Self {
            code: status.code(),
            signal,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown exit".to_string(),
        }
    }
}

pub(crate) type OutputSink = Arc<dyn Fn(&OutputLine) + Send + Sync>;

pub(crate) struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

pub(crate) struct FunctionProcess {
    spec: SpawnSpec,
    clock: Clock,
    child: Option<Child>,
    generation: u32,
    output: Arc<Mutex<Vec<OutputLine>>>,
    readers: Vec<JoinHandle<()>>,
    sink: Option<OutputSink>,
    peak_rss_kib: Option<u64>,
}

impl FunctionProcess {
    pub(crate) fn new(spec: SpawnSpec, clock: Clock, sink: Option<OutputSink>) -> Self {
        Self {
            spec,
            clock,
            child: None,
            generation: 0,
            output: Arc::new(Mutex::new(Vec::new())),
            readers: Vec::new(),
            sink,
            peak_rss_kib: None,
        }
    }

    /// The largest peak resident set (`VmHWM`, KiB) of the processes this one killed, read
    /// just before each kill (Linux only; a process that exited by itself is not counted).
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        self.peak_rss_kib
    }

    fn note_peak_rss(&mut self) {
        let Some(pid) = self.child.as_ref().and_then(Child::id) else {
            return;
        };
        if let Some(kib) = peak_rss_kib_of(pid) {
            self.peak_rss_kib = Some(self.peak_rss_kib.map_or(kib, |p| p.max(kib)));
        }
    }

    /// The number of the current (or last) process.
    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    /// Whether a process is running now (reaps one that exited).
    pub(crate) fn is_running(&mut self) -> Option<ExitInfo> {
        let exit = match self.child.as_mut()?.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => ExitInfo::from_status(status),
            Err(_) => ExitInfo::default(),
        };
        self.child = None;
        Some(exit)
    }

    pub(crate) fn alive(&mut self) -> bool {
        self.child.is_some() && self.is_running().is_none()
    }

    /// Starts a fresh process (a cold start).
    pub(crate) fn spawn(&mut self) -> std::io::Result<()> {
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.args)
            .env_clear()
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        self.generation += 1;
        if let Some(out) = child.stdout.take() {
            self.readers.push(self.reader(out, OutputStream::Stdout));
        }
        if let Some(err) = child.stderr.take() {
            self.readers.push(self.reader(err, OutputStream::Stderr));
        }
        self.child = Some(child);
        Ok(())
    }

    fn reader<R: AsyncRead + Unpin + Send + 'static>(
        &self,
        stream: R,
        which: OutputStream,
    ) -> JoinHandle<()> {
        let output = self.output.clone();
        let clock = self.clock.clone();
        let process = self.generation;
        let sink = self.sink.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                            buf.pop();
                        }
                        let line = OutputLine {
                            at_ms: clock.elapsed_ms(),
                            process,
                            stream: which,
                            text: String::from_utf8_lossy(&buf).into_owned(),
                        };
                        if let Some(sink) = &sink {
                            sink(&line);
                        }
                        output
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(line);
                    }
                }
            }
        })
    }

    /// Waits for the running process to exit (pending forever when there is none).
    pub(crate) async fn exited(&mut self) -> ExitInfo {
        let Some(child) = self.child.as_mut() else {
            return std::future::pending().await;
        };
        let exit = child.wait().await;
        self.child = None;
        exit.map_or(ExitInfo::default(), ExitInfo::from_status)
    }

    /// SIGKILLs the running process and reaps it.
    pub(crate) async fn kill(&mut self) -> Option<ExitInfo> {
        // The kernel keeps the high-water mark until the process is reaped: read it first.
        self.note_peak_rss();
        let mut child = self.child.take()?;
        let _ = child.start_kill();
        let waited = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        waited.ok()?.ok().map(ExitInfo::from_status)
    }

    /// Kills the process and collects every line printed.
    pub(crate) async fn finish(&mut self) -> Vec<OutputLine> {
        self.kill().await;
        for reader in self.readers.drain(..) {
            // The pipes close with the process; don't wait long on a grandchild holding them.
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        let mut lines = self
            .output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        lines.sort_by_key(|l| l.at_ms);
        lines
    }
}

/// `VmHWM` of a live process, in KiB, from `/proc/<pid>/status` (`None` off Linux or when the
/// process is gone).
fn peak_rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_resident_set_is_read_from_vm_hwm() {
        let status =
            "Name:\tbootstrap\nVmPeak:\t  20000 kB\nVmHWM:\t    8123 kB\nVmRSS:\t    7000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(8123));
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak_resident_set() {
        assert!(peak_rss_kib_of(std::process::id()).is_some_and(|kib| kib > 0));
    }
}

//! Processes the harness starts: a Lambda function with Lambda's environment (timed, with its
//! peak memory read from the kernel when it is reaped) and the AWS CLI.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::BenchError;

/// What both a function and the AWS CLI get: fake credentials (local-aws does not check
/// signatures, and nothing must reach a real account) and no user profile.
const AWS_ENV: [(&str, &str); 7] = [
    ("LANG", "C.UTF-8"),
    ("AWS_ACCESS_KEY_ID", "AKIDLOCALAWSBENCH"),
    ("AWS_SECRET_ACCESS_KEY", "local-aws-bench-not-checked"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

/// What Lambda adds (as `local-aws pipeline` sets it).
const LAMBDA_ENV: [(&str, &str); 9] = [
    ("TZ", ":UTC"),
    ("AWS_LAMBDA_FUNCTION_NAME", "cf-invalidate"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cf-invalidate"),
    (
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "local-aws/[$LATEST]0000000000000000",
    ),
    ("AWS_REGION", "us-east-1"),
    ("AWS_SESSION_TOKEN", "local-aws-bench-session-token"),
];

fn pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// How to start a Lambda function; `extra_env` comes on top of Lambda's environment.
#[derive(Debug, Clone, Default)]
pub struct FunctionCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
}

/// The environment Lambda gives a function, pointing the AWS endpoints at the emulator;
/// nothing else is inherited but `PATH` and `HOME`.
pub fn lambda_env(endpoint: &str, runtime_api: &str) -> Vec<(String, String)> {
    let inherited = ["PATH", "HOME"].into_iter().filter_map(|name| {
        let value = std::env::var_os(name)?;
        Some((name.to_string(), value.to_string_lossy().into_owned()))
    });
    let dynamic = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_ENDPOINT_URL_CLOUDFRONT", endpoint),
        ("AWS_ENDPOINT_URL_CODEPIPELINE", endpoint),
    ];
    inherited
        .chain(pairs(AWS_ENV.into_iter().chain(LAMBDA_ENV).chain(dynamic)))
        .collect()
}

/// The environment of an AWS CLI run against local-aws.
pub fn cli_env(home: &Path) -> Vec<(String, String)> {
    let (path, home) = (
        std::env::var("PATH").unwrap_or_default(),
        home.display().to_string(),
    );
    pairs(
        [("PATH", path.as_str()), ("HOME", &home)]
            .into_iter()
            .chain(AWS_ENV),
    )
}

/// A CodePipeline job event as CodePipeline sends it (the same shape as `local-aws pipeline`).
pub fn job_event(job_id: &str, account_id: &str, user_parameters: &str) -> Value {
    let expiration = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64 + 3_600_000)
        .unwrap_or(0);
    json!({
        "CodePipeline.job": {
            "id": job_id,
            "accountId": account_id,
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "FunctionName": "cf-invalidate",
                        "UserParameters": user_parameters,
                    }
                },
                "inputArtifacts": [],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "ASIALOCALAWSBENCH",
                    "secretAccessKey": "local-aws-bench-artifact-secret",
                    "sessionToken": "local-aws-bench-artifact-token",
                    "expirationTime": expiration,
                },
            }
        }
    })
}

/// A started function process whose peak memory can be read when it is reaped.
#[derive(Debug)]
pub struct MeasuredProcess {
    pid: libc::pid_t,
    reaped: bool,
}

impl MeasuredProcess {
    /// Starts `command` with `env` only (nothing inherited), stdin closed, stdout and stderr
    /// into `log`.
    pub fn spawn(
        command: &FunctionCommand,
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Self, BenchError> {
        let spawn_error = |source| BenchError::Spawn {
            program: command.program.clone(),
            source,
        };
        let out = File::create(log).map_err(|source| BenchError::Write {
            path: log.to_path_buf(),
            source,
        })?;
        let err = out.try_clone().map_err(spawn_error)?;
        let mut cmd = Command::new(&command.program);
        cmd.args(&command.args)
            .env_clear()
            .envs(env.iter().chain(&command.extra_env).map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        if let Some(cwd) = &command.cwd {
            cmd.current_dir(cwd);
        }
        let child = cmd.spawn().map_err(spawn_error)?;
        let pid = libc::pid_t::try_from(child.id()).map_err(|_| BenchError::Spawn {
            program: command.program.clone(),
            source: std::io::Error::other("process id out of range"),
        })?;
        // The child is reaped with wait4 below, which std's Child knows nothing about: drop
        // the handle without waiting (dropping a std Child neither kills nor reaps it).
        drop(child);
        Ok(Self { pid, reaped: false })
    }

    /// SIGKILLs the process (whatever state it is in) and reaps it, returning its peak RSS
    /// in KiB as the kernel counted it. Blocks until the kernel has reaped it (milliseconds).
    pub fn kill_and_reap(mut self) -> Result<u64, BenchError> {
        self.reaped = true;
        kill_and_reap(self.pid)
    }
}

impl Drop for MeasuredProcess {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill_and_reap(self.pid);
        }
    }
}

fn kill_and_reap(pid: libc::pid_t) -> Result<u64, BenchError> {
    // SAFETY: plain syscalls on a pid this process started and has not reaped yet; `status`
    // and `usage` are valid, writable, properly aligned locals.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status: libc::c_int = 0;
        let mut usage: libc::rusage = std::mem::zeroed();
        loop {
            let reaped = libc::wait4(pid, &mut status, 0, &mut usage);
            if reaped == pid {
                break;
            }
            let error = std::io::Error::last_os_error();
            if reaped == -1 && error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(BenchError::Run(format!(
                "could not reap process {pid} to read its peak memory: {error}"
            )));
        }
        // Linux counts ru_maxrss in KiB.
        Ok(u64::try_from(usage.ru_maxrss).unwrap_or(0))
    }
}

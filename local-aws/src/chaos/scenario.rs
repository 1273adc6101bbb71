//! One simulated pipeline job of a chaos run: drawn from a seed, runnable, and replayable with
//! `local-aws pipeline`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::ChaosConfig;
use crate::clock::duration_ms;
use crate::duration::format_exact;
use crate::events::pick;
use crate::pipeline::{ArtifactCredentials, PipelineConfig};
use crate::rng::SeededRng;

/// A cause planted in a job whose outcome is known in advance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Nothing planted: the job must succeed whatever the transient faults.
    #[default]
    None,
    /// One distribution of the job is `AccessDenied`: `PermissionError`.
    DeniedDistribution,
    /// One distribution of the job does not exist: `ConfigurationError`.
    UnknownDistribution,
    /// `UserParameters` is invalid: `ConfigurationError`, and no CloudFront call.
    MalformedUserParameters,
    /// Every CloudFront call fails with 503 for the whole job: `SystemUnavailable`.
    CloudFrontDown,
    /// The invalidation takes longer than `timeoutMinutes` (1), `onTimeout: fail`: `JobFailed`.
    TimeoutFail,
    /// The same with `onTimeout: succeed`: success with `Status=InProgress` and a warning.
    TimeoutSucceed,
}

/// The planted causes, in the order chaos runs cycle through them (every tenth job).
pub const PLANTED: [Cause; 6] = [
    Cause::DeniedDistribution,
    Cause::UnknownDistribution,
    Cause::MalformedUserParameters,
    Cause::CloudFrontDown,
    Cause::TimeoutFail,
    Cause::TimeoutSucceed,
];

impl Cause {
    /// The name used in reports (`denied-distribution`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Cause::None => "none",
            Cause::DeniedDistribution => "denied-distribution",
            Cause::UnknownDistribution => "unknown-distribution",
            Cause::MalformedUserParameters => "malformed-user-parameters",
            Cause::CloudFrontDown => "cloudfront-down",
            Cause::TimeoutFail => "timeout-fail",
            Cause::TimeoutSucceed => "timeout-succeed",
        }
    }

    /// What the action must end with.
    pub fn expected(self) -> Expected {
        match self {
            Cause::None => Expected::Success,
            Cause::DeniedDistribution => Expected::Failure("PermissionError"),
            Cause::UnknownDistribution | Cause::MalformedUserParameters => {
                Expected::Failure("ConfigurationError")
            }
            Cause::CloudFrontDown => Expected::Failure("SystemUnavailable"),
            Cause::TimeoutFail => Expected::Failure("JobFailed"),
            Cause::TimeoutSucceed => Expected::TimeoutWarning,
        }
    }

    /// Whether the job takes about a minute (it waits for `timeoutMinutes` or for the
    /// function's retries to run out): such jobs start first so that they overlap the others.
    pub fn is_long(self) -> bool {
        matches!(
            self,
            Cause::CloudFrontDown | Cause::TimeoutFail | Cause::TimeoutSucceed
        )
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome a job must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    /// Succeeded; with `wait` the invalidations completed (`Status=Completed`).
    Success,
    /// Succeeded with a `WARNING:` summary and `Status=InProgress` (`onTimeout: succeed`).
    TimeoutWarning,
    /// Failed with this `failureDetails.type`.
    Failure(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Success => f.write_str("success"),
            Expected::TimeoutWarning => f.write_str("success with a timeout warning"),
            Expected::Failure(kind) => write!(f, "failure {kind}"),
        }
    }
}

/// A distribution of the job's emulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioDistribution {
    pub id: String,
    /// How long its invalidations stay `InProgress`, in ms.
    pub completes_after_ms: u64,
    /// Whether every call on it is `AccessDenied`.
    pub denied: bool,
}

/// Everything drawn for one job. [`Scenario::replay_command`] repeats it with
/// `local-aws pipeline`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scenario {
    /// 1 for the first job of the run.
    pub index: u32,
    /// The pipeline run's seed (emulator ids, completion draws, faults, kills, duplicates).
    pub seed: u64,
    pub cause: Cause,
    /// The action's `UserParameters`.
    pub user_parameters: String,
    /// The distributions the job names (the ones it may invalidate).
    pub targets: Vec<String>,
    /// The distributions that exist in the emulator (a target may be missing on purpose).
    pub distributions: Vec<ScenarioDistribution>,
    /// Whether the job waits for `Completed` (`wait`).
    pub wait: bool,
    /// `timeoutMinutes` in force (30 when not given).
    pub timeout_minutes: u32,
    /// The fault spec (`--faults`).
    pub faults: String,
    pub lambda_timeout_ms: u64,
    pub retry_delay_ms: u64,
    /// The pause before a continuation's invocation, ms.
    pub reinvoke_delay_ms: u64,
    /// CodePipeline's no-reply timeout (scaled down), ms.
    pub no_reply_timeout_ms: u64,
    /// The job's budget: a terminal result must be accepted within it, ms. Also the driver's
    /// total timeout, so a job past its budget counts as hung.
    pub budget_ms: u64,
    /// Probability that an invocation is killed before its deadline.
    pub kill_rate: f64,
    /// Probability that an event is delivered twice.
    pub duplicate_delivery_rate: f64,
    /// `AWS_LAMBDA_LOG_LEVEL` of the function.
    pub log_level: &'static str,
    /// `AWS_LAMBDA_LOG_FORMAT` of the function.
    pub log_format: &'static str,
    /// Whether CloudFront refuses a reused CallerReference even with the same paths
    /// (`--strict-caller-reference`).
    pub strict_caller_reference: bool,
    /// The planted `artifactCredentials` (never serialised).
    #[serde(skip)]
    pub credentials: ArtifactCredentials,
}

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Paths a job asks for, in JSON (`Value`) form and as plain words when they fit the plain form.
fn draw_paths(rng: &mut SeededRng) -> (Value, Vec<String>) {
    const DIRS: [&str; 6] = ["docs", "assets", "img", "blog/2026", "css", "js"];
    const EXTS: [&str; 5] = ["html", "css", "js", "png", "json"];
    let files = |rng: &mut SeededRng, fewest: u64, most: u64| -> Vec<String> {
        (0..rng.between(fewest, most))
            .map(|_| {
                format!(
                    "/{}/{}.{}",
                    pick(rng, &DIRS),
                    rng.string_from(b"abcdefghijklmnopqrstuvwxyz", 5),
                    pick(rng, &EXTS)
                )
            })
            .collect()
    };
    let given = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect();
    let list: Vec<String> = match rng.between(0, 7) {
        0 => given(&["/*"]),
        1 => given(&["/index.html"]),
        2 => given(&["/index.html", "/css/*", "/img/logo.png"]),
        3 => given(&["#product:42", "/products/42.html"]),
        4 => given(&["/my file.html", "/café.html"]),
        5 => files(rng, 8, 20),
        _ => files(rng, 1, 6),
    };
    // The plain form takes neither spaces nor cache tags.
    let fits = list.iter().all(|p| !p.contains(' ') && !p.starts_with('#'));
    let plain = if fits { list.clone() } else { Vec::new() };
    let value = if list.len() > 1 && rng.chance(0.3) {
        Value::String(list.join(" ").replace("/my file.html", "/my%20file.html"))
    } else {
        Value::Array(list.into_iter().map(Value::String).collect())
    };
    (value, plain)
}

/// A `UserParameters` the function must refuse as a ConfigurationError.
fn malformed(rng: &mut SeededRng, id: &str) -> String {
    match rng.between(0, 5) {
        0 => format!(r#"{{"distributionID": "{id}", "paths": ["/index.html"]}}"#),
        1 => format!(r#"{{"distributionId": "{id}", "paths": ["/img/*/logo.png"]}}"#),
        2 => format!(r#"{{"distributionId": "{id}", "timeoutMinutes": 0}}"#),
        3 => format!(r#"{{"distributionId": "{id}", "paths": ["/index.html"]"#),
        // No closing brace: not a variable reference, so the driver passes it on as written
        // (what CodePipeline does with such text is not documented), and the function must
        // refuse what looks like an unresolved variable. A complete reference would be
        // resolved before the function saw it.
        4 => format!(
            r##"{{"distributionId": "{id}", "callerReference": "#{{codepipeline.PipelineExecutionId"}}"##
        ),
        _ => format!(r#"{{"distributionId": "{id}", "paths": [], "wait": "yes"}}"#),
    }
}

impl Scenario {
    /// Draws job `index` (from 1) of a run.
    pub fn draw(config: &ChaosConfig, index: u32) -> Self {
        let mut rng = SeededRng::with_stream(config.seed, 1_000 + u64::from(index));
        let seed = rng.between(1, 999_999_999);
        let cause = if index.is_multiple_of(config.planted_every.max(1)) {
            let n = index / config.planted_every.max(1) - 1;
            PLANTED[n as usize % PLANTED.len()]
        } else {
            Cause::None
        };

        // The world: one or two distributions of varied speed.
        let count = if rng.chance(0.3) { 2 } else { 1 };
        let targets: Vec<String> = (0..count)
            .map(|_| format!("E{}", rng.string_from(ID_ALPHABET, 13)))
            .collect();
        let timeout_case = matches!(cause, Cause::TimeoutFail | Cause::TimeoutSucceed);
        let mut distributions: Vec<ScenarioDistribution> = targets
            .iter()
            .map(|id| ScenarioDistribution {
                id: id.clone(),
                completes_after_ms: if timeout_case {
                    rng.between(75_000, 90_000)
                } else {
                    duration_ms(config.completion.draw(&mut rng))
                },
                denied: false,
            })
            .collect();
        if cause == Cause::UnknownDistribution {
            distributions.pop();
        } else if let Some(last) = distributions.last_mut() {
            last.denied = cause == Cause::DeniedDistribution;
        }

        // UserParameters.
        let (paths, plain_paths) = draw_paths(&mut rng);
        let needs_json = cause != Cause::None;
        let mut wait = true;
        let mut timeout_minutes = 30;
        let user_parameters = if cause == Cause::MalformedUserParameters {
            malformed(&mut rng, &targets[0])
        } else if !needs_json && rng.chance(0.2) {
            let mut words = vec![targets.join(",")];
            if rng.chance(0.7) {
                words.extend(plain_paths);
            }
            words.join(" ")
        } else {
            let mut object = Map::new();
            if targets.len() == 1 && rng.chance(0.7) {
                object.insert("distributionId".into(), json!(targets[0]));
            } else {
                object.insert("distributionIds".into(), json!(targets));
            }
            if !(paths
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0] == "/*")
                && rng.chance(0.5))
            {
                object.insert("paths".into(), paths);
            }
            if cause.is_long() {
                timeout_minutes = 1;
            } else if rng.chance(0.7) {
                timeout_minutes = *pick(&mut rng, &[2, 3, 5, 10]);
            }
            if timeout_minutes != 30 {
                object.insert("timeoutMinutes".into(), json!(timeout_minutes));
            }
            let on_timeout = match cause {
                Cause::TimeoutSucceed => Some("succeed"),
                Cause::TimeoutFail if rng.chance(0.5) => Some("fail"),
                Cause::None if rng.chance(0.15) => Some("succeed"),
                _ => None,
            };
            if let Some(on_timeout) = on_timeout {
                object.insert("onTimeout".into(), json!(on_timeout));
            }
            if !timeout_case && rng.chance(0.1) {
                wait = false;
                object.insert("wait".into(), json!(false));
            }
            if rng.chance(0.15) {
                object.insert("maxPaths".into(), json!(rng.between(2, 5)));
            }
            if rng.chance(0.15) {
                object.insert("directoryIndex".into(), json!("index.html"));
            }
            if rng.chance(0.2) {
                object.insert(
                    "callerReference".into(),
                    json!(format!("execution-{}", rng.uuid())),
                );
            }
            Value::Object(object).to_string()
        };

        // Faults.
        let mut faults = Vec::new();
        if cause == Cause::CloudFrontDown {
            faults.push("cloudfront.unavailable=1.0".to_string());
        } else {
            // 30 % of CloudFront calls fail transiently: 503, Throttling, connections dropped
            // before or after the call took effect.
            faults.push(config.cloudfront_transient.clone());
            if rng.chance(0.3) {
                faults.push(format!("cloudfront.too-many={}", rng.between(1, 3)));
            }
        }
        if rng.chance(0.3) {
            faults.push("cloudfront.latency=10ms..300ms".to_string());
        }
        if rng.chance(0.5) {
            faults.push("codepipeline.unavailable=0.2".to_string());
        }
        if rng.chance(0.1) {
            faults.push("codepipeline.drop-after=1".to_string());
        }
        // At most one delivery of an event is lost on purpose (a hang or a kill), so that
        // Lambda's two retries can always recover it.
        let lethal = rng.next_f64();
        let mut kill_rate = 0.0;
        if lethal < 0.12 {
            faults.push("codepipeline.hang=1".to_string());
        } else if lethal < 0.42 {
            kill_rate = config.kill_rate;
        }
        let duplicate_delivery_rate = if rng.chance(0.3) {
            config.duplicate_delivery_rate
        } else {
            0.0
        };

        let lambda_timeout_ms = duration_ms(config.lambda_timeout.draw(&mut rng)) / 100 * 100;
        let retry_delay_ms = duration_ms(config.delays.draw(&mut rng));
        let reinvoke_delay_ms = duration_ms(config.delays.draw(&mut rng));
        let budget_ms =
            (u64::from(timeout_minutes) * 60_000 + 60_000).min(duration_ms(config.max_budget));
        let log_level = match rng.between(0, 19) {
            0..=11 => "INFO",
            12..=16 => "DEBUG",
            _ => "TRACE",
        };
        let log_format = if rng.chance(0.5) { "JSON" } else { "Text" };
        let credentials = ArtifactCredentials {
            access_key_id: format!("ASIA{}", rng.string_from(ID_ALPHABET, 16)),
            secret_access_key: rng.string_from(SECRET_ALPHABET, 40),
            session_token: format!("IQoJchaos{}", rng.string_from(SECRET_ALPHABET, 120)),
        };
        // Drawn last, so that the draws above stay what they were before these were added.
        // CodePipeline throttles some calls, and sometimes the final report several times in a
        // row: more than an SDK retries by default.
        if rng.chance(0.5) {
            faults.push(format!(
                "codepipeline.throttle={:?}",
                config.codepipeline_throttle
            ));
        }
        if rng.chance(0.25) {
            let burst = rng.between(3, u64::from(config.final_report_throttle_burst.max(3)));
            faults.push(format!("codepipeline.throttle-final={burst}"));
        }
        // CloudFront refuses even an identical batch under a reused reference in some jobs.
        let strict_caller_reference = rng.chance(config.strict_caller_reference_share);
        Self {
            index,
            seed,
            cause,
            user_parameters,
            targets,
            distributions,
            wait,
            timeout_minutes,
            faults: faults.join(","),
            lambda_timeout_ms,
            retry_delay_ms,
            reinvoke_delay_ms,
            no_reply_timeout_ms: duration_ms(config.no_reply_timeout),
            budget_ms,
            kill_rate,
            duplicate_delivery_rate,
            log_level,
            log_format,
            strict_caller_reference,
            credentials,
        }
    }

    /// The pipeline run of this job: [`Self::replay_command`]'s flags, read as the command
    /// reads them, so that a replay runs what the chaos run ran.
    pub fn pipeline_config(
        &self,
        function: &Path,
        function_args: &[String],
    ) -> Result<PipelineConfig, clap::Error> {
        let mut config: PipelineConfig = crate::parse_flags(self.pipeline_args(function))?;
        config.function = function.to_path_buf();
        config.function_args = function_args.to_vec();
        config.artifact_credentials = self.credentials.clone();
        Ok(config)
    }

    /// The `local-aws pipeline` command that runs this job again (same seed, same world, same
    /// faults; the planted credentials are the driver's defaults).
    pub fn replay_command(&self, function: &Path) -> String {
        let words: Vec<String> = self
            .pipeline_args(function)
            .iter()
            .map(|w| quote(w))
            .collect();
        format!("local-aws pipeline {}", words.join(" "))
    }

    fn pipeline_args(&self, function: &Path) -> Vec<String> {
        let ms = |v: u64| format_exact(Duration::from_millis(v));
        let mut words = vec![
            "--function".to_string(),
            function.display().to_string(),
            "--user-parameters".to_string(),
            self.user_parameters.clone(),
        ];
        for d in &self.distributions {
            words.extend(if d.denied {
                ["--denied-distribution".to_string(), d.id.clone()]
            } else {
                let at = format!("{}:{}", d.id, ms(d.completes_after_ms));
                ["--distribution".to_string(), at]
            });
        }
        words.extend(["--faults".to_string(), self.faults.clone()]);
        if self.strict_caller_reference {
            words.push("--strict-caller-reference".to_string());
        }
        let mut flags = vec![
            ("lambda-timeout", ms(self.lambda_timeout_ms)),
            ("retry-delay", ms(self.retry_delay_ms)),
            ("reinvoke-delay", ms(self.reinvoke_delay_ms)),
            ("no-reply-timeout", ms(self.no_reply_timeout_ms)),
            ("total-timeout", ms(self.budget_ms)),
        ];
        if self.kill_rate > 0.0 {
            flags.push(("kill-rate", self.kill_rate.to_string()));
        }
        if self.duplicate_delivery_rate > 0.0 {
            flags.push((
                "duplicate-delivery",
                self.duplicate_delivery_rate.to_string(),
            ));
        }
        flags.push(("env", format!("AWS_LAMBDA_LOG_LEVEL={}", self.log_level)));
        flags.push(("env", format!("AWS_LAMBDA_LOG_FORMAT={}", self.log_format)));
        flags.push(("seed", self.seed.to_string()));
        for (name, value) in flags {
            words.extend([format!("--{name}"), value]);
        }
        words
    }
}

/// Quotes a word for a POSIX shell.
pub(crate) fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        assert_eq!(quote("E1ABC"), "E1ABC");
        assert_eq!(quote(r#"{"a": 1}"#), r#"'{"a": 1}'"#);
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn a_seed_draws_the_same_jobs_and_plants_causes_in_turn() {
        let config = ChaosConfig::new("f");
        let drawn = || format!("{:?}", config.scenarios());
        assert_eq!(drawn(), drawn());
        let causes: Vec<Cause> = (1..=60)
            .map(|i| Scenario::draw(&config, i).cause)
            .filter(|c| *c != Cause::None)
            .collect();
        assert_eq!(causes, PLANTED.to_vec());
    }

    #[test]
    fn every_scenario_is_a_valid_pipeline_run() {
        let config = ChaosConfig::new("f");
        for i in 1..=300 {
            let s = Scenario::draw(&config, i);
            assert!(
                s.user_parameters.chars().count() <= 1000,
                "{}",
                s.user_parameters
            );
            assert!(
                s.pipeline_config(Path::new("f"), &[]).is_ok(),
                "{}",
                s.faults
            );
            let hangs = s.faults.contains("codepipeline.hang");
            assert!(!(hangs && s.kill_rate > 0.0), "one lost delivery at most");
            let replay = s.replay_command(Path::new("f"));
            assert_eq!(
                replay.contains("--strict-caller-reference"),
                s.strict_caller_reference,
                "{replay}"
            );
        }
    }

    #[test]
    fn throttling_and_the_strict_mode_are_in_the_mix() {
        let config = ChaosConfig::new("f");
        let scenarios: Vec<Scenario> = (1..=300).map(|i| Scenario::draw(&config, i)).collect();
        let share = |f: &dyn Fn(&Scenario) -> bool| {
            scenarios.iter().filter(|s| f(s)).count() as f64 / scenarios.len() as f64
        };
        let throttled = share(&|s| s.faults.contains("codepipeline.throttle=0.15"));
        let bursts = share(&|s| s.faults.contains("codepipeline.throttle-final="));
        let strict = share(&|s| s.strict_caller_reference);
        assert!((0.4..0.6).contains(&throttled), "{throttled}");
        assert!((0.15..0.35).contains(&bursts), "{bursts}");
        assert!((0.4..0.6).contains(&strict), "{strict}");
        for s in &scenarios {
            if let Some(at) = s.faults.find("codepipeline.throttle-final=") {
                let n: u32 = s.faults[at + "codepipeline.throttle-final=".len()..]
                    .split(',')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                assert!((3..=5).contains(&n), "{}", s.faults);
            }
            let run = s.pipeline_config(Path::new("f"), &[]);
            assert_eq!(
                run.map(|c| c.world.strict_caller_reference).ok(),
                Some(s.strict_caller_reference)
            );
        }
    }
}

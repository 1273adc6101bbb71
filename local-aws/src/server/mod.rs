//! The emulator: starts the one HTTP server on 127.0.0.1 and holds the state of every API.

mod control;
mod edge;
mod handle;
mod http;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub use handle::{EmulatorHandle, ExecutionEnvironment};

/// The execution environment served on the emulator's main port.
const MAIN_ENVIRONMENT: u32 = 0;

use crate::clock::Clock;
use crate::cloudfront::edge::EdgeCache;
use crate::cloudfront::{
    self, CloudFrontRules, CloudFrontState, ConnectionMode, DistributionAccess, DistributionConfig,
    DistributionSpecError, DistributionTenantConfig, EdgeInvalidatesAt, EdgeSettingError,
    TenantSetupError, TenantSpecError, UnknownIds,
};
use crate::codepipeline::executions::{
    ActionExecutionStatus, ActionOutput, Executions, GetJobDetailsMode, JobContext,
};
use crate::codepipeline::{self, JobResult, JobStore};
use crate::duration::DurationRange;
use crate::faults::{FaultState, Faults};
use crate::log::RequestLog;
use crate::rng::{SeededRng, seed_from_time};
use crate::runtime_api::LambdaState;
use crate::s3::S3Server;

/// Largest request body accepted (Lambda's own payload limit is 6 MB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// The world `pipeline` and `serve` emulate, declared once as flags: its distributions and
/// tenants, CloudFront's rules, the faults, the seed and how GetJobDetails answers.
#[derive(Debug, Clone, clap::Args)]
pub struct World {
    /// A distribution that exists, with how long its invalidations stay InProgress:
    /// `ID`, `ID:3s` or `ID:2s..5s`. Repeat for several. Other ids get NoSuchDistribution.
    #[arg(long = "distribution", value_name = "ID[:COMPLETES-AFTER]")]
    pub distributions: Vec<DistributionConfig>,

    /// A distribution that exists but is not allowed: every call on it gets AccessDenied.
    #[arg(long = "denied-distribution", value_name = "ID", value_parser = denied_distribution)]
    pub denied_distributions: Vec<DistributionConfig>,

    /// A multi-tenant distribution (ConnectionMode tenant-only): invalidation calls naming it
    /// get NoSuchDistribution; its tenants are invalidated instead. `COMPLETES-AFTER` is the
    /// default of its tenants. Repeat for several.
    #[arg(long = "multi-tenant-distribution", value_name = "ID[:COMPLETES-AFTER]", value_parser = multi_tenant_distribution)]
    pub multi_tenant_distributions: Vec<DistributionConfig>,

    /// A distribution tenant that exists: `dt_...`, `dt_...:3s`, or `DISTRIBUTION/dt_...:3s`
    /// to name its multi-tenant distribution (needed only when several are declared). Repeat
    /// for several. Other tenant ids get EntityNotFound.
    #[arg(
        long = "distribution-tenant",
        value_name = "[DISTRIBUTION/]ID[:COMPLETES-AFTER]"
    )]
    pub distribution_tenants: Vec<DistributionTenantConfig>,

    /// A distribution tenant that exists but is not allowed: every call on it gets
    /// AccessDenied.
    #[arg(long = "denied-distribution-tenant", value_name = "[DISTRIBUTION/]ID", value_parser = denied_tenant)]
    pub denied_distribution_tenants: Vec<DistributionTenantConfig>,

    /// How calls on distribution or tenant ids that do not exist are answered: `not-found`
    /// (NoSuchDistribution / EntityNotFound) or `access-denied` (IAM's AccessDenied, as for a
    /// role whose policy lists distribution ARNs).
    #[arg(
        long,
        value_name = "not-found|access-denied",
        default_value = "not-found"
    )]
    pub unknown_ids: UnknownIds,

    /// Refuse a reused CallerReference with InvalidArgument even when the paths are the same
    /// (by default the same batch returns the existing invalidation, as AWS documents).
    #[arg(long)]
    pub strict_caller_reference: bool,

    /// How long invalidations stay InProgress when --distribution does not say: a duration
    /// (`3s`) or a range to draw from (`2s..5s`).
    #[arg(
        long = "completes-after",
        value_name = "DURATION[..DURATION]",
        default_value = "2s..5s"
    )]
    pub default_completion: DurationRange,

    /// Faults to inject, e.g. `cloudfront.unavailable=0.1,cloudfront.too-many=3,codepipeline.unavailable=0.2`.
    /// Kinds: unavailable, throttle, throttle-final (codepipeline: final reports only), drop,
    /// drop-after, hang, too-many (cloudfront), latency.
    /// A value with a decimal point or % is a rate per call; a whole number N fails the next N calls.
    #[arg(long, value_name = "SPEC", default_value = "none")]
    pub faults: Faults,

    /// Seed for every random choice (ids, completion times, faults), to repeat a run exactly.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// How GetJobDetails answers: `allow` (the job's pipeline context and artifacts),
    /// `names-only` (a pipelineContext of pipeline, stage and action names, without the
    /// execution ids documented for custom actions), `access-denied` (AccessDeniedException) or
    /// `not-found` (JobNotFoundException). AWS documents GetJobDetails for custom actions only;
    /// what a Lambda invoke job gets is unconfirmed, so try the function against each.
    #[arg(
        long,
        value_name = "allow|names-only|access-denied|not-found",
        default_value = "allow"
    )]
    pub get_job_details: GetJobDetailsMode,

    /// Serve a distribution's viewers from an S3 bucket of local-aws (created if missing),
    /// through an edge cache on a port of its own. Declares the distribution if no
    /// --distribution does. Repeat for several.
    #[arg(long = "origin", value_name = "ID=BUCKET", value_parser = cloudfront::edge_setting)]
    pub origins: Vec<(String, String)>,

    /// The object a distribution's edge serves for `/` (DefaultRootObject), e.g.
    /// `E2QWRUHEXAMPLE=index.html`. The distribution needs an --origin.
    #[arg(long = "default-root-object", value_name = "ID=NAME", value_parser = cloudfront::edge_setting)]
    pub default_root_objects: Vec<(String, String)>,

    /// The origin response header a distribution's edge reads cache tags from
    /// (CacheTagConfig.HeaderName), e.g. `E2QWRUHEXAMPLE=x-amz-meta-cache-tags` for the S3
    /// user metadata `cache-tags`. The distribution needs an --origin.
    #[arg(long = "cache-tag-header", value_name = "ID=HEADER", value_parser = cloudfront::edge_setting)]
    pub cache_tag_headers: Vec<(String, String)>,

    /// The port of a distribution's edge on 127.0.0.1, e.g. `E2QWRUHEXAMPLE=8080` (default:
    /// any free port). The distribution needs an --origin.
    #[arg(long = "edge-port", value_name = "ID=PORT", value_parser = cloudfront::edge_port_setting)]
    pub edge_ports: Vec<(String, u16)>,

    /// When an invalidation drops cached objects at the edges: `completed` (when it reports
    /// Completed, the only moment AWS guarantees) or `created` (at once).
    #[arg(long, value_name = "created|completed", default_value = "completed")]
    pub edge_invalidates_at: EdgeInvalidatesAt,
}

impl Default for World {
    fn default() -> Self {
        crate::clap_defaults(&[])
    }
}

fn denied_distribution(text: &str) -> Result<DistributionConfig, DistributionSpecError> {
    text.parse()
        .map(|d: DistributionConfig| DistributionConfig::denied(d.id))
}

pub(crate) fn multi_tenant_distribution(
    text: &str,
) -> Result<DistributionConfig, DistributionSpecError> {
    text.parse()
        .map(|d: DistributionConfig| DistributionConfig {
            connection_mode: ConnectionMode::TenantOnly,
            ..d
        })
}

fn denied_tenant(text: &str) -> Result<DistributionTenantConfig, TenantSpecError> {
    text.parse()
        .map(|t: DistributionTenantConfig| DistributionTenantConfig {
            access: DistributionAccess::Denied,
            ..t
        })
}

impl World {
    /// An emulator of this world, the other settings at their defaults.
    pub fn emulator_config(&self) -> EmulatorConfig {
        let distributions = [
            &self.distributions,
            &self.denied_distributions,
            &self.multi_tenant_distributions,
        ];
        let tenants = [
            &self.distribution_tenants,
            &self.denied_distribution_tenants,
        ];
        let mut distributions: Vec<DistributionConfig> =
            distributions.into_iter().flatten().cloned().collect();
        let list = &mut distributions;
        for (id, bucket) in &self.origins {
            declared(list, id).origin = Some(bucket.clone());
        }
        for (id, name) in &self.default_root_objects {
            declared(list, id).default_root_object = Some(name.clone());
        }
        for (id, header) in &self.cache_tag_headers {
            declared(list, id).cache_tag_header = Some(header.clone());
        }
        for (id, port) in &self.edge_ports {
            declared(list, id).edge_port = Some(*port);
        }
        EmulatorConfig {
            distributions,
            distribution_tenants: tenants.into_iter().flatten().cloned().collect(),
            strict_caller_reference: self.strict_caller_reference,
            unknown_ids: self.unknown_ids,
            default_completion: self.default_completion,
            faults: self.faults.clone(),
            seed: self.seed,
            get_job_details: self.get_job_details,
            edge_invalidates_at: self.edge_invalidates_at,
            port: 0,
            clock: Clock::system(),
            jobs: Vec::new(),
            account_id: "000000000000".to_string(),
            region: "us-east-1".to_string(),
            function_name: "cf-invalidate".to_string(),
            role: "cf-invalidate-role/cf-invalidate".to_string(),
            s3_required_access_key: None,
            s3_missing_key_denied: false,
            list_action_executions_denied: false,
        }
    }
}

/// The distribution `id` of `distributions`, declared now (a plain one) if it is not there.
fn declared<'a>(
    distributions: &'a mut Vec<DistributionConfig>,
    id: &str,
) -> &'a mut DistributionConfig {
    let index = match distributions.iter().position(|d| d.id == id) {
        Some(index) => index,
        None => {
            distributions.push(DistributionConfig::new(id));
            distributions.len() - 1
        }
    };
    &mut distributions[index]
}

/// How the emulator starts. Tests build it with `..EmulatorConfig::default()`; the flags
/// build it from a [`World`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub distributions: Vec<DistributionConfig>,
    /// The distribution tenants that exist. A tenant declared without a distribution belongs
    /// to the multi-tenant distribution when exactly one is declared.
    pub distribution_tenants: Vec<DistributionTenantConfig>,
    /// The documented answer is the existing invalidation; some users report the refusal.
    pub strict_caller_reference: bool,
    pub unknown_ids: UnknownIds,
    pub default_completion: DurationRange,
    pub faults: Faults,
    /// `None` seeds from the time.
    pub seed: Option<u64>,
    /// The clock for invalidation lifecycles and the log; [`Clock::manual`] for tests.
    pub clock: Clock,
    /// CodePipeline job ids that exist from the start (for `serve`).
    pub jobs: Vec<String>,
    /// Shown in ARNs and events.
    pub account_id: String,
    /// `region` and `function_name` make the function's ARN.
    pub region: String,
    pub function_name: String,
    /// The IAM role (and session) named in `AccessDenied` messages.
    pub role: String,
    pub get_job_details: GetJobDetailsMode,
    /// When set, S3 refuses a request signed with any other access key id (403
    /// `InvalidAccessKeyId`), which proves that a caller uses the job's artifact credentials.
    /// Signatures themselves are never checked.
    pub s3_required_access_key: Option<String>,
    /// S3 answers a key that does not exist with 403 `AccessDenied` instead of 404
    /// `NoSuchKey`, as it does for credentials without `s3:ListBucket` on the bucket (a
    /// CodePipeline service role often has only the object permissions).
    pub s3_missing_key_denied: bool,
    /// ListActionExecutions answers `AccessDeniedException`, as for a function role without
    /// `codepipeline:ListActionExecutions`.
    pub list_action_executions_denied: bool,
    /// When an invalidation drops cached objects at the edges of distributions that have an
    /// origin ([`DistributionConfig::origin`]).
    pub edge_invalidates_at: EdgeInvalidatesAt,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        World::default().emulator_config()
    }
}

/// The emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (choose another --port, or 0 for any free port)"
    )]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "invalid job id '{0}': expected 8-4-4-4-12 lowercase hex digits, e.g. 11111111-abcd-1111-abcd-111111abcdef"
    )]
    BadJobId(String),
    #[error(transparent)]
    Tenants(#[from] TenantSetupError),
    #[error(transparent)]
    Edge(#[from] EdgeSettingError),
    #[error(
        "cannot serve the edge of distribution '{distribution}' on 127.0.0.1:{port}: {source} (choose another --edge-port, or leave it out for any free port)"
    )]
    EdgeBind {
        distribution: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds 127.0.0.1 and serves every emulated API until the handle is shut down or dropped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let seed = config.seed.unwrap_or_else(seed_from_time);
        let tenants =
            cloudfront::assign_tenants(&config.distributions, &config.distribution_tenants)?;
        let port = config.port;
        let bind = |source| EmulatorError::Bind { port, source };
        let listener = (TcpListener::bind(("127.0.0.1", port)).await).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let endpoint = format!("http://{addr}");
        let mut edge_listeners = Vec::new();
        let mut edges = BTreeMap::new();
        for site in edge_sites(&config.distributions)? {
            let edge_bind = |source| EmulatorError::EdgeBind {
                distribution: site.distribution_id.clone(),
                port: site.port,
                source,
            };
            let listener =
                (TcpListener::bind(("127.0.0.1", site.port)).await).map_err(edge_bind)?;
            let edge_addr = listener.local_addr().map_err(edge_bind)?;
            edges.insert(site.distribution_id.clone(), edge_addr);
            edge_listeners.push((listener, site));
        }

        let mut jobs = JobStore::default();
        for id in &config.jobs {
            if !codepipeline::is_job_id(id) {
                return Err(EmulatorError::BadJobId(id.clone()));
            }
            jobs.create(id, None, 0);
        }
        let (jobs_changed, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            clock: config.clock.clone(),
            endpoint,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            role: config.role.clone(),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{}",
                config.region, config.account_id, config.function_name
            ),
            seed,
            state: Mutex::new(State {
                cloudfront: CloudFrontState::new(
                    &config.distributions,
                    &tenants,
                    config.default_completion,
                    CloudFrontRules {
                        strict_caller_reference: config.strict_caller_reference,
                        unknown_ids: config.unknown_ids,
                    },
                ),
                jobs,
                executions: Executions::new(
                    config.get_job_details,
                    config.list_action_executions_denied,
                ),
                lambda: LambdaState::default(),
                faults: FaultState::new(config.faults.clone(), seed),
                ids: SeededRng::with_stream(seed, 3),
                request_ids: SeededRng::with_stream(seed, 4),
                edges: BTreeMap::new(),
            }),
            log: RequestLog::new(),
            s3: S3Server::new(
                config.s3_required_access_key.clone(),
                config.s3_missing_key_denied,
            ),
            edges,
            edge_invalidates_at: config.edge_invalidates_at,
            lambda_ready: Mutex::new(HashMap::new()),
            next_environment: AtomicU32::new(MAIN_ENVIRONMENT + 1),
            jobs_changed,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        for (listener, site) in edge_listeners {
            shared.s3.store().create_bucket(&site.bucket);
            let stop = http::Stop {
                emulator: shutdown.subscribe(),
                environment: None,
            };
            tokio::spawn(edge::accept_loop(
                listener,
                shared.clone(),
                Arc::new(site),
                stop,
            ));
        }
        tokio::spawn(http::accept_loop(
            listener,
            shared.clone(),
            http::Stop {
                emulator: shutdown_rx,
                environment: None,
            },
            MAIN_ENVIRONMENT,
        ));
        Ok(EmulatorHandle {
            shared,
            addr,
            shutdown,
        })
    }
}

#[derive(Debug)]
struct Shared {
    clock: Clock,
    endpoint: String,
    account_id: String,
    region: String,
    role: String,
    function_arn: String,
    seed: u64,
    state: Mutex<State>,
    log: RequestLog,
    /// S3's objects, outside `state`: the S3 library answers on its own tasks.
    s3: S3Server,
    /// The viewer address of each distribution that has an origin.
    edges: BTreeMap<String, SocketAddr>,
    edge_invalidates_at: EdgeInvalidatesAt,
    /// Wakes the long polls of each execution environment's `/invocation/next`.
    lambda_ready: Mutex<HashMap<u32, Arc<Notify>>>,
    next_environment: AtomicU32,
    jobs_changed: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    cloudfront: CloudFrontState,
    jobs: JobStore,
    executions: Executions,
    lambda: LambdaState,
    faults: FaultState,
    ids: SeededRng,
    request_ids: SeededRng,
    /// The edge cache of each distribution that has an origin.
    edges: BTreeMap<String, EdgeCache>,
}

/// The edges to serve: one per distribution with an origin. A default root object or a
/// cache-tag header without an origin is refused, as it would change nothing.
fn edge_sites(
    distributions: &[DistributionConfig],
) -> Result<Vec<edge::EdgeSite>, EdgeSettingError> {
    let mut sites = Vec::new();
    for d in distributions {
        d.check_edge()?;
        let Some(bucket) = &d.origin else {
            let setting = match (&d.default_root_object, &d.cache_tag_header, d.edge_port) {
                (Some(_), _, _) => "a default root object",
                (None, Some(_), _) => "a cache-tag header",
                (None, None, Some(_)) => "an edge port",
                (None, None, None) => continue,
            };
            return Err(EdgeSettingError::WithoutOrigin {
                distribution: d.id.clone(),
                setting,
            });
        };
        sites.push(edge::EdgeSite {
            distribution_id: d.id.clone(),
            bucket: bucket.clone(),
            default_root_object: d.default_root_object.clone(),
            cache_tag_header: d.cache_tag_header.clone(),
            port: d.edge_port.unwrap_or(0),
        });
    }
    Ok(sites)
}

impl State {
    /// Brings the action execution of a job up to date with the job's result, as CodePipeline
    /// does: a final success or a failure ends the execution; a continuation keeps it
    /// InProgress with the latest summary.
    fn settle_execution(&mut self, job_id: &str, now_epoch_ms: u64) {
        let Some(context) = self.executions.context(job_id) else {
            return;
        };
        let Some(result) = self.jobs.get(job_id).and_then(|j| j.result.clone()) else {
            return;
        };
        let execution_id = context.action_execution_id.clone();
        let (status, output) = match result {
            JobResult::Succeeded {
                continuation_token,
                summary,
                external_execution_id,
                output_variables,
                ..
            } => (
                if continuation_token.is_some() {
                    ActionExecutionStatus::InProgress
                } else {
                    ActionExecutionStatus::Succeeded
                },
                ActionOutput {
                    external_execution_id,
                    summary,
                    error: None,
                    output_variables,
                },
            ),
            JobResult::Failed {
                failure_type,
                message,
                external_execution_id,
            } => (
                ActionExecutionStatus::Failed,
                ActionOutput {
                    external_execution_id,
                    error: Some((failure_type, message)),
                    ..ActionOutput::default()
                },
            ),
            JobResult::TimedOut { message } => (
                ActionExecutionStatus::Failed,
                ActionOutput {
                    error: Some(("JobFailed".to_string(), message)),
                    ..ActionOutput::default()
                },
            ),
        };
        self.executions
            .update(&execution_id, status, Some(output), now_epoch_ms);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What wakes the `/invocation/next` long polls of one execution environment.
    fn lambda_ready(&self, environment: u32) -> Arc<Notify> {
        self.lambda_ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(environment)
            .or_default()
            .clone()
    }

    fn bump_jobs(&self) {
        self.jobs_changed.send_modify(|v| *v += 1);
    }

    /// Creates a job with a new random id (that `GetJobDetails` describes with `context`),
    /// tells the watchers, and returns the id.
    fn create_job_in(
        &self,
        continuation_token: Option<String>,
        context: Option<JobContext>,
    ) -> String {
        let now = self.clock.elapsed_ms();
        let id = {
            let mut state = self.lock();
            let id = loop {
                let id = state.ids.uuid();
                if state.jobs.get(&id).is_none() {
                    break id;
                }
            };
            state.jobs.create(&id, continuation_token, now);
            if let Some(context) = context {
                state.executions.set_context(&id, context);
            }
            id
        };
        self.bump_jobs();
        id
    }

    /// Registers a job with a chosen id of the right shape (a known id is left as it was), and
    /// tells the watchers.
    fn register_job(&self, job_id: &str, continuation_token: Option<String>) {
        let now = self.clock.elapsed_ms();
        self.lock().jobs.create(job_id, continuation_token, now);
        self.bump_jobs();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_flags_attach_to_their_distribution_or_declare_it() {
        let world: World = crate::parse_flags([
            "--distribution",
            "E1:3s",
            "--origin",
            "E1=site-bucket",
            "--cache-tag-header",
            "E1=x-amz-meta-cache-tags",
            "--origin",
            "E2=other",
            "--default-root-object",
            "E2=index.html",
            "--edge-invalidates-at",
            "created",
            "--edge-port",
            "E2=0",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let config = world.emulator_config();
        assert_eq!(config.edge_invalidates_at, EdgeInvalidatesAt::Created);
        let [e1, e2] = config.distributions.as_slice() else {
            panic!("{:?}", config.distributions);
        };
        assert_eq!(e1.origin.as_deref(), Some("site-bucket"));
        assert_eq!(
            e1.cache_tag_header.as_deref(),
            Some("x-amz-meta-cache-tags")
        );
        assert!(e1.completes_after.is_some());
        assert_eq!(
            (e2.id.as_str(), e2.default_root_object.as_deref()),
            ("E2", Some("index.html"))
        );
        assert_eq!(e2.edge_port, Some(0));
        assert_eq!(
            World::default().edge_invalidates_at,
            EdgeInvalidatesAt::Completed
        );
    }

    #[test]
    fn edge_flags_refuse_what_they_cannot_use() {
        for (args, fragment) in [
            (["--origin", "E1"], "'E1'"),
            (["--origin", "E-1=site"], "'E-1'"),
            (["--edge-invalidates-at", "soon"], "'soon'"),
            (["--edge-port", "E1=http"], "'http'"),
        ] {
            let err = crate::parse_flags::<World>(args)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert!(err.contains(fragment), "{args:?}: {err}");
        }
        let dro = DistributionConfig::new("E1").default_root_object("index.html");
        let err = edge_sites(&[dro]).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("--origin E1=BUCKET")),
            "{err:?}"
        );
        for (bad, fragment) in [
            (
                DistributionConfig::new("E1").origin("Site_Bucket"),
                "'Site_Bucket'",
            ),
            (
                (DistributionConfig::new("E1").origin("s")).default_root_object("/index.html"),
                "'/index.html'",
            ),
            (
                (DistributionConfig::new("E1").origin("s")).cache_tag_header("cache tags"),
                "'cache tags'",
            ),
        ] {
            let err = bad.check_edge().err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(fragment)),
                "{err:?}"
            );
        }
    }
}

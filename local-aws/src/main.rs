//! local-aws's command line: `pipeline`, `serve`, `chaos` and `events`, each a thin shell.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use std::sync::atomic::{AtomicU32, Ordering};

use local_aws::chaos::{self, ChaosConfig, ChaosJob, JobObserver};
use local_aws::events::EventsConfig;
use local_aws::pipeline::{self, Observer, PipelineConfig, TimelineEntry};
use local_aws::{DistributionAccess, DurationRange, Emulator, EmulatorConfig, World};

/// Local emulator of the CloudFront invalidation, CodePipeline job and Lambda Runtime APIs,
/// and a driver that runs a CodePipeline Lambda invoke action against a real function binary.
///
/// Every API is served over HTTP on one 127.0.0.1 port. Requests are not signature-checked.
/// See docs/local-aws.md for the rules emulated and the fault syntax.
#[derive(Debug, Parser)]
#[command(name = "local-aws", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a function binary as CodePipeline and Lambda would, until the action ends.
    ///
    /// Starts the emulator, starts the function as a child process with Lambda's environment
    /// (pointing its AWS endpoints at the emulator), delivers a CodePipeline job event, and
    /// follows what the function reports: a continuation token makes a new job and a new
    /// invocation after --reinvoke-delay; a failed invocation (error, crash, timeout) is retried
    /// twice with the same event; no result within --no-reply-timeout fails the action.
    ///
    /// Prints a timeline and the verdict (or a JSON report with --json). Exit status: 0 if the
    /// action succeeded, 1 if it failed, 2 for a usage error.
    Pipeline(Box<PipelineArgs>),
    /// Serve the emulated APIs until Ctrl-C, for the AWS CLI or an SDK to call.
    ///
    /// Prints the environment variables that point a CLI at it. Create CodePipeline jobs to
    /// report on with --job, or with `curl -X POST http://127.0.0.1:PORT/_local/jobs`. Each
    /// call is logged on standard error as it happens.
    Serve(Box<ServeArgs>),
    /// Run many simulated pipeline jobs, several at a time, with random faults, and check the
    /// invariants of a reliable action.
    ///
    /// Each job gets its own emulator, one or two distributions of varied speed, random
    /// UserParameters, about 30 % transient CloudFront failures, TooManyInvalidationsInProgress
    /// storms, CodePipeline 5xx, throttling (sometimes a burst on the final report) and hangs,
    /// the strict CallerReference mode in half the jobs, invocations killed before or at their
    /// deadline, and duplicate deliveries; every tenth job plants a cause with a known failure
    /// type. Prints
    /// the figures (or a JSON report with --json) and, for every job that broke an invariant,
    /// the `local-aws pipeline` command that replays it.
    ///
    /// Exit status: 0 if every invariant holds, 1 if one is broken, 2 for a usage error.
    Chaos(Box<ChaosArgs>),
    /// Play a burst of S3 uploads and deletes through an SQS queue and a Lambda event source
    /// mapping against a function binary, and check that every key got invalidated.
    ///
    /// Each upload or delete makes an S3 event notification (or an EventBridge event) on an
    /// emulated standard queue; pollers gather batches (--batch-size, --batching-window, 6 MB)
    /// and invoke the function, each of --concurrency invocations in its own process, reused
    /// between invocations. Answers are read as ReportBatchItemFailures; failed records and
    /// failed batches come back after --visibility-timeout, and go to a dead-letter queue
    /// after --max-receive-count receives. `--delivery direct` invokes the function once per
    /// notification instead, with Lambda's two asynchronous retries.
    ///
    /// The report counts events, messages, invocations, CreateInvalidation calls, paths billed
    /// and TooManyInvalidationsInProgress answers, proves that each planted fault fired, and
    /// checks from CloudFront's invalidations alone that every key under the parameters'
    /// keyPrefix is covered by an invalidation created after its notification. With --edge it
    /// also writes the burst to --bucket and checks, through each distribution's edge, that a
    /// viewer gets every key's newest version once the last invalidation has completed.
    ///
    /// Exit status: 0 if the invariant holds, 1 if a key is left uncovered, a valid event
    /// was dead-lettered or a key is stale at the edge, 2 for a usage error.
    Events(Box<EventsArgs>),
}

/// `pipeline`: the run, and how to show it.
#[derive(Debug, Args)]
struct PipelineArgs {
    #[command(flatten)]
    config: PipelineConfig,

    /// Print a JSON report instead of the timeline.
    #[arg(long)]
    json: bool,

    /// Include the function's output (stdout and stderr) in the timeline.
    #[arg(long, short)]
    verbose: bool,

    /// Also print each event on standard error as it happens.
    #[arg(long)]
    live: bool,
}

#[derive(Debug, Args)]
struct ChaosArgs {
    #[command(flatten)]
    config: ChaosConfig,

    /// Print the JSON report (every job, the figures, the invariants) instead of the table.
    #[arg(long)]
    json: bool,

    /// Do not print a line on standard error as each job ends.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct EventsArgs {
    #[command(flatten)]
    config: EventsConfig,

    /// Print the JSON report instead of the text.
    #[arg(long)]
    json: bool,

    /// Do not print progress on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 4580)]
    port: u16,

    #[command(flatten)]
    world: World,

    /// A pipeline that exists, with no action executions yet: ListActionExecutions answers
    /// it with an empty list rather than PipelineNotFoundException. Repeat for several.
    #[arg(long = "pipeline", value_name = "NAME")]
    pipelines: Vec<String>,

    /// A CodePipeline job id that exists from the start (8-4-4-4-12 lowercase hex). Repeat
    /// for several.
    #[arg(long = "job", value_name = "ID")]
    jobs: Vec<String>,

    /// Do not log calls on standard error.
    #[arg(long, short)]
    quiet: bool,
}

/// What `serve` says of a declared distribution or tenant: `ID (note, note)`, or `ID` alone.
fn with_notes(
    id: &str,
    note: Option<String>,
    access: DistributionAccess,
    completes_after: Option<DurationRange>,
) -> String {
    let denied = (access == DistributionAccess::Denied).then(|| "denied".to_string());
    let completes = completes_after.map(|c| format!("completes after {c}"));
    let notes: Vec<String> = [note, denied, completes].into_iter().flatten().collect();
    if notes.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", notes.join(", "))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("local-aws: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Pipeline(args) => run_pipeline(*args).await,
            Command::Serve(args) => serve(*args).await,
            Command::Chaos(args) => chaos(*args).await,
            Command::Events(args) => events(*args).await,
        }
    });
    ExitCode::from(code)
}

async fn run_pipeline(args: PipelineArgs) -> u8 {
    let mut config = args.config;
    if args.live {
        let verbose = args.verbose;
        config.observer = Some(Observer(Arc::new(move |e: &TimelineEntry| {
            if verbose || e.kind != pipeline::TimelineKind::Output {
                eprintln!("{}", e.render());
            }
        })));
    }
    let run = pipeline::run(config);
    let report = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted; the function process was killed");
            return 1;
        }
    };
    match report {
        Ok(report) => {
            let text = report.render(args.verbose);
            print_report(args.json, &report, &text, report.succeeded())
        }
        Err(e) => {
            eprintln!("local-aws: {e}");
            2
        }
    }
}

async fn chaos(args: ChaosArgs) -> u8 {
    if let Err(e) = pipeline::find_function(&args.config.function) {
        eprintln!("local-aws: {e}");
        return 2;
    }
    if args.config.jobs == 0 || args.config.concurrency == 0 {
        eprintln!("local-aws: --jobs and --concurrency must be at least 1");
        return 2;
    }
    let mut config = args.config;
    if !args.quiet {
        let total = config.jobs;
        let finished = Arc::new(AtomicU32::new(0));
        config.on_job = Some(JobObserver(Arc::new(move |job: &ChaosJob| {
            let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
            eprintln!(
                "[{n:>4}/{total}] job {:>4} seed {:>9} {:<26} {:<30} {:>6.1}s  {} invocation(s), {} fault(s){}",
                job.scenario.index,
                job.scenario.seed,
                job.scenario.cause.name(),
                job.outcome(),
                job.duration_ms as f64 / 1000.0,
                job.counters.invocations,
                job.counters.faults_by_kind.values().sum::<u32>(),
                if job.is_ok() { "" } else { "  BROKEN" }
            );
        })));
    }
    let run = chaos::run(config);
    let report = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted");
            return 1;
        }
    };
    print_report(args.json, &report, &report.render(), report.holds())
}

async fn events(args: EventsArgs) -> u8 {
    let mut config = args.config;
    if !args.quiet {
        config.progress = Some(local_aws::events::Progress(Arc::new(|line: &str| {
            eprintln!("{line}");
        })));
    }
    let report = tokio::select! {
        r = local_aws::events::run(config) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted; the function processes were killed");
            return 1;
        }
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("local-aws: {e}");
            return 2;
        }
    };
    print_report(args.json, &report, &report.render(), report.holds())
}

/// Prints a driver's report (pretty JSON, or its text) and gives the exit status: 0 when its
/// invariant holds, 1 when not, 2 when stdout is gone.
fn print_report(json: bool, report: &impl serde::Serialize, text: &str, holds: bool) -> u8 {
    let mut out = std::io::stdout().lock();
    let written = if json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => writeln!(out, "{text}"),
            Err(e) => writeln!(out, "{{\"error\": \"{e}\"}}"),
        }
    } else {
        write!(out, "{text}")
    };
    if written.is_err() {
        return 2;
    }
    if holds { 0 } else { 1 }
}

async fn serve(args: ServeArgs) -> u8 {
    let config = EmulatorConfig {
        port: args.port,
        jobs: args.jobs.clone(),
        ..args.world.emulator_config()
    };
    let emu = match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("local-aws: {e}");
            return 2;
        }
    };
    for name in &args.pipelines {
        emu.add_pipeline(name);
    }
    let ep = emu.endpoint();
    println!(
        "# local-aws is serving CloudFront, CodePipeline, S3 and the Lambda Runtime API on {ep}"
    );
    println!("export AWS_ENDPOINT_URL_CLOUDFRONT={ep}");
    println!("export AWS_ENDPOINT_URL_CODEPIPELINE={ep}");
    println!("export AWS_ENDPOINT_URL_S3={ep}");
    println!("export AWS_ACCESS_KEY_ID=AKIDLOCALAWS");
    println!("export AWS_SECRET_ACCESS_KEY=local-aws-not-checked");
    println!("export AWS_REGION=us-east-1");
    println!("export AWS_DEFAULT_REGION=us-east-1");
    println!(
        "export AWS_LAMBDA_RUNTIME_API={}",
        emu.runtime_api_address()
    );
    let dists: Vec<String> = (emu.distributions().iter())
        .map(|d| {
            let multi = d.is_multi_tenant().then(|| "multi-tenant".to_string());
            with_notes(&d.id, multi, d.access, d.completes_after)
        })
        .collect();
    println!(
        "# distributions: {}",
        if dists.is_empty() {
            "none (add --distribution ID)".to_string()
        } else {
            dists.join(", ")
        }
    );
    let tenants: Vec<String> = (emu.distribution_tenants().iter())
        .map(|t| {
            let of = t.distribution_id.as_ref().map(|d| format!("of {d}"));
            with_notes(&t.id, of, t.access, t.completes_after)
        })
        .collect();
    if !tenants.is_empty() {
        println!("# distribution tenants: {}", tenants.join(", "));
    }
    for d in emu.distributions() {
        let (Some(edge), Some(bucket)) = (emu.edge_endpoint(&d.id), &d.origin) else {
            continue;
        };
        let root = (d.default_root_object.as_ref()).map(|r| format!("default root object {r}"));
        let tags = (d.cache_tag_header.as_ref()).map(|h| format!("cache tags from {h}"));
        let notes: Vec<String> = [Some(format!("origin bucket {bucket}")), root, tags]
            .into_iter()
            .flatten()
            .collect();
        println!("# edge of {}: {edge} ({})", d.id, notes.join(", "));
    }
    if emu.distributions().iter().any(|d| d.origin.is_some()) {
        println!(
            "# edges drop invalidated objects when an invalidation is {} (--edge-invalidates-at)",
            args.world.edge_invalidates_at
        );
    }
    println!(
        "# unknown ids: {}; reused CallerReference with the same paths: {}",
        args.world.unknown_ids,
        if args.world.strict_caller_reference {
            "refused (strict)"
        } else {
            "returns the existing invalidation"
        }
    );
    for job in emu.jobs() {
        println!("# job: {}", job.job_id);
    }
    println!("# new job: curl -s -X POST {ep}/_local/jobs");
    println!(
        "# faults: {} (change: curl -s -X PUT --data 'cloudfront.throttle=0.5' {ep}/_local/faults)",
        emu.faults()
    );
    println!("# seed: {}. Ctrl-C to stop.", emu.seed());
    let _ = std::io::stdout().flush();

    if !args.quiet {
        emu.watch_requests(|r| eprintln!("{}", r.live_line()));
    }
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    0
}

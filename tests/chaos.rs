//! The chaos run, small: 30 simulated pipeline jobs of the real `cf-invalidate-lambda` through
//! local-aws, six at a time, with transient CloudFront failures, TooManyInvalidationsInProgress
//! storms, CodePipeline 5xx and hangs, killed invocations and duplicate deliveries. Every
//! invariant must hold. The full run (300 jobs) is `local-aws chaos`; see docs/reliability.md.

use local_aws::chaos::{self, ChaosConfig, ChaosReport};

/// Fixed, so that CI draws the same 30 jobs every time (timing still varies).
const SEED: u64 = 2026;

fn injected(report: &ChaosReport, fault: &str) -> u32 {
    report
        .figures
        .counters
        .faults_by_kind
        .get(fault)
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_chaotic_jobs_keep_every_invariant() {
    // GIVEN 30 jobs drawn from a fixed seed, four of them with a planted cause (a denied and an
    // unknown distribution, malformed UserParameters, and CloudFront down for good)
    let mut config = ChaosConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-lambda"));
    config.jobs = 30;
    config.concurrency = 6;
    config.seed = SEED;
    config.planted_every = 7;

    // WHEN they all run
    let report = chaos::run(config).await;
    let table = report.render();
    println!("{table}");

    // THEN every invariant holds
    for invariant in &report.invariants {
        assert!(
            invariant.holds(),
            "{}: {} (at most {})\n{table}",
            invariant.name,
            invariant.value,
            invariant.max
        );
    }
    let figures = &report.figures;
    assert_eq!(figures.jobs, 30);
    assert_eq!(figures.hung, 0, "{table}");
    assert_eq!(
        figures.max_invalidations_per_job_and_distribution, 1,
        "{table}"
    );
    assert_eq!(
        figures.unplanted_succeeded, figures.unplanted_jobs,
        "{table}"
    );
    assert_eq!(figures.planted_jobs, 4, "{table}");
    assert_eq!(figures.planted_matched, 4, "{table}");
    assert_eq!(figures.counters.secrets_found, 0, "{table}");

    // AND the chaos really happened: a run without faults would prove nothing
    for fault in [
        "cloudfront.unavailable",
        "cloudfront.throttle",
        "cloudfront.drop",
        "cloudfront.too-many",
        "codepipeline.unavailable",
    ] {
        assert!(injected(&report, fault) > 0, "no {fault} injected\n{table}");
    }
    assert!(figures.continuations > 0, "{table}");
    assert!(figures.counters.duplicate_deliveries > 0, "{table}");
    assert!(
        figures.counters.deadline_kills + figures.counters.injected_kills > 0,
        "{table}"
    );
    assert!(
        figures.counters.results_refused > 0,
        "a duplicate or a lost reply must have met InvalidJobStateException\n{table}"
    );
    assert!(
        figures.counters.creates_processed > figures.counters.invalidations,
        "some CreateInvalidation must have been repeated and absorbed by the CallerReference\n{table}"
    );
}

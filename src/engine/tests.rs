//! Engine scenarios: verdicts as data, over in-memory CloudFront and injected time.

use std::time::Duration;

use super::*;
use crate::params::{Target, parse_user_parameters};
use crate::ports::{Clock, CloudFrontErrorKind as Kind};
use crate::testing::{DIST, FakeClock, FakeCloudFront, OTHER, secs};

struct Scenario {
    clock: FakeClock,
    cloudfront: FakeCloudFront,
}

impl Scenario {
    fn new(distributions: &[(&str, u64)]) -> Self {
        let clock = FakeClock::new();
        let cloudfront = FakeCloudFront::with_distributions(&clock, distributions);
        Self { clock, cloudfront }
    }

    fn engine(&self) -> Engine<FakeCloudFront, FakeClock> {
        Engine {
            cloudfront: self.cloudfront.clone(),
            clock: self.clock.clone(),
            settings: EngineSettings::default(),
        }
    }

    async fn drive(&self, params: &str, deadline: Option<Duration>) -> (JobSpec, JobRun, Verdict) {
        let params = parse_user_parameters(params).expect("valid");
        let spec = JobSpec::new(&params, "job-1".to_owned(), None).expect("valid");
        let mut run = JobRun::start(&spec, self.clock.now());
        let deadline = deadline.map(|d| self.clock.now() + d.as_millis() as u64);
        let verdict = self.engine().drive(&spec, &mut run, deadline, &()).await;
        (spec, run, verdict)
    }
}

/// The one cause of a failed verdict, and what was still in progress.
fn one_cause(verdict: Verdict) -> (FailedTarget, Vec<PendingInvalidation>) {
    let Verdict::Failed {
        mut causes,
        in_progress,
    } = verdict
    else {
        panic!("expected a failure, got {verdict:?}");
    };
    assert_eq!(causes.len(), 1, "one cause: {causes:?}");
    (causes.remove(0), in_progress)
}

#[tokio::test]
async fn a_failure_is_reported_as_facts_not_sentences() {
    let s = Scenario::new(&[(DIST, 5), (OTHER, 60)]);
    s.cloudfront.fail_creates(DIST, &[Kind::AccessDenied]);
    let (_, _, verdict) = s.drive("E2QWRUHAPOMQZL,E1ABCDEFGHIJKL /a", None).await;
    let (failed, in_progress) = one_cause(verdict);
    assert_eq!(failed.target, Target::parse(DIST).expect("id"));
    assert_eq!(failed.invalidation_id, None);
    assert_eq!(failed.cause.operation, Operation::Create);
    assert_eq!(failed.cause.kind, Kind::AccessDenied);
    assert_eq!(failed.cause.code.as_deref(), Some("AccessDenied"));
    let [pending] = in_progress.as_slice() else {
        panic!("the other distribution is still in progress: {in_progress:?}");
    };
    assert_eq!(pending.target.as_str(), OTHER);
}

#[tokio::test]
async fn a_timeout_says_what_was_still_queued_and_in_progress() {
    let s = Scenario::new(&[(DIST, 600), (OTHER, 5)]);
    s.cloudfront
        .fail_creates(OTHER, &[Kind::TooManyInProgress; 40]);
    let params =
        r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"], "timeoutMinutes": 1}"#;
    let (_, _, verdict) = s.drive(params, None).await;
    let Verdict::TimedOut {
        queued,
        in_progress,
    } = verdict
    else {
        panic!("expected a timeout, got {verdict:?}");
    };
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].target.as_str(), OTHER);
    assert!(queued[0].refusals > 1, "{queued:?}");
    assert_eq!(in_progress.len(), 1);
    assert_eq!(in_progress[0].target.as_str(), DIST);
}

#[tokio::test]
async fn a_poll_that_never_answers_is_blamed_on_get_invalidation() {
    // GIVEN an invalidation that is created, then every poll of it hangs
    let s = Scenario::new(&[(DIST, 600)]);
    s.cloudfront.delay_gets(DIST, &[secs(3600); 5]);
    // WHEN the job is driven
    let (_, _, verdict) = s.drive("E2QWRUHAPOMQZL", None).await;
    // THEN it fails on GetInvalidation, with the limit as the fact, after five cut calls
    let (failed, _) = one_cause(verdict);
    assert_eq!(failed.cause.operation, Operation::Get);
    assert_eq!(failed.cause.kind, Kind::NoAnswer { within: secs(20) });
    assert_eq!(failed.cause.code, None);
    assert!(failed.invalidation_id.is_some());
    assert_eq!(s.cloudfront.creates().len(), 1);
}

#[tokio::test]
async fn the_deadline_ends_a_stretch_with_out_of_time() {
    let s = Scenario::new(&[(DIST, 600)]);
    let (_, run, verdict) = s.drive("E2QWRUHAPOMQZL", Some(secs(30))).await;
    assert_eq!(verdict, Verdict::OutOfTime);
    assert!(matches!(
        run.distributions[0].progress,
        Progress::InProgress { .. }
    ));
    // Work stops the report margin before the deadline.
    assert!(s.clock.elapsed() <= secs(27), "{:?}", s.clock.elapsed());
}

#[tokio::test]
async fn watching_an_existing_invalidation_polls_it_and_creates_nothing() {
    let s = Scenario::new(&[(DIST, 4)]);
    let id = s.cloudfront.add_invalidation(DIST, "someone-else", &["/x"]);
    let target = Target::parse(DIST).expect("id");
    let spec = JobSpec::watch(target, secs(60), crate::params::OnTimeout::Fail);
    let mut run = JobRun::watching(&spec, &id, s.clock.now());
    let verdict = s.engine().drive(&spec, &mut run, None, &()).await;
    assert_eq!(verdict, Verdict::Finished);
    assert!(s.cloudfront.creates().is_empty());
    assert_eq!(
        run.distributions[0].progress.invalidation_id(),
        Some(id.as_str())
    );
}

#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl JobObserver for Recorder {
    fn on_event(&self, elapsed: Duration, event: ProgressEvent<'_>) {
        let line = match event {
            ProgressEvent::Created {
                invalidation_id, ..
            } => format!("created {invalidation_id}"),
            ProgressEvent::StillInProgress { .. } => "in progress".to_owned(),
            ProgressEvent::Completed { .. } => "completed".to_owned(),
            ProgressEvent::Deferred {
                attempts, retry_in, ..
            } => {
                format!("deferred {attempts} {}s", retry_in.as_secs())
            }
            ProgressEvent::Failed { cause, .. } => format!("failed {:?}", cause.kind),
        };
        self.0
            .lock()
            .expect("lock")
            .push(format!("{}s {line}", elapsed.as_secs()));
    }
}

#[tokio::test]
async fn drive_without_a_deadline_tells_the_observer_every_change() {
    // GIVEN the CLI's way of running: no Lambda deadline, an observer for progress lines
    let s = Scenario::new(&[(DIST, 3)]);
    s.cloudfront.fail_creates(DIST, &[Kind::TooManyInProgress]);
    let params = parse_user_parameters("E2QWRUHAPOMQZL /a").expect("valid");
    let spec = JobSpec::new(&params, "cli-ref".to_owned(), None).expect("valid");
    let mut run = JobRun::start(&spec, s.clock.now());
    let recorder = Recorder::default();
    // WHEN it drives the job to its end
    let verdict = s.engine().drive(&spec, &mut run, None, &recorder).await;
    // THEN it finished and every change was observed in order
    assert_eq!(verdict, Verdict::Finished);
    let lines = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        lines,
        vec![
            "0s deferred 1 2s",
            "2s created I000000000001",
            "3s in progress",
            "4s in progress",
            "5s completed",
        ]
    );
}

#[test]
fn poll_gap_is_bounded() {
    assert_eq!(poll_gap(Duration::ZERO), secs(1));
    assert_eq!(poll_gap(secs(5)), secs(1));
    assert_eq!(poll_gap(secs(50)), secs(5));
    assert_eq!(poll_gap(secs(3600)), secs(20));
    assert_eq!(retry_gap(1), secs(2));
    assert_eq!(retry_gap(2), secs(4));
    assert_eq!(retry_gap(10), secs(30));
    assert_eq!(retry_gap(u32::MAX), secs(30));
}

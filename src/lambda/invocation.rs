//! One invocation of the action: UserParameters and the continuation token read, the input
//! artifact's paths added, the engine driven to the deadline, and the verdict handed to the
//! wording (`outcome`).

use tracing::info;

use super::outcome::{JobOutcome, Refusal, nothing_changed, outcome, refused, verified};
use crate::artifact::job::{Artifacts, JobArtifacts, JobInputs, paths_from_artifact};
use crate::engine::{Engine, JobRun, JobSpec, ResumeError, Verdict};
use crate::params::parse_user_parameters;
use crate::ports::{Clock, Invalidations, Millis};
use crate::token::ContinuationToken;
use crate::verify::{Site, Verified, VerifyJob, verify};

/// What one Lambda invocation was handed.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub job_id: &'a str,
    pub account_id: Option<&'a str>,
    pub user_parameters: Option<&'a str>,
    pub continuation_token: Option<&'a str>,
    /// The Lambda deadline in ms since the epoch.
    pub deadline: Option<Millis>,
    /// The job event's input artifacts, with their credentials and KMS key.
    pub inputs: &'a JobInputs,
}

/// One invocation of the CodePipeline action, from UserParameters to the outcome to report.
pub async fn run_invocation<I: Invalidations, C: Clock>(
    invocation: Invocation<'_>,
    engine: &Engine<I, C>,
    artifacts: &impl Artifacts,
    site: Option<&dyn Site>,
) -> JobOutcome {
    let Some(raw) = invocation
        .user_parameters
        .filter(|raw| !raw.trim().is_empty())
    else {
        return refused(Refusal::NoParameters);
    };
    let params = match parse_user_parameters(raw) {
        Ok(params) => params,
        Err(error) => return refused(Refusal::Parameters(error)),
    };
    let token = match invocation.continuation_token.map(ContinuationToken::decode) {
        Some(Err(error)) => return refused(Refusal::Token(error)),
        decoded => decoded.and_then(Result::ok),
    };
    let reference_base = match (&token, &params.caller_reference) {
        (Some(token), _) => token.reference_base.clone(),
        (None, Some(reference)) => reference.clone(),
        (None, None) => invocation.job_id.to_owned(),
    };
    let mut params = params;
    // `verify` compares these with S3; the artifact's own files with their CRC-32.
    let given_paths = params.paths.clone();
    let mut deployed = Vec::new();
    let pinned = token.as_ref().and_then(|token| token.artifact.as_ref());
    let mut from_artifact = None;
    if let Some(wanted) = &params.from_artifact {
        let job = JobArtifacts {
            job_id: invocation.job_id,
            user_parameters: raw,
            inputs: invocation.inputs,
        };
        match paths_from_artifact(artifacts, wanted, job, pinned).await {
            Ok(found) => {
                params.paths.extend(found.paths);
                deployed = found.deployed;
                from_artifact = Some(found.facts);
            }
            Err(error) => return refused(Refusal::Artifact(error)),
        }
    }
    if let (true, Some(facts)) = (params.paths.is_empty(), &from_artifact) {
        if pinned.is_some() {
            // The first invocation planned paths, or there would be no continuation.
            return refused(Refusal::PlanChanged);
        }
        // "changed" found nothing to invalidate, and no paths were listed besides.
        // The summary is logged once, with the result that carries it ("reporting success").
        info!(changed_files = facts.changed_files, "nothing to invalidate");
        return nothing_changed(&params.targets, facts);
    }
    let mut spec = match JobSpec::new(
        &params,
        reference_base,
        invocation.account_id.map(str::to_owned),
    ) {
        Ok(spec) => spec,
        Err(error) => return refused(Refusal::Paths(error)),
    };
    if pinned.is_some_and(|pinned| pinned.plan != spec.plan.fingerprint()) {
        return refused(Refusal::PlanChanged);
    }
    spec.from_artifact = from_artifact;
    let now = engine.clock.now();
    let mut run = match &token {
        None => JobRun::start(&spec, now),
        Some(token) => match JobRun::resume(&spec, token, now) {
            Ok(run) => run,
            Err(ResumeError::DistributionsDiffer { expected, found }) => {
                return refused(Refusal::ForeignToken { expected, found });
            }
        },
    };
    info!(
        distributions = %spec.distributions.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(","),
        paths = spec.plan.billed_paths(),
        requested_paths = spec.plan.requested_paths(),
        collapsed = spec.plan.was_collapsed(),
        continuation = token.is_some(),
        elapsed_ms = now.saturating_sub(run.started_at),
        "job planned"
    );
    let verdict = engine
        .drive(&spec, &mut run, invocation.deadline, &())
        .await;
    let Some(wanted) = params
        .verify
        .as_ref()
        .filter(|_| verdict == Verdict::Finished)
    else {
        return outcome(&spec, &run, &verdict, engine.clock.now(), &engine.settings);
    };
    let Some(site) = site else {
        let problem = "this build of the function cannot reach the edge".to_owned();
        let now = engine.clock.now();
        return verified(
            &spec,
            &run,
            Verified::Unverifiable(problem),
            wanted.on_stale,
            now,
        );
    };
    let job = VerifyJob {
        params: wanted,
        targets: &spec.distributions,
        paths: &given_paths,
        deployed: &deployed,
        started_at: run.started_at,
        timeout: spec.timeout,
    };
    let progress = token.and_then(|token| token.verify).unwrap_or_default();
    let result = verify(
        site,
        &engine.clock,
        job,
        progress,
        invocation.deadline,
        engine.settings.report_margin,
    )
    .await;
    if let Verified::Done(report) | Verified::TimedOut(report) = &result {
        info!(
            fresh = report.progress.fresh,
            stale = report.progress.stale,
            missing = report.progress.missing,
            not_comparable = report.progress.not_comparable,
            "edge verified"
        );
    }
    verified(&spec, &run, result, wanted.on_stale, engine.clock.now())
}

//! Fault injection: which failures each emulated API produces, and the compact text syntax
//! `cloudfront.unavailable=0.1,cloudfront.too-many=3,codepipeline.unavailable=0.2`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::duration::DurationRange;
use crate::rng::SeededRng;

/// One of the emulated APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Api {
    /// CloudFront invalidations (REST-XML, `/2020-05-31/...`).
    CloudFront,
    /// CodePipeline job results (JSON 1.1, `POST /` with `X-Amz-Target`).
    CodePipeline,
    /// The Lambda Runtime API (`/2018-06-01/runtime/...`).
    LambdaRuntime,
    /// S3, path-style (`/bucket/key`): every path no other API claims.
    S3,
    /// The emulator's own control endpoints (`/_local/...`) and unknown paths.
    Local,
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::CloudFront => "CloudFront",
            Api::CodePipeline => "CodePipeline",
            Api::LambdaRuntime => "Lambda",
            Api::S3 => "S3",
            Api::Local => "local",
        })
    }
}

/// How often a fault fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dose {
    /// On each call with this probability (0.0 to 1.0). Written `0.1` or `10%`.
    Rate(f64),
    /// On each of the next N calls, then never again. Written as a whole number: `3`.
    Next(u32),
}

impl Dose {
    /// Decides for one call, consuming a draw or a count.
    fn fire(&mut self, rng: &mut SeededRng) -> bool {
        match self {
            Dose::Rate(p) => rng.chance(*p),
            Dose::Next(n) => {
                let fires = *n > 0;
                *n = n.saturating_sub(1);
                fires
            }
        }
    }
}

impl fmt::Display for Dose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{:?}` keeps the decimal point (1.0, 0.5), which is what marks a rate.
            Dose::Rate(p) => write!(f, "{p:?}"),
            Dose::Next(n) => write!(f, "{n}"),
        }
    }
}

/// The kinds of injected fault, as they appear in the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// HTTP 503 `ServiceUnavailable` (CloudFront) / `ServiceUnavailableException` (CodePipeline).
    Unavailable,
    /// HTTP 400 `Throttling` (CloudFront) / `ThrottlingException` (CodePipeline); on S3, 503
    /// `SlowDown`.
    Throttle,
    /// `ThrottlingException` on a CodePipeline call that reports a final result
    /// (`PutJobFailureResult`, or `PutJobSuccessResult` without a continuation token): the
    /// same reply as `Throttle`, aimed at the report that ends the job.
    ThrottleFinal,
    /// The TCP connection is closed before the request is processed, without a response.
    Drop,
    /// The request is processed, then the connection is closed without a response.
    DropAfter,
    /// `TooManyInvalidationsInProgress` on CreateInvalidation, whatever is in progress.
    TooMany,
    /// The request is held and never answered, the connection left open: the caller waits
    /// until it gives up (or, for a Lambda function, until it is killed at its deadline).
    Hang,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Unavailable => "unavailable",
            FaultKind::Throttle => "throttle",
            FaultKind::ThrottleFinal => "throttle-final",
            FaultKind::Drop => "drop",
            FaultKind::DropAfter => "drop-after",
            FaultKind::TooMany => "too-many",
            FaultKind::Hang => "hang",
        }
    }
}

/// Faults of one API (each kind as [`FaultKind`] says). `None` means the fault never fires.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiFaults {
    pub unavailable: Option<Dose>,
    pub throttle: Option<Dose>,
    pub throttle_final: Option<Dose>,
    pub drop: Option<Dose>,
    pub drop_after: Option<Dose>,
    pub too_many: Option<Dose>,
    pub hang: Option<Dose>,
    pub latency: Option<DurationRange>,
}

impl ApiFaults {
    /// The kinds that have a dose, in the order the text syntax writes them.
    pub(crate) fn planted(&self) -> Vec<FaultKind> {
        let mut copy = self.clone();
        let doses = copy.doses();
        doses
            .into_iter()
            .filter(|(_, dose)| dose.is_some())
            .map(|(kind, _)| kind)
            .collect()
    }

    /// Each dose with its kind, in the order the text syntax writes them.
    fn doses(&mut self) -> [(FaultKind, &mut Option<Dose>); 7] {
        [
            (FaultKind::Unavailable, &mut self.unavailable),
            (FaultKind::Throttle, &mut self.throttle),
            (FaultKind::ThrottleFinal, &mut self.throttle_final),
            (FaultKind::Drop, &mut self.drop),
            (FaultKind::DropAfter, &mut self.drop_after),
            (FaultKind::TooMany, &mut self.too_many),
            (FaultKind::Hang, &mut self.hang),
        ]
    }
}

/// Faults for every API that supports them. Parse from the text syntax with [`str::parse`];
/// [`fmt::Display`] writes it back: comma-separated `API.KIND=VALUE` items, `API` being
/// `cloudfront`, `codepipeline` or `s3`, `KIND` a [`FaultKind`] with a [`Dose`], or `latency`
/// with a duration or range (`200ms`, `100ms..1s`) to wait before handling each call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub cloudfront: ApiFaults,
    /// Faults of the CodePipeline API. A 5xx or throttling reply never changes the job.
    pub codepipeline: ApiFaults,
    /// Faults of S3. A 5xx reply never changes an object.
    pub s3: ApiFaults,
}

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    /// The faults of `api` (the Lambda Runtime API and control endpoints have none).
    pub fn for_api(&self, api: Api) -> Option<&ApiFaults> {
        match api {
            Api::CloudFront => Some(&self.cloudfront),
            Api::CodePipeline => Some(&self.codepipeline),
            Api::S3 => Some(&self.s3),
            Api::LambdaRuntime | Api::Local => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault '{item}': {reason}")]
pub struct FaultSpecError {
    /// The item of the spec that is wrong.
    pub item: String,
    pub reason: String,
}

impl FromStr for Faults {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut faults = Faults::default();
        for raw in s.split(',') {
            let item = raw.trim();
            if item.is_empty() || item == "none" {
                continue;
            }
            let err = |reason: &str| FaultSpecError {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            let (api_name, kind, value) = (item.split_once('='))
                .and_then(|(key, value)| key.trim().split_once('.').map(|(a, k)| (a, k, value)))
                .ok_or_else(|| err("expected API.KIND=VALUE, e.g. cloudfront.unavailable=0.1"))?;
            let (api, target) = match api_name.to_ascii_lowercase().as_str() {
                "cloudfront" => (Api::CloudFront, &mut faults.cloudfront),
                "codepipeline" => (Api::CodePipeline, &mut faults.codepipeline),
                "s3" => (Api::S3, &mut faults.s3),
                _ => return Err(err("unknown API: use cloudfront, codepipeline or s3")),
            };
            let value = value.trim();
            let kind = kind.to_ascii_lowercase();
            if kind == "latency" {
                target.latency = Some(value.parse().map_err(|e: crate::DurationError| {
                    err(&format!(
                        "invalid duration '{}' for latency: {e}",
                        e.value()
                    ))
                })?);
                continue;
            }
            let mut doses = target.doses().into_iter();
            let Some((kind, dose)) = doses.find(|(k, _)| k.name() == kind) else {
                return Err(err(
                    "unknown kind: use unavailable, throttle, throttle-final, drop, drop-after, hang, too-many or latency",
                ));
            };
            match kind {
                FaultKind::ThrottleFinal if api != Api::CodePipeline => {
                    return Err(err("throttle-final applies to codepipeline only"));
                }
                FaultKind::TooMany if api != Api::CloudFront => {
                    return Err(err("too-many applies to cloudfront only"));
                }
                _ => *dose = Some(parse_dose(value).map_err(|r| err(&r))?),
            }
        }
        Ok(faults)
    }
}

fn parse_dose(value: &str) -> Result<Dose, String> {
    let bad = || {
        format!(
            "'{value}' is neither a rate (0.1, 25%) nor a count of next calls (a whole number like 3)"
        )
    };
    if let Some(pct) = value.strip_suffix('%') {
        let p: f64 = pct.trim().parse().map_err(|_| bad())?;
        if !(0.0..=100.0).contains(&p) {
            return Err(format!("rate '{value}' must be between 0% and 100%"));
        }
        return Ok(Dose::Rate(p / 100.0));
    }
    if value.contains('.') {
        let p: f64 = value.parse().map_err(|_| bad())?;
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("rate '{value}' must be between 0.0 and 1.0"));
        }
        return Ok(Dose::Rate(p));
    }
    value.parse::<u32>().map(Dose::Next).map_err(|_| bad())
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        let apis = [
            ("cloudfront", &self.cloudfront),
            ("codepipeline", &self.codepipeline),
            ("s3", &self.s3),
        ];
        for (api, faults) in apis {
            for (kind, dose) in faults.clone().doses() {
                items.extend(dose.map(|d| format!("{api}.{}={d}", kind.name())));
            }
            items.extend(faults.latency.map(|l| format!("{api}.latency={l}")));
        }
        let text = items.join(",");
        f.write_str(if text.is_empty() { "none" } else { &text })
    }
}

/// What a call is, for the faults that hit only some calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultTarget {
    /// A CloudFront create call (`too-many`).
    pub create_invalidation: bool,
    /// A CodePipeline report of a final result (`throttle-final`).
    pub final_report: bool,
}

/// The live fault state: the configured faults (with their counts running down) and one seeded
/// random stream per API.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    /// CloudFront's, CodePipeline's and S3's.
    rngs: [SeededRng; 3],
}

impl FaultState {
    pub(crate) fn new(faults: Faults, seed: u64) -> Self {
        Self {
            faults,
            rngs: [1, 2, 5].map(|stream| SeededRng::with_stream(seed, stream)),
        }
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    pub(crate) fn set(&mut self, faults: Faults) {
        self.faults = faults;
    }

    fn parts(&mut self, api: Api) -> Option<(&mut ApiFaults, &mut SeededRng)> {
        let (faults, stream) = match api {
            Api::CloudFront => (&mut self.faults.cloudfront, 0),
            Api::CodePipeline => (&mut self.faults.codepipeline, 1),
            Api::S3 => (&mut self.faults.s3, 2),
            Api::LambdaRuntime | Api::Local => return None,
        };
        Some((faults, &mut self.rngs[stream]))
    }

    /// The delay to add before handling a call of `api`.
    pub(crate) fn latency(&mut self, api: Api) -> Option<std::time::Duration> {
        let (faults, rng) = self.parts(api)?;
        faults.latency.map(|range| range.draw(rng))
    }

    /// The fault (if any) that replaces the handling of this call.
    pub(crate) fn before(&mut self, api: Api, call: FaultTarget) -> Option<FaultKind> {
        let (faults, rng) = self.parts(api)?;
        let mut candidates = vec![
            (FaultKind::Hang, &mut faults.hang),
            (FaultKind::Drop, &mut faults.drop),
            (FaultKind::Unavailable, &mut faults.unavailable),
            (FaultKind::Throttle, &mut faults.throttle),
        ];
        if call.final_report {
            candidates.push((FaultKind::ThrottleFinal, &mut faults.throttle_final));
        }
        if call.create_invalidation {
            candidates.push((FaultKind::TooMany, &mut faults.too_many));
        }
        for (kind, dose) in candidates {
            if let Some(dose) = dose
                && dose.fire(rng)
            {
                return Some(kind);
            }
        }
        None
    }

    /// Whether the reply to this (already processed) call is lost.
    pub(crate) fn drop_after(&mut self, api: Api) -> bool {
        self.parts(api)
            .is_some_and(|(faults, rng)| faults.drop_after.as_mut().is_some_and(|d| d.fire(rng)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_the_documented_example() {
        let f: Faults = "cloudfront.unavailable=0.1,cloudfront.throttle=0.1,cloudfront.drop=0.1,\
                         cloudfront.too-many=3,cloudfront.latency=200ms,codepipeline.unavailable=0.2"
            .parse()
            .unwrap();
        assert_eq!(f.cloudfront.unavailable, Some(Dose::Rate(0.1)));
        assert_eq!(f.cloudfront.too_many, Some(Dose::Next(3)));
        assert_eq!(
            f.cloudfront.latency,
            Some(DurationRange::fixed(Duration::from_millis(200)))
        );
        assert_eq!(f.codepipeline.unavailable, Some(Dose::Rate(0.2)));
        assert_eq!(f.codepipeline.throttle, None);
    }

    #[test]
    fn display_round_trips() {
        let text = "cloudfront.unavailable=0.25,cloudfront.drop-after=2,cloudfront.latency=100ms..1s,codepipeline.throttle=1.0,codepipeline.hang=1,s3.unavailable=2,s3.throttle=0.5";
        let f: Faults = text.parse().unwrap();
        assert_eq!(f.to_string(), text);
        assert_eq!(f.to_string().parse::<Faults>().unwrap(), f);
        assert_eq!(Faults::none().to_string(), "none");
        assert_eq!("".parse::<Faults>().unwrap(), Faults::none());
        assert_eq!("none".parse::<Faults>().unwrap(), Faults::none());
        let half: Faults = "cloudfront.throttle=50%".parse().unwrap();
        assert_eq!(half.cloudfront.throttle, Some(Dose::Rate(0.5)));
    }

    #[test]
    fn errors_name_the_item() {
        for (bad, fragment) in [
            ("cloudfront.unavailable", "API.KIND=VALUE"),
            ("sqs.drop=0.1", "unknown API"),
            ("cloudfront.explode=1", "unknown kind"),
            ("cloudfront.drop=1.5", "between 0.0 and 1.0"),
            ("cloudfront.drop=abc", "neither a rate"),
            ("codepipeline.too-many=1", "cloudfront only"),
            ("cloudfront.latency=fast", "invalid duration 'fast'"),
        ] {
            let err = bad.parse::<Faults>().unwrap_err();
            assert_eq!(err.item, bad);
            let text = err.to_string();
            assert!(text.contains(bad) && text.contains(fragment), "{text}");
        }
    }

    const CREATE: FaultTarget = FaultTarget {
        create_invalidation: true,
        final_report: false,
    };

    #[test]
    fn final_report_throttles_hit_final_reports_only() {
        let faults: Faults = "codepipeline.throttle-final=2".parse().unwrap();
        assert_eq!(faults.to_string(), "codepipeline.throttle-final=2");
        let mut state = FaultState::new(faults, 1);
        let report = FaultTarget::default();
        let last = FaultTarget {
            final_report: true,
            ..report
        };
        let fired = [report, last, report, last, last].map(|t| state.before(Api::CodePipeline, t));
        let throttled = Some(FaultKind::ThrottleFinal);
        assert_eq!(fired, [None, throttled, None, throttled, None]);
        let err = "cloudfront.throttle-final=1".parse::<Faults>().unwrap_err();
        assert!(err.to_string().contains("codepipeline only"), "{err}");
    }

    #[test]
    fn counts_run_down_and_rates_repeat_with_the_seed() {
        let faults: Faults = "cloudfront.too-many=2,codepipeline.unavailable=0.5"
            .parse()
            .unwrap();
        let mut state = FaultState::new(faults.clone(), 9);
        let calls = [FaultTarget::default(), CREATE, CREATE, CREATE];
        let fired = calls.map(|t| state.before(Api::CloudFront, t));
        let too_many = Some(FaultKind::TooMany);
        assert_eq!(fired, [None, too_many, too_many, None]);
        let draws = |seed| {
            let mut s = FaultState::new(faults.clone(), seed);
            (0..32)
                .map(|_| {
                    s.before(Api::CodePipeline, FaultTarget::default())
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(5), draws(5));
        assert!(draws(5).contains(&true) && draws(5).contains(&false));
    }
}

//! The continuation token: everything the next invocation needs, small, versioned and checked on the way back in.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ports::Millis;
use crate::values::{MAX_DISTRIBUTIONS, Target, caller_reference, is_invalidation_id};

/// CodePipeline refuses a continuation token over 2048 characters.
pub const MAX_TOKEN_LEN: usize = 2048;
const VERSION_PREFIX: &str = "v1.";
const CHECKSUM_LEN: usize = 12;

/// The state of one distribution (or distribution tenant) between invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenDistribution {
    #[serde(rename = "d")]
    pub distribution_id: String,
    /// The invalidation id once it has been created; `None` while CloudFront refused it for now.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    /// Seconds from the job's start to the invalidation's creation: the poll schedule counts from there.
    #[serde(rename = "c", default, skip_serializing_if = "is_default")]
    pub created_after_s: u64,
    #[serde(rename = "k", default, skip_serializing_if = "is_default")]
    pub completed: bool,
    /// How many times creation was refused with TooManyInvalidationsInProgress, for the back-off.
    #[serde(rename = "r", default, skip_serializing_if = "is_default")]
    pub refusals: u32,
    /// Calls that failed in a row (after the SDK's retries): a persistent outage must add up
    /// across invocations, not start from zero in each.
    #[serde(rename = "f", default, skip_serializing_if = "is_default")]
    pub failures_in_a_row: u32,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuationToken {
    /// The stable base of every CallerReference of this job: the first job id or the user's callerReference.
    #[serde(rename = "b")]
    pub reference_base: String,
    /// When the first invocation started, in ms since the epoch: `timeoutMinutes` counts from here.
    #[serde(rename = "t")]
    pub started_at: Millis,
    #[serde(rename = "s")]
    pub distributions: Vec<TokenDistribution>,
    /// What `pathsFromArtifact` compared, so that every invocation plans the same paths.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<TokenArtifact>,
    /// How far `verify` got, once every invalidation completed.
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<crate::verify::VerifyProgress>,
}

/// Longest previous-artifact key pinned in a token; CodePipeline's own keys are under 50
/// characters (`pipeline/Artifact/abc1234`). A longer one is found again in the history.
pub const MAX_PINNED_KEY_LEN: usize = 160;
/// Longest pipeline execution id accepted back (CodePipeline's are 36-character UUIDs).
const MAX_EXECUTION_ID_LEN: usize = 100;

/// Why "changed" invalidated every file instead, for the summary of later invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FallbackCode {
    /// No earlier successful run of the action in the history read.
    #[serde(rename = "n")]
    NoEarlierRun,
    /// The earlier run's artifact is gone from the bucket.
    #[serde(rename = "g")]
    Gone,
    /// The earlier run had no input artifact of that name.
    #[serde(rename = "x")]
    NoSuchArtifact,
    /// The earlier run's artifact could not be read: S3 answers AccessDenied for a removed
    /// object when the credentials may not list the bucket.
    #[serde(rename = "u")]
    Unreadable,
}

/// The `pathsFromArtifact` facts of a job, fixed by its first invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenArtifact {
    /// The fingerprint of the plan the first invocation made: a later one that reads the
    /// artifacts differently must not create invalidations under another reference.
    #[serde(rename = "h")]
    pub plan: String,
    /// The pipeline execution whose artifact was compared with.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub previous_execution: Option<String>,
    /// Where that artifact is; absent when its key was too long to pin.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub previous_bucket: Option<String>,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub previous_key: Option<String>,
    /// Set when "changed" fell back to every file.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackCode>,
}

impl TokenArtifact {
    /// A pin with no previous artifact to read again: "all", or "changed" that fell back to
    /// every file (`fallback`, with the run concerned when there is one). The plan fingerprint
    /// is set once the plan is made.
    pub fn without_previous(execution: Option<String>, fallback: Option<FallbackCode>) -> Self {
        Self {
            plan: String::new(),
            previous_execution: execution,
            previous_bucket: None,
            previous_key: None,
            fallback,
        }
    }

    fn validate(&self) -> Result<(), TokenError> {
        let invalid = |field| Err(TokenError::InvalidField { field });
        if self.plan.len() != 8 || !self.plan.bytes().all(|b| b.is_ascii_hexdigit()) {
            return invalid("plan fingerprint");
        }
        if self
            .previous_execution
            .as_ref()
            .is_some_and(|id| id.is_empty() || id.len() > MAX_EXECUTION_ID_LEN)
        {
            return invalid("previous execution id");
        }
        match (&self.previous_bucket, &self.previous_key) {
            (None, None) => {}
            (Some(bucket), Some(key))
                if self.previous_execution.is_some()
                    && (3..=63).contains(&bucket.len())
                    && !key.is_empty()
                    && key.len() <= MAX_PINNED_KEY_LEN => {}
            _ => return invalid("previous artifact location"),
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the continuation token is {0} characters long; at most {MAX_TOKEN_LEN} are allowed")]
    TooLong(usize),
    #[error(
        "the continuation token has an unknown version (expected it to start with \"{VERSION_PREFIX}\")"
    )]
    UnknownVersion,
    #[error("the continuation token is damaged or was altered: {0}")]
    Damaged(&'static str),
    #[error("the continuation token holds an invalid {field}")]
    InvalidField { field: &'static str },
}

impl ContinuationToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(&json);
        format!("{VERSION_PREFIX}{body}.{}", checksum(&json))
    }

    /// Reads a token that came back from CodePipeline. It is untrusted input: every field is checked.
    pub fn decode(token: &str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong(token.len()));
        }
        let rest = token
            .strip_prefix(VERSION_PREFIX)
            .ok_or(TokenError::UnknownVersion)?;
        let (body, sum) = rest
            .rsplit_once('.')
            .ok_or(TokenError::Damaged("no checksum"))?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Damaged("not base64"))?;
        if checksum(&json) != sum {
            return Err(TokenError::Damaged("checksum mismatch"));
        }
        let parsed: Self = serde_json::from_slice(&json)
            .map_err(|_| TokenError::Damaged("not a token document"))?;
        parsed.validate()?;
        Ok(parsed)
    }

    fn validate(&self) -> Result<(), TokenError> {
        let invalid = |field| Err(TokenError::InvalidField { field });
        // The same rule as a callerReference given by the user; a job id passes it too.
        if caller_reference(&self.reference_base).as_deref() != Ok(self.reference_base.as_str()) {
            return invalid("caller reference");
        }
        if self.distributions.is_empty() || self.distributions.len() > MAX_DISTRIBUTIONS {
            return invalid("distribution list");
        }
        if let Some(artifact) = &self.artifact {
            artifact.validate()?;
        }
        for entry in &self.distributions {
            if Target::parse(&entry.distribution_id).is_err() {
                return invalid("distribution id");
            }
            match &entry.invalidation_id {
                Some(id) if !is_invalidation_id(id) => return invalid("invalidation id"),
                None if entry.completed => return invalid("distribution state"),
                _ => {}
            }
        }
        Ok(())
    }
}

fn checksum(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    crate::text::hex(&digest[..CHECKSUM_LEN / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(distributions: usize) -> ContinuationToken {
        ContinuationToken {
            reference_base: "6b5ed6a2-4c1e-4f6a-9d2b-0c8e7f1a2b3c".into(),
            started_at: 1_795_000_000_000,
            distributions: (0..distributions)
                .map(|n| TokenDistribution {
                    distribution_id: format!("E2QWRUHAPOMQ{n:02}"),
                    invalidation_id: Some(format!("I2J0I21PCUYOIKFEXAMPLE{n:03}")),
                    created_after_s: 86_399,
                    completed: n % 2 == 0,
                    refusals: 0,
                    failures_in_a_row: 0,
                })
                .collect(),
            artifact: None,
            verify: None,
        }
    }

    fn pinned() -> TokenArtifact {
        TokenArtifact {
            plan: "0a1b2c3d".into(),
            previous_execution: Some("3f2a7c1e-8a63-4d2b-9b7f-5d8e2c1a0b9f".into()),
            previous_bucket: Some("b".repeat(63)),
            previous_key: Some("k".repeat(MAX_PINNED_KEY_LEN)),
            fallback: None,
        }
    }

    #[test]
    fn a_pinned_artifact_round_trips_and_is_checked() {
        let mut token = sample(2);
        token.artifact = Some(pinned());
        assert_eq!(
            ContinuationToken::decode(&token.encode()),
            Ok(token.clone())
        );
        let broken = [
            TokenArtifact {
                plan: "not-hex!".into(),
                ..pinned()
            },
            TokenArtifact {
                previous_key: None,
                ..pinned()
            },
            TokenArtifact {
                previous_key: Some("k".repeat(MAX_PINNED_KEY_LEN + 1)),
                ..pinned()
            },
            TokenArtifact {
                previous_execution: None,
                ..pinned()
            },
        ];
        for artifact in broken {
            token.artifact = Some(artifact.clone());
            assert!(
                matches!(
                    ContinuationToken::decode(&token.encode()),
                    Err(TokenError::InvalidField { .. })
                ),
                "{artifact:?}"
            );
        }
    }

    #[test]
    fn round_trips() {
        let token = sample(3);
        assert_eq!(ContinuationToken::decode(&token.encode()), Ok(token));
    }

    #[test]
    fn ten_distributions_with_the_longest_fields_fit_in_2048_characters() {
        let mut token = sample(10);
        token.reference_base = "R".repeat(crate::values::MAX_CALLER_REFERENCE_LEN);
        for entry in &mut token.distributions {
            entry.distribution_id = "E".repeat(20);
            entry.invalidation_id = Some("I".repeat(30));
            entry.refusals = 1_000;
            entry.failures_in_a_row = 1_000;
            entry.created_after_s = 86_400;
            entry.completed = true;
        }
        // The longest previous artifact a token pins, with a fallback reason too.
        token.artifact = Some(TokenArtifact {
            fallback: Some(FallbackCode::NoSuchArtifact),
            ..pinned()
        });
        let encoded = token.encode();
        assert!(
            encoded.len() <= MAX_TOKEN_LEN,
            "{} characters",
            encoded.len()
        );
        assert_eq!(ContinuationToken::decode(&encoded), Ok(token));
    }

    #[test]
    fn a_changed_character_is_detected() {
        let encoded = sample(2).encode();
        let mut bytes = encoded.into_bytes();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ASCII stays UTF-8");
        assert!(matches!(
            ContinuationToken::decode(&tampered),
            Err(TokenError::Damaged(_))
        ));
    }

    /// A token of `document` with a valid checksum, as only someone who read this code could make.
    fn forge(document: &[u8]) -> String {
        let body = URL_SAFE_NO_PAD.encode(document);
        format!("{VERSION_PREFIX}{body}.{}", checksum(document))
    }

    #[test]
    fn a_forged_document_with_a_valid_checksum_is_still_validated() {
        let forged = forge(br#"{"b":"ref","t":1,"s":[{"d":"bad id","i":"I1"}]}"#);
        assert_eq!(
            ContinuationToken::decode(&forged),
            Err(TokenError::InvalidField {
                field: "distribution id"
            })
        );
    }

    #[test]
    fn rejects_unknown_fields_versions_and_oversized_tokens() {
        let extra = forge(br#"{"b":"ref","t":1,"s":[{"d":"E1"}],"x":1}"#);
        assert!(matches!(
            ContinuationToken::decode(&extra),
            Err(TokenError::Damaged(_))
        ));
        assert_eq!(
            ContinuationToken::decode("v2.abc.def"),
            Err(TokenError::UnknownVersion)
        );
        assert_eq!(
            ContinuationToken::decode(&"v1.".repeat(1000)),
            Err(TokenError::TooLong(3000))
        );
        assert!(ContinuationToken::decode("").is_err());
        assert!(ContinuationToken::decode("v1.").is_err());
        assert!(ContinuationToken::decode("v1.!!!.000000000000").is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(input in ".{0,3000}") {
            let _ = ContinuationToken::decode(&input);
        }

        #[test]
        fn every_valid_token_round_trips(
            base in "[!-~]{1,128}",
            started_at in any::<u64>(),
            entries in proptest::collection::vec(
                ("[A-Z0-9]{1,20}", proptest::option::of("[A-Z0-9]{1,30}"), any::<u64>(), any::<bool>(), any::<u32>(), any::<u32>()),
                1..=10,
            ),
        ) {
            let token = ContinuationToken {
                reference_base: base,
                started_at,
                distributions: entries
                    .into_iter()
                    .map(|(distribution_id, invalidation_id, created_after_s, completed, refusals, failures_in_a_row)| TokenDistribution {
                        completed: completed && invalidation_id.is_some(),
                        distribution_id,
                        invalidation_id,
                        created_after_s,
                        refusals,
                        failures_in_a_row,
                    })
                    .collect(),
                artifact: None,
            verify: None,
            };
            prop_assert_eq!(ContinuationToken::decode(&token.encode()), Ok(token));
        }

        #[test]
        fn any_single_byte_change_is_rejected(position in any::<prop::sample::Index>(), replacement in b'!'..=b'~') {
            let encoded = sample(2).encode();
            let mut bytes = encoded.clone().into_bytes();
            let at = position.index(bytes.len());
            prop_assume!(bytes[at] != replacement);
            bytes[at] = replacement;
            let tampered = String::from_utf8(bytes).expect("ASCII stays UTF-8");
            prop_assert!(ContinuationToken::decode(&tampered).is_err());
        }
    }
}

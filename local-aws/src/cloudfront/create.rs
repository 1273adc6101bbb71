//! CreateInvalidation and CreateInvalidationForDistributionTenant: the batch is read, checked
//! against CloudFront's rules, matched against the CallerReferences used before, held to the
//! in-progress limits, and only then issued.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{
    CALLER_REFERENCE_REUSED, CallerReferenceReuse, CfContext, CfError, CloudFrontState,
    InvalidationStatus, MAX_CACHE_TAG_LEN, MAX_FILE_PATHS_IN_PROGRESS, MAX_PATH_LEN,
    MAX_PATHS_PER_BATCH, MAX_WILDCARD_PATHS_IN_PROGRESS, StoredInvalidation, Target, created_reply,
};
use crate::reply::{CallInfo, Reply};
use crate::rng::SeededRng;
use crate::xml::read_invalidation_batch;

/// An `InvalidationBatch` with every required element, not yet checked against the rules.
struct Batch {
    caller_reference: String,
    /// `Paths/Quantity`.
    quantity: usize,
    paths: Vec<String>,
}

impl Batch {
    /// What the request log says of it: `2 path(s), CallerReference r`.
    fn describe(&self) -> String {
        format!(
            "{} path(s), CallerReference {}",
            self.paths.len(),
            self.caller_reference
        )
    }
}

impl CloudFrontState {
    /// Creates an invalidation on `target`, which exists and may be invalidated.
    pub(super) fn create(
        &mut self,
        target: &Target,
        body: &[u8],
        ctx: &CfContext<'_>,
        rng: &mut SeededRng,
        call: &mut CallInfo,
    ) -> Result<Reply, CfError> {
        let batch = parse(body)?;
        call.detail = Some(batch.describe());
        validate(&batch)?;
        if let Some(existing) = self.reused_reference(target, &batch, call)? {
            return Ok(created_reply(target, existing, ctx));
        }
        let now = ctx.clock.elapsed();
        self.check_in_progress(target, &batch.paths, now)?;
        let inv = self.issue(target, batch, now, rng);
        let reply = created_reply(target, &inv, ctx);
        let id = inv.id.clone();
        self.stored_mut(target)
            .ok_or_else(|| CfError::not_found(target))?
            .push(inv);
        call.invalidation_id = Some(id);
        Ok(reply)
    }

    /// CallerReference idempotency. `Ok(None)`: the reference is new on this target.
    /// `Ok(Some)`: the invalidation an earlier identical batch created, to be returned again.
    /// `Err`: the reuse is refused (other paths, or the strict mode).
    fn reused_reference(
        &self,
        target: &Target,
        batch: &Batch,
        call: &mut CallInfo,
    ) -> Result<Option<&StoredInvalidation>, CfError> {
        let Some(existing) = self
            .stored(target)
            .iter()
            .find(|inv| inv.caller_reference == batch.caller_reference)
        else {
            return Ok(None);
        };
        let before: BTreeSet<&str> = existing.paths.iter().map(String::as_str).collect();
        let asked: BTreeSet<&str> = batch.paths.iter().map(String::as_str).collect();
        let id = &existing.id;
        let (reuse, why) = match (before == asked, self.rules.strict_caller_reference) {
            (true, false) => (
                CallerReferenceReuse::ReturnedExisting,
                format!("existing invalidation {id} returned"),
            ),
            (true, true) => (
                CallerReferenceReuse::RefusedStrict,
                format!("same batch as {id}, refused by the strict CallerReference mode"),
            ),
            (false, _) => (
                CallerReferenceReuse::RefusedOtherPaths,
                format!("used by {id} with other paths, refused"),
            ),
        };
        call.caller_reference_reuse = Some(reuse);
        call.detail = Some(format!("{} ({why})", batch.describe()));
        if reuse == CallerReferenceReuse::ReturnedExisting {
            call.invalidation_id = Some(existing.id.clone());
            Ok(Some(existing))
        } else {
            Err(CfError::InvalidArgument(
                CALLER_REFERENCE_REUSED.to_string(),
            ))
        }
    }

    /// CloudFront's limits on what may be in progress at once on one target, wildcard paths
    /// and file paths counted apart.
    fn check_in_progress(
        &self,
        target: &Target,
        paths: &[String],
        now: Duration,
    ) -> Result<(), CfError> {
        let in_progress = self
            .stored(target)
            .iter()
            .filter(|inv| inv.status(now) == InvalidationStatus::InProgress)
            .flat_map(|inv| &inv.paths);
        let (wildcards, files) = count_wildcards(in_progress);
        let (new_wildcards, new_files) = count_wildcards(paths);
        for (kind, in_progress, requested, limit) in [
            (
                "wildcard",
                wildcards,
                new_wildcards,
                MAX_WILDCARD_PATHS_IN_PROGRESS,
            ),
            ("file", files, new_files, MAX_FILE_PATHS_IN_PROGRESS),
        ] {
            if in_progress + requested > limit {
                return Err(CfError::TooManyInvalidationsInProgress(format!(
                    "Processing your request would cause the maximum number of {kind} invalidations in progress to be exceeded ({in_progress} in progress + {requested} requested > {limit})."
                )));
            }
        }
        Ok(())
    }

    /// A new invalidation of `batch`: a fresh id and a completion time drawn for `target`.
    fn issue(
        &mut self,
        target: &Target,
        batch: Batch,
        now: Duration,
        rng: &mut SeededRng,
    ) -> StoredInvalidation {
        let id = loop {
            let len = usize::try_from(rng.between(12, 25)).unwrap_or(13);
            let candidate = format!(
                "I{}",
                rng.string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
            );
            if self.issued_ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        StoredInvalidation {
            id,
            created: now,
            completes_after: self.completion(target).draw(rng),
            paths: batch.paths,
            caller_reference: batch.caller_reference,
        }
    }
}

/// (wildcard paths, other items) among `paths`.
fn count_wildcards<'a>(paths: impl IntoIterator<Item = &'a String>) -> (usize, usize) {
    let (wildcards, files): (Vec<_>, Vec<_>) = paths.into_iter().partition(|p| p.ends_with('*'));
    (wildcards.len(), files.len())
}

/// Reads the body into a [`Batch`]: every required element present and well formed.
fn parse(body: &[u8]) -> Result<Batch, CfError> {
    let invalid = |message: &str| CfError::InvalidArgument(message.to_string());
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return Err(CfError::MissingBody);
    }
    let raw = read_invalidation_batch(&text)
        .map_err(|why| CfError::MalformedInput(format!("The XML document is malformed: {why}")))?;
    let caller_reference = raw
        .caller_reference
        .ok_or_else(|| invalid("The request is missing the required element CallerReference."))?;
    if caller_reference.is_empty() {
        return Err(invalid("CallerReference must not be empty."));
    }
    let paths = raw
        .paths
        .ok_or_else(|| invalid("The request is missing the required element Paths."))?;
    let quantity_text = paths
        .quantity
        .ok_or_else(|| invalid("The request is missing the required element Paths/Quantity."))?;
    let quantity = quantity_text.trim().parse::<usize>().map_err(|_| {
        CfError::MalformedInput(format!(
            "Paths/Quantity must be an integer, got '{quantity_text}'."
        ))
    })?;
    Ok(Batch {
        caller_reference,
        quantity,
        paths: paths.items.paths,
    })
}

/// CloudFront's rules for a batch: its quantity, its size, and every item.
fn validate(batch: &Batch) -> Result<(), CfError> {
    let items = batch.paths.len();
    if batch.quantity != items {
        return Err(CfError::InconsistentQuantities {
            quantity: batch.quantity,
            items,
        });
    }
    if items == 0 {
        return Err(CfError::InvalidArgument(
            "Your request must contain at least one invalidation path.".to_string(),
        ));
    }
    if items > MAX_PATHS_PER_BATCH {
        return Err(CfError::BatchTooLarge(items));
    }
    for path in &batch.paths {
        check_path(path).map_err(|why| {
            CfError::InvalidArgument(format!(
                "Your request contains one or more invalid invalidation paths: {why}"
            ))
        })?;
    }
    Ok(())
}

/// CloudFront's rules for one item of a batch: a path, or a cache tag (`#...`).
fn check_path(path: &str) -> Result<(), String> {
    if let Some(tag) = path.strip_prefix('#') {
        if path.len() > MAX_CACHE_TAG_LEN {
            return Err(format!(
                "cache tag '{}...' is longer than {MAX_CACHE_TAG_LEN} characters",
                prefix(path, 40)
            ));
        }
        if tag.is_empty() {
            return Err("cache tag '#' is empty".to_string());
        }
        if let Some(c) = tag
            .chars()
            .find(|c| !(('!'..='~').contains(c)) || *c == ',' || *c == '*')
        {
            return Err(format!(
                "cache tag '{path}' contains {}; tags are ASCII 33-126 without commas or wildcards",
                describe(c)
            ));
        }
        return Ok(());
    }
    if !path.starts_with('/') {
        return Err(format!("'{}' does not begin with /", prefix(path, 80)));
    }
    if path.chars().count() > MAX_PATH_LEN {
        return Err(format!(
            "'{}...' is longer than {MAX_PATH_LEN} characters",
            prefix(path, 40)
        ));
    }
    if let Some(star) = path.find('*')
        && star != path.len() - 1
    {
        return Err(format!(
            "'{}' has * before its end; a wildcard is only allowed as the last character",
            prefix(path, 80)
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|c| *c == ' ' || !c.is_ascii() || c.is_ascii_control())
    {
        return Err(format!(
            "'{}' contains {}; URL-encode it",
            prefix(path, 80),
            describe(c)
        ));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        ' ' => "an unencoded space".to_string(),
        c if !c.is_ascii() => format!("the non-ASCII character '{c}'"),
        c if c.is_ascii_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("'{c}'"),
    }
}

fn prefix(s: &str, n: usize) -> &str {
    cf_invalidate::text::head_chars(s, n).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        for ok in [
            "/",
            "/a",
            "/a/*",
            "/*",
            "/a%20b",
            "/a.jpg?x=1",
            "#product:42",
            "/~user/[x]",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("a", "does not begin with /"),
            ("/a*/b", "only allowed as the last"),
            ("/a b", "unencoded space"),
            ("/caf\u{e9}", "non-ASCII"),
            ("/a\tb", "control character"),
            ("#a,b", "contains ','"),
            ("#a*", "contains '*'"),
            ("#", "empty"),
            ("#caf\u{e9}", "non-ASCII"),
        ] {
            let err = check_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert!(check_path(&long).unwrap_err().contains("longer than 4000"));
        assert_eq!(
            check_path(&format!("/{}", "a".repeat(MAX_PATH_LEN - 1))),
            Ok(())
        );
        let long_tag = format!("#{}", "t".repeat(MAX_CACHE_TAG_LEN));
        assert!(check_path(&long_tag).is_err());
    }
}

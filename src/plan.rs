//! Path planning: turns the paths a user asked for into a valid, cost-aware CloudFront batch.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::text::clip;

/// [`MAX_PATHS_PER_BATCH`] as a literal: messages that quote it are `&'static str`, and
/// `concat!` takes only literals. Exported for the CLI's `--max-paths` help.
#[macro_export]
macro_rules! max_paths_per_batch {
    () => {
        3000
    };
}
pub use max_paths_per_batch;

/// CloudFront refuses more file paths than this in progress per distribution; also the most raw
/// path items a job accepts, and the largest path budget (`maxPaths`, `--max-paths`).
pub const MAX_PATHS_PER_BATCH: usize = max_paths_per_batch!();

/// The path budget `n` (`maxPaths`, `--max-paths`), when it is one: 1 to [`MAX_PATHS_PER_BATCH`].
pub fn path_budget(n: u64) -> Option<usize> {
    usize::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_PATHS_PER_BATCH).contains(n))
}
/// CloudFront refuses more wildcard paths than this in progress per distribution.
pub const MAX_WILDCARDS: usize = 15;
/// Longest path CloudFront accepts, counted after URL-encoding.
pub const MAX_PATH_LEN: usize = 4000;
/// Longest cache tag CloudFront accepts, not counting the `#` that marks it as a tag.
pub const MAX_TAG_LEN: usize = 256;

/// Quoted values in messages are cut to this many characters so a 4000-character path
/// cannot swamp a pipeline's failure message.
const QUOTE_LIMIT: usize = 80;

const TAG_RULES: &str =
    "cache tags are ASCII 33-126 without commas or '*', at most 256 characters after the '#'";

/// How `plan_paths` should shape the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Most items the batch may hold; clamped to `1..=MAX_PATHS_PER_BATCH`.
    pub max_paths: usize,
    /// Name of the object a directory serves (`index.html`); a path ending in it also
    /// invalidates its directory with and without the trailing `/`.
    pub directory_index: Option<String>,
}

/// A batch ready to send: every item valid, none redundant, within CloudFront's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationPlan {
    items: Vec<String>,
    requested: usize,
    collapsed: bool,
}

impl InvalidationPlan {
    /// No paths at all: the plan of a job that only watches an existing invalidation.
    pub fn nothing() -> Self {
        Self {
            items: Vec::new(),
            requested: 0,
            collapsed: false,
        }
    }

    /// The batch to send: encoded, deduplicated, in plain byte order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// What CloudFront bills: each path, wildcard and cache tag counts as one.
    pub fn billed_paths(&self) -> usize {
        self.items.len()
    }

    /// Distinct normalised items the user asked for, counting directory-index expansions
    /// and deduplicating tags case-insensitively, before items covered by a wildcard are
    /// dropped and before collapsing. Comparing it with `billed_paths` shows what planning saved.
    pub fn requested_paths(&self) -> usize {
        self.requested
    }

    /// Items ending in `*`, which CloudFront limits separately.
    pub fn wildcard_count(&self) -> usize {
        self.items.iter().filter(|item| item.ends_with('*')).count()
    }

    /// True when paths were merged into directory wildcards to meet the budget.
    pub fn was_collapsed(&self) -> bool {
        self.collapsed
    }

    /// First 8 lowercase hex characters of the SHA-256 of the items joined by `\n`.
    /// The same request always yields the same fingerprint, so a retried invocation reuses
    /// its CallerReference and CloudFront does not create (and bill) a second invalidation.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.items.join("\n").as_bytes());
        crate::text::hex(&digest[..4])
    }

    /// Whether this plan invalidates `normalised` (an output of `normalise_item`): an equal
    /// item, a wildcard whose prefix starts it, or `/*`, which also covers every cache tag.
    /// Tags compare case-insensitively. Linear in the plan's size, which is at most 3000.
    pub fn covers(&self, normalised: &str) -> bool {
        if normalised.starts_with('#') {
            return self
                .items
                .iter()
                .any(|item| item == "/*" || item.eq_ignore_ascii_case(normalised));
        }
        self.items.iter().any(|item| {
            item == normalised
                || item
                    .strip_suffix('*')
                    .is_some_and(|prefix| normalised.starts_with(prefix))
        })
    }
}

/// What is wrong with a cache tag; completes the sentence "cache tag "#x" ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagProblem {
    #[error("has no name after '#'")]
    Empty,
    #[error("contains a comma")]
    Comma,
    #[error("contains '*'")]
    Wildcard,
    /// A character outside ASCII 33..=126 (space, control, non-ASCII).
    #[error("contains the character {0:?}")]
    Character(char),
    /// Length in characters without the `#`, over `MAX_TAG_LEN`.
    #[error("is {0} characters long after the '#'")]
    TooLong(usize),
}

/// Why the requested paths cannot be planned; `Display` is the message for the user.
/// Quoted values are cut to about 80 characters.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("no paths to invalidate: give at least one path, or \"/*\" to invalidate everything")]
    NoPaths,
    #[error("empty path: remove it, or use \"/*\" to invalidate everything")]
    EmptyItem,
    #[error(
        "path {path:?} has '*' before its end: CloudFront accepts a wildcard only as the last \
         character, as in {suggestion:?}"
    )]
    WildcardNotLast { path: String, suggestion: String },
    #[error(
        "path {path:?} contains the control character {character:?}: remove it, as \
         CloudFront paths cannot contain control characters"
    )]
    ControlCharacter { path: String, character: char },
    #[error(
        "path {path:?} is {len} characters long after URL-encoding, over CloudFront's limit of \
         4000: shorten it, or invalidate a shorter prefix with a wildcard such as \"/dir/*\""
    )]
    PathTooLong { path: String, len: usize },
    #[error("cache tag {tag:?} {problem}: {TAG_RULES}")]
    InvalidTag { tag: String, problem: TagProblem },
}

/// Turns one raw path or cache tag into the form sent to CloudFront. Idempotent.
pub fn normalise_item(raw: &str) -> Result<String, PlanError> {
    let item = raw.trim_ascii();
    if item.is_empty() {
        return Err(PlanError::EmptyItem);
    }
    if item.starts_with('#') {
        check_tag(item)?;
        return Ok(item.to_owned());
    }
    normalise_path(item)
}

fn check_tag(tag: &str) -> Result<(), PlanError> {
    let problem = if tag.len() == 1 {
        Some(TagProblem::Empty)
    } else if tag.contains(',') {
        Some(TagProblem::Comma)
    } else if tag.contains('*') {
        Some(TagProblem::Wildcard)
    } else if let Some(c) = tag.chars().find(|c| !matches!(c, '!'..='~')) {
        Some(TagProblem::Character(c))
    } else if tag.len() - 1 > MAX_TAG_LEN {
        // Every character is ASCII by now, so bytes are characters.
        Some(TagProblem::TooLong(tag.len() - 1))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(PlanError::InvalidTag {
            tag: clip(tag, QUOTE_LIMIT),
            problem,
        }),
    }
}

fn normalise_path(path: &str) -> Result<String, PlanError> {
    if let Some(control) = path.bytes().find(u8::is_ascii_control) {
        return Err(PlanError::ControlCharacter {
            path: clip(path, QUOTE_LIMIT),
            character: char::from(control),
        });
    }
    let slash = if path.starts_with('/') { "" } else { "/" };
    if let Some(star) = path.find('*')
        && star + 1 != path.len()
    {
        return Err(PlanError::WildcardNotLast {
            path: clip(path, QUOTE_LIMIT),
            suggestion: clip(&format!("{slash}{}", &path[..=star]), QUOTE_LIMIT),
        });
    }
    let mut encoded = String::with_capacity(path.len() + 1);
    encoded.push_str(slash);
    percent_encode_into(path, &mut encoded);
    if encoded.len() > MAX_PATH_LEN {
        return Err(PlanError::PathTooLong {
            path: clip(&encoded, QUOTE_LIMIT),
            len: encoded.len(),
        });
    }
    Ok(encoded)
}

/// Encodes exactly what CloudFront expects encoded (non-ASCII bytes and the RFC 1738
/// unsafe characters): it matches paths byte for byte, so encoding anything more would
/// silently invalidate nothing. Control characters only reach here from the
/// directory-index name; encoding them keeps that name from ever matching.
fn percent_encode_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let keep = |index: usize, byte: u8| match byte {
        // An existing escape stays as it is, so encoding an encoded path changes nothing.
        b'%' => is_escape_at(bytes, index),
        b' ' | b'"' | b'<' | b'>' | b'#' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'~' | b'['
        | b']' | b'`' => false,
        b'!'..=b'~' => true,
        _ => false,
    };
    // Most paths need no encoding at all.
    if bytes
        .iter()
        .enumerate()
        .all(|(index, &byte)| keep(index, byte))
    {
        out.push_str(text);
        return;
    }
    for (index, &byte) in bytes.iter().enumerate() {
        if keep(index, byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

fn is_escape_at(bytes: &[u8], percent: usize) -> bool {
    let hex_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    hex_at(percent + 1) && hex_at(percent + 2)
}

/// Plans one CloudFront batch for `raw`: normalises every item (the first error, in input
/// order, wins), then plans them as [`plan_normalised`] does. The result does not depend on
/// the order of `raw`.
pub fn plan_paths(raw: &[String], options: &PlanOptions) -> Result<InvalidationPlan, PlanError> {
    if raw.is_empty() {
        return Err(PlanError::NoPaths);
    }
    let mut items = Vec::with_capacity(raw.len());
    for item in raw {
        items.push(normalise_item(item)?);
    }
    Ok(plan_normalised(items, options))
}

/// Plans one CloudFront batch for `items`, each an output of [`normalise_item`] (which is
/// idempotent, so a caller that normalised them to check them need not do it twice): adds
/// directory-index directories, drops duplicates and items a wildcard already covers, then
/// collapses paths into directory wildcards until the batch holds at most `max_paths` items
/// and at most 15 wildcards. No items give an empty plan. The result does not depend on the
/// order of `items`.
pub fn plan_normalised(items: Vec<String>, options: &PlanOptions) -> InvalidationPlan {
    debug_assert!(
        items
            .iter()
            .all(|item| item.starts_with('/') || item.starts_with('#')),
        "normalised items only"
    );
    let max_items = options.max_paths.clamp(1, MAX_PATHS_PER_BATCH);

    let mut paths = items;
    let mut tags: Vec<String> = paths.extract_if(.., |item| item.starts_with('#')).collect();
    if let Some(index) = encoded_directory_index(options) {
        add_directory_index_paths(&mut paths, &index);
    }

    paths.sort_unstable();
    paths.dedup();
    dedupe_tags(&mut tags);
    let requested = paths.len() + tags.len();

    let paths = drop_covered_paths(paths);
    if paths.iter().any(|path| path == "/*") {
        // `/*` covers cache tags too.
        tags.clear();
    }

    let wildcards = paths.iter().filter(|path| path.ends_with('*')).count();
    if paths.len() + tags.len() <= max_items && wildcards <= MAX_WILDCARDS {
        let mut items = tags;
        items.extend(paths);
        items.sort_unstable();
        return InvalidationPlan {
            items,
            requested,
            collapsed: false,
        };
    }

    let items = collapse(&paths, tags, max_items);
    InvalidationPlan {
        items,
        requested,
        collapsed: true,
    }
}

fn encoded_directory_index(options: &PlanOptions) -> Option<String> {
    let name = options.directory_index.as_deref()?.trim_ascii();
    // An empty name would match every path ending in `/`.
    if name.is_empty() {
        return None;
    }
    let mut encoded = String::with_capacity(name.len());
    percent_encode_into(name, &mut encoded);
    Some(encoded)
}

/// CloudFront caches `/docs/`, `/docs` and `/docs/index.html` as three objects even when
/// they serve the same file, so refreshing the file alone leaves the directory URLs stale.
fn add_directory_index_paths(paths: &mut Vec<String>, index: &str) {
    // A directory added here can itself end in the index name (`/index.html/index.html`),
    // so added paths are expanded too; planning a plan would otherwise add more.
    let mut next = 0;
    while let Some(path) = paths.get(next) {
        next += 1;
        let Some(slash) = path.rfind('/') else {
            continue;
        };
        if &path[slash + 1..] != index {
            continue;
        }
        let with_slash = path[..=slash].to_owned();
        let without_slash = (slash > 0).then(|| path[..slash].to_owned());
        paths.push(with_slash);
        paths.extend(without_slash);
    }
}

/// Keeps, for each tag that differs only in case, the spelling that sorts first in byte
/// order, so the choice does not depend on the input order.
fn dedupe_tags(tags: &mut Vec<String>) {
    let folded =
        |tag: &String| -> Vec<u8> { tag.bytes().map(|b| b.to_ascii_lowercase()).collect() };
    tags.sort_by_cached_key(|tag| (folded(tag), tag.clone()));
    tags.dedup_by(|later, kept| later.eq_ignore_ascii_case(kept));
}

/// Drops every path that a wildcard in the set covers, keeping the order of `paths`.
fn drop_covered_paths(paths: Vec<String>) -> Vec<String> {
    let mut prefixes: Vec<&str> = paths
        .iter()
        .filter_map(|path| path.strip_suffix('*'))
        .collect();
    if prefixes.is_empty() {
        return paths;
    }
    prefixes.sort_unstable();
    // Without prefixes of one another, the only prefix that can start a path is the
    // greatest one not above it: any prefix between them would have to start with it.
    prefixes.dedup_by(|longer, shorter| longer.starts_with(*shorter));
    let covering = |path: &str| -> Option<&str> {
        let at = prefixes.partition_point(|prefix| *prefix <= path);
        let prefix = *prefixes.get(at.checked_sub(1)?)?;
        path.starts_with(prefix).then_some(prefix)
    };
    let kept: Vec<bool> = paths
        .iter()
        .map(|path| match covering(path) {
            None => true,
            // A wildcard covers itself; keep it unless a shorter prefix covers it too.
            Some(prefix) => path.len() == prefix.len() + 1 && path.ends_with('*'),
        })
        .collect();
    paths
        .into_iter()
        .zip(kept)
        .filter_map(|(path, kept)| kept.then_some(path))
        .collect()
}

/// A directory of the paths, in a tree whose ids follow the byte order of the prefixes: a
/// directory's descendants then follow it contiguously, and a smaller id means a smaller prefix.
#[derive(Default)]
struct Directory<'a> {
    prefix: &'a str,
    parent: Option<usize>,
    children: Vec<usize>,
    /// One past the last descendant's id.
    subtree_end: usize,
    /// Items (paths and wildcards) anywhere below the directory, and the wildcards among them.
    items: usize,
    wildcards: usize,
    /// Items whose directory is exactly this one, and the wildcards among them.
    direct_items: usize,
    direct_wildcards: usize,
}

const ROOT: usize = 0;

fn directory_of(path: &str) -> &str {
    // Every normalised path starts with '/'.
    path.rfind('/').map_or("/", |slash| &path[..=slash])
}

/// The directories of `paths`, and the directory of each path (by index into `paths`).
/// `paths` must be sorted and free of covered items, so that a wildcard `D/*` has nothing else
/// under `D/`. Sorted, the paths under any directory are contiguous, so one pass with a stack of
/// open directories creates every directory once, in byte order of its prefix, without hashing.
fn directory_tree(paths: &[String]) -> (Vec<Directory<'_>>, Vec<usize>) {
    let mut tree = vec![Directory {
        prefix: "/",
        ..Directory::default()
    }];
    let mut node_of = Vec::with_capacity(paths.len());
    let mut open = vec![ROOT];
    for path in paths {
        let directory = directory_of(path);
        let mut top = ROOT;
        while let Some(&id) = open.last() {
            if directory.starts_with(tree[id].prefix) {
                top = id;
                break;
            }
            open.pop();
        }
        let mut end = tree[top].prefix.len();
        while let Some(slash) = directory.get(end..).and_then(|rest| rest.find('/')) {
            end += slash + 1;
            let id = tree.len();
            debug_assert!(
                tree[id - 1].prefix < &directory[..end],
                "created in byte order"
            );
            tree.push(Directory {
                prefix: &directory[..end],
                parent: Some(top),
                ..Directory::default()
            });
            tree[top].children.push(id);
            open.push(id);
            top = id;
        }
        node_of.push(top);
        tree[top].direct_items += 1;
        tree[top].direct_wildcards += usize::from(path.ends_with('*'));
    }
    for (id, node) in tree.iter_mut().enumerate() {
        (node.items, node.wildcards) = (node.direct_items, node.direct_wildcards);
        node.subtree_end = id + 1;
    }
    // Children have larger ids than their parent, so one reverse pass sums subtrees.
    for id in (1..tree.len()).rev() {
        let (items, wildcards, end) = (tree[id].items, tree[id].wildcards, tree[id].subtree_end);
        if let Some(parent) = tree[id].parent.map(|parent| &mut tree[parent]) {
            parent.items += items;
            parent.wildcards += wildcards;
            parent.subtree_end = parent.subtree_end.max(end);
        }
    }
    (tree, node_of)
}

/// Fits the plan into the budget by starting from `/*` and refining it while it still fits.
///
/// The broadest wildcard (the one standing for the most requested items) is refined first:
/// into all of its items when they fit, else into its files plus one wildcard per
/// subdirectory. A wildcard that cannot be refined within the budget stays. So `/*` is the
/// result only when not even the top-level directories fit, and every refinement keeps the
/// plan within `max_items` items and 15 wildcards.
fn collapse(paths: &[String], tags: Vec<String>, max_items: usize) -> Vec<String> {
    let (tree, node_of) = directory_tree(paths);
    let count = tree.len();
    let mut expanded = vec![false; count];
    let mut items = 1;
    let mut wildcards = 1;
    // Largest subtree first; among equals the smaller prefix, so the result is deterministic.
    let mut queue = BinaryHeap::from([(tree[ROOT].items, Reverse(ROOT))]);
    while let Some((_, Reverse(id))) = queue.pop() {
        let node = &tree[id];
        // Refining the root drops `/*`, which covered the cache tags: they come back.
        let tags_back = if id == ROOT { tags.len() } else { 0 };
        let base_items = items - 1 + tags_back;
        let base_wildcards = wildcards - 1;
        let full_items = base_items + node.items;
        let full_wildcards = base_wildcards + node.wildcards;
        if full_items <= max_items && full_wildcards <= MAX_WILDCARDS {
            expanded[id..node.subtree_end].fill(true);
            (items, wildcards) = (full_items, full_wildcards);
            continue;
        }
        // A subdirectory with a single item is sent as that item: as cheap, and exact.
        let child_wildcards: usize = node
            .children
            .iter()
            .map(|&child| {
                if tree[child].items == 1 {
                    tree[child].wildcards
                } else {
                    1
                }
            })
            .sum();
        let one_items = base_items + node.direct_items + node.children.len();
        let one_wildcards = base_wildcards + node.direct_wildcards + child_wildcards;
        if one_items <= max_items && one_wildcards <= MAX_WILDCARDS {
            expanded[id] = true;
            for &child in &node.children {
                if tree[child].items == 1 {
                    expanded[child..tree[child].subtree_end].fill(true);
                } else {
                    queue.push((tree[child].items, Reverse(child)));
                }
            }
            (items, wildcards) = (one_items, one_wildcards);
        }
    }
    if !expanded[ROOT] {
        return vec!["/*".to_owned()];
    }
    let mut plan = tags;
    for (path, &id) in paths.iter().zip(&node_of) {
        if expanded[id] {
            plan.push(path.clone());
        }
    }
    for id in 1..count {
        let parent_expanded = tree[id].parent.is_some_and(|parent| expanded[parent]);
        if parent_expanded && !expanded[id] {
            plan.push(format!("{}*", tree[id].prefix));
        }
    }
    debug_assert_eq!(plan.len(), items, "the running count matches the plan");
    plan.sort_unstable();
    plan
}

#[cfg(test)]
mod tests;

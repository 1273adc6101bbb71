//! The plan as a person or a script sees it: paths, what CloudFront bills, the estimated price.

use std::fmt::Write as _;

use serde::Serialize;

use cf_invalidate::plan::{InvalidationPlan, MAX_PATHS_PER_BATCH};
pub use cf_invalidate::text::{plural, thousands};

use super::s3sync::SyncChanges;

/// CloudFront's free invalidation paths per AWS account and month.
pub const FREE_PATHS_PER_MONTH: usize = 1000;
/// US$0.005 a path beyond the free ones, in thousandths of a dollar.
pub const MILLIDOLLARS_PER_PATH: usize = 5;

pub const COST_ASSUMPTION: &str = "assuming nothing else was invalidated in this AWS account this month (1,000 paths a month are free, then US$0.005 a path; a wildcard counts as one path)";

/// The price of sending `billed_paths` to each of `invalidations` distributions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostEstimate {
    /// Paths billed in all: each distribution's invalidation is billed on its own.
    pub billed_paths: usize,
    pub free_paths_per_month: usize,
    pub paths_beyond_free: usize,
    pub price_per_path_usd: f64,
    /// Three decimals are exact at US$0.005 a path, far below 2^53 thousandths.
    pub estimated_usd: f64,
    pub assumption: &'static str,
    #[serde(skip)]
    pub millidollars: usize,
}

impl CostEstimate {
    pub fn new(billed_paths_each: usize, invalidations: usize) -> Self {
        let billed_paths = billed_paths_each.saturating_mul(invalidations.max(1));
        let paths_beyond_free = billed_paths.saturating_sub(FREE_PATHS_PER_MONTH);
        let millidollars = paths_beyond_free.saturating_mul(MILLIDOLLARS_PER_PATH);
        Self {
            billed_paths,
            free_paths_per_month: FREE_PATHS_PER_MONTH,
            paths_beyond_free,
            price_per_path_usd: MILLIDOLLARS_PER_PATH as f64 / 1000.0,
            estimated_usd: millidollars as f64 / 1000.0,
            assumption: COST_ASSUMPTION,
            millidollars,
        }
    }

    /// "Cost: 2,559 billed paths: about US$7.795 (...), assuming ...". `each` says how the
    /// paths split across distributions, when there are several.
    pub fn sentence(&self, each: &str) -> String {
        let price = if self.paths_beyond_free == 0 {
            format!(
                "{} (within the {} free paths a month)",
                self.usd_text(),
                thousands(FREE_PATHS_PER_MONTH)
            )
        } else {
            format!(
                "about {} ({} paths beyond the {} free ones, at US$0.005 a path)",
                self.usd_text(),
                thousands(self.paths_beyond_free),
                thousands(FREE_PATHS_PER_MONTH)
            )
        };
        format!(
            "Cost: {} billed path{}{each}: {price},\n  {COST_ASSUMPTION}.",
            thousands(self.billed_paths),
            plural(self.billed_paths)
        )
    }

    pub fn usd_text(&self) -> String {
        format!(
            "US${}.{:03}",
            thousands(self.millidollars / 1000),
            self.millidollars % 1000
        )
    }
}

/// Things worth a second look before sending the plan.
pub fn plan_warnings(plan: &InvalidationPlan, max_paths: usize) -> Vec<String> {
    let mut warnings = Vec::new();
    if plan.was_collapsed() && plan.items() == ["/*"] {
        let hint = if max_paths < MAX_PATHS_PER_BATCH {
            format!(
                "; raise --max-paths (now {max_paths}, at most {}) to invalidate fewer objects",
                thousands(MAX_PATHS_PER_BATCH)
            )
        } else {
            String::new()
        };
        warnings.push(format!(
            "the {} changed paths were collapsed into /*: the whole cache of the distribution is invalidated, and the origin then serves every object again{hint}",
            thousands(plan.requested_paths())
        ));
    }
    warnings
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub uploaded: usize,
    pub copied: usize,
    pub deleted: usize,
}

impl SyncCounts {
    /// "The sync changed 3 objects: 2 uploaded, 0 copied, 1 deleted."
    pub fn sentence(&self) -> String {
        let total = self.uploaded + self.copied + self.deleted;
        format!(
            "The sync changed {total} object{}: {} uploaded, {} copied, {} deleted.",
            plural(total),
            self.uploaded,
            self.copied,
            self.deleted
        )
    }
}

impl From<&SyncChanges> for SyncCounts {
    fn from(changes: &SyncChanges) -> Self {
        Self {
            uploaded: changes.uploaded.len(),
            copied: changes.copied.len(),
            deleted: changes.deleted.len(),
        }
    }
}

/// A distribution and the CallerReference a dry run would send it.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunTarget {
    #[serde(flatten, serialize_with = "super::report::target_key")]
    pub target: cf_invalidate::params::Target,
    pub caller_reference: String,
}

/// The `plan` document, also printed by `invalidate --dry-run`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub command: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    pub paths: Vec<String>,
    pub billed_paths: usize,
    pub requested_paths: usize,
    pub wildcard_paths: usize,
    pub collapsed: bool,
    pub max_paths: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<SyncCounts>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub distributions: Vec<DryRunTarget>,
    pub cost: CostEstimate,
    pub warnings: Vec<String>,
}

impl PlanView {
    /// `--output text`: the paths CloudFront would bill, one a line.
    pub fn to_values(&self) -> String {
        self.paths.iter().map(|path| format!("{path}\n")).collect()
    }

    pub fn new(
        command: &'static str,
        plan: &InvalidationPlan,
        max_paths: usize,
        sync: Option<&SyncChanges>,
        distributions: Vec<DryRunTarget>,
    ) -> Self {
        let cost = CostEstimate::new(plan.billed_paths(), distributions.len());
        Self {
            command,
            dry_run: (!distributions.is_empty()).then_some(true),
            paths: plan.items().to_vec(),
            billed_paths: plan.billed_paths(),
            requested_paths: plan.requested_paths(),
            wildcard_paths: plan.wildcard_count(),
            collapsed: plan.was_collapsed(),
            max_paths,
            changes: sync.map(SyncCounts::from),
            distributions,
            cost,
            warnings: plan_warnings(plan, max_paths),
        }
    }

    pub fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(changes) = &self.changes {
            let _ = writeln!(text, "{}", changes.sentence());
        }
        let collapsed = if self.collapsed {
            format!(", collapsed to stay within --max-paths {}", self.max_paths)
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "Plan: {} path{} to invalidate ({} requested{collapsed}):",
            thousands(self.billed_paths),
            plural(self.billed_paths),
            thousands(self.requested_paths)
        );
        for path in &self.paths {
            let _ = writeln!(text, "  {path}");
        }
        let each = if self.distributions.len() > 1 {
            format!(
                " ({} on each of {} distributions)",
                thousands(self.billed_paths),
                self.distributions.len()
            )
        } else {
            String::new()
        };
        let _ = writeln!(text, "{}", self.cost.sentence(&each));
        for target in &self.distributions {
            let _ = writeln!(
                text,
                "Would invalidate {} with CallerReference {}.",
                target.target, target.caller_reference
            );
        }
        if !self.distributions.is_empty() {
            let _ = writeln!(text, "Dry run: nothing was sent to AWS.");
        }
        for warning in &self.warnings {
            let _ = writeln!(text, "warning: {warning}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cf_invalidate::plan::{PlanOptions, plan_paths};

    fn plan(paths: &[String], max_paths: usize) -> InvalidationPlan {
        plan_paths(
            paths,
            &PlanOptions {
                max_paths,
                directory_index: None,
            },
        )
        .expect("plan")
    }

    #[test]
    fn the_cost_counts_only_paths_beyond_the_free_thousand() {
        assert_eq!(CostEstimate::new(3, 1).usd_text(), "US$0.000");
        assert_eq!(CostEstimate::new(1000, 1).millidollars, 0);
        let big = CostEstimate::new(1500, 1);
        assert_eq!(
            (big.paths_beyond_free, big.usd_text()),
            (500, "US$2.500".to_owned())
        );
        // Each distribution's invalidation is billed.
        assert_eq!(CostEstimate::new(600, 2).usd_text(), "US$1.000");
        assert_eq!(CostEstimate::new(401_000, 1).usd_text(), "US$2,000.000");
        assert_eq!(big.estimated_usd, 2.5);
    }

    #[test]
    fn a_large_change_collapsed_into_everything_is_flagged() {
        let files: Vec<String> = (0..20).map(|n| format!("/page{n}.html")).collect();
        let collapsed = plan(&files, 5);
        assert_eq!(collapsed.items(), ["/*"]);
        let warnings = plan_warnings(&collapsed, 5);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("20 changed paths were collapsed into /*"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("--max-paths (now 5"), "{warnings:?}");
        // Asking for /* is a choice, not an accident.
        assert!(plan_warnings(&plan(&["/*".to_owned()], 100), 100).is_empty());
        assert!(plan_warnings(&plan(&files, 100), 100).is_empty());
    }

    #[test]
    fn the_text_shows_paths_cost_and_assumption() {
        let view = PlanView::new(
            "plan",
            &plan(&["/my file.html".to_owned(), "/a.html".to_owned()], 100),
            100,
            None,
            Vec::new(),
        );
        let text = view.to_text();
        assert!(
            text.contains(
                "Plan: 2 paths to invalidate (2 requested):\n  /a.html\n  /my%20file.html\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Cost: 2 billed paths: US$0.000 (within the 1,000 free paths a month)"),
            "{text}"
        );
        assert!(
            text.contains("assuming nothing else was invalidated"),
            "{text}"
        );
    }
}

//! Planning time: `plan_paths` on 1k, 10k and 100k paths of [`crate::tree::site_paths`], timed
//! here (median of a few runs) and read from criterion's estimates when `cargo bench --bench
//! plan` has run.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use cf_invalidate::plan::{PlanOptions, plan_paths};
use serde::Serialize;

use crate::BenchError;
use crate::stats::median;
use crate::tree::{MAX_PATHS, site_paths};

#[derive(Debug, Clone, Serialize)]
pub struct PlanTiming {
    /// Paths given to the planner.
    pub paths: usize,
    /// Items in the plan (what CloudFront bills).
    pub items: usize,
    pub wildcards: usize,
    /// Median of the harness's own runs, ns.
    pub harness_median_ns: f64,
    pub harness_runs: usize,
    /// criterion's median estimate, ns, when its results are there.
    pub criterion_median_ns: Option<f64>,
}

impl PlanTiming {
    /// The figure the report leads with: criterion's median, else the harness's.
    pub fn best_ns(&self) -> f64 {
        self.criterion_median_ns.unwrap_or(self.harness_median_ns)
    }

    pub fn ns_per_path(&self) -> f64 {
        self.best_ns() / self.paths.max(1) as f64
    }
}

/// Plans each size `runs` times (after one untimed run) and reads criterion's estimates from
/// `criterion_dir` (`target/criterion`) if given.
pub fn measure(
    sizes: &[usize],
    runs: usize,
    criterion_dir: Option<&Path>,
) -> Result<Vec<PlanTiming>, BenchError> {
    let options = PlanOptions {
        max_paths: MAX_PATHS,
        directory_index: None,
    };
    sizes
        .iter()
        .map(|&size| {
            let paths = site_paths(size);
            let plan = plan_paths(&paths, &options)
                .map_err(|e| BenchError::Run(format!("planning {size} paths failed: {e}")))?;
            let times: Vec<f64> = (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    let _ = black_box(plan_paths(black_box(&paths), &options));
                    start.elapsed().as_nanos() as f64
                })
                .collect();
            Ok(PlanTiming {
                paths: size,
                items: plan.billed_paths(),
                wildcards: plan.wildcard_count(),
                harness_median_ns: median(&times).unwrap_or(f64::NAN),
                harness_runs: runs,
                criterion_median_ns: criterion_dir.and_then(|dir| criterion_median(dir, size)),
            })
        })
        .collect()
}

/// criterion's median (ns) for `plan_paths/<size>`, from `new/estimates.json`.
fn criterion_median(dir: &Path, size: usize) -> Option<f64> {
    let file = dir
        .join("plan_paths")
        .join(size.to_string())
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(file).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

#[cfg(test)]
mod tests {
    // The tree's tests live here: tree.rs is also compiled into benches/plan.rs, a criterion
    // target without a test harness.
    use crate::tree::site_paths;

    #[test]
    fn the_tree_has_the_documented_mix_and_is_the_same_every_time() {
        let paths = site_paths(1000);
        assert_eq!(paths.len(), 1000);
        assert_eq!(paths, site_paths(1000));
        let count = |prefix: &str| paths.iter().filter(|p| p.starts_with(prefix)).count();
        assert_eq!(count("/assets/"), 400);
        assert_eq!(count("/docs/"), 300);
        assert_eq!(count("/images/") + count("images/"), 290);
        assert_eq!(count("/page-"), 10);
        assert!(paths.iter().any(|p| p.starts_with("images/album ")));
    }
}

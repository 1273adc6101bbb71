//! Planning time for 1k, 10k and 100k paths of a realistic site (`cargo bench --bench plan`).
//!
//! `scripts/bench.sh` runs it, then the harness (`bench/`) reads criterion's estimates from
//! `target/criterion/plan_paths/` into `docs/benchmarks.md`. The paths come from
//! `bench/src/tree.rs`, the same file the harness uses.

use std::hint::black_box;
use std::time::Duration;

use cf_invalidate::plan::{PlanOptions, plan_paths};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[path = "../bench/src/tree.rs"]
mod tree;

fn plan(c: &mut Criterion) {
    let options = PlanOptions {
        max_paths: tree::MAX_PATHS,
        directory_index: None,
    };
    let mut group = c.benchmark_group("plan_paths");
    for size in tree::SIZES {
        let paths = tree::site_paths(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &paths, |b, paths| {
            b.iter(|| plan_paths(black_box(paths), black_box(&options)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Enough samples for a stable median on a busy 2-core machine, within about a minute.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = plan
}
criterion_main!(benches);

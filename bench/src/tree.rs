//! A deterministic, realistic site tree to plan: the input of the planning benchmarks.
//!
//! Shared by the harness and `benches/plan.rs` (which includes this file with `#[path]`), so
//! that criterion and the harness time the same paths. No dependencies on purpose.

/// `count` paths of a static site, the same on every call:
///
/// - 40 % hashed assets three levels deep: `/assets/app-3/chunk-14/main.1f3a9c2e.js`;
/// - 30 % documentation pages: `/docs/v7/guide/page-123/index.html`;
/// - 29 % images whose names have spaces (encoded by the planner), a third of them written
///   without the leading `/` as people type them: `/images/album 12/photo 345.jpg`;
/// - 1 % root pages: `/page-9.html`.
pub fn site_paths(count: usize) -> Vec<String> {
    let mut seed = 0x5eed_0fc1_0df0_0d00_u64;
    (0..count)
        .map(|i| {
            let hash = splitmix64(&mut seed);
            match i % 100 {
                0..=39 => {
                    let ext = ["js", "css", "woff2", "map"][(hash % 4) as usize];
                    format!(
                        "/assets/app-{}/chunk-{}/file-{i}.{:08x}.{ext}",
                        (hash >> 8) % 8,
                        (hash >> 16) % 32,
                        hash >> 32
                    )
                }
                40..=69 => format!("/docs/v{}/guide/page-{i}/index.html", (hash >> 8) % 12),
                70..=98 => {
                    let slash = if i % 3 == 0 { "" } else { "/" };
                    format!("{slash}images/album {}/photo {i}.jpg", (hash >> 8) % 50)
                }
                _ => format!("/page-{i}.html"),
            }
        })
        .collect()
}

/// The sizes the benchmarks plan.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// `maxPaths` for the benchmarks: CloudFront's largest batch, so the planner does the most work
/// (normalise, sort, deduplicate, then collapse 100k paths into at most 3000 items).
pub const MAX_PATHS: usize = 3000;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

//! The path planner: never panics, always within CloudFront's limits, every input item covered.
#![no_main]

use cf_invalidate::plan::{MAX_WILDCARDS, PlanOptions, normalise_item, plan_paths};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&budget, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let raw: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let max_paths = usize::from(budget) % 64 + 1;
    let options = PlanOptions {
        max_paths,
        directory_index: (budget & 0x80 != 0).then(|| "index.html".to_owned()),
    };
    let Ok(plan) = plan_paths(&raw, &options) else {
        return;
    };
    assert!(plan.billed_paths() <= max_paths);
    assert!(plan.wildcard_count() <= MAX_WILDCARDS);
    for item in plan.items() {
        assert!(item.len() <= 4000);
        if let Some(star) = item.find('*') {
            assert_eq!(star, item.len() - 1, "{item}");
        }
    }
    for raw_item in &raw {
        if let Ok(normalised) = normalise_item(raw_item) {
            assert!(plan.covers(&normalised), "{normalised:?} not covered by {:?}", plan.items());
        }
    }
});

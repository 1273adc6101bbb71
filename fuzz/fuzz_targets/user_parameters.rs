//! UserParameters parsing: never panics, and every error names something.
#![no_main]

use cf_invalidate::params::parse_user_parameters;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_user_parameters(text) {
        Ok(params) => {
            assert!(!params.targets.is_empty());
            assert!(!params.paths.is_empty());
            assert!((1..=3000).contains(&params.max_paths));
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});

//! The continuation token decoder: untrusted input never panics, and what it accepts round-trips.
#![no_main]

use cf_invalidate::token::ContinuationToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = ContinuationToken::decode(text) {
        let again = token.encode();
        assert_eq!(ContinuationToken::decode(&again).as_ref(), Ok(&token));
    }
});

//! The zip listing reader (`pathsFromArtifact`): any bytes as an archive never panic it, and it
//! never reads more than the archive holds, whatever its records claim.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cf_invalidate::artifact::{InMemoryZip, read_listing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let source = InMemoryZip(data.to_vec());
    // Reads from memory are ready at once: one poll finishes the future.
    let mut future = pin!(read_listing(&source));
    let mut context = Context::from_waker(Waker::noop());
    if let Poll::Ready(Ok(listing)) = future.as_mut().poll(&mut context) {
        assert!(listing.bytes_read <= 2 * len + 64, "{} of {len}", listing.bytes_read);
    }
});

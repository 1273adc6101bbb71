//! The reader against archives written by an independent writer (the `zip` crate).

use super::*;
use crate::artifact::{InMemoryZip, compare};
use crate::testing::zip_with as archive;

/// An archive of a file named after each of `names`, each holding `contents`.
fn many(names: &[String], contents: &[u8]) -> Vec<u8> {
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), contents)).collect();
    archive(&files, None, false)
}

async fn listing(bytes: Vec<u8>) -> Result<Listing, ZipError> {
    read_listing(&InMemoryZip(bytes)).await
}

#[tokio::test]
async fn files_are_listed_with_crc_and_size_and_directories_are_skipped() {
    let bytes = archive(
        &[
            ("index.html", b"<h1>hello</h1>"),
            ("docs/", b""),
            ("docs/index.html", b"docs"),
            ("caf\u{e9}/men\u{fc} 1.html", b"unicode"),
        ],
        None,
        false,
    );
    let listing = listing(bytes).await.unwrap();
    let names: Vec<&str> = listing.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "index.html",
            "docs/index.html",
            "caf\u{e9}/men\u{fc} 1.html"
        ]
    );
    assert_eq!(listing.directories, 1);
    assert_eq!(listing.files[0].size, 14);
    assert_eq!(listing.files[0].crc32, crc32(b"<h1>hello</h1>"));
    // A small archive is read in one go: its whole tail.
    assert_eq!(listing.reads, 1);
}

#[tokio::test]
async fn a_large_archive_costs_its_tail_and_its_central_directory_only() {
    let contents = vec![7u8; 2_000];
    let names: Vec<String> = (0..10_000)
        .map(|n| format!("section-{}/page-{n}.html", n % 97))
        .collect();
    let bytes = many(&names, &contents);
    let total = bytes.len() as u64;
    let listing = listing(bytes).await.unwrap();
    assert_eq!(listing.files.len(), 10_000);
    let directory: u64 = names.iter().map(|n| 46 + n.len() as u64).sum();
    assert!(
        listing.bytes_read <= directory + FIRST_TAIL,
        "{} read, directory {directory}",
        listing.bytes_read
    );
    assert!(
        listing.bytes_read * 10 < total,
        "{} of {total}",
        listing.bytes_read
    );
    assert_eq!(listing.reads, 2);
}

#[tokio::test]
async fn a_long_comment_takes_one_more_read_of_the_tail() {
    let comment = "c".repeat(20_000);
    let bytes = archive(&[("a.html", b"a")], Some(&comment), false);
    let listing = listing(bytes).await.unwrap();
    assert_eq!(listing.files.len(), 1);
    assert!(listing.reads >= 2);
}

#[tokio::test]
async fn zip64_entries_and_a_zip64_end_record_are_read() {
    // More than 65,535 entries: the end record's count overflows into the ZIP64 record.
    let names: Vec<String> = (0..70_000).map(|n| format!("f{n}")).collect();
    let bytes = many(&names, b"x");
    let eocd = find_eocd(&bytes).expect("an end record");
    assert_eq!(
        u16_at(&bytes, eocd + 10),
        Some(0xFFFF),
        "the count is in the ZIP64 record"
    );
    let listing = listing(bytes).await.unwrap();
    assert_eq!(listing.files.len(), 70_000);
    assert_eq!(listing.files[69_999].name, "f69999");
    // Entries with ZIP64 extra fields for their sizes.
    let listing_large = self::listing(archive(&[("big.bin", b"12345")], None, true))
        .await
        .unwrap();
    assert_eq!(listing_large.files[0].size, 5);
    assert_eq!(listing_large.files[0].crc32, crc32(b"12345"));
}

#[tokio::test]
async fn what_is_not_a_zip_says_so() {
    for bytes in [Vec::new(), b"PK".to_vec(), vec![0u8; 100_000]] {
        let error = listing(bytes).await.unwrap_err();
        assert!(matches!(error, ZipError::NotAZip { .. }), "{error}");
        assert!(error.to_string().contains("not a zip archive"), "{error}");
    }
    let mut truncated = archive(&[("a.html", b"a"), ("b.html", b"b")], None, false);
    // Cut into the central directory but keep the end record: damaged, not a panic.
    let end = truncated.len();
    truncated.drain(end - 40..end - 22);
    let error = listing(truncated).await.unwrap_err();
    assert!(matches!(error, ZipError::Damaged { .. }), "{error}");
}

#[test]
fn names_without_the_utf8_flag_are_cp437() {
    assert_eq!(decode_name(b"caf\x82.html", false), "café.html");
    assert_eq!(decode_name(b"\x8e\x99\x9a", false), "ÄÖÜ");
    assert_eq!(decode_name(b"plain/name.js", false), "plain/name.js");
    assert_eq!(decode_name("café".as_bytes(), true), "café");
}

#[test]
fn arbitrary_bytes_never_panic_the_parsers() {
    use proptest::prelude::*;
    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..600), expected in 0u64..50)| {
        let _ = parse_central_directory(&bytes, expected);
        let _ = find_eocd(&bytes);
    });
}

#[tokio::test]
async fn a_deploy_is_compared_by_crc_and_size() {
    let old = archive(
        &[
            ("index.html", b"v1"),
            ("docs/index.html", b"same"),
            ("gone.css", b"x"),
            ("size.js", b"abc"),
        ],
        None,
        false,
    );
    let new = archive(
        &[
            ("index.html", b"v2"),
            ("docs/index.html", b"same"),
            ("size.js", b"abcd"),
            ("new.png", b"png"),
        ],
        None,
        false,
    );
    let changes = compare(&listing(old).await.unwrap(), &listing(new).await.unwrap());
    assert_eq!(changes.added, ["new.png"]);
    assert_eq!(changes.changed, ["index.html", "size.js"]);
    assert_eq!(changes.removed, ["gone.css"]);
    assert_eq!(changes.count(), 4);
}

fn crc32(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE), independent of the archive writer's.
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_central_directory_longer_than_the_first_tail_is_read_without_reading_a_byte_twice() {
    let names: Vec<String> = (0..2_000).map(|n| format!("pages/page-{n}.html")).collect();
    let bytes = many(&names, b"x");
    let eocd = find_eocd(&bytes).expect("an end record");
    let cd_offset = u64::from(u32::from_le_bytes(
        bytes[eocd + 16..eocd + 20].try_into().expect("4 bytes"),
    ));
    let len = bytes.len() as u64;
    assert!(
        len - cd_offset > FIRST_TAIL,
        "the directory outgrows the first tail"
    );
    let listing = listing(bytes).await.unwrap();
    assert_eq!(listing.files.len(), 2_000);
    // The tail, then exactly the part of the directory before it: every byte from the
    // directory's start to the end, once.
    assert_eq!(listing.reads, 2);
    assert_eq!(listing.bytes_read, len - cd_offset);
}

//! A zip's listing from its tail alone: the end-of-central-directory record (with its ZIP64
//! locator and record), then the central directory, read with ranged reads. Each entry's name,
//! CRC-32 and size are enough to tell changed files apart, without a byte of their contents.

use std::borrow::Cow;
use std::future::Future;

/// The first read: the end-of-central-directory record of an archive without a long comment
/// (build tools write none), and usually the whole central directory of a small site with it.
pub const FIRST_TAIL: u64 = 8 * 1024;
/// The longest tail that can hold the record: 22 bytes, a comment of up to 65,535, and the
/// 20-byte ZIP64 locator before it.
pub const MAX_TAIL: u64 = 22 + 65_535 + 20;
/// Largest central directory accepted: about 2 million entries of 120-byte names.
pub const MAX_CENTRAL_DIRECTORY: u64 = 256 * 1024 * 1024;

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: usize = 46;
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// General purpose flag bit 11: the name is UTF-8.
const UTF8_FLAG: u16 = 1 << 11;

/// Where the bytes come from: a local file, or S3 with ranged GetObject calls.
pub trait RangeSource: Send + Sync {
    /// The archive's length in bytes.
    fn size(&self) -> u64;
    /// `len` bytes from `offset` (both within the archive).
    fn read(&self, offset: u64, len: u64)
    -> impl Future<Output = Result<Vec<u8>, ZipError>> + Send;
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// As decoded: UTF-8 when the entry says so, else CP437.
    pub name: String,
    pub crc32: u32,
    /// Uncompressed size.
    pub size: u64,
}

/// Every file of an archive, and what reading them cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Files only, in central-directory order.
    pub files: Vec<ZipEntry>,
    /// Directory entries (names ending in `/`), skipped.
    pub directories: usize,
    /// Bytes fetched from the source.
    pub bytes_read: u64,
    /// Reads made.
    pub reads: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZipError {
    #[error(
        "it is not a zip archive: no end-of-central-directory record in its last {searched} bytes \
         (of {len})"
    )]
    NotAZip { searched: u64, len: u64 },
    #[error("its {what} is damaged: {detail}")]
    Damaged { what: &'static str, detail: String },
    #[error("it spans several disks, which this reader does not read")]
    MultiDisk,
    #[error(
        "its central directory is {size} bytes, more than the {max} read at most: split the artifact"
    )]
    TooLarge { size: u64, max: u64 },
    /// The object (or its bucket) does not exist: a lifecycle rule may have removed it.
    #[error("{0} does not exist")]
    Missing(String),
    /// The credentials may not read the object (or use its KMS key).
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    Source(String),
}

fn damaged(what: &'static str, detail: impl Into<String>) -> ZipError {
    ZipError::Damaged {
        what,
        detail: detail.into(),
    }
}

/// The bytes read so far: one window ending at the archive's end, extended as needed.
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    fn slice(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let from = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        let to = from.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(from..to)
    }

    /// Extends the window back to `start`, reading only the bytes it does not hold yet.
    async fn extend_to<S: RangeSource>(
        &mut self,
        source: &S,
        start: u64,
        listing: &mut Listing,
    ) -> Result<(), ZipError> {
        if start < self.start {
            let mut bytes = fetch(source, start, self.start - start, listing).await?;
            bytes.append(&mut self.bytes);
            *self = Window { start, bytes };
        }
        Ok(())
    }

    /// `len` bytes at `offset`: from the window when it holds them; when the range ends inside
    /// the window, only the part before it is read (no byte is read twice), else all of it.
    async fn range<S: RangeSource>(
        &self,
        source: &S,
        offset: u64,
        len: u64,
        listing: &mut Listing,
    ) -> Result<Cow<'_, [u8]>, ZipError> {
        if let Some(bytes) = self.slice(offset, len) {
            return Ok(Cow::Borrowed(bytes));
        }
        let end = offset.saturating_add(len);
        let window_end = self.start + self.bytes.len() as u64;
        if offset < self.start && end > self.start && end <= window_end {
            let mut bytes = fetch(source, offset, self.start - offset, listing).await?;
            let held = usize::try_from(end - self.start).unwrap_or(0);
            // Exact: a central directory can be megabytes, and doubling it would cost as much.
            bytes.reserve_exact(held);
            bytes.extend_from_slice(&self.bytes[..held]);
            return Ok(Cow::Owned(bytes));
        }
        fetch(source, offset, len, listing).await.map(Cow::Owned)
    }
}

/// Reads the listing with as few bytes as the archive allows: the last [`FIRST_TAIL`] bytes
/// (the whole archive when it is smaller), more of the tail only for a long comment, then the
/// part of the central directory that the tail did not hold.
pub async fn read_listing<S: RangeSource>(source: &S) -> Result<Listing, ZipError> {
    let len = source.size();
    let mut listing = Listing::default();
    let start = len - FIRST_TAIL.min(len);
    let bytes = fetch(source, start, len - start, &mut listing).await?;
    let mut window = Window { start, bytes };
    let eocd_at = match find_eocd(&window.bytes) {
        Some(at) => at,
        None if window.start > 0 => {
            // Only the part of the longest tail not read yet.
            window
                .extend_to(source, len - MAX_TAIL.min(len), &mut listing)
                .await?;
            find_eocd(&window.bytes).ok_or(ZipError::NotAZip {
                searched: MAX_TAIL.min(len),
                len,
            })?
        }
        None => {
            return Err(ZipError::NotAZip { searched: len, len });
        }
    };
    let eocd_offset = window.start + eocd_at as u64;
    let mut directory = Directory::from_eocd(&window.bytes[eocd_at..])?;
    if directory.needs_zip64() {
        let locator_offset = eocd_offset
            .checked_sub(ZIP64_LOCATOR_LEN as u64)
            .ok_or_else(|| damaged("ZIP64 locator", "no room before the end record"))?;
        let locator = window
            .range(
                source,
                locator_offset,
                ZIP64_LOCATOR_LEN as u64,
                &mut listing,
            )
            .await?;
        let record_offset = zip64_record_offset(&locator)?;
        let record = window
            .range(source, record_offset, ZIP64_EOCD_LEN as u64, &mut listing)
            .await?;
        directory = Directory::from_zip64(&record)?;
    }
    if directory.size > MAX_CENTRAL_DIRECTORY {
        return Err(ZipError::TooLarge {
            size: directory.size,
            max: MAX_CENTRAL_DIRECTORY,
        });
    }
    if directory.offset.saturating_add(directory.size) > eocd_offset {
        return Err(damaged(
            "end record",
            format!(
                "its central directory ({} bytes at {}) runs past the end record at {eocd_offset}",
                directory.size, directory.offset
            ),
        ));
    }
    let bytes = window
        .range(source, directory.offset, directory.size, &mut listing)
        .await?;
    let (files, directories) = parse_central_directory(&bytes, directory.entries)?;
    listing.files = files;
    listing.directories = directories;
    Ok(listing)
}

async fn fetch<S: RangeSource>(
    source: &S,
    offset: u64,
    len: u64,
    listing: &mut Listing,
) -> Result<Vec<u8>, ZipError> {
    let bytes = source.read(offset, len).await?;
    if bytes.len() as u64 != len {
        return Err(ZipError::Source(format!(
            "asked for {len} bytes at {offset}, got {}",
            bytes.len()
        )));
    }
    listing.bytes_read += len;
    listing.reads += 1;
    Ok(bytes)
}

/// The last end-of-central-directory record in `tail` whose comment length fits what follows
/// it (a signature inside a comment or a file's data does not).
pub fn find_eocd(tail: &[u8]) -> Option<usize> {
    let last_start = tail.len().checked_sub(EOCD_LEN)?;
    (0..=last_start).rev().find(|&at| {
        u32_at(tail, at) == Some(EOCD_SIGNATURE)
            && u16_at(tail, at + 20)
                .is_some_and(|comment| at + EOCD_LEN + usize::from(comment) == tail.len())
    })
}

/// Where the central directory is and how many entries it holds.
struct Directory {
    entries: u64,
    size: u64,
    offset: u64,
    disk: u32,
    directory_disk: u32,
}

impl Directory {
    fn from_eocd(eocd: &[u8]) -> Result<Self, ZipError> {
        let field = |at| u16_at(eocd, at).ok_or_else(|| damaged("end record", "it is cut short"));
        let wide = |at| u32_at(eocd, at).ok_or_else(|| damaged("end record", "it is cut short"));
        let directory = Self {
            disk: u32::from(field(4)?),
            directory_disk: u32::from(field(6)?),
            entries: u64::from(field(10)?),
            size: u64::from(wide(12)?),
            offset: u64::from(wide(16)?),
        };
        if !directory.needs_zip64() && (directory.disk != 0 || directory.directory_disk != 0) {
            return Err(ZipError::MultiDisk);
        }
        Ok(directory)
    }

    /// A field at its maximum means the real value is in the ZIP64 record.
    fn needs_zip64(&self) -> bool {
        self.entries == 0xFFFF
            || self.size == 0xFFFF_FFFF
            || self.offset == 0xFFFF_FFFF
            || self.disk == 0xFFFF
            || self.directory_disk == 0xFFFF
    }

    fn from_zip64(record: &[u8]) -> Result<Self, ZipError> {
        if u32_at(record, 0) != Some(ZIP64_EOCD_SIGNATURE) {
            return Err(damaged("ZIP64 end record", "its signature is missing"));
        }
        let cut = || damaged("ZIP64 end record", "it is cut short");
        let disk = u32_at(record, 16).ok_or_else(cut)?;
        let directory_disk = u32_at(record, 20).ok_or_else(cut)?;
        if disk != 0 || directory_disk != 0 {
            return Err(ZipError::MultiDisk);
        }
        Ok(Self {
            disk,
            directory_disk,
            entries: u64_at(record, 32).ok_or_else(cut)?,
            size: u64_at(record, 40).ok_or_else(cut)?,
            offset: u64_at(record, 48).ok_or_else(cut)?,
        })
    }
}

fn zip64_record_offset(locator: &[u8]) -> Result<u64, ZipError> {
    if u32_at(locator, 0) != Some(ZIP64_LOCATOR_SIGNATURE) {
        return Err(damaged(
            "ZIP64 locator",
            "the end record points to ZIP64, but no locator precedes it",
        ));
    }
    u64_at(locator, 8).ok_or_else(|| damaged("ZIP64 locator", "it is cut short"))
}

/// Parses `expected` central-directory headers from `bytes`: files, and the count of
/// directory entries.
pub fn parse_central_directory(
    bytes: &[u8],
    expected: u64,
) -> Result<(Vec<ZipEntry>, usize), ZipError> {
    let cut = |index: u64| damaged("central directory", format!("entry {index} is cut short"));
    // Every header takes at least 46 bytes: a count beyond that is a lie, not a reservation.
    let capacity =
        usize::try_from(expected.min(bytes.len() as u64 / CENTRAL_HEADER_LEN as u64)).unwrap_or(0);
    let mut files = Vec::with_capacity(capacity);
    let mut directories = 0;
    let mut at = 0usize;
    for index in 0..expected {
        if u32_at(bytes, at) != Some(CENTRAL_HEADER_SIGNATURE) {
            return Err(damaged(
                "central directory",
                format!("entry {index} has no header signature at byte {at}"),
            ));
        }
        let field = |offset| u16_at(bytes, at + offset).ok_or_else(|| cut(index));
        let wide = |offset| u32_at(bytes, at + offset).ok_or_else(|| cut(index));
        let (flags, crc32, size32) = (field(8)?, wide(16)?, wide(24)?);
        let [name_len, extra_len, comment_len] =
            [field(28)?, field(30)?, field(32)?].map(usize::from);
        let name_at = at + CENTRAL_HEADER_LEN;
        let extra_at = name_at + name_len;
        let next = extra_at + extra_len + comment_len;
        let raw_name = bytes.get(name_at..extra_at).ok_or_else(|| cut(index))?;
        let extra = bytes
            .get(extra_at..extra_at + extra_len)
            .ok_or_else(|| cut(index))?;
        if next > bytes.len() {
            return Err(cut(index));
        }
        let size = if size32 == 0xFFFF_FFFF {
            zip64_size(extra).ok_or_else(|| {
                damaged(
                    "central directory",
                    format!("entry {index} needs a ZIP64 size that its extra field lacks"),
                )
            })?
        } else {
            u64::from(size32)
        };
        let name = decode_name(raw_name, flags & UTF8_FLAG != 0);
        if name.ends_with('/') {
            directories += 1;
        } else {
            files.push(ZipEntry { name, crc32, size });
        }
        at = next;
    }
    Ok((files, directories))
}

/// The uncompressed size from the ZIP64 extended information field: it comes first.
fn zip64_size(extra: &[u8]) -> Option<u64> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at)?;
        let len = usize::from(u16_at(extra, at + 2)?);
        if id == ZIP64_EXTRA_ID {
            return u64_at(extra.get(at + 4..at + 4 + len)?, 0);
        }
        at += 4 + len;
    }
    None
}

/// UTF-8 when the entry's flag says so (invalid bytes replaced), else IBM code page 437, the
/// zip format's original encoding.
pub fn decode_name(raw: &[u8], utf8: bool) -> String {
    if utf8 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    raw.iter()
        .map(|&byte| match byte {
            0..=0x7F => char::from(byte),
            high => CP437_HIGH[usize::from(high - 0x80)],
        })
        .collect()
}

/// Code page 437, bytes 0x80 to 0xFF.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

/// The `N` bytes at `at`, when `bytes` holds them.
fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    bytes_at(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes_at(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes_at(bytes, at).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests;

//! Readers and validation of district office extracts (the contract of `EXTRACTS.md`).
//!
//! A delivery file is opened by [`open_rows`], which picks a [`RowReader`] for its form (CSV,
//! gzip-compressed CSV or XLSX), finds the header and decodes the text. [`Extractor`] maps the
//! header to the contract's fields, validates every row, pseudonymises identifiers and emits
//! Arrow record batches of the canonical schema; rows that fail are returned as [`Reject`]s.
//! Raw identifiers and names never leave this crate.

mod batch;
mod csv_reader;
mod decode;
mod error;
pub mod fields;
mod geography;
mod offices;
mod parse;
mod pseudonym;
mod reader;
mod reject;
mod validate;
mod xlsx_reader;

pub use decode::{TextEncoding, encode_windows_1258};
pub use error::{Error, Result};
pub use geography::{Geography, Unit, UnitLevel};
pub use offices::{
    CrosswalkRow, OFFICE_KINDS, Office, OfficeArea, OfficeLevel, OfficeRefusal, Offices,
};
pub use pseudonym::{MIN_KEY_BYTES, PseudonymKey, Pseudonymiser};
pub use reader::{ContentDigest, FileForm, RowReader, open_rows};
pub use validate::{
    ExtractSink, ExtractSummary, Extractor, FIRST_REJECTS_KEPT, Reject, RejectReason,
};

/// Normalises text to Unicode NFC, the form every comparison uses. ASCII is returned as is.
pub fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfc().collect())
    }
}

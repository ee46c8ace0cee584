//! One reader per file form behind [`RowReader`]; [`open_rows`] picks the form from the
//! file's first bytes, so a misnamed file is still read correctly.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::decode::TextEncoding;
use crate::error::{Error, Result};
use crate::{csv_reader, xlsx_reader};

/// Rows searched for the header (XLSX title rows may precede it).
pub(crate) const HEADER_SEARCH_ROWS: usize = 21;

/// The header needs at least this many known column names to be recognised.
pub(crate) const MIN_KNOWN_HEADERS: usize = 3;

/// The physical form of a delivery file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileForm {
    /// Delimited text.
    Csv,
    /// Gzip-compressed delimited text.
    CsvGzip,
    /// Excel workbook.
    Xlsx,
}

/// A source of data rows with a header, whatever the file form.
pub trait RowReader {
    /// The header cells as written (NFC-normalised), in column order.
    fn header(&self) -> &[String];

    /// Calls `visit` with the 1-based line (CSV) or row number (XLSX) and the cells of every
    /// data row after the header, in order, until the end or the first error.
    fn for_each_row(&mut self, visit: &mut dyn FnMut(u64, &[&str]) -> Result<()>) -> Result<()>;

    /// What the reader found out about the file, for the load report (e.g. encoding).
    fn description(&self) -> String;
}

/// The SHA-256 and size of the bytes a load parsed, known once its rows are read, so that
/// what is committed is known to be the file that was hashed.
#[derive(Debug)]
pub struct ContentDigest {
    name: String,
    state: Arc<Mutex<(Sha256, u64)>>,
    /// The open file, to see that it did not change under the reader.
    file: File,
    opened: (u64, Option<SystemTime>),
}

impl ContentDigest {
    fn new(name: &str, file: &File) -> Result<Self> {
        let io_err = |source| Error::Io {
            file: name.to_string(),
            source,
        };
        let file = file.try_clone().map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        Ok(Self {
            name: name.to_string(),
            state: Arc::default(),
            file,
            opened: (meta.len(), meta.modified().ok()),
        })
    }

    fn hashing<R: Read>(&self, inner: R) -> Hashing<R> {
        Hashing {
            inner,
            state: Arc::clone(&self.state),
        }
    }

    /// The hex SHA-256 and size of the bytes read, once the rows have been read; an error
    /// when the file changed while it was read (its size or modification time moved, or
    /// fewer bytes were read than it holds).
    pub fn finish(&self) -> Result<(String, u64)> {
        let changed = || Error::Changed {
            file: self.name.clone(),
        };
        let meta = self.file.metadata().map_err(|source| Error::Io {
            file: self.name.clone(),
            source,
        })?;
        let (hasher, bytes) = self.state.lock().map_err(|_| changed())?.clone();
        if (meta.len(), meta.modified().ok()) != self.opened || bytes != self.opened.0 {
            return Err(changed());
        }
        Ok((hex::encode(hasher.finalize()), bytes))
    }
}

/// A reader that hashes every byte it passes on.
struct Hashing<R> {
    inner: R,
    state: Arc<Mutex<(Sha256, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut state) = self.state.lock() {
            state.0.update(&buf[..n]);
            state.1 += n as u64;
        }
        Ok(n)
    }
}

/// Opens `path` and returns a reader for its form, positioned after the header, with the
/// digest of what it reads. Errors name the file as `name` (its path in the landing area,
/// not where this machine keeps it).
pub fn open_rows(
    path: &Path,
    name: &str,
    encoding: TextEncoding,
) -> Result<(Box<dyn RowReader + Send>, ContentDigest)> {
    let name = name.to_string();
    let io_err = |source| Error::Io {
        file: name.clone(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let digest = ContentDigest::new(&name, &file)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(io_err)?;
    // The same open file is read from its start: a file is opened once per load.
    std::io::Seek::rewind(&mut file).map_err(io_err)?;
    let form = match &magic[..n] {
        [0x1f, 0x8b, ..] => FileForm::CsvGzip,
        [b'P', b'K', 3, 4] => FileForm::Xlsx,
        [0xD0, 0xCF, 0x11, 0xE0] => {
            return Err(Error::UnknownForm {
                file: name,
                reason: "legacy .xls workbook; save it as .xlsx or CSV".into(),
            });
        }
        [] => {
            return Err(Error::UnknownForm {
                file: name,
                reason: "the file is empty".into(),
            });
        }
        _ => FileForm::Csv,
    };
    let rows: Box<dyn RowReader + Send> = match form {
        FileForm::Xlsx => {
            // A workbook is read by seeking: it is hashed through the same open file first.
            std::io::copy(&mut digest.hashing(&mut file), &mut std::io::sink()).map_err(io_err)?;
            std::io::Seek::rewind(&mut file).map_err(io_err)?;
            Box::new(xlsx_reader::XlsxRows::open(file, name)?)
        }
        FileForm::Csv => {
            let reader: Box<dyn Read + Send> = Box::new(digest.hashing(file));
            Box::new(csv_reader::CsvRows::open(reader, name, encoding, false)?)
        }
        FileForm::CsvGzip => {
            let reader: Box<dyn Read + Send> = Box::new(flate2::read::MultiGzDecoder::new(
                BufReader::new(digest.hashing(file)),
            ));
            Box::new(csv_reader::CsvRows::open(reader, name, encoding, true)?)
        }
    };
    Ok((rows, digest))
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

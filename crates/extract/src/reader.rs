//! One reader per file form behind [`RowReader`]; [`open_rows`] picks the form from the
//! file's first bytes, so a misnamed file is still read correctly.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

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

/// Opens `path` and returns a reader for its form, positioned after the header.
pub fn open_rows(path: &Path, encoding: TextEncoding) -> Result<Box<dyn RowReader + Send>> {
    let name = path.display().to_string();
    let io_err = |source| Error::Io {
        file: name.clone(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
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
    match form {
        FileForm::Xlsx => Ok(Box::new(xlsx_reader::XlsxRows::open(file, name)?)),
        FileForm::Csv => {
            let reader: Box<dyn Read + Send> = Box::new(file);
            Ok(Box::new(csv_reader::CsvRows::open(
                reader, name, encoding, false,
            )?))
        }
        FileForm::CsvGzip => {
            let reader: Box<dyn Read + Send> =
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)));
            Ok(Box::new(csv_reader::CsvRows::open(
                reader, name, encoding, true,
            )?))
        }
    }
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

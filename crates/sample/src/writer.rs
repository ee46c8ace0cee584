//! Writers for the file forms the contract allows.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use unicode_normalization::UnicodeNormalization;

use crate::Error;

/// How a delivery file is written.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStyle {
    /// Field delimiter.
    pub delimiter: u8,
    /// Windows-1258 instead of UTF-8.
    pub windows_1258: bool,
    /// Decomposed (NFD) text.
    pub nfd: bool,
    /// UTF-8 byte-order mark.
    pub bom: bool,
    /// CRLF line ends.
    pub crlf: bool,
    /// Gzip-compressed.
    pub gzip: bool,
    /// Quote every field.
    pub quote_all: bool,
    /// XLSX workbook with this many title rows above the header (CSV when `None`).
    pub xlsx_title_rows: Option<u32>,
}

impl Default for FileStyle {
    fn default() -> Self {
        Self {
            delimiter: b',',
            windows_1258: false,
            nfd: false,
            bom: false,
            crlf: false,
            gzip: false,
            quote_all: false,
            xlsx_title_rows: None,
        }
    }
}

impl FileStyle {
    /// The file extension.
    pub fn extension(&self) -> &'static str {
        match (self.xlsx_title_rows.is_some(), self.gzip) {
            (true, _) => "xlsx",
            (false, true) => "csv.gz",
            (false, false) => "csv",
        }
    }

    /// Lines (CSV) or rows (XLSX) before the first data row.
    pub fn lines_before_data(&self) -> u64 {
        u64::from(self.xlsx_title_rows.map(|t| t + 1).unwrap_or(1))
    }
}

/// One cell: text, or a date that XLSX writes as a real Excel date.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Text as written.
    Text(String),
    /// A date (written `dd/mm/yyyy` in CSV).
    Date(chrono::NaiveDate),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Date(d) => d.format("%d/%m/%Y").to_string(),
        }
    }
}

/// The byte sink of a CSV delivery.
pub enum Output {
    /// Plain file.
    Plain(BufWriter<File>),
    /// Gzip stream into a file.
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Plain(w) => w.write_all(bytes),
            Self::Gzip(w) => w.write_all(bytes),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Plain(mut w) => w.flush(),
            Self::Gzip(w) => w.finish()?.flush(),
        }
    }
}

/// A delivery file being written row by row.
pub enum DeliveryWriter {
    /// Delimited text.
    Csv {
        /// Output.
        out: Output,
        /// Style.
        style: FileStyle,
        /// Target path.
        path: PathBuf,
    },
    /// Workbook written in constant-memory mode.
    Xlsx {
        /// Workbook.
        workbook: Box<Workbook>,
        /// Next row.
        row: u32,
        /// Date format.
        date: Format,
        /// Target path.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn xlsx(path: &Path) -> impl Fn(rust_xlsxwriter::XlsxError) -> Error + '_ {
    move |e| Error::Xlsx {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl DeliveryWriter {
    /// Creates `path` in `style`, with `title` above the header for XLSX.
    pub fn create(path: &Path, style: &FileStyle, title: &str) -> Result<Self, Error> {
        if let Some(title_rows) = style.xlsx_title_rows {
            let mut workbook = Box::new(Workbook::new());
            let sheet = workbook.add_worksheet_with_constant_memory();
            sheet.set_name("DanhSach").map_err(xlsx(path))?;
            if title_rows > 0 {
                sheet.write_string(0, 0, title).map_err(xlsx(path))?;
            }
            for r in 1..title_rows {
                let text = if r == 1 {
                    "Bảo hiểm xã hội tỉnh Khánh Hòa"
                } else {
                    ""
                };
                sheet.write_string(r, 0, text).map_err(xlsx(path))?;
            }
            return Ok(Self::Xlsx {
                workbook,
                row: title_rows,
                date: Format::new().set_num_format("dd/mm/yyyy"),
                path: path.to_path_buf(),
            });
        }
        let file = File::create(path).map_err(io(path))?;
        let mut out = if style.gzip {
            Output::Gzip(Box::new(flate2::write::GzEncoder::new(
                BufWriter::with_capacity(1 << 20, file),
                flate2::Compression::fast(),
            )))
        } else {
            Output::Plain(BufWriter::with_capacity(1 << 20, file))
        };
        if style.bom && !style.windows_1258 {
            out.write_all(&[0xEF, 0xBB, 0xBF]).map_err(io(path))?;
        }
        Ok(Self::Csv {
            out,
            style: style.clone(),
            path: path.to_path_buf(),
        })
    }

    /// Writes one row (header or data).
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), Error> {
        match self {
            Self::Csv { out, style, path } => {
                let delimiter = style.delimiter as char;
                let mut line = String::with_capacity(160);
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(delimiter);
                    }
                    let text = cell.text();
                    let needs_quotes = style.quote_all
                        || text.contains(delimiter)
                        || text.contains('"')
                        || text.contains('\n');
                    if needs_quotes {
                        line.push('"');
                        line.push_str(&text.replace('"', "\"\""));
                        line.push('"');
                    } else {
                        line.push_str(&text);
                    }
                }
                line.push_str(if style.crlf { "\r\n" } else { "\n" });
                let bytes = if style.windows_1258 {
                    ansinh_extract::encode_windows_1258(&line)
                } else if style.nfd && !line.is_ascii() {
                    line.nfd().collect::<String>().into_bytes()
                } else {
                    line.into_bytes()
                };
                out.write_all(&bytes).map_err(io(path))
            }
            Self::Xlsx {
                workbook,
                row,
                date,
                path,
            } => {
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx(path))?;
                for (col, cell) in cells.iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Text(t) if t.is_empty() => {}
                        Cell::Text(t) => {
                            sheet.write_string(*row, col, t).map_err(xlsx(path))?;
                        }
                        Cell::Date(d) => {
                            use chrono::Datelike;
                            let excel = ExcelDateTime::from_ymd(
                                d.year() as u16,
                                d.month() as u8,
                                d.day() as u8,
                            )
                            .map_err(xlsx(path))?;
                            sheet
                                .write_datetime_with_format(*row, col, &excel, date)
                                .map_err(xlsx(path))?;
                        }
                    }
                }
                *row += 1;
                Ok(())
            }
        }
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Self::Csv { out, path, .. } => out.finish().map_err(io(&path)),
            Self::Xlsx {
                mut workbook, path, ..
            } => workbook.save(&path).map_err(xlsx(&path)),
        }
    }
}

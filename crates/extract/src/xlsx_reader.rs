//! Excel workbooks: the first sheet, title rows above the header, Excel date cells. Cells are
//! streamed from the sheet's XML, never loaded as a whole range.

use std::fs::File;
use std::io::BufReader;

use calamine::{DataRef, Reader, Xlsx};

use crate::error::{Error, Result};
use crate::fields::known_header_count;
use crate::reader::{HEADER_SEARCH_ROWS, MIN_KNOWN_HEADERS, RowReader};

pub(crate) struct XlsxRows {
    name: String,
    workbook: Workbook,
    sheet: String,
    header: Vec<String>,
    /// 0-based row index of the header.
    header_row: u32,
}

type Workbook = Xlsx<BufReader<File>>;

impl XlsxRows {
    /// Reads the workbook of the open `file`; the rows are read from the same workbook, so
    /// the file is opened once.
    pub(crate) fn open(file: File, name: String) -> Result<Self> {
        let mut workbook = Xlsx::new(BufReader::new(file)).map_err(|e| Error::Workbook {
            file: name.clone(),
            message: e.to_string(),
        })?;
        let sheet = workbook
            .sheet_names()
            .into_iter()
            .next()
            .ok_or_else(|| Error::Workbook {
                file: name.clone(),
                message: "the workbook has no sheet".into(),
            })?;
        let mut found = None;
        scan_rows(&mut workbook, &name, &sheet, &mut |row, cells| {
            if row as usize >= HEADER_SEARCH_ROWS {
                return Ok(false);
            }
            let cells: Vec<String> = cells.iter().map(|c| crate::nfc(c).into_owned()).collect();
            if known_header_count(&cells) >= MIN_KNOWN_HEADERS {
                found = Some((row, cells));
                return Ok(false);
            }
            Ok(true)
        })?;
        let (header_row, header) = found.ok_or(Error::NoHeader {
            file: name.clone(),
            searched: HEADER_SEARCH_ROWS,
        })?;
        Ok(Self {
            name,
            workbook,
            sheet,
            header,
            header_row,
        })
    }
}

/// Streams the sheet row by row (0-based row index, cells as text); `visit` returns false to
/// stop early.
fn scan_rows(
    workbook: &mut Workbook,
    name: &str,
    sheet: &str,
    visit: &mut dyn FnMut(u32, &[&str]) -> Result<bool>,
) -> Result<()> {
    let workbook_error = |e: calamine::XlsxError| Error::Workbook {
        file: name.into(),
        message: e.to_string(),
    };
    let mut cells = workbook
        .worksheet_cells_reader(sheet)
        .map_err(workbook_error)?;
    let mut current_row: Option<u32> = None;
    let mut row_cells: Vec<String> = Vec::new();
    let emit =
        |row: u32, row_cells: &[String], visit: &mut dyn FnMut(u32, &[&str]) -> Result<bool>| {
            let refs: Vec<&str> = row_cells.iter().map(String::as_str).collect();
            visit(row, &refs)
        };
    while let Some(cell) = cells.next_cell().map_err(workbook_error)? {
        let (row, col) = cell.get_position();
        if current_row != Some(row) {
            if let Some(previous) = current_row
                && !emit(previous, &row_cells, visit)?
            {
                return Ok(());
            }
            current_row = Some(row);
            row_cells.clear();
        }
        let col = col as usize;
        if row_cells.len() <= col {
            row_cells.resize(col + 1, String::new());
        }
        row_cells[col] = cell_text(cell.get_value());
    }
    if let Some(previous) = current_row {
        emit(previous, &row_cells, visit)?;
    }
    Ok(())
}

/// A cell as the text a CSV export would hold: dates as `dd/mm/yyyy`, whole numbers without
/// a decimal point.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{d:02}/{m:02}/{y:04}")
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

impl RowReader for XlsxRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn for_each_row(&mut self, visit: &mut dyn FnMut(u64, &[&str]) -> Result<()>) -> Result<()> {
        let header_row = self.header_row;
        let width = self.header.len();
        scan_rows(
            &mut self.workbook,
            &self.name,
            &self.sheet,
            &mut |row, cells| {
                if row <= header_row || cells.iter().all(|c| c.trim().is_empty()) {
                    return Ok(true);
                }
                // Trailing empty cells are not stored in XLSX: pad to the header's width.
                if cells.len() < width {
                    let mut padded = cells.to_vec();
                    padded.resize(width, "");
                    visit(u64::from(row) + 1, &padded)?;
                } else {
                    visit(u64::from(row) + 1, cells)?;
                }
                Ok(true)
            },
        )
    }

    fn description(&self) -> String {
        format!(
            "XLSX sheet {:?}, header on row {}",
            self.sheet,
            self.header_row + 1
        )
    }
}

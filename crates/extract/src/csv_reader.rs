//! Delimited text (optionally gzip-compressed): encoding and delimiter detection, BOM, quoting,
//! LF or CRLF line ends.

use std::io::{BufRead, BufReader, Read};

use crate::decode::{TextEncoding, Windows1258Reader, detect};
use crate::error::{Error, Result};
use crate::fields::known_header_count;
use crate::reader::{HEADER_SEARCH_ROWS, MIN_KNOWN_HEADERS, RowReader};

const BUFFER: usize = 256 * 1024;

/// Longest line read, in bytes: no row of an extract comes near it, and a line is held whole
/// while it is parsed, so a longer one (a gzip bomb of one line, say) would take memory in
/// proportion.
const MAX_LINE_BYTES: usize = 1 << 20;

/// A reader that fails on a line longer than [`MAX_LINE_BYTES`], and on a NUL byte wherever it
/// is (the first block of a file with one is refused as binary before parsing; the rest of the
/// file is held to the same rule).
struct LineCap<R> {
    inner: R,
    /// Bytes of the current line read so far.
    line: usize,
    /// Bytes of text read so far.
    offset: u64,
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        if let Some(at) = read.iter().position(|&b| b == 0) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a NUL byte at byte {} of the text: binary content, not delimited text",
                    self.offset + at as u64
                ),
            ));
        }
        self.offset += n as u64;
        let (head, tail) = match (
            read.iter().position(|&b| b == b'\n'),
            read.iter().rposition(|&b| b == b'\n'),
        ) {
            (Some(first), Some(last)) => (first, n - last - 1),
            _ => (n, self.line + n),
        };
        if self.line + head > MAX_LINE_BYTES || tail > MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {} MiB: not a row of an extract",
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        self.line = tail;
        Ok(n)
    }
}

/// Lines one record may span (quoted cells with line breaks); more is an unclosed quote.
const MAX_RECORD_LINES: u64 = 4;

/// Stand-in for a cell that is not valid text in the file's encoding: it fails every check.
const INVALID_TEXT: &str = "\u{FFFD}";

pub(crate) struct CsvRows {
    name: String,
    gzip: bool,
    encoding: TextEncoding,
    delimiter: u8,
    header: Vec<String>,
    reader: csv::Reader<Box<dyn Read + Send>>,
}

impl CsvRows {
    pub(crate) fn open(
        raw: Box<dyn Read + Send>,
        name: String,
        declared: TextEncoding,
        gzip: bool,
    ) -> Result<Self> {
        let io_error = |source: std::io::Error| {
            if gzip {
                Error::Gzip {
                    file: name.clone(),
                    source,
                }
            } else {
                Error::Io {
                    file: name.clone(),
                    source,
                }
            }
        };
        let mut buffered = BufReader::with_capacity(BUFFER, raw);
        let first = buffered.fill_buf().map_err(io_error)?;
        if first.is_empty() {
            return Err(Error::UnknownForm {
                file: name,
                reason: "no text in the file".into(),
            });
        }
        if first.contains(&0) {
            return Err(Error::UnknownForm {
                file: name,
                reason: "binary content (NUL bytes), not delimited text".into(),
            });
        }
        let encoding = match declared {
            TextEncoding::Auto => detect(first),
            TextEncoding::Utf8 => {
                if let Err(e) = std::str::from_utf8(first)
                    && e.error_len().is_some()
                {
                    return Err(Error::Encoding {
                        file: name,
                        offset: e.valid_up_to() as u64,
                        encoding: "UTF-8",
                    });
                }
                TextEncoding::Utf8
            }
            other => other,
        };
        let decoded: Box<dyn Read + Send> = match encoding {
            TextEncoding::Windows1258 => Box::new(Windows1258Reader::new(buffered)),
            _ => {
                if first.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    buffered.consume(3);
                }
                Box::new(buffered)
            }
        };
        let mut decoded = BufReader::with_capacity(BUFFER, decoded);
        let first_text = decoded.fill_buf().map_err(io_error)?;
        if ends_lines_with_cr_alone(first_text) {
            return Err(Error::LineEndings { file: name });
        }
        let delimiter = detect_delimiter(first_text);
        let boxed: Box<dyn Read + Send> = Box::new(LineCap {
            inner: decoded,
            line: 0,
            offset: 0,
        });
        // LF ends a record; a CR before it stays in the last cell and is trimmed with the
        // rest of the whitespace. (With CRLF terminators the parser reports each record's
        // line one too low, and the contract promises exact lines.)
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .has_headers(false)
            .flexible(true)
            .from_reader(boxed);
        let mut rows = Self {
            name,
            gzip,
            encoding,
            delimiter,
            header: Vec::new(),
            reader,
        };
        rows.find_header()?;
        Ok(rows)
    }

    fn find_header(&mut self) -> Result<()> {
        let mut record = csv::ByteRecord::new();
        for _ in 0..HEADER_SEARCH_ROWS {
            if !self
                .reader
                .read_byte_record(&mut record)
                .map_err(|e| self.csv_error(e))?
            {
                break;
            }
            let cells: Vec<String> = record
                .iter()
                .map(|cell| crate::nfc(std::str::from_utf8(cell).unwrap_or(INVALID_TEXT)).into())
                .collect();
            if known_header_count(&cells) >= MIN_KNOWN_HEADERS {
                self.header = cells;
                return Ok(());
            }
        }
        Err(Error::NoHeader {
            file: self.name.clone(),
            searched: HEADER_SEARCH_ROWS,
        })
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(source) if self.gzip => Error::Gzip {
                file: self.name.clone(),
                source,
            },
            csv::ErrorKind::Io(source) => Error::Io {
                file: self.name.clone(),
                source,
            },
            other => Error::Csv {
                file: self.name.clone(),
                line,
                message: format!("{other:?}"),
            },
        }
    }
}

impl RowReader for CsvRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn for_each_row(&mut self, visit: &mut dyn FnMut(u64, &[&str]) -> Result<()>) -> Result<()> {
        let mut record = csv::ByteRecord::new();
        loop {
            match self.reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(self.csv_error(e)),
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            // A quoted cell may hold a line break or two; one that runs on over many lines
            // is an unclosed quote swallowing the rows after it, and would lose them.
            let next = self.reader.position().line();
            if next.saturating_sub(line) > MAX_RECORD_LINES {
                return Err(Error::Csv {
                    file: self.name.clone(),
                    line,
                    message: format!(
                        "a quoted cell runs over {} lines, to line {}: a quote is not closed; \
                         the file is refused so that no row is lost",
                        next - line,
                        next.saturating_sub(1)
                    ),
                });
            }
            // A line with only delimiters or blanks is not a record.
            if record
                .iter()
                .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let cells: Vec<&str> = record
                .iter()
                .map(|cell| std::str::from_utf8(cell).unwrap_or(INVALID_TEXT))
                .collect();
            visit(line, &cells)?;
        }
    }

    fn description(&self) -> String {
        let delimiter = match self.delimiter {
            b'\t' => "tab".to_string(),
            d => format!("'{}'", d as char),
        };
        let form = if self.gzip { "gzip CSV" } else { "CSV" };
        format!("{form}, {}, delimiter {delimiter}", self.encoding.name())
    }
}

/// Whether the first line of `text` ends in a CR that no LF follows (the old Mac form): the
/// parser would read the whole file as one line.
fn ends_lines_with_cr_alone(text: &[u8]) -> bool {
    let first_line = match text.iter().position(|&b| b == b'\n') {
        Some(end) => &text[..end],
        None => text,
    };
    first_line
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && i + 1 < first_line.len())
        || (first_line.len() == text.len() && text.contains(&b'\r') && !text.ends_with(b"\r"))
}

/// The delimiter of the first line: the most frequent of `,` `;` and tab outside quotes.
fn detect_delimiter(text: &[u8]) -> u8 {
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in &text[..line_end] {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    candidates[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(u64, Vec<String>)> {
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut rows = CsvRows::open(raw, "t.csv".into(), TextEncoding::Auto, false).unwrap();
        let mut out = Vec::new();
        rows.for_each_row(&mut |line, cells| {
            out.push((line, cells.iter().map(|c| c.trim().to_string()).collect()));
            Ok(())
        })
        .unwrap();
        out
    }

    /// Opens `text` as `name` and reads every row: the rows read, or the first error.
    fn read_all(text: String, name: &str) -> Result<usize> {
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(text.into_bytes()));
        let mut rows = CsvRows::open(raw, name.into(), TextEncoding::Auto, false)?;
        let mut n = 0;
        rows.for_each_row(&mut |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    #[test]
    fn lines_are_exact_with_crlf_quotes_and_blank_lines() {
        let header = "Mã số BHXH,Ngày sinh,Giới tính";
        let crlf = format!("{header}\r\n1,2,3\r\n\r\n\"4\",5,\"6\"\r\n");
        assert_eq!(
            lines(&crlf),
            vec![
                (2, vec!["1".into(), "2".into(), "3".into()]),
                (4, vec!["4".into(), "5".into(), "6".into()])
            ]
        );
        let lf = format!("{header}\n\"a\nb\",2,3\n7,8,9\n");
        assert_eq!(lines(&lf)[1].0, 4);
    }

    #[test]
    fn a_declared_encoding_that_does_not_fit_refuses_the_file() {
        let bytes = crate::decode::encode_windows_1258("Mã số BHXH,Ngày sinh,Giới tính\n");
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes.clone()));
        let err = CsvRows::open(raw, "w.csv".into(), TextEncoding::Utf8, false)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("w.csv: byte 2 is not valid UTF-8"),
            "{err}"
        );
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes));
        let rows = CsvRows::open(raw, "w.csv".into(), TextEncoding::Auto, false).unwrap();
        assert_eq!(rows.header()[0], "Mã số BHXH");
    }

    #[test]
    fn lines_ended_by_cr_alone_refuse_the_file_without_its_cells() {
        let cr = "Mã số BHXH,Ngày sinh,Giới tính\r0123456789,01/02/1970,Nam\r";
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(cr.as_bytes().to_vec()));
        let err = CsvRows::open(raw, "cr.csv".into(), TextEncoding::Auto, false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("cr.csv: lines end in CR alone"), "{err}");
        assert!(!err.contains("0123456789"), "{err}");
        assert!(!ends_lines_with_cr_alone(b"a,b\r\n1,2\r\n"));
        assert!(!ends_lines_with_cr_alone(b"a,b\n1,2\n"));
        assert!(!ends_lines_with_cr_alone(b"a,b\r"));
    }

    #[test]
    fn an_unclosed_quote_refuses_the_file_instead_of_swallowing_its_rows() {
        let mut text = String::from("Mã số BHXH,Ngày sinh,Giới tính\n1,2,3\n\"4,5,6\n");
        for i in 0..10 {
            text.push_str(&format!("{i},2,3\n"));
        }
        let err = read_all(text, "q.csv").err().unwrap().to_string();
        assert!(
            err.starts_with("q.csv:3: malformed CSV: a quoted cell runs over 11 lines"),
            "{err}"
        );
    }

    #[test]
    fn a_line_too_long_to_be_a_row_refuses_the_file() {
        let header = "Mã số BHXH,Ngày sinh,Giới tính\n";
        let long = format!("{header}1,2,3\n{}\n4,5,6\n", "9".repeat(MAX_LINE_BYTES + 1));
        let err = read_all(long, "l.csv").err().unwrap().to_string();
        assert!(err.contains("a line longer than 1 MiB"), "{err}");
        // Many lines, each short, whatever their total.
        let many = format!("{header}{}", "1,2,3\n".repeat(400_000));
        assert_eq!(read_all(many, "s.csv").unwrap(), 400_000);
    }

    #[test]
    fn a_nul_byte_refuses_the_file_wherever_it_is() {
        let header = "Mã số BHXH,Ngày sinh,Giới tính\n";
        let early = read_all(format!("{header}1,\0,3\n"), "e.csv");
        assert!(early.err().unwrap().to_string().contains("NUL"));
        let late = format!("{header}{}1,\0,3\n", "1,2,3\n".repeat(100_000));
        let err = read_all(late, "l.csv").err().unwrap().to_string();
        assert!(err.contains("a NUL byte at byte 600"), "{err}");
    }

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"a;b;c\n1,2;3"), b';');
        assert_eq!(detect_delimiter(b"\"a;b\",c,d\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"abc"), b',');
    }
}

//! Administrative units with validity periods (`reference/geography.csv`), used to check the
//! codes in extracts against the units that existed in the delivery's month.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use ansinh_core::YearMonth;
use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::offices::{Offices, overlaps};

/// Level of an administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum UnitLevel {
    /// Province.
    Province,
    /// District (abolished on 1 July 2025).
    District,
    /// Commune, ward or township.
    Commune,
}

impl UnitLevel {
    /// The name used in `geography.csv`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// One administrative unit over one validity period.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// GSO code.
    pub code: String,
    /// Name (NFC).
    pub name: String,
    /// Level.
    pub level: UnitLevel,
    /// Code of the enclosing unit, if any.
    pub parent_code: Option<String>,
    /// First day of validity; open when `None`.
    pub valid_from: Option<NaiveDate>,
    /// Last day of validity; open when `None`.
    pub valid_to: Option<NaiveDate>,
}

impl Unit {
    /// Whether the unit existed at any time during `period`.
    pub fn valid_in(&self, period: YearMonth) -> bool {
        crate::offices::valid_in(self.valid_from, self.valid_to, period)
    }
}

/// The reference geography.
#[derive(Debug, Clone, Default)]
pub struct Geography {
    units: Vec<Unit>,
    by_code: HashMap<String, Vec<usize>>,
    offices: Offices,
}

impl Geography {
    /// Reads `geography.csv` from `path`; the offices are its districts.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            file: path.display().to_string(),
            source,
        })?;
        Self::from_csv(file, &path.display().to_string())
    }

    /// Reads the reference directory `dir`: `geography.csv`, and the office registry and the
    /// commune crosswalk where they exist ([`Offices::load`]).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let mut geography = Self::load(&dir.join("geography.csv"))?;
        geography.offices = Offices::load(dir, &geography.units)?;
        Ok(geography)
    }

    /// Parses `unit_code,name,level,parent_code,valid_from,valid_to` CSV.
    pub fn from_csv(reader: impl Read, file: &str) -> Result<Self> {
        let mut csv = csv::Reader::from_reader(reader);
        let bad = |line: u64, message: String| Error::Reference {
            file: file.into(),
            line,
            message,
        };
        let header = csv.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let expected = [
            "unit_code",
            "name",
            "level",
            "parent_code",
            "valid_from",
            "valid_to",
        ];
        if header.iter().collect::<Vec<_>>() != expected {
            return Err(bad(1, format!("expected header {}", expected.join(","))));
        }
        let mut geography = Self::default();
        // The line of each unit, for errors about a later row.
        let mut lines: Vec<u64> = Vec::new();
        for (i, record) in csv.records().enumerate() {
            let line = i as u64 + 2;
            let record = record.map_err(|e| bad(line, e.to_string()))?;
            let date = |idx: usize| -> Result<Option<NaiveDate>> {
                let text = record.get(idx).unwrap_or("").trim();
                if text.is_empty() {
                    return Ok(None);
                }
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        bad(
                            line,
                            format!("{}: not a YYYY-MM-DD date: {text:?}", expected[idx]),
                        )
                    })
            };
            let level_text = record.get(2).unwrap_or("");
            let level = UnitLevel::parse(level_text)
                .ok_or_else(|| bad(line, format!("level: unknown level {level_text:?}")))?;
            let parent = record.get(3).unwrap_or("").trim();
            let code = record.get(0).unwrap_or("").trim();
            if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    line,
                    format!("unit_code: not a code of digits: {code:?}"),
                ));
            }
            let unit = Unit {
                code: code.to_string(),
                name: crate::nfc(record.get(1).unwrap_or("")).into_owned(),
                level,
                parent_code: (!parent.is_empty()).then(|| parent.to_string()),
                valid_from: date(4)?,
                valid_to: date(5)?,
            };
            if let (Some(from), Some(to)) = (unit.valid_from, unit.valid_to)
                && from > to
            {
                return Err(bad(
                    line,
                    format!("valid_from {from} is after valid_to {to}"),
                ));
            }
            if let Some(other) = geography.by_code.get(code).and_then(|rows| {
                rows.iter().find(|&&i| {
                    let other = &geography.units[i];
                    overlaps(
                        (other.valid_from, other.valid_to),
                        (unit.valid_from, unit.valid_to),
                    )
                })
            }) {
                return Err(bad(
                    line,
                    format!(
                        "unit {code}: validity overlaps the row of line {}",
                        lines[*other]
                    ),
                ));
            }
            lines.push(line);
            geography.push(unit);
        }
        geography.offices = Offices::from_districts(&geography.units);
        Ok(geography)
    }

    fn push(&mut self, unit: Unit) {
        self.by_code
            .entry(unit.code.clone())
            .or_default()
            .push(self.units.len());
        self.units.push(unit);
    }

    /// The unit with `code` at `level` valid during `period`.
    pub fn unit(&self, code: &str, level: UnitLevel, period: YearMonth) -> Option<&Unit> {
        self.by_code
            .get(code)?
            .iter()
            .map(|&i| &self.units[i])
            .find(|u| u.level == level && u.valid_in(period))
    }

    /// Every unit of `level` valid during `period`, in file order.
    pub fn units_valid(&self, level: UnitLevel, period: YearMonth) -> Vec<&Unit> {
        self.units
            .iter()
            .filter(|u| u.level == level && u.valid_in(period))
            .collect()
    }

    /// Every unit, in file order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The office registry and the commune crosswalk.
    pub fn offices(&self) -> &Offices {
        &self.offices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_periods_are_respected() {
        let csv = "unit_code,name,level,parent_code,valid_from,valid_to\n\
                   56,Khánh Hòa,province,,,\n\
                   568,Nha Trang,district,56,,2025-06-30\n\
                   22300,Phường A,commune,568,,2025-06-30\n";
        let g = Geography::from_csv(csv.as_bytes(), "geo.csv").unwrap();
        let jan = YearMonth::new(2024, 1).unwrap();
        let aug = YearMonth::new(2025, 8).unwrap();
        assert!(g.unit("568", UnitLevel::District, jan).is_some());
        assert!(g.unit("568", UnitLevel::District, aug).is_none());
        assert!(g.unit("568", UnitLevel::Commune, jan).is_none());
        assert_eq!(g.units_valid(UnitLevel::District, jan).len(), 1);
    }

    #[test]
    fn one_code_may_have_several_rows_that_do_not_overlap() {
        let header = "unit_code,name,level,parent_code,valid_from,valid_to\n";
        let two = format!(
            "{header}56,Khánh Hòa,province,,,2025-06-30\n56,Khánh Hòa,province,,2025-07-01,\n"
        );
        let g = Geography::from_csv(two.as_bytes(), "geo.csv").unwrap();
        let jul = YearMonth::new(2025, 7).unwrap();
        assert_eq!(
            g.unit("56", UnitLevel::Province, jul).unwrap().valid_from,
            NaiveDate::from_ymd_opt(2025, 7, 1)
        );
        let overlapping = format!(
            "{header}56,Khánh Hòa,province,,,2025-06-30\n56,Khánh Hòa,province,,2025-06-01,\n"
        );
        let err = Geography::from_csv(overlapping.as_bytes(), "geo.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "geo.csv:3: unit 56: validity overlaps the row of line 2"
        );
    }

    #[test]
    fn bad_rows_name_file_line_and_field() {
        let csv =
            "unit_code,name,level,parent_code,valid_from,valid_to\n568,X,district,56,01/01/2020,\n";
        let err = Geography::from_csv(csv.as_bytes(), "geo.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("geo.csv:2: valid_from"), "{err}");
    }
}

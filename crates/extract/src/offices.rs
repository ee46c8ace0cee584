//! The office registry (`reference/offices.csv`, `office_areas.csv`) and the commune crosswalk
//! (`commune_crosswalk.csv`) of the contract's version 2. Which offices exist, what each sends
//! and what it serves change over time; a reference directory without these files describes
//! the province of version 1, where each district office is the district.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ansinh_core::YearMonth;
use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::geography::{Unit, UnitLevel};

/// The delivery kinds an office may send.
pub const OFFICE_KINDS: [&str; 3] = ["participants", "beneficiaries", "social_pensions"];

/// What kinds a district office sends when the registry is derived from the geography.
const DISTRICT_KINDS: [&str; 2] = ["participants", "beneficiaries"];

/// Level of an office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum OfficeLevel {
    /// A district office (until March 2025).
    District,
    /// A district or inter-district office (April to June 2025).
    InterDistrict,
    /// A grassroots office serving a set of communes (from July 2025).
    Grassroots,
    /// An authority that is not a social-security office (the social-protection authority).
    Authority,
}

impl OfficeLevel {
    /// The name used in `offices.csv`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One office over one validity period.
#[derive(Debug, Clone, PartialEq)]
pub struct Office {
    /// Office code (3 to 8 letters or digits).
    pub code: String,
    /// Name (NFC).
    pub name: String,
    /// Level.
    pub level: OfficeLevel,
    /// Code of the province it belongs to.
    pub province_code: String,
    /// Delivery kinds it sends.
    pub kinds: Vec<String>,
    /// First day of validity; open when `None`.
    pub valid_from: Option<NaiveDate>,
    /// Last day of validity; open when `None`.
    pub valid_to: Option<NaiveDate>,
}

/// A unit an office serves over a validity period.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeArea {
    /// Office code.
    pub office_code: String,
    /// District (before July 2025) or commune code.
    pub unit_code: String,
    /// First day; open when `None`.
    pub valid_from: Option<NaiveDate>,
    /// Last day; open when `None`.
    pub valid_to: Option<NaiveDate>,
}

/// Where an old commune's population went.
#[derive(Debug, Clone, PartialEq)]
pub struct CrosswalkRow {
    /// The commune that ended on 2025-06-30.
    pub old_code: String,
    /// A new commune it went into.
    pub new_code: String,
    /// The fraction of the old commune's population.
    pub share: f64,
}

/// Why a delivery's office is not accepted for its kind and month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfficeRefusal {
    /// No office with this code exists.
    Unknown,
    /// The office exists, but not in this month.
    NotValid,
    /// The office is valid but does not send this kind.
    WrongKind,
}

/// The registry of offices, their areas and the commune crosswalk.
#[derive(Debug, Clone, Default)]
pub struct Offices {
    offices: Vec<Office>,
    areas: Vec<OfficeArea>,
    crosswalk: Vec<CrosswalkRow>,
    derived: bool,
}

/// Whether a validity period covers any day of `period`.
pub(crate) fn valid_in(from: Option<NaiveDate>, to: Option<NaiveDate>, period: YearMonth) -> bool {
    from.is_none_or(|from| from <= period.last_day())
        && to.is_none_or(|to| to >= period.first_day())
}

/// Whether two validity periods share a day.
pub(crate) fn overlaps(
    a: (Option<NaiveDate>, Option<NaiveDate>),
    b: (Option<NaiveDate>, Option<NaiveDate>),
) -> bool {
    let starts_before_end = |from: Option<NaiveDate>, to: Option<NaiveDate>| match (from, to) {
        (Some(from), Some(to)) => from <= to,
        _ => true,
    };
    starts_before_end(a.0, b.1) && starts_before_end(b.0, a.1)
}

/// A CSV of the reference directory, read by header name.
pub(crate) struct ReferenceCsv {
    file: String,
    reader: csv::Reader<std::fs::File>,
    columns: HashMap<String, usize>,
}

/// One record of a [`ReferenceCsv`], with its line for errors.
pub(crate) struct ReferenceRecord<'a> {
    file: &'a str,
    line: u64,
    record: csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl ReferenceCsv {
    /// Opens `path`, whose header must hold exactly `expected` (in any order).
    pub(crate) fn open(path: &Path, expected: &[&str]) -> Result<Self> {
        let file_name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            file: file_name.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
        let header = reader
            .headers()
            .map_err(|e| reference_error(&file_name, 1, e.to_string()))?
            .clone();
        let mut columns = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            if !expected.contains(&name) {
                return Err(reference_error(
                    &file_name,
                    1,
                    format!(
                        "unknown column {:?}; expected {}",
                        crate::validate::column_name(name),
                        expected.join(",")
                    ),
                ));
            }
            columns.insert(name.to_string(), i);
        }
        if let Some(missing) = expected.iter().find(|e| !columns.contains_key(**e)) {
            return Err(reference_error(
                &file_name,
                1,
                format!("missing column {missing}; expected {}", expected.join(",")),
            ));
        }
        Ok(Self {
            file: file_name,
            reader,
            columns,
        })
    }

    /// Calls `each` with every record, stopping at the first error.
    pub(crate) fn for_each(
        mut self,
        mut each: impl FnMut(&ReferenceRecord<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut record = csv::StringRecord::new();
        let mut line = 1;
        loop {
            let more = self
                .reader
                .read_record(&mut record)
                .map_err(|e| reference_error(&self.file, line + 1, e.to_string()))?;
            if !more {
                return Ok(());
            }
            line = record.position().map_or(line + 1, |p| p.line());
            let current = ReferenceRecord {
                file: &self.file,
                line,
                record: record.clone(),
                columns: &self.columns,
            };
            each(&current)?;
        }
    }
}

impl ReferenceRecord<'_> {
    /// The trimmed text of column `name`.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.columns
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    /// An error at this record's line.
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        reference_error(self.file, self.line, message.into())
    }

    /// The file and line, for messages about another record.
    pub(crate) fn place(&self) -> (String, u64) {
        (self.file.to_string(), self.line)
    }

    /// A non-empty value of column `name`.
    pub(crate) fn required(&self, name: &str) -> Result<&str> {
        let text = self.text(name);
        if text.is_empty() {
            return Err(self.error(format!("{name}: missing value")));
        }
        Ok(text)
    }

    /// An optional `YYYY-MM-DD` date of column `name`.
    pub(crate) fn date(&self, name: &str) -> Result<Option<NaiveDate>> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| self.error(format!("{name}: not a YYYY-MM-DD date: {text:?}")))
    }

    /// The `valid_from`/`valid_to` pair, checked to be in order.
    pub(crate) fn validity(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let from = self.date("valid_from")?;
        let to = self.date("valid_to")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(self.error(format!("valid_from {f} is after valid_to {t}")));
        }
        Ok((from, to))
    }
}

pub(crate) fn reference_error(file: &str, line: u64, message: String) -> Error {
    Error::Reference {
        file: file.to_string(),
        line,
        message,
    }
}

fn is_office_code(code: &str) -> bool {
    (3..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Offices {
    /// The registry of version 1: each district of `units` is an office that sends
    /// participants and beneficiaries and serves its district, valid while the district is.
    pub fn from_districts(units: &[Unit]) -> Self {
        let districts = units.iter().filter(|u| u.level == UnitLevel::District);
        let mut registry = Self {
            derived: true,
            ..Self::default()
        };
        for d in districts {
            registry.offices.push(Office {
                code: d.code.clone(),
                name: d.name.clone(),
                level: OfficeLevel::District,
                province_code: d.parent_code.clone().unwrap_or_default(),
                kinds: DISTRICT_KINDS.iter().map(|k| k.to_string()).collect(),
                valid_from: d.valid_from,
                valid_to: d.valid_to,
            });
            registry.areas.push(OfficeArea {
                office_code: d.code.clone(),
                unit_code: d.code.clone(),
                valid_from: d.valid_from,
                valid_to: d.valid_to,
            });
        }
        registry
    }

    /// Reads `offices.csv`, `office_areas.csv` and `commune_crosswalk.csv` of `dir`, checked
    /// against `units`. Without `offices.csv` the registry is derived from the districts; the
    /// crosswalk is optional on its own.
    pub fn load(dir: &Path, units: &[Unit]) -> Result<Self> {
        let offices_path = dir.join("offices.csv");
        let areas_path = dir.join("office_areas.csv");
        let mut registry = if offices_path.exists() {
            if !areas_path.exists() {
                return Err(reference_error(
                    &areas_path.display().to_string(),
                    0,
                    "missing: offices.csv needs office_areas.csv, the units each office serves"
                        .into(),
                ));
            }
            let mut registry = Self::default();
            registry.read_offices(&offices_path, units)?;
            registry.read_areas(&areas_path, units)?;
            registry
        } else {
            Self::from_districts(units)
        };
        let crosswalk_path = dir.join("commune_crosswalk.csv");
        if crosswalk_path.exists() {
            registry.read_crosswalk(&crosswalk_path, units)?;
        }
        Ok(registry)
    }

    fn read_offices(&mut self, path: &Path, units: &[Unit]) -> Result<()> {
        let csv = ReferenceCsv::open(
            path,
            &[
                "office_code",
                "name",
                "level",
                "province_code",
                "kinds",
                "valid_from",
                "valid_to",
            ],
        )?;
        let mut seen: HashMap<String, Vec<(usize, u64)>> = HashMap::new();
        csv.for_each(|r| {
            let code = r.required("office_code")?;
            if !is_office_code(code) {
                return Err(r.error(format!(
                    "office_code: {code:?} is not 3 to 8 letters or digits"
                )));
            }
            let level_text = r.required("level")?;
            let level: OfficeLevel = level_text.parse().map_err(|_| {
                r.error(format!(
                    "level: unknown level {level_text:?}; expected district, inter_district, grassroots or authority"
                ))
            })?;
            let province = r.required("province_code")?;
            if !units
                .iter()
                .any(|u| u.level == UnitLevel::Province && u.code == province)
            {
                return Err(r.error(format!(
                    "province_code: {province:?} is not a province of geography.csv"
                )));
            }
            let mut kinds = Vec::new();
            for kind in r.required("kinds")?.split(';').map(str::trim) {
                if !OFFICE_KINDS.contains(&kind) {
                    return Err(r.error(format!(
                        "kinds: unknown kind {kind:?}; expected {}",
                        OFFICE_KINDS.join(", ")
                    )));
                }
                if !kinds.iter().any(|k| k == kind) {
                    kinds.push(kind.to_string());
                }
            }
            let (valid_from, valid_to) = r.validity()?;
            let office = Office {
                code: code.to_string(),
                name: crate::nfc(r.required("name")?).into_owned(),
                level,
                province_code: province.to_string(),
                kinds,
                valid_from,
                valid_to,
            };
            let rows = seen.entry(office.code.clone()).or_default();
            if let Some((_, line)) = rows.iter().find(|(i, _)| {
                let other = &self.offices[*i];
                overlaps(
                    (other.valid_from, other.valid_to),
                    (office.valid_from, office.valid_to),
                )
            }) {
                return Err(r.error(format!(
                    "office {code}: validity overlaps the row of line {line}"
                )));
            }
            rows.push((self.offices.len(), r.place().1));
            self.offices.push(office);
            Ok(())
        })
    }

    fn read_areas(&mut self, path: &Path, units: &[Unit]) -> Result<()> {
        let csv = ReferenceCsv::open(
            path,
            &["office_code", "unit_code", "valid_from", "valid_to"],
        )?;
        csv.for_each(|r| {
            let office = r.required("office_code")?;
            let (valid_from, valid_to) = r.validity()?;
            if !self.offices.iter().any(|o| {
                o.code == office && overlaps((o.valid_from, o.valid_to), (valid_from, valid_to))
            }) {
                return Err(r.error(format!(
                    "office_code: {office:?} is not an office of offices.csv valid then"
                )));
            }
            let unit = r.required("unit_code")?;
            // A province is the area of an authority that serves all of it.
            if !units.iter().any(|u| {
                u.code == unit && overlaps((u.valid_from, u.valid_to), (valid_from, valid_to))
            }) {
                return Err(r.error(format!(
                    "unit_code: {unit:?} is not a unit of geography.csv valid then"
                )));
            }
            self.areas.push(OfficeArea {
                office_code: office.to_string(),
                unit_code: unit.to_string(),
                valid_from,
                valid_to,
            });
            Ok(())
        })
    }

    fn read_crosswalk(&mut self, path: &Path, units: &[Unit]) -> Result<()> {
        let file = path.display().to_string();
        let csv = ReferenceCsv::open(path, &["old_code", "new_code", "share"])?;
        let is_commune = |code: &str| {
            units
                .iter()
                .any(|u| u.code == code && u.level == UnitLevel::Commune)
        };
        // Per old code: the line of its first row and the sum of its shares.
        let mut sums: BTreeMap<String, (u64, f64)> = BTreeMap::new();
        csv.for_each(|r| {
            let old = r.required("old_code")?;
            let new = r.required("new_code")?;
            for (column, code) in [("old_code", old), ("new_code", new)] {
                if !is_commune(code) {
                    return Err(r.error(format!(
                        "{column}: {code:?} is not a commune of geography.csv"
                    )));
                }
            }
            let share_text = r.required("share")?;
            let share: f64 = share_text
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0 && *s <= 1.0)
                .ok_or_else(|| {
                    r.error(format!("share: {share_text:?} is not a fraction in (0, 1]"))
                })?;
            let entry = sums.entry(old.to_string()).or_insert((r.place().1, 0.0));
            entry.1 += share;
            self.crosswalk.push(CrosswalkRow {
                old_code: old.to_string(),
                new_code: new.to_string(),
                share,
            });
            Ok(())
        })?;
        if let Some((old, (line, sum))) = sums.iter().find(|(_, (_, sum))| (sum - 1.0).abs() > 1e-6)
        {
            return Err(reference_error(
                &file,
                *line,
                format!("old_code {old}: shares sum to {sum}, not 1"),
            ));
        }
        // A commune that ended (and whose code was not given a later row) must say where its
        // records go, or they would count in no unit of today.
        let lines = sums.values().map(|(line, _)| *line).max().unwrap_or(1);
        let ended = units.iter().find(|u| {
            u.level == UnitLevel::Commune
                && u.valid_to.is_some()
                && !sums.contains_key(&u.code)
                && !units.iter().any(|later| {
                    later.code == u.code
                        && later.level == UnitLevel::Commune
                        && later.valid_to.is_none()
                })
        });
        if let Some(u) = ended {
            let to = u.valid_to.map(|d| d.to_string()).unwrap_or_default();
            return Err(reference_error(
                &file,
                lines + 1,
                format!(
                    "commune {} ended on {to} (geography.csv) and has no row here: where do its records go?",
                    u.code
                ),
            ));
        }
        Ok(())
    }

    /// Whether the registry was derived from the districts (no `offices.csv`).
    pub fn is_derived(&self) -> bool {
        self.derived
    }

    /// Every office row, in file order.
    pub fn offices(&self) -> &[Office] {
        &self.offices
    }

    /// Every office area row, in file order.
    pub fn areas(&self) -> &[OfficeArea] {
        &self.areas
    }

    /// Every crosswalk row, in file order.
    pub fn crosswalk(&self) -> &[CrosswalkRow] {
        &self.crosswalk
    }

    /// The registry as the CSV text of `table` (`offices`, `office_areas` or
    /// `commune_crosswalk`), the form it is loaded in when derived from the districts.
    pub fn csv(&self, table: &str) -> Option<String> {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let rows: Vec<Vec<String>> =
            match table {
                "offices" => std::iter::once(
                    [
                        "office_code",
                        "name",
                        "level",
                        "province_code",
                        "kinds",
                        "valid_from",
                        "valid_to",
                    ]
                    .map(String::from)
                    .to_vec(),
                )
                .chain(self.offices.iter().map(|o| {
                    vec![
                        o.code.clone(),
                        o.name.clone(),
                        o.level.name().to_string(),
                        o.province_code.clone(),
                        o.kinds.join(";"),
                        date(o.valid_from),
                        date(o.valid_to),
                    ]
                }))
                .collect(),
                "office_areas" => std::iter::once(
                    ["office_code", "unit_code", "valid_from", "valid_to"]
                        .map(String::from)
                        .to_vec(),
                )
                .chain(self.areas.iter().map(|a| {
                    vec![
                        a.office_code.clone(),
                        a.unit_code.clone(),
                        date(a.valid_from),
                        date(a.valid_to),
                    ]
                }))
                .collect(),
                "commune_crosswalk" => {
                    std::iter::once(["old_code", "new_code", "share"].map(String::from).to_vec())
                        .chain(self.crosswalk.iter().map(|c| {
                            vec![c.old_code.clone(), c.new_code.clone(), c.share.to_string()]
                        }))
                        .collect()
                }
                _ => return None,
            };
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in rows {
            writer.write_record(&row).ok()?;
        }
        String::from_utf8(writer.into_inner().ok()?).ok()
    }

    /// The office `code` if it is valid in `period` and sends `kind`.
    pub fn accepting(
        &self,
        code: &str,
        kind: &str,
        period: YearMonth,
    ) -> std::result::Result<&Office, OfficeRefusal> {
        let mut rows = self.offices.iter().filter(|o| o.code == code).peekable();
        if rows.peek().is_none() {
            return Err(OfficeRefusal::Unknown);
        }
        let valid = rows
            .find(|o| valid_in(o.valid_from, o.valid_to, period))
            .ok_or(OfficeRefusal::NotValid)?;
        if valid.kinds.iter().any(|k| k == kind) {
            Ok(valid)
        } else {
            Err(OfficeRefusal::WrongKind)
        }
    }

    /// The offices expected to deliver `kind` in `period`, in file order.
    pub fn expected(&self, kind: &str, period: YearMonth) -> Vec<&Office> {
        self.offices
            .iter()
            .filter(|o| {
                valid_in(o.valid_from, o.valid_to, period) && o.kinds.iter().any(|k| k == kind)
            })
            .collect()
    }

    /// Why `code` cannot deliver `kind` in `period`, as the refusal message says it.
    pub fn refusal_message(&self, code: &str, kind: &str, period: YearMonth) -> Option<String> {
        let refusal = self.accepting(code, kind, period).err()?;
        let source = if self.derived {
            "the districts of geography.csv"
        } else {
            "offices.csv"
        };
        Some(match refusal {
            OfficeRefusal::Unknown => {
                format!("unknown_office: office {code} is not in {source}")
            }
            OfficeRefusal::NotValid => {
                format!("unknown_office: office {code} is not valid in {period} ({source})")
            }
            OfficeRefusal::WrongKind => {
                format!("unknown_office: office {code} does not send {kind} in {period} ({source})")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geography::Geography;

    const GEOGRAPHY: &str = "unit_code,name,level,parent_code,valid_from,valid_to\n\
        56,Khánh Hòa,province,,,2025-06-30\n\
        56,Khánh Hòa,province,,2025-07-01,\n\
        58,Ninh Thuận,province,,,2025-06-30\n\
        568,Nha Trang,district,56,,2025-06-30\n\
        582,Phan Rang,district,58,,2025-06-30\n\
        22300,Phường A,commune,568,,2025-06-30\n\
        22301,Phường B,commune,568,,2025-06-30\n\
        23501,Phường Nha Trang,commune,56,2025-07-01,\n\
        23502,Phường Bắc,commune,56,2025-07-01,\n";

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("geography.csv"), GEOGRAPHY).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn load(files: &[(&str, &str)]) -> Result<Offices> {
        let dir = dir(files);
        let geography = Geography::load(&dir.path().join("geography.csv"))?;
        Offices::load(dir.path(), geography.units())
    }

    const OFFICES: &str = "office_code,name,level,province_code,kinds,valid_from,valid_to\n\
        568,BHXH Nha Trang,district,56,participants;beneficiaries,,2025-06-30\n\
        56CS01,BHXH cơ sở Nha Trang,grassroots,56,participants;beneficiaries,2025-07-01,\n\
        BTXH56,Sở Y tế,authority,56,social_pensions,2025-07-01,\n";
    const AREAS: &str = "office_code,unit_code,valid_from,valid_to\n\
        568,568,,2025-06-30\n\
        56CS01,23501,2025-07-01,\n\
        56CS01,23502,2025-07-01,\n";

    fn month(y: i32, m: u32) -> YearMonth {
        YearMonth::new(y, m).unwrap()
    }

    #[test]
    fn offices_are_accepted_in_their_validity_for_their_kinds() {
        let offices = load(&[("offices.csv", OFFICES), ("office_areas.csv", AREAS)]).unwrap();
        assert!(!offices.is_derived());
        let sep = month(2025, 9);
        assert!(offices.accepting("56CS01", "participants", sep).is_ok());
        assert_eq!(
            offices.accepting("568", "participants", sep),
            Err(OfficeRefusal::NotValid)
        );
        assert_eq!(
            offices.accepting("BTXH56", "participants", sep),
            Err(OfficeRefusal::WrongKind)
        );
        assert_eq!(
            offices.accepting("999", "participants", sep),
            Err(OfficeRefusal::Unknown)
        );
        let codes = |p| {
            offices
                .expected("participants", p)
                .iter()
                .map(|o| o.code.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(month(2025, 6)), ["568"]);
        assert_eq!(codes(sep), ["56CS01"]);
        let message = offices.refusal_message("568", "participants", sep).unwrap();
        assert_eq!(
            message,
            "unknown_office: office 568 is not valid in 2025-09 (offices.csv)"
        );
    }

    #[test]
    fn without_offices_each_district_is_an_office() {
        let offices = load(&[]).unwrap();
        assert!(offices.is_derived());
        let jan = month(2024, 1);
        let codes: Vec<_> = offices
            .expected("beneficiaries", jan)
            .iter()
            .map(|o| o.code.as_str())
            .collect();
        assert_eq!(codes, ["568", "582"]);
        assert!(offices.expected("participants", month(2025, 7)).is_empty());
        assert_eq!(offices.areas().len(), 2);
    }

    #[test]
    fn bad_registry_rows_name_file_line_and_value() {
        let err = |files: &[(&str, &str)]| {
            let e = load(files).unwrap_err().to_string();
            e.split_once("offices.csv")
                .or_else(|| e.split_once("areas.csv"))
                .or_else(|| e.split_once("crosswalk.csv"))
                .map(|(_, rest)| rest.to_string())
                .unwrap_or(e)
        };
        let overlapping =
            format!("{OFFICES}568,BHXH Nha Trang,district,56,participants,2025-01-01,\n");
        assert_eq!(
            err(&[("offices.csv", &overlapping), ("office_areas.csv", AREAS)]),
            ":5: office 568: validity overlaps the row of line 2"
        );
        let kind = OFFICES.replace("social_pensions", "pensions");
        assert!(
            err(&[("offices.csv", &kind), ("office_areas.csv", AREAS)])
                .starts_with(":4: kinds: unknown kind \"pensions\""),
        );
        let areas = format!("{AREAS}56CS01,99999,2025-07-01,\n");
        assert_eq!(
            err(&[("offices.csv", OFFICES), ("office_areas.csv", &areas)]),
            ":5: unit_code: \"99999\" is not a unit of geography.csv valid then"
        );
        let shares = "old_code,new_code,share\n22300,23501,1\n22301,23501,0.5\n22301,23502,0.4\n";
        assert_eq!(
            err(&[("commune_crosswalk.csv", shares)]),
            ":3: old_code 22301: shares sum to 0.9, not 1"
        );
        let code = OFFICES.replace("56CS01,BHXH", "56-CS01,BHXH");
        assert!(
            err(&[("offices.csv", &code), ("office_areas.csv", AREAS)])
                .starts_with(":3: office_code: \"56-CS01\" is not 3 to 8"),
        );
    }

    #[test]
    fn a_derived_registry_is_written_as_csv() {
        let offices = load(&[]).unwrap();
        assert_eq!(
            offices.csv("offices").unwrap(),
            "office_code,name,level,province_code,kinds,valid_from,valid_to\n\
             568,Nha Trang,district,56,participants;beneficiaries,,2025-06-30\n\
             582,Phan Rang,district,58,participants;beneficiaries,,2025-06-30\n"
        );
        assert_eq!(
            offices.csv("commune_crosswalk").unwrap(),
            "old_code,new_code,share\n"
        );
    }

    #[test]
    fn every_commune_that_ended_is_in_the_crosswalk() {
        let shares = "old_code,new_code,share\n22300,23501,1\n";
        let err = load(&[("commune_crosswalk.csv", shares)])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "commune_crosswalk.csv:3: commune 22301 ended on 2025-06-30 (geography.csv) and has no row here: where do its records go?"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_well_formed_crosswalk_is_read() {
        let shares = "old_code,new_code,share\n22300,23501,1\n22301,23501,0.6\n22301,23502,0.4\n";
        let offices = load(&[("commune_crosswalk.csv", shares)]).unwrap();
        assert_eq!(offices.crosswalk().len(), 3);
    }
}

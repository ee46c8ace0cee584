//! Deterministic synthetic deliveries of today's Khanh Hoa and of the two provinces it was
//! made of, with the matching reference data and a manifest of what was written.
//!
//! Until March 2025 each district office of old Khanh Hoa (nine) and Ninh Thuan (seven)
//! delivers; from April to June 2025 the inter-district offices; from July 2025 the ten
//! grassroots offices of the merged province, whose rows carry the new communes and no
//! district. A few Ninh Thuan persons move to Khanh Hoa in June 2025 and keep their
//! identifiers; from August 2025 most persons carry only the personal ID, some of them in the
//! social-insurance code's column.
//!
//! At scale 1.0 January 2024 has exactly 182,809 active `BHXH_BB`, 15,183 active `BHXH_TN`
//! and 1,202,980 active `BHYT` persons in old Khanh Hoa and a labour force of 566,500; at
//! scale `F` every count and denominator is multiplied by `F`. With `messy`, each office
//! writes a different form the contract allows, and a known number of invalid rows is mixed
//! in; the manifest lists them, and what every unit's numerators must be.

pub mod model;
pub mod reference;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ansinh_core::{DeliveryKind, Scheme, YearMonth};
use ansinh_extract::fields::{Field, fields_of};
use chrono::Datelike;
use serde::{Deserialize, Serialize};

use model::{DistrictModel, Pool, month_index};
use reference::{DISTRICTS, SampleOffice};
use writer::{Cell, DeliveryWriter, FileStyle};

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Writing a workbook failed.
    #[error("{path}: {message}")]
    Xlsx {
        /// The file.
        path: String,
        /// What the writer said.
        message: String,
    },
    /// The options are out of range.
    #[error("{0}")]
    Options(String),
}

impl ansinh_core::Classify for Error {
    fn class(&self) -> ansinh_core::ErrorClass {
        match self {
            Error::Options(_) => ansinh_core::ErrorClass::Usage,
            Error::Io { .. } | Error::Xlsx { .. } => ansinh_core::ErrorClass::Infrastructure,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Output directory (the landing area).
    pub out: PathBuf,
    /// First month.
    pub from: YearMonth,
    /// Last month.
    pub to: YearMonth,
    /// Multiplier of every count and denominator.
    pub scale: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Write every allowed form and inject invalid rows.
    pub messy: bool,
    /// Only these offices (all when empty).
    pub offices: Vec<String>,
    /// Only these kinds (both when empty).
    pub kinds: Vec<DeliveryKind>,
}

/// Rows of one code and status in one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCount {
    /// Scheme or benefit code.
    pub code: String,
    /// Status (participants only).
    pub status: Option<u8>,
    /// Valid rows written.
    pub rows: u64,
}

/// A deliberately invalid row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRow {
    /// Line (CSV) or row (XLSX) in the file.
    pub line: u64,
    /// Contract field that is broken (`row` for a wrong field count).
    pub field: String,
    /// Reject reason the loader must report.
    pub reason: String,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryManifest {
    /// Path relative to the output directory.
    pub file: String,
    /// `participants`, `beneficiaries` or `social_pensions`.
    pub kind: String,
    /// `YYYY-MM`.
    pub period: String,
    /// Office code.
    pub office: String,
    /// Valid rows.
    pub rows: u64,
    /// Valid rows by code and status.
    pub counts: Vec<CodeCount>,
    /// Invalid rows, in file order.
    pub invalid: Vec<InvalidRow>,
    /// Social-pension lists: valid rows paid outside the eligibility rules at the end of the
    /// month (the warehouse's `data_quality.outside_eligibility`).
    #[serde(default)]
    pub outside_eligibility: u64,
}

/// `manifest.json`: the ground truth of a generated landing area. Its presence also marks the
/// area as synthetic, which is what allows the public demo pseudonym key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `ansinh generate`.
    pub generator: String,
    /// Always true: the data is synthetic.
    pub synthetic: bool,
    /// Seed.
    pub seed: u64,
    /// Scale.
    pub scale: f64,
    /// Whether messy forms were written.
    pub messy: bool,
    /// Every delivery written.
    pub deliveries: Vec<DeliveryManifest>,
    /// Persons each indicator must count, per month, boundary and unit.
    #[serde(default)]
    pub numerators: Vec<Numerator>,
    /// The pension-receipt numerator by source (`from_offices`, `from_lists`), benefit group
    /// (`pension`, `monthly_allowance`, `article_23`, `social_pension`) and age band
    /// (`aged_70_74`, `aged_75_79`, `aged_80_plus`), per month, boundary and unit, both sexes:
    /// the `indicator` is the column of `pension_receipt_monthly`.
    #[serde(default)]
    pub pension_receipt: Vec<Numerator>,
}

/// The persons an indicator counts in one unit and month, on one boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numerator {
    /// `YYYY-MM`.
    pub period: String,
    /// `as_of_period` or `current`.
    pub boundary: String,
    /// Unit code.
    pub unit_code: String,
    /// `province`, `district` or `commune`.
    pub unit_level: String,
    /// Indicator, as in the marts.
    pub indicator: String,
    /// Distinct persons.
    pub persons: u64,
}

/// File name of the manifest in the output directory.
pub const MANIFEST: &str = "manifest.json";

impl Manifest {
    /// Reads the manifest of a generated landing area, if there is one.
    pub fn read(landing: &Path) -> Option<Manifest> {
        let text = std::fs::read_to_string(landing.join(MANIFEST)).ok()?;
        serde_json::from_str(&text)
            .ok()
            .filter(|m: &Manifest| m.synthetic)
    }
}

/// Generates deliveries for every month and office, the reference CSVs under
/// `out/reference/`, and `out/manifest.json`. `progress` is called after each file.
pub fn generate(
    options: &Options,
    progress: &mut dyn FnMut(&DeliveryManifest),
) -> Result<Manifest, Error> {
    if !(options.scale > 0.0 && options.scale <= 1000.0) {
        return Err(Error::Options(format!(
            "--scale must be in (0, 1000], got {}",
            options.scale
        )));
    }
    let first = YearMonth::new(model::FIRST_MONTH.0, model::FIRST_MONTH.1)
        .ok_or_else(|| Error::Options("bad first month".into()))?;
    if options.from < first || options.to < options.from || options.to.year() > 2040 {
        return Err(Error::Options(format!(
            "months must satisfy {first} <= --from <= --to <= 2040-12, got {} to {}",
            options.from, options.to
        )));
    }
    let mkdir = |dir: &Path| {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })
    };
    mkdir(&options.out)?;
    write_reference(&options.out.join("reference"), options.scale)?;
    let models = model::districts(options.scale);
    let mut manifest = Manifest {
        generator: "ansinh generate".into(),
        synthetic: true,
        seed: options.seed,
        scale: options.scale,
        messy: options.messy,
        deliveries: Vec::new(),
        numerators: Vec::new(),
        pension_receipt: Vec::new(),
    };
    let places = Places::new();
    let mut file_number = 0usize;
    for period in options.from.through(options.to) {
        mkdir(&options.out.join(period.to_string()))?;
        let mut tally = Tally::default();
        let offices = reference::offices_in((period.year(), period.month()));
        for (position, office) in offices.iter().enumerate() {
            if !options.offices.is_empty() && !options.offices.contains(&office.code) {
                continue;
            }
            for &kind in kinds_of(office) {
                if !options.kinds.is_empty() && !options.kinds.contains(&kind) {
                    continue;
                }
                let target = Target {
                    period,
                    position,
                    office,
                    kind,
                    file_number,
                };
                let delivery = write_delivery(options, &models, &target, &mut tally)?;
                file_number += 1;
                progress(&delivery);
                manifest.deliveries.push(delivery);
            }
        }
        manifest
            .numerators
            .extend(places.numerators(period, &tally.counts));
        manifest
            .pension_receipt
            .extend(places.numerators(period, &tally.pension));
    }
    let path = options.out.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Options(format!("manifest: {e}")))?;
    std::fs::write(&path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(manifest)
}

/// Writes the reference CSVs into `dir`.
pub fn write_reference(dir: &Path, scale: f64) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let files = [
        ("geography.csv", reference::geography_csv()),
        ("population.csv", reference::population_csv(scale)),
        ("labor_force.csv", reference::labor_force_csv(scale)),
        ("targets.csv", reference::targets_csv(scale)),
        ("offices.csv", reference::offices_csv()),
        ("office_areas.csv", reference::office_areas_csv()),
        ("commune_crosswalk.csv", reference::commune_crosswalk_csv()),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// The form each office uses in a messy landing area, by district index.
fn messy_style(index: usize) -> FileStyle {
    let mut style = FileStyle::default();
    match index {
        1 => {
            style.windows_1258 = true;
            style.delimiter = b';';
        }
        2 => style.xlsx_title_rows = Some(3),
        3 => style.gzip = true,
        4 => {
            style.nfd = true;
            style.bom = true;
            style.crlf = true;
        }
        6 => style.delimiter = b'\t',
        7 => style.quote_all = true,
        8 => style.bom = true,
        _ => {}
    }
    style
}

/// Header cells of `kind` for office `index` (messy offices use aliases and extra columns).
fn header(kind: DeliveryKind, index: Option<usize>) -> Vec<Cell> {
    let mut cells: Vec<String> = fields_of(kind)
        .iter()
        .map(|f| {
            let aliases = f.headers();
            match index {
                Some(5) => aliases[1].to_string(),
                Some(6) => aliases.get(2).unwrap_or(&aliases[1]).to_string(),
                Some(8) => aliases[0].to_uppercase(),
                _ => aliases[0].to_string(),
            }
        })
        .collect();
    if index == Some(7) {
        cells.insert(0, "STT".into());
        cells.push("Ghi chú".into());
    }
    cells.into_iter().map(Cell::Text).collect()
}

/// Cells of one row, keyed by field; missing fields are empty.
type Row = BTreeMap<Field, String>;

fn row_cells(
    kind: DeliveryKind,
    row: &Row,
    index: Option<usize>,
    number: u64,
    dates: bool,
) -> Vec<Cell> {
    let mut cells: Vec<Cell> = fields_of(kind)
        .iter()
        .map(|f| {
            let text = row.get(f).cloned().unwrap_or_default();
            if dates
                && *f == Field::BirthDate
                && text.len() == 10
                && let Ok(d) = chrono::NaiveDate::parse_from_str(&text, "%d/%m/%Y")
            {
                return Cell::Date(d);
            }
            Cell::Text(text)
        })
        .collect();
    if index == Some(7) {
        cells.insert(0, Cell::Text(number.to_string()));
        cells.push(Cell::Text(String::new()));
    }
    cells
}

/// `1.500.000` from 1500000.
fn dotted(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

struct RowContext<'a> {
    seed: u64,
    period: YearMonth,
    k: i64,
    index: usize,
    messy_words: bool,
    model: &'a DistrictModel,
}

impl RowContext<'_> {
    fn amount(&self, value: u64) -> String {
        if self.messy_words {
            dotted(value)
        } else {
            value.to_string()
        }
    }

    fn person_cells(&self, person: &model::Person, row: &mut Row) {
        let (pid, nid) = person.identifiers(self.period);
        row.insert(Field::PersonId, pid.unwrap_or("").to_string());
        row.insert(Field::NationalId, nid.unwrap_or("").to_string());
        row.insert(Field::FullName, person.name.clone());
        row.insert(Field::BirthDate, person.birth_text());
        let sex = match (person.sex, self.messy_words) {
            (ansinh_core::Sex::Male, false) => "1",
            (ansinh_core::Sex::Female, false) => "0",
            (ansinh_core::Sex::Male, true) => "Nam",
            (ansinh_core::Sex::Female, true) => "Nữ",
        };
        row.insert(Field::Sex, sex.into());
        // From July 2025 rows carry the new commune and no district.
        if (self.period.year(), self.period.month()) >= reference::MERGER {
            row.insert(Field::DistrictCode, String::new());
            row.insert(Field::CommuneCode, person.new_commune.clone());
        } else {
            row.insert(Field::DistrictCode, DISTRICTS[self.index].code.into());
            row.insert(Field::CommuneCode, person.commune.clone());
        }
    }

    /// Participant rows of one person.
    fn participant_rows(
        &self,
        pool: Pool,
        person: &model::Person,
        active: bool,
    ) -> Vec<(Row, Scheme, u8)> {
        let mut d = person.draws;
        let employer = format!("DN{:04}", d.below(900) + 1);
        let compulsory_base = 4_960_000 + 10_000 * d.below(2_000);
        let voluntary_base = 1_500_000 + 50_000 * d.below(60);
        let cycle = [1i64, 3, 6, 12][d.below(4) as usize];
        let age = self.period.year() - person.birth.year();
        let hi_group = match (pool, age) {
            (Pool::Compulsory, _) => "DN",
            (_, a) if a < 6 => "TE",
            (_, a) if a < 18 => "HS",
            (_, a) if a >= 60 && d.below(3) == 0 => "HT",
            _ => ["GD", "GD", "GD", "HN", "CN", "XB"][d.below(6) as usize],
        };
        model::schemes_of(pool, person)
            .into_iter()
            .map(|scheme| {
                let mut row = Row::new();
                self.person_cells(person, &mut row);
                row.insert(Field::Scheme, scheme.code().into());
                let status = match (active, pool) {
                    (true, _) => 1,
                    (false, Pool::Voluntary) => 2,
                    (false, _) => 3,
                };
                row.insert(Field::Status, status.to_string());
                match scheme {
                    Scheme::CompulsorySocial | Scheme::Unemployment => {
                        row.insert(Field::EmployerCode, employer.clone());
                        row.insert(Field::ContributionBase, self.amount(compulsory_base));
                    }
                    Scheme::VoluntarySocial => {
                        row.insert(Field::ContributionBase, self.amount(voluntary_base));
                        let ahead = if active {
                            cycle - 1 - self.k.rem_euclid(cycle)
                        } else {
                            -1 - self.k.rem_euclid(2)
                        };
                        let paid = self.period.add_months(ahead).unwrap_or(self.period);
                        row.insert(
                            Field::PaidThrough,
                            format!("{:02}/{}", paid.month(), paid.year()),
                        );
                    }
                    Scheme::Health => {
                        row.insert(Field::HiGroup, hi_group.into());
                    }
                }
                (row, scheme, status)
            })
            .collect()
    }

    /// The beneficiary row of one person.
    fn beneficiary_row(&self, slot: u64, person: &model::Person) -> (Row, String) {
        let mut d = person.draws;
        let enrolled = self.model.beneficiary.enrolment_month(slot);
        // The art. 23 allowance exists from July 2025: persons who enter the beneficiaries then,
        // in the share that would otherwise draw a survivor's benefit, receive it.
        let article_23_from =
            YearMonth::new(reference::MERGER.0, reference::MERGER.1).map_or(i64::MAX, month_index);
        // The social pension is paid by the communes, so it is on the authority's lists, never
        // in an office's extract.
        let benefit = match d.below(100) {
            0..=69 | 78..=94 => "HUU_TRI",
            70..=77 => "TRO_CAP_HANG_THANG",
            95..=97 if enrolled >= article_23_from => "TRO_CAP_DIEU_23",
            _ => "TUAT",
        };
        let amount = match benefit {
            "HUU_TRI" => 3_000_000 + 10_000 * d.below(900),
            "TRO_CAP_HANG_THANG" => 2_500_000,
            "TRO_CAP_DIEU_23" => 500_000,
            _ => 1_500_000,
        };
        let start = if enrolled == 0 {
            model_month(0).and_then(|m| m.add_months(-(d.below(120) as i64)))
        } else {
            model_month(enrolled)
        }
        .unwrap_or(self.period);
        let mut row = Row::new();
        self.person_cells(person, &mut row);
        row.insert(Field::BenefitType, benefit.into());
        row.insert(Field::MonthlyAmount, self.amount(amount));
        row.insert(
            Field::StartMonth,
            format!("{:02}/{}", start.month(), start.year()),
        );
        (row, benefit.to_string())
    }
}

impl RowContext<'_> {
    /// The social-pension list's row of one recipient: the personal ID (the lists carry no
    /// social-insurance code), the new commune, the household's poverty, and whether the row is
    /// within the eligibility rules at the end of the month.
    fn social_pension_row(&self, slot: u64, person: &model::Person) -> (Row, bool) {
        let mut d = person.draws;
        let age_months = age_in_months(person, self.period);
        let poor = if age_months < 75 * 12 {
            d.below(10) < 8
        } else {
            d.below(100) < 15
        };
        let eligible = age_months >= 75 * 12 || (age_months >= 70 * 12 && poor);
        let mut row = Row::new();
        self.person_cells(person, &mut row);
        row.insert(Field::PersonId, String::new());
        row.insert(Field::NationalId, person.national_id.clone());
        row.insert(Field::DistrictCode, String::new());
        row.insert(Field::CommuneCode, person.new_commune.clone());
        row.insert(Field::BenefitType, "HUU_TRI_XA_HOI".into());
        row.insert(Field::PoorHousehold, if poor { "1" } else { "0" }.into());
        row.insert(Field::MonthlyAmount, self.amount(500_000));
        let first = YearMonth::new(reference::MERGER.0, reference::MERGER.1);
        let enrolled = model_month(self.model.social_pension.enrolment_month(slot));
        let start = match (first, enrolled) {
            (Some(f), Some(e)) if e > f => e,
            (Some(f), _) => f,
            _ => self.period,
        };
        row.insert(
            Field::StartMonth,
            format!("{:02}/{}", start.month(), start.year()),
        );
        (row, eligible)
    }
}

/// Completed months of age at the end of `period`, as the warehouse reads the birth date (a
/// birth year alone is January).
fn age_in_months(person: &model::Person, period: YearMonth) -> i64 {
    let birth_month = match person.precision {
        model::BirthPrecision::Year => 1,
        _ => person.birth.month() as i64,
    };
    (i64::from(period.year()) * 12 + i64::from(period.month()))
        - (i64::from(person.birth.year()) * 12 + birth_month)
}

fn model_month(k: i64) -> Option<YearMonth> {
    YearMonth::new(model::FIRST_MONTH.0, model::FIRST_MONTH.1)?.add_months(k)
}

/// What the sample's social-security offices send.
pub const OFFICE_KINDS: [DeliveryKind; 2] =
    [DeliveryKind::Participants, DeliveryKind::Beneficiaries];

/// What `office` sends: the social-protection authority its social-pension lists, the
/// social-security offices [`OFFICE_KINDS`].
fn kinds_of(office: &SampleOffice) -> &'static [DeliveryKind] {
    if office.level == "authority" {
        &[DeliveryKind::SocialPensions]
    } else {
        &OFFICE_KINDS
    }
}

/// The ways to break a row, per kind, as (field, reason).
fn breakages(kind: DeliveryKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        DeliveryKind::Participants => &[
            ("person_id", "invalid_person_id"),
            ("national_id", "invalid_national_id"),
            ("person_id", "missing_identifier"),
            ("birth_date", "invalid_date"),
            ("birth_date", "future_date"),
            ("sex", "invalid_sex"),
            ("scheme", "unknown_scheme"),
            ("status", "invalid_status"),
            ("district_code", "unknown_district"),
            ("commune_code", "unknown_commune"),
            ("commune_code", "commune_not_in_district"),
            ("employer_code", "missing_value"),
            ("contribution_base", "invalid_amount"),
            ("paid_through", "invalid_month"),
            ("hi_group", "invalid_hi_group"),
            ("row", "wrong_field_count"),
        ],
        DeliveryKind::Beneficiaries => &[
            ("person_id", "invalid_person_id"),
            ("birth_date", "invalid_date"),
            ("sex", "invalid_sex"),
            ("benefit_type", "unknown_benefit"),
            ("monthly_amount", "invalid_amount"),
            ("monthly_amount", "missing_value"),
            ("start_month", "invalid_month"),
            ("start_month", "future_date"),
            ("commune_code", "unknown_commune"),
            ("row", "wrong_field_count"),
        ],
        DeliveryKind::SocialPensions => &[],
    }
}

/// A row broken in exactly one way: starts from a valid row of a person who appears nowhere
/// else.
fn broken_row(ctx: &RowContext<'_>, kind: DeliveryKind, counter: u64, reason: &str) -> Row {
    let person = model::person(ctx.seed, ctx.index, Pool::Invalid, counter, None);
    let scheme = match reason {
        "missing_value" | "invalid_amount" => Scheme::CompulsorySocial,
        "invalid_month" => Scheme::VoluntarySocial,
        "invalid_hi_group" => Scheme::Health,
        _ => Scheme::CompulsorySocial,
    };
    let pool = match scheme {
        Scheme::VoluntarySocial => Pool::Voluntary,
        Scheme::Health => Pool::HealthOnly,
        _ => Pool::Compulsory,
    };
    let mut row = match kind {
        DeliveryKind::Participants => ctx
            .participant_rows(pool, &person, true)
            .into_iter()
            .find(|(_, s, _)| *s == scheme)
            .map(|(r, ..)| r)
            .unwrap_or_default(),
        DeliveryKind::Beneficiaries | DeliveryKind::SocialPensions => {
            ctx.beneficiary_row(0, &person).0
        }
    };
    // A valid identifier pair, then one break.
    row.insert(Field::PersonId, person.person_id.clone());
    let other_commune = reference::commune_codes((ctx.index + 1) % DISTRICTS.len())[0].clone();
    let next_month = ctx.period.add_months(1).unwrap_or(ctx.period);
    match reason {
        "invalid_person_id" => {
            row.insert(Field::PersonId, person.person_id[..9].to_string());
        }
        "invalid_national_id" => {
            row.insert(Field::NationalId, format!("{}A", &person.national_id[..11]));
        }
        "missing_identifier" => {
            row.insert(Field::PersonId, String::new());
            row.insert(Field::NationalId, String::new());
        }
        "invalid_date" => {
            row.insert(Field::BirthDate, "31/02/1980".into());
        }
        "future_date" if kind == DeliveryKind::Participants => {
            row.insert(Field::BirthDate, "01/01/2099".into());
        }
        "future_date" => {
            row.insert(
                Field::StartMonth,
                format!("{:02}/{}", next_month.month(), next_month.year()),
            );
        }
        "invalid_sex" => {
            row.insert(Field::Sex, "X".into());
        }
        "unknown_scheme" => {
            row.insert(Field::Scheme, "BHXH".into());
        }
        "invalid_status" => {
            row.insert(Field::Status, "9".into());
        }
        "unknown_district" => {
            row.insert(Field::DistrictCode, "999".into());
        }
        "unknown_commune" => {
            row.insert(Field::CommuneCode, "99999".into());
        }
        "commune_not_in_district" => {
            row.insert(Field::CommuneCode, other_commune);
        }
        "missing_value" if kind == DeliveryKind::Participants => {
            row.insert(Field::EmployerCode, String::new());
        }
        "missing_value" => {
            row.insert(Field::MonthlyAmount, String::new());
        }
        "invalid_amount" if kind == DeliveryKind::Participants => {
            row.insert(Field::ContributionBase, "1.50.000".into());
        }
        "invalid_amount" => {
            row.insert(Field::MonthlyAmount, "abc".into());
        }
        "invalid_month" if kind == DeliveryKind::Participants => {
            row.insert(Field::PaidThrough, "13/2024".into());
        }
        "invalid_month" => {
            row.insert(Field::StartMonth, "2015-01".into());
        }
        "invalid_hi_group" => {
            row.insert(Field::HiGroup, "D1".into());
        }
        "unknown_benefit" => {
            row.insert(Field::BenefitType, "X1".into());
        }
        _ => {}
    }
    row
}

/// One delivery to write.
struct Target<'a> {
    period: YearMonth,
    /// Position of the office among the month's offices (it picks the messy form).
    position: usize,
    office: &'a SampleOffice,
    kind: DeliveryKind,
    file_number: usize,
}

/// Persons counted by each indicator in one month, by the commune of the counted record.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<(&'static str, String), u64>,
    /// The pension-receipt numerator by source, benefit group and age band, under the names
    /// of `pension_receipt_monthly`'s columns.
    pension: BTreeMap<(&'static str, String), u64>,
}

impl Tally {
    /// A person counted toward pension receipt (each is in one source and group: the
    /// sample's lists and offices pay different persons).
    fn pension_receipt(&mut self, kind: DeliveryKind, code: &str, age_months: i64, commune: &str) {
        let source = match kind {
            DeliveryKind::SocialPensions => "from_lists",
            _ => "from_offices",
        };
        let group = match code {
            "HUU_TRI" => "pension",
            "TRO_CAP_HANG_THANG" => "monthly_allowance",
            "TRO_CAP_DIEU_23" => "article_23",
            _ => "social_pension",
        };
        let band = match age_months / 12 {
            ..70 => None,
            70..75 => Some("aged_70_74"),
            75..80 => Some("aged_75_79"),
            _ => Some("aged_80_plus"),
        };
        for column in [Some(source), Some(group), band].into_iter().flatten() {
            *self
                .pension
                .entry((column, commune.to_string()))
                .or_default() += 1;
        }
    }

    fn add(&mut self, indicator: &'static str, commune: &str) {
        *self
            .counts
            .entry((indicator, commune.to_string()))
            .or_default() += 1;
    }

    /// An active participant row. Pools are disjoint, so each person has one row per scheme
    /// and SI coverage counts the compulsory and the voluntary rows.
    fn participant(&mut self, scheme: &str, commune: &str) {
        let indicators: &[&'static str] = match scheme {
            "BHXH_BB" => &["si_compulsory_coverage", "si_coverage"],
            "BHXH_TN" => &["si_voluntary_coverage", "si_coverage"],
            "BHYT" => &["hi_coverage"],
            "BHTN" => &["ui_coverage"],
            _ => &[],
        };
        for indicator in indicators {
            self.add(indicator, commune);
        }
    }
}

/// Where the communes of the sample are counted.
struct Places {
    /// Old commune → its district.
    district_of: BTreeMap<String, usize>,
    /// Old commune → the new commune with the largest share.
    successor: BTreeMap<String, String>,
}

impl Places {
    fn new() -> Self {
        let mut district_of = BTreeMap::new();
        let mut successor = BTreeMap::new();
        for i in 0..DISTRICTS.len() {
            for (j, code) in reference::commune_codes(i).into_iter().enumerate() {
                let first = reference::successors(i, j as u32).remove(0).0;
                successor.insert(code.clone(), first);
                district_of.insert(code, i);
            }
        }
        Self {
            district_of,
            successor,
        }
    }

    /// The month's numerators on both boundaries, rolled up from the communes.
    fn numerators(
        &self,
        period: YearMonth,
        counts: &BTreeMap<(&'static str, String), u64>,
    ) -> Vec<Numerator> {
        let merged = (period.year(), period.month()) >= reference::MERGER;
        let mut out: BTreeMap<(&str, String, &str, &str), u64> = BTreeMap::new();
        for ((indicator, commune), &persons) in counts {
            let mut add = |boundary: &'static str, unit: &str, level: &'static str| {
                *out.entry((boundary, unit.to_string(), level, indicator))
                    .or_default() += persons;
            };
            add("as_of_period", commune, "commune");
            if merged {
                add("as_of_period", reference::PROVINCE_CODE, "province");
                add("current", commune, "commune");
            } else {
                let district = &DISTRICTS[self.district_of[commune]];
                add("as_of_period", district.code, "district");
                add("as_of_period", district.province, "province");
                add("current", &self.successor[commune], "commune");
            }
            add("current", reference::PROVINCE_CODE, "province");
        }
        out.into_iter()
            .map(
                |((boundary, unit_code, unit_level, indicator), persons)| Numerator {
                    period: period.to_string(),
                    boundary: boundary.into(),
                    unit_code,
                    unit_level: unit_level.into(),
                    indicator: indicator.into(),
                    persons,
                },
            )
            .collect()
    }
}

/// Whether the pension-receipt indicator counts `person`'s `benefit` in `period`: a counted
/// benefit, at or past the retirement age, with the age as the warehouse reads the birth date
/// (a birth year alone is January).
fn counts_for_pension_receipt(person: &model::Person, benefit: &str, period: YearMonth) -> bool {
    if !matches!(
        benefit,
        "HUU_TRI" | "TRO_CAP_HANG_THANG" | "TRO_CAP_DIEU_23" | "HUU_TRI_XA_HOI"
    ) {
        return false;
    }
    let age_months = age_in_months(person, period);
    let retirement = ansinh_core::retirement_age(person.sex, period.year());
    age_months >= i64::from(retirement.years * 12 + retirement.months)
}

/// Rows of one pool of one district; `moved_to` keeps only the persons who moved into that
/// district.
struct Source<'a> {
    district: usize,
    pool: Pool,
    path: &'a model::PoolPath,
    /// Months a lapsed slot is still listed (stopped or suspended).
    grace: i64,
    moved_to: Option<usize>,
}

fn write_delivery(
    options: &Options,
    models: &[DistrictModel],
    target: &Target<'_>,
    tally: &mut Tally,
) -> Result<DeliveryManifest, Error> {
    let Target {
        period,
        position,
        office,
        kind,
        file_number,
    } = *target;
    let style = if options.messy {
        messy_style(position)
    } else {
        FileStyle::default()
    };
    let relative = format!(
        "{period}/{}_{period}_{kind}.{}",
        office.code,
        style.extension()
    );
    let path = options.out.join(&relative);
    let title = match kind {
        DeliveryKind::Participants => "DANH SÁCH NGƯỜI THAM GIA BHXH, BHYT, BHTN",
        DeliveryKind::Beneficiaries => "DANH SÁCH NGƯỜI HƯỞNG LƯƠNG HƯU, TRỢ CẤP BHXH HẰNG THÁNG",
        DeliveryKind::SocialPensions => "DANH SÁCH CHI TRẢ TRỢ CẤP HƯU TRÍ XÃ HỘI",
    };
    let mut out = DeliveryWriter::create(&path, &style, title)?;
    let messy_index = options.messy.then_some(position);
    out.row(&header(kind, messy_index))?;
    let dates = style.xlsx_title_rows.is_some();
    let k = month_index(period);
    let ym = (period.year(), period.month());
    let merged = ym >= reference::MERGER;
    let moving = (2025, 6);

    let mut sources = Vec::new();
    for &i in &office.districts {
        let m = &models[i];
        let source = |pool, path, grace, moved_to| Source {
            district: i,
            pool,
            path,
            grace,
            moved_to,
        };
        match kind {
            DeliveryKind::Participants => {
                sources.push(source(Pool::Compulsory, &m.compulsory, 2, None));
                sources.push(source(Pool::Voluntary, &m.voluntary, 3, None));
                sources.push(source(Pool::HealthOnly, &m.health_only, 1, None));
            }
            DeliveryKind::Beneficiaries => {
                sources.push(source(Pool::Beneficiary, &m.beneficiary, 0, None));
            }
            DeliveryKind::SocialPensions => {
                sources.push(source(Pool::SocialPension, &m.social_pension, 0, None));
            }
        }
        // Persons who moved here from Ninh Thuan.
        if kind == DeliveryKind::Participants && ym >= moving && i < reference::KHANH_HOA_DISTRICTS
        {
            for from in &models[reference::KHANH_HOA_DISTRICTS..] {
                sources.push(Source {
                    district: from.index,
                    pool: Pool::HealthOnly,
                    path: &from.health_only,
                    grace: 1,
                    moved_to: Some(i),
                });
            }
        }
    }
    let slots: u64 = sources
        .iter()
        .filter(|s| s.moved_to.is_none())
        .map(|s| {
            s.path
                .enrolled(k)
                .saturating_sub(s.path.lapsed((k - s.grace).max(0)))
        })
        .sum();
    let kinds: Vec<(&str, &str)> = breakages(kind)
        .iter()
        .copied()
        .filter(|(_, reason)| !(dates && *reason == "wrong_field_count"))
        .filter(|(_, reason)| {
            !(merged && matches!(*reason, "unknown_district" | "commune_not_in_district"))
        })
        .collect();
    let to_inject = if options.messy {
        (slots / 200).min(kinds.len() as u64)
    } else {
        0
    };
    let interval = slots / (to_inject + 1);

    let mut counts: BTreeMap<(String, Option<u8>), u64> = BTreeMap::new();
    let mut outside_eligibility = 0u64;
    let mut invalid = Vec::new();
    let mut written = 0u64;
    let mut valid = 0u64;
    let before = style.lines_before_data();
    let emit = |row: &Row, out: &mut DeliveryWriter, written: &mut u64| -> Result<(), Error> {
        *written += 1;
        out.row(&row_cells(kind, row, messy_index, *written, dates))
    };
    for source in &sources {
        let ctx = RowContext {
            seed: options.seed,
            period,
            k,
            index: source.moved_to.unwrap_or(source.district),
            messy_words: options.messy && position == 0,
            model: &models[source.district],
        };
        let path_model = source.path;
        let first = path_model.lapsed((k - source.grace).max(0));
        let active_from = path_model.lapsed(k);
        for slot in first..path_model.enrolled(k) {
            let mover = model::mover_target(source.district, source.pool, slot);
            match (source.moved_to, mover) {
                (Some(to), Some(target)) if to == target => {}
                (Some(_), _) => continue,
                // From July the mover is only on Khanh Hoa's lists.
                (None, Some(_)) if merged => continue,
                _ => {}
            }
            // In June both provinces list a mover; the warehouse keeps the record of the
            // lowest office code, Khanh Hoa's.
            let counted = !(source.moved_to.is_none() && mover.is_some() && ym >= moving);
            let enrolled =
                (source.pool == Pool::HealthOnly).then(|| path_model.enrolment_month(slot));
            let mut person =
                model::person(options.seed, source.district, source.pool, slot, enrolled);
            if let Some(to) = source.moved_to {
                person = model::moved(person, to);
            }
            let rows: Vec<(Row, String, Option<u8>)> = match kind {
                DeliveryKind::Participants => ctx
                    .participant_rows(source.pool, &person, slot >= active_from)
                    .into_iter()
                    .map(|(r, s, st)| (r, s.code().to_string(), Some(st)))
                    .collect(),
                DeliveryKind::Beneficiaries => {
                    let (r, b) = ctx.beneficiary_row(slot, &person);
                    vec![(r, b, None)]
                }
                DeliveryKind::SocialPensions => {
                    let (r, eligible) = ctx.social_pension_row(slot, &person);
                    outside_eligibility += u64::from(!eligible);
                    vec![(r, "HUU_TRI_XA_HOI".to_string(), None)]
                }
            };
            for (row, code, status) in rows {
                emit(&row, &mut out, &mut written)?;
                if counted {
                    let commune = row.get(&Field::CommuneCode).map_or("", String::as_str);
                    match status {
                        Some(1) => tally.participant(&code, commune),
                        None if counts_for_pension_receipt(&person, &code, period) => {
                            tally.add("pension_receipt_rate", commune);
                            tally.pension_receipt(
                                kind,
                                &code,
                                age_in_months(&person, period),
                                commune,
                            );
                        }
                        _ => {}
                    }
                }
                *counts.entry((code, status)).or_default() += 1;
                valid += 1;
                if (invalid.len() as u64) < to_inject
                    && interval > 0
                    && valid.is_multiple_of(interval)
                {
                    let (field, reason) = kinds[(file_number * 3 + invalid.len()) % kinds.len()];
                    let broken = broken_row(
                        &ctx,
                        kind,
                        invalid.len() as u64 + 1000 * file_number as u64,
                        reason,
                    );
                    let mut cells = row_cells(kind, &broken, messy_index, written + 1, dates);
                    if reason == "wrong_field_count" {
                        cells.pop();
                    }
                    written += 1;
                    out.row(&cells)?;
                    invalid.push(InvalidRow {
                        line: before + written,
                        field: field.into(),
                        reason: reason.into(),
                    });
                }
            }
        }
    }
    out.finish()?;
    Ok(DeliveryManifest {
        file: relative,
        kind: kind.to_string(),
        period: period.to_string(),
        office: office.code.clone(),
        rows: valid,
        counts: counts
            .into_iter()
            .map(|((code, status), rows)| CodeCount { code, status, rows })
            .collect(),
        invalid,
        outside_eligibility,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_amounts() {
        assert_eq!(dotted(1_500_000), "1.500.000");
        assert_eq!(dotted(360_000), "360.000");
        assert_eq!(dotted(12), "12");
    }

    #[test]
    fn calibration_month_hits_the_article_figures() {
        let all = model::districts(1.0);
        let models = &all[..reference::KHANH_HOA_DISTRICTS];
        let k = month_index(YearMonth::new(2024, 1).unwrap());
        let bb: u64 = models.iter().map(|m| m.compulsory.active(k)).sum();
        let tn: u64 = models.iter().map(|m| m.voluntary.active(k)).sum();
        let hi: u64 = models
            .iter()
            .map(|m| m.health_only.active(k) + m.compulsory.active(k))
            .sum();
        assert_eq!((bb, tn, hi), (182_809, 15_183, 1_202_980));
        // Paths move month to month and enrolment never runs backwards.
        for m in &all {
            for k in 1..(12 * 20) {
                assert!(m.voluntary.enrolled(k) >= m.voluntary.enrolled(k - 1));
                assert!(m.health_only.enrolled(k) >= m.health_only.enrolled(k - 1));
                assert!(m.voluntary.lapsed(k) <= m.voluntary.enrolled(k - 1));
            }
        }
    }
}

//! Maps a file's columns to the contract, validates every row, pseudonymises identifiers and
//! builds Arrow record batches of the canonical schema. Every row read is either in a batch
//! or a [`Reject`]: `rows_read = rows_loaded + rejects.len()`.

use std::collections::HashMap;
use std::sync::Arc;

use ansinh_core::{BenefitType, Delivery, DeliveryKind, Scheme, Sex, Status, YearMonth, schema};
use arrow::array::{
    ArrayRef, Date32Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};
use crate::fields::{Field, field_for_header, required_columns};
use crate::geography::{Geography, UnitLevel};
use crate::pseudonym::{IdentityLink, Pseudonymiser};
use crate::reader::RowReader;

/// First month in which extracts no longer need a district code (districts were abolished on
/// 1 July 2025).
const DISTRICTS_ABOLISHED: (i32, u32) = (2025, 7);

/// Why a row was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The row has a different number of fields than the header.
    WrongFieldCount,
    /// Neither identifier is present.
    MissingIdentifier,
    /// The social-insurance code is not 10 digits.
    InvalidPersonId,
    /// The personal identification number is not 12 digits.
    InvalidNationalId,
    /// A value required for this row is empty.
    MissingValue,
    /// Not a date in an accepted format.
    InvalidDate,
    /// A date after the delivery's month.
    FutureDate,
    /// Not a month `mm/yyyy`.
    InvalidMonth,
    /// Sex is not `1`/`Nam`/`0`/`Nữ`.
    InvalidSex,
    /// Not one of the scheme codes.
    UnknownScheme,
    /// Status is not 1, 2 or 3.
    InvalidStatus,
    /// Not a benefit code.
    UnknownBenefit,
    /// No such district in the geography for the month.
    UnknownDistrict,
    /// No such commune in the geography for the month.
    UnknownCommune,
    /// The commune lies in another district than the row's district.
    CommuneNotInDistrict,
    /// Not a whole, positive VND amount.
    InvalidAmount,
    /// Health-insurance group is not two capital letters.
    InvalidHiGroup,
    /// A cell holds bytes that are not text in the file's encoding.
    InvalidText,
}

impl RejectReason {
    /// The machine-readable reason stored in `rejects`.
    pub fn code(self) -> &'static str {
        match self {
            Self::WrongFieldCount => "wrong_field_count",
            Self::MissingIdentifier => "missing_identifier",
            Self::InvalidPersonId => "invalid_person_id",
            Self::InvalidNationalId => "invalid_national_id",
            Self::MissingValue => "missing_value",
            Self::InvalidDate => "invalid_date",
            Self::FutureDate => "future_date",
            Self::InvalidMonth => "invalid_month",
            Self::InvalidSex => "invalid_sex",
            Self::UnknownScheme => "unknown_scheme",
            Self::InvalidStatus => "invalid_status",
            Self::UnknownBenefit => "unknown_benefit",
            Self::UnknownDistrict => "unknown_district",
            Self::UnknownCommune => "unknown_commune",
            Self::CommuneNotInDistrict => "commune_not_in_district",
            Self::InvalidAmount => "invalid_amount",
            Self::InvalidHiGroup => "invalid_hi_group",
            Self::InvalidText => "invalid_text",
        }
    }
}

/// A quarantined row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Line (CSV) or row number (XLSX) in the file.
    pub line: u64,
    /// The contract field at fault (`row` for the whole row).
    pub field: &'static str,
    /// Why.
    pub reason: RejectReason,
    /// The offending value; identifiers and anything that could be one are masked.
    pub value: Option<String>,
}

/// What reading one file produced besides the batches.
#[derive(Debug, Clone, Default)]
pub struct ExtractSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows emitted in batches.
    pub rows_loaded: u64,
    /// Rows quarantined, in file order.
    pub rejects: Vec<Reject>,
    /// Header cells the contract does not know.
    pub extra_columns: Vec<String>,
    /// Form, encoding and delimiter found.
    pub description: String,
    /// Identity links first seen in this file.
    pub new_links: Vec<IdentityLink>,
}

impl ExtractSummary {
    /// Share of rows rejected (0 for an empty file).
    pub fn reject_ratio(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rejects.len() as f64 / self.rows_read as f64
        }
    }
}

/// Validates and converts the rows of one delivery.
pub struct Extractor<'a> {
    kind: DeliveryKind,
    period: YearMonth,
    office: String,
    geography: &'a Geography,
    pseudonymiser: &'a mut Pseudonymiser,
    batch_rows: usize,
}

/// A row rejected at `field` for `reason`, with the raw value to show (masked as needed).
type Failure<'v> = (Field, RejectReason, &'v str);

impl<'a> Extractor<'a> {
    /// An extractor for `delivery`.
    pub fn new(
        delivery: &Delivery,
        geography: &'a Geography,
        pseudonymiser: &'a mut Pseudonymiser,
        batch_rows: usize,
    ) -> Self {
        Self {
            kind: delivery.kind,
            period: delivery.period,
            office: delivery.office.clone(),
            geography,
            pseudonymiser,
            batch_rows: batch_rows.max(1),
        }
    }

    /// Reads every row of `rows`, sending full batches to `sink`.
    pub fn run(
        mut self,
        file: &str,
        rows: &mut dyn RowReader,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<ExtractSummary> {
        let header: Vec<String> = rows.header().to_vec();
        let mut columns: HashMap<Field, usize> = HashMap::new();
        let mut extra_columns = Vec::new();
        for (i, cell) in header.iter().enumerate() {
            match field_for_header(self.kind, cell) {
                Some(field) => {
                    columns.entry(field).or_insert(i);
                }
                None if cell.trim().is_empty() => {}
                None => extra_columns.push(cell.trim().to_string()),
            }
        }
        let district_required = (self.period.year(), self.period.month()) < DISTRICTS_ABOLISHED;
        let mut required = required_columns(self.kind, district_required);
        if !columns.contains_key(&Field::PersonId) && !columns.contains_key(&Field::NationalId) {
            required.insert(0, Field::PersonId);
        }
        if let Some(field) = required.into_iter().find(|f| !columns.contains_key(f)) {
            return Err(Error::MissingColumn {
                file: file.to_string(),
                field: field.name(),
                accepted: field.headers().join(", "),
            });
        }

        let mut summary = ExtractSummary {
            extra_columns,
            description: rows.description(),
            ..Default::default()
        };
        let mut batch = BatchBuilder::new(self.kind, self.period, &self.office, self.batch_rows);
        let width = header.len();
        rows.for_each_row(&mut |line, cells| {
            summary.rows_read += 1;
            if cells.len() != width {
                let shown = format!("{} fields, expected {width}", cells.len());
                summary.rejects.push(Reject {
                    line,
                    field: "row",
                    reason: RejectReason::WrongFieldCount,
                    value: Some(shown),
                });
                return Ok(());
            }
            // A cell that did not decode would otherwise be stored changed.
            if let Some(bad) = cells.iter().position(|c| c.contains('\u{FFFD}')) {
                let field = columns
                    .iter()
                    .find(|(_, i)| **i == bad)
                    .map(|(f, _)| f.name())
                    .unwrap_or("row");
                summary.rejects.push(Reject {
                    line,
                    field,
                    reason: RejectReason::InvalidText,
                    value: None,
                });
                return Ok(());
            }
            let cell = |f: Field| columns.get(&f).map(|&i| cells[i].trim()).unwrap_or("");
            let outcome = match self.kind {
                DeliveryKind::Participants => self.participant(&cell, line, &mut batch),
                DeliveryKind::Beneficiaries => self.beneficiary(&cell, line, &mut batch),
            };
            match outcome {
                Ok(()) => {
                    summary.rows_loaded += 1;
                    if batch.len() >= self.batch_rows {
                        sink(batch.finish()?)?;
                    }
                }
                Err((field, reason, raw)) => {
                    let value = self.shown_value(field, raw);
                    summary.rejects.push(Reject {
                        line,
                        field: field.name(),
                        reason,
                        value,
                    });
                }
            }
            Ok(())
        })?;
        if batch.len() > 0 {
            sink(batch.finish()?)?;
        }
        summary.new_links = self.pseudonymiser.take_new_links();
        Ok(summary)
    }

    /// A rejected value as stored: identifiers, and anything that could be one or a name,
    /// only as a keyed fingerprint.
    fn shown_value(&self, field: Field, raw: &str) -> Option<String> {
        if raw.is_empty() {
            return None;
        }
        let risky = matches!(field, Field::PersonId | Field::NationalId | Field::FullName)
            || raw.chars().any(char::is_whitespace)
            || raw.chars().count() > 24
            || longest_digit_run(raw) >= 9;
        Some(if risky {
            self.pseudonymiser.mask(raw)
        } else {
            raw.to_string()
        })
    }

    fn person<'v>(&mut self, cell: &dyn Fn(Field) -> &'v str) -> Result<Person, Failure<'v>> {
        let person_id = cell(Field::PersonId);
        let national_id = cell(Field::NationalId);
        if person_id.is_empty() && national_id.is_empty() {
            return Err((Field::PersonId, RejectReason::MissingIdentifier, ""));
        }
        if !person_id.is_empty() && !is_digits(person_id, 10) {
            return Err((Field::PersonId, RejectReason::InvalidPersonId, person_id));
        }
        if !national_id.is_empty() && !is_digits(national_id, 12) {
            return Err((
                Field::NationalId,
                RejectReason::InvalidNationalId,
                national_id,
            ));
        }
        let birth = cell(Field::BirthDate);
        if birth.is_empty() {
            return Err((Field::BirthDate, RejectReason::MissingValue, birth));
        }
        let (birth_month, precision) =
            parse_birth_date(birth).ok_or((Field::BirthDate, RejectReason::InvalidDate, birth))?;
        if birth_month.year() < 1900 {
            return Err((Field::BirthDate, RejectReason::InvalidDate, birth));
        }
        if birth_month > self.period.first_day() {
            return Err((Field::BirthDate, RejectReason::FutureDate, birth));
        }
        let sex_text = cell(Field::Sex);
        let sex = parse_sex(sex_text).ok_or_else(|| {
            let reason = if sex_text.is_empty() {
                RejectReason::MissingValue
            } else {
                RejectReason::InvalidSex
            };
            (Field::Sex, reason, sex_text)
        })?;
        let person_id_key =
            (!person_id.is_empty()).then(|| self.pseudonymiser.person_id_key(person_id));
        let national_id_key =
            (!national_id.is_empty()).then(|| self.pseudonymiser.national_id_key(national_id));
        Ok(Person {
            person_id_key,
            national_id_key,
            birth_month,
            precision,
            sex,
        })
    }

    fn place<'v>(&self, cell: &dyn Fn(Field) -> &'v str) -> Result<(), Failure<'v>> {
        let district = cell(Field::DistrictCode);
        let commune = cell(Field::CommuneCode);
        if district.is_empty() {
            if (self.period.year(), self.period.month()) < DISTRICTS_ABOLISHED {
                return Err((Field::DistrictCode, RejectReason::MissingValue, district));
            }
        } else if !is_digits(district, 3)
            || self
                .geography
                .unit(district, UnitLevel::District, self.period)
                .is_none()
        {
            return Err((Field::DistrictCode, RejectReason::UnknownDistrict, district));
        }
        if commune.is_empty() {
            return Err((Field::CommuneCode, RejectReason::MissingValue, commune));
        }
        let unit = self
            .geography
            .unit(commune, UnitLevel::Commune, self.period)
            .filter(|_| is_digits(commune, 5))
            .ok_or((Field::CommuneCode, RejectReason::UnknownCommune, commune))?;
        if !district.is_empty() && unit.parent_code.as_deref() != Some(district) {
            return Err((
                Field::CommuneCode,
                RejectReason::CommuneNotInDistrict,
                commune,
            ));
        }
        Ok(())
    }

    fn participant<'v>(
        &mut self,
        cell: &dyn Fn(Field) -> &'v str,
        line: u64,
        batch: &mut BatchBuilder,
    ) -> Result<(), Failure<'v>> {
        let person = self.person(cell)?;
        let scheme_text = cell(Field::Scheme);
        let scheme = Scheme::from_code(&scheme_text.to_ascii_uppercase()).ok_or_else(|| {
            let reason = if scheme_text.is_empty() {
                RejectReason::MissingValue
            } else {
                RejectReason::UnknownScheme
            };
            (Field::Scheme, reason, scheme_text)
        })?;
        let status_text = cell(Field::Status);
        let status = Status::from_code(status_text).ok_or((
            Field::Status,
            RejectReason::InvalidStatus,
            status_text,
        ))?;
        self.place(cell)?;

        let needs_employer = matches!(scheme, Scheme::CompulsorySocial | Scheme::Unemployment);
        let employer = cell(Field::EmployerCode);
        if needs_employer && employer.is_empty() {
            return Err((Field::EmployerCode, RejectReason::MissingValue, employer));
        }
        let base_text = cell(Field::ContributionBase);
        let contribution_base = optional(base_text, scheme != Scheme::Health, parse_amount)
            .map_err(|reason| {
                (
                    Field::ContributionBase,
                    reason.or(RejectReason::InvalidAmount),
                    base_text,
                )
            })?;
        let paid_text = cell(Field::PaidThrough);
        let paid_through = optional(paid_text, scheme == Scheme::VoluntarySocial, |t| {
            parse_month(t)
        })
        .map_err(|reason| {
            (
                Field::PaidThrough,
                reason.or(RejectReason::InvalidMonth),
                paid_text,
            )
        })?;
        let group_text = cell(Field::HiGroup);
        let hi_group = optional(group_text, scheme == Scheme::Health, |t| {
            (t.len() == 2 && t.bytes().all(|b| b.is_ascii_uppercase())).then(|| t.to_string())
        })
        .map_err(|reason| {
            (
                Field::HiGroup,
                reason.or(RejectReason::InvalidHiGroup),
                group_text,
            )
        })?;

        let resolved = self.pseudonymiser.resolve(
            person.person_id_key.as_deref(),
            person.national_id_key.as_deref(),
        );
        batch.push_person(
            &resolved,
            &person,
            cell(Field::DistrictCode),
            cell(Field::CommuneCode),
        );
        batch.participant(ParticipantFields {
            scheme,
            status,
            employer: (!employer.is_empty()).then(|| crate::nfc(employer).into_owned()),
            contribution_base,
            paid_through,
            hi_group,
            line,
        });
        Ok(())
    }

    fn beneficiary<'v>(
        &mut self,
        cell: &dyn Fn(Field) -> &'v str,
        line: u64,
        batch: &mut BatchBuilder,
    ) -> Result<(), Failure<'v>> {
        let person = self.person(cell)?;
        let benefit_text = cell(Field::BenefitType);
        let benefit =
            BenefitType::from_code(&benefit_text.to_ascii_uppercase()).ok_or_else(|| {
                let reason = if benefit_text.is_empty() {
                    RejectReason::MissingValue
                } else {
                    RejectReason::UnknownBenefit
                };
                (Field::BenefitType, reason, benefit_text)
            })?;
        let amount_text = cell(Field::MonthlyAmount);
        let amount = optional(amount_text, true, parse_amount)
            .map_err(|r| {
                (
                    Field::MonthlyAmount,
                    r.or(RejectReason::InvalidAmount),
                    amount_text,
                )
            })?
            .unwrap_or_default();
        let start_text = cell(Field::StartMonth);
        let start = optional(start_text, true, parse_month)
            .map_err(|r| {
                (
                    Field::StartMonth,
                    r.or(RejectReason::InvalidMonth),
                    start_text,
                )
            })?
            .unwrap_or_default();
        if start > self.period.first_day() {
            return Err((Field::StartMonth, RejectReason::FutureDate, start_text));
        }
        self.place(cell)?;
        let resolved = self.pseudonymiser.resolve(
            person.person_id_key.as_deref(),
            person.national_id_key.as_deref(),
        );
        batch.push_person(
            &resolved,
            &person,
            cell(Field::DistrictCode),
            cell(Field::CommuneCode),
        );
        batch.beneficiary(benefit.code(), amount, start, line);
        Ok(())
    }
}

/// Why an optional field failed: missing though required, or present but invalid.
#[derive(Debug, Clone, Copy)]
struct OptionalFailure(Option<RejectReason>);

impl OptionalFailure {
    fn or(self, invalid: RejectReason) -> RejectReason {
        self.0.unwrap_or(invalid)
    }
}

/// Parses `text` when present; an empty value is an error only when `required`.
fn optional<T>(
    text: &str,
    required: bool,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, OptionalFailure> {
    if text.is_empty() {
        return if required {
            Err(OptionalFailure(Some(RejectReason::MissingValue)))
        } else {
            Ok(None)
        };
    }
    parse(text).map(Some).ok_or(OptionalFailure(None))
}

struct Person {
    person_id_key: Option<String>,
    national_id_key: Option<String>,
    birth_month: NaiveDate,
    precision: &'static str,
    sex: Sex,
}

struct ParticipantFields {
    scheme: Scheme,
    status: Status,
    employer: Option<String>,
    contribution_base: Option<i64>,
    paid_through: Option<NaiveDate>,
    hi_group: Option<String>,
    line: u64,
}

fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

fn longest_digit_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for b in text.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// `dd/mm/yyyy`, `mm/yyyy` or `yyyy` → (first day of the birth month, precision). A birth
/// year alone means 1 January; month and year the 1st of the month.
pub(crate) fn parse_birth_date(text: &str) -> Option<(NaiveDate, &'static str)> {
    let parts: Vec<&str> = text.split('/').collect();
    let number = |s: &str, max_len: usize| -> Option<u32> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = |s: &str| -> Option<i32> {
        (s.len() == 4)
            .then(|| number(s, 4))
            .flatten()
            .map(|y| y as i32)
    };
    match parts.as_slice() {
        [d, m, y] => {
            let date = NaiveDate::from_ymd_opt(year(y)?, number(m, 2)?, number(d, 2)?)?;
            Some((date.with_day(1)?, "day"))
        }
        [m, y] => Some((
            NaiveDate::from_ymd_opt(year(y)?, number(m, 2)?, 1)?,
            "month",
        )),
        [y] => Some((NaiveDate::from_ymd_opt(year(y)?, 1, 1)?, "year")),
        _ => None,
    }
}

/// `mm/yyyy` → first day of the month. `01/mm/yyyy` is accepted too: workbooks store a month
/// typed as a date as its first day.
pub(crate) fn parse_month(text: &str) -> Option<NaiveDate> {
    match parse_birth_date(text)? {
        (date, "month") => Some(date),
        (date, "day") if text.split('/').next().and_then(|d| d.parse::<u32>().ok()) == Some(1) => {
            Some(date)
        }
        _ => None,
    }
}

/// Whole VND: `1500000` or `1.500.000`; positive, below 10¹².
pub(crate) fn parse_amount(text: &str) -> Option<i64> {
    let digits: String = if text.contains('.') {
        let groups: Vec<&str> = text.split('.').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !(first_ok && rest_ok) {
            return None;
        }
        groups.concat()
    } else {
        text.to_string()
    };
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&v: &i64| v > 0)
}

fn parse_sex(text: &str) -> Option<Sex> {
    match crate::nfc(text).to_lowercase().as_str() {
        "1" | "nam" => Some(Sex::Male),
        "0" | "nữ" => Some(Sex::Female),
        _ => None,
    }
}

/// Days since the Unix epoch, Arrow's Date32.
fn date32(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    (date - epoch).num_days() as i32
}

/// Column builders for one batch of either kind.
struct BatchBuilder {
    kind: DeliveryKind,
    period: String,
    office: String,
    len: usize,
    person: StringBuilder,
    person_id_key: StringBuilder,
    national_id_key: StringBuilder,
    birth_month: Date32Builder,
    birth_precision: StringBuilder,
    sex: StringBuilder,
    scheme_or_benefit: StringBuilder,
    status: Int32Builder,
    district: StringBuilder,
    commune: StringBuilder,
    employer: StringBuilder,
    amount: Int64Builder,
    month: Date32Builder,
    hi_group: StringBuilder,
    line: Int64Builder,
}

impl BatchBuilder {
    fn new(kind: DeliveryKind, period: YearMonth, office: &str, capacity: usize) -> Self {
        let strings = || StringBuilder::with_capacity(capacity, capacity * 8);
        Self {
            kind,
            period: period.to_string(),
            office: office.to_string(),
            len: 0,
            person: StringBuilder::with_capacity(capacity, capacity * 32),
            person_id_key: StringBuilder::with_capacity(capacity, capacity * 32),
            national_id_key: strings(),
            birth_month: Date32Builder::with_capacity(capacity),
            birth_precision: strings(),
            sex: strings(),
            scheme_or_benefit: strings(),
            status: Int32Builder::with_capacity(capacity),
            district: strings(),
            commune: strings(),
            employer: strings(),
            amount: Int64Builder::with_capacity(capacity),
            month: Date32Builder::with_capacity(capacity),
            hi_group: strings(),
            line: Int64Builder::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push_person(&mut self, resolved: &str, person: &Person, district: &str, commune: &str) {
        self.len += 1;
        self.person.append_value(resolved);
        self.person_id_key
            .append_option(person.person_id_key.as_deref());
        self.national_id_key
            .append_option(person.national_id_key.as_deref());
        self.birth_month.append_value(date32(person.birth_month));
        self.birth_precision.append_value(person.precision);
        self.sex.append_value(person.sex.code());
        self.district
            .append_option((!district.is_empty()).then_some(district));
        self.commune.append_value(commune);
    }

    fn participant(&mut self, p: ParticipantFields) {
        self.scheme_or_benefit.append_value(p.scheme.code());
        self.status.append_value(i32::from(p.status.code()));
        self.employer.append_option(p.employer.as_deref());
        self.amount.append_option(p.contribution_base);
        self.month.append_option(p.paid_through.map(date32));
        self.hi_group.append_option(p.hi_group);
        self.line.append_value(p.line as i64);
    }

    fn beneficiary(&mut self, benefit: &str, amount: i64, start: NaiveDate, line: u64) {
        self.scheme_or_benefit.append_value(benefit);
        self.amount.append_value(amount);
        self.month.append_value(date32(start));
        self.line.append_value(line as i64);
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let n = self.len;
        self.len = 0;
        let constant = |value: &str| -> ArrayRef {
            let mut b = StringBuilder::with_capacity(n, n * value.len());
            for _ in 0..n {
                b.append_value(value);
            }
            Arc::new(b.finish())
        };
        let mut columns: Vec<ArrayRef> = vec![
            constant(&self.period),
            constant(&self.office),
            Arc::new(self.person.finish()),
            Arc::new(self.person_id_key.finish()),
            Arc::new(self.national_id_key.finish()),
            Arc::new(self.birth_month.finish()),
            Arc::new(self.birth_precision.finish()),
            Arc::new(self.sex.finish()),
        ];
        let schema = match self.kind {
            DeliveryKind::Participants => {
                columns.extend([
                    Arc::new(self.scheme_or_benefit.finish()) as ArrayRef,
                    Arc::new(self.status.finish()),
                    Arc::new(self.district.finish()),
                    Arc::new(self.commune.finish()),
                    Arc::new(self.employer.finish()),
                    Arc::new(self.amount.finish()),
                    Arc::new(self.month.finish()),
                    Arc::new(self.hi_group.finish()),
                    Arc::new(self.line.finish()),
                ]);
                schema::participants()
            }
            DeliveryKind::Beneficiaries => {
                columns.extend([
                    Arc::new(self.scheme_or_benefit.finish()) as ArrayRef,
                    Arc::new(self.amount.finish()),
                    Arc::new(self.month.finish()),
                    Arc::new(self.district.finish()),
                    Arc::new(self.commune.finish()),
                    Arc::new(self.line.finish()),
                ]);
                schema::beneficiaries()
            }
        };
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_in_three_precisions() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(parse_birth_date("25/11/2008"), Some((d(2008, 11), "day")));
        assert_eq!(parse_birth_date("02/1991"), Some((d(1991, 2), "month")));
        assert_eq!(parse_birth_date("1953"), Some((d(1953, 1), "year")));
        assert_eq!(parse_birth_date("31/02/1980"), None);
        assert_eq!(parse_birth_date("1980-02-01"), None);
        assert_eq!(parse_birth_date(""), None);
        assert_eq!(parse_month("13/2024"), None);
        assert_eq!(parse_month("01/03/2024"), Some(d(2024, 3)));
        assert_eq!(parse_month("15/03/2024"), None);
    }

    #[test]
    fn amounts_with_and_without_separators() {
        assert_eq!(parse_amount("1.500.000"), Some(1_500_000));
        assert_eq!(parse_amount("1500000"), Some(1_500_000));
        assert_eq!(parse_amount("1.5000.000"), None);
        assert_eq!(parse_amount("1,500,000"), None);
        assert_eq!(parse_amount("0"), None);
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn sex_codes_and_words() {
        assert_eq!(parse_sex("1"), Some(Sex::Male));
        assert_eq!(parse_sex("Nữ"), Some(Sex::Female));
        assert_eq!(parse_sex("NAM"), Some(Sex::Male));
        assert_eq!(parse_sex("2"), None);
    }
}

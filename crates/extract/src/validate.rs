//! Maps a file's columns to the contract, validates every row, pseudonymises identifiers and
//! builds Arrow record batches of the canonical schema. Every row read is either in a batch
//! or a [`Reject`]: `rows_read = rows_loaded + rows_rejected`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ansinh_core::{BenefitType, Delivery, DeliveryKind, Scheme, Sex, Status, YearMonth, schema};
use arrow::array::{ArrayRef, RecordBatch, StringArray, StringBuilder};
use chrono::{Datelike, NaiveDate};

use crate::batch::BatchBuilder;
use crate::error::{Error, Result};
use crate::fields::{Field, field_for_header, fields_of, required_columns};
use crate::geography::{Geography, UnitLevel};
use crate::parse::{
    is_digits, longest_digit_run, parse_amount, parse_birth_date, parse_month, parse_sex,
};
use crate::pseudonym::{Digest, HexKey, Pseudonymiser};
use crate::reader::RowReader;
pub use crate::reject::{FIRST_REJECTS_KEPT, Reject, RejectReason};

/// First month in which extracts no longer need a district code (districts were abolished on
/// 1 July 2025).
const DISTRICTS_ABOLISHED: (i32, u32) = (2025, 7);

/// Raw rows per chunk at most, whatever `batch_rows` says, and the text a chunk may hold
/// before it is handed on: together they bound the memory of rows in flight.
const CHUNK_TEXT_BYTES: usize = 32 * 1024 * 1024;

/// What reading one file produced besides the batches.
#[derive(Debug, Clone, Default)]
pub struct ExtractSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows emitted in batches.
    pub rows_loaded: u64,
    /// Rows quarantined.
    pub rows_rejected: u64,
    /// Rows quarantined, by reason code.
    pub reasons: BTreeMap<&'static str, u64>,
    /// The first rejects, in file order (at most [`FIRST_REJECTS_KEPT`]).
    pub first_rejects: Vec<Reject>,
    /// Identity links sent to the sink.
    pub links: u64,
    /// Rows of a month from July 2025 whose district code was ignored (districts no longer
    /// exist then).
    pub ignored_districts: u64,
    /// Header cells the contract does not know.
    pub extra_columns: Vec<String>,
    /// Form, encoding and delimiter found.
    pub description: String,
}

impl ExtractSummary {
    /// Share of rows rejected (0 for an empty file).
    pub fn reject_ratio(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_rejected as f64 / self.rows_read as f64
        }
    }
}

/// Where an extraction sends what it finds, in file order. Nothing is kept in memory beyond a
/// few chunks of rows, so a file of any size is read in the same memory.
pub trait ExtractSink {
    /// A batch of valid rows in the fact table's schema.
    fn rows(&mut self, batch: RecordBatch) -> Result<()>;
    /// Rows quarantined, in file order.
    fn rejects(&mut self, rejects: &[Reject]) -> Result<()>;
    /// Pairs of pseudonyms seen on one record (the `person_links` schema), so the staging
    /// models can give a person one pseudonym across both identifiers.
    fn links(&mut self, batch: RecordBatch) -> Result<()>;
}

/// Validates and converts the rows of one delivery.
pub struct Extractor<'a> {
    kind: DeliveryKind,
    period: YearMonth,
    office: String,
    geography: &'a Geography,
    pseudonymiser: &'a Pseudonymiser,
    batch_rows: usize,
    workers: usize,
}

/// A row rejected at `field` for `reason`, with the raw value to show (masked as needed).
type Failure<'v> = (Field, RejectReason, &'v str);

/// Raw rows read from the file, handed from the reader to a worker.
#[derive(Default)]
struct Chunk {
    seq: usize,
    lines: Vec<u64>,
    /// End of each cell in `text` (a chunk's text stays far below 4 GiB).
    cell_ends: Vec<u32>,
    /// End of each row in `cell_ends`.
    row_ends: Vec<u32>,
    text: String,
}

impl Chunk {
    fn push(&mut self, line: u64, cells: &[&str]) {
        self.lines.push(line);
        for cell in cells {
            self.text.push_str(cell);
            self.cell_ends.push(self.text.len() as u32);
        }
        self.row_ends.push(self.cell_ends.len() as u32);
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    /// Calls `visit` with the line and cells of each row, in order.
    fn for_each<'c>(&'c self, mut visit: impl FnMut(u64, &[&'c str])) {
        let mut cells: Vec<&str> = Vec::new();
        let (mut cell, mut start) = (0, 0);
        for (row, &line) in self.lines.iter().enumerate() {
            cells.clear();
            let row_end = self.row_ends[row] as usize;
            for &end in &self.cell_ends[cell..row_end] {
                let end = end as usize;
                cells.push(&self.text[start..end]);
                start = end;
            }
            cell = row_end;
            visit(line, &cells);
        }
    }
}

/// What a worker made of one chunk.
struct Checked {
    seq: usize,
    rows_read: u64,
    ignored_districts: u64,
    batch: Option<RecordBatch>,
    rejects: Vec<Reject>,
    links: Option<RecordBatch>,
}

/// Fields of the contract (the last is `PoorHousehold`).
const FIELD_COUNT: usize = Field::PoorHousehold as usize + 1;

/// The header's mapping to the contract, shared by the workers: a field's column is looked
/// up by index, as it is for every cell of every row.
struct Layout {
    columns: [Option<usize>; FIELD_COUNT],
    width: usize,
}

impl Layout {
    fn new(columns: &HashMap<Field, usize>, width: usize) -> Self {
        let mut by_field = [None; FIELD_COUNT];
        for (&field, &i) in columns {
            by_field[field as usize] = Some(i);
        }
        Self {
            columns: by_field,
            width,
        }
    }

    fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }
}

impl<'a> Extractor<'a> {
    /// An extractor for `delivery`, checking rows on `workers` threads (0: one per core).
    pub fn new(
        delivery: &Delivery,
        geography: &'a Geography,
        pseudonymiser: &'a Pseudonymiser,
        batch_rows: usize,
        workers: usize,
    ) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        Self {
            kind: delivery.kind,
            period: delivery.period,
            office: delivery.office.clone(),
            geography,
            pseudonymiser,
            batch_rows: batch_rows.max(1),
            workers,
        }
    }

    /// Reads every row of `rows` and sends what it finds to `sink`, in file order. One thread
    /// reads, the workers check rows a chunk at a time, and this thread puts their results
    /// back in order; bounded queues between them keep at most a few chunks in memory.
    pub fn run(
        self,
        file: &str,
        rows: &mut (dyn RowReader + Send),
        sink: &mut dyn ExtractSink,
    ) -> Result<ExtractSummary> {
        let header: Vec<String> = rows.header().to_vec();
        if let Some(i) = header.iter().position(|cell| looks_like_data(cell)) {
            return Err(Error::HeaderHoldsData {
                file: file.to_string(),
                column: i + 1,
            });
        }
        let mut columns: HashMap<Field, usize> = HashMap::new();
        let mut extra_columns = Vec::new();
        for (i, cell) in header.iter().enumerate() {
            match field_for_header(self.kind, cell) {
                Some(field) => {
                    columns.entry(field).or_insert(i);
                }
                None if cell.trim().is_empty() => {}
                None => extra_columns.push(column_name(cell)),
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
        let layout = Layout::new(&columns, header.len());
        let mut summary = ExtractSummary {
            extra_columns,
            description: rows.description(),
            ..Default::default()
        };
        let aborted = || Error::Aborted {
            file: file.to_string(),
        };

        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Chunk>(self.workers);
        let work_rx = Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Result<Checked>>(self.workers);
        // A chunk is read only with a ticket, given back once its results are passed on: a
        // slow chunk cannot make the others pile up while they wait for it.
        let in_flight = Self::chunks_in_flight(self.workers);
        let (ticket_tx, ticket_rx) = std::sync::mpsc::sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = ticket_tx.send(());
        }
        let batch_rows = self.batch_rows;
        let this = &self;
        let layout = &layout;
        let spawn_error = |e: std::io::Error| Error::Worker {
            file: file.to_string(),
            message: format!("cannot start a thread: {e}"),
        };
        // Named threads, so that `top -H` and profilers show which stage is busy.
        std::thread::scope(|scope| {
            let reader = std::thread::Builder::new().name("ansinh-read".into());
            let reader = reader.spawn_scoped(scope, move || {
                let mut chunk = Chunk::default();
                let mut seq = 0;
                let send = |chunk: Chunk| -> Result<()> {
                    ticket_rx.recv().map_err(|_| aborted())?;
                    work_tx.send(chunk).map_err(|_| aborted())
                };
                rows.for_each_row(&mut |line, cells| {
                    chunk.push(line, cells);
                    if chunk.len() >= batch_rows || chunk.text.len() >= CHUNK_TEXT_BYTES {
                        let full = Chunk {
                            seq,
                            ..std::mem::take(&mut chunk)
                        };
                        seq += 1;
                        send(full)?;
                    }
                    Ok(())
                })?;
                if chunk.len() > 0 {
                    send(Chunk { seq, ..chunk })?;
                }
                Ok(())
            });
            let reader = reader.map_err(spawn_error)?;
            for _ in 0..this.workers {
                let work_rx = Arc::clone(&work_rx);
                let done_tx = done_tx.clone();
                let worker = std::thread::Builder::new().name("ansinh-check".into());
                worker
                    .spawn_scoped(scope, move || {
                        loop {
                            // The lock is held only while waiting for the next chunk.
                            let next = match work_rx.lock() {
                                Ok(receiver) => receiver.recv(),
                                Err(_) => return,
                            };
                            let Ok(chunk) = next else { return };
                            // A panic must not lose the chunk: the others would wait for it.
                            let checked =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    this.check(layout, &chunk)
                                }))
                                .unwrap_or_else(|panic| {
                                    let message = panic
                                        .downcast_ref::<&str>()
                                        .map(|s| s.to_string())
                                        .or_else(|| panic.downcast_ref::<String>().cloned())
                                        .unwrap_or_else(|| "a worker thread panicked".into());
                                    Err(Error::Worker {
                                        file: file.to_string(),
                                        message,
                                    })
                                });
                            if done_tx.send(checked).is_err() {
                                return;
                            }
                        }
                    })
                    .map_err(spawn_error)?;
            }
            drop(work_rx);
            drop(done_tx);

            // Results come back in any order; they are passed on in file order.
            let emitted = (|| -> Result<()> {
                let done_rx = done_rx;
                let ticket_tx = ticket_tx;
                let mut waiting: BTreeMap<usize, Checked> = BTreeMap::new();
                let mut next = 0;
                for checked in done_rx.iter() {
                    let checked = checked?;
                    waiting.insert(checked.seq, checked);
                    while let Some(checked) = waiting.remove(&next) {
                        next += 1;
                        summary.rows_read += checked.rows_read;
                        summary.ignored_districts += checked.ignored_districts;
                        if let Some(batch) = checked.batch {
                            summary.rows_loaded += batch.num_rows() as u64;
                            sink.rows(batch)?;
                        }
                        if !checked.rejects.is_empty() {
                            for reject in &checked.rejects {
                                *summary.reasons.entry(reject.reason.code()).or_default() += 1;
                            }
                            summary.rows_rejected += checked.rejects.len() as u64;
                            let room =
                                FIRST_REJECTS_KEPT.saturating_sub(summary.first_rejects.len());
                            summary
                                .first_rejects
                                .extend(checked.rejects.iter().take(room).cloned());
                            sink.rejects(&checked.rejects)?;
                        }
                        if let Some(links) = checked.links {
                            summary.links += links.num_rows() as u64;
                            sink.links(links)?;
                        }
                        let _ = ticket_tx.send(());
                    }
                }
                Ok(())
            })();
            // An error of the reader explains any other: it is what stopped the file.
            match reader.join() {
                Ok(Err(e)) if !matches!(e, Error::Aborted { .. }) || emitted.is_ok() => Err(e),
                Ok(_) => emitted,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })?;
        Ok(summary)
    }

    /// Chunks read but not yet passed on, at most, with `workers` threads checking them: one
    /// in each worker's hands and one finished, waiting for an earlier one, for each.
    pub fn chunks_in_flight(workers: usize) -> usize {
        2 * workers.max(1) + 1
    }

    /// Checks the rows of one chunk into a batch, rejects and links.
    fn check(&self, layout: &Layout, chunk: &Chunk) -> Result<Checked> {
        let mut batch = BatchBuilder::new(self.kind, self.period, &self.office, chunk.len());
        let mut rejects = Vec::new();
        let mut links: Vec<(Digest, Digest)> = Vec::new();
        let mut ignored_districts = 0;
        let abolished = self.districts_abolished();
        let width = layout.width;
        chunk.for_each(|line, cells| {
            if cells.len() != width {
                let shown = format!("{} fields, expected {width}", cells.len());
                rejects.push(Reject {
                    line,
                    field: "row",
                    reason: RejectReason::WrongFieldCount,
                    value: Some(shown),
                });
                return;
            }
            // A cell that did not decode would otherwise be stored changed.
            if let Some(bad) = cells.iter().position(|c| c.contains('\u{FFFD}')) {
                let field = fields_of(self.kind)
                    .iter()
                    .find(|&&f| layout.column(f) == Some(bad))
                    .map(|f| f.name())
                    .unwrap_or("row");
                rejects.push(Reject {
                    line,
                    field,
                    reason: RejectReason::InvalidText,
                    value: None,
                });
                return;
            }
            let cell = |f: Field| layout.column(f).map(|i| cells[i].trim()).unwrap_or("");
            if abolished && !cell(Field::DistrictCode).is_empty() {
                ignored_districts += 1;
            }
            let outcome = match self.kind {
                DeliveryKind::Participants => self.participant(&cell, line, &mut batch),
                DeliveryKind::Beneficiaries => self.beneficiary(&cell, line, &mut batch),
                DeliveryKind::SocialPensions => self.social_pension(&cell, line, &mut batch),
            };
            match outcome {
                Ok(Some(link)) => links.push(link),
                Ok(None) => {}
                Err((field, reason, raw)) => rejects.push(Reject {
                    line,
                    field: field.name(),
                    reason,
                    value: self.shown_value(field, raw),
                }),
            }
        });
        links.sort_unstable();
        links.dedup();
        Ok(Checked {
            seq: chunk.seq,
            rows_read: chunk.len() as u64,
            ignored_districts,
            batch: (batch.len() > 0).then(|| batch.finish()).transpose()?,
            rejects,
            links: (!links.is_empty())
                .then(|| self.links_batch(&links))
                .transpose()?,
        })
    }

    fn links_batch(&self, links: &[(Digest, Digest)]) -> Result<RecordBatch> {
        let n = links.len();
        let mut national = StringBuilder::with_capacity(n, n * 32);
        let mut person = StringBuilder::with_capacity(n, n * 32);
        for (n, p) in links {
            national.append_value(HexKey::of(n).as_str());
            person.append_value(HexKey::of(p).as_str());
        }
        let period = self.period.to_string();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(national.finish()),
            Arc::new(person.finish()),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.kind.name(),
                n,
            ))),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                period.as_str(),
                n,
            ))),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.office.as_str(),
                n,
            ))),
        ];
        Ok(RecordBatch::try_new(schema::person_links(), columns)?)
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

    fn person<'v>(&self, cell: &dyn Fn(Field) -> &'v str) -> Result<Person<'v>, Failure<'v>> {
        let mut person_id = cell(Field::PersonId);
        let mut national_id = cell(Field::NationalId);
        if person_id.is_empty() && national_id.is_empty() {
            return Err((Field::PersonId, RejectReason::MissingIdentifier, ""));
        }
        if !national_id.is_empty() && !is_digits(national_id, 12) {
            return Err((
                Field::NationalId,
                RejectReason::InvalidNationalId,
                national_id,
            ));
        }
        // Since the personal ID became the social-insurance code, the SI-code column may
        // carry it: a 12-digit value there is the personal ID.
        if is_digits(person_id, 12) {
            if !national_id.is_empty() && national_id != person_id {
                return Err((
                    Field::PersonId,
                    RejectReason::ConflictingIdentifiers,
                    person_id,
                ));
            }
            national_id = person_id;
            person_id = "";
        }
        if !person_id.is_empty() && !is_digits(person_id, 10) {
            return Err((Field::PersonId, RejectReason::InvalidPersonId, person_id));
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
        Ok(Person {
            person_id: (!person_id.is_empty()).then_some(person_id),
            national_id: (!national_id.is_empty()).then_some(national_id),
            birth_month,
            precision,
            sex,
        })
    }

    /// Adds a valid row's person to the batch; returns the identity link it carries, if any.
    fn push_person(
        &self,
        batch: &mut BatchBuilder,
        person: &Person,
        district: &str,
        commune: &str,
    ) -> Option<(Digest, Digest)> {
        let person_id = person
            .person_id
            .map(|id| self.pseudonymiser.person_id_digest(id));
        let national_id = person
            .national_id
            .map(|id| self.pseudonymiser.national_id_digest(id));
        let person_hex = person_id.as_ref().map(HexKey::of);
        let national_hex = national_id.as_ref().map(HexKey::of);
        batch.push_person(
            person_hex.as_ref().map(HexKey::as_str),
            national_hex.as_ref().map(HexKey::as_str),
            person,
            district,
            commune,
        );
        national_id.zip(person_id)
    }

    /// Whether the delivery's month is one without districts (from July 2025): a district
    /// code in its rows is ignored.
    fn districts_abolished(&self) -> bool {
        (self.period.year(), self.period.month()) >= DISTRICTS_ABOLISHED
    }

    /// Checks where the row is counted; returns the district code to store (none from July
    /// 2025, whatever the row says).
    fn place<'v>(&self, cell: &dyn Fn(Field) -> &'v str) -> Result<&'v str, Failure<'v>> {
        let commune = cell(Field::CommuneCode);
        let district = if self.districts_abolished() {
            ""
        } else {
            let district = cell(Field::DistrictCode);
            if district.is_empty() {
                return Err((Field::DistrictCode, RejectReason::MissingValue, district));
            }
            if !is_digits(district, 3)
                || self
                    .geography
                    .unit(district, UnitLevel::District, self.period)
                    .is_none()
            {
                return Err((Field::DistrictCode, RejectReason::UnknownDistrict, district));
            }
            district
        };
        let unit = self.commune(commune)?;
        if !district.is_empty() && unit.parent_code.as_deref() != Some(district) {
            return Err((
                Field::CommuneCode,
                RejectReason::CommuneNotInDistrict,
                commune,
            ));
        }
        Ok(district)
    }

    fn participant<'v>(
        &self,
        cell: &dyn Fn(Field) -> &'v str,
        line: u64,
        batch: &mut BatchBuilder,
    ) -> Result<Option<(Digest, Digest)>, Failure<'v>> {
        let person = self.person(cell)?;
        let scheme_text = cell(Field::Scheme);
        // Codes are matched in capitals; most already are, and need no copy.
        let scheme = Scheme::from_code(scheme_text)
            .or_else(|| Scheme::from_code(&scheme_text.to_ascii_uppercase()))
            .ok_or_else(|| unknown_code(Field::Scheme, RejectReason::UnknownScheme, scheme_text))?;
        let status_text = cell(Field::Status);
        let status = Status::from_code(status_text).ok_or((
            Field::Status,
            RejectReason::InvalidStatus,
            status_text,
        ))?;
        let district = self.place(cell)?;

        // A suspended or stopped record may have lost its employer.
        let needs_employer = matches!(scheme, Scheme::CompulsorySocial | Scheme::Unemployment)
            && status == Status::Active;
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

        let link = self.push_person(batch, &person, district, cell(Field::CommuneCode));
        batch.participant(ParticipantFields {
            scheme,
            status,
            employer: (!employer.is_empty()).then(|| crate::nfc(employer).into_owned()),
            contribution_base,
            paid_through,
            hi_group,
            line,
        });
        Ok(link)
    }

    fn beneficiary<'v>(
        &self,
        cell: &dyn Fn(Field) -> &'v str,
        line: u64,
        batch: &mut BatchBuilder,
    ) -> Result<Option<(Digest, Digest)>, Failure<'v>> {
        let person = self.person(cell)?;
        let benefit_text = cell(Field::BenefitType);
        let benefit = BenefitType::from_code(benefit_text)
            .or_else(|| BenefitType::from_code(&benefit_text.to_ascii_uppercase()))
            .ok_or_else(|| {
                unknown_code(
                    Field::BenefitType,
                    RejectReason::UnknownBenefit,
                    benefit_text,
                )
            })?;
        let (amount, start) = self.payment(cell)?;
        let district = self.place(cell)?;
        let link = self.push_person(batch, &person, district, cell(Field::CommuneCode));
        batch.beneficiary(benefit.code(), amount, start, line);
        Ok(link)
    }

    /// The commune of a row: present, and a commune valid in the delivery's month.
    fn commune<'v>(&self, commune: &'v str) -> Result<&crate::geography::Unit, Failure<'v>> {
        if commune.is_empty() {
            return Err((Field::CommuneCode, RejectReason::MissingValue, commune));
        }
        self.geography
            .unit(commune, UnitLevel::Commune, self.period)
            .filter(|_| is_digits(commune, 5))
            .ok_or((Field::CommuneCode, RejectReason::UnknownCommune, commune))
    }

    /// The monthly amount and first month of a benefit paid in the delivery's month.
    fn payment<'v>(
        &self,
        cell: &dyn Fn(Field) -> &'v str,
    ) -> Result<(i64, chrono::NaiveDate), Failure<'v>> {
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
        Ok((amount, start))
    }

    /// A row of a social-pension list: the personal ID is required, the benefit is the social
    /// pension or the social allowance at 80, and the place is the commune alone (its district,
    /// before July 2025, is the commune's).
    fn social_pension<'v>(
        &self,
        cell: &dyn Fn(Field) -> &'v str,
        line: u64,
        batch: &mut BatchBuilder,
    ) -> Result<Option<(Digest, Digest)>, Failure<'v>> {
        let person = self.person(cell)?;
        if person.national_id.is_none() {
            return Err((Field::NationalId, RejectReason::MissingValue, ""));
        }
        let benefit_text = cell(Field::BenefitType);
        let benefit = SOCIAL_PENSION_CODES
            .into_iter()
            .find(|code| code.eq_ignore_ascii_case(benefit_text))
            .ok_or_else(|| {
                unknown_code(
                    Field::BenefitType,
                    RejectReason::UnknownBenefit,
                    benefit_text,
                )
            })?;
        let poor_text = cell(Field::PoorHousehold);
        let poor = match poor_text {
            "1" => true,
            "0" => false,
            "" => return Err((Field::PoorHousehold, RejectReason::MissingValue, poor_text)),
            _ => return Err((Field::PoorHousehold, RejectReason::InvalidFlag, poor_text)),
        };
        let (amount, start) = self.payment(cell)?;
        let commune = cell(Field::CommuneCode);
        let unit = self.commune(commune)?;
        let district = match &unit.parent_code {
            Some(parent)
                if !self.districts_abolished()
                    && self
                        .geography
                        .unit(parent, UnitLevel::District, self.period)
                        .is_some() =>
            {
                parent.clone()
            }
            _ => String::new(),
        };
        let link = self.push_person(batch, &person, &district, commune);
        batch.social_pension(benefit, poor, amount, start, line);
        Ok(link)
    }
}

/// The failure of a code that matched none: missing when empty, `unknown` otherwise.
fn unknown_code(field: Field, unknown: RejectReason, text: &str) -> Failure<'_> {
    let reason = if text.is_empty() {
        RejectReason::MissingValue
    } else {
        unknown
    };
    (field, reason, text)
}

/// The benefit codes of a social-pension list: the social pension (from July 2025) and the
/// social allowance at 80 (before).
pub const SOCIAL_PENSION_CODES: [&str; 2] = ["HUU_TRI_XA_HOI", "TRO_CAP_XA_HOI_80"];

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

/// A valid row's person, identifiers still raw: they are hashed only when the whole row
/// is valid.
pub(crate) struct Person<'v> {
    pub(crate) person_id: Option<&'v str>,
    pub(crate) national_id: Option<&'v str>,
    pub(crate) birth_month: NaiveDate,
    pub(crate) precision: &'static str,
    pub(crate) sex: Sex,
}

pub(crate) struct ParticipantFields {
    pub(crate) scheme: Scheme,
    pub(crate) status: Status,
    pub(crate) employer: Option<String>,
    pub(crate) contribution_base: Option<i64>,
    pub(crate) paid_through: Option<NaiveDate>,
    pub(crate) hi_group: Option<String>,
    pub(crate) line: u64,
}

/// Whether a header cell holds what looks like a value rather than a column name: a run of
/// six or more digits (an identifier, an amount) or a date such as 01/02/1970.
pub(crate) fn looks_like_data(cell: &str) -> bool {
    let separator = |c: char| matches!(c, '/' | '-' | '.');
    cell.split(|c: char| !(c.is_numeric() || separator(c)))
        .any(|token| {
            let groups: Vec<usize> = token.split(separator).map(|g| g.chars().count()).collect();
            groups.iter().any(|&n| n >= 6)
                || (groups.len() == 3
                    && groups.iter().all(|&n| (1..=4).contains(&n))
                    && groups.contains(&4))
        })
}

/// An unknown column's name as recorded: trimmed, at most 64 characters, control characters
/// shown as `?`.
pub(crate) fn column_name(cell: &str) -> String {
    cell.trim()
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_cells_that_hold_values_are_told_from_column_names() {
        for name in [
            "Mã số BHXH",
            "Ngày sinh",
            "Giới tính",
            "Mức lương 2024",
            "Kỳ 01-2024",
            "5.6E+09",
        ] {
            assert!(!super::looks_like_data(name), "{name}");
        }
        for value in [
            "0123456789",
            "Ghi chú0123456789",
            "01/02/1970",
            "1970-02-01",
            "١٢٣٤٥٦٧",
        ] {
            assert!(super::looks_like_data(value), "{value}");
        }
        // An unknown column's name is recorded short and without control characters.
        assert_eq!(super::column_name(" Ghi\u{1b}chú "), "Ghi?chú");
        assert_eq!(super::column_name(&"x".repeat(100)).chars().count(), 64);
    }

    use super::*;
    use crate::PseudonymKey;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    /// Rows from memory, failing at `fail_at` (a line) when set.
    struct Rows {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        fail_at: Option<u64>,
    }

    impl RowReader for Rows {
        fn header(&self) -> &[String] {
            &self.header
        }

        fn for_each_row(
            &mut self,
            visit: &mut dyn FnMut(u64, &[&str]) -> Result<()>,
        ) -> Result<()> {
            for (i, row) in self.rows.iter().enumerate() {
                let line = i as u64 + 2;
                if Some(line) == self.fail_at {
                    return Err(Error::Csv {
                        file: "t.csv".into(),
                        line,
                        message: "unclosed quote".into(),
                    });
                }
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                visit(line, &cells)?;
            }
            Ok(())
        }

        fn description(&self) -> String {
            "memory".into()
        }
    }

    /// `n` BHYT rows; every 10th has a bad sex, every 3rd carries both identifiers (the same
    /// person's link on every such row of a run of 30).
    fn rows(n: usize, fail_at: Option<u64>) -> Rows {
        let header = "ma_so_bhxh,so_dinh_danh,ngay_sinh,gioi_tinh,loai_hinh,trang_thai,ma_huyen,ma_xa,ma_doi_tuong";
        let rows = (0..n)
            .map(|i| {
                let national = if i % 3 == 0 {
                    format!("{:012}", i / 30)
                } else {
                    String::new()
                };
                let sex = if i % 10 == 7 { "X" } else { "1" };
                vec![
                    format!("{:010}", i / 30),
                    national,
                    "02/1991".into(),
                    sex.into(),
                    "BHYT".into(),
                    "1".into(),
                    "568".into(),
                    "22302".into(),
                    "GD".into(),
                ]
            })
            .collect();
        Rows {
            header: header.split(',').map(str::to_string).collect(),
            rows,
            fail_at,
        }
    }

    #[derive(Default)]
    struct Collect {
        lines: Vec<i64>,
        rejects: Vec<u64>,
        links: usize,
        stop_after: Option<usize>,
    }

    impl ExtractSink for Collect {
        fn rows(&mut self, batch: RecordBatch) -> Result<()> {
            if self.stop_after.is_some_and(|n| self.lines.len() >= n) {
                return Err(Error::Aborted {
                    file: "t.csv".into(),
                });
            }
            let line = batch.column_by_name("source_line").unwrap();
            self.lines
                .extend(line.as_primitive::<Int64Type>().values().iter());
            Ok(())
        }

        fn rejects(&mut self, rejects: &[Reject]) -> Result<()> {
            self.rejects.extend(rejects.iter().map(|r| r.line));
            Ok(())
        }

        fn links(&mut self, batch: RecordBatch) -> Result<()> {
            assert_eq!(batch.column(0).null_count(), 0);
            self.links += batch.num_rows();
            Ok(())
        }
    }

    fn geography() -> Geography {
        let csv = "unit_code,name,level,parent_code,valid_from,valid_to\n\
                   56,Khánh Hòa,province,,,\n\
                   568,Nha Trang,district,56,,\n\
                   22302,Phường A,commune,568,,\n";
        Geography::from_csv(csv.as_bytes(), "geo.csv").unwrap()
    }

    fn extract(
        rows: &mut Rows,
        batch_rows: usize,
        workers: usize,
        sink: &mut Collect,
    ) -> Result<ExtractSummary> {
        let delivery = Delivery {
            kind: DeliveryKind::Participants,
            period: YearMonth::new(2024, 1).unwrap(),
            office: "568".into(),
        };
        let geography = geography();
        let pseudonymiser = Pseudonymiser::new(PseudonymKey::demo());
        Extractor::new(&delivery, &geography, &pseudonymiser, batch_rows, workers)
            .run("t.csv", rows, sink)
    }

    #[test]
    fn chunks_checked_in_parallel_come_out_in_file_order() {
        for workers in [1, 3] {
            let mut sink = Collect::default();
            let summary = extract(&mut rows(10_000, None), 7, workers, &mut sink).unwrap();
            assert_eq!(summary.rows_read, 10_000);
            assert_eq!(summary.rows_loaded + summary.rows_rejected, 10_000);
            assert_eq!(summary.rows_rejected, 1_000);
            assert_eq!(summary.reasons.get("invalid_sex"), Some(&1_000));
            let expected: Vec<i64> = (0..10_000).filter(|i| i % 10 != 7).map(|i| i + 2).collect();
            assert_eq!(sink.lines, expected);
            let rejected: Vec<u64> = (0..10_000u64)
                .filter(|i| i % 10 == 7)
                .map(|i| i + 2)
                .collect();
            assert_eq!(sink.rejects, rejected);
            let first: Vec<u64> = summary.first_rejects.iter().map(|r| r.line).collect();
            assert_eq!(first, rejected[..FIRST_REJECTS_KEPT]);
            // Links are distinct within a chunk; 334 persons carry both identifiers.
            assert!(sink.links >= 334 && sink.links as u64 == summary.links);
        }
    }

    #[test]
    fn a_read_error_or_a_stopped_sink_ends_the_run_without_hanging() {
        let mut sink = Collect::default();
        let err = extract(&mut rows(5_000, Some(3_001)), 100, 2, &mut sink).unwrap_err();
        assert!(
            err.to_string().starts_with("t.csv:3001: malformed CSV"),
            "{err}"
        );
        assert!(sink.lines.iter().all(|&l| l < 3_001));

        let mut sink = Collect {
            stop_after: Some(500),
            ..Default::default()
        };
        let err = extract(&mut rows(50_000, None), 100, 2, &mut sink).unwrap_err();
        assert!(matches!(err, Error::Aborted { .. }), "{err}");
        assert!(sink.lines.len() < 1_000);
    }

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

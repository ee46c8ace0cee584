//! Canonical Arrow schemas of the warehouse tables.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::columns as c;

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn person_fields() -> Vec<Field> {
    vec![
        text(c::PERIOD, false),
        text(c::OFFICE, false),
        text(c::PERSON, false),
        text(c::PERSON_ID_KEY, true),
        text(c::NATIONAL_ID_KEY, true),
        Field::new(c::BIRTH_MONTH, DataType::Date32, false),
        text(c::BIRTH_PRECISION, false),
        text(c::SEX, false),
    ]
}

/// The `participants` fact table: one row per person and scheme in an office's monthly
/// registry.
pub fn participants() -> SchemaRef {
    let mut fields = person_fields();
    fields.extend([
        text(c::SCHEME, false),
        Field::new(c::STATUS, DataType::Int32, false),
        text(c::DISTRICT_CODE, true),
        text(c::COMMUNE_CODE, false),
        text(c::EMPLOYER_CODE, true),
        Field::new(c::CONTRIBUTION_BASE, DataType::Int64, true),
        Field::new(c::PAID_THROUGH, DataType::Date32, true),
        text(c::HI_GROUP, true),
        Field::new(c::SOURCE_LINE, DataType::Int64, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The `beneficiaries` fact table: one row per person and benefit paid in the month.
pub fn beneficiaries() -> SchemaRef {
    let mut fields = person_fields();
    fields.extend([
        text(c::BENEFIT_TYPE, false),
        Field::new(c::MONTHLY_AMOUNT, DataType::Int64, false),
        Field::new(c::START_MONTH, DataType::Date32, false),
        text(c::DISTRICT_CODE, true),
        text(c::COMMUNE_CODE, false),
        Field::new(c::SOURCE_LINE, DataType::Int64, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The `social_pensions` table: the social-protection authority's monthly lists. The district
/// is the commune's before July 2025 (the lists name only the commune).
pub fn social_pensions() -> SchemaRef {
    // The beneficiaries' columns, with the household flag after the benefit code.
    let mut fields: Vec<Field> = beneficiaries()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let at = fields
        .iter()
        .position(|f| f.name() == c::BENEFIT_TYPE)
        .map_or(fields.len(), |i| i + 1);
    fields.insert(at, Field::new(c::POOR_HOUSEHOLD, DataType::Boolean, false));
    Arc::new(Schema::new(fields))
}

/// The `rejects` table: rows quarantined by validation, with the reason.
pub fn rejects() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text(c::KIND, false),
        text(c::PERIOD, false),
        text(c::OFFICE, false),
        text(c::FILE, false),
        text(c::SHA256, false),
        Field::new(c::LINE, DataType::Int64, false),
        text(c::FIELD, false),
        text(c::REASON, false),
        text(c::VALUE, true),
    ]))
}

/// The `_loads` manifest: one row per delivery file that changed the warehouse or was refused.
pub fn loads() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text(c::FILE, false),
        text(c::SHA256, false),
        Field::new(c::BYTES, DataType::Int64, false),
        text(c::KIND, false),
        text(c::PERIOD, false),
        text(c::OFFICE, false),
        Field::new(c::ROWS_READ, DataType::Int64, false),
        Field::new(c::ROWS_LOADED, DataType::Int64, false),
        Field::new(c::ROWS_REJECTED, DataType::Int64, false),
        text(c::OUTCOME, false),
        Field::new(c::TABLE_VERSION, DataType::Int64, true),
        Field::new(
            c::LOADED_AT,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        text(c::MESSAGE, true),
        text(c::EXTRA_COLUMNS, true),
        text(c::ETAG, true),
    ]))
}

/// `_runs`: one row per pipeline run, written when the run ends.
pub fn runs() -> SchemaRef {
    let at = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        text("run_id", false),
        text("pipeline", false),
        text("trigger", false),
        text("periods", true),
        Field::new("started_at", at.clone(), false),
        Field::new("finished_at", at, false),
        text("status", false),
        Field::new("exit_code", DataType::Int32, false),
        Field::new("files_loaded", DataType::Int64, false),
        Field::new("files_restated", DataType::Int64, false),
        Field::new("files_refused", DataType::Int64, false),
        Field::new("files_unchanged", DataType::Int64, false),
        Field::new("models_built", DataType::Int64, false),
        Field::new("tests_failed", DataType::Int64, false),
        text("steps", false),
        text("message", true),
    ]))
}

/// `reference.geography`: administrative units with validity periods.
pub fn reference_geography() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("unit_code", false),
        text("name", false),
        text("level", false),
        text("parent_code", true),
        Field::new("valid_from", DataType::Date32, true),
        Field::new("valid_to", DataType::Date32, true),
    ]))
}

/// `reference.population`: population by year, unit, sex and single year of age (100 = 100+),
/// on a boundary (`before_2025_07` or `from_2025_07`).
pub fn reference_population() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("year", DataType::Int32, false),
        text("unit_code", false),
        text("sex", false),
        Field::new("age", DataType::Int32, false),
        Field::new("population", DataType::Int64, false),
        text("boundary", false),
    ]))
}

/// `reference.labor_force`: labour force within working age by year, unit and boundary.
pub fn reference_labor_force() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("year", DataType::Int32, false),
        text("unit_code", false),
        Field::new("labor_force", DataType::Int64, false),
        text("boundary", false),
    ]))
}

/// `reference.targets`: targets by indicator, unit, year and boundary, as a rate or a number
/// of persons.
pub fn reference_targets() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("indicator", false),
        text("unit_code", false),
        Field::new("year", DataType::Int32, false),
        Field::new("target_rate", DataType::Float64, true),
        text("source", true),
        text("boundary", false),
        Field::new("target_persons", DataType::Int64, true),
    ]))
}

/// `reference.offices`: the offices, what they send and when they existed.
pub fn reference_offices() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("office_code", false),
        text("name", false),
        text("level", false),
        text("province_code", false),
        text("kinds", false),
        Field::new("valid_from", DataType::Date32, true),
        Field::new("valid_to", DataType::Date32, true),
    ]))
}

/// `reference.office_areas`: the units each office serves over time.
pub fn reference_office_areas() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("office_code", false),
        text("unit_code", false),
        Field::new("valid_from", DataType::Date32, true),
        Field::new("valid_to", DataType::Date32, true),
    ]))
}

/// `reference.commune_crosswalk`: where each commune that ended on 2025-06-30 went.
pub fn reference_commune_crosswalk() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("old_code", false),
        text("new_code", false),
        Field::new("share", DataType::Float64, false),
    ]))
}

/// `person_links`: pairs of identifier pseudonyms seen on one record, so a person keeps one
/// pseudonym across the switch from the 10-digit code to the 12-digit number. Like the facts,
/// each delivery's links replace that delivery's earlier ones.
pub fn person_links() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text(c::NATIONAL_ID_KEY, false),
        text(c::PERSON_ID_KEY, false),
        text(c::KIND, false),
        text(c::PERIOD, false),
        text(c::OFFICE, false),
    ]))
}

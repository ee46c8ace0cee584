//! Column names of the warehouse tables, in one place.

/// Delivery month, `YYYY-MM` (partition column of fact tables).
pub const PERIOD: &str = "period";
/// Delivering office code (partition column of fact tables).
pub const OFFICE: &str = "office";
/// Pseudonym of the person, resolved across both identifiers.
pub const PERSON: &str = "person";
/// Keyed hash of the 10-digit social-insurance code, when the record had one.
pub const PERSON_ID_KEY: &str = "person_id_key";
/// Keyed hash of the 12-digit personal identification number, when the record had one.
pub const NATIONAL_ID_KEY: &str = "national_id_key";
/// Birth month (first day of the month; day precision is dropped).
pub const BIRTH_MONTH: &str = "birth_month";
/// Precision of the birth date in the extract: `day`, `month` or `year`.
pub const BIRTH_PRECISION: &str = "birth_precision";
/// Sex, `M` or `F`.
pub const SEX: &str = "sex";
/// Scheme code.
pub const SCHEME: &str = "scheme";
/// Status code 1–3.
pub const STATUS: &str = "status";
/// District code.
pub const DISTRICT_CODE: &str = "district_code";
/// Commune code.
pub const COMMUNE_CODE: &str = "commune_code";
/// Employer code.
pub const EMPLOYER_CODE: &str = "employer_code";
/// Monthly contribution base in VND.
pub const CONTRIBUTION_BASE: &str = "contribution_base";
/// Last month covered by contributions (first day of that month).
pub const PAID_THROUGH: &str = "paid_through";
/// Health-insurance beneficiary group.
pub const HI_GROUP: &str = "hi_group";
/// Benefit code.
pub const BENEFIT_TYPE: &str = "benefit_type";
/// Monthly benefit in VND.
pub const MONTHLY_AMOUNT: &str = "monthly_amount";
/// Whether a social pensioner's household is poor or near-poor.
pub const POOR_HOUSEHOLD: &str = "poor_household";
/// First month of the benefit (first day of that month).
pub const START_MONTH: &str = "start_month";
/// Line of the record in its source file.
pub const SOURCE_LINE: &str = "source_line";

/// Delivery kind (`participants`, `beneficiaries` or `social_pensions`).
pub const KIND: &str = "kind";
/// File path or URL of a delivery.
pub const FILE: &str = "file";
/// SHA-256 of a delivery file, hex.
pub const SHA256: &str = "sha256";
/// Size of a delivery file in bytes.
pub const BYTES: &str = "bytes";
/// Rows read from a file (data rows, header and title rows excluded).
pub const ROWS_READ: &str = "rows_read";
/// Rows loaded into the fact table.
pub const ROWS_LOADED: &str = "rows_loaded";
/// Rows quarantined in `rejects`.
pub const ROWS_REJECTED: &str = "rows_rejected";
/// Outcome of a load: `loaded`, `restated` or `refused`.
pub const OUTCOME: &str = "outcome";
/// Fact-table version the load produced (or kept, when refused).
pub const TABLE_VERSION: &str = "table_version";
/// When the load finished (UTC).
pub const LOADED_AT: &str = "loaded_at";
/// A human-readable explanation, e.g. why a delivery was refused.
pub const MESSAGE: &str = "message";
/// Columns of the file that the contract does not know (ignored).
pub const EXTRA_COLUMNS: &str = "extra_columns";
/// The object store's entity tag of a remote file when it was loaded.
pub const ETAG: &str = "etag";

/// 1-based line of a rejected row in its file.
pub const LINE: &str = "line";
/// Contract field a reject is about.
pub const FIELD: &str = "field";
/// Machine-readable reject reason.
pub const REASON: &str = "reason";
/// The offending value (identifiers pseudonymised).
pub const VALUE: &str = "value";

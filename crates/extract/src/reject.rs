//! Why a row was quarantined, and the quarantined row as the loader stores it.

/// Why a row was quarantined.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum RejectReason {
    /// The row has a different number of fields than the header.
    WrongFieldCount,
    /// Neither identifier is present.
    MissingIdentifier,
    /// The social-insurance code is neither 10 digits nor the 12-digit personal ID.
    InvalidPersonId,
    /// The personal identification number is not 12 digits.
    InvalidNationalId,
    /// The SI-code column carries a 12-digit personal ID other than the ID column's.
    ConflictingIdentifiers,
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
    /// A yes/no field is not `1` or `0`.
    InvalidFlag,
    /// A cell holds bytes that are not text in the file's encoding.
    InvalidText,
}

impl RejectReason {
    /// The machine-readable reason stored in `rejects`.
    pub fn code(self) -> &'static str {
        self.into()
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

/// Rejects kept in the summary for reports; all of them go to the sink.
pub const FIRST_REJECTS_KEPT: usize = 5;

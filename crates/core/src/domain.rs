//! Codes of the extract contract: schemes, statuses, sexes, benefits and deliveries.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::period::YearMonth;

/// An insurance scheme a participant row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Compulsory social insurance (BHXH bắt buộc).
    CompulsorySocial,
    /// Voluntary social insurance (BHXH tự nguyện).
    VoluntarySocial,
    /// Health insurance (BHYT).
    Health,
    /// Unemployment insurance (BHTN).
    Unemployment,
}

impl Scheme {
    /// Every scheme, in the order of the contract.
    pub const ALL: [Scheme; 4] = [
        Self::CompulsorySocial,
        Self::VoluntarySocial,
        Self::Health,
        Self::Unemployment,
    ];

    /// The canonical code stored in the warehouse.
    pub fn code(self) -> &'static str {
        match self {
            Self::CompulsorySocial => "BHXH_BB",
            Self::VoluntarySocial => "BHXH_TN",
            Self::Health => "BHYT",
            Self::Unemployment => "BHTN",
        }
    }

    /// The scheme with the canonical `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A participant's registry status in the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// `1`: paying, or card valid. Only active records are counted.
    Active,
    /// `2`: suspended.
    Suspended,
    /// `3`: stopped.
    Stopped,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 3] = [Self::Active, Self::Suspended, Self::Stopped];

    /// The code of the contract, 1–3.
    pub fn code(self) -> u8 {
        match self {
            Self::Active => 1,
            Self::Suspended => 2,
            Self::Stopped => 3,
        }
    }

    /// The status with the contract's `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "1" => Some(Self::Active),
            "2" => Some(Self::Suspended),
            "3" => Some(Self::Stopped),
            _ => None,
        }
    }
}

/// Sex as recorded in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    /// `1` or `Nam`.
    Male,
    /// `0` or `Nữ`.
    Female,
}

impl Sex {
    /// The code stored in the warehouse and used by reference tables: `M` or `F`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
}

/// A benefit paid to a beneficiary in the month.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BenefitType {
    /// Old-age pension (lương hưu).
    Pension,
    /// Monthly social-insurance allowance (trợ cấp BHXH hằng tháng).
    MonthlyAllowance,
    /// Social pension (trợ cấp hưu trí xã hội).
    SocialPension,
    /// Monthly allowance of art. 23 of Law 41/2024/QH15 (from July 2025), for people at
    /// retirement age with neither a pension nor the social pension.
    Article23Allowance,
    /// Any other benefit code, such as `TUAT`: loaded, not counted.
    Other(String),
}

impl BenefitType {
    /// The canonical code.
    pub fn code(&self) -> &str {
        match self {
            Self::Pension => "HUU_TRI",
            Self::MonthlyAllowance => "TRO_CAP_HANG_THANG",
            Self::SocialPension => "HUU_TRI_XA_HOI",
            Self::Article23Allowance => "TRO_CAP_DIEU_23",
            Self::Other(code) => code,
        }
    }

    /// Whether the benefit counts toward the pension-receipt indicator.
    pub fn counts_for_pension_receipt(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Parses a known code, or an upper-case code of letters and underscores; `None` for
    /// anything else.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "HUU_TRI" => Some(Self::Pension),
            "TRO_CAP_HANG_THANG" => Some(Self::MonthlyAllowance),
            "HUU_TRI_XA_HOI" => Some(Self::SocialPension),
            "TRO_CAP_DIEU_23" => Some(Self::Article23Allowance),
            other
                if !other.is_empty()
                    && other.len() <= 32
                    && other.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                Some(Self::Other(other.to_string()))
            }
            _ => None,
        }
    }
}

/// The file extensions a delivery may have (without the dot), the longest first so that a
/// name is matched by its whole extension.
pub const DELIVERY_EXTENSIONS: [&str; 3] = ["csv.gz", "csv", "xlsx"];

/// The extension of a delivery file name, if it has one the contract allows.
pub fn delivery_extension(name: &str) -> Option<&'static str> {
    DELIVERY_EXTENSIONS.into_iter().find(|ext| {
        name.strip_suffix(ext)
            .is_some_and(|stem| stem.ends_with('.'))
    })
}

/// What a delivery contains.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryKind {
    /// One row per person and scheme in the month's registry.
    Participants,
    /// One row per person and benefit paid in the month.
    Beneficiaries,
    /// One row per person paid the social pension (or, before July 2025, the social allowance
    /// at 80) in the month: the social-protection authority's list.
    SocialPensions,
}

impl DeliveryKind {
    /// Every kind.
    pub const ALL: [DeliveryKind; 3] = [
        Self::Participants,
        Self::Beneficiaries,
        Self::SocialPensions,
    ];

    /// The name used in file names and table names.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for DeliveryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeliveryKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        // The derived parser, with this crate's error.
        <Self as strum::IntoEnumIterator>::iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::InvalidKind {
                value: s.to_string(),
            })
    }
}

/// One office's extract of one kind for one month: the unit that is loaded, replaced or
/// refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Delivery {
    /// What the delivery contains.
    pub kind: DeliveryKind,
    /// The month the extract is a snapshot of.
    pub period: YearMonth,
    /// The delivering office's code (the district code for district offices).
    pub office: String,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} office {}", self.kind, self.period, self.office)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in Scheme::ALL {
            assert_eq!(Scheme::from_code(s.code()), Some(s));
        }
        assert_eq!(Scheme::from_code("BHXH"), None);
        assert_eq!(
            BenefitType::from_code("TUAT"),
            Some(BenefitType::Other("TUAT".into()))
        );
        assert!(
            !BenefitType::from_code("TUAT")
                .unwrap()
                .counts_for_pension_receipt()
        );
        assert_eq!(BenefitType::from_code("huu tri"), None);
        assert_eq!(
            BenefitType::from_code("TRO_CAP_DIEU_23"),
            Some(BenefitType::Article23Allowance)
        );
        assert!(
            BenefitType::from_code("TRO_CAP_DIEU_23")
                .is_some_and(|b| b.counts_for_pension_receipt())
        );
        assert_eq!(BenefitType::from_code("X1"), None);
        assert_eq!(Status::from_code("2"), Some(Status::Suspended));
        assert_eq!(Status::from_code("4"), None);
    }
}

//! Calendar months, the unit of every delivery and indicator.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::error::{Error, Result};

/// A calendar month such as 2024-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// The month `month` (1–12) of `year`, or `None` when the month is out of range.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1000..=9999).contains(&year)).then_some(Self { year, month })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Months since January of year 0; differences of two indexes count months between them.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// The month with the given [`index`](Self::index).
    pub fn from_index(index: i64) -> Option<Self> {
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        Self::new(year, month)
    }

    /// The month `n` months later (earlier for negative `n`).
    pub fn add_months(self, n: i64) -> Option<Self> {
        Self::from_index(self.index() + n)
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        // Valid by construction: month is 1..=12 and the year has four digits.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.add_months(1)
            .map(|next| next.first_day().pred_opt().unwrap_or(NaiveDate::MIN))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Every month from `self` to `last`, both included.
    pub fn through(self, last: YearMonth) -> impl Iterator<Item = YearMonth> {
        (self.index()..=last.index()).filter_map(Self::from_index)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::InvalidPeriod {
            value: s.to_string(),
        };
        let (y, m) = s.trim().split_once('-').ok_or_else(invalid)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(invalid());
        }
        let year = y.parse().map_err(|_| invalid())?;
        let month = m.parse().map_err(|_| invalid())?;
        Self::new(year, month).ok_or_else(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let p: YearMonth = "2024-01".parse().unwrap();
        assert_eq!(p.to_string(), "2024-01");
        assert!("2024-13".parse::<YearMonth>().is_err());
        assert!("2024-1".parse::<YearMonth>().is_err());
        assert!("24-01".parse::<YearMonth>().is_err());
    }

    #[test]
    fn arithmetic_crosses_years() {
        let p = YearMonth::new(2024, 1).unwrap();
        assert_eq!(p.add_months(-1), YearMonth::new(2023, 12));
        assert_eq!(p.add_months(12), YearMonth::new(2025, 1));
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
        let feb = YearMonth::new(2024, 2).unwrap();
        assert_eq!(
            feb.last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(p.through(YearMonth::new(2024, 3).unwrap()).count(), 3);
    }
}

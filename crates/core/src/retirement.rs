//! Statutory retirement age under normal working conditions (Labour Code 2019 art. 169,
//! Decree 135/2020/NĐ-CP).

use crate::domain::Sex;

/// A retirement age in whole years and months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetirementAge {
    /// Whole years.
    pub years: u32,
    /// Additional months, 0–11.
    pub months: u32,
}

impl RetirementAge {
    /// The age as fractional years (61y3m = 61.25).
    pub fn as_years(self) -> f64 {
        f64::from(self.years) + f64::from(self.months) / 12.0
    }

    /// The age in months.
    pub fn total_months(self) -> u32 {
        self.years * 12 + self.months
    }
}

/// The retirement age for people of `sex` retiring in `year`.
///
/// From 2021 men start at 60y3m and gain 3 months a year up to 62 (2028); women start at
/// 55y4m and gain 4 months a year up to 60 (2035). Before 2021: 60 and 55.
pub fn retirement_age(sex: Sex, year: i32) -> RetirementAge {
    let (base, step, cap) = match sex {
        Sex::Male => (60 * 12, 3, 62 * 12),
        Sex::Female => (55 * 12, 4, 60 * 12),
    };
    let steps = u32::try_from(year - 2020).unwrap_or(0);
    let total = (base + step * steps).min(cap);
    RetirementAge {
        years: total / 12,
        months: total % 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(years: u32, months: u32) -> RetirementAge {
        RetirementAge { years, months }
    }

    #[test]
    fn matches_the_statutory_table() {
        let table = [
            (2021, ym(60, 3), ym(55, 4)),
            (2022, ym(60, 6), ym(55, 8)),
            (2023, ym(60, 9), ym(56, 0)),
            (2024, ym(61, 0), ym(56, 4)),
            (2025, ym(61, 3), ym(56, 8)),
            (2026, ym(61, 6), ym(57, 0)),
            (2027, ym(61, 9), ym(57, 4)),
            (2028, ym(62, 0), ym(57, 8)),
            (2029, ym(62, 0), ym(58, 0)),
            (2030, ym(62, 0), ym(58, 4)),
            (2031, ym(62, 0), ym(58, 8)),
            (2032, ym(62, 0), ym(59, 0)),
            (2033, ym(62, 0), ym(59, 4)),
            (2034, ym(62, 0), ym(59, 8)),
            (2035, ym(62, 0), ym(60, 0)),
            (2040, ym(62, 0), ym(60, 0)),
            (2019, ym(60, 0), ym(55, 0)),
        ];
        for (year, men, women) in table {
            assert_eq!(retirement_age(Sex::Male, year), men, "men {year}");
            assert_eq!(retirement_age(Sex::Female, year), women, "women {year}");
        }
        assert_eq!(retirement_age(Sex::Male, 2025).as_years(), 61.25);
    }
}

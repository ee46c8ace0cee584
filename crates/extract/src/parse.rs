//! Parsers of the contract's values: dates, months, amounts, sex; digit checks.

use ansinh_core::Sex;
use chrono::{Datelike, NaiveDate};

pub(crate) fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn longest_digit_run(text: &str) -> usize {
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

pub(crate) fn parse_sex(text: &str) -> Option<Sex> {
    match text {
        "1" => return Some(Sex::Male),
        "0" => return Some(Sex::Female),
        _ => {}
    }
    match crate::nfc(text).to_lowercase().as_str() {
        "1" | "nam" => Some(Sex::Male),
        "0" | "nữ" => Some(Sex::Female),
        _ => None,
    }
}

/// Days since the Unix epoch, Arrow's Date32.
pub(crate) fn date32(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    (date - epoch).num_days() as i32
}

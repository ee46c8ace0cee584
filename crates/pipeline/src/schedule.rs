//! Cron schedules with a time zone.
//!
//! Expressions have the five fields of crontab(5): minute, hour, day of month, month, day of
//! week (0 or 7 = Sunday; names such as `MON` work too). Lists, ranges and steps are allowed.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Cron {
    text: String,
    tz: Tz,
    /// One schedule, or two when both day fields are restricted: crontab fires when either
    /// the day of month or the day of week matches, the `cron` crate only when both do.
    schedules: Vec<cron::Schedule>,
}

/// Day-of-week numbers of crontab (0–7, Sunday = 0 or 7) in the `cron` crate's numbering
/// (1–7, Sunday = 1). Ranges and steps of numbers become lists.
fn day_of_week(field: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("day of week {part:?}: bad step"))?,
            ),
            None => (part, 1),
        };
        let numeric = |s: &str| s.parse::<u32>().ok();
        let bounds = match range.split_once('-') {
            _ if range == "*" => Some((0, 6)),
            Some((a, b)) => numeric(a).zip(numeric(b)),
            None if step > 1 => numeric(range).map(|a| (a, 6)),
            None => numeric(range).map(|a| (a, a)),
        };
        match bounds {
            Some((a, b)) if a <= b && b <= 7 => out.extend(
                (a..=b)
                    .step_by(step as usize)
                    .map(|d| (d % 7 + 1).to_string()),
            ),
            Some(_) => return Err(format!("day of week {part:?}: must be within 0-7")),
            None => out.push(part.to_string()),
        }
    }
    out.dedup();
    Ok(out.join(","))
}

/// Which of the first four fields of a five-field expression the cron library refuses, in
/// the expression's own terms.
fn bad_field(text: &str, fields: &[&str]) -> String {
    const NAMES: [(&str, &str); 4] = [
        ("minute", "0-59"),
        ("hour", "0-23"),
        ("day-of-month", "1-31"),
        ("month", "1-12 or JAN-DEC"),
    ];
    for (i, (name, range)) in NAMES.iter().enumerate() {
        let mut alone = ["*"; 4];
        alone[i] = fields[i];
        let expr = format!("0 {} {} {} {} *", alone[0], alone[1], alone[2], alone[3]);
        if cron::Schedule::from_str(&expr).is_err() {
            return format!(
                "{text:?}: the {name} field {:?} is not valid ({range}, lists a,b, ranges a-b, steps */n)",
                fields[i]
            );
        }
    }
    format!("{text:?}: not a valid schedule")
}

impl Cron {
    /// Parses a five-field expression evaluated in `tz`.
    pub fn parse(text: &str, tz: Tz) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "{text:?}: a schedule has five fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let dow = day_of_week(fields[4]).map_err(|m| format!("{text:?}: {m}"))?;
        let restricted = |f: &str| f != "*" && f != "?";
        let days: Vec<(&str, &str)> = if restricted(fields[2]) && restricted(fields[4]) {
            vec![(fields[2], "*"), ("*", dow.as_str())]
        } else {
            vec![(fields[2], dow.as_str())]
        };
        let schedules = days
            .into_iter()
            .map(|(dom, dow)| {
                let expr = format!("0 {} {} {dom} {} {dow}", fields[0], fields[1], fields[3]);
                cron::Schedule::from_str(&expr).map_err(|_| bad_field(text, &fields))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if schedules.iter().all(|s| s.upcoming(tz).next().is_none()) {
            return Err(format!("{text:?}: never fires"));
        }
        Ok(Self {
            text: text.to_string(),
            tz,
            schedules,
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedules
            .iter()
            .filter_map(|s| s.after(&t.with_timezone(&self.tz)).next())
            .map(|d| d.with_timezone(&Utc))
            .min()
    }

    /// The last firing at or before `t`, looking back at most 400 days.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz) + chrono::Duration::seconds(1);
        let earliest = t - chrono::Duration::days(400);
        // Going back from a second later: the first firing at or before `t` (cron has whole
        // seconds, so the first one found may lie in that second after `t`).
        self.schedules
            .iter()
            .filter_map(|s| {
                let mut back = s.after(&local);
                std::iter::from_fn(|| back.next_back())
                    .take(2)
                    .map(|d| d.with_timezone(&Utc))
                    .find(|d| *d <= t)
            })
            .max()
            .filter(|d| *d >= earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fires_in_its_time_zone() {
        // 06:00 in Ho Chi Minh City (UTC+7) on the 5th is 23:00 UTC on the 4th.
        let cron = Cron::parse("0 6 5 * *", chrono_tz::Asia::Ho_Chi_Minh).unwrap();
        assert_eq!(
            cron.next_after(at("2026-11-30T00:00:00Z")),
            Some(at("2026-12-04T23:00:00Z"))
        );
        assert_eq!(
            cron.last_at_or_before(at("2026-11-30T00:00:00Z")),
            Some(at("2026-11-04T23:00:00Z"))
        );
        assert_eq!(
            cron.last_at_or_before(at("2026-11-04T23:00:00Z")),
            Some(at("2026-11-04T23:00:00Z"))
        );
        let every = Cron::parse("* * * * *", chrono_tz::UTC).unwrap();
        let late = DateTime::parse_from_rfc3339("2026-11-30T10:00:59.500Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            every.last_at_or_before(late),
            Some(at("2026-11-30T10:00:00Z"))
        );
    }

    #[test]
    fn days_of_week_count_from_sunday_as_in_crontab() {
        let utc = chrono_tz::UTC;
        // 2026-11-30 is a Monday.
        let monday = Cron::parse("30 8 * * 1", utc).unwrap();
        assert_eq!(
            monday.next_after(at("2026-11-29T00:00:00Z")),
            Some(at("2026-11-30T08:30:00Z"))
        );
        for sunday in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN"] {
            let cron = Cron::parse(sunday, utc).unwrap();
            assert_eq!(
                cron.next_after(at("2026-11-30T00:00:00Z")),
                Some(at("2026-12-06T00:00:00Z")),
                "{sunday}"
            );
        }
        let weekend = Cron::parse("0 0 * * 6-7", utc).unwrap();
        assert_eq!(
            weekend.next_after(at("2026-11-30T00:00:00Z")),
            Some(at("2026-12-05T00:00:00Z"))
        );
        let every = Cron::parse("* * * * *", utc).unwrap();
        assert_eq!(
            every.next_after(at("2026-11-30T10:00:30Z")),
            Some(at("2026-11-30T10:01:00Z"))
        );
        // Both day fields restricted: either matches, as in crontab.
        let either = Cron::parse("0 6 1,15 * 1", utc).unwrap();
        assert_eq!(
            either.next_after(at("2026-11-30T07:00:00Z")),
            Some(at("2026-12-01T06:00:00Z"))
        );
        assert_eq!(
            either.next_after(at("2026-12-01T07:00:00Z")),
            Some(at("2026-12-07T06:00:00Z"))
        );
        assert_eq!(
            either.last_at_or_before(at("2026-11-30T07:00:00Z")),
            Some(at("2026-11-30T06:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "0 0 * * 8",
            "0 0 31 2 *",
            "x y z a b",
        ] {
            assert!(Cron::parse(bad, chrono_tz::UTC).is_err(), "{bad}");
        }
        // The message names the field as written, not the library's expansion.
        let err = Cron::parse("61 2 * * *", chrono_tz::UTC).unwrap_err();
        assert_eq!(
            err,
            "\"61 2 * * *\": the minute field \"61\" is not valid (0-59, lists a,b, ranges a-b, steps */n)"
        );
        let err = Cron::parse("0 2 * 13 MON", chrono_tz::UTC).unwrap_err();
        assert!(err.contains("the month field \"13\""), "{err}");
    }
}

//! The landing area: `<landing>/<yyyy-mm>/<office>_<yyyy-mm>_<kind>.<csv|csv.gz|xlsx>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ansinh_core::{Delivery, DeliveryKind, YearMonth};

use crate::error::{Error, Result};

/// A delivery file found in the landing area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedFile {
    /// What it is.
    pub delivery: Delivery,
    /// Where it is.
    pub path: PathBuf,
    /// Path relative to the landing root, as recorded in `_loads`.
    pub relative: String,
}

/// What a scan of the landing area found.
#[derive(Debug, Clone, Default)]
pub struct LandingScan {
    /// Deliveries, sorted by period, office and kind.
    pub files: Vec<LandedFile>,
    /// Files that are not deliveries, with the reason.
    pub ignored: Vec<(String, String)>,
}

const EXTENSIONS: [&str; 3] = [".csv.gz", ".csv", ".xlsx"];

/// Parses a delivery file name: `<office>_<yyyy-mm>_<kind>.<ext>`.
pub fn parse_file_name(name: &str) -> Option<(String, YearMonth, DeliveryKind)> {
    let stem = EXTENSIONS.iter().find_map(|ext| name.strip_suffix(ext))?;
    let mut parts = stem.splitn(3, '_');
    let office = parts.next()?;
    let period: YearMonth = parts.next()?.parse().ok()?;
    let kind: DeliveryKind = parts.next()?.parse().ok()?;
    let office_ok = !office.is_empty()
        && office.len() <= 16
        && office.bytes().all(|b| b.is_ascii_alphanumeric());
    office_ok.then(|| (office.to_string(), period, kind))
}

/// Lists every delivery under a local landing root.
pub fn scan(root: &Path) -> Result<LandingScan> {
    let landing_error = |message: String| Error::Landing {
        location: root.display().to_string(),
        message,
    };
    let entries = std::fs::read_dir(root).map_err(|e| landing_error(e.to_string()))?;
    let mut found: BTreeMap<Delivery, Vec<LandedFile>> = BTreeMap::new();
    let mut scan = LandingScan::default();
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    for dir in dirs {
        let Some(dir_name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let Ok(period) = dir_name.parse::<YearMonth>() else {
            continue;
        };
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| landing_error(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for path in files {
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            let relative = format!("{dir_name}/{name}");
            match parse_file_name(&name) {
                Some((_, file_period, _)) if file_period != period => scan.ignored.push((
                    relative,
                    format!("period {file_period} in the name differs from its folder {period}"),
                )),
                Some((office, period, kind)) => {
                    let delivery = Delivery {
                        kind,
                        period,
                        office,
                    };
                    found.entry(delivery.clone()).or_default().push(LandedFile {
                        delivery,
                        path,
                        relative,
                    });
                }
                None => scan.ignored.push((
                    relative,
                    "not named <office>_<yyyy-mm>_<participants|beneficiaries>.<csv|csv.gz|xlsx>"
                        .into(),
                )),
            }
        }
    }
    for (delivery, mut files) in found {
        if files.len() == 1 {
            scan.files.append(&mut files);
        } else {
            let names: Vec<String> = files.iter().map(|f| f.relative.clone()).collect();
            for f in &files {
                scan.ignored.push((
                    f.relative.clone(),
                    format!(
                        "{delivery} is delivered more than once ({}); keep one",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    scan.files.sort_by(|a, b| {
        (a.delivery.period, &a.delivery.office, a.delivery.kind).cmp(&(
            b.delivery.period,
            &b.delivery.office,
            b.delivery.kind,
        ))
    });
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let (office, period, kind) = parse_file_name("568_2024-01_participants.csv.gz").unwrap();
        assert_eq!(
            (office.as_str(), period.to_string(), kind),
            ("568", "2024-01".into(), DeliveryKind::Participants)
        );
        assert!(parse_file_name("568_2024-01_participants.txt").is_none());
        assert!(parse_file_name("568_2024-13_participants.csv").is_none());
        assert!(parse_file_name("568_2024-01_pensions.csv").is_none());
    }
}

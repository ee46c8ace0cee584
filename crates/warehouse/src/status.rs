//! The deliveries matrix: for each kind, period and expected office, whether the delivery is
//! loaded, restated, refused, waiting in the landing area, or missing.

use std::collections::{BTreeMap, BTreeSet};

use ansinh_core::{Delivery, DeliveryKind, YearMonth};
use ansinh_extract::Geography;
use serde::Serialize;

use crate::history::{LoadHistory, Outcome};
use crate::landing::LandingScan;

/// State of one expected delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum DeliveryState {
    /// Loaded once.
    Loaded,
    /// Replaced by a corrected delivery at least once.
    Restated,
    /// The latest file was refused (an earlier load, if any, stays).
    Refused,
    /// In the landing area, not loaded yet.
    Pending,
    /// Expected but not delivered.
    Missing,
    /// Delivered as more than one file (`.csv` and `.xlsx`, say): none is loaded until one
    /// is removed.
    Ambiguous,
}

impl DeliveryState {
    /// Name shown in the matrix.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryStatus {
    /// Kind.
    pub kind: String,
    /// Period.
    pub period: String,
    /// Office.
    pub office: String,
    /// State.
    pub state: DeliveryState,
    /// Rows loaded by the load in effect.
    pub rows_loaded: i64,
    /// Rows rejected by the load in effect (or by the refused file).
    pub rows_rejected: i64,
    /// File of the latest load or refusal.
    pub file: Option<String>,
}

/// Builds the matrix from the history, the landing area and the expected offices (those of
/// the registry valid in each period that send the kind).
pub fn deliveries(
    history: &LoadHistory,
    landing: Option<&LandingScan>,
    geography: &Geography,
) -> Vec<DeliveryStatus> {
    let mut periods: BTreeSet<YearMonth> = BTreeSet::new();
    let mut offices_seen: BTreeMap<(&str, YearMonth), BTreeSet<String>> = BTreeMap::new();
    for record in history.records() {
        if let Ok(period) = record.period.parse::<YearMonth>() {
            periods.insert(period);
            offices_seen
                .entry((record.kind.as_str(), period))
                .or_default()
                .insert(record.office.clone());
        }
    }
    let landed: BTreeSet<Delivery> = landing
        .map(|scan| scan.files.iter().map(|f| f.delivery.clone()).collect())
        .unwrap_or_default();
    for delivery in &landed {
        periods.insert(delivery.period);
        offices_seen
            .entry((delivery.kind.name(), delivery.period))
            .or_default()
            .insert(delivery.office.clone());
    }
    let mut out = Vec::new();
    for kind in DeliveryKind::ALL {
        for &period in &periods {
            let mut offices: BTreeSet<String> = geography
                .offices()
                .expected(kind.name(), period)
                .into_iter()
                .map(|o| o.code.clone())
                .collect();
            offices.extend(
                offices_seen
                    .get(&(kind.name(), period))
                    .cloned()
                    .unwrap_or_default(),
            );
            for office in offices {
                let delivery = Delivery {
                    kind,
                    period,
                    office: office.clone(),
                };
                let last = history.of(&delivery).last();
                let current = history.current(&delivery);
                let restated = history
                    .of(&delivery)
                    .any(|r| r.outcome == Outcome::Restated);
                let ambiguous = landing.and_then(|scan| scan.ambiguous.get(&delivery));
                let state = match (last.map(|r| r.outcome), landed.contains(&delivery)) {
                    _ if ambiguous.is_some() => DeliveryState::Ambiguous,
                    (Some(Outcome::Refused), _) => DeliveryState::Refused,
                    (Some(_), _) if restated => DeliveryState::Restated,
                    (Some(_), _) => DeliveryState::Loaded,
                    (None, true) => DeliveryState::Pending,
                    (None, false) => DeliveryState::Missing,
                };
                let shown = if state == DeliveryState::Refused {
                    last
                } else {
                    current
                };
                out.push(DeliveryStatus {
                    kind: kind.name().into(),
                    period: period.to_string(),
                    office,
                    state,
                    rows_loaded: current.map(|r| r.rows_loaded).unwrap_or(0),
                    rows_rejected: shown.map(|r| r.rows_rejected).unwrap_or(0),
                    file: match ambiguous {
                        Some(files) => Some(files.join(", ")),
                        None => last.map(|r| r.file.clone()),
                    },
                });
            }
        }
    }
    out
}

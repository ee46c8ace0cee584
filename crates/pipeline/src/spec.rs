//! Pipeline definitions: `pipelines/*.toml`, one pipeline a file.
//!
//! ```toml
//! name = "participants"
//! kind = "participants"
//! source = "{period}/{office}_{period}_participants.{ext}"
//! offices = "registry"
//! first_period = "2023-12"
//! schedule = "0 6 5 * *"
//! timezone = "Asia/Ho_Chi_Minh"
//! completeness = "partial"
//! models = "all"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use ansinh_core::{DeliveryKind, YearMonth};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::schedule::Cron;
use ansinh_warehouse::source::SourcePattern;

/// The default time zone of schedules.
pub const DEFAULT_TIMEZONE: &str = "Asia/Ho_Chi_Minh";

/// What a pipeline loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PipelineKind {
    /// The reference CSVs (geography, population, labour force, targets).
    Reference,
    /// Deliveries of one kind.
    Deliveries(DeliveryKind),
}

impl PipelineKind {
    /// The name used in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Deliveries(kind) => kind.name(),
        }
    }
}

/// What to do when expected offices have not delivered for a period.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Completeness {
    /// Load nothing of the period until every expected office has delivered.
    Wait,
    /// Load what arrived and report the offices still missing.
    Partial,
    /// Fail the period (exit 1) while an expected office is missing; load nothing of it.
    Require,
}

impl Completeness {
    /// The name used in pipeline files.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Which offices are expected to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedOffices {
    /// The offices of `reference/offices.csv` valid in the period that send the kind (the
    /// districts of `geography.csv` where there is no `offices.csv`).
    Registry,
    /// A fixed list.
    List(Vec<String>),
}

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Unique name.
    pub name: String,
    /// The file it was read from.
    pub file: String,
    /// What it loads.
    pub kind: PipelineKind,
    /// Where its deliveries are (fact kinds only).
    pub source: Option<SourcePattern>,
    /// Which offices are expected.
    pub offices: ExpectedOffices,
    /// The first period it is responsible for.
    pub first_period: Option<YearMonth>,
    /// When the scheduler fires it.
    pub schedule: Option<Cron>,
    /// Whether the scheduler runs a missed firing once when it starts.
    pub catch_up: bool,
    /// Share of rejected rows above which a delivery is refused; the config's when unset.
    pub max_reject_ratio: Option<f64>,
    /// Policy for missing offices.
    pub completeness: Completeness,
    /// Attempts after the first one for infrastructure errors.
    pub retries: u32,
    /// Wait before the first retry; doubled at each next one.
    pub retry_backoff_seconds: u64,
    /// Models to build after loading: a selector (`all` = every model); none when unset.
    pub models: Option<String>,
    /// Shell command run after a successful run, with the summary as JSON on stdin.
    pub on_success: Option<String>,
    /// Shell command run after a failed run, with the summary as JSON on stdin.
    pub on_failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: String,
    kind: String,
    source: Option<String>,
    offices: Option<toml::Value>,
    first_period: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    catch_up: Option<bool>,
    max_reject_ratio: Option<f64>,
    completeness: Option<Completeness>,
    retries: Option<u32>,
    retry_backoff_seconds: Option<u64>,
    models: Option<String>,
    on_success: Option<String>,
    on_failure: Option<String>,
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

impl Pipeline {
    /// Parses and validates one pipeline file.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let raw: RawPipeline = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("{file}:{}", line_of(text, s.start)))
                .unwrap_or_else(|| file.to_string());
            let message = e.message().trim().to_string();
            let key = message
                .split('`')
                .nth(1)
                .filter(|_| {
                    message.starts_with("unknown field") || message.starts_with("missing field")
                })
                .unwrap_or("-")
                .to_string();
            Error::Definition {
                file: at,
                key,
                message,
            }
        })?;
        let bad = |key: &str, message: String| Error::Definition {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        let name_ok = !raw.name.is_empty()
            && raw
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(bad(
                "name",
                format!("{:?}: use letters, digits, - and _", raw.name),
            ));
        }
        let kind = match raw.kind.as_str() {
            "reference" => PipelineKind::Reference,
            other => PipelineKind::Deliveries(DeliveryKind::from_str(other).map_err(|_| {
                bad(
                    "kind",
                    format!("{other:?}: must be participants, beneficiaries or reference"),
                )
            })?),
        };
        let source = match (kind, raw.source) {
            (PipelineKind::Reference, Some(_)) => {
                return Err(bad(
                    "source",
                    "a reference pipeline reads the configured reference directory; remove source"
                        .into(),
                ));
            }
            (PipelineKind::Reference, None) => None,
            (PipelineKind::Deliveries(kind), source) => {
                let text = source.unwrap_or_else(|| {
                    format!("{{period}}/{{office}}_{{period}}_{}.{{ext}}", kind.name())
                });
                Some(SourcePattern::parse(&text).map_err(|m| bad("source", m))?)
            }
        };
        let offices = match raw.offices {
            None => ExpectedOffices::Registry,
            // "geography" is the name of version 1, when the offices were the districts.
            Some(toml::Value::String(s)) if s == "registry" || s == "geography" => {
                ExpectedOffices::Registry
            }
            Some(toml::Value::Array(items)) => {
                let mut list = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(code)
                            if !code.is_empty()
                                && code.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                        {
                            list.push(code.to_string())
                        }
                        _ => {
                            return Err(bad(
                                "offices",
                                format!("{item}: office codes are letters and digits"),
                            ));
                        }
                    }
                }
                list.sort();
                list.dedup();
                ExpectedOffices::List(list)
            }
            Some(other) => {
                return Err(bad(
                    "offices",
                    format!("{other}: must be \"registry\" or a list of office codes"),
                ));
            }
        };
        let first_period = raw
            .first_period
            .map(|p| {
                p.parse::<YearMonth>()
                    .map_err(|_| bad("first_period", format!("{p:?}: must be YYYY-MM")))
            })
            .transpose()?;
        let timezone = raw.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        let tz: chrono_tz::Tz = timezone
            .parse()
            .map_err(|_| bad("timezone", format!("{timezone:?}: not an IANA time zone")))?;
        let schedule = raw
            .schedule
            .map(|expr| Cron::parse(&expr, tz).map_err(|m| bad("schedule", m)))
            .transpose()?;
        if let Some(ratio) = raw.max_reject_ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return Err(bad(
                "max_reject_ratio",
                format!("{ratio}: must be between 0 and 1"),
            ));
        }
        let retries = raw.retries.unwrap_or(2);
        if retries > 10 {
            return Err(bad("retries", format!("{retries}: at most 10")));
        }
        let retry_backoff_seconds = raw.retry_backoff_seconds.unwrap_or(30);
        if retry_backoff_seconds > 3600 {
            return Err(bad(
                "retry_backoff_seconds",
                format!("{retry_backoff_seconds}: at most 3600"),
            ));
        }
        for (key, value) in [
            ("on_success", &raw.on_success),
            ("on_failure", &raw.on_failure),
        ] {
            if value.as_deref().is_some_and(|c| c.trim().is_empty()) {
                return Err(bad(key, "empty command; remove the key instead".into()));
            }
        }
        let is_reference = kind == PipelineKind::Reference;
        if is_reference && raw.completeness.is_some() {
            return Err(bad(
                "completeness",
                "a reference pipeline has no offices".into(),
            ));
        }
        Ok(Self {
            name: raw.name,
            file: file.to_string(),
            kind,
            source,
            offices,
            first_period,
            schedule,
            catch_up: raw.catch_up.unwrap_or(true),
            max_reject_ratio: raw.max_reject_ratio,
            completeness: raw.completeness.unwrap_or(Completeness::Partial),
            retries,
            retry_backoff_seconds,
            models: raw.models.filter(|m| !m.trim().is_empty()),
            on_success: raw.on_success,
            on_failure: raw.on_failure,
        })
    }

    /// The model selector for [`ansinh_models::select`]; `None` when no models are built.
    pub fn model_selector(&self) -> Option<&str> {
        self.models
            .as_deref()
            .map(|m| if m.trim() == "all" { "" } else { m })
    }
}

/// Reads every `*.toml` of `dir`, sorted by file name. Names must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<Pipeline>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Definition {
        file: dir.display().to_string(),
        key: "-".into(),
        message: format!("cannot list the pipelines directory: {e}"),
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out: Vec<Pipeline> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for path in files {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Definition {
            file: file.clone(),
            key: "-".into(),
            message: e.to_string(),
        })?;
        let pipeline = Pipeline::parse(&text, &file)?;
        if let Some(other) = seen.insert(pipeline.name.clone(), file.clone()) {
            return Err(Error::Definition {
                file,
                key: "name".into(),
                message: format!("{:?} is also the name of {other}", pipeline.name),
            });
        }
        out.push(pipeline);
    }
    Ok(out)
}

/// The pipelines named in `names` (all when empty), references first, then in file order.
pub fn choose(all: &[Pipeline], names: &[String]) -> Result<Vec<Pipeline>> {
    let mut chosen: Vec<Pipeline> = if names.is_empty() {
        all.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|p| &p.name == n)
                    .cloned()
                    .ok_or_else(|| Error::UnknownPipeline {
                        name: n.clone(),
                        known: all
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_>>()?
    };
    chosen.sort_by_key(|p| p.kind != PipelineKind::Reference);
    chosen.dedup_by(|a, b| a.name == b.name);
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Pipeline::parse(text, "p.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_full_definition_parses() {
        let p = Pipeline::parse(
            "name = \"participants\"\nkind = \"participants\"\nfirst_period = \"2023-12\"\n\
             schedule = \"0 6 5 * *\"\ncompleteness = \"wait\"\noffices = [\"5681\", \"5680\"]\n\
             models = \"all\"\nretries = 1\non_failure = \"cat > /dev/null\"\n",
            "p.toml",
        )
        .unwrap();
        assert_eq!(p.kind, PipelineKind::Deliveries(DeliveryKind::Participants));
        assert_eq!(p.completeness, Completeness::Wait);
        assert_eq!(
            p.offices,
            ExpectedOffices::List(vec!["5680".into(), "5681".into()])
        );
        assert_eq!(p.model_selector(), Some(""));
        assert!(p.schedule.is_some());
        assert_eq!(
            p.source.unwrap().text(),
            "{period}/{office}_{period}_participants.{ext}"
        );
    }

    #[test]
    fn invalid_definitions_name_the_file_key_and_reason() {
        let e = err("name = \"x\"\nkind = \"participants\"\ncompletness = \"wait\"\n");
        assert!(e.contains("p.toml:3") && e.contains("completness"), "{e}");
        let e = err("name = \"x\"\nkind = \"participants\"\ncompleteness = \"sometimes\"\n");
        assert!(e.contains("p.toml:3") && e.contains("sometimes"), "{e}");
        let e = err("name = \"x\"\nkind = \"pensions\"\n");
        assert!(e.contains("kind") && e.contains("pensions"), "{e}");
        let e = err("name = \"x\"\nkind = \"participants\"\nschedule = \"61 * * * *\"\n");
        assert!(e.contains("schedule"), "{e}");
        let e = err("name = \"x\"\nkind = \"participants\"\ntimezone = \"Mars/Olympus\"\n");
        assert!(e.contains("timezone") && e.contains("Mars/Olympus"), "{e}");
        let e = err("name = \"x\"\nkind = \"participants\"\nsource = \"{period}/a.csv\"\n");
        assert!(e.contains("source") && e.contains("{office}"), "{e}");
        let e = err("name = \"x\"\nkind = \"participants\"\nmax_reject_ratio = 1.5\n");
        assert!(e.contains("max_reject_ratio"), "{e}");
        let e = err("kind = \"participants\"\n");
        assert!(e.contains("name"), "{e}");
    }
}

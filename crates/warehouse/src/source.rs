//! Source patterns: where a pipeline's deliveries are, as a path with `{period}`, `{office}`
//! and optionally `{ext}` (`csv`, `csv.gz` or `xlsx`). A relative pattern is under the
//! configured landing area.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ansinh_core::{DELIVERY_EXTENSIONS, Delivery, DeliveryKind, YearMonth, delivery_extension};
use regex::Regex;

use crate::landing::{LandedFile, LandingArea, ListedFile};

/// A parsed pattern.
#[derive(Debug, Clone)]
pub struct SourcePattern {
    text: String,
    absolute: bool,
    regex: Regex,
    /// The part before the first placeholder, up to its last `/`: where listing starts.
    prefix: String,
}

const PLACEHOLDERS: [&str; 3] = ["period", "office", "ext"];

impl SourcePattern {
    /// Parses a pattern; `{period}` and `{office}` are required.
    pub fn parse(written: &str) -> Result<Self, String> {
        let text = written.strip_prefix("file://").unwrap_or(written);
        if text.contains("://") {
            return Err(format!(
                "{written:?}: only local paths and file:// URLs are supported for sources"
            ));
        }
        let mut regex = String::from("^");
        let mut rest = text;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut prefix_end = None;
        while let Some(open) = rest.find('{') {
            regex.push_str(&regex::escape(&rest[..open]));
            if prefix_end.is_none() {
                prefix_end = Some(text.len() - rest.len() + open);
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("{text:?}: unclosed {{"))?
                + open;
            let name = &rest[open + 1..close];
            let Some(known) = PLACEHOLDERS.iter().find(|p| **p == name) else {
                return Err(format!(
                    "{text:?}: unknown placeholder {{{name}}}; use {{period}}, {{office}}, {{ext}}"
                ));
            };
            let n = counts.entry(known).or_default();
            let group = format!("{name}{n}");
            *n += 1;
            regex.push_str(&match *known {
                "period" => format!(r"(?P<{group}>\d{{4}}-\d{{2}})"),
                "office" => format!(r"(?P<{group}>[A-Za-z0-9]{{1,16}})"),
                _ => format!(
                    "(?P<{group}>{})",
                    DELIVERY_EXTENSIONS
                        .iter()
                        .map(|e| regex::escape(e))
                        .collect::<Vec<_>>()
                        .join("|")
                ),
            });
            rest = &rest[close + 1..];
        }
        regex.push_str(&regex::escape(rest));
        regex.push('$');
        for required in ["period", "office"] {
            if !counts.contains_key(required) {
                return Err(format!("{text:?}: the pattern needs {{{required}}}"));
            }
        }
        if !counts.contains_key("ext") && delivery_extension(text).is_none() {
            return Err(format!(
                "{text:?}: end the pattern with .{{ext}} or one of .{}",
                DELIVERY_EXTENSIONS.join(", .")
            ));
        }
        let regex = Regex::new(&regex).map_err(|e| format!("{text:?}: {e}"))?;
        let head = &text[..prefix_end.unwrap_or(text.len())];
        let prefix = head[..head.rfind('/').map(|i| i + 1).unwrap_or(0)].to_string();
        Ok(Self {
            text: written.to_string(),
            absolute: text.starts_with('/'),
            regex,
            prefix,
        })
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The period and office of a path relative to the pattern's base, if it matches (every
    /// `{period}` and every `{office}` the same).
    pub fn matches(&self, relative: &str) -> Option<(YearMonth, String)> {
        let caps = self.regex.captures(relative)?;
        let all = |name: &str| -> Option<String> {
            let mut value: Option<&str> = None;
            for i in 0.. {
                let Some(m) = caps.name(&format!("{name}{i}")) else {
                    break;
                };
                match value {
                    Some(v) if v != m.as_str() => return None,
                    _ => value = Some(m.as_str()),
                }
            }
            value.map(str::to_string)
        };
        Some((all("period")?.parse().ok()?, all("office")?))
    }

    /// Lists the files matching the pattern. A relative pattern is listed in the landing area
    /// (local or remote) and recorded relative to it; an absolute one on the local disk. Two
    /// files for one delivery (say `.csv` and `.xlsx`) are ambiguous: both are returned in
    /// `ambiguous` and neither is loaded.
    pub async fn list(
        &self,
        landing: &LandingArea,
        kind: DeliveryKind,
    ) -> crate::Result<SourceListing> {
        if self.absolute {
            let root = LandingArea::Local(PathBuf::from("/"));
            let files = root.list(self.prefix.trim_start_matches('/')).await?;
            return Ok(self.select(&files, kind));
        }
        let files = landing.list(&self.prefix).await?;
        Ok(self.select(&files, kind))
    }

    /// The part before the first placeholder, up to its last `/`: where listing starts.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the pattern is an absolute local path rather than one under the landing area.
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

    /// The files of `listed` (a listing of the landing area, or of the local root for an
    /// absolute pattern) that match the pattern, as deliveries of `kind`.
    pub fn select(&self, listed: &[ListedFile], kind: DeliveryKind) -> SourceListing {
        let mut found: BTreeMap<Delivery, Vec<LandedFile>> = BTreeMap::new();
        for file in listed {
            let file = file.clone();
            let shown = if self.absolute {
                format!("/{}", file.relative)
            } else {
                file.relative
            };
            if let Some((period, office)) = self.matches(&shown) {
                let delivery = Delivery {
                    kind,
                    period,
                    office,
                };
                found.entry(delivery.clone()).or_default().push(LandedFile {
                    delivery,
                    path: file.path,
                    relative: shown,
                    remote: file.remote,
                });
            }
        }
        let mut listing = SourceListing::default();
        for (_, mut files) in found {
            files.sort_by(|a, b| a.relative.cmp(&b.relative));
            if files.len() == 1 {
                listing.files.extend(files);
            } else {
                listing.ambiguous.extend(files);
            }
        }
        listing
    }
}

/// What a listing found.
#[derive(Debug, Clone, Default)]
pub struct SourceListing {
    /// One file per delivery, sorted by period, office.
    pub files: Vec<LandedFile>,
    /// Files of deliveries that have more than one file.
    pub ambiguous: Vec<LandedFile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_every_placeholder_and_requires_repeats_to_agree() {
        let p = SourcePattern::parse("{period}/{office}_{period}_participants.{ext}").unwrap();
        assert_eq!(
            p.matches("2024-01/5680_2024-01_participants.csv.gz"),
            Some(("2024-01".parse().unwrap(), "5680".into()))
        );
        assert_eq!(p.matches("2024-01/5680_2024-02_participants.csv"), None);
        assert_eq!(p.matches("2024-01/5680_2024-01_beneficiaries.csv"), None);
        assert_eq!(p.matches("2024-01/5680_2024-01_participants.txt"), None);
        assert!(SourcePattern::parse("{period}/{office}.csv").is_ok());
        assert!(SourcePattern::parse("{period}/x.csv").is_err());
        assert!(SourcePattern::parse("{period}/{office}.{kind}").is_err());
        assert!(SourcePattern::parse("{period}/{office}").is_err());
    }

    #[tokio::test]
    async fn lists_relative_to_the_landing_area_and_sets_ambiguous_deliveries_aside() {
        let dir = tempfile::tempdir().unwrap();
        let month = dir.path().join("in/2024-01");
        std::fs::create_dir_all(&month).unwrap();
        for name in [
            "5680_p.csv",
            "5681_p.csv",
            "5681_p.xlsx",
            "notes.txt",
            ".5682_p.csv",
        ] {
            std::fs::write(month.join(name), "x").unwrap();
        }
        let p = SourcePattern::parse("in/{period}/{office}_p.{ext}").unwrap();
        let landing = LandingArea::Local(dir.path().to_path_buf());
        let listing = p.list(&landing, DeliveryKind::Participants).await.unwrap();
        let files: Vec<_> = listing.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(files, ["in/2024-01/5680_p.csv"]);
        assert_eq!(listing.ambiguous.len(), 2);
        let absolute = format!("{}/in/{{period}}/{{office}}_p.csv", dir.path().display());
        let p = SourcePattern::parse(&absolute).unwrap();
        let listing = p
            .list(
                &LandingArea::Local(PathBuf::from("/nonexistent")),
                DeliveryKind::Participants,
            )
            .await
            .unwrap();
        assert_eq!(listing.files.len(), 2);
        assert!(listing.files[0].relative.starts_with('/'));
    }
}

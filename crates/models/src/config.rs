//! The leading comment block of a model: TOML after `-- `.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Settings of one model.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// What the model means, for the data dictionary and the Parquet metadata.
    pub description: Option<String>,
    /// Tags for `tag:x` selectors.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `view` or `parquet`; by default staging models are views and marts are Parquet.
    pub materialized: Option<String>,
    /// Column descriptions.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Declarative data tests.
    #[serde(default)]
    pub tests: Vec<TestSpec>,
    /// `"period"`: the model is built one month at a time, as one Parquet partition per month
    /// (see [`crate::partition`]).
    pub partition_by: Option<String>,
    /// The months a partition reads, relative to its own: `[-1, 0]` reads the month before
    /// too. Only the rows of the partition's own month are kept. Default `[0, 0]`.
    pub period_window: Option<[i32; 2]>,
    /// Warehouse tables read one window of months at a time, by their `period` column (models
    /// partitioned by period are always read so). Other tables are read whole.
    #[serde(default)]
    pub period_inputs: Vec<String>,
    /// For an input read whole that matters to each month only through some of its rows: a
    /// query over the warehouse tables returning `period` and `digest`, one row per month.
    /// A month's partition then depends on its own digest instead of the input's version.
    #[serde(default)]
    pub period_digests: BTreeMap<String, String>,
    /// A model that reads itself: its first round reads this query's result under the model's
    /// own name, each later round the round before, until a round returns exactly the rows of
    /// the one before (see [`crate::run`]). Each round is a query of the engine, materialised
    /// like the model, so it streams and spills within the memory pool.
    pub fixpoint_seed: Option<String>,
}

/// One declarative data test; exactly one field is set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// These columns are never null.
    pub not_null: Option<Vec<String>>,
    /// These columns together are unique.
    pub unique: Option<Vec<String>>,
    /// A column only takes these values.
    pub accepted_values: Option<AcceptedValues>,
    /// Every value of a column exists in another table's column.
    pub relationships: Option<Relationship>,
    /// The row count is within bounds.
    pub row_count: Option<RowCount>,
}

/// `accepted_values = { column = "sex", values = ["M", "F", "T"] }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AcceptedValues {
    /// Column.
    pub column: String,
    /// Allowed values (compared as text).
    pub values: Vec<String>,
}

/// `relationships = { column = "unit_code", to = "reference.geography", field = "unit_code" }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// Column of this model.
    pub column: String,
    /// Referenced table or model.
    pub to: String,
    /// Referenced column.
    pub field: String,
}

/// `row_count = { min = 1, max = 1000 }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RowCount {
    /// Least rows.
    pub min: Option<u64>,
    /// Most rows.
    pub max: Option<u64>,
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl TestSpec {
    /// A short name, e.g. `unique(period, unit_code)`.
    pub fn name(&self) -> String {
        if let Some(c) = &self.not_null {
            format!("not_null({})", c.join(", "))
        } else if let Some(c) = &self.unique {
            format!("unique({})", c.join(", "))
        } else if let Some(a) = &self.accepted_values {
            format!("accepted_values({})", a.column)
        } else if let Some(r) = &self.relationships {
            format!("relationships({} -> {}.{})", r.column, r.to, r.field)
        } else if let Some(r) = &self.row_count {
            format!("row_count({:?}..{:?})", r.min, r.max)
        } else {
            "empty test".into()
        }
    }

    /// SQL returning the failing rows of `model` (for row counts: one row when out of bounds).
    pub fn failing_rows_sql(&self, model: &str) -> String {
        let table = quote_ident(model);
        if let Some(columns) = &self.not_null {
            let any_null: Vec<String> = columns
                .iter()
                .map(|c| format!("{} IS NULL", quote_ident(c)))
                .collect();
            format!("SELECT * FROM {table} WHERE {}", any_null.join(" OR "))
        } else if let Some(columns) = &self.unique {
            let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            let cols = cols.join(", ");
            format!(
                "SELECT {cols}, COUNT(*) AS copies FROM {table} GROUP BY {cols} HAVING COUNT(*) > 1"
            )
        } else if let Some(a) = &self.accepted_values {
            let values: Vec<String> = a.values.iter().map(|v| quote_literal(v)).collect();
            format!(
                "SELECT * FROM {table} WHERE CAST({c} AS VARCHAR) NOT IN ({}) AND {c} IS NOT NULL",
                values.join(", "),
                c = quote_ident(&a.column)
            )
        } else if let Some(r) = &self.relationships {
            let to: Vec<String> = r.to.split('.').map(quote_ident).collect();
            format!(
                "SELECT * FROM {table} WHERE {c} IS NOT NULL AND {c} NOT IN (SELECT {f} FROM {to})",
                c = quote_ident(&r.column),
                f = quote_ident(&r.field),
                to = to.join(".")
            )
        } else if let Some(r) = &self.row_count {
            let min = r.min.unwrap_or(0);
            let max = r.max.map(|m| format!(" OR n > {m}")).unwrap_or_default();
            format!("SELECT n FROM (SELECT COUNT(*) AS n FROM {table}) WHERE n < {min}{max}")
        } else {
            "SELECT 1 WHERE false".into()
        }
    }

    fn fields_set(&self) -> usize {
        [
            self.not_null.is_some(),
            self.unique.is_some(),
            self.accepted_values.is_some(),
            self.relationships.is_some(),
            self.row_count.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }
}

/// Splits a model file into its settings (from the leading `--` lines) and returns them with
/// the number of lines the block spans.
pub(crate) fn parse_leading_block(text: &str, file: &str) -> Result<(ModelConfig, usize)> {
    let mut toml_text = String::new();
    let mut lines = 0;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix("--") else {
            break;
        };
        toml_text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        toml_text.push('\n');
        lines += 1;
    }
    let config: ModelConfig = toml::from_str(&toml_text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                toml_text[..s.start.min(toml_text.len())]
                    .matches('\n')
                    .count() as u64
                    + 1
            })
            .unwrap_or(1);
        Error::Config {
            file: file.into(),
            line,
            message: e.message().trim().to_string(),
        }
    })?;
    for (i, test) in config.tests.iter().enumerate() {
        if test.fields_set() != 1 {
            return Err(Error::Config {
                file: file.into(),
                line: 1,
                message: format!(
                    "tests[{i}] must set exactly one of not_null, unique, accepted_values, relationships, row_count"
                ),
            });
        }
    }
    if let Some(p) = &config.partition_by
        && p != "period"
    {
        return Err(Error::Config {
            file: file.into(),
            line: 1,
            message: format!("partition_by must be \"period\", not {p:?}"),
        });
    }
    if config.partition_by.is_none()
        && (config.period_window.is_some()
            || !config.period_inputs.is_empty()
            || !config.period_digests.is_empty())
    {
        return Err(Error::Config {
            file: file.into(),
            line: 1,
            message:
                "period_window, period_inputs and period_digests need partition_by = \"period\""
                    .into(),
        });
    }
    if let Some([before, after]) = config.period_window
        && (before > 0 || after < 0)
    {
        return Err(Error::Config {
            file: file.into(),
            line: 1,
            message: format!(
                "period_window [{before}, {after}] must include the partition's own month (first <= 0 <= second)"
            ),
        });
    }
    if let Some(m) = &config.materialized
        && m != "view"
        && m != "parquet"
    {
        return Err(Error::Config {
            file: file.into(),
            line: 1,
            message: format!("materialized must be view or parquet, not {m:?}"),
        });
    }
    Ok((config, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_leading_comments_only() {
        let text = "-- description = \"x\"\n-- tags = [\"a\"]\n-- [[tests]]\n-- unique = [\"k\"]\nSELECT 1 -- tags = 5\n";
        let (config, lines) = parse_leading_block(text, "m.sql").unwrap();
        assert_eq!(config.description.as_deref(), Some("x"));
        assert_eq!(config.tags, vec!["a"]);
        assert_eq!(config.tests[0].unique, Some(vec!["k".to_string()]));
        assert_eq!(lines, 4);
        // Prose in the block is a TOML comment.
        let (plain, _) = parse_leading_block("-- # just a note\nSELECT 1", "n.sql").unwrap();
        assert_eq!(plain, ModelConfig::default());
    }

    #[test]
    fn unknown_keys_name_file_and_line() {
        let err = parse_leading_block("-- tags = []\n-- descripton = \"x\"\nSELECT 1", "m.sql")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("m.sql:2: invalid model settings"),
            "{err}"
        );
    }

    #[test]
    fn tests_compile_to_sql() {
        let t = TestSpec {
            unique: Some(vec!["a".into(), "b".into()]),
            ..Default::default()
        };
        assert_eq!(
            t.failing_rows_sql("m"),
            "SELECT \"a\", \"b\", COUNT(*) AS copies FROM \"m\" GROUP BY \"a\", \"b\" HAVING COUNT(*) > 1"
        );
    }
}

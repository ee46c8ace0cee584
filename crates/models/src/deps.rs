//! Table references of a query, found by parsing it (no templating).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{ObjectName, Query, Statement, TableFactor, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// A table the query reads, lower-cased, with the line it is named on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub name: String,
    pub line: u64,
}

#[derive(Default)]
struct Collector {
    ctes: BTreeSet<String>,
    refs: Vec<TableRef>,
}

fn object_name(name: &ObjectName) -> (String, u64) {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(|i| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            }
        })
        .collect();
    let line = name
        .0
        .first()
        .and_then(|p| p.as_ident())
        .map(|i| i.span.start.line)
        .unwrap_or(0);
    (parts.join("."), line)
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        // Table functions (`generate_series(...)`) have arguments; they are not tables.
        if let TableFactor::Table {
            name, args: None, ..
        } = factor
        {
            let (name, line) = object_name(name);
            self.refs.push(TableRef { name, line });
        }
        ControlFlow::Continue(())
    }
}

/// The tables `sql` reads, excluding its own CTEs. The SQL must be one query.
pub(crate) fn references(sql: &str, file: &str) -> Result<Vec<TableRef>> {
    let statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| {
        let message = e.to_string();
        // An error at the end of input carries no position: it is on the last line.
        let line = match parse_error_line(&message) {
            0 => sql.trim_end().lines().count() as u64,
            n => n,
        };
        Error::Sql {
            file: file.into(),
            line,
            message,
        }
    })?;
    let [statement] = statements.as_slice() else {
        return Err(Error::Sql {
            file: file.into(),
            line: 0,
            message: format!(
                "a model is one query, found {} statements",
                statements.len()
            ),
        });
    };
    if !matches!(statement, Statement::Query(_)) {
        return Err(Error::Sql {
            file: file.into(),
            line: 0,
            message: "a model must be a query (SELECT or WITH)".into(),
        });
    }
    let mut collector = Collector::default();
    let _ = statement.visit(&mut collector);
    let mut refs: Vec<TableRef> = collector
        .refs
        .into_iter()
        .filter(|r| !collector.ctes.contains(&r.name))
        .collect();
    let mut seen = BTreeSet::new();
    refs.retain(|r| seen.insert(r.name.clone()));
    Ok(refs)
}

/// The line in sqlparser's "... at Line: 3, Column: 5" messages.
pub(crate) fn parse_error_line(message: &str) -> u64 {
    message
        .split("Line: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_skip_ctes_and_table_functions() {
        let sql = "-- x = 1\nWITH a AS (SELECT * FROM participants)\nSELECT * FROM a\nJOIN Reference.Geography g ON true\nCROSS JOIN generate_series(1, 3)\nWHERE x IN (SELECT y FROM stg_people)";
        let refs = references(sql, "m.sql").unwrap();
        let names: Vec<(&str, u64)> = refs.iter().map(|r| (r.name.as_str(), r.line)).collect();
        assert_eq!(
            names,
            vec![
                ("participants", 2),
                ("reference.geography", 4),
                ("stg_people", 6)
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = references("SELECT *\nFROM t\nWHERE (", "m.sql").unwrap_err();
        assert!(err.to_string().starts_with("m.sql:3:"), "{err}");
        let err = references("SELECT *\nFROM t\nWHERE ) x\nAND y", "m.sql").unwrap_err();
        assert!(err.to_string().starts_with("m.sql:3:"), "{err}");
        let err = references("SELECT 1; SELECT 2", "m.sql").unwrap_err();
        assert!(err.to_string().contains("one query"), "{err}");
    }
}

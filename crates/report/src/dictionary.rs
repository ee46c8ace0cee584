//! The data dictionary: every table and model, its columns, types, descriptions and lineage.

use std::collections::{BTreeMap, BTreeSet};

use ansinh_models::{Materialization, Project, order};
use ansinh_warehouse::dictionary::{column_doc, table_doc};
use arrow::datatypes::{DataType, Schema};
use datafusion::prelude::SessionContext;

use crate::{Error, Result, escape};

/// One column.
pub struct Column {
    /// Name.
    pub name: String,
    /// Type, as BI tools see it in the files.
    pub data_type: String,
    /// Whether it may be null.
    pub nullable: bool,
    /// What it holds.
    pub description: String,
}

/// One table or model.
pub struct Entry {
    /// Table or model name.
    pub name: String,
    /// What it is (Delta table, Parquet mart, view) and where it comes from.
    pub kind: String,
    /// What it holds.
    pub description: String,
    /// Where its data is, under the warehouse root.
    pub file: Option<String>,
    /// Its columns.
    pub columns: Vec<Column>,
    /// What it reads.
    pub upstream: Vec<String>,
    /// What reads it.
    pub downstream: Vec<String>,
}

/// Types as BI tools see them in the files (marts store plain UTF-8 strings).
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => "Utf8".into(),
        DataType::Dictionary(_, value) => type_name(value),
        other => other.to_string(),
    }
}

fn columns(schema: &Schema, described: impl Fn(&str) -> String) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: type_name(f.data_type()),
            nullable: f.is_nullable(),
            description: described(f.name()),
        })
        .collect()
}

/// Every table of the warehouse and every model of the project, with its columns and lineage.
/// The models are planned over `catalog`'s tables as views: their schemas do not need data.
pub async fn entries(project: &Project, ctx: &SessionContext) -> Result<Vec<Entry>> {
    let mut downstream: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for model in project.models.values() {
        for input in model.depends_on.iter().chain(&model.sources) {
            downstream
                .entry(input.clone())
                .or_default()
                .insert(model.name.clone());
        }
    }
    let feeds = |name: &str| -> Vec<String> {
        downstream
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for spec in ansinh_warehouse::table_specs() {
        let name = spec.name.replace('/', ".");
        out.push(Entry {
            kind: if spec.partitions.is_empty() {
                "Delta table".into()
            } else {
                format!("Delta table, partitioned by {}", spec.partitions.join(", "))
            },
            description: table_doc(&name).to_string(),
            file: Some(format!("<warehouse>/tables/{}/", spec.name)),
            columns: columns(&(spec.schema)(), |c| column_doc(c).to_string()),
            upstream: Vec::new(),
            downstream: feeds(&name),
            name,
        });
    }
    ansinh_models::register_views(project, ctx).await?;
    for name in order(project)? {
        let model = &project.models[&name];
        let schema = ctx
            .table(name.as_str())
            .await
            .map_err(|e| Error::Query {
                what: "a model's schema",
                source: Box::new(e),
            })?
            .schema()
            .as_arrow()
            .clone();
        let kind = match model.materialization {
            Materialization::View => "view (computed when read)".to_string(),
            Materialization::Parquet if model.partitioned() => {
                format!("Parquet {}, one partition per month", model.layer)
            }
            Materialization::Parquet => format!("Parquet {}", model.layer),
        };
        let file = (model.materialization == Materialization::Parquet).then(|| {
            let folder = if model.layer == ansinh_models::Layer::Marts {
                "marts"
            } else {
                "staging"
            };
            if model.partitioned() {
                format!("<warehouse>/{folder}/{name}/period=YYYY-MM-01/part-0.parquet")
            } else {
                format!("<warehouse>/{folder}/{name}.parquet")
            }
        });
        out.push(Entry {
            kind: format!("{kind}, from {}", model.file),
            description: model.config.description.clone().unwrap_or_default(),
            file,
            columns: columns(&schema, |c| {
                model.config.columns.get(c).cloned().unwrap_or_default()
            }),
            upstream: model
                .depends_on
                .iter()
                .chain(&model.sources)
                .cloned()
                .collect(),
            downstream: feeds(&name),
            name,
        });
    }
    Ok(out)
}

/// What the `boundary` of the marts means, with a query for each.
const BOUNDARIES: [&str; 2] = [
    "as_of_period: each month on the units it had (old Khanh Hoa 56, Ninh Thuan 58 and their \
     districts until June 2025; the merged 56 and its communes after), with the denominators of \
     reference boundary before_2025_07, then from_2025_07.",
    "current: every month on today's units (56 is the merged province in every month, each \
     person counted once; old communes go to today's through reference.commune_crosswalk), with \
     the denominators of from_2025_07. Trends read it: it is continuous across July 2025.",
];
const BOUNDARY_QUERIES: [&str; 2] = [
    "SELECT period, unit_code, rate FROM coverage_monthly WHERE boundary = 'as_of_period' \
     AND unit_level = 'province' AND indicator = 'hi_coverage' ORDER BY period, unit_code",
    "SELECT period, numerator, rate, complete FROM coverage_monthly WHERE boundary = 'current' \
     AND unit_code = '56' AND indicator = 'si_compulsory_coverage' ORDER BY period",
];

/// The dictionary in Markdown.
pub fn markdown(entries: &[Entry]) -> String {
    let mut out = String::from(
        "# Data dictionary\n\nEvery table of the warehouse and every model of `sql/`: columns, \
         types, descriptions and lineage. Written by `ansinh docs`.\n\n",
    );
    out.push_str("Marts that report units have a `boundary`:\n\n");
    for (meaning, query) in BOUNDARIES.iter().zip(BOUNDARY_QUERIES) {
        out.push_str(&format!("- {meaning}\n\n  ```sql\n  {query}\n  ```\n"));
    }
    out.push('\n');
    for e in entries {
        out.push_str(&format!("- [{}](#{})\n", e.name, e.name.replace('.', "")));
    }
    for e in entries {
        out.push_str(&format!("\n## {}\n\n*{}*", e.name, e.kind));
        if let Some(file) = &e.file {
            out.push_str(&format!(" — `{file}`"));
        }
        out.push_str("\n\n");
        if !e.description.is_empty() {
            out.push_str(&format!("{}\n\n", e.description));
        }
        out.push_str("| column | type | nullable | description |\n|---|---|---|---|\n");
        for c in &e.columns {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                c.name,
                c.data_type,
                if c.nullable { "yes" } else { "no" },
                c.description.replace('|', "\\|")
            ));
        }
        if !e.upstream.is_empty() {
            out.push_str(&format!("\nReads: {}\n", e.upstream.join(", ")));
        }
        if !e.downstream.is_empty() {
            out.push_str(&format!("\nRead by: {}\n", e.downstream.join(", ")));
        }
    }
    out
}

fn links(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("<a href=\"#{}\">{}</a>", escape(n), escape(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The dictionary as one HTML page.
pub fn html(entries: &[Entry]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>ansinh data dictionary</title><style>\
         body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}\
         table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
         th{background:#f2f2f2}code{font-size:.95em}.kind{color:#555}section{margin-top:2rem}\
         </style></head><body>\n<h1>Data dictionary</h1>\n<p>Every table of the warehouse and \
         every model of <code>sql/</code>: columns, types, descriptions and lineage. Written by \
         <code>ansinh docs</code>.</p>\n",
    );
    out.push_str("<p>Marts that report units have a <code>boundary</code>:</p>\n<ul>\n");
    for (meaning, query) in BOUNDARIES.iter().zip(BOUNDARY_QUERIES) {
        out.push_str(&format!(
            "<li>{}<pre><code>{}</code></pre></li>\n",
            escape(meaning),
            escape(query)
        ));
    }
    out.push_str("</ul>\n<ul>\n");
    for e in entries {
        out.push_str(&format!(
            "<li><a href=\"#{0}\">{0}</a></li>\n",
            escape(&e.name)
        ));
    }
    out.push_str("</ul>\n");
    for e in entries {
        out.push_str(&format!(
            "<section id=\"{0}\"><h2>{0}</h2>\n<p class=\"kind\">{1}{2}</p>\n",
            escape(&e.name),
            escape(&e.kind),
            e.file
                .as_ref()
                .map(|f| format!(" — <code>{}</code>", escape(f)))
                .unwrap_or_default()
        ));
        if !e.description.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", escape(&e.description)));
        }
        out.push_str(
            "<table><tr><th>column</th><th>type</th><th>nullable</th><th>description</th></tr>\n",
        );
        for c in &e.columns {
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&c.name),
                escape(&c.data_type),
                if c.nullable { "yes" } else { "no" },
                escape(&c.description)
            ));
        }
        out.push_str("</table>\n");
        if !e.upstream.is_empty() {
            out.push_str(&format!("<p>Reads: {}</p>\n", links(&e.upstream)));
        }
        if !e.downstream.is_empty() {
            out.push_str(&format!("<p>Read by: {}</p>\n", links(&e.downstream)));
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

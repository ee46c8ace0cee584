//! `ansinh report`: one self-contained HTML page with charts drawn from the marts (inline SVG,
//! no scripts, no network), for people who would rather look than read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use clap::Args;
use datafusion::prelude::SessionContext;

use crate::commands::docs::escape;
use crate::commands::models::query_session;
use crate::exit::{self, Failure};
use crate::settings::{self, Global};

/// Options of `ansinh report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
}

const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

const INDICATORS: [(&str, &str); 6] = [
    ("si_coverage", "Social insurance (compulsory + voluntary)"),
    ("si_compulsory_coverage", "Compulsory social insurance"),
    ("si_voluntary_coverage", "Voluntary social insurance"),
    ("ui_coverage", "Unemployment insurance"),
    ("hi_coverage", "Health insurance"),
    (
        "pension_receipt_rate",
        "Pension or monthly benefit, past retirement age",
    ),
];

/// Query results as rows of display strings (empty for null).
async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<String>>, Failure> {
    let batches: Vec<RecordBatch> = ctx
        .sql(sql)
        .await
        .map_err(Failure::usage)?
        .collect()
        .await
        .map_err(Failure::usage)?;
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for batch in &batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()
            .map_err(Failure::usage)?;
        for r in 0..batch.num_rows() {
            out.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(out)
}

/// A line series: label, colour and a value (a fraction) per x position.
struct Series {
    label: String,
    values: Vec<Option<f64>>,
}

/// A horizontal target line.
struct Target {
    label: String,
    value: f64,
}

/// An SVG line chart of fractions shown in percent.
fn line_chart(
    title: &str,
    months: &[String],
    series: &[Series],
    targets: &[Target],
    (width, height): (f64, f64),
) -> String {
    let (left, right, top, bottom) = (44.0, 118.0, 26.0, 30.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(targets.iter().map(|t| t.value))
        .fold(0.0f64, f64::max);
    let top_value = if highest <= 0.0 { 0.01 } else { highest * 1.12 };
    let x = |i: usize| {
        if months.len() <= 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (months.len() - 1) as f64
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - v / top_value);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"{left}\" y=\"16\" class=\"title\">{t}</text>",
        t = escape(title)
    );
    for k in 0..=4 {
        let v = top_value * k as f64 / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"grid\"/>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" class=\"axis\" text-anchor=\"end\">{p:.1}%</text>",
            x2 = left + plot_w,
            yy = y(v),
            lx = left - 4.0,
            ty = y(v) + 3.0,
            p = v * 100.0
        );
    }
    let step = (months.len() / 6).max(1);
    for (i, month) in months.iter().enumerate() {
        if i % step == 0 || i + 1 == months.len() {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                x(i),
                height - 10.0,
                escape(month)
            );
        }
    }
    for target in targets {
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"target\"/>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" class=\"target-label\">{l} {p:.2}%</text>",
            x2 = left + plot_w,
            yy = y(target.value),
            lx = left + plot_w + 4.0,
            ty = y(target.value) + 3.0,
            l = escape(&target.label),
            p = target.value * 100.0
        );
    }
    for (n, s) in series.iter().enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        if points.is_empty() {
            continue;
        }
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            points.join(" ")
        );
        if let Some((i, Some(last))) = s.values.iter().enumerate().rev().find(|(_, v)| v.is_some())
        {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"series-label\" fill=\"{colour}\">{} {:.2}%</text>",
                x(i),
                y(*last),
                left + plot_w + 4.0,
                y(*last) - 6.0 + 12.0 * n as f64,
                escape(&s.label),
                last * 100.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1400px}\
h1{margin-bottom:.2rem}.note{color:#555}section{margin-top:2rem}\
.grid-charts{display:flex;flex-wrap:wrap;gap:.5rem}\
svg.chart{background:#fff;border:1px solid #ddd}\
svg .title{font-size:13px;font-weight:600}svg .axis{font-size:10px;fill:#555}\
svg .grid{stroke:#eee}svg .target{stroke:#444;stroke-dasharray:5 4}\
svg .target-label,svg .series-label{font-size:10px}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}\
th{background:#f2f2f2}td.text{text-align:left}\
.achieved{background:#c7eac3}.on_track{background:#e3f2c1}.off_track{background:#f8c9c4}.no_data{background:#eee}";

fn pct(text: &str) -> String {
    text.parse::<f64>()
        .map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_default()
}

/// Builds the report from the marts of `ctx`.
async fn render_report(ctx: &SessionContext) -> Result<String, Failure> {
    let province = rows(
        ctx,
        "SELECT unit_code, name FROM reference.geography WHERE level = 'province' LIMIT 1",
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| Failure::usage(anyhow::anyhow!("reference.geography has no province")))?;
    let (province_code, province_name) = (province[0].clone(), province[1].clone());
    let coverage = rows(
        ctx,
        "SELECT CAST(period AS VARCHAR) AS month, unit_code, indicator, rate FROM coverage_monthly \
         ORDER BY period",
    )
    .await?;
    if coverage.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "coverage_monthly is empty: load deliveries and run `ansinh build` first"
        )));
    }
    let months: Vec<String> = coverage
        .iter()
        .map(|r| r[0][..7].to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut rate: BTreeMap<(String, String), Vec<Option<f64>>> = BTreeMap::new();
    for r in &coverage {
        let values = rate
            .entry((r[1].clone(), r[2].clone()))
            .or_insert_with(|| vec![None; months.len()]);
        values[index[&r[0][..7]]] = r[3].parse().ok();
    }
    let goals = rows(
        ctx,
        "SELECT indicator, unit_code, CAST(target_year AS VARCHAR) AS year, target_rate, actual_rate, \
         gap_pp, gap_persons, CAST(as_of AS VARCHAR) AS as_of_day, projected_rate, status \
         FROM goal_progress ORDER BY unit_code, indicator, target_year",
    )
    .await?;
    // Targets of years before the first month are history: leave them out of the charts.
    let first_year = months
        .first()
        .map(|m| m[..4].to_string())
        .unwrap_or_default();
    let targets_of = |unit: &str, indicator: &str| -> Vec<Target> {
        goals
            .iter()
            .filter(|g| g[1] == unit && g[0] == indicator && g[2] >= first_year)
            .filter_map(|g| {
                Some(Target {
                    label: format!("{} target", g[2]),
                    value: g[3].parse().ok()?,
                })
            })
            .collect()
    };
    let districts = rows(
        ctx,
        "SELECT unit_code, name FROM reference.geography WHERE level = 'district' ORDER BY unit_code",
    )
    .await?;

    let mut html = format!(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <title>Social insurance coverage: {p}</title><style>{STYLE}</style></head><body>\n\
         <h1>Social insurance coverage: {p}</h1>\n<p class=\"note\">Months {} to {}. Rates are \
         shares of the indicator's population; dashed lines are the targets. Drawn by \
         <code>ansinh report</code> from the marts.</p>\n",
        escape(months.first().map(String::as_str).unwrap_or("")),
        escape(months.last().map(String::as_str).unwrap_or("")),
        p = escape(&province_name)
    );

    html.push_str("<section id=\"trends\"><h2>Each indicator in the province</h2><div class=\"grid-charts\">\n");
    for (indicator, title) in INDICATORS {
        let Some(values) = rate.get(&(province_code.clone(), indicator.to_string())) else {
            continue;
        };
        let series = [Series {
            label: "actual".into(),
            values: values.clone(),
        }];
        html.push_str(&line_chart(
            title,
            &months,
            &series,
            &targets_of(&province_code, indicator),
            (660.0, 270.0),
        ));
        html.push('\n');
    }
    html.push_str("</div></section>\n");

    for (indicator, title) in [INDICATORS[0], INDICATORS[4]] {
        let _ = writeln!(
            html,
            "<section id=\"districts-{indicator}\"><h2>{} by district</h2><div class=\"grid-charts\">",
            escape(title)
        );
        for d in &districts {
            let Some(values) = rate.get(&(d[0].clone(), indicator.to_string())) else {
                continue;
            };
            let series = [Series {
                label: String::new(),
                values: values.clone(),
            }];
            html.push_str(&line_chart(
                &format!("{} ({})", d[1], d[0]),
                &months,
                &series,
                &targets_of(&d[0], indicator),
                (330.0, 180.0),
            ));
            html.push('\n');
        }
        html.push_str("</div></section>\n");
    }

    let pension = rows(
        ctx,
        &format!(
            "SELECT CAST(period AS VARCHAR) AS month, sex, rate FROM pension_receipt_monthly \
             WHERE unit_code = '{province_code}' ORDER BY period, sex"
        ),
    )
    .await?;
    let mut by_sex: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for r in &pension {
        if let Some(&i) = index.get(&r[0][..7.min(r[0].len())]) {
            by_sex
                .entry(r[1].clone())
                .or_insert_with(|| vec![None; months.len()])[i] = r[2].parse().ok();
        }
    }
    let series: Vec<Series> = by_sex
        .into_iter()
        .map(|(sex, values)| Series {
            label: match sex.as_str() {
                "M" => "men".to_string(),
                "F" => "women".to_string(),
                "T" => "all".to_string(),
                other => other.to_string(),
            },
            values,
        })
        .collect();
    html.push_str(
        "<section id=\"pension-by-sex\"><h2>Pension receipt past retirement age, by sex</h2>\n",
    );
    html.push_str(&line_chart(
        "Receiving a pension or monthly benefit",
        &months,
        &series,
        &[],
        (660.0, 270.0),
    ));
    html.push_str("</section>\n");

    html.push_str(
        "<section id=\"goals\"><h2>Progress toward the targets</h2>\n<table><tr><th>unit</th>\
         <th>indicator</th><th>target year</th><th>target</th><th>actual</th><th>as of</th>\
         <th>gap (pp)</th><th>gap (persons)</th><th>projected</th><th>status</th></tr>\n",
    );
    let names: BTreeMap<String, String> = districts
        .iter()
        .map(|d| (d[0].clone(), d[1].clone()))
        .chain([(province_code.clone(), province_name.clone())])
        .collect();
    for g in &goals {
        let _ = writeln!(
            html,
            "<tr class=\"{status}\"><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"text status\">{status}</td></tr>",
            escape(names.get(&g[1]).unwrap_or(&g[1])),
            escape(&g[0]),
            escape(&g[2]),
            pct(&g[3]),
            pct(&g[4]),
            escape(&g[7]),
            g[5].parse::<f64>()
                .map(|v| format!("{v:.2}"))
                .unwrap_or_default(),
            escape(&g[6]),
            pct(&g[8]),
            status = escape(&g[9])
        );
    }
    html.push_str("</table></section>\n");

    let quality = rows(
        ctx,
        "SELECT CAST(period AS VARCHAR) AS month, kind, state, COUNT(*) AS n, SUM(rows_loaded) AS loaded, \
         SUM(COALESCE(rows_rejected, 0)) AS rejected FROM data_quality GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .await?;
    html.push_str(
        "<section id=\"quality\"><h2>Data quality</h2>\n<table><tr><th>period</th><th>kind</th>\
         <th>state</th><th>deliveries</th><th>rows loaded</th><th>rows rejected</th></tr>\n",
    );
    for q in &quality {
        let _ = writeln!(
            html,
            "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&q[0]),
            escape(&q[1]),
            escape(&q[2]),
            escape(&q[3]),
            escape(&q[4]),
            escape(&q[5])
        );
    }
    html.push_str("</table></section>\n</body></html>\n");
    Ok(html)
}

/// Runs `ansinh report`.
pub async fn run(global: &Global, args: ReportArgs) -> Result<u8, Failure> {
    let config = settings::config(global)?;
    let (ctx, _, _) = query_session(&config).await?;
    let html = render_report(&ctx).await?;
    let tmp = args.out.with_extension("html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", args.out.display())))?;
    println!("wrote {}", args.out.display());
    Ok(exit::SUCCESS)
}

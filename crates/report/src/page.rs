//! `ansinh report`: one self-contained HTML page with charts drawn from the marts (inline SVG,
//! no scripts, no network), for people who would rather look than read. The marts are read
//! into typed rows ([`ReportData`]), which [`render`] turns into the page.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ansinh_warehouse::values::{floats, integers, strings};
use arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;

use crate::{Error, Result, escape};

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

/// An administrative unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// One rate of `coverage_monthly`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The unit.
    pub unit_code: String,
    /// The indicator.
    pub indicator: String,
    /// The rate, a fraction.
    pub rate: Option<f64>,
}

/// One row of `goal_progress`.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalRow {
    /// The indicator.
    pub indicator: String,
    /// The unit.
    pub unit_code: String,
    /// The target's year.
    pub target_year: i64,
    /// The target, a fraction.
    pub target_rate: Option<f64>,
    /// The latest rate, a fraction.
    pub actual_rate: Option<f64>,
    /// Percentage points to the target.
    pub gap_pp: Option<f64>,
    /// Persons to the target.
    pub gap_persons: Option<i64>,
    /// The month the actual rate is of, as a date.
    pub as_of: Option<String>,
    /// The rate projected for the target's year.
    pub projected_rate: Option<f64>,
    /// `achieved`, `on_track`, `off_track` or `no_data`.
    pub status: String,
}

/// One rate of `pension_receipt_monthly` in the province.
#[derive(Debug, Clone, PartialEq)]
pub struct PensionRow {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// `M`, `F` or `T` (all).
    pub sex: String,
    /// The rate, a fraction.
    pub rate: Option<f64>,
    /// The rate counting only the persons listed by the offices' extracts: the rest of `rate`
    /// is the social-pension lists' contribution.
    pub offices_rate: Option<f64>,
}

/// Deliveries of one period, kind and state in `data_quality`.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRow {
    /// The month, as a date.
    pub month: String,
    /// The delivery kind.
    pub kind: String,
    /// The delivery state.
    pub state: String,
    /// Deliveries.
    pub deliveries: i64,
    /// Rows loaded.
    pub rows_loaded: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
}

/// Everything the page shows, read from the marts.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// The province.
    pub province: Unit,
    /// Its units below the province today: districts, or communes where there are no
    /// districts any more (from July 2025).
    pub districts: Vec<Unit>,
    /// What those units are: `district` or `commune`.
    pub local_level: String,
    /// Coverage rates, by period.
    pub coverage: Vec<CoverageRow>,
    /// Progress toward the targets.
    pub goals: Vec<GoalRow>,
    /// Pension receipt in the province, by sex.
    pub pension: Vec<PensionRow>,
    /// Data quality.
    pub quality: Vec<QualityRow>,
}

async fn query(ctx: &SessionContext, what: &'static str, sql: &str) -> Result<Vec<RecordBatch>> {
    let error = |source| Error::Query {
        what,
        source: Box::new(source),
    };
    ctx.sql(sql)
        .await
        .map_err(error)?
        .collect()
        .await
        .map_err(error)
}

fn text(values: Vec<Option<String>>) -> impl Iterator<Item = String> {
    values.into_iter().map(Option::unwrap_or_default)
}

fn month(date: &str) -> String {
    date.chars().take(7).collect()
}

/// The units of `level` that exist today (open validity), each once.
async fn units(ctx: &SessionContext, level: &str) -> Result<Vec<Unit>> {
    let batches = query(
        ctx,
        "reference.geography",
        &format!(
            "SELECT unit_code, MIN(name) AS name FROM reference.geography \
             WHERE level = '{level}' AND valid_to IS NULL GROUP BY unit_code ORDER BY unit_code"
        ),
    )
    .await?;
    Ok(text(strings(&batches, "unit_code")?)
        .zip(text(strings(&batches, "name")?))
        .map(|(code, name)| Unit { code, name })
        .collect())
}

impl ReportData {
    /// Reads the marts of `ctx`.
    pub async fn read(ctx: &SessionContext) -> Result<Self> {
        let province = units(ctx, "province")
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Empty("reference.geography has no province".into()))?;
        let (mut districts, mut local_level) = (units(ctx, "district").await?, "district");
        if districts.is_empty() {
            (districts, local_level) = (units(ctx, "commune").await?, "commune");
        }

        let b = query(
            ctx,
            "coverage_monthly",
            // Today's units, continuous across July 2025.
            &format!(
                "SELECT CAST(period AS VARCHAR) AS month, unit_code, indicator, rate \
                 FROM coverage_monthly WHERE boundary = 'current' \
                 AND unit_level IN ('province', '{local_level}') ORDER BY period"
            ),
        )
        .await?;
        let coverage: Vec<CoverageRow> = text(strings(&b, "month")?)
            .zip(text(strings(&b, "unit_code")?))
            .zip(text(strings(&b, "indicator")?))
            .zip(floats(&b, "rate")?)
            .map(|(((m, unit_code), indicator), rate)| CoverageRow {
                month: month(&m),
                unit_code,
                indicator,
                rate,
            })
            .collect();
        if coverage.is_empty() {
            return Err(Error::Empty(
                "coverage_monthly is empty: load deliveries and run `ansinh build` first".into(),
            ));
        }

        let b = query(
            ctx,
            "goal_progress",
            "SELECT indicator, unit_code, target_year, target_rate, actual_rate, gap_pp, \
             gap_persons, CAST(as_of AS VARCHAR) AS as_of_day, projected_rate, status \
             FROM goal_progress ORDER BY unit_code, indicator, target_year",
        )
        .await?;
        let (indicator, unit, year) = (
            strings(&b, "indicator")?,
            strings(&b, "unit_code")?,
            integers(&b, "target_year")?,
        );
        let (target, actual, gap_pp, gap_persons) = (
            floats(&b, "target_rate")?,
            floats(&b, "actual_rate")?,
            floats(&b, "gap_pp")?,
            integers(&b, "gap_persons")?,
        );
        let (as_of, projected, status) = (
            strings(&b, "as_of_day")?,
            floats(&b, "projected_rate")?,
            strings(&b, "status")?,
        );
        let goals = (0..indicator.len())
            .map(|i| GoalRow {
                indicator: indicator[i].clone().unwrap_or_default(),
                unit_code: unit[i].clone().unwrap_or_default(),
                target_year: year[i].unwrap_or_default(),
                target_rate: target[i],
                actual_rate: actual[i],
                gap_pp: gap_pp[i],
                gap_persons: gap_persons[i],
                as_of: as_of[i].clone(),
                projected_rate: projected[i],
                status: status[i].clone().unwrap_or_default(),
            })
            .collect();

        let b = query(
            ctx,
            "pension_receipt_monthly",
            &format!(
                "SELECT CAST(period AS VARCHAR) AS month, sex, rate, \
                 CASE WHEN population_past_age > 0 THEN from_offices / population_past_age END \
                 AS offices_rate FROM pension_receipt_monthly \
                 WHERE boundary = 'current' AND unit_code = '{}' ORDER BY period, sex",
                province.code.replace('\'', "''")
            ),
        )
        .await?;
        let pension = text(strings(&b, "month")?)
            .zip(text(strings(&b, "sex")?))
            .zip(floats(&b, "rate")?)
            .zip(floats(&b, "offices_rate")?)
            .map(|(((m, sex), rate), offices_rate)| PensionRow {
                month: month(&m),
                sex,
                rate,
                offices_rate,
            })
            .collect();

        let b = query(
            ctx,
            "data_quality",
            "SELECT CAST(period AS VARCHAR) AS month, kind, state, COUNT(*) AS n, \
             SUM(rows_loaded) AS loaded, SUM(COALESCE(rows_rejected, 0)) AS rejected \
             FROM data_quality GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .await?;
        let quality = text(strings(&b, "month")?)
            .zip(text(strings(&b, "kind")?))
            .zip(text(strings(&b, "state")?))
            .zip(integers(&b, "n")?)
            .zip(integers(&b, "loaded")?)
            .zip(integers(&b, "rejected")?)
            .map(
                |(((((month, kind), state), n), loaded), rejected)| QualityRow {
                    month,
                    kind,
                    state,
                    deliveries: n.unwrap_or_default(),
                    rows_loaded: loaded.unwrap_or_default(),
                    rows_rejected: rejected.unwrap_or_default(),
                },
            )
            .collect();
        Ok(Self {
            province,
            districts,
            local_level: local_level.to_string(),
            coverage,
            goals,
            pension,
            quality,
        })
    }
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

/// The first month of the merged province.
const MERGER_MONTH: &str = "2025-07";

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
    // The merger of 1 July 2025: the series is on today's units on both sides of it.
    if let Some(i) = months
        .iter()
        .position(|m| m == MERGER_MONTH)
        .filter(|&i| i > 0)
    {
        let _ = write!(
            svg,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{top}\" y2=\"{y2:.1}\" class=\"merger\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" class=\"axis\">{MERGER_MONTH}: merged province</text>",
            xx = x(i),
            y2 = top + plot_h,
            tx = x(i) + 3.0,
            ty = top + 10.0,
        );
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
svg .merger{stroke:#999;stroke-dasharray:2 3}\
svg .target-label,svg .series-label{font-size:10px}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}\
th{background:#f2f2f2}td.text{text-align:left}\
.achieved{background:#c7eac3}.on_track{background:#e3f2c1}.off_track{background:#f8c9c4}.no_data{background:#eee}";

fn pct(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_default()
}

/// The page for `data`.
pub fn render(data: &ReportData) -> String {
    let province_code = &data.province.code;
    let months: Vec<String> = data
        .coverage
        .iter()
        .map(|r| r.month.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut rate: BTreeMap<(&str, &str), Vec<Option<f64>>> = BTreeMap::new();
    for r in &data.coverage {
        let values = rate
            .entry((r.unit_code.as_str(), r.indicator.as_str()))
            .or_insert_with(|| vec![None; months.len()]);
        if let Some(&i) = index.get(r.month.as_str()) {
            values[i] = r.rate;
        }
    }
    // Targets of years before the first month are history: leave them out of the charts.
    let first_year: i64 = months
        .first()
        .and_then(|m| m.get(..4))
        .and_then(|y| y.parse().ok())
        .unwrap_or_default();
    let targets_of = |unit: &str, indicator: &str| -> Vec<Target> {
        data.goals
            .iter()
            .filter(|g| {
                g.unit_code == unit && g.indicator == indicator && g.target_year >= first_year
            })
            .filter_map(|g| {
                Some(Target {
                    label: format!("{} target", g.target_year),
                    value: g.target_rate?,
                })
            })
            .collect()
    };

    let mut html = format!(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <title>Social insurance coverage: {p}</title><style>{STYLE}</style></head><body>\n\
         <h1>Social insurance coverage: {p}</h1>\n<p class=\"note\">Months {} to {}. Rates are \
         shares of the indicator's population; dashed lines are the targets. Drawn by \
         <code>ansinh report</code> from the marts.</p>\n",
        escape(months.first().map(String::as_str).unwrap_or("")),
        escape(months.last().map(String::as_str).unwrap_or("")),
        p = escape(&data.province.name)
    );

    html.push_str("<section id=\"trends\"><h2>Each indicator in the province</h2><div class=\"grid-charts\">\n");
    for (indicator, title) in INDICATORS {
        let Some(values) = rate.get(&(province_code.as_str(), indicator)) else {
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
            &targets_of(province_code, indicator),
            (660.0, 270.0),
        ));
        html.push('\n');
    }
    html.push_str("</div></section>\n");

    for (indicator, title) in [INDICATORS[0], INDICATORS[4]] {
        let _ = writeln!(
            html,
            "<section id=\"districts-{indicator}\"><h2>{} by {}</h2><div class=\"grid-charts\">",
            escape(title),
            escape(&data.local_level)
        );
        for d in &data.districts {
            let Some(values) = rate.get(&(d.code.as_str(), indicator)) else {
                continue;
            };
            let series = [Series {
                label: String::new(),
                values: values.clone(),
            }];
            html.push_str(&line_chart(
                &format!("{} ({})", d.name, d.code),
                &months,
                &series,
                &targets_of(&d.code, indicator),
                (330.0, 180.0),
            ));
            html.push('\n');
        }
        html.push_str("</div></section>\n");
    }

    let mut by_sex: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for r in &data.pension {
        if let Some(&i) = index.get(r.month.as_str()) {
            by_sex
                .entry(r.sex.as_str())
                .or_insert_with(|| vec![None; months.len()])[i] = r.rate;
        }
    }
    let series: Vec<Series> = by_sex
        .into_iter()
        .map(|(sex, values)| Series {
            label: match sex {
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
    // Both sexes by source, against Resolution 28's lines.
    let mut offices = vec![None; months.len()];
    let mut all = vec![None; months.len()];
    for r in data.pension.iter().filter(|r| r.sex == "T") {
        if let Some(&i) = index.get(r.month.as_str()) {
            offices[i] = r.offices_rate;
            all[i] = r.rate;
        }
    }
    let series = [
        Series {
            label: "with social pensions".to_string(),
            values: all,
        },
        Series {
            label: "offices' extracts".to_string(),
            values: offices,
        },
    ];
    let lines = [
        Target {
            label: "2025: 55%".to_string(),
            value: 0.55,
        },
        Target {
            label: "2030: 60%".to_string(),
            value: 0.60,
        },
    ];
    html.push_str(
        "<p>By source, both sexes: the offices' pensions and allowances, and with the \
         social-pension lists added (each person once).</p>\n",
    );
    html.push_str(&line_chart(
        "Pension receipt by source",
        &months,
        &series,
        &lines,
        (660.0, 270.0),
    ));
    html.push_str("</section>\n");

    html.push_str(
        "<section id=\"goals\"><h2>Progress toward the targets</h2>\n<table><tr><th>unit</th>\
         <th>indicator</th><th>target year</th><th>target</th><th>actual</th><th>as of</th>\
         <th>gap (pp)</th><th>gap (persons)</th><th>projected</th><th>status</th></tr>\n",
    );
    let names: BTreeMap<&str, &str> = data
        .districts
        .iter()
        .chain([&data.province])
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    for g in &data.goals {
        let _ = writeln!(
            html,
            "<tr class=\"{status}\"><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"text status\">{status}</td></tr>",
            escape(
                names
                    .get(g.unit_code.as_str())
                    .copied()
                    .unwrap_or(&g.unit_code)
            ),
            escape(&g.indicator),
            g.target_year,
            pct(g.target_rate),
            pct(g.actual_rate),
            escape(g.as_of.as_deref().unwrap_or("")),
            g.gap_pp.map(|v| format!("{v:.2}")).unwrap_or_default(),
            g.gap_persons.map(|v| v.to_string()).unwrap_or_default(),
            pct(g.projected_rate),
            status = escape(&g.status)
        );
    }
    html.push_str("</table></section>\n");

    html.push_str(
        "<section id=\"quality\"><h2>Data quality</h2>\n<table><tr><th>period</th><th>kind</th>\
         <th>state</th><th>deliveries</th><th>rows loaded</th><th>rows rejected</th></tr>\n",
    );
    for q in &data.quality {
        let _ = writeln!(
            html,
            "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&q.month),
            escape(&q.kind),
            escape(&q.state),
            q.deliveries,
            q.rows_loaded,
            q.rows_rejected
        );
    }
    html.push_str("</table></section>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, name: &str) -> Unit {
        Unit {
            code: code.into(),
            name: name.into(),
        }
    }

    #[test]
    fn the_page_is_drawn_from_typed_rows_alone() {
        let coverage = ["2024-01", "2024-02"]
            .iter()
            .enumerate()
            .flat_map(|(i, month)| {
                ["56", "568"].map(|unit| CoverageRow {
                    month: month.to_string(),
                    unit_code: unit.into(),
                    indicator: "si_coverage".into(),
                    rate: Some(0.30 + 0.01 * i as f64),
                })
            })
            .collect();
        let data = ReportData {
            province: unit("56", "Khánh Hòa <&>"),
            districts: vec![unit("568", "Nha Trang")],
            local_level: "district".into(),
            coverage,
            goals: vec![GoalRow {
                indicator: "si_coverage".into(),
                unit_code: "56".into(),
                target_year: 2025,
                target_rate: Some(0.45),
                actual_rate: Some(0.31),
                gap_pp: Some(14.0),
                gap_persons: Some(12_345),
                as_of: Some("2024-02-01".into()),
                projected_rate: None,
                status: "off_track".into(),
            }],
            pension: vec![PensionRow {
                offices_rate: None,
                month: "2024-02".into(),
                sex: "F".into(),
                rate: Some(0.5),
            }],
            quality: vec![QualityRow {
                month: "2024-02-01".into(),
                kind: "participants".into(),
                state: "loaded".into(),
                deliveries: 9,
                rows_loaded: 1000,
                rows_rejected: 3,
            }],
        };
        let page = render(&data);
        assert!(
            page.contains("Khánh Hòa &lt;&amp;&gt;"),
            "names are escaped"
        );
        assert!(page.contains("Months 2024-01 to 2024-02"));
        assert!(
            page.contains("2025 target 45.00%"),
            "the target line is labelled"
        );
        assert!(page.contains("actual 31.00%"), "the last value is labelled");
        assert!(page.contains("Nha Trang (568)"), "a district chart");
        assert!(page.contains("women 50.00%"));
        assert!(
            page.contains("<td>14.00</td><td>12345</td>"),
            "gaps as numbers"
        );
        assert!(page.contains("<td>9</td><td>1000</td><td>3</td>"));
        assert!(!page.contains("<script"), "no scripts");
        assert!(!page.contains("merged province"), "no merger in 2024");
    }

    #[test]
    fn a_series_across_july_2025_marks_the_merger() {
        let months = ["2025-06", "2025-07", "2025-08"];
        let series = [Series {
            label: "actual".into(),
            values: vec![Some(0.3), Some(0.31), Some(0.32)],
        }];
        let months: Vec<String> = months.iter().map(|m| m.to_string()).collect();
        let svg = line_chart("SI", &months, &series, &[], (660.0, 270.0));
        assert_eq!(svg.matches("class=\"merger\"").count(), 1);
        assert!(svg.contains("2025-07: merged province"));
        // A series starting in July has nothing to mark.
        let svg = line_chart("SI", &months[1..], &series, &[], (660.0, 270.0));
        assert!(!svg.contains("class=\"merger\""));
    }
}

//! The digests a partitioned model takes of a model its months resolve through
//! (`period_digests`), kept from one build to the next.
//!
//! Taking a digest joins every month's records with the digested model: as costly as a
//! build of the months. So each is kept beside the staging models, in
//! `staging/.<model>.digests.<input>`, with what it was taken from: the query, the digested
//! model's fingerprint, and for each month the data files of the tables the query reads. A
//! build takes a digest again only for the months whose files changed. Once the digested
//! model is rebuilt, it takes it only over the rows the rebuild changed: a digest query of a
//! model is an XOR of row hashes (`bit_xor`) over an inner join with it, so a month's digest
//! moves by the XOR of what the rows that left and the rows that entered the model contribute,
//! and a rebuild that changed no row costs no query.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ansinh_core::YearMonth;
use arrow::datatypes::DataType;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::partition::{Inputs, PERIOD, digest_query, store_path};
use crate::project::Model;

/// First line of a kept digests file.
const HEADER: &str = "ansinh digests 1";

/// A model's digests of one input, and what they were taken from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    /// Hash of the digest query.
    sql: String,
    /// What the digested input was: a model's fingerprint, a table's version.
    of: String,
    /// For each month, a hash of the data files the query reads of it.
    records: BTreeMap<YearMonth, String>,
    /// The digest of each month that has one.
    pub(crate) digests: BTreeMap<YearMonth, String>,
    /// Whether the digests can be kept (the query reads some table by month).
    keepable: bool,
    /// Whether they differ from the file they were read from.
    changed: bool,
}

impl Kept {
    fn text(&self) -> String {
        let mut out = format!("{HEADER}\nsql {}\nof {}\n", self.sql, self.of);
        for (month, records) in &self.records {
            let digest = self.digests.get(month).map(String::as_str).unwrap_or("-");
            out.push_str(&format!("{month} {records} {digest}\n"));
        }
        out
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        (lines.next()? == HEADER).then_some(())?;
        let sql = lines.next()?.strip_prefix("sql ")?.to_string();
        let of = lines.next()?.strip_prefix("of ")?.to_string();
        let mut kept = Self {
            sql,
            of,
            keepable: true,
            ..Default::default()
        };
        for line in lines {
            let mut parts = line.split(' ');
            let (month, records, digest) = (parts.next()?, parts.next()?, parts.next()?);
            let month: YearMonth = month.parse().ok()?;
            kept.records.insert(month, records.to_string());
            if digest != "-" {
                kept.digests.insert(month, digest.to_string());
            }
        }
        Some(kept)
    }
}

/// Where `model` keeps its digests of `input`.
fn kept_url(root: &Url, model: &Model, input: &str) -> Result<Url> {
    root.join(&format!("staging/.{}.digests.{input}", model.name))
        .map_err(|e| write_error(model, e.to_string()))
}

fn write_error(model: &Model, message: String) -> Error {
    Error::Write {
        model: model.name.clone(),
        message,
    }
}

fn hash16(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// A digest as kept: an integer (what `bit_xor` returns, as text) in 16 hex digits, so that
/// digests taken whole and digests moved by a change read the same; `None` for zero, which is
/// what a month with no row has.
pub(crate) fn normalized(text: &str) -> Option<String> {
    let value = text
        .parse::<i64>()
        .map(|v| v as u64)
        .or_else(|_| text.parse::<u64>());
    match value {
        Ok(0) => None,
        Ok(v) => Some(format!("{v:016x}")),
        Err(_) => Some(text.to_string()),
    }
}

/// The tables the digest query reads, apart from the digested model.
fn tables_read(model: &Model, input: &str, sql: &str) -> Result<Vec<String>> {
    Ok(crate::deps::references(sql, &model.file)?
        .into_iter()
        .map(|r| r.name)
        .filter(|name| name != input)
        .collect())
}

/// For each month of the tables read by month, a hash of what the query reads of it; `None`
/// when it reads no table by month (its digests are then taken whole every time).
fn records_of(inputs: &Inputs, tables: &[String]) -> Option<BTreeMap<YearMonth, String>> {
    let by_month: Vec<&BTreeMap<YearMonth, String>> =
        tables.iter().filter_map(|t| inputs.months.get(t)).collect();
    if by_month.is_empty() {
        return None;
    }
    let months: std::collections::BTreeSet<YearMonth> =
        by_month.iter().flat_map(|m| m.keys().copied()).collect();
    Some(
        months
            .into_iter()
            .map(|month| {
                let mut text = String::new();
                for table in tables {
                    let what = match inputs.months.get(table) {
                        Some(files) => files.get(&month).cloned().unwrap_or_else(|| "none".into()),
                        None => inputs
                            .versions
                            .get(table)
                            .map(i64::to_string)
                            .unwrap_or_else(|| "none".into()),
                    };
                    text.push_str(&format!("{table}={what}\n"));
                }
                (month, hash16(&text))
            })
            .collect(),
    )
}

async fn read_kept(store: &Arc<dyn ObjectStore>, model: &Model, url: &Url) -> Option<Kept> {
    let bytes = store
        .get(&store_path(model, url).ok()?)
        .await
        .ok()?
        .bytes()
        .await
        .ok()?;
    Kept::parse(std::str::from_utf8(&bytes).ok()?)
}

/// The digest query restricted to `months`, by a filter on its `period` that the engine
/// pushes down to the tables' partitions.
async fn months_query(
    ctx: &SessionContext,
    model: &Model,
    input: &str,
    sql: &str,
    months: &[YearMonth],
) -> Result<BTreeMap<YearMonth, String>> {
    let failed = |source| Error::Execution {
        model: format!("{} (digest of {input})", model.name),
        file: model.file.clone(),
        line: 0,
        source: Box::new(source),
    };
    let planned = ctx.sql(sql).await.map_err(failed)?;
    let is_date = planned
        .schema()
        .field_with_unqualified_name(PERIOD)
        .map(|f| matches!(f.data_type(), DataType::Date32 | DataType::Date64))
        .unwrap_or(false);
    let literals: Vec<String> = months
        .iter()
        .map(|m| match is_date {
            true => format!("DATE '{m}-01'"),
            false => format!("'{m}'"),
        })
        .collect();
    let filtered = format!(
        "SELECT * FROM (\n{sql}\n) AS taken WHERE taken.{PERIOD} IN ({})",
        literals.join(", ")
    );
    digest_query(ctx, model, input, &filtered).await
}

/// `model`'s digests of `input` (`of` says what the input is now): those kept where what
/// they were taken from has not changed, taken again for the months whose files changed.
pub(crate) async fn take(
    ctx: &SessionContext,
    root: &Url,
    inputs: &Inputs,
    model: &Model,
    input: &str,
    sql: &str,
    of: String,
) -> Result<Kept> {
    let sql_hash = hash16(sql);
    let Some(records) = records_of(inputs, &tables_read(model, input, sql)?) else {
        let digests = digest_query(ctx, model, input, sql).await?;
        return Ok(Kept {
            sql: sql_hash,
            of,
            digests,
            ..Default::default()
        });
    };
    let url = kept_url(root, model, input)?;
    let store = crate::run::warehouse_store(ctx, model, &url)?;
    let before = read_kept(&store, model, &url)
        .await
        .filter(|k| k.sql == sql_hash && k.of == of);
    let Some(before) = before else {
        let digests = digest_query(ctx, model, input, sql).await?;
        return Ok(Kept {
            sql: sql_hash,
            of,
            records,
            digests,
            keepable: true,
            changed: true,
        });
    };
    let stale: Vec<YearMonth> = records
        .iter()
        .filter(|(month, files)| before.records.get(month) != Some(files))
        .map(|(month, _)| *month)
        .collect();
    let mut digests: BTreeMap<YearMonth, String> = before
        .digests
        .iter()
        .filter(|(month, _)| records.contains_key(month) && !stale.contains(month))
        .map(|(m, d)| (*m, d.clone()))
        .collect();
    if !stale.is_empty() {
        tracing::info!(model = %model.name, input, months = stale.len(), "digests taken again for the months whose files changed");
        digests.extend(months_query(ctx, model, input, sql, &stale).await?);
    }
    let changed = records != before.records || digests != before.digests;
    Ok(Kept {
        sql: sql_hash,
        of,
        records,
        digests,
        keepable: true,
        changed,
    })
}

/// Writes every kept digest that changed since it was read.
pub(crate) async fn save(
    ctx: &SessionContext,
    root: &Url,
    project: &crate::project::Project,
    kept: &mut HashMap<(String, String), Kept>,
) -> Result<()> {
    for ((name, input), k) in kept.iter_mut() {
        if !k.keepable || !k.changed {
            continue;
        }
        let Some(model) = project.models.get(name) else {
            continue;
        };
        let url = kept_url(root, model, input)?;
        let store = crate::run::warehouse_store(ctx, model, &url)?;
        store
            .put(
                &store_path(model, &url)?,
                PutPayload::from(k.text().into_bytes()),
            )
            .await
            .map_err(|e| write_error(model, e.to_string()))?;
        k.changed = false;
    }
    Ok(())
}

/// Where the digested model `built` was, before it is rebuilt: kept until the digests of it
/// have been moved by what the rebuild changed.
pub(crate) fn previous_url(root: &Url, built: &Model) -> Result<Url> {
    root.join(&format!("staging/.{}.previous.parquet", built.name))
        .map_err(|e| write_error(built, e.to_string()))
}

fn changed_url(root: &Url, built: &Model) -> Result<Url> {
    root.join(&format!("staging/.{}.changed.parquet", built.name))
        .map_err(|e| write_error(built, e.to_string()))
}

/// XOR of two digests as kept.
fn xor(a: Option<&String>, b: &str) -> Option<Option<String>> {
    let value = |text: &str| u64::from_str_radix(text, 16).ok();
    let a = match a {
        Some(a) => value(a)?,
        None => 0,
    };
    let x = a ^ value(b)?;
    Some((x != 0).then(|| format!("{x:016x}")))
}

/// Once `built` has been rebuilt (its file is registered under its name, what it was is at
/// [`previous_url`] if it was built before), `model`'s digests of it: `before` moved by the
/// rows that changed when `before` was taken from what `built` was, taken whole otherwise.
pub(crate) async fn retake(
    ctx: &SessionContext,
    root: &Url,
    model: &Model,
    built: &Model,
    sql: &str,
    before: Option<&Kept>,
    of: String,
) -> Result<Kept> {
    let Some(before) = before.filter(|k| k.keepable && k.sql == hash16(sql)) else {
        let keepable = before.is_some_and(|k| k.keepable);
        let records = before.map(|k| k.records.clone()).unwrap_or_default();
        return whole(ctx, model, built, sql, of, records, keepable).await;
    };
    let previous = previous_url(root, built)?;
    let store = crate::run::warehouse_store(ctx, built, &previous)?;
    let previous_path = store_path(built, &previous)?;
    let previous_of = crate::freshness::file_metadata(Arc::clone(&store), previous_path)
        .await
        .and_then(|kv| kv.get(crate::freshness::FINGERPRINT_KEY).cloned());
    if previous_of.as_deref() != Some(before.of.as_str()) {
        return whole(ctx, model, built, sql, of, before.records.clone(), true).await;
    }
    let Some(changed) = changed_rows(ctx, root, built, &previous).await? else {
        return whole(ctx, model, built, sql, of, before.records.clone(), true).await;
    };
    let mut digests = before.digests.clone();
    if changed > 0 {
        let moved = over_changed_rows(ctx, root, model, built, sql).await?;
        tracing::info!(model = %model.name, input = %built.name, rows = changed, months = moved.len(), "digests moved by the rows that changed");
        for (month, delta) in &moved {
            match xor(digests.get(month), delta) {
                Some(Some(d)) => {
                    digests.insert(*month, d);
                }
                Some(None) => {
                    digests.remove(month);
                }
                None => {
                    return whole(ctx, model, built, sql, of, before.records.clone(), true).await;
                }
            }
        }
    }
    Ok(Kept {
        sql: before.sql.clone(),
        of,
        records: before.records.clone(),
        digests,
        keepable: true,
        changed: true,
    })
}

/// `model`'s digests of `built` taken over all of it.
async fn whole(
    ctx: &SessionContext,
    model: &Model,
    built: &Model,
    sql: &str,
    of: String,
    records: BTreeMap<YearMonth, String>,
    keepable: bool,
) -> Result<Kept> {
    let digests = digest_query(ctx, model, &built.name, sql).await?;
    Ok(Kept {
        sql: hash16(sql),
        of,
        records,
        digests,
        keepable,
        changed: true,
    })
}

/// Writes the rows in which `built` and what it was at `previous` differ (each side's rows the
/// other lacks) to a file beside them. How many; `None` when the two have different columns.
async fn changed_rows(
    ctx: &SessionContext,
    root: &Url,
    built: &Model,
    previous: &Url,
) -> Result<Option<u64>> {
    let failed = |e| crate::run::execution_error(built, e);
    let name = &built.name;
    let alias = format!("__previous_{name}");
    ctx.register_parquet(&alias, previous.as_str(), ParquetReadOptions::default())
        .await
        .map_err(failed)?;
    let result = async {
        let now = ctx.table(name.as_str()).await.map_err(failed)?;
        let then = ctx.table(alias.as_str()).await.map_err(failed)?;
        if now.schema().as_arrow().fields() != then.schema().as_arrow().fields() {
            return Ok(None);
        }
        let diff = ctx
            .sql(&format!(
                "SELECT * FROM (SELECT * FROM {name} EXCEPT SELECT * FROM {alias})\n\
                 UNION ALL\n\
                 SELECT * FROM (SELECT * FROM {alias} EXCEPT SELECT * FROM {name})"
            ))
            .await
            .map_err(failed)?;
        let url = changed_url(root, built)?;
        let written = diff
            .write_parquet(
                url.as_str(),
                DataFrameWriteOptions::new().with_single_file_output(true),
                None,
            )
            .await
            .map_err(failed)?;
        let rows = written
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::UInt64Array>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0);
        Ok(Some(rows))
    }
    .await;
    let _ = ctx.deregister_table(alias.as_str());
    result
}

/// The digest query of `model` over the changed rows of `built` instead of all of it.
async fn over_changed_rows(
    ctx: &SessionContext,
    root: &Url,
    model: &Model,
    built: &Model,
    sql: &str,
) -> Result<BTreeMap<YearMonth, String>> {
    let failed = |e| crate::run::execution_error(built, e);
    let name = built.name.as_str();
    let current = ctx.table_provider(name).await.map_err(failed)?;
    let changed = changed_url(root, built)?;
    ctx.deregister_table(name).map_err(failed)?;
    let registered = ctx
        .register_parquet(name, changed.as_str(), ParquetReadOptions::default())
        .await
        .map_err(failed);
    let moved = match registered {
        Ok(()) => digest_query(ctx, model, name, sql).await,
        Err(e) => Err(e),
    };
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, current).map_err(failed)?;
    moved
}

/// Deletes what [`retake`] used of `built`'s previous state.
pub(crate) async fn forget_previous(ctx: &SessionContext, root: &Url, built: &Model) {
    for url in [previous_url(root, built), changed_url(root, built)]
        .into_iter()
        .flatten()
    {
        if let (Ok(store), Ok(path)) = (
            crate::run::warehouse_store(ctx, built, &url),
            store_path(built, &url),
        ) {
            let _ = store.delete(&path).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_digests_read_back_as_written() {
        let mut kept = Kept {
            sql: "abc".into(),
            of: "f00".into(),
            keepable: true,
            ..Default::default()
        };
        let (a, b): (YearMonth, YearMonth) =
            ("2024-01".parse().unwrap(), "2024-02".parse().unwrap());
        kept.records.insert(a, "r1".into());
        kept.records.insert(b, "r2".into());
        kept.digests.insert(a, "00000000000000ff".into());
        assert_eq!(Kept::parse(&kept.text()), Some(kept));
        assert_eq!(Kept::parse("something else"), None);
    }

    #[test]
    fn digests_are_moved_by_xor_and_zero_is_none() {
        assert_eq!(normalized("-1").as_deref(), Some("ffffffffffffffff"));
        assert_eq!(normalized("255").as_deref(), Some("00000000000000ff"));
        assert_eq!(normalized("0"), None);
        let d = normalized("12345").unwrap();
        // Moving a digest by itself empties the month; moving nothing by a delta sets it.
        assert_eq!(xor(Some(&d), &d), Some(None));
        assert_eq!(xor(None, &d), Some(Some(d.clone())));
        let e = normalized("999").unwrap();
        let moved = xor(Some(&d), &e).unwrap().unwrap();
        assert_eq!(xor(Some(&moved), &e), Some(Some(d)));
    }
}

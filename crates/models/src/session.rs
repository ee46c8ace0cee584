//! The query session models and queries run in.

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array};
use arrow::datatypes::DataType;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

/// A session with a memory limit of `memory_limit_mb` MiB and spill files in `spill_dir` (the
/// system temporary directory when `None`).
pub fn session(memory_limit_mb: usize, spill_dir: Option<&str>) -> crate::Result<SessionContext> {
    // A fair pool lets every spilling operator (sorts of window functions, aggregations)
    // keep a share instead of the first one taking it all.
    let pool = FairSpillPool::new(memory_limit_mb * 1024 * 1024);
    let mut runtime = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(pool));
    if let Some(dir) = spill_dir {
        runtime = runtime.with_temp_file_path(dir);
    }
    let runtime = runtime.build_arc().map_err(|e| crate::Error::Session {
        source: Box::new(e),
    })?;
    // Spans let planning errors name the line of the model file they are about.
    let config = with_plain_strings(without_join_dynamic_filters(
        SessionConfig::new()
            .with_information_schema(true)
            .set_bool("datafusion.sql_parser.collect_spans", true),
    ));
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    ctx.register_udf(digest64());
    Ok(ctx)
}

/// `digest64(text)`: a 64-bit FNV-1a hash of the text, the same in every run and on every
/// machine. Digest queries combine it with `bit_xor` over a month's rows, which needs neither
/// an order nor the rows in memory at once.
pub fn digest64() -> ScalarUDF {
    create_udf(
        "digest64",
        vec![DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(value) => {
                let text = match value {
                    ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                        v.as_deref()
                    }
                    _ => None,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Int64(text.map(fnv1a))))
            }
            ColumnarValue::Array(array) => {
                let text = arrow::compute::cast(array, &DataType::Utf8)?;
                let hashed: Int64Array = text
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(fnv1a))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(hashed)))
            }
        }),
    )
}

fn fnv1a(text: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// `config` without dynamic filters from hash joins. With them, a join whose build side is
/// empty in some partitions can wait for ever with no thread busy (DataFusion issue #21625 and
/// its follow-ups); a model build was seen to hang so, with the beneficiaries table still empty.
/// Scans then read what a join's build side would have let them skip.
fn without_join_dynamic_filters(config: SessionConfig) -> SessionConfig {
    config.set_bool(
        "datafusion.optimizer.enable_join_dynamic_filter_pushdown",
        false,
    )
}

/// `config` with strings read and computed as plain UTF-8 arrays rather than string views. A
/// view array shares its data buffers with the arrays it was taken from, and the memory pool
/// counts those buffers whole for every batch that refers to them: a join of the fact rows with
/// the identity links gave batches that each looked as large as every link, so a sort over them
/// ran out of a 2 GB pool on 10 million rows while using a fraction of it. Plain arrays are
/// copied on `take`, and each batch is counted as what it holds.
fn with_plain_strings(config: SessionConfig) -> SessionConfig {
    config
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest64_is_fnv1a() {
        // The published FNV-1a 64 values of "" and "a".
        assert_eq!(super::fnv1a("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a("a") as u64, 0xaf63_dc4c_8601_ec8c);
    }
}

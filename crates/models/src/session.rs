//! The query session models and queries run in.

use std::sync::Arc;

use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

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
    Ok(SessionContext::new_with_config_rt(config, runtime))
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

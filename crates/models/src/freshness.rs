//! Whether a materialised model is fresh.
//!
//! A model's fingerprint is a hash of its SQL, the versions of the warehouse tables it reads
//! and the fingerprints of the models it reads (see [`crate::partition::fingerprints`]; a
//! partitioned model has one per month). Building a model records its fingerprint in the
//! Parquet file's metadata; the model is fresh while the fingerprint computed from the
//! current table versions and SQL files equals the recorded one. A new load, a restatement, a
//! changed reference table or an edited SQL file makes it, and everything downstream, stale.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use parquet::file::metadata::ParquetMetaDataReader;
use serde::Serialize;
use url::Url;

use crate::dag::order;
use crate::error::{Error, Result};
use crate::partition::{BuildOptions, Fingerprints, plan, recorded};
use crate::project::{Materialization, Project};
use crate::run::model_url;

/// Parquet metadata key of the fingerprint.
pub const FINGERPRINT_KEY: &str = "ansinh.fingerprint";
/// Parquet metadata key of the build time (RFC 3339, UTC).
pub const BUILT_AT_KEY: &str = "ansinh.built_at";

/// State of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its file matches the current inputs.
    Fresh,
    /// Its file was built from other inputs (or before fingerprints were recorded).
    Stale,
    /// It has never been built.
    Missing,
    /// A view: computed when read, always current.
    View,
}

impl State {
    /// The name shown.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Stale => "stale",
            Self::Missing => "missing",
            Self::View => "view",
        }
    }
}

/// Freshness of one model.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    /// The model.
    pub model: String,
    /// Its state.
    pub state: State,
    /// When its file was built, if it has one.
    pub built_at: Option<String>,
}

pub(crate) async fn file_metadata(
    store: Arc<dyn ObjectStore>,
    path: StorePath,
) -> Option<BTreeMap<String, String>> {
    // The footer: metadata, its length (4 bytes) and the magic `PAR1`.
    let size = store.head(&path).await.ok()?.size;
    let tail = store
        .get_range(&path, size.checked_sub(8)?..size)
        .await
        .ok()?;
    let length = u64::from(u32::from_le_bytes(tail.get(..4)?.try_into().ok()?));
    let start = size.checked_sub(8 + length)?;
    let bytes = store.get_range(&path, start..size - 8).await.ok()?;
    let metadata = ParquetMetaDataReader::decode_metadata(&bytes).ok()?;
    Some(
        metadata
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .filter_map(|k| Some((k.key.clone(), k.value.clone()?)))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// The freshness of every model, in build order. `store` holds the warehouse at `root`.
pub async fn freshness(
    project: &Project,
    root: &Url,
    store: Arc<dyn ObjectStore>,
    fingerprints: &Fingerprints,
) -> Result<Vec<Freshness>> {
    let mut out = Vec::new();
    for name in order(project)? {
        let model = &project.models[&name];
        if model.materialization == Materialization::View {
            out.push(Freshness {
                model: name,
                state: State::View,
                built_at: None,
            });
            continue;
        }
        if model.partitioned() {
            let built = recorded(&store, root, model).await?;
            let empty = BTreeMap::new();
            let current = fingerprints.partitions.get(&name).unwrap_or(&empty);
            let plan = plan(current, &built, &BuildOptions::default());
            let state = if built.is_empty() {
                State::Missing
            } else if plan.build.is_empty() && plan.delete.is_empty() {
                State::Fresh
            } else {
                State::Stale
            };
            out.push(Freshness {
                model: name,
                state,
                built_at: built.values().filter_map(|r| r.built_at.clone()).max(),
            });
            continue;
        }
        let url = model_url(root, model)?;
        let path = StorePath::from_url_path(url.path()).map_err(|e| Error::Write {
            model: name.clone(),
            message: e.to_string(),
        })?;
        let metadata = file_metadata(Arc::clone(&store), path).await;
        let (state, built_at) = match metadata {
            None => (State::Missing, None),
            Some(kv) => {
                let current = fingerprints.get(&name);
                let state = if current.is_some() && kv.get(FINGERPRINT_KEY) == current {
                    State::Fresh
                } else {
                    State::Stale
                };
                (state, kv.get(BUILT_AT_KEY).cloned())
            }
        };
        out.push(Freshness {
            model: name,
            state,
            built_at,
        });
    }
    Ok(out)
}

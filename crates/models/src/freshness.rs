//! Whether a materialised model is fresh.
//!
//! A model's fingerprint is a hash of its SQL, the versions of the warehouse tables it reads
//! and the fingerprints of the models it reads. Building a model records its fingerprint in
//! the Parquet file's metadata; the model is fresh while the fingerprint computed from the
//! current table versions and SQL files equals the recorded one. A new load, a restatement, a
//! changed reference table or an edited SQL file makes it, and everything downstream, stale.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use parquet::file::metadata::ParquetMetaDataReader;
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::dag::order;
use crate::error::{Error, Result};
use crate::project::{Materialization, Project};
use crate::run::model_url;

/// Parquet metadata key of the fingerprint.
pub const FINGERPRINT_KEY: &str = "ansinh.fingerprint";
/// Parquet metadata key of the build time (RFC 3339, UTC).
pub const BUILT_AT_KEY: &str = "ansinh.built_at";

/// The fingerprint of every model. `versions` maps table names (`participants`,
/// `reference/geography` or `reference.geography`) to their current versions; a table never
/// written counts as version -1.
pub fn fingerprints(
    project: &Project,
    versions: &HashMap<String, i64>,
) -> Result<BTreeMap<String, String>> {
    let versions: HashMap<String, i64> = versions
        .iter()
        .map(|(k, v)| (k.replace('/', "."), *v))
        .collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for name in order(project)? {
        let model = &project.models[&name];
        let mut hasher = Sha256::new();
        hasher.update(model.sql.as_bytes());
        for source in &model.sources {
            let version = versions.get(source).copied().unwrap_or(-1);
            hasher.update(format!("\0table {source} {version}").as_bytes());
        }
        for upstream in &model.depends_on {
            let fp = out.get(upstream).map(String::as_str).unwrap_or("");
            hasher.update(format!("\0model {upstream} {fp}").as_bytes());
        }
        out.insert(name, hex::encode(&hasher.finalize()[..16]));
    }
    Ok(out)
}

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

async fn file_metadata(
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
    fingerprints: &BTreeMap<String, String>,
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

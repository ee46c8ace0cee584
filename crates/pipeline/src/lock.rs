//! The warehouse lock: one writing run at a time.
//!
//! The lock is the object `<warehouse>/_lock.json`, created with a conditional put (create if
//! absent) so that two runs racing for it cannot both win, on a local disk as on object
//! storage. It names its holder and expires: the holder renews it every third of its
//! time-to-live, so a run that died stops renewing and its lock can be taken over once expired.
//! A lock left by a dead process on this same host is taken over at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ansinh_warehouse::Warehouse;
use chrono::{DateTime, Utc};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lock object's name under the warehouse root.
pub const LOCK_OBJECT: &str = "_lock.json";

/// What the lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    /// The holder's run.
    pub run_id: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// What the holder is doing (`run`, `ingest`, `build`, ...).
    pub command: String,
    /// When it was taken.
    pub acquired_at: DateTime<Utc>,
    /// When it expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// A held lock; renewed in the background until [`WarehouseLock::release`].
#[derive(Debug)]
pub struct WarehouseLock {
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    info: LockInfo,
    renewer: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

/// Takes the warehouse lock for `command`, runs `work`, and releases the lock whatever the
/// outcome. A lock held by another run is an infrastructure error (retry later).
pub async fn locked<T>(
    warehouse: &Warehouse,
    command: &str,
    ttl_seconds: u64,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let lock = WarehouseLock::acquire(
        warehouse,
        &crate::runs::new_run_id(Utc::now()),
        command,
        Duration::from_secs(ttl_seconds),
    )
    .await?;
    let result = work.await;
    if let Err(e) = lock.release().await {
        tracing::warn!("cannot release the warehouse lock: {e}");
    }
    result
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

fn process_alive(pid: u32) -> bool {
    // Where /proc is not available the process is assumed alive and the lock left to expire.
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn lock_error(path: &StorePath, e: impl std::fmt::Display) -> Error {
    Error::Lock {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// The store and object path of the lock of `warehouse`.
pub fn lock_location(warehouse: &Warehouse) -> Result<(Arc<dyn ObjectStore>, StorePath)> {
    let root = warehouse.location().root();
    let url = root.join(LOCK_OBJECT).map_err(|e| Error::Lock {
        path: root.to_string(),
        message: e.to_string(),
    })?;
    let (store, _) = warehouse.store()?;
    Ok((store, ansinh_warehouse::storage::object_path(&url)?))
}

/// Reads the current lock, if any.
pub async fn current(warehouse: &Warehouse) -> Result<Option<LockInfo>> {
    let (store, path) = lock_location(warehouse)?;
    read(store.as_ref(), &path).await
}

async fn read(store: &dyn ObjectStore, path: &StorePath) -> Result<Option<LockInfo>> {
    match store.get(path).await {
        Ok(got) => {
            let bytes = got.bytes().await.map_err(|e| lock_error(path, e))?;
            Ok(serde_json::from_slice(&bytes).ok())
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(lock_error(path, e)),
    }
}

impl WarehouseLock {
    /// Takes the lock of the warehouse at `root` for `run_id`, or fails with
    /// [`Error::Locked`] while another live run holds it.
    pub async fn acquire(
        warehouse: &Warehouse,
        run_id: &str,
        command: &str,
        ttl: Duration,
    ) -> Result<Self> {
        let (store, path) = lock_location(warehouse)?;
        let ttl_chrono = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10));
        for _ in 0..3 {
            let now = Utc::now();
            let info = LockInfo {
                run_id: run_id.to_string(),
                host: host_name(),
                pid: std::process::id(),
                command: command.to_string(),
                acquired_at: now,
                expires_at: now + ttl_chrono,
            };
            let body = serde_json::to_vec_pretty(&info).map_err(|e| lock_error(&path, e))?;
            let put = store
                .put_opts(
                    &path,
                    PutPayload::from(body),
                    PutOptions {
                        mode: PutMode::Create,
                        ..Default::default()
                    },
                )
                .await;
            match put {
                Ok(_) => {
                    let lost = Arc::new(AtomicBool::new(false));
                    let renewer = tokio::spawn(renew(
                        Arc::clone(&store),
                        path.clone(),
                        info.clone(),
                        ttl,
                        Arc::clone(&lost),
                    ));
                    tracing::debug!(run_id, "warehouse lock taken");
                    return Ok(Self {
                        store,
                        path,
                        info,
                        renewer,
                        lost,
                    });
                }
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let holder = read(store.as_ref(), &path).await?;
                    let stale = match &holder {
                        // Unreadable or vanished: treat as stale only if it is gone.
                        None => store.head(&path).await.is_err(),
                        Some(h) => {
                            h.expires_at < now
                                || (h.host == info.host
                                    && h.pid != info.pid
                                    && !process_alive(h.pid))
                        }
                    };
                    match holder {
                        Some(h) if !stale => {
                            return Err(Error::Locked {
                                holder: format!("{} pid {} ({})", h.host, h.pid, h.command),
                                run_id: h.run_id,
                                since: h.acquired_at.to_rfc3339(),
                                expires: h.expires_at.to_rfc3339(),
                            });
                        }
                        None if !stale => {
                            return Err(Error::Locked {
                                holder: "unknown (unreadable lock)".into(),
                                run_id: "?".into(),
                                since: "?".into(),
                                expires: "?".into(),
                            });
                        }
                        Some(h) => {
                            tracing::warn!(
                                run_id = %h.run_id,
                                host = %h.host,
                                pid = h.pid,
                                "taking over a stale warehouse lock"
                            );
                            match store.delete(&path).await {
                                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                                Err(e) => return Err(lock_error(&path, e)),
                            }
                        }
                        None => {}
                    }
                }
                Err(e) => return Err(lock_error(&path, e)),
            }
        }
        Err(lock_error(
            &path,
            "could not take the lock after three attempts",
        ))
    }

    /// Whether the lock was lost (taken over by another run after this one failed to renew
    /// it in time). A run that lost its lock must stop before its next write.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// What this lock holds.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Stops renewing and deletes the lock if it is still this run's.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        if let Some(h) = read(self.store.as_ref(), &self.path).await?
            && h.run_id == self.info.run_id
        {
            match self.store.delete(&self.path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(lock_error(&self.path, e)),
            }
        }
        Ok(())
    }
}

async fn renew(
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    mut info: LockInfo,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    let ttl_chrono = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10));
    loop {
        tokio::time::sleep(ttl / 3).await;
        match read(store.as_ref(), &path).await {
            Ok(Some(h)) if h.run_id == info.run_id => {}
            Ok(_) => {
                tracing::error!(run_id = %info.run_id, "the warehouse lock was taken over");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::warn!("cannot read the warehouse lock to renew it: {e}");
                continue;
            }
        }
        info.expires_at = Utc::now() + ttl_chrono;
        let Ok(body) = serde_json::to_vec_pretty(&info) else {
            continue;
        };
        if let Err(e) = store.put(&path, PutPayload::from(body)).await {
            tracing::warn!("cannot renew the warehouse lock: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(dir: &std::path::Path) -> Warehouse {
        Warehouse::open(dir.to_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let ttl = Duration::from_secs(60);
        let first = WarehouseLock::acquire(&root(dir.path()), "a", "run", ttl)
            .await
            .unwrap();
        let err = WarehouseLock::acquire(&root(dir.path()), "b", "run", ttl)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Locked { ref run_id, .. } if run_id == "a"),
            "{err}"
        );
        assert_eq!(
            ansinh_core::Classify::class(&err),
            ansinh_core::ErrorClass::Infrastructure
        );
        first.release().await.unwrap();
        let second = WarehouseLock::acquire(&root(dir.path()), "b", "run", ttl)
            .await
            .unwrap();
        assert_eq!(
            current(&root(dir.path())).await.unwrap().unwrap().run_id,
            "b"
        );
        second.release().await.unwrap();
        assert!(current(&root(dir.path())).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_locks_and_locks_of_dead_local_processes_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut info = LockInfo {
            run_id: "old".into(),
            host: "elsewhere".into(),
            pid: 1,
            command: "run".into(),
            acquired_at: now - chrono::Duration::hours(2),
            expires_at: now - chrono::Duration::hours(1),
        };
        let path = dir.path().join(LOCK_OBJECT);
        std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
        let ttl = Duration::from_secs(60);
        let lock = WarehouseLock::acquire(&root(dir.path()), "new", "run", ttl)
            .await
            .unwrap();
        lock.release().await.unwrap();

        // Not expired, but its process on this host is gone.
        info.expires_at = now + chrono::Duration::hours(1);
        info.host = host_name();
        info.pid = u32::MAX - 1;
        std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
        let lock = WarehouseLock::acquire(&root(dir.path()), "new", "run", ttl)
            .await
            .unwrap();
        lock.release().await.unwrap();

        // Alive elsewhere and not expired: held.
        info.host = "elsewhere".into();
        std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
        assert!(
            WarehouseLock::acquire(&root(dir.path()), "new", "run", ttl)
                .await
                .is_err()
        );
    }
}

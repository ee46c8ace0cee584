//! What every command that loads or builds needs, resolved once from the configuration: the
//! warehouse, the landing area, the reference data, the pseudonym key and the models' session
//! settings. A setting that cannot work is refused here, with the same message whichever
//! command met it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ansinh_core::Config;
use ansinh_extract::{Geography, PseudonymKey};
use ansinh_warehouse::landing::LandingArea;
use ansinh_warehouse::{Storage, Warehouse};
use indicatif::ProgressBar;

use crate::error::{Error, Result};

/// The variable that holds the pseudonym key.
pub const KEY_VARIABLE: &str = "ANSINH_PSEUDONYM_KEY";

/// Whether and how a command needs the pseudonym key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyNeed {
    /// It loads deliveries: without a key it is refused.
    Required,
    /// It may load deliveries (a dry run does not): a missing key is an error only when a
    /// delivery is to be loaded.
    IfLoading,
}

/// Everything a run needs from its caller.
pub struct Environment {
    /// The configuration.
    pub config: Config,
    /// The pseudonym key; a run that must load deliveries without one fails.
    pub key: Option<PseudonymKey>,
    /// Why there is no key, when there is none.
    pub key_error: Option<String>,
    /// The landing area.
    pub landing: LandingArea,
    /// The local reference directory.
    pub reference: PathBuf,
    /// Set to stop the run after the file being loaded.
    pub cancel: Arc<AtomicBool>,
    /// A progress bar to advance by one per pipeline period, or per file.
    pub progress: Option<ProgressBar>,
}

impl Environment {
    /// Resolves the configuration: the landing area, the reference directory, the key (the
    /// public demo key when `demo_key` and the landing area was written by `ansinh generate`)
    /// and the models' session settings.
    pub fn open(config: Config, demo_key: bool, need: KeyNeed) -> Result<Self> {
        let storage = Storage::new(config.storage.clone());
        Warehouse::open_with(&config.warehouse, storage.clone())?;
        let landing = LandingArea::open(&config.landing, &storage)?;
        let (key, key_error) = match resolve_key(&config, landing.local(), demo_key) {
            Ok(key) => (Some(key), None),
            Err(e)
                if need == KeyNeed::IfLoading && matches!(e, Error::Key(_) | Error::DemoKey(_)) =>
            {
                (None, Some(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        let reference = local_dir(&config.reference, "reference directory")?;
        // A session that cannot be made would fail the build after the loads; refuse first.
        ansinh_models::session(
            config.models.memory_limit_mb,
            config.models.spill_dir.as_deref(),
        )?;
        Ok(Self {
            config,
            key,
            key_error,
            landing,
            reference,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
        })
    }

    /// The configured warehouse.
    pub fn warehouse(&self) -> Result<Warehouse> {
        Ok(Warehouse::open_with(
            &self.config.warehouse,
            Storage::new(self.config.storage.clone()),
        )?)
    }

    /// The reference geography and office registry deliveries are checked against.
    pub fn geography(&self) -> Result<Geography> {
        Ok(Geography::load_dir(&self.reference)?)
    }

    /// The pseudonym key, for a command about to load a delivery.
    pub fn key(&self) -> Result<PseudonymKey> {
        self.key.clone().ok_or_else(|| {
            Error::Key(
                self.key_error
                    .clone()
                    .unwrap_or_else(|| format!("no pseudonym key: set {KEY_VARIABLE}")),
            )
        })
    }

    /// Whether a signal asked the run to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// The pseudonym key: `ANSINH_PSEUDONYM_KEY`, else the configured key file. `None` when
/// neither is set.
pub fn pseudonym_key(config: &Config) -> Result<Option<PseudonymKey>> {
    let too_short = |origin: &str| {
        Error::Key(format!(
            "the pseudonym key from {origin} is shorter than {} bytes",
            ansinh_extract::MIN_KEY_BYTES
        ))
    };
    if let Ok(secret) = std::env::var(KEY_VARIABLE) {
        return PseudonymKey::from_secret(&secret)
            .map(Some)
            .ok_or_else(|| too_short(KEY_VARIABLE));
    }
    if let Some(file) = &config.pseudonym_key_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Key(format!("pseudonym_key_file {file}: {e}")))?;
        let first = text.lines().next().unwrap_or("");
        return PseudonymKey::from_secret(first)
            .map(Some)
            .ok_or_else(|| too_short(file));
    }
    Ok(None)
}

/// The pseudonym key, or the demo key for a generated landing area when asked for.
pub fn resolve_key(config: &Config, landing: Option<&Path>, demo: bool) -> Result<PseudonymKey> {
    if let Some(key) = pseudonym_key(config)? {
        return Ok(key);
    }
    if demo {
        if landing.and_then(ansinh_sample::Manifest::read).is_none() {
            return Err(Error::DemoKey(format!(
                "--demo-key is accepted only for sample data written by `ansinh generate` in a \
                 local directory; {} has no {}",
                config.landing,
                ansinh_sample::MANIFEST
            )));
        }
        tracing::warn!(
            "USING THE PUBLIC DEMO PSEUDONYM KEY: pseudonyms in this warehouse protect nothing. \
             Acceptable only for generated sample data; set ANSINH_PSEUDONYM_KEY for real extracts."
        );
        return Ok(PseudonymKey::demo());
    }
    Err(Error::Key(format!(
        "no pseudonym key: set {KEY_VARIABLE} (at least {} bytes) or pseudonym_key_file in the \
         config; for sample data from `ansinh generate`, --demo-key",
        ansinh_extract::MIN_KEY_BYTES
    )))
}

/// A local directory (the reference data, the demo's landing area).
pub fn local_dir(location: &str, what: &str) -> Result<PathBuf> {
    let path = location.strip_prefix("file://").unwrap_or(location);
    if path.contains("://") {
        return Err(Error::Setting {
            what: format!("{what} {location}"),
            message: format!("only local directories and file:// URLs are supported for {what}s"),
        });
    }
    let path = Path::new(path);
    if !path.is_dir() {
        return Err(Error::Setting {
            what: format!("{what} {}", path.display()),
            message: "does not exist or is not a directory".into(),
        });
    }
    Ok(path.to_path_buf())
}

/// Sets `cancel` at the first SIGINT or SIGTERM, so the run stops after the file it is loading,
/// and wakes `wake`; a second signal ends the process at once with `exit_code` (every commit
/// is atomic, so nothing is half-written; the lock is taken over by the next run).
pub fn watch_signals(cancel: Arc<AtomicBool>, wake: Arc<tokio::sync::Notify>, exit_code: i32) {
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        let mut count = 0;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count > 1 {
                eprintln!("second signal: stopping now");
                std::process::exit(exit_code);
            }
            tracing::warn!("signal received: stopping after the current step (again to stop now)");
            cancel.store(true, Ordering::SeqCst);
            wake.notify_waiters();
        }
    });
}

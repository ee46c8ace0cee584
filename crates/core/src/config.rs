//! Layered configuration: `config/ansinh.toml`, then `ANSINH_*` environment variables, then
//! flags (applied by the binary). Unknown keys are errors. Secrets never live in the TOML: the
//! pseudonym key comes from `ANSINH_PSEUDONYM_KEY` or a key file outside the repository.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Warehouse root: a local path, or a `file://`, `s3://`, `gs://` or `az://` URL.
    pub warehouse: String,
    /// Landing area where offices drop their extracts: a local path or URL.
    pub landing: String,
    /// Directory of the reference CSVs (geography, population, labour force, targets).
    pub reference: String,
    /// File holding the pseudonym key (first line), read when `ANSINH_PSEUDONYM_KEY` is unset.
    pub pseudonym_key_file: Option<String>,
    /// Ingest settings.
    pub ingest: IngestConfig,
    /// SQL model settings.
    pub models: ModelsConfig,
    /// Pipeline run settings.
    pub run: RunConfig,
    /// Object storage settings for `s3://`, `gs://` and `az://` locations.
    pub storage: StorageConfig,
    /// Settings of `ansinh serve`.
    pub serve: ServeConfig,
}

/// Settings of `ansinh serve`, the Postgres-wire endpoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// Users, each `NAME:scram-sha-256$4096$SALT$HASH` (from `ansinh serve --hash-password`).
    pub users: Vec<String>,
    /// PEM certificate chain; with `tls_key`, connections are encrypted.
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<String>,
    /// Refuse clients that do not use TLS, before they authenticate. Unset: true when
    /// `tls_cert` is set.
    pub require_tls: Option<bool>,
    /// Longest a statement may run, in seconds.
    pub statement_timeout_seconds: u64,
    /// How often newly landed data and rebuilt marts are picked up, in seconds.
    pub refresh_seconds: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 5433,
            users: Vec::new(),
            tls_cert: None,
            tls_key: None,
            require_tls: None,
            statement_timeout_seconds: 300,
            refresh_seconds: 60,
        }
    }
}

/// Settings of the object stores behind `s3://`, `gs://` and `az://` warehouses and landing
/// areas. Credentials come from the standard environment variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_KEY`, ...),
/// never from this file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Endpoint of an S3-compatible store (MinIO, Ceph, a cloud's S3 API); AWS when unset.
    pub endpoint: Option<String>,
    /// Region of the S3 bucket; `AWS_REGION` (else us-east-1) when unset.
    pub region: Option<String>,
    /// Allow plain HTTP endpoints (for a store on a private network or loopback).
    pub allow_http: bool,
    /// Retries of a failed request, with exponential backoff.
    pub max_retries: usize,
    /// Give up retrying a request after this many seconds.
    pub retry_timeout_seconds: u64,
    /// Time limit of one request, in seconds.
    pub request_timeout_seconds: u64,
    /// Time limit to connect, in seconds.
    pub connect_timeout_seconds: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            allow_http: false,
            max_retries: 10,
            retry_timeout_seconds: 180,
            request_timeout_seconds: 30,
            connect_timeout_seconds: 5,
        }
    }
}

/// Settings of `ansinh run` and `ansinh schedule`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Directory of the pipeline definitions (`*.toml`).
    pub pipelines: String,
    /// Seconds after which the warehouse lock of a run that stopped renewing it may be taken
    /// over. A live run renews it every third of this.
    pub lock_ttl_seconds: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            pipelines: "pipelines".into(),
            lock_ttl_seconds: 600,
        }
    }
}

/// Settings of the SQL models (`ansinh build`, `test`, `plan`, `sql`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Directory of the models: `staging/`, `marts/`, `tests/`.
    pub dir: String,
    /// Memory the query engine may use, in MiB; operators spill to disk beyond it.
    pub memory_limit_mb: usize,
    /// Directory for spill files; the system temporary directory when unset.
    pub spill_dir: Option<String>,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: "sql".into(),
            memory_limit_mb: 2048,
            spill_dir: None,
        }
    }
}

/// Settings of `ansinh ingest`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest share of a file's rows that may be rejected before the delivery is refused.
    pub max_reject_ratio: f64,
    /// Rows per Arrow record batch, at most (the memory budget may make batches smaller).
    pub batch_rows: usize,
    /// Text encoding of CSV extracts: `auto`, `utf-8` or `windows-1258`.
    pub encoding: crate::TextEncoding,
    /// Memory a load may use, in MiB, whatever the size of the file.
    pub memory_limit_mb: usize,
    /// Threads checking rows; 0 means one per core.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            warehouse: "warehouse".into(),
            landing: "landing".into(),
            reference: "config/reference".into(),
            pseudonym_key_file: None,
            ingest: IngestConfig::default(),
            models: ModelsConfig::default(),
            run: RunConfig::default(),
            storage: StorageConfig::default(),
            serve: ServeConfig::default(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_reject_ratio: 0.01,
            batch_rows: 65_536,
            encoding: crate::TextEncoding::Auto,
            memory_limit_mb: 512,
            workers: 0,
        }
    }
}

/// One documented setting, used to render the commented default config.
struct Setting {
    key: &'static str,
    doc: &'static str,
    env: &'static str,
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "warehouse",
        doc: "Warehouse root: a local path, or a file://, s3://, gs:// or az:// URL.",
        env: "ANSINH_WAREHOUSE",
    },
    Setting {
        key: "landing",
        doc: "Landing area with <yyyy-mm>/<office>_<yyyy-mm>_<kind>.<csv|csv.gz|xlsx> deliveries.",
        env: "ANSINH_LANDING",
    },
    Setting {
        key: "reference",
        doc: "Directory of geography.csv, population.csv, labor_force.csv and targets.csv.",
        env: "ANSINH_REFERENCE",
    },
    Setting {
        key: "pseudonym_key_file",
        doc: "File whose first line is the pseudonym key; ANSINH_PSEUDONYM_KEY takes precedence.\n\
              Keep it outside the repository. Unset by default.",
        env: "ANSINH_PSEUDONYM_KEY_FILE",
    },
    Setting {
        key: "ingest.max_reject_ratio",
        doc: "Largest share of a file's rows that may be rejected; above it the delivery is refused.",
        env: "ANSINH_INGEST__MAX_REJECT_RATIO",
    },
    Setting {
        key: "ingest.batch_rows",
        doc: "Rows per Arrow record batch while reading extracts, at most (the memory limit may\n\
              make batches smaller).",
        env: "ANSINH_INGEST__BATCH_ROWS",
    },
    Setting {
        key: "ingest.memory_limit_mb",
        doc: "Memory a load may use, in MiB, whatever the size of its file: rows in flight and the\n\
              Parquet writer's buffers are sized to fit. Rejects and identity links go to\n\
              temporary files until the load commits. At least 192.",
        env: "ANSINH_INGEST__MEMORY_LIMIT_MB",
    },
    Setting {
        key: "ingest.workers",
        doc: "Threads checking rows while one reads the file and another writes; 0: one per core.",
        env: "ANSINH_INGEST__WORKERS",
    },
    Setting {
        key: "ingest.encoding",
        doc: "Text encoding of CSV extracts: auto (UTF-8, else Windows-1258), utf-8, windows-1258.",
        env: "ANSINH_INGEST__ENCODING",
    },
    Setting {
        key: "models.dir",
        doc: "Directory of the SQL models: staging/, marts/ and tests/.",
        env: "ANSINH_MODELS__DIR",
    },
    Setting {
        key: "models.memory_limit_mb",
        doc: "Memory the query engine may use, in MiB; sorts, joins and aggregations spill beyond it.",
        env: "ANSINH_MODELS__MEMORY_LIMIT_MB",
    },
    Setting {
        key: "models.spill_dir",
        doc: "Directory for spill files. Unset: the system temporary directory.",
        env: "ANSINH_MODELS__SPILL_DIR",
    },
    Setting {
        key: "run.pipelines",
        doc: "Directory of the pipeline definitions (*.toml) that `ansinh run` and `schedule` use.",
        env: "ANSINH_RUN__PIPELINES",
    },
    Setting {
        key: "run.lock_ttl_seconds",
        doc: "Seconds after which the warehouse lock of a run that stopped renewing it is stale.\n\
              A live run renews it every third of this; a lock of a dead local process is\n\
              taken over at once.",
        env: "ANSINH_RUN__LOCK_TTL_SECONDS",
    },
    Setting {
        key: "storage.endpoint",
        doc: "Endpoint of an S3-compatible store (MinIO, Ceph, ...). Unset: AWS.\n\
              Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (GOOGLE_*, AZURE_*\n\
              for gs:// and az://), never from this file.",
        env: "ANSINH_STORAGE__ENDPOINT",
    },
    Setting {
        key: "storage.region",
        doc: "Region of the S3 bucket. Unset: AWS_REGION, else us-east-1.",
        env: "ANSINH_STORAGE__REGION",
    },
    Setting {
        key: "storage.allow_http",
        doc: "Allow a plain-HTTP endpoint (a store on loopback or a private network).",
        env: "ANSINH_STORAGE__ALLOW_HTTP",
    },
    Setting {
        key: "storage.max_retries",
        doc: "Retries of a failed storage request, with exponential backoff.",
        env: "ANSINH_STORAGE__MAX_RETRIES",
    },
    Setting {
        key: "storage.retry_timeout_seconds",
        doc: "Stop retrying a storage request after this many seconds; the run then exits 3.",
        env: "ANSINH_STORAGE__RETRY_TIMEOUT_SECONDS",
    },
    Setting {
        key: "storage.request_timeout_seconds",
        doc: "Time limit of one storage request, in seconds.",
        env: "ANSINH_STORAGE__REQUEST_TIMEOUT_SECONDS",
    },
    Setting {
        key: "storage.connect_timeout_seconds",
        doc: "Time limit to connect to the store, in seconds.",
        env: "ANSINH_STORAGE__CONNECT_TIMEOUT_SECONDS",
    },
    Setting {
        key: "serve.host",
        doc: "Address `ansinh serve` listens on.",
        env: "ANSINH_SERVE__HOST",
    },
    Setting {
        key: "serve.port",
        doc: "Port `ansinh serve` listens on.",
        env: "ANSINH_SERVE__PORT",
    },
    Setting {
        key: "serve.users",
        doc: "Users of `ansinh serve`, each \"NAME:scram-sha-256$4096$SALT$HASH\" as printed by\n\
              `ansinh serve --hash-password NAME`. No user, no server. In the environment:\n\
              comma-separated.",
        env: "ANSINH_SERVE__USERS",
    },
    Setting {
        key: "serve.tls_cert",
        doc: "PEM certificate chain; with tls_key, connections are encrypted, and a bad\n\
              certificate or key stops the server from starting. Unset: plain TCP.",
        env: "ANSINH_SERVE__TLS_CERT",
    },
    Setting {
        key: "serve.tls_key",
        doc: "PEM private key of tls_cert.",
        env: "ANSINH_SERVE__TLS_KEY",
    },
    Setting {
        key: "serve.require_tls",
        doc: "Refuse clients that do not use TLS, before they authenticate (true or false).\n\
              Unset: true when tls_cert is set.",
        env: "ANSINH_SERVE__REQUIRE_TLS",
    },
    Setting {
        key: "serve.statement_timeout_seconds",
        doc: "Longest a statement may run (planning and execution), in seconds.",
        env: "ANSINH_SERVE__STATEMENT_TIMEOUT_SECONDS",
    },
    Setting {
        key: "serve.refresh_seconds",
        doc: "How often newly loaded data and rebuilt marts are picked up, in seconds.",
        env: "ANSINH_SERVE__REFRESH_SECONDS",
    },
];

impl Config {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let config: Config = toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: origin.into(),
            message: one_line(&e, text),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Loads `path` (defaults apply when `path` does not exist and `required` is false), then
    /// applies the `ANSINH_*` variables of `env`.
    pub fn load(path: &Path, required: bool, env: &BTreeMap<String, String>) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => String::new(),
            Err(source) => {
                return Err(Error::ConfigRead {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let mut config = Self::from_toml(&text, &path.display().to_string())?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `ANSINH_*` overrides. Section keys use a double underscore
    /// (`ANSINH_INGEST__MAX_REJECT_RATIO`). A variable that looks like a setting and is none
    /// (`ANSINH_INGEST__MAX_REJECT_RATO`) is an error that names the nearest one.
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<()> {
        check_variables(env)?;
        for setting in SETTINGS {
            let Some(value) = env.get(setting.env) else {
                continue;
            };
            let bad = |message: String| Error::ConfigValue {
                key: setting.env.into(),
                message,
            };
            let whole = || -> Result<usize> {
                value
                    .parse()
                    .map_err(|_| bad(format!("not a whole number: {value:?}")))
            };
            match setting.key {
                "warehouse" => self.warehouse = value.clone(),
                "landing" => self.landing = value.clone(),
                "reference" => self.reference = value.clone(),
                "pseudonym_key_file" => self.pseudonym_key_file = Some(value.clone()),
                "ingest.max_reject_ratio" => {
                    self.ingest.max_reject_ratio = value
                        .parse()
                        .map_err(|_| bad(format!("not a number: {value:?}")))?;
                }
                "ingest.batch_rows" => self.ingest.batch_rows = whole()?,
                "ingest.encoding" => self.ingest.encoding = value.parse().map_err(bad)?,
                "ingest.memory_limit_mb" => self.ingest.memory_limit_mb = whole()?,
                "ingest.workers" => self.ingest.workers = whole()?,
                "models.dir" => self.models.dir = value.clone(),
                "models.memory_limit_mb" => self.models.memory_limit_mb = whole()?,
                "models.spill_dir" => self.models.spill_dir = Some(value.clone()),
                "run.pipelines" => self.run.pipelines = value.clone(),
                "serve.host" => self.serve.host = value.clone(),
                "serve.port" => {
                    self.serve.port = value
                        .parse()
                        .map_err(|_| bad(format!("not a port number: {value:?}")))?;
                }
                "serve.users" => {
                    self.serve.users = value
                        .split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                "serve.tls_cert" => self.serve.tls_cert = Some(value.clone()),
                "serve.tls_key" => self.serve.tls_key = Some(value.clone()),
                "serve.require_tls" => {
                    self.serve.require_tls = Some(
                        value
                            .parse()
                            .map_err(|_| bad(format!("not true or false: {value:?}")))?,
                    );
                }
                "serve.statement_timeout_seconds" | "serve.refresh_seconds" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| bad(format!("not a whole number: {value:?}")))?;
                    if setting.key == "serve.refresh_seconds" {
                        self.serve.refresh_seconds = n;
                    } else {
                        self.serve.statement_timeout_seconds = n;
                    }
                }
                "storage.endpoint" => self.storage.endpoint = Some(value.clone()),
                "storage.region" => self.storage.region = Some(value.clone()),
                "storage.allow_http" => {
                    self.storage.allow_http = value
                        .parse()
                        .map_err(|_| bad(format!("not true or false: {value:?}")))?;
                }
                "storage.max_retries" => {
                    self.storage.max_retries = value
                        .parse()
                        .map_err(|_| bad(format!("not a whole number: {value:?}")))?;
                }
                "storage.retry_timeout_seconds"
                | "storage.request_timeout_seconds"
                | "storage.connect_timeout_seconds" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| bad(format!("not a whole number: {value:?}")))?;
                    match setting.key {
                        "storage.retry_timeout_seconds" => self.storage.retry_timeout_seconds = n,
                        "storage.request_timeout_seconds" => {
                            self.storage.request_timeout_seconds = n
                        }
                        _ => self.storage.connect_timeout_seconds = n,
                    }
                }
                "run.lock_ttl_seconds" => {
                    self.run.lock_ttl_seconds = value
                        .parse()
                        .map_err(|_| bad(format!("not a whole number: {value:?}")))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks value ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, message: &str| {
            Err(Error::ConfigValue {
                key: key.into(),
                message: message.into(),
            })
        };
        if !(0.0..=1.0).contains(&self.ingest.max_reject_ratio) {
            return bad("ingest.max_reject_ratio", "must be between 0 and 1");
        }
        if self.ingest.batch_rows == 0 {
            return bad("ingest.batch_rows", "must be at least 1");
        }
        if self.ingest.memory_limit_mb < 192 {
            return bad("ingest.memory_limit_mb", "must be at least 192");
        }
        if self.models.memory_limit_mb < 64 {
            return bad("models.memory_limit_mb", "must be at least 64");
        }
        if self.storage.request_timeout_seconds == 0 || self.storage.connect_timeout_seconds == 0 {
            return bad("storage", "timeouts must be at least 1 second");
        }
        if self.serve.statement_timeout_seconds == 0 || self.serve.refresh_seconds == 0 {
            return bad(
                "serve",
                "statement_timeout_seconds and refresh_seconds must be at least 1",
            );
        }
        if self.serve.tls_cert.is_some() != self.serve.tls_key.is_some() {
            return bad("serve", "tls_cert and tls_key go together");
        }
        if self.serve.require_tls == Some(true) && self.serve.tls_cert.is_none() {
            return bad("serve.require_tls", "needs tls_cert and tls_key");
        }
        if self.run.lock_ttl_seconds < 3 {
            return bad("run.lock_ttl_seconds", "must be at least 3");
        }
        Ok(())
    }

    /// The commented default configuration, as shipped in `config/ansinh.toml`.
    pub fn default_toml() -> String {
        let defaults = Config::default();
        let value = |key: &str| -> Option<String> {
            Some(match key {
                "warehouse" => format!("{:?}", defaults.warehouse),
                "landing" => format!("{:?}", defaults.landing),
                "reference" => format!("{:?}", defaults.reference),
                "ingest.max_reject_ratio" => defaults.ingest.max_reject_ratio.to_string(),
                "ingest.batch_rows" => defaults.ingest.batch_rows.to_string(),
                "ingest.encoding" => format!("{:?}", defaults.ingest.encoding.config_name()),
                "ingest.memory_limit_mb" => defaults.ingest.memory_limit_mb.to_string(),
                "ingest.workers" => defaults.ingest.workers.to_string(),
                "models.dir" => format!("{:?}", defaults.models.dir),
                "models.memory_limit_mb" => defaults.models.memory_limit_mb.to_string(),
                "run.pipelines" => format!("{:?}", defaults.run.pipelines),
                "run.lock_ttl_seconds" => defaults.run.lock_ttl_seconds.to_string(),
                "storage.allow_http" => defaults.storage.allow_http.to_string(),
                "serve.host" => format!("{:?}", defaults.serve.host),
                "serve.port" => defaults.serve.port.to_string(),
                "serve.users" => "[]".to_string(),
                "serve.statement_timeout_seconds" => {
                    defaults.serve.statement_timeout_seconds.to_string()
                }
                "serve.refresh_seconds" => defaults.serve.refresh_seconds.to_string(),
                "storage.max_retries" => defaults.storage.max_retries.to_string(),
                "storage.retry_timeout_seconds" => {
                    defaults.storage.retry_timeout_seconds.to_string()
                }
                "storage.request_timeout_seconds" => {
                    defaults.storage.request_timeout_seconds.to_string()
                }
                "storage.connect_timeout_seconds" => {
                    defaults.storage.connect_timeout_seconds.to_string()
                }
                _ => return None,
            })
        };
        let mut out = String::from(
            "# ansinh configuration. Generated by `ansinh config`: edit values, keep keys.\n\
             # Each key can be overridden by the environment variable named beside it, and then\n\
             # by the command-line flag of the same name. Unknown keys are errors.\n",
        );
        let mut section = "";
        for setting in SETTINGS {
            let (sec, name) = setting.key.split_once('.').unwrap_or(("", setting.key));
            if sec != section {
                out.push_str(&format!("\n[{sec}]\n"));
                section = sec;
            }
            out.push('\n');
            for line in setting.doc.lines() {
                out.push_str(&format!("# {}\n", line.trim()));
            }
            out.push_str(&format!("# env: {}\n", setting.env));
            match value(setting.key) {
                Some(v) => out.push_str(&format!("{name} = {v}\n")),
                None => out.push_str(&format!("# {name} = \"\"\n")),
            }
        }
        out
    }
}

/// The parser's message and where in `text` it points, as a line and a column (from 1).
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let span = e
        .span()
        .map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!(" (line {line}, column {column})")
        })
        .unwrap_or_default();
    format!("{}{span}", e.message().trim())
}

/// `ANSINH_*` variables of the binary's own that are not settings: the key, the config file,
/// logging, failpoints, the shell's history, and what a run gives its hooks.
const OWN_VARIABLES: &[&str] = &[
    "ANSINH_CONFIG",
    "ANSINH_PSEUDONYM_KEY",
    "ANSINH_LOG",
    "ANSINH_LOG_FORMAT",
    "ANSINH_FAILPOINTS",
    "ANSINH_HISTORY",
    "ANSINH_RUN_ID",
    "ANSINH_PIPELINE",
    "ANSINH_RUN_STATUS",
];

/// Edit distance of two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(previous + usize::from(ca != *cb));
            previous = here;
        }
    }
    row[b.len()]
}

/// Refuses an `ANSINH_*` variable that is neither a setting nor one of the binary's own but
/// looks like one: a section key (`__`), or a name a letter or two from a known one. Other
/// `ANSINH_` names (a deployment's own) are left alone.
fn check_variables(env: &BTreeMap<String, String>) -> Result<()> {
    let known: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.env)
        .chain(OWN_VARIABLES.iter().copied())
        .collect();
    for name in env.keys() {
        if !name.starts_with("ANSINH_") || known.contains(&name.as_str()) {
            continue;
        }
        let nearest = known
            .iter()
            .map(|k| (distance(name, k), *k))
            .min()
            .filter(|(d, _)| *d <= 2);
        if !name.contains("__") && nearest.is_none() {
            continue;
        }
        let hint = match nearest {
            Some((_, k)) => format!("; did you mean {k}?"),
            None => "; `ansinh config` lists the settings".to_string(),
        };
        return Err(Error::ConfigValue {
            key: name.clone(),
            message: format!("no such setting{hint}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_variable_is_refused_with_the_nearest_setting() {
        let env = |name: &str| BTreeMap::from([(name.to_string(), "1".to_string())]);
        let mut config = Config::default();
        let err = config
            .apply_env(&env("ANSINH_INGEST__MAX_REJECT_RATO"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ANSINH_INGEST__MAX_REJECT_RATO")
                && err.contains("did you mean ANSINH_INGEST__MAX_REJECT_RATIO?"),
            "{err}"
        );
        let err = config
            .apply_env(&env("ANSINH_WAREHOSE"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean ANSINH_WAREHOUSE?"), "{err}");
        let err = config
            .apply_env(&env("ANSINH_NOTHING__LIKE_IT"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such setting"), "{err}");
        // The binary's own variables and a deployment's unrelated names pass.
        for name in ["ANSINH_LOG", "ANSINH_RUN_ID", "ANSINH_SITE_OWNER"] {
            config.apply_env(&env(name)).unwrap();
        }
    }

    #[test]
    fn a_toml_error_names_its_line_and_column() {
        let err = Config::from_toml(
            "[ingest]\nbatch_rows = 10\nmax_reject_rato = 0.1\n",
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("max_reject_rato") && err.contains("(line 3, column 1)"),
            "{err}"
        );
    }

    #[test]
    fn default_toml_parses_to_defaults() {
        let parsed = Config::from_toml(&Config::default_toml(), "default").unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = Config::from_toml("[ingest]\nmax_reject_ration = 0.1\n", "x.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("x.toml") && msg.contains("max_reject_ration"),
            "{msg}"
        );
    }

    #[test]
    fn env_overrides_file() {
        let env = BTreeMap::from([
            ("ANSINH_WAREHOUSE".to_string(), "s3://bucket/wh".to_string()),
            (
                "ANSINH_INGEST__MAX_REJECT_RATIO".to_string(),
                "0.05".to_string(),
            ),
        ]);
        let mut c = Config::from_toml("warehouse = \"local\"\n", "x").unwrap();
        c.apply_env(&env).unwrap();
        assert_eq!(c.warehouse, "s3://bucket/wh");
        assert_eq!(c.ingest.max_reject_ratio, 0.05);
        let bad = BTreeMap::from([("ANSINH_INGEST__BATCH_ROWS".to_string(), "many".to_string())]);
        assert!(
            c.apply_env(&bad)
                .unwrap_err()
                .to_string()
                .contains("ANSINH_INGEST__BATCH_ROWS")
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = Config::from_toml("[ingest]\nmax_reject_ratio = 2.0\n", "x").unwrap_err();
        assert!(err.to_string().contains("ingest.max_reject_ratio"));
        let err = Config::from_toml("[ingest]\nmemory_limit_mb = 100\n", "x").unwrap_err();
        assert!(err.to_string().contains("ingest.memory_limit_mb"), "{err}");
        let c = Config::from_toml("[ingest]\nmemory_limit_mb = 256\nworkers = 3\n", "x").unwrap();
        assert_eq!((c.ingest.memory_limit_mb, c.ingest.workers), (256, 3));
        // TLS cannot be required of a server that has no certificate.
        let err = Config::from_toml("[serve]\nrequire_tls = true\n", "x").unwrap_err();
        assert!(err.to_string().contains("serve.require_tls"), "{err}");
        let c = Config::from_toml("[serve]\nrequire_tls = false\n", "x").unwrap();
        assert_eq!(c.serve.require_tls, Some(false));
    }
}

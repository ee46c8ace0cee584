//! The landing area and the warehouse on an S3-compatible server (moto, on loopback): loads,
//! restatements, refusals and pipeline runs behave as on a local disk, and a server that stops
//! answering mid-load gives exit code 3 and leaves whole office-months.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::ObjectStoreExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;

use crate::common::{Run, Site, TEST_KEY, ansinh, manifest_counts, run};

/// A moto S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
    /// The server's request log.
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts the server; the test fails where moto is not installed.
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => panic!("moto_server is missing (pip install 'moto[server]'): {e}"),
        };
        let moto = Moto { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The request lines logged so far ("GET /bucket/key HTTP/1.1" ...).
    fn requests(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts an unsigned PUT). A server that has just started may
    /// reset the first connections.
    fn bucket(&self, name: &str) {
        let mut last = String::new();
        for _ in 0..50 {
            let attempt = (|| -> std::io::Result<String> {
                let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
                write!(
                    stream,
                    "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n",
                    self.port
                )?;
                let mut response = String::new();
                stream.read_to_string(&mut response)?;
                Ok(response)
            })();
            match attempt {
                Ok(response) if response.starts_with("HTTP/1.1 200") => return,
                Ok(response) => last = response,
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("cannot create bucket {name}: {last}");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Uploads every file under `dir` to `bucket` under `prefix`.
    fn upload(&self, dir: &Path, bucket: &str, prefix: &str) {
        let store = AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_allow_http(true)
            .build()
            .unwrap();
        let runtime = crate::common::runtime();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path.strip_prefix(dir).unwrap().to_str().unwrap();
                let key = StorePath::from(format!("{prefix}{relative}"));
                let bytes = std::fs::read(&path).unwrap();
                runtime.block_on(store.put(&key, bytes.into())).unwrap();
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary against the moto server, with the test key and S3 credentials.
fn command(moto: &Moto, site: &Site, landing: &str, warehouse: &str, args: &[&str]) -> Command {
    let mut cmd = ansinh(site.path());
    cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("ANSINH_STORAGE__ENDPOINT", moto.endpoint())
        .env("ANSINH_STORAGE__ALLOW_HTTP", "true")
        .env(
            "ANSINH_MODELS__DIR",
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql")),
        )
        .arg("--landing")
        .arg(landing)
        .arg("--warehouse")
        .arg(warehouse)
        .arg("--reference")
        .arg(site.landing().join("reference"))
        .args(args);
    cmd
}

/// Rows per (period, office, scheme, status) of participants, through `ansinh sql`.
fn participant_counts(moto: &Moto, site: &Site, warehouse: &str) -> BTreeMap<Vec<String>, i64> {
    let out = run(command(
        moto,
        site,
        "unused",
        warehouse,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT period, office, scheme, CAST(status AS VARCHAR) AS status, COUNT(*) AS n \
             FROM participants GROUP BY 1, 2, 3, 4",
        ],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    crate::common::csv_counts(&out.stdout)
}

fn assert_ok(out: &Run) {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
}

#[test]
#[ignore = "needs moto's S3 server; .ci/run installs it and runs ignored tests"]
fn s3_landing_and_warehouse_load_restate_and_refuse_as_on_a_local_disk() {
    let moto = Moto::start();
    moto.bucket("landing");
    moto.bucket("warehouse");
    let site = Site::new();
    let manifest = site.generate("2024-01", "2024-01", 0.01, false);
    moto.upload(&site.landing().join("2024-01"), "landing", "in/2024-01/");
    let (landing, warehouse) = ("s3://landing/in", "s3://warehouse/wh");

    let first = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &["ingest", "--all"],
    ));
    assert_ok(&first);
    let downloads = |log: &str, office: &str| {
        log.contains(&format!(
            "\"GET /landing/in/2024-01/{office}_2024-01_participants.csv "
        ))
    };
    assert!(downloads(&moto.requests(), "570"));
    assert!(
        first.stdout.contains("deliveries: 32 loaded"),
        "{}",
        first.stdout
    );
    let expected = manifest_counts(&manifest, "participants");
    assert_eq!(participant_counts(&moto, &site, warehouse), expected);

    // Loading again changes nothing, and downloads nothing: the objects' tags and sizes are
    // those recorded in `_loads`.
    let logged = moto.requests().len();
    let again = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &["ingest", "--all"],
    ));
    assert_ok(&again);
    assert!(
        again.stdout.contains("deliveries: 32 unchanged"),
        "{}",
        again.stdout
    );
    let during = moto.requests()[logged..].to_string();
    assert!(
        during.contains("GET /landing?"),
        "the landing area is listed"
    );
    assert!(!during.contains("GET /landing/in/"), "{during}");

    // A corrected file restates its office-month: one row fewer.
    let file = site.landing().join("2024-01/568_2024-01_participants.csv");
    crate::common::drop_last_row(&file);
    // A broken file for another office is refused; its office-month stays as it was.
    std::fs::write(
        site.landing().join("2024-01/569_2024-01_participants.csv"),
        "this is not,an extract\n1,2\n",
    )
    .unwrap();
    moto.upload(&site.landing().join("2024-01"), "landing", "in/2024-01/");
    let logged = moto.requests().len();
    let third = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &["ingest", "--all"],
    ));
    assert_eq!(third.code, 1, "{}", third.stderr);
    assert!(
        third.stdout.contains("1 restated") && third.stdout.contains("1 refused"),
        "{}",
        third.stdout
    );
    // Every object was uploaded again; only the two whose content changed are downloaded.
    let during = moto.requests()[logged..].to_string();
    assert!(
        downloads(&during, "568") && downloads(&during, "569"),
        "{during}"
    );
    assert!(!downloads(&during, "570"), "{during}");
    let counts = participant_counts(&moto, &site, warehouse);
    let office = |c: &BTreeMap<Vec<String>, i64>, o: &str| -> i64 {
        c.iter().filter(|(k, _)| k[1] == o).map(|(_, n)| n).sum()
    };
    assert_eq!(office(&counts, "568"), office(&expected, "568") - 1);
    assert_eq!(office(&counts, "569"), office(&expected, "569"));

    // Marts are written to and read from the bucket; a pipeline run takes its lock there.
    let build = run(command(&moto, &site, landing, warehouse, &["build"]));
    assert_ok(&build);
    let goal = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT COUNT(*) AS n FROM goal_progress",
        ],
    ));
    assert_ok(&goal);
    assert_ne!(goal.stdout.lines().nth(1), Some("0"), "{}", goal.stdout);
    let pipes = site.path().join("pipes");
    std::fs::create_dir_all(&pipes).unwrap();
    std::fs::write(
        pipes.join("participants.toml"),
        "name = \"participants\"\nkind = \"participants\"\nmodels = \"all\"\nretries = 0\n",
    )
    .unwrap();
    let mut cmd = command(
        &moto,
        &site,
        landing,
        warehouse,
        &["run", "--format", "json"],
    );
    cmd.env("ANSINH_RUN__PIPELINES", &pipes);
    let pipeline = run(cmd);
    assert_eq!(pipeline.code, 1, "{}", pipeline.stderr);
    let record: serde_json::Value = serde_json::from_str(&pipeline.stdout).unwrap();
    // The refused file is still refused; everything else is unchanged; the marts are fresh.
    assert_eq!(record["files_refused"], 1, "{record:#}");
    assert_eq!(record["files_unchanged"], 15);
    assert_eq!(record["models_built"], 0);
    let status = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &["status", "--format", "json"],
    ));
    assert_ok(&status);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert!(status["lock"].is_null());
    assert_eq!(status["runs"].as_array().unwrap().len(), 1);

    // A landing area that cannot be listed stops the run before any step: exit 3, and the
    // failed attempt is in `_runs` with the reason.
    let mut cmd = command(
        &moto,
        &site,
        "s3://no-such-bucket/in",
        warehouse,
        &["run", "--format", "json"],
    );
    cmd.env("ANSINH_RUN__PIPELINES", &pipes)
        .env("ANSINH_STORAGE__MAX_RETRIES", "0");
    let unlisted = run(cmd);
    assert_eq!(unlisted.code, 3, "{}", unlisted.stderr);
    let history = run(command(
        &moto,
        &site,
        landing,
        warehouse,
        &["history", "--format", "json"],
    ));
    assert_ok(&history);
    let runs: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let latest = &runs.as_array().unwrap()[0];
    assert_eq!(latest["status"], "failed", "{latest:#}");
    assert!(
        latest["message"]
            .as_str()
            .unwrap()
            .contains("no-such-bucket"),
        "{latest:#}"
    );
}

#[test]
#[ignore = "needs moto's S3 server; .ci/run installs it and runs ignored tests"]
fn a_stopped_s3_server_mid_load_exits_3_and_the_next_run_completes() {
    let moto = Moto::start();
    moto.bucket("warehouse");
    let site = Site::new();
    let manifest = site.generate("2024-01", "2024-03", 0.02, false);
    let landing = site.landing();
    let landing = landing.to_str().unwrap();
    let warehouse = "s3://warehouse/wh";
    let ingest = |stopped_quickly: bool| {
        let mut cmd = command(
            &moto,
            &site,
            landing,
            warehouse,
            &["ingest", "--kind", "participants"],
        );
        if stopped_quickly {
            cmd.env("ANSINH_STORAGE__REQUEST_TIMEOUT_SECONDS", "2")
                .env("ANSINH_STORAGE__CONNECT_TIMEOUT_SECONDS", "1")
                .env("ANSINH_STORAGE__MAX_RETRIES", "1")
                .env("ANSINH_STORAGE__RETRY_TIMEOUT_SECONDS", "3");
        }
        cmd
    };
    let mut child = ingest(true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let some office-months load, then stop the server from answering.
    std::thread::sleep(Duration::from_millis(2500));
    moto.signal("-STOP");
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let finished = child.try_wait().unwrap().is_some();
    moto.signal("-CONT");
    assert!(
        finished,
        "the load did not give up while the server was stopped"
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");

    // Every office-month in the warehouse is whole.
    let expected = manifest_counts(&manifest, "participants");
    let partial = participant_counts(&moto, &site, warehouse);
    assert!(
        partial.len() < expected.len(),
        "the load was not interrupted"
    );
    for (key, n) in &partial {
        assert_eq!(Some(n), expected.get(key), "{key:?}");
    }
    // The next run (taking over the lock the failed run could not release) completes.
    let out = run(ingest(false));
    assert_ok(&out);
    assert_eq!(participant_counts(&moto, &site, warehouse), expected);
}

#[test]
#[ignore = "needs moto's S3 server; .ci/run installs it and runs ignored tests"]
fn a_new_remote_delivery_is_downloaded_once_during_a_run() {
    let moto = Moto::start();
    moto.bucket("landing");
    moto.bucket("warehouse");
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.002, false);
    moto.upload(&site.landing().join("2024-01"), "landing", "in/2024-01/");
    let pipes = crate::common::partial_participants_pipeline(&site);
    // GETs of one delivery's object during one `ansinh run`.
    let gets_during_a_run = || {
        let logged = moto.requests().len();
        let mut cmd = command(
            &moto,
            &site,
            "s3://landing/in",
            "s3://warehouse/wh",
            &["run"],
        );
        cmd.env("ANSINH_RUN__PIPELINES", &pipes);
        assert_ok(&run(cmd));
        moto.requests()[logged..]
            .matches("\"GET /landing/in/2024-01/568_2024-01_participants.csv ")
            .count()
    };
    assert_eq!(
        gets_during_a_run(),
        1,
        "planned without a download, loaded with one"
    );
    // Unchanged: known by its entity tag and size, not downloaded at all.
    assert_eq!(gets_during_a_run(), 0);
}

//! Landing area and warehouse in Azure Blob Storage (`az://`), against Azurite, Microsoft's
//! emulator from npm, on loopback: the same loads, restatement and refusal as on a local disk.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::azure::MicrosoftAzureBuilder;
use object_store::{ObjectStoreExt, PutPayload};

use crate::common::{Run, Site, TEST_KEY, manifest_counts, require_python, run};

/// The emulator's well-known account and key (public, for the emulator only).
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct Azurite {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Azurite {
    /// Starts the blob service; the test fails where Azurite or the Python client that
    /// creates containers is missing.
    fn start() -> Azurite {
        require_python(&["azure.storage.blob"]);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let child = match Command::new("azurite-blob")
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--skipApiVersionCheck", "--silent", "--location"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => panic!("azurite-blob is missing (npm install -g azurite): {e}"),
        };
        let azurite = Azurite {
            child,
            port,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "azurite-blob did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates containers with the Azure SDK for Python (object stores cannot).
    fn containers(&self, names: &[&str]) {
        let script = format!(
            "from azure.storage.blob import BlobServiceClient\n\
             s = BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;\
             AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={}/{ACCOUNT};')\n\
             for name in {names:?}:\n    s.create_container(name)\n",
            self.endpoint()
        );
        crate::common::python3(["-c", &script]);
    }

    /// Uploads every file directly under `dir` to `container` under `prefix`.
    fn upload(&self, dir: &Path, container: &str, prefix: &str) {
        let store = MicrosoftAzureBuilder::new()
            .with_endpoint(format!("{}/{ACCOUNT}", self.endpoint()))
            .with_account(ACCOUNT)
            .with_access_key(KEY)
            .with_container_name(container)
            .with_allow_http(true)
            .build()
            .unwrap();
        crate::common::runtime().block_on(async {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap();
                let location = object_store::path::Path::from(format!("{prefix}{name}"));
                let bytes = std::fs::read(&path).unwrap();
                store.put(&location, PutPayload::from(bytes)).await.unwrap();
            }
        });
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary against the emulator, with the test key.
fn command(azurite: &Azurite, site: &Site, landing: &str, warehouse: &str) -> Command {
    let mut cmd = site.command_at(warehouse);
    cmd.env("ANSINH_PSEUDONYM_KEY", TEST_KEY)
        .env("AZURE_STORAGE_USE_EMULATOR", "true")
        .env("AZURITE_BLOB_STORAGE_URL", azurite.endpoint())
        .env("ANSINH_STORAGE__ALLOW_HTTP", "true")
        .arg("--landing")
        .arg(landing);
    cmd
}

fn ok(out: Run) -> Run {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out
}

#[test]
#[ignore = "needs Azurite and azure-storage-blob; .ci/run installs it and runs ignored tests"]
fn azure_landing_and_warehouse_load_restate_and_refuse_as_on_a_local_disk() {
    let azurite = Azurite::start();
    azurite.containers(&["landing", "warehouse"]);
    let site = Site::new();
    let manifest = site.generate("2024-01", "2024-01", 0.01, false);
    let month = site.landing().join("2024-01");
    azurite.upload(&month, "landing", "in/2024-01/");
    let (landing, warehouse) = ("az://landing/in", "az://warehouse/wh");
    let ingest = || {
        let mut cmd = command(&azurite, &site, landing, warehouse);
        cmd.args(["ingest", "--all"]);
        run(cmd)
    };
    let counts = || -> BTreeMap<Vec<String>, i64> {
        let mut cmd = command(&azurite, &site, landing, warehouse);
        cmd.args([
            "sql",
            "--format",
            "csv",
            "SELECT period, office, scheme, CAST(status AS VARCHAR) AS status, COUNT(*) AS n \
             FROM participants GROUP BY 1, 2, 3, 4",
        ]);
        crate::common::csv_counts(&ok(run(cmd)).stdout)
    };

    let first = ok(ingest());
    assert!(
        first.stdout.contains("deliveries: 32 loaded"),
        "{}",
        first.stdout
    );
    let expected = manifest_counts(&manifest, "participants");
    assert_eq!(counts(), expected);
    let again = ok(ingest());
    assert!(
        again.stdout.contains("deliveries: 32 unchanged"),
        "{}",
        again.stdout
    );

    // A corrected file restates its office-month; a broken one is refused and its
    // office-month stays as it was.
    let file = month.join("568_2024-01_participants.csv");
    crate::common::drop_last_row(&file);
    std::fs::write(
        month.join("569_2024-01_participants.csv"),
        "this is not,an extract\n1,2\n",
    )
    .unwrap();
    azurite.upload(&month, "landing", "in/2024-01/");
    let third = ingest();
    assert_eq!(third.code, 1, "{}", third.stderr);
    assert!(
        third.stdout.contains("1 restated") && third.stdout.contains("1 refused"),
        "{}",
        third.stdout
    );
    let office = |c: &BTreeMap<Vec<String>, i64>, o: &str| -> i64 {
        c.iter().filter(|(k, _)| k[1] == o).map(|(_, n)| n).sum()
    };
    let now = counts();
    assert_eq!(office(&now, "568"), office(&expected, "568") - 1);
    assert_eq!(office(&now, "569"), office(&expected, "569"));

    // The marts are written to the container and read back from it.
    let mut build = command(&azurite, &site, landing, warehouse);
    build.arg("build");
    ok(run(build));
    let mut goal = command(&azurite, &site, landing, warehouse);
    goal.args([
        "sql",
        "--format",
        "csv",
        "SELECT COUNT(*) AS n FROM goal_progress",
    ]);
    let goal = ok(run(goal));
    assert_ne!(goal.stdout.lines().nth(1), Some("0"), "{}", goal.stdout);
}

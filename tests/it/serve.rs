//! `ansinh serve` with real clients: psql and Python's psycopg.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Run, Site, require_command, require_python, run};

const PASSWORD: &str = "correct horse battery staple";

fn command(site: &Site, args: &[&str]) -> Command {
    let mut cmd = site.command();
    cmd.arg("--landing").arg(site.landing()).args(args);
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(site: &Site, port: u16, users: &str, extra: &[(&str, &str)]) -> Server {
    let mut cmd = command(site, &["serve", "--port", &port.to_string()]);
    cmd.env("ANSINH_SERVE__USERS", users)
        .env("ANSINH_SERVE__REFRESH_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("the server exited with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server(child)
}

fn psql(port: u16, password: &str, sql: &str, ssl: &str) -> Run {
    let mut cmd = Command::new("psql");
    cmd.env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .arg(format!(
            "host=127.0.0.1 port={port} user=analyst dbname=ansinh sslmode={ssl}"
        ))
        .args([
            "-X",
            "-A",
            "-t",
            "-F",
            ",",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]);
    run(cmd)
}

fn ansinh_csv(site: &Site, sql: &str) -> Vec<String> {
    let out = run(command(site, &["sql", "--format", "csv", sql]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines: Vec<String> = out.stdout.lines().skip(1).map(str::to_string).collect();
    lines.sort();
    lines
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn hash_line(site: &Site) -> String {
    let mut cmd = command(site, &["serve", "--hash-password", "analyst"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{PASSWORD}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(line.starts_with("analyst:scram-sha-256$4096$") && !line.contains(PASSWORD));
    line
}

#[test]
#[ignore = "needs psql and psycopg; .ci/run installs it and runs ignored tests"]
fn psql_and_psycopg_query_the_marts_read_only_with_passwords() {
    require_command("psql", "apt-get install postgresql-client");
    require_python(&["psycopg"]);
    let site = Site::new();
    site.generate("2023-12", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    assert_eq!(run(command(&site, &["build"])).code, 0);
    let users = hash_line(&site);

    // No user, no server.
    let out = run(command(
        &site,
        &["serve", "--port", &free_port().to_string()],
    ));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no users"), "{}", out.stderr);

    let port = free_port();
    let _server = start(&site, port, &users, &[]);

    // Each mart, the same rows as `ansinh sql` (columns whose text is exact).
    for (mart, columns) in [
        (
            "coverage_monthly",
            "CAST(period AS VARCHAR), unit_code, indicator, numerator",
        ),
        (
            "coverage_trend",
            "CAST(period AS VARCHAR), unit_code, indicator, new_enrolments, lapses",
        ),
        (
            "pension_receipt_monthly",
            "CAST(period AS VARCHAR), unit_code, sex, beneficiaries",
        ),
        (
            "goal_progress",
            "indicator, unit_code, target_year, gap_persons, status",
        ),
        ("data_quality", "office, kind, state, rows_loaded"),
    ] {
        let sql = format!("SELECT {columns} FROM {mart}");
        let out = psql(port, PASSWORD, &sql, "disable");
        assert_eq!(out.code, 0, "{mart}: {}", out.stderr);
        let ours = ansinh_csv(&site, &sql);
        assert!(!ours.is_empty(), "{mart} is empty");
        assert_eq!(sorted_lines(&out.stdout), ours, "{mart}");
    }
    // Listing tables.
    let out = psql(
        port,
        PASSWORD,
        "SELECT table_name FROM information_schema.tables ORDER BY 1",
        "disable",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for table in [
        "participants",
        "goal_progress",
        "coverage_monthly",
        "_loads",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == table),
            "{table}: {}",
            out.stdout
        );
    }
    let out = psql(port, PASSWORD, "\\dt", "disable");
    assert_eq!(out.code, 0, "\\dt: {}", out.stderr);
    assert!(out.stdout.contains("participants"), "{}", out.stdout);

    // A wrong password is refused.
    let out = psql(port, "wrong", "SELECT 1", "disable");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .to_lowercase()
            .contains("password authentication failed"),
        "{}",
        out.stderr
    );
    // DDL, DML and COPY are refused.
    for statement in [
        "CREATE TABLE t (a INT)",
        "INSERT INTO participants SELECT * FROM participants",
        "DELETE FROM _loads",
        "DROP TABLE participants",
        "COPY participants TO '/tmp/ansinh-copy.csv'",
        "EXPLAIN ANALYZE INSERT INTO participants SELECT * FROM participants",
        "SET datafusion.execution.batch_size = 1",
        // Quoting the name does not get past the screen.
        "SET \"datafusion\".\"catalog\".\"default_schema\" = 'nowhere'",
        "SET \"runtime\".\"memory_limit\" = '1K'",
    ] {
        let out = psql(port, PASSWORD, statement, "disable");
        assert_ne!(out.code, 0, "{statement} was accepted");
        assert!(
            out.stderr.contains("read-only"),
            "{statement}: {}",
            out.stderr
        );
    }

    // Data loaded after the server started is seen without a restart.
    let count = "SELECT COUNT(DISTINCT period) FROM participants";
    assert_eq!(psql(port, PASSWORD, count, "disable").stdout.trim(), "2");
    let later = Site::new();
    later.generate("2023-12", "2024-02", 0.01, false);
    let feb = later.landing().join("2024-02");
    let target = site.landing().join("2024-02");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&feb).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
    }
    assert_eq!(site.ingest(&["--period", "2024-02"]).code, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = psql(port, PASSWORD, count, "disable");
        if seen.stdout.trim() == "3" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new data not picked up: {}",
            seen.stdout
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // psycopg, with a parameter.
    let script = format!(
        "import psycopg\n\
         with psycopg.connect(host='127.0.0.1', port={port}, user='analyst', password='{PASSWORD}', dbname='ansinh', sslmode='disable') as conn:\n\
         \x20   cur = conn.execute('SELECT COUNT(*) FROM goal_progress WHERE indicator = %s', ('si_coverage',))\n\
         \x20   print(cur.fetchone()[0])\n\
         \x20   try:\n\
         \x20       conn.execute('DELETE FROM participants')\n\
         \x20       print('accepted')\n\
         \x20   except psycopg.Error as e:\n\
         \x20       print('refused' if 'read-only' in str(e) else str(e))\n"
    );
    let py = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let expected = ansinh_csv(
        &site,
        "SELECT COUNT(*) AS n FROM goal_progress WHERE indicator = 'si_coverage'",
    );
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        expected.first().map(String::as_str),
        "{stdout}"
    );
    assert_eq!(lines.next(), Some("refused"), "{stdout}");
}

#[test]
#[ignore = "needs psql and openssl; .ci/run installs it and runs ignored tests"]
fn tls_is_used_when_configured_and_a_bad_certificate_stops_the_server() {
    let site = Site::new();
    site.generate("2024-01", "2024-01", 0.01, false);
    assert_eq!(site.ingest(&[]).code, 0);
    let users = hash_line(&site);
    // A bad certificate: the server refuses to start rather than serve plain text.
    let bad = site.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let mut cmd = command(&site, &["serve", "--port", &free_port().to_string()]);
    cmd.env("ANSINH_SERVE__USERS", &users)
        .env("ANSINH_SERVE__TLS_CERT", &bad)
        .env("ANSINH_SERVE__TLS_KEY", &bad);
    let out = run(cmd);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("TLS"), "{}", out.stderr);

    require_command("openssl", "apt-get install openssl");
    require_command("psql", "apt-get install postgresql-client");
    let (cert, key) = (site.path().join("cert.pem"), site.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = free_port();
    let _server = start(
        &site,
        port,
        &users,
        &[
            ("ANSINH_SERVE__TLS_CERT", cert.to_str().unwrap()),
            ("ANSINH_SERVE__TLS_KEY", key.to_str().unwrap()),
            ("ANSINH_SERVE__STATEMENT_TIMEOUT_SECONDS", "1"),
        ],
    );
    let out = psql(
        port,
        PASSWORD,
        "SELECT COUNT(*) FROM participants",
        "require",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_ne!(out.stdout.trim(), "0");
    // With a certificate, a client without TLS is refused before it authenticates.
    let out = psql(port, PASSWORD, "SELECT 1", "disable");
    assert_ne!(out.code, 0, "plain text was served: {}", out.stdout);
    assert!(
        out.stderr.contains("this server requires TLS"),
        "{}",
        out.stderr
    );
    // A statement that runs longer than the timeout is cancelled, execution included.
    let started = Instant::now();
    let out = psql(
        port,
        PASSWORD,
        "SELECT COUNT(*) FROM generate_series(1, 20000000000) AS t(x) WHERE x % 7 = 3",
        "require",
    );
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("statement timeout"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
}

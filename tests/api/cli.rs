//! The `emporium` binary as an operator uses it: settings errors, createsuperuser, serve with
//! nothing configured, JSON logs and SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_emporium");

/// A command in a fresh working directory with no Emporium variables inherited.
pub(crate) fn emporium(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("EMPORIUM_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn a_bad_setting_stops_with_one_line_naming_it_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("dir");
    let output = emporium(dir.path())
        .args(["check"])
        .env("EMPORIUM_ACCESS_TTL_IS_NOT_READ", "x")
        .env("EMPORIUM_REQUEST_TIMEOUT", "forever")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("EMPORIUM_REQUEST_TIMEOUT"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn createsuperuser_works_without_a_terminal_when_given_the_password() {
    let dir = tempfile::tempdir().expect("dir");
    let ok = emporium(dir.path())
        .args([
            "createsuperuser",
            "--email",
            "Admin@Shop.Example",
            "--password",
            "Admin-Passw0rd!",
        ])
        .output()
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("admin@shop.example"));

    let taken = emporium(dir.path())
        .args([
            "createsuperuser",
            "--email",
            "admin@shop.example",
            "--password",
            "Admin-Passw0rd!",
        ])
        .output()
        .expect("runs");
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));

    let no_terminal = emporium(dir.path())
        .args(["createsuperuser", "--email", "other@shop.example"])
        .output()
        .expect("runs");
    assert_eq!(no_terminal.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("--password"));
}

#[test]
fn migrate_twice_and_openapi_work() {
    let dir = tempfile::tempdir().expect("dir");
    for _ in 0..2 {
        let output = emporium(dir.path()).arg("migrate").output().expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = emporium(dir.path()).arg("openapi").output().expect("runs");
    assert!(output.status.success());
    let doc: Value = serde_json::from_slice(&output.stdout).expect("JSON document");
    assert!(doc["paths"].get("/health/").is_some());
}

#[test]
fn demo_data_loads_a_catalog_once() {
    let dir = tempfile::tempdir().expect("dir");
    let first = emporium(dir.path())
        .arg("demo-data")
        .output()
        .expect("runs");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("demo catalog loaded (11 products added)"),
        "{stdout}"
    );
    let second = emporium(dir.path())
        .arg("demo-data")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&second.stdout).contains("(0 products added)"));
}

#[test]
fn check_fails_when_the_database_cannot_be_reached() {
    let dir = tempfile::tempdir().expect("dir");
    let output = emporium(dir.path())
        .arg("check")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("database"));
}

#[test]
fn serve_runs_with_nothing_configured_logs_json_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = emporium(dir.path())
        .arg("serve")
        .env("EMPORIUM_LISTEN", "127.0.0.1:0")
        .env("EMPORIUM_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });

    let started = Instant::now();
    let mut seen = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs that it is serving");
        seen.push(line.clone());
        let value: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["fields"]["message"] == "serving" || value["message"] == "serving" {
            let address = value["address"]
                .as_str()
                .or_else(|| value["fields"]["address"].as_str())
                .expect("address logged")
                .to_owned();
            break address;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    };

    let body = http_get(&address, "/health/");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    // A password goes in, and must never come out in the logs, even at debug level.
    let secret = "Zebra-Quasar-Lantern-4417";
    let credentials = format!(r#"{{"email": "ada@example.com", "password": "{secret}"}}"#);
    let registered = http_post(&address, "/api/auth/register/", &credentials);
    assert!(registered.starts_with("HTTP/1.1 201"), "{registered}");
    let logged_in = http_post(&address, "/api/auth/login/", &credentials);
    assert!(logged_in.starts_with("HTTP/1.1 200"), "{logged_in}");
    assert!(
        dir.path().join("emporium.db").exists(),
        "the embedded default is a SQLite file"
    );
    let secret = dir.path().join(".emporium-secret");
    assert!(secret.exists(), "a secret key is generated and kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0));
    reader.join().expect("reader");
    for line in lines_rx.try_iter() {
        seen.push(line);
    }
    for line in &seen {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not one JSON object: {line}"
        );
    }
}

/// A minimal blocking JSON POST, returning the raw response.
fn http_post(address: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

/// A minimal blocking GET, returning the raw response.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

//! The `constancia-collector` command line, run as a process: help, exit
//! codes, the one line `serve` prints, graceful stop on SIGTERM, and
//! `export` refusing what it cannot do with a message instead of a panic.
//!
//! This file also makes `cargo test --workspace` build the binary that the
//! end-to-end suite (`tests/tests/suite/`) runs. It does not test requests:
//! the suite does, against a built site.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_constancia-collector");

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("CONSTANCIA_DB")
        .env_remove("CONSTANCIA_SITE")
        .env_remove("CONSTANCIA_PREFIX")
        .env_remove("CONSTANCIA_LISTEN")
        .stdin(Stdio::null())
        .output()
        .expect("the collector binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// No panic message and no Rust backtrace hint: errors are for people.
fn assert_clean_error(output: &Output, wanted: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "exit code 1 expected:\n{err}");
    assert!(err.contains(wanted), "stderr should say `{wanted}`:\n{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "a panic, not an error:\n{err}");
    assert!(output.stdout.is_empty(), "nothing on stdout for a failure: {:?}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn help_describes_both_commands_and_their_settings() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("serve") && help.contains("export"), "{help}");

    let output = run(&["serve", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--site", "--db", "--listen", "--prefix", "--max-body", "CONSTANCIA_DB", "CONSTANCIA_PREFIX"] {
        assert!(help.contains(flag), "`serve --help` should mention {flag}:\n{help}");
    }

    let output = run(&["export", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--db", "--form", "--format", "--out", "--labels", "--deidentified"] {
        assert!(help.contains(flag), "`export --help` should mention {flag}:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["serve", "--listen", "not-an-address"],
        &["serve", "--max-body", "-5"],
        &["export", "--db", "x.sqlite", "--form", "f", "--format", "xml", "--out", "o"],
        &["export", "--form", "f", "--format", "csv", "--out", "o"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}:\n{}", stderr(&output));
    }
}

#[test]
fn a_bad_prefix_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("data/c.sqlite");
    for prefix in ["mxtap", "X", "ABCDEFGHIJKLM", "MX-TAP", "MX TAP", "", "MXTÁP"] {
        let output = run(&[
            "serve",
            "--site",
            path(dir.path()),
            "--db",
            path(&db),
            "--listen",
            "127.0.0.1:0",
            "--prefix",
            prefix,
        ]);
        assert_clean_error(&output, "--prefix");
    }
    assert!(!db.exists(), "no database for a refused start");
}

#[test]
fn serve_prints_one_line_and_stops_cleanly_on_sigterm_then_export_refuses_unknown_forms() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let site = dir.path().join("site");
    std::fs::create_dir(&site).expect("an empty site");
    let db = dir.path().join("nested/folder/c.sqlite");
    let mut child = Command::new(BINARY)
        .args(["serve", "--site", path(&site), "--db", path(&db), "--listen", "127.0.0.1:0", "--prefix", "CLI"])
        .env("CONSTANCIA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the collector starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line on stdout");
    let address = line
        .strip_prefix("constancia-collector listening on http://")
        .and_then(|rest| rest.strip_suffix("/\n"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let address: std::net::SocketAddr = address.parse().expect("an address");
    assert!(address.ip().is_loopback() && address.port() != 0, "{address}");
    assert!(db.is_file(), "the database and its folders are created");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the collector did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the rest of stdout");
    assert_eq!(rest, "", "exactly one line on stdout");

    // The database exists but holds no form.
    let out = dir.path().join("export");
    let output = run(&["export", "--db", path(&db), "--form", "caso-ddhh", "--format", "csv", "--out", path(&out)]);
    assert_clean_error(&output, "no form `caso-ddhh`");
    let output = run(&[
        "export",
        "--db",
        path(&db),
        "--form",
        "caso-ddhh",
        "--version",
        "3",
        "--format",
        "json",
        "--out",
        path(&out),
    ]);
    assert_clean_error(&output, "version 3");
}

#[test]
fn export_without_a_database_or_into_a_file_fails_cleanly() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let missing = dir.path().join("missing.sqlite");
    let out = dir.path().join("out");
    let output =
        run(&["export", "--db", path(&missing), "--form", "caso-ddhh", "--format", "csv", "--out", path(&out)]);
    assert_clean_error(&output, "missing.sqlite");
    assert!(!missing.exists(), "export never creates a database");

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("a file");
    let output =
        run(&["export", "--db", path(&missing), "--form", "caso-ddhh", "--format", "csv", "--out", path(&file)]);
    assert_clean_error(&output, "is a file");
}

#[test]
fn export_names_a_database_file_it_cannot_read() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let not_sqlite = dir.path().join("not.sqlite");
    std::fs::write(&not_sqlite, "this is not a database, just text that is long enough to have a header")
        .expect("a file");
    let out = dir.path().join("out");
    let output =
        run(&["export", "--db", path(&not_sqlite), "--form", "caso-ddhh", "--format", "csv", "--out", path(&out)]);
    assert_clean_error(&output, "not.sqlite");
}

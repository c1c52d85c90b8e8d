//! The `constancia` binary's contract with scripts: exit codes (0 success,
//! 1 the forms are wrong or the build failed, 2 the command line is wrong)
//! and `--format json`, one JSON document on stdout.
//!
//! (Its existence also makes `cargo test` build the binary, which the
//! end-to-end suite in `tests/` runs.)

use std::path::Path;
use std::process::{Command, Output};

const SITE: &str = "[site]\ntitle = \"Casos\"\ndefault_language = \"es\"\nlanguages = [\"es\"]\n";

const FORM: &str = r#"[form]
id = "visita"
version = 1
title = "Visita"

[[section]]
id = "visita"
title = "Visita"

[[section.question]]
id = "fecha"
type = "date"
label = "Fecha"
"#;

/// A forms folder with `form` as its only form.
fn forms(form: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("site.toml"), SITE).expect("write site.toml");
    std::fs::write(dir.path().join("visita.toml"), form).expect("write the form");
    dir
}

fn constancia(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_constancia")).args(args).env_remove("CONSTANCIA_LOG").output().expect("runs")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_exits_0_on_valid_forms() {
    let dir = forms(FORM);
    let output = constancia(&["check", arg(dir.path())]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "human output goes to stderr");
    assert!(stderr(&output).contains("checked 1 form(s)"));
}

#[test]
fn check_exits_1_on_invalid_forms() {
    let dir = forms(&FORM.replace("type = \"date\"", "type = \"fecha\""));
    let output = constancia(&["check", arg(dir.path())]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown-type") && err.contains("visita.toml:12:8"), "{err}");
    assert!(output.stdout.is_empty());
}

#[test]
fn check_exits_1_on_a_missing_folder() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let output = constancia(&["check", arg(&dir.path().join("nowhere"))]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot read the forms folder"), "{}", stderr(&output));
}

#[test]
fn usage_errors_exit_2() {
    for args in [&["frobnicate"][..], &["check", "--format", "xml"], &["check", "--colour"], &["build", "a", "b"], &[]]
    {
        let output = constancia(args);
        assert_eq!(output.status.code(), Some(2), "constancia {args:?}: {}", stderr(&output));
        assert!(output.stdout.is_empty(), "constancia {args:?}: usage errors go to stderr");
    }
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let output = constancia(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
    }
}

/// Runs with `--format json` and reads stdout as one JSON document.
fn json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = constancia(args);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"));
    (output.status.code(), value)
}

#[test]
fn format_json_prints_one_document_on_stdout() {
    let valid = forms(FORM);
    let (code, value) = json(&["check", arg(valid.path()), "--format", "json"]);
    assert_eq!(code, Some(0));
    assert_eq!(value, serde_json::json!({ "errors": 0, "warnings": 0, "diagnostics": [] }));

    let invalid = forms(&FORM.replace("label = \"Fecha\"", "label = \"Fecha\"\nlabl = \"x\""));
    let (code, value) = json(&["check", arg(invalid.path()), "--format", "json"]);
    assert_eq!(code, Some(1));
    assert_eq!(value["errors"], 1);
    let diagnostic = &value["diagnostics"][0];
    let file = invalid.path().join("visita.toml");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["code"], "unknown-key");
    assert_eq!(diagnostic["file"], arg(&file));
    assert_eq!((diagnostic["line"].as_u64(), diagnostic["column"].as_u64()), (Some(14), Some(1)));
    assert_eq!(diagnostic["source_line"], "labl = \"x\"");
    assert_eq!(diagnostic["help"], "did you mean `label`?");

    // `build` too: the diagnostics as JSON, the summary for humans.
    let out = tempfile::tempdir().expect("a temporary folder");
    let site = out.path().join("site");
    let (code, value) = json(&["build", arg(invalid.path()), "--out", arg(&site), "--format", "json"]);
    assert_eq!(code, Some(1));
    assert_eq!(value["errors"], 1);
    assert!(!site.exists(), "nothing built from invalid forms");
    let (code, value) = json(&["build", arg(valid.path()), "--out", arg(&site), "--format", "json"]);
    assert_eq!(code, Some(0));
    assert_eq!(value["errors"], 0);
    assert!(site.join("es/visita/index.html").is_file());
}

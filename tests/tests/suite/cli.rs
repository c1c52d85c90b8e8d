//! The `constancia` command line, run as a process on the fixtures and the
//! real forms: what an editor sees and the exit codes scripts rely on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use constancia_tests::{constancia_binary, fixtures_dir, forms_dir, read_tree};

/// Runs `constancia` with `args` from `tests/` (so fixture paths are short).
fn run(args: &[&str]) -> Output {
    Command::new(constancia_binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CONSTANCIA_LOG")
        .output()
        .expect("constancia runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn check_names_the_file_line_and_column_of_every_invalid_fixture() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join("invalid"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    let mut checked = 0;
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
        let relative = format!("fixtures/invalid/{name}");
        let expect: toml::Table =
            std::fs::read_to_string(dir.join("expect.txt")).expect("expect.txt").parse().expect("TOML");
        let output = run(&["check", &relative]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "`constancia check {relative}` must exit 1:\n{err}");
        assert!(output.stdout.is_empty(), "{relative}: nothing for humans on stdout");
        let code = expect["code"].as_str().expect("code");
        assert!(err.contains(code), "{relative}: the code `{code}` on stderr:\n{err}");
        if let Some(file) = expect.get("file").and_then(|f| f.as_str()) {
            let number = |key: &str| expect[key].as_integer().expect("a number");
            let location = format!("{relative}/{file}:{}:{}", number("line"), number("column"));
            assert!(err.contains(&location), "{relative}: `{location}` on stderr:\n{err}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} fixtures with a location");
}

#[test]
fn check_accepts_the_real_forms() {
    let forms = forms_dir();
    let output = run(&["check", path_arg(&forms)]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "`constancia check forms` must exit 0:\n{err}");
    assert!(err.contains("no errors"), "{err}");
    assert!(!err.contains('×'), "no error is rendered:\n{err}");
}

#[test]
fn check_exits_0_on_warnings_only() {
    let output = run(&["check", "fixtures/warnings/missing_translation"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("missing-translation") && err.contains("0 error(s), 1 warning(s)"), "{err}");
}

#[test]
fn check_prints_json_for_tools_on_stdout() {
    let output = run(&["check", "fixtures/invalid/unknown_key_question", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document on stdout");
    assert_eq!(json["errors"], 1);
    let first = &json["diagnostics"][0];
    assert_eq!(first["code"], "unknown-key");
    assert_eq!(first["file"], "fixtures/invalid/unknown_key_question/caso.toml");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(14), Some(1)));
    assert_eq!(first["help"], "did you mean `max_length`?");
}

/// Copies a fixture forms folder into a temporary one that a test may edit.
fn editable_copy(fixture: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary folder");
    for (relative, bytes) in read_tree(&fixtures_dir().join(fixture)) {
        let path = copy.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    copy
}

#[test]
fn build_refuses_a_folder_it_did_not_make() {
    let out = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(out.path().join("notes.txt"), "the consul's notes").expect("write");
    let output = run(&["build", path_arg(&forms_dir()), "--out", path_arg(out.path())]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("not made by `constancia build`"), "{err}");
    let left = read_tree(out.path());
    assert_eq!(left.keys().collect::<Vec<_>>(), ["notes.txt"], "nothing written, nothing removed");
}

#[test]
fn build_of_invalid_forms_fails_and_writes_nothing() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let site = out.path().join("site");
    let output = run(&["build", "fixtures/invalid/calc_cycle", "--out", path_arg(&site)]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("calc-cycle") && err.contains("the site was not built"), "{err}");
    assert!(!site.exists(), "no output folder for invalid forms");
}

#[test]
fn build_refuses_to_change_a_published_version() {
    let forms = editable_copy("valid/minimal");
    let out = tempfile::tempdir().expect("a temporary folder");
    let (forms_arg, out_arg) = (path_arg(forms.path()), path_arg(out.path()));
    let build = || run(&["build", forms_arg, "--out", out_arg]);

    let first = build();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let published = out.path().join("forms/visita/1.json");
    let before = std::fs::read(&published).expect("version 1 published");
    let site_before = read_tree(out.path());

    // The meaning changes, the version does not.
    let form = forms.path().join("visita.toml");
    let text = std::fs::read_to_string(&form).expect("the form");
    std::fs::write(&form, text.replace("Fecha de la visita", "Fecha de la primera visita")).expect("edit");
    let refused = build();
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("version 1 of the form `visita` is already published"), "{err}");
    assert!(err.contains("raise `version`"), "{err}");
    assert!(read_tree(out.path()) == site_before, "a refused build changes no file");

    // Raising the version publishes a new manifest beside the old one.
    let text = std::fs::read_to_string(&form).expect("the form");
    std::fs::write(&form, text.replace("version = 1", "version = 2")).expect("edit");
    let raised = build();
    assert_eq!(raised.status.code(), Some(0), "{}", stderr(&raised));
    assert_eq!(std::fs::read(&published).expect("version 1 kept"), before, "a published manifest is never edited");
    assert!(out.path().join("forms/visita/2.json").is_file(), "version 2 published");
}

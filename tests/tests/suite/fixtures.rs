//! Fixture forms folders under `tests/fixtures/`.
//!
//! - `invalid/<name>/`: a tiny complete forms folder with exactly one defect,
//!   and an `expect.txt` (TOML, named so that `check` does not read it as a
//!   form) naming the diagnostic code and the file, line and column of the
//!   defect. The checker must report exactly one error, there,
//!   and its rendered diagnostic is snapshotted.
//! - `warnings/<name>/`: the same for a folder that only draws a warning
//!   (it still checks without errors, so `constancia check` exits 0).
//! - `valid/<name>/`: small valid sites; their pages and manifests are
//!   snapshotted.
//!
//! Fixture folders are checked through paths relative to `tests/` (the
//! working directory of the tests), so the paths in snapshots are stable.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use constancia::render::render_all;
use constancia_tests::{check, fixtures_dir, workspace_root};
use serde_json::Value;

/// What a fixture's `expect.txt` promises.
#[derive(Debug)]
struct Expect {
    code: String,
    /// Relative to the fixture folder; `None` for a problem of the folder.
    file: Option<String>,
    line: Option<i64>,
    column: Option<i64>,
    /// How many errors (default 1 for invalid fixtures, 0 for warnings).
    errors: Option<i64>,
    /// How many warnings (default 0 for invalid fixtures, 1 for warnings).
    warnings: Option<i64>,
}

fn read_expect(dir: &Path) -> Expect {
    let path = dir.join("expect.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("`{}` is not TOML: {e}", path.display()));
    for key in table.keys() {
        assert!(
            ["code", "file", "line", "column", "errors", "warnings"].contains(&key.as_str()),
            "`{}`: unknown key `{key}`",
            path.display()
        );
    }
    let int = |key: &str| table.get(key).map(|v| v.as_integer().unwrap_or_else(|| panic!("`{key}` is a number")));
    let string = |key: &str| table.get(key).map(|v| v.as_str().expect("a text").to_owned());
    Expect {
        code: string("code").unwrap_or_else(|| panic!("`{}` has no `code`", path.display())),
        file: string("file"),
        line: int("line"),
        column: int("column"),
        errors: int("errors"),
        warnings: int("warnings"),
    }
}

/// A fixture folder as a path relative to `tests/`, the working directory.
fn relative(dir: &Path) -> PathBuf {
    dir.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(dir).to_owned()
}

/// The fixture folders directly under `fixtures/<group>/`, sorted.
fn fixture_dirs(group: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(group))
        .unwrap_or_else(|e| panic!("cannot list fixtures/{group}: {e}"))
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Checks a fixture and compares its first diagnostic of `severity` with
/// `expect.txt`; returns the rendered diagnostics for the snapshot.
fn check_fixture(dir: &Path, severity: &str) -> String {
    let dir = relative(dir);
    let expect = read_expect(&dir);
    let project = check(&dir);
    let rendered = render_all(&project.diagnostics, &project.sources, false);
    let json = project.diagnostics.to_json(&project.sources);
    let context = format!("fixture `{}`:\n{rendered}", dir.display());

    let expected_errors = expect.errors.unwrap_or(if severity == "error" { 1 } else { 0 });
    assert_eq!(json["errors"], expected_errors, "number of errors of {context}");
    let expected_warnings = expect.warnings.unwrap_or(if severity == "error" { 0 } else { 1 });
    assert_eq!(json["warnings"], expected_warnings, "number of warnings of {context}");
    let found: Vec<&Value> =
        json["diagnostics"].as_array().expect("a list").iter().filter(|d| d["severity"] == severity).collect();
    let first = found.first().unwrap_or_else(|| panic!("no {severity} in {context}"));
    assert_eq!(first["code"], expect.code.as_str(), "code of {context}");
    match &expect.file {
        Some(file) => {
            let path = dir.join(file).to_string_lossy().into_owned();
            assert_eq!(first["file"], path.as_str(), "file of {context}");
            assert_eq!(first["line"], expect.line.expect("`line` with `file`"), "line of {context}");
            assert_eq!(first["column"], expect.column.expect("`column` with `file`"), "column of {context}");
        }
        None => assert!(first.get("file").is_none(), "a problem of the folder has no file: {context}"),
    }
    rendered
}

#[test]
fn invalid_fixtures_report_their_defect_where_it_is() {
    insta::glob!("../../fixtures", "invalid/*", |dir| {
        if dir.is_dir() {
            insta::assert_snapshot!(check_fixture(dir, "error"));
        }
    });
}

#[test]
fn warning_fixtures_check_without_errors() {
    insta::glob!("../../fixtures", "warnings/*", |dir| {
        if dir.is_dir() {
            insta::assert_snapshot!(check_fixture(dir, "warning"));
        }
    });
}

/// The diagnostic codes the checker can emit, read from its source: every
/// kebab-case string literal of the modules that report problems.
fn checker_codes() -> BTreeSet<String> {
    let src = workspace_root().join("generator/src");
    let mut codes = BTreeSet::new();
    for file in ["project.rs", "schema.rs", "lower.rs", "expr/check.rs", "expr/parse.rs"] {
        let text = std::fs::read_to_string(src.join(file)).expect("a checker source file");
        // Every `"..."` whose content is kebab-case; scanning from each quote
        // (not by pairs) keeps escaped quotes from shifting the pairing.
        for (at, _) in text.match_indices('"') {
            let rest = &text[at + 1..];
            let Some(end) = rest.find('"') else { continue };
            let literal = &rest[..end];
            let kebab = literal.contains('-')
                && literal.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase()));
            // `.expect("non-empty")` and the like are messages, not codes.
            if kebab && !text[..at].ends_with("expect(") {
                codes.insert(literal.to_owned());
            }
        }
    }
    codes
}

#[test]
fn every_diagnostic_code_has_a_fixture() {
    let mut by_code: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for group in ["invalid", "warnings"] {
        for dir in fixture_dirs(group) {
            let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
            by_code.entry(read_expect(&dir).code).or_default().push(name);
        }
    }
    let codes = checker_codes();
    assert!(codes.len() >= 25, "suspiciously few codes found in the checker: {codes:?}");
    let missing: Vec<&String> = codes.iter().filter(|code| !by_code.contains_key(*code)).collect();
    assert!(missing.is_empty(), "diagnostic codes without a fixture in tests/fixtures/: {missing:?}");
    let unknown: Vec<&String> = by_code.keys().filter(|code| !codes.contains(*code)).collect();
    assert!(unknown.is_empty(), "fixtures expect codes the checker does not have: {unknown:?}");

    // The defects DESIGN.md says `check` rejects, each with a fixture.
    for code in [
        "toml-syntax",
        "unknown-key",
        "duplicate-id",
        "unknown-list",
        "unknown-reference",
        "expr-syntax",
        "expr-type",
        "calc-cycle",
        "repeat-reference",
        "empty-choices",
        "duplicate-code",
    ] {
        assert!(by_code.contains_key(code), "no fixture for `{code}`");
    }
    assert!(fixture_dirs("invalid").len() >= 30, "at least 30 invalid fixtures");
}

/// Replaces the content hashes of the stylesheet and the runtime's two
/// modules, so that a change of CSS or JavaScript does not change every page
/// snapshot.
fn without_css_hash(text: &str, outputs: &constancia::site::Outputs) -> String {
    let mut text = text.to_owned();
    for (prefix, suffix, masked) in [
        ("assets/constancia.", ".css", "constancia.[hash].css"),
        ("assets/runtime.", ".js", "runtime.[hash].js"),
        ("assets/more.", ".js", "more.[hash].js"),
    ] {
        let asset = outputs.keys().find(|p| p.starts_with(prefix) && p.ends_with(suffix));
        if let Some(name) = asset.and_then(|p| p.strip_prefix("assets/")) {
            text = text.replace(name, masked);
        }
    }
    text
}

#[test]
fn valid_fixtures_compile_to_the_snapshotted_pages_and_manifests() {
    insta::glob!("../../fixtures", "valid/*", |dir| {
        if !dir.is_dir() {
            return;
        }
        let dir = relative(dir);
        let project = check(&dir);
        assert!(
            project.diagnostics.is_empty(),
            "valid fixture `{}` should draw no diagnostic:\n{}",
            dir.display(),
            render_all(&project.diagnostics, &project.sources, false)
        );
        let tera = constancia::site::templates(&project.dir).expect("templates");
        let outputs = constancia::site::render(&project, &tera).expect("renders");
        for (path, bytes) in &outputs {
            let snapshot = path.ends_with(".html") || path.ends_with(".json");
            if !snapshot || path.ends_with(".css") {
                continue;
            }
            let text = String::from_utf8(bytes.clone()).expect("UTF-8 output");
            // Named without content hashes, so a changed list keeps its snapshot.
            let name = path
                .split('.')
                .filter(|part| !(part.len() == 10 && part.bytes().all(|b| b.is_ascii_hexdigit())))
                .collect::<Vec<_>>()
                .join("_")
                .replace('/', "_");
            insta::assert_snapshot!(name, without_css_hash(&text, &outputs));
        }
    });
}

//! Helpers shared by Constancia's end-to-end tests (`tests/tests/suite/`).
//!
//! They find the workspace, the fixture folders and the built `constancia`
//! binary, check and build forms folders into temporary directories, read a
//! built site back, and run the W3C Nu HTML checker. They panic with a
//! message that says what to do, because a test that cannot run its tools
//! must fail, never pass quietly.
//!
//! ```no_run
//! let site = constancia_tests::build_real_forms();
//! let files = constancia_tests::read_tree(site.dir.path());
//! assert!(files.contains_key("es/index.html"));
//! ```

pub mod collector;

pub mod browser;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use constancia::project::{Project, check_dir};
use constancia::render::render_all;
use constancia::site::BuildSummary;

/// The workspace root (the folder holding `forms/`, `generator/`, `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives inside the workspace").to_owned()
}

/// The real forms folder, `forms/`.
pub fn forms_dir() -> PathBuf {
    workspace_root().join("forms")
}

/// `tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A binary of the workspace built in the same profile as the running test
/// (`target/<profile>/<name>`), found from the test executable, which lives
/// in `target/<profile>/deps/`.
///
/// # Panics
///
/// If the binary was not built.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .filter(|deps| deps.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("the test executable `{}` is not in a target/<profile>/deps/ folder", exe.display()));
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the `{name}` binary is not built at `{}`: run `cargo test --workspace` or \
         `cargo test -p constancia-generator -p constancia-tests`, which build it",
        path.display()
    );
    path
}

/// The `constancia` command-line binary. `cargo test --workspace` builds it
/// (the generator's own CLI tests need it); `cargo test -p constancia-tests`
/// alone does not rebuild it.
pub fn constancia_binary() -> PathBuf {
    binary("constancia")
}

/// Checks a forms folder.
///
/// # Panics
///
/// If the folder cannot be read at all.
pub fn check(dir: &Path) -> Project {
    check_dir(dir).unwrap_or_else(|error| panic!("cannot check `{}`: {error}", dir.display()))
}

/// Checks a forms folder and insists that it has no error.
///
/// # Panics
///
/// On any error, with the rendered diagnostics.
pub fn check_valid(dir: &Path) -> Project {
    let project = check(dir);
    assert!(
        !project.diagnostics.has_errors(),
        "`{}` should have no errors:\n{}",
        dir.display(),
        render_all(&project.diagnostics, &project.sources, false)
    );
    project
}

/// A site built into a temporary folder, removed when this is dropped.
pub struct BuiltSite {
    /// The output folder.
    pub dir: tempfile::TempDir,
    /// The checked forms.
    pub project: Project,
    /// What the build wrote.
    pub summary: BuildSummary,
}

/// Checks a forms folder and builds it into `out`.
///
/// # Panics
///
/// If the forms have errors or the build fails.
pub fn build_into(forms: &Path, out: &Path) -> (Project, BuildSummary) {
    let project = check_valid(forms);
    let summary = constancia::site::build(&project, out)
        .unwrap_or_else(|error| panic!("cannot build `{}` into `{}`: {error}", forms.display(), out.display()));
    (project, summary)
}

/// Checks a forms folder and builds it into a new temporary folder.
pub fn build_temp(forms: &Path) -> BuiltSite {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (project, summary) = build_into(forms, dir.path());
    BuiltSite { dir, project, summary }
}

/// Builds the real `forms/` into a new temporary folder.
pub fn build_real_forms() -> BuiltSite {
    build_temp(&forms_dir())
}

/// Every file under `dir`, by its `/`-separated path relative to `dir`.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("cannot list `{}`: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("under dir");
            let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
            files.insert(key, bytes);
        }
    }
    files
}

/// The HTML pages of a built site, by relative path.
pub fn pages(dir: &Path) -> BTreeMap<String, String> {
    read_tree(dir)
        .into_iter()
        .filter(|(path, _)| path.ends_with(".html"))
        .map(|(path, bytes)| (path, String::from_utf8(bytes).expect("pages are UTF-8")))
        .collect()
}

/// The Nu HTML checker jar, installed by `npm ci` at the workspace root.
pub fn nu_jar() -> PathBuf {
    workspace_root().join("node_modules/vnu-jar/build/dist/vnu.jar")
}

/// Runs the W3C Nu HTML checker on `files` and returns its error messages
/// (each a JSON object with `url`, `lastLine`, `message`, ...).
///
/// # Panics
///
/// If Java or the checker is missing, or the checker cannot run: the HTML
/// must be checked, so the test fails rather than skips.
pub fn nu_errors(files: &[PathBuf]) -> Vec<serde_json::Value> {
    assert!(!files.is_empty(), "no HTML files to check");
    let jar = nu_jar();
    assert!(
        jar.is_file(),
        "the Nu HTML checker is missing at `{}`: run `npm ci` in `{}` (it installs vnu-jar)",
        jar.display(),
        workspace_root().display()
    );
    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "json"])
        .args(files)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run `java` for the Nu HTML checker ({error}): install a Java runtime, then run `npm ci`")
        });
    // The checker writes its report on stderr; exit 1 only means it found errors.
    let report = String::from_utf8_lossy(&output.stderr);
    let json: serde_json::Value = serde_json::from_str(report.trim()).unwrap_or_else(|error| {
        panic!("the Nu HTML checker did not answer with JSON ({error}); status {}:\n{report}", output.status)
    });
    json["messages"]
        .as_array()
        .expect("the Nu report has messages")
        .iter()
        .filter(|message| message["type"] != "info")
        .cloned()
        .collect()
}

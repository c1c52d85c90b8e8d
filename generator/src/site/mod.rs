//! The site compiler: a checked [`Project`] to a static site.
//!
//! The pipeline is a flat list of steps: load templates (built in, or the
//! editor's own from `templates/` beside the forms), render every page,
//! list and asset into memory ([`render`]: the stylesheet, the browser
//! runtime's two modules, the list assets behind pickers, the pages, and
//! last `sw.js`, whose build id hashes all of them), then write what changed
//! ([`write`]). Rendering is pure and deterministic, so a rebuild of the
//! same input produces the same bytes and rewrites no file.
//!
//! Form pages are where a build spends its time, so their questions skip
//! tera: [`markup`] writes the sections and questions in Rust, straight
//! from the views, byte for byte what the built-in `macros.html` writes,
//! and `form.html` places that markup (`sections_html`) in the page shell.
//! When the forms folder has a `macros.html` of its own, questions go
//! through tera and those macros instead, as the editor wrote them (slower
//! on a large form, same result otherwise); a `form.html` of its own also
//! gets the section views as `sections`, so it may walk them itself.
//!
//! What it deliberately does not do: run any JavaScript at build time, fetch
//! anything, or delete a published form manifest.

pub mod markdown;
mod markup;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tera::Tera;

use crate::project::Project;

/// The built-in templates, overridable by files of the same name in the
/// forms folder's `templates/`.
const TEMPLATES: [(&str, &str); 5] = [
    ("base.html", include_str!("templates/base.html")),
    ("root.html", include_str!("templates/root.html")),
    ("index.html", include_str!("templates/index.html")),
    ("form.html", include_str!("templates/form.html")),
    ("macros.html", include_str!("templates/macros.html")),
];

const CSS: &str = include_str!("assets/constancia.css");
/// The browser runtime as pages load it: `runtime.js` minified by
/// `npm run minify` (a Node test fails when the copy is stale).
const RUNTIME: &str = include_str!("assets/runtime.min.js");
/// The part of the runtime that a form page loads on its first focus
/// (`more.js`, minified the same way).
const RUNTIME_MORE: &str = include_str!("assets/more.min.js");
const SERVICE_WORKER: &str = include_str!("assets/sw.js");

/// What `sw.js` holds in place of the build id and of the files to precache.
const BUILD_PLACEHOLDER: &str = "\"__CONSTANCIA_BUILD__\"";
const PRECACHE_PLACEHOLDER: &str = "[\"__CONSTANCIA_PRECACHE__\"]";

/// The file that marks a folder as written by `constancia build`, so that
/// stale files are only ever removed from a folder we own.
pub const MARKER: &str = ".constancia-site";

/// What a build did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildSummary {
    /// Files created or changed.
    pub written: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// Stale files removed.
    pub removed: usize,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file could not be read or written.
    #[error("cannot write `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template (built-in or overridden) is wrong.
    #[error("template `{name}` failed: {message}")]
    Template {
        /// The template.
        name: String,
        /// What tera said, with its causes.
        message: String,
    },
    /// The output folder holds files that `constancia build` did not write.
    #[error("`{0}` is not empty and was not made by `constancia build`; choose an empty or new folder with --out")]
    NotOurs(PathBuf),
    /// A published manifest would change under the same id and version.
    #[error(
        "version {version} of the form `{id}` is already published in `{path}` with different content; raise `version` in the form file (a published version is never edited), or delete that file if this version was never used"
    )]
    Published {
        /// The form.
        id: String,
        /// The version.
        version: u32,
        /// The existing manifest.
        path: PathBuf,
    },
}

fn tera_error(name: &str, error: &tera::Error) -> BuildError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    BuildError::Template { name: name.to_owned(), message }
}

/// The page templates: tera with the built-in templates and the editor's
/// overrides, and where the questions' markup comes from.
pub struct Templates {
    tera: Tera,
    /// The forms folder has its own `macros.html`: questions are written
    /// by its macros, through tera, rather than by [`markup`].
    own_macros: bool,
    /// The forms folder has its own `form.html`, which may read the
    /// section views (`sections`).
    own_form: bool,
    /// The `form.html` in use writes `sections_html` (the built-in one
    /// does; one of the editor's may walk `sections` itself instead).
    wants_markup: bool,
}

/// The template that writes the sections through `macros.html` when the
/// editor has their own: exactly what the built-in form.html once did.
const SECTIONS_TEMPLATE: (&str, &str) = (
    "constancia/sections.html",
    "{% import \"macros.html\" as m %}\n{%- for section in sections %}\n{{ m::section(s=section, t=t) }}\n{%- endfor %}",
);

/// The built-in templates with the editor's overrides.
pub fn templates(forms_dir: &Path) -> Result<Templates, BuildError> {
    let mut tera = Tera::default();
    // Tera's default also escapes `/`, which HTML never needs.
    tera.set_escape_fn(crate::html::escape);
    let mut sources: BTreeMap<String, String> =
        TEMPLATES.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    let mut own = BTreeSet::new();
    let custom = forms_dir.join("templates");
    if custom.is_dir() {
        for (name, _) in TEMPLATES {
            let path = custom.join(name);
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Io { path, source })?;
                sources.insert(name.to_owned(), text);
                own.insert(name);
            }
        }
    }
    let own_macros = own.contains("macros.html");
    let own_form = own.contains("form.html");
    // A template of the editor's that never names `sections_html` does not
    // need it written.
    let wants_markup = !own_form || own.iter().any(|name| sources[*name].contains("sections_html"));
    if own_macros {
        sources.insert(SECTIONS_TEMPLATE.0.to_owned(), SECTIONS_TEMPLATE.1.to_owned());
    } else if !own.iter().any(|name| sources[*name].contains("macros.html")) {
        // Nothing imports the built-in macros (the questions are written
        // by `markup`): parsing them would take longer than writing the
        // markup of a thousand questions.
        sources.remove("macros.html");
    }
    tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| tera_error("templates", &e))?;
    Ok(Templates { tera, own_macros, own_form, wants_markup })
}

impl Templates {
    fn render(&self, name: &str, context: &tera::Context) -> Result<String, BuildError> {
        self.tera.render(name, context).map_err(|e| tera_error(name, &e))
    }

    /// A form page: the sections' markup (written in Rust, or by the
    /// editor's macros), then `form.html` around it.
    fn form_page(&self, page: &view::FormPage) -> Result<String, BuildError> {
        let mut context = page.context(self.own_form || self.own_macros);
        if self.wants_markup {
            let sections = match self.own_macros {
                true => self.tera.render(SECTIONS_TEMPLATE.0, &context).map_err(|e| tera_error("macros.html", &e))?,
                false => page.sections_html(),
            };
            context.insert("sections_html", &sections);
        }
        self.render("form.html", &context)
    }
}

/// A short content hash for asset names.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Every output file by its path relative to the site root.
pub type Outputs = BTreeMap<String, Vec<u8>>;

/// Renders the whole site into memory.
pub fn render(project: &Project, templates: &Templates) -> Result<Outputs, BuildError> {
    let started = Instant::now();
    let mut outputs = Outputs::new();
    let css_name = format!("constancia.{}.css", content_hash(CSS.as_bytes()));
    outputs.insert(format!("assets/{css_name}"), CSS.as_bytes().to_vec());
    let js_name = format!("runtime.{}.js", content_hash(RUNTIME.as_bytes()));
    outputs.insert(format!("assets/{js_name}"), RUNTIME.as_bytes().to_vec());
    let more_name = format!("more.{}.js", content_hash(RUNTIME_MORE.as_bytes()));
    outputs.insert(format!("assets/{more_name}"), RUNTIME_MORE.as_bytes().to_vec());
    let assets = view::Assets { css: css_name, js: Some(js_name), more: more_name };

    let mut list_urls = view::ListUrls::new();
    for form in &project.forms {
        let manifest = &form.manifest;
        outputs
            .insert(format!("forms/{}/{}.json", manifest.id, manifest.version), manifest.to_json_string().into_bytes());
        // Lists behind a picker: one asset per list and language, loaded
        // when the question is reached. A shared list used by several
        // forms is one asset.
        for (stem, list) in view::picker_lists(manifest) {
            for lang in &project.site.languages {
                if list_urls.contains_key(&(stem.clone(), lang.clone())) {
                    continue;
                }
                let body = view::list_asset(list, lang);
                let path = format!("assets/lists/{stem}.{lang}.{}.json", content_hash(body.as_bytes()));
                outputs.insert(path.clone(), body.into_bytes());
                list_urls.insert((stem.clone(), lang.clone()), path);
            }
        }
    }

    for lang in &project.site.languages {
        for form in &project.forms {
            let page = view::FormPage::new(project, &form.manifest, lang, &assets, &list_urls);
            let html = templates.form_page(&page)?;
            outputs.insert(format!("{lang}/{}/index.html", form.manifest.id), html.into_bytes());
        }
        let html = templates.render("index.html", &view::index_page(project, lang, &assets))?;
        outputs.insert(format!("{lang}/index.html"), html.into_bytes());
    }
    let html = templates.render("root.html", &view::root_page(project, &assets))?;
    outputs.insert("index.html".into(), html.into_bytes());
    let service_worker = service_worker(&outputs);
    outputs.insert("sw.js".into(), service_worker.into_bytes());
    outputs.insert(MARKER.into(), b"Written by `constancia build`. Files here are replaced on every build.\n".to_vec());
    tracing::debug!(files = outputs.len(), elapsed_us = started.elapsed().as_micros() as u64, "rendered the site");
    Ok(outputs)
}

/// `sw.js` for the pages and assets rendered so far: every file but the
/// manifests (pages do not read them), precached under a build id that is a
/// hash of those files' paths and bytes, so it changes exactly when one of
/// them does and a rebuild of the same input writes the same `sw.js`.
fn service_worker(outputs: &Outputs) -> String {
    let files: Vec<&str> =
        outputs.keys().map(String::as_str).filter(|path| !path.starts_with("forms/") && *path != MARKER).collect();
    let mut hasher = Sha256::new();
    for path in &files {
        let bytes = &outputs[*path];
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let build: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    SERVICE_WORKER
        .replacen(BUILD_PLACEHOLDER, &serde_json::to_string(&build).expect("a string serializes"), 1)
        .replacen(PRECACHE_PLACEHOLDER, &serde_json::to_string(&files).expect("paths serialize"), 1)
}

/// Checks, renders and writes the site.
pub fn build(project: &Project, out: &Path) -> Result<BuildSummary, BuildError> {
    let started = Instant::now();
    let templates = templates(&project.dir)?;
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "loaded the templates");
    let outputs = render(project, &templates)?;
    let started = Instant::now();
    let summary = write(out, &outputs)?;
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "wrote the site");
    Ok(summary)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io { path: path.to_owned(), source }
}

/// Writes `outputs` into `out`: changed files atomically (so the collector
/// never reads half a manifest), unchanged ones not at all; removes stale
/// files except published manifests.
pub fn write(out: &Path, outputs: &Outputs) -> Result<BuildSummary, BuildError> {
    let mut summary = BuildSummary::default();
    if out.is_dir() && !out.join(MARKER).is_file() {
        let foreign = std::fs::read_dir(out)
            .map_err(io(out))?
            .filter_map(Result::ok)
            .any(|entry| entry.file_name() != "README.md");
        if foreign {
            return Err(BuildError::NotOurs(out.to_owned()));
        }
    }
    // Refuse before writing anything if a published manifest would change.
    for (relative, bytes) in outputs {
        if !relative.starts_with("forms/") {
            continue;
        }
        let path = out.join(relative);
        if let Ok(existing) = std::fs::read(&path)
            && existing != *bytes
        {
            let manifest: Option<crate::manifest::Manifest> = serde_json::from_slice(bytes).ok();
            return Err(BuildError::Published {
                id: manifest.as_ref().map(|m| m.id.clone()).unwrap_or_default(),
                version: manifest.map_or(0, |m| m.version),
                path,
            });
        }
    }
    // Assets and pages first, manifests last: when the collector sees a new
    // manifest, the pages that post to it exist.
    let (manifests, rest): (Vec<_>, Vec<_>) = outputs.iter().partition(|(path, _)| path.starts_with("forms/"));
    for (relative, bytes) in rest.into_iter().chain(manifests) {
        let path = out.join(relative);
        if std::fs::read(&path).is_ok_and(|existing| existing == *bytes) {
            summary.unchanged += 1;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let temporary = path.with_extension("tmp-constancia");
        std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        summary.written += 1;
    }
    // Stale files: anything we did not write now, except published manifests.
    let keep: BTreeSet<PathBuf> = outputs.keys().map(|p| out.join(p)).collect();
    let mut stack = vec![out.to_owned()];
    let mut dirs = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let relative = path.strip_prefix(out).unwrap_or(&path).to_owned();
            if relative.starts_with("forms") || relative == Path::new("README.md") {
                continue;
            }
            if entry.file_type().map_err(io(&path))?.is_dir() {
                dirs.push(path.clone());
                stack.push(path);
            } else if !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(io(&path))?;
                summary.removed += 1;
            }
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in dirs {
        // Only empty folders go; an error means it still holds something.
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{BUILD_PLACEHOLDER, Outputs, PRECACHE_PLACEHOLDER, SERVICE_WORKER, render, templates};
    use crate::project::{Project, check_dir, check_sources};

    /// Eleven choices: long for a site whose threshold is 10.
    fn eleven(prefix: &str) -> String {
        (0..11)
            .map(|i| format!("{{ value = \"{prefix}{i}\", label = \"{prefix} {i}\" }}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn project(files: &[(&str, String)]) -> Project {
        let mut inputs: Vec<(String, std::io::Result<String>)> = vec![(
            "f/site.toml".into(),
            Ok("[site]\ntitle = \"t\"\ndefault_language = \"es\"\nlanguages = [\"es\"]\nlong_list_threshold = 10\n"
                .into()),
        )];
        inputs.extend(files.iter().map(|(path, text)| ((*path).to_owned(), Ok(text.clone()))));
        let project = check_sources(Path::new("f"), inputs);
        assert!(!project.diagnostics.has_errors(), "{:?}", project.diagnostics);
        project
    }

    fn form(id: &str, questions: &str) -> String {
        format!(
            "[form]\nid = \"{id}\"\nversion = 1\ntitle = \"{id}\"\n\n[[section]]\nid = \"s\"\ntitle = \"s\"\n{questions}"
        )
    }

    fn build(project: &Project) -> Outputs {
        render(project, &templates(Path::new("/nonexistent")).expect("templates")).expect("renders")
    }

    fn page<'a>(outputs: &'a Outputs, path: &str) -> &'a str {
        std::str::from_utf8(&outputs[path]).expect("UTF-8")
    }

    #[test]
    fn list_assets_never_share_a_name() {
        // An inline list on a question `x` in two forms, and a shared list `x`.
        let inline = |prefix: &str| {
            format!(
                "\n[[section.question]]\nid = \"x\"\ntype = \"select_one\"\nlabel = \"x\"\nchoices = [{}]\n",
                eleven(prefix)
            )
        };
        let shared = "\n[[section.question]]\nid = \"y\"\ntype = \"select_one\"\nlabel = \"y\"\nchoices = \"x\"\n";
        let project = project(&[
            ("f/a.toml", form("a", &(inline("a") + shared))),
            ("f/b.toml", form("b", &inline("b"))),
            ("f/lists/x.toml", format!("[lists.x]\nchoices = [{}]\n", eleven("shared"))),
        ]);
        let outputs = build(&project);
        let lists: Vec<&String> = outputs.keys().filter(|p| p.starts_with("assets/lists/")).collect();
        assert_eq!(lists.len(), 3, "{lists:?}");
        for (stem, code, page_path, field) in [
            ("a-x.es.", "a0", "es/a/index.html", "f-x"),
            ("b-x.es.", "b0", "es/b/index.html", "f-x"),
            ("x.es.", "shared0", "es/a/index.html", "f-y"),
        ] {
            let asset = lists.iter().find(|p| p.starts_with(&format!("assets/lists/{stem}"))).expect(stem);
            assert!(page(&outputs, asset).contains(&format!("\"{code}\"")), "{asset} holds its own list");
            let html = page(&outputs, page_path);
            let input = html.split(&format!("id=\"{field}\"")).nth(1).expect(field);
            assert!(
                input.split('>').next().unwrap().contains(&format!("data-list=\"../../{asset}\"")),
                "{page_path} {field}"
            );
        }
    }

    #[test]
    fn a_search_question_gets_a_list_asset_even_on_a_short_list() {
        let question = "\n[[section.question]]\nid = \"q\"\ntype = \"select_one\"\nlabel = \"q\"\nappearance = \"search\"\nchoices = [{ value = \"1\", label = \"uno\" }, { value = \"2\", label = \"dos\" }]\n";
        let outputs = build(&project(&[("f/a.toml", form("a", question))]));
        let asset =
            outputs.keys().find(|p| p.starts_with("assets/lists/a-q.es.")).expect("an asset for the search list");
        assert_eq!(page(&outputs, asset), r#"[["1","uno"],["2","dos"]]"#);
        let html = page(&outputs, "es/a/index.html");
        assert!(html.contains(&format!("data-list=\"../../{asset}\"")), "the field names its list");
        assert!(html.contains(&format!("\"list\":\"../../{asset}\"")), "the rules name its list");
        assert!(!html.contains("type=\"radio\""), "no radio buttons for a search question");
    }

    #[test]
    fn the_service_worker_precaches_every_page_and_asset_under_a_build_id() {
        assert!(SERVICE_WORKER.contains(BUILD_PLACEHOLDER) && SERVICE_WORKER.contains(PRECACHE_PLACEHOLDER));
        let question = "\n[[section.question]]\nid = \"q\"\ntype = \"text\"\nlabel = \"q\"\n";
        let outputs = build(&project(&[("f/a.toml", form("a", question))]));
        let sw = page(&outputs, "sw.js");
        assert!(!sw.contains("__CONSTANCIA_"), "placeholders replaced");
        let files = sw.split("const FILES = ").nth(1).and_then(|rest| rest.lines().next()).expect("FILES");
        let files: Vec<String> = serde_json::from_str(files).expect("a JSON array");
        let expected: Vec<&String> =
            outputs.keys().filter(|p| !p.starts_with("forms/") && *p != "sw.js" && *p != super::MARKER).collect();
        assert_eq!(files.iter().collect::<Vec<_>>(), expected);
        assert!(files.iter().any(|f| f.starts_with("assets/runtime.") && f.ends_with(".js")));
        assert!(files.contains(&"es/a/index.html".to_owned()) && files.contains(&"index.html".to_owned()));
        let build_id = |outputs: &Outputs| {
            page(outputs, "sw.js").split("const BUILD = ").nth(1).and_then(|r| r.lines().next()).unwrap().to_owned()
        };
        // The same input gives the same build; another page, another build.
        let again = build(&project(&[("f/a.toml", form("a", question))]));
        assert_eq!(build_id(&outputs), build_id(&again));
        let relabelled = question.replace("label = \"q\"", "label = \"r\"");
        let other = build(&project(&[("f/a.toml", form("a", &relabelled))]));
        assert_ne!(build_id(&outputs), build_id(&other));
    }

    #[test]
    fn every_page_loads_the_runtime_and_pages_without_a_form_carry_its_status_texts() {
        let question = "\n[[section.question]]\nid = \"q\"\ntype = \"text\"\nlabel = \"q\"\n";
        let outputs = build(&project(&[("f/a.toml", form("a", question))]));
        let runtime = outputs.keys().find(|p| p.starts_with("assets/runtime.")).expect("the runtime");
        assert!(!page(&outputs, runtime).contains("Por enviar"), "the interim texts are gone");
        for (path, root) in [("index.html", ""), ("es/index.html", "../"), ("es/a/index.html", "../../")] {
            let html = page(&outputs, path);
            assert!(html.contains(&format!("<script type=\"module\" src=\"{root}{runtime}\"></script>")), "{path}");
            assert_eq!(html.matches("id=\"constancia-rules\"").count(), 1, "{path}");
        }
        assert!(page(&outputs, "es/index.html").contains(r#"{"messages":{"attention":"con problemas: {}","delivered":"Caso enviado: {}","waiting":"Casos por enviar: {}"}}"#));
    }

    #[test]
    fn the_markup_written_in_rust_is_what_the_built_in_macros_write() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        for dir in ["valid/everything", "valid/minimal", "hostile"] {
            let project = check_dir(&fixtures.join(dir)).expect("the fixture reads");
            assert!(!project.diagnostics.has_errors(), "{dir}: {:?}", project.diagnostics);
            let fast = templates(Path::new("/nonexistent")).expect("templates");
            assert!(!fast.own_macros && !fast.own_form && fast.wants_markup);
            // The same built-in templates, with the questions written by
            // macros.html through tera, as for an editor's own macros.html.
            let mut through_tera = templates(Path::new("/nonexistent")).expect("templates");
            through_tera.own_macros = true;
            let (name, source) = super::SECTIONS_TEMPLATE;
            let macros = ("macros.html", include_str!("templates/macros.html"));
            through_tera.tera.add_raw_templates([macros, (name, source)]).expect("the sections template");
            let (a, b) = (render(&project, &fast).expect("renders"), render(&project, &through_tera).expect("renders"));
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{dir}");
            let mut pages = 0;
            for (path, bytes) in &a {
                assert!(*bytes == b[path], "{dir}: {path} differs:\n{}\n----\n{}", page(&a, path), page(&b, path));
                pages += usize::from(path.ends_with("/index.html") && path.matches('/').count() == 2);
            }
            assert!(pages >= 1, "{dir}: no form page compared");
        }
    }

    #[test]
    fn an_editors_own_macros_write_the_questions() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir(dir.path().join("templates")).expect("templates/");
        let macros = include_str!("templates/macros.html").replace("<div class=\"q\"", "<div class=\"q mine\"");
        std::fs::write(dir.path().join("templates/macros.html"), macros).expect("macros.html");
        let own = templates(dir.path()).expect("templates");
        assert!(own.own_macros && !own.own_form && own.wants_markup);
        let question = "\n[[section.question]]\nid = \"q\"\ntype = \"text\"\nlabel = \"q\"\n";
        let outputs = render(&project(&[("f/a.toml", form("a", question))]), &own).expect("renders");
        assert!(page(&outputs, "es/a/index.html").contains("<div class=\"q mine\" data-q=\"q\">"));

        // A form.html of the editor's that walks `sections` itself, as the
        // built-in one once did, still finds them.
        let form_html = "{% extends \"base.html\" %}{% import \"macros.html\" as m %}{% block main %}{% for s in sections %}{{ m::section(s=s, t=t) }}{% endfor %}{% endblock main %}";
        std::fs::write(dir.path().join("templates/form.html"), form_html).expect("form.html");
        let own = templates(dir.path()).expect("templates");
        assert!(own.own_macros && own.own_form && !own.wants_markup);
        let outputs = render(&project(&[("f/a.toml", form("a", question))]), &own).expect("renders");
        assert!(page(&outputs, "es/a/index.html").contains("<div class=\"q mine\" data-q=\"q\">"));
    }
}

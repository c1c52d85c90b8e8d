//! The site compiler: a checked [`Project`] to a static site.
//!
//! The pipeline is a flat list of steps: load templates (built in, or the
//! editor's own from `templates/` beside the forms), render every page,
//! list and asset into memory ([`render`]), then write what changed
//! ([`write`]). Rendering is pure and deterministic, so a rebuild of the
//! same input produces the same bytes and rewrites no file.
//!
//! What it deliberately does not do: run any JavaScript at build time, fetch
//! anything, or delete a published form manifest.

pub mod markdown;
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

/// The built-in templates with the editor's overrides.
pub fn templates(forms_dir: &Path) -> Result<Tera, BuildError> {
    let mut tera = Tera::default();
    // Tera's default also escapes `/`, which HTML never needs.
    tera.set_escape_fn(crate::html::escape);
    let mut sources: BTreeMap<String, String> =
        TEMPLATES.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    let custom = forms_dir.join("templates");
    if custom.is_dir() {
        for (name, _) in TEMPLATES {
            let path = custom.join(name);
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Io { path, source })?;
                sources.insert(name.to_owned(), text);
            }
        }
    }
    tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| tera_error("templates", &e))?;
    Ok(tera)
}

/// A short content hash for asset names.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Every output file by its path relative to the site root.
pub type Outputs = BTreeMap<String, Vec<u8>>;

/// Renders the whole site into memory.
pub fn render(project: &Project, tera: &Tera) -> Result<Outputs, BuildError> {
    let started = Instant::now();
    let mut outputs = Outputs::new();
    let css_name = format!("constancia.{}.css", content_hash(CSS.as_bytes()));
    outputs.insert(format!("assets/{css_name}"), CSS.as_bytes().to_vec());
    let assets = view::Assets { css: css_name, js: None };

    for form in &project.forms {
        let manifest = &form.manifest;
        outputs
            .insert(format!("forms/{}/{}.json", manifest.id, manifest.version), manifest.to_json_string().into_bytes());
        // Long lists: one asset per list and language, loaded on demand.
        for (name, list) in &manifest.lists {
            if !list.long {
                continue;
            }
            for lang in &project.site.languages {
                let body = view::list_asset(list, lang);
                let file = format!("{}.{lang}.{}.json", view::list_file_stem(name), content_hash(body.as_bytes()));
                outputs.insert(format!("assets/lists/{file}"), body.into_bytes());
            }
        }
    }
    let list_urls = view::list_urls(&outputs);

    for lang in &project.site.languages {
        for form in &project.forms {
            let context = view::form_page(project, &form.manifest, lang, &assets, &list_urls);
            let html = tera.render("form.html", &context).map_err(|e| tera_error("form.html", &e))?;
            outputs.insert(format!("{lang}/{}/index.html", form.manifest.id), html.into_bytes());
        }
        let context = view::index_page(project, lang, &assets);
        let html = tera.render("index.html", &context).map_err(|e| tera_error("index.html", &e))?;
        outputs.insert(format!("{lang}/index.html"), html.into_bytes());
    }
    let context = view::root_page(project, &assets);
    let html = tera.render("root.html", &context).map_err(|e| tera_error("root.html", &e))?;
    outputs.insert("index.html".into(), html.into_bytes());
    outputs.insert(MARKER.into(), b"Written by `constancia build`. Files here are replaced on every build.\n".to_vec());
    tracing::debug!(files = outputs.len(), elapsed_ms = started.elapsed().as_millis() as u64, "rendered the site");
    Ok(outputs)
}

/// Checks, renders and writes the site.
pub fn build(project: &Project, out: &Path) -> Result<BuildSummary, BuildError> {
    let tera = templates(&project.dir)?;
    let outputs = render(project, &tera)?;
    write(out, &outputs)
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
        if let Ok(existing) = std::fs::read(&path) {
            if existing != *bytes {
                let manifest: Option<crate::manifest::Manifest> = serde_json::from_slice(bytes).ok();
                return Err(BuildError::Published {
                    id: manifest.as_ref().map(|m| m.id.clone()).unwrap_or_default(),
                    version: manifest.map_or(0, |m| m.version),
                    path,
                });
            }
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

//! A forms folder: `site.toml`, `lists/*.toml` and one file per form,
//! read and checked together.
//!
//! ```no_run
//! let project = constancia::project::check_dir("forms".as_ref()).unwrap();
//! if project.diagnostics.has_errors() {
//!     // report project.diagnostics against project.sources
//! }
//! for form in &project.forms {
//!     println!("{} v{}", form.manifest.id, form.manifest.version);
//! }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use crate::diagnostic::{Diagnostic, Diagnostics, FileId, SourceFile, Sources};
use crate::lower;
use crate::manifest::{Manifest, Text};
use crate::schema::{RawForm, RawList, Reader};

/// The settings of a site (`site.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteConfig {
    /// The site's name, shown on every page.
    pub title: Text,
    /// The language every text must have.
    pub default_language: String,
    /// Every language of the site, the default first.
    pub languages: Vec<String>,
    /// Where pages send submissions (no trailing slash); `""` means the
    /// server that serves the pages.
    pub collector: String,
    /// Whether pages keep drafts in the browser.
    pub drafts: bool,
    /// Lists longer than this load separately, with a searchable picker.
    pub long_list_threshold: usize,
    /// The "exit this page" control, if wanted.
    pub quick_exit: Option<QuickExit>,
    /// Whether `languages` came from site.toml. When not (the file is
    /// missing or wrong, which is reported), forms are still checked, with
    /// texts in any language accepted.
    pub(crate) languages_known: bool,
}

/// The "exit this page" control.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickExit {
    /// The neutral page to leave for.
    pub url: String,
    /// The button's text, if not the built-in one.
    pub label: Option<Text>,
}

impl SiteConfig {
    /// What is used where `site.toml` is missing or wrong, so that forms can
    /// still be checked.
    pub fn fallback() -> Self {
        Self {
            title: Text(BTreeMap::from([("es".to_owned(), "Constancia".to_owned())])),
            default_language: "es".into(),
            languages: vec!["es".into()],
            collector: String::new(),
            drafts: true,
            long_list_threshold: 300,
            quick_exit: None,
            languages_known: false,
        }
    }
}

/// A form that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedForm {
    /// The form's file.
    pub file: FileId,
    /// The compiled form.
    pub manifest: Manifest,
}

/// A checked forms folder.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder.
    pub dir: PathBuf,
    /// Every file read.
    pub sources: Sources,
    /// Everything found wrong.
    pub diagnostics: Diagnostics,
    /// The site settings.
    pub site: SiteConfig,
    /// The forms without errors, sorted by id.
    pub forms: Vec<CheckedForm>,
}

/// The folder could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder does not exist or cannot be listed.
    #[error("cannot read the forms folder `{path}`")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Reads and checks a forms folder.
pub fn check_dir(dir: &Path) -> Result<Project, LoadError> {
    let folder_error = |source| LoadError::Folder { path: dir.to_owned(), source };
    let form_files = toml_files(dir).map_err(folder_error)?;
    let lists_dir = dir.join("lists");
    let list_files = if lists_dir.is_dir() { toml_files(&lists_dir).map_err(folder_error)? } else { Vec::new() };
    let mut inputs = Vec::new();
    for path in form_files.iter().chain(&list_files) {
        let text = std::fs::read_to_string(path);
        inputs.push((display_path(path), text));
    }
    let mut project = check_sources(dir, inputs);
    if !form_files.iter().any(|p| p.file_name().is_some_and(|n| n == "site.toml")) {
        project.diagnostics.push(
            Diagnostic::folder_error("missing-file", format!("there is no site.toml in `{}`", dir.display()))
                .with_help("create it with [site] title, default_language and languages"),
        );
    }
    Ok(project)
}

/// Checks files given as (path, text) pairs: `site.toml`, list files (under
/// a `lists` folder) and form files, told apart by their paths.
pub fn check_sources(dir: &Path, inputs: Vec<(String, std::io::Result<String>)>) -> Project {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let mut parsed: Vec<(FileId, Kind)> = Vec::new();

    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Site,
        Lists,
        Form,
    }
    for (path, text) in inputs {
        let kind = {
            let p = Path::new(&path);
            if p.file_name().is_some_and(|n| n == "site.toml")
                && p.parent().and_then(|d| d.file_name()).is_none_or(|d| d != "lists")
            {
                Kind::Site
            } else if p.parent().and_then(|d| d.file_name()).is_some_and(|d| d == "lists") {
                Kind::Lists
            } else {
                Kind::Form
            }
        };
        match text {
            Ok(text) => {
                let id = sources.add(SourceFile::new(path, text));
                parsed.push((id, kind));
            }
            Err(error) => diagnostics.push(Diagnostic::folder_error("io", format!("cannot read `{path}`: {error}"))),
        }
    }

    // Parse every file; syntax errors end that file's checks.
    let mut tables: Vec<(FileId, Kind, DeTable<'_>, std::ops::Range<usize>)> = Vec::new();
    let texts: Vec<(FileId, std::sync::Arc<str>)> =
        parsed.iter().map(|(id, _)| (*id, sources.get(*id).text.clone())).collect();
    for ((id, kind), (_, text)) in parsed.iter().zip(&texts) {
        match DeTable::parse(text) {
            Ok(table) => {
                let span = table.span();
                tables.push((*id, *kind, table.into_inner(), span));
            }
            Err(error) => {
                let span = error.span().unwrap_or(0..0);
                let message = error.message().trim().trim_end_matches('.').to_owned();
                let first_line = message.lines().next().unwrap_or("invalid TOML").to_owned();
                let mut diagnostic = Diagnostic::error("toml-syntax", *id, span, format!("invalid TOML: {first_line}"));
                if message.contains("duplicate key") {
                    diagnostic = diagnostic.with_help("a key can be set once per table");
                }
                diagnostics.push(diagnostic);
            }
        }
    }

    // site.toml first: it fixes the languages.
    let site_file = tables.iter().find(|t| t.1 == Kind::Site);
    let raw_site = site_file.and_then(|(file, _, table, span)| {
        let mut reader = Reader { file: *file, source: &sources.get(*file).text, diagnostics: &mut diagnostics };
        reader.site(table, span.clone())
    });
    let site = lower::site(raw_site.as_ref(), site_file.map(|t| t.0), &mut diagnostics);

    let mut raw_lists: Vec<RawList> = Vec::new();
    let mut raw_forms: Vec<RawForm> = Vec::new();
    for (file, kind, table, span) in &tables {
        let mut reader = Reader { file: *file, source: &sources.get(*file).text, diagnostics: &mut diagnostics };
        match kind {
            Kind::Site => {}
            Kind::Lists => raw_lists.extend(reader.list_file(table)),
            Kind::Form => raw_forms.push(reader.form(table, span.clone())),
        }
    }
    // The raw structures own what they need: free the parsed TOML now, so
    // that lowering reuses its memory rather than asking the system for more.
    let parsed_any = !tables.is_empty();
    drop(tables);
    let mut registry = BTreeMap::new();
    lower::lists(&raw_lists, &site, &mut registry, &mut diagnostics);

    let mut forms: Vec<CheckedForm> = Vec::new();
    let mut seen: BTreeMap<String, FileId> = BTreeMap::new();
    for raw in &raw_forms {
        let manifest = lower::form(raw, &site, &registry, &sources, &mut diagnostics);
        if let (Some(header), Some(id)) = (&raw.header, raw.header.as_ref().and_then(|h| h.id.as_ref())) {
            if let Some(first) = seen.get(&id.value) {
                let first_path = sources.get(*first).path.clone();
                diagnostics.push(
                    Diagnostic::error("duplicate-form", raw.file, id.span.clone(), format!("the form id `{}` is already used by {first_path}", id.value))
                        .with_help("every form needs its own id; to publish a new version of the same form, raise `version` in one file"),
                );
                let _ = header;
                continue;
            }
            seen.insert(id.value.clone(), raw.file);
        }
        if let Some(manifest) = manifest {
            forms.push(CheckedForm { file: raw.file, manifest });
        }
    }
    forms.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
    // A form file with a TOML syntax error was reported already; only a
    // folder without any form file is missing one.
    if !parsed.iter().any(|(_, kind)| *kind == Kind::Form) && parsed_any {
        diagnostics.push(
            Diagnostic::folder_error("missing-file", format!("there is no form in `{}`", dir.display()))
                .with_help("add a form file, e.g. forms/caso.toml with [form] and [[section]] tables"),
        );
    }
    Project { dir: dir.to_owned(), sources, diagnostics, site, forms }
}

//! Exports for the operator who has the database file.
//!
//! CSV: one file for the form's top level (`<form>.csv`) and one per repeat
//! (`<form>.<repeat>.csv`, `<form>.<repeat>.<nested>.csv`), linked by
//! submission id and instance index, columns in form order named by
//! question id, UTF-8 with a header. JSON: one document per submission, one
//! per line (`<form>.jsonl`). Every record carries its submission id,
//! reference, form version, language and time received. Choice codes are
//! written as stored, or with `--labels` as labels in that language;
//! `--deidentified` leaves out every question marked `pii`.
//!
//! Submissions are streamed from the database, never all held in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use constancia::manifest::{Manifest, QuestionType};
use serde_json::{Map, Value};

use crate::store::{self, SubmissionRow};

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV files, one per table.
    Csv,
    /// JSON Lines, one document per submission.
    Json,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Options {
    /// The database file.
    pub db: PathBuf,
    /// The form id.
    pub form: String,
    /// Only this version, or all.
    pub version: Option<u32>,
    /// CSV or JSON.
    pub format: Format,
    /// The output folder (created if missing).
    pub out: PathBuf,
    /// Write choice labels in this language instead of codes.
    pub labels: Option<String>,
    /// Leave out identifying (`pii`) questions.
    pub deidentified: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// How many submissions.
    pub submissions: usize,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// One CSV table: the top level (path `""`) or a repeat.
#[derive(Debug, Default)]
struct Table {
    /// Question ids in column order.
    columns: Vec<String>,
    /// The repeat ids from the top to this table (for index columns).
    repeats: Vec<String>,
}

/// How values are written: labels by (version, question path), pii paths.
struct Writer<'a> {
    manifests: &'a BTreeMap<u32, Manifest>,
    labels: Option<&'a str>,
    pii: HashSet<String>,
}

impl Writer<'_> {
    fn yes_no(&self, value: bool) -> String {
        match (self.labels, value) {
            (Some(lang), true) => constancia::messages::for_language(lang).yes.to_owned(),
            (Some(lang), false) => constancia::messages::for_language(lang).no.to_owned(),
            (None, value) => value.to_string(),
        }
    }

    fn label(&self, version: u32, path: &str, code: &str) -> String {
        let (Some(lang), Some(manifest)) = (self.labels, self.manifests.get(&version)) else {
            return code.to_owned();
        };
        manifest
            .questions()
            .find(|(_, q)| q.path == path)
            .and_then(|(_, q)| q.choices.as_deref())
            .and_then(|list| manifest.lists.get(list))
            .and_then(|list| list.choices.iter().find(|c| c.value == code))
            .map_or_else(|| code.to_owned(), |c| c.label.get(lang).to_owned())
    }

    fn cell(&self, version: u32, path: &str, value: Option<&Value>) -> String {
        match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::Bool(b)) => self.yes_no(*b),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => {
                if self.is_choice(version, path) {
                    self.label(version, path, s)
                } else {
                    s.clone()
                }
            }
            Some(Value::Array(items)) => {
                let parts: Vec<String> =
                    items.iter().filter_map(Value::as_str).map(|code| self.label(version, path, code)).collect();
                // Codes never hold spaces; labels may, so they get a clearer separator.
                parts.join(if self.labels.is_some() { "; " } else { " " })
            }
            Some(Value::Object(_)) => String::new(),
        }
    }

    fn is_choice(&self, version: u32, path: &str) -> bool {
        self.manifests
            .get(&version)
            .and_then(|m| m.questions().find(|(_, q)| q.path == path).map(|(_, q)| q.kind.has_choices()))
            .unwrap_or(false)
    }

    /// The answers with labels for codes (if asked) and without pii.
    fn json_answers(&self, version: u32, scope: &str, answers: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in answers {
            let path = if scope.is_empty() { key.clone() } else { format!("{scope}.{key}") };
            if self.pii.contains(&path) {
                continue;
            }
            let value = match value {
                Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => Value::Array(
                    items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|item| Value::Object(self.json_answers(version, &path, item)))
                        .collect(),
                ),
                Value::String(code) if self.labels.is_some() && self.is_choice(version, &path) => {
                    Value::String(self.label(version, &path, code))
                }
                Value::Array(codes) if self.labels.is_some() && self.is_choice(version, &path) => Value::Array(
                    codes
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|c| Value::String(self.label(version, &path, c)))
                        .collect(),
                ),
                other => other.clone(),
            };
            out.insert(key.clone(), value);
        }
        out
    }
}

/// The tables of the selected versions: the latest version's order first,
/// then questions only older versions had.
fn tables(manifests: &BTreeMap<u32, Manifest>, pii: &HashSet<String>) -> BTreeMap<String, Table> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    tables.entry(String::new()).or_default();
    let mut seen: HashSet<String> = HashSet::new();
    for manifest in manifests.values().rev() {
        for section in &manifest.sections {
            if section.repeat.is_some() {
                let table = tables.entry(section.scope.clone()).or_default();
                table.repeats = section.scope.split('.').map(str::to_owned).collect();
            }
            for question in &section.questions {
                if question.kind == QuestionType::Note
                    || pii.contains(&question.path)
                    || !seen.insert(question.path.clone())
                {
                    continue;
                }
                let scope = section.scope.clone();
                tables.entry(scope).or_default().columns.push(question.id.clone());
            }
        }
    }
    tables
}

fn file_name(form: &str, scope: &str, extension: &str) -> String {
    if scope.is_empty() { format!("{form}.{extension}") } else { format!("{form}.{scope}.{extension}") }
}

/// Runs an export.
pub fn export(options: &Options) -> anyhow::Result<Summary> {
    let connection = store::open_read_only(&options.db)
        .with_context(|| format!("failed to open the database `{}`", options.db.display()))?;
    let mut manifests: BTreeMap<u32, Manifest> = BTreeMap::new();
    let stored_manifests = store::manifests(&connection)
        .with_context(|| format!("failed to read the database `{}`", options.db.display()))?;
    for stored in stored_manifests {
        if stored.form_id != options.form || options.version.is_some_and(|v| v != stored.version) {
            continue;
        }
        let manifest: Manifest = serde_json::from_str(&stored.body).with_context(|| {
            format!("the stored manifest of {} version {} cannot be read", stored.form_id, stored.version)
        })?;
        manifests.insert(stored.version, manifest);
    }
    if manifests.is_empty() {
        match options.version {
            Some(version) => bail!("the database has no form `{}` version {version}", options.form),
            None => bail!("the database has no form `{}`", options.form),
        }
    }
    if let Some(lang) = &options.labels
        && !manifests.values().any(|m| m.languages.contains(lang))
    {
        bail!("the form has no texts in `{lang}`");
    }
    let pii: HashSet<String> = if options.deidentified {
        manifests.values().flat_map(|m| m.questions().filter(|(_, q)| q.pii).map(|(_, q)| q.path.clone())).collect()
    } else {
        HashSet::new()
    };
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("failed to create the folder `{}`", options.out.display()))?;
    let writer = Writer { manifests: &manifests, labels: options.labels.as_deref(), pii };
    let mut summary = Summary::default();
    match options.format {
        Format::Json => {
            let path = options.out.join(file_name(&options.form, "", "jsonl"));
            let mut file =
                BufWriter::new(File::create(&path).with_context(|| format!("failed to create `{}`", path.display()))?);
            summary.submissions = store::for_each_submission(&connection, &options.form, options.version, |row| {
                let answers: Map<String, Value> = serde_json::from_str(&row.answers)?;
                let document = serde_json::json!({
                    "submission_id": row.submission_id,
                    "reference": row.reference,
                    "form": row.form_id,
                    "form_version": row.version,
                    "lang": row.lang,
                    "received_at": row.received_at,
                    "completed_at": row.completed_at,
                    "answers": writer.json_answers(row.version, "", &answers),
                });
                serde_json::to_writer(&mut file, &document)?;
                file.write_all(b"\n")?;
                Ok(())
            })?;
            file.flush()?;
            summary.files.push(path);
        }
        Format::Csv => {
            let tables = tables(&manifests, &writer.pii);
            let mut files: HashMap<String, csv::Writer<File>> = HashMap::new();
            for (scope, table) in &tables {
                let path = options.out.join(file_name(&options.form, scope, "csv"));
                let mut csv =
                    csv::Writer::from_path(&path).with_context(|| format!("failed to create `{}`", path.display()))?;
                let mut header: Vec<String> =
                    ["submission_id", "reference", "form_version", "lang", "received_at", "completed_at"]
                        .map(String::from)
                        .to_vec();
                header.extend(table.repeats.iter().map(|r| format!("{r}_index")));
                header.extend(table.columns.iter().cloned());
                csv.write_record(&header)?;
                files.insert(scope.clone(), csv);
                summary.files.push(path);
            }
            summary.submissions = store::for_each_submission(&connection, &options.form, options.version, |row| {
                let answers: Map<String, Value> = serde_json::from_str(&row.answers)?;
                write_rows(&writer, &tables, &mut files, &row, "", &answers, &mut Vec::new())
            })?;
            for (_, mut csv) in files {
                csv.flush()?;
            }
        }
    }
    Ok(summary)
}

fn write_rows(
    writer: &Writer<'_>,
    tables: &BTreeMap<String, Table>,
    files: &mut HashMap<String, csv::Writer<File>>,
    row: &SubmissionRow,
    scope: &str,
    answers: &Map<String, Value>,
    indexes: &mut Vec<usize>,
) -> anyhow::Result<()> {
    if let (Some(table), Some(file)) = (tables.get(scope), files.get_mut(scope)) {
        let mut record: Vec<String> = vec![
            row.submission_id.clone(),
            row.reference.clone(),
            row.version.to_string(),
            row.lang.clone(),
            row.received_at.clone(),
            row.completed_at.clone().unwrap_or_default(),
        ];
        record.extend(indexes.iter().map(usize::to_string));
        for id in &table.columns {
            let path = if scope.is_empty() { id.clone() } else { format!("{scope}.{id}") };
            record.push(writer.cell(row.version, &path, answers.get(id)));
        }
        file.write_record(&record)?;
    }
    for (key, value) in answers {
        let child = if scope.is_empty() { key.clone() } else { format!("{scope}.{key}") };
        if !tables.contains_key(&child) {
            continue;
        }
        if let Value::Array(items) = value {
            for (index, item) in items.iter().enumerate() {
                if let Value::Object(object) = item {
                    indexes.push(index);
                    write_rows(writer, tables, files, row, &child, object, indexes)?;
                    indexes.pop();
                }
            }
        }
    }
    Ok(())
}

/// The folder an export writes to must not be a file.
pub fn check_out(out: &Path) -> anyhow::Result<()> {
    if out.is_file() {
        bail!("`{}` is a file; --out takes a folder", out.display());
    }
    Ok(())
}

//! Diagnostics: what `constancia check` reports about a forms folder.
//!
//! Every problem carries the file it was found in, the byte span of the
//! offending text, a short message, an optional label shown under the caret
//! and an optional help line. Checking collects *all* diagnostics before
//! anything is reported, so an editor sees every mistake at once.
//!
//! This module only describes and locates problems; rendering them for humans
//! (with miette) lives behind the `site` feature in [`crate::render`], and the
//! JSON form for tools is [`Diagnostic::to_json`].

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

/// How serious a diagnostic is. Errors fail `check` and `build`; warnings don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The form cannot be compiled as written.
    Error,
    /// The form compiles, but something is probably not what the editor meant.
    Warning,
}

/// One source file of a forms folder, kept in memory so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the editor knows it (relative to where `check` was run).
    pub path: String,
    /// The file's text.
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        Self { path: path.into(), text, line_starts }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        };
        let start = self.line_starts[line];
        let column = self.text.get(start..offset).map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self.line_starts.get(line).map_or(self.text.len(), |next| next - 1);
        self.text.get(start..end).unwrap_or("").trim_end_matches('\r')
    }
}

/// An index into [`Sources`].
pub type FileId = usize;

/// Every file read while checking a forms folder.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        self.files.len() - 1
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    /// All files, in the order they were read.
    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }
}

/// A problem found in a forms folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case name of the defect class, e.g. `unknown-key`.
    pub code: &'static str,
    /// What is wrong, as a short lowercase phrase.
    pub message: String,
    /// The file, or `None` for a problem with the folder itself.
    pub file: Option<FileId>,
    /// Byte span of the offending text in the file.
    pub span: Range<usize>,
    /// A few words shown under the caret.
    pub label: Option<String>,
    /// How to fix it, when we can guess.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span` of `file`.
    pub fn error(code: &'static str, file: FileId, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: Some(file),
            span,
            label: None,
            help: None,
        }
    }

    /// A warning at `span` of `file`.
    pub fn warning(code: &'static str, file: FileId, span: Range<usize>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, file, span, message) }
    }

    /// An error about the folder rather than a place in a file.
    pub fn folder_error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: None,
            span: 0..0,
            label: None,
            help: None,
        }
    }

    /// Adds the words shown under the caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line if there is one.
    #[must_use]
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// The diagnostic as a JSON object for `--format json`.
    pub fn to_json(&self, sources: &Sources) -> serde_json::Value {
        let mut value = serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        });
        if let Some(file) = self.file {
            let source = sources.get(file);
            let (line, column) = source.line_col(self.span.start);
            let (end_line, end_column) = source.line_col(self.span.end);
            let object = value.as_object_mut().expect("built as an object");
            object.insert("file".into(), source.path.clone().into());
            object.insert("line".into(), line.into());
            object.insert("column".into(), column.into());
            object.insert("end_line".into(), end_line.into());
            object.insert("end_column".into(), end_column.into());
            object.insert("source_line".into(), source.line_text(line).into());
        }
        let object = value.as_object_mut().expect("built as an object");
        if let Some(label) = &self.label {
            object.insert("label".into(), label.clone().into());
        }
        if let Some(help) = &self.help {
            object.insert("help".into(), help.clone().into());
        }
        value
    }

    /// `file:line:col`, or the bare message location for folder problems.
    pub fn location(&self, sources: &Sources) -> String {
        match self.file {
            Some(file) => {
                let source = sources.get(file);
                let (line, column) = source.line_col(self.span.start);
                format!("{}:{line}:{column}", source.path)
            }
            None => String::from("(forms folder)"),
        }
    }
}

/// The diagnostics of one check, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.list.push(diagnostic);
    }

    /// The diagnostic recorded last, to add a label or help to it.
    pub(crate) fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.list.last_mut()
    }

    /// Whether any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// How many errors and warnings were recorded.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.list.iter().filter(|d| d.severity == Severity::Error).count();
        (errors, self.list.len() - errors)
    }

    /// The diagnostics sorted by file and position, errors before warnings at
    /// the same place, duplicates removed.
    pub fn sorted(&self) -> Vec<Diagnostic> {
        let mut list = self.list.clone();
        list.sort_by(|a, b| {
            (a.file, a.span.start, a.severity, a.code, &a.message).cmp(&(
                b.file,
                b.span.start,
                b.severity,
                b.code,
                &b.message,
            ))
        });
        list.dedup();
        list
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Iterates in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.list.iter()
    }

    /// All diagnostics as the JSON document `--format json` prints.
    pub fn to_json(&self, sources: &Sources) -> serde_json::Value {
        let (errors, warnings) = self.counts();
        serde_json::json!({
            "errors": errors,
            "warnings": warnings,
            "diagnostics": self.sorted().iter().map(|d| d.to_json(sources)).collect::<Vec<_>>(),
        })
    }
}

/// The closest candidate to a misspelt name, for "did you mean" help lines.
pub fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(wrong, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A "did you mean" help line, if a candidate is close enough.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    suggest(wrong, candidates).map(|found| format!("did you mean `{found}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let file = SourceFile::new("f.toml", "a = 1\nñandú = 'x'\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(6), (2, 1));
        let at = file.text.find('=').map(|_| file.text.rfind('=').unwrap_or(0)).unwrap_or(0);
        assert_eq!(file.line_col(at), (2, 7));
        assert_eq!(file.line_text(2), "ñandú = 'x'");
    }

    #[test]
    fn suggestions_need_a_close_match() {
        assert_eq!(suggest("max_lenght", ["max_length", "min"]), Some("max_length"));
        assert_eq!(suggest("zzz", ["max_length", "min"]), None);
    }
}

//! How a submission's validated answers are kept in its row.
//!
//! New rows hold them in [`ANSWERS_FORMAT`]: [packed](constancia::packed)
//! against the form version's layout, then compressed with LZ4 against a
//! dictionary of the version's choice codes. The real case takes 930 bytes
//! instead of 1.6 KB (compressed JSON) or 3.8 KB (JSON), and costs a
//! third of the CPU to write. Rows of the earlier JSON formats stay as
//! they are and are read alongside.
//!
//! Reading any row back needs the form version it was filled on, which the
//! database keeps with the submissions ([`StoredForms`]); what comes out is
//! always the answers' JSON text ([`constancia::answers::Layout::json`]),
//! whatever the row's format.

use std::collections::HashMap;

use constancia::answers::{Instance, Layout};
use constancia::manifest::Manifest;
use rusqlite::{Connection, params};

use crate::store::StoreError;

/// How answers are stored now: [`constancia::packed`] (format `packed1`),
/// compressed as an LZ4 block (lz4_flex, the uncompressed size first, 4
/// bytes little-endian) against [`packed_dictionary`].
pub const ANSWERS_FORMAT: &str = "packed1+lz4+dict2";

/// The second format, until packed answers: the answers' JSON text
/// compressed against [`json_dictionary`].
pub const JSON_FORMAT: &str = "json+lz4+dict1";

/// The first format: the JSON text compressed without a dictionary.
pub const JSON_FORMAT_PLAIN: &str = "json+lz4";

/// Lists longer than this add no codes to a dictionary: their codes are
/// many and each case holds few of them.
const DICTIONARY_LIST_LIMIT: usize = 100;

/// The compression dictionary of [`ANSWERS_FORMAT`]: every choice code of
/// the version's lists of at most 100 choices (lists by name, choices in
/// order), each as packed answers spell a text: `0x04`, its length in one
/// byte, its UTF-8 bytes (codes of 128 bytes or more, which would take a
/// longer length, are left out). Stored rows can only be read back with
/// the same bytes: this definition never changes.
pub fn packed_dictionary(manifest: &Manifest) -> Vec<u8> {
    let mut dictionary = Vec::new();
    for list in manifest.lists.values().filter(|l| l.choices.len() <= DICTIONARY_LIST_LIMIT) {
        for code in list.choices.iter().map(|c| c.value.as_bytes()).filter(|code| code.len() < 0x80) {
            dictionary.extend_from_slice(&[0x04, code.len() as u8]);
            dictionary.extend_from_slice(code);
        }
    }
    dictionary
}

/// The compression dictionary of [`JSON_FORMAT`]: every choice code of
/// the version's lists of at most 100 choices, as a JSON string followed by
/// a comma (lists by name, choices in order), then every question id as a
/// JSON key, `"id":` (in form order). Never changes.
pub fn json_dictionary(manifest: &Manifest) -> Vec<u8> {
    let mut dictionary = String::new();
    for list in manifest.lists.values().filter(|l| l.choices.len() <= DICTIONARY_LIST_LIMIT) {
        for choice in &list.choices {
            dictionary.push_str(&serde_json::Value::from(choice.value.as_str()).to_string());
            dictionary.push(',');
        }
    }
    for section in &manifest.sections {
        for question in &section.questions {
            dictionary.push_str(&serde_json::Value::from(question.id.as_str()).to_string());
            dictionary.push(':');
        }
    }
    dictionary.into_bytes()
}

/// Validated answers as a new row holds them.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The packed answers: what the content hash covers.
    pub packed: Vec<u8>,
    /// What is stored, in [`ANSWERS_FORMAT`].
    pub stored: Vec<u8>,
}

/// Packs and compresses a case's answers; `dictionary` is the form
/// version's [`packed_dictionary`].
pub fn encode(layout: &Layout, answers: &Instance, dictionary: &[u8]) -> Encoded {
    let packed = constancia::packed::pack(layout, answers);
    let stored = lz4_flex::block::compress_prepend_size_with_dict(&packed, dictionary);
    Encoded { packed, stored }
}

/// What reading a form version's stored answers needs.
pub struct StoredForm {
    layout: Layout,
    packed_dictionary: Vec<u8>,
    json_dictionary: Vec<u8>,
}

impl StoredForm {
    /// The layout and dictionaries of a form version.
    pub fn new(manifest: &Manifest) -> Self {
        Self {
            layout: Layout::for_manifest(manifest),
            packed_dictionary: packed_dictionary(manifest),
            json_dictionary: json_dictionary(manifest),
        }
    }

    /// Stored answers of this form version back to their JSON text.
    pub fn decode(&self, format: &str, bytes: &[u8]) -> Result<String, StoreError> {
        let corrupt = |error: &dyn std::fmt::Display| StoreError::Corrupt(error.to_string());
        let json = match format {
            ANSWERS_FORMAT => {
                let packed = lz4_flex::block::decompress_size_prepended_with_dict(bytes, &self.packed_dictionary)
                    .map_err(|e| corrupt(&e))?;
                let answers = constancia::packed::unpack(&self.layout, &packed).map_err(|e| corrupt(&e))?;
                return Ok(self.layout.json(&answers));
            }
            JSON_FORMAT => lz4_flex::block::decompress_size_prepended_with_dict(bytes, &self.json_dictionary),
            JSON_FORMAT_PLAIN => lz4_flex::decompress_size_prepended(bytes),
            _ => return Err(StoreError::Corrupt(format!("unknown answers format `{format}`"))),
        }
        .map_err(|e| corrupt(&e))?;
        String::from_utf8(json).map_err(|e| corrupt(&e))
    }
}

/// The [`StoredForm`] of each form version met, made once from the
/// manifest stored with the submissions.
pub struct StoredForms<'c> {
    connection: &'c Connection,
    made: HashMap<(String, u32), StoredForm>,
}

impl<'c> StoredForms<'c> {
    /// Form versions read through this connection.
    pub fn new(connection: &'c Connection) -> Self {
        Self { connection, made: HashMap::new() }
    }

    /// A stored form version.
    pub fn of(&mut self, form_id: &str, version: u32) -> Result<&StoredForm, StoreError> {
        let key = (form_id.to_owned(), version);
        if !self.made.contains_key(&key) {
            let body: String = self
                .connection
                .prepare_cached("SELECT body FROM manifests WHERE form_id = ?1 AND version = ?2")?
                .query_row(params![form_id, version], |row| row.get(0))?;
            let manifest: Manifest = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("the stored manifest of {form_id} v{version}: {e}")))?;
            self.made.insert(key.clone(), StoredForm::new(&manifest));
        }
        self.made.get(&key).ok_or_else(|| StoreError::Corrupt(format!("no stored manifest of {form_id} v{version}")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small real form's manifest.
    pub(crate) fn manifest() -> Manifest {
        let site = "[site]\ntitle = 'T'\ndefault_language = 'es'\nlanguages = ['es']\n";
        let form = "[form]\nid = 'f'\nversion = 1\ntitle = 'F'\n[lists.si_no]\nchoices = [{ value = 'si', label = 'Sí' }, \
                    { value = 'no', label = 'No' }]\n[[section]]\nid = 's'\ntitle = 'S'\n[[section.question]]\n\
                    id = 'respuesta'\ntype = 'select_one'\nchoices = 'si_no'\nlabel = 'R'\n";
        let project = constancia::project::check_sources(
            "forms".as_ref(),
            vec![("forms/site.toml".into(), Ok(site.into())), ("forms/f.toml".into(), Ok(form.into()))],
        );
        project.forms[0].manifest.clone()
    }

    fn answers(layout: &Layout, code: &str) -> Instance {
        let mut answers = layout.instance(0);
        answers.values[0] = constancia::value::Value::Text(code.into());
        answers
    }

    #[test]
    fn the_dictionaries_are_the_forms_codes_as_each_format_spells_them() {
        assert_eq!(packed_dictionary(&manifest()), b"\x04\x02si\x04\x02no");
        assert_eq!(String::from_utf8(json_dictionary(&manifest())).unwrap(), r#""si","no","respuesta":"#);
    }

    #[test]
    fn every_format_reads_back_as_the_json_text() {
        let form = StoredForm::new(&manifest());
        let answers = answers(&form.layout, "si");
        let encoded = encode(&form.layout, &answers, &form.packed_dictionary);
        assert_eq!(encoded.packed, b"\x01\x00\x04\x02si");
        assert_eq!(form.decode(ANSWERS_FORMAT, &encoded.stored).unwrap(), r#"{"respuesta":"si"}"#);
        // Rows of the JSON formats are still read.
        let json = br#"{"respuesta":"no"}"#;
        let with_dictionary = lz4_flex::block::compress_prepend_size_with_dict(json, &form.json_dictionary);
        assert_eq!(form.decode(JSON_FORMAT, &with_dictionary).unwrap(), r#"{"respuesta":"no"}"#);
        let plain = lz4_flex::compress_prepend_size(json);
        assert_eq!(form.decode(JSON_FORMAT_PLAIN, &plain).unwrap(), r#"{"respuesta":"no"}"#);
        assert!(matches!(form.decode("json+zip", &plain), Err(StoreError::Corrupt(_))));
        // Bytes of one format read as another are an error, not a panic.
        assert!(form.decode(ANSWERS_FORMAT, &plain).is_err());
    }
}

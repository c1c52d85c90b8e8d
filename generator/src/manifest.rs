//! The compiled form: what `constancia build` writes to
//! `site/forms/<id>/<version>.json`, what the collector validates against and
//! what the browser runtime reads.
//!
//! A manifest is self-contained: every text in every site language (missing
//! translations already filled from the default language), every choice list
//! the form uses, every expression compiled to JSON, and the order in which
//! calculations and relevance must be evaluated. Once published it is never
//! edited; a change of meaning is a new version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::expr::Expr;

/// The manifest format this code writes and reads.
pub const FORMAT: u32 = 1;

/// A compiled form version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format ([`FORMAT`]).
    pub format: u32,
    /// The form id, stable forever.
    pub id: String,
    /// The form version.
    pub version: u32,
    /// SHA-256 of the form's source file and of the list files it uses.
    pub source_sha256: String,
    /// The site's default language.
    pub default_language: String,
    /// Every language the texts are given in, default first.
    pub languages: Vec<String>,
    /// The form's title.
    pub title: Text,
    /// Introduction (markdown source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<Text>,
    /// Whether answers must be sealed at rest.
    #[serde(default)]
    pub encrypt: bool,
    /// The sections in form order (nested sections follow their parent's
    /// questions, see [`Section::parent`]).
    pub sections: Vec<Section>,
    /// Every choice list the form uses, by name (inline lists are named
    /// after their question, prefixed with `#`).
    pub lists: BTreeMap<String, ChoiceList>,
    /// Data paths of questions and repeating sections in an order where every
    /// relevance condition and calculation only reads what comes before it.
    pub order: Vec<String>,
}

/// A text in every site language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    /// The text in `lang`, or else in any language there is.
    pub fn get(&self, lang: &str) -> &str {
        self.0.get(lang).or_else(|| self.0.values().next()).map_or("", String::as_str)
    }
}

/// A section: a headed group of questions, possibly repeating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The section id.
    pub id: String,
    /// The data path of the instances that hold this section's answers:
    /// `""` at the top level, the repeat's path (`acts`, `acts.involved`)
    /// inside a repeat, including a repeating section's own path.
    pub scope: String,
    /// The heading.
    pub title: Text,
    /// Longer guidance (markdown source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// Shown and stored only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<Expr>,
    /// For repeating sections, how many instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// For repeating sections, the name of one instance ("Víctima" → "Víctima 2").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_label: Option<Text>,
    /// The section this one is nested in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The questions in order.
    pub questions: Vec<Question>,
}

/// Instance limits of a repeating section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    /// At least this many instances.
    pub min: u32,
    /// At most this many, if bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// The question types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Integer,
    /// A number with decimals.
    Decimal,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// Yes or no.
    YesNo,
    /// One code of a list.
    SelectOne,
    /// Several codes of a list.
    SelectMultiple,
    /// An e-mail address.
    Email,
    /// A telephone number.
    Phone,
    /// Display-only markdown.
    Note,
    /// A stored value computed from other answers.
    Calculate,
}

impl QuestionType {
    /// Every type, for suggestions and documentation.
    pub const ALL: [QuestionType; 13] = [
        QuestionType::Text,
        QuestionType::Textarea,
        QuestionType::Integer,
        QuestionType::Decimal,
        QuestionType::Date,
        QuestionType::Time,
        QuestionType::YesNo,
        QuestionType::SelectOne,
        QuestionType::SelectMultiple,
        QuestionType::Email,
        QuestionType::Phone,
        QuestionType::Note,
        QuestionType::Calculate,
    ];

    /// The name used in TOML and JSON.
    pub fn name(self) -> &'static str {
        match self {
            QuestionType::Text => "text",
            QuestionType::Textarea => "textarea",
            QuestionType::Integer => "integer",
            QuestionType::Decimal => "decimal",
            QuestionType::Date => "date",
            QuestionType::Time => "time",
            QuestionType::YesNo => "yes_no",
            QuestionType::SelectOne => "select_one",
            QuestionType::SelectMultiple => "select_multiple",
            QuestionType::Email => "email",
            QuestionType::Phone => "phone",
            QuestionType::Note => "note",
            QuestionType::Calculate => "calculate",
        }
    }

    /// Looks a type up by its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether answers are free text.
    pub fn is_textual(self) -> bool {
        matches!(self, QuestionType::Text | QuestionType::Textarea | QuestionType::Email | QuestionType::Phone)
    }

    /// Whether the type draws its answers from a choice list.
    pub fn has_choices(self) -> bool {
        matches!(self, QuestionType::SelectOne | QuestionType::SelectMultiple)
    }
}

/// A question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// The id, unique in the form.
    pub id: String,
    /// The data path: the ids of the repeats around it and its own id, joined by dots.
    pub path: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// The label (markdown for notes).
    pub label: Text,
    /// A short plain-text hint under the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Text>,
    /// Longer guidance (markdown source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// When an answer is required: `true`, or a condition.
    #[serde(default = "no", skip_serializing_if = "is_false")]
    pub required: Expr,
    /// Asked and stored only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<Expr>,
    /// A check the answer must pass (`.` is the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Expr>,
    /// What to tell the officer when the constraint fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_message: Option<Text>,
    /// For `calculate`: the formula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Expr>,
    /// For `calculate`: the type of the result (`integer`, `text`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// For choice questions: the name of the list in [`Manifest::lists`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<String>,
    /// Cascading choices: keep the choices whose attribute (key) equals the
    /// answer of the question at this path (value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub choice_filter: BTreeMap<String, String>,
    /// The answer filled in before the officer answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Lowest value (number, or `YYYY-MM-DD` for dates), or fewest codes for
    /// multiple choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    /// Highest value, or most codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
    /// Most characters for text answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A rendering hint: `dropdown`, `horizontal` or `search`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<String>,
    /// Identifying: encrypted where the form is, left out of de-identified exports.
    #[serde(default, skip_serializing_if = "is_false_bool")]
    pub pii: bool,
    /// Safe to aggregate in statistics.
    #[serde(default, skip_serializing_if = "is_false_bool")]
    pub stats: bool,
}

fn no() -> Expr {
    Expr::Bool(false)
}

fn is_false(expr: &Expr) -> bool {
    *expr == Expr::Bool(false)
}

fn is_false_bool(value: &bool) -> bool {
    !*value
}

/// A list of choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceList {
    /// Long lists are not embedded in pages: they load as a separate asset
    /// with a searchable picker, and without JavaScript they are typed.
    #[serde(default, skip_serializing_if = "is_false_bool")]
    pub long: bool,
    /// The choices in order.
    pub choices: Vec<Choice>,
}

/// One choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The stable code stored in answers.
    pub value: String,
    /// What the officer sees.
    pub label: Text,
    /// Extra attributes (mapping codes, filter keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Manifest {
    /// Every question, in form order, with the section it belongs to.
    pub fn questions(&self) -> impl Iterator<Item = (&Section, &Question)> {
        self.sections.iter().flat_map(|section| section.questions.iter().map(move |q| (section, q)))
    }

    /// The section with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The sections a section is nested in, outermost first, and itself.
    pub fn section_chain<'a>(&'a self, section: &'a Section) -> Vec<&'a Section> {
        let mut chain = vec![section];
        let mut current = section;
        while let Some(parent) = current.parent.as_deref().and_then(|id| self.section(id)) {
            if chain.iter().any(|s| s.id == parent.id) {
                break; // A cycle cannot come from `check`; don't loop on a hand-made one.
            }
            chain.push(parent);
            current = parent;
        }
        chain.reverse();
        chain
    }

    /// The manifest as the pretty, stable JSON written to the site.
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("manifests always serialize");
        text.push('\n');
        text
    }
}

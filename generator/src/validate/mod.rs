//! Validation of a submission against the exact form version it was filled on.
//!
//! ```
//! # use constancia::project::check_sources;
//! # let site = "[site]\ntitle = 'Casos'\ndefault_language = 'es'\nlanguages = ['es']\n";
//! # let form = "[form]\nid = 'demo'\nversion = 1\ntitle = 'Demo'\n[[section]]\nid = 's'\ntitle = 'S'\n[[section.question]]\nid = 'edad'\ntype = 'integer'\nlabel = 'Edad'\nrequired = true\n";
//! # let project = check_sources("forms".as_ref(), vec![("forms/site.toml".into(), Ok(site.into())), ("forms/demo.toml".into(), Ok(form.into()))]);
//! use constancia::validate::{Form, Input, validate};
//! let form = Form::new(project.forms[0].manifest.clone());
//! let today = jiff::civil::date(2026, 1, 1);
//! let answers = serde_json::json!({ "edad": "doce" });
//! let errors = validate(&form, Input::Json(answers.as_object().unwrap().clone()), "es", today).unwrap_err();
//! assert_eq!(errors[0].field, "edad");
//! assert_eq!(errors[0].code, "type");
//! ```
//!
//! The steps, which the browser runtime mirrors:
//!
//! 1. **Read** the answers (JSON, or the urlencoded fields of a page without
//!    JavaScript) into a typed tree. Unknown fields are errors at once; a
//!    value of the wrong type is remembered against its field.
//! 2. **Evaluate** in the manifest's dependency order: drop the instances of
//!    repeats that are not relevant, drop answers to questions that are not
//!    relevant, and compute calculations (never trusting a client's).
//! 3. **Check** what is left: type errors of relevant questions, required,
//!    ranges, lengths, choices and cascades, constraints, repeat counts.
//!
//! Every error names its field path (`acts.1.act_type`) and carries a
//! message in the submission's language.

mod json;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use jiff::civil::Date;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::answers::{Instance, Layout, Slot};
use crate::expr::eval::{Scope, answer, evaluate, is_true, truth};
use crate::expr::{Expr, check::Type};
use crate::lower::MAX_REPEAT;
use crate::manifest::{ChoiceList, Manifest, Question, QuestionType, Section};
use crate::messages::{self, Messages, fill};
use crate::value::{MAX_SAFE_INTEGER, Value, number_to_json, parse_date, parse_time};

/// One problem with a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field path, with instance indexes: `acts.1.act_type`.
    pub field: String,
    /// A stable code: `required`, `type`, `choice`, `choice_filter`, `min`,
    /// `max`, `max_length`, `constraint`, `min_instances`, `max_instances`,
    /// `unknown_field`; `malformed` (with an empty field) when the answers
    /// are not a JSON object at all.
    pub code: &'static str,
    /// What to tell the officer, in the submission's language.
    pub message: String,
}

/// A manifest with the lookups validation needs, built once per version.
#[derive(Debug, Clone)]
pub struct Form {
    /// The compiled form.
    pub manifest: Manifest,
    /// Where answers live: every question and repeat numbered by scope.
    layout: Layout,
    /// Question number (in form order) by data path.
    questions: FxHashMap<String, usize>,
    /// (section index, question index) of every question, in form order.
    flat: Vec<(usize, usize)>,
    /// Where each question's answers live and which conditions enclose it.
    plans: Vec<Plan>,
    /// The value slot of each question, by question number.
    value_slots: Vec<usize>,
    /// How many questions are outside repeats.
    top_level_questions: usize,
    /// Repeating section index by data path.
    repeats: FxHashMap<String, usize>,
    /// For repeating sections (by section index): their container and conditions.
    repeat_plans: Vec<Option<Plan>>,
    /// For repeating sections (by section index): their slot in the
    /// container's instances, and the scope of their own.
    repeat_slots: Vec<Option<(usize, usize)>>,
    /// The evaluation steps, in the manifest's dependency order.
    steps: Vec<Step>,
    /// Position of each code in its list, by list.
    code_maps: Vec<FxHashMap<String, usize>>,
    /// The list of each question with choices (into `code_maps`), by
    /// question number: one lookup per answer, not two.
    question_codes: Vec<Option<usize>>,
    /// By scope: the question number of each value slot and the section
    /// of each repeat slot.
    scope_members: Vec<(Vec<usize>, Vec<usize>)>,
}

/// For a question: the repeats whose instances hold it (id and slot,
/// outermost first). For a repeating section: the repeats around it. Plus
/// the enclosing sections that do not repeat and carry a condition
/// (outermost first); a repeating section's own condition is applied by
/// dropping its instances.
#[derive(Debug, Clone, Default)]
struct Plan {
    scope: Vec<(Arc<str>, usize)>,
    groups: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Repeat(usize),
    Question(usize),
}

impl Form {
    /// Indexes a manifest.
    pub fn new(mut manifest: Manifest) -> Self {
        let layout = Layout::for_manifest(&manifest);
        // Every expression's references point into this layout from the
        // start: evaluating them never looks a path up.
        let mut resolve = |expr: &mut Expr| expr.for_each_reference_mut(&mut |r| layout.resolve(r));
        for section in &mut manifest.sections {
            section.relevant.iter_mut().for_each(&mut resolve);
            for question in &mut section.questions {
                resolve(&mut question.required);
                question.relevant.iter_mut().for_each(&mut resolve);
                question.constraint.iter_mut().for_each(&mut resolve);
                question.calculation.iter_mut().for_each(&mut resolve);
            }
        }
        let route_of = |path: &str| layout.route(path).map(|r| r.repeats.clone()).unwrap_or_default();
        let mut questions = FxHashMap::default();
        let mut flat = Vec::new();
        let mut plans = Vec::new();
        let mut value_slots = Vec::new();
        let mut repeats = FxHashMap::default();
        let mut repeat_plans = vec![None; manifest.sections.len()];
        let mut repeat_slots = vec![None; manifest.sections.len()];
        let mut scope_members: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        let index_of: HashMap<&str, usize> =
            manifest.sections.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        for (s, section) in manifest.sections.iter().enumerate() {
            let chain: Vec<usize> =
                manifest.section_chain(section).iter().filter_map(|c| index_of.get(c.id.as_str()).copied()).collect();
            let groups: Vec<usize> = chain
                .iter()
                .copied()
                .filter(|&c| manifest.sections[c].repeat.is_none() && manifest.sections[c].relevant.is_some())
                .collect();
            let scope = route_of(&section.scope);
            let scope_index = layout.scope_at(&section.scope).unwrap_or(0);
            if section.repeat.is_some() {
                repeats.insert(section.scope.clone(), s);
                let container = scope[..scope.len().saturating_sub(1)].to_vec();
                // The repeat is laid out under the last part of its scope
                // (its id, in a manifest the compiler wrote).
                let (container_path, id) = section.scope.rsplit_once('.').unwrap_or(("", &section.scope));
                let container_index = layout.scope_at(container_path);
                if let (Some(Slot::Repeat(slot)), Some(container_index)) =
                    (container_index.and_then(|c| layout.slot(c, id)), container_index)
                {
                    repeat_slots[s] = Some((slot, scope_index));
                    put(&mut member_lists(&mut scope_members, container_index).1, slot, s);
                }
                repeat_plans[s] = Some(Plan { scope: container, groups: groups.clone() });
            }
            for (q, question) in section.questions.iter().enumerate() {
                let number = flat.len();
                let slot = match layout.slot(scope_index, &question.id) {
                    Some(Slot::Value(slot)) => slot,
                    _ => usize::MAX,
                };
                if slot != usize::MAX {
                    put(&mut member_lists(&mut scope_members, scope_index).0, slot, number);
                }
                questions.insert(question.path.clone(), number);
                flat.push((s, q));
                value_slots.push(slot);
                plans.push(Plan { scope: scope.clone(), groups: groups.clone() });
            }
        }
        let steps = manifest
            .order
            .iter()
            .filter_map(|path| match (repeats.get(path), questions.get(path)) {
                (Some(&s), _) => Some(Step::Repeat(s)),
                (None, Some(&q)) => Some(Step::Question(q)),
                _ => None,
            })
            .collect();
        let list_index: FxHashMap<&str, usize> =
            manifest.lists.keys().enumerate().map(|(i, name)| (name.as_str(), i)).collect();
        let code_maps = manifest
            .lists
            .values()
            .map(|list| list.choices.iter().enumerate().map(|(i, c)| (c.value.clone(), i)).collect())
            .collect();
        let question_codes = flat
            .iter()
            .map(|&(s, q)| {
                let question: &Question = &manifest.sections[s].questions[q];
                question.choices.as_deref().and_then(|name| list_index.get(name).copied())
            })
            .collect();
        let top_level_questions = plans.iter().filter(|p| p.scope.is_empty()).count();
        Self {
            manifest,
            layout,
            questions,
            flat,
            plans,
            value_slots,
            top_level_questions,
            repeats,
            repeat_plans,
            repeat_slots,
            steps,
            code_maps,
            question_codes,
            scope_members,
        }
    }

    /// Where the answers of this form live: to write validated answers out
    /// as JSON text (`form.layout().json(&answers)`).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// What `id` names in the instances of `scope`.
    fn member(&self, scope: usize, id: &str) -> Option<Member> {
        let (questions, sections) = self.scope_members.get(scope)?;
        // A slot without its question or section (`usize::MAX`) cannot
        // come from a manifest the compiler wrote; a hand-edited one is
        // read as if the id were unknown.
        let known = |n: &usize| *n != usize::MAX;
        match self.layout.slot(scope, id)? {
            Slot::Value(slot) => Some(Member::Question { number: questions.get(slot).copied().filter(known)?, slot }),
            Slot::Repeat(slot) => Some(Member::Repeat { section: sections.get(slot).copied().filter(known)?, slot }),
        }
    }

    /// The question at a data path.
    pub fn question(&self, path: &str) -> Option<&Question> {
        self.questions.get(path).map(|&n| self.question_at(n))
    }

    fn question_at(&self, number: usize) -> &Question {
        let (s, q) = self.flat[number];
        &self.manifest.sections[s].questions[q]
    }

    /// The repeating section whose data path is `path`.
    pub fn repeat(&self, path: &str) -> Option<&Section> {
        self.repeats.get(path).map(|&s| &self.manifest.sections[s])
    }

    fn list(&self, question: &Question) -> Option<&ChoiceList> {
        question.choices.as_deref().and_then(|name| self.manifest.lists.get(name))
    }

    /// The position of a code in the list of question `number`.
    fn code_index(&self, number: usize, code: &str) -> Option<usize> {
        self.codes_of(number)?.get(code).copied()
    }

    /// The position of each code of the list of question `number`.
    fn codes_of(&self, number: usize) -> Option<&FxHashMap<String, usize>> {
        self.code_maps.get((*self.question_codes.get(number)?)?)
    }
}

/// Sets `list[slot]`, growing the list as needed.
fn put(list: &mut Vec<usize>, slot: usize, value: usize) {
    if list.len() <= slot {
        list.resize(slot + 1, usize::MAX);
    }
    list[slot] = value;
}

/// The member lists of a scope, created on first use.
fn member_lists(lists: &mut Vec<(Vec<usize>, Vec<usize>)>, scope: usize) -> &mut (Vec<usize>, Vec<usize>) {
    if lists.len() <= scope {
        lists.resize_with(scope + 1, Default::default);
    }
    &mut lists[scope]
}

/// The answers of a submission as received.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// The `answers` object of a JSON submission, already parsed.
    Json(serde_json::Map<String, serde_json::Value>),
    /// The `answers` object of a JSON submission as text: read in one pass
    /// straight into typed answers (the collector's path).
    JsonText(&'a str),
    /// The fields of a urlencoded form post, in order. Names starting with
    /// `_` are metadata and ignored here.
    Fields(&'a [(String, String)]),
}

fn join(scope: &str, id: &str) -> String {
    if scope.is_empty() { id.to_owned() } else { format!("{scope}.{id}") }
}

/// A field's name, built only when an error must name it.
struct Field<'a> {
    prefix: &'a str,
    key: &'a str,
}

impl Field<'_> {
    fn name(&self) -> String {
        [self.prefix, self.key].concat()
    }
}

/// What an id names at a scope, with its slot there.
#[derive(Debug, Clone, Copy)]
enum Member {
    Question { number: usize, slot: usize },
    Repeat { section: usize, slot: usize },
}

/// A value that failed to read, remembered until we know whether its
/// question is relevant (answers to questions that are not are dropped,
/// errors and all).
#[derive(Debug, Clone)]
struct Pending {
    code: &'static str,
    message: String,
}

/// Answers being read: the tree, plus pending errors and the submitted
/// index of every instance, by field path.
#[derive(Default)]
struct Reading {
    pending: HashMap<String, Pending>,
    errors: Vec<FieldError>,
    /// Where blank instances were dropped: the submitted prefix of a
    /// repeat's instance by its compacted one, both under the submitted
    /// prefix of the instance around it (`acts.1.inv.0.` → `acts.1.inv.2.`).
    origins: HashMap<String, String>,
}

struct Reader<'a> {
    form: &'a Form,
    lang: &'a str,
    t: &'static Messages,
    reading: Reading,
}

/// Text normalised for matching typed answers to choice labels: lowercase,
/// without accents, single spaces.
fn fold(text: &str) -> String {
    let stripped: String =
        text.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).collect::<String>().to_lowercase();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
        && text.len() <= 254
}

fn is_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits) && text.len() <= 40 && text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

impl Reader<'_> {
    fn type_error(&mut self, field: &Field<'_>, message: &str) {
        self.reading.pending.insert(field.name(), Pending { code: "type", message: message.to_owned() });
    }

    /// How many answers so far failed to read.
    fn failures(&self) -> usize {
        self.reading.pending.len() + self.reading.errors.len()
    }

    fn unknown(&mut self, field: &str) {
        self.reading.errors.push(FieldError {
            field: field.to_owned(),
            code: "unknown_field",
            message: self.t.unknown_field.to_owned(),
        });
    }

    fn type_message(&self, kind: QuestionType) -> &'static str {
        match kind {
            QuestionType::Integer => self.t.invalid_integer,
            QuestionType::Decimal => self.t.invalid_decimal,
            QuestionType::Date => self.t.invalid_date,
            QuestionType::Time => self.t.invalid_time,
            QuestionType::YesNo => self.t.invalid_yes_no,
            QuestionType::Email => self.t.invalid_email,
            QuestionType::Phone => self.t.invalid_phone,
            QuestionType::SelectOne | QuestionType::SelectMultiple => self.t.invalid_choice,
            _ => self.t.invalid_text,
        }
    }

    /// A text answer: trimmed, line breaks normalised, empty → unanswered.
    /// Takes the string received, so an answer that needs no change is kept
    /// without copying.
    fn text(&mut self, question: &Question, field: &Field<'_>, raw: String) -> Value {
        let text = if raw.trim().len() == raw.len() && !raw.contains('\r') {
            raw
        } else {
            let trimmed = raw.trim();
            if trimmed.contains('\r') { trimmed.replace("\r\n", "\n") } else { trimmed.to_owned() }
        };
        if text.is_empty() {
            return Value::Empty;
        }
        let ok = match question.kind {
            QuestionType::Email => is_email(&text),
            QuestionType::Phone => is_phone(&text),
            _ => !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
        };
        if !ok {
            self.type_error(field, self.type_message(question.kind));
            return Value::Empty;
        }
        Value::Text(text)
    }

    fn number(&mut self, question: &Question, field: &Field<'_>, n: Option<f64>) -> Value {
        let Some(n) = n.filter(|n| n.is_finite()) else {
            self.type_error(field, self.type_message(question.kind));
            return Value::Empty;
        };
        if question.kind == QuestionType::Integer && (n.fract() != 0.0 || n.abs() > MAX_SAFE_INTEGER) {
            self.type_error(field, self.t.invalid_integer);
            return Value::Empty;
        }
        if n.abs() > 1e15 {
            self.type_error(field, self.t.invalid_decimal);
            return Value::Empty;
        }
        Value::Number(n)
    }

    /// A choice code, or for typed answers a label (ignoring case and accents).
    fn choice(&mut self, number: usize, field: &Field<'_>, raw: &str, typed: bool) -> Value {
        let question = self.form.question_at(number);
        let raw = raw.trim();
        if raw.is_empty() {
            return Value::Empty;
        }
        if self.form.code_index(number, raw).is_some() {
            return Value::Text(raw.to_owned());
        }
        let Some(list) = self.form.list(question) else { return Value::Empty };
        if typed {
            let wanted = fold(raw);
            let matches: Vec<&str> = list
                .choices
                .iter()
                .filter(|c| fold(&c.value) == wanted || c.label.0.values().any(|l| fold(l) == wanted))
                .map(|c| c.value.as_str())
                .collect();
            if let [only] = matches.as_slice() {
                return Value::Text((*only).to_owned());
            }
            if matches.is_empty() {
                let lang = self.lang;
                let mut scored: Vec<(f64, &str)> = list
                    .choices
                    .iter()
                    .map(|c| (strsim::jaro_winkler(&wanted, &fold(c.label.get(lang))), c.label.get(lang)))
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                let closest: Vec<&str> = scored.iter().take(3).map(|(_, label)| *label).collect();
                self.reading.pending.insert(
                    field.name(),
                    Pending { code: "choice", message: fill(self.t.no_match, closest.join("; ")) },
                );
                return Value::Empty;
            }
        }
        self.reading
            .pending
            .insert(field.name(), Pending { code: "choice", message: self.t.invalid_choice.to_owned() });
        Value::Empty
    }

    /// Orders codes as the list does and drops repeats.
    fn codes(&mut self, number: usize, field: &Field<'_>, mut codes: Vec<String>) -> Value {
        let form = self.form;
        let position = |code: &String| form.codes_of(number).and_then(|p| p.get(code)).copied();
        // Sorted and kept in the vector received: a few codes, so looking
        // each up again while sorting costs less than allocating.
        codes.retain(|code| {
            let known = position(code).is_some();
            if !known {
                // Records why the code is refused.
                self.choice(number, field, code, false);
            }
            known
        });
        codes.sort_unstable_by_key(|code| position(code));
        codes.dedup();
        Value::Multi(codes)
    }

    fn field_value(&mut self, number: usize, field: &Field<'_>, raw: &[&str]) -> Value {
        let question = self.form.question_at(number);
        if question.kind == QuestionType::SelectMultiple {
            let codes = raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            return self.codes(number, field, codes);
        }
        // A single-valued field sent several times: the last one wins, as
        // a browser would only send one.
        let raw = raw.last().copied().unwrap_or("");
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Value::Empty;
        }
        match question.kind {
            QuestionType::Integer => {
                let ok = trimmed.strip_prefix('-').unwrap_or(trimmed);
                let n = (!ok.is_empty() && ok.len() <= 16 && ok.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| trimmed.parse::<f64>().ok())
                    .flatten();
                self.number(question, field, n)
            }
            QuestionType::Decimal => {
                // Officers in Spanish write 12,5; accept both separators.
                let normalised = trimmed.replace(',', ".");
                let valid = normalised.len() <= 24
                    && normalised.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
                    && normalised.matches('.').count() <= 1;
                let n = valid.then(|| normalised.parse::<f64>().ok()).flatten();
                self.number(question, field, n)
            }
            QuestionType::Date => match parse_date(trimmed) {
                Some(date) => Value::Date(date),
                None => {
                    self.type_error(field, self.t.invalid_date);
                    Value::Empty
                }
            },
            QuestionType::Time => {
                // Some browsers send seconds; they carry nothing here.
                let time = if trimmed.len() == 8 && trimmed.ends_with(":00") { &trimmed[..5] } else { trimmed };
                match parse_time(time) {
                    Some(time) => Value::Time(time),
                    None => {
                        self.type_error(field, self.t.invalid_time);
                        Value::Empty
                    }
                }
            }
            QuestionType::YesNo => match trimmed {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    self.type_error(field, self.t.invalid_yes_no);
                    Value::Empty
                }
            },
            QuestionType::SelectOne => self.choice(number, field, trimmed, true),
            _ => self.text(question, field, raw.to_owned()),
        }
    }

    /// Reads JSON answers (an object) into the answer tree.
    fn json<'de, D: serde::Deserializer<'de>>(&mut self, deserializer: D) -> Result<Instance, D::Error> {
        use serde::de::DeserializeSeed as _;
        let seed = json::InstanceSeed { reader: self, scope: 0, prefix: "" };
        match seed.deserialize(deserializer)? {
            Some(instance) => Ok(instance),
            None => {
                self.reading.errors.push(FieldError {
                    field: String::new(),
                    code: "malformed",
                    message: "the answers must be a JSON object".into(),
                });
                Ok(self.form.layout.instance(0))
            }
        }
    }

    /// Stores a repeat's instances, dropping blank ones beyond the minimum
    /// (a page without JavaScript always shows one instance, which an
    /// officer may leave empty).
    fn keep_instances(
        &mut self,
        instance: &mut Instance,
        slot: usize,
        field: &str,
        instances: Vec<(usize, Instance, bool)>,
        min: usize,
    ) {
        // An instance is blank when nothing was answered in it and nothing
        // sent to it failed to read (then it holds an error to report).
        let blank = |(_, child, failed): &(usize, Instance, bool)| child.is_blank() && !failed;
        let blank_count = instances.iter().filter(|i| blank(i)).count();
        let mut droppable = (instances.len().saturating_sub(min)).min(blank_count);
        let mut list = Vec::with_capacity(instances.len() - droppable);
        for entry in instances {
            if blank(&entry) && droppable > 0 {
                droppable -= 1;
                continue;
            }
            let (original, child, _) = entry;
            let position = list.len();
            if position != original {
                self.reading.origins.insert(format!("{field}.{position}."), format!("{field}.{original}."));
            }
            list.push(child);
        }
        if let Some(repeat) = instance.repeats.get_mut(slot) {
            *repeat = Some(list);
        }
    }

    fn fields(&mut self, fields: &[(String, String)]) -> Instance {
        // Group values by name, keeping the order names first appear.
        let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (name, value) in fields {
            if name.starts_with('_') {
                continue;
            }
            match seen.get(name.as_str()) {
                Some(&i) => grouped[i].1.push(value),
                None => {
                    seen.insert(name, grouped.len());
                    grouped.push((name, vec![value]));
                }
            }
        }
        let mut tree = FieldTree::default();
        for (name, values) in grouped {
            self.place(&mut tree, name, values);
        }
        self.tree_instance(tree, 0, "")
    }

    /// Files a field under its instance: `acts.0.victims.1.age`.
    fn place<'v>(&mut self, tree: &mut FieldTree<'v>, name: &str, values: Vec<&'v str>) {
        let mut node = tree;
        let mut scope = String::new();
        let mut parts = name.split('.');
        let mut depth = 0;
        while let Some(part) = parts.next() {
            let path = join(&scope, part);
            if let Some(question) = self.form.question(&path) {
                if parts.next().is_some() {
                    self.unknown(name);
                } else if !matches!(question.kind, QuestionType::Calculate | QuestionType::Note) {
                    node.values.insert(part.to_owned(), values);
                }
                // Calculations are recomputed and notes have no value: a
                // client's are ignored.
                return;
            }
            let Some(section) = self.form.repeat(&path) else {
                self.unknown(name);
                return;
            };
            let limit = section.repeat.and_then(|r| r.max).unwrap_or(MAX_REPEAT) as usize;
            let index = parts.next().and_then(|i| {
                (i.len() <= 4 && i.bytes().all(|b| b.is_ascii_digit())).then(|| i.parse::<usize>().ok()).flatten()
            });
            let Some(index) = index.filter(|i| *i < limit.max(1) && depth < 2) else {
                self.unknown(name);
                return;
            };
            depth += 1;
            let repeat = node.repeats.entry(part.to_owned()).or_default();
            node = repeat.entry(index).or_default();
            scope = path;
        }
        self.unknown(name);
    }

    fn tree_instance(&mut self, tree: FieldTree<'_>, scope: usize, prefix: &str) -> Instance {
        let form = self.form;
        let mut instance = form.layout.instance(scope);
        for (id, values) in tree.values {
            if let Some(Member::Question { number, slot }) = form.member(scope, &id) {
                instance.values[slot] = self.field_value(number, &Field { prefix, key: &id }, &values);
            }
        }
        for (id, instances) in tree.repeats {
            let Some(Member::Repeat { section, slot }) = form.member(scope, &id) else { continue };
            let child_scope = form.layout.child_scope(scope, slot);
            let field = format!("{prefix}{id}");
            let min = form.manifest.sections[section].repeat.map_or(0, |r| r.min) as usize;
            let children = instances
                .into_iter()
                .map(|(index, child)| {
                    let failures = self.failures();
                    let child = self.tree_instance(child, child_scope, &format!("{field}.{index}."));
                    (index, child, self.failures() > failures)
                })
                .collect::<Vec<_>>();
            // Field indexes may have gaps (an instance removed on the page):
            // instances keep their order, renumbered.
            self.keep_instances(&mut instance, slot, &field, children, min);
        }
        instance
    }
}

#[derive(Default)]
struct FieldTree<'v> {
    values: BTreeMap<String, Vec<&'v str>>,
    repeats: BTreeMap<String, BTreeMap<usize, FieldTree<'v>>>,
}

/// A position in the answer tree: for each repeat entered, its id and the
/// instance index (what expressions see), and its slot (to walk the tree).
/// Repeats nest at most two levels, so small arrays hold it without
/// allocating.
#[derive(Debug, Clone, Copy, Default)]
struct Pos<'p> {
    items: [(&'p str, usize); 3],
    slots: [usize; 3],
    len: usize,
}

impl<'p> Pos<'p> {
    fn with(mut self, (id, slot): &'p (Arc<str>, usize), index: usize) -> Self {
        if self.len < self.items.len() {
            self.items[self.len] = (id, index);
            self.slots[self.len] = *slot;
            self.len += 1;
        }
        self
    }

    /// (repeat slot, instance index) of each level entered.
    fn steps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.slots[..self.len].iter().zip(&self.items[..self.len]).map(|(slot, (_, index))| (*slot, *index))
    }
}

impl<'p> std::ops::Deref for Pos<'p> {
    type Target = [(&'p str, usize)];

    fn deref(&self) -> &Self::Target {
        &self.items[..self.len]
    }
}

/// The positions of every instance holding the answers of `scope` (the
/// repeats from the top): `[("acts", 0), ("involved", 1)]`.
fn positions<'p>(root: &Instance, scope: &'p [(Arc<str>, usize)], out: &mut Vec<Pos<'p>>) {
    out.clear();
    match scope {
        [] => {
            out.push(Pos::default());
            return;
        }
        [only] => {
            let count = root.instances(only.1).len();
            out.extend((0..count).map(|index| Pos::default().with(only, index)));
            return;
        }
        _ => {}
    }
    let mut current: Vec<(Pos<'p>, &Instance)> = vec![(Pos::default(), root)];
    for repeat in scope {
        let mut next = Vec::new();
        for (position, instance) in current {
            for (index, child) in instance.instances(repeat.1).iter().enumerate() {
                next.push((position.with(repeat, index), child));
            }
        }
        current = next;
    }
    out.extend(current.into_iter().map(|(p, _)| p));
}

/// The one position of the top level.
const TOP: [Pos<'static>; 1] = [Pos { items: [("", 0); 3], slots: [0; 3], len: 0 }];

/// The positions of one scope's instances, kept while the next questions
/// share the scope (a form's questions come section by section), until the
/// tree changes: each pass walks the tree once per scope, not per question.
#[derive(Default)]
struct Found<'p> {
    /// The repeat slots of the scope kept, from the top (repeats nest at
    /// most three deep, like [`Pos`]).
    kept: Option<([usize; 3], usize)>,
    list: Vec<Pos<'p>>,
}

impl<'p> Found<'p> {
    fn of(&mut self, root: &Instance, scope: &'p [(Arc<str>, usize)]) -> &[Pos<'p>] {
        if scope.is_empty() {
            return &TOP;
        }
        let same = self.kept.as_ref().is_some_and(|(kept, len)| {
            *len == scope.len() && kept.iter().zip(scope).all(|(kept, (_, slot))| kept == slot)
        });
        if !same {
            positions(root, scope, &mut self.list);
            let mut kept = ([0; 3], scope.len());
            for (kept, (_, slot)) in kept.0.iter_mut().zip(scope) {
                *kept = *slot;
            }
            // Deeper than three: never kept, found each time.
            self.kept = (scope.len() <= 3).then_some(kept);
        }
        &self.list
    }

    /// Instances were dropped: positions must be found again.
    fn forget(&mut self) {
        self.kept = None;
    }
}

fn instance_at_mut<'a>(root: &'a mut Instance, position: &Pos<'_>) -> Option<&'a mut Instance> {
    let mut instance = root;
    for (slot, index) in position.steps() {
        instance = instance.repeats.get_mut(slot)?.as_mut()?.get_mut(index)?;
    }
    Some(instance)
}

fn instance_at<'a>(root: &'a Instance, position: &Pos<'_>) -> Option<&'a Instance> {
    let mut instance = root;
    for (slot, index) in position.steps() {
        instance = instance.instances(slot).get(index)?;
    }
    Some(instance)
}

/// The field-name prefix of a position: `acts.0.involved.1.`.
fn field_prefix(position: &[(&str, usize)]) -> String {
    position.iter().map(|(id, index)| format!("{id}.{index}.")).collect()
}

/// A number for (thing, position), so relevance can be remembered without
/// building strings: repeats nest at most two levels and hold at most
/// 1,000 instances, so each level fits in 12 bits.
fn key(thing: usize, position: &[(&str, usize)]) -> u64 {
    position.iter().fold(thing as u64, |acc, (_, index)| (acc << 12) | ((*index as u64 + 1) & 0xfff))
        | ((position.len() as u64) << 60)
}

/// What the evaluation pass found relevant.
#[derive(Default)]
struct Relevance {
    /// Relevant questions outside repeats, by question number: most of a
    /// form, so a plain vector rather than hashed keys.
    top_level: Vec<bool>,
    /// Relevant question instances inside repeats, by [`key`].
    questions: FxHashSet<u64>,
    repeats: FxHashSet<u64>,
    /// Conditions of sections that do not repeat, by (section, position):
    /// every question of a section shares them, so each is evaluated once.
    groups: FxHashMap<u64, bool>,
    /// The same, for top-level sections: by section index.
    top_groups: Vec<Option<bool>>,
}

impl Relevance {
    fn mark_question(&mut self, number: usize, position: &[(&str, usize)]) {
        if position.is_empty() {
            if self.top_level.len() <= number {
                self.top_level.resize(number + 1, false);
            }
            self.top_level[number] = true;
        } else {
            self.questions.insert(key(number, position));
        }
    }

    fn holds_question(&self, number: usize, position: &[(&str, usize)]) -> bool {
        if position.is_empty() {
            self.top_level.get(number).copied().unwrap_or(false)
        } else {
            self.questions.contains(&key(number, position))
        }
    }

    fn groups_hold(
        &mut self,
        form: &Form,
        groups: &[usize],
        root: &Instance,
        position: &[(&str, usize)],
        today: Date,
    ) -> bool {
        let evaluate = |g: usize| {
            let scope = Scope { layout: &form.layout, root, position, today, self_value: None };
            form.manifest.sections[g].relevant.as_ref().is_none_or(|e| is_true(e, &scope))
        };
        groups.iter().all(|&g| {
            if position.is_empty()
                && let Some(known) = self.top_groups.get_mut(g)
            {
                *known.get_or_insert_with(|| evaluate(g))
            } else {
                *self.groups.entry(key(g, position)).or_insert_with(|| evaluate(g))
            }
        })
    }
}

/// Relevance and calculations, in the manifest's order: drops the instances
/// of repeats and the answers of questions that are not relevant, computes
/// calculations.
///
/// With `errors_pending` false, a question instance left unanswered whose
/// answer nothing computes and nothing requires is skipped: whether it is
/// relevant changes nothing (there is no answer to drop and nothing to
/// check), so its condition is not evaluated and it counts as not relevant.
fn evaluate_form(form: &Form, root: &mut Instance, today: Date, errors_pending: bool) -> Relevance {
    // Sized for a typical case up front: growing the sets while marking
    // rehashes them several times per submission.
    let in_repeats = form.plans.len() - form.top_level_questions;
    let mut relevance = Relevance {
        top_level: vec![false; form.flat.len()],
        questions: FxHashSet::with_capacity_and_hasher(in_repeats * 2, Default::default()),
        repeats: FxHashSet::with_capacity_and_hasher(16, Default::default()),
        groups: FxHashMap::with_capacity_and_hasher(16, Default::default()),
        top_groups: vec![None; form.manifest.sections.len()],
    };
    let mut found = Found::default();
    for step in &form.steps {
        match *step {
            Step::Repeat(s) => {
                let Some(plan) = &form.repeat_plans[s] else { continue };
                let section = &form.manifest.sections[s];
                let mut dropped = false;
                for position in found.of(root, &plan.scope) {
                    let holds = (plan.groups.is_empty()
                        || relevance.groups_hold(form, &plan.groups, root, position, today))
                        && {
                            let scope = Scope { layout: &form.layout, root, position, today, self_value: None };
                            section.relevant.as_ref().is_none_or(|e| is_true(e, &scope))
                        };
                    if holds {
                        relevance.repeats.insert(key(s, position));
                    } else if let (Some(instance), Some((slot, _))) =
                        (instance_at_mut(root, position), form.repeat_slots[s])
                        && let Some(repeat) = instance.repeats.get_mut(slot)
                    {
                        *repeat = None;
                        dropped = true;
                    }
                }
                if dropped {
                    found.forget();
                }
            }
            Step::Question(number) => {
                let plan = &form.plans[number];
                let question = form.question_at(number);
                let slot = form.value_slots[number];
                let moot =
                    !errors_pending && question.calculation.is_none() && matches!(question.required, Expr::Bool(false));
                for position in found.of(root, &plan.scope) {
                    if moot && instance_at(root, position).is_none_or(|instance| instance.get(slot).is_empty()) {
                        continue;
                    }
                    let holds = (plan.groups.is_empty()
                        || relevance.groups_hold(form, &plan.groups, root, position, today))
                        && {
                            let scope = Scope { layout: &form.layout, root, position, today, self_value: None };
                            question.relevant.as_ref().is_none_or(|e| is_true(e, &scope))
                        };
                    let computed = match (&question.calculation, holds) {
                        (Some(calculation), true) => {
                            let scope = Scope { layout: &form.layout, root, position, today, self_value: None };
                            Some(typed_calculation(evaluate(calculation, &scope), question.value_type.as_deref()))
                        }
                        _ => None,
                    };
                    if holds {
                        relevance.mark_question(number, position);
                    }
                    let Some(answer) =
                        instance_at_mut(root, position).and_then(|i| i.values.get_mut(form.value_slots[number]))
                    else {
                        continue;
                    };
                    match computed {
                        Some(value) => *answer = value,
                        None if !holds => *answer = Value::Empty,
                        None => {}
                    }
                }
            }
        }
    }
    relevance
}

/// Keeps a calculation's result only if it has the declared type (integer
/// results must be whole).
fn typed_calculation(value: Value, value_type: Option<&str>) -> Value {
    match (value, value_type.and_then(Type::from_manifest_name)) {
        (Value::Number(n), Some(Type::Integer)) if n.fract() != 0.0 || n.abs() > MAX_SAFE_INTEGER => {
            Value::Number(n.trunc())
        }
        (value, _) => value,
    }
}

struct Checking<'a> {
    form: &'a Form,
    root: &'a Instance,
    today: Date,
    lang: &'a str,
    t: &'static Messages,
}

/// The checks of step 3 for one relevant question instance. `field` builds
/// the field name, only when there is an error to report.
fn check_question(
    c: &Checking<'_>,
    number: usize,
    position: &Pos<'_>,
    field: &dyn Fn() -> String,
    errors: &mut Vec<FieldError>,
) {
    let Checking { form, root, today, lang, t } = *c;
    let question = form.question_at(number);
    let empty = Value::Empty;
    let value = instance_at(root, position).map_or(&empty, |i| i.get(form.value_slots[number]));
    let scope = Scope { layout: &form.layout, root, position, today, self_value: None };
    let mut push = |code: &'static str, message: String| errors.push(FieldError { field: field(), code, message });
    if value.is_empty() {
        if question.kind != QuestionType::Calculate && is_true(&question.required, &scope) {
            push("required", t.required.to_owned());
        }
        return;
    }
    let min = question.min.as_ref();
    let max = question.max.as_ref();
    match value {
        Value::Number(n) => {
            if let Some(min) = min.and_then(serde_json::Value::as_f64).filter(|m| n < m) {
                push("min", fill(t.too_small, number_to_json(min)));
            }
            if let Some(max) = max.and_then(serde_json::Value::as_f64).filter(|m| n > m) {
                push("max", fill(t.too_large, number_to_json(max)));
            }
        }
        Value::Date(d) => {
            if let Some(min) = min.and_then(|m| m.as_str()).filter(|m| parse_date(m).is_some_and(|m| *d < m)) {
                push("min", fill(t.too_early, min));
            }
            if let Some(max) = max.and_then(|m| m.as_str()).filter(|m| parse_date(m).is_some_and(|m| *d > m)) {
                push("max", fill(t.too_late, max));
            }
        }
        Value::Multi(codes) => {
            let count = codes.len() as f64;
            if let Some(min) = min.and_then(serde_json::Value::as_f64).filter(|m| count < *m) {
                push("min", fill(t.too_few_choices, min));
            }
            if let Some(max) = max.and_then(serde_json::Value::as_f64).filter(|m| count > *m) {
                push("max", fill(t.too_many_choices, max));
            }
        }
        _ => {}
    }
    if let (Value::Text(text), Some(max_length)) = (value, question.max_length)
        && text.chars().count() > max_length as usize
    {
        push("max_length", fill(t.too_long, max_length));
    }
    // Cascades: the chosen code must carry the attribute value of the
    // answer it depends on.
    if !question.choice_filter.is_empty()
        && let Some(list) = form.list(question)
    {
        let codes: &[String] = match value {
            Value::Text(code) => std::slice::from_ref(code),
            Value::Multi(codes) => codes,
            _ => &[],
        };
        let fits = codes.iter().all(|code| {
            let Some(choice) = form.code_index(number, code).and_then(|i| list.choices.get(i)) else { return false };
            question.choice_filter.iter().all(|(attribute, path)| {
                let expected = answer(path, &scope);
                matches!((expected, choice.attributes.get(attribute)), (Some(Value::Text(want)), Some(have)) if want == have)
            })
        });
        if !fits {
            push("choice_filter", t.filtered_choice.to_owned());
        }
    }
    if let Some(constraint) = &question.constraint {
        let scope = Scope { layout: &form.layout, root, position, today, self_value: Some(value) };
        if truth(constraint, &scope) == Some(false) {
            let message = question
                .constraint_message
                .as_ref()
                .map_or_else(|| t.constraint.to_owned(), |m| m.get(lang).to_owned());
            push("constraint", message);
        }
    }
}

/// Answers that are not JSON at all: one error, nothing read.
fn unreadable(reader: &mut Reader<'_>, error: &serde_json::Error) -> Instance {
    reader.reading.errors.push(FieldError {
        field: String::new(),
        code: "malformed",
        message: format!("the answers are not valid JSON: {error}"),
    });
    reader.form.layout.instance(0)
}

/// The name a field had in the submission, from its name after blank
/// instances were dropped: each repeat index is mapped back, outermost
/// first.
fn submitted_name(field: &str, origins: &HashMap<String, String>) -> String {
    if origins.is_empty() {
        return field.to_owned();
    }
    let parts: Vec<&str> = field.split('.').collect();
    let mut name = String::new();
    let mut i = 0;
    while i < parts.len() {
        match parts.get(i + 1) {
            Some(index) if index.bytes().all(|b| b.is_ascii_digit()) && i + 2 <= parts.len() => {
                let compact = format!("{name}{}.{index}.", parts[i]);
                name = origins.get(&compact).cloned().unwrap_or(compact);
                i += 2;
            }
            _ => {
                name.push_str(parts[i]);
                if i + 1 < parts.len() {
                    name.push('.');
                }
                i += 1;
            }
        }
    }
    name
}

/// Answers read from JSON and not yet judged: what [`AnswersSeed`] gives,
/// for [`validate_read`].
pub struct ReadAnswers {
    root: Instance,
    reading: Reading,
}

/// Reads a submission's `answers` object straight from the deserializer of
/// the request around it, so the request is read once: a JSON value of the
/// wrong shape is remembered as an error (never a failed read); only JSON
/// that is not well formed fails. Then [`validate_read`] judges what was read.
pub struct AnswersSeed<'a> {
    /// The form version the answers were filled on.
    pub form: &'a Form,
    /// The language of the submission's messages.
    pub lang: &'a str,
}

impl<'de> serde::de::DeserializeSeed<'de> for AnswersSeed<'_> {
    type Value = ReadAnswers;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<ReadAnswers, D::Error> {
        let t = messages::for_language(self.lang);
        let mut reader = Reader { form: self.form, lang: self.lang, t, reading: Reading::default() };
        let root = reader.json(deserializer)?;
        Ok(ReadAnswers { root, reading: reader.reading })
    }
}

/// Validates a submission. On success the answers are what is stored:
/// typed, with calculations computed and answers to questions that are not
/// relevant dropped.
pub fn validate(form: &Form, input: Input<'_>, lang: &str, today: Date) -> Result<Instance, Vec<FieldError>> {
    let t = messages::for_language(lang);
    let mut reader = Reader { form, lang, t, reading: Reading::default() };
    let root = match input {
        Input::Json(object) => {
            reader.json(serde_json::Value::Object(object)).unwrap_or_else(|error| unreadable(&mut reader, &error))
        }
        Input::JsonText(text) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            match reader.json(&mut deserializer).and_then(|instance| deserializer.end().map(|()| instance)) {
                Ok(instance) => instance,
                Err(error) => unreadable(&mut reader, &error),
            }
        }
        Input::Fields(fields) => reader.fields(fields),
    };
    validate_read(form, ReadAnswers { root, reading: reader.reading }, lang, today)
}

/// Judges answers read by [`AnswersSeed`]: steps 2 and 3 of [`validate`].
pub fn validate_read(form: &Form, read: ReadAnswers, lang: &str, today: Date) -> Result<Instance, Vec<FieldError>> {
    let t = messages::for_language(lang);
    let ReadAnswers { mut root, reading: Reading { pending, mut errors, origins } } = read;

    let relevance = evaluate_form(form, &mut root, today, !pending.is_empty());

    // Repeat counts of relevant repeats.
    let mut found = Found::default();
    for (s, section) in form.manifest.sections.iter().enumerate() {
        let (Some(repeat), Some(plan)) = (section.repeat, &form.repeat_plans[s]) else { continue };
        for position in found.of(&root, &plan.scope) {
            if !relevance.repeats.contains(&key(s, position)) {
                continue;
            }
            let (Some(instance), Some((slot, _))) = (instance_at(&root, position), form.repeat_slots[s]) else {
                continue;
            };
            let count = instance.instances(slot).len() as u32;
            let field = || format!("{}{}", field_prefix(position), section.id);
            if count < repeat.min {
                errors.push(FieldError {
                    field: field(),
                    code: "min_instances",
                    message: fill(t.too_few_instances, repeat.min),
                });
            }
            if !pending.is_empty() {
                let field = field();
                if let Some(pending) = pending.get(&submitted_name(&field, &origins)) {
                    errors.push(FieldError { field, code: pending.code, message: pending.message.clone() });
                }
            }
        }
    }

    // Questions, in form order.
    let checking = Checking { form, root: &root, today, lang, t };
    for (number, plan) in form.plans.iter().enumerate() {
        let question = form.question_at(number);
        if question.kind == QuestionType::Note {
            continue;
        }
        for position in found.of(&root, &plan.scope) {
            if !relevance.holds_question(number, position) {
                continue;
            }
            let field = || format!("{}{}", field_prefix(position), question.id);
            if !pending.is_empty() {
                let name = field();
                if let Some(pending) = pending.get(&submitted_name(&name, &origins)) {
                    errors.push(FieldError { field: name, code: pending.code, message: pending.message.clone() });
                    continue;
                }
            }
            check_question(&checking, number, position, &field, &mut errors);
        }
    }

    if errors.is_empty() {
        return Ok(root);
    }
    // Name fields as they were submitted (blank instances may have been dropped).
    for error in &mut errors {
        error.field = submitted_name(&error.field, &origins);
    }
    Err(errors)
}

/// Every input name a page of this form may send, as patterns with `#` for
/// instance indexes (`acts.#.act_type`), by question data path. Used to
/// prove pages and manifests agree.
pub fn field_patterns(manifest: &Manifest) -> BTreeMap<String, String> {
    manifest
        .questions()
        .filter(|(_, q)| !matches!(q.kind, QuestionType::Note | QuestionType::Calculate))
        .map(|(_, q)| {
            let mut parts: Vec<&str> = q.path.split('.').collect();
            let id = parts.pop().unwrap_or_default();
            let mut pattern = String::new();
            for part in parts {
                pattern.push_str(part);
                pattern.push_str(".#.");
            }
            pattern.push_str(id);
            (pattern, q.path.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::check_sources;
    use serde_json::json;

    const SITE: &str = "[site]\ntitle = 'T'\ndefault_language = 'es'\nlanguages = ['es', 'en']\n";
    const FORM: &str = r#"
[form]
id = "t"
version = 1
title = "T"

[lists.estado]
translate = false
choices = [{ value = "07", label = "Chiapas" }, { value = "30", label = "Veracruz de Ignacio de la Llave" }]

[lists.municipio]
translate = false
choices = [
  { value = "07089", label = "Tapachula", estado = "07" },
  { value = "30039", label = "Coatzacoalcos", estado = "30" },
  { value = "30003", label = "Acayucan", estado = "30" },
]

[[section]]
id = "inicio"
title = "Inicio"

[[section.question]]
id = "consent"
type = "yes_no"
label = "Consiente"
required = true

[[section.question]]
id = "fecha"
type = "date"
label = "Fecha"
constraint = ". <= today()"
constraint_message = { es = "No puede ser futura", en = "Cannot be in the future" }

[[section.question]]
id = "estado"
type = "select_one"
choices = "estado"
label = "Estado"

[[section.question]]
id = "municipio"
type = "select_one"
choices = "municipio"
choice_filter = { estado = "estado" }
label = "Municipio"

[[section.question]]
id = "peso"
type = "decimal"
label = "Peso"
min = 0
max = 500

[[section.question]]
id = "nota"
type = "text"
label = "Nota"
max_length = 5
required = "consent = false"

[[section.question]]
id = "total"
type = "calculate"
calculation = "count(actos)"

[[section]]
id = "actos"
title = "Actos"
relevant = "consent = true"
repeat = { min = 1, max = 3 }

[[section.question]]
id = "tipo"
type = "select_multiple"
label = "Tipo"
choices = [{ value = "robo", label = "Robo" }, { value = "secuestro", label = "Secuestro" }]
required = true

[[section.question]]
id = "dias"
type = "integer"
label = "Días"
relevant = "selected(tipo, 'secuestro')"
required = true
"#;

    #[test]
    fn a_form_points_every_reference_at_its_own_layout() {
        let first = form();
        // A manifest cloned from a form in use carries routes remembered
        // for the first layout; the new form must not keep them.
        let second = Form::new(first.manifest.clone());
        let mut seen = 0;
        for form in [&first, &second] {
            let mut manifest = form.manifest.clone();
            let mut check = |expr: &mut Expr| {
                expr.for_each_reference_mut(&mut |reference| {
                    let remembered = reference.route.get().map(|(id, _)| *id);
                    assert_eq!(remembered, Some(form.layout.id()), "`{}`", reference.as_str());
                    seen += 1;
                })
            };
            for section in &mut manifest.sections {
                section.relevant.iter_mut().for_each(&mut check);
                for question in &mut section.questions {
                    question.relevant.iter_mut().for_each(&mut check);
                    question.constraint.iter_mut().for_each(&mut check);
                    question.calculation.iter_mut().for_each(&mut check);
                }
            }
        }
        assert!(seen > 4, "the test form has references");
    }

    fn form() -> Form {
        let project = check_sources(
            "forms".as_ref(),
            vec![("forms/site.toml".into(), Ok(SITE.into())), ("forms/t.toml".into(), Ok(FORM.into()))],
        );
        assert!(!project.diagnostics.has_errors(), "{:?}", project.diagnostics);
        Form::new(project.forms[0].manifest.clone())
    }

    fn today() -> Date {
        jiff::civil::date(2024, 6, 1)
    }

    /// Validates JSON answers both ways the API offers (parsed, and as text
    /// read in one pass) and insists they agree.
    fn json(value: serde_json::Value) -> Result<serde_json::Value, Vec<(String, &'static str)>> {
        let form = form();
        let run = |input: Input<'_>| {
            validate(&form, input, "es", today())
                .map(|i| serde_json::from_str(&form.layout().json(&i)).unwrap())
                .map_err(|errors| errors.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>())
        };
        let parsed = run(Input::Json(value.as_object().unwrap().clone()));
        let text = value.to_string();
        assert_eq!(parsed, run(Input::JsonText(&text)), "{text}");
        parsed
    }

    fn fields(pairs: &[(&str, &str)]) -> Result<serde_json::Value, Vec<(String, &'static str)>> {
        let form = form();
        let pairs: Vec<(String, String)> = pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        validate(&form, Input::Fields(&pairs), "es", today())
            .map(|i| serde_json::from_str(&form.layout().json(&i)).unwrap())
            .map_err(|errors| errors.into_iter().map(|e| (e.field, e.code)).collect())
    }

    fn err(field: &str, code: &'static str) -> (String, &'static str) {
        (field.to_owned(), code)
    }

    #[test]
    fn a_valid_case_is_typed_and_calculated() {
        let stored = json(json!({
            "consent": true, "fecha": "2024-05-01", "estado": "30", "municipio": "30003", "peso": 61.5,
            "total": 99, "actos": [{"tipo": ["secuestro", "robo"], "dias": 3}, {"tipo": ["robo"]}]
        }))
        .unwrap();
        assert_eq!(
            stored,
            json!({"consent": true, "fecha": "2024-05-01", "estado": "30", "municipio": "30003", "peso": 61.5,
                   "total": 2, "actos": [{"tipo": ["robo", "secuestro"], "dias": 3}, {"tipo": ["robo"]}]})
        );
    }

    #[test]
    fn errors_name_their_field() {
        let errors = json(json!({
            "consent": "yes", "fecha": "2024-13-01", "peso": "x", "extra": 1,
            "actos": [{"tipo": ["robo"]}, {"tipo": ["nope"]}, {"tipo": ["secuestro"], "dias": 1.5}]
        }))
        .unwrap_err();
        assert!(errors.contains(&err("extra", "unknown_field")), "{errors:?}");
        assert!(errors.contains(&err("consent", "type")), "{errors:?}");
        assert!(errors.contains(&err("fecha", "type")), "{errors:?}");
        assert!(errors.contains(&err("peso", "type")), "{errors:?}");
    }

    #[test]
    fn relevance_drops_answers_and_their_errors() {
        // consent = false: the acts section is not relevant, its bad answers are dropped;
        // `nota` becomes required.
        let errors = json(json!({"consent": false, "actos": [{"tipo": ["nope"], "dias": "x"}]})).unwrap_err();
        assert_eq!(errors, vec![err("nota", "required")]);
        let stored = json(json!({"consent": false, "nota": "ok", "actos": [{"tipo": ["robo"]}]})).unwrap();
        assert_eq!(stored, json!({"consent": false, "nota": "ok", "total": 0}));
        // dias is only relevant for secuestro
        let stored = json(json!({"consent": true, "actos": [{"tipo": ["robo"], "dias": 4}]})).unwrap();
        assert_eq!(stored["actos"], json!([{"tipo": ["robo"]}]));
    }

    #[test]
    fn required_ranges_lengths_constraints() {
        assert_eq!(json(json!({})).unwrap_err(), vec![err("consent", "required")]);
        let errors = json(json!({"consent": true, "fecha": "2024-07-01", "peso": 600, "nota": "demasiado",
            "actos": [{"tipo": ["secuestro"]}]}))
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                err("fecha", "constraint"),
                err("peso", "max"),
                err("nota", "max_length"),
                err("actos.0.dias", "required")
            ]
        );
        let form = form();
        let answers = json!({"consent": true, "fecha": "2024-07-01", "actos": [{"tipo": ["robo"]}]});
        let errors = validate(&form, Input::Json(answers.as_object().unwrap().clone()), "en", today()).unwrap_err();
        assert_eq!(errors[0].message, "Cannot be in the future");
    }

    #[test]
    fn repeats_count_and_blank_instances() {
        assert_eq!(json(json!({"consent": true})).unwrap_err(), vec![err("actos", "min_instances")]);
        assert_eq!(json(json!({"consent": true, "actos": []})).unwrap_err(), vec![err("actos", "min_instances")]);
        let four = json!({"consent": true, "actos": [{"tipo": ["robo"]}, {"tipo": ["robo"]}, {"tipo": ["robo"]}, {"tipo": ["robo"]}]});
        assert_eq!(json(four).unwrap_err(), vec![err("actos", "max_instances")]);
        // A blank instance beyond the minimum is dropped; errors keep the submitted index.
        let errors = json(json!({"consent": true, "actos": [{}, {"tipo": ["secuestro"]}]})).unwrap_err();
        assert_eq!(errors, vec![err("actos.1.dias", "required")]);
        assert_eq!(
            json(json!({"consent": true, "actos": "x"})).unwrap_err(),
            vec![err("actos", "type"), err("actos", "min_instances")]
        );
    }

    #[test]
    fn errors_inside_instances_are_never_lost() {
        // An instance whose only answer fails to read is not blank.
        let errors = json(json!({"consent": true, "actos": [{"tipo": ["robo"]}, {"tipo": ["nope"]}]})).unwrap_err();
        assert_eq!(errors, vec![err("actos.1.tipo", "choice")]);
        // After a blank instance is dropped, a later instance's read error is
        // still found, under its submitted name.
        let errors = json(json!({"consent": true, "actos": [{}, {"tipo": ["nope"]}]})).unwrap_err();
        assert_eq!(errors, vec![err("actos.1.tipo", "choice")]);
        let errors = fields(&[("consent", "true"), ("actos.0.tipo", ""), ("actos.2.tipo", "nope")]).unwrap_err();
        assert_eq!(errors, vec![err("actos.2.tipo", "choice")]);
    }

    #[test]
    fn submitted_names_map_back_through_nested_repeats() {
        let origins = HashMap::from([
            ("actos.0.".to_owned(), "actos.1.".to_owned()),
            ("actos.1.inv.0.".to_owned(), "actos.1.inv.2.".to_owned()),
        ]);
        assert_eq!(submitted_name("actos.0.inv.0.x", &origins), "actos.1.inv.2.x");
        assert_eq!(submitted_name("actos.0.x", &origins), "actos.1.x");
        assert_eq!(submitted_name("actos", &origins), "actos");
        assert_eq!(submitted_name("otro.0.x", &origins), "otro.0.x");
    }

    #[test]
    fn answers_that_are_not_an_object() {
        let form = form();
        for text in ["[]", "12", "\"x\"", "null", "{", "{\"consent\": tru}", "{} {}"] {
            let errors = validate(&form, Input::JsonText(text), "es", today()).unwrap_err();
            assert_eq!(errors[0].code, "malformed", "{text}");
        }
    }

    #[test]
    fn cascades_and_codes() {
        let errors =
            json(json!({"consent": true, "estado": "07", "municipio": "30003", "actos": [{"tipo": ["robo"]}]}))
                .unwrap_err();
        assert_eq!(errors, vec![err("municipio", "choice_filter")]);
        let errors = json(json!({"consent": true, "municipio": "30003", "actos": [{"tipo": ["robo"]}]})).unwrap_err();
        assert_eq!(errors, vec![err("municipio", "choice_filter")]);
        let errors = json(json!({"consent": true, "estado": "99", "actos": [{"tipo": ["robo"]}]})).unwrap_err();
        assert_eq!(errors, vec![err("estado", "choice")]);
    }

    #[test]
    fn page_fields_are_read_like_a_browser_sends_them() {
        let stored = fields(&[
            ("_form", "t"),
            ("consent", "true"),
            ("fecha", "2024-05-01"),
            ("estado", "veracruz de ignacio de la llave"),
            ("municipio", "ACAYUCÁN"),
            ("peso", "61,5"),
            ("nota", ""),
            ("actos.0.tipo", "secuestro"),
            ("actos.0.tipo", "robo"),
            ("actos.0.dias", " 3 "),
            ("actos.2.tipo", "robo"),
        ])
        .unwrap();
        assert_eq!(
            stored,
            json!({"consent": true, "fecha": "2024-05-01", "estado": "30", "municipio": "30003", "peso": 61.5, "total": 2,
                   "actos": [{"tipo": ["robo", "secuestro"], "dias": 3}, {"tipo": ["robo"]}]})
        );
        let errors = fields(&[("consent", "true"), ("municipio", "Tapachul"), ("actos.0.tipo", "robo")]).unwrap_err();
        assert_eq!(errors, vec![err("municipio", "choice")]);
        let form = form();
        let pairs = vec![("consent".to_owned(), "true".to_owned()), ("municipio".to_owned(), "Tapachul".to_owned())];
        let errors = validate(&form, Input::Fields(&pairs), "es", today()).unwrap_err();
        let message = &errors.iter().find(|e| e.field == "municipio").unwrap().message;
        assert!(message.contains("Tapachula"), "{message}");
    }

    #[test]
    fn odd_field_names_are_unknown_not_fatal() {
        for name in [
            "actos.99999999999.tipo",
            "actos.x.tipo",
            "actos",
            "actos.0",
            "consent.0",
            "nada",
            "actos.0.nada",
            "actos.3.tipo",
            "total.x",
        ] {
            let errors = fields(&[("consent", "true"), (name, "robo")]).unwrap_err();
            assert!(errors.contains(&err(name, "unknown_field")), "{name}: {errors:?}");
        }
        // Calculations are never taken from a client.
        let stored = fields(&[("consent", "true"), ("total", "77"), ("actos.0.tipo", "robo")]).unwrap();
        assert_eq!(stored["total"], json!(1));
    }

    #[test]
    fn patterns_of_page_fields() {
        let patterns = field_patterns(&form().manifest);
        assert_eq!(patterns.get("actos.#.dias").map(String::as_str), Some("actos.dias"));
        assert!(!patterns.contains_key("total"));
    }
}

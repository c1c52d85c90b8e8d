//! Property tests of the expression language: no input makes the parser,
//! the checker or the evaluator panic, and checked expressions keep their
//! promises when evaluated.
//!
//! Expressions are checked against a small form (compiled from TOML here,
//! read back as an [`Env`]) at the top level, inside a repeat and inside a
//! nested repeat, and evaluated against random answers: anything at all for
//! "never panics", and answers of the right types for "the value has the
//! checked type".

use std::collections::BTreeMap;
use std::sync::OnceLock;

use constancia::answers::Draft;
use constancia::expr::check::{Context, Env, Symbol, SymbolKind, Type, Typed, check};
use constancia::expr::eval::{Scope, evaluate};
use constancia::expr::{Expr, parse};
use constancia::manifest::{Manifest, QuestionType};
use constancia::project::check_sources;
use constancia::value::Value;
use jiff::civil::Date;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::Config;

const SITE: &str = "[site]\ntitle = 'T'\ndefault_language = 'es'\nlanguages = ['es']\n";

const FORM: &str = r#"
[form]
id = "props"
version = 1
title = "Props"

[lists.sexo]
choices = [{ value = "mujer", label = "Mujer" }, { value = "hombre", label = "Hombre" }]

[lists.idioma]
choices = [{ value = "es", label = "Español" }, { value = "mam", label = "Mam" }, { value = "en", label = "Inglés" }]

[[section]]
id = "persona"
title = "Persona"

[[section.question]]
id = "aviso"
type = "note"
label = "Aviso"

[[section.question]]
id = "edad"
type = "integer"
label = "Edad"

[[section.question]]
id = "peso"
type = "decimal"
label = "Peso"

[[section.question]]
id = "nombre"
type = "text"
label = "Nombre"

[[section.question]]
id = "nacimiento"
type = "date"
label = "Nacimiento"

[[section.question]]
id = "hora"
type = "time"
label = "Hora"

[[section.question]]
id = "consiente"
type = "yes_no"
label = "Consiente"

[[section.question]]
id = "sexo"
type = "select_one"
choices = "sexo"
label = "Sexo"

[[section.question]]
id = "idiomas"
type = "select_multiple"
choices = "idioma"
label = "Idiomas"

[[section.question]]
id = "anios"
type = "calculate"
calculation = "years_between(nacimiento, today())"

[[section]]
id = "hechos"
title = "Hechos"
repeat = { min = 0, max = 5 }

[[section.question]]
id = "tipo"
type = "select_one"
choices = [{ value = "robo", label = "Robo" }, { value = "secuestro", label = "Secuestro" }]
label = "Tipo"

[[section.question]]
id = "monto"
type = "decimal"
label = "Monto"

[[section.question]]
id = "fecha"
type = "date"
label = "Fecha"

[[section]]
id = "responsables"
parent = "hechos"
title = "Responsables"
repeat = { min = 0 }

[[section.question]]
id = "cuantos"
type = "integer"
label = "Cuántos"
"#;

/// The small form, as the checker sees it (compiled once).
fn env() -> &'static FormEnv {
    static ENV: OnceLock<FormEnv> = OnceLock::new();
    ENV.get_or_init(|| FormEnv::new(&manifest()))
}

fn manifest() -> Manifest {
    let project = check_sources(
        "forms".as_ref(),
        vec![("forms/site.toml".into(), Ok(SITE.into())), ("forms/props.toml".into(), Ok(FORM.into()))],
    );
    assert!(!project.diagnostics.has_errors(), "{:?}", project.diagnostics);
    project.forms[0].manifest.clone()
}

#[derive(Debug, Clone)]
enum Kind {
    Value(Type, Option<String>),
    Note,
    Repeat,
    Group,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    path: String,
    repeats: Vec<String>,
    kind: Kind,
}

/// A form as the checker sees it, read back from its manifest.
#[derive(Debug)]
struct FormEnv {
    entries: Vec<Entry>,
    lists: BTreeMap<String, Vec<String>>,
}

fn value_type(kind: QuestionType, value_type: Option<&str>) -> Option<Type> {
    Some(match kind {
        QuestionType::Text
        | QuestionType::Textarea
        | QuestionType::Email
        | QuestionType::Phone
        | QuestionType::SelectOne => Type::Text,
        QuestionType::Integer => Type::Integer,
        QuestionType::Decimal => Type::Decimal,
        QuestionType::Date => Type::Date,
        QuestionType::Time => Type::Time,
        QuestionType::YesNo => Type::Bool,
        QuestionType::SelectMultiple => Type::Multi,
        QuestionType::Calculate => Type::from_manifest_name(value_type?)?,
        QuestionType::Note => return None,
    })
}

fn split(path: &str) -> Vec<String> {
    path.split('.').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

impl FormEnv {
    fn new(manifest: &Manifest) -> Self {
        let mut entries = Vec::new();
        for section in &manifest.sections {
            let mut scope = split(&section.scope);
            let (path, kind) = if section.repeat.is_some() {
                let path = section.scope.clone();
                scope.pop();
                (path, Kind::Repeat)
            } else {
                (section.id.clone(), Kind::Group)
            };
            entries.push(Entry { id: section.id.clone(), path, repeats: scope, kind });
            for question in &section.questions {
                let mut repeats = split(&question.path);
                repeats.pop();
                let kind = match value_type(question.kind, question.value_type.as_deref()) {
                    Some(ty) => Kind::Value(ty, question.choices.clone()),
                    None => Kind::Note,
                };
                entries.push(Entry { id: question.id.clone(), path: question.path.clone(), repeats, kind });
            }
        }
        let lists = manifest
            .lists
            .iter()
            .map(|(name, list)| (name.clone(), list.choices.iter().map(|c| c.value.clone()).collect()))
            .collect();
        Self { entries, lists }
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    fn value_entries(&self) -> impl Iterator<Item = (&Entry, Type)> {
        self.entries.iter().filter_map(|e| match e.kind {
            Kind::Value(ty, _) => Some((e, ty)),
            _ => None,
        })
    }
}

impl Env for FormEnv {
    fn lookup(&self, id: &str) -> Option<Symbol<'_>> {
        let entry = self.entry(id)?;
        let kind = match &entry.kind {
            Kind::Value(ty, list) => SymbolKind::Value(Typed { ty: *ty, list: list.as_deref() }),
            Kind::Note => SymbolKind::Note,
            Kind::Repeat => SymbolKind::Repeat,
            Kind::Group => SymbolKind::Group,
        };
        Some(Symbol { path: &entry.path, kind, repeats: &entry.repeats })
    }

    fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    fn codes(&self, list: &str) -> Option<Vec<&str>> {
        self.lists.get(list).map(|codes| codes.iter().map(String::as_str).collect())
    }
}

/// Where an expression may be checked: its repeats and the question `.` is.
const CONTEXTS: [(&[&str], Option<&str>); 6] = [
    (&[], None),
    (&[], Some("edad")),
    (&[], Some("idiomas")),
    (&["hechos"], None),
    (&["hechos"], Some("fecha")),
    (&["hechos", "responsables"], Some("cuantos")),
];

const IDS: [&str; 17] = [
    "aviso",
    "edad",
    "peso",
    "nombre",
    "nacimiento",
    "hora",
    "consiente",
    "sexo",
    "idiomas",
    "anios",
    "persona",
    "hechos",
    "tipo",
    "monto",
    "fecha",
    "responsables",
    "cuantos",
];

const FUNCTIONS: [&str; 12] = [
    "today",
    "selected",
    "count",
    "count_selected",
    "answered",
    "len",
    "years_between",
    "if",
    "sum",
    "date",
    "time",
    "lenght",
];

/// One token of the expression grammar, or a near miss.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(IDS.to_vec()).prop_map(str::to_owned),
        proptest::sample::select(FUNCTIONS.to_vec()).prop_map(str::to_owned),
        proptest::sample::select(vec![
            "0",
            "1",
            "18",
            "2.5",
            "0.1",
            "9007199254740991",
            "9007199254740993",
            "1e5",
            "99999999999999999999.5",
        ])
        .prop_map(str::to_owned),
        proptest::sample::select(vec![
            "'mujer'",
            "'robo'",
            "'es'",
            "'x'",
            "''",
            "'it''s'",
            "'2024-02-29'",
            "'2023-02-29'",
            "'08:30'",
            "'24:00'",
            "\"dq\"",
            "'unclosed",
        ])
        .prop_map(str::to_owned),
        proptest::sample::select(vec![
            ".", "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "and", "or", "not", "true",
            "false", "&&", "||", "==", "!", "<>", "[", "]", ".5", "ñ", "\u{0}", "1a",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Strings built from tokens, with or without spaces between them.
fn token_string() -> impl Strategy<Value = String> {
    (proptest::collection::vec(token(), 0..24), any::<bool>())
        .prop_map(|(tokens, spaced)| tokens.join(if spaced { " " } else { "" }))
}

/// Expressions shaped by the grammar, random in shape (most parse, some
/// type-check), or built to have a type (most type-check somewhere).
fn grammar_expression() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => shaped_expression(),
        2 => any::<u64>().prop_map(|seed| {
            let mut random = Random(seed | 1);
            let ty = *random.pick(&[Type::Bool, Type::Integer, Type::Decimal, Type::Date, Type::Text, Type::Time]);
            typed_expression(&mut random, ty, 4)
        }),
    ]
}

fn shaped_expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        proptest::sample::select(IDS.to_vec()).prop_map(str::to_owned),
        proptest::sample::select(vec![
            "0",
            "1",
            "18",
            "2.5",
            "'mujer'",
            "'robo'",
            "'es'",
            "'x'",
            "true",
            "false",
            ".",
            "today()",
            "date('2024-02-29')",
            "date('0001-01-01')",
            "date('9999-12-31')",
            "time('23:59')",
            "9007199254740991",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let op = proptest::sample::select(vec!["and", "or", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (proptest::sample::select(FUNCTIONS.to_vec()), proptest::collection::vec(inner, 0..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        ]
    })
}

/// A small deterministic generator (xorshift), for expressions built by
/// type, where proptest's combinators would need mutual recursion.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// An expression of type `ty` in the props form (inside `hechos` for the
/// ids of the repeat; `.` where a context gives it a type).
fn typed_expression(random: &mut Random, ty: Type, depth: u32) -> String {
    let leaf = depth == 0 || random.below(3) == 0;
    let sub = |random: &mut Random, ty: Type| typed_expression(random, ty, depth.saturating_sub(1));
    match ty {
        Type::Bool if leaf => (*random.pick(&[
            "consiente",
            "true",
            "false",
            "answered(nombre)",
            "answered(tipo)",
            "answered(.)",
            "selected(sexo, 'mujer')",
            "selected(idiomas, 'mam')",
            "selected(tipo, 'robo')",
        ]))
        .to_owned(),
        Type::Bool => match random.below(7) {
            0 => format!("not {}", sub(random, Type::Bool)),
            1 => {
                let op = random.pick(&["and", "or"]);
                format!("({} {op} {})", sub(random, Type::Bool), sub(random, Type::Bool))
            }
            2 | 3 => {
                let ty = *random.pick(&[Type::Integer, Type::Decimal, Type::Date, Type::Time]);
                let op = random.pick(&["=", "!=", "<", "<=", ">", ">="]);
                format!("({} {op} {})", sub(random, ty), sub(random, ty))
            }
            4 => {
                let op = random.pick(&["=", "!="]);
                format!("({} {op} {})", sub(random, Type::Text), sub(random, Type::Text))
            }
            5 => format!("({} = {})", sub(random, Type::Bool), sub(random, Type::Bool)),
            _ => format!("if({}, {}, {})", sub(random, Type::Bool), sub(random, Type::Bool), sub(random, Type::Bool)),
        },
        Type::Integer if leaf => (*random.pick(&[
            "edad",
            "anios",
            "cuantos",
            "0",
            "1",
            "18",
            "9007199254740991",
            "count(hechos)",
            "count(responsables)",
            "count_selected(idiomas)",
            "len(nombre)",
            "sum(cuantos)",
            "years_between(nacimiento, today())",
            "(today() - nacimiento)",
            ".",
        ]))
        .to_owned(),
        Type::Integer => match random.below(5) {
            0 | 1 => {
                let op = random.pick(&["+", "-", "*"]);
                format!("({} {op} {})", sub(random, Type::Integer), sub(random, Type::Integer))
            }
            2 => format!("-{}", sub(random, Type::Integer)),
            3 => format!("years_between({}, {})", sub(random, Type::Date), sub(random, Type::Date)),
            _ => format!("if({}, {})", sub(random, Type::Bool), sub(random, Type::Integer)),
        },
        Type::Decimal if leaf => {
            (*random.pick(&["peso", "monto", "2.5", "0.1", "sum(monto)", "edad", "-0.5"])).to_owned()
        }
        Type::Decimal => match random.below(4) {
            0 | 1 => {
                let op = random.pick(&["+", "-", "*", "/"]);
                format!("({} {op} {})", sub(random, Type::Decimal), sub(random, Type::Decimal))
            }
            2 => format!("({} / {})", sub(random, Type::Integer), sub(random, Type::Integer)),
            _ => format!(
                "if({}, {}, {})",
                sub(random, Type::Bool),
                sub(random, Type::Integer),
                sub(random, Type::Decimal)
            ),
        },
        Type::Date if leaf => (*random.pick(&[
            "nacimiento",
            "fecha",
            "today()",
            "date('2024-02-29')",
            "date('0001-01-01')",
            "date('9999-12-31')",
            ".",
        ]))
        .to_owned(),
        Type::Date => match random.below(3) {
            0 => format!("({} + {})", sub(random, Type::Date), sub(random, Type::Integer)),
            1 => format!("({} - {})", sub(random, Type::Date), sub(random, Type::Integer)),
            _ => format!("if({}, {}, {})", sub(random, Type::Bool), sub(random, Type::Date), sub(random, Type::Date)),
        },
        Type::Text if leaf => (*random.pick(&["nombre", "sexo", "tipo", "'x'", "'mujer'", "''"])).to_owned(),
        Type::Text => {
            format!("if({}, {}, {})", sub(random, Type::Bool), sub(random, Type::Text), sub(random, Type::Text))
        }
        Type::Time if leaf => (*random.pick(&["hora", "time('00:00')", "time('23:59')"])).to_owned(),
        Type::Time => format!("if({}, {})", sub(random, Type::Bool), sub(random, Type::Time)),
        Type::Multi => "idiomas".to_owned(),
    }
}

/// Any value at all, of any type, however odd.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Empty),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Number),
        proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -0.0, 1e300])
            .prop_map(Value::Number),
        "[a-z ]{0,6}|mujer|robo|es|\\PC{0,4}".prop_map(Value::Text),
        any_date().prop_map(Value::Date),
        any::<u16>().prop_map(Value::Time),
        proptest::collection::vec("es|mam|en|[a-z]{0,3}", 0..4).prop_map(Value::Multi),
    ]
}

fn any_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        (1i16..=9999, 1i8..=12, 1i8..=28),
        Just((1, 1, 1)),
        Just((9999, 12, 31)),
        Just((2024, 2, 29)),
        (-9999i16..=0, 1i8..=12, 1i8..=28),
    ]
    .prop_map(|(y, m, d)| Date::new(y, m, d).expect("a valid date"))
}

/// A value an answer of type `ty` can have after validation.
fn typed_value(ty: Type, list: Option<Vec<String>>) -> BoxedStrategy<Value> {
    let codes = list.unwrap_or_else(|| vec!["x".to_owned()]);
    let answer = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Integer => (-1_000_000i64..1_000_000).prop_map(|n| Value::Number(n as f64)).boxed(),
        Type::Decimal => (-1e9f64..1e9).prop_map(Value::Number).boxed(),
        Type::Text => prop_oneof![proptest::sample::select(codes.clone()), "\\PC{0,8}"].prop_map(Value::Text).boxed(),
        Type::Date => (1i16..=9999, 1i8..=12, 1i8..=28)
            .prop_map(|(y, m, d)| Value::Date(Date::new(y, m, d).expect("valid")))
            .boxed(),
        Type::Time => (0u16..1440).prop_map(Value::Time).boxed(),
        Type::Multi => proptest::sample::subsequence(codes.clone(), 0..=codes.len()).prop_map(Value::Multi).boxed(),
    };
    prop_oneof![1 => Just(Value::Empty), 4 => answer].boxed()
}

/// Answers for the form: a value per question (from `value`), repeats with
/// zero to three instances, each with up to two nested instances.
fn answers(env: &FormEnv, value: impl Fn(Type, Option<Vec<String>>) -> BoxedStrategy<Value>) -> BoxedStrategy<Draft> {
    let field = |entry: &Entry, ty: Type| {
        let list = match &entry.kind {
            Kind::Value(_, Some(list)) => env.lists.get(list).cloned(),
            _ => None,
        };
        (Just(entry.id.clone()), value(ty, list))
    };
    let level = |depth: usize| -> Vec<(Just<String>, BoxedStrategy<Value>)> {
        env.value_entries()
            .filter(|(e, _)| e.repeats.len() == depth && e.id != "anios")
            .map(|(e, ty)| field(e, ty))
            .collect()
    };
    let fill = |pairs: Vec<(String, Value)>| {
        let mut instance = Draft::default();
        for (id, value) in pairs {
            instance.set(&id, value);
        }
        instance
    };
    let inner = proptest::collection::vec(level(2).prop_map(fill), 0..3);
    let middle = proptest::collection::vec(
        (level(1), inner).prop_map(move |(pairs, nested)| {
            let mut instance = fill(pairs);
            if !nested.is_empty() {
                instance.repeats.insert("responsables".into(), nested);
            }
            instance
        }),
        0..4,
    );
    (level(0), middle, value(Type::Integer, None))
        .prop_map(move |(pairs, acts, anios)| {
            let mut root = fill(pairs);
            root.set("anios", anios);
            if !acts.is_empty() {
                root.repeats.insert("hechos".into(), acts);
            }
            root
        })
        .boxed()
}

/// The values of `.` by question id, for the contexts that have one.
type Dots = BTreeMap<String, Value>;

/// Checks `input` in every context and evaluates what checks against
/// `root`, asserting the promises of a checked expression.
fn check_and_evaluate(env: &FormEnv, input: &str, root: &Draft, today: Date, dots: &Dots, typed: bool) {
    let Ok(node) = parse(input) else { return };
    for (repeats, self_id) in CONTEXTS {
        let repeats: Vec<String> = repeats.iter().map(|r| (*r).to_owned()).collect();
        let self_type = self_id.and_then(|id| match env.lookup(id)?.kind {
            SymbolKind::Value(typed) => Some(typed),
            _ => None,
        });
        let context = Context { repeats: &repeats, self_type };
        let Ok(checked) = check(&node, env, &context) else { continue };

        // The compiled form survives its JSON (manifests, browser runtime).
        let json = serde_json::to_value(&checked.expr).expect("expressions serialize");
        let back: Expr = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("`{input}` compiles to JSON that does not read back ({e}): {json}"));
        assert_eq!(back, checked.expr, "`{input}` changes through JSON: {json}");

        // Evaluate at instances that exist and at ones that don't.
        let (layout, root) = root.build();
        for index in [0usize, 1, 7] {
            let position: Vec<(&str, usize)> = repeats.iter().map(|r| (r.as_str(), index)).collect();
            let self_value = self_id.and_then(|id| dots.get(id));
            let scope = Scope { layout: &layout, root: &root, position: &position, today, self_value };
            let value = evaluate(&checked.expr, &scope);
            if typed {
                let fits = match (checked.ty, &value) {
                    (_, Value::Empty) => true,
                    (Type::Bool, Value::Bool(_)) => true,
                    (Type::Integer, Value::Number(n)) => n.fract() == 0.0,
                    (Type::Decimal, Value::Number(n)) => n.is_finite(),
                    (Type::Text, Value::Text(_)) => true,
                    (Type::Date, Value::Date(_)) => true,
                    (Type::Time, Value::Time(t)) => *t < 1440,
                    (Type::Multi, Value::Multi(_)) => true,
                    _ => false,
                };
                assert!(fits, "`{input}` checks as {:?} but evaluates to {value:?} at {position:?}", checked.ty);
            }
        }
    }
}

/// Values of `.` for every context that has one, made by `value`.
fn dots(value: impl Fn(Type, Option<Vec<String>>) -> BoxedStrategy<Value>) -> BoxedStrategy<Dots> {
    let env = env();
    let fields: Vec<(Just<String>, BoxedStrategy<Value>)> = CONTEXTS
        .iter()
        .filter_map(|(_, id)| *id)
        .map(|id| {
            let entry = env.entry(id).expect("a question of the form");
            let Kind::Value(ty, list) = &entry.kind else { panic!("`{id}` has a value") };
            (Just(id.to_owned()), value(*ty, list.as_ref().and_then(|l| env.lists.get(l).cloned())))
        })
        .collect();
    fields.prop_map(|pairs| pairs.into_iter().collect()).boxed()
}

/// `cases` per property, unless `PROPTEST_CASES` asks for a longer hunt.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn no_string_makes_the_parser_panic(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn no_printable_string_makes_the_parser_panic(input in "\\PC{0,80}") {
        let _ = parse(&input);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing(depth in 0usize..5000, open in "[(]|not |-|1 [+] ") {
        let input = format!("{}1{}", open.repeat(depth), if open == "(" { ")".repeat(depth) } else { String::new() });
        let _ = parse(&input);
    }
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn token_strings_never_panic_the_parser_checker_or_evaluator(
        input in token_string(),
        root in answers(env(), |_, _| any_value().boxed()),
        today in any_date(),
        dots in dots(|_, _| any_value().boxed()),
    ) {
        check_and_evaluate(env(), &input, &root, today, &dots, false);
    }

    #[test]
    fn grammar_expressions_never_panic_on_any_answers(
        input in grammar_expression(),
        root in answers(env(), |_, _| any_value().boxed()),
        today in any_date(),
        dots in dots(|_, _| any_value().boxed()),
    ) {
        check_and_evaluate(env(), &input, &root, today, &dots, false);
    }

    #[test]
    fn checked_expressions_evaluate_to_their_type_on_typed_answers(
        input in grammar_expression(),
        root in answers(env(), typed_value),
        today in (1i16..=9999, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).expect("valid")),
        dots in dots(typed_value),
    ) {
        check_and_evaluate(env(), &input, &root, today, &dots, true);
    }
}

#[test]
fn the_generators_reach_the_checker_and_the_evaluator() {
    // Guards the properties above against generators that only ever
    // produce parse errors: a fixed sample must check in some context.
    let env = env();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = grammar_expression();
    let mut checked = 0;
    for _ in 0..400 {
        let input = strategy.new_tree(&mut runner).expect("a value").current();
        let Ok(node) = parse(&input) else { continue };
        let checks = CONTEXTS.iter().any(|(repeats, _)| {
            let repeats: Vec<String> = repeats.iter().map(|r| (*r).to_owned()).collect();
            check(&node, env, &Context { repeats: &repeats, self_type: None }).is_ok()
        });
        checked += usize::from(checks);
    }
    assert!(checked >= 120, "only {checked} of 400 generated expressions type-check");
}

/// `text` as a TOML string: a literal string where it can be (so that the
/// checker maps columns inside it), a basic string with escapes otherwise.
fn toml_string(text: &str) -> String {
    if !text.contains('\'') && !text.chars().any(char::is_control) {
        return format!("'{text}'");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn no_expression_in_a_form_makes_the_checker_or_its_report_panic(
        input in prop_oneof![token_string(), grammar_expression(), "\\PC{0,12}"],
        key in proptest::sample::select(vec!["relevant", "constraint", "required", "calculation"]),
    ) {
        let question = if key == "calculation" {
            format!("[[section.question]]\nid = \"calc\"\ntype = \"calculate\"\ncalculation = {}\n", toml_string(&input))
        } else {
            format!("[[section.question]]\nid = \"extra\"\ntype = \"text\"\nlabel = \"Extra\"\n{key} = {}\n", toml_string(&input))
        };
        let inside = format!("{FORM}\n{question}");
        let project = check_sources(
            "forms".as_ref(),
            vec![("forms/site.toml".into(), Ok(SITE.into())), ("forms/props.toml".into(), Ok(inside))],
        );
        let rendered = constancia::render::render_all(&project.diagnostics, &project.sources, false);
        let json = project.diagnostics.to_json(&project.sources);
        prop_assert_eq!(json["errors"].as_u64().unwrap_or(0) > 0, project.diagnostics.has_errors());
        prop_assert_eq!(project.diagnostics.has_errors(), project.forms.is_empty(), "{}", rendered);
    }
}

/// A value of any type an answer can hold, for laying answers out.
fn any_answer() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Empty),
        any::<bool>().prop_map(Value::Bool),
        (-1e12f64..1e12).prop_map(Value::Number),
        (-1_000_000i64..1_000_000).prop_map(|n| Value::Number(n as f64)),
        "\\PC{0,6}".prop_map(Value::Text),
        (1i16..=9999, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Value::Date(Date::new(y, m, d).expect("valid"))),
        (0u16..1440).prop_map(Value::Time),
        proptest::collection::vec("[a-z]{1,3}", 0..3).prop_map(Value::Multi),
    ]
    .boxed()
}

/// Answers by hand: question ids `q0`–`q4` (some quoted oddly), repeats
/// `r0`–`r1` nested up to two levels.
fn any_draft(depth: u32) -> BoxedStrategy<Draft> {
    let values = proptest::collection::btree_map(
        proptest::sample::select(vec!["q0", "q1", "q2", "q3", "q\"4", "ñ"]).prop_map(str::to_owned),
        any_answer(),
        0..6,
    );
    if depth == 0 {
        return values.prop_map(|values| Draft { values, repeats: BTreeMap::new() }).boxed();
    }
    let repeats = proptest::collection::btree_map(
        proptest::sample::select(vec!["r0", "r1"]).prop_map(str::to_owned),
        proptest::collection::vec(any_draft(depth - 1), 0..3),
        0..3,
    );
    (values, repeats).prop_map(|(values, repeats)| Draft { values, repeats }).boxed()
}

/// The stored JSON of answers, as a plain model: answered values by id,
/// repeats as arrays, keys in order.
fn model_json(draft: &Draft) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (id, value) in &draft.values {
        if !value.is_empty() {
            object.insert(id.clone(), value.to_json());
        }
    }
    for (id, instances) in &draft.repeats {
        object.insert(id.clone(), instances.iter().map(model_json).collect());
    }
    serde_json::Value::Object(object)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn answers_laid_out_in_slots_are_stored_as_the_plain_model_says(draft in any_draft(2)) {
        let (layout, root) = draft.build();
        let stored = layout.json(&root);
        prop_assert_eq!(&stored, &model_json(&draft).to_string());
    }

    #[test]
    fn any_set_of_paths_can_be_laid_out(
        questions in proptest::collection::vec("[ab]{1,2}(\\.[ab]{1,2}){0,3}", 0..12),
        repeats in proptest::collection::vec("[ab]{1,2}(\\.[ab]{1,2}){0,2}", 0..6),
    ) {
        // Hand-edited manifests may name anything: a path whose container
        // is not a repeat is left out, never a panic.
        let layout = constancia::answers::Layout::new(
            questions.iter().map(String::as_str),
            repeats.iter().map(String::as_str),
        );
        for path in questions.iter().chain(&repeats) {
            if let Some(route) = layout.route(path) {
                prop_assert!(route.repeats.len() <= path.split('.').count());
            }
        }
        // Nothing answered, no repeat sent: nothing stored.
        prop_assert_eq!(layout.json(&layout.instance(0)), "{}");
    }

    #[test]
    fn packed_answers_come_back_as_they_were(draft in any_draft(2)) {
        let (layout, root) = draft.build();
        let packed = constancia::packed::pack(&layout, &root);
        let back = constancia::packed::unpack(&layout, &packed);
        prop_assert_eq!(back.as_ref().map(|answers| layout.json(answers)), Ok(layout.json(&root)));
        // Unanswered values are left out: the rest is exactly as given.
        let mut answered = root.clone();
        blank_out_the_unanswered(&mut answered);
        prop_assert_eq!(back, Ok(answered));
    }

    #[test]
    fn no_bytes_make_unpacking_panic(draft in any_draft(2), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let (layout, _) = draft.build();
        let _ = constancia::packed::unpack(&layout, &bytes);
    }
}

/// `Value::Empty` where a multiple choice has no code (both mean unanswered).
fn blank_out_the_unanswered(instance: &mut constancia::answers::Instance) {
    for value in &mut instance.values {
        if value.is_empty() {
            *value = Value::Empty;
        }
    }
    instance.repeats.iter_mut().flatten().flatten().for_each(blank_out_the_unanswered);
}

/// The real case form's manifest and the example case, read once.
fn real_case() -> &'static (Manifest, String) {
    static CASE: OnceLock<(Manifest, String)> = OnceLock::new();
    CASE.get_or_init(|| {
        let site = constancia_tests::build_real_forms();
        let manifest = site.project.forms.iter().map(|f| f.manifest.clone()).find(|m| m.id == "caso-ddhh");
        let case = std::fs::read_to_string(constancia_tests::workspace_root().join("bench/case-ddhh.json"));
        (manifest.expect("the real forms include caso-ddhh"), case.expect("bench/case-ddhh.json"))
    })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_hand_edited_manifest_never_makes_validation_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..6), 1..6),
    ) {
        // The collector reads manifests from the site folder and the
        // database: edited by hand, their paths and scopes may disagree
        // with their sections. Validation must still only answer.
        let (manifest, case) = real_case();
        let mut manifest = manifest.clone();
        let paths: Vec<String> = manifest.questions().map(|(_, q)| q.path.clone()).collect();
        let scopes: Vec<String> = manifest.sections.iter().map(|s| s.scope.clone()).collect();
        for (section, question, how) in edits {
            let s = section.index(manifest.sections.len());
            // Or a section that repeats no more, or starts to.
            if how >= 4 {
                let limits = constancia::manifest::Repeat { min: u32::from(how == 5), max: Some(2) };
                manifest.sections[s].repeat = if manifest.sections[s].repeat.is_some() { None } else { Some(limits) };
                continue;
            }
            let odd = match how {
                0 => paths[question.index(paths.len())].clone(),
                1 => format!("{}.x", scopes[question.index(scopes.len())]),
                2 => String::new(),
                _ => scopes[question.index(scopes.len())].clone(),
            };
            match manifest.sections[s].questions.len() {
                0 => manifest.sections[s].scope = odd,
                n => {
                    let q = question.index(n);
                    if how % 2 == 0 {
                        manifest.sections[s].questions[q].path = odd;
                    } else {
                        manifest.sections[s].scope = odd;
                    }
                }
            }
        }
        let form = constancia::validate::Form::new(manifest);
        let today = jiff::civil::date(2026, 11, 20);
        let answers: serde_json::Value = serde_json::from_str(case).expect("the case is JSON");
        let text = answers.to_string();
        if let Ok(valid) = constancia::validate::validate(&form, constancia::validate::Input::JsonText(&text), "es", today) {
            let _ = form.layout().json(&valid);
        }
    }

    #[test]
    fn a_damaged_packed_case_is_an_error_not_a_panic(
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // A stored row read back against its form: the real case packed,
        // then bytes overwritten and the end cut off.
        let (manifest, case) = real_case();
        let form = constancia::validate::Form::new(manifest.clone());
        let today = jiff::civil::date(2026, 11, 20);
        let valid = constancia::validate::validate(&form, constancia::validate::Input::JsonText(case), "es", today);
        let mut packed = constancia::packed::pack(form.layout(), &valid.expect("the example case is valid"));
        for (at, byte) in damage {
            let at = at.index(packed.len());
            packed[at] = byte;
        }
        packed.truncate(packed.len() - cut.index(packed.len() / 4 + 1));
        let _ = constancia::packed::unpack(form.layout(), &packed);
    }
}

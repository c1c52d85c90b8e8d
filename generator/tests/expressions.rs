//! The expression language end to end through the public API: an expression
//! is parsed, checked against a small form, and evaluated against answers.
//! Each test is named by the rule it proves: every operator, every
//! function, and the rules for empty (unanswered) values.
//!
//! Type errors are unit-tested beside the checker (`expr::check`); the
//! browser evaluator is held to the same results by the shared conformance
//! vectors, not here.

use constancia::answers::Draft;
use constancia::expr::check::{Context, Env, Symbol, SymbolKind, Type, Typed, check};
use constancia::expr::eval::{Scope, evaluate};
use constancia::expr::parse;
use constancia::value::{Value, parse_date, parse_time};

/// The form: what each id is, its data path and the repeats around it.
struct Form {
    symbols: Vec<(&'static str, &'static str, Vec<String>, SymbolKind<'static>)>,
}

fn value(ty: Type) -> SymbolKind<'static> {
    SymbolKind::Value(Typed::plain(ty))
}

fn choice(ty: Type, list: &'static str) -> SymbolKind<'static> {
    SymbolKind::Value(Typed { ty, list: Some(list) })
}

impl Form {
    fn new() -> Self {
        let top = Vec::new;
        let acts = || vec!["acts".to_owned()];
        Self {
            symbols: vec![
                ("age", "age", top(), value(Type::Integer)),
                ("weight", "weight", top(), value(Type::Decimal)),
                ("name", "name", top(), value(Type::Text)),
                ("born", "born", top(), value(Type::Date)),
                ("start", "start", top(), value(Type::Time)),
                ("consent", "consent", top(), value(Type::Bool)),
                ("sex", "sex", top(), choice(Type::Text, "sex")),
                ("langs", "langs", top(), choice(Type::Multi, "langs")),
                ("acts", "acts", top(), SymbolKind::Repeat),
                ("kind", "acts.kind", acts(), choice(Type::Text, "kinds")),
                ("amount", "acts.amount", acts(), value(Type::Decimal)),
            ],
        }
    }
}

impl Env for Form {
    fn lookup(&self, id: &str) -> Option<Symbol<'_>> {
        self.symbols.iter().find(|s| s.0 == id).map(|s| Symbol { path: s.1, kind: s.3, repeats: &s.2 })
    }

    fn ids(&self) -> Vec<&str> {
        self.symbols.iter().map(|s| s.0).collect()
    }

    fn codes(&self, list: &str) -> Option<Vec<&str>> {
        match list {
            "sex" => Some(vec!["mujer", "hombre"]),
            "langs" => Some(vec!["es", "nah", "en"]),
            "kinds" => Some(vec!["robo", "secuestro"]),
            _ => None,
        }
    }
}

fn date(text: &str) -> Value {
    Value::Date(parse_date(text).expect("a date"))
}

fn time(text: &str) -> Value {
    Value::Time(parse_time(text).expect("a time"))
}

fn num(n: f64) -> Value {
    Value::Number(n)
}

fn text(t: &str) -> Value {
    Value::Text(t.to_owned())
}

/// A case with every question answered, and three acts.
fn answered() -> Draft {
    let mut root = Draft::default();
    root.set("age", num(30.0));
    root.set("weight", num(61.5));
    root.set("name", text("Ñandú"));
    root.set("born", date("1994-06-02"));
    root.set("start", time("08:30"));
    root.set("consent", Value::Bool(true));
    root.set("sex", text("mujer"));
    root.set("langs", Value::Multi(vec!["es".into(), "nah".into()]));
    let act = |kind: Option<&str>, amount: Option<f64>| {
        let mut act = Draft::default();
        if let Some(kind) = kind {
            act.set("kind", text(kind));
        }
        if let Some(amount) = amount {
            act.set("amount", num(amount));
        }
        act
    };
    root.repeats.insert(
        "acts".into(),
        vec![act(Some("robo"), Some(100.0)), act(Some("secuestro"), None), act(None, Some(50.5))],
    );
    root
}

/// Parses, checks (it must check) and evaluates `input` in `root`, at
/// `position`, with `.` = `self_value` of type `self_type`.
fn run_with(
    input: &str,
    root: &Draft,
    position: &[(&str, usize)],
    self_value: Option<(&Value, Typed<'static>)>,
) -> Value {
    let form = Form::new();
    let node = parse(input).unwrap_or_else(|e| panic!("`{input}` does not parse: {e:?}"));
    let repeats: Vec<String> = position.iter().map(|(id, _)| (*id).to_owned()).collect();
    let context = Context { repeats: &repeats, self_type: self_value.map(|(_, typed)| typed) };
    let checked = check(&node, &form, &context).unwrap_or_else(|e| panic!("`{input}` does not check: {e:?}"));
    let (layout, root) = root.build();
    let today = jiff::civil::date(2024, 6, 1);
    let scope = Scope { layout: &layout, root: &root, position, today, self_value: self_value.map(|(value, _)| value) };
    evaluate(&checked.expr, &scope)
}

/// Evaluates with every question answered.
fn eval(input: &str) -> Value {
    run_with(input, &answered(), &[], None)
}

/// Evaluates with nothing answered.
fn eval_empty(input: &str) -> Value {
    run_with(input, &Draft::default(), &[], None)
}

fn yes(input: &str) {
    assert_eq!(eval(input), Value::Bool(true), "{input}");
}

fn no(input: &str) {
    assert_eq!(eval(input), Value::Bool(false), "{input}");
}

// Operators.

#[test]
fn and_or_not_combine_yes_no_values() {
    yes("consent and age > 18");
    no("consent and age < 18");
    yes("age < 18 or consent");
    no("age < 18 or not consent");
    yes("not (age < 18)");
    no("not consent");
}

#[test]
fn equality_compares_numbers_texts_codes_dates_times_and_yes_no() {
    yes("age = 30");
    yes("age = 30.0");
    yes("weight != 61");
    yes("name = 'Ñandú'");
    no("name = 'ñandú'");
    yes("sex = 'mujer'");
    yes("sex != 'hombre'");
    yes("born = date('1994-06-02')");
    yes("start = time('08:30')");
    yes("consent = true");
    yes("consent != false");
}

#[test]
fn ordering_compares_numbers_dates_and_times() {
    yes("age < 31");
    yes("age <= 30");
    no("age > 30");
    yes("age >= 30");
    yes("weight > 61.4");
    yes("born < date('1994-06-03')");
    yes("born >= date('1994-06-02')");
    yes("start > time('08:29')");
    no("start <= time('08:00')");
}

#[test]
fn arithmetic_on_numbers() {
    assert_eq!(eval("age + 1"), num(31.0));
    assert_eq!(eval("age - 40"), num(-10.0));
    assert_eq!(eval("weight * 2"), num(123.0));
    assert_eq!(eval("age / 4"), num(7.5));
    assert_eq!(eval("-age"), num(-30.0));
    assert_eq!(eval("1 + 2 * 3"), num(7.0), "* binds tighter than +");
    assert_eq!(eval("(1 + 2) * 3"), num(9.0));
    assert_eq!(eval("10 - 2 - 3"), num(5.0), "left to right");
}

#[test]
fn division_by_zero_is_empty() {
    assert_eq!(eval("age / 0"), Value::Empty);
    assert_eq!(eval("age / (age - 30)"), Value::Empty);
}

#[test]
fn days_are_added_to_and_subtracted_from_dates() {
    assert_eq!(eval("born + 30"), date("1994-07-02"));
    assert_eq!(eval("30 + born"), date("1994-07-02"));
    assert_eq!(eval("born - 2"), date("1994-05-31"));
    assert_eq!(eval("date('2024-03-01') - date('2024-02-01')"), num(29.0), "2024 is a leap year");
    assert_eq!(eval("today() - date('2024-06-11')"), num(-10.0));
}

// Functions.

#[test]
fn today_is_the_day_of_the_scope() {
    assert_eq!(eval("today()"), date("2024-06-01"));
}

#[test]
fn date_and_time_literals() {
    assert_eq!(eval("date('2024-02-29')"), date("2024-02-29"));
    assert_eq!(eval("time('23:59')"), time("23:59"));
}

#[test]
fn selected_finds_a_code_in_single_and_multiple_choices() {
    yes("selected(sex, 'mujer')");
    no("selected(sex, 'hombre')");
    yes("selected(langs, 'nah')");
    no("selected(langs, 'en')");
}

#[test]
fn count_counts_the_instances_of_a_repeat() {
    assert_eq!(eval("count(acts)"), num(3.0));
}

#[test]
fn count_selected_counts_the_codes_chosen() {
    assert_eq!(eval("count_selected(langs)"), num(2.0));
}

#[test]
fn answered_tells_whether_there_is_an_answer() {
    yes("answered(name)");
    yes("answered(consent)");
    assert_eq!(eval_empty("answered(name)"), Value::Bool(false));
}

#[test]
fn len_counts_characters_not_bytes() {
    assert_eq!(eval("len(name)"), num(5.0));
}

#[test]
fn years_between_counts_whole_years() {
    // Born 1994-06-02: on 2024-06-01 the 30th birthday is one day away.
    assert_eq!(eval("years_between(born, today())"), num(29.0));
    assert_eq!(eval("years_between(born, date('2024-06-02'))"), num(30.0));
    assert_eq!(eval("years_between(date('2024-02-29'), date('2025-02-28'))"), num(0.0));
    assert_eq!(eval("years_between(date('2024-02-29'), date('2025-03-01'))"), num(1.0));
}

#[test]
fn if_with_three_arguments_chooses_a_value() {
    assert_eq!(eval("if(age >= 18, 'adulto', 'menor')"), text("adulto"));
    assert_eq!(eval("if(age < 18, 'adulto', 'menor')"), text("menor"));
}

#[test]
fn if_with_two_arguments_is_empty_when_false() {
    assert_eq!(eval("if(consent, age * 2)"), num(60.0));
    assert_eq!(eval("if(not consent, age * 2)"), Value::Empty);
}

#[test]
fn sum_adds_a_number_over_the_instances_and_skips_the_unanswered() {
    assert_eq!(eval("sum(amount)"), num(150.5));
}

#[test]
fn inside_a_repeat_an_id_names_the_same_instance() {
    let root = answered();
    assert_eq!(run_with("kind", &root, &[("acts", 0)], None), text("robo"));
    assert_eq!(run_with("kind = 'secuestro'", &root, &[("acts", 1)], None), Value::Bool(true));
    assert_eq!(run_with("amount * 2", &root, &[("acts", 2)], None), num(101.0));
    assert_eq!(run_with("count(acts)", &root, &[("acts", 2)], None), num(3.0), "aggregates see all instances");
    assert_eq!(run_with("age", &root, &[("acts", 0)], None), num(30.0), "and top-level answers");
}

#[test]
fn dot_is_the_value_being_constrained() {
    let root = answered();
    let age = num(130.0);
    let integer = Typed::plain(Type::Integer);
    assert_eq!(run_with(". >= 0 and . <= 120", &root, &[], Some((&age, integer))), Value::Bool(false));
    let langs = Value::Multi(vec!["en".into()]);
    let multi = Typed { ty: Type::Multi, list: Some("langs") };
    let rule = "not(selected(., 'es')) or count_selected(.) = 1";
    assert_eq!(run_with(rule, &root, &[], Some((&langs, multi))), Value::Bool(true));
}

// Empty values.

#[test]
fn comparisons_with_empty_are_false() {
    for op in ["=", "!=", "<", "<=", ">", ">="] {
        assert_eq!(eval_empty(&format!("age {op} 1")), Value::Bool(false), "{op}");
        assert_eq!(eval_empty(&format!("1 {op} age")), Value::Bool(false), "{op}");
    }
    assert_eq!(eval_empty("name != 'x'"), Value::Bool(false), "not even `!=`");
    assert_eq!(eval_empty("born < today()"), Value::Bool(false));
    assert_eq!(eval_empty("consent = false"), Value::Bool(false));
}

#[test]
fn arithmetic_with_empty_is_empty() {
    for input in ["age + 1", "1 - age", "age * 0", "0 / age", "-age", "born + 1", "today() - born"] {
        assert_eq!(eval_empty(input), Value::Empty, "{input}");
    }
}

#[test]
fn logic_with_empty_is_three_valued() {
    assert_eq!(eval_empty("not consent"), Value::Empty);
    assert_eq!(eval_empty("consent and false"), Value::Bool(false), "false and unknown is false");
    assert_eq!(eval_empty("false and consent"), Value::Bool(false));
    assert_eq!(eval_empty("consent and true"), Value::Empty);
    assert_eq!(eval_empty("consent or true"), Value::Bool(true), "true or unknown is true");
    assert_eq!(eval_empty("true or consent"), Value::Bool(true));
    assert_eq!(eval_empty("consent or false"), Value::Empty);
}

#[test]
fn functions_of_empty() {
    assert_eq!(eval_empty("selected(sex, 'mujer')"), Value::Bool(false));
    assert_eq!(eval_empty("selected(langs, 'es')"), Value::Bool(false));
    assert_eq!(eval_empty("count_selected(langs)"), num(0.0));
    assert_eq!(eval_empty("len(name)"), num(0.0));
    assert_eq!(eval_empty("count(acts)"), num(0.0));
    assert_eq!(eval_empty("sum(amount)"), num(0.0));
    assert_eq!(eval_empty("answered(langs)"), Value::Bool(false));
    assert_eq!(eval_empty("years_between(born, today())"), Value::Empty);
    assert_eq!(eval_empty("if(consent, 1, 2)"), Value::Empty, "an empty condition chooses nothing");
    assert_eq!(eval_empty("if(answered(age), age, 0)"), num(0.0));
}

#[test]
fn a_multiple_choice_without_codes_is_unanswered() {
    let mut root = Draft::default();
    root.values.insert("langs".into(), Value::Multi(Vec::new()));
    assert_eq!(run_with("answered(langs)", &root, &[], None), Value::Bool(false));
    assert_eq!(run_with("count_selected(langs)", &root, &[], None), num(0.0));
}

#[test]
fn a_condition_that_is_empty_is_not_true() {
    let (layout, root) = Draft::default().build();
    let form = Form::new();
    let node = parse("age > 18 or consent").expect("parses");
    let checked = check(&node, &form, &Context::default()).expect("checks");
    let today = jiff::civil::date(2024, 6, 1);
    let scope = Scope { layout: &layout, root: &root, position: &[], today, self_value: None };
    assert!(!constancia::expr::eval::is_true(&checked.expr, &scope));
    assert_eq!(constancia::expr::eval::truth(&checked.expr, &scope), None);
}

// Through a whole forms folder: inline choices are checked like lists.

#[test]
fn inline_choices_are_checked_like_named_lists() {
    let site = "[site]\ntitle = 'Casos'\ndefault_language = 'es'\nlanguages = ['es']\n";
    let form = |constraint: &str| {
        format!(
            "[form]\nid = 'caso'\nversion = 1\ntitle = 'Caso'\n\n[[section]]\nid = 'p'\ntitle = 'P'\n\n\
             [[section.question]]\nid = 'sexo'\ntype = 'select_one'\nlabel = 'Sexo'\n\
             choices = [{{ value = 'mujer', label = 'Mujer' }}, {{ value = 'hombre', label = 'Hombre' }}]\n\
             constraint = \"{constraint}\"\n"
        )
    };
    let check = |constraint: &str| {
        let project = constancia::project::check_sources(
            "forms".as_ref(),
            vec![("forms/site.toml".into(), Ok(site.into())), ("forms/caso.toml".into(), Ok(form(constraint)))],
        );
        project.diagnostics.to_json(&project.sources)
    };
    assert_eq!(check("selected(., 'mujer') or . = 'hombre'")["errors"], 0);
    let json = check("selected(., 'mujr')");
    assert_eq!(json["errors"], 1);
    assert_eq!(json["diagnostics"][0]["code"], "unknown-code");
}

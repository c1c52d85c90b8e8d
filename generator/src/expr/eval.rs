//! The evaluator: a compiled [`Expr`] against a tree of answers.
//!
//! The rules, which the browser runtime follows too:
//! - an unanswered question is empty;
//! - a comparison with an empty operand is `false`;
//! - arithmetic with an empty operand is empty, and so is a result that is
//!   not a finite number (division by zero) or not a valid date;
//! - `and`, `or` and `not` follow three-valued logic (empty is "unknown":
//!   `false and empty` is `false`, `true or empty` is `true`, otherwise empty);
//! - `if` with an empty condition is empty; `if(c, a)` is empty when `c` is false;
//! - `selected` of empty is `false`; `count_selected`, `len`, `count` and
//!   `sum` of nothing are 0.
//!
//! Expressions are assumed type-checked; a value of an unexpected type (only
//! possible with a hand-edited manifest) evaluates to empty rather than
//! panicking.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{BinaryOp, Expr, Func};
use crate::answers::{Instance, Layout, Position, Route, same_id};
use crate::value::{Value, add_days, days_between, parse_date, parse_time, years_between};

/// Where and when an expression is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Where the answers of each question and repeat live.
    pub layout: &'a Layout,
    /// All answers of the submission.
    pub root: &'a Instance,
    /// The repeat instances entered, outermost first.
    pub position: &'a Position<'a>,
    /// What `today()` means: the day the case was completed or received.
    pub today: jiff::civil::Date,
    /// The value of `.` in constraints.
    pub self_value: Option<&'a Value>,
}

/// A value while an expression is evaluated: texts and code lists borrow
/// from the expression or the answers, so evaluating allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'a> {
    Empty,
    Bool(bool),
    Number(f64),
    Text(&'a str),
    Date(jiff::civil::Date),
    Time(u16),
    Multi(&'a [String]),
}

impl<'a> Val<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Empty => Val::Empty,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Number(*n),
            Value::Text(t) => Val::Text(t),
            Value::Date(d) => Val::Date(*d),
            Value::Time(t) => Val::Time(*t),
            Value::Multi(codes) => Val::Multi(codes),
        }
    }

    fn to_value(self) -> Value {
        match self {
            Val::Empty => Value::Empty,
            Val::Bool(b) => Value::Bool(b),
            Val::Number(n) => Value::Number(n),
            Val::Text(t) => Value::Text(t.to_owned()),
            Val::Date(d) => Value::Date(d),
            Val::Time(t) => Value::Time(t),
            Val::Multi(codes) => Value::Multi(codes.to_vec()),
        }
    }

    fn is_empty(self) -> bool {
        match self {
            Val::Empty => true,
            Val::Multi(codes) => codes.is_empty(),
            _ => false,
        }
    }
}

/// Evaluates an expression.
pub fn evaluate(expr: &Expr, scope: &Scope<'_>) -> Value {
    eval(expr, scope).to_value()
}

/// Evaluates a condition: empty counts as `false`.
pub fn is_true(expr: &Expr, scope: &Scope<'_>) -> bool {
    matches!(eval(expr, scope), Val::Bool(true))
}

/// Evaluates a condition as three-valued: `None` when empty (or not yes/no).
pub fn truth(expr: &Expr, scope: &Scope<'_>) -> Option<bool> {
    match eval(expr, scope) {
        Val::Bool(b) => Some(b),
        _ => None,
    }
}

fn eval<'a>(expr: &'a Expr, scope: &Scope<'a>) -> Val<'a> {
    match expr {
        Expr::Number(n) => Val::Number(*n),
        Expr::Text(t) => Val::Text(t),
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Date(d) => parse_date(d).map_or(Val::Empty, Val::Date),
        Expr::Time(t) => parse_time(t).map_or(Val::Empty, Val::Time),
        Expr::Ref(path) => {
            scope.layout.route_of(path).and_then(|route| follow(route, scope)).map_or(Val::Empty, Val::of)
        }
        Expr::SelfValue => scope.self_value.map_or(Val::Empty, Val::of),
        Expr::Not(inner) => match eval(inner, scope) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Empty,
        },
        Expr::Neg(inner) => match eval(inner, scope) {
            Val::Number(n) => Val::Number(-n),
            _ => Val::Empty,
        },
        Expr::Binary(op, left, right) => binary(*op, left, right, scope),
        Expr::Call(func, args) => call(*func, args, scope),
    }
}

/// The answer at a data path, seen from the scope's position.
pub fn answer<'a>(path: &str, scope: &Scope<'a>) -> Option<&'a Value> {
    follow(scope.layout.route(path)?, scope)
}

fn follow<'a>(route: &Route, scope: &Scope<'a>) -> Option<&'a Value> {
    let mut instance = scope.root;
    for (level, (id, slot)) in route.repeats.iter().enumerate() {
        let index = match scope.position.get(level) {
            Some((entered, index)) if same_id(entered, id) => *index,
            // Type checking only lets a single-value reference name
            // questions of the instances we are in.
            _ => return None,
        };
        instance = instance.instances(*slot).get(index)?;
    }
    Some(instance.get(route.value?))
}

/// The instances of the repeat at `repeats` (the route to it) reachable
/// from the scope: within the instances we are in, all of them below.
fn instances<'a>(repeats: &[(Arc<str>, usize)], scope: &Scope<'a>) -> Vec<&'a Instance> {
    let mut current: Vec<&'a Instance> = vec![scope.root];
    let mut on_position = true;
    let depth = repeats.len();
    for (level, (id, slot)) in repeats.iter().enumerate() {
        let chosen = match scope.position.get(level) {
            Some((entered, index)) if on_position && same_id(entered, id) => Some(*index),
            _ => None,
        };
        let mut next = Vec::new();
        for instance in current {
            let list = instance.instances(*slot);
            match chosen {
                // Entering the instance we are in, unless this is the repeat
                // being aggregated (the last part): then all its instances count.
                Some(index) if level + 1 < depth => next.extend(list.get(index)),
                _ => next.extend(list.iter()),
            }
        }
        on_position = on_position && chosen.is_some();
        current = next;
    }
    current
}

fn compare(left: Val<'_>, right: Val<'_>) -> Option<Ordering> {
    match (left, right) {
        (Val::Number(a), Val::Number(b)) => a.partial_cmp(&b),
        (Val::Text(a), Val::Text(b)) => Some(a.cmp(b)),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(&b)),
        (Val::Date(a), Val::Date(b)) => Some(a.cmp(&b)),
        (Val::Time(a), Val::Time(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

fn finite<'a>(n: f64) -> Val<'a> {
    if n.is_finite() { Val::Number(n) } else { Val::Empty }
}

fn binary<'a>(op: BinaryOp, left: &'a Expr, right: &'a Expr, scope: &Scope<'a>) -> Val<'a> {
    match op {
        BinaryOp::And => {
            let l = eval(left, scope);
            if l == Val::Bool(false) {
                return Val::Bool(false);
            }
            match (l, eval(right, scope)) {
                (_, Val::Bool(false)) => Val::Bool(false),
                (Val::Bool(true), Val::Bool(true)) => Val::Bool(true),
                _ => Val::Empty,
            }
        }
        BinaryOp::Or => {
            let l = eval(left, scope);
            if l == Val::Bool(true) {
                return Val::Bool(true);
            }
            match (l, eval(right, scope)) {
                (_, Val::Bool(true)) => Val::Bool(true),
                (Val::Bool(false), Val::Bool(false)) => Val::Bool(false),
                _ => Val::Empty,
            }
        }
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let Some(ordering) = compare(eval(left, scope), eval(right, scope)) else {
                return Val::Bool(false);
            };
            Val::Bool(match op {
                BinaryOp::Eq => ordering == Ordering::Equal,
                BinaryOp::Ne => ordering != Ordering::Equal,
                BinaryOp::Lt => ordering == Ordering::Less,
                BinaryOp::Le => ordering != Ordering::Greater,
                BinaryOp::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            })
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
            match (op, eval(left, scope), eval(right, scope)) {
                (BinaryOp::Add, Val::Number(a), Val::Number(b)) => finite(a + b),
                (BinaryOp::Sub, Val::Number(a), Val::Number(b)) => finite(a - b),
                (BinaryOp::Mul, Val::Number(a), Val::Number(b)) => finite(a * b),
                (BinaryOp::Div, Val::Number(a), Val::Number(b)) => finite(a / b),
                (BinaryOp::Add, Val::Date(d), Val::Number(n)) | (BinaryOp::Add, Val::Number(n), Val::Date(d)) => {
                    add_days(d, n).map_or(Val::Empty, Val::Date)
                }
                (BinaryOp::Sub, Val::Date(d), Val::Number(n)) => add_days(d, -n).map_or(Val::Empty, Val::Date),
                (BinaryOp::Sub, Val::Date(a), Val::Date(b)) => Val::Number(days_between(b, a) as f64),
                _ => Val::Empty,
            }
        }
    }
}

fn call<'a>(func: Func, args: &'a [Expr], scope: &Scope<'a>) -> Val<'a> {
    let arg = |i: usize| args.get(i).map_or(Val::Empty, |a| eval(a, scope));
    match func {
        Func::Today => Val::Date(scope.today),
        Func::Date | Func::Time => arg(0),
        Func::Selected => {
            let Val::Text(code) = arg(1) else { return Val::Bool(false) };
            Val::Bool(match arg(0) {
                Val::Text(chosen) => chosen == code,
                Val::Multi(chosen) => chosen.iter().any(|c| c == code),
                _ => false,
            })
        }
        Func::Count => match args.first() {
            Some(Expr::Ref(path)) => match scope.layout.route_of(path) {
                Some(route) if route.value.is_none() => Val::Number(instances(&route.repeats, scope).len() as f64),
                // A repeat no answer was ever laid out for has no instance.
                _ => Val::Number(0.0),
            },
            _ => Val::Empty,
        },
        Func::Sum => match args.first() {
            Some(Expr::Ref(path)) => {
                let Some(route) = scope.layout.route_of(path) else { return Val::Number(0.0) };
                let Some(slot) = route.value.filter(|_| !route.repeats.is_empty()) else { return Val::Empty };
                let total: f64 = instances(&route.repeats, scope)
                    .into_iter()
                    .filter_map(|instance| match instance.get(slot) {
                        Value::Number(n) => Some(*n),
                        _ => None,
                    })
                    .sum();
                finite(total)
            }
            _ => Val::Empty,
        },
        Func::CountSelected => match arg(0) {
            Val::Multi(codes) => Val::Number(codes.len() as f64),
            _ => Val::Number(0.0),
        },
        Func::Answered => Val::Bool(!arg(0).is_empty()),
        Func::Len => match arg(0) {
            Val::Text(text) => Val::Number(text.chars().count() as f64),
            _ => Val::Number(0.0),
        },
        Func::YearsBetween => match (arg(0), arg(1)) {
            (Val::Date(a), Val::Date(b)) => Val::Number(years_between(a, b) as f64),
            _ => Val::Empty,
        },
        Func::If => match arg(0) {
            Val::Bool(true) => arg(1),
            Val::Bool(false) => arg(2),
            _ => Val::Empty,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Draft;
    use crate::expr::json::from_json;

    fn record() -> Draft {
        let json = serde_json::json!({
            "age": 30, "name": "Ana", "born": "1994-05-10", "consent": true,
            "langs": ["es", "nah"], "sex": "mujer",
            "acts": [
                {"amount": 100, "kind": "robo", "inv": [{"n": 1}, {"n": 2}]},
                {"kind": "secuestro", "inv": [{"n": 5}]},
                {"amount": 50.5}
            ]
        });
        from_test_json(&json)
    }

    fn from_test_json(json: &serde_json::Value) -> Draft {
        let mut instance = Draft::default();
        for (key, value) in json.as_object().unwrap() {
            match value {
                serde_json::Value::Array(items) if items.iter().all(|i| i.is_object()) && !items.is_empty() => {
                    instance.repeats.insert(key.clone(), items.iter().map(from_test_json).collect());
                }
                serde_json::Value::Array(items) => {
                    instance.set(key, Value::Multi(items.iter().map(|i| i.as_str().unwrap().to_owned()).collect()));
                }
                serde_json::Value::Number(n) => instance.set(key, Value::Number(n.as_f64().unwrap())),
                serde_json::Value::Bool(b) => instance.set(key, Value::Bool(*b)),
                serde_json::Value::String(s) => {
                    let value = crate::value::parse_date(s).map_or_else(|| Value::Text(s.clone()), Value::Date);
                    instance.set(key, value);
                }
                _ => {}
            }
        }
        instance
    }

    fn eval_at(expr: serde_json::Value, position: &Position<'_>) -> Value {
        let (layout, root) = record().build();
        let expr = from_json(&expr).unwrap();
        let today = crate::value::parse_date("2024-06-01").unwrap();
        let scope = Scope { layout: &layout, root: &root, position, today, self_value: None };
        evaluate(&expr, &scope)
    }

    fn eval(expr: serde_json::Value) -> Value {
        eval_at(expr, &[])
    }

    use serde_json::json;

    #[test]
    fn empty_rules() {
        assert_eq!(eval(json!(["=", ["ref", "missing"], 1])), Value::Bool(false));
        assert_eq!(eval(json!(["!=", ["ref", "missing"], 1])), Value::Bool(false));
        assert_eq!(eval(json!(["+", ["ref", "missing"], 1])), Value::Empty);
        assert_eq!(eval(json!(["/", 1, 0])), Value::Empty);
        assert_eq!(eval(json!(["and", false, ["ref", "missing"]])), Value::Bool(false));
        assert_eq!(eval(json!(["and", ["ref", "missing"], false])), Value::Bool(false));
        assert_eq!(eval(json!(["and", true, ["ref", "missing"]])), Value::Empty);
        assert_eq!(eval(json!(["or", ["ref", "missing"], true])), Value::Bool(true));
        assert_eq!(eval(json!(["or", false, ["ref", "missing"]])), Value::Empty);
        assert_eq!(eval(json!(["not", ["ref", "missing"]])), Value::Empty);
        assert_eq!(eval(json!(["selected", ["ref", "missing"], "x"])), Value::Bool(false));
        assert_eq!(eval(json!(["count_selected", ["ref", "missing"]])), Value::Number(0.0));
        assert_eq!(eval(json!(["len", ["ref", "missing"]])), Value::Number(0.0));
        assert_eq!(eval(json!(["if", ["ref", "missing"], 1, 2])), Value::Empty);
        assert_eq!(eval(json!(["if", false, 1])), Value::Empty);
        assert_eq!(eval(json!(["years_between", ["ref", "missing"], ["today"]])), Value::Empty);
    }

    #[test]
    fn functions() {
        assert_eq!(eval(json!(["years_between", ["ref", "born"], ["today"]])), Value::Number(30.0));
        assert_eq!(eval(json!(["selected", ["ref", "langs"], "nah"])), Value::Bool(true));
        assert_eq!(eval(json!(["selected", ["ref", "sex"], "mujer"])), Value::Bool(true));
        assert_eq!(eval(json!(["count_selected", ["ref", "langs"]])), Value::Number(2.0));
        assert_eq!(eval(json!(["len", ["ref", "name"]])), Value::Number(3.0));
        assert_eq!(eval(json!(["answered", ["ref", "name"]])), Value::Bool(true));
        assert_eq!(eval(json!(["count", ["ref", "acts"]])), Value::Number(3.0));
        assert_eq!(eval(json!(["sum", ["ref", "acts.amount"]])), Value::Number(150.5));
        assert_eq!(eval(json!(["count", ["ref", "acts.inv"]])), Value::Number(3.0));
        assert_eq!(eval(json!(["sum", ["ref", "acts.inv.n"]])), Value::Number(8.0));
        assert_eq!(eval(json!(["-", ["today"], ["date", "2024-05-01"]])), Value::Number(31.0));
        assert_eq!(eval(json!(["if", [">", ["ref", "age"], 18], "adult", "minor"])), Value::Text("adult".into()));
    }

    #[test]
    fn a_reference_finds_its_answer_in_each_layout_it_meets() {
        let expr = from_json(&json!(["+", ["ref", "b"], 0])).unwrap();
        let mut first = Draft::default();
        first.set("a", Value::Number(1.0));
        first.set("b", Value::Number(2.0));
        let mut second = Draft::default();
        second.set("b", Value::Number(3.0));
        let today = crate::value::parse_date("2024-06-01").unwrap();
        let (one, one_root) = first.build();
        let (two, two_root) = second.build();
        // The route remembered for the first layout (slot 1) must not be
        // used in the second (slot 0), and back again.
        for (layout, root, want) in [(&one, &one_root, 2.0), (&two, &two_root, 3.0), (&one, &one_root, 2.0)] {
            let scope = Scope { layout, root, position: &[], today, self_value: None };
            assert_eq!(evaluate(&expr, &scope), Value::Number(want));
        }
    }

    #[test]
    fn repeats_see_their_own_instance() {
        let at_first = [("acts", 0)];
        assert_eq!(eval_at(json!(["ref", "acts.kind"]), &at_first), Value::Text("robo".into()));
        assert_eq!(eval_at(json!(["count", ["ref", "acts.inv"]]), &at_first), Value::Number(2.0));
        assert_eq!(eval_at(json!(["sum", ["ref", "acts.inv.n"]]), &at_first), Value::Number(3.0));
        assert_eq!(eval_at(json!(["count", ["ref", "acts"]]), &at_first), Value::Number(3.0));
        assert_eq!(eval_at(json!(["ref", "age"]), &at_first), Value::Number(30.0));
        let nested = [("acts", 1), ("inv", 0)];
        assert_eq!(eval_at(json!(["ref", "acts.inv.n"]), &nested), Value::Number(5.0));
        assert_eq!(eval_at(json!(["ref", "acts.kind"]), &nested), Value::Text("secuestro".into()));
        assert_eq!(eval_at(json!(["ref", "acts.kind"]), &[("acts", 9)]), Value::Empty);
    }
}

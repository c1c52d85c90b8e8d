//! The conformance vectors shared with the browser runtime.
//!
//! `tests/conformance/vectors.json` holds expressions (compiled JSON ASTs),
//! typed answers and the value each must give. This test evaluates every one
//! with the Rust evaluator; `node --test tests/js/` runs the same file through
//! `runtime.js`. Both must agree with the file, so they agree with each other.
//!
//! Typed answers: a JSON number is a number, a boolean a yes/no, a string a
//! text or code, an array of strings a multiple choice, `{"date": ...}` and
//! `{"time": ...}` a date and a time, an array of objects the instances of a
//! repeat; `null` (and `expected: null`) is empty.

use std::path::Path;

use constancia::answers::Draft;
use constancia::expr::Expr;
use constancia::expr::eval::{Scope, evaluate};
use constancia::value::{Value, parse_date, parse_time};
use serde_json::Value as Json;

fn vectors() -> Vec<Json> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    let json: Json = serde_json::from_str(&exact_numbers(&text)).expect("vectors.json is JSON");
    match exact(json) {
        Json::Array(vectors) => vectors,
        _ => panic!("vectors.json must be an array"),
    }
}

/// serde_json's default float parsing may round long decimals such as
/// `0.30000000000000004` one unit off; the vectors compare exact doubles. So
/// every number token is first wrapped as `{"$n": "token"}` and then read with
/// `str::parse::<f64>`, which rounds correctly (as JavaScript does).
fn exact_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let (mut out, mut copied, mut i, mut in_string) = (String::with_capacity(text.len() * 2), 0, 0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b"+-.eE".contains(&bytes[i])) {
                i += 1;
            }
            out.push_str(&text[copied..start]);
            out.push_str(&format!(r#"{{"$n":"{}"}}"#, &text[start..i]));
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn exact(json: Json) -> Json {
    match json {
        Json::Object(object) if object.len() == 1 && object.contains_key("$n") => {
            let token = object["$n"].as_str().expect("a number token");
            let n: f64 = token.parse().unwrap_or_else(|e| panic!("bad number `{token}`: {e}"));
            serde_json::Number::from_f64(n).map(Json::Number).unwrap_or_else(|| panic!("`{token}` is not finite"))
        }
        Json::Object(object) => Json::Object(object.into_iter().map(|(k, v)| (k, exact(v))).collect()),
        Json::Array(items) => Json::Array(items.into_iter().map(exact).collect()),
        other => other,
    }
}

fn value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Empty,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().expect("a number")),
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(items) => Value::Multi(items.iter().map(|i| i.as_str().expect("a code").to_owned()).collect()),
        Json::Object(object) => match (object.get("date"), object.get("time")) {
            (Some(Json::String(d)), _) => parse_date(d).map_or(Value::Empty, Value::Date),
            (_, Some(Json::String(t))) => parse_time(t).map_or(Value::Empty, Value::Time),
            _ => Value::Empty,
        },
    }
}

fn instance(json: &Json) -> Draft {
    let mut instance = Draft::default();
    for (key, x) in json.as_object().expect("answers are an object") {
        match x {
            Json::Array(items) if !items.is_empty() && items.iter().all(Json::is_object) => {
                instance.repeats.insert(key.clone(), items.iter().map(self::instance).collect());
            }
            _ => instance.set(key, value(x)),
        }
    }
    instance
}

#[test]
fn every_vector_evaluates_to_its_expected_value() {
    let vectors = vectors();
    assert!(vectors.len() >= 350, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    for vector in &vectors {
        let name = vector["name"].as_str().expect("a name");
        let expr: Expr = match serde_json::from_value(vector["expr"].clone()) {
            Ok(expr) => expr,
            Err(e) => {
                failures.push(format!("{name}: the expression does not load: {e}"));
                continue;
            }
        };
        let (layout, root) = instance(&vector["answers"]).build();
        let position: Vec<(&str, usize)> = vector
            .get("position")
            .and_then(Json::as_array)
            .map(|levels| {
                levels
                    .iter()
                    .map(|level| {
                        let id = level[0].as_str().expect("a repeat id");
                        let index = level[1].as_f64().expect("an index");
                        (id, index as usize)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let today = parse_date(vector["today"].as_str().expect("today")).expect("a valid today");
        let self_value = vector.get("self").map(value);
        let scope = Scope { layout: &layout, root: &root, position: &position, today, self_value: self_value.as_ref() };
        let got = evaluate(&expr, &scope);
        let want = value(&vector["expected"]);
        if got != want {
            failures.push(format!("{name}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), vectors.len(), failures.join("\n"));
}

#[test]
fn vector_names_are_unique() {
    let vectors = vectors();
    let mut names: Vec<&str> = vectors.iter().filter_map(|v| v["name"].as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate vector names");
}

//! Compiled expressions as compact JSON (see [`Expr`] for the shape).

use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use super::{BinaryOp, Expr, Func, Reference};
use crate::value::{parse_date, parse_time};

/// Manifests are trusted input, but not unbounded: deeper trees are refused.
const MAX_DEPTH: usize = 256;

/// The JSON form of an expression, as a value: the reference that the
/// [`Serialize`] implementation, which writes the same JSON directly, is
/// tested against.
#[cfg(test)]
pub(crate) fn to_json(expr: &Expr) -> Json {
    match expr {
        Expr::Number(n) => crate::value::number_to_json(*n),
        Expr::Text(t) => Json::String(t.clone()),
        Expr::Bool(b) => Json::Bool(*b),
        Expr::Date(d) => serde_json::json!(["date", d]),
        Expr::Time(t) => serde_json::json!(["time", t]),
        Expr::Ref(path) => serde_json::json!(["ref", path.as_str()]),
        Expr::SelfValue => serde_json::json!(["."]),
        Expr::Not(inner) => serde_json::json!(["not", to_json(inner)]),
        Expr::Neg(inner) => serde_json::json!(["neg", to_json(inner)]),
        Expr::Binary(op, left, right) => serde_json::json!([op.symbol(), to_json(left), to_json(right)]),
        Expr::Call(func, args) => {
            let mut items = vec![Json::String(func.name().to_owned())];
            items.extend(args.iter().map(to_json));
            Json::Array(items)
        }
    }
}

/// Reads the JSON form of an expression.
pub fn from_json(json: &Json) -> Result<Expr, String> {
    read(json, 0)
}

fn read(json: &Json, depth: usize) -> Result<Expr, String> {
    if depth > MAX_DEPTH {
        return Err("expression nested too deeply".into());
    }
    match json {
        Json::Number(n) => {
            n.as_f64().filter(|n| n.is_finite()).map(Expr::Number).ok_or_else(|| format!("bad number {n}"))
        }
        Json::String(s) => Ok(Expr::Text(s.clone())),
        Json::Bool(b) => Ok(Expr::Bool(*b)),
        Json::Array(items) => {
            let Some(Json::String(head)) = items.first() else {
                return Err("an expression array must start with its operator".into());
            };
            let args = &items[1..];
            let text_arg = || -> Result<&str, String> {
                match args {
                    [Json::String(s)] => Ok(s),
                    _ => Err(format!("`{head}` takes one string")),
                }
            };
            let operands = |count: usize| -> Result<Vec<Expr>, String> {
                if args.len() != count {
                    return Err(format!("`{head}` takes {count} operands"));
                }
                args.iter().map(|arg| read(arg, depth + 1)).collect()
            };
            match head.as_str() {
                "ref" => Ok(Expr::Ref(Reference::new(text_arg()?))),
                "." if args.is_empty() => Ok(Expr::SelfValue),
                "date" => {
                    let text = text_arg()?;
                    parse_date(text).ok_or_else(|| format!("bad date {text}"))?;
                    Ok(Expr::Date(text.to_owned()))
                }
                "time" => {
                    let text = text_arg()?;
                    parse_time(text).ok_or_else(|| format!("bad time {text}"))?;
                    Ok(Expr::Time(text.to_owned()))
                }
                "not" => Ok(Expr::Not(Box::new(operands(1)?.remove(0)))),
                "neg" => Ok(Expr::Neg(Box::new(operands(1)?.remove(0)))),
                _ => {
                    if let Some(op) = BinaryOp::from_symbol(head) {
                        let mut both = operands(2)?;
                        let right = both.pop().ok_or("missing operand")?;
                        let left = both.pop().ok_or("missing operand")?;
                        return Ok(Expr::Binary(op, Box::new(left), Box::new(right)));
                    }
                    let func = Func::from_name(head)
                        .filter(|f| !matches!(f, Func::Date | Func::Time))
                        .ok_or_else(|| format!("unknown operator `{head}`"))?;
                    let arity_ok = match func {
                        Func::Today => args.is_empty(),
                        Func::Selected | Func::YearsBetween => args.len() == 2,
                        Func::If => args.len() == 2 || args.len() == 3,
                        _ => args.len() == 1,
                    };
                    if !arity_ok {
                        return Err(format!("wrong number of arguments for `{head}`"));
                    }
                    let args = args.iter().map(|arg| read(arg, depth + 1)).collect::<Result<Vec<_>, _>>()?;
                    Ok(Expr::Call(func, args))
                }
            }
        }
        Json::Null | Json::Object(_) => Err("not an expression".into()),
    }
}

/// Written straight to the serializer, the same JSON as [`to_json`]
/// without building it first: manifests and every page's rules hold
/// thousands of expressions.
impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use Operand::{Text, Tree};
        match self {
            Expr::Number(n) => crate::value::number_to_json(*n).serialize(serializer),
            Expr::Text(t) => serializer.serialize_str(t),
            Expr::Bool(b) => serializer.serialize_bool(*b),
            Expr::Date(d) => tagged(serializer, "date", &[Text(d)]),
            Expr::Time(t) => tagged(serializer, "time", &[Text(t)]),
            Expr::Ref(path) => tagged(serializer, "ref", &[Text(path.as_str())]),
            Expr::SelfValue => tagged(serializer, ".", &[]),
            Expr::Not(inner) => tagged(serializer, "not", &[Tree(inner)]),
            Expr::Neg(inner) => tagged(serializer, "neg", &[Tree(inner)]),
            Expr::Binary(op, left, right) => tagged(serializer, op.symbol(), &[Tree(left), Tree(right)]),
            Expr::Call(func, args) => {
                let mut seq = serializer.serialize_seq(Some(args.len() + 1))?;
                seq.serialize_element(func.name())?;
                for arg in args {
                    seq.serialize_element(arg)?;
                }
                seq.end()
            }
        }
    }
}

/// An operand in an expression's array.
#[derive(Serialize)]
#[serde(untagged)]
enum Operand<'a> {
    Tree(&'a Expr),
    Text(&'a str),
}

/// `[tag, operands...]`.
fn tagged<S: Serializer>(serializer: S, tag: &str, operands: &[Operand]) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(operands.len() + 1))?;
    seq.serialize_element(tag)?;
    for operand in operands {
        seq.serialize_element(operand)?;
    }
    seq.end()
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        from_json(&json).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trip() {
        for text in [
            r#"["and",["=",["ref","a.b"],"x"],["not",true]]"#,
            r#"["if",[">",["ref","n"],1],["date","2024-01-31"],["today"]]"#,
            r#"["selected",["."],"code"]"#,
            r#"["neg",["time","08:30"]]"#,
            r#"["sum",["ref","acts.amount"]]"#,
            "12.5",
            r#""text""#,
        ] {
            let json: Json = serde_json::from_str(text).unwrap();
            let expr = from_json(&json).unwrap();
            assert_eq!(to_json(&expr), json, "{text}");
            assert_eq!(serde_json::to_string(&expr).unwrap(), json.to_string(), "{text}: serialized directly");
        }
    }

    #[test]
    fn rejects_malformed() {
        for text in [
            "null",
            "{}",
            "[]",
            "[1]",
            r#"["nope"]"#,
            r#"["and",1]"#,
            r#"["date","2024-13-01"]"#,
            r#"["ref",1]"#,
            r#"["today",1]"#,
        ] {
            let json: Json = serde_json::from_str(text).unwrap();
            assert!(from_json(&json).is_err(), "{text}");
        }
        let mut deep = json!(true);
        for _ in 0..1000 {
            deep = json!(["not", deep]);
        }
        assert!(from_json(&deep).is_err());
    }
}

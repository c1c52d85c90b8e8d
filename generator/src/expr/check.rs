//! Name resolution and type checking of expressions.
//!
//! The checker sees a form only through [`Env`], so it is independent of how
//! forms are stored. It reports every problem it finds in an expression (an
//! unknown id, a type mismatch, a choice code that is not in the list, a
//! reference into a repeat from outside it) and, when there is none, returns
//! the compiled [`Expr`] and its [`Type`].

use std::ops::Range;

use super::{BinaryOp, Expr, Func, Node, NodeKind, Reference, UnaryOp};
use crate::diagnostic::did_you_mean;
use crate::value::{parse_date, parse_time};

/// The type of a value in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// yes/no
    Bool,
    /// A whole number.
    Integer,
    /// Any number.
    Decimal,
    /// A text (also a single choice code).
    Text,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// The set of codes of a multiple choice.
    Multi,
}

impl Type {
    /// The name an editor knows.
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "yes/no",
            Type::Integer => "whole number",
            Type::Decimal => "number",
            Type::Text => "text",
            Type::Date => "date",
            Type::Time => "time",
            Type::Multi => "multiple choice",
        }
    }

    /// The type's name in manifests (`value_type` of calculations).
    pub fn manifest_name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Integer => "integer",
            Type::Decimal => "decimal",
            Type::Text => "text",
            Type::Date => "date",
            Type::Time => "time",
            Type::Multi => "multiple",
        }
    }

    /// Reads a manifest `value_type`.
    pub fn from_manifest_name(name: &str) -> Option<Self> {
        Some(match name {
            "boolean" => Type::Bool,
            "integer" => Type::Integer,
            "decimal" => Type::Decimal,
            "text" => Type::Text,
            "date" => Type::Date,
            "time" => Type::Time,
            "multiple" => Type::Multi,
            _ => return None,
        })
    }

    fn is_number(self) -> bool {
        matches!(self, Type::Integer | Type::Decimal)
    }
}

/// A value type together with the choice list it draws codes from, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed<'a> {
    /// The type.
    pub ty: Type,
    /// For choice questions, the list of valid codes.
    pub list: Option<&'a str>,
}

impl<'a> Typed<'a> {
    /// A type without a list.
    pub fn plain(ty: Type) -> Self {
        Self { ty, list: None }
    }
}

/// What an id names in a form.
#[derive(Debug, Clone, Copy)]
pub enum SymbolKind<'a> {
    /// A question with a value.
    Value(Typed<'a>),
    /// A display-only note.
    Note,
    /// A repeating section.
    Repeat,
    /// A section that does not repeat.
    Group,
}

/// An id resolved in a form.
#[derive(Debug, Clone, Copy)]
pub struct Symbol<'a> {
    /// The data path (`acts.act_type`).
    pub path: &'a str,
    /// What it is.
    pub kind: SymbolKind<'a>,
    /// The ids of the repeats that contain it, outermost first (for a repeat
    /// section: the repeats around it, not itself).
    pub repeats: &'a [String],
}

/// What the checker needs to know about a form.
pub trait Env {
    /// Resolves an id.
    fn lookup(&self, id: &str) -> Option<Symbol<'_>>;
    /// Every id, for "did you mean" suggestions.
    fn ids(&self) -> Vec<&str>;
    /// The codes of a choice list, if it exists.
    fn codes(&self, list: &str) -> Option<Vec<&str>>;
}

/// Where an expression is evaluated.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The repeats around the expression's question or section, outermost first.
    pub repeats: &'a [String],
    /// For constraints: the type of `.`.
    pub self_type: Option<Typed<'a>>,
}

/// A problem in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// The diagnostic code (`expr-type`, `unknown-reference`, `repeat-reference`,
    /// `unknown-code`, `self-outside-constraint`, `unknown-function`).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where, in bytes of the expression text.
    pub span: Range<usize>,
    /// How to fix it.
    pub help: Option<String>,
}

/// A checked expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The compiled expression.
    pub expr: Expr,
    /// Its type.
    pub ty: Type,
}

/// Resolves and type-checks `node` in `env` at `context`.
pub fn check<'e>(node: &Node, env: &'e dyn Env, context: &Context<'e>) -> Result<Checked, Vec<CheckError>> {
    let mut checker = Checker { env, context, errors: Vec::new() };
    let result = checker.node(node);
    match result {
        Some((expr, typed)) if checker.errors.is_empty() => Ok(Checked { expr, ty: typed.ty }),
        _ => {
            if checker.errors.is_empty() {
                // Unreachable in practice: every `None` records an error. Keep
                // the promise of never accepting an unchecked expression.
                checker.error("expr-type", "this expression cannot be checked", node.span.clone());
            }
            Err(checker.errors)
        }
    }
}

struct Checker<'e, 'c> {
    env: &'e dyn Env,
    context: &'c Context<'e>,
    errors: Vec<CheckError>,
}

type Out<'e> = Option<(Expr, Typed<'e>)>;

impl<'e> Checker<'e, '_> {
    fn error(&mut self, code: &'static str, message: impl Into<String>, span: Range<usize>) {
        self.errors.push(CheckError { code, message: message.into(), span, help: None });
    }

    fn error_help(&mut self, code: &'static str, message: impl Into<String>, span: Range<usize>, help: Option<String>) {
        self.errors.push(CheckError { code, message: message.into(), span, help });
    }

    fn node(&mut self, node: &Node) -> Out<'e> {
        match &node.kind {
            NodeKind::Number { value, integer } => {
                Some((Expr::Number(*value), Typed::plain(if *integer { Type::Integer } else { Type::Decimal })))
            }
            NodeKind::Text(text) => Some((Expr::Text(text.clone()), Typed::plain(Type::Text))),
            NodeKind::Bool(value) => Some((Expr::Bool(*value), Typed::plain(Type::Bool))),
            NodeKind::Dot => match self.context.self_type {
                Some(typed) => Some((Expr::SelfValue, typed)),
                None => {
                    self.error_help(
                        "self-outside-constraint",
                        "`.` (this question's value) only means something in a `constraint`",
                        node.span.clone(),
                        Some("name the question by its id instead".into()),
                    );
                    None
                }
            },
            NodeKind::Ident(name) => self.value_reference(name, node.span.clone()),
            NodeKind::Unary(op, inner) => {
                let (expr, typed) = self.node(inner)?;
                match op {
                    UnaryOp::Not => {
                        self.expect(typed.ty, &[Type::Bool], inner, "`not` needs a yes/no value")?;
                        Some((Expr::Not(Box::new(expr)), Typed::plain(Type::Bool)))
                    }
                    UnaryOp::Neg => {
                        self.expect(typed.ty, &[Type::Integer, Type::Decimal], inner, "`-` needs a number")?;
                        Some((Expr::Neg(Box::new(expr)), Typed::plain(typed.ty)))
                    }
                }
            }
            NodeKind::Binary(op, left, right) => self.binary(*op, left, right, node.span.clone()),
            NodeKind::Call { name, name_span, args } => self.call(name, name_span.clone(), args, node.span.clone()),
        }
    }

    fn expect(&mut self, found: Type, allowed: &[Type], node: &Node, message: &str) -> Option<()> {
        if allowed.contains(&found) {
            return Some(());
        }
        self.error("expr-type", format!("{message}, but this is a {}", found.name()), node.span.clone());
        None
    }

    fn resolve(&mut self, name: &str, span: Range<usize>) -> Option<Symbol<'e>> {
        if let Some(symbol) = self.env.lookup(name) {
            return Some(symbol);
        }
        let help = did_you_mean(name, self.env.ids());
        self.error_help(
            "unknown-reference",
            format!("there is no question or section `{name}` in this form"),
            span,
            help,
        );
        None
    }

    /// Whether a symbol inside `repeats` can be read as a single value here.
    fn visible(&self, repeats: &[String]) -> bool {
        self.context.repeats.starts_with(repeats)
    }

    fn value_reference(&mut self, name: &str, span: Range<usize>) -> Out<'e> {
        let symbol = self.resolve(name, span.clone())?;
        match symbol.kind {
            SymbolKind::Value(typed) => {
                if !self.visible(symbol.repeats) {
                    let repeat = symbol.repeats.last().map_or("", String::as_str);
                    self.error_help(
                        "repeat-reference",
                        format!("`{name}` is inside the repeat `{repeat}`, which has many answers here"),
                        span,
                        Some(if typed.ty.is_number() {
                            format!("from outside `{repeat}` use an aggregate: `count({repeat})`, or `sum({name})`")
                        } else {
                            format!("from outside `{repeat}` use an aggregate, such as `count({repeat})`")
                        }),
                    );
                    return None;
                }
                Some((Expr::Ref(Reference::new(symbol.path)), typed))
            }
            SymbolKind::Note => {
                self.error("expr-type", format!("`{name}` is a note and has no value"), span);
                None
            }
            SymbolKind::Repeat => {
                self.error_help(
                    "expr-type",
                    format!("`{name}` is a repeating section, not a value"),
                    span,
                    Some(format!("use `count({name})` for its number of instances")),
                );
                None
            }
            SymbolKind::Group => {
                self.error("expr-type", format!("`{name}` is a section, not a value"), span);
                None
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &Node, right: &Node, span: Range<usize>) -> Out<'e> {
        let l = self.node(left);
        let r = self.node(right);
        let ((le, lt), (re, rt)) = (l?, r?);
        let result = match op {
            BinaryOp::And | BinaryOp::Or => {
                let ok_left =
                    self.expect(lt.ty, &[Type::Bool], left, &format!("`{}` joins yes/no conditions", op.symbol()));
                let ok_right =
                    self.expect(rt.ty, &[Type::Bool], right, &format!("`{}` joins yes/no conditions", op.symbol()));
                ok_left.and(ok_right)?;
                Type::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                self.comparable(lt, rt, left, right, span.clone(), false)?;
                Type::Bool
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                self.comparable(lt, rt, left, right, span.clone(), true)?;
                Type::Bool
            }
            BinaryOp::Add | BinaryOp::Sub => self.additive(op, lt.ty, rt.ty, left, right, span.clone())?,
            BinaryOp::Mul | BinaryOp::Div => {
                let what = if op == BinaryOp::Mul { "multiply" } else { "divide" };
                let ok_left =
                    self.expect(lt.ty, &[Type::Integer, Type::Decimal], left, &format!("can only {what} numbers"));
                let ok_right =
                    self.expect(rt.ty, &[Type::Integer, Type::Decimal], right, &format!("can only {what} numbers"));
                ok_left.and(ok_right)?;
                if op == BinaryOp::Mul && lt.ty == Type::Integer && rt.ty == Type::Integer {
                    Type::Integer
                } else {
                    Type::Decimal
                }
            }
        };
        Some((Expr::Binary(op, Box::new(le), Box::new(re)), Typed::plain(result)))
    }

    fn additive(
        &mut self,
        op: BinaryOp,
        l: Type,
        r: Type,
        left: &Node,
        right: &Node,
        span: Range<usize>,
    ) -> Option<Type> {
        use Type::*;
        let result = match (op, l, r) {
            (_, Integer, Integer) => Some(Integer),
            (_, Integer | Decimal, Integer | Decimal) => Some(Decimal),
            (BinaryOp::Add, Date, Integer) | (BinaryOp::Add, Integer, Date) | (BinaryOp::Sub, Date, Integer) => {
                Some(Date)
            }
            (BinaryOp::Sub, Date, Date) => Some(Integer),
            _ => None,
        };
        if result.is_none() {
            let help = match (l, r) {
                (Text, Text) => Some("texts cannot be added or subtracted".to_owned()),
                (Date, Decimal) | (Decimal, Date) => Some("add a whole number of days to a date".to_owned()),
                (Date, Date) => Some("dates can be subtracted (giving days), not added".to_owned()),
                _ => None,
            };
            let _ = (left, right);
            self.error_help(
                "expr-type",
                format!(
                    "cannot {} a {} and a {}",
                    if op == BinaryOp::Add { "add" } else { "subtract" },
                    l.name(),
                    r.name()
                ),
                span,
                help,
            );
        }
        result
    }

    fn comparable(
        &mut self,
        l: Typed<'e>,
        r: Typed<'e>,
        left: &Node,
        right: &Node,
        span: Range<usize>,
        ordered: bool,
    ) -> Option<()> {
        use Type::*;
        if l.ty == Multi || r.ty == Multi {
            let (node, name) = if l.ty == Multi { (left, left) } else { (right, right) };
            self.error_help(
                "expr-type",
                "a multiple choice cannot be compared directly",
                node.span.clone(),
                Some(format!("use `selected({name}, 'code')` or `count_selected({name})`")),
            );
            return None;
        }
        let same = l.ty == r.ty || (l.ty.is_number() && r.ty.is_number());
        if !same {
            let help = match (l.ty, r.ty) {
                (Date, Text) | (Text, Date) => Some("write a date as `date('2024-01-31')`".to_owned()),
                (Time, Text) | (Text, Time) => Some("write a time as `time('08:30')`".to_owned()),
                (Bool, Text) | (Text, Bool) => Some("yes/no answers are `true` or `false`, without quotes".to_owned()),
                (Integer | Decimal, Text) | (Text, Integer | Decimal) => {
                    Some("numbers are written without quotes".to_owned())
                }
                _ => None,
            };
            self.error_help(
                "expr-type",
                format!("cannot compare a {} with a {}", l.ty.name(), r.ty.name()),
                span,
                help,
            );
            return None;
        }
        if ordered && !matches!(l.ty, Integer | Decimal | Date | Time) {
            self.error_help(
                "expr-type",
                format!("a {} has no order; only numbers, dates and times can use < <= > >=", l.ty.name()),
                span,
                (l.ty == Text).then(|| "compare texts and codes with `=` or `!=`".to_owned()),
            );
            return None;
        }
        // A choice compared with a literal code: the code must exist.
        self.check_code(l, right);
        self.check_code(r, left);
        Some(())
    }

    /// If `node` is a text literal compared with a choice from `list`, checks the code.
    fn check_code(&mut self, typed: Typed<'e>, node: &Node) {
        let (Some(list), NodeKind::Text(code)) = (typed.list, &node.kind) else {
            return;
        };
        let Some(codes) = self.env.codes(list) else {
            return;
        };
        if codes.contains(&code.as_str()) {
            return;
        }
        // Inline choices are registered as `#question_id`.
        let (message, fallback) = match list.strip_prefix('#') {
            Some(question) => (
                format!("the choices of `{question}` have no code `{code}`"),
                format!("the codes are the `value`s of the `choices` of `{question}`"),
            ),
            None => (
                format!("the list `{list}` has no code `{code}`"),
                format!("the codes of `{list}` are listed in its file under `value`"),
            ),
        };
        let help = did_you_mean(code, codes.iter().copied()).or(Some(fallback));
        self.error_help("unknown-code", message, node.span.clone(), help);
    }

    fn arity(&mut self, func: Func, args: &[Node], allowed: &[usize], span: Range<usize>) -> Option<()> {
        if allowed.contains(&args.len()) {
            return Some(());
        }
        let mut counts: Vec<usize> = allowed.to_vec();
        counts.sort_unstable();
        let counts = match counts.as_slice() {
            [one] => one.to_string(),
            [first @ .., last] => {
                format!("{} or {last}", first.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
            }
            [] => "no".to_owned(),
        };
        let plural = if allowed == [1] { "" } else { "s" };
        let help = match func {
            Func::If => "write `if(condition, value_if_true, value_if_false)`, or `if(condition, value_if_true)` \
                         (empty when the condition is false)"
                .to_owned(),
            _ => format!("write `{}`", func.signature()),
        };
        self.error_help(
            "expr-type",
            format!("`{}` takes {counts} argument{plural}, not {}", func.name(), args.len()),
            span,
            Some(help),
        );
        None
    }

    /// A function argument that must name a question (or `.`).
    fn question_argument(&mut self, func: Func, arg: &Node) -> Option<(Expr, Typed<'e>)> {
        match &arg.kind {
            NodeKind::Ident(_) | NodeKind::Dot => self.node(arg),
            _ => {
                self.error_help(
                    "expr-type",
                    format!("`{}` needs a question id here", func.name()),
                    arg.span.clone(),
                    Some(format!("write `{}`", func.signature())),
                );
                None
            }
        }
    }

    fn literal_text<'n>(&mut self, func: Func, arg: &'n Node) -> Option<&'n str> {
        if let NodeKind::Text(text) = &arg.kind {
            return Some(text);
        }
        self.error_help(
            "expr-type",
            format!("`{}` needs a quoted text here", func.name()),
            arg.span.clone(),
            Some(format!("write `{}`", func.signature())),
        );
        None
    }

    fn call(&mut self, name: &str, name_span: Range<usize>, args: &[Node], span: Range<usize>) -> Out<'e> {
        let Some(func) = Func::from_name(name) else {
            let help = did_you_mean(name, Func::ALL.iter().map(|f| f.name()))
                .or_else(|| Some("the functions are today, selected, count, count_selected, answered, len, years_between, if, sum, date and time".to_owned()));
            self.error_help("unknown-function", format!("there is no function `{name}`"), name_span, help);
            // Still check the arguments, to report their problems too.
            for arg in args {
                let _ = self.node(arg);
            }
            return None;
        };
        match func {
            Func::Today => {
                self.arity(func, args, &[0], span)?;
                Some((Expr::Call(func, vec![]), Typed::plain(Type::Date)))
            }
            Func::Date | Func::Time => {
                self.arity(func, args, &[1], span)?;
                let text = self.literal_text(func, &args[0])?;
                if func == Func::Date {
                    if parse_date(text).is_none() {
                        self.error_help(
                            "expr-type",
                            format!("`{text}` is not a date"),
                            args[0].span.clone(),
                            Some("write the date as 'YYYY-MM-DD', e.g. date('2024-01-31')".into()),
                        );
                        return None;
                    }
                    Some((Expr::Date(text.to_owned()), Typed::plain(Type::Date)))
                } else {
                    if parse_time(text).is_none() {
                        self.error_help(
                            "expr-type",
                            format!("`{text}` is not a time"),
                            args[0].span.clone(),
                            Some("write the time as 'HH:MM' (24 hours), e.g. time('08:30')".into()),
                        );
                        return None;
                    }
                    Some((Expr::Time(text.to_owned()), Typed::plain(Type::Time)))
                }
            }
            Func::Selected => {
                self.arity(func, args, &[2], span)?;
                let question = self.question_argument(func, &args[0]);
                let code = self.literal_text(func, &args[1]);
                let (expr, typed) = question?;
                code?;
                if typed.list.is_none() || !matches!(typed.ty, Type::Text | Type::Multi) {
                    self.error(
                        "expr-type",
                        format!("`selected` needs a choice question, but this is a {}", typed.ty.name()),
                        args[0].span.clone(),
                    );
                    return None;
                }
                self.check_code(typed, &args[1]);
                let NodeKind::Text(code) = &args[1].kind else {
                    return None;
                };
                Some((Expr::Call(func, vec![expr, Expr::Text(code.clone())]), Typed::plain(Type::Bool)))
            }
            Func::Count => {
                self.arity(func, args, &[1], span)?;
                let NodeKind::Ident(name) = &args[0].kind else {
                    self.error_help(
                        "expr-type",
                        "`count` needs the id of a repeating section",
                        args[0].span.clone(),
                        Some("write `count(section_id)`".into()),
                    );
                    return None;
                };
                let symbol = self.resolve(name, args[0].span.clone())?;
                if !matches!(symbol.kind, SymbolKind::Repeat) {
                    let help = matches!(symbol.kind, SymbolKind::Value(Typed { ty: Type::Multi, .. }))
                        .then(|| format!("for the number of codes chosen, use `count_selected({name})`"));
                    self.error_help(
                        "expr-type",
                        format!("`count` needs a repeating section, and `{name}` is not one"),
                        args[0].span.clone(),
                        help,
                    );
                    return None;
                }
                Some((Expr::Call(func, vec![Expr::Ref(Reference::new(symbol.path))]), Typed::plain(Type::Integer)))
            }
            Func::Sum => {
                self.arity(func, args, &[1], span)?;
                let NodeKind::Ident(name) = &args[0].kind else {
                    self.error_help(
                        "expr-type",
                        "`sum` needs the id of a number question inside a repeat",
                        args[0].span.clone(),
                        Some("write `sum(question_id)`".into()),
                    );
                    return None;
                };
                let symbol = self.resolve(name, args[0].span.clone())?;
                let SymbolKind::Value(typed) = symbol.kind else {
                    self.error(
                        "expr-type",
                        format!("`sum` needs a number question, and `{name}` is not one"),
                        args[0].span.clone(),
                    );
                    return None;
                };
                if !typed.ty.is_number() {
                    self.error(
                        "expr-type",
                        format!("`sum` needs a number question, but `{name}` is a {}", typed.ty.name()),
                        args[0].span.clone(),
                    );
                    return None;
                }
                if self.visible(symbol.repeats) {
                    self.error_help(
                        "expr-type",
                        format!("`{name}` has a single value here, so there is nothing to sum"),
                        args[0].span.clone(),
                        Some("`sum` adds a question over the instances of a repeat; use the id alone".into()),
                    );
                    return None;
                }
                Some((Expr::Call(func, vec![Expr::Ref(Reference::new(symbol.path))]), Typed::plain(typed.ty)))
            }
            Func::CountSelected => {
                self.arity(func, args, &[1], span)?;
                let (expr, typed) = self.question_argument(func, &args[0])?;
                self.expect(typed.ty, &[Type::Multi], &args[0], "`count_selected` needs a multiple choice question")?;
                Some((Expr::Call(func, vec![expr]), Typed::plain(Type::Integer)))
            }
            Func::Answered => {
                self.arity(func, args, &[1], span)?;
                let (expr, _) = self.question_argument(func, &args[0])?;
                Some((Expr::Call(func, vec![expr]), Typed::plain(Type::Bool)))
            }
            Func::Len => {
                self.arity(func, args, &[1], span)?;
                let (expr, typed) = self.node(&args[0])?;
                self.expect(typed.ty, &[Type::Text], &args[0], "`len` counts the characters of a text")?;
                Some((Expr::Call(func, vec![expr]), Typed::plain(Type::Integer)))
            }
            Func::YearsBetween => {
                self.arity(func, args, &[2], span)?;
                let first = self.node(&args[0]);
                let second = self.node(&args[1]);
                let ((a, at), (b, bt)) = (first?, second?);
                let ok_a = self.expect(at.ty, &[Type::Date], &args[0], "`years_between` needs two dates");
                let ok_b = self.expect(bt.ty, &[Type::Date], &args[1], "`years_between` needs two dates");
                ok_a.and(ok_b)?;
                Some((Expr::Call(func, vec![a, b]), Typed::plain(Type::Integer)))
            }
            Func::If => {
                self.arity(func, args, &[3, 2], span)?;
                let checked: Vec<Out<'e>> = args.iter().map(|arg| self.node(arg)).collect();
                let checked: Vec<(Expr, Typed<'e>)> = checked.into_iter().collect::<Option<_>>()?;
                self.expect(checked[0].1.ty, &[Type::Bool], &args[0], "the condition of `if` must be yes/no")?;
                let mut result = checked[1].1;
                if let Some((_, other)) = checked.get(2) {
                    if result.ty.is_number() && other.ty.is_number() {
                        if result.ty != other.ty {
                            result = Typed::plain(Type::Decimal);
                        }
                    } else if result.ty != other.ty {
                        self.error(
                            "expr-type",
                            format!(
                                "both results of `if` must have the same type, not a {} and a {}",
                                result.ty.name(),
                                other.ty.name()
                            ),
                            args[2].span.clone(),
                        );
                        return None;
                    }
                    if result.list != other.list {
                        result.list = None;
                    }
                }
                let exprs = checked.into_iter().map(|(expr, _)| expr).collect();
                Some((Expr::Call(func, exprs), result))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    type TestSymbol = (String, String, Vec<String>, Option<Typed<'static>>, &'static str);

    struct TestEnv {
        symbols: Vec<TestSymbol>,
    }

    impl TestEnv {
        fn new() -> Self {
            let none: Vec<String> = vec![];
            let acts = vec!["acts".to_owned()];
            let mut symbols = vec![];
            let mut add =
                |id: &str, path: &str, repeats: &Vec<String>, typed: Option<Typed<'static>>, kind: &'static str| {
                    symbols.push((id.to_owned(), path.to_owned(), repeats.clone(), typed, kind));
                };
            add("age", "age", &none, Some(Typed::plain(Type::Integer)), "value");
            add("weight", "weight", &none, Some(Typed::plain(Type::Decimal)), "value");
            add("name", "name", &none, Some(Typed::plain(Type::Text)), "value");
            add("born", "born", &none, Some(Typed::plain(Type::Date)), "value");
            add("start", "start", &none, Some(Typed::plain(Type::Time)), "value");
            add("consent", "consent", &none, Some(Typed::plain(Type::Bool)), "value");
            add("sex", "sex", &none, Some(Typed { ty: Type::Text, list: Some("sex") }), "value");
            add("langs", "langs", &none, Some(Typed { ty: Type::Multi, list: Some("langs") }), "value");
            add("intro", "intro", &none, None, "note");
            add("person", "person", &none, None, "group");
            add("acts", "acts", &none, None, "repeat");
            add("act_type", "acts.act_type", &acts, Some(Typed { ty: Type::Text, list: Some("acts") }), "value");
            add("amount", "acts.amount", &acts, Some(Typed::plain(Type::Decimal)), "value");
            Self { symbols }
        }
    }

    impl Env for TestEnv {
        fn lookup(&self, id: &str) -> Option<Symbol<'_>> {
            self.symbols.iter().find(|s| s.0 == id).map(|s| Symbol {
                path: &s.1,
                repeats: &s.2,
                kind: match s.4 {
                    "value" => SymbolKind::Value(s.3.expect("typed")),
                    "note" => SymbolKind::Note,
                    "group" => SymbolKind::Group,
                    _ => SymbolKind::Repeat,
                },
            })
        }
        fn ids(&self) -> Vec<&str> {
            self.symbols.iter().map(|s| s.0.as_str()).collect()
        }
        fn codes(&self, list: &str) -> Option<Vec<&str>> {
            match list {
                "sex" => Some(vec!["hombre", "mujer", "no_responde"]),
                "langs" => Some(vec!["es", "nah", "en"]),
                "acts" => Some(vec!["robo", "secuestro"]),
                _ => None,
            }
        }
    }

    fn run(
        input: &str,
        repeats: &[String],
        self_type: Option<Typed<'static>>,
    ) -> Result<(String, Type), Vec<CheckError>> {
        let env = TestEnv::new();
        let node = parse(input).expect("parses");
        let context = Context { repeats, self_type };
        check(&node, &env, &context).map(|c| (crate::expr::json::to_json(&c.expr).to_string(), c.ty))
    }

    fn top(input: &str) -> Result<(String, Type), Vec<CheckError>> {
        run(input, &[], None)
    }

    fn error_code(input: &str) -> &'static str {
        top(input).expect_err(input)[0].code
    }

    #[test]
    fn types_of_operators() {
        assert_eq!(top("age + 1").unwrap().1, Type::Integer);
        assert_eq!(top("age + 1.5").unwrap().1, Type::Decimal);
        assert_eq!(top("age / 2").unwrap().1, Type::Decimal);
        assert_eq!(top("age * 2").unwrap().1, Type::Integer);
        assert_eq!(top("born + 30").unwrap().1, Type::Date);
        assert_eq!(top("born - 30").unwrap().1, Type::Date);
        assert_eq!(top("today() - born").unwrap().1, Type::Integer);
        assert_eq!(top("-weight").unwrap().1, Type::Decimal);
        assert_eq!(top("age >= 18 and not consent").unwrap().1, Type::Bool);
        assert_eq!(top("start < time('12:00')").unwrap().1, Type::Bool);
        assert_eq!(top("born <= date('2024-02-29')").unwrap().1, Type::Bool);
        assert_eq!(top("if(consent, 1, 2.5)").unwrap().1, Type::Decimal);
        assert_eq!(top("if(consent, 'a')").unwrap().1, Type::Text);
        assert_eq!(top("years_between(born, today())").unwrap().1, Type::Integer);
        assert_eq!(top("len(name) > 3").unwrap().1, Type::Bool);
        assert_eq!(top("count_selected(langs)").unwrap().1, Type::Integer);
        assert_eq!(top("count(acts)").unwrap().1, Type::Integer);
        assert_eq!(top("sum(amount)").unwrap().1, Type::Decimal);
        assert_eq!(top("answered(name)").unwrap().1, Type::Bool);
    }

    #[test]
    fn compiled_json_uses_paths() {
        let (json, _) = run("act_type = 'robo' and age > 1", &["acts".to_owned()], None).unwrap();
        assert_eq!(json, r#"["and",["=",["ref","acts.act_type"],"robo"],[">",["ref","age"],1]]"#);
        let (json, _) = top("selected(langs, 'es')").unwrap();
        assert_eq!(json, r#"["selected",["ref","langs"],"es"]"#);
    }

    #[test]
    fn type_errors() {
        for input in [
            "age + name",
            "name < 'b'",
            "born = '2024-01-01'",
            "consent = 'true'",
            "age = '3'",
            "langs = 'es'",
            "not age",
            "age and consent",
            "-name",
            "born + born",
            "born + 1.5",
            "len(age)",
            "years_between(born, age)",
            "if(age, 1, 2)",
            "if(consent, 1, 'x')",
            "count_selected(sex)",
            "selected(age, 'x')",
            "selected(sex, 1)",
            "selected('x', 'y')",
            "count(age)",
            "count(langs)",
            "sum(name)",
            "sum(age)",
            "today(1)",
            "date('2024-02-30')",
            "time('25:00')",
            "date(born)",
            "intro = 1",
            "person = 1",
            "acts = 1",
            "name * 2",
        ] {
            assert_eq!(error_code(input), "expr-type", "{input}");
        }
    }

    #[test]
    fn references_and_codes() {
        let errors = top("agee > 1").unwrap_err();
        assert_eq!(errors[0].code, "unknown-reference");
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `age`?"));
        assert_eq!(error_code("act_type = 'robo'"), "repeat-reference");
        assert_eq!(error_code("sex = 'mujr'"), "unknown-code");
        assert_eq!(error_code("'mujr' = sex"), "unknown-code");
        assert_eq!(error_code("selected(langs, 'fr')"), "unknown-code");
        assert_eq!(error_code(". > 1"), "self-outside-constraint");
        assert_eq!(error_code("lenght(name)"), "unknown-function");
        assert!(run(". > 1", &[], Some(Typed::plain(Type::Integer))).is_ok());
        assert!(run("act_type = 'robo'", &["acts".to_owned()], None).is_ok());
    }

    fn ty(input: &str) -> Type {
        top(input).unwrap_or_else(|errors| panic!("{input}: {errors:?}")).1
    }

    fn message(input: &str) -> String {
        top(input).expect_err(input)[0].message.clone()
    }

    #[test]
    fn every_operator_has_a_result_type() {
        for input in ["consent or age > 1", "consent and consent", "not consent"] {
            assert_eq!(ty(input), Type::Bool, "{input}");
        }
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            assert_eq!(ty(&format!("age {op} 1")), Type::Bool, "{op}");
            assert_eq!(ty(&format!("weight {op} 1")), Type::Bool, "{op}");
            assert_eq!(ty(&format!("born {op} date('2024-01-01')")), Type::Bool, "{op}");
            assert_eq!(ty(&format!("start {op} time('08:00')")), Type::Bool, "{op}");
        }
        for op in ["=", "!="] {
            assert_eq!(ty(&format!("name {op} 'Ana'")), Type::Bool, "{op}");
            assert_eq!(ty(&format!("consent {op} true")), Type::Bool, "{op}");
        }
        assert_eq!(ty("age - 1"), Type::Integer);
        assert_eq!(ty("age - 0.5"), Type::Decimal);
        assert_eq!(ty("weight * 2"), Type::Decimal);
        assert_eq!(ty("age / age"), Type::Decimal, "a division may have a fraction");
        assert_eq!(ty("-age"), Type::Integer);
        assert_eq!(ty("30 + born"), Type::Date);
        assert_eq!(ty("(age + 1) * 2"), Type::Integer);
    }

    #[test]
    fn every_function_has_a_result_type() {
        assert_eq!(ty("today()"), Type::Date);
        assert_eq!(ty("date('2024-02-29')"), Type::Date);
        assert_eq!(ty("time('23:59')"), Type::Time);
        assert_eq!(ty("selected(sex, 'mujer')"), Type::Bool);
        assert_eq!(ty("selected(langs, 'es')"), Type::Bool);
        assert_eq!(ty("count(acts)"), Type::Integer);
        assert_eq!(ty("count_selected(langs)"), Type::Integer);
        assert_eq!(ty("answered(langs)"), Type::Bool);
        assert_eq!(ty("answered(born)"), Type::Bool);
        assert_eq!(ty("len(name)"), Type::Integer);
        assert_eq!(ty("years_between(born, today())"), Type::Integer);
        assert_eq!(ty("if(consent, 1, 2)"), Type::Integer);
        assert_eq!(ty("if(consent, 1.5)"), Type::Decimal);
        assert_eq!(ty("if(consent, born, today())"), Type::Date);
        assert_eq!(ty("sum(amount)"), Type::Decimal);
    }

    #[test]
    fn self_value_has_the_type_of_the_constrained_question() {
        let integer = Some(Typed::plain(Type::Integer));
        assert!(run(". >= 0 and . <= 120", &[], integer).is_ok());
        assert_eq!(run(". = 'x'", &[], integer).unwrap_err()[0].code, "expr-type");
        let choice = Some(Typed { ty: Type::Text, list: Some("sex") });
        assert!(run("selected(., 'mujer') or . = 'hombre'", &[], choice).is_ok());
        assert_eq!(run(". = 'mujr'", &[], choice).unwrap_err()[0].code, "unknown-code");
        let multi = Some(Typed { ty: Type::Multi, list: Some("langs") });
        assert!(run("count_selected(.) <= 2 and not(selected(., 'en'))", &[], multi).is_ok());
        assert_eq!(run("selected(., 'fr')", &[], multi).unwrap_err()[0].code, "unknown-code");
    }

    #[test]
    fn more_type_errors() {
        for input in [
            "consent or age",
            "age / name",
            "name - 1",
            "start + 1",
            "consent < true",
            "langs < 1",
            "start = born",
            "answered('x')",
            "count_selected(1)",
            "count(1)",
            "sum(1)",
            "selected(langs)",
            "years_between(born)",
            "len()",
            "if(consent)",
            "if(consent, 1, 2, 3)",
            "if(consent, born, 1)",
        ] {
            assert_eq!(error_code(input), "expr-type", "{input}");
        }
    }

    #[test]
    fn arity_messages_say_how_many_arguments() {
        assert_eq!(message("if(consent)"), "`if` takes 2 or 3 arguments, not 1");
        assert_eq!(message("if(consent, 1, 2, 3)"), "`if` takes 2 or 3 arguments, not 4");
        assert_eq!(message("len()"), "`len` takes 1 argument, not 0");
        assert_eq!(message("today(1)"), "`today` takes 0 arguments, not 1");
        assert_eq!(message("selected(langs)"), "`selected` takes 2 arguments, not 1");
        let help = top("if(consent)").unwrap_err()[0].help.clone().unwrap_or_default();
        assert!(help.contains("if(condition, value_if_true)"), "{help}");
    }

    #[test]
    fn type_error_messages_name_both_types() {
        assert_eq!(message("age + name"), "cannot add a whole number and a text");
        assert_eq!(message("born = '2024-01-01'"), "cannot compare a date with a text");
        assert_eq!(message("name < 'b'"), "a text has no order; only numbers, dates and times can use < <= > >=");
        assert_eq!(
            message("if(consent, 1, 'x')"),
            "both results of `if` must have the same type, not a whole number and a text"
        );
        assert_eq!(message("not age"), "`not` needs a yes/no value, but this is a whole number");
    }

    #[test]
    fn all_errors_of_an_expression_are_reported() {
        let errors = top("agee > 1 and namee = 'x'").unwrap_err();
        assert_eq!(errors.len(), 2);
    }
}

//! The expression language of skip logic, checks and calculations.
//!
//! ```
//! use constancia::expr::{parse, Expr};
//! let parsed = parse("edad >= 18 and selected(nacionalidad, 'SV')").unwrap();
//! assert_eq!(parsed.to_string(), "((edad >= 18) and selected(nacionalidad, 'SV'))");
//! ```
//!
//! An expression goes through three stages:
//!
//! 1. [`parse`] turns the text into a [`Node`] tree that keeps byte spans, so
//!    errors can point at the offending part of a TOML string;
//! 2. [`check::check`] resolves question ids against a form, type-checks, and
//!    produces a compiled [`Expr`] (question paths instead of ids, no spans);
//! 3. [`eval::evaluate`] computes an [`Expr`] against a set of answers.
//!
//! Compiled expressions travel inside the form manifest as compact JSON
//! arrays (see [`Expr`]'s serde impls), which the browser runtime evaluates
//! with the same rules; shared conformance vectors prove the two agree.

pub mod check;
pub mod eval;
mod json;
mod parse;

use std::fmt;
use std::ops::Range;

pub use parse::{ParseError, parse};

/// A parsed expression with spans (byte offsets into the expression text).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Where it is in the expression text.
    pub span: Range<usize>,
}

/// The kinds of parsed expression nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A number literal; `integer` when written without a decimal point.
    Number {
        /// The value.
        value: f64,
        /// Written without a fraction.
        integer: bool,
    },
    /// A quoted text literal.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A question or section id.
    Ident(String),
    /// `.`, the value of the question being constrained.
    Dot,
    /// `not x` or `-x`.
    Unary(UnaryOp, Box<Node>),
    /// `a op b`.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// `name(args...)`.
    Call {
        /// The function name as written.
        name: String,
        /// Span of the name alone.
        name_span: Range<usize>,
        /// The arguments.
        args: Vec<Node>,
    },
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Infix operators, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator as written (and as named in the compiled JSON).
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Or => "or",
            Self::And => "and",
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
        }
    }

    fn from_symbol(symbol: &str) -> Option<Self> {
        Some(match symbol {
            "or" => Self::Or,
            "and" => Self::And,
            "=" => Self::Eq,
            "!=" => Self::Ne,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "+" => Self::Add,
            "-" => Self::Sub,
            "*" => Self::Mul,
            "/" => Self::Div,
            _ => return None,
        })
    }

    /// Whether the operator compares its operands.
    pub fn is_comparison(self) -> bool {
        matches!(self, Self::Eq | Self::Ne | Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }
}

/// The functions of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Func {
    /// `today()`: the date the case was taken.
    Today,
    /// `selected(q, 'code')`: whether a choice question has this code.
    Selected,
    /// `count(section)`: how many instances a repeat has.
    Count,
    /// `count_selected(q)`: how many codes a multiple choice has.
    CountSelected,
    /// `answered(q)`: whether a question has an answer.
    Answered,
    /// `len(text)`: the number of characters.
    Len,
    /// `years_between(d1, d2)`: whole years from d1 to d2 (an age).
    YearsBetween,
    /// `if(cond, a, b)` or `if(cond, a)`.
    If,
    /// `sum(q)`: the sum of a number question over a repeat's instances.
    Sum,
    /// `date('YYYY-MM-DD')`: a date literal.
    Date,
    /// `time('HH:MM')`: a time literal.
    Time,
}

impl Func {
    /// Every function, for suggestions and documentation.
    pub const ALL: [Func; 11] = [
        Func::Today,
        Func::Selected,
        Func::Count,
        Func::CountSelected,
        Func::Answered,
        Func::Len,
        Func::YearsBetween,
        Func::If,
        Func::Sum,
        Func::Date,
        Func::Time,
    ];

    /// The name as written.
    pub fn name(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Selected => "selected",
            Self::Count => "count",
            Self::CountSelected => "count_selected",
            Self::Answered => "answered",
            Self::Len => "len",
            Self::YearsBetween => "years_between",
            Self::If => "if",
            Self::Sum => "sum",
            Self::Date => "date",
            Self::Time => "time",
        }
    }

    /// Looks a function up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|func| func.name() == name)
    }

    /// How the function is called, for error messages.
    pub fn signature(self) -> &'static str {
        match self {
            Self::Today => "today()",
            Self::Selected => "selected(question, 'code')",
            Self::Count => "count(repeat_section)",
            Self::CountSelected => "count_selected(question)",
            Self::Answered => "answered(question)",
            Self::Len => "len(text)",
            Self::YearsBetween => "years_between(date1, date2)",
            Self::If => "if(condition, value_if_true, value_if_false)",
            Self::Sum => "sum(question_in_repeat)",
            Self::Date => "date('YYYY-MM-DD')",
            Self::Time => "time('HH:MM')",
        }
    }
}

/// A compiled expression: ids resolved to question paths, literals checked.
///
/// In JSON (inside manifests) a number, string or boolean literal is itself;
/// every other node is an array whose first element names it:
/// `["ref", "acts.act_type"]`, `["."]`, `["date", "2024-01-31"]`,
/// `["time", "08:30"]`, `["not", x]`, `["neg", x]`, `["and", a, b]`,
/// `["=", a, b]` (and the other operators by their symbol), and
/// `["selected", ["ref", "q"], "code"]` (and the other functions by name).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A date literal, kept as written (`YYYY-MM-DD`, already validated).
    Date(String),
    /// A time literal, `HH:MM`.
    Time(String),
    /// The value of the question (or, inside `count`, the repeat section) at this path.
    Ref(Reference),
    /// `.`: the value being constrained.
    SelfValue,
    /// `not x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call (never `date`/`time`, which compile to literals).
    Call(Func, Vec<Expr>),
}

/// The data path an expression reads (`acts.act_type`). It remembers where
/// the path leads in the answers' [`Layout`](crate::answers::Layout) it was
/// last evaluated against, so evaluating it again against the same form
/// version looks nothing up.
#[derive(Debug, Clone)]
pub struct Reference {
    path: String,
    /// The layout's id and the route found there.
    pub(crate) route: std::sync::OnceLock<(u64, Option<crate::answers::Route>)>,
}

impl Reference {
    /// A reference to a data path.
    pub fn new(path: impl Into<String>) -> Self {
        Self { path: path.into(), route: std::sync::OnceLock::new() }
    }

    /// The data path.
    pub fn as_str(&self) -> &str {
        &self.path
    }
}

impl PartialEq for Reference {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl std::ops::Deref for Reference {
    type Target = str;

    fn deref(&self) -> &str {
        &self.path
    }
}

impl Expr {
    /// Every path this expression reads, including inside aggregates.
    pub fn references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out
    }

    /// Calls `visit` with every reference of this expression, to point
    /// them at a layout of answers.
    pub(crate) fn for_each_reference_mut(&mut self, visit: &mut impl FnMut(&mut Reference)) {
        match self {
            Self::Ref(reference) => visit(reference),
            Self::Not(inner) | Self::Neg(inner) => inner.for_each_reference_mut(visit),
            Self::Binary(_, left, right) => {
                left.for_each_reference_mut(visit);
                right.for_each_reference_mut(visit);
            }
            Self::Call(_, args) => args.iter_mut().for_each(|arg| arg.for_each_reference_mut(visit)),
            Self::Number(_) | Self::Text(_) | Self::Bool(_) | Self::Date(_) | Self::Time(_) | Self::SelfValue => {}
        }
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::Ref(path) => out.push(path.as_str()),
            Self::Not(inner) | Self::Neg(inner) => inner.collect_references(out),
            Self::Binary(_, left, right) => {
                left.collect_references(out);
                right.collect_references(out);
            }
            Self::Call(_, args) => args.iter().for_each(|arg| arg.collect_references(out)),
            Self::Number(_) | Self::Text(_) | Self::Bool(_) | Self::Date(_) | Self::Time(_) | Self::SelfValue => {}
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            NodeKind::Number { value, .. } => write!(f, "{value}"),
            NodeKind::Text(text) => write!(f, "'{}'", text.replace('\'', "''")),
            NodeKind::Bool(value) => write!(f, "{value}"),
            NodeKind::Ident(name) => f.write_str(name),
            NodeKind::Dot => f.write_str("."),
            NodeKind::Unary(UnaryOp::Not, inner) => write!(f, "(not {inner})"),
            NodeKind::Unary(UnaryOp::Neg, inner) => write!(f, "(-{inner})"),
            NodeKind::Binary(op, left, right) => write!(f, "({left} {} {right})", op.symbol()),
            NodeKind::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

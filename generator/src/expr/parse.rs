//! The expression parser: text to a spanned [`Node`] tree.
//!
//! A hand-written lexer and recursive-descent parser, because the grammar is
//! tiny and we want precise spans and friendly errors ("write `and`, not
//! `&&`"). Nesting is bounded so no input can exhaust the stack.

use std::ops::Range;

use super::{BinaryOp, Node, NodeKind, UnaryOp};

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

/// A syntax error in an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes of the expression text.
    pub span: Range<usize>,
    /// How to fix it, when we can guess.
    pub help: Option<String>,
}

impl ParseError {
    fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        Self { message: message.into(), span, help: None }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number { value: f64, integer: bool },
    Text(String),
    Ident(String),
    Dot,
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Number { .. } => "a number".into(),
            Token::Text(_) => "a text".into(),
            Token::Ident(name) => format!("`{name}`"),
            Token::Dot => "`.`".into(),
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::Comma => "`,`".into(),
            Token::Op(op) => format!("`{op}`"),
            Token::End => "the end of the expression".into(),
        }
    }
}

fn lex(input: &str) -> Result<Vec<(Token, Range<usize>)>, ParseError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let c = bytes[at];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                at += 1;
                continue;
            }
            b'(' => {
                at += 1;
                tokens.push((Token::LParen, start..at));
            }
            b')' => {
                at += 1;
                tokens.push((Token::RParen, start..at));
            }
            b',' => {
                at += 1;
                tokens.push((Token::Comma, start..at));
            }
            b'+' | b'*' | b'/' => {
                at += 1;
                let op = match c {
                    b'+' => "+",
                    b'*' => "*",
                    _ => "/",
                };
                tokens.push((Token::Op(op), start..at));
            }
            b'-' => {
                at += 1;
                tokens.push((Token::Op("-"), start..at));
            }
            b'=' => {
                if bytes.get(at + 1) == Some(&b'=') {
                    return Err(ParseError::new("`==` is not an operator", start..start + 2)
                        .help("write a single `=` to compare"));
                }
                at += 1;
                tokens.push((Token::Op("="), start..at));
            }
            b'!' => {
                if bytes.get(at + 1) == Some(&b'=') {
                    at += 2;
                    tokens.push((Token::Op("!="), start..at));
                } else {
                    return Err(ParseError::new("`!` is not an operator", start..start + 1)
                        .help("write `not` to negate, or `!=` for \"different from\""));
                }
            }
            b'<' | b'>' => {
                at += 1;
                if bytes.get(at) == Some(&b'>') && c == b'<' {
                    return Err(ParseError::new("`<>` is not an operator", start..at + 1)
                        .help("write `!=` for \"different from\""));
                }
                let op = if bytes.get(at) == Some(&b'=') {
                    at += 1;
                    if c == b'<' { "<=" } else { ">=" }
                } else if c == b'<' {
                    "<"
                } else {
                    ">"
                };
                tokens.push((Token::Op(op), start..at));
            }
            b'&' | b'|' => {
                let word = if c == b'&' { "and" } else { "or" };
                let len = if bytes.get(at + 1) == Some(&c) { 2 } else { 1 };
                return Err(ParseError::new(
                    format!("`{}` is not an operator", &input[start..start + len]),
                    start..start + len,
                )
                .help(format!("write `{word}`")));
            }
            b'\'' | b'"' => {
                let quote = c;
                at += 1;
                let mut text = String::new();
                loop {
                    let Some(&next) = bytes.get(at) else {
                        return Err(ParseError::new("this text is never closed", start..input.len())
                            .help(format!("end it with {}", quote as char)));
                    };
                    if next == quote {
                        // A doubled quote stands for the quote itself.
                        if bytes.get(at + 1) == Some(&quote) {
                            text.push(quote as char);
                            at += 2;
                            continue;
                        }
                        at += 1;
                        break;
                    }
                    let ch = input[at..].chars().next().unwrap_or('\u{fffd}');
                    text.push(ch);
                    at += ch.len_utf8();
                }
                tokens.push((Token::Text(text), start..at));
            }
            b'0'..=b'9' => {
                while at < bytes.len() && bytes[at].is_ascii_digit() {
                    at += 1;
                }
                let mut integer = true;
                if bytes.get(at) == Some(&b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
                    integer = false;
                    at += 1;
                    while at < bytes.len() && bytes[at].is_ascii_digit() {
                        at += 1;
                    }
                }
                if bytes.get(at).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
                    return Err(ParseError::new("a number cannot run into letters", start..at + 1));
                }
                let text = &input[start..at];
                let value: f64 = text.parse().map_err(|_| ParseError::new("this is not a number", start..at))?;
                if !value.is_finite() || (integer && value > 9_007_199_254_740_991.0) {
                    return Err(ParseError::new("this number is too large", start..at)
                        .help("numbers must stay below 9007199254740992"));
                }
                tokens.push((Token::Number { value, integer }, start..at));
            }
            b'.' => {
                if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
                    return Err(ParseError::new("a number must start with a digit", start..start + 1)
                        .help("write `0.5`, not `.5`"));
                }
                at += 1;
                tokens.push((Token::Dot, start..at));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                    at += 1;
                }
                let word = &input[start..at];
                let token = match word {
                    "and" => Token::Op("and"),
                    "or" => Token::Op("or"),
                    "not" => Token::Op("not"),
                    _ => Token::Ident(word.to_owned()),
                };
                tokens.push((token, start..at));
            }
            _ => {
                let ch = input[at..].chars().next().unwrap_or('\u{fffd}');
                let end = at + ch.len_utf8();
                let mut error = ParseError::new(format!("unexpected character `{ch}`"), start..end);
                if ch == '[' || ch == ']' {
                    error = error.help("lists of values are not expressions; use `selected(q, 'code')` with `or`");
                }
                return Err(error);
            }
        }
    }
    tokens.push((Token::End, input.len()..input.len()));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, Range<usize>)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }

    fn span(&self) -> Range<usize> {
        self.tokens[self.at].1.clone()
    }

    fn bump(&mut self) -> (Token, Range<usize>) {
        let token = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(
                ParseError::new("this expression is nested too deeply", self.span()).help("split it into calculations")
            );
        }
        Ok(())
    }

    fn expect(&mut self, expected: Token, what: &str) -> Result<Range<usize>, ParseError> {
        if *self.peek() == expected {
            Ok(self.bump().1)
        } else {
            Err(ParseError::new(format!("expected {what}, found {}", self.peek().describe()), self.span()))
        }
    }

    fn expression(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let node = self.or();
        self.depth -= 1;
        node
    }

    fn binary_level(
        &mut self,
        ops: &[(&str, BinaryOp)],
        next: fn(&mut Self) -> Result<Node, ParseError>,
    ) -> Result<Node, ParseError> {
        // A chain `a + b + c ...` builds a left-deep tree, so every operator
        // of the chain counts towards the nesting limit.
        let base = self.depth;
        let mut left = next(self)?;
        while let Token::Op(symbol) = self.peek() {
            let Some((_, op)) = ops.iter().find(|(s, _)| s == symbol) else {
                break;
            };
            let op = *op;
            self.bump();
            if let Err(error) = self.enter() {
                self.depth = base;
                return Err(error);
            }
            let right = next(self)?;
            let span = left.span.start..right.span.end;
            left = Node { kind: NodeKind::Binary(op, Box::new(left), Box::new(right)), span };
        }
        self.depth = base;
        Ok(left)
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        self.binary_level(&[("or", BinaryOp::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        self.binary_level(&[("and", BinaryOp::And)], Self::not)
    }

    fn not(&mut self) -> Result<Node, ParseError> {
        if *self.peek() == Token::Op("not") {
            let start = self.bump().1.start;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            let span = start..inner.span.end;
            return Ok(Node { kind: NodeKind::Unary(UnaryOp::Not, Box::new(inner)), span });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node, ParseError> {
        const OPS: [(&str, BinaryOp); 6] = [
            ("=", BinaryOp::Eq),
            ("!=", BinaryOp::Ne),
            ("<", BinaryOp::Lt),
            ("<=", BinaryOp::Le),
            (">", BinaryOp::Gt),
            (">=", BinaryOp::Ge),
        ];
        let left = self.additive()?;
        let Token::Op(symbol) = self.peek() else {
            return Ok(left);
        };
        let Some((_, op)) = OPS.iter().find(|(s, _)| s == symbol) else {
            return Ok(left);
        };
        let op = *op;
        self.bump();
        let right = self.additive()?;
        if let Token::Op(next) = self.peek()
            && OPS.iter().any(|(s, _)| s == next)
        {
            return Err(ParseError::new("comparisons cannot be chained", self.span())
                .help("join two comparisons with `and`, e.g. `a <= x and x <= b`"));
        }
        let span = left.span.start..right.span.end;
        Ok(Node { kind: NodeKind::Binary(op, Box::new(left), Box::new(right)), span })
    }

    fn additive(&mut self) -> Result<Node, ParseError> {
        self.binary_level(&[("+", BinaryOp::Add), ("-", BinaryOp::Sub)], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<Node, ParseError> {
        self.binary_level(&[("*", BinaryOp::Mul), ("/", BinaryOp::Div)], Self::unary)
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if *self.peek() == Token::Op("-") {
            let start = self.bump().1.start;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = start..inner.span.end;
            return Ok(Node { kind: NodeKind::Unary(UnaryOp::Neg, Box::new(inner)), span });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        let (token, span) = self.bump();
        let kind = match token {
            Token::Number { value, integer } => NodeKind::Number { value, integer },
            Token::Text(text) => NodeKind::Text(text),
            Token::Dot => NodeKind::Dot,
            Token::Ident(name) if name == "true" => NodeKind::Bool(true),
            Token::Ident(name) if name == "false" => NodeKind::Bool(false),
            Token::Ident(name) => {
                if *self.peek() == Token::LParen {
                    return self.call(name, span);
                }
                NodeKind::Ident(name)
            }
            Token::LParen => {
                let inner = self.expression()?;
                let end = self.expect(Token::RParen, "`)`")?.end;
                return Ok(Node { kind: inner.kind, span: span.start..end });
            }
            other => {
                let message = match other {
                    Token::End => "the expression ends too early".to_owned(),
                    other => format!("expected a value, found {}", other.describe()),
                };
                return Err(ParseError::new(message, span));
            }
        };
        Ok(Node { kind, span })
    }

    fn call(&mut self, name: String, name_span: Range<usize>) -> Result<Node, ParseError> {
        self.bump(); // `(`
        let mut args = Vec::new();
        if *self.peek() != Token::RParen {
            loop {
                args.push(self.expression()?);
                if *self.peek() == Token::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        let end = self.expect(Token::RParen, "`,` or `)` after a function argument")?.end;
        Ok(Node { kind: NodeKind::Call { name, name_span: name_span.clone(), args }, span: name_span.start..end })
    }
}

/// Parses an expression.
///
/// ```
/// let node = constancia::expr::parse("count(actos) >= 1").unwrap();
/// assert_eq!(node.span, 0..17);
/// assert!(constancia::expr::parse("a && b").is_err());
/// ```
pub fn parse(input: &str) -> Result<Node, ParseError> {
    if input.trim().is_empty() {
        return Err(ParseError::new("the expression is empty", 0..input.len()));
    }
    let mut parser = Parser { tokens: lex(input)?, at: 0, depth: 0 };
    let node = parser.expression()?;
    if *parser.peek() != Token::End {
        let mut error =
            ParseError::new(format!("unexpected {} after the expression", parser.peek().describe()), parser.span());
        if matches!(parser.peek(), Token::Ident(_) | Token::Text(_) | Token::Number { .. }) {
            error = error.help("join conditions with `and` or `or`");
        }
        return Err(error);
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(input: &str) -> String {
        parse(input).map(|n| n.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn precedence_follows_the_usual_rules() {
        assert_eq!(shape("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(shape("a or b and c"), "(a or (b and c))");
        assert_eq!(shape("not a = 1"), "(not (a = 1))");
        assert_eq!(shape("-x - 1"), "((-x) - 1)");
        assert_eq!(shape("(1 + 2) * 3"), "((1 + 2) * 3)");
        assert_eq!(shape("a - b - c"), "((a - b) - c)");
        assert_eq!(shape("x / 2 * 3"), "((x / 2) * 3)");
    }

    #[test]
    fn literals_and_calls() {
        assert_eq!(shape("'it''s'"), "'it''s'");
        assert_eq!(shape("\"double\""), "'double'");
        assert_eq!(shape("3.25"), "3.25");
        assert_eq!(shape("selected(q, 'a')"), "selected(q, 'a')");
        assert_eq!(shape("today()"), "today()");
        assert_eq!(shape(". <= today()"), "(. <= today())");
        assert_eq!(shape("true and false"), "(true and false)");
    }

    #[test]
    fn spans_cover_the_written_text() {
        let node = parse("  edad >= 18").unwrap();
        assert_eq!(node.span, 2..12);
        let NodeKind::Binary(_, left, right) = node.kind else { panic!("binary") };
        assert_eq!(left.span, 2..6);
        assert_eq!(right.span, 10..12);
    }

    #[test]
    fn friendly_errors() {
        for (input, help) in [
            ("a == 1", "single `=`"),
            ("a && b", "`and`"),
            ("a || b", "`or`"),
            ("!a", "`not`"),
            ("a <> b", "`!=`"),
            (".5", "`0.5`"),
            ("a < b < c", "`and`"),
            ("a b", "`and`"),
        ] {
            let error = parse(input).unwrap_err();
            assert!(error.help.as_deref().unwrap_or("").contains(help), "{input}: {error:?}");
        }
        assert!(parse("").is_err());
        assert!(parse("'open").is_err());
        assert!(parse("f(1,").is_err());
        assert!(parse("(1").is_err());
        assert!(parse("1 +").is_err());
        assert!(parse("99999999999999999999").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let negs = "-".repeat(10_000) + "1";
        assert!(parse(&negs).is_err());
        let nots = "not ".repeat(10_000) + "true";
        assert!(parse(&nots).is_err());
    }
}

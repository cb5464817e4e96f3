//! Scope queries: `invoices:read OR (invoices:write AND reports:read["eu 1"])`, parsed into a tree
//! and evaluated against the scopes a key holds.
//!
//! The grammar (also in `openapi.yaml`, the `scope_query` property of `VerifyRequest`), in two
//! layers. The text is first split into words, at whitespace and at `(`, `)`, `[`, `]` and `"`:
//!
//! ```text
//! word        = 1*( any character but ws, "(", ")", "[", "]" and DQUOTE )
//! ws          = SP / HTAB / CR / LF
//! ```
//!
//! Then, with whitespace allowed between any two parts:
//!
//! ```text
//! query       = disjunction
//! disjunction = conjunction *( OR conjunction )         ; AND binds tighter than OR
//! conjunction = operand *( AND operand )
//! operand     = scope / "(" disjunction ")"
//! scope       = word [ "[" target "]" ]                 ; no whitespace before "["
//! AND         = a word that is "and" in any case
//! OR          = a word that is "or" in any case
//! ```
//!
//! A scope's word is `resource ":" access`, the access being what follows its last `:` (`read`,
//! `create`, `update`, `delete` or `write`) and the resource a scope's resource name
//! (`RESOURCE_PATTERN`, 1 to 64 characters); a target is a JSON string (RFC 8259, section 7) of 1
//! to 128 characters, no NUL. So `a:readorb:read` is one scope (of the resource `a:readorb`) and
//! `x:read["a"]AND y:read` two. A query is at most [`SCOPE_QUERY`]`.max` characters (Unicode
//! code points, as every offset here counts) and nests at most [`MAX_SCOPE_QUERY_DEPTH`]
//! parentheses. A scope without a target asks for a scope held on all targets, as a
//! [`ScopeCheck`] without one does; `write` grants every access.

use std::fmt;

use super::bounds::{MAX_SCOPE_QUERY_DEPTH, NAME, RESOURCE, SCOPE_QUERY};
use super::scope::{Access, Scope};
use super::validation::is_resource_character;
use super::verification::ScopeCheck;

/// A parsed scope query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeQuery {
    root: Node,
}

/// A node of a query's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Scope(ScopeCheck),
    All(Vec<Node>),
    Any(Vec<Node>),
}

/// Why a query does not parse: at `position` (an offset in characters, the first is 0),
/// `expected` was expected and `found` was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub position: usize,
    pub expected: Expected,
    pub found: Found,
}

/// What a query should have held where it did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A scope or an opening parenthesis.
    Operand,
    /// An operator, or the end of the query.
    OperatorOrEnd,
    /// An operator, or the parenthesis that closes the one opened at the given offset.
    OperatorOrClose(usize),
    /// The `:` between a resource and its access.
    Colon,
    /// The first character of a resource name.
    ResourceStart,
    /// A character of a resource name.
    ResourceCharacter,
    /// A resource name no longer than the bound.
    ShorterResource,
    /// One of the five accesses.
    Access,
    /// The JSON string of a target.
    Target,
    /// A character of a JSON string that is not a control character.
    StringCharacter,
    /// One of JSON's escapes.
    Escape,
    /// A hexadecimal digit of a `\u` escape.
    HexDigit,
    /// A `\u` escape of a low surrogate, after one of a high surrogate.
    LowSurrogate,
    /// A `\u` escape of anything but a lone low surrogate.
    NotLowSurrogate,
    /// An escape of anything but NUL, which no target holds.
    NotNul,
    /// The closing quote of a target.
    Quote,
    /// A target of the bound's length.
    TargetLength,
    /// The bracket that closes a target.
    Bracket,
    /// The end of a query no longer than the bound.
    ShorterQuery,
    /// No more nested parentheses than the bound.
    ShallowerNesting,
}

/// What a query held where it did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    End,
    /// The text there: a word, or one character.
    Text(String),
}

impl QueryError {
    /// The stable code of the error: a query too long or too deep, or one that does not parse.
    pub fn code(&self) -> &'static str {
        match self.expected {
            Expected::ShorterQuery => "too_long",
            Expected::ShallowerNesting => "too_deep",
            _ => "invalid_scope_query",
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: expected {}, found {}", self.position, self.expected, self.found)
    }
}

impl std::error::Error for QueryError {}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Operand => write!(f, "a scope (`resource:access`) or `(`"),
            Expected::OperatorOrEnd => write!(f, "`AND`, `OR` or the end of the query"),
            Expected::OperatorOrClose(at) => {
                write!(f, "`AND`, `OR` or the `)` that closes the `(` at offset {at}")
            }
            Expected::Colon => write!(f, "`:` and an access (read, create, update, delete or write)"),
            Expected::ResourceStart => write!(f, "a lowercase letter to start a resource name"),
            Expected::ResourceCharacter => write!(f, "a lowercase letter, a digit, `_`, `.`, `:` or `-`"),
            Expected::ShorterResource => write!(f, "a resource name of at most {} characters", RESOURCE.max),
            Expected::Access => write!(f, "an access: read, create, update, delete or write"),
            Expected::Target => write!(f, r#"a target as a JSON string, such as ["inv_1"]"#),
            Expected::StringCharacter => {
                write!(f, r"a character that is not a control character (escape it, as \u0001)")
            }
            Expected::Escape => {
                write!(f, r#"an escape: \", \\, \/, \b, \f, \n, \r, \t or \u and four hexadecimal digits"#)
            }
            Expected::HexDigit => write!(f, "a hexadecimal digit"),
            Expected::LowSurrogate => {
                write!(f, r"a \u escape of a low surrogate (DC00 to DFFF) after a high one")
            }
            Expected::NotLowSurrogate => write!(f, "a low surrogate only after a high one"),
            Expected::NotNul => write!(f, "a character other than NUL, which no target holds"),
            Expected::Quote => write!(f, "`\"` to close the target"),
            Expected::TargetLength => write!(f, "a target of {} to {} characters", NAME.min, NAME.max),
            Expected::Bracket => write!(f, "`]` to close the target"),
            Expected::ShorterQuery => write!(f, "the end of the query within {} characters", SCOPE_QUERY.max),
            Expected::ShallowerNesting => {
                write!(f, "at most {MAX_SCOPE_QUERY_DEPTH} nested parentheses")
            }
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The most characters of the text an error shows.
        const SHOWN: usize = 32;
        match self {
            Found::End => write!(f, "the end of the query"),
            Found::Text(text) if text.chars().count() > SHOWN => {
                let shown: String = text.chars().take(SHOWN).collect();
                write!(f, "`{}…`", shown.escape_debug())
            }
            Found::Text(text) => write!(f, "`{}`", text.escape_debug()),
        }
    }
}

impl ScopeQuery {
    /// Parses `text`, or says where and why it does not parse.
    pub fn parse(text: &str) -> Result<ScopeQuery, QueryError> {
        // One character past the bound is enough to refuse it, whatever the length sent.
        let chars: Vec<char> = text.chars().take(SCOPE_QUERY.max + 1).collect();
        if chars.len() > SCOPE_QUERY.max {
            return Err(Parser::new(&chars).error_at(SCOPE_QUERY.max, Expected::ShorterQuery));
        }
        let mut parser = Parser::new(&chars);
        let root = parser.disjunction(0)?;
        parser.skip_whitespace();
        match parser.peek() {
            None => Ok(ScopeQuery { root }),
            Some(_) => Err(parser.error(Expected::OperatorOrEnd)),
        }
    }

    /// Whether scopes `held` (a key's, resolved) satisfy the query.
    pub fn holds(&self, held: &[Scope]) -> bool {
        self.root.holds(held)
    }

    /// The query fully parenthesized: every `AND` and `OR` in parentheses of its own, operators
    /// in capitals, single spaces. Within the bounds (the parentheses it adds make it longer and
    /// deeper) it parses back to the same query.
    pub fn parenthesized(&self) -> String {
        self.to_string()
    }
}

impl Node {
    fn holds(&self, held: &[Scope]) -> bool {
        match self {
            Node::Scope(check) => check.held_by(held),
            Node::All(nodes) => nodes.iter().all(|n| n.holds(held)),
            Node::Any(nodes) => nodes.iter().any(|n| n.holds(held)),
        }
    }
}

impl fmt::Display for ScopeQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (nodes, operator) = match self {
            Node::Scope(check) => {
                write!(f, "{}:{}", check.resource, check.access.as_str())?;
                if let Some(target) = &check.target {
                    let quoted = serde_json::to_string(target).map_err(|_| fmt::Error)?;
                    write!(f, "[{quoted}]")?;
                }
                return Ok(());
            }
            Node::All(nodes) => (nodes, " AND "),
            Node::Any(nodes) => (nodes, " OR "),
        };
        f.write_str("(")?;
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                f.write_str(operator)?;
            }
            node.fmt(f)?;
        }
        f.write_str(")")
    }
}

/// Whitespace between the words of a query.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Where a word ends: whitespace, a parenthesis, a bracket or a quote.
fn ends_word(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// Whether `word` is the operator `name`, in any case.
fn is_operator(word: &[char], name: &str) -> bool {
    word.len() == name.len() && word.iter().zip(name.chars()).all(|(w, n)| w.eq_ignore_ascii_case(&n))
}

/// A recursive descent over the query's characters; recursion is bounded by the nesting bound.
struct Parser<'a> {
    chars: &'a [char],
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(chars: &'a [char]) -> Self {
        Self { chars, at: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// The word at `at`: the characters up to the next whitespace, parenthesis, bracket or quote.
    fn word_at(&self, at: usize) -> &'a [char] {
        let rest = &self.chars[at.min(self.chars.len())..];
        let len = rest.iter().position(|&c| ends_word(c)).unwrap_or(rest.len());
        &rest[..len]
    }

    /// The error of finding what is at `at` where `expected` was expected.
    fn error_at(&self, at: usize, expected: Expected) -> QueryError {
        let found = match self.chars.get(at) {
            None => Found::End,
            Some(&c) if ends_word(c) => Found::Text(c.to_string()),
            Some(_) => Found::Text(self.word_at(at).iter().collect()),
        };
        QueryError { position: at, expected, found }
    }

    fn error(&self, expected: Expected) -> QueryError {
        self.error_at(self.at, expected)
    }

    /// The error of finding the one character at `at` (inside a word or a target) where
    /// `expected` was expected.
    fn char_error_at(&self, at: usize, expected: Expected) -> QueryError {
        let found = self.chars.get(at).map_or(Found::End, |c| Found::Text(c.to_string()));
        QueryError { position: at, expected, found }
    }

    fn char_error(&self, expected: Expected) -> QueryError {
        self.char_error_at(self.at, expected)
    }

    /// Whether the next word is the operator `name` (in any case); if so, steps over it.
    fn operator(&mut self, name: &str) -> bool {
        self.skip_whitespace();
        let word = self.word_at(self.at);
        let is = is_operator(word, name);
        if is {
            self.at += word.len();
        }
        is
    }

    /// `conjunction *( OR conjunction )`, inside `depth` parentheses.
    fn disjunction(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut any = vec![self.conjunction(depth)?];
        while self.operator("or") {
            any.push(self.conjunction(depth)?);
        }
        Ok(if any.len() == 1 { any.remove(0) } else { Node::Any(any) })
    }

    /// `operand *( AND operand )`.
    fn conjunction(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut all = vec![self.operand(depth)?];
        while self.operator("and") {
            all.push(self.operand(depth)?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Node::All(all) })
    }

    /// A scope, or a parenthesized disjunction.
    fn operand(&mut self, depth: usize) -> Result<Node, QueryError> {
        self.skip_whitespace();
        match self.peek() {
            Some('(') => {
                if depth == MAX_SCOPE_QUERY_DEPTH {
                    return Err(self.error(Expected::ShallowerNesting));
                }
                let opened = self.at;
                self.at += 1;
                let inner = self.disjunction(depth + 1)?;
                self.skip_whitespace();
                if self.peek() != Some(')') {
                    return Err(self.error(Expected::OperatorOrClose(opened)));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(c) if !ends_word(c) => {
                let word = self.word_at(self.at);
                if is_operator(word, "and") || is_operator(word, "or") {
                    return Err(self.error(Expected::Operand));
                }
                self.scope().map(Node::Scope)
            }
            _ => Err(self.error(Expected::Operand)),
        }
    }

    /// `resource ":" access [ "[" target "]" ]`, at the start of a word.
    fn scope(&mut self) -> Result<ScopeCheck, QueryError> {
        let start = self.at;
        let word = self.word_at(start);
        let Some(colon) = word.iter().rposition(|&c| c == ':') else {
            return Err(self.error_at(start + word.len(), Expected::Colon));
        };
        let resource = &word[..colon];
        if let Some(i) = resource.iter().enumerate().position(|(i, &c)| !is_resource_character(i, c)) {
            let expected = if i == 0 { Expected::ResourceStart } else { Expected::ResourceCharacter };
            return Err(self.char_error_at(start + i, expected));
        }
        if resource.is_empty() {
            return Err(self.char_error_at(start, Expected::ResourceStart));
        }
        if resource.len() > RESOURCE.max {
            return Err(self.error_at(start + RESOURCE.max, Expected::ShorterResource));
        }
        let resource: String = resource.iter().collect();
        let access_text: String = word[colon + 1..].iter().collect();
        let Some(access) = Access::parse(&access_text) else {
            return Err(self.error_at(start + colon + 1, Expected::Access));
        };
        self.at = start + word.len();
        let target = if self.peek() == Some('[') {
            self.at += 1;
            let target = self.target()?;
            if self.peek() != Some(']') {
                return Err(self.char_error(Expected::Bracket));
            }
            self.at += 1;
            Some(target)
        } else {
            None
        };
        Ok(ScopeCheck { resource, access, target })
    }

    /// A JSON string, unescaped: 1 to 128 characters, none of them NUL.
    fn target(&mut self) -> Result<String, QueryError> {
        let opened = self.at;
        if self.peek() != Some('"') {
            return Err(self.error(Expected::Target));
        }
        self.at += 1;
        let mut target = String::new();
        loop {
            match self.peek() {
                None => return Err(self.char_error(Expected::Quote)),
                Some('"') => {
                    self.at += 1;
                    break;
                }
                Some('\\') => {
                    self.at += 1;
                    target.push(self.escape()?);
                }
                Some(c) if c < ' ' => return Err(self.char_error(Expected::StringCharacter)),
                Some(c) => {
                    self.at += 1;
                    target.push(c);
                }
            }
        }
        let len = target.chars().count();
        if !(NAME.min..=NAME.max).contains(&len) {
            return Err(QueryError {
                position: opened,
                expected: Expected::TargetLength,
                found: Found::Text(self.chars[opened..self.at].iter().collect()),
            });
        }
        Ok(target)
    }

    /// The character of the escape after a `\`.
    fn escape(&mut self) -> Result<char, QueryError> {
        let simple = match self.peek() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let escape = self.at - 1;
                self.at += 1;
                let unit = self.hex4()?;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        if self.peek() != Some('\\') || self.chars.get(self.at + 1) != Some(&'u') {
                            return Err(self.char_error(Expected::LowSurrogate));
                        }
                        let second = self.at;
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.char_error_at(second, Expected::LowSurrogate));
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    }
                    0xDC00..=0xDFFF => None,
                    unit => char::from_u32(unit),
                };
                return match c {
                    None => Err(self.char_error_at(escape, Expected::NotLowSurrogate)),
                    Some('\0') => Err(self.char_error_at(escape, Expected::NotNul)),
                    Some(c) => Ok(c),
                };
            }
            _ => return Err(self.char_error(Expected::Escape)),
        };
        self.at += 1;
        Ok(simple)
    }

    /// Four hexadecimal digits.
    fn hex4(&mut self) -> Result<u32, QueryError> {
        let mut value = 0;
        for _ in 0..4 {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(16)) else {
                return Err(self.char_error(Expected::HexDigit));
            };
            value = value * 16 + digit;
            self.at += 1;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(resource: &str, access: Access, targets: &[&str]) -> Scope {
        Scope { resource: resource.into(), access, targets: targets.iter().map(|t| t.to_string()).collect() }
    }

    fn parse(text: &str) -> ScopeQuery {
        ScopeQuery::parse(text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"))
    }

    /// Where `text` stops parsing, what was expected there and what was found, as the message says.
    fn refusal(text: &str) -> (usize, String) {
        let error = ScopeQuery::parse(text).expect_err(text);
        (error.position, error.to_string())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let query = parse("a:read OR b:read AND c:read");
        assert_eq!(query.parenthesized(), "(a:read OR (b:read AND c:read))");
        assert!(query.holds(&[scope("a", Access::Read, &[])]), "a alone satisfies a OR (b AND c)");
        assert!(!query.holds(&[scope("b", Access::Read, &[])]), "b alone does not");
        assert!(query.holds(&[scope("b", Access::Read, &[]), scope("c", Access::Read, &[])]));
        let left = parse("a:read AND b:read OR c:read");
        assert_eq!(left.parenthesized(), "((a:read AND b:read) OR c:read)");
        assert!(left.holds(&[scope("c", Access::Read, &[])]));
    }

    #[test]
    fn words_end_at_whitespace_parentheses_and_brackets_only() {
        assert_eq!(parse("a:readorb:read").parenthesized(), "a:readorb:read", "one scope of `a:readorb`");
        assert_eq!(parse(r#"x:read["a"]AND y:read"#).parenthesized(), r#"(x:read["a"] AND y:read)"#);
        assert!(ScopeQuery::parse("a:readANDb:read").is_err(), "one word, and not a scope");
    }

    #[test]
    fn parentheses_group_against_the_precedence() {
        let query = parse("(a:read OR b:read) AND c:read");
        assert_eq!(query.parenthesized(), "((a:read OR b:read) AND c:read)");
        assert!(!query.holds(&[scope("a", Access::Read, &[])]));
        assert!(query.holds(&[scope("a", Access::Read, &[]), scope("c", Access::Read, &[])]));
        assert_eq!(parse("((( a:read )))").parenthesized(), "a:read");
        assert_eq!(parse("(a:read)AND(b:read)").parenthesized(), "(a:read AND b:read)");
    }

    #[test]
    fn operators_are_read_in_any_case_and_whitespace_of_any_kind_separates_words() {
        for text in [
            "a:read and b:read Or c:read",
            "a:read AnD b:read oR c:read",
            "\ta:read\nAND b:read\r\nOR  c:read ",
        ] {
            assert_eq!(parse(text).parenthesized(), "((a:read AND b:read) OR c:read)", "{text:?}");
        }
    }

    #[test]
    fn the_access_is_after_the_last_colon_so_resource_names_may_hold_colons() {
        let query = parse("billing:eu:invoices:write");
        assert!(query.holds(&[scope("billing:eu:invoices", Access::Write, &[])]));
        assert!(!query.holds(&[scope("billing:eu", Access::Write, &[])]));
        assert!(parse("a::read").holds(&[scope("a:", Access::Read, &[])]));
    }

    #[test]
    fn the_grants_are_those_of_the_scopes_check() {
        let held = [scope("invoices", Access::Write, &[]), scope("queues", Access::Read, &["q1"])];
        assert!(parse("invoices:delete").holds(&held), "write grants every access");
        assert!(parse(r#"queues:read["q1"]"#).holds(&held), "a targeted scope grants its target");
        assert!(!parse(r#"queues:read["q2"]"#).holds(&held), "and no other");
        assert!(!parse("queues:read").holds(&held), "a term without a target needs all targets");
        assert!(!parse("queues:write").holds(&held));
    }

    #[test]
    fn a_target_is_a_json_string_and_any_target_a_scope_may_list_can_be_written() {
        let odd = r#"a "quoted" name: (v2) [draft], \ and ü"#;
        let escaped = serde_json::to_string(odd).unwrap();
        let query = parse(&format!("files:read[{escaped}] AND files:read[\"inv 1\"]"));
        assert!(query.holds(&[scope("files", Access::Read, &[odd, "inv 1"])]));
        assert!(!query.holds(&[scope("files", Access::Read, &[odd])]));
        let controls = "\u{1}\t\n\u{7f}\u{1F600}/";
        let written = r#"x:read["\u0001\t\n\u007F\uD83D\uDE00\/"]"#;
        assert!(parse(written).holds(&[scope("x", Access::Read, &[controls])]));
        assert_eq!(parse(written), parse(&parse(written).parenthesized()), "the normal form parses back");
        let longest = "é".repeat(NAME.max);
        assert!(parse(&format!("x:read[\"{longest}\"]")).holds(&[scope("x", Access::Read, &[&longest])]));
    }

    #[test]
    fn every_syntax_error_says_where_and_what_was_expected() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "expected a scope (`resource:access`) or `(`, found the end of the query"),
            ("   ", 3, "expected a scope (`resource:access`) or `(`, found the end of the query"),
            (
                "invoices:read OR",
                16,
                "expected a scope (`resource:access`) or `(`, found the end of the query",
            ),
            ("AND a:read", 0, "expected a scope (`resource:access`) or `(`, found `AND`"),
            ("a:read AND or", 11, "found `or`"),
            ("a:read b:read", 7, "expected `AND`, `OR` or the end of the query, found `b:read`"),
            ("a:read)", 6, "expected `AND`, `OR` or the end of the query, found `)`"),
            ("(a:read OR b:read", 17, "the `)` that closes the `(` at offset 0, found the end of the query"),
            ("()", 1, "expected a scope (`resource:access`) or `(`, found `)`"),
            ("invoices", 8, "expected `:` and an access"),
            ("invoices.read", 13, "expected `:` and an access"),
            ("Invoices:read", 0, "expected a lowercase letter to start a resource name, found `I`"),
            (":read", 0, "expected a lowercase letter to start a resource name, found `:`"),
            ("in$voices:read", 2, "expected a lowercase letter, a digit, `_`, `.`, `:` or `-`, found `$`"),
            ("invoices:Read", 9, "expected an access: read, create, update, delete or write, found `Read`"),
            ("invoices:", 9, "expected an access: read, create, update, delete or write, found the end"),
            ("a:readANDb:read", 6, "expected a lowercase letter, a digit, `_`, `.`, `:` or `-`, found `A`"),
            ("x:read[q1]", 7, r#"expected a target as a JSON string, such as ["inv_1"], found `q1`"#),
            ("x:read[]", 7, "expected a target as a JSON string"),
            (r#"x:read["q1""#, 11, "expected `]` to close the target, found the end of the query"),
            (r#"x:read["q1"  ]"#, 11, "expected `]` to close the target, found ` `"),
            (r#"x:read["q1"#, 10, "expected `\"` to close the target, found the end of the query"),
            (r#"x:read[""]"#, 7, "expected a target of 1 to 128 characters, found `\\\"\\\"`"),
            ("x:read[\"a\u{1}\"]", 9, "expected a character that is not a control character"),
            (r#"x:read["\q"]"#, 9, "expected an escape"),
            (r#"x:read["\u12G4"]"#, 12, "expected a hexadecimal digit, found `G`"),
            (r#"x:read["\u0000"]"#, 8, "expected a character other than NUL"),
            (r#"x:read["\uD83D"]"#, 14, "expected a \\u escape of a low surrogate"),
            (r#"x:read["\uD83D\u0041"]"#, 14, "expected a \\u escape of a low surrogate"),
            (r#"x:read["\uDE00"]"#, 8, "expected a low surrogate only after a high one"),
        ];
        for &(text, position, message) in cases {
            let (at, said) = refusal(text);
            assert_eq!(at, position, "{text:?}: {said}");
            assert!(said.starts_with(&format!("at offset {position}: ")), "{text:?}: {said}");
            assert!(said.contains(message), "{text:?}: {said} lacks {message}");
            assert_eq!(ScopeQuery::parse(text).unwrap_err().code(), "invalid_scope_query", "{text:?}");
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let (at, said) = refusal("é:read");
        assert_eq!((at, said.contains("found `é`")), (0, true), "{said}");
        let (at, _) = refusal(r#"x:read["ééé" "#);
        assert_eq!(at, 12, "the space after three two-byte characters");
    }

    #[test]
    fn a_resource_or_a_target_past_its_bound_is_refused() {
        let long = format!("{}:read", "r".repeat(RESOURCE.max + 1));
        assert_eq!(refusal(&long).0, RESOURCE.max);
        assert!(refusal(&long).1.contains("a resource name of at most 64 characters"));
        parse(&format!("{}:read", "r".repeat(RESOURCE.max)));
        let target = format!("x:read[\"{}\"]", "t".repeat(NAME.max + 1));
        assert_eq!(refusal(&target).0, 7);
        assert!(refusal(&target).1.contains("a target of 1 to 128 characters"));
    }

    #[test]
    fn a_query_may_be_as_long_and_as_deep_as_the_bounds_and_no_more() {
        let term = "a:read OR ";
        let longest = format!("{}b:read", term.repeat((SCOPE_QUERY.max - 6) / term.len())).trim().to_owned();
        let longest = format!("{longest}{}", " ".repeat(SCOPE_QUERY.max - longest.chars().count()));
        assert_eq!(longest.chars().count(), SCOPE_QUERY.max);
        assert!(parse(&longest).holds(&[scope("b", Access::Read, &[])]));
        let too_long = format!("{longest}x");
        let error = ScopeQuery::parse(&too_long).unwrap_err();
        assert_eq!((error.position, error.code()), (SCOPE_QUERY.max, "too_long"));
        assert!(error.to_string().contains("the end of the query within 1000 characters"), "{error}");

        let nested = |depth: usize| format!("{}a:read{}", "(".repeat(depth), ")".repeat(depth));
        assert!(parse(&nested(MAX_SCOPE_QUERY_DEPTH)).holds(&[scope("a", Access::Read, &[])]));
        let error = ScopeQuery::parse(&nested(MAX_SCOPE_QUERY_DEPTH + 1)).unwrap_err();
        assert_eq!((error.position, error.code()), (MAX_SCOPE_QUERY_DEPTH, "too_deep"));
        assert!(error.to_string().contains("at most 32 nested parentheses, found `(`"), "{error}");
        let deep_everywhere = format!("a:read AND {}", nested(SCOPE_QUERY.max));
        assert_eq!(ScopeQuery::parse(&deep_everywhere).unwrap_err().code(), "too_long");
    }

    #[test]
    fn a_long_shown_word_is_cut_short() {
        let word = format!("{}:reading", "r".repeat(60));
        let said = refusal(&word).1;
        assert!(said.contains("found `reading`"), "{said}");
        let said = refusal(&format!("a:read {}", "b".repeat(100))).1;
        assert!(said.contains(&format!("found `{}…`", "b".repeat(32))), "{said}");
    }
}

//! Sigma `condition` expressions: `and`, `or`, `not`, parentheses, `1 of x*`,
//! `all of x*`, `N of x*`, `any of`, `them`. Precedence from loosest: `or`, `and`,
//! `not`, `x of`, parentheses. Keywords are lowercase, as SigmaHQ writes them.

use std::fmt;

/// A condition expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A search identifier.
    Ident(String),
    /// `not x`
    Not(Box<Cond>),
    /// `x and y and ...`
    And(Vec<Cond>),
    /// `x or y or ...`
    Or(Vec<Cond>),
    /// `1 of x*`, `all of them`, ...
    Of(Quant, Selector),
}

/// How many of the selected identifiers must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// `1 of` / `any of`
    Any,
    /// `all of`
    All,
    /// `N of` (at least N)
    AtLeast(usize),
}

/// Which identifiers an `of` expression ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// A pattern with `*` wildcards.
    Pattern(String),
}

impl Selector {
    /// Whether identifier `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        match self {
            Selector::Them => !name.starts_with('_'),
            Selector::Pattern(p) => wildcard_match(p, name),
        }
    }
}

/// Glob match with `*` only.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.len() >= part.len() && rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::Ident(s) => f.write_str(s),
            Cond::Not(c) => write!(f, "not {c}"),
            Cond::And(cs) | Cond::Or(cs) => {
                let op = if matches!(self, Cond::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str(")")
            }
            Cond::Of(q, s) => {
                match q {
                    Quant::Any => f.write_str("1 of ")?,
                    Quant::All => f.write_str("all of ")?,
                    Quant::AtLeast(n) => write!(f, "{n} of ")?,
                }
                match s {
                    Selector::Them => f.write_str("them"),
                    Selector::Pattern(p) => f.write_str(p),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            out.push(Tok::LParen);
            chars.next();
        } else if c == ')' {
            out.push(Tok::RParen);
            chars.next();
        } else if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' {
            let mut end = i;
            while let Some(&(j, c)) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' {
                    end = j + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(s[i..end].to_string()));
        } else if c == '|' {
            return Err("the condition uses the pipe syntax of the obsolete aggregation expressions (`| count() by ...`); write a correlation rule instead".into());
        } else {
            return Err(format!("unexpected character {c:?} at position {i}"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Parentheses and `not`s open around the current position.
    depth: usize,
}

/// How deeply a condition may nest (parentheses and `not`s): parsing, compiling and
/// evaluating it recurse once per level, and a hostile rule file must not overflow the
/// stack. SigmaHQ's conditions nest a few levels.
const MAX_DEPTH: usize = 64;

impl Parser {
    /// `inner` one level deeper.
    fn nested(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<Cond, String>,
    ) -> Result<Cond, String> {
        if self.depth == MAX_DEPTH {
            return Err(format!(
                "the condition nests deeper than {MAX_DEPTH} levels of parentheses and `not`"
            ));
        }
        self.depth += 1;
        let c = inner(self);
        self.depth -= 1;
        c
    }

    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.and()?];
        while self.peek_word() == Some("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.not()?];
        while self.peek_word() == Some("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek_word() == Some("not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.nested(Self::not)?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let c = self.nested(Self::or)?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("missing closing parenthesis".into());
                }
                self.pos += 1;
                Ok(c)
            }
            Some(Tok::RParen) => Err("unexpected `)`".into()),
            Some(Tok::Word(w)) => {
                self.pos += 1;
                if matches!(w.as_str(), "and" | "or" | "of") {
                    return Err(format!("unexpected `{w}`"));
                }
                let quant = match w.as_str() {
                    "all" => Some(Quant::All),
                    "any" => Some(Quant::Any),
                    n if n.bytes().all(|b| b.is_ascii_digit()) => {
                        let k: usize = n.parse().map_err(|_| format!("bad count {n:?}"))?;
                        if k == 0 {
                            return Err("`0 of` is not a Sigma quantifier".into());
                        }
                        Some(if k == 1 {
                            Quant::Any
                        } else {
                            Quant::AtLeast(k)
                        })
                    }
                    _ => None,
                };
                if let Some(q) = quant
                    && self.peek_word() == Some("of")
                {
                    self.pos += 1;
                    let Some(Tok::Word(target)) = self.toks.get(self.pos).cloned() else {
                        return Err(format!("`{w} of` needs `them` or an identifier pattern"));
                    };
                    self.pos += 1;
                    let sel = if target == "them" {
                        Selector::Them
                    } else {
                        Selector::Pattern(target)
                    };
                    return Ok(Cond::Of(q, sel));
                }
                if w == "not" || w == "them" {
                    return Err(format!("unexpected `{w}`"));
                }
                Ok(Cond::Ident(w))
            }
            None => Err("the condition ends too early".into()),
        }
    }
}

/// Parses one condition string.
pub fn parse(s: &str) -> Result<Cond, String> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected {:?} after a complete condition",
            p.toks[p.pos]
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_quantifiers() {
        assert_eq!(
            parse("a or b and not c").unwrap().to_string(),
            "(a or (b and not c))"
        );
        assert_eq!(
            parse("1 of sel* and not (filter1 or all of filter_*)")
                .unwrap()
                .to_string(),
            "(1 of sel* and not (filter1 or all of filter_*))"
        );
        assert_eq!(
            parse("all of them").unwrap(),
            Cond::Of(Quant::All, Selector::Them)
        );
        assert_eq!(
            parse("2 of x*").unwrap(),
            Cond::Of(Quant::AtLeast(2), Selector::Pattern("x*".into()))
        );
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(
            parse("selection | count() > 5")
                .unwrap_err()
                .contains("correlation")
        );
    }

    #[test]
    fn nesting_is_bounded() {
        // A hostile rule's condition is rejected, not a stack overflow.
        let deep = format!("{}sel{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).unwrap_err().contains("nests deeper"));
        let nots = format!("{}sel", "not ".repeat(5000));
        assert!(parse(&nots).unwrap_err().contains("nests deeper"));
        let ok = format!("{}sel{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok).unwrap(), Cond::Ident("sel".into()));
    }

    #[test]
    fn selectors() {
        assert!(Selector::Them.selects("sel"));
        assert!(!Selector::Them.selects("_sel"));
        let p = Selector::Pattern("sel*".into());
        assert!(p.selects("selection") && p.selects("sel") && !p.selects("xsel"));
        let p = Selector::Pattern("*_main".into());
        assert!(p.selects("a_main") && !p.selects("a_mains"));
        let p = Selector::Pattern("a*b".into());
        assert!(p.selects("ab") && p.selects("axxb") && !p.selects("axxbc"));
    }
}

//! [`CostExpr`]: `ai-rate-limiting`'s `cost_expr`, an arithmetic expression
//! over a response's raw usage fields.
//!
//! APISIX compiles `cost_expr` as Lua (`return <expr>`) in an environment
//! holding `math`, `abs`, `ceil`, `floor`, `max` and `min`; usage fields
//! are the variables, missing ones read 0; the result is rejected when not
//! finite, raised to 0 when negative and rounded half up
//! (`math.floor(x + 0.5)`) — apache/apisix master
//! `apisix/plugins/ai-rate-limiting.lua`, `eval_cost_expr`. No scripting
//! engine runs here: this is the arithmetic subset of Lua's expression
//! grammar, compiled once to a postfix program.
//!
//! Grammar (Lua precedence and associativity):
//! ```text
//! expr    = term  { ("+" | "-") term }
//! term    = unary { ("*" | "/" | "%") unary }
//! unary   = "-" unary | power
//! power   = atom [ "^" unary ]                 (right-associative)
//! atom    = number | name | call | "(" expr ")"
//! call    = func "(" expr { "," expr } ")"     func: abs ceil floor max min,
//!                                              also as math.abs, …
//! number  = digits [ "." digits ] [ ("e"|"E") ["+"|"-"] digits ]  (or ".5")
//! name    = (letter | "_") { letter | digit | "_" }
//! ```
//! `%` is Lua's floored modulo. Bounded: at most [`MAX_LEN`] bytes,
//! [`MAX_NODES`] operands and operators, [`MAX_DEPTH`] nested levels.

use std::fmt;

/// Longest accepted `cost_expr`, in bytes.
pub const MAX_LEN: usize = 1024;
/// Most numbers, names, operators and calls in one expression.
pub const MAX_NODES: usize = 256;
/// Deepest nesting of parentheses, calls, unary minus and `^`.
pub const MAX_DEPTH: usize = 32;

/// A compiled `cost_expr`.
///
/// ```
/// use ai_proxy_core::config::CostExpr;
///
/// let expr = CostExpr::parse(
///     "input_tokens + cache_read_input_tokens * 0.1 + cache_creation_input_tokens * 1.25 + output_tokens",
/// ).unwrap();
/// let usage = |name: &str| match name {
///     "input_tokens" => Some(50.0),
///     "cache_read_input_tokens" => Some(200.0),
///     "cache_creation_input_tokens" => Some(100.0),
///     "output_tokens" => Some(30.0),
///     _ => None,
/// };
/// assert_eq!(expr.cost(usage), Ok(225));
/// // Missing fields read 0; negative results cost nothing.
/// assert_eq!(CostExpr::parse("input_tokens - cache_read_input_tokens").unwrap().cost(usage), Ok(0));
/// assert!(CostExpr::parse("input_tokens +").is_err());
/// ```
#[derive(Clone, PartialEq)]
pub struct CostExpr {
    source: String,
    program: Vec<Op>,
    names: Vec<String>,
    max_stack: usize,
}

impl fmt::Debug for CostExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CostExpr").field(&self.source).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Num(f64),
    Var(usize),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Call(Func, usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Abs,
    Ceil,
    Floor,
    Max,
    Min,
}

const FUNCS: &[(&str, Func)] = &[
    ("abs", Func::Abs),
    ("ceil", Func::Ceil),
    ("floor", Func::Floor),
    ("max", Func::Max),
    ("min", Func::Min),
];

/// Why a `cost_expr` does not compile. `Display` names the byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {at}: {reason}")]
#[non_exhaustive]
pub struct CostExprError {
    /// Byte offset of the problem in the expression.
    pub at: usize,
    /// What is wrong and what is expected.
    pub reason: String,
}

/// Why an expression gave no cost for one response (APISIX then logs the
/// error and charges nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CostError {
    /// The result is NaN or infinite (a division by zero, an overflow).
    #[error("cost_expr returned a non-finite value (a division by zero or an overflow)")]
    NonFinite,
}

impl CostExpr {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Self, CostExprError> {
        if text.len() > MAX_LEN {
            return Err(CostExprError {
                at: MAX_LEN,
                reason: format!("longer than {MAX_LEN} bytes; simplify the expression"),
            });
        }
        let mut p = Parser {
            text,
            pos: 0,
            program: Vec::new(),
            names: Vec::new(),
            depth: 0,
        };
        p.skip_blanks();
        if p.peek().is_none() {
            return Err(p.error("empty expression; write e.g. `prompt_tokens + completion_tokens`"));
        }
        p.expr()?;
        p.skip_blanks();
        if let Some(c) = p.peek() {
            return Err(p.error(format!("unexpected `{c}` after a complete expression")));
        }
        let max_stack = max_stack(&p.program);
        Ok(Self {
            source: text.to_owned(),
            program: p.program,
            names: p.names,
            max_stack,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The usage field names it reads, each once, in order of appearance.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The raw value: `usage(name)` answers a field (`None` reads 0).
    pub fn eval(&self, mut usage: impl FnMut(&str) -> Option<f64>) -> f64 {
        let values: Vec<f64> = self.names.iter().map(|n| usage(n).unwrap_or(0.0)).collect();
        let mut stack: Vec<f64> = Vec::with_capacity(self.max_stack);
        for op in &self.program {
            let value = match *op {
                Op::Num(n) => n,
                Op::Var(i) => values.get(i).copied().unwrap_or(0.0),
                Op::Neg => -pop(&mut stack),
                Op::Call(func, argc) => {
                    let from = stack.len().saturating_sub(argc);
                    let value = call(func, stack.get(from..).unwrap_or_default());
                    stack.truncate(from);
                    value
                }
                binary => {
                    let b = pop(&mut stack);
                    let a = pop(&mut stack);
                    match binary {
                        Op::Add => a + b,
                        Op::Sub => a - b,
                        Op::Mul => a * b,
                        Op::Div => a / b,
                        // Lua: a - floor(a / b) * b.
                        Op::Mod => a - (a / b).floor() * b,
                        _ => a.powf(b),
                    }
                }
            };
            stack.push(value);
        }
        pop(&mut stack)
    }

    /// The token cost: the value rounded half up, 0 when negative; an
    /// error when it is not finite.
    pub fn cost(&self, usage: impl FnMut(&str) -> Option<f64>) -> Result<u64, CostError> {
        let value = self.eval(usage);
        if !value.is_finite() {
            return Err(CostError::NonFinite);
        }
        // `as` saturates: costs beyond u64 are u64::MAX.
        Ok((value.max(0.0) + 0.5).floor() as u64)
    }
}

// The program is well formed by construction (every operator finds its
// operands); an empty stack reads NaN rather than panicking.
fn pop(stack: &mut Vec<f64>) -> f64 {
    stack.pop().unwrap_or(f64::NAN)
}

fn call(func: Func, args: &[f64]) -> f64 {
    let first = args.first().copied().unwrap_or(f64::NAN);
    match func {
        Func::Abs => first.abs(),
        Func::Ceil => first.ceil(),
        Func::Floor => first.floor(),
        Func::Max => args.iter().copied().fold(first, f64::max),
        Func::Min => args.iter().copied().fold(first, f64::min),
    }
}

fn max_stack(program: &[Op]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for op in program {
        depth = match op {
            Op::Num(_) | Op::Var(_) => depth + 1,
            Op::Neg => depth,
            Op::Call(_, argc) => depth.saturating_sub(*argc) + 1,
            _ => depth.saturating_sub(1),
        };
        max = max.max(depth);
    }
    max
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    program: Vec<Op>,
    names: Vec<String>,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> CostExprError {
        CostExprError {
            at: self.pos,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text.get(self.pos..)?.chars().next()
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_ascii_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// Consumes `c` (after blanks) when it is next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_blanks();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn emit(&mut self, op: Op) -> Result<(), CostExprError> {
        if self.program.len() >= MAX_NODES {
            return Err(self.error(format!(
                "more than {MAX_NODES} numbers, names and operators; simplify the expression"
            )));
        }
        self.program.push(op);
        Ok(())
    }

    fn nest(&mut self) -> Result<(), CostExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<(), CostExprError> {
        self.term()?;
        loop {
            let op = if self.eat('+') {
                Op::Add
            } else if self.eat('-') {
                Op::Sub
            } else {
                return Ok(());
            };
            self.term()?;
            self.emit(op)?;
        }
    }

    fn term(&mut self) -> Result<(), CostExprError> {
        self.unary()?;
        loop {
            let op = if self.eat('*') {
                Op::Mul
            } else if self.eat('/') {
                Op::Div
            } else if self.eat('%') {
                Op::Mod
            } else {
                return Ok(());
            };
            self.unary()?;
            self.emit(op)?;
        }
    }

    fn unary(&mut self) -> Result<(), CostExprError> {
        if self.eat('-') {
            self.nest()?;
            self.unary()?;
            self.depth -= 1;
            return self.emit(Op::Neg);
        }
        self.power()
    }

    fn power(&mut self) -> Result<(), CostExprError> {
        self.atom()?;
        if self.eat('^') {
            self.nest()?;
            self.unary()?;
            self.depth -= 1;
            self.emit(Op::Pow)?;
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<(), CostExprError> {
        self.skip_blanks();
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.nest()?;
                self.expr()?;
                if !self.eat(')') {
                    return Err(self.expected("`)`"));
                }
                self.depth -= 1;
                Ok(())
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => self.name(),
            _ => Err(self.expected("a number, a usage field name, `(` or `-`")),
        }
    }

    fn expected(&self, what: &str) -> CostExprError {
        match self.peek() {
            Some(c) => self.error(format!("expected {what}, found `{c}`")),
            None => self.error(format!("expected {what}, found the end")),
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..).unwrap_or_default();
        self.pos += rest.iter().take_while(|b| f(**b)).count();
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn number(&mut self) -> Result<(), CostExprError> {
        let start = self.pos;
        if self
            .text
            .get(start..)
            .is_some_and(|r| r.starts_with("0x") || r.starts_with("0X"))
        {
            return Err(self.error("hexadecimal numbers are not supported; write decimal"));
        }
        let _ = self.take_while(|b| b.is_ascii_digit());
        if self.peek() == Some('.') {
            self.pos += 1;
            let _ = self.take_while(|b| b.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.take_while(|b| b.is_ascii_digit()).is_empty() {
                return Err(self.expected("exponent digits"));
            }
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(self.error("malformed number"));
        }
        let literal = self.text.get(start..self.pos).unwrap_or_default();
        match literal.parse::<f64>() {
            Ok(n) if n.is_finite() => self.emit(Op::Num(n)),
            _ => Err(CostExprError {
                at: start,
                reason: format!("malformed number `{literal}`"),
            }),
        }
    }

    fn name(&mut self) -> Result<(), CostExprError> {
        let start = self.pos;
        let word = self
            .take_while(|b| b.is_ascii_alphanumeric() || b == b'_')
            .to_owned();
        let (func_name, qualified) = if word == "math" {
            if !self.eat('.') {
                return Err(CostExprError {
                    at: start,
                    reason: "`math` is a library, not a value; use math.floor(x) and the like"
                        .to_owned(),
                });
            }
            self.skip_blanks();
            (
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_')
                    .to_owned(),
                true,
            )
        } else {
            (word, false)
        };
        let func = FUNCS.iter().find(|(n, _)| *n == func_name).map(|(_, f)| *f);
        let is_call = {
            self.skip_blanks();
            self.peek() == Some('(')
        };
        match (func, is_call) {
            (Some(func), true) => self.call(func),
            (Some(_), false) => Err(CostExprError {
                at: start,
                reason: format!("`{func_name}` is a function; call it: {func_name}(x)"),
            }),
            (None, true) | (None, false) if qualified => Err(CostExprError {
                at: start,
                reason: format!(
                    "unknown function `math.{func_name}`; supported: abs, ceil, floor, max, min"
                ),
            }),
            (None, true) => Err(CostExprError {
                at: start,
                reason: format!(
                    "unknown function `{func_name}`; supported: abs, ceil, floor, max, min"
                ),
            }),
            (None, false) => {
                if KEYWORDS.contains(&func_name.as_str()) {
                    return Err(CostExprError {
                        at: start,
                        reason: format!(
                            "`{func_name}` is not supported: only arithmetic (+ - * / % ^), \
                             parentheses and abs/ceil/floor/max/min"
                        ),
                    });
                }
                let index = match self.names.iter().position(|n| *n == func_name) {
                    Some(i) => i,
                    None => {
                        self.names.push(func_name);
                        self.names.len() - 1
                    }
                };
                self.emit(Op::Var(index))
            }
        }
    }

    fn call(&mut self, func: Func) -> Result<(), CostExprError> {
        // At `(`.
        self.pos += 1;
        self.nest()?;
        let mut argc = 0usize;
        if self.eat(')') {
            return Err(self.error("a call needs at least one argument"));
        }
        loop {
            self.expr()?;
            argc += 1;
            if self.eat(',') {
                continue;
            }
            if self.eat(')') {
                break;
            }
            return Err(self.expected("`,` or `)`"));
        }
        self.depth -= 1;
        if matches!(func, Func::Abs | Func::Ceil | Func::Floor) && argc != 1 {
            return Err(self.error("abs, ceil and floor take exactly one argument"));
        }
        self.emit(Op::Call(func, argc))
    }
}

/// Lua words that would be valid Lua but are not arithmetic.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "nil", "true", "false", "function", "end", "if", "then", "else", "local",
    "return", "while", "do", "for", "in", "repeat", "until", "break", "goto", "elseif",
];

#[cfg(test)]
mod tests;

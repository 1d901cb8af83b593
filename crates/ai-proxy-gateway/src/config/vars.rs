//! Route `vars`: APISIX's match conditions (lua-resty-expr), compiled once
//! and evaluated against a request through a caller-supplied [`VarLookup`].
//!
//! ```
//! use ai_proxy_gateway::config::vars::{Vars, VarValue};
//!
//! let vars = Vars::compile(&serde_json::json!([["post_arg.model", "==", "gpt-4"]])).unwrap();
//! let lookup = |name: &str| (name == "post_arg.model").then(|| VarValue::from("gpt-4"));
//! assert!(vars.matches(&lookup));
//! ```
//!
//! Conditions are `[variable, operator, value]`, an optional `"!"` before the
//! operator negating it; the top-level list is an AND; `["OR", c1, c2, …]`,
//! `["AND", …]`, `["!OR", …]`, `["!AND", …]` nest. Operators: `==`, `~=`,
//! `>`, `>=`, `<`, `<=`, `~~` (regex), `~*` (case-insensitive regex), `in`,
//! `has`, `ipmatch`. A missing variable matches only `~=` (and negations).

use std::borrow::Cow;
use std::net::IpAddr;

use regex::Regex;
use serde_json::Value;

/// A variable's value as seen by a condition.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum VarValue<'a> {
    /// A string (headers, query args, URI, a JSON string).
    Str(Cow<'a, str>),
    /// A JSON number.
    Number(f64),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON array of values (for `has`).
    List(Vec<VarValue<'a>>),
}

impl<'a> From<&'a str> for VarValue<'a> {
    fn from(s: &'a str) -> Self {
        VarValue::Str(Cow::Borrowed(s))
    }
}

impl From<String> for VarValue<'_> {
    fn from(s: String) -> Self {
        VarValue::Str(Cow::Owned(s))
    }
}

impl VarValue<'_> {
    /// The value of a JSON scalar or array (objects and null have none).
    pub fn from_json(value: &Value) -> Option<VarValue<'static>> {
        match value {
            Value::String(s) => Some(VarValue::Str(Cow::Owned(s.clone()))),
            Value::Number(n) => n.as_f64().map(VarValue::Number),
            Value::Bool(b) => Some(VarValue::Bool(*b)),
            Value::Array(items) => Some(VarValue::List(
                items.iter().filter_map(VarValue::from_json).collect(),
            )),
            Value::Null | Value::Object(_) => None,
        }
    }

    fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            VarValue::Str(s) => Some(Cow::Borrowed(s)),
            VarValue::Number(n) => Some(Cow::Owned(format_number(*n))),
            VarValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            VarValue::List(_) => None,
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self {
            VarValue::Number(n) => Some(*n),
            VarValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Looks variables up for one request (`post_arg.model`, `http_x_user`,
/// `arg_debug`, `uri`, `remote_addr`, …). Closures implement it.
pub trait VarLookup {
    /// The variable's value, or `None` when the request has none.
    fn get(&self, name: &str) -> Option<VarValue<'_>>;
}

impl<F> VarLookup for F
where
    F: for<'x> Fn(&'x str) -> Option<VarValue<'static>>,
{
    fn get(&self, name: &str) -> Option<VarValue<'_>> {
        self(name)
    }
}

/// A compiled `vars` expression.
#[derive(Clone, Debug)]
pub struct Vars {
    root: Expr,
}

impl PartialEq for Vars {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.root) == format!("{:?}", other.root)
    }
}

#[derive(Clone, Debug)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Cond { var: String, negate: bool, op: Op },
}

#[derive(Clone, Debug)]
enum Op {
    Eq(Value),
    Ne(Value),
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    Regex(Regex),
    In(Vec<Value>),
    Has(Value),
    IpMatch(Vec<(IpAddr, u8)>),
}

/// A `vars` expression that cannot be compiled; `path` is relative to the
/// `vars` field (`[0]`, `[1][2]`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
#[non_exhaustive]
pub struct VarsError {
    /// Where, relative to `vars`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, VarsError> {
    Err(VarsError {
        path: path.to_owned(),
        message: message.into(),
    })
}

/// The operators, for messages.
pub const OPERATORS: &[&str] = &[
    "==", "~=", ">", ">=", "<", "<=", "~~", "~*", "in", "has", "ipmatch",
];

impl Vars {
    /// Compiles a `vars` array (every condition must hold).
    pub fn compile(value: &Value) -> Result<Self, VarsError> {
        let Value::Array(items) = value else {
            return err(
                "",
                "must be an array of [variable, operator, value] conditions",
            );
        };
        let mut all = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            all.push(expr(item, &format!("[{i}]"))?);
        }
        Ok(Self {
            root: Expr::All(all),
        })
    }

    /// Whether the request described by `lookup` satisfies every condition.
    pub fn matches(&self, lookup: &dyn VarLookup) -> bool {
        eval(&self.root, lookup)
    }

    /// Every variable name the expression reads (e.g. to know whether the
    /// request body must be parsed for `post_arg.*`).
    pub fn variables(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::All(v) | Expr::Any(v) => v.iter().for_each(|e| walk(e, out)),
                Expr::Not(e) => walk(e, out),
                Expr::Cond { var, .. } => out.push(var),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

fn expr(value: &Value, path: &str) -> Result<Expr, VarsError> {
    let Some(parts) = value.as_array() else {
        return err(path, "must be a [variable, operator, value] array");
    };
    let Some(Value::String(head)) = parts.first() else {
        return err(
            path,
            "must start with a variable name such as \"post_arg.model\"",
        );
    };
    let logical = match head.as_str() {
        "AND" | "and" => Some((false, false)),
        "OR" | "or" => Some((true, false)),
        "!AND" | "!and" => Some((false, true)),
        "!OR" | "!or" => Some((true, true)),
        _ => None,
    };
    if let Some((any, not)) = logical {
        let mut subs = Vec::new();
        for (i, sub) in parts.iter().enumerate().skip(1) {
            subs.push(expr(sub, &format!("{path}[{i}]"))?);
        }
        if subs.is_empty() {
            return err(path, format!("`{head}` needs at least one condition"));
        }
        let e = if any {
            Expr::Any(subs)
        } else {
            Expr::All(subs)
        };
        return Ok(if not { Expr::Not(Box::new(e)) } else { e });
    }
    let mut rest = parts.iter().skip(1);
    let mut negate = false;
    let mut op = rest.next().and_then(Value::as_str);
    if op == Some("!") {
        negate = true;
        op = rest.next().and_then(Value::as_str);
    }
    let Some(op) = op else {
        return err(
            path,
            format!("needs an operator, one of: {}", OPERATORS.join(", ")),
        );
    };
    let Some(arg) = rest.next() else {
        return err(path, format!("operator `{op}` needs a value"));
    };
    let number = |arg: &Value| match arg.as_f64().or_else(|| arg.as_str()?.parse().ok()) {
        Some(n) => Ok(n),
        None => err(path, format!("operator `{op}` needs a number")),
    };
    let op = match op.to_ascii_lowercase().as_str() {
        "==" => Op::Eq(arg.clone()),
        "~=" => Op::Ne(arg.clone()),
        ">" => Op::Gt(number(arg)?),
        ">=" => Op::Ge(number(arg)?),
        "<" => Op::Lt(number(arg)?),
        "<=" => Op::Le(number(arg)?),
        o @ ("~~" | "~*") => {
            let Some(pattern) = arg.as_str() else {
                return err(
                    path,
                    format!("operator `{op}` needs a regular expression string"),
                );
            };
            let pattern = if o == "~*" {
                format!("(?i){pattern}")
            } else {
                pattern.to_owned()
            };
            match regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .build()
            {
                Ok(r) => Op::Regex(r),
                Err(e) => return err(path, format!("invalid regular expression: {e}")),
            }
        }
        "in" => match arg {
            Value::Array(items) => Op::In(items.clone()),
            _ => return err(path, "operator `in` needs an array of values"),
        },
        "has" => Op::Has(arg.clone()),
        "ipmatch" => {
            let list: Vec<&Value> = match arg {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            let mut nets = Vec::with_capacity(list.len());
            for item in list {
                match item.as_str().and_then(parse_cidr) {
                    Some(net) => nets.push(net),
                    None => return err(path, "operator `ipmatch` needs IP addresses or CIDRs"),
                }
            }
            Op::IpMatch(nets)
        }
        _ => {
            return err(
                path,
                format!(
                    "unknown operator `{op}`, expected one of: {}",
                    OPERATORS.join(", ")
                ),
            );
        }
    };
    Ok(Expr::Cond {
        var: head.clone(),
        negate,
        op,
    })
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn in_net(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn eval(e: &Expr, lookup: &dyn VarLookup) -> bool {
    match e {
        Expr::All(v) => v.iter().all(|e| eval(e, lookup)),
        Expr::Any(v) => v.iter().any(|e| eval(e, lookup)),
        Expr::Not(e) => !eval(e, lookup),
        Expr::Cond { var, negate, op } => {
            let value = lookup.get(var);
            let hit = match value {
                None => matches!(op, Op::Ne(_)),
                Some(v) => apply(op, &v),
            };
            hit != *negate
        }
    }
}

fn equals(v: &VarValue<'_>, target: &Value) -> bool {
    match (v, target) {
        (VarValue::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (VarValue::Bool(a), Value::Bool(b)) => a == b,
        (v, Value::String(s)) => v.as_text().is_some_and(|t| t == s.as_str()),
        (v, Value::Number(n)) => v.as_number().is_some() && v.as_number() == n.as_f64(),
        _ => false,
    }
}

fn apply(op: &Op, v: &VarValue<'_>) -> bool {
    match op {
        Op::Eq(t) => equals(v, t),
        Op::Ne(t) => !equals(v, t),
        Op::Gt(n) => v.as_number().is_some_and(|x| x > *n),
        Op::Ge(n) => v.as_number().is_some_and(|x| x >= *n),
        Op::Lt(n) => v.as_number().is_some_and(|x| x < *n),
        Op::Le(n) => v.as_number().is_some_and(|x| x <= *n),
        Op::Regex(r) => v.as_text().is_some_and(|t| r.is_match(&t)),
        Op::In(items) => items.iter().any(|t| equals(v, t)),
        Op::Has(t) => match v {
            VarValue::List(items) => items.iter().any(|i| equals(i, t)),
            other => equals(other, t),
        },
        Op::IpMatch(nets) => v
            .as_text()
            .and_then(|t| t.parse::<IpAddr>().ok())
            .is_some_and(|ip| nets.iter().any(|n| in_net(ip, *n))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<VarValue<'static>> {
        match name {
            "post_arg.model" => Some(VarValue::from("gpt-4")),
            "post_arg.max_tokens" => Some(VarValue::Number(512.0)),
            "post_arg.tags" => Some(VarValue::List(vec![
                VarValue::from("a"),
                VarValue::from("b"),
            ])),
            "http_x_team" => Some(VarValue::from("Research")),
            "remote_addr" => Some(VarValue::from("10.1.2.3")),
            _ => None,
        }
    }

    fn check(vars: Value) -> bool {
        Vars::compile(&vars).unwrap().matches(&lookup)
    }

    #[test]
    fn equality_on_strings_and_numbers() {
        assert!(check(json!([["post_arg.model", "==", "gpt-4"]])));
        assert!(!check(json!([["post_arg.model", "==", "gpt-4o"]])));
        assert!(check(json!([["post_arg.max_tokens", "==", 512]])));
        assert!(check(json!([["post_arg.max_tokens", "==", "512"]])));
    }

    #[test]
    fn missing_variable_only_matches_not_equal() {
        assert!(!check(json!([["post_arg.nope", "==", "x"]])));
        assert!(check(json!([["post_arg.nope", "~=", "x"]])));
        assert!(!check(json!([["post_arg.nope", "in", ["x"]]])));
    }

    #[test]
    fn negation_and_numeric_comparisons() {
        assert!(check(json!([["post_arg.model", "!", "==", "claude"]])));
        assert!(check(json!([
            ["post_arg.max_tokens", ">", 100],
            ["post_arg.max_tokens", "<=", 512]
        ])));
        assert!(!check(json!([["post_arg.max_tokens", "<", 512]])));
    }

    #[test]
    fn regex_in_and_has() {
        assert!(check(json!([["post_arg.model", "~~", "^gpt-"]])));
        assert!(check(json!([["http_x_team", "~*", "^research$"]])));
        assert!(!check(json!([["http_x_team", "~~", "^research$"]])));
        assert!(check(json!([[
            "post_arg.model",
            "in",
            ["gpt-4", "gpt-4o"]
        ]])));
        assert!(check(json!([["post_arg.tags", "has", "b"]])));
    }

    #[test]
    fn ipmatch_on_cidrs() {
        assert!(check(json!([["remote_addr", "ipmatch", ["10.0.0.0/8"]]])));
        assert!(!check(json!([[
            "remote_addr",
            "ipmatch",
            "192.168.0.0/16"
        ]])));
    }

    #[test]
    fn logical_nesting() {
        assert!(check(json!([[
            "OR",
            ["post_arg.model", "==", "x"],
            ["post_arg.model", "==", "gpt-4"]
        ]])));
        assert!(!check(json!([[
            "!OR",
            ["post_arg.model", "==", "x"],
            ["post_arg.model", "==", "gpt-4"]
        ]])));
        assert!(check(json!([[
            "AND",
            ["post_arg.model", "==", "gpt-4"],
            ["http_x_team", "==", "Research"]
        ]])));
    }

    #[test]
    fn compile_errors_name_the_condition() {
        let e = Vars::compile(&json!([["a", "==", 1], ["b", "=", 1]])).unwrap_err();
        assert_eq!(e.path, "[1]");
        assert!(e.message.contains("unknown operator `=`"));
        let e = Vars::compile(&json!([["a", "~~", "("]])).unwrap_err();
        assert!(e.message.contains("invalid regular expression"));
        let e = Vars::compile(&json!([["OR", ["a", ">", "x"]]])).unwrap_err();
        assert_eq!(e.path, "[0][1]");
    }

    #[test]
    fn lists_variables_read() {
        let v = Vars::compile(&json!([[
            "OR",
            ["post_arg.model", "==", "x"],
            ["http_a", "==", "y"]
        ]]))
        .unwrap();
        assert_eq!(v.variables(), ["post_arg.model", "http_a"]);
    }
}

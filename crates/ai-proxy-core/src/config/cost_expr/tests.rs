use super::*;

fn eval(text: &str, vars: &[(&str, f64)]) -> f64 {
    CostExpr::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .eval(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
}

#[test]
fn precedence_follows_lua() {
    assert_eq!(eval("1 + 2 * 3", &[]), 7.0);
    assert_eq!(eval("(1 + 2) * 3", &[]), 9.0);
    assert_eq!(eval("2 ^ 3 ^ 2", &[]), 512.0);
    assert_eq!(eval("-2 ^ 2", &[]), -4.0);
    assert_eq!(eval("2 ^ -1", &[]), 0.5);
    assert_eq!(eval("10 - 4 - 3", &[]), 3.0);
    assert_eq!(eval("12 / 4 / 3", &[]), 1.0);
    assert_eq!(eval("- - 3", &[]), 3.0);
}

#[test]
fn modulo_is_floored_as_in_lua() {
    assert_eq!(eval("7 % 3", &[]), 1.0);
    assert_eq!(eval("-7 % 3", &[]), 2.0);
    assert_eq!(eval("7 % -3", &[]), -2.0);
    assert_eq!(eval("5.5 % 2", &[]), 1.5);
}

#[test]
fn numbers_take_lua_decimal_forms() {
    assert_eq!(eval(".5 + 5. + 1e2 + 2.5E-1", &[]), 105.75);
}

#[test]
fn functions_plain_and_under_math() {
    assert_eq!(eval("max(1, 7, 3) + min(4, 2)", &[]), 9.0);
    assert_eq!(eval("math.floor(2.7) + math.ceil(2.1) + abs(-1)", &[]), 6.0);
    assert_eq!(eval("math . max (1, x)", &[("x", 4.0)]), 4.0);
}

#[test]
fn missing_fields_read_zero() {
    assert_eq!(
        eval(
            "input_tokens + nonexistent_field + output_tokens",
            &[("input_tokens", 50.0), ("output_tokens", 30.0)]
        ),
        80.0
    );
}

#[test]
fn cost_rounds_half_up_and_clamps_negative_to_zero() {
    let cost = |t: &str| CostExpr::parse(t).unwrap().cost(|_| None);
    assert_eq!(cost("2.5"), Ok(3));
    assert_eq!(cost("2.49"), Ok(2));
    assert_eq!(cost("-150"), Ok(0));
    assert_eq!(cost("1 / 0"), Err(CostError::NonFinite));
    assert_eq!(cost("0 / 0"), Err(CostError::NonFinite));
    assert_eq!(cost("1 % 0"), Err(CostError::NonFinite));
    assert_eq!(cost("10 ^ 400"), Err(CostError::NonFinite));
}

#[test]
fn variables_are_listed_once_in_order() {
    let e = CostExpr::parse("b + a * b").unwrap();
    assert_eq!(e.variables().collect::<Vec<_>>(), ["b", "a"]);
    assert_eq!(e.as_str(), "b + a * b");
}

#[test]
fn syntax_errors_name_the_offset() {
    let err = |t: &str| CostExpr::parse(t).unwrap_err();
    assert_eq!(err("").at, 0);
    assert_eq!(
        err("1 +").to_string(),
        "at byte 3: expected a number, a usage field name, `(` or `-`, found the end"
    );
    assert_eq!(err("(1").at, 2);
    assert_eq!(
        err("1 2").to_string(),
        "at byte 2: unexpected `2` after a complete expression"
    );
    assert!(
        err("invalid $$$ syntax %%%")
            .reason
            .contains("unexpected `$`")
    );
    assert!(err("a == b").reason.contains("expected"));
    assert!(err("abs").reason.contains("is a function"));
    assert!(err("math").reason.contains("library"));
    assert!(
        err("math.sqrt(4)")
            .reason
            .contains("unknown function `math.sqrt`")
    );
    assert!(err("pow(2, 3)").reason.contains("unknown function `pow`"));
    assert!(err("abs(1, 2)").reason.contains("exactly one"));
    assert!(err("max()").reason.contains("at least one"));
    assert!(
        err("a and b").reason.contains("unexpected `a`") || err("a and b").reason.contains("and")
    );
    assert!(err("not a").reason.contains("not supported"));
    assert!(err("0x10").reason.contains("hexadecimal"));
    assert!(err("1e").reason.contains("exponent"));
    assert!(err("12abc").reason.contains("malformed"));
}

#[test]
fn size_and_depth_are_bounded() {
    let deep = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(
        CostExpr::parse(&deep)
            .unwrap_err()
            .reason
            .contains("nested")
    );
    let ok = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(eval(&ok, &[]), 1.0);
    let minus = "-".repeat(MAX_DEPTH + 1) + "1";
    assert!(CostExpr::parse(&minus).is_err());
    let wide = vec!["1"; MAX_NODES].join("+");
    assert!(
        CostExpr::parse(&wide)
            .unwrap_err()
            .reason
            .contains("more than")
    );
    let long = "a".repeat(MAX_LEN + 1);
    assert!(
        CostExpr::parse(&long)
            .unwrap_err()
            .reason
            .contains("longer than")
    );
}

#[test]
fn the_stack_never_runs_dry() {
    let e = CostExpr::parse("max(1, 2, 3, 4, -x ^ 2, (y))").unwrap();
    assert_eq!(e.eval(|_| Some(1.0)), 4.0);
    assert!(e.max_stack >= 6);
}

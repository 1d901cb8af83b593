//! Strings in the JSON log lines, escaped once for the gateway's event
//! formatter and the JSON access log.

use std::fmt;

/// `text` as a JSON string, escaped as serde_json does (core's one
/// escaper).
pub(crate) fn write_json_str(w: &mut impl fmt::Write, text: &str) -> fmt::Result {
    w.write_char('"')?;
    ai_proxy::core::json::write::escape(text, |piece| w.write_str(piece))?;
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_str(text: &str) -> String {
        let mut out = String::new();
        write_json_str(&mut out, text).unwrap();
        out
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for text in [
            "",
            "plain",
            "q\"b\\s",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "é ✓ 😀",
        ] {
            assert_eq!(
                json_str(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_like_serde_json(text in any::<String>()) {
            prop_assert_eq!(json_str(&text), serde_json::to_string(&text).unwrap());
        }
    }
}

//! Tool-name sanitising for OpenAI upstreams, and the reverse mapping that
//! restores the client's names in responses.
//!
//! OpenAI accepts function names of at most 64 characters from
//! `[a-zA-Z0-9_-]`; Anthropic allows more (MCP tools such as
//! `server.tool/name`). A name that does not fit is rewritten as APISIX
//! does: invalid characters become `_`, the result is cut to 55 bytes and
//! suffixed with `_` and the first 8 hex digits of the SHA-256 of the
//! original name, so two long names sharing a prefix stay distinct.

use std::borrow::Cow;

use ai_proxy_core::json::byte_set::{ALPHANUMERIC, ByteSet};
use sha2::{Digest, Sha256};

/// OpenAI's function-name length limit.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// Bytes of the sanitised name kept before the hash suffix.
const KEPT_PREFIX_LEN: usize = 55;

/// Whether OpenAI accepts `name` unchanged.
pub fn is_valid_tool_name(name: &str) -> bool {
    is_valid_tool_name_bytes(name.as_bytes())
}

/// The bytes of a valid name: `[a-zA-Z0-9_-]`.
const NAME_BYTE: ByteSet = ByteSet::of(&[ALPHANUMERIC, b"_-"]);

/// [`is_valid_tool_name`] on a name's bytes (a JSON string's contents:
/// one with escapes is never valid as written). A table load per byte,
/// no branch: every call and tool name is checked.
pub(crate) fn is_valid_tool_name_bytes(name: &[u8]) -> bool {
    name.len() <= MAX_TOOL_NAME_LEN && name.iter().fold(true, |ok, &b| ok & NAME_BYTE.contains(b))
}

/// The name sent to an OpenAI upstream for the client's tool `name`
/// (borrowed when it is already valid).
///
/// ```
/// use ai_proxy_anthropic::sanitize_tool_name;
/// assert_eq!(sanitize_tool_name("get_weather"), "get_weather");
/// let s = sanitize_tool_name("mcp.server/tool");
/// assert!(s.starts_with("mcp_server_tool_") && s.len() == 16 + 8);
/// ```
pub fn sanitize_tool_name(name: &str) -> Cow<'_, str> {
    if is_valid_tool_name(name) {
        return Cow::Borrowed(name);
    }
    // Each char becomes one byte (`_` for anything outside the set), so
    // the cut below is always on a char boundary.
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(KEPT_PREFIX_LEN)
        .collect();
    out.push('_');
    let digest = Sha256::digest(name.as_bytes());
    for byte in digest.iter().take(4) {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0xf));
    }
    Cow::Owned(out)
}

fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// Sanitised name → the client's original name, for the tools of one
/// request whose names had to change (usually none: then it is empty and
/// costs nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolNameMap {
    renamed: Vec<(String, String)>,
}

impl ToolNameMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the client's `original` name and returns the name to send.
    pub fn declare(&mut self, original: &str) -> String {
        let sent = sanitize_tool_name(original);
        if let Cow::Owned(sent) = sent {
            if !self.renamed.iter().any(|(s, _)| *s == sent) {
                self.renamed.push((sent.clone(), original.to_owned()));
            }
            sent
        } else {
            original.to_owned()
        }
    }

    /// The sent name for a declared `original`, if it was declared.
    pub fn sent_name(&self, original: &str) -> Option<Cow<'_, str>> {
        if let Some((sent, _)) = self.renamed.iter().find(|(_, o)| o == original) {
            return Some(Cow::Borrowed(sent));
        }
        None
    }

    /// The client's name for a name the upstream used (`None` when the
    /// name was not renamed).
    pub fn original(&self, sent: &str) -> Option<&str> {
        self.renamed
            .iter()
            .find(|(s, _)| s == sent)
            .map(|(_, o)| o.as_str())
    }

    /// Whether no name was renamed.
    pub fn is_empty(&self) -> bool {
        self.renamed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_pass_unchanged() {
        let name = "a".repeat(64);
        assert!(matches!(sanitize_tool_name(&name), Cow::Borrowed(_)));
        assert!(matches!(
            sanitize_tool_name("Get-Weather_2"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn invalid_characters_become_underscores_with_a_hash_suffix() {
        let s = sanitize_tool_name("mcp.server/tool");
        let digest = Sha256::digest(b"mcp.server/tool");
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        assert_eq!(s, format!("mcp_server_tool_{hex}"));
        assert!(is_valid_tool_name(&s));
    }

    #[test]
    fn long_names_are_cut_to_55_plus_hash() {
        let long = "x".repeat(100);
        let s = sanitize_tool_name(&long);
        assert_eq!(s.len(), 64);
        assert!(s.starts_with(&"x".repeat(55)));
        assert!(is_valid_tool_name(&s));
        let other = format!("{}y", "x".repeat(99));
        assert_ne!(sanitize_tool_name(&other), s);
    }

    #[test]
    fn multibyte_names_stay_valid() {
        let s = sanitize_tool_name("wetter_für_städte");
        assert!(is_valid_tool_name(&s));
        assert!(s.starts_with("wetter_f_r_st_dte_"));
    }

    #[test]
    fn map_restores_renamed_names_only() {
        let mut map = ToolNameMap::new();
        assert_eq!(map.declare("plain"), "plain");
        assert!(map.is_empty());
        let sent = map.declare("a.b");
        assert_eq!(map.original(&sent), Some("a.b"));
        assert_eq!(map.original("plain"), None);
        assert_eq!(map.sent_name("a.b").as_deref(), Some(sent.as_str()));
    }
}

//! `system` → one leading system message, its text blocks concatenated
//! (Claude Code's billing-header block cleaned of its per-request `cch=`).

use std::borrow::Cow;

use ai_proxy_core::json::text::is_canonical;
use ai_proxy_core::json::write::write_str;
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};

use super::blocks::{Block, Kind, Part};

/// `system` as the mapping reads it.
#[derive(Default)]
pub(super) enum System<'a> {
    #[default]
    Absent,
    /// A string (sent as it is).
    Text(Raw<'a>),
    /// The string texts of an array's `text` blocks.
    Texts(Vec<Raw<'a>>),
}

impl<'a> System<'a> {
    /// Reads `system` at the cursor.
    pub(super) fn read(s: &mut Scanner<'a>) -> Result<Self, SyntaxError> {
        match s.peek() {
            Some(b'"') => Ok(System::Text(s.value()?)),
            Some(b'[') => {
                let mut texts = Vec::new();
                let mut block = Block::default();
                s.array(|s| {
                    if Block::read(s, None, &mut block)?
                        && let Some(Kind::Text) = block.kind()
                        && let Some(Part::Text(text)) = block.part(&Kind::Text)
                    {
                        texts.push(text);
                    }
                    Ok::<(), SyntaxError>(())
                })?;
                Ok(System::Texts(texts))
            }
            _ => {
                s.skip()?;
                Ok(System::Absent)
            }
        }
    }

    /// The length of its text as the client wrote it.
    pub(super) fn len(&self) -> usize {
        match self {
            System::Absent => 0,
            System::Text(t) => t.bytes().len(),
            System::Texts(texts) => texts.iter().map(|t| t.bytes().len()).sum(),
        }
    }

    /// Writes the system message unless there is no text; whether it did.
    pub(super) fn write(&self, out: &mut Vec<u8>) -> bool {
        let open = b"{\"role\":\"system\",\"content\":";
        match self {
            System::Absent => false,
            System::Text(text) if text.is_empty_string() => false,
            System::Text(text) if is_canonical(text.inner()) => {
                out.extend_from_slice(open);
                out.extend_from_slice(text.bytes());
                out.push(b'}');
                true
            }
            System::Text(text) => {
                let Some(decoded) = text.str() else {
                    return false;
                };
                out.extend_from_slice(open);
                write_str(out, &decoded);
                out.push(b'}');
                true
            }
            System::Texts(texts) => {
                let copyable = texts
                    .iter()
                    .all(|t| is_canonical(t.inner()) && !billing_header(t.inner()));
                if copyable {
                    if texts.iter().all(|t| t.is_empty_string()) {
                        return false;
                    }
                    // Escaped contents concatenate as they are.
                    out.extend_from_slice(open);
                    out.push(b'"');
                    for t in texts {
                        out.extend_from_slice(t.inner());
                    }
                    out.extend_from_slice(b"\"}");
                    return true;
                }
                let mut joined = String::new();
                for t in texts {
                    if let Some(text) = t.str()
                        && let Some(cleaned) = strip_billing_cch(&text)
                    {
                        joined.push_str(&cleaned);
                    }
                }
                if joined.is_empty() {
                    return false;
                }
                out.extend_from_slice(open);
                write_str(out, &joined);
                out.push(b'}');
                true
            }
        }
    }
}

/// Whether escaped contents start with the billing header's prefix (its
/// characters are never escaped, so the raw test is the decoded one).
fn billing_header(inner: &[u8]) -> bool {
    inner
        .get(..BILLING_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(BILLING_PREFIX.as_bytes()))
}

const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

/// Removes `cch=…` entries from a Claude Code billing-header text block
/// (they change per request and would defeat upstream prompt caching);
/// `None` when nothing remains. Other texts are returned unchanged.
// ok: `text` has the (ASCII) prefix, so slicing after it is on a boundary;
// `i < bytes.len()` in the loop; `from` is at most the end of the matched
// `cch=`; `copied <= i`, and both are 0, the end, one past an ASCII `;` or
// at an ASCII `cch=`, so every `value` slice is on char boundaries.
#[allow(clippy::indexing_slicing)]
fn strip_billing_cch(text: &str) -> Option<Cow<'_, str>> {
    let Some(head) = text.get(..BILLING_PREFIX.len()) else {
        return Some(Cow::Borrowed(text));
    };
    if !head.eq_ignore_ascii_case(BILLING_PREFIX) {
        return Some(Cow::Borrowed(text));
    }
    let value = &text[BILLING_PREFIX.len()..];
    // ` ?cch=[^;]*;?`, all occurrences, leftmost first.
    let bytes = value.as_bytes();
    let mut kept = String::with_capacity(value.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip_from = if rest.starts_with(b" cch=") {
            Some(i + 5)
        } else if rest.starts_with(b"cch=") {
            Some(i + 4)
        } else {
            None
        };
        if let Some(from) = skip_from {
            kept.push_str(&value[copied..i]);
            let tail = &bytes[from..];
            i = match tail.iter().position(|b| *b == b';') {
                Some(p) => from + p + 1,
                None => bytes.len(),
            };
            copied = i;
        } else {
            i += 1;
        }
    }
    kept.push_str(&value[copied..]);
    let trimmed = kept.trim_matches(|c| c == ';' || c == ' ');
    if trimmed.is_empty() {
        return None;
    }
    Some(Cow::Owned(format!("{BILLING_PREFIX}{trimmed}")))
}

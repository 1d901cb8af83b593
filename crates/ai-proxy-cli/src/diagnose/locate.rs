//! Finding and quoting the place in the input a diagnosis points at.

use crate::input::describe_byte;

/// The lines of an SSE stream with their byte offsets (LF, CR and CRLF end
/// a line; a leading BOM is skipped; a last line without an end is kept).
pub(super) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    std::iter::from_fn(move || {
        let rest = bytes.get(at..).filter(|r| !r.is_empty())?;
        let start = at;
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                let crlf = rest.get(end) == Some(&b'\r') && rest.get(end + 1) == Some(&b'\n');
                at += end + if crlf { 2 } else { 1 };
                Some((start, rest.get(..end).unwrap_or_default()))
            }
            None => {
                at = bytes.len();
                Some((start, rest))
            }
        }
    })
}

/// A line's field name and value (`None`: a blank line; `Some(b"")`: a
/// comment).
pub(super) fn field(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if line.is_empty() {
        return (None, line);
    }
    match line.iter().position(|&b| b == b':') {
        Some(colon) => {
            let value = line.get(colon + 1..).unwrap_or_default();
            let value = value.strip_prefix(b" ").unwrap_or(value);
            (Some(line.get(..colon).unwrap_or_default()), value)
        }
        None => (Some(line), &[]),
    }
}

/// The byte offset serde_json's 1-based line and column point at.
pub(super) fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes
            .get(start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(bytes.len())
}

/// serde_json's message without its " at line L column C" tail.
pub(super) fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .and_then(|i| message.get(..i))
        .unwrap_or(message)
}

/// Up to 24 characters from `offset`, quoted and escaped; a byte that is
/// not UTF-8 as `byte 0xNN`; `end of input` past the end.
pub(super) fn excerpt(bytes: &[u8], offset: usize) -> String {
    let Some(rest) = bytes.get(offset..).filter(|r| !r.is_empty()) else {
        return describe_byte(None);
    };
    let valid = match std::str::from_utf8(rest) {
        Ok(text) => text,
        Err(e) => {
            let upto = e.valid_up_to();
            match rest.get(..upto).and_then(|v| std::str::from_utf8(v).ok()) {
                Some(text) if !text.is_empty() => text,
                _ => return describe_byte(rest.first().copied()),
            }
        }
    };
    let line = valid.split(['\n', '\r']).next().unwrap_or_default();
    format!("`{}`", clip(if line.is_empty() { valid } else { line }, 24))
}

/// `text` escaped, cut after `max` characters.
pub(super) fn clip(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_lf_cr_and_crlf() {
        let found: Vec<(usize, &[u8])> = lines(b"\xEF\xBB\xBFa\rb\r\nc\nd").collect();
        assert_eq!(found, [(3, &b"a"[..]), (5, b"b"), (8, b"c"), (10, b"d")]);
    }
}

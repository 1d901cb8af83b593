//! Reading a FILE|- argument, bounded.

use std::fmt;
use std::io::{self, Read};

/// Why an input could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum InputError {
    /// The file or standard input could not be read (exit 2).
    Unreadable(String),
    /// It was read, but is too large or not text (exit 1).
    Invalid(String),
}

impl InputError {
    /// The exit code: 2 when unreadable, 1 when invalid.
    pub fn code(&self) -> u8 {
        match self {
            InputError::Unreadable(_) => 2,
            InputError::Invalid(_) => 1,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Unreadable(m) | InputError::Invalid(m) => f.write_str(m),
        }
    }
}

/// Opens `FILE`, or standard input for `-`.
pub fn open(file: &str) -> io::Result<Box<dyn Read>> {
    if file == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(std::fs::File::open(file)?))
    }
}

/// How an input is named in messages.
pub fn name(file: &str) -> &str {
    if file == "-" { "standard input" } else { file }
}

/// Reads a whole file, or standard input for `-`, but never more than
/// `limit` bytes (`what` names the content in the message).
pub fn read_bytes(file: &str, limit: usize, what: &str) -> Result<Vec<u8>, InputError> {
    let unreadable =
        |e: io::Error| InputError::Unreadable(format!("cannot read {}: {e}", name(file)));
    let input = open(file).map_err(unreadable)?;
    let mut bytes = Vec::new();
    // One byte over the limit tells "exactly at the limit" from "over".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    input
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > limit {
        return Err(InputError::Invalid(format!(
            "{}: {what} larger than {}; refusing to read more",
            name(file),
            human_bytes(limit)
        )));
    }
    Ok(bytes)
}

/// [`read_bytes`], then checked to be UTF-8 (the error locates the first
/// invalid byte).
pub fn read_text(file: &str, limit: usize, what: &str) -> Result<String, InputError> {
    let bytes = read_bytes(file, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        InputError::Invalid(format!(
            "{}: not UTF-8 text: {} at {}",
            name(file),
            describe_byte(bytes.get(at).copied()),
            position(bytes, at)
        ))
    })
}

/// `byte N (line L, column C)`: a byte offset with its 1-based line and
/// column (in bytes), as editors show them.
pub fn position(bytes: &[u8], offset: usize) -> String {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = 1 + memchr_count(b'\n', before);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = offset.saturating_sub(line_start) + 1;
    format!("byte {offset} (line {line}, column {column})")
}

fn memchr_count(needle: u8, haystack: &[u8]) -> usize {
    haystack.iter().filter(|&&b| b == needle).count()
}

/// `byte 0xFF`, or `end of input`.
pub fn describe_byte(byte: Option<u8>) -> String {
    match byte {
        Some(b) => format!("byte 0x{b:02X}"),
        None => "end of input".to_owned(),
    }
}

/// `64 MiB`, `512 KiB`, `12 bytes`.
pub fn human_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_columns_from_one() {
        assert_eq!(position(b"ab\ncd", 0), "byte 0 (line 1, column 1)");
        assert_eq!(position(b"ab\ncd", 4), "byte 4 (line 2, column 2)");
        assert_eq!(position(b"ab", 2), "byte 2 (line 1, column 3)");
    }

    #[test]
    fn human_bytes_uses_the_largest_exact_unit() {
        assert_eq!(human_bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}

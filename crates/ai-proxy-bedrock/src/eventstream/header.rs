//! Event-stream message headers: `name_len:u8 name type:u8 value`, ten
//! value types, big-endian.

use std::fmt;

/// Longest header section AWS sends or accepts (128 KiB).
pub const MAX_HEADERS_BYTES: usize = 128 * 1024;

/// One header value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderValue<'a> {
    /// Types 0 (`true`) and 1 (`false`).
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6: `len:u16` bytes.
    Bytes(&'a [u8]),
    /// Type 7: `len:u16` UTF-8 bytes.
    String(&'a str),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9: 16 bytes.
    Uuid([u8; 16]),
}

impl<'a> HeaderValue<'a> {
    /// The value when it is a string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The wire type tag.
    pub(crate) fn type_tag(&self) -> u8 {
        match self {
            HeaderValue::Bool(true) => 0,
            HeaderValue::Bool(false) => 1,
            HeaderValue::Byte(_) => 2,
            HeaderValue::Short(_) => 3,
            HeaderValue::Int(_) => 4,
            HeaderValue::Long(_) => 5,
            HeaderValue::Bytes(_) => 6,
            HeaderValue::String(_) => 7,
            HeaderValue::Timestamp(_) => 8,
            HeaderValue::Uuid(_) => 9,
        }
    }
}

impl fmt::Display for HeaderValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderValue::Bool(b) => write!(f, "{b}"),
            HeaderValue::Byte(n) => write!(f, "{n}"),
            HeaderValue::Short(n) => write!(f, "{n}"),
            HeaderValue::Int(n) => write!(f, "{n}"),
            HeaderValue::Long(n) | HeaderValue::Timestamp(n) => write!(f, "{n}"),
            HeaderValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            HeaderValue::String(s) => f.write_str(s),
            HeaderValue::Uuid(u) => {
                for b in u {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A reader over a header section already checked by [`validate`].
#[derive(Clone, Debug)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Headers<'a> {
    pub(crate) fn new(section: &'a [u8]) -> Self {
        Self { rest: section }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a str, HeaderValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, value, rest) = parse_one(self.rest).ok()?;
        self.rest = rest;
        Some((name, value))
    }
}

/// Why a header section is malformed.
pub(crate) type Invalid = &'static str;

fn take(input: &[u8], n: usize) -> Result<(&[u8], &[u8]), Invalid> {
    if input.len() < n {
        return Err("a header runs past the header section");
    }
    Ok(input.split_at(n))
}

fn array<const N: usize>(input: &[u8]) -> Result<([u8; N], &[u8]), Invalid> {
    let (head, rest) = take(input, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(head);
    Ok((out, rest))
}

/// Parses the header at the start of `input`: `(name, value, rest)`.
fn parse_one(input: &[u8]) -> Result<(&str, HeaderValue<'_>, &[u8]), Invalid> {
    let ([name_len], rest) = array::<1>(input)?;
    if name_len == 0 {
        return Err("a header has an empty name");
    }
    let (name, rest) = take(rest, usize::from(name_len))?;
    let name = std::str::from_utf8(name).map_err(|_| "a header name is not UTF-8")?;
    let ([tag], rest) = array::<1>(rest)?;
    let (value, rest) = match tag {
        0 => (HeaderValue::Bool(true), rest),
        1 => (HeaderValue::Bool(false), rest),
        2 => {
            let (b, rest) = array::<1>(rest)?;
            (HeaderValue::Byte(i8::from_be_bytes(b)), rest)
        }
        3 => {
            let (b, rest) = array::<2>(rest)?;
            (HeaderValue::Short(i16::from_be_bytes(b)), rest)
        }
        4 => {
            let (b, rest) = array::<4>(rest)?;
            (HeaderValue::Int(i32::from_be_bytes(b)), rest)
        }
        5 | 8 => {
            let (b, rest) = array::<8>(rest)?;
            let n = i64::from_be_bytes(b);
            let value = if tag == 5 {
                HeaderValue::Long(n)
            } else {
                HeaderValue::Timestamp(n)
            };
            (value, rest)
        }
        6 | 7 => {
            let (len, rest) = array::<2>(rest)?;
            let (bytes, rest) = take(rest, usize::from(u16::from_be_bytes(len)))?;
            let value = if tag == 6 {
                HeaderValue::Bytes(bytes)
            } else {
                HeaderValue::String(
                    std::str::from_utf8(bytes).map_err(|_| "a string header value is not UTF-8")?,
                )
            };
            (value, rest)
        }
        9 => {
            let (b, rest) = array::<16>(rest)?;
            (HeaderValue::Uuid(b), rest)
        }
        _ => return Err("a header has an unknown value type"),
    };
    Ok((name, value, rest))
}

/// Checks a whole header section.
pub(crate) fn validate(mut section: &[u8]) -> Result<(), Invalid> {
    while !section.is_empty() {
        section = parse_one(section)?.2;
    }
    Ok(())
}

/// Appends one header; names longer than 255 bytes and string or byte
/// values longer than 65535 bytes cannot be encoded.
pub(crate) fn write(out: &mut Vec<u8>, name: &str, value: &HeaderValue<'_>) -> Result<(), Invalid> {
    let name_len = u8::try_from(name.len())
        .ok()
        .filter(|n| *n > 0)
        .ok_or("a header name must be 1 to 255 bytes")?;
    out.push(name_len);
    out.extend_from_slice(name.as_bytes());
    out.push(value.type_tag());
    let short = |out: &mut Vec<u8>, bytes: &[u8]| -> Result<(), Invalid> {
        let len =
            u16::try_from(bytes.len()).map_err(|_| "a header value is longer than 65535 bytes")?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    };
    match value {
        HeaderValue::Bool(_) => {}
        HeaderValue::Byte(n) => out.extend_from_slice(&n.to_be_bytes()),
        HeaderValue::Short(n) => out.extend_from_slice(&n.to_be_bytes()),
        HeaderValue::Int(n) => out.extend_from_slice(&n.to_be_bytes()),
        HeaderValue::Long(n) | HeaderValue::Timestamp(n) => out.extend_from_slice(&n.to_be_bytes()),
        HeaderValue::Bytes(b) => short(out, b)?,
        HeaderValue::String(s) => short(out, s.as_bytes())?,
        HeaderValue::Uuid(u) => out.extend_from_slice(u),
    }
    Ok(())
}

//! A forward-only JSON cursor that pulls a few fields out of an event
//! without building a tree: strings are found with `memchr`, everything
//! else is skipped. It is lenient (it does not validate what it skips), so
//! callers fall back to a full `serde_json` parse whenever it answers
//! `None`.

use std::borrow::Cow;

use memchr::memchr2;

/// A string's raw bytes between its quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawStr<'a> {
    pub raw: &'a [u8],
    pub escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The decoded text (`None`: not UTF-8 or a bad escape).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        if self.escaped {
            let mut quoted = Vec::with_capacity(self.raw.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(self.raw);
            quoted.push(b'"');
            serde_json::from_slice::<String>(&quoted)
                .ok()
                .map(Cow::Owned)
        } else {
            std::str::from_utf8(self.raw).ok().map(Cow::Borrowed)
        }
    }
}

#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.at >= self.bytes.len()
    }

    /// The next value is `null`.
    #[inline]
    pub fn is_null(&mut self) -> bool {
        self.ws();
        self.bytes
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(b"null"))
    }

    /// The next value is a string.
    #[inline]
    pub fn is_string(&mut self) -> bool {
        self.ws();
        self.peek() == Some(b'"')
    }

    #[inline]
    pub fn string(&mut self) -> Option<RawStr<'a>> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(self.at..)?;
            let found = find_quote_or_backslash(rest)?;
            self.at += found;
            if self.peek()? == b'"' {
                let raw = self.bytes.get(start..self.at)?;
                self.at += 1;
                return Some(RawStr { raw, escaped });
            }
            escaped = true;
            self.at += 2;
        }
    }

    /// Skips any value.
    pub fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let start = self.at;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'+' | b'.')
                ) {
                    self.at += 1;
                }
                (self.at > start).then_some(())
            }
        }
    }

    /// Walks an object; `member` is given each key (unescaped keys only —
    /// an escaped key answers `None`) and must consume the value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if key.escaped {
                return None;
            }
            self.eat(b':')?;
            member(self, key.raw)?;
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Walks an array; `element` must consume each element.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            element(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The first `"` or `\\`: eight bytes at a time (SWAR) for the short
/// strings JSON is made of, `memchr` once a string runs long.
#[inline]
fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = LO * b'"' as u64;
    const BACKSLASHES: u64 = LO * b'\\' as u64;
    let mut at = 0;
    while let Some(word) = s.get(at..at + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes);
        let (q, b) = (word ^ QUOTES, word ^ BACKSLASHES);
        // A zero byte in q or b is a match; the lowest flag is exact.
        let hits = (q.wrapping_sub(LO) & !q & HI) | (b.wrapping_sub(LO) & !b & HI);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
        if at >= 64 {
            return memchr2(b'"', b'\\', s.get(at..)?).map(|found| at + found);
        }
    }
    s.get(at..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|found| at + found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_first_quote_or_backslash_at_every_offset() {
        for len in 0..100 {
            for at in 0..len {
                for special in [b'"', b'\\'] {
                    let mut s = vec![b'a'; len];
                    s[at] = special;
                    if at + 1 < len {
                        s[at + 1] = b'"';
                    }
                    assert_eq!(find_quote_or_backslash(&s), Some(at));
                }
            }
            assert_eq!(find_quote_or_backslash(&vec![0xFFu8; len]), None);
        }
    }

    use super::*;

    #[test]
    fn skips_nested_values_and_reads_strings() {
        let data = br#"{"a":{"b":[1,"x]}",{"c":null}]},"s":"q\"z","n":-1.5e3}"#;
        let mut seen = Vec::new();
        Cursor::new(data)
            .object(|cur, key| {
                if key == b"s" {
                    seen.push(cur.string()?.text()?.into_owned());
                    Some(())
                } else {
                    cur.skip()
                }
            })
            .unwrap();
        assert_eq!(seen, ["q\"z"]);
    }

    #[test]
    fn truncated_input_is_none() {
        assert!(Cursor::new(br#"{"a":"#).object(|c, _| c.skip()).is_none());
        assert!(
            Cursor::new(br#"{"a":[1,2"#)
                .object(|c, _| c.skip())
                .is_none()
        );
        assert!(
            Cursor::new(br#"{"a":"x\"#)
                .object(|c, _| c.skip())
                .is_none()
        );
    }
}

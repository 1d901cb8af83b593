//! The chunked transfer coding (RFC 9112 §7.1), decoded from a read
//! buffer: chunk data comes out as slices split off the buffer (no copy),
//! the framing around it is consumed and checked, trailers are skipped.
//! Bounded: a chunk-size line up to [`MAX_CHUNK_LINE`] bytes, a trailer
//! section up to [`MAX_TRAILERS`].

use bytes::{Buf, Bytes, BytesMut};

/// The longest chunk-size line (size, extensions, CRLF) read.
pub(crate) const MAX_CHUNK_LINE: usize = 4 * 1024;
/// The largest trailer section (its field lines) read.
pub(crate) const MAX_TRAILERS: usize = 16 * 1024;

/// Why a chunked body cannot be decoded (the side that read it names the
/// peer in its own error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkedError {
    /// A chunk-size line is not a hexadecimal size (with extensions), or
    /// the size overflows.
    #[error("invalid chunk-size line")]
    InvalidSize,
    /// A chunk-size line is longer than [`MAX_CHUNK_LINE`].
    #[error("chunk-size line longer than {MAX_CHUNK_LINE} bytes")]
    LineTooLong,
    /// A chunk's data is not followed by CRLF.
    #[error("chunk not ended by CRLF")]
    InvalidEnd,
    /// A trailer field line ends in a bare LF.
    #[error("trailer field not ended by CRLF")]
    InvalidTrailers,
    /// The trailer section is larger than [`MAX_TRAILERS`].
    #[error("trailers larger than {MAX_TRAILERS} bytes")]
    TrailersTooLarge,
}

/// Where the decoder is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// In the trailer section, this many bytes of it read.
    Trailers(usize),
    /// After the final CRLF.
    Done,
}

/// A chunked body's decoder.
#[derive(Clone, Debug)]
pub(crate) struct Chunked {
    state: State,
}

impl Default for Chunked {
    fn default() -> Self {
        Self { state: State::Size }
    }
}

impl Chunked {
    /// The next chunk data in `buf` (split off it), `None` when `buf`
    /// holds none yet or the body is done ([`Chunked::is_done`]).
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, ChunkedError> {
        self.settle(buf)?;
        let State::Data(left) = self.state else {
            return Ok(None);
        };
        let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        if n == 0 {
            return Ok(None);
        }
        let left = left - n as u64;
        self.state = if left == 0 {
            State::DataEnd
        } else {
            State::Data(left)
        };
        let data = buf.split_to(n).freeze();
        // The end of the body may already be buffered: consumed now, so
        // the body reports its end with its last data.
        self.settle(buf)?;
        Ok(Some(data))
    }

    /// Whether the last chunk and the trailer section have been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes the framing in `buf` (chunk-size lines, CRLFs, trailers)
    /// up to the next chunk data, the body's end, or the buffer's end.
    fn settle(&mut self, buf: &mut BytesMut) -> Result<(), ChunkedError> {
        loop {
            match self.state {
                State::Data(_) | State::Done => return Ok(()),
                State::Size => {
                    let Some(line) = line(buf, MAX_CHUNK_LINE).map_err(|fault| match fault {
                        Fault::TooLong => ChunkedError::LineTooLong,
                        Fault::BareLf => ChunkedError::InvalidSize,
                    })?
                    else {
                        return Ok(());
                    };
                    let size = chunk_size(buf.get(..line).unwrap_or_default())?;
                    buf.advance(line + 2);
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::DataEnd => {
                    let Some(end) = buf.get(..2) else {
                        // One byte may already tell it is wrong.
                        return match buf.first() {
                            Some(b'\r') | None => Ok(()),
                            Some(_) => Err(ChunkedError::InvalidEnd),
                        };
                    };
                    if end != b"\r\n" {
                        return Err(ChunkedError::InvalidEnd);
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers(read) => {
                    let room = MAX_TRAILERS - read;
                    let Some(field) = line(buf, room + 2).map_err(|fault| match fault {
                        Fault::TooLong => ChunkedError::TrailersTooLarge,
                        Fault::BareLf => ChunkedError::InvalidTrailers,
                    })?
                    else {
                        return Ok(());
                    };
                    buf.advance(field + 2);
                    self.state = if field == 0 {
                        State::Done
                    } else {
                        State::Trailers(read + field)
                    };
                }
            }
        }
    }
}

/// Why a line cannot be read.
enum Fault {
    /// Longer than allowed (or no end within the allowed length).
    TooLong,
    /// Ended by a LF without a CR.
    BareLf,
}

/// The length of the CRLF-terminated line at the start of `buf` (without
/// its CRLF), `None` if it is not complete yet.
fn line(buf: &[u8], max: usize) -> Result<Option<usize>, Fault> {
    let window = buf.get(..max).unwrap_or(buf);
    match memchr::memchr(b'\n', window) {
        Some(lf) => match lf.checked_sub(1) {
            Some(cr) if buf.get(cr) == Some(&b'\r') => Ok(Some(cr)),
            _ => Err(Fault::BareLf),
        },
        None if window.len() == max => Err(Fault::TooLong),
        None => Ok(None),
    }
}

/// A chunk-size line without its CRLF: hexadecimal digits, optional
/// whitespace, then optional extensions (`;` …, visible characters,
/// spaces and tabs), which are ignored.
fn chunk_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    // 16 hexadecimal digits fill a u64; a longer size is refused.
    if digits == 0 || digits > 16 {
        return Err(ChunkedError::InvalidSize);
    }
    let (size, rest) = line.split_at(digits);
    let rest = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .and_then(|i| rest.get(i..))
        .unwrap_or_default();
    let extensions_ok = match rest.split_first() {
        None => true,
        Some((b';', ext)) => ext
            .iter()
            .all(|&b| b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80),
        Some(_) => false,
    };
    if !extensions_ok {
        return Err(ChunkedError::InvalidSize);
    }
    Ok(size.iter().fold(0u64, |n, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        (n << 4) | u64::from(digit)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `wire` fed in pieces of `split` bytes: the data, and whether
    /// the body ended.
    fn decode(wire: &[u8], split: usize) -> Result<(Vec<u8>, bool, usize), ChunkedError> {
        let mut decoder = Chunked::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in wire.chunks(split.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(data) = decoder.next(&mut buf)? {
                out.extend_from_slice(&data);
            }
        }
        Ok((out, decoder.is_done(), buf.len()))
    }

    fn whole(wire: &str) -> Result<(Vec<u8>, bool, usize), ChunkedError> {
        decode(wire.as_bytes(), usize::MAX)
    }

    #[test]
    fn chunks_decode_to_their_data_and_the_last_chunk_ends_the_body() {
        let (data, done, left) = whole("5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n").unwrap();
        assert_eq!(data, b"hello!");
        assert!(done);
        assert_eq!(left, 0);
    }

    #[test]
    fn sizes_are_hexadecimal_in_either_case() {
        let body = format!(
            "A\r\n{}\r\nb\r\n{}\r\n0\r\n\r\n",
            "x".repeat(10),
            "y".repeat(11)
        );
        assert_eq!(whole(&body).unwrap().0.len(), 21);
    }

    #[test]
    fn extensions_and_whitespace_before_them_are_ignored() {
        let (data, done, _) = whole("3 ;name=\"v w\";flag\r\nabc\r\n000\r\n\r\n").unwrap();
        assert_eq!(data, b"abc");
        assert!(done);
    }

    #[test]
    fn trailers_are_skipped() {
        let (data, done, left) = whole("2\r\nok\r\n0\r\nx-usage: 1\r\nx-more: 2\r\n\r\n").unwrap();
        assert_eq!(data, b"ok");
        assert!(done);
        assert_eq!(left, 0);
    }

    #[test]
    fn bytes_after_the_body_stay_in_the_buffer() {
        let (_, done, left) = whole("0\r\n\r\nHTTP/1.1").unwrap();
        assert!(done);
        assert_eq!(left, 8);
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        for cut in ["", "5\r\nhel", "5\r\nhello\r\n", "0\r\n", "0\r\nx: 1\r\n"] {
            assert!(!whole(cut).unwrap().1, "{cut:?}");
        }
    }

    #[test]
    fn the_end_is_seen_with_the_last_data_when_it_is_buffered() {
        let mut decoder = Chunked::default();
        let mut buf = BytesMut::from(&b"2\r\nok\r\n0\r\n\r\n"[..]);
        assert_eq!(decoder.next(&mut buf).unwrap().unwrap(), "ok");
        assert!(decoder.is_done());
    }

    #[test]
    fn invalid_sizes_are_refused() {
        for bad in [
            "\r\n",
            "x\r\n",
            "-1\r\n",
            "+1\r\n",
            "5x\r\nhello\r\n",
            "5 x\r\n",
            "0x5\r\n",
            "10000000000000000\r\n",
            "5;\u{1}\r\n",
        ] {
            assert!(
                matches!(whole(bad), Err(ChunkedError::InvalidSize)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_largest_size_is_accepted_and_waits_for_its_data() {
        let (data, done, _) = whole("ffffffffffffffff\r\nabc").unwrap();
        assert_eq!(data, b"abc");
        assert!(!done);
    }

    #[test]
    fn a_bare_lf_ends_no_line() {
        assert!(whole("5\nhello\r\n").is_err());
        assert!(whole("0\r\nx: 1\n\r\n").is_err());
    }

    #[test]
    fn chunk_data_must_be_followed_by_crlf() {
        assert!(matches!(
            whole("2\r\nokX\r\n0\r\n\r\n"),
            Err(ChunkedError::InvalidEnd)
        ));
        assert!(matches!(
            whole("2\r\nok\rX0\r\n\r\n"),
            Err(ChunkedError::InvalidEnd)
        ));
    }

    #[test]
    fn a_chunk_size_line_is_at_most_4_kib() {
        let long = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE));
        assert!(matches!(whole(&long), Err(ChunkedError::LineTooLong)));
        let fits = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE - 5));
        assert_eq!(whole(&fits).unwrap().0, b"x");
        // Without its LF yet: refused once 4 KiB are buffered.
        let endless = "1".repeat(MAX_CHUNK_LINE);
        assert!(whole(&endless).is_err());
    }

    #[test]
    fn trailers_are_at_most_16_kib() {
        let field = format!("x: {}\r\n", "v".repeat(1000));
        let big = format!("0\r\n{}\r\n", field.repeat(17));
        assert!(matches!(whole(&big), Err(ChunkedError::TrailersTooLarge)));
        let fits = format!("0\r\n{}\r\n", field.repeat(15));
        assert!(whole(&fits).unwrap().1);
    }

    /// `payload` cut into chunks of the given sizes, each with or without
    /// an extension, then the last chunk and a trailer.
    fn encode(payload: &[u8], sizes: &[usize], ext: bool) -> Vec<u8> {
        let mut wire = Vec::new();
        let mut rest = payload;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).clamp(1, rest.len());
            let (chunk, tail) = rest.split_at(n);
            let ext = if ext { ";a=b" } else { "" };
            wire.extend_from_slice(format!("{n:X}{ext}\r\n").as_bytes());
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
            rest = tail;
        }
        wire.extend_from_slice(b"0\r\nx-t: 1\r\n\r\n");
        wire
    }

    proptest! {
        #[test]
        fn any_chunking_of_any_payload_fed_in_any_split_decodes_to_the_payload(
            payload in prop::collection::vec(any::<u8>(), 0..2048),
            sizes in prop::collection::vec(1usize..600, 1..8),
            ext in any::<bool>(),
            split in 1usize..700,
        ) {
            let wire = encode(&payload, &sizes, ext);
            let (data, done, left) = decode(&wire, split).unwrap();
            prop_assert_eq!(data, payload);
            prop_assert!(done);
            prop_assert_eq!(left, 0);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(
            wire in prop::collection::vec(any::<u8>(), 0..512),
            split in 1usize..64,
        ) {
            if let Ok((data, _, _)) = decode(&wire, split) {
                prop_assert!(data.len() <= wire.len());
            }
        }

        #[test]
        fn any_hexadecimal_size_line_is_read_or_refused(line in "[0-9a-fA-F]{0,20}[ ;a-z=]{0,8}") {
            let _ = chunk_size(line.as_bytes());
        }
    }
}

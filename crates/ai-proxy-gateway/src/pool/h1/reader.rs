//! A response body read off the connection's buffer, by its framing.

use bytes::{Bytes, BytesMut};

use super::Http1Error;
use super::framing::Framing;
use crate::h1::chunked::Chunked;

/// Where a response body is: what is left of it, by its framing.
#[derive(Clone, Debug)]
pub(crate) enum BodyReader {
    /// This many bytes left (`Content-Length`).
    Length(u64),
    /// Chunked.
    Chunked(Chunked),
    /// Until the connection closes.
    Eof,
    /// Read to its end.
    Done,
}

impl BodyReader {
    /// A reader for a body of `framing`.
    pub(crate) fn new(framing: Framing) -> Self {
        match framing {
            Framing::Empty | Framing::Length(0) => BodyReader::Done,
            Framing::Length(n) => BodyReader::Length(n),
            Framing::Chunked => BodyReader::Chunked(Chunked::default()),
            Framing::Eof => BodyReader::Eof,
        }
    }

    /// The body's next bytes in `buf` (split off it), `None` if `buf` has
    /// none yet or the body is done.
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, Http1Error> {
        match self {
            BodyReader::Length(left) => {
                let n = usize::try_from(*left).map_or(buf.len(), |left| left.min(buf.len()));
                if n == 0 {
                    return Ok(None);
                }
                *left -= n as u64;
                if *left == 0 {
                    *self = BodyReader::Done;
                }
                Ok(Some(buf.split_to(n).freeze()))
            }
            BodyReader::Chunked(chunked) => {
                let data = chunked.next(buf)?;
                if chunked.is_done() {
                    *self = BodyReader::Done;
                }
                Ok(data)
            }
            BodyReader::Eof if !buf.is_empty() => Ok(Some(buf.split().freeze())),
            BodyReader::Eof | BodyReader::Done => Ok(None),
        }
    }

    /// The connection ended (after [`BodyReader::next`] took what was
    /// buffered): the end of a body read to EOF, a truncation otherwise.
    pub(crate) fn end_of_input(&mut self) -> Result<(), Http1Error> {
        match self {
            BodyReader::Eof | BodyReader::Done => {
                *self = BodyReader::Done;
                Ok(())
            }
            BodyReader::Length(_) | BodyReader::Chunked(_) => Err(Http1Error::closed_in_body()),
        }
    }

    /// Whether the body has been read to its end.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, BodyReader::Done)
    }

    /// The bytes left, if known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self {
            BodyReader::Length(n) => Some(*n),
            BodyReader::Done => Some(0),
            BodyReader::Chunked(_) | BodyReader::Eof => None,
        }
    }
}

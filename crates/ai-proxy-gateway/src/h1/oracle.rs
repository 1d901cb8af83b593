//! The usual-shape head reader ([`super::usual`]) held against `httparse`:
//! both read the same bytes into comparable parts, and a head the usual
//! reader takes must read the same way with `httparse`. Shared by the
//! reader's proptests and the `usual_heads` fuzz target.

use std::mem::MaybeUninit;

use super::MAX_HEADERS;
use super::field::FieldOffsets;
use super::usual;

/// Field names and values, in order.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// A head as one reader read it: the start line's parts (a request's
/// method and target; a response's status code), the minor version, the
/// fields and the head's length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeadRead {
    /// Method and target (requests), empty for responses.
    pub(crate) line: (Vec<u8>, Vec<u8>),
    /// The status code (responses), 0 for requests.
    pub(crate) code: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub(crate) minor: u8,
    /// The fields, in order.
    pub(crate) fields: Fields,
    /// The head's length, its final CRLF included.
    pub(crate) len: usize,
}

/// `buf` as the usual reader reads a request head.
pub(crate) fn usual_request(buf: &[u8]) -> Option<HeadRead> {
    let mut offsets = FieldOffsets::new();
    let r = usual::request(buf, &mut offsets)?;
    Some(HeadRead {
        line: (bytes(buf, r.method), bytes(buf, r.target)),
        code: 0,
        minor: r.minor,
        fields: fields_at(buf, &offsets),
        len: r.len,
    })
}

/// `buf` as the usual reader reads a response head.
pub(crate) fn usual_response(buf: &[u8]) -> Option<HeadRead> {
    let mut offsets = FieldOffsets::new();
    let r = usual::response(buf, &mut offsets)?;
    Some(HeadRead {
        line: (Vec::new(), Vec::new()),
        code: r.code,
        minor: r.minor,
        fields: fields_at(buf, &offsets),
        len: r.len,
    })
}

/// `buf` as `httparse` reads a complete request head.
pub(crate) fn httparse_request(buf: &[u8]) -> Option<HeadRead> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut r = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut r, buf, &mut slots);
    let Ok(httparse::Status::Complete(len)) = parsed else {
        return None;
    };
    Some(HeadRead {
        line: (r.method?.as_bytes().to_vec(), r.path?.as_bytes().to_vec()),
        code: 0,
        minor: r.version?,
        fields: fields_of(r.headers),
        len,
    })
}

/// `buf` as `httparse` reads a complete response head.
pub(crate) fn httparse_response(buf: &[u8]) -> Option<HeadRead> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut r, buf, &mut slots);
    let Ok(httparse::Status::Complete(len)) = parsed else {
        return None;
    };
    Some(HeadRead {
        line: (Vec::new(), Vec::new()),
        code: r.code?,
        minor: r.version?,
        fields: fields_of(r.headers),
        len,
    })
}

/// Whether the usual reader and `httparse` disagree on `buf`, read as a
/// request head and as a response head: the usual reader took it, and
/// `httparse` read it otherwise or not at all. A head the usual reader
/// leaves (`None`) is `httparse`'s alone, never a disagreement.
pub(crate) fn disagreement(buf: &[u8]) -> Option<(Option<HeadRead>, Option<HeadRead>)> {
    if let Some(read) = usual_request(buf) {
        let reference = httparse_request(buf);
        if reference.as_ref() != Some(&read) {
            return Some((Some(read), reference));
        }
    }
    if let Some(read) = usual_response(buf) {
        let reference = httparse_response(buf);
        if reference.as_ref() != Some(&read) {
            return Some((Some(read), reference));
        }
    }
    None
}

fn fields_of(headers: &[httparse::Header<'_>]) -> Fields {
    headers
        .iter()
        .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
        .collect()
}

fn fields_at(buf: &[u8], offsets: &FieldOffsets) -> Fields {
    offsets
        .as_slice()
        .iter()
        .map(|f| (bytes(buf, f.name()), bytes(buf, f.value())))
        .collect()
}

fn bytes(buf: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    buf.get(range).unwrap_or_default().to_vec()
}

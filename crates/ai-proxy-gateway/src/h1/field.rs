//! Field-value pieces of HTTP/1.1 heads (RFC 9110 §5.5–5.6), for the
//! heads the gateway reads from upstreams and from clients.

/// `bytes` without leading and trailing spaces and tabs (OWS).
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A decimal number of 1 to 19 digits (no sign, no overflow).
pub(crate) fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// `Content-Length` over a head's field lines: a comma-separated list is
/// accepted when its members are equal, as are repeated lines (RFC 9110
/// §8.6); anything else makes it invalid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ContentLength {
    /// No `Content-Length` field.
    #[default]
    Absent,
    /// One valid length.
    Valid(u64),
    /// Not a number, or differing copies.
    Invalid,
}

impl ContentLength {
    /// Notes a `Content-Length` field line.
    pub(crate) fn note(&mut self, value: &[u8]) {
        for member in value.split(|&b| b == b',') {
            let n = digits(trim(member));
            *self = match (*self, n) {
                (ContentLength::Invalid, _) | (_, None) => ContentLength::Invalid,
                (ContentLength::Absent, Some(n)) => ContentLength::Valid(n),
                (ContentLength::Valid(m), Some(n)) if m == n => ContentLength::Valid(n),
                (ContentLength::Valid(_), Some(_)) => ContentLength::Invalid,
            };
        }
    }
}

/// Whether the last coding of a `Transfer-Encoding` field line is
/// `chunked` (any case).
pub(crate) fn ends_in_chunked(value: &[u8]) -> bool {
    let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
    trim(last).eq_ignore_ascii_case(b"chunked")
}

/// The `Connection` options that decide a connection's fate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// `close` was listed.
    pub(crate) close: bool,
    /// `keep-alive` was listed.
    pub(crate) keep_alive: bool,
}

impl Options {
    /// Notes a `Connection` field line.
    pub(crate) fn note(&mut self, value: &[u8]) {
        // The usual lines name one option as it is: no split, no trim.
        if value.eq_ignore_ascii_case(b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        if value.eq_ignore_ascii_case(b"close") {
            self.close = true;
            return;
        }
        for token in value.split(|&b| b == b',') {
            let token = trim(token);
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }
}

/// The fields a head usually has at most: their offsets stay in an array
/// that small (clearing one for [`super::MAX_HEADERS`] fields, ~800 bytes,
/// cost more than reading a usual head's fields).
const FEW: usize = 24;

/// Where each field of a head is ([`FieldAt`]), in the head's order.
pub(crate) enum FieldOffsets {
    /// Up to [`FEW`] fields: the first `.1` of the array.
    Few([FieldAt; FEW], usize),
    /// More.
    Many(Vec<FieldAt>),
}

impl FieldOffsets {
    /// The offsets of `headers` (read by `httparse` from the head starting
    /// at `base`, see [`FieldAt::new`]).
    #[inline]
    pub(crate) fn of(headers: &[httparse::Header<'_>], base: usize) -> Self {
        let at = |h: &httparse::Header<'_>| FieldAt::new(h.name.as_bytes(), h.value, base);
        if headers.len() > FEW {
            return FieldOffsets::Many(headers.iter().map(at).collect());
        }
        let mut few = [FieldAt::default(); FEW];
        for (field, header) in few.iter_mut().zip(headers) {
            *field = at(header);
        }
        FieldOffsets::Few(few, headers.len())
    }

    /// No fields yet.
    pub(crate) fn new() -> Self {
        FieldOffsets::Few([FieldAt::default(); FEW], 0)
    }

    /// Adds the next field's offsets.
    pub(crate) fn push(&mut self, field: FieldAt) {
        match self {
            FieldOffsets::Few(few, len) => {
                if let Some(slot) = few.get_mut(*len) {
                    *slot = field;
                    *len += 1;
                } else {
                    let mut many = Vec::with_capacity(FEW * 2);
                    many.extend_from_slice(few);
                    many.push(field);
                    *self = FieldOffsets::Many(many);
                }
            }
            FieldOffsets::Many(many) => many.push(field),
        }
    }

    /// Forgets the fields (a `Many` keeps its allocation).
    pub(crate) fn clear(&mut self) {
        match self {
            FieldOffsets::Few(_, len) => *len = 0,
            FieldOffsets::Many(many) => many.clear(),
        }
    }

    /// How many fields.
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The offsets, in the head's order.
    pub(crate) fn as_slice(&self) -> &[FieldAt] {
        match self {
            FieldOffsets::Few(few, len) => few.get(..*len).unwrap_or_default(),
            FieldOffsets::Many(many) => many,
        }
    }
}

/// Where a field's name and value are in a head's bytes (a head is under
/// 64 KiB: 16 bits each keep the array small to clear).
#[derive(Clone, Copy, Default)]
pub(crate) struct FieldAt {
    name: (u16, u16),
    value: (u16, u16),
}

impl FieldAt {
    /// `name` and `value` lie in the head starting at `base`, which is
    /// under 64 KiB (checked before): their offsets fit 16 bits as they
    /// are. (Were they elsewhere, the ranges would slice to nothing or to
    /// other bytes of the head, never out of it: `get` checks.)
    pub(crate) fn new(name: &[u8], value: &[u8], base: usize) -> Self {
        let at = |part: &[u8]| {
            let start = (part.as_ptr() as usize).wrapping_sub(base);
            (start as u16, start.wrapping_add(part.len()) as u16)
        };
        Self {
            name: at(name),
            value: at(value),
        }
    }

    /// A field whose name and value are at these ranges of a head under
    /// 64 KiB (see [`FieldAt::new`]).
    pub(crate) fn at(name: std::ops::Range<usize>, value: std::ops::Range<usize>) -> Self {
        let at = |r: std::ops::Range<usize>| (r.start as u16, r.end as u16);
        Self {
            name: at(name),
            value: at(value),
        }
    }

    /// The name's range in the head.
    pub(crate) fn name(self) -> std::ops::Range<usize> {
        usize::from(self.name.0)..usize::from(self.name.1)
    }

    /// The value's range in the head.
    pub(crate) fn value(self) -> std::ops::Range<usize> {
        usize::from(self.value.0)..usize::from(self.value.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(value: &str) -> Options {
        let mut o = Options::default();
        o.note(value.as_bytes());
        o
    }

    #[test]
    fn a_connection_line_naming_one_option_is_read_in_any_case() {
        assert!(options("Keep-Alive").keep_alive);
        assert!(options("CLOSE").close);
        assert_eq!(options("upgrade"), Options::default());
    }

    #[test]
    fn a_connection_line_listing_options_is_read_member_by_member() {
        let o = options(" keep-alive , Close");
        assert!(o.keep_alive && o.close);
        assert_eq!(options("keep-alive-x"), Options::default());
    }

    /// The offsets of `count` fields `x-N: N` as a head's parse gives them.
    fn offsets(count: usize) -> Vec<(String, String)> {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 0..count {
            head.push_str(&format!("x-{i}: {i}\r\n"));
        }
        head.push_str("\r\n");
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut slots);
        request.parse(head.as_bytes()).unwrap();
        let fields = FieldOffsets::of(request.headers, head.as_ptr() as usize);
        fields
            .as_slice()
            .iter()
            .map(|f| (head[f.name()].to_owned(), head[f.value()].to_owned()))
            .collect()
    }

    #[test]
    fn field_offsets_point_at_each_name_and_value_few_or_many() {
        for count in [0, 1, FEW, FEW + 1, 60] {
            let read = offsets(count);
            let want: Vec<_> = (0..count)
                .map(|i| (format!("x-{i}"), i.to_string()))
                .collect();
            assert_eq!(read, want, "{count} fields");
        }
    }
}

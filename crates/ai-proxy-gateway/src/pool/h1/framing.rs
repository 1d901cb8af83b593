//! How long a response body is (RFC 9112 §6.3), and whether its
//! connection can carry another request afterwards.

use http::{StatusCode, Version};

use super::Http1Error;
use crate::h1::field::{ContentLength as Length, Options, ends_in_chunked};

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (`HEAD`, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`.
    Chunked,
    /// Until the upstream closes the connection.
    Eof,
}

/// A response's framing and its connection's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) framing: Framing,
    /// Whether the connection may carry another request once the body has
    /// been read to its end.
    pub(crate) reusable: bool,
}

/// The header fields that decide framing and reuse, collected while a
/// head's fields are read (no second look-up in the header map).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fields {
    length: Length,
    /// A `Transfer-Encoding` was seen; whether its last coding (of its
    /// last field line) is `chunked`.
    transfer_encoding: Option<bool>,
    options: Options,
}

impl Fields {
    /// Notes a `Content-Length` field line.
    pub(crate) fn content_length(&mut self, value: &[u8]) {
        self.length.note(value);
    }

    /// Notes a `Transfer-Encoding` field line.
    pub(crate) fn transfer_encoding(&mut self, value: &[u8]) {
        self.transfer_encoding = Some(ends_in_chunked(value));
    }

    /// Notes a `Connection` field line (`close` wins over `keep-alive`).
    pub(crate) fn connection(&mut self, value: &[u8]) {
        self.options.note(value);
    }

    /// The framing of a response with `status` and `version` to a request
    /// that was (`head`) or was not a `HEAD`.
    pub(crate) fn decide(
        self,
        status: StatusCode,
        version: Version,
        head: bool,
    ) -> Result<Decision, Http1Error> {
        // HTTP/1.1 keeps the connection unless told; HTTP/1.0 is not
        // reused (keep-alive there is an old extension, not worth the risk).
        let keep = version == Version::HTTP_11 && !self.options.close;
        let no_body = head
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        if no_body {
            return Ok(Decision {
                framing: Framing::Empty,
                reusable: keep,
            });
        }
        let decision = match (self.transfer_encoding, self.length) {
            (Some(_), _) if version != Version::HTTP_11 => {
                return Err(Http1Error::TransferEncodingInHttp10);
            }
            // Chunked wins over Content-Length; a message with both may
            // have been built to smuggle: the connection goes after it.
            (Some(true), length) => Decision {
                framing: Framing::Chunked,
                reusable: keep && length == Length::Absent,
            },
            (Some(false), _) => Decision {
                framing: Framing::Eof,
                reusable: false,
            },
            (None, Length::Valid(n)) => Decision {
                framing: if n == 0 {
                    Framing::Empty
                } else {
                    Framing::Length(n)
                },
                reusable: keep,
            },
            (None, Length::Invalid) => return Err(Http1Error::InvalidContentLength),
            (None, Length::Absent) => Decision {
                framing: Framing::Eof,
                reusable: false,
            },
        };
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(fields: &[(&str, &str)], status: u16, head: bool) -> Result<Decision, Http1Error> {
        decide_version(fields, status, Version::HTTP_11, head)
    }

    fn decide_version(
        fields: &[(&str, &str)],
        status: u16,
        version: Version,
        head: bool,
    ) -> Result<Decision, Http1Error> {
        let mut seen = Fields::default();
        for (name, value) in fields {
            match *name {
                "content-length" => seen.content_length(value.as_bytes()),
                "transfer-encoding" => seen.transfer_encoding(value.as_bytes()),
                "connection" => seen.connection(value.as_bytes()),
                _ => unreachable!(),
            }
        }
        seen.decide(StatusCode::from_u16(status).unwrap(), version, head)
    }

    fn framing(fields: &[(&str, &str)]) -> Framing {
        decide(fields, 200, false).unwrap().framing
    }

    #[test]
    fn a_head_request_204_and_304_have_no_body_whatever_the_fields_say() {
        let cl = [("content-length", "10")];
        for (status, head) in [(200, true), (204, false), (304, false)] {
            let d = decide(&cl, status, head).unwrap();
            assert_eq!(d.framing, Framing::Empty, "{status} {head}");
            assert!(d.reusable);
        }
    }

    #[test]
    fn content_length_delimits_the_body() {
        assert_eq!(framing(&[("content-length", "42")]), Framing::Length(42));
        assert_eq!(framing(&[("content-length", " 7 ")]), Framing::Length(7));
        assert_eq!(framing(&[("content-length", "0")]), Framing::Empty);
    }

    #[test]
    fn identical_content_length_copies_are_one_length() {
        assert_eq!(framing(&[("content-length", "5, 5")]), Framing::Length(5));
        let twice = [("content-length", "5"), ("content-length", "5")];
        assert_eq!(framing(&twice), Framing::Length(5));
    }

    #[test]
    fn differing_or_malformed_content_length_is_refused() {
        for bad in [
            &[("content-length", "5, 6")][..],
            &[("content-length", "5"), ("content-length", "6")],
            &[("content-length", "")],
            &[("content-length", "-1")],
            &[("content-length", "+1")],
            &[("content-length", "1e3")],
            &[("content-length", "99999999999999999999")],
        ] {
            assert!(
                matches!(
                    decide(bad, 200, false),
                    Err(Http1Error::InvalidContentLength)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn transfer_encoding_ending_in_chunked_is_chunked() {
        assert_eq!(
            framing(&[("transfer-encoding", "chunked")]),
            Framing::Chunked
        );
        assert_eq!(
            framing(&[("transfer-encoding", "gzip, Chunked ")]),
            Framing::Chunked
        );
        assert!(
            decide(&[("transfer-encoding", "chunked")], 200, false)
                .unwrap()
                .reusable
        );
    }

    #[test]
    fn chunked_wins_over_content_length_and_the_connection_goes_after_it() {
        let both = [("content-length", "3"), ("transfer-encoding", "chunked")];
        let d = decide(&both, 200, false).unwrap();
        assert_eq!(d.framing, Framing::Chunked);
        assert!(!d.reusable);
    }

    #[test]
    fn transfer_encoding_not_ending_in_chunked_reads_to_eof() {
        let d = decide(&[("transfer-encoding", "chunked, gzip")], 200, false).unwrap();
        assert_eq!(d.framing, Framing::Eof);
        assert!(!d.reusable);
    }

    #[test]
    fn no_length_at_all_reads_to_eof_and_is_not_reused() {
        let d = decide(&[], 200, false).unwrap();
        assert_eq!(
            d,
            Decision {
                framing: Framing::Eof,
                reusable: false
            }
        );
    }

    #[test]
    fn connection_close_prevents_reuse() {
        let fields = [("content-length", "1"), ("connection", "keep-alive, Close")];
        assert!(!decide(&fields, 200, false).unwrap().reusable);
    }

    #[test]
    fn an_http_1_0_response_is_not_reused() {
        let fields = [("content-length", "1"), ("connection", "keep-alive")];
        let d = decide_version(&fields, 200, Version::HTTP_10, false).unwrap();
        assert_eq!(d.framing, Framing::Length(1));
        assert!(!d.reusable);
    }

    #[test]
    fn transfer_encoding_in_http_1_0_is_refused() {
        let fields = [("transfer-encoding", "chunked")];
        assert!(matches!(
            decide_version(&fields, 200, Version::HTTP_10, false),
            Err(Http1Error::TransferEncodingInHttp10)
        ));
    }
}

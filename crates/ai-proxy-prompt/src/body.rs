//! The client body read once: checked to be JSON, its top-level members
//! located (raw, nothing decoded), its protocol detected as `prepare`
//! will detect it.

use ai_proxy_core::json::scan::{Raw, Scanner, SyntaxError};
use ai_proxy_core::json::text::from_utf8;
use ai_proxy_core::prepare::{BodyError, ClientBodyLayout};
use ai_proxy_core::protocol::{BodyTop, Protocol};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, header};

/// One top-level member.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member<'a> {
    /// The key's raw token (quotes and escapes included).
    pub key: Raw<'a>,
    /// The value's raw bytes.
    pub value: Raw<'a>,
    /// Where the value starts in the body.
    pub start: usize,
}

impl Member<'_> {
    /// Where the value ends in the body.
    pub fn end(&self) -> usize {
        self.start + self.value.bytes().len()
    }
}

/// A body's top level.
#[derive(Debug)]
pub(crate) enum Top<'a> {
    /// An object: its members in order, and where its closing `}` is.
    Object {
        members: Vec<Member<'a>>,
        close: usize,
    },
    /// An array.
    Array { non_empty: bool },
    /// A string, number, boolean or `null`.
    Scalar,
}

/// A client body, validated.
#[derive(Debug)]
pub(crate) struct ClientBody<'a> {
    pub bytes: &'a [u8],
    pub top: Top<'a>,
}

impl<'a> ClientBody<'a> {
    /// Reads `bytes`, at most `max` of them.
    pub fn read(bytes: &'a [u8], max: u64) -> Result<Self, BodyError> {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > max {
            return Err(BodyError::TooLarge { size, max });
        }
        if bytes.is_empty() {
            return Err(BodyError::Empty);
        }
        let text = from_utf8(bytes).map_err(|at| BodyError::InvalidJson {
            reason: format!("invalid UTF-8 at byte {at}"),
        })?;
        // One walk: the scanner checks the grammar of every value it
        // passes (what serde's `IgnoredAny` accepts), so the body is
        // validated while its top-level members are located.
        let mut s = Scanner::new(bytes);
        let invalid = |e: SyntaxError| BodyError::InvalidJson {
            reason: e.describe(text),
        };
        let top = match s.peek() {
            Some(b'{') => {
                let mut members = Vec::with_capacity(8);
                s.object(|key, s| {
                    let value = s.value()?;
                    members.push(Member {
                        key: key.raw(),
                        value,
                        start: offset(bytes, value.bytes()),
                    });
                    Ok::<_, SyntaxError>(())
                })
                .map_err(invalid)?;
                // The walk stopped just past the closing `}`.
                let close = s.offset().saturating_sub(1);
                Top::Object { members, close }
            }
            Some(b'[') => {
                let inner = s.value().map_err(invalid)?.bytes();
                let non_empty = inner
                    .get(1..inner.len().saturating_sub(1))
                    .is_some_and(|i| !i.trim_ascii().is_empty());
                Top::Array { non_empty }
            }
            _ => {
                s.skip().map_err(invalid)?;
                Top::Scalar
            }
        };
        s.end().map_err(invalid)?;
        Ok(Self { bytes, top })
    }

    /// The top-level member `name` (the last of duplicates, as decoders
    /// read them).
    pub fn member(&self, name: &str) -> Option<&Member<'a>> {
        let Top::Object { members, .. } = &self.top else {
            return None;
        };
        members.iter().rev().find(|m| key_is(m.key, name))
    }

    /// The value of the top-level member `name`.
    pub fn get(&self, name: &str) -> Option<Raw<'a>> {
        self.member(name).map(|m| m.value)
    }

    /// The client protocol of a request to `path` with this body, as
    /// `prepare` detects it.
    pub fn protocol(&self, path: &str) -> Option<Protocol> {
        let top = match &self.top {
            Top::Object { members, .. } => BodyTop::Object {
                messages: self
                    .get("messages")
                    .is_some_and(|m| m.is_array() || m.is_object()),
                input: self.get("input").is_some(),
                anthropic_version: self.get("anthropic_version").is_some(),
                non_empty: !members.is_empty(),
            },
            Top::Array { non_empty } => BodyTop::Array {
                non_empty: *non_empty,
            },
            Top::Scalar => BodyTop::Scalar,
        };
        Protocol::detect(path, top)
    }
}

/// Whether the raw key token `key` names `name`.
pub(crate) fn key_is(key: Raw<'_>, name: &str) -> bool {
    key.str_is(name)
}

/// Where `part`, a slice of `whole`, starts in it.
pub(crate) fn offset(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// A request's body replaced by what the transforms made of it:
/// `Content-Length` (when it has one) updated, the layout of a body the
/// decorator wrote put in the extensions.
pub(crate) fn replaced_body(parts: &mut Parts, body: &Bytes, layout: Option<ClientBodyLayout>) {
    if parts.headers.contains_key(header::CONTENT_LENGTH) {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    if let Some(layout) = layout {
        parts.extensions.insert(layout);
    }
}

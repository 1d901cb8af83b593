//! [`ClientBodyLayout`]: where the top-level members of a client body are,
//! from the request transform that wrote it, so `prepare` reads the body
//! without parsing it again.

use std::ops::Range;

use bytes::Bytes;

/// Where the top-level members of a client body are, as a request
/// transform that wrote the body knows them (the prompt plugins run before
/// `prepare` and walk the body anyway). Put it in the request's
/// extensions: [`AiProxy::prepare`](super::AiProxy::prepare) then reads
/// the body through it instead of parsing it a second time, as it does
/// with a converter's [`BodyLayout`](crate::adapter::BodyLayout).
///
/// The layout holds the very body it describes (a reference-counted clone)
/// and is used for that body only: a request whose body was replaced
/// since is parsed as usual. UTF-8 is checked again; the rest is the
/// builder's promise: the body is one valid JSON object whose top-level
/// members are exactly `members`, in order, each a key's string token
/// (quotes included) and its value. A layout whose ranges do not lie on
/// the body's characters is ignored.
#[derive(Clone, Debug)]
pub struct ClientBodyLayout {
    body: Bytes,
    members: Vec<(Range<usize>, Range<usize>)>,
}

impl ClientBodyLayout {
    /// The layout of `body`: each top-level member's key token and value,
    /// as byte ranges, in document order (duplicates included).
    pub fn new(body: Bytes, members: Vec<(Range<usize>, Range<usize>)>) -> Self {
        Self { body, members }
    }

    /// The members, when this layout describes `body` (the same bytes in
    /// memory, which the layout keeps alive).
    pub(crate) fn members_of(&self, body: &Bytes) -> Option<&[(Range<usize>, Range<usize>)]> {
        (self.body.as_ptr() == body.as_ptr() && self.body.len() == body.len())
            .then_some(self.members.as_slice())
    }
}

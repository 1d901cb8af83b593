//! [`Fields`]: the output writer, one object or array at a time.

/// A comma-separated JSON writer for one object or array.
pub(super) struct Fields<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Fields<'o> {
    pub(super) fn object(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    pub(super) fn array(out: &'o mut Vec<u8>) -> Self {
        out.push(b'[');
        Self { out, first: true }
    }

    /// Starts the next member; returns the buffer to write its value.
    pub(super) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Starts the next array element.
    pub(super) fn item(&mut self) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out
    }

    pub(super) fn end_object(self) {
        self.out.push(b'}');
    }

    pub(super) fn end_array(self) {
        self.out.push(b']');
    }
}

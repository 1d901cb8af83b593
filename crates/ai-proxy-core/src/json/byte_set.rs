//! Byte classes as 256-entry tables built at compile time: a membership
//! test is one load, with no branch per alternative — for the loops that
//! test every byte of a token (an escape's letter, a header name, a tool
//! name).

/// The ASCII letters and digits, for a set that holds them.
pub const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A set of bytes.
#[derive(Clone, Copy, Debug)]
pub struct ByteSet([bool; 256]);

impl ByteSet {
    /// The bytes of `groups`, all of them.
    // ok: evaluated at compile time where it is used (a `const` or
    // `static`); a `u8` indexes a 256-entry table in bounds.
    #[allow(clippy::indexing_slicing)]
    pub const fn of(groups: &[&[u8]]) -> Self {
        let mut table = [false; 256];
        let mut g = 0;
        while g < groups.len() {
            let group = groups[g];
            let mut k = 0;
            while k < group.len() {
                table[group[k] as usize] = true;
                k += 1;
            }
            g += 1;
        }
        Self(table)
    }

    /// Whether `byte` is in the set.
    #[inline(always)]
    pub fn contains(&self, byte: u8) -> bool {
        self.0.get(usize::from(byte)) == Some(&true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_exactly_the_bytes_of_its_groups() {
        const SET: ByteSet = ByteSet::of(&[ALPHANUMERIC, b"_-"]);
        for byte in 0..=255u8 {
            let expected = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
            assert_eq!(SET.contains(byte), expected, "{byte:#04x}");
        }
    }
}

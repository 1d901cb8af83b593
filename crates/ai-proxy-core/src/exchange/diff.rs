//! Where two similar byte strings differ: the common prefix and suffix
//! lengths the `openai-chat` skim uses to test only the bytes that changed.

/// A length of common prefix of `a` and `b`: `guess` when they share
/// that much (one `memcmp`; streamed events share a stable head, so a
/// guess that held once keeps holding), else the longest one, the next
/// guess. Not always the longest: a caller needs only bytes known equal.
pub(crate) fn shared_prefix(a: &[u8], b: &[u8], guess: &mut usize) -> usize {
    if *guess > 0 && a.get(..*guess).is_some_and(|x| b.get(..*guess) == Some(x)) {
        return *guess;
    }
    *guess = common_prefix(a, b);
    *guess
}

/// [`shared_prefix`] from the ends: a length of common suffix.
pub(crate) fn shared_suffix(a: &[u8], b: &[u8], guess: &mut usize) -> usize {
    fn tail(s: &[u8], len: usize) -> Option<&[u8]> {
        s.len().checked_sub(len).and_then(|at| s.get(at..))
    }
    if *guess > 0 && tail(a, *guess).is_some_and(|x| tail(b, *guess) == Some(x)) {
        return *guess;
    }
    *guess = common_suffix(a, b);
    *guess
}

/// The length of the longest common prefix of `a` and `b`.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    // Eight bytes at a time; the first differing bit names the byte.
    while let (Some(x), Some(y)) = (word(a, i), word(b, i)) {
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while a.get(i).is_some_and(|x| Some(x) == b.get(i)) {
        i += 1;
    }
    i
}

/// The length of the longest common suffix of `a` and `b`.
pub(crate) fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (Some(x), Some(y)) = (word(a, a.len() - i - 8), word(b, b.len() - i - 8)) else {
            break;
        };
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return i + (diff.leading_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a.get(a.len() - i - 1) == b.get(b.len() - i - 1) {
        i += 1;
    }
    i
}

fn word(bytes: &[u8], at: usize) -> Option<[u8; 8]> {
    bytes.get(at..at + 8).and_then(|w| w.try_into().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_and_suffix_find_the_first_difference() {
        let a = b"0123456789abcdefghij-XYZ-0123456789abcdefghij";
        let b = b"0123456789abcdefghij+XY-0123456789abcdefghij";
        assert_eq!(common_prefix(a, b), 20);
        assert_eq!(common_suffix(a, b), 21);
        assert_eq!(common_prefix(a, a), a.len());
        assert_eq!(common_suffix(b"abc", b"xbc"), 2);
        assert_eq!(common_prefix(b"", b"x"), 0);
    }

    #[test]
    fn shared_ends_are_the_guess_when_it_holds_else_the_longest() {
        let a = b"0123456789abcdefghij-XYZ-0123456789abcdefghij";
        let b = b"0123456789abcdefghij+XY-0123456789abcdefghij";
        let (mut p, mut s) = (0, 0);
        assert_eq!((shared_prefix(a, b, &mut p), p), (20, 20));
        assert_eq!((shared_suffix(a, b, &mut s), s), (21, 21));
        let (mut p, mut s) = (10, 5);
        assert_eq!((shared_prefix(a, b, &mut p), p), (10, 10));
        assert_eq!((shared_suffix(a, b, &mut s), s), (5, 5));
        let (mut p, mut s) = (30, 100);
        assert_eq!((shared_prefix(a, b, &mut p), p), (20, 20));
        assert_eq!((shared_suffix(a, b, &mut s), s), (21, 21));
    }
}

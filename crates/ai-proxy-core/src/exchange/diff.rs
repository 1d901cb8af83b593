//! Where two similar byte strings differ: the common prefix and suffix
//! lengths the `openai-chat` skim uses to test only the bytes that changed.

/// The length of the longest common prefix of `a` and `b`, trying `guess`
/// (e.g. the last answer for similar inputs) first: one `memcmp` when
/// right.
pub(crate) fn common_prefix_from(a: &[u8], b: &[u8], guess: usize) -> usize {
    match (a.split_at_checked(guess), b.split_at_checked(guess)) {
        (Some((x, a_tail)), Some((y, b_tail))) if x == y => guess + common_prefix(a_tail, b_tail),
        _ => common_prefix(a, b),
    }
}

/// The length of the longest common suffix of `a` and `b`, trying `guess`
/// first.
pub(crate) fn common_suffix_from(a: &[u8], b: &[u8], guess: usize) -> usize {
    fn split(s: &[u8], guess: usize) -> Option<(&[u8], &[u8])> {
        s.len().checked_sub(guess).map(|at| s.split_at(at))
    }
    match (split(a, guess), split(b, guess)) {
        (Some((a_head, x)), Some((b_head, y))) if x == y => guess + common_suffix(a_head, b_head),
        _ => common_suffix(a, b),
    }
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
    fn guesses_only_speed_the_answer_up() {
        let a = b"0123456789abcdefghij-XYZ-0123456789abcdefghij";
        let b = b"0123456789abcdefghij+XY-0123456789abcdefghij";
        for guess in [0, 5, 20, 21, 30, 100] {
            assert_eq!(common_prefix_from(a, b, guess), 20, "{guess}");
            assert_eq!(common_suffix_from(a, b, guess), 21, "{guess}");
        }
    }
}

//! Eight bytes at a time (SWAR): the special-byte search of the string
//! writers and of the scanner's last bytes (the scanner's string loop reads
//! [`block`](super::block)s of sixteen).

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;

/// Flags (the high bit of each byte) the bytes of the word `x` that equal
/// `byte`. The lowest flag is exact; flags above a true one may be false (a
/// borrow), so callers take the lowest or check.
#[inline(always)]
pub fn byte_flags(x: u64, byte: u8) -> u64 {
    let y = x ^ (LO * u64::from(byte));
    y.wrapping_sub(LO) & !y & HI
}

/// `0x7f` in every byte.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `x` that is not zero — exact for every byte:
/// the sum of the low seven bits never carries into the next byte.
#[inline(always)]
fn nonzero_bytes(x: u64) -> u64 {
    (x & LOW7).wrapping_add(LOW7) | x
}

/// Flags (the high bit of each byte) every byte of the word `x` that is a
/// `"`, a `\` or a control character (`< 0x20`) — exact for every byte, so
/// a string scan handles all the special bytes of a word from one load.
#[inline(always)]
pub fn special_flags(x: u64) -> u64 {
    // `c ^ 0x02` is below `0x21` exactly for `"` (0x22 -> 0x20) and the
    // control characters (0x00..=0x1f, permuted among themselves): one
    // unsigned comparison covers both. `(y & 0x7f) + 0x5f` reaches the high
    // bit from `0x21` up; bytes with the high bit set are never below it.
    let y = x ^ (LO * 0x02);
    let not_below = (y & LOW7).wrapping_add(LO * 0x5f) | y;
    let not_backslash = nonzero_bytes(x ^ (LO * u64::from(b'\\')));
    !(not_below & not_backslash) & HI
}

/// Strings longer than this are searched with SIMD `memchr` past it; JSON
/// is mostly short strings, where a call costs more than it saves.
const SHORT: usize = 64;

/// The index of the first `"`, `\` or control character (`< 0x20`) in `b`
/// at or after `from`, or `b.len()` when there is none: where a string scan
/// must stop and look.
#[inline]
pub fn string_special(b: &[u8], from: usize) -> usize {
    let mut j = from;
    let short_end = from.saturating_add(SHORT);
    while let Some(word) = b.get(j..j + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let x = u64::from_le_bytes(word);
        let special = special_flags(x);
        if special != 0 {
            return j + (special.trailing_zeros() / 8) as usize;
        }
        j += 8;
        if j >= short_end {
            return long_special(b, j);
        }
    }
    tail_special(b, j)
}

/// [`string_special`] past the first [`SHORT`] bytes (and a string scan
/// past a long clean run): `memchr2` finds the quote or backslash, then one
/// vectorisable pass checks the bytes before it for control characters.
#[cold]
pub fn long_special(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    let stop = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let before = rest.get(..stop).unwrap_or_default();
    if before.iter().fold(false, |any, &c| any | (c < 0x20)) {
        return from + before.iter().position(|&c| c < 0x20).unwrap_or(stop);
    }
    from + stop
}

/// The last (fewer than eight) bytes from `from`: in an input of eight
/// bytes or more, one load of its last word, the flags of the bytes before
/// `from` (searched already) masked off; a shorter input byte by byte.
#[inline]
fn tail_special(b: &[u8], from: usize) -> usize {
    let len = b.len();
    if from >= len {
        return from;
    }
    if let Some(start) = len.checked_sub(8)
        && let Some(word) = b.get(start..).and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        // `start < from < len` (fewer than eight bytes are left): a shift
        // of 8 to 56 bits.
        let seen = from.saturating_sub(start);
        let unseen = u64::MAX.checked_shl((seen * 8) as u32).unwrap_or(0);
        let special = special_flags(u64::from_le_bytes(word)) & unseen;
        return if special == 0 {
            len
        } else {
            start + (special.trailing_zeros() / 8) as usize
        };
    }
    let rest = b.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(b: &[u8], from: usize) -> usize {
        (from..b.len())
            .find(|&i| matches!(b[i], b'"' | b'\\' | 0x00..=0x1f))
            .unwrap_or(b.len())
    }

    #[test]
    fn finds_the_first_special_byte_at_every_offset_and_length() {
        for len in 0..200 {
            for at in 0..=len {
                for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                    let mut s = vec![b'a'; len];
                    if at < len {
                        s[at] = special;
                        if at + 3 < len {
                            s[at + 3] = b'"';
                        }
                    }
                    for from in [0, 1, 7, 9].into_iter().filter(|f| *f <= len) {
                        assert_eq!(
                            string_special(&s, from),
                            naive(&s, from),
                            "len {len} at {at} from {from}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_tail_word_skips_special_bytes_before_the_start() {
        for len in 8..24 {
            for from in len - 7..=len {
                let mut s = vec![b'"'; from];
                s.resize(len, b'a');
                assert_eq!(string_special(&s, from), len, "len {len} from {from}");
                if from < len {
                    s[len - 1] = b'\\';
                    assert_eq!(string_special(&s, from), len - 1, "len {len} from {from}");
                }
            }
        }
    }

    #[test]
    fn non_ascii_bytes_never_stop_the_search() {
        let text = "é✓日本語🚀".repeat(20);
        let mut b = text.into_bytes();
        let n = b.len();
        assert_eq!(string_special(&b, 0), n);
        b.push(b'"');
        assert_eq!(string_special(&b, 0), n);
        assert_eq!(string_special(&[0xff, 0x80, 0x7f, 0x20, 0x22], 0), 4);
    }

    proptest::proptest! {
        #[test]
        fn special_flags_mark_exactly_the_special_bytes(word in proptest::prelude::any::<[u8; 8]>()) {
            let flags = special_flags(u64::from_le_bytes(word));
            for (k, &c) in word.iter().enumerate() {
                let flagged = flags >> (8 * k) & 0xff;
                let special = matches!(c, b'"' | b'\\' | 0x00..=0x1f);
                proptest::prop_assert_eq!(flagged, if special { 0x80 } else { 0 }, "byte {} of {:?}", k, word);
            }
        }

        #[test]
        fn agrees_with_a_byte_loop(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), from in 0usize..300) {
            let from = from.min(b.len());
            proptest::prop_assert_eq!(string_special(&b, from), naive(&b, from));
        }
    }
}

//! Sixteen bytes at a time: which bytes of a block stop a string scan (or
//! take a backslash when a minified value is written as a string), as a
//! bit mask — SSE2 on x86-64 (part of its baseline), the eight-byte
//! [`special_flags`] elsewhere.
//!
//! Measured (criterion, `benches/agentic.rs`, Anthropic→OpenAI): the
//! string scan is a third of a large conversion; a 16-byte compare and
//! `movemask` is ~30 % faster than two SWAR words, and no safe spelling
//! compiles to it (LLVM vectorises the comparisons but scalarises the
//! mask). This module holds the workspace's one `unsafe` block.

use super::swar::special_flags;

/// The bytes of a block.
pub const BLOCK: usize = 16;

/// Bit `k` set for each byte `k` of `block` that is a `"`, a `\` or a
/// control character (`< 0x20`): exactly the bytes [`special_flags`] flags.
#[inline(always)]
pub fn special_mask(block: &[u8; BLOCK]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: `sse2::special_mask` needs only SSE2, which every x86-64
        // CPU has (it is part of the x86_64 target's baseline, enabled by
        // default); it takes no pointer and reads nothing but its argument.
        unsafe {
            sse2::special_mask(block)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        swar_mask(block)
    }
}

/// [`special_mask`] from two words' [`special_flags`], each byte's flag
/// gathered into one bit by a multiplication.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn swar_mask(block: &[u8; BLOCK]) -> u32 {
    // Bit 7 of byte k, times this, lands on bit 56 + k (no carries: one
    // bit per byte), so the top byte holds the eight flags in order.
    const GATHER: u64 = 0x0002_0408_1020_4081;
    let (lo, hi) = block.split_at(8);
    let word = |w: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
    let lo = special_flags(word(lo)).wrapping_mul(GATHER) >> 56;
    let hi = special_flags(word(hi)).wrapping_mul(GATHER) >> 56;
    (lo | (hi << 8)) as u32
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8, _mm_xor_si128,
    };

    use super::BLOCK;

    /// The block loaded as one `u128` split in two words (no pointer:
    /// compiles to one 16-byte load, where two 8-byte words loaded apart
    /// took a load, a second load and an unpack); `\` by equality, `"`
    /// and the control characters by one minimum; one bit per byte out of
    /// `movemask`.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn special_mask(block: &[u8; BLOCK]) -> u32 {
        let v = u128::from_le_bytes(*block);
        let x = _mm_set_epi64x((v >> 64) as i64, v as i64);
        // `c ^ 0x02` is at most `0x20` exactly for `"` (0x22 -> 0x20) and
        // the control characters (permuted among themselves), as in
        // `special_flags`: one unsigned comparison for both.
        let y = _mm_xor_si128(x, _mm_set1_epi8(0x02));
        let quote_or_control = _mm_cmpeq_epi8(_mm_min_epu8(y, _mm_set1_epi8(0x20)), y);
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        let special = _mm_or_si128(quote_or_control, backslash);
        // `movemask` sets the low 16 bits only.
        _mm_movemask_epi8(special) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn marks_each_kind_of_special_byte_at_its_position() {
        let mut block = [b'a'; BLOCK];
        block[0] = b'"';
        block[5] = b'\\';
        block[9] = 0x00;
        block[15] = 0x1f;
        let expected = 1 | 1 << 5 | 1 << 9 | 1 << 15;
        assert_eq!(special_mask(&block), expected);
        assert_eq!(swar_mask(&block), expected);
        assert_eq!(special_mask(&[0x80; BLOCK]), 0);
        assert_eq!(special_mask(&[0x20; BLOCK]), 0);
    }

    proptest! {
        #[test]
        fn the_simd_mask_equals_the_swar_mask(block in any::<[u8; BLOCK]>()) {
            prop_assert_eq!(special_mask(&block), swar_mask(&block));
        }

        #[test]
        fn the_mask_marks_exactly_the_special_bytes(block in any::<[u8; BLOCK]>()) {
            let mask = special_mask(&block);
            for (k, &c) in block.iter().enumerate() {
                let special = matches!(c, b'"' | b'\\' | 0x00..=0x1f);
                prop_assert_eq!(mask >> k & 1 == 1, special, "byte {} of {:?}", k, block);
            }
        }
    }
}

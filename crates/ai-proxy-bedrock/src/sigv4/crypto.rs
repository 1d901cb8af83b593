//! SHA-256, HMAC-SHA-256 (RFC 2104) and the SigV4 date formats.
//!
//! HMAC is twelve lines over `sha2` (already a workspace dependency), so
//! the signer needs no `hmac`/`digest` crates; RFC 4231's vectors pin it.

use std::time::{SystemTime, UNIX_EPOCH};

use ai_proxy_core::date::civil_from_days;
use sha2::{Digest, Sha256};

/// SHA-256's block size, in bytes.
const BLOCK: usize = 64;

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA-256 of `message` under `key` (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let hashed;
    let key = if key.len() > BLOCK {
        hashed = sha256(key);
        hashed.as_slice()
    } else {
        key
    };
    let mut block = [0u8; BLOCK];
    for (slot, &b) in block.iter_mut().zip(key) {
        *slot = b;
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Lower-case hex of `bytes`, appended to `out`.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// A UTC instant in SigV4's two forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AmzDate {
    /// `YYYYMMDD'T'HHMMSS'Z'` (`x-amz-date`).
    pub date_time: String,
    /// `YYYYMMDD` (the credential scope).
    pub date: String,
}

/// The SigV4 forms of `now`; `None` before 1970 or past year 9999 (four
/// digit years only).
pub(crate) fn amz_date(now: SystemTime) -> Option<AmzDate> {
    let secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(secs / 86_400);
    if year > 9999 {
        return None;
    }
    let date = format!("{year:04}{month:02}{day:02}");
    let date_time = format!(
        "{date}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    Some(AmzDate { date_time, date })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2, 4 and 6 (key longer than a block).
        let cases: [(&[u8], &[u8], &str); 4] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, mac) in cases {
            assert_eq!(hex(&hmac_sha256(key, data)), mac);
        }
    }

    #[test]
    fn dates_are_utc_in_both_forms() {
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let d = amz_date(t).unwrap();
        assert_eq!(d.date_time, "20150830T123600Z");
        assert_eq!(d.date, "20150830");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(amz_date(leap).unwrap().date, "20000229");
        assert_eq!(amz_date(UNIX_EPOCH).unwrap().date_time, "19700101T000000Z");
    }

    #[test]
    fn dates_before_1970_or_past_9999_have_no_form() {
        assert_eq!(amz_date(UNIX_EPOCH - Duration::from_secs(1)), None);
        let far = UNIX_EPOCH + Duration::from_secs(253_402_300_800); // 10000-01-01
        assert_eq!(amz_date(far), None);
    }
}

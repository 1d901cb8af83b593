//! The `Date` field of responses (RFC 9110 §6.6.1), formatted once a
//! second per thread, as hyper does, not per response.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// An IMF-fixdate's length: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const LEN: usize = 29;

/// A formatted date and the second it is for.
#[derive(Debug)]
pub(crate) struct CachedDate {
    second: u64,
    text: [u8; LEN],
}

impl CachedDate {
    pub(crate) const fn new() -> Self {
        Self {
            // No second matches: the first use formats.
            second: u64::MAX,
            text: [0; LEN],
        }
    }

    /// The date for `now`, formatted only when its second changed.
    pub(crate) fn at(&mut self, now: SystemTime) -> &[u8; LEN] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if second != self.second {
            let formatted = httpdate::fmt_http_date(now);
            if let Some(text) = formatted.as_bytes().first_chunk::<LEN>() {
                self.text = *text;
                self.second = second;
            }
        }
        &self.text
    }
}

thread_local! {
    static DATE: RefCell<CachedDate> = const { RefCell::new(CachedDate::new()) };
}

/// The current date, formatted (once a second per thread).
pub(crate) fn now() -> [u8; LEN] {
    let now = SystemTime::now();
    DATE.try_with(|date| match date.try_borrow_mut() {
        Ok(mut date) => *date.at(now),
        Err(_) => CachedDate::new().at(now).to_owned(),
    })
    .unwrap_or_else(|_| *CachedDate::new().at(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_date_is_an_imf_fixdate() {
        let mut date = CachedDate::new();
        let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(date.at(at), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn the_date_is_formatted_again_only_when_its_second_changes() {
        let mut date = CachedDate::new();
        let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
        date.at(at);
        // A stale text left in place would show if the cache were skipped.
        date.text = *b"cached, not formatted again.!";
        assert_eq!(
            date.at(at + Duration::from_millis(999)),
            b"cached, not formatted again.!"
        );
        assert_eq!(
            date.at(at + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }
}

//! [`SseDecoder::skim`]: consuming the plain events an observer can do
//! without, delimited but not decoded.

use super::decoder::{BomState, SseDecoder};

impl SseDecoder {
    /// Fast path for observers that need only a few events: consumes the
    /// complete *plain* events ahead — one `data:` line, at most one
    /// `event:` line, optional comment lines, LF line ends — that `filter`
    /// says it can do without, and returns how many it consumed (each would
    /// have been dispatched). Stops, leaving the input for
    /// [`poll_event`](Self::poll_event), at the first event that is not plain
    /// (another field, several `data` or `event` lines, a CR, a line over the
    /// cap) or that `filter` needs, and at the incomplete tail.
    ///
    /// The result is exactly what decoding those events would give, minus
    /// the events themselves: nothing a plain event changes (last event id,
    /// reconnection time) is touched by one.
    pub(crate) fn skim<F: EventFilter>(&mut self, filter: &mut F) -> u64 {
        if self.error.is_some() {
            return 0;
        }
        if self.dispatched {
            self.reset_block();
        }
        let clean = self.bom == BomState::Done
            && !self.skip_lf
            && !self.in_comment
            && self.partial.is_empty()
            && self.data_lines == 0
            && self.event_type.is_empty()
            && self.block_retry.is_none();
        if !clean {
            return 0;
        }
        let input: &[u8] = &self.input;
        let first_cr = *self
            .first_cr
            .get_or_insert_with(|| memchr::memchr(b'\r', input));
        let limit = first_cr.unwrap_or(input.len());
        let Some(region) = input.get(self.pos..limit) else {
            return 0;
        };
        let base = self.pos;
        let mut skimmed = 0;
        // Offsets in `region`: where the pending event starts, its data
        // line's value, the current line.
        let mut event_start = 0;
        let mut data: Option<(usize, usize)> = None;
        let mut kind: Option<(usize, usize)> = None;
        let mut line_start = 0;
        // At a blank line: whether to go on past the event it ends (a block
        // without data is not dispatched; its `event` field is dropped).
        let go_on = |filter: &mut F,
                     skimmed: &mut u64,
                     data: &mut Option<(usize, usize)>,
                     kind: &mut Option<(usize, usize)>| {
            // ok: an `event` value's bounds were taken from a line of `region`.
            #[allow(clippy::indexing_slicing)]
            let kind = kind.take().map_or(&[][..], |(from, to)| &region[from..to]);
            match data.take() {
                Some((from, to)) if filter.needed(input, kind, base + from..base + to) => false,
                Some(_) => {
                    *skimmed += 1;
                    true
                }
                None => true,
            }
        };
        while let Some(rest) = region.get(line_start..) {
            if line_start == event_start && data.is_none() && kind.is_none() {
                // At an event's start: the filter may take a run of events
                // at once.
                let (end, events) = filter.run(
                    input,
                    base + line_start,
                    base + region.len(),
                    self.max_event_bytes,
                );
                if events > 0 {
                    skimmed += events;
                    line_start = end - base;
                    event_start = line_start;
                    continue;
                }
            }
            // The event's data line: the filter finds its end (it may know
            // most of the line from the event before).
            let found = if data.is_none() && rest.starts_with(b"data:") {
                let value = if rest.get(5) == Some(&b' ') { 6 } else { 5 };
                filter
                    .line_end(input, base + line_start + value, base + region.len())
                    .map(|end| end - base - line_start)
            } else {
                memchr::memchr(b'\n', rest)
            };
            let Some(found) = found else {
                break;
            };
            let nl = line_start + found;
            // ok: `nl` was found in `region[line_start..]`.
            #[allow(clippy::indexing_slicing)]
            let line = &region[line_start..nl];
            match line.first() {
                None => {
                    if !go_on(filter, &mut skimmed, &mut data, &mut kind) {
                        break;
                    }
                    event_start = nl + 1;
                }
                Some(b':') => {}
                // The decoder counts a line against the cap together with
                // the data already held.
                Some(_)
                    if kind.is_none()
                        && line.len() + data.map_or(0, |(from, to)| to - from)
                            <= self.max_event_bytes
                        && line.starts_with(b"event:") =>
                {
                    let value = if line.get(6) == Some(&b' ') { 7 } else { 6 };
                    kind = Some((line_start + value, nl));
                }
                Some(_)
                    if data.is_none()
                        && line.len() <= self.max_event_bytes
                        && line.starts_with(b"data:") =>
                {
                    let value = if line.get(5) == Some(&b' ') { 6 } else { 5 };
                    data = Some((line_start + value, nl));
                    // Events end `data: …\n\n`: take the blank line here
                    // rather than with another search.
                    if region.get(nl + 1) == Some(&b'\n') {
                        if !go_on(filter, &mut skimmed, &mut data, &mut kind) {
                            break;
                        }
                        event_start = nl + 2;
                        line_start = nl + 2;
                        continue;
                    }
                }
                Some(_) => break,
            }
            line_start = nl + 1;
        }
        self.pos = base + event_start;
        skimmed
    }
}

/// Decides, for [`SseDecoder::skim`], which plain events must be decoded
/// normally.
pub(crate) trait EventFilter {
    /// Whether the plain event whose data is `input[data]` must be
    /// decoded (the skim stops before it). `kind` is its `event` field's
    /// raw value (empty when absent: the event type is then `message`).
    /// `input` is the decoder's whole buffer, the same slice across calls
    /// until the next feed, so a filter may cache searches over it.
    fn needed(&mut self, input: &[u8], kind: &[u8], data: std::ops::Range<usize>) -> bool;

    /// The index in `input` of the first `\n` in `input[from..limit]`,
    /// where `from` is where a `data` line's value starts: the end of the
    /// line whose value [`needed`](Self::needed) may be asked about next.
    fn line_end(&mut self, input: &[u8], from: usize, limit: usize) -> Option<usize> {
        let rest = input.get(from..limit)?;
        memchr::memchr(b'\n', rest).map(|at| from + at)
    }

    /// Takes the run of plain events starting at `input[from]` (the
    /// start of an event, nothing pending) that [`needed`](Self::needed)
    /// would all say no to, each a `data` line of at most `max_line`
    /// bytes and a blank line, all before `limit`: returns where the run
    /// ends (the next event's start) and how many events it holds. The
    /// default takes none.
    fn run(&mut self, input: &[u8], from: usize, limit: usize, max_line: usize) -> (usize, u64) {
        let _ = (input, limit, max_line);
        (from, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips every event whose data does not contain `keep`.
    struct Keep(&'static [u8]);

    impl EventFilter for Keep {
        fn needed(&mut self, input: &[u8], kind: &[u8], data: std::ops::Range<usize>) -> bool {
            if kind == b"keep" {
                return true;
            }
            let data = input.get(data).unwrap_or_default();
            memchr::memmem::find(data, self.0).is_some()
        }
    }

    fn rest(decoder: &mut SseDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = decoder.poll_event().unwrap() {
            out.push(event.data().into_owned());
        }
        out
    }

    /// A decoder past the stream-start BOM check.
    fn started() -> SseDecoder {
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: 0\n\n");
        assert_eq!(rest(&mut d), ["0"]);
        d
    }

    #[test]
    fn skim_skips_plain_events_and_stops_before_a_needed_one() {
        let mut d = started();
        d.feed_slice(b"data: a\n\n: note\ndata:b\n\n\n\ndata: KEEP\n\ndata: c\n\n");
        assert_eq!(d.skim(&mut Keep(b"KEEP")), 2);
        assert_eq!(rest(&mut d), ["KEEP", "c"]);
    }

    #[test]
    fn skim_leaves_an_incomplete_event_to_the_decoder() {
        let mut d = started();
        d.feed_slice(b"data: a\n\ndata: b");
        assert_eq!(d.skim(&mut Keep(b"-")), 1);
        d.feed_slice(b"c\n\n");
        assert_eq!(rest(&mut d), ["bc"]);
    }

    #[test]
    fn skim_stops_at_anything_but_one_data_line_with_lf_ends() {
        for stream in [
            &b"data: a\r\n\r\n"[..],
            b"event: x\nevent: y\ndata: a\n\n",
            b"id: 1\ndata: a\n\n",
            b"data: a\ndata: b\n\n",
            b"data\n\n",
            b"retry: 5\ndata: a\n\n",
        ] {
            let mut d = started();
            d.feed_slice(stream);
            assert_eq!(d.skim(&mut Keep(b"-")), 0, "{stream:?}");
            assert_eq!(rest(&mut d).len(), 1, "{stream:?}");
        }
    }

    #[test]
    fn skim_passes_the_event_name_and_forgets_it_with_the_block() {
        let mut d = started();
        // Named events, one leading space stripped from the name; a block
        // with a name but no data is not dispatched and its name is gone
        // by the next event.
        d.feed_slice(b"event: x\ndata: a\n\nevent:y\ndata: b\n\nevent: keep\n\ndata: c\n\nevent: keep\ndata: d\n\n");
        assert_eq!(d.skim(&mut Keep(b"KEEP")), 3);
        let event = d.poll_event().unwrap().unwrap();
        assert_eq!((event.event_type(), event.data().as_ref()), ("keep", "d"));
    }

    #[test]
    fn skim_waits_for_the_bom_check_and_a_clean_block() {
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: a\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: 0\n\nevent: x\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: a\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert_eq!(d.poll_event().unwrap().unwrap().event_type(), "x");
    }

    #[test]
    fn skim_leaves_over_cap_lines_to_the_decoder_error() {
        let mut d = SseDecoder::with_max_event_bytes(8);
        d.feed_slice(b"data: 0\n\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: 123456789\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert!(d.poll_event().is_err());
        // An event line counts together with the data before it.
        let mut d = SseDecoder::with_max_event_bytes(10);
        d.feed_slice(b"data: 0\n\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: 1234\nevent: abc\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert!(d.poll_event().is_err());
    }
}

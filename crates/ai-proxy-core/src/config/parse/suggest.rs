//! "Did you mean": the closest known name to a mistyped one.

/// The candidate closest to `word` by edit distance, if close enough to be a
/// likely typo (distance ≤ 1 for short words, ≤ 2, and at most a third of
/// the word).
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    // A shared stem of 5+ characters (`summary` / `summaries`) is a typo too.
    let stem = |c: &str| {
        let common = word
            .chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common >= 5
    };
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= limit || stem(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
// ok: `d` has a cell for every `(i, j)` with `i ≤ a.len()`, `j ≤ b.len()`,
// and the loops stay inside those bounds.
#[allow(clippy::indexing_slicing)]
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for (i, ca) in a.iter().enumerate() {
        for (j, cb) in b.iter().enumerate() {
            let (i1, j1) = (i + 1, j + 1);
            let cost = usize::from(ca != cb);
            let mut best = (d[at(i, j1)] + 1)
                .min(d[at(i1, j)] + 1)
                .min(d[at(i, j)] + cost);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(d[at(i - 1, j - 1)] + 1);
            }
            d[at(i1, j1)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::super::plugin::PLUGIN_FIELDS;
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("tiemout", "timeout"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_ignores_far_candidates() {
        assert_eq!(
            closest("timout", PLUGIN_FIELDS.iter().copied()),
            Some("timeout")
        );
        assert_eq!(closest("zzzzzz", PLUGIN_FIELDS.iter().copied()), None);
    }
}

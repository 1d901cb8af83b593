//! Consistent hashing, point for point as `resty.chash` (lua-resty-balancer)
//! builds it for APISIX's `chash` balancer.
//!
//! Each member gets 160 points per weight unit after the group's weights
//! are divided by their GCD. A member's points chain CRC32s:
//! `p0 = crc32(id ‖ [0,0,0,0])`, `pᵢ = crc32(id ‖ le_bytes(pᵢ₋₁))`, where
//! `id` is the instance name with `:` replaced by NUL (APISIX's node id).
//! A key hashes to `crc32(key)` and lands on the first point whose hash is
//! not smaller, wrapping to the first point. The ring never changes when an
//! instance is ejected: a pick walks on to the next eligible point, so keys
//! of healthy instances never move.

/// Points per weight unit (`CONSISTENT_POINTS`).
pub(crate) const POINTS_PER_WEIGHT: u64 = 160;

/// The largest ring built; heavier configs have their reduced weights
/// scaled down proportionally (each weighted member keeps ≥ 1 unit).
pub(crate) const MAX_POINTS: u64 = 1 << 20;

// Indexing is bounded by the loop (i < 256) and checked at compile time.
#[allow(clippy::indexing_slicing)]
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        let idx = ((crc ^ u32::from(b)) & 0xff) as u8;
        #[allow(clippy::indexing_slicing)] // ok: a u8 index into a 256-entry table
        let entry = CRC_TABLE[usize::from(idx)];
        crc = entry ^ (crc >> 8);
    }
    crc
}

/// CRC-32 (IEEE), as `ngx.crc32_short`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    !crc32_update(!0, bytes)
}

pub(crate) struct Ring {
    /// `(hash, member)`, sorted by hash; equal hashes keep insertion order.
    points: Box<[(u32, u32)]>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("points", &self.points.len())
            .finish()
    }
}

impl Ring {
    /// `members`: `(name, weight)` in group order.
    pub(crate) fn new<'a>(members: impl Iterator<Item = (&'a str, u32)> + Clone) -> Self {
        let g = members
            .clone()
            .fold(0u64, |g, (_, w)| crate::wrr::gcd(g, u64::from(w)));
        let g = g.max(1);
        let total: u64 = members.clone().map(|(_, w)| u64::from(w) / g).sum();
        let scale = |w: u64| -> u64 {
            let units = w / g;
            if total * POINTS_PER_WEIGHT <= MAX_POINTS || units == 0 {
                units
            } else {
                (units * (MAX_POINTS / POINTS_PER_WEIGHT) / total).max(1)
            }
        };
        let mut points = Vec::new();
        for (member, (name, w)) in members.enumerate() {
            let Ok(member) = u32::try_from(member) else {
                break;
            };
            let id: Vec<u8> = name
                .bytes()
                .map(|b| if b == b':' { 0 } else { b })
                .collect();
            let base = crc32_update(!0, &id);
            let mut prev = 0u32;
            for _ in 0..scale(u64::from(w)) * POINTS_PER_WEIGHT {
                let hash = !crc32_update(base, &prev.to_le_bytes());
                points.push((hash, member));
                prev = hash;
            }
        }
        points.sort_by_key(|&(hash, _)| hash);
        Self {
            points: points.into_boxed_slice(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// The index of the point a key hash lands on.
    pub(crate) fn find(&self, hash: u32) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let i = self.points.partition_point(|&(h, _)| h < hash);
        Some(if i == self.points.len() { 0 } else { i })
    }

    /// The member at point `index`.
    pub(crate) fn member(&self, index: usize) -> Option<usize> {
        self.points
            .get(index)
            .and_then(|&(_, m)| usize::try_from(m).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn ring_has_160_points_per_reduced_weight_unit() {
        let ring = Ring::new([("a", 8u32), ("b", 2)].into_iter());
        assert_eq!(ring.len(), (4 + 1) * 160);
        let ring = Ring::new([("a", 0u32), ("b", 3)].into_iter());
        assert_eq!(ring.len(), 160);
    }

    #[test]
    fn apisix_balancer_test_4_distributes_8_to_2() {
        // apache/apisix t/plugin/ai-proxy-multi.balancer.t TEST 3-4: chash on
        // `query_string`, weights 4/1, queries index=1..10 → 8 and 2.
        let ring = Ring::new([("openai", 4u32), ("deepseek", 1)].into_iter());
        let mut counts = [0u32; 2];
        for i in 1..=10 {
            let key = format!("index={i}");
            let at = ring.find(crc32(key.as_bytes())).unwrap();
            counts[ring.member(at).unwrap()] += 1;
        }
        assert_eq!(counts, [8, 2]);
    }

    #[test]
    fn lookup_wraps_past_the_last_point() {
        let ring = Ring::new([("a", 1u32), ("b", 1)].into_iter());
        let last = ring.points[ring.len() - 1].0;
        assert!(last < u32::MAX);
        assert_eq!(ring.find(last), Some(ring.len() - 1));
        assert_eq!(ring.find(last + 1), Some(0));
        assert_eq!(ring.find(0), Some(0));
    }

    #[test]
    fn oversized_rings_are_scaled_down() {
        let ring = Ring::new([("a", 1_000_000u32), ("b", 999_999)].into_iter());
        assert!(ring.len() as u64 <= MAX_POINTS + 2 * POINTS_PER_WEIGHT);
    }
}

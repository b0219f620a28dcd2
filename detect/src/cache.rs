//! The per-field cache of which leaves a string value matches.
//!
//! Evaluation looks up every row's value of the fields rules are gated on, and of other
//! string fields where a rule is open, so the lookup is the engine's hottest path.
//! Values of up to 32 bytes (event names, sources, regions, identity types, error codes,
//! account ids) are keyed by their bytes packed into four words, loaded with overlapping
//! reads. Together with the length that key *is* the value, so a probe compares four
//! words in the slot, with no separate key allocation to follow and no `memcmp` call.
//! Longer values (user agents, ARNs) are found by a seeded hash of all their bytes in a
//! second open-addressing table, their bytes kept back to back in an arena and compared
//! word by word (a map of boxed keys cost a pointer chase, a general-purpose hash and a
//! `memcmp` call per row).
//!
//! The hash is seeded per process (the table holds attacker-influenced values: a fixed
//! hash would let crafted log lines collide on purpose), and probing is bounded by the
//! load factor: the table is cleared, not grown, once it holds [`ValueCache::MAX`] values.

use std::hash::{BuildHasher, Hasher};

/// Which leaves a value matched: a range into [`ValueCache::hits`].
pub type Range = (u32, u32);

/// A slot of an open-addressing table: free, or holding one value.
trait Slot: Copy {
    /// The free slot.
    const FREE: Self;
    /// Whether the slot is free.
    fn is_free(&self) -> bool;
}

/// Value length that marks a free slot.
const EMPTY: u32 = u32::MAX;

/// Open addressing with linear probing, at most half full: the table mechanism both
/// kinds of values use (only their slots and key comparisons differ).
struct Probe<S> {
    slots: Vec<S>,
    len: usize,
}

impl<S: Slot> Probe<S> {
    fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// The slot of hash `hash` for which `is` holds, if any (`is` must not hold for a
    /// free slot: it is asked first, as the value looked up is nearly always there).
    #[inline]
    fn find(&self, hash: u64, is: impl Fn(&S) -> bool) -> Option<&S> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = &self.slots[i];
            if is(s) {
                return Some(s);
            }
            if s.is_free() {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `slot` (a value not in the table) under `hash`, doubling the table first when
    /// it would be over half full (`rehash`: the hash of a slot already in).
    fn insert(&mut self, slot: S, hash: u64, rehash: impl Fn(&S) -> u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            let cap = (self.slots.len() * 2).max(64);
            let old = std::mem::replace(&mut self.slots, vec![S::FREE; cap]);
            for s in old.into_iter().filter(|s| !s.is_free()) {
                let h = rehash(&s);
                self.place(s, h);
            }
        }
        self.place(slot, hash);
        self.len += 1;
    }

    fn place(&mut self, slot: S, hash: u64) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while !self.slots[i].is_free() {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = S::FREE);
        self.len = 0;
    }
}

/// One value of up to 32 bytes, keyed exactly by its packed bytes and length.
#[derive(Clone, Copy)]
struct ShortSlot {
    words: [u64; 4],
    /// Value length; [`EMPTY`] for a free slot.
    len: u32,
    range: Range,
}

impl Slot for ShortSlot {
    const FREE: Self = Self {
        words: [0; 4],
        len: EMPTY,
        range: (0, 0),
    };

    #[inline]
    fn is_free(&self) -> bool {
        self.len == EMPTY
    }
}

/// One value of over 32 bytes: its hash, where its bytes are in the arena, its length.
#[derive(Clone, Copy)]
struct LongSlot {
    hash: u64,
    at: u32,
    /// Value length; [`EMPTY`] for a free slot.
    len: u32,
    range: Range,
}

impl Slot for LongSlot {
    const FREE: Self = Self {
        hash: 0,
        at: 0,
        len: EMPTY,
        range: (0, 0),
    };

    #[inline]
    fn is_free(&self) -> bool {
        self.len == EMPTY
    }
}

/// Values of over 32 bytes: slots by hash, the bytes back to back in `arena`.
struct LongTable {
    probe: Probe<LongSlot>,
    arena: Vec<u8>,
}

impl LongTable {
    fn new() -> Self {
        Self {
            probe: Probe::new(),
            arena: Vec::new(),
        }
    }

    #[inline]
    fn get(&self, v: &[u8], hash: u64) -> Option<Range> {
        self.probe
            .find(hash, |s| {
                s.hash == hash
                    && s.len as usize == v.len()
                    && same_long(&self.arena[s.at as usize..s.at as usize + v.len()], v)
            })
            .map(|s| s.range)
    }

    fn insert(&mut self, v: &[u8], hash: u64, range: Range) {
        let slot = LongSlot {
            hash,
            at: self.arena.len() as u32,
            len: v.len() as u32,
            range,
        };
        self.arena.extend_from_slice(v);
        self.probe.insert(slot, hash, |s| s.hash);
    }

    fn clear(&mut self) {
        self.probe.clear();
        self.arena.clear();
    }
}

/// Whether two values of the same length (over 8 bytes) are equal, a word at a time.
#[inline]
fn same_long(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// A seeded hash of a value of over 32 bytes (wyhash's folded multiply, 16 bytes per
/// multiply, the last 16 read overlapping).
#[inline]
fn hash_long(seed: &[u64; 5], b: &[u8]) -> u64 {
    let n = b.len();
    let mut h = seed[4] ^ n as u64;
    let mut i = 0;
    while i + 16 < n {
        h = mix(word(b, i) ^ seed[0], word(b, i + 8) ^ h);
        i += 16;
    }
    mix(word(b, n - 16) ^ seed[1], word(b, n - 8) ^ h ^ seed[2])
}

/// Bytes of long values remembered before the cache is cleared (bounds its memory with
/// the value count, and keeps arena offsets in 32 bits).
const LONG_BYTES_MAX: usize = 64 << 20;

/// Remembered leaf hits of one field's distinct values.
pub struct ValueCache {
    /// Values of up to 32 bytes.
    short: Probe<ShortSlot>,
    /// Longer values.
    long: LongTable,
    /// What each remembered value matched, back to back (evaluation remembers the
    /// positions of the leaves in their field's list, `crate::compile::KindPlan::slots`).
    pub hits: Vec<u32>,
    seed: [u64; 5],
    max: usize,
}

impl Default for ValueCache {
    fn default() -> Self {
        let mut seed = [0u64; 5];
        let state = std::collections::hash_map::RandomState::new();
        for (i, s) in seed.iter_mut().enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            *s = h.finish();
        }
        Self {
            short: Probe::new(),
            long: LongTable::new(),
            hits: Vec::new(),
            seed,
            max: Self::MAX,
        }
    }
}

#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// A value of up to 32 bytes in four words: words covering `[0, len)` with overlapping
/// loads, so that two values of the same length have equal words only if they are equal.
#[inline]
fn pack_short(b: &[u8]) -> [u64; 4] {
    let n = b.len();
    // Most values have 8 bytes or more: tested first, that case takes one branch.
    if n >= 8 {
        [
            word(b, 0),
            word(b, 8.min(n - 8)),
            word(b, 16.min(n - 8)),
            word(b, n - 8),
        ]
    } else if n >= 4 {
        let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
        [u64::from(half(0)) | u64::from(half(n - 4)) << 32, 0, 0, 0]
    } else if n > 0 {
        [
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
            0,
            0,
        ]
    } else {
        [0; 4]
    }
}

/// Whether slot `s` holds the value of length `len` packed as `w`, with one branch:
/// length and words compared as words held in registers. (Comparing the arrays as 32
/// bytes loaded them from memory, where the key had just been written a word at a time,
/// and the wide load then waited for those stores to complete: a failed store-to-load
/// forwarding showed as a sixth of the hottest function's time.) A free slot's length,
/// [`EMPTY`], equals no value's.
#[inline(always)]
fn holds_short(s: &ShortSlot, w: &[u64; 4], len: usize) -> bool {
    let a = &s.words;
    ((u64::from(s.len) ^ len as u64)
        | (a[0] ^ w[0])
        | (a[1] ^ w[1])
        | (a[2] ^ w[2])
        | (a[3] ^ w[3]))
        == 0
}

#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

/// A seeded hash of packed words: wyhash's folded multiply of each pair of words, each
/// word and the length mixed with a secret (the low bits of a folded multiply, which
/// index the table, depend on every bit of both operands). Two multiplies: a third, to
/// mix the pair's results again, was a sixth of a lookup's instructions.
#[inline]
fn hash_words(seed: &[u64; 5], w: &[u64; 4], len: usize) -> u64 {
    mix(w[0] ^ seed[0], w[1] ^ seed[1]) ^ mix(w[2] ^ seed[2], w[3] ^ seed[3] ^ len as u64)
}

impl ValueCache {
    /// Distinct values remembered before the cache is cleared.
    pub const MAX: usize = 200_000;

    /// A cache cleared once it holds `max` values (tests use small ones).
    pub fn with_max(max: usize) -> Self {
        Self {
            max: max.max(1),
            ..Self::default()
        }
    }

    /// Number of values remembered.
    pub fn len(&self) -> usize {
        self.short.len + self.long.probe.len
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaves `value` is known to match, if it was seen before.
    #[inline(always)]
    pub fn get(&self, value: &[u8]) -> Option<Range> {
        let n = value.len();
        if n <= 32 {
            let w = pack_short(value);
            self.short
                .find(hash_words(&self.seed, &w, n), |s| holds_short(s, &w, n))
                .map(|s| s.range)
        } else {
            self.long.get(value, hash_long(&self.seed, value))
        }
    }

    /// Remembers that `value` matches `leaves` (a value not remembered yet); clears
    /// everything first when the cache is full ([`ValueCache::MAX`] values, or 64 MiB of
    /// values over 32 bytes).
    pub fn insert(&mut self, value: &[u8], leaves: &[u32]) -> Range {
        if self.len() >= self.max || self.long.arena.len() + value.len() > LONG_BYTES_MAX {
            self.short.clear();
            self.long.clear();
            self.hits.clear();
        }
        let start = self.hits.len() as u32;
        self.hits.extend_from_slice(leaves);
        let range = (start, self.hits.len() as u32);
        let n = value.len();
        let seed = self.seed;
        if n <= 32 {
            let slot = ShortSlot {
                words: pack_short(value),
                len: n as u32,
                range,
            };
            let hash = hash_words(&seed, &slot.words, n);
            self.short
                .insert(slot, hash, |s| hash_words(&seed, &s.words, s.len as usize));
        } else {
            self.long.insert(value, hash_long(&seed, value), range);
        }
        range
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_around_every_packing_boundary_are_exact() {
        // Every length 0..=80, and for each a value differing from another of the same
        // length in exactly one byte: both must be told apart at every position.
        let mut c = ValueCache::default();
        let mut expect = Vec::new();
        for n in 0..=80usize {
            for pos in 0..n.max(1) {
                let mut v = vec![b'a'; n];
                if n > 0 {
                    v[pos] = b'b';
                }
                if c.get(&v).is_none() {
                    let r = c.insert(&v, &[n as u32, pos as u32]);
                    expect.push((v, r));
                }
            }
        }
        for (v, r) in &expect {
            assert_eq!(c.get(v), Some(*r), "value {:?}", String::from_utf8_lossy(v));
            let (a, b) = *r;
            assert_eq!(&c.hits[a as usize..b as usize][..1], &[v.len() as u32]);
        }
        // "aaaa" (all a) of each length is distinct from its one-b variants.
        assert_eq!(c.len(), expect.len());
    }

    #[test]
    fn full_cache_starts_over() {
        let mut c = ValueCache::with_max(1000);
        for i in 0..1000 {
            // Short and long (map-held) values alike.
            let v = match i % 3 {
                0 => format!("v{i}"),
                1 => format!("{i:0>40}"),
                _ => format!("{i:0>70}"),
            };
            c.insert(v.as_bytes(), &[1]);
        }
        assert_eq!(c.len(), 1000);
        let r = c.insert(b"one more", &[7]);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(b"v3"), None);
        assert_eq!(c.get(format!("{:0>40}", 1).as_bytes()), None);
        assert_eq!(c.get(format!("{:0>70}", 2).as_bytes()), None);
        assert_eq!(c.get(b"one more"), Some(r));
        assert_eq!(c.hits, vec![7]);
    }

    #[test]
    fn long_values_past_the_byte_bound_start_over() {
        let mut c = ValueCache::default();
        let value = |i: usize| format!("{i:0>20}").repeat(65536 / 20 + 1);
        let n = LONG_BYTES_MAX / value(0).len();
        for i in 0..n {
            c.insert(value(i).as_bytes(), &[1]);
        }
        assert_eq!(c.len(), n);
        assert!(c.get(value(0).as_bytes()).is_some());
        let r = c.insert(value(usize::MAX).as_bytes(), &[2]);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(value(0).as_bytes()), None);
        assert_eq!(c.get(value(usize::MAX).as_bytes()), Some(r));
    }

    proptest! {
        // Each case is hundreds of lookups; proptest's value generation is the slow part.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The cache answers exactly like a map from the value's bytes.
        #[test]
        fn agrees_with_a_plain_map(values in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..80),
            1..400,
        )) {
            let mut c = ValueCache::default();
            let mut m: std::collections::HashMap<Vec<u8>, Range> = Default::default();
            for (i, v) in values.iter().enumerate() {
                match m.get(v) {
                    Some(r) => prop_assert_eq!(c.get(v), Some(*r)),
                    None => {
                        prop_assert_eq!(c.get(v), None);
                        let r = c.insert(v, &[i as u32]);
                        m.insert(v.clone(), r);
                    }
                }
            }
            for (v, r) in &m {
                prop_assert_eq!(c.get(v), Some(*r));
            }
        }
    }
}

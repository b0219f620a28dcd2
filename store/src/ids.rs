//! The set of row ids the store holds, so that every event is stored once per event id
//! and every finding once per finding id, whatever upstream redelivers.
//!
//! Ids are kept as 128-bit hashes of (table, id): a sorted array for sealed segments
//! (each sealed segment also stores its own sorted list, `ids/<segment>.bin`, so opening
//! the store does not rescan Parquet) and a hash set for the open segment.

use std::collections::HashSet;

/// The key of a row id.
pub fn key(table: &str, id: &str) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(table.as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    h.digest128()
}

/// Sorted, deduplicated keys.
#[derive(Debug, Default, Clone)]
pub struct SortedIds(Vec<u128>);

impl SortedIds {
    /// Whether `k` is present.
    pub fn contains(&self, k: u128) -> bool {
        self.0.binary_search(&k).is_ok()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds keys (merging, in linear time).
    pub fn extend(&mut self, more: &[u128]) {
        let mut add = more.to_vec();
        add.sort_unstable();
        add.dedup();
        let mut out = Vec::with_capacity(self.0.len() + add.len());
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() || j < add.len() {
            let next = match (self.0.get(i), add.get(j)) {
                (Some(a), Some(b)) if a < b => {
                    i += 1;
                    *a
                }
                (Some(a), Some(b)) if a > b => {
                    j += 1;
                    *b
                }
                (Some(a), Some(_)) => {
                    i += 1;
                    j += 1;
                    *a
                }
                (Some(a), None) => {
                    i += 1;
                    *a
                }
                (None, Some(b)) => {
                    j += 1;
                    *b
                }
                (None, None) => break,
            };
            out.push(next);
        }
        self.0 = out;
    }

    /// Removes keys.
    pub fn remove(&mut self, gone: &[u128]) {
        let gone: HashSet<u128> = gone.iter().copied().collect();
        self.0.retain(|k| !gone.contains(k));
    }
}

/// Encodes sorted keys for `ids/<segment>.bin`.
pub fn encode(keys: &[u128]) -> Vec<u8> {
    let mut v: Vec<u128> = keys.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = Vec::with_capacity(v.len() * 16);
    for k in v {
        out.extend_from_slice(&k.to_le_bytes());
    }
    out
}

/// Decodes `ids/<segment>.bin`.
pub fn decode(bytes: &[u8]) -> Vec<u128> {
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            u128::from_le_bytes(b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_lookup() {
        let mut s = SortedIds::default();
        s.extend(&[5, 1, 3]);
        s.extend(&[2, 3, 9]);
        assert_eq!(s.0, vec![1, 2, 3, 5, 9]);
        assert!(s.contains(9) && !s.contains(4));
        s.remove(&[3]);
        assert!(!s.contains(3));
        assert_eq!(decode(&encode(&[7, 1])), vec![1, 7]);
    }
}

//! Random helpers: identifiers in the shapes AWS, Kubernetes and Falco use, weighted
//! choice, and the time between events.

use fastrand::Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
/// The alphabet of AWS unique ids and access key ids (RFC 4648 base32).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no 0/1/3).
const K8S_SAFE: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// SplitMix64: a stateless mix used to derive stable values from small integers.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hashes a string (FNV-1a then [`mix`]), for seeding per-name streams.
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in s.bytes() {
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// Appends a version-4-looking UUID (`8-4-4-4-12` lowercase hex).
pub(crate) fn push_uuid(b: &mut Vec<u8>, rng: &mut Rng) {
    push_uuid_from(b, rng.u64(..), rng.u64(..));
}

/// Appends a version-4-looking UUID made from two 64-bit values.
pub(crate) fn push_uuid_from(b: &mut Vec<u8>, hi: u64, lo: u64) {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let mut nibbles = [0u8; 32];
    for i in 0..16 {
        nibbles[i] = HEX[((hi >> (60 - 4 * i)) & 0xf) as usize];
        nibbles[16 + i] = HEX[((lo >> (60 - 4 * i)) & 0xf) as usize];
    }
    b.extend_from_slice(&nibbles[0..8]);
    b.push(b'-');
    b.extend_from_slice(&nibbles[8..12]);
    b.push(b'-');
    b.extend_from_slice(&nibbles[12..16]);
    b.push(b'-');
    b.extend_from_slice(&nibbles[16..20]);
    b.push(b'-');
    b.extend_from_slice(&nibbles[20..32]);
}

/// A UUID string derived from `seed` (stable across runs).
pub(crate) fn uuid_of(seed: u64) -> String {
    let mut b = Vec::with_capacity(36);
    push_uuid_from(&mut b, mix(seed), mix(seed ^ 0x5555_5555_5555_5555));
    String::from_utf8_lossy(&b).into_owned()
}

fn push_from_alphabet(b: &mut Vec<u8>, rng: &mut Rng, alphabet: &[u8], n: usize) {
    let mut bits = 0u64;
    let mut left = 0u32;
    let width = alphabet.len().next_power_of_two().trailing_zeros();
    for _ in 0..n {
        if alphabet.len().is_power_of_two() {
            if left < width {
                bits = rng.u64(..);
                left = 64;
            }
            b.push(alphabet[(bits & (alphabet.len() as u64 - 1)) as usize]);
            bits >>= width;
            left -= width;
        } else {
            b.push(alphabet[rng.usize(..alphabet.len())]);
        }
    }
}

/// Appends `n` lowercase hex digits.
pub(crate) fn push_hex(b: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    push_from_alphabet(b, rng, HEX, n);
}

/// Appends `n` uppercase hex digits (S3 request ids).
pub(crate) fn push_hex_upper(b: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    push_from_alphabet(b, rng, HEX_UPPER, n);
}

/// Appends `n` base64 characters (session tokens, `x-amz-id-2`).
pub(crate) fn push_base64(b: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    push_from_alphabet(b, rng, BASE64, n);
}

/// Appends `n` alphanumeric characters (S3 object name suffixes).
pub(crate) fn push_alnum(b: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    push_from_alphabet(b, rng, ALNUM, n);
}

fn string_with(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut b = Vec::with_capacity(32);
    f(&mut b);
    String::from_utf8_lossy(&b).into_owned()
}

/// An AWS unique id or access key id: `prefix` then base32 characters up to `len`
/// (`AIDA…` 21, `AROA…` 21, `AKIA…`/`ASIA…` 20), derived from `seed`.
pub(crate) fn aws_id(prefix: &str, len: usize, seed: u64) -> String {
    let mut rng = Rng::with_seed(mix(seed));
    string_with(|b| {
        b.extend_from_slice(prefix.as_bytes());
        push_from_alphabet(b, &mut rng, BASE32, len.saturating_sub(prefix.len()));
    })
}

/// An EC2-style resource id (`i-0123456789abcdef0`: `prefix-` and 17 hex digits),
/// derived from `seed`.
pub(crate) fn ec2_id(prefix: &str, seed: u64) -> String {
    let mut rng = Rng::with_seed(mix(seed));
    string_with(|b| {
        b.extend_from_slice(prefix.as_bytes());
        b.push(b'-');
        b.push(b'0');
        push_hex(b, &mut rng, 16);
    })
}

/// Lowercase hex derived from `seed`.
pub(crate) fn hex_of(seed: u64, n: usize) -> String {
    let mut rng = Rng::with_seed(mix(seed));
    string_with(|b| push_hex(b, &mut rng, n))
}

/// Alphanumerics derived from `seed`.
pub(crate) fn alnum_of(seed: u64, n: usize) -> String {
    let mut rng = Rng::with_seed(mix(seed));
    string_with(|b| push_alnum(b, &mut rng, n))
}

/// Appends a Kubernetes generated-name suffix of `n` characters.
pub(crate) fn push_k8s_suffix(b: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    push_from_alphabet(b, rng, K8S_SAFE, n);
}

/// A Kubernetes generated-name suffix (`pod-template-hash`, pod suffix) derived from
/// `seed`.
pub(crate) fn k8s_suffix_of(seed: u64, n: usize) -> String {
    let mut rng = Rng::with_seed(mix(seed));
    string_with(|b| push_k8s_suffix(b, &mut rng, n))
}

/// A weighted choice among items, chosen in O(log n).
#[derive(Debug, Clone)]
pub(crate) struct Weighted<T> {
    cumulative: Vec<u32>,
    items: Vec<T>,
}

impl<T> Weighted<T> {
    /// Builds from `(weight, item)` pairs; zero weights are dropped.
    pub fn new(pairs: impl IntoIterator<Item = (u32, T)>) -> Self {
        let mut cumulative = Vec::new();
        let mut items = Vec::new();
        let mut total = 0u32;
        for (w, it) in pairs {
            if w == 0 {
                continue;
            }
            total += w;
            cumulative.push(total);
            items.push(it);
        }
        Weighted { cumulative, items }
    }

    /// The items, in insertion order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The index of a random item (by weight). `None` when empty.
    pub fn pick_index(&self, rng: &mut Rng) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let r = rng.u32(..total);
        Some(self.cumulative.partition_point(|&c| c <= r))
    }

    /// A random item (by weight). `None` when empty.
    pub fn pick(&self, rng: &mut Rng) -> Option<&T> {
        self.pick_index(rng).and_then(|i| self.items.get(i))
    }
}

/// An exponentially distributed gap with the given mean (for Poisson arrivals).
pub(crate) fn exp_gap(rng: &mut Rng, mean: f64) -> f64 {
    let u = 1.0 - rng.f64(); // (0, 1]
    -u.ln() * mean
}

/// A heavy-tailed count: `min * U^(-1/alpha)`, capped at `max`.
pub(crate) fn pareto(rng: &mut Rng, min: f64, alpha: f64, max: f64) -> f64 {
    let u = 1.0 - rng.f64();
    (min * u.powf(-1.0 / alpha)).min(max)
}

/// A random public IPv4 address (outside private, shared, loopback, link-local,
/// multicast, reserved and documentation ranges), as a `u32`.
pub(crate) fn public_ipv4(rng: &mut Rng) -> u32 {
    loop {
        let ip = rng.u32(..);
        let a = ip >> 24;
        let b = (ip >> 16) & 0xff;
        let c = (ip >> 8) & 0xff;
        let reserved = a == 0
            || a == 10
            || a == 127
            || a >= 224
            || (a == 100 && (64..128).contains(&b))
            || (a == 169 && b == 254)
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 192 && b == 0 && (c == 0 || c == 2))
            || (a == 198 && (b == 18 || b == 19))
            || (a == 198 && b == 51 && c == 100)
            || (a == 203 && b == 0 && c == 113);
        if !reserved {
            return ip;
        }
    }
}

/// Appends dotted-quad text of an IPv4 address.
pub(crate) fn push_ipv4(b: &mut Vec<u8>, ip: u32) {
    for (i, shift) in [24u32, 16, 8, 0].into_iter().enumerate() {
        if i > 0 {
            b.push(b'.');
        }
        super::json::push_u64(b, ((ip >> shift) & 0xff) as u64);
    }
}

/// Dotted-quad text of an IPv4 address.
pub(crate) fn ipv4_string(ip: u32) -> String {
    string_with(|b| push_ipv4(b, ip))
}

/// Parses dotted-quad text (for addresses written as literals in this crate).
pub(crate) fn parse_ipv4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut n = 0;
    for part in s.split('.') {
        let v: u8 = part.parse().ok()?;
        out = (out << 8) | v as u32;
        n += 1;
    }
    (n == 4).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let k = aws_id("AKIA", 20, 7);
        assert_eq!(k.len(), 20);
        assert!(k.starts_with("AKIA"));
        assert!(k.bytes().all(|c| BASE32.contains(&c)));
        assert_eq!(aws_id("AKIA", 20, 7), k, "derived ids are stable");
        let i = ec2_id("i", 3);
        assert_eq!(i.len(), "i-0123456789abcdef0".len());
        let mut rng = Rng::with_seed(1);
        let mut b = Vec::new();
        push_uuid(&mut b, &mut rng);
        let u = String::from_utf8(b).expect("ascii");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn weighted_choice_follows_weights() {
        let w = Weighted::new([(1, 'a'), (0, 'z'), (9, 'b')]);
        let mut rng = Rng::with_seed(5);
        let mut b = 0;
        for _ in 0..10_000 {
            match w.pick(&mut rng) {
                Some('b') => b += 1,
                Some('a') => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!((8_700..9_300).contains(&b), "{b}");
        assert!(Weighted::<u8>::new([]).pick(&mut rng).is_none());
    }

    #[test]
    fn public_addresses_avoid_reserved_and_documentation_ranges() {
        let mut rng = Rng::with_seed(9);
        for _ in 0..100_000 {
            let ip = public_ipv4(&mut rng);
            let s = ipv4_string(ip);
            assert!(!s.starts_with("10.") && !s.starts_with("192.0.2."), "{s}");
            assert_eq!(parse_ipv4(&s), Some(ip));
        }
    }
}

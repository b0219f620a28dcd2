//! A minimal streaming JSON text writer.
//!
//! The generators write JSON text directly into a reusable byte buffer instead of
//! building `serde_json::Value` trees: it is several times faster and keeps key order
//! exactly as the real producers write it. Keys are `'static` literals chosen by this
//! crate (checked in debug builds to need no escaping); string values are always
//! escaped.

/// Writes JSON text into a byte buffer, tracking only whether the next value needs a
/// separating comma. Nesting is the caller's responsibility (each `obj`/`arr` must be
/// closed by `end_obj`/`end_arr`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Out {
    /// The JSON text written so far.
    pub b: Vec<u8>,
    comma: bool,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` to `b` with JSON string escaping (without the surrounding quotes).
pub(crate) fn escape_into(b: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                b.extend_from_slice(&bytes[start..i]);
                b.extend_from_slice(b"\\u00");
                b.push(HEX[(c >> 4) as usize]);
                b.push(HEX[(c & 0xf) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        b.extend_from_slice(&bytes[start..i]);
        b.extend_from_slice(esc);
        start = i + 1;
    }
    b.extend_from_slice(&bytes[start..]);
}

/// Appends the decimal form of `n` to `b`.
pub(crate) fn push_u64(b: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

/// Appends the decimal form of `n` to `b`.
pub(crate) fn push_i64(b: &mut Vec<u8>, n: i64) {
    if n < 0 {
        b.push(b'-');
    }
    push_u64(b, n.unsigned_abs());
}

/// Appends `n` zero-padded to `width` digits.
pub(crate) fn push_padded(b: &mut Vec<u8>, n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut v = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = tmp.len() - i;
    for _ in digits..width {
        b.push(b'0');
    }
    b.extend_from_slice(&tmp[i..]);
}

impl Out {
    /// An empty writer with `cap` bytes reserved.
    pub fn with_capacity(cap: usize) -> Self {
        Out {
            b: Vec::with_capacity(cap),
            comma: false,
        }
    }

    /// A writer appending to `b` (which may already hold text: the next value is
    /// written without a leading comma).
    pub fn from_vec(b: Vec<u8>) -> Self {
        Out { b, comma: false }
    }

    /// Empties the buffer, keeping its allocation.
    pub fn clear(&mut self) {
        self.b.clear();
        self.comma = false;
    }

    #[inline]
    fn sep(&mut self) {
        if self.comma {
            self.b.push(b',');
        }
    }

    /// Opens an object (as a value: after a key, in an array, or at top level).
    #[inline]
    pub fn obj(&mut self) {
        self.sep();
        self.b.push(b'{');
        self.comma = false;
    }

    /// Closes an object.
    #[inline]
    pub fn end_obj(&mut self) {
        self.b.push(b'}');
        self.comma = true;
    }

    /// Opens an array.
    #[inline]
    pub fn arr(&mut self) {
        self.sep();
        self.b.push(b'[');
        self.comma = false;
    }

    /// Closes an array.
    #[inline]
    pub fn end_arr(&mut self) {
        self.b.push(b']');
        self.comma = true;
    }

    /// Writes an object key. Keys are literals of this crate and are not escaped.
    #[inline]
    pub fn key(&mut self, k: &str) {
        debug_assert!(
            !k.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20),
            "key needs escaping: {k}"
        );
        self.sep();
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
        self.comma = false;
    }

    /// Writes a string value, escaped.
    #[inline]
    pub fn str(&mut self, v: &str) {
        self.sep();
        self.b.push(b'"');
        escape_into(&mut self.b, v);
        self.b.push(b'"');
        self.comma = true;
    }

    /// Starts a string value written in parts with [`Out::part`] and closed with
    /// [`Out::str_end`].
    #[inline]
    pub fn str_begin(&mut self) {
        self.sep();
        self.b.push(b'"');
    }

    /// Appends an escaped part of a string started with [`Out::str_begin`].
    #[inline]
    pub fn part(&mut self, v: &str) {
        escape_into(&mut self.b, v);
    }

    /// Closes a string started with [`Out::str_begin`].
    #[inline]
    pub fn str_end(&mut self) {
        self.b.push(b'"');
        self.comma = true;
    }

    /// Writes an integer value.
    #[inline]
    pub fn u64(&mut self, n: u64) {
        self.sep();
        push_u64(&mut self.b, n);
        self.comma = true;
    }

    /// Writes a signed integer value.
    #[inline]
    pub fn i64(&mut self, n: i64) {
        self.sep();
        push_i64(&mut self.b, n);
        self.comma = true;
    }

    /// Writes `true` or `false`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.sep();
        self.b
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        self.comma = true;
    }

    /// Writes `null`.
    #[inline]
    pub fn null(&mut self) {
        self.sep();
        self.b.extend_from_slice(b"null");
        self.comma = true;
    }

    /// Writes already valid JSON text as one value.
    #[inline]
    pub fn raw(&mut self, json: &[u8]) {
        self.sep();
        self.b.extend_from_slice(json);
        self.comma = true;
    }

    /// `"k":"v"`.
    #[inline]
    pub fn ks(&mut self, k: &str, v: &str) {
        self.key(k);
        self.str(v);
    }

    /// `"k":n`.
    #[inline]
    pub fn ku(&mut self, k: &str, n: u64) {
        self.key(k);
        self.u64(n);
    }

    /// `"k":n` (signed).
    #[inline]
    pub fn ki(&mut self, k: &str, n: i64) {
        self.key(k);
        self.i64(n);
    }

    /// `"k":true|false`.
    #[inline]
    pub fn kb(&mut self, k: &str, v: bool) {
        self.key(k);
        self.bool(v);
    }

    /// `"k":null`.
    #[inline]
    pub fn knull(&mut self, k: &str) {
        self.key(k);
        self.null();
    }

    /// `"k":{` (closed by `end_obj`).
    #[inline]
    pub fn kobj(&mut self, k: &str) {
        self.key(k);
        self.obj();
    }

    /// `"k":[` (closed by `end_arr`).
    #[inline]
    pub fn karr(&mut self, k: &str) {
        self.key(k);
        self.arr();
    }

    /// `"k":{}`.
    #[inline]
    pub fn kempty(&mut self, k: &str) {
        self.key(k);
        self.raw(b"{}");
    }

    /// `"k":<raw json>`.
    #[inline]
    pub fn kraw(&mut self, k: &str, json: &[u8]) {
        self.key(k);
        self.raw(json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls_so_serde_reads_the_same_string() {
        let s = "a\"b\\c\nd\te\u{1}f\u{7f}é";
        let mut o = Out::default();
        o.obj();
        o.ks("k", s);
        o.ku("n", 1234567890123);
        o.ki("m", -5);
        o.karr("a");
        o.u64(0);
        o.null();
        o.bool(false);
        o.end_arr();
        o.end_obj();
        let v: serde_json::Value = serde_json::from_slice(&o.b).expect("valid json");
        assert_eq!(v["k"], s);
        assert_eq!(v["n"], 1234567890123u64);
        assert_eq!(v["m"], -5);
        assert_eq!(v["a"], serde_json::json!([0, null, false]));
    }

    #[test]
    fn pads_numbers() {
        let mut b = Vec::new();
        push_padded(&mut b, 7, 3);
        push_padded(&mut b, 1234, 2);
        assert_eq!(b, b"0071234");
    }
}

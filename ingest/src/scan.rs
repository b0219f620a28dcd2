//! A resumable scanner that finds where one JSON value ends without parsing it.
//!
//! The decoder streams large containers (a CloudTrail S3 object's `Records` array, a bare
//! array of events) element by element: this scanner finds each element's byte span, then
//! simd-json parses just that element. It tracks only nesting depth and whether it is
//! inside a string, so it can stop at the end of a buffer and resume when more bytes
//! arrive, and it keeps no copy of what it has passed (a value too large to buffer can be
//! skipped in constant memory). Inside strings it jumps with `memchr2` to the next quote or
//! backslash, which is where almost all the bytes of a CloudTrail event are.

use memchr::memchr2;

/// Outcome of one [`ValueScanner::scan`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The value ends just before this index (exclusive end).
    Done(usize),
    /// The buffer ended first; call again with more bytes, resuming at this index.
    NeedMore(usize),
    /// The bytes cannot be a JSON value (for example a `}` with nothing open).
    Invalid(usize),
}

/// Finds the end of one JSON value, across as many calls as the bytes take to arrive.
#[derive(Debug, Clone, Default)]
pub struct ValueScanner {
    depth: u32,
    in_string: bool,
    /// A backslash was the last byte seen inside a string: skip the next byte.
    escape: bool,
    /// Scanning a bare scalar (number, `true`, `false`, `null`).
    scalar: bool,
    started: bool,
}

impl ValueScanner {
    /// A scanner positioned before the first byte of a value.
    pub fn new() -> Self {
        Self::default()
    }

    /// A scanner positioned inside an already opened container (`depth` levels deep),
    /// used to find the end of an object whose first members were consumed separately.
    pub fn inside(depth: u32) -> Self {
        Self {
            depth,
            started: true,
            ..Self::default()
        }
    }

    /// Scans `buf[from..]`. `from` must be where the previous call asked to resume (or the
    /// first byte of the value on the first call, which must not be whitespace).
    pub fn scan(&mut self, buf: &[u8], from: usize) -> Scan {
        let mut i = from;
        if !self.started {
            let Some(&c) = buf.get(i) else {
                return Scan::NeedMore(i);
            };
            self.started = true;
            match c {
                b'{' | b'[' => {
                    self.depth = 1;
                    i += 1;
                }
                b'"' => {
                    self.in_string = true;
                    i += 1;
                }
                b'}' | b']' | b',' | b':' => return Scan::Invalid(i),
                _ => self.scalar = true,
            }
        }
        if self.scalar {
            while i < buf.len() {
                match buf[i] {
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n' => return Scan::Done(i),
                    _ => i += 1,
                }
            }
            return Scan::NeedMore(i);
        }
        loop {
            if self.in_string {
                if self.escape {
                    if i >= buf.len() {
                        return Scan::NeedMore(i);
                    }
                    self.escape = false;
                    i += 1;
                }
                match memchr2(b'"', b'\\', &buf[i.min(buf.len())..]) {
                    None => return Scan::NeedMore(buf.len()),
                    Some(k) => {
                        let j = i + k;
                        if buf[j] == b'\\' {
                            self.escape = true;
                            i = j + 1;
                            continue;
                        }
                        self.in_string = false;
                        i = j + 1;
                        if self.depth == 0 {
                            return Scan::Done(i);
                        }
                    }
                }
            }
            // Outside strings: structure, numbers and literals are short runs.
            loop {
                let Some(&c) = buf.get(i) else {
                    return Scan::NeedMore(i);
                };
                i += 1;
                match c {
                    b'"' => {
                        self.in_string = true;
                        break;
                    }
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        if self.depth == 0 {
                            return Scan::Invalid(i - 1);
                        }
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Scan::Done(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Index of the first byte at or after `from` that is not JSON whitespace.
pub fn skip_ws(buf: &[u8], mut from: usize) -> usize {
    while let Some(&c) = buf.get(from) {
        if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            break;
        }
        from += 1;
    }
    from
}

/// The outcome of peeking at an object's first key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstKey {
    /// The object's first member is `"Records": [`; the index is just after the `[`.
    RecordsArray(usize),
    /// Something else (or not an object at all).
    Other,
    /// The buffer ended before the answer was known.
    NeedMore,
}

/// Looks at the object starting at `buf[at] == b'{'` and tells whether it opens with a
/// `Records` array, the shape of a CloudTrail S3 delivery object.
pub fn peek_records(buf: &[u8], at: usize) -> FirstKey {
    const KEY: &[u8] = b"\"Records\"";
    let i = skip_ws(buf, at + 1);
    if i >= buf.len() {
        return FirstKey::NeedMore;
    }
    let avail = &buf[i..];
    if avail.len() < KEY.len() {
        return if KEY.starts_with(avail) {
            FirstKey::NeedMore
        } else {
            FirstKey::Other
        };
    }
    if &avail[..KEY.len()] != KEY {
        return FirstKey::Other;
    }
    let i = skip_ws(buf, i + KEY.len());
    match buf.get(i) {
        None => FirstKey::NeedMore,
        Some(b':') => {
            let j = skip_ws(buf, i + 1);
            match buf.get(j) {
                None => FirstKey::NeedMore,
                Some(b'[') => FirstKey::RecordsArray(j + 1),
                Some(_) => FirstKey::Other,
            }
        }
        Some(_) => FirstKey::Other,
    }
}

/// Byte spans of the members of the complete JSON object `obj` (which must start with
/// `{`, after optional whitespace): `(key, value span)` pairs, the key as written (escapes
/// not decoded). Returns `None` when `obj` is not a well-formed object at the top level.
pub fn object_member_spans(obj: &[u8]) -> Option<Vec<(&[u8], std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut i = skip_ws(obj, 0);
    if obj.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(obj, i);
        match obj.get(i)? {
            b'}' => return Some(out),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let mut ks = ValueScanner::new();
        let Scan::Done(kend) = ks.scan(obj, i) else {
            return None;
        };
        let key = &obj[i + 1..kend - 1];
        i = skip_ws(obj, kend);
        if obj.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(obj, i + 1);
        let mut vs = ValueScanner::new();
        let Scan::Done(vend) = vs.scan(obj, i) else {
            return None;
        };
        out.push((key, i..vend));
        i = vend;
    }
}

/// Byte spans of the elements of the complete JSON array `arr` (starting with `[` after
/// optional whitespace). Returns `None` when it is not a well-formed array.
pub fn array_element_spans(arr: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let mut out = Vec::new();
    let mut i = skip_ws(arr, 0);
    if arr.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(arr, i);
        match arr.get(i)? {
            b']' => return Some(out),
            b',' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let mut vs = ValueScanner::new();
        let Scan::Done(end) = vs.scan(arr, i) else {
            return None;
        };
        out.push(i..end);
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn whole(s: &str) -> Scan {
        ValueScanner::new().scan(s.as_bytes(), 0)
    }

    #[test]
    fn finds_ends_of_values() {
        assert_eq!(
            whole(r#"{"a":"}\"]","b":[1,{"c":2}]} tail"#),
            Scan::Done(28)
        );
        assert_eq!(whole(r#""x\\" y"#), Scan::Done(5));
        assert_eq!(whole("123,"), Scan::Done(3));
        assert_eq!(whole("[1,2"), Scan::NeedMore(4));
        assert_eq!(whole("}"), Scan::Invalid(0));
    }

    #[test]
    fn peeks_records_key() {
        assert_eq!(
            peek_records(br#"{ "Records" : [ {"#, 0),
            FirstKey::RecordsArray(15)
        );
        assert_eq!(peek_records(br#"{"Rec"#, 0), FirstKey::NeedMore);
        assert_eq!(peek_records(br#"{"eventVersion":"1"}"#, 0), FirstKey::Other);
        assert_eq!(peek_records(br#"{"Records":{}}"#, 0), FirstKey::Other);
    }

    #[test]
    fn member_and_element_spans() {
        let o = br#"{"a": [1, 2], "b" : {"c": "}"}}"#;
        let m = object_member_spans(o).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(&o[m[0].1.clone()], b"[1, 2]");
        assert_eq!(m[1].0, b"b");
        assert_eq!(&o[m[1].1.clone()], br#"{"c": "}"}"#);
        let a = array_element_spans(b"[ {\"x\":1} , 2,\"s\"]").unwrap();
        assert_eq!(a.len(), 3);
    }

    proptest! {
        /// Feeding a value in arbitrary pieces finds the same end as feeding it whole.
        #[test]
        fn resumes_across_any_split(split in 0usize..60, escaped in any::<bool>()) {
            let text = if escaped {
                r#"{"k":"a\"b\\","l":[{"m":"]}"},3],"n":null} rest"#
            } else {
                r#"[{"eventName":"x"},{"y":[1,2,{"z":"{"}]}] rest"#
            };
            let bytes = text.as_bytes();
            let expected = ValueScanner::new().scan(bytes, 0);
            let cut = split.min(bytes.len());
            let mut s = ValueScanner::new();
            let got = match s.scan(&bytes[..cut], 0) {
                Scan::NeedMore(at) => s.scan(bytes, at),
                other => other,
            };
            prop_assert_eq!(got, expected);
        }
    }
}

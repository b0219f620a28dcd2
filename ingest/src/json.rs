//! Small helpers to read simd-json tape values leniently.
//!
//! Typed columns accept the JSON type the source documents and the obvious string forms
//! (`"true"`, `"42"`), because real producers are not always strict; anything else leaves
//! the column null (the verbatim record in `raw` still holds it).

use std::borrow::Cow;

use simd_json::prelude::*;
use simd_json::tape::Value;

/// A string value, or a number or boolean written as a string.
pub fn str_of<'i>(v: Value<'_, 'i>) -> Option<Cow<'i, str>> {
    if let Some(s) = v.into_string() {
        return Some(Cow::Borrowed(s));
    }
    if let Some(b) = v.as_bool() {
        return Some(Cow::Borrowed(if b { "true" } else { "false" }));
    }
    if let Some(i) = v.as_i64() {
        return Some(Cow::Owned(i.to_string()));
    }
    if let Some(u) = v.as_u64() {
        return Some(Cow::Owned(u.to_string()));
    }
    v.as_f64().map(|f| Cow::Owned(f.to_string()))
}

/// A boolean, or the strings `true` / `false` in any case.
pub fn bool_of(v: Value<'_, '_>) -> Option<bool> {
    if let Some(b) = v.as_bool() {
        return Some(b);
    }
    let s = v.as_str()?;
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An integer, or a string holding one.
pub fn i64_of(v: Value<'_, '_>) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    if let Some(u) = v.as_u64() {
        return i64::try_from(u).ok();
    }
    v.as_str()?.trim().parse().ok()
}

/// The strings of a JSON array of strings (non-string elements are rendered as text).
pub fn str_list_of<'i>(v: Value<'_, 'i>) -> Option<Vec<Cow<'i, str>>> {
    let arr = v.as_array()?;
    Some(arr.iter().filter_map(str_of).collect())
}

/// Whether `s` is an IPv4 or IPv6 address.
pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

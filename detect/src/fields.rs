//! Reading a rule's fields from a batch: typed columns directly, anything else by dotted
//! path in the verbatim JSON (`raw`), only for the rows that need it.

use std::borrow::Cow;

use arrow::array::AsArray;
use arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Fields, Int32Type};
use simd_json::prelude::*;
use simd_json::tape::Value;
use vigil_ingest::SourceKind;

/// How a field name is read from one source type's batches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Access {
    /// A typed column: its index, then struct child indexes.
    Column {
        /// Column index, then child indexes.
        path: Vec<usize>,
        /// The Arrow type at the end of the path.
        ty: ColType,
    },
    /// A dotted path into the verbatim event JSON (`raw`).
    Raw(String),
    /// Every string value in the event (keyword searches).
    Keywords,
    /// The field cannot exist in this source.
    Absent,
}

impl Access {
    /// Whether reading it needs the verbatim JSON parsed (the expensive path).
    pub fn is_raw(&self) -> bool {
        matches!(self, Access::Raw(_) | Access::Keywords)
    }
}

/// Types of typed columns a rule can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColType {
    /// Utf8 (read also where a batch holds the column dictionary-encoded)
    Utf8,
    /// Boolean
    Bool,
    /// Int32 or Int64
    Int,
    /// List of Utf8
    ListUtf8,
    /// A timestamp read as seconds (flow log `start`/`end`, which are seconds in the source)
    Seconds,
}

fn struct_fields(dt: &DataType) -> Option<&Fields> {
    match dt {
        DataType::Struct(f) => Some(f),
        _ => None,
    }
}

/// Resolves `field` for `kind`: a typed column when the dotted path names one of the
/// source's columns (column, then struct children), else a path into `raw` (JSON
/// sources) or absent (flow logs). Vigil's own columns
/// ([`vigil_ingest::schema::COMMON_COLUMNS`], the unknown-keys flag) are never a rule's
/// field.
pub fn resolve(kind: SourceKind, field: &str) -> Access {
    let schema = vigil_ingest::schema::schema(kind);
    let json_source = kind != SourceKind::VpcFlow;
    // Longest prefix of dot-separated segments that names a top-level column (flow log
    // field names contain `-`, never `.`).
    let segs: Vec<&str> = field.split('.').collect();
    // Vigil's own columns (the common OCSF-named ones, the unknown-keys flag) are not the
    // event's fields: a rule's `status` is the event's `status`, if it has one, not the
    // outcome Vigil derived (SigmaHQ's `aws_delete_saml_provider` reads `status`).
    let own = |name: &str| {
        vigil_ingest::schema::COMMON_COLUMNS.contains(&name)
            || name == vigil_ingest::schema::UNKNOWN_KEYS_COLUMN
    };
    if own(segs[0]) {
        // Read from the event, as any field no column names.
    } else if let Ok(i) = schema.index_of(field) {
        if let Some(a) = leaf_access(kind, vec![i], schema.field(i).data_type()) {
            return a;
        }
    } else if let Ok(i) = schema.index_of(segs[0]) {
        let mut path = vec![i];
        let mut dt = schema.field(i).data_type();
        let mut ok = true;
        for s in &segs[1..] {
            match struct_fields(dt).and_then(|f| f.find(s)) {
                Some((ci, f)) => {
                    path.push(ci);
                    dt = f.data_type();
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && let Some(a) = leaf_access(kind, path, dt) {
            return a;
        }
    }
    if json_source {
        Access::Raw(field.to_string())
    } else {
        Access::Absent
    }
}

fn leaf_access(kind: SourceKind, path: Vec<usize>, dt: &DataType) -> Option<Access> {
    let ty = match dt {
        DataType::Utf8 => ColType::Utf8,
        DataType::Boolean => ColType::Bool,
        DataType::Int32 | DataType::Int64 => ColType::Int,
        DataType::List(f) if f.data_type() == &DataType::Utf8 => ColType::ListUtf8,
        // Timestamps of JSON sources are matched as the text the source wrote.
        DataType::Timestamp(_, _) if kind == SourceKind::VpcFlow => ColType::Seconds,
        _ => return None,
    };
    Some(Access::Column { path, ty })
}

/// One value of a field in one event, as matching sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A non-integral number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An object (or an array of non-scalars), as compact JSON text.
    Json(String),
}

impl Item<'_> {
    /// The text string matching compares against: strings as they are, numbers in
    /// decimal, booleans as `true`/`false`, objects as JSON.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Item::Str(s) => Cow::Borrowed(s.as_ref()),
            Item::Int(i) => Cow::Owned(i.to_string()),
            Item::Float(f) => Cow::Owned(f.to_string()),
            Item::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Item::Json(j) => Cow::Borrowed(j),
        }
    }
}

/// A string column as evaluation reads it: plain, or dictionary-encoded.
#[derive(Clone, Copy)]
pub(crate) enum StrColumn<'a> {
    Plain(&'a StringArray),
    Dict(DictColumn<'a>),
}

impl<'a> StrColumn<'a> {
    /// `arr` as a string column, if it is one (`Utf8`, or a dictionary of `Utf8`).
    pub(crate) fn of(arr: &'a ArrayRef) -> Option<Self> {
        if let Some(s) = arr.as_any().downcast_ref::<StringArray>() {
            return Some(Self::Plain(s));
        }
        let d = arr.as_dictionary_opt::<Int32Type>()?;
        Some(Self::Dict(DictColumn {
            keys: d.keys().values(),
            nulls: d.keys().nulls(),
            values: d.values().as_string_opt::<i32>()?,
        }))
    }

    /// Row `r`'s text; `None` where it is null.
    #[inline]
    pub(crate) fn value(&self, r: usize) -> Option<&'a str> {
        match *self {
            Self::Plain(a) => a.is_valid(r).then(|| a.value(r)),
            Self::Dict(d) => d.entry(r).map(|e| d.values.value(e)),
        }
    }

    /// Row `r`'s text as bytes, read straight from the buffers (`StringArray::value` is a
    /// call per row with its own checks); `None` where it is null.
    #[inline]
    pub(crate) fn bytes(&self, r: usize) -> Option<&'a [u8]> {
        let (a, i) = match *self {
            Self::Plain(a) => (a, a.is_valid(r).then_some(r)?),
            Self::Dict(d) => (d.values, d.entry(r)?),
        };
        Some(value_bytes(a.value_offsets(), a.value_data(), i))
    }
}

/// Value `i`'s bytes, given a string array's offsets and data (read once for a loop
/// over many rows). Arrow's offsets are never negative; a negative one, cast, is out of
/// range and gives no bytes.
#[inline]
pub(crate) fn value_bytes<'a>(offsets: &[i32], data: &'a [u8], i: usize) -> &'a [u8] {
    data.get(offsets[i] as usize..offsets[i + 1] as usize)
        .unwrap_or_default()
}

/// A dictionary-encoded string column, its parts borrowed for reading row by row (the
/// dictionary array's own accessors cost a call per row that showed in profiles).
#[derive(Clone, Copy)]
pub(crate) struct DictColumn<'a> {
    /// Row -> entry of `values`.
    keys: &'a [i32],
    /// Null rows (the keys' nulls).
    nulls: Option<&'a NullBuffer>,
    /// The distinct values.
    pub(crate) values: &'a StringArray,
}

impl DictColumn<'_> {
    /// The entry of [`Self::values`] that row `r` holds; `None` where the row or the
    /// entry is null, or the key is out of range.
    #[inline]
    pub(crate) fn entry(&self, r: usize) -> Option<usize> {
        let e = usize::try_from(self.keys[r]).ok()?;
        (self.nulls.is_none_or(|n| n.is_valid(r))
            && e < self.values.len()
            && self.values.is_valid(e))
        .then_some(e)
    }
}

/// The values of one field for the rows of a batch: row `r` has
/// `items[offsets[r]..offsets[r + 1]]` (none: absent or null).
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    /// Row boundaries, `rows + 1` entries.
    pub offsets: Vec<u32>,
    /// The values.
    pub items: Vec<Item<'a>>,
    /// Rows, in increasing order, where the field is present with the JSON value `null`
    /// (and has no other value). Only paths read from the verbatim JSON record it; a
    /// typed column cannot tell a null from an absent field.
    pub nulls: Vec<u32>,
}

impl<'a> Values<'a> {
    /// Values of `rows` rows, all absent.
    pub fn absent(rows: usize) -> Self {
        Self {
            offsets: vec![0; rows + 1],
            items: Vec::new(),
            nulls: Vec::new(),
        }
    }

    /// Whether the field is present in row `r` with the value `null` (see
    /// [`Self::nulls`]).
    pub fn is_null(&self, r: usize) -> bool {
        u32::try_from(r).is_ok_and(|r| self.nulls.binary_search(&r).is_ok())
    }

    /// The values of row `r`.
    pub fn row(&self, r: usize) -> &[Item<'a>] {
        &self.items[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// No rows yet: rows are read in increasing order, each after [`Self::start_row`],
    /// and [`Self::finish`] ends the rest.
    fn building(capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        Self {
            offsets,
            items: Vec::new(),
            nulls: Vec::new(),
        }
    }

    /// Starts row `r` (greater than any row started before): the rows in between are
    /// left absent, filled in one run rather than visited one by one.
    fn start_row(&mut self, r: usize) {
        let at = self.items.len() as u32;
        self.offsets.resize(r + 1, at);
    }

    /// Ends the last row started and leaves the rest, up to `rows`, absent.
    fn finish(&mut self, rows: usize) {
        let at = self.items.len() as u32;
        self.offsets.resize(rows + 1, at);
    }
}

/// The rows to read of `rows`: those set in `only` (every row when `None`), in order.
fn rows_to_read(
    only: Option<&crate::bitmap::Bitmap>,
    rows: usize,
) -> impl Iterator<Item = usize> + '_ {
    let every = only.is_none().then_some(0..rows);
    let some = only.map(|b| b.iter().take_while(move |&r| r < rows));
    every
        .into_iter()
        .flatten()
        .chain(some.into_iter().flatten())
}

/// The column at `path` of `batch`, with the validity of every enclosing struct folded
/// into its null mask.
pub fn column(batch: &RecordBatch, path: &[usize]) -> ArrayRef {
    let mut arr = batch.column(path[0]).clone();
    for &c in &path[1..] {
        let Some(s) = arr.as_any().downcast_ref::<StructArray>() else {
            break;
        };
        let child = s.column(c).clone();
        arr = match s.nulls() {
            // Null where the struct is (`nullif` keeps the values as they are; rebuilding
            // the array would validate them again, all the UTF-8 of a string column).
            Some(parent) => {
                let parent_null = BooleanArray::new(!parent.inner(), None);
                arrow::compute::nullif(&child, &parent_null).unwrap_or(child)
            }
            None => child,
        };
    }
    arr
}

/// Reads a typed column as [`Values`] (used for everything but the Utf8 fast path).
pub fn typed_values<'a>(arr: &'a ArrayRef, ty: ColType) -> Values<'a> {
    typed_values_on(arr, ty, None)
}

/// [`typed_values`] of just the rows set in `only` (every row when `None`); the other
/// rows are left absent.
pub fn typed_values_on<'a>(
    arr: &'a ArrayRef,
    ty: ColType,
    only: Option<&crate::bitmap::Bitmap>,
) -> Values<'a> {
    let rows = arr.len();
    let mut v = Values::building(rows);
    v.items.reserve(only.map_or(rows, |b| b.count()));
    let read = rows_to_read(only, rows);
    match ty {
        ColType::Utf8 => {
            if let Some(s) = StrColumn::of(arr) {
                for r in read {
                    v.start_row(r);
                    if let Some(text) = s.value(r) {
                        v.items.push(Item::Str(Cow::Borrowed(text)));
                    }
                }
            }
        }
        ColType::Bool => {
            if let Some(a) = arr.as_any().downcast_ref::<BooleanArray>() {
                for r in read.filter(|&r| a.is_valid(r)) {
                    v.start_row(r);
                    v.items.push(Item::Bool(a.value(r)));
                }
            }
        }
        ColType::Int => {
            let a32 = arr.as_any().downcast_ref::<Int32Array>();
            let a64 = arr.as_any().downcast_ref::<Int64Array>();
            for r in read {
                let value = match (a32, a64) {
                    (Some(a), _) if a.is_valid(r) => Some(i64::from(a.value(r))),
                    (_, Some(a)) if a.is_valid(r) => Some(a.value(r)),
                    _ => None,
                };
                if let Some(i) = value {
                    v.start_row(r);
                    v.items.push(Item::Int(i));
                }
            }
        }
        ColType::Seconds => {
            if let Some(a) = arr.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                for r in read.filter(|&r| a.is_valid(r)) {
                    v.start_row(r);
                    v.items.push(Item::Int(a.value(r).div_euclid(1_000_000)));
                }
            }
        }
        ColType::ListUtf8 => {
            if let Some(a) = arr.as_any().downcast_ref::<ListArray>() {
                for r in read.filter(|&r| a.is_valid(r)) {
                    v.start_row(r);
                    let inner = a.value(r);
                    if let Some(s) = inner.as_any().downcast_ref::<StringArray>() {
                        for i in (0..s.len()).filter(|&i| s.is_valid(i)) {
                            v.items.push(Item::Str(Cow::Owned(s.value(i).to_string())));
                        }
                    }
                }
            }
        }
    }
    v.finish(rows);
    v
}

/// Extracts several raw paths (and keyword strings) for the rows set in `rows`, parsing
/// each needed event's JSON once. `targets[i]` is `Some(path)` for a dotted path or `None`
/// for "every string value". Rows outside `rows` are left absent. Non-JSON raw text
/// (flow log lines) gives keywords the whole line and paths nothing.
pub fn extract_raw(
    raw: &StringArray,
    rows: &crate::bitmap::Bitmap,
    targets: &[Option<&str>],
) -> Vec<Values<'static>> {
    let n = raw.len();
    let mut out: Vec<Values<'static>> = targets.iter().map(|_| Values::building(n)).collect();
    let mut scratch: Vec<u8> = Vec::new();
    let mut buffers = simd_json::Buffers::default();
    // Only the rows asked for are visited (a few per batch, where thousands of rows and
    // dozens of paths made a per-row, per-path loop a twentieth of detection).
    for r in rows_to_read(Some(rows), n) {
        out.iter_mut().for_each(|o| o.start_row(r));
        if raw.is_valid(r) {
            let text = raw.value(r);
            scratch.clear();
            scratch.extend_from_slice(text.as_bytes());
            match simd_json::to_tape_with_buffers(&mut scratch, &mut buffers) {
                Ok(tape) => {
                    let root = tape.as_value();
                    for (t, o) in targets.iter().zip(out.iter_mut()) {
                        match t {
                            Some(path) => {
                                let before = o.items.len();
                                if lookup_all(root, path, &mut o.items) && o.items.len() == before {
                                    o.nulls.push(r as u32);
                                }
                            }
                            None => all_strings(root, &mut o.items, 0),
                        }
                    }
                }
                Err(_) => {
                    for (t, o) in targets.iter().zip(out.iter_mut()) {
                        if t.is_none() {
                            o.items.push(Item::Str(Cow::Owned(text.to_string())));
                        }
                    }
                }
            }
        }
    }
    out.iter_mut().for_each(|o| o.finish(n));
    out
}

fn push_value(v: Value<'_, '_>, out: &mut Vec<Item<'static>>) {
    if let Some(s) = v.into_string() {
        out.push(Item::Str(Cow::Owned(s.to_string())));
    } else if let Some(b) = v.as_bool() {
        out.push(Item::Bool(b));
    } else if let Some(i) = v.as_i64() {
        out.push(Item::Int(i));
    } else if let Some(u) = v.as_u64() {
        out.push(match i64::try_from(u) {
            Ok(i) => Item::Int(i),
            Err(_) => Item::Float(u as f64),
        });
    } else if let Some(f) = v.as_f64() {
        out.push(Item::Float(f));
    } else if let Some(a) = v.as_array() {
        for e in a.iter() {
            if e.is_object() {
                out.push(Item::Json(e.encode()));
            } else {
                push_value(e, out);
            }
        }
    } else if v.is_object() {
        out.push(Item::Json(v.encode()));
    }
    // null: nothing (`lookup_all` tells the caller it met one)
}

/// All values at dotted `path` under `v`: object keys are matched longest first (keys
/// may contain dots), arrays fan out (every element continues with the same path) unless
/// the next segment is an index. Returns whether the path also led to a JSON `null`,
/// which adds no value (`exists` counts such a field present).
pub fn lookup_all(v: Value<'_, '_>, path: &str, out: &mut Vec<Item<'static>>) -> bool {
    if path.is_empty() {
        if v.is_null() {
            return true;
        }
        push_value(v, out);
        return false;
    }
    let mut null = false;
    if let Some(obj) = v.as_object() {
        let mut ends: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
        ends.push(path.len());
        for end in ends.into_iter().rev() {
            if let Some(child) = obj.get(&path[..end]) {
                let rest = if end == path.len() {
                    ""
                } else {
                    &path[end + 1..]
                };
                let before = out.len();
                null |= lookup_all(child, rest, out);
                if out.len() > before {
                    return null;
                }
            }
        }
    } else if let Some(arr) = v.as_array() {
        let (seg, rest) = path.split_once('.').unwrap_or((path, ""));
        if let Ok(idx) = seg.parse::<usize>()
            && let Some(e) = arr.get(idx)
        {
            return lookup_all(e, rest, out);
        }
        for e in arr.iter() {
            null |= lookup_all(e, path, out);
        }
    }
    null
}

fn all_strings(v: Value<'_, '_>, out: &mut Vec<Item<'static>>, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(s) = v.into_string() {
        out.push(Item::Str(Cow::Owned(s.to_string())));
    } else if let Some(o) = v.as_object() {
        for (_, c) in o.iter() {
            all_strings(c, out, depth + 1);
        }
    } else if let Some(a) = v.as_array() {
        for c in a.iter() {
            all_strings(c, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_paths_are_read_on_the_rows_asked_for_only() {
        // Rows 1, 2 and 4 of 6 asked for; row 2 is not JSON, row 5 (not asked) would match.
        let raw = StringArray::from(vec![
            r#"{"a":{"b":"zero"}}"#,
            r#"{"a":{"b":["one","uno"]},"c":1}"#,
            "not json",
            r#"{"a":{"b":"three"}}"#,
            r#"{"c":true}"#,
            r#"{"a":{"b":"five"}}"#,
        ]);
        let mut rows = crate::bitmap::Bitmap::zeros(6);
        [1, 2, 4].iter().for_each(|&r| rows.set(r));
        let got = extract_raw(&raw, &rows, &[Some("a.b"), Some("c"), None]);
        let texts = |v: &Values<'_>, r: usize| -> Vec<String> {
            v.row(r).iter().map(|i| i.text().into_owned()).collect()
        };
        for v in &got {
            assert_eq!(v.rows(), 6);
            assert!(
                [0, 3, 5].iter().all(|&r| v.row(r).is_empty()),
                "rows not asked for are absent"
            );
        }
        assert_eq!(texts(&got[0], 1), ["one", "uno"]);
        assert!(got[0].row(2).is_empty() && got[0].row(4).is_empty());
        assert_eq!(texts(&got[1], 1), ["1"]);
        assert_eq!(texts(&got[1], 4), ["true"]);
        // Keywords: every string of the event, or the whole line when it is not JSON.
        assert_eq!(texts(&got[2], 2), ["not json"]);
        assert_eq!(texts(&got[2], 1), ["one", "uno"]);
    }

    #[test]
    fn dictionary_rows_read_their_entry_or_none_where_null() {
        use arrow::array::{DictionaryArray, Int32Array};
        use std::sync::Arc;
        // Row 1's key is null, row 2's entry is null; a slice keeps its rows' entries.
        let keys = Int32Array::from(vec![Some(0), None, Some(1), Some(2), Some(0)]);
        let values = StringArray::from(vec![Some("ConsoleLogin"), None, Some("GetObject")]);
        let d: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).expect("valid"));
        let col = StrColumn::of(&d).expect("a dictionary of strings");
        let texts: Vec<_> = (0..5).map(|r| col.value(r)).collect();
        assert_eq!(
            texts,
            [
                Some("ConsoleLogin"),
                None,
                None,
                Some("GetObject"),
                Some("ConsoleLogin")
            ]
        );
        let sliced = d.slice(2, 3);
        let col = StrColumn::of(&sliced).expect("a dictionary of strings");
        let texts: Vec<_> = (0..3).map(|r| col.value(r)).collect();
        assert_eq!(texts, [None, Some("GetObject"), Some("ConsoleLogin")]);
    }

    #[test]
    fn resolves_columns_struct_children_and_raw_paths() {
        let ct = SourceKind::CloudTrail;
        assert!(matches!(
            resolve(ct, "eventName"),
            Access::Column {
                ty: ColType::Utf8,
                ..
            }
        ));
        assert!(
            matches!(resolve(ct, "userIdentity.sessionContext.sessionIssuer.arn"), Access::Column { ref path, .. } if path.len() == 4)
        );
        assert!(matches!(
            resolve(
                ct,
                "userIdentity.sessionContext.attributes.mfaAuthenticated"
            ),
            Access::Column {
                ty: ColType::Bool,
                ..
            }
        ));
        assert_eq!(resolve(ct, "eventTime"), Access::Raw("eventTime".into()));
        assert_eq!(
            resolve(ct, "requestParameters.bucketName"),
            Access::Raw("requestParameters.bucketName".into())
        );
        assert_eq!(
            resolve(ct, "userIdentity.webIdFederationData.federatedProvider"),
            Access::Raw("userIdentity.webIdFederationData.federatedProvider".into())
        );
        assert!(matches!(
            resolve(SourceKind::VpcFlow, "dstport"),
            Access::Column {
                ty: ColType::Int,
                ..
            }
        ));
        assert!(matches!(
            resolve(SourceKind::VpcFlow, "start"),
            Access::Column {
                ty: ColType::Seconds,
                ..
            }
        ));
        assert_eq!(
            resolve(SourceKind::VpcFlow, "requestParameters"),
            Access::Absent
        );
        assert!(matches!(
            resolve(SourceKind::K8sAudit, "objectRef.resource"),
            Access::Column { .. }
        ));
        assert!(matches!(
            resolve(SourceKind::K8sAudit, "user.groups"),
            Access::Column {
                ty: ColType::ListUtf8,
                ..
            }
        ));
        assert!(matches!(
            resolve(SourceKind::K8sAudit, "responseStatus.code"),
            Access::Column {
                ty: ColType::Int,
                ..
            }
        ));
    }

    fn all(json: &str, path: &str) -> Vec<Item<'static>> {
        let mut b = json.as_bytes().to_vec();
        let t = simd_json::to_tape(&mut b).unwrap();
        let mut out = Vec::new();
        lookup_all(t.as_value(), path, &mut out);
        out
    }

    #[test]
    fn raw_paths_fan_out_over_arrays_and_keep_objects_as_json() {
        let ev = r#"{"resources":[{"ARN":"a"},{"ARN":"b"}],"rp":{"items":[{"cidrIp":"0.0.0.0/0"}]},"n":403,"f":null,"o":{"k":1}}"#;
        assert_eq!(
            all(ev, "resources.ARN"),
            vec![Item::Str("a".into()), Item::Str("b".into())]
        );
        assert_eq!(all(ev, "resources.1.ARN"), vec![Item::Str("b".into())]);
        assert_eq!(
            all(ev, "rp.items.cidrIp"),
            vec![Item::Str("0.0.0.0/0".into())]
        );
        assert_eq!(all(ev, "n"), vec![Item::Int(403)]);
        assert!(all(ev, "f").is_empty());
        assert_eq!(all(ev, "o"), vec![Item::Json(r#"{"k":1}"#.into())]);
        assert_eq!(
            all(ev, "rp.items"),
            vec![Item::Json(r#"{"cidrIp":"0.0.0.0/0"}"#.into())]
        );
    }
}

//! Falco JSON alerts (`json_output: true`) to Arrow.
//!
//! # Columns (after the [common columns](crate::schema))
//! `rule`, `priority`, `source`, `hostname`, `output`, `tags` (list), `uuid`, and
//! `output_fields`, the alert's `output_fields` object as JSON text. Each output field is
//! addressable by its dotted Falco name under `output_fields` (`output_fields.proc.cmdline`,
//! `output_fields.ka.user.name`): see [`crate::path`].
//!
//! Common columns: `time` is the alert's `time` (else `output_fields.evt.time`, in
//! nanoseconds); `actor_user` is `user.name`, else `ka.user.name`; `src_endpoint_ip` is
//! `fd.cip`; `dst_endpoint_ip` is `fd.sip`; `event_uid` is the alert's `uuid`, else a
//! content hash. An alert is rejected when it has neither time.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, ListBuilder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder, new_null_array,
};
use arrow::datatypes::{DataType, Field};
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::columns::{append_str_list, str_list_builder};
use crate::json::{i64_of, is_ip, str_list_of, str_of};
use crate::schema::{CommonArrays, assemble, content_hash, string_list_type};
use crate::time::parse_micros;
use crate::{Result, SourceKind};

const TOP_STR: [&str; 6] = ["rule", "priority", "source", "hostname", "output", "uuid"];
const I_UUID: usize = 5;

/// The Falco-specific fields, in schema order.
pub fn fields() -> Vec<Field> {
    let mut f: Vec<Field> = TOP_STR
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    f.push(Field::new("tags", string_list_type(), true));
    f.push(Field::new("output_fields", DataType::Utf8, true));
    f
}

/// Whether a JSON object looks like a Falco alert.
pub(crate) fn looks_like(obj: &simd_json::tape::Object<'_, '_>) -> bool {
    let mut rule = false;
    let mut priority = false;
    let mut output = false;
    for k in obj.keys() {
        match k {
            "rule" => rule = true,
            "priority" => priority = true,
            "output" | "output_fields" => output = true,
            _ => {}
        }
    }
    rule && priority && output
}

/// Accumulates Falco alerts into Arrow columns.
pub(crate) struct Builder {
    rows: usize,
    raw_bytes: usize,
    time: TimestampMicrosecondBuilder,
    actor: StringBuilder,
    src_ip: StringBuilder,
    dst_ip: StringBuilder,
    event_uid: StringBuilder,
    raw: StringBuilder,
    top: Vec<StringBuilder>,
    tags: ListBuilder<StringBuilder>,
    output_fields: StringBuilder,
}

impl Builder {
    pub fn new() -> Self {
        Self {
            rows: 0,
            raw_bytes: 0,
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            actor: StringBuilder::new(),
            src_ip: StringBuilder::new(),
            dst_ip: StringBuilder::new(),
            event_uid: StringBuilder::new(),
            raw: StringBuilder::new(),
            top: (0..TOP_STR.len()).map(|_| StringBuilder::new()).collect(),
            tags: str_list_builder(),
            output_fields: StringBuilder::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// Appends one alert; returns the rejection reason.
    pub fn append(
        &mut self,
        alert: Value<'_, '_>,
        raw: &str,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        let Some(obj) = alert.as_object() else {
            return Err("Falco alert is not a JSON object".into());
        };
        let mut top: [Option<Cow<'_, str>>; 6] = Default::default();
        let mut tags = None;
        let mut time = None;
        let mut evt_time = None;
        let (mut user, mut cip, mut sip) = (None, None, None);
        let mut has_fields = false;
        for (k, v) in obj.iter() {
            if let Some(i) = TOP_STR.iter().position(|n| *n == k) {
                top[i] = str_of(v);
                continue;
            }
            match k {
                "time" => time = v.as_str().and_then(parse_micros),
                "tags" => tags = str_list_of(v),
                "output_fields" => {
                    if let Some(f) = v.as_object() {
                        has_fields = true;
                        for (k, v) in f.iter() {
                            match k {
                                "evt.time" => evt_time = i64_of(v).map(|ns| ns / 1000),
                                "user.name" => user = str_of(v),
                                "ka.user.name" if user.is_none() => user = str_of(v),
                                "fd.cip" => cip = str_of(v),
                                "fd.sip" => sip = str_of(v),
                                _ => {}
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let time = time.or(evt_time).or(ctx.fallback_time).ok_or_else(|| {
            "Falco alert has no parsable time (nor output_fields.evt.time)".to_string()
        })?;
        let fields_text = if has_fields {
            crate::scan::object_member_spans(raw.as_bytes()).and_then(|members| {
                members
                    .into_iter()
                    .find(|(k, _)| *k == b"output_fields")
                    .map(|(_, span)| &raw[span])
            })
        } else {
            None
        };
        self.rows += 1;
        self.raw_bytes += raw.len();
        self.time.append_value(time);
        self.actor.append_option(user.as_deref());
        self.src_ip
            .append_option(cip.as_deref().filter(|s| is_ip(s)));
        self.dst_ip
            .append_option(sip.as_deref().filter(|s| is_ip(s)));
        match &top[I_UUID] {
            Some(u) => self.event_uid.append_value(u),
            None => self.event_uid.append_value(content_hash(raw.as_bytes())),
        }
        self.raw.append_value(raw);
        for (b, v) in self.top.iter_mut().zip(&top) {
            b.append_option(v.as_deref());
        }
        append_str_list(&mut self.tags, tags.as_deref());
        self.output_fields.append_option(fields_text);
        Ok(())
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        self.raw_bytes = 0;
        let mut specific: Vec<ArrayRef> = self
            .top
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        specific.push(Arc::new(self.tags.finish()));
        specific.push(Arc::new(self.output_fields.finish()));
        let common = CommonArrays {
            time: Arc::new(self.time.finish()),
            actor_user: Arc::new(self.actor.finish()),
            src_ip: Arc::new(self.src_ip.finish()),
            dst_ip: Arc::new(self.dst_ip.finish()),
            account: new_null_array(&DataType::Utf8, rows),
            region: new_null_array(&DataType::Utf8, rows),
            status: new_null_array(&DataType::Utf8, rows),
            event_uid: Arc::new(self.event_uid.finish()),
            raw: Arc::new(self.raw.finish()),
        };
        assemble(SourceKind::Falco, rows, common, specific)
    }
}

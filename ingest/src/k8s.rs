//! Kubernetes audit events (`audit.k8s.io/v1` and `v1beta1` `Event`) to Arrow.
//!
//! # Columns (after the [common columns](crate::schema))
//! `kind`, `apiVersion`, `level`, `auditID`, `stage`, `requestURI`, `verb`, `userAgent`;
//! `user` and `impersonatedUser` {`username`, `uid`, `groups` (list)}; `sourceIPs` (list);
//! `objectRef` {`resource`, `namespace`, `name`, `uid`, `apiGroup`, `apiVersion`,
//! `resourceVersion`, `subresource`}; `responseStatus` {`status`, `reason`, `message`,
//! `code` (int32)}; `requestReceivedTimestamp` and `stageTimestamp` (timestamps);
//! `has_unknown_keys` (bool): whether the event has a top-level key an audit `Event` does
//! not define ([`is_event_key`]; such keys are in `raw`).
//! `requestObject`, `responseObject` and `annotations` are in `raw` and addressable by
//! dotted path (annotation keys contain dots: `annotations.authorization.k8s.io/decision`
//! resolves, see [`crate::path`]).
//!
//! An event is rejected when none of `requestReceivedTimestamp`, `stageTimestamp`,
//! `timestamp` (v1beta1) or `metadata.creationTimestamp` is a parsable time.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, new_null_array,
};
use arrow::datatypes::{DataType, Field, Fields};
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::columns::{StrStruct, append_str_list, str_fields, str_list_builder};
use crate::json::{i64_of, str_list_of, str_of};
use crate::schema::{
    CommonArrays, assemble, content_hash, status_word, string_list_type, timestamp_type,
};
use crate::time::parse_micros;
use crate::{Result, SourceKind};

const TOP_STR: [&str; 8] = [
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "userAgent",
];
const I_AUDIT_ID: usize = 3;
const I_STAGE: usize = 4;
const USER_STR: [&str; 2] = ["username", "uid"];
const OBJREF_STR: [&str; 8] = [
    "resource",
    "namespace",
    "name",
    "uid",
    "apiGroup",
    "apiVersion",
    "resourceVersion",
    "subresource",
];
const STATUS_STR: [&str; 3] = ["status", "reason", "message"];

/// The top-level keys of an audit `Event` besides [`TOP_STR`]'s (`audit.k8s.io/v1`, and
/// `timestamp` and `metadata` of `v1beta1`): typed columns or kept in `raw`.
const OTHER_EVENT_KEYS: [&str; 12] = [
    "user",
    "impersonatedUser",
    "sourceIPs",
    "objectRef",
    "responseStatus",
    "requestObject",
    "responseObject",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "annotations",
    "timestamp",
    "metadata",
];

/// Whether `key` is a top-level key of an audit `Event`. Whether an event has any other
/// is the [`UNKNOWN_KEYS_COLUMN`](crate::schema::UNKNOWN_KEYS_COLUMN) column, which lets
/// detection know that a field named by another key is absent without reading the
/// event's text.
pub fn is_event_key(key: &str) -> bool {
    TOP_STR.contains(&key) || OTHER_EVENT_KEYS.contains(&key)
}

fn user_fields() -> Fields {
    let mut f: Vec<Field> = str_fields(&USER_STR)
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    f.push(Field::new("groups", string_list_type(), true));
    Fields::from(f)
}

fn status_fields() -> Fields {
    let mut f: Vec<Field> = str_fields(&STATUS_STR)
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    f.push(Field::new("code", DataType::Int32, true));
    Fields::from(f)
}

/// The Kubernetes-audit-specific fields, in schema order.
pub fn fields() -> Vec<Field> {
    let mut f: Vec<Field> = TOP_STR
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    f.push(Field::new("user", DataType::Struct(user_fields()), true));
    f.push(Field::new(
        "impersonatedUser",
        DataType::Struct(user_fields()),
        true,
    ));
    f.push(Field::new("sourceIPs", string_list_type(), true));
    f.push(Field::new(
        "objectRef",
        DataType::Struct(str_fields(&OBJREF_STR)),
        true,
    ));
    f.push(Field::new(
        "responseStatus",
        DataType::Struct(status_fields()),
        true,
    ));
    f.push(Field::new(
        "requestReceivedTimestamp",
        timestamp_type(),
        true,
    ));
    f.push(Field::new("stageTimestamp", timestamp_type(), true));
    f.push(Field::new(
        crate::schema::UNKNOWN_KEYS_COLUMN,
        DataType::Boolean,
        false,
    ));
    f
}

/// Whether a JSON object is a Kubernetes audit `Event`.
/// Some producers drop `apiVersion`; an `Event` with an `auditID` is accepted too.
pub(crate) fn is_event(obj: &simd_json::tape::Object<'_, '_>) -> bool {
    obj.get("kind").and_then(|k| k.into_string()) == Some("Event")
        && (is_audit_api(obj) || obj.get("auditID").is_some())
}

/// Whether a JSON object is a Kubernetes audit `EventList`.
pub(crate) fn is_event_list(obj: &simd_json::tape::Object<'_, '_>) -> bool {
    obj.get("kind").and_then(|k| k.into_string()) == Some("EventList") && is_audit_api(obj)
}

fn is_audit_api(obj: &simd_json::tape::Object<'_, '_>) -> bool {
    obj.get("apiVersion")
        .and_then(|v| v.into_string())
        .is_some_and(|v| v.starts_with("audit.k8s.io/"))
}

#[derive(Default)]
struct User<'i> {
    present: bool,
    strs: [Option<Cow<'i, str>>; 2],
    groups: Option<Vec<Cow<'i, str>>>,
}

fn read_user<'i>(v: Value<'_, 'i>) -> User<'i> {
    let mut u = User::default();
    if let Some(o) = v.as_object() {
        u.present = true;
        for (k, v) in o.iter() {
            match k {
                "username" => u.strs[0] = str_of(v),
                "uid" => u.strs[1] = str_of(v),
                "groups" => u.groups = str_list_of(v),
                _ => {}
            }
        }
    }
    u
}

struct UserCols {
    s: StrStruct,
    groups: ListBuilder<StringBuilder>,
}

impl UserCols {
    fn new() -> Self {
        Self {
            s: StrStruct::new(USER_STR.len()),
            groups: str_list_builder(),
        }
    }
    fn append(&mut self, u: &User<'_>) {
        self.s.append(u.present, &u.strs);
        append_str_list(&mut self.groups, u.groups.as_deref());
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(
            self.s
                .finish(user_fields(), vec![Arc::new(self.groups.finish())]),
        )
    }
}

/// Accumulates Kubernetes audit events into Arrow columns.
pub(crate) struct Builder {
    rows: usize,
    raw_bytes: usize,
    time: TimestampMicrosecondBuilder,
    actor: StringBuilder,
    src_ip: StringBuilder,
    account: StringBuilder,
    status: StringBuilder,
    event_uid: StringBuilder,
    raw: StringBuilder,
    top: Vec<StringBuilder>,
    user: UserCols,
    imp: UserCols,
    source_ips: ListBuilder<StringBuilder>,
    objref: StrStruct,
    status_s: StrStruct,
    code: Int32Builder,
    received: TimestampMicrosecondBuilder,
    stage_ts: TimestampMicrosecondBuilder,
    unknown_keys: BooleanBuilder,
}

fn ts() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

impl Builder {
    pub fn new() -> Self {
        Self {
            rows: 0,
            raw_bytes: 0,
            time: ts(),
            actor: StringBuilder::new(),
            src_ip: StringBuilder::new(),
            account: StringBuilder::new(),
            status: StringBuilder::new(),
            event_uid: StringBuilder::new(),
            raw: StringBuilder::new(),
            top: (0..TOP_STR.len()).map(|_| StringBuilder::new()).collect(),
            user: UserCols::new(),
            imp: UserCols::new(),
            source_ips: str_list_builder(),
            objref: StrStruct::new(OBJREF_STR.len()),
            status_s: StrStruct::new(STATUS_STR.len()),
            code: Int32Builder::new(),
            received: ts(),
            stage_ts: ts(),
            unknown_keys: BooleanBuilder::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// Appends one audit event; returns the rejection reason.
    pub fn append(
        &mut self,
        event: Value<'_, '_>,
        raw: &str,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> std::result::Result<(), String> {
        let Some(obj) = event.as_object() else {
            return Err("Kubernetes audit event is not a JSON object".into());
        };
        let mut top: [Option<Cow<'_, str>>; 8] = Default::default();
        let mut user = User::default();
        let mut imp = User::default();
        let mut ips: Option<Vec<Cow<'_, str>>> = None;
        let mut objref_present = false;
        let mut objref: [Option<Cow<'_, str>>; 8] = Default::default();
        let mut st_present = false;
        let mut st: [Option<Cow<'_, str>>; 3] = Default::default();
        let mut code: Option<i64> = None;
        let (mut received, mut stage_ts, mut legacy_ts, mut created) = (None, None, None, None);
        let mut unknown_keys = false;
        for (k, v) in obj.iter() {
            if let Some(i) = TOP_STR.iter().position(|n| *n == k) {
                top[i] = str_of(v);
                continue;
            }
            match k {
                "user" => user = read_user(v),
                "impersonatedUser" => imp = read_user(v),
                "sourceIPs" => ips = str_list_of(v),
                "objectRef" => {
                    if let Some(o) = v.as_object() {
                        objref_present = true;
                        for (k, v) in o.iter() {
                            if let Some(i) = OBJREF_STR.iter().position(|n| *n == k) {
                                objref[i] = str_of(v);
                            }
                        }
                    }
                }
                "responseStatus" => {
                    if let Some(o) = v.as_object() {
                        st_present = true;
                        for (k, v) in o.iter() {
                            if let Some(i) = STATUS_STR.iter().position(|n| *n == k) {
                                st[i] = str_of(v);
                            } else if k == "code" {
                                code = i64_of(v);
                            }
                        }
                    }
                }
                "requestReceivedTimestamp" => received = v.as_str().and_then(parse_micros),
                "stageTimestamp" => stage_ts = v.as_str().and_then(parse_micros),
                "timestamp" => legacy_ts = v.as_str().and_then(parse_micros),
                "metadata" => {
                    created = v
                        .as_object()
                        .and_then(|m| m.get("creationTimestamp"))
                        .and_then(|t| t.into_string())
                        .and_then(parse_micros)
                }
                _ => unknown_keys |= !is_event_key(k),
            }
        }
        let time = received
            .or(stage_ts)
            .or(legacy_ts)
            .or(created)
            .or(ctx.fallback_time)
            .ok_or_else(|| {
                "Kubernetes audit event has no parsable requestReceivedTimestamp, stageTimestamp or timestamp".to_string()
            })?;
        self.rows += 1;
        self.raw_bytes += raw.len();
        self.time.append_value(time);
        self.actor.append_option(user.strs[0].as_deref());
        self.src_ip
            .append_option(ips.as_ref().and_then(|v| v.first()).map(|s| s.as_ref()));
        self.account.append_option(ctx.default_account);
        self.status
            .append_option(code.map(|c| status_word((0..400).contains(&c))));
        match (&top[I_AUDIT_ID], &top[I_STAGE]) {
            (Some(id), Some(stage)) => self.event_uid.append_value(format!("{id}:{stage}")),
            (Some(id), None) => self.event_uid.append_value(id),
            _ => self.event_uid.append_value(content_hash(raw.as_bytes())),
        }
        self.raw.append_value(raw);
        for (b, v) in self.top.iter_mut().zip(&top) {
            b.append_option(v.as_deref());
        }
        self.user.append(&user);
        self.imp.append(&imp);
        append_str_list(&mut self.source_ips, ips.as_deref());
        self.objref.append(objref_present, &objref);
        self.status_s.append(st_present, &st);
        self.code
            .append_option(code.and_then(|c| i32::try_from(c).ok()));
        self.received.append_option(received);
        self.stage_ts.append_option(stage_ts);
        self.unknown_keys.append_value(unknown_keys);
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
        specific.push(self.user.finish());
        specific.push(self.imp.finish());
        specific.push(Arc::new(self.source_ips.finish()));
        specific.push(Arc::new(
            self.objref.finish(str_fields(&OBJREF_STR), vec![]),
        ));
        specific.push(Arc::new(
            self.status_s
                .finish(status_fields(), vec![Arc::new(self.code.finish())]),
        ));
        specific.push(Arc::new(self.received.finish()));
        specific.push(Arc::new(self.stage_ts.finish()));
        specific.push(Arc::new(self.unknown_keys.finish()));
        let common = CommonArrays {
            time: Arc::new(self.time.finish()),
            actor_user: Arc::new(self.actor.finish()),
            src_ip: Arc::new(self.src_ip.finish()),
            dst_ip: new_null_array(&DataType::Utf8, rows),
            account: Arc::new(self.account.finish()),
            region: new_null_array(&DataType::Utf8, rows),
            status: Arc::new(self.status.finish()),
            event_uid: Arc::new(self.event_uid.finish()),
            raw: Arc::new(self.raw.finish()),
        };
        assemble(SourceKind::K8sAudit, rows, common, specific)
    }
}

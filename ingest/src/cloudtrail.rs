//! AWS CloudTrail events to Arrow.
//!
//! # Columns (after the [common columns](crate::schema))
//! Top-level CloudTrail fields keep their CloudTrail names and get a type:
//! `eventVersion`, `eventTime` (timestamp), `eventSource`, `eventName`, `awsRegion`,
//! `sourceIPAddress`, `userAgent`, `errorCode`, `errorMessage`, `requestID`, `eventID`,
//! `eventType`, `eventCategory`, `apiVersion`, `readOnly` (bool), `managementEvent` (bool),
//! `recipientAccountId`, `sharedEventID`, `vpcEndpointId`, `sessionCredentialFromConsole`,
//! and `userIdentity`, a struct of `type`, `principalId`, `arn`, `accountId`,
//! `accessKeyId`, `userName`, `invokedBy`, `identityProvider` and `sessionContext`
//! (`sourceIdentity`, `attributes` {`creationDate` timestamp, `mfaAuthenticated` bool},
//! `sessionIssuer` {`type`, `principalId`, `arn`, `accountId`, `userName`}).
//!
//! Everything else (`requestParameters`, `responseElements`, `additionalEventData`,
//! `resources`, `tlsDetails`, `serviceEventDetails`, ...) is in `raw`, the verbatim event,
//! and is addressable by dotted path through [`crate::path`].
//!
//! Events shipped through Logstash sometimes lost `eventTime` but carry `@timestamp`; it
//! is used when `eventTime` is absent. A record is rejected (dead-lettered) only when
//! neither is present or the time is unparsable;
//! a typed field holding an unexpected JSON type is left null.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, StructArray, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Fields};
use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::columns::{BoolCol, StrCol, Validity};
use crate::json::{bool_of, is_ip, str_of};
use crate::schema::{CommonArrays, assemble, content_hash, status_word, timestamp_type};
use crate::time::parse_micros;
use crate::{Result, SourceKind};

/// Top-level string columns, in schema order.
const TOP_STR: [&str; 16] = [
    "eventVersion",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "eventCategory",
    "apiVersion",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
];
const I_REGION: usize = 3;
const I_IP: usize = 4;
const I_ERROR_CODE: usize = 6;
const I_EVENT_ID: usize = 9;
const I_RECIPIENT: usize = 13;

/// `userIdentity` string children, in schema order.
const UI_STR: [&str; 8] = [
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "identityProvider",
];
const UI_ARN: usize = 2;
const UI_ACCOUNT: usize = 3;
const UI_PRINCIPAL: usize = 1;
const UI_INVOKED_BY: usize = 6;

/// `userIdentity.sessionContext.sessionIssuer` children.
const ISSUER_STR: [&str; 5] = ["type", "principalId", "arn", "accountId", "userName"];

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn issuer_fields() -> Fields {
    ISSUER_STR.iter().map(|n| utf8(n)).collect()
}

fn attributes_fields() -> Fields {
    Fields::from(vec![
        Field::new("creationDate", timestamp_type(), true),
        Field::new("mfaAuthenticated", DataType::Boolean, true),
    ])
}

fn session_context_fields() -> Fields {
    Fields::from(vec![
        utf8("sourceIdentity"),
        Field::new("attributes", DataType::Struct(attributes_fields()), true),
        Field::new("sessionIssuer", DataType::Struct(issuer_fields()), true),
    ])
}

fn user_identity_fields() -> Fields {
    let mut f: Vec<Field> = UI_STR.iter().map(|n| utf8(n)).collect();
    f.push(Field::new(
        "sessionContext",
        DataType::Struct(session_context_fields()),
        true,
    ));
    Fields::from(f)
}

/// The CloudTrail-specific fields, in schema order.
pub fn fields() -> Vec<Field> {
    let mut f = vec![
        utf8("eventVersion"),
        Field::new("eventTime", timestamp_type(), false),
    ];
    f.extend(TOP_STR[1..].iter().map(|n| utf8(n)));
    f.push(Field::new("readOnly", DataType::Boolean, true));
    f.push(Field::new("managementEvent", DataType::Boolean, true));
    f.push(utf8("sessionCredentialFromConsole"));
    f.push(Field::new(
        "userIdentity",
        DataType::Struct(user_identity_fields()),
        true,
    ));
    f
}

/// The outcome of offering an object to a builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Append {
    /// It was this source's event and is now a row.
    Appended,
    /// It was this source's event but is unusable; the reason.
    Rejected(String),
    /// It is not this source's event; nothing was appended.
    NotThisKind,
}

/// Whether a JSON object looks like a CloudTrail event.
pub(crate) fn looks_like(obj: &simd_json::tape::Object<'_, '_>) -> bool {
    let mut version = false;
    let mut source = false;
    let mut name = false;
    for k in obj.keys() {
        match k {
            "eventVersion" => version = true,
            "eventSource" => source = true,
            "eventName" => name = true,
            _ => {}
        }
    }
    version || (source && name)
}

/// One event's fields, extracted before anything is appended so that a rejected event
/// leaves the builders untouched.
#[derive(Default)]
struct Row<'i> {
    top: [Option<Cow<'i, str>>; 16],
    time: i64,
    read_only: Option<bool>,
    management: Option<bool>,
    from_console: Option<Cow<'i, str>>,
    ui_present: bool,
    ui: [Option<Cow<'i, str>>; 8],
    sc_present: bool,
    source_identity: Option<Cow<'i, str>>,
    attrs_present: bool,
    creation_date: Option<i64>,
    mfa: Option<bool>,
    issuer_present: bool,
    issuer: [Option<Cow<'i, str>>; 5],
}

/// Accumulates CloudTrail events into Arrow columns.
pub(crate) struct Builder {
    rows: usize,
    time: TimestampMicrosecondBuilder,
    actor: StrCol,
    src_ip: StrCol,
    account: StrCol,
    status: StrCol,
    event_uid: StrCol,
    raw: StrCol,
    top: Vec<StrCol>,
    read_only: BoolCol,
    management: BoolCol,
    from_console: StrCol,
    ui_nulls: Validity,
    ui: Vec<StrCol>,
    sc_nulls: Validity,
    source_identity: StrCol,
    attrs_nulls: Validity,
    creation_date: TimestampMicrosecondBuilder,
    mfa: BoolCol,
    issuer_nulls: Validity,
    issuer: Vec<StrCol>,
}

fn ts() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

impl Builder {
    pub fn new() -> Self {
        Self {
            rows: 0,
            time: ts(),
            actor: StrCol::with_capacity(0, 0),
            src_ip: StrCol::with_capacity(0, 0),
            account: StrCol::with_capacity(0, 0),
            status: StrCol::with_capacity(0, 0),
            event_uid: StrCol::with_capacity(0, 0),
            raw: StrCol::with_capacity(0, 0),
            top: (0..TOP_STR.len())
                .map(|_| StrCol::with_capacity(0, 0))
                .collect(),
            read_only: BoolCol::with_capacity(0),
            management: BoolCol::with_capacity(0),
            from_console: StrCol::with_capacity(0, 0),
            ui_nulls: Validity::with_capacity(0),
            ui: (0..UI_STR.len())
                .map(|_| StrCol::with_capacity(0, 0))
                .collect(),
            sc_nulls: Validity::with_capacity(0),
            source_identity: StrCol::with_capacity(0, 0),
            attrs_nulls: Validity::with_capacity(0),
            creation_date: ts(),
            mfa: BoolCol::with_capacity(0),
            issuer_nulls: Validity::with_capacity(0),
            issuer: (0..ISSUER_STR.len())
                .map(|_| StrCol::with_capacity(0, 0))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn raw_bytes(&self) -> usize {
        self.raw.value_bytes()
    }

    /// Appends one event. `raw` is its verbatim text; `ctx` carries envelope defaults.
    /// The same pass over the keys decides whether the object is a CloudTrail event at
    /// all (`eventVersion`, or `eventSource` and `eventName`): if not, nothing is appended
    /// and [`Append::NotThisKind`] is returned.
    pub fn append(
        &mut self,
        event: Value<'_, '_>,
        raw: &str,
        ctx: &crate::decoder::RowCtx<'_>,
    ) -> Append {
        let Some(obj) = event.as_object() else {
            return Append::NotThisKind;
        };
        let mut row = Row::default();
        let mut time_text: Option<Cow<'_, str>> = None;
        let mut logstash_time: Option<Cow<'_, str>> = None;
        for (k, v) in obj.iter() {
            let i = match k {
                "eventVersion" => 0,
                "eventSource" => 1,
                "eventName" => 2,
                "awsRegion" => 3,
                "sourceIPAddress" => 4,
                "userAgent" => 5,
                "errorCode" => 6,
                "errorMessage" => 7,
                "requestID" => 8,
                "eventID" => 9,
                "eventType" => 10,
                "eventCategory" => 11,
                "apiVersion" => 12,
                "recipientAccountId" => 13,
                "sharedEventID" => 14,
                "vpcEndpointId" => 15,
                "eventTime" => {
                    time_text = str_of(v);
                    continue;
                }
                "@timestamp" => {
                    logstash_time = str_of(v);
                    continue;
                }
                "readOnly" => {
                    row.read_only = bool_of(v);
                    continue;
                }
                "managementEvent" => {
                    row.management = bool_of(v);
                    continue;
                }
                "sessionCredentialFromConsole" => {
                    row.from_console = str_of(v);
                    continue;
                }
                "userIdentity" => {
                    read_user_identity(v, &mut row);
                    continue;
                }
                _ => continue,
            };
            debug_assert_eq!(TOP_STR[i], k);
            row.top[i] = str_of(v);
        }
        let is_cloudtrail = row.top[0].is_some() || (row.top[1].is_some() && row.top[2].is_some());
        if !is_cloudtrail {
            return Append::NotThisKind;
        }
        row.time = match time_text.or(logstash_time) {
            Some(t) => match parse_micros(&t) {
                Some(us) => us,
                None => {
                    return Append::Rejected(format!(
                        "unparsable eventTime {t:?} (expected RFC 3339)"
                    ));
                }
            },
            None => match ctx.fallback_time {
                Some(us) => us,
                None => return Append::Rejected("CloudTrail event has no eventTime".to_string()),
            },
        };
        self.push(row, raw, ctx);
        Append::Appended
    }

    fn push(&mut self, row: Row<'_>, raw: &str, ctx: &crate::decoder::RowCtx<'_>) {
        self.rows += 1;
        self.time.append_value(row.time);
        let actor = row.ui[UI_ARN]
            .as_deref()
            .or(row.ui[UI_PRINCIPAL].as_deref())
            .or(row.ui[UI_INVOKED_BY].as_deref());
        self.actor.push_option(actor);
        self.src_ip
            .push_option(row.top[I_IP].as_deref().filter(|ip| is_ip(ip)));
        let account = row.top[I_RECIPIENT]
            .as_deref()
            .or(row.ui[UI_ACCOUNT].as_deref())
            .or(ctx.default_account);
        self.account.push_option(account);
        self.status
            .push(status_word(row.top[I_ERROR_CODE].is_none()));
        match row.top[I_EVENT_ID].as_deref() {
            Some(id) => self.event_uid.push(id),
            None => self.event_uid.push(&content_hash(raw.as_bytes())),
        }
        self.raw.push(raw);
        for (b, v) in self.top.iter_mut().zip(&row.top) {
            b.push_option(v.as_deref());
        }
        self.read_only.push_option(row.read_only);
        self.management.push_option(row.management);
        self.from_console.push_option(row.from_console.as_deref());
        self.ui_nulls.push(row.ui_present);
        for (b, v) in self.ui.iter_mut().zip(&row.ui) {
            b.push_option(v.as_deref());
        }
        self.sc_nulls.push(row.sc_present);
        self.source_identity
            .push_option(row.source_identity.as_deref());
        self.attrs_nulls.push(row.attrs_present);
        self.creation_date.append_option(row.creation_date);
        self.mfa.push_option(row.mfa);
        self.issuer_nulls.push(row.issuer_present);
        for (b, v) in self.issuer.iter_mut().zip(&row.issuer) {
            b.push_option(v.as_deref());
        }
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self) -> Result<arrow::array::RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        let strs = |cols: &mut [StrCol]| -> Result<Vec<ArrayRef>> {
            cols.iter_mut()
                .map(|c| {
                    c.take(SourceKind::CloudTrail)
                        .map(|a| Arc::new(a) as ArrayRef)
                })
                .collect()
        };
        let raw = self.raw.take(SourceKind::CloudTrail)?;
        let top = strs(&mut self.top)?;
        let region = top[I_REGION].clone();
        let issuer = StructArray::new(
            issuer_fields(),
            strs(&mut self.issuer)?,
            self.issuer_nulls.take(rows),
        );
        let attrs = StructArray::new(
            attributes_fields(),
            vec![
                Arc::new(self.creation_date.finish()),
                Arc::new(self.mfa.take()),
            ],
            self.attrs_nulls.take(rows),
        );
        let sc = StructArray::new(
            session_context_fields(),
            vec![
                Arc::new(self.source_identity.take(SourceKind::CloudTrail)?),
                Arc::new(attrs),
                Arc::new(issuer),
            ],
            self.sc_nulls.take(rows),
        );
        let mut ui_children = strs(&mut self.ui)?;
        ui_children.push(Arc::new(sc));
        let ui = StructArray::new(
            user_identity_fields(),
            ui_children,
            self.ui_nulls.take(rows),
        );
        let time: ArrayRef = Arc::new(self.time.finish());
        let mut specific: Vec<ArrayRef> = Vec::with_capacity(22);
        specific.push(top[0].clone());
        specific.push(time.clone());
        specific.extend(top[1..].iter().cloned());
        specific.push(Arc::new(self.read_only.take()));
        specific.push(Arc::new(self.management.take()));
        specific.push(Arc::new(self.from_console.take(SourceKind::CloudTrail)?));
        specific.push(Arc::new(ui));
        let common = CommonArrays {
            time,
            actor_user: Arc::new(self.actor.take(SourceKind::CloudTrail)?),
            src_ip: Arc::new(self.src_ip.take(SourceKind::CloudTrail)?),
            dst_ip: arrow::array::new_null_array(&DataType::Utf8, rows),
            account: Arc::new(self.account.take(SourceKind::CloudTrail)?),
            region,
            status: Arc::new(self.status.take(SourceKind::CloudTrail)?),
            event_uid: Arc::new(self.event_uid.take(SourceKind::CloudTrail)?),
            raw: Arc::new(raw),
        };
        assemble(SourceKind::CloudTrail, rows, common, specific)
    }
}

fn read_user_identity<'i>(v: Value<'_, 'i>, row: &mut Row<'i>) {
    let Some(obj) = v.as_object() else {
        return;
    };
    row.ui_present = true;
    for (k, v) in obj.iter() {
        if let Some(i) = UI_STR.iter().position(|n| *n == k) {
            row.ui[i] = str_of(v);
        } else if k == "sessionContext"
            && let Some(sc) = v.as_object()
        {
            row.sc_present = true;
            for (k, v) in sc.iter() {
                match k {
                    "sourceIdentity" => row.source_identity = str_of(v),
                    "attributes" => {
                        if let Some(a) = v.as_object() {
                            row.attrs_present = true;
                            row.creation_date = a
                                .get("creationDate")
                                .and_then(|d| d.into_string())
                                .and_then(parse_micros);
                            row.mfa = a.get("mfaAuthenticated").and_then(bool_of);
                        }
                    }
                    "sessionIssuer" => {
                        if let Some(si) = v.as_object() {
                            row.issuer_present = true;
                            for (k, v) in si.iter() {
                                if let Some(i) = ISSUER_STR.iter().position(|n| *n == k) {
                                    row.issuer[i] = str_of(v);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

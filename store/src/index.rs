//! The full-text index of a sealed segment (tantivy): the fields analysts search —
//! principals, IP addresses, event names, user agents, error messages, rule titles — and
//! the verbatim event text, with the event time for ordering and ranges.
//!
//! Query syntax is tantivy's: terms, `"phrases"`, `field:value`, `AND`/`OR`/`NOT`,
//! parentheses; words are case-insensitive. Searchable fields (all tables): `raw` (default), `table`, `actor`,
//! `src_ip`, `dst_ip`, `account`, `region`; CloudTrail: `eventName`, `eventSource`,
//! `userAgent`, `errorCode`, `errorMessage`, `sourceIPAddress`, `arn`, `accessKeyId`,
//! `userName`; VPC flow: `srcaddr`, `dstaddr`, `srcport`, `dstport`, `action`,
//! `interface`; Kubernetes: `verb`, `user`, `resource`, `namespace`, `name`,
//! `requestURI`; Falco: `rule`, `priority`, `output`, `hostname`; findings: `rule_title`,
//! `rule_id`, `level`, `tags`, `finding_source`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ListArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer};

use crate::tokenizer::LogTokenizer;
use tantivy::{Index, TantivyDocument};

use crate::Result;

/// Search fields: (index field, column path in the table's schema).
const COMMON: &[(&str, &str)] = &[
    ("raw", "raw"),
    ("actor", "actor_user"),
    ("src_ip", "src_endpoint_ip"),
    ("dst_ip", "dst_endpoint_ip"),
    ("account", "cloud_account_uid"),
    ("region", "cloud_region"),
];

fn table_fields(table: &str) -> &'static [(&'static str, &'static str)] {
    match table {
        "cloudtrail" => &[
            ("eventName", "eventName"),
            ("eventSource", "eventSource"),
            ("userAgent", "userAgent"),
            ("errorCode", "errorCode"),
            ("errorMessage", "errorMessage"),
            ("sourceIPAddress", "sourceIPAddress"),
            ("arn", "userIdentity.arn"),
            ("accessKeyId", "userIdentity.accessKeyId"),
            ("userName", "userIdentity.userName"),
        ],
        "vpcflow" => &[
            ("srcaddr", "srcaddr"),
            ("dstaddr", "dstaddr"),
            ("srcport", "srcport"),
            ("dstport", "dstport"),
            ("action", "action"),
            ("interface", "interface-id"),
        ],
        "k8s_audit" => &[
            ("verb", "verb"),
            ("user", "user.username"),
            ("resource", "objectRef.resource"),
            ("namespace", "objectRef.namespace"),
            ("name", "objectRef.name"),
            ("requestURI", "requestURI"),
        ],
        "falco" => &[
            ("rule", "rule"),
            ("priority", "priority"),
            ("output", "output"),
            ("hostname", "hostname"),
        ],
        "findings" => &[
            ("rule_title", "rule_title"),
            ("rule_id", "rule_id"),
            ("level", "level"),
            ("tags", "tags"),
            ("finding_source", "source"),
        ],
        _ => &[],
    }
}

/// Fields matched as whole values (case-insensitive): identifiers, addresses, names,
/// codes. `eventName:getobject` and `sourceIPAddress:"203.0.113.7"` match exactly; the
/// others are tokenized into words, with positions for phrases.
const KEYWORD: &[&str] = &[
    "src_ip",
    "dst_ip",
    "account",
    "region",
    "eventName",
    "eventSource",
    "errorCode",
    "sourceIPAddress",
    "accessKeyId",
    "userName",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "action",
    "interface",
    "verb",
    "resource",
    "namespace",
    "name",
    "priority",
    "hostname",
    "rule_id",
    "level",
    "tags",
    "finding_source",
];

/// JSON key names that are structure, not content: not indexed as words of the raw text
/// (they repeat in every event and would make up a third of the index). Key names that
/// mean something to an analyst (`hostPath`, `privileged`, `securityContext`...) stay
/// searchable.
const STRUCTURAL_KEYS: &[&str] = &[
    "acceptedmediatypes",
    "accesskeyid",
    "accountid",
    "additionaleventdata",
    "agentname",
    "agentstatus",
    "agentversion",
    "allavailabilityzones",
    "amilaunchindex",
    "apigroup",
    "apiversion",
    "assumedroleid",
    "assumedroleuser",
    "attributekey",
    "attributevalue",
    "auditid",
    "availabilityzone",
    "availabilityzoneid",
    "availabilityzoneidset",
    "availabilityzoneset",
    "awsregion",
    "blockdevicemapping",
    "blockownerdeletion",
    "bucketname",
    "bytestransferredin",
    "bytestransferredout",
    "ciphersuite",
    "clientprovidedhostheader",
    "clienttoken",
    "creationdate",
    "creationtimestamp",
    "currentstate",
    "durationseconds",
    "ec2roledelivery",
    "encryptionalgorithm",
    "encryptioncontext",
    "endtime",
    "errorcode",
    "errormessage",
    "eventcategory",
    "eventid",
    "eventname",
    "eventsource",
    "eventtime",
    "eventtype",
    "eventversion",
    "executablebyset",
    "filterset",
    "generatename",
    "groupid",
    "groupset",
    "imageid",
    "imagesset",
    "includeallinstances",
    "includedeprecated",
    "includedisabled",
    "includeshadowtrails",
    "instanceid",
    "instancesset",
    "instancetype",
    "invokedby",
    "ipaddress",
    "keyspec",
    "launchtime",
    "layerdigest",
    "loggroupname",
    "logstreamname",
    "lookupattributes",
    "managementevent",
    "maxrecords",
    "maxresults",
    "metricdataqueries",
    "metricname",
    "metricstat",
    "mfaauthenticated",
    "networkinterfaceid",
    "networkinterfaceidset",
    "networkinterfaceset",
    "objectref",
    "ownerid",
    "ownersset",
    "platformname",
    "platformtype",
    "platformversion",
    "previousstate",
    "principalid",
    "privatednsname",
    "privateipaddress",
    "privateipaddressesset",
    "readonly",
    "recipientaccountid",
    "registryid",
    "repositoryname",
    "requestid",
    "requestobject",
    "requestparameters",
    "requestreceivedtimestamp",
    "requesturi",
    "resourceid",
    "resourcesset",
    "resourceversion",
    "responseelements",
    "responseobject",
    "responsestatus",
    "returndata",
    "rolearn",
    "rolesessionname",
    "sessioncontext",
    "sessioncredentialfromconsole",
    "sessionissuer",
    "sessiontoken",
    "sharedeventid",
    "sourceipaddress",
    "sourceips",
    "stagetimestamp",
    "starttime",
    "subnetid",
    "tlsdetails",
    "tlsversion",
    "useragent",
    "useridentity",
    "username",
    "valueset",
    "vpcendpointid",
    "vpcendpointaccountid",
    "webidfederationdata",
    "withdecryption",
];

/// Registers the analyzers the index's fields name. Must be called on every opened index
/// (tantivy does not persist analyzers).
fn register_tokenizers(index: &Index) {
    let raw = TextAnalyzer::builder(LogTokenizer::with_stop_words(STRUCTURAL_KEYS)).build();
    let words = TextAnalyzer::builder(LogTokenizer::default()).build();
    let keyword = TextAnalyzer::builder(RawTokenizer::default())
        .filter(RemoveLongFilter::limit(1024))
        .filter(LowerCaser)
        .build();
    index.tokenizers().register("vigil_raw", raw);
    index.tokenizers().register("vigil_words", words);
    index.tokenizers().register("vigil_keyword", keyword);
}

fn field_options(name: &str) -> TextOptions {
    let indexing = if name == "raw" {
        TextFieldIndexing::default()
            .set_tokenizer("vigil_raw")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
    } else if KEYWORD.contains(&name) {
        TextFieldIndexing::default()
            .set_tokenizer("vigil_keyword")
            .set_index_option(IndexRecordOption::Basic)
    } else {
        TextFieldIndexing::default()
            .set_tokenizer("vigil_words")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
    };
    // Hits are ordered by time, not relevance: no norms needed.
    TextOptions::default().set_indexing_options(indexing.set_fieldnorms(false))
}

/// Every text field name, for the query parser.
pub fn text_field_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMON.iter().map(|(f, _)| *f).collect();
    for t in crate::tables::TABLES {
        for (f, _) in table_fields(t) {
            if !v.contains(f) {
                v.push(f);
            }
        }
    }
    v
}

/// Whether a file in an index directory is a lock or temporary file of tantivy's (not part
/// of the sealed index, not hashed).
pub fn is_transient(name: &str) -> bool {
    name.starts_with(".tantivy-") || name.ends_with(".lock")
}

/// The index schema.
pub fn index_schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field("table", STRING | STORED);
    // Stored to name the hit; not searched, so not indexed (a unique term per row).
    b.add_text_field("uid", STORED);
    b.add_i64_field("time", INDEXED | FAST);
    for f in text_field_names() {
        b.add_text_field(f, field_options(f));
    }
    b.build()
}

fn column_at(batch: &RecordBatch, path: &str) -> Option<ArrayRef> {
    let mut segs = path.split('.');
    let mut arr = batch.column_by_name(segs.next()?)?.clone();
    for s in segs {
        let st = arr.as_any().downcast_ref::<StructArray>()?;
        arr = st.column_by_name(s)?.clone();
    }
    Some(arr)
}

/// A searched column of a batch, as strings (numbers cast once per batch).
enum TextColumn {
    Str(StringArray),
    List(ListArray),
}

impl TextColumn {
    fn of(arr: &ArrayRef) -> Result<Option<Self>> {
        use arrow::datatypes::DataType;
        Ok(match arr.data_type() {
            DataType::Utf8 => arr
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .map(Self::Str),
            DataType::Int32 | DataType::Int64 => {
                let s = arrow::compute::cast(arr, &DataType::Utf8)?;
                s.as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .map(Self::Str)
            }
            DataType::List(f) if f.data_type() == &DataType::Utf8 => arr
                .as_any()
                .downcast_ref::<ListArray>()
                .cloned()
                .map(Self::List),
            _ => None,
        })
    }

    /// Calls `f` with each text of row `row`.
    fn each<'a>(&'a self, row: usize, mut f: impl FnMut(&'a str)) {
        match self {
            Self::Str(s) => {
                if s.is_valid(row) {
                    f(s.value(row));
                }
            }
            Self::List(l) => {
                if l.is_valid(row) {
                    let (start, end) = (l.value_offsets()[row], l.value_offsets()[row + 1]);
                    if let Some(v) = l.values().as_any().downcast_ref::<StringArray>() {
                        for i in start as usize..end as usize {
                            if v.is_valid(i) {
                                f(v.value(i));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The searched columns of one batch, shared by its rows' documents.
struct BatchText {
    table: String,
    table_field: Field,
    uid_field: Field,
    time_field: Field,
    ids: StringArray,
    times: Option<TimestampMicrosecondArray>,
    columns: Vec<(Field, TextColumn)>,
}

/// A row of a batch as a tantivy document that borrows its texts from the Arrow arrays.
///
/// Documents wait in tantivy's indexing queue as (batch, row) pairs, not as copies of
/// their text, and are turned into tantivy's own document on its indexing thread with a
/// single copy of each text (tantivy 0.27 indexes `TantivyDocument`s only).
struct RowDoc {
    rows: Arc<BatchText>,
    row: usize,
}

/// A value of a [`RowDoc`] field.
#[derive(Debug, Clone)]
enum RowValue<'a> {
    Str(&'a str),
    I64(i64),
}

impl<'a> tantivy::schema::document::Value<'a> for RowValue<'a> {
    type ArrayIter = std::iter::Empty<Self>;
    type ObjectIter = std::iter::Empty<(&'a str, Self)>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        match self {
            Self::Str(s) => ReferenceValue::Leaf(ReferenceValueLeaf::Str(s)),
            Self::I64(i) => ReferenceValue::Leaf(ReferenceValueLeaf::I64(*i)),
        }
    }
}

impl RowDoc {
    fn each_value<'a>(&'a self, mut f: impl FnMut(Field, RowValue<'a>)) {
        let b = &*self.rows;
        let r = self.row;
        f(b.table_field, RowValue::Str(&b.table));
        f(b.uid_field, RowValue::Str(b.ids.value(r)));
        if let Some(t) = &b.times
            && t.is_valid(r)
        {
            f(b.time_field, RowValue::I64(t.value(r)));
        }
        for (field, col) in &b.columns {
            col.each(r, |s| f(*field, RowValue::Str(s)));
        }
    }
}

impl tantivy::schema::document::Document for RowDoc {
    type Value<'a> = RowValue<'a>;
    type FieldsValuesIter<'a> = std::vec::IntoIter<(Field, RowValue<'a>)>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        let mut v = Vec::new();
        self.each_value(|f, x| v.push((f, x)));
        v.into_iter()
    }

    fn into_tantivy_document(self) -> TantivyDocument {
        let mut bytes = 0;
        self.each_value(|_, v| {
            if let RowValue::Str(s) = v {
                bytes += s.len() + 8;
            }
        });
        let mut doc = TantivyDocument::with_capacity(bytes);
        self.each_value(|f, v| match v {
            RowValue::Str(s) => doc.add_text(f, s),
            RowValue::I64(i) => doc.add_i64(f, i),
        });
        doc
    }
}

/// Documents handed to tantivy per call (one channel message each).
const DOCS_PER_SEND: usize = 1024;

/// Builds the index of a segment in `dir` (created), from its rows per table.
pub fn build(dir: &Path, tables: &BTreeMap<String, Vec<RecordBatch>>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(crate::error::io("cannot create", dir))?;
    let index = Index::create_in_dir(dir, index_schema())?;
    register_tokenizers(&index);
    fill(&index, tables)
}

/// Builds an in-memory index (for the open segment, which has none on disk).
pub fn build_in_ram(tables: &BTreeMap<String, Vec<RecordBatch>>) -> Result<Index> {
    let index = Index::create_in_ram(index_schema());
    register_tokenizers(&index);
    fill(&index, tables)?;
    Ok(index)
}

fn fill(index: &Index, tables: &BTreeMap<String, Vec<RecordBatch>>) -> Result<()> {
    use tantivy::indexer::UserOperation;
    let schema = index.schema();
    let mut writer = index.writer_with_num_threads::<RowDoc>(1, 256 << 20)?;
    let f = |n: &str| -> Field { schema.get_field(n).expect("field in the index schema") };
    let (table_field, uid_field, time_field) = (f("table"), f("uid"), f("time"));
    for (table, batches) in tables {
        let mut fields: Vec<(Field, &str)> = COMMON.iter().map(|(i, c)| (f(i), *c)).collect();
        fields.extend(table_fields(table).iter().map(|(i, c)| (f(i), *c)));
        for b in batches {
            let mut columns = Vec::with_capacity(fields.len());
            for (field, path) in &fields {
                if let Some(col) = column_at(b, path)
                    && let Some(text) = TextColumn::of(&col)?
                {
                    columns.push((*field, text));
                }
            }
            let rows = Arc::new(BatchText {
                table: table.clone(),
                table_field,
                uid_field,
                time_field,
                ids: crate::segment::ids(table, b)?,
                times: b
                    .column_by_name("time")
                    .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
                    .cloned(),
                columns,
            });
            let mut start = 0;
            while start < b.num_rows() {
                let end = (start + DOCS_PER_SEND).min(b.num_rows());
                writer.run((start..end).map(|row| {
                    UserOperation::Add(RowDoc {
                        rows: Arc::clone(&rows),
                        row,
                    })
                }))?;
                start = end;
            }
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The table.
    pub table: String,
    /// The row's id (`event_uid` or `finding_id`).
    pub uid: String,
    /// Event time (µs).
    pub time_us: Option<i64>,
    /// The sealed segment holding the row (empty for the open segment).
    pub segment: String,
}

/// Opens the index of a sealed segment.
pub fn open(dir: &Path) -> Result<Index> {
    let index = Index::open_in_dir(dir)?;
    register_tokenizers(&index);
    Ok(index)
}

/// A reader of a sealed (immutable) index: reloaded never, so it watches no files.
pub fn reader(index: &Index) -> Result<tantivy::IndexReader> {
    Ok(index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()?)
}

/// Searches one segment's index through `reader` (one of `index`): newest first, at most `limit` hits, optionally only
/// `table` and times `>= since_us`.
pub fn search(
    index: &Index,
    reader: &tantivy::IndexReader,
    query: &str,
    table: Option<&str>,
    since_us: Option<i64>,
    limit: usize,
) -> Result<Vec<Hit>> {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Order, Term};
    let schema = index.schema();
    let searcher = reader.searcher();
    let defaults: Vec<Field> = ["raw"]
        .iter()
        .filter_map(|n| schema.get_field(n).ok())
        .collect();
    let mut parser = QueryParser::for_index(index, defaults);
    parser.set_conjunction_by_default();
    let parsed = parser
        .parse_query(query)
        .map_err(|e| crate::StoreError::Query(format!("search query {query:?}: {e}")))?;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, parsed)];
    if let Some(t) = table {
        let tf = schema.get_field("table")?;
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(tf, t),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if let Some(s) = since_us {
        let tf = schema.get_field("time")?;
        clauses.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_i64(tf, s)),
                std::ops::Bound::Unbounded,
            )),
        ));
    }
    let q = BooleanQuery::new(clauses);
    let top = searcher.search(
        &q,
        &TopDocs::with_limit(limit).order_by_fast_field::<i64>("time", Order::Desc),
    )?;
    let (table_f, uid_f) = (schema.get_field("table")?, schema.get_field("uid")?);
    let mut out = Vec::new();
    for (time, addr) in top {
        let doc: TantivyDocument = searcher.doc(addr)?;
        out.push(Hit {
            table: doc
                .get_first(table_f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            uid: doc
                .get_first(uid_f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            time_us: time,
            segment: String::new(),
        });
    }
    Ok(out)
}

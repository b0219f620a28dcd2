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

use arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
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

fn texts(arr: &ArrayRef, row: usize, out: &mut Vec<String>) {
    if arr.is_null(row) {
        return;
    }
    if let Some(s) = arr.as_any().downcast_ref::<StringArray>() {
        out.push(s.value(row).to_string());
    } else if let Some(i) = arr.as_any().downcast_ref::<Int32Array>() {
        out.push(i.value(row).to_string());
    } else if let Some(i) = arr.as_any().downcast_ref::<Int64Array>() {
        out.push(i.value(row).to_string());
    } else if let Some(l) = arr.as_any().downcast_ref::<ListArray>() {
        let v = l.value(row);
        if let Some(s) = v.as_any().downcast_ref::<StringArray>() {
            out.extend(s.iter().flatten().map(str::to_string));
        }
    }
}

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
    let schema = index.schema();
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 256 << 20)?;
    let f = |n: &str| -> Field { schema.get_field(n).expect("field in the index schema") };
    let (table_f, uid_f, time_f) = (f("table"), f("uid"), f("time"));
    for (table, batches) in tables {
        let mut fields: Vec<(Field, &str)> = COMMON.iter().map(|(i, c)| (f(i), *c)).collect();
        fields.extend(table_fields(table).iter().map(|(i, c)| (f(i), *c)));
        for b in batches {
            let cols: Vec<(Field, Option<ArrayRef>)> = fields
                .iter()
                .map(|(fi, c)| (*fi, column_at(b, c)))
                .collect();
            let ids = crate::segment::ids(table, b)?;
            let times = b
                .column_by_name("time")
                .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
                .cloned();
            let mut buf = Vec::new();
            for r in 0..b.num_rows() {
                let mut doc = TantivyDocument::default();
                doc.add_text(table_f, table);
                doc.add_text(uid_f, ids.value(r));
                if let Some(t) = &times
                    && t.is_valid(r)
                {
                    doc.add_i64(time_f, t.value(r));
                }
                for (fi, col) in &cols {
                    if let Some(col) = col {
                        buf.clear();
                        texts(col, r, &mut buf);
                        for v in &buf {
                            doc.add_text(*fi, v);
                        }
                    }
                }
                writer.add_document(doc)?;
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

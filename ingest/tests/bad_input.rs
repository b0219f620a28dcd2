//! Bad input never panics and never vanishes: every malformed record is dead-lettered
//! with its source, line, offset and reason, and the rest of the input continues.

mod common;

use std::io::Write;

use common::*;
use proptest::prelude::*;
use vigil_ingest::{DecoderConfig, Format, SourceKind};

const CT: &str = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e1"}"#;
const FLOW: &str =
    "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK";

#[test]
fn each_kind_of_malformed_record_is_rejected_with_its_reason() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com""#,
            "invalid JSON",
        ),
        (
            r#"{"eventVersion":"1.08","eventTime":"last tuesday","eventSource":"s3.amazonaws.com","eventName":"X"}"#,
            "unparsable eventTime",
        ),
        (
            "2 123456789012 eni-1 10.0.0.1 10.0.0.2 https 49152 6 10 840 1700000000 1700000060 ACCEPT OK",
            "srcport (position 6) is \"https\", not a number",
        ),
        (
            "2 123456789012 eni-1 10.0.0.1 10.0.0.2 70000 49152 6 10 840 1700000000 1700000060 ACCEPT OK",
            "outside the port range",
        ),
        (
            "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 ACCEPT OK",
            "record has 13 fields but the default v2 format has 14",
        ),
        (r#"{"hello":"world"}"#, "unrecognized JSON object"),
        ("GET /index.html HTTP/1.1", "unrecognized record"),
        (
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","verb":"get"}"#,
            "no parsable requestReceivedTimestamp",
        ),
        (
            r#"{"rule":"r","priority":"Warning","output":"o"}"#,
            "Falco alert has no parsable time",
        ),
    ];
    let mut input = String::new();
    for (bad, _) in cases {
        input.push_str(CT);
        input.push('\n');
        input.push_str(bad);
        input.push('\n');
        input.push_str(FLOW);
        input.push('\n');
    }
    let (c, stats) = decode(input.as_bytes());
    assert_eq!(
        stats.events[SourceKind::CloudTrail.index()],
        cases.len() as u64
    );
    assert_eq!(
        stats.events[SourceKind::VpcFlow.index()],
        cases.len() as u64
    );
    assert_eq!(c.dead.len(), cases.len());
    for (i, ((bad, why), d)) in cases.iter().zip(&c.dead).enumerate() {
        assert!(
            d.reason.contains(why),
            "case {i}: reason {:?} lacks {why:?}",
            d.reason
        );
        assert_eq!(d.line, (3 * i + 2) as u64, "case {i}");
        assert_eq!(d.record, *bad);
        assert_eq!(d.source, "test");
        assert_eq!(
            &input.as_bytes()[d.offset as usize..d.offset as usize + bad.len()],
            bad.as_bytes()
        );
    }
}

#[test]
fn truncated_gzip_keeps_what_was_decoded_and_reports_the_loss() {
    let mut ndjson = String::new();
    for i in 0..2000 {
        ndjson.push_str(&CT.replace("\"e1\"", &format!("\"e{i}\"")));
        ndjson.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(ndjson.as_bytes()).unwrap();
    let full = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json.gz");
    std::fs::write(&path, &full[..full.len() * 2 / 3]).unwrap();
    let (c, stats) = decode_file(&path, &DecoderConfig::default());
    let got = stats.events[SourceKind::CloudTrail.index()];
    assert!(got > 0 && got < 2000, "decoded {got}");
    assert!(
        c.dead
            .iter()
            .any(|d| d.reason.contains("truncated or corrupt")),
        "{:?}",
        c.dead
    );
    // The partial last record is reported as well, not silently dropped.
    assert!(stats.rejected >= 1);
    assert!(c.flushes.last().unwrap().checkpoint.complete);
}

#[test]
fn forced_format_rejects_other_sources() {
    let input = format!("{CT}\n{FLOW}\n");
    let cfg = DecoderConfig {
        format: Format::Only(SourceKind::CloudTrail),
        ..DecoderConfig::default()
    };
    let (c, stats) = decode_with(input.as_bytes(), &cfg);
    assert_eq!((stats.total_events(), stats.rejected), (1, 1));
    assert!(
        c.dead[0].reason.contains("--format is cloudtrail"),
        "{}",
        c.dead[0].reason
    );
}

#[test]
fn unterminated_document_and_oversized_records() {
    let (c, stats) =
        decode(b"[\n  {\"eventVersion\":\"1.08\",\n   \"eventTime\":\"2024-05-01T00:00:00Z\"");
    assert_eq!(stats.total_events(), 0);
    assert!(
        c.dead
            .iter()
            .any(|d| d.reason.contains("input ends inside")),
        "{:?}",
        c.dead
    );

    let big = format!(
        "{{\"Records\":[{CT},{{\"eventVersion\":\"1.08\",\"pad\":\"{}\"}},{CT}]}}",
        "x".repeat(5000)
    );
    let cfg = DecoderConfig {
        max_record_bytes: 2048,
        read_chunk: 512,
        ..DecoderConfig::default()
    };
    let (c, stats) = decode_with(big.as_bytes(), &cfg);
    assert_eq!(stats.events[SourceKind::CloudTrail.index()], 2);
    assert_eq!(stats.rejected, 1);
    assert!(
        c.dead[0]
            .reason
            .contains("larger than the maximum record size")
            && c.dead[0].truncated
    );
}

#[test]
fn envelopes_unwrap_to_their_events() {
    let eb = format!(
        r#"{{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","time":"2024-05-01T00:00:00Z","region":"us-east-1","detail":{CT}}}"#
    );
    let lookup = format!(
        r#"{{"Events":[{{"EventId":"e1","EventName":"GetObject","CloudTrailEvent":{}}}],"NextToken":"x"}}"#,
        serde_json::Value::String(CT.into())
    );
    let k8s_list = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","requestReceivedTimestamp":"2024-05-01T00:00:00.000001Z","user":{"username":"alice"}},{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","verb":"list","requestReceivedTimestamp":"2024-05-01T00:00:01Z"}]}"#;
    let cwl_k8s = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/aws/eks/prod/cluster","logStream":"kube-apiserver-audit-1","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1714521600000,"message":{}}}]}}"#,
        serde_json::Value::String(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"c","stage":"ResponseComplete","verb":"create","requestReceivedTimestamp":"2024-05-01T00:00:00Z","user":{"username":"bob"}}"#.into())
    );
    let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
    let input = format!("{eb}\n{lookup}\n{k8s_list}\n{cwl_k8s}\n{control}\n");
    let (c, stats) = decode(input.as_bytes());
    assert_eq!(stats.rejected, 0, "{:?}", c.dead);
    assert_eq!(stats.events[SourceKind::CloudTrail.index()], 2);
    assert_eq!(stats.events[SourceKind::K8sAudit.index()], 3);
    assert_eq!(stats.control_messages, 1);
    // The raw of an enveloped event is the event itself, not the envelope.
    assert!(
        c.strings(SourceKind::CloudTrail, "raw")
            .iter()
            .all(|r| r.as_deref() == Some(CT))
    );
    let accounts = c.strings(SourceKind::K8sAudit, "cloud_account_uid");
    assert_eq!(accounts.last().unwrap().as_deref(), Some("111122223333"));
    assert_eq!(
        c.strings(SourceKind::K8sAudit, "event_uid")[0].as_deref(),
        Some("a:ResponseComplete")
    );
}

#[test]
fn pretty_printed_documents_and_mixed_lines() {
    let pretty = format!(
        "{{\n  \"Records\": [\n    {},\n    {}\n  ]\n}}\n{FLOW}\n[{CT}]\n",
        CT, CT
    );
    let (c, stats) = decode(pretty.as_bytes());
    assert_eq!(stats.rejected, 0, "{:?}", c.dead);
    assert_eq!(stats.events[SourceKind::CloudTrail.index()], 3);
    assert_eq!(stats.events[SourceKind::VpcFlow.index()], 1);
}

#[test]
fn memory_stays_bounded_on_a_long_stream() {
    // A 20k-event Records object read in 4 KiB chunks, on one line (parsed whole) and
    // pretty-printed (streamed element by element): batches are cut at batch_rows and
    // checkpoints advance to the end of the input.
    for sep in [",", ",\n  "] {
        let mut doc = String::from("{\"Records\":[");
        for i in 0..20_000 {
            if i > 0 {
                doc.push_str(sep);
            }
            doc.push_str(&CT.replace("\"e1\"", &format!("\"e{i}\"")));
        }
        doc.push_str("]}");
        let cfg = DecoderConfig {
            batch_rows: 1000,
            read_chunk: 4096,
            ..DecoderConfig::default()
        };
        let (c, stats) = decode_with(doc.as_bytes(), &cfg);
        assert_eq!(stats.events[SourceKind::CloudTrail.index()], 20_000);
        assert!(
            c.flushes
                .iter()
                .all(|f| f.batches.iter().all(|b| b.batch.num_rows() <= 1000))
        );
        assert_eq!(c.flushes.len(), 21);
        let offsets: Vec<u64> = c.flushes.iter().map(|f| f.checkpoint.offset).collect();
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*offsets.last().unwrap(), doc.len() as u64);
        let ids = c.strings(SourceKind::CloudTrail, "event_uid");
        assert_eq!(ids[19_999].as_deref(), Some("e19999"));
    }
}

#[test]
fn oversized_element_in_a_streamed_document() {
    let big = format!(
        "{{\n\"Records\":[\n{CT},\n{{\"eventVersion\":\"1.08\",\"pad\":\"{}\"}},\n{CT}]}}",
        "x".repeat(5000)
    );
    let cfg = DecoderConfig {
        max_record_bytes: 2048,
        read_chunk: 512,
        ..DecoderConfig::default()
    };
    let (c, stats) = decode_with(big.as_bytes(), &cfg);
    assert_eq!(
        (stats.events[SourceKind::CloudTrail.index()], stats.rejected),
        (2, 1)
    );
    assert!(
        c.dead[0]
            .reason
            .contains("larger than the maximum record size")
            && c.dead[0].truncated
    );
    assert_eq!(c.dead[0].line, 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary bytes never panic, and whatever is not an event is accounted for.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (_c, stats) = decode(&bytes);
        prop_assert!(stats.total_events() + stats.rejected <= bytes.len() as u64 + 1);
    }

    /// Valid records and garbage lines interleaved in any order: every valid record is
    /// an event, every garbage line one dead letter, in order.
    #[test]
    fn mixed_lines_are_all_accounted_for(kinds in proptest::collection::vec(0u8..4, 1..60), junk in "[a-z ]{1,20}") {
        let mut input = String::new();
        let (mut good, mut bad) = (0, 0);
        for k in &kinds {
            match k {
                0 => { input.push_str(CT); good += 1 }
                1 => { input.push_str(FLOW); good += 1 }
                2 => { input.push_str(&format!("{{\"x\":\"{junk}\"}}")); bad += 1 }
                _ => {
                    if junk.trim().is_empty() { continue }
                    input.push_str(&junk); bad += 1
                }
            }
            input.push('\n');
        }
        let (c, stats) = decode(input.as_bytes());
        prop_assert_eq!(stats.total_events(), good);
        prop_assert_eq!(stats.rejected, bad);
        prop_assert!(c.dead.windows(2).all(|w| w[0].offset < w[1].offset));
    }
}

/// Regression (found twice by `mixed_lines_are_all_accounted_for` in CI): a lone word
/// that happens to be a flow-log field name (`end`), and later such a word followed by
/// another (`end a`), was taken for a header and vanished instead of being
/// dead-lettered; it also switched the format of later lines.
#[test]
fn a_lone_field_name_is_garbage_not_a_header() {
    let input = format!("end\n{FLOW}\nstart\nend a\n{FLOW}\n");
    let (c, stats) = decode(input.as_bytes());
    assert_eq!(
        (stats.total_events(), stats.rejected),
        (2, 3),
        "{:?}",
        c.dead
    );
    let lines: Vec<u64> = c.dead.iter().map(|d| d.line).collect();
    assert_eq!(lines, [1, 3, 4]);
    assert!(c.dead[0].reason.contains("field"), "{:?}", c.dead[0].reason);
}

/// Regression (found by `cargo fuzz run auto`): a flow-log header naming a field twice
/// made one column longer than the others and the whole batch failed to build.
#[test]
fn header_with_a_duplicate_field_is_rejected_not_fatal() {
    let input = format!("version start srcaddr start\n2 1700000000 10.0.0.1 1700000001\n{FLOW}\n");
    let (c, stats) = decode(input.as_bytes());
    assert!(
        c.dead[0].reason.contains("names field start twice"),
        "{:?}",
        c.dead
    );
    // The duplicate header is rejected, the default format stays: the 4-field line is
    // rejected for its field count, the default-format line ingests.
    assert_eq!((stats.total_events(), stats.rejected), (1, 2));
}

#[test]
fn one_line_s3_object_sliced_at_false_boundaries() {
    // Elements whose nested arrays contain `},{` (a cut there does not parse and is
    // widened), with slices far smaller than an element, and one malformed element
    // after valid ones.
    let nested = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"nID","requestParameters":{"items":[{"a":1},{"b":2},{"c":3}]}}"#;
    let mut doc = String::from("{\"Records\":[");
    for i in 0..50 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&nested.replace("nID", &format!("n{i}")));
    }
    doc.push_str("]}\n");
    for slice in [1, 7, 100, 1 << 20] {
        let cfg = DecoderConfig {
            records_slice_bytes: slice,
            ..DecoderConfig::default()
        };
        let (c, stats) = decode_with(doc.as_bytes(), &cfg);
        assert_eq!(
            (stats.total_events(), stats.rejected),
            (50, 0),
            "slice {slice}: {:?}",
            c.dead
        );
        let ids: Vec<String> = c
            .strings(SourceKind::CloudTrail, "event_uid")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(
            ids,
            (0..50).map(|i| format!("n{i}")).collect::<Vec<_>>(),
            "slice {slice}"
        );
        let raw = c.strings(SourceKind::CloudTrail, "raw");
        assert_eq!(
            raw[7].as_deref(),
            Some(nested.replace("nID", "n7").as_str())
        );
    }
    // Truncated after valid slices: what parsed stands, the rest is one dead letter.
    let cut = &doc[..doc.len() - 40];
    let cfg = DecoderConfig {
        records_slice_bytes: 100,
        ..DecoderConfig::default()
    };
    let (c, stats) = decode_with(cut.as_bytes(), &cfg);
    assert!(
        stats.total_events() >= 40 && stats.total_events() < 50,
        "{}",
        stats.total_events()
    );
    assert!(stats.rejected >= 1 && c.dead.iter().all(|d| !d.reason.is_empty()));
}

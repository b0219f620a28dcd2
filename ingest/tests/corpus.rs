//! Every raw log file of the shared corpus ingests with the right event count and no
//! rejections, except the deliberately malformed fixtures, which are rejected with
//! reasons. Expected counts are computed here independently of Vigil's decoder (with
//! serde_json and line counting), from the files themselves.

mod common;

use common::*;
use vigil_ingest::vpcflow::FlowFormat;
use vigil_ingest::{DecoderConfig, SourceKind};

fn json_file(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn invictus_cloudtrail_s3_objects() {
    let dir = corpus().join("invictus-sigma-aws/CloudTrail");
    let mut total = 0;
    for f in files(&dir, ".json") {
        let expected = json_file(&f)["Records"].as_array().unwrap().len();
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::CloudTrail), expected, "{}", f.display());
        assert_eq!(stats.rejected, 0, "{}: {:?}", f.display(), c.dead);
        // Event ids are the CloudTrail eventIDs, in file order.
        let ids: Vec<String> = json_file(&f)["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventID"].as_str().unwrap().to_string())
            .collect();
        let got: Vec<String> = c
            .strings(SourceKind::CloudTrail, "event_uid")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(got, ids);
        total += expected;
    }
    assert_eq!(total, 2900);
}

#[test]
fn stratus_bare_json_arrays() {
    let dir = corpus().join("stratus-red-team/docs/detonation-logs");
    let mut total = 0;
    for f in files(&dir, ".json") {
        let expected = json_file(&f).as_array().unwrap().len();
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::CloudTrail), expected, "{}", f.display());
        assert_eq!(stats.rejected, 0, "{}: {:?}", f.display(), c.dead);
        total += expected;
    }
    assert_eq!(total, 310);
}

#[test]
fn otrf_ndjson_with_extra_keys() {
    let f = corpus().join("otrf-security-datasets/datasets/atomic/aws/collection/ec2_proxy_s3_exfiltration_2020-09-14011940.json");
    let expected = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    let (c, stats) = decode_file(&f, &DecoderConfig::default());
    assert_eq!(expected, 103);
    assert_eq!(c.rows(SourceKind::CloudTrail), expected);
    assert_eq!(stats.rejected, 0, "{:?}", c.dead);
}

#[test]
fn cloudtrail_docs_events_as_ndjson() {
    // The labelled file wraps each event; unwrap the events into NDJSON.
    let f = corpus().join("aws-cloudtrail-docs/extracted_events.jsonl");
    let events: Vec<String> = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    let (c, stats) = decode(events.join("\n").as_bytes());
    // One documentation example (the userIdentity reference page) is a fragment with no
    // eventTime: it is rejected with that reason, the other 22 ingest.
    let no_time = events
        .iter()
        .filter(|e| !e.contains("\"eventTime\""))
        .count();
    assert_eq!(c.rows(SourceKind::CloudTrail), events.len() - no_time);
    assert_eq!(stats.rejected as usize, no_time);
    assert!(
        c.dead.iter().all(|d| d.reason.contains("no eventTime")),
        "{:?}",
        c.dead
    );
}

#[test]
fn gzip_s3_objects_and_extracted_copies() {
    let base = corpus().join("loki-lambda-promtail-testdata");
    for f in [
        base.join("tools/lambda-promtail/testdata/cloudtrail-log-file.json.gz"),
        base.join("extracted/cloudtrail-log-file.json"),
    ] {
        let expected = json_file(&base.join("extracted/cloudtrail-log-file.json"))["Records"]
            .as_array()
            .unwrap()
            .len();
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::CloudTrail), expected, "{}", f.display());
        assert_eq!(stats.rejected, 0);
    }
    for f in [
        base.join("tools/lambda-promtail/testdata/vpcflowlog.log.gz"),
        base.join("extracted/vpcflowlog.log"),
    ] {
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::VpcFlow), 3, "{}", f.display());
        assert_eq!(stats.rejected, 0, "{:?}", c.dead);
    }
}

#[test]
fn other_aws_formats_are_rejected_with_reasons() {
    let base = corpus().join("loki-lambda-promtail-testdata");
    for name in [
        "albaccesslog.log",
        "nlbaccesslog.log",
        "cloudfront.log",
        "waflog.log",
    ] {
        let f = base.join("extracted").join(name);
        let lines = std::fs::read_to_string(&f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(stats.total_events(), 0, "{name}");
        assert_eq!(stats.rejected as usize, lines, "{name}: {:?}", c.dead);
        for d in &c.dead {
            assert!(
                d.line >= 1 && !d.reason.is_empty() && !d.record.is_empty(),
                "{d:?}"
            );
        }
    }
    let (c, stats) = decode_file(
        &base.join("tools/lambda-promtail/testdata/eventbridge-s3-event.json"),
        &DecoderConfig::default(),
    );
    assert_eq!((stats.total_events(), stats.rejected), (0, 1));
    assert!(
        c.dead[0].reason.contains("Object Created"),
        "{}",
        c.dead[0].reason
    );
    let (c, stats) = decode_file(
        &base.join("tools/lambda-promtail/testdata/kinesis-event.json"),
        &DecoderConfig::default(),
    );
    assert_eq!((stats.total_events(), stats.rejected), (0, 3));
    assert!(
        c.dead.iter().all(|d| d.reason.starts_with("logEvents[")),
        "{:?}",
        c.dead
    );
}

#[test]
fn vpc_flow_docs_examples() {
    let dir = corpus().join("aws-vpc-flow-logs-docs/extracted");
    let index = json_file(&dir.join("index.json"));
    let mut total = 0;
    for entry in index.as_array().unwrap() {
        let f = corpus()
            .join("aws-vpc-flow-logs-docs")
            .join(entry["file"].as_str().unwrap());
        let expected = entry["records"].as_u64().unwrap() as usize;
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::VpcFlow), expected, "{}", f.display());
        assert_eq!(stats.rejected, 0, "{}: {:?}", f.display(), c.dead);
        total += expected;
    }
    assert_eq!(total, 27);
}

#[test]
fn otel_flow_and_cloudwatch_fixtures() {
    let dir = corpus().join("otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler");
    let flows = dir.join("vpc-flow-log/testdata");
    let count_lines = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    for name in [
        "valid_vpc_flow_log.log",
        "valid_vpc_flow_log_multi.log",
        "valid_vpc_flow_log_ecs.log",
        "valid_tgw_flow_log.log",
    ] {
        let f = flows.join(name);
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(c.rows(SourceKind::VpcFlow), count_lines(&f), "{name}");
        assert_eq!(stats.rejected, 0, "{name}: {:?}", c.dead);
    }
    // ECS fields land in their columns.
    let (c, _) = decode_file(
        &flows.join("valid_vpc_flow_log_ecs.log"),
        &DecoderConfig::default(),
    );
    assert_eq!(
        c.strings(SourceKind::VpcFlow, "ecs-service-name"),
        vec![Some("my-service".to_string())]
    );
    let (c, _) = decode_file(
        &flows.join("valid_tgw_flow_log.log"),
        &DecoderConfig::default(),
    );
    assert_eq!(
        c.strings(SourceKind::VpcFlow, "tgw-id"),
        vec![Some("tgw-0abc12345def67890".to_string())]
    );

    // The CloudWatch Logs envelope of default-format records.
    let cw = flows.join("valid_vpc_flow_cw.json");
    let expected = json_file(&cw)["logEvents"].as_array().unwrap().len();
    let (c, stats) = decode_file(&cw, &DecoderConfig::default());
    assert_eq!((c.rows(SourceKind::VpcFlow), stats.rejected), (expected, 0));
    assert_eq!(
        c.strings(SourceKind::VpcFlow, "cloud_account_uid")[0].as_deref(),
        Some("123456789010")
    );

    // A custom 4-field format without a header: rejected under the default format with a
    // reason saying what to do, accepted once the format is declared.
    let custom = flows.join("valid_vpc_flow_cw_custom.json");
    let (c, stats) = decode_file(&custom, &DecoderConfig::default());
    assert_eq!(stats.rejected, 2);
    assert!(
        c.dead[0].reason.contains("--vpcflow-format"),
        "{}",
        c.dead[0].reason
    );
    let cfg = DecoderConfig {
        flow_format: Some(FlowFormat::parse("version interface-id srcaddr dstaddr").unwrap()),
        ..DecoderConfig::default()
    };
    let (c, stats) = decode_file(&custom, &cfg);
    assert_eq!((c.rows(SourceKind::VpcFlow), stats.rejected), (2, 0));
    // The envelope's owner becomes the account, its timestamp the event time.
    assert_eq!(
        c.strings(SourceKind::VpcFlow, "cloud_account_uid")[0].as_deref(),
        Some("123456789012")
    );

    // Deliberately malformed: one record each, rejected with the field counts.
    for (name, found) in [
        ("vpc_flow_log_too_few_fields.log", 13),
        ("vpc_flow_log_too_many_fields.log", 15),
    ] {
        let (c, stats) = decode_file(&flows.join(name), &DecoderConfig::default());
        assert_eq!((stats.total_events(), stats.rejected), (0, 1), "{name}");
        let r = &c.dead[0];
        assert!(
            r.reason.contains(&format!("has {found} fields"))
                && r.reason.contains("header at line 1"),
            "{r:?}"
        );
        assert_eq!(r.line, 2);
    }

    let ct = dir.join("cloudtraillog/testdata/cloudtrail_log_cw.json");
    let expected = json_file(&ct)["logEvents"].as_array().unwrap().len();
    let (c, stats) = decode_file(&ct, &DecoderConfig::default());
    assert_eq!(
        (c.rows(SourceKind::CloudTrail), stats.rejected),
        (expected, 0),
        "{:?}",
        c.dead
    );
}

#[test]
fn kubernetes_audit_events() {
    let base = corpus().join("falco-k8saudit-tests");
    let (c, stats) = decode_file(
        &base.join("k8s_audit_raw.ndjson"),
        &DecoderConfig::default(),
    );
    assert_eq!(
        (c.rows(SourceKind::K8sAudit), stats.rejected),
        (51, 0),
        "{:?}",
        c.dead
    );

    let mut events = 0;
    let mut dead = Vec::new();
    for f in files(&base.join("test/trace_files/k8s_audit"), ".json") {
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        events += c.rows(SourceKind::K8sAudit);
        assert_eq!(stats.total_events() as usize, c.rows(SourceKind::K8sAudit));
        dead.extend(c.dead);
    }
    assert_eq!(events, 51);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0].source.ends_with("fal_01_003.json")
            && dead[0].reason.contains("unrecognized JSON object"),
        "{:?}",
        dead[0]
    );
}

#[test]
fn falco_alerts() {
    let c = corpus();
    for (f, n) in [
        (c.join("falco-website-alert-examples/alerts.ndjson"), 18),
        (
            c.join("falco-k8saudit-tests/test/output_files/single_rule_with_cat_write.json"),
            8,
        ),
    ] {
        let lines = std::fs::read_to_string(&f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(lines, n);
        let (col, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(
            (col.rows(SourceKind::Falco), stats.rejected),
            (n, 0),
            "{:?}",
            col.dead
        );
    }
}

#[test]
fn falco_plugin_cloudtrail_records_files() {
    let dir = corpus().join("falco-k8saudit-tests/test/trace_files/plugins");
    for f in files(&dir, ".json") {
        let expected = json_file(&f)["Records"].as_array().unwrap().len();
        let (c, stats) = decode_file(&f, &DecoderConfig::default());
        assert_eq!(
            (c.rows(SourceKind::CloudTrail), stats.rejected),
            (expected, 0),
            "{}",
            f.display()
        );
    }
}

/// The typed CloudTrail columns analysts and rules use most hold what the event's JSON
/// says, checked with serde_json on each row's verbatim `raw` text (the key names are
/// spelled here, not taken from the parser, so a misspelt key cannot pass as two nulls):
/// every top-level string column, every `userIdentity`, `sessionContext` and
/// `sessionIssuer` string, booleans (`readOnly`, `managementEvent`, `mfaAuthenticated`
/// written as "true"/"false"), and the nulls of the `userIdentity`, `sessionContext` and
/// `sessionIssuer` structs. Returns the rows checked.
fn check_cloudtrail_columns(b: &arrow::array::RecordBatch, origin: &str) -> usize {
    use arrow::array::{Array, BooleanArray, StringArray, StructArray};
    let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("{name}"));
    let s = |a: &dyn Array| a.as_any().downcast_ref::<StringArray>().unwrap().clone();
    let st = |a: &dyn Array| a.as_any().downcast_ref::<StructArray>().unwrap().clone();
    let bo = |a: &dyn Array| a.as_any().downcast_ref::<BooleanArray>().unwrap().clone();
    let raw = s(col("raw").as_ref());
    let ui = st(col("userIdentity").as_ref());
    let sc = st(ui.column_by_name("sessionContext").unwrap().as_ref());
    let attrs = st(sc.column_by_name("attributes").unwrap().as_ref());
    let issuer = st(sc.column_by_name("sessionIssuer").unwrap().as_ref());
    let text = |a: &StringArray, r: usize| a.is_valid(r).then(|| a.value(r).to_string());
    let flag = |a: &BooleanArray, r: usize| a.is_valid(r).then(|| a.value(r));
    let js = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let jb = |v: &serde_json::Value| {
        v.as_bool()
            .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
    };
    for r in 0..b.num_rows() {
        let e: serde_json::Value = serde_json::from_str(raw.value(r)).unwrap();
        let at = format!("{origin} row {r}");
        for name in [
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
            "sessionCredentialFromConsole",
        ] {
            assert_eq!(
                text(&s(col(name).as_ref()), r),
                js(&e[name]),
                "{name} in {at}"
            );
        }
        assert_eq!(
            flag(&bo(col("readOnly").as_ref()), r),
            jb(&e["readOnly"]),
            "readOnly in {at}"
        );
        assert_eq!(
            flag(&bo(col("managementEvent").as_ref()), r),
            jb(&e["managementEvent"]),
            "managementEvent in {at}"
        );
        let u = &e["userIdentity"];
        assert_eq!(ui.is_valid(r), u.is_object(), "userIdentity in {at}");
        for name in [
            "type",
            "principalId",
            "arn",
            "accountId",
            "accessKeyId",
            "userName",
            "invokedBy",
            "identityProvider",
        ] {
            let got = if ui.is_valid(r) {
                text(&s(ui.column_by_name(name).unwrap().as_ref()), r)
            } else {
                None
            };
            assert_eq!(got, js(&u[name]), "userIdentity.{name} in {at}");
        }
        let c = &u["sessionContext"];
        assert_eq!(
            ui.is_valid(r) && sc.is_valid(r),
            c.is_object(),
            "sessionContext in {at}"
        );
        if ui.is_valid(r) && sc.is_valid(r) {
            assert_eq!(
                text(&s(sc.column_by_name("sourceIdentity").unwrap().as_ref()), r),
                js(&c["sourceIdentity"]),
                "sessionContext.sourceIdentity in {at}"
            );
            let mfa = flag(
                &bo(attrs.column_by_name("mfaAuthenticated").unwrap().as_ref()),
                r,
            );
            let want = jb(&c["attributes"]["mfaAuthenticated"]);
            assert_eq!(
                if attrs.is_valid(r) { mfa } else { None },
                want,
                "mfaAuthenticated in {at}"
            );
            assert_eq!(
                issuer.is_valid(r),
                c["sessionIssuer"].is_object(),
                "sessionIssuer in {at}"
            );
            if issuer.is_valid(r) {
                for name in ["type", "principalId", "arn", "accountId", "userName"] {
                    assert_eq!(
                        text(&s(issuer.column_by_name(name).unwrap().as_ref()), r),
                        js(&c["sessionIssuer"][name]),
                        "sessionIssuer.{name} in {at}"
                    );
                }
            }
        }
    }
    b.num_rows()
}

#[test]
fn cloudtrail_columns_equal_the_events_json() {
    let mut checked = 0;
    let mut inputs = files(&corpus().join("invictus-sigma-aws/CloudTrail"), ".json");
    inputs.extend(files(
        &corpus().join("stratus-red-team/docs/detonation-logs"),
        ".json",
    ));
    for f in inputs {
        let (c, _) = decode_file(&f, &DecoderConfig::default());
        for b in c.batches(SourceKind::CloudTrail) {
            checked += check_cloudtrail_columns(b, &f.display().to_string());
        }
    }
    assert_eq!(checked, 2900 + 310);
    // The corpus events all carry readOnly and managementEvent: events without them, or
    // without a session context, or with only some identity fields, written here.
    let odd = [
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventID":"a1","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1"}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"a2","readOnly":true,"userIdentity":{"type":"IAMUser","userName":"ci"}}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:02Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"a3","readOnly":false,"managementEvent":true,"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}}}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:03Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","eventID":"a4","userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r"},"attributes":{"mfaAuthenticated":"true"}}}}"#,
    ]
    .join("\n");
    let (c, stats) = decode(odd.as_bytes());
    assert_eq!(stats.rejected, 0);
    let n: usize = c
        .batches(SourceKind::CloudTrail)
        .into_iter()
        .map(|b| check_cloudtrail_columns(b, "written events"))
        .sum();
    assert_eq!(n, 4);
}

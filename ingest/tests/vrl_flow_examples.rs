//! The VRL `parse_aws_vpc_flow_log` examples (input line -> expected parsed fields) from
//! the shared corpus: Vigil's values equal VRL's, field by field, and fields VRL does not
//! return for that format are null in Vigil.

mod common;

use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray};
use common::*;
use vigil_ingest::vpcflow::{FLOW_FIELDS, FlowFormat};
use vigil_ingest::{DecoderConfig, SourceKind};

/// The string literals of a VRL call, unescaped: the record, then the format if given.
fn string_literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => s.push(chars.next().unwrap()),
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn vrl_examples_match_field_by_field() {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            corpus().join("vrl-parser-examples/docs/generated/parse_aws_vpc_flow_log.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let examples = doc["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 4);
    for ex in examples {
        let title = ex["title"].as_str().unwrap();
        let lits = string_literals(ex["source"].as_str().unwrap());
        let cfg = DecoderConfig {
            flow_format: lits.get(1).map(|f| FlowFormat::parse(f).unwrap()),
            ..DecoderConfig::default()
        };
        let (c, stats) = decode_with(lits[0].as_bytes(), &cfg);
        assert_eq!(
            (stats.total_events(), stats.rejected),
            (1, 0),
            "{title}: {:?}",
            c.dead
        );
        let batch = c.batches(SourceKind::VpcFlow)[0].clone();
        let expected = ex["return"].as_object().unwrap();
        for (name, want) in expected {
            let col_name = name.replace('_', "-");
            let col = batch
                .column_by_name(&col_name)
                .unwrap_or_else(|| panic!("{title}: no column {col_name}"));
            let got: serde_json::Value = if col.is_null(0) {
                serde_json::Value::Null
            } else if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                a.value(0).into()
            } else if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
                a.value(0).into()
            } else if let Some(a) = col.as_any().downcast_ref::<Int64Array>() {
                a.value(0).into()
            } else if let Some(a) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                (a.value(0) / 1_000_000).into()
            } else {
                panic!("{title}: unexpected type of {col_name}")
            };
            assert_eq!(&got, want, "{title}: field {name}");
        }
        // Every documented field VRL did not return is null.
        for (field, _, _) in FLOW_FIELDS {
            if !expected.contains_key(&field.replace('-', "_")) {
                assert!(
                    batch.column_by_name(field).unwrap().is_null(0),
                    "{title}: {field} should be null"
                );
            }
        }
    }
}

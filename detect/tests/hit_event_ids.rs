//! A hit's event id is a row of its batch's id column, shared rather than copied
//! (`vigil_detect::hits::Hits`): it must read back exactly the batch's `event_uid`
//! for that row, empty where the batch holds none, stay valid after the batch is
//! dropped, and reach the findings unchanged.

mod common;

use std::path::Path;

use common::*;
use vigil_detect::rule::load::load_str;
use vigil_detect::{Engine, EngineOptions, detect_batch};

const EVERY_EVENT: &str = r#"
title: Every CloudTrail event
id: 00000000-0000-4000-8000-0000000000e1
level: low
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventVersion|exists: true}
  condition: sel
"#;

#[test]
fn hit_ids_are_the_batch_ids_of_their_rows_and_reach_the_findings() {
    let engine = Engine::from_rules(
        load_str(EVERY_EVENT, Path::new("test.yml")),
        EngineOptions::default(),
    )
    .unwrap();
    let plan = engine.plan().clone();
    let mut ev = engine.evaluator().unwrap();
    let mut detector = engine.detector();
    let mut batches = batches(&[corpus().join("stratus-red-team/docs/detonation-logs")]).0;
    assert!(!batches.is_empty(), "no Stratus Red Team batches decoded");
    let mut hits = Vec::new();
    let mut expected = Vec::new();
    for b in &batches {
        let got = detect_batch(&plan, &mut ev, b).unwrap();
        assert_eq!(got.len(), b.batch.num_rows(), "every event is a hit");
        for (row, (h, id)) in got.iter().enumerate() {
            let want = text_value(b, "event_uid", row).unwrap_or("").to_string();
            assert!(
                !want.is_empty(),
                "Stratus CloudTrail events all have an eventID"
            );
            assert_eq!(h.row, row);
            assert_eq!(id, want);
            assert_eq!(got.event_id(h), want);
            expected.push(want);
        }
        hits.push(got);
    }
    // The ids live as long as the hits, not the batches.
    batches.clear();
    assert_eq!(
        hits.iter()
            .flat_map(|hs| hs.iter().map(|(_, id)| id.to_string()))
            .collect::<Vec<_>>(),
        expected
    );
    let findings = detector.push(hits);
    let mut got: Vec<String> = findings
        .iter()
        .flat_map(|f| f.event_ids.iter().cloned())
        .collect();
    let mut want = expected;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_batch_without_ids_gives_empty_ids_and_equal_texts_are_equal() {
    // A CloudTrail event without `eventID`: the decoder leaves its id empty or derives
    // one; either way the hit reads back what the batch holds.
    let events = concat!(
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"same"}"#,
        "\n",
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"same"}"#,
        "\n",
        r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:02Z","eventSource":"s3.amazonaws.com","eventName":"PutObject"}"#,
        "\n",
    );
    let engine = Engine::from_rules(
        load_str(EVERY_EVENT, Path::new("test.yml")),
        EngineOptions::default(),
    )
    .unwrap();
    let mut ev = engine.evaluator().unwrap();
    let b = &batches_of(events.as_bytes()).0[0];
    let hits = detect_batch(engine.plan(), &mut ev, b).unwrap();
    assert_eq!(hits.len(), 3);
    let id = |i: usize| hits.event_id(&hits.hits[i]);
    assert_eq!(id(0), "same");
    // The same text on two rows.
    assert_eq!((hits.hits[0].row, hits.hits[1].row), (0, 1));
    assert_eq!(id(1), "same");
    assert_eq!(id(2), text_value(b, "event_uid", 2).unwrap_or(""));
}

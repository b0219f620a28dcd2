//! Loading real logs into a store and reading them back: counts, dedup, the open
//! segment, pruning, search, read-only SQL, retention.

use std::collections::BTreeMap;

use vigil_ingest::SourceKind;
use vigil_store::manifest::{self, EntryKind};
use vigil_store::reader::Snapshot;
use vigil_store::settings::Settings;
use vigil_store::{Store, tables};

use crate::common::*;

/// Real samples of all four source types.
fn corpus_batches() -> Vec<vigil_ingest::EventBatch> {
    let c = corpus();
    let mut v = decode_dir(&c.join("stratus-red-team"), "json");
    v.extend(decode_dir(&c.join("falco-k8saudit-tests"), "json"));
    v.extend(decode_dir(&c.join("aws-vpc-flow-logs-docs"), "log"));
    v.extend(decode_dir(
        &c.join("falco-website-alert-examples"),
        "ndjson",
    ));
    v
}

fn rows_by_table(batches: &[vigil_ingest::EventBatch]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for b in batches {
        *m.entry(tables::of_kind(b.kind)).or_default() += b.batch.num_rows();
    }
    m
}

#[test]
fn corpus_roundtrip_counts_and_dedup() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let batches = corpus_batches();
    let by_table = rows_by_table(&batches);
    for k in SourceKind::ALL {
        assert!(
            by_table.get(k.name()).copied().unwrap_or(0) > 0,
            "corpus has no {} events",
            k.name()
        );
    }
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        let a = append_all(&mut store, &batches).await;
        let entry = store.close().await.unwrap().expect("a sealed segment");
        // Each table holds each id once, and every distinct id of the input.
        for table in by_table.keys() {
            let ids = tables::id_column(table);
            let rows = count(dir.path(), &format!("SELECT count(*) FROM {table}")).await;
            let distinct = count(
                dir.path(),
                &format!("SELECT count(DISTINCT {ids}) FROM {table}"),
            )
            .await;
            assert_eq!(rows, distinct, "{table}: an id is stored twice");
        }
        let total: i64 = {
            let mut t = 0;
            for table in by_table.keys() {
                t += count(dir.path(), &format!("SELECT count(*) FROM {table}")).await;
            }
            t
        };
        assert_eq!(total as usize, a.stored);
        assert_eq!(
            a.stored + a.duplicates,
            batches.iter().map(|b| b.batch.num_rows()).sum::<usize>()
        );
        // The manifest's per-file rows add up to the stored rows.
        let EntryKind::Segment {
            files, raw_bytes, ..
        } = &entry.kind
        else {
            panic!("not a segment entry")
        };
        assert_eq!(files.iter().map(|f| f.rows).sum::<u64>() as usize, a.stored);
        assert!(*raw_bytes > 0);

        // Loading the same input again stores nothing and seals nothing.
        let before =
            manifest::read_all(&vigil_store::backend(dir.path(), &Settings::default()).unwrap())
                .await
                .unwrap();
        let mut store = Store::open(dir.path()).await.unwrap();
        let again = append_all(&mut store, &batches).await;
        assert_eq!(again.stored, 0);
        assert_eq!(again.duplicates, a.stored + a.duplicates);
        assert!(store.close().await.unwrap().is_none());
        let after =
            manifest::read_all(&vigil_store::backend(dir.path(), &Settings::default()).unwrap())
                .await
                .unwrap();
        assert_eq!(before, after);
        let snap = Snapshot::load(dir.path()).await.unwrap();
        let r = manifest::verify(&snap.backend, None).await.unwrap();
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.segments, 1);
    });
}

#[test]
fn open_segment_is_queryable_and_searchable_before_sealing() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        let lines: Vec<String> = (0..50)
            .map(|i| {
                ct_line(
                    &format!("open-{i}"),
                    "2024-05-01T10:00:00Z",
                    "ListUsers",
                    "AKIAOPEN",
                    "203.0.113.9",
                    (i % 5 == 0).then_some("AccessDenied"),
                )
            })
            .collect();
        append_all(&mut store, &decode(lines.join("\n").as_bytes(), "open")).await;
        // The writer still holds the segment open; a reader sees it through the log.
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM cloudtrail").await,
            50
        );
        let snap = Snapshot::load(dir.path()).await.unwrap();
        let hits = snap
            .search("errorCode:AccessDenied", Some("cloudtrail"), None, 100)
            .await
            .unwrap();
        assert_eq!(hits.len(), 10);
        assert!(
            hits.iter().all(|h| h.segment.is_empty()),
            "open-segment hits carry no segment"
        );
        assert_eq!(
            count(
                dir.path(),
                "SELECT count(*) FROM search('cloudtrail', 'errorCode:AccessDenied')"
            )
            .await,
            10
        );
        store.close().await.unwrap();
        // Sealed: the same rows, once.
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM cloudtrail").await,
            50
        );
        assert_eq!(
            count(
                dir.path(),
                "SELECT count(*) FROM search('cloudtrail', 'errorCode:AccessDenied')"
            )
            .await,
            10
        );
    });
}

#[test]
fn time_predicates_skip_files_outside_the_range() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        // Three segments on three days.
        for (day, n) in [("2024-01-01", 30), ("2024-02-01", 40), ("2024-03-01", 50)] {
            let mut store = Store::open(dir.path()).await.unwrap();
            let lines: Vec<String> = (0..n)
                .map(|i| ct_line(&format!("{day}-{i}"), &format!("{day}T0{}:00:00Z", i % 10), "GetObject", "AKIADAY", "198.51.100.7", None))
                .collect();
            append_all(&mut store, &decode(lines.join("\n").as_bytes(), day)).await;
            store.close().await.unwrap();
        }
        let s = session(dir.path()).await;
        let sql = "SELECT count(*) FROM cloudtrail WHERE time >= TIMESTAMP '2024-02-01T00:00:00Z' AND time < TIMESTAMP '2024-02-02T00:00:00Z'";
        let plan = s.context().sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        let text = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
        assert!(text.contains("date=2024-02-01"), "{text}");
        assert!(!text.contains("date=2024-01-01") && !text.contains("date=2024-03-01"), "files outside the range are scanned:\n{text}");
        assert_eq!(count(dir.path(), sql).await, 40);
        assert_eq!(count(dir.path(), "SELECT count(*) FROM cloudtrail").await, 120);
    });
}

#[test]
fn queries_are_read_only() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        append_all(
            &mut store,
            &decode(
                ct_line(
                    "ro-1",
                    "2024-05-01T10:00:00Z",
                    "ListUsers",
                    "AKIARO",
                    "192.0.2.1",
                    None,
                )
                .as_bytes(),
                "ro",
            ),
        )
        .await;
        store.close().await.unwrap();
        let parquet = std::fs::read_dir(dir.path().join("tables/cloudtrail/date=2024-05-01"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let s = session(dir.path()).await;
        for sql in [
            "CREATE TABLE t AS SELECT 1",
            "CREATE VIEW v AS SELECT 1",
            "DROP TABLE cloudtrail",
            "INSERT INTO cloudtrail SELECT * FROM cloudtrail",
            "DELETE FROM cloudtrail",
            "UPDATE cloudtrail SET eventName = 'x'",
            "COPY (SELECT 1) TO '/tmp/vigil-copy-test.csv'",
            &format!(
                "CREATE EXTERNAL TABLE ext STORED AS PARQUET LOCATION '{}'",
                parquet.display()
            ),
            "SET datafusion.execution.batch_size = 1",
        ] {
            let err = match s.collect(sql).await {
                Ok(_) => panic!("{sql} was accepted"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains("refused") || err.contains("not supported"),
                "{sql}: {err}"
            );
        }
        assert!(!std::path::Path::new("/tmp/vigil-copy-test.csv").exists());
        // No way to read arbitrary files.
        for sql in [
            format!("SELECT * FROM '{}'", parquet.display()),
            format!("SELECT * FROM read_parquet('{}')", parquet.display()),
        ] {
            assert!(s.collect(&sql).await.is_err(), "{sql} was accepted");
        }
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM cloudtrail").await,
            1
        );
    });
}

#[test]
fn search_function_agrees_with_sql_filters() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        append_all(&mut store, &decode_dir(&corpus().join("stratus-red-team"), "json")).await;
        store.close().await.unwrap();
        let sql = count(dir.path(), "SELECT count(*) FROM cloudtrail WHERE errorCode = 'AccessDenied'").await;
        assert!(sql > 0);
        let fts = count(dir.path(), "SELECT count(*) FROM search('cloudtrail', 'errorCode:AccessDenied')").await;
        assert_eq!(fts, sql);
        // Joined with SQL filters and aggregates.
        let s = session(dir.path()).await;
        let by_event = s
            .collect("SELECT eventName, count(*) AS n FROM search('cloudtrail', 'errorCode:AccessDenied') WHERE eventSource LIKE '%amazonaws.com' GROUP BY eventName ORDER BY n DESC, eventName")
            .await
            .unwrap();
        let direct = s
            .collect("SELECT eventName, count(*) AS n FROM cloudtrail WHERE errorCode = 'AccessDenied' AND eventSource LIKE '%amazonaws.com' GROUP BY eventName ORDER BY n DESC, eventName")
            .await
            .unwrap();
        assert_eq!(strings(&by_event), strings(&direct));
        // A principal's events by phrase, through the CLI's fetch path.
        let snap = Snapshot::load(dir.path()).await.unwrap();
        let hits = snap.search("errorCode:AccessDenied", Some("cloudtrail"), None, 5).await.unwrap();
        assert_eq!(hits.len(), 5);
        assert!(hits.windows(2).all(|w| w[0].time_us >= w[1].time_us), "newest first");
        let rows = s.fetch(&hits).await.unwrap();
        for (h, r) in hits.iter().zip(rows) {
            let r = r.unwrap_or_else(|| panic!("hit {} has no row", h.uid));
            assert_eq!(r["errorCode"], "AccessDenied");
            assert_eq!(r["event_uid"], h.uid.as_str());
        }
        // A bad query is an error naming it.
        let e = snap.search("errorCode:(", None, None, 5).await.unwrap_err().to_string();
        assert!(e.contains("errorCode:("), "{e}");
    });
}

#[test]
fn findings_are_stored_once_per_finding_id() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let batches = decode_dir(&corpus().join("stratus-red-team"), "json");
    let engine =
        vigil_detect::Engine::from_rules(vigil_detect::pack::shipped(), Default::default())
            .unwrap();
    let run = || {
        let mut ev = engine.evaluator().unwrap();
        let mut det = engine.detector();
        let mut out = Vec::new();
        for b in &batches {
            out.extend(det.push([vigil_detect::detect_batch(engine.plan(), &mut ev, b).unwrap()]));
        }
        out.extend(det.finish());
        out
    };
    let first = run();
    assert!(first.len() > 20);
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        let a = store.append_findings(&first).await.unwrap();
        assert_eq!(a.stored, first.len());
        store.close().await.unwrap();
        let mut store = Store::open(dir.path()).await.unwrap();
        let b = store.append_findings(&run()).await.unwrap();
        assert_eq!((b.stored, b.duplicates), (0, first.len()));
        store.close().await.unwrap();
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM findings").await as usize,
            first.len()
        );
        assert_eq!(
            count(
                dir.path(),
                "SELECT count(DISTINCT finding_id) FROM findings"
            )
            .await as usize,
            first.len()
        );
        let crit = first
            .iter()
            .filter(|f| f.level == vigil_detect::rule::Level::Critical)
            .count();
        assert_eq!(
            count(
                dir.path(),
                "SELECT count(*) FROM findings WHERE level = 'critical'"
            )
            .await as usize,
            crit
        );
    });
}

#[test]
fn retention_removes_expired_segments_and_records_it() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        // An old segment (2023) and a recent one (an hour ago).
        let recent = vigil_detect::finding::rfc3339(vigil_store::now_us() - 3_600_000_000);
        for (tag, time) in [("old", "2023-01-01T00:00:00Z".to_string()), ("new", recent)] {
            let mut store = Store::open(dir.path()).await.unwrap();
            let lines: Vec<String> = (0..10).map(|i| ct_line(&format!("{tag}-{i}"), &time, "ListUsers", "AKIARET", "192.0.2.2", None)).collect();
            append_all(&mut store, &decode(lines.join("\n").as_bytes(), tag)).await;
            store.close().await.unwrap();
        }
        let old_files: Vec<String> = Snapshot::load(dir.path()).await.unwrap().files("cloudtrail").into_iter().map(|f| f.path).filter(|p| p.contains("2023-01-01")).collect();
        assert_eq!(old_files.len(), 1);
        let mut s = Settings::load(dir.path()).unwrap();
        s.retention = Some("30d".into());
        s.save(dir.path()).unwrap();
        // Retention runs when the store is opened.
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.retention_removed().len(), 1);
        store.close().await.unwrap();
        assert!(!dir.path().join(&old_files[0]).exists(), "expired file still on disk");
        assert_eq!(count(dir.path(), "SELECT count(*) FROM cloudtrail").await, 10);
        assert_eq!(count(dir.path(), "SELECT count(*) FROM cloudtrail WHERE event_uid LIKE 'old-%'").await, 0);
        assert_eq!(count(dir.path(), "SELECT count(*) FROM audit WHERE action = 'retention_removed' AND detail LIKE '%removed_segments%'").await, 1);
        let snap = Snapshot::load(dir.path()).await.unwrap();
        assert!(snap.entries.iter().any(|e| matches!(&e.kind, EntryKind::Retention { removed, .. } if removed.len() == 1)));
        let r = manifest::verify(&snap.backend, None).await.unwrap();
        assert!(r.ok(), "{:?}", r.problems);
        // Ids of removed rows are forgotten: re-loading old data stores it again (and the
        // next retention run removes it again).
        let mut store = Store::open(dir.path()).await.unwrap();
        let a = append_all(&mut store, &decode(ct_line("old-0", "2023-01-01T00:00:00Z", "ListUsers", "AKIARET", "192.0.2.2", None).as_bytes(), "again")).await;
        assert_eq!(a.stored, 1);
        store.close().await.unwrap();
    });
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_store() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let first = Store::open(dir.path()).await.unwrap();
        let err = Store::open(dir.path())
            .await
            .err()
            .expect("second writer refused")
            .to_string();
        assert!(err.contains("another vigil process"), "{err}");
        first.close().await.unwrap();
        Store::open(dir.path())
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
    });
}

#[test]
fn batches_with_another_schema_are_rejected_with_the_column() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        let flow = decode_dir(&corpus().join("aws-vpc-flow-logs-docs"), "log");
        let err = store
            .append("cloudtrail", &flow[0].batch)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cloudtrail") && err.contains("column"),
            "{err}"
        );
        let err = store
            .append("nope", &flow[0].batch)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown table"), "{err}");
        store.close().await.unwrap();
    });
}

#[test]
fn search_stops_early_with_the_same_hits() {
    // Several sealed segments (one per chunk of files) and an open one; the newest-first
    // search may skip old segments once it has `limit` newer hits: for every limit, its
    // hits must be the first `limit` of the full, unskipped list.
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let batches = decode_dir(&corpus().join("stratus-red-team"), "json");
    assert!(
        batches.len() >= 8,
        "stratus gives {} batches",
        batches.len()
    );
    rt.block_on(async {
        let mut store = Store::open(dir.path()).await.unwrap();
        let chunks: Vec<_> = batches.chunks(batches.len().div_ceil(5)).collect();
        let (sealed, open) = chunks.split_at(chunks.len() - 1);
        for chunk in sealed {
            append_all(&mut store, chunk).await;
            store.seal().await.unwrap().expect("a sealed segment");
        }
        append_all(&mut store, open[0]).await;
        let snap = Snapshot::load(dir.path()).await.unwrap();
        assert!(
            snap.segments().len() >= 4,
            "{} segments",
            snap.segments().len()
        );
        assert!(!snap.open.is_empty(), "an open segment");
        for q in [
            "amazonaws",
            "errorCode:AccessDenied",
            "stratus",
            "eventName:AssumeRole",
        ] {
            let all = snap.search(q, None, None, 1_000_000).await.unwrap();
            assert!(all.len() > 3, "{q}: {} hits", all.len());
            assert!(
                all.windows(2)
                    .all(|w| (w[0].time_us, &w[1].uid) >= (w[1].time_us, &w[0].uid)),
                "{q}: newest first, ties by id"
            );
            for limit in [1, 2, 5, 20, all.len() - 1, all.len()] {
                let limit = limit.min(all.len());
                let some = snap.search(q, None, None, limit).await.unwrap();
                assert_eq!(some, all[..limit], "{q}, limit {limit}");
            }
        }
        store.close().await.unwrap();
    });
}

#[test]
fn sealed_files_are_sorted_by_time_whatever_the_arrival_order() {
    // The corpus files arrive out of time order (and the reverse order is tried too):
    // every sealed Parquet file holds its rows in time order, nulls last, all of them.
    let rt = rt();
    for reverse in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut batches = corpus_batches();
        if reverse {
            batches.reverse();
        }
        let by_table = rows_by_table(&batches);
        rt.block_on(async {
            let mut store = Store::open(dir.path()).await.unwrap();
            append_all(&mut store, &batches).await;
            store.close().await.unwrap();
        });
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut files = Vec::new();
        let mut stack = vec![dir.path().join("tables")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "parquet") {
                    files.push(p);
                }
            }
        }
        assert!(!files.is_empty());
        for f in files {
            let table = f
                .strip_prefix(dir.path().join("tables"))
                .unwrap()
                .iter()
                .next()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&f).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            let mut t: Vec<Option<i64>> = Vec::new();
            for b in reader {
                let b = b.unwrap();
                let col = b
                    .column_by_name("time")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                    .unwrap()
                    .clone();
                t.extend(col.iter());
            }
            *seen.entry(table).or_default() += t.len();
            let key = |v: &Option<i64>| (v.is_none(), *v);
            assert!(
                t.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
                "{} is not in time order (reverse: {reverse})",
                f.display()
            );
        }
        // Deduplicated counts can be below the input's; never above, and every table kept.
        for (table, n) in &by_table {
            let stored = seen.get(*table).copied().unwrap_or(0);
            assert!(stored > 0 && stored <= *n, "{table}: {stored} of {n}");
        }
    }
}

//! Query results checked against an independent engine: the same analyst queries over
//! the same Parquet files in DuckDB (Python package, installed by scripts/setup.sh).

use std::path::Path;
use std::process::Command;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use vigil_bench::generate::{
    CloudTrailForm, FlowForm, GenConfig, write_cloudtrail, write_k8s_audit, write_vpcflow,
};
use vigil_store::Store;
use vigil_store::reader::Snapshot;

use crate::common::*;

/// Rows as strings (NULL as None), the way both engines are compared.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<Option<String>>> {
    let opts = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let fmts: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .zip(&fmts)
                    .map(|(c, f)| {
                        if c.is_null(r) {
                            None
                        } else {
                            Some(f.value(r).to_string())
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys
spec = json.load(open(sys.argv[1]))
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
for t, files in spec["tables"].items():
    lst = "[" + ",".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({lst}, hive_partitioning=false)")
out = []
for q in spec["queries"]:
    fmt = lambda v: None if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
    out.append([[fmt(v) for v in r] for r in con.execute(q).fetchall()])
json.dump(out, sys.stdout)
"#;

fn duckdb(
    dir: &Path,
    tables: &[(&str, Vec<String>)],
    queries: &[String],
) -> Vec<Vec<Vec<Option<String>>>> {
    let spec = serde_json::json!({
        "tables": tables.iter().map(|(t, f)| (t.to_string(), serde_json::json!(f))).collect::<serde_json::Map<_, _>>(),
        "queries": queries,
    });
    let spec_path = dir.join("duckdb-spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(DUCKDB_SCRIPT)
        .arg(&spec_path)
        .output()
        .expect("python3 (scripts/setup.sh installs it with duckdb)");
    assert!(
        out.status.success(),
        "DuckDB failed (install it with scripts/setup.sh: pip install duckdb): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn analyst_queries_match_duckdb_over_the_same_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let rt = rt();
    rt.block_on(async {
        // Three segments on different days: generated CloudTrail, flows, Kubernetes audit,
        // and the real Stratus Red Team detonations.
        for (i, start) in [1_714_521_600i64, 1_714_608_000, 1_717_200_000]
            .into_iter()
            .enumerate()
        {
            let cfg = GenConfig {
                seed: 7 + i as u64,
                start_unix: start,
                attacks: true,
            };
            let mut buf = Vec::new();
            write_cloudtrail(&mut buf, &cfg, 6000, CloudTrailForm::Ndjson).unwrap();
            let mut batches = decode(&buf, "ct");
            buf.clear();
            write_vpcflow(&mut buf, &cfg, 5000, FlowForm::V2Default).unwrap();
            batches.extend(decode(&buf, "flow"));
            buf.clear();
            write_k8s_audit(&mut buf, &cfg, 2000).unwrap();
            batches.extend(decode(&buf, "k8s"));
            if i == 0 {
                batches.extend(decode_dir(&corpus().join("stratus-red-team"), "json"));
            }
            let mut store = Store::open(&data).await.unwrap();
            append_all(&mut store, &batches).await;
            store.close().await.unwrap();
        }
    });
    let snap = rt.block_on(Snapshot::load(&data)).unwrap();
    let files = |t: &str| {
        snap.files(t)
            .into_iter()
            .map(|f| data.join(f.path).display().to_string())
            .collect::<Vec<_>>()
    };
    let tables = [
        ("cloudtrail", files("cloudtrail")),
        ("vpcflow", files("vpcflow")),
        ("k8s_audit", files("k8s_audit")),
    ];
    assert!(tables.iter().all(|(_, f)| f.len() >= 3), "{tables:?}");

    let s = rt.block_on(session(&data));
    let one = |sql: &str| {
        rows(
            &rt.block_on(s.collect(sql))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        )
    };
    let key = one("SELECT userIdentity.accessKeyId FROM cloudtrail WHERE userIdentity.accessKeyId IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0].clone().unwrap();
    let arn = one("SELECT userIdentity.arn FROM cloudtrail WHERE userIdentity.arn IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0].clone().unwrap();

    // (DataFusion SQL, DuckDB SQL): the same question in each dialect.
    let same = |q: String| (q.clone(), q);
    let queries: Vec<(String, String)> = vec![
        // Top source IPs for one access key.
        same(format!("SELECT sourceIPAddress AS ip, count(*) AS n FROM cloudtrail WHERE userIdentity.accessKeyId = '{key}' GROUP BY sourceIPAddress ORDER BY n DESC, ip LIMIT 10")),
        // Errors by principal per hour.
        (
            "SELECT CAST(to_unixtime(date_trunc('hour', time)) AS BIGINT) AS h, userIdentity.arn AS p, errorCode, count(*) AS n FROM cloudtrail WHERE errorCode IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3".into(),
            "SELECT CAST(epoch(date_trunc('hour', time)) AS BIGINT) AS h, userIdentity.arn AS p, errorCode, count(*) AS n FROM cloudtrail WHERE errorCode IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3".into(),
        ),
        // All events of one principal in a time range.
        (
            format!("SELECT event_uid, eventName, CAST(to_unixtime(time) AS BIGINT) AS t FROM cloudtrail WHERE userIdentity.arn = '{arn}' AND time >= TIMESTAMP '2024-05-01T00:20:00Z' AND time < TIMESTAMP '2024-05-02T00:30:00Z' ORDER BY time, event_uid"),
            format!("SELECT event_uid, eventName, CAST(epoch(time) AS BIGINT) AS t FROM cloudtrail WHERE userIdentity.arn = '{arn}' AND time >= TIMESTAMPTZ '2024-05-01 00:20:00+00' AND time < TIMESTAMPTZ '2024-05-02 00:30:00+00' ORDER BY time, event_uid"),
        ),
        // Activity by service and read/write.
        same("SELECT eventSource, readOnly, count(*) AS n FROM cloudtrail GROUP BY eventSource, readOnly ORDER BY n DESC, eventSource, readOnly LIMIT 25".into()),
        // Distinct principals per account.
        same("SELECT recipientAccountId, count(DISTINCT userIdentity.arn) AS principals FROM cloudtrail GROUP BY recipientAccountId ORDER BY recipientAccountId".into()),
        // The three busiest principals of each identity type (window function).
        same("SELECT t, p, n FROM (SELECT userIdentity.type AS t, userIdentity.arn AS p, count(*) AS n, row_number() OVER (PARTITION BY userIdentity.type ORDER BY count(*) DESC, userIdentity.arn) AS rk FROM cloudtrail GROUP BY userIdentity.type, userIdentity.arn) WHERE rk <= 3 ORDER BY t, n DESC, p".into()),
        // Rejected flows: top talkers by bytes.
        same("SELECT srcaddr, sum(bytes) AS b, count(*) AS n FROM vpcflow WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY b DESC, srcaddr LIMIT 20".into()),
        // Flows to sensitive ports from outside 10/8.
        same("SELECT dstport, count(*) AS n FROM vpcflow WHERE dstport IN (22, 3389, 5432) AND srcaddr NOT LIKE '10.%' GROUP BY dstport ORDER BY dstport".into()),
        // Kubernetes: who does what to which resource.
        same("SELECT verb, objectRef.resource AS r, count(*) AS n FROM k8s_audit GROUP BY verb, objectRef.resource ORDER BY n DESC, verb, r LIMIT 20".into()),
        // A join: principals seen in CloudTrail errors that also made Kubernetes calls is
        // not meaningful across sources here; join CloudTrail with itself instead: keys
        // used from more than one address within the data.
        same("SELECT a.k, count(DISTINCT a.ip) AS ips FROM (SELECT userIdentity.accessKeyId AS k, sourceIPAddress AS ip FROM cloudtrail) a JOIN (SELECT DISTINCT userIdentity.accessKeyId AS k FROM cloudtrail WHERE errorCode IS NOT NULL) e ON a.k = e.k GROUP BY a.k HAVING count(DISTINCT a.ip) > 1 ORDER BY ips DESC, a.k LIMIT 15".into()),
    ];
    let ours: Vec<Vec<Vec<Option<String>>>> = queries.iter().map(|(q, _)| one(q)).collect();
    let theirs = duckdb(
        dir.path(),
        &tables,
        &queries.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
    );
    for (i, ((q, _), (a, b))) in queries.iter().zip(ours.iter().zip(&theirs)).enumerate() {
        assert!(
            !a.is_empty(),
            "query {i} returned nothing, so it checks nothing: {q}"
        );
        assert_eq!(a, b, "query {i} differs from DuckDB: {q}");
    }
}

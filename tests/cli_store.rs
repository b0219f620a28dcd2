//! The store commands end to end: `vigil ingest --data [--detect]`, `vigil query`,
//! `vigil search`, `vigil verify`, `vigil retention`; `kill -9` during loading; a store
//! in S3 (moto's S3 server, started here) shared by two nodes.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{corpus, json_lines, vigil, vigil_cmd};

fn run(c: &mut Command) -> Output {
    c.output().expect("vigil runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "vigil failed: {}\n{}",
        stderr(&o),
        stdout(&o)
    );
    o
}

/// One integer from `vigil query --format csv`.
fn count(c: &mut Command) -> u64 {
    let o = ok(run(c));
    let text = stdout(&o);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("not a count: {text}"))
}

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ingest_query_search_verify_on_real_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let stratus = corpus().join("stratus-red-team");
    let first = ok(vigil(&[
        "ingest",
        "--data",
        d(&data),
        "--detect",
        d(&stratus),
    ]));
    let e = stderr(&first);
    assert!(
        e.contains("new findings") && e.contains("sealed segment"),
        "{e}"
    );
    assert!(data.join("dead-letter.ndjson").exists());

    // Loading the same input again changes nothing.
    let again = ok(vigil(&[
        "ingest",
        "--data",
        d(&data),
        "--detect",
        d(&stratus),
    ]));
    let e = stderr(&again);
    assert!(
        e.contains("stored 0 new events")
            && e.contains(", 0 new findings")
            && e.contains("unchanged"),
        "{e}"
    );

    // SQL, three formats; timestamps in UTC ISO-8601.
    let o = ok(vigil(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "json",
        "SELECT time, eventName, userIdentity.arn AS arn FROM cloudtrail ORDER BY time LIMIT 3",
    ]));
    let rows = json_lines(&o);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        let t = r["time"].as_str().unwrap();
        assert!(
            t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
    let o = ok(vigil(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT time, eventName, userIdentity FROM cloudtrail ORDER BY time LIMIT 5",
    ]));
    let csv = stdout(&o);
    assert!(csv.lines().next().unwrap().contains("userIdentity"));
    assert_eq!(csv.lines().count(), 6, "{csv}");
    // Nested values (structs above, lists here) are written as text.
    let o = ok(vigil(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT rule_id, tags, event_ids FROM findings ORDER BY finding_id LIMIT 4",
    ]));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains('['), "{csv}");
    let o = ok(vigil(&[
        "query",
        "--data",
        d(&data),
        "SELECT level, count(*) AS n FROM findings GROUP BY level ORDER BY level",
    ]));
    assert!(
        stdout(&o).contains("| level") && stdout(&o).contains("critical"),
        "{}",
        stdout(&o)
    );
    // Findings joined with their events.
    let n = count(&mut vigil_cmd(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT count(*) FROM findings f JOIN cloudtrail c ON array_has(f.event_ids, c.event_uid) WHERE f.correlation_type IS NULL",
    ]));
    assert!(n > 20, "{n}");

    // Read-only.
    let o = vigil(&["query", "--data", d(&data), "DELETE FROM cloudtrail"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("refused") && stderr(&o).contains("read-only"),
        "{}",
        stderr(&o)
    );

    // Full-text search, newest first, with each hit's event.
    let o = ok(vigil(&[
        "search",
        "--data",
        d(&data),
        "--table",
        "cloudtrail",
        "--limit",
        "3",
        "errorCode:AccessDenied",
    ]));
    let hits = json_lines(&o);
    assert_eq!(hits.len(), 3);
    assert!(
        hits.windows(2)
            .all(|w| w[0]["time"].as_str() >= w[1]["time"].as_str())
    );
    for h in &hits {
        assert_eq!(h["event"]["errorCode"], "AccessDenied");
        assert_eq!(h["event"]["eventID"], h["event_uid"]);
    }
    let o = ok(vigil(&[
        "search",
        "--data",
        d(&data),
        "--since",
        "2024-08-01T00:00:00Z",
        "--format",
        "table",
        "--limit",
        "50",
        "eventName:DescribeInstances",
    ]));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert!(
        !lines.is_empty()
            && lines
                .iter()
                .all(|l| l.as_str() >= "2024-08-01" && l.contains("DescribeInstances")),
        "{lines:?}"
    );
    // The search() table function in SQL.
    let n = count(&mut vigil_cmd(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT count(*) FROM search('cloudtrail', 'errorCode:AccessDenied') WHERE eventSource = 'sts.amazonaws.com'",
    ]));
    let m = count(&mut vigil_cmd(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT count(*) FROM cloudtrail WHERE errorCode = 'AccessDenied' AND eventSource = 'sts.amazonaws.com'",
    ]));
    assert!(n > 0);
    assert_eq!(n, m);

    // Verify: OK, then a flipped byte in a Parquet file fails naming the segment.
    let o = ok(vigil(&["verify", "--data", d(&data)]));
    assert!(stderr(&o).contains(": OK"), "{}", stderr(&o));
    let part = walk(&data.join("tables/cloudtrail"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let mut bytes = std::fs::read(&part).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&part, &bytes).unwrap();
    let o = vigil(&["verify", "--data", d(&data)]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("FAILED")
            && e.contains("segment")
            && e.contains(part.file_name().unwrap().to_str().unwrap()),
        "{e}"
    );

    // Not a store.
    let o = vigil(&["query", "--data", d(tmp.path()), "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a Vigil store"), "{}", stderr(&o));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Generated CloudTrail NDJSON with `n` events.
fn generated_cloudtrail(path: &Path, n: usize, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let cfg = vigil_bench::generate::GenConfig {
        seed,
        ..Default::default()
    };
    vigil_bench::generate::write_cloudtrail(
        &mut f,
        &cfg,
        n,
        vigil_bench::generate::CloudTrailForm::Ndjson,
    )
    .unwrap();
    f.flush().unwrap();
}

#[test]
fn kill_9_while_loading_then_rerun_stores_every_event_once() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("ct.ndjson");
    let events = 15_000;
    generated_cloudtrail(&input, events, 11);
    for (round, kill_after_ms) in [500u64, 1000, 1800].into_iter().enumerate() {
        let data = tmp.path().join(format!("store-{round}"));
        std::fs::create_dir_all(&data).unwrap();
        // Small segments, so that the kill often lands in a seal.
        std::fs::write(data.join("store.yaml"), "seal_rows: 2000\n").unwrap();
        let mut child = vigil_cmd(&["ingest", "--data", d(&data), "--threads", "1", d(&input)])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever was sealed verifies.
        ok(vigil(&["verify", "--data", d(&data)]));
        // Running again completes the load: every event exactly once.
        let o = ok(vigil(&["ingest", "--data", d(&data), d(&input)]));
        let total = count(&mut vigil_cmd(&[
            "query",
            "--data",
            d(&data),
            "--format",
            "csv",
            "SELECT count(*) FROM cloudtrail",
        ]));
        let distinct = count(&mut vigil_cmd(&[
            "query",
            "--data",
            d(&data),
            "--format",
            "csv",
            "SELECT count(DISTINCT event_uid) FROM cloudtrail",
        ]));
        assert_eq!(
            (total, distinct),
            (events as u64, events as u64),
            "round {round}: {}",
            stderr(&o)
        );
        ok(vigil(&["verify", "--data", d(&data)]));
    }
}

#[test]
fn retention_command_removes_expired_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    ok(vigil(&[
        "ingest",
        "--data",
        d(&data),
        d(&corpus().join("stratus-red-team")),
    ]));
    let o = ok(vigil(&["retention", "--data", d(&data)]));
    assert!(stderr(&o).contains("no retention set"), "{}", stderr(&o));
    let yaml = std::fs::read_to_string(data.join("store.yaml"))
        .unwrap()
        .replace("retention: null", "retention: 30d");
    std::fs::write(data.join("store.yaml"), yaml).unwrap();
    let o = ok(vigil(&["retention", "--data", d(&data)]));
    assert!(
        stderr(&o).contains("removed 1 segments older than 30d"),
        "{}",
        stderr(&o)
    );
    let n = count(&mut vigil_cmd(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT count(*) FROM cloudtrail",
    ]));
    assert_eq!(n, 0);
    let n = count(&mut vigil_cmd(&[
        "query",
        "--data",
        d(&data),
        "--format",
        "csv",
        "SELECT count(*) FROM audit WHERE action = 'retention_removed'",
    ]));
    assert_eq!(n, 1);
    ok(vigil(&["verify", "--data", d(&data)]));
}

/// moto's S3 server on a free local port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (the AWS API emulator; scripts/setup.sh --test installs it: pip install 'moto[server]')");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Runs boto3 against the server.
    fn boto3(&self, code: &str) -> String {
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n{code}",
            self.endpoint
        );
        let o = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A `vigil` command with the AWS environment pointing at this server.
    fn vigil(&self, args: &[&str]) -> Command {
        let mut c = vigil_cmd(args);
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1");
        c
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_store_in_s3_is_shared_by_two_nodes() {
    let moto = Moto::start();
    moto.boto3("s3.create_bucket(Bucket='vigil-test')");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("node-a"), tmp.path().join("node-b"));
    for n in [&a, &b] {
        std::fs::create_dir_all(n).unwrap();
        std::fs::write(
            n.join("store.yaml"),
            "object_store: s3://vigil-test/vigil\n",
        )
        .unwrap();
    }
    let c = corpus();
    // Node A loads CloudTrail, node B Kubernetes audit events, into the same bucket.
    ok(run(&mut moto.vigil(&[
        "ingest",
        "--data",
        d(&a),
        "--detect",
        d(&c.join("stratus-red-team")),
    ])));
    ok(run(&mut moto.vigil(&[
        "ingest",
        "--data",
        d(&b),
        d(&c.join("falco-k8saudit-tests")),
    ])));
    assert!(
        !a.join("tables").exists(),
        "sealed files should be in S3, not on node A's disk"
    );
    let keys = moto.boto3("r = s3.list_objects_v2(Bucket='vigil-test', Prefix='vigil/')\nprint('\\n'.join(o['Key'] for o in r.get('Contents', [])))");
    assert!(
        keys.lines()
            .any(|k| k.starts_with("vigil/tables/cloudtrail/date=") && k.ends_with(".parquet")),
        "{keys}"
    );
    assert!(
        keys.lines()
            .any(|k| k.starts_with("vigil/tables/k8s_audit/date=")),
        "{keys}"
    );
    assert!(keys.contains("vigil/manifest/0000000002.json"), "{keys}");
    // Each node sees both loads.
    for n in [&a, &b] {
        let ct = count(&mut moto.vigil(&[
            "query",
            "--data",
            d(n),
            "--format",
            "csv",
            "SELECT count(*) FROM cloudtrail",
        ]));
        let k8s = count(&mut moto.vigil(&[
            "query",
            "--data",
            d(n),
            "--format",
            "csv",
            "SELECT count(*) FROM k8s_audit",
        ]));
        assert!(ct > 300 && k8s > 20, "{ct} {k8s}");
    }
    // Search on node B reads node A's index from S3.
    let o = ok(run(&mut moto.vigil(&[
        "search",
        "--data",
        d(&b),
        "--limit",
        "2",
        "errorCode:AccessDenied",
    ])));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stderr(&o));
    // Reloading on node B what node A loaded stores nothing.
    let o = ok(run(&mut moto.vigil(&[
        "ingest",
        "--data",
        d(&b),
        d(&c.join("stratus-red-team")),
    ])));
    assert!(stderr(&o).contains("stored 0 new events"), "{}", stderr(&o));
    ok(run(&mut moto.vigil(&["verify", "--data", d(&a)])));
    // Tampering with an object in the bucket is caught.
    let key = keys.lines().find(|k| k.ends_with(".parquet")).unwrap();
    moto.boto3(&format!(
        "b = bytearray(s3.get_object(Bucket='vigil-test', Key='{key}')['Body'].read())\nb[len(b)//2] ^= 1\ns3.put_object(Bucket='vigil-test', Key='{key}', Body=bytes(b))"
    ));
    let o = run(&mut moto.vigil(&["verify", "--data", d(&b)]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(key.trim_start_matches("vigil/")),
        "{}",
        stderr(&o)
    );
}

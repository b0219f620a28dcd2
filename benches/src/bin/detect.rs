//! `vigil-bench detect`: Vigil vs rsigma, same events, same rules, one thread each.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, StringArray};
use vigil_bench::generate::{self, CloudTrailForm, GenConfig};
use vigil_detect::correlate::CorrelationConfig;
use vigil_detect::rule::load::load_str;
use vigil_detect::{Engine, EngineOptions, detect_batch};
use vigil_ingest::{DeadLetter, DecoderConfig, EventBatch, Flush, Sink, SourceKind};
use vigil_store::tables::{cast_batch, of_kind, stored_schema};
use yaml_serde::Value;

#[derive(Default)]
struct Collect(Vec<EventBatch>);

impl Sink for Collect {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        self.0.extend(f.batches);
        Ok(())
    }
    fn dead_letter(&mut self, _: DeadLetter) -> vigil_ingest::Result<()> {
        Ok(())
    }
}

struct Data {
    ndjson: Vec<u8>,
    batches: Vec<EventBatch>,
    /// The same batches as the store gives them back: categorical strings as
    /// dictionaries ([`vigil_store::tables::stored_schema`]), as a rule run over stored
    /// events (a retro-hunt) reads them.
    stored: Vec<EventBatch>,
    json: Vec<serde_json::Value>,
    ids: Vec<String>,
}

fn data(events: usize, distinct_user_agents: bool) -> Result<Data> {
    let cfg = GenConfig::default();
    let mut ndjson = Vec::new();
    generate::write_cloudtrail(&mut ndjson, &cfg, events, CloudTrailForm::Ndjson)?;
    if distinct_user_agents {
        ndjson = with_distinct_user_agents(&ndjson)?;
    }
    generate::write_k8s_audit(&mut ndjson, &cfg, events / 4)?;
    let mut c = Collect::default();
    let stats = vigil_ingest::decode_bytes(&ndjson, "bench", &DecoderConfig::default(), &mut c)?;
    if stats.rejected > 0 {
        bail!("generated data rejected");
    }
    let mut json = Vec::new();
    let mut ids = Vec::new();
    for b in &c.0 {
        let raw = b
            .batch
            .column_by_name("raw")
            .context("raw")?
            .as_any()
            .downcast_ref::<StringArray>()
            .context("raw")?
            .clone();
        let uid = b
            .batch
            .column_by_name("event_uid")
            .context("uid")?
            .as_any()
            .downcast_ref::<StringArray>()
            .context("uid")?
            .clone();
        for r in 0..raw.len() {
            json.push(serde_json::from_str(raw.value(r))?);
            ids.push(uid.value(r).to_string());
        }
    }
    let stored =
        c.0.iter()
            .map(|b| {
                let schema = stored_schema(of_kind(b.kind))?;
                Ok(EventBatch {
                    kind: b.kind,
                    batch: cast_batch(&b.batch, &schema)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    Ok(Data {
        ndjson,
        stored,
        batches: c.0,
        json,
        ids,
    })
}

/// `ndjson` (CloudTrail, one event per line) with a suffix of its own (` req/N`) added to
/// every event's user agent: the worst case of what real user agents do (aws-cli's
/// `command/...`, SDK and OS versions), where every value is new to detection's value
/// cache.
fn with_distinct_user_agents(ndjson: &[u8]) -> Result<Vec<u8>> {
    const KEY: &[u8] = b"\"userAgent\":\"";
    let mut out = Vec::with_capacity(ndjson.len() + ndjson.len() / 50);
    for (i, line) in ndjson.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some(start) = memchr::memmem::find(line, KEY).map(|at| at + KEY.len()) else {
            out.extend_from_slice(line);
            out.push(b'\n');
            continue;
        };
        // The closing quote: the first `"` not escaped by a backslash.
        let mut end = start;
        while end < line.len() && line[end] != b'"' {
            end += if line[end] == b'\\' { 2 } else { 1 };
        }
        if end >= line.len() {
            bail!("line {}: unterminated user agent", i + 1);
        }
        out.extend_from_slice(&line[..end]);
        out.extend_from_slice(format!(" req/{i}").as_bytes());
        out.extend_from_slice(&line[end..]);
        out.push(b'\n');
    }
    Ok(out)
}

/// The SigmaHQ rule files' text.
fn sigma_rules(dir: &std::path::Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(std::fs::read_to_string(&p)?);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn suffix_strings(v: &mut Value, suffix: &str) {
    match v {
        Value::String(s) => s.push_str(suffix),
        Value::Sequence(items) => items.iter_mut().for_each(|i| suffix_strings(i, suffix)),
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                if k.as_str() != Some("condition") {
                    suffix_strings(val, suffix);
                }
            }
        }
        _ => {}
    }
}

/// `n` rules: the base rules, then variants of them whose string values carry a suffix
/// (same structure and cost, different patterns).
fn variants(base: &[String], n: usize) -> Result<String> {
    let mut docs = Vec::new();
    for i in 0..n {
        let src = &base[i % base.len()];
        let round = i / base.len();
        let mut v: Value = yaml_serde::from_str(src)?;
        if round > 0
            && let Value::Mapping(m) = &mut v
        {
            m.insert(
                Value::String("id".into()),
                Value::String(format!("00000000-0000-4000-8000-{i:012}")),
            );
            if let Some(d) = m.get_mut(Value::String("detection".into())) {
                suffix_strings(d, &format!("-v{round}"));
            }
        }
        docs.push(yaml_serde::to_string(&v)?);
    }
    Ok(docs.join("---\n"))
}

struct Measure {
    compile_s: f64,
    rules: usize,
    vigil_eps: f64,
    /// Vigil on [`Data::stored`].
    stored_eps: f64,
    rsigma_eps: f64,
    vigil_matches: usize,
    rsigma_matches: Option<usize>,
    rsigma_events: usize,
}

/// `VIGIL_BENCH_VIGIL_ONLY=1` (for profiling Vigil): no rsigma, no end-to-end and
/// correlation sections (Vigil's fresh-input passes still run).
fn vigil_only() -> bool {
    std::env::var_os("VIGIL_BENCH_VIGIL_ONLY").is_some()
}

/// Vigil's engine for `rules_text` (YAML documents), with default options.
fn vigil_engine(rules_text: &str) -> Result<Engine> {
    Ok(Engine::from_rules(
        load_str(rules_text, std::path::Path::new("bench.yml")),
        EngineOptions::default(),
    )?)
}

/// rsigma's engine for `rules_text`; an error if rsigma rejects or cannot compile a rule.
fn rsigma_engine(rules_text: &str) -> Result<rsigma_eval::Engine> {
    let coll = rsigma_parser::parse_sigma_yaml(rules_text)?;
    if !coll.errors.is_empty() {
        bail!(
            "rsigma rejected rules: {:?}",
            coll.errors.iter().take(3).collect::<Vec<_>>()
        );
    }
    let mut rs = rsigma_eval::Engine::new();
    let errs = rs.add_rules(&coll.rules);
    if !errs.is_empty() {
        bail!(
            "rsigma failed to compile rules: {:?}",
            errs.iter().take(3).collect::<Vec<_>>()
        );
    }
    Ok(rs)
}

fn measure(rules_text: &str, d: &Data, budget: f64) -> Result<Measure> {
    let t = Instant::now();
    let engine = vigil_engine(rules_text)?;
    let compile_s = t.elapsed().as_secs_f64();
    if !engine.report().rejected.is_empty() {
        bail!(
            "vigil rejected rules: {:?}",
            engine.report().rejected.iter().take(3).collect::<Vec<_>>()
        );
    }
    let n_rules = engine.report().loaded.len();
    let plan = engine.plan().clone();
    let mut ev = engine.evaluator()?;
    // Passes over all the events, the decoder's batches then the stored ones, each set
    // after a second of untimed passes (see [`passes`], [`warm_then_median`]).
    // VIGIL_BENCH_REPEAT=N makes at least N timed passes each (for profiling); at least 3.
    let repeat: usize = std::env::var("VIGIL_BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(3);
    let parsed_before = ev.parsed_events();
    let (vigil_s, vm, made) = passes(&plan, &mut ev, &d.batches, repeat)?;
    // How many events a pass parses the JSON of (what the prefilter could not decide).
    eprintln!(
        "{n_rules} rules: {} events' JSON parsed per pass ({made} passes)",
        (ev.parsed_events() - parsed_before) / made as u64
    );
    // VIGIL_BENCH_STORED_REPEAT=3 keeps a profile of the decoder's batches nearly clean.
    let stored_repeat = std::env::var("VIGIL_BENCH_STORED_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .map_or(repeat, |r: usize| r.max(3));
    let (stored_s, sm, _) = passes(&plan, &mut ev, &d.stored, stored_repeat)?;
    if sm != vm {
        bail!("vigil found {vm} matches in the decoder's batches but {sm} in the stored ones");
    }
    let n_events = d.json.len();
    if vigil_only() {
        return Ok(Measure {
            compile_s,
            rules: n_rules,
            vigil_eps: n_events as f64 / vigil_s,
            stored_eps: n_events as f64 / stored_s,
            rsigma_eps: f64::NAN,
            vigil_matches: vm,
            rsigma_matches: None,
            rsigma_events: 0,
        });
    }
    // rsigma: the same rules and events (pre-parsed JSON), as many events as the budget
    // allows, measured as Vigil is.
    let rs = rsigma_engine(rules_text)?;
    let (rsigma_eps, (done, rm)) = rsigma_passes(&rs, &d.json, budget)?;
    Ok(Measure {
        compile_s,
        rules: n_rules,
        vigil_eps: n_events as f64 / vigil_s,
        stored_eps: n_events as f64 / stored_s,
        rsigma_eps,
        vigil_matches: vm,
        rsigma_matches: (done == n_events).then_some(rm),
        rsigma_events: done,
    })
}

/// Untimed passes of `plan` over `batches` for a second, then at least `repeat` timed
/// ones (and a second of them) with the same evaluator ([`warm_then_median`]): the median
/// timed pass's seconds (passes on this shared host vary by 10–20%), the match count and
/// the passes made.
///
/// The untimed passes fill the evaluator's value caches, as a running pipeline's are, but
/// mostly it brings the batches' memory back into use. On the host these figures come
/// from, memory left untouched for a second or more is several times slower to read
/// the first time, with no page fault in the guest: at 5,000 rules a pass ran at 11.3M
/// events/s, the same pass after a 3 s sleep at 1.4M, and after writing 1 GiB elsewhere
/// at 1.8M. (Empty caches cost little: a fresh evaluator's pass over memory in use ran
/// at 10.1M events/s, a warm evaluator's at 10.4M.)
/// The batches here were decoded long before (seconds to minutes in a full run); the
/// pipeline detects each batch as the decoder makes it, which [`fresh`] measures. rsigma
/// is measured the same way ([`rsigma_passes`]), both through [`warm_then_median`].
fn passes(
    plan: &vigil_detect::compile::Compiled,
    ev: &mut vigil_detect::eval::Evaluator,
    batches: &[EventBatch],
    repeat: usize,
) -> Result<(f64, usize, usize)> {
    warm_then_median(repeat, || {
        let t = Instant::now();
        let mut matches = 0;
        for b in batches {
            matches += detect_batch(plan, ev, b)?.len();
        }
        Ok((t.elapsed().as_secs_f64(), matches))
    })
}

/// Seconds of untimed passes before the timed ones (at least one pass).
const WARM_SECS: f64 = 1.0;
/// Seconds the timed passes take at least (and at least `timed` of them).
const MEASURE_SECS: f64 = 1.0;

/// The measuring protocol every engine gets, by wall time so that an engine with short
/// passes is not measured in a transient a long pass would absorb: untimed passes for
/// [`WARM_SECS`] (at least one), then timed ones until there are `timed` and they took
/// [`MEASURE_SECS`]. A pass returns its figure (seconds or events/s) and what it found;
/// the result is the median figure, what the last pass found and how many passes ran.
///
/// Why by time (stop 19): after rsigma's turn, Vigil's 17 ms passes at 5,000 rules stay
/// slow for longer than one warm-up pass (on this host memory left alone is slow to read
/// again, see [`passes`]); the median of 3 passes after 1 untimed one gave 14.0–15.0M
/// events/s where 15 timed passes gave 16.4–17.2M. rsigma's passes take over a second
/// each, so its protocol is the same as before: one untimed pass, then three.
fn warm_then_median<T>(
    timed: usize,
    mut pass: impl FnMut() -> Result<(f64, T)>,
) -> Result<(f64, T, usize)> {
    let start = Instant::now();
    let (_, mut found) = pass()?;
    let mut passes = 1;
    while start.elapsed().as_secs_f64() < WARM_SECS {
        found = pass()?.1;
        passes += 1;
    }
    let mut figures = Vec::with_capacity(timed);
    let start = Instant::now();
    while figures.len() < timed || start.elapsed().as_secs_f64() < MEASURE_SECS {
        let (figure, f) = pass()?;
        figures.push(figure);
        found = f;
        passes += 1;
    }
    Ok((super::median(&mut figures), found, passes))
}

/// Reads every byte of `b` once (a sum the optimiser cannot drop).
fn touch_bytes(b: &[u8]) {
    let sum = b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
    std::hint::black_box(sum);
}

/// rsigma as [`passes`] measures Vigil ([`warm_then_median`]: with passes of over a
/// second, one untimed pass over `json`, then three timed ones), each stopping once
/// `budget` seconds have passed (rsigma then evaluated a prefix
/// of the events). Returns the median timed pass's events/s, and the events the last pass
/// evaluated and their match count.
fn rsigma_passes(
    rs: &rsigma_eval::Engine,
    json: &[serde_json::Value],
    budget: f64,
) -> Result<(f64, (usize, usize))> {
    let (rate, found, _) = warm_then_median(3, || {
        let t = Instant::now();
        let (mut matches, mut done) = (0, 0);
        for v in json {
            matches += rs.evaluate(&rsigma_eval::JsonEvent::borrow(v)).len();
            done += 1;
            if done % 1000 == 0 && t.elapsed().as_secs_f64() > budget {
                break;
            }
        }
        Ok((done as f64 / t.elapsed().as_secs_f64(), (done, matches)))
    })?;
    Ok((rate, found))
}

/// A decoder sink that detects each batch as the decoder flushes it, then drops it (as
/// the pipeline runs: memory stays bounded), counting matches and the seconds spent in
/// detection alone.
struct Detecting<'p> {
    plan: &'p vigil_detect::compile::Compiled,
    ev: vigil_detect::eval::Evaluator,
    matches: usize,
    secs: f64,
}

impl<'p> Detecting<'p> {
    fn new(plan: &'p vigil_detect::compile::Compiled, ev: vigil_detect::eval::Evaluator) -> Self {
        Self {
            plan,
            ev,
            matches: 0,
            secs: 0.0,
        }
    }
}

impl Sink for Detecting<'_> {
    fn flush(&mut self, f: Flush) -> vigil_ingest::Result<()> {
        for b in &f.batches {
            let t = Instant::now();
            self.matches += detect_batch(self.plan, &mut self.ev, b)
                .map_err(|e| vigil_ingest::IngestError::Sink(e.to_string()))?
                .len();
            self.secs += t.elapsed().as_secs_f64();
        }
        Ok(())
    }
    fn dead_letter(&mut self, _: DeadLetter) -> vigil_ingest::Result<()> {
        Ok(())
    }
}

/// End to end, one thread: bytes -> matches. Vigil decodes to Arrow and detects; rsigma
/// parses each line with serde_json and evaluates.
fn end_to_end(rules_text: &str, d: &Data) -> Result<(f64, f64)> {
    let engine = vigil_engine(rules_text)?;
    let plan = engine.plan().clone();
    // As the pipeline runs: each batch is detected when the decoder flushes it, then
    // dropped (memory stays bounded).
    let mut sink = Detecting::new(&plan, engine.evaluator()?);
    // Each side reads the input bytes once untimed first, so that neither pays for
    // bringing back memory left idle (see [`passes`]).
    touch_bytes(&d.ndjson);
    let t = Instant::now();
    vigil_ingest::decode_bytes(&d.ndjson, "bench", &DecoderConfig::default(), &mut sink)?;
    let v = t.elapsed().as_secs_f64();
    let vm = sink.matches;
    let rs = rsigma_engine(rules_text)?;
    touch_bytes(&d.ndjson);
    let t = Instant::now();
    let mut rm = 0;
    for line in d.ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line)?;
        rm += rs.evaluate(&rsigma_eval::JsonEvent::borrow(&value)).len();
    }
    let r = t.elapsed().as_secs_f64();
    if vm != rm {
        eprintln!("warning: end-to-end match counts differ: vigil {vm}, rsigma {rm}");
    }
    let n = d.json.len() as f64;
    Ok((n / v, n / r))
}

/// Detection alone on fresh input, as the pipeline runs it: Vigil detects each batch
/// right after the decoder made it, rsigma evaluates each chunk of as many events right
/// after serde_json parsed them, and only the detection is timed. The passes above read
/// input decoded long before (all of it, far larger than the caches), so they measure
/// detection reading its input from memory; here it reads what was just written. Both
/// engines are measured by [`warm_then_median`] (at least three timed passes); rsigma gets the
/// same budget per pass as above. Returns Vigil's and rsigma's events/s.
fn fresh(rules_text: &str, d: &Data, budget: f64) -> Result<(f64, f64)> {
    let engine = vigil_engine(rules_text)?;
    let plan = engine.plan().clone();
    let cfg = DecoderConfig::default();
    let mut sink = Detecting::new(&plan, engine.evaluator()?);
    let (v, vm, _) = warm_then_median(3, || {
        sink.matches = 0;
        sink.secs = 0.0;
        vigil_ingest::decode_bytes(&d.ndjson, "bench", &cfg, &mut sink)?;
        Ok((sink.secs, sink.matches))
    })?;
    if vigil_only() {
        return Ok((d.json.len() as f64 / v, f64::NAN));
    }
    let rs = rsigma_engine(rules_text)?;
    let lines: Vec<&[u8]> = d
        .ndjson
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let (rate, (done, rm), _) = warm_then_median(3, || {
        let (mut r, mut done, mut rm) = (0.0, 0, 0);
        for chunk in lines.chunks(cfg.batch_rows) {
            let values = chunk
                .iter()
                .map(|l| serde_json::from_slice(l))
                .collect::<std::result::Result<Vec<serde_json::Value>, _>>()?;
            let t = Instant::now();
            for value in &values {
                rm += rs.evaluate(&rsigma_eval::JsonEvent::borrow(value)).len();
            }
            r += t.elapsed().as_secs_f64();
            done += values.len();
            if r > budget {
                break;
            }
        }
        Ok((done as f64 / r, (done, rm)))
    })?;
    if done == lines.len() && vm != rm {
        bail!("fresh input: vigil found {vm} matches, rsigma {rm}");
    }
    Ok((d.json.len() as f64 / v, rate))
}

fn correlations(d: &Data) -> Result<()> {
    let rules = r#"
title: API call
id: 10000000-0000-4000-8000-000000000001
name: api_call
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventVersion|exists: true}, condition: sel}
level: informational
---
title: Access denied
id: 10000000-0000-4000-8000-000000000002
name: denied
logsource: {product: aws, service: cloudtrail}
detection: {sel: {errorCode|exists: true}, condition: sel}
level: low
---
title: Busy principal
id: 10000000-0000-4000-8000-000000000003
correlation: {type: event_count, rules: [api_call], group-by: [userIdentity.arn], timespan: 5m, condition: {gte: 500}}
level: low
---
title: Principal touching many services
id: 10000000-0000-4000-8000-000000000004
correlation: {type: value_count, rules: [api_call], group-by: [userIdentity.arn], timespan: 10m, condition: {field: eventSource, gte: 15}}
level: medium
---
title: Denied then called
id: 10000000-0000-4000-8000-000000000005
correlation: {type: temporal_ordered, rules: [denied, api_call], group-by: [sourceIPAddress], timespan: 1m}
level: low
"#;
    let cfg = CorrelationConfig {
        allowed_lateness_secs: None,
        ..CorrelationConfig::default()
    };
    let engine = Engine::from_rules(
        load_str(rules, std::path::Path::new("corr.yml")),
        EngineOptions {
            correlation: cfg,
            ..EngineOptions::default()
        },
    )?;
    if !engine.report().rejected.is_empty() {
        bail!("{:?}", engine.report().rejected);
    }
    let plan = engine.plan().clone();
    let mut ev = engine.evaluator()?;
    let mut det = engine.detector();
    let ct: Vec<&EventBatch> = d
        .batches
        .iter()
        .filter(|b| b.kind == SourceKind::CloudTrail)
        .collect();
    let n: usize = ct.iter().map(|b| b.batch.num_rows()).sum();
    let t = Instant::now();
    let mut findings = 0;
    for b in &ct {
        findings += det.push([detect_batch(&plan, &mut ev, b)?]).len();
    }
    findings += det.finish().len();
    let v = t.elapsed().as_secs_f64();
    // rsigma's correlation engine on the same events.
    let coll = rsigma_parser::parse_sigma_yaml(rules)?;
    let mut rc = rsigma_eval::CorrelationEngine::new(rsigma_eval::CorrelationConfig::default());
    rc.add_collection(&coll)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let t = Instant::now();
    let mut rf = 0;
    for (v, id) in d.json.iter().zip(&d.ids).take(n) {
        let _ = id;
        let r = rc.process_event(&rsigma_eval::JsonEvent::borrow(v));
        rf += r.iter().filter(|x| !x.is_detection()).count();
    }
    let r = t.elapsed().as_secs_f64();
    println!();
    println!(
        "Correlation (2 detection rules feeding event_count, value_count and temporal_ordered correlations), {n} CloudTrail events:"
    );
    println!();
    println!("| engine | events/s | correlation findings |");
    println!("|---|---|---|");
    println!(
        "| Vigil | {:.0} | {} ({findings} emitted; one per episode) |",
        n as f64 / v,
        det.stats().correlation.findings
    );
    println!(
        "| rsigma | {:.0} | {rf} (rsigma re-emits on every event while a condition holds) |",
        n as f64 / r
    );
    Ok(())
}

/// Runs the detection benchmark (`distinct_user_agents`: see
/// [`with_distinct_user_agents`]).
pub fn run(
    events: usize,
    sigma: Option<PathBuf>,
    scale: &[usize],
    budget: f64,
    distinct_user_agents: bool,
) -> Result<()> {
    let sigma = match sigma {
        Some(s) => s,
        None => vigil_bench::corpus_dir()
            .context("shared corpus not found; pass --sigma")?
            .join("sigma/rules"),
    };
    let d = data(events, distinct_user_agents)?;
    eprintln!("{} events ({} batches)", d.json.len(), d.batches.len());
    let mut base = sigma_rules(&sigma.join("cloud/aws/cloudtrail"))?;
    base.extend(sigma_rules(&sigma.join("application/kubernetes"))?);
    // The rule sets, each made once for both tables: SigmaHQ's, then the variants.
    let mut sets = vec![(
        "SigmaHQ CloudTrail + Kubernetes".to_string(),
        base.join("---\n"),
    )];
    for &n in scale {
        sets.push((format!("{n} (variants)"), variants(&base, n)?));
    }
    println!(
        "| rules | Vigil compile | Vigil events/s | rsigma events/s | Vigil / rsigma | matches (Vigil / rsigma) | Vigil on stored batches events/s | stored / rsigma |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (label, text) in &sets {
        print_row(label, &measure(text, &d, budget)?);
    }
    println!();
    println!(
        "Detection alone on fresh input (each batch detected right after the decoder made it, each chunk of {} events evaluated by rsigma right after serde_json parsed it; only detection timed):",
        DecoderConfig::default().batch_rows
    );
    println!();
    println!("| rules | Vigil events/s | rsigma events/s | Vigil / rsigma |");
    println!("|---|---|---|---|");
    for (label, text) in &sets {
        let (v, r) = fresh(text, &d, budget)?;
        println!("| {label} | {v:.0} | {r:.0} | {:.1}x |", v / r);
    }
    if vigil_only() {
        return Ok(());
    }
    let (ve, re) = end_to_end(&sets[0].1, &d)?;
    println!();
    println!(
        "End to end (bytes -> matches, SigmaHQ rules, one thread): Vigil {ve:.0} events/s, rsigma {re:.0} events/s ({:.1}x)",
        ve / re
    );
    correlations(&d)?;
    Ok(())
}

fn print_row(label: &str, m: &Measure) {
    let matches = match m.rsigma_matches {
        Some(r) => format!(
            "{} / {}{}",
            m.vigil_matches,
            r,
            if r == m.vigil_matches { "" } else { " DIFFER" }
        ),
        None => format!(
            "{} / (rsigma ran {} events)",
            m.vigil_matches, m.rsigma_events
        ),
    };
    println!(
        "| {label} ({} loaded) | {:.2} s | {:.0} | {:.0} | {:.1}x | {matches} | {:.0} | {:.1}x |",
        m.rules,
        m.compile_s,
        m.vigil_eps,
        m.rsigma_eps,
        m.vigil_eps / m.rsigma_eps,
        m.stored_eps,
        m.stored_eps / m.rsigma_eps
    );
}

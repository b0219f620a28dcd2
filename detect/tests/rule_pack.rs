//! The shipped Sigma rule pack (`detect/rules/`), measured on real and generated attacks.
//!
//! - The whole pack loads with no rejection.
//! - Stratus Red Team: every one of the 35 AWS techniques detonated in the corpus raises a
//!   finding at level medium or above (and how many the SigmaHQ CloudTrail rules alone flag).
//! - Invictus lab account: findings at medium or above on events that are not attack calls,
//!   with the rules producing them, under a ceiling equal to the measured value.
//! - Falco's Kubernetes audit regression cases: share of positive cases flagged, and which
//!   negative cases are flagged and why.
//! - VPC flow and Falco rules fire on the planted and real cases they target and not on
//!   ordinary traffic; the generator's planted attack story is reported step by step.
//! - Near misses: what each filtered rule must not flag, next to its positive twin.
//!
//! Run with `--nocapture` for the tables behind each number.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::Array;
use common::*;
use serde_json::Value;
use vigil_bench::generate::{self, FlowForm, GenConfig, attacks};
use vigil_detect::compile::{CompileOptions, Compiled, compile};
use vigil_detect::eval::Evaluator;
use vigil_detect::rule::Level;
use vigil_detect::rule::load::load_paths;
use vigil_ingest::{EventBatch, SourceKind};

/// The shipped pack.
fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The pack's folder for one source.
fn pack(sub: &str) -> PathBuf {
    pack_dir().join(sub)
}

/// Loads and compiles rules, failing on any rejection.
fn plan_of(dirs: &[PathBuf]) -> Compiled {
    let plan = compile(load_paths(dirs).unwrap(), &CompileOptions::default()).unwrap();
    assert!(
        plan.report.rejected.is_empty(),
        "rejected rules in {dirs:?}:\n{:#?}",
        plan.report.rejected
    );
    plan
}

/// One matching row: the rule (index into `plan.rules`), the batch and the row.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    batch: usize,
    row: usize,
}

/// Every (rule, row) match of `plan` over `batches`.
fn hits(plan: &Compiled, batches: &[EventBatch]) -> Vec<Hit> {
    let mut ev = Evaluator::new(plan).unwrap();
    let mut out = Vec::new();
    for (bi, b) in batches.iter().enumerate() {
        for m in ev.evaluate(plan, b.kind, &b.batch).unwrap() {
            out.extend(m.rows.iter().map(|row| Hit {
                rule: m.rule,
                batch: bi,
                row,
            }));
        }
    }
    out
}

/// A string column's value, empty when null.
fn text<'a>(b: &'a EventBatch, name: &str, row: usize) -> &'a str {
    assert!(b.batch.column_by_name(name).is_some(), "no column {name}");
    text_value(b, name, row).unwrap_or("")
}

/// The raw event of a row, parsed.
fn raw(b: &EventBatch, row: usize) -> Value {
    serde_json::from_str(text(b, "raw", row)).unwrap_or(Value::Null)
}

fn title(plan: &Compiled, rule: usize) -> &str {
    &plan.rules[rule].meta.title
}

fn level(plan: &Compiled, rule: usize) -> Level {
    plan.rules[rule].meta.level
}

/// `title (level)`.
fn label(plan: &Compiled, rule: usize) -> String {
    format!("{} ({})", title(plan, rule), level(plan, rule).name())
}

/// Decodes events given as JSON values (one NDJSON document).
fn decode_events<'a>(events: impl IntoIterator<Item = &'a Value>) -> Batches {
    let mut nd = Vec::new();
    for e in events {
        serde_json::to_writer(&mut nd, e).unwrap();
        nd.push(b'\n');
    }
    let out = batches_of(&nd);
    assert!(out.1.is_empty(), "dead letters: {:#?}", out.1);
    out
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Lines from a generator (`next` appends one record without newline, false at the end),
/// after an optional header line.
fn generated(header: Option<&str>, mut next: impl FnMut(&mut Vec<u8>) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(h) = header {
        out.extend_from_slice(h.as_bytes());
        out.push(b'\n');
    }
    while next(&mut out) {
        out.push(b'\n');
    }
    out
}

/// Number of records the generator says it planted.
fn planted_events(p: &[generate::PlantedAttack]) -> usize {
    for a in p {
        eprintln!(
            "    planted {} {} {} ({}): {} events, {}",
            a.kind, a.scenario, a.technique, a.indicator, a.events, a.description
        );
    }
    p.iter().map(|a| a.events as usize).sum()
}

#[test]
fn whole_pack_loads_without_rejections() {
    let set = load_paths(&[pack_dir()]).unwrap();
    let plan = compile(set, &CompileOptions::default()).unwrap();
    for r in &plan.report.rejected {
        eprintln!(
            "REJECTED {} {:?} {:?}: {}",
            r.origin, r.rule_id, r.title, r.reason
        );
    }
    assert!(plan.report.rejected.is_empty());
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &plan.report.loaded {
        *per_kind.entry(r.source.unwrap_or(r.kind)).or_default() += 1;
        for w in &r.warnings {
            eprintln!("warning: {} ({}): {w}", r.title, r.origin);
        }
        // The one expected warning: the known-bad-network rule until a feed is given.
        if r.title == "Traffic With a Known-Bad Network Accepted" {
            assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
            assert!(r.warnings.iter().all(|w| w.contains("known_bad_networks")));
            continue;
        }
        assert!(
            r.warnings.is_empty(),
            "{} has warnings: {:?}",
            r.title,
            r.warnings
        );
    }
    eprintln!("loaded: {per_kind:?}");
    // Every detection rule of each source folder routes to that source, carries ATT&CK
    // tags (a technique wherever one applies) and is authored "Vigil".
    for (sub, kind) in [
        ("cloudtrail", SourceKind::CloudTrail),
        ("kubernetes", SourceKind::K8sAudit),
        ("vpcflow", SourceKind::VpcFlow),
        ("falco", SourceKind::Falco),
    ] {
        let p = plan_of(&[pack(sub)]);
        assert!(!p.rules.is_empty(), "{sub} is empty");
        for r in &p.rules {
            assert_eq!(r.kind, kind, "{} in {sub}", r.meta.title);
            assert_eq!(r.meta.author.as_deref(), Some("Vigil"), "{}", r.meta.title);
            assert!(
                r.meta.tags.iter().any(|t| t.starts_with("attack.")),
                "{} has no ATT&CK tag",
                r.meta.title
            );
        }
    }
    // The correlations ask for their input rules' own findings too (`generate: true`), so
    // no detection rule is silenced by being referenced, except the two informational
    // inputs of the first_seen steps, which match ordinary traffic and calls by design.
    let silent: BTreeSet<&str> = plan
        .rules
        .iter()
        .filter(|r| !r.emit)
        .map(|r| r.meta.title.as_str())
        .collect();
    assert_eq!(
        silent,
        BTreeSet::from([
            "IAM User or Root Call From a Public Address",
            "Accepted Flow From a Private Address to a Public Address",
        ])
    );
    for r in plan.rules.iter().filter(|r| !r.emit) {
        assert_eq!(r.meta.level, Level::Informational, "{}", r.meta.title);
    }
    // Every file is one rule with the metadata the pack promises, and a fresh UUID v4.
    let mut files = Vec::new();
    let mut stack = vec![pack_dir()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), plan.report.loaded.len());
    for f in &files {
        let doc: yaml_serde::Value =
            yaml_serde::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let correlation = doc.get("correlation").is_some();
        let required: &[&str] = if correlation {
            &[
                "title",
                "id",
                "status",
                "description",
                "author",
                "date",
                "tags",
                "correlation",
                "falsepositives",
                "level",
            ]
        } else {
            &[
                "title",
                "id",
                "status",
                "description",
                "author",
                "date",
                "tags",
                "logsource",
                "detection",
                "falsepositives",
                "level",
            ]
        };
        for k in required {
            assert!(doc.get(*k).is_some(), "{}: no {k}", f.display());
        }
        let id = doc["id"].as_str().unwrap();
        let parts: Vec<&str> = id.split('-').collect();
        assert!(
            parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
                && id
                    .chars()
                    .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                && parts[2].starts_with('4')
                && parts[3].starts_with(['8', '9', 'a', 'b']),
            "{}: id {id} is not a UUID v4",
            f.display()
        );
    }
    // Rule ids are unique across the pack.
    let ids: BTreeSet<&str> = plan.rules.iter().map(|r| r.meta.id.0.as_str()).collect();
    assert_eq!(ids.len(), plan.rules.len(), "duplicate rule ids");
}

// ---------------------------------------------------------------------------------------
// Stratus Red Team

/// Stratus technique id -> its detonation events.
fn stratus_techniques() -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for l in read_jsonl(&corpus().join("stratus-red-team/labelled_events.jsonl")) {
        let t = l["technique_id"].as_str().unwrap().to_string();
        out.entry(t).or_default().push(l["event"].clone());
    }
    out
}

/// Per technique, the rules (index) that matched any of its events, with the event names.
fn stratus_matches(
    plan: &Compiled,
    techniques: &BTreeMap<String, Vec<Value>>,
) -> BTreeMap<String, BTreeMap<usize, BTreeSet<String>>> {
    let mut out = BTreeMap::new();
    for (t, events) in techniques {
        let data = decode_events(events);
        let mut fired: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for h in hits(plan, &data.0) {
            let b = &data.0[h.batch];
            fired
                .entry(h.rule)
                .or_default()
                .insert(text(b, "eventName", h.row).to_string());
        }
        out.insert(t.clone(), fired);
    }
    out
}

fn flagged_at(
    plan: &Compiled,
    m: &BTreeMap<String, BTreeMap<usize, BTreeSet<String>>>,
    min: Level,
) -> BTreeSet<String> {
    m.iter()
        .filter(|(_, f)| f.keys().any(|&r| level(plan, r) >= min))
        .map(|(t, _)| t.clone())
        .collect()
}

#[test]
fn stratus_every_technique_flagged_at_medium_or_above() {
    let techniques = stratus_techniques();
    assert_eq!(techniques.len(), 35);
    assert_eq!(techniques.values().map(Vec::len).sum::<usize>(), 310);

    let ours = plan_of(&[pack("cloudtrail")]);
    let sigma = plan_of(&[corpus().join("sigma/rules/cloud/aws/cloudtrail")]);
    let m_ours = stratus_matches(&ours, &techniques);
    let m_sigma = stratus_matches(&sigma, &techniques);

    eprintln!("\nStratus technique -> shipped rules that fired (level) [events] | SigmaHQ rules");
    for t in techniques.keys() {
        let fmt = |plan: &Compiled, f: &BTreeMap<usize, BTreeSet<String>>| {
            let v: Vec<String> = f
                .iter()
                .map(|(&r, names)| {
                    format!(
                        "{} [{}]",
                        label(plan, r),
                        names.iter().cloned().collect::<Vec<_>>().join(",")
                    )
                })
                .collect();
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join("; ")
            }
        };
        eprintln!(
            "{t}\n    vigil: {}\n    sigma: {}",
            fmt(&ours, &m_ours[t]),
            fmt(&sigma, &m_sigma[t])
        );
    }
    let ours_med = flagged_at(&ours, &m_ours, Level::Medium);
    let ours_any = flagged_at(&ours, &m_ours, Level::Informational);
    let sigma_med = flagged_at(&sigma, &m_sigma, Level::Medium);
    let sigma_any = flagged_at(&sigma, &m_sigma, Level::Informational);
    eprintln!(
        "\ntechniques flagged (of {}): shipped pack {} at medium+ ({} at any level); SigmaHQ CloudTrail rules alone {} at medium+ ({} at any level)",
        techniques.len(),
        ours_med.len(),
        ours_any.len(),
        sigma_med.len(),
        sigma_any.len()
    );
    let missing: Vec<&String> = techniques
        .keys()
        .filter(|t| !ours_med.contains(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "techniques not flagged at medium+: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Invictus lab account: findings on background events

/// eventID -> weak label (user-agent class).
fn invictus_labels() -> BTreeMap<String, String> {
    read_jsonl(&corpus().join("invictus-sigma-aws/weak_labels_by_useragent.jsonl"))
        .into_iter()
        .map(|l| {
            (
                l["eventID"].as_str().unwrap().to_string(),
                l["ua_class"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Findings at medium or above on the Invictus lab's background events (userAgent without
/// "stratus-red-team"), as measured when the pack was written. Every one is a Terraform
/// call of the lab's own setup or teardown, with the lab's IAM user key:
/// - 20 x "Secret Value Read With Long-Term Credentials": Terraform refreshing the 20
///   secrets it created for the Secrets Manager technique (GetSecretValue);
/// - 2 x "CloudTrail Trail Stopped or Deleted": Terraform destroying the trail it created
///   for the CloudTrail techniques (DeleteTrail);
/// - 2 x "EC2 Instance User Data Read": Terraform refreshing an aws_instance reads its
///   user data (DescribeInstanceAttribute userData).
///
/// Each is the behaviour the rule exists for, done by the account's deployment identity;
/// a site would filter its pipeline's identity. Raising this number needs a reason.
const INVICTUS_BACKGROUND_CEILING: usize = 24;
const INVICTUS_BACKGROUND_RULES: usize = 3;

#[test]
fn invictus_background_findings_stay_under_the_measured_ceiling() {
    let plan = plan_of(&[pack("cloudtrail")]);
    let data = batches(&[corpus().join("invictus-sigma-aws/CloudTrail")]);
    assert!(data.1.is_empty(), "dead letters: {:#?}", data.1);
    let n_events: usize = data.0.iter().map(|b| b.batch.num_rows()).sum();
    assert_eq!(n_events, 2900);
    let labels = invictus_labels();

    // (rule -> [(eventName, ua class, user agent)]) for attack calls and background.
    let mut background: BTreeMap<usize, Vec<(String, String, String)>> = BTreeMap::new();
    let mut attack: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut warmup: BTreeMap<String, usize> = BTreeMap::new();
    for h in hits(&plan, &data.0) {
        if level(&plan, h.rule) < Level::Medium {
            continue;
        }
        let b = &data.0[h.batch];
        let ua = text(b, "userAgent", h.row);
        let name = text(b, "eventName", h.row).to_string();
        let class = labels
            .get(text(b, "eventID", h.row))
            .cloned()
            .unwrap_or_default();
        if ua.contains("stratus-red-team") {
            if class == "stratus-detonation-sdk" {
                attack.entry(h.rule).or_default().insert(name);
            } else {
                // Stratus's own Terraform warm-up and clean-up (its userAgent names
                // stratus-red-team too): not background by the definition above.
                *warmup
                    .entry(format!("{} [{name}]", label(&plan, h.rule)))
                    .or_default() += 1;
            }
        } else {
            background.entry(h.rule).or_default().push((
                name,
                class,
                ua.chars().take(60).collect(),
            ));
        }
    }
    let total: usize = background.values().map(Vec::len).sum();
    let mut top: Vec<_> = background.iter().collect();
    top.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let n_background = data
        .0
        .iter()
        .map(|b| {
            (0..b.batch.num_rows())
                .filter(|&r| !text(b, "userAgent", r).contains("stratus-red-team"))
                .count()
        })
        .sum::<usize>();
    eprintln!(
        "\ninvictus: {total} findings at medium+ on the {n_background} of {n_events} events whose userAgent lacks \"stratus-red-team\", from {} distinct rules:",
        background.len()
    );
    for &(&r, v) in &top {
        let mut by: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for x in v.iter() {
            *by.entry(x.clone()).or_default() += 1;
        }
        eprintln!("  {:3}  {}", v.len(), label(&plan, r));
        for ((name, class, ua), n) in by {
            eprintln!("         {n} x {name} [{class}] {ua}");
        }
    }
    eprintln!(
        "invictus: attack calls (userAgent \"stratus-red-team...\") flagged at medium+ by {} rules:",
        attack.len()
    );
    for (&r, names) in &attack {
        eprintln!("       {} {:?}", label(&plan, r), names);
    }
    eprintln!(
        "invictus: Stratus's Terraform warm-up/clean-up (userAgent names stratus-red-team, not counted above): {warmup:#?}"
    );
    assert!(
        total <= INVICTUS_BACKGROUND_CEILING && background.len() <= INVICTUS_BACKGROUND_RULES,
        "{total} background findings from {} rules, above the documented {INVICTUS_BACKGROUND_CEILING} from {INVICTUS_BACKGROUND_RULES}",
        background.len()
    );
    let not_terraform: Vec<_> = background
        .values()
        .flatten()
        .filter(|(_, class, _)| class != "terraform-other")
        .collect();
    assert!(
        not_terraform.is_empty(),
        "background findings outside the lab's Terraform runs: {not_terraform:#?}"
    );
    // The attack calls of this lab are found by many rules (one per technique family).
    assert!(
        attack.len() >= 21,
        "only {} rules fire on the attack calls",
        attack.len()
    );
}

// ---------------------------------------------------------------------------------------
// Falco's Kubernetes audit regression cases

/// The low-level image-pinning record: Falco's default rules have no counterpart, and
/// the suite's traces run `nginx` with no tag.
const UNPINNED_IMAGE: &str = "Container Image Not Pinned to a Version";

/// Why a negative case of Falco's suite is still flagged by the pack (by the rules titled
/// `flagged_by`), from the rule files the case adds to Falco's defaults (most negatives
/// are negative only because of an allow list in those files).
fn negative_reason(test: &str, overrides: &[&str], flagged_by: &[&str]) -> Option<&'static str> {
    if flagged_by == [UNPINNED_IMAGE] {
        return Some(
            "none of the Falco rules the case exercises applies to this unprivileged pod on the pod network; its image `nginx` has no tag, which Vigil's low-level image-pinning record notes (Falco's rules do not look at tags)",
        );
    }
    if overrides.contains(&"trust_nginx_container.yaml") {
        return Some(
            "the case adds nginx to Falco's trusted images; the pod is privileged / host-mounted / on the host network all the same, which is what the Vigil rule reports (Vigil has no site image allow list)",
        );
    }
    if overrides.contains(&"allow_namespace_foo.yaml")
        || overrides.contains(&"allow_user_some-user.yaml")
    {
        return Some(
            "the case allow-lists the namespace or user; Vigil's informational activity record still notes the namespace creation",
        );
    }
    if overrides.contains(&"disallow_kactivity.yaml") {
        return Some(
            "the case switches Falco's activity rules off; Vigil's informational activity record still notes the creation",
        );
    }
    if test == "create_kube_system_secret" {
        return Some(
            "Falco's secret activity rule skips kube-system; Vigil records user-created secrets everywhere, and a bootstrap-token secret lets a machine join the cluster as a node (medium)",
        );
    }
    None
}

#[test]
fn falco_k8s_audit_cases_flagged() {
    let plan = plan_of(&[pack("kubernetes"), pack("cloudtrail")]);
    let root = corpus().join("falco-k8saudit-tests");
    let cases = read_jsonl(&root.join("labels.jsonl"));
    assert_eq!(cases.len(), 71);

    // Trace file -> (rules that matched any event, source kinds decoded, dead letters).
    let mut traces: BTreeMap<String, (BTreeSet<usize>, BTreeSet<SourceKind>, usize)> =
        BTreeMap::new();
    for c in &cases {
        let f = c["trace_file"].as_str().unwrap();
        if traces.contains_key(f) {
            continue;
        }
        let data = batches(&[root.join(f)]);
        let kinds = data.0.iter().map(|b| b.kind).collect();
        let rules = hits(&plan, &data.0).into_iter().map(|h| h.rule).collect();
        traces.insert(f.to_string(), (rules, kinds, data.1.len()));
    }
    let k8s_rules = |rules: &BTreeSet<usize>| -> Vec<usize> {
        rules
            .iter()
            .copied()
            .filter(|&r| plan.rules[r].kind == SourceKind::K8sAudit)
            .collect()
    };

    let (mut flagged, mut positives, mut flagged_medium) = (0, 0, 0);
    let mut lines = Vec::new();
    let mut missed = Vec::new();
    let mut flagged_negatives = Vec::new();
    let mut unexplained = Vec::new();
    let mut other_suite = Vec::new();
    let (mut other_positives, mut other_flagged) = (0, 0);
    for c in &cases {
        let f = c["trace_file"].as_str().unwrap();
        let file = f.rsplit('/').next().unwrap();
        let test = c["test"].as_str().unwrap();
        let expected: Vec<&str> = c["detect_counts"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let (rules, kinds, dead) = &traces[f];
        if c["suite"] != "falco_k8s_audit_tests.yaml" {
            // The cloudtrail plugin cases hold CloudTrail events, out of a Kubernetes
            // rule's reach; reported with what the CloudTrail rules make of them.
            let ct: Vec<String> = rules.iter().map(|&r| label(&plan, r)).collect();
            if c["detect"] == true {
                other_positives += 1;
                other_flagged += usize::from(!ct.is_empty());
            }
            other_suite.push(format!(
                "{test} ({file}, detect={}, {kinds:?}): shipped CloudTrail rules {ct:?}",
                c["detect"]
            ));
            continue;
        }
        let ours = k8s_rules(rules);
        let names: Vec<String> = ours.iter().map(|&r| label(&plan, r)).collect();
        let overrides: Vec<&str> = c["rules_files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| !r.starts_with("BUILD_DIR"))
            .map(|r| r.rsplit('/').next().unwrap())
            .collect();
        if c["detect"] == true {
            positives += 1;
            if ours.is_empty() {
                missed.push(format!(
                    "{test} ({file}) expected Falco {expected:?}; the case's rule files {overrides:?}"
                ));
            } else {
                flagged += 1;
                if ours.iter().any(|&r| level(&plan, r) >= Level::Medium) {
                    flagged_medium += 1;
                }
                lines.push(format!("{test}: Falco {expected:?} -> {names:?}"));
            }
        } else if !ours.is_empty() {
            let titles: Vec<&str> = ours.iter().map(|&r| title(&plan, r)).collect();
            match negative_reason(test, &overrides, &titles) {
                Some(why) => flagged_negatives
                    .push(format!("{test} ({file}): {names:?}\n        why: {why}")),
                None => unexplained.push(format!(
                    "{test} ({file}): {names:?}, rule files {overrides:?}"
                )),
            }
        } else if *dead > 0 {
            eprintln!("negative {test} ({file}): {dead} dead letter(s), nothing to match");
        }
    }
    eprintln!("\nfalco k8s audit suite, flagged positives:");
    for l in &lines {
        eprintln!("    {l}");
    }
    eprintln!(
        "falco k8s audit suite: {flagged} of {positives} positive cases flagged ({:.1}%), {flagged_medium} of them by a rule at medium or above",
        100.0 * flagged as f64 / positives as f64
    );
    // The issue's target (>= 90%) counts a case flagged at any level; at medium or above
    // the pack flags 23 (the others only by low-level context rules such as the untagged
    // image record), pinned so that it cannot drop unnoticed.
    assert!(
        flagged_medium >= 23,
        "{flagged_medium} positive cases flagged at medium or above (was 23)"
    );
    eprintln!("missed positives ({}):", missed.len());
    for m in &missed {
        eprintln!("    {m}");
    }
    eprintln!("flagged negatives ({}):", flagged_negatives.len());
    for n in &flagged_negatives {
        eprintln!("    {n}");
    }
    eprintln!(
        "cloudtrail plugin suite (not Kubernetes audit; its positives are Falco's plugin demo rule on StartInstances, which no shipped rule treats as a finding):"
    );
    for o in &other_suite {
        eprintln!("    {o}");
    }
    let (all_flagged, all_positives) = (flagged + other_flagged, positives + other_positives);
    eprintln!(
        "falco test labels, every positive case (Kubernetes audit and cloudtrail plugin): {all_flagged} of {all_positives} flagged ({:.1}%)",
        100.0 * all_flagged as f64 / all_positives as f64
    );
    assert_eq!((positives, other_positives), (45, 2));
    assert!(
        flagged * 10 >= positives * 9,
        "{flagged} of {positives} Kubernetes positives flagged, below 90%"
    );
    assert!(
        all_flagged * 10 >= all_positives * 9,
        "{all_flagged} of {all_positives} positives flagged, below 90%"
    );
    assert!(
        unexplained.is_empty(),
        "negative cases flagged for no known reason: {unexplained:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// VPC flow logs

/// An Int32 column's value.
fn int(b: &EventBatch, name: &str, row: usize) -> Option<i64> {
    let c = b.batch.column_by_name(name)?;
    if c.is_null(row) {
        return None;
    }
    if let Some(a) = c.as_any().downcast_ref::<arrow::array::Int32Array>() {
        return Some(a.value(row) as i64);
    }
    c.as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .map(|a| a.value(row))
}

/// Rule title -> matched rows, per (batch, row).
fn rows_by_rule(
    plan: &Compiled,
    data: &[EventBatch],
) -> BTreeMap<String, BTreeSet<(usize, usize)>> {
    let mut out: BTreeMap<String, BTreeSet<(usize, usize)>> = BTreeMap::new();
    for t in plan.rules.iter().map(|r| r.meta.title.clone()) {
        out.entry(t).or_default();
    }
    for h in hits(plan, data) {
        out.entry(title(plan, h.rule).to_string())
            .or_default()
            .insert((h.batch, h.row));
    }
    out
}

const REJECTED: &str = "VPC Flow Connection Attempt Rejected";
const REMOTE_ADMIN: &str = "Inbound SSH or RDP From a Public Address Accepted";
const EXPOSED: &str =
    "Inbound Connection to an Unsafe-to-Expose Service Accepted From a Public Address";
const MINING: &str = "Outbound Connection to a Cryptomining Pool or IRC Port";
const RESERVED: &str = "Traffic With a Reserved, Non-Routable Address on the Internet Side";
/// The silent input of the first_seen correlations: ordinary outbound traffic.
const TO_PUBLIC: &str = "Accepted Flow From a Private Address to a Public Address";
const EGRESS: &str = "Large Transfer From a Private Address to the Internet in One Flow Record";

#[test]
fn vpcflow_rules_on_planted_attacks_and_ordinary_traffic() {
    let plan = plan_of(&[pack("vpcflow")]);
    let cfg = GenConfig::default();
    for form in [FlowForm::V2Default, FlowForm::V5Custom] {
        let mut g = generate::FlowGenerator::new(&cfg, 20_000);
        let bytes = generated(Some(generate::flow_header(form)), |b| g.next_into(b, form));
        eprintln!("\nvpcflow {form:?}:");
        let n_planted = planted_events(&g.planted());
        let data = batches_of(&bytes);
        assert!(data.1.is_empty());
        let rows = rows_by_rule(&plan, &data.0);
        // Planted records, found by the generator's documented attacker addresses.
        let mut scan = BTreeSet::new();
        let mut ssh = BTreeSet::new();
        let mut ssh_back = BTreeSet::new();
        let mut exfil_out = BTreeSet::new();
        let mut exfil_back = BTreeSet::new();
        for (bi, b) in data.0.iter().enumerate() {
            for r in 0..b.batch.num_rows() {
                let (src, dst) = (text(b, "srcaddr", r), text(b, "dstaddr", r));
                if src == attacks::SCANNER_IP {
                    scan.insert((bi, r));
                } else if src == attacks::CLOUD_ATTACKER_IP && int(b, "dstport", r) == Some(22) {
                    ssh.insert((bi, r));
                } else if dst == attacks::CLOUD_ATTACKER_IP {
                    ssh_back.insert((bi, r));
                } else if dst == attacks::EXFIL_DEST_IP {
                    exfil_out.insert((bi, r));
                } else if src == attacks::EXFIL_DEST_IP {
                    exfil_back.insert((bi, r));
                }
            }
        }
        let planted: BTreeSet<(usize, usize)> = scan
            .iter()
            .chain(&ssh)
            .chain(&ssh_back)
            .chain(&exfil_out)
            .chain(&exfil_back)
            .copied()
            .collect();
        assert_eq!(planted.len(), n_planted, "planted records found by address");
        eprintln!(
            "vpcflow {form:?}: planted scan {} records, attacker SSH {}, exfil egress {}, exfil return {}",
            scan.len(),
            ssh.len(),
            exfil_out.len(),
            exfil_back.len()
        );
        for (t, hit) in &rows {
            let on_planted = hit.intersection(&planted).count();
            eprintln!(
                "    {t}: {} records, {on_planted} planted, {} background",
                hit.len(),
                hit.len() - on_planted
            );
        }
        assert!(scan.len() >= 100 && !ssh.is_empty() && !exfil_out.is_empty());
        assert!(
            scan.is_subset(&rows[REJECTED]),
            "scan probes not all rejected-flagged"
        );
        assert!(
            ssh.is_subset(&rows[REMOTE_ADMIN]),
            "attacker SSH not flagged"
        );
        assert!(
            exfil_out.is_subset(&rows[EGRESS]),
            "exfiltration not flagged"
        );
        // The generator uses TEST-NET addresses for every attacker, so the reserved-range
        // rule flags every planted record.
        assert!(planted.is_subset(&rows[RESERVED]));
        // The large-egress rule fires on nothing else.
        assert_eq!(rows[EGRESS].difference(&exfil_out).count(), 0);
        assert!(rows[MINING].is_empty() && rows[EXPOSED].is_empty());
    }

    // The AWS documentation examples: ordinary traffic, written with documentation
    // addresses (203.0.113.0/24, 2001:db8::/32) in three of the files.
    let dir = corpus().join("aws-vpc-flow-logs-docs/extracted");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    eprintln!("\naws docs flow examples:");
    let mut reserved_files = BTreeSet::new();
    for f in &files {
        let data = batches(std::slice::from_ref(f));
        let n: usize = data.0.iter().map(|b| b.batch.num_rows()).sum();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let mut fired: BTreeMap<String, usize> = BTreeMap::new();
        for h in hits(&plan, &data.0) {
            *fired.entry(label(&plan, h.rule)).or_default() += 1;
            if title(&plan, h.rule) == RESERVED {
                reserved_files.insert(name.clone());
            }
            let b = &data.0[h.batch];
            let documentation_address = [text(b, "srcaddr", h.row), text(b, "dstaddr", h.row)]
                .iter()
                .any(|a| a.starts_with("203.0.113.") || a.starts_with("2001:db8:"));
            // Only the informational rejection record, the silent correlation input and
            // the reserved-address rule (on documentation addresses) may fire on the
            // documentation's ordinary traffic.
            match title(&plan, h.rule) {
                REJECTED | TO_PUBLIC => {}
                RESERVED => assert!(documentation_address, "{name} row {}", h.row),
                other => panic!("{other} fired on ordinary traffic in {name}"),
            }
        }
        eprintln!(
            "    {name}: {n} records, dead letters {}, findings {fired:?}",
            data.1.len()
        );
    }
    assert_eq!(
        reserved_files.into_iter().collect::<Vec<_>>(),
        [
            "03_flow-log-example-security-groups.log",
            "04_flow-log-example-ipv6.log",
            "06_flow-log-example-nat.log"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Falco alerts

#[test]
fn falco_rules_on_documented_and_planted_alerts() {
    let plan = plan_of(&[pack("falco")]);

    // The Falco website's alert examples.
    let data = batches(&[corpus().join("falco-website-alert-examples/alerts.ndjson")]);
    assert!(data.1.is_empty());
    let mut per_alert: Vec<(String, String, BTreeSet<String>)> = Vec::new();
    let mut index = BTreeMap::new();
    for (bi, b) in data.0.iter().enumerate() {
        for r in 0..b.batch.num_rows() {
            let a = raw(b, r);
            index.insert((bi, r), per_alert.len());
            per_alert.push((
                a["rule"].as_str().unwrap_or("").to_string(),
                a["priority"].as_str().unwrap_or("").to_string(),
                BTreeSet::new(),
            ));
        }
    }
    assert_eq!(per_alert.len(), 18);
    for h in hits(&plan, &data.0) {
        per_alert[index[&(h.batch, h.row)]]
            .2
            .insert(title(&plan, h.rule).to_string());
    }
    eprintln!("\nfalco website alerts:");
    for (rule, prio, fired) in &per_alert {
        eprintln!("    {rule} ({prio}) -> {fired:?}");
        let expect: &[&str] = match (rule.as_str(), prio.as_str()) {
            ("Terminal shell in container", "Critical") => &[
                "Interactive Shell Spawned in a Container",
                "Falco Alert at Error Priority or Above",
            ],
            ("Terminal shell in container", _) => &["Interactive Shell Spawned in a Container"],
            ("Attach/Exec Pod", _) => &["Falco Reports Exec or Attach Into a Pod"],
            // Ordinary: API server contacts by known operators, user allow-list
            // notices, service account creation, Falco's own metrics.
            _ => &[],
        };
        let expect: BTreeSet<String> = expect.iter().map(|s| s.to_string()).collect();
        assert_eq!(fired, &expect, "{rule} ({prio})");
    }

    // Falco's own test output (cat /dev/null opens): nothing fires.
    let data = batches(&[
        corpus().join("falco-k8saudit-tests/test/output_files/single_rule_with_cat_write.json")
    ]);
    assert_eq!(data.0.iter().map(|b| b.batch.num_rows()).sum::<usize>(), 8);
    assert!(hits(&plan, &data.0).is_empty());

    // Generated alerts with the planted k8s-compromise steps.
    eprintln!("\ngenerated falco alerts:");
    let mut g = generate::FalcoGenerator::new(&GenConfig::default(), 2_000);
    let bytes = generated(None, |b| g.next_into(b));
    let n_planted = planted_events(&g.planted());
    let data = batches_of(&bytes);
    assert!(data.1.is_empty());
    let mut planted: BTreeMap<(usize, usize), (String, BTreeSet<String>)> = BTreeMap::new();
    for (bi, b) in data.0.iter().enumerate() {
        for r in 0..b.batch.num_rows() {
            let a = raw(b, r);
            let cid = a["output_fields"]["container.id"].as_str().unwrap_or("");
            let pod = a["output_fields"]["k8s.pod.name"].as_str().unwrap_or("");
            if cid == attacks::EXEC_CONTAINER_ID || pod == attacks::PRIVILEGED_POD {
                planted.insert(
                    (bi, r),
                    (a["rule"].as_str().unwrap().to_string(), BTreeSet::new()),
                );
            }
        }
    }
    let mut background: BTreeMap<String, usize> = BTreeMap::new();
    for h in hits(&plan, &data.0) {
        match planted.get_mut(&(h.batch, h.row)) {
            Some((_, f)) => {
                f.insert(label(&plan, h.rule));
            }
            None => *background.entry(label(&plan, h.rule)).or_default() += 1,
        }
    }
    eprintln!("\ngenerated falco alerts, planted k8s-compromise steps:");
    for (rule, fired) in planted.values() {
        eprintln!("    {rule} -> {fired:?}");
    }
    eprintln!("generated falco alerts, background findings per rule: {background:#?}");
    assert_eq!(planted.len(), n_planted);
    for (rule, _) in planted.values() {
        let ok = hits(&plan, &data.0).iter().any(|h| {
            planted
                .get(&(h.batch, h.row))
                .is_some_and(|(r, _)| r == rule)
                && level(&plan, h.rule) >= Level::Medium
        });
        assert!(ok, "planted {rule} not flagged at medium+");
    }
}

// ---------------------------------------------------------------------------------------
// The generator's planted attack story (CloudTrail and Kubernetes audit)

/// Planted events (description, rules that fired on it) in stream order, and the
/// findings per rule on everything else.
type Story = (Vec<(String, Vec<usize>)>, BTreeMap<usize, usize>);

/// Per planted event (in stream order): a description and the rules that fired on it.
/// Planted events are found by the attacker addresses documented in `attacks`.
fn planted_steps(
    plan: &Compiled,
    data: &[EventBatch],
    is_planted: impl Fn(&EventBatch, usize) -> Option<String>,
) -> Story {
    let mut steps = Vec::new();
    let mut at = BTreeMap::new();
    for (bi, b) in data.iter().enumerate() {
        for r in 0..b.batch.num_rows() {
            if let Some(d) = is_planted(b, r) {
                at.insert((bi, r), steps.len());
                steps.push((d, Vec::new()));
            }
        }
    }
    let mut background: BTreeMap<usize, usize> = BTreeMap::new();
    for h in hits(plan, data) {
        match at.get(&(h.batch, h.row)) {
            Some(&i) => steps[i].1.push(h.rule),
            None => *background.entry(h.rule).or_default() += 1,
        }
    }
    (steps, background)
}

fn print_story(
    plan: &Compiled,
    name: &str,
    steps: &[(String, Vec<usize>)],
    background: &BTreeMap<usize, usize>,
) {
    eprintln!("\n{name}: planted steps and the rules that flag them");
    for (d, rules) in steps {
        let l: Vec<String> = rules.iter().map(|&r| label(plan, r)).collect();
        eprintln!(
            "    {d}\n        {}",
            if l.is_empty() {
                "-".into()
            } else {
                l.join("; ")
            }
        );
    }
    eprintln!("{name}: findings on background events, per rule:");
    for (&r, n) in background {
        eprintln!("    {n:5}  {}", label(plan, r));
    }
}

#[test]
fn generated_attack_story_steps_are_flagged() {
    let cfg = GenConfig::default();

    // CloudTrail: the leaked-access-key scenario.
    let plan = plan_of(&[pack("cloudtrail")]);
    eprintln!("\ngenerated CloudTrail:");
    let mut g = generate::CloudTrailGenerator::new(&cfg, 20_000);
    let bytes = generated(None, |b| g.next_into(b));
    let n_planted = planted_events(&g.planted());
    let data = batches_of(&bytes);
    assert!(data.1.is_empty());
    let (steps, background) = planted_steps(&plan, &data.0, |b, r| {
        (text(b, "sourceIPAddress", r) == attacks::CLOUD_ATTACKER_IP).then(|| {
            format!(
                "{} by {}",
                text(b, "eventName", r),
                text(b, "actor_user", r)
            )
        })
    });
    print_story(&plan, "generated CloudTrail", &steps, &background);
    assert_eq!(
        steps.len(),
        n_planted,
        "planted CloudTrail events found by address"
    );
    for (d, rules) in &steps {
        assert!(
            rules.iter().any(|&r| level(&plan, r) >= Level::Medium),
            "CloudTrail step {d} not flagged at medium+"
        );
    }

    // Kubernetes audit: the k8s-compromise scenario.
    let plan = plan_of(&[pack("kubernetes")]);
    eprintln!("\ngenerated Kubernetes audit:");
    let mut g = generate::K8sAuditGenerator::new(&cfg, 10_000);
    let bytes = generated(None, |b| g.next_into(b));
    let n_planted = planted_events(&g.planted());
    let data = batches_of(&bytes);
    assert!(data.1.is_empty());
    let (steps, background) = planted_steps(&plan, &data.0, |b, r| {
        (text(b, "src_endpoint_ip", r) == attacks::K8S_ATTACKER_IP).then(|| {
            format!(
                "{} {} by {}",
                text(b, "verb", r),
                text(b, "requestURI", r),
                text(b, "actor_user", r)
            )
        })
    });
    print_story(&plan, "generated Kubernetes audit", &steps, &background);
    assert_eq!(
        steps.len(),
        n_planted,
        "planted audit events found by address"
    );
    for (d, rules) in &steps {
        // The anonymous probes the API server refused are recorded at low level only;
        // every other step raises a finding at medium or above.
        let min = if d.ends_with("by system:anonymous") && !d.contains("/version") {
            Level::Low
        } else {
            Level::Medium
        };
        assert!(
            rules.iter().any(|&r| level(&plan, r) >= min),
            "Kubernetes step {d} not flagged at {}+",
            min.name()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Near misses: what each rule is careful not to flag, next to what it must flag

/// A CloudTrail event with the given source, name and members.
fn ct(source: &str, name: &str, extra: Value) -> Vec<u8> {
    let mut e = serde_json::json!({
        "eventVersion": "1.09",
        "eventTime": "2026-11-29T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9 exe/x86_64.ubuntu.22",
        "eventID": "00000000-0000-4000-8000-000000000000",
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "userName": "alice",
                         "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    serde_json::to_vec(&e).unwrap()
}

/// A Kubernetes audit event.
fn k8s(verb: &str, user: &str, ip: &str, object: Value, extra: Value) -> Vec<u8> {
    let mut e = serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": "7e6b0f3a-0000-4000-8000-000000000000", "stage": "ResponseComplete",
        "requestURI": "/api/v1/x", "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": [ip], "objectRef": object,
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2026-11-29T10:00:00.000000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    serde_json::to_vec(&e).unwrap()
}

fn pod_object(ns: &str) -> Value {
    serde_json::json!({"resource": "pods", "namespace": ns, "apiVersion": "v1"})
}

fn pod_spec(spec: Value) -> Value {
    serde_json::json!({"requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": spec}})
}

const FLOW_V5_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status pkt-dst-aws-service flow-direction";

fn flow(record: &str) -> Vec<u8> {
    format!("{FLOW_V5_HEADER}\n{record}\n").into_bytes()
}

#[test]
fn near_misses_are_not_flagged_and_their_positive_twins_are() {
    let plan = plan_of(&[pack_dir()]);
    let admin_policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let cases: Vec<(&str, bool, &str, Vec<u8>)> = vec![
        // CloudTrail
        ("Console Password of Another IAM User Changed", false, "own password",
         ct("iam.amazonaws.com", "UpdateLoginProfile", serde_json::json!({"requestParameters": {"userName": "alice"}}))),
        ("Console Password of Another IAM User Changed", true, "another user's password",
         ct("iam.amazonaws.com", "UpdateLoginProfile", serde_json::json!({"requestParameters": {"userName": "bob"}}))),
        ("Access Key Created for Another IAM User", false, "own key, no user named",
         ct("iam.amazonaws.com", "CreateAccessKey", serde_json::json!({"requestParameters": null}))),
        ("Access Key Created for Another IAM User", false, "own key, own name",
         ct("iam.amazonaws.com", "CreateAccessKey", serde_json::json!({"requestParameters": {"userName": "alice"}}))),
        ("Security Group Opened to the Whole Internet", false, "private range",
         ct("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", serde_json::json!({"requestParameters": {"groupId": "sg-1",
            "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16"}]}}]}}}))),
        ("Security Group Opened to the Whole Internet", true, "IPv6 ::/0 in the second permission",
         ct("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", serde_json::json!({"requestParameters": {"groupId": "sg-1",
            "ipPermissions": {"items": [{"ipRanges": {"items": [{"cidrIp": "10.0.0.0/16"}]}}, {"ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}}]}}}))),
        ("CloudTrail Event Selectors Stop Recording Management Events", false, "management events kept",
         ct("cloudtrail.amazonaws.com", "PutEventSelectors", serde_json::json!({"requestParameters": {"trailName": "t",
            "eventSelectors": [{"includeManagementEvents": true, "readWriteType": "All", "dataResources": []}]}}))),
        ("CloudTrail Event Selectors Stop Recording Management Events", false, "advanced selectors keep management events",
         ct("cloudtrail.amazonaws.com", "PutEventSelectors", serde_json::json!({"requestParameters": {"trailName": "t",
            "advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}]}}))),
        ("CloudTrail Event Selectors Stop Recording Management Events", true, "advanced selectors for data events only",
         ct("cloudtrail.amazonaws.com", "PutEventSelectors", serde_json::json!({"requestParameters": {"trailName": "t",
            "advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}]}}))),
        ("S3 Bucket Opened to the Public", false, "policy for one account",
         ct("s3.amazonaws.com", "PutBucketPolicy", serde_json::json!({"requestParameters": {"bucketName": "b", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}}))),
        ("S3 Bucket Opened to the Public", true, "policy for AWS *",
         ct("s3.amazonaws.com", "PutBucketPolicy", serde_json::json!({"requestParameters": {"bucketName": "b", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}}))),
        ("Lambda Function Invocable by Anyone", false, "invocable by S3 only",
         ct("lambda.amazonaws.com", "AddPermission20150331v2", serde_json::json!({"requestParameters": {"functionName": "f", "principal": "s3.amazonaws.com", "action": "lambda:InvokeFunction"}}))),
        ("IAM Role Trust Policy Lets a Whole AWS Account or Anyone Assume It", false, "service principal only",
         ct("iam.amazonaws.com", "CreateRole", serde_json::json!({"requestParameters": {"roleName": "r",
            "assumeRolePolicyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}}))),
        ("IAM Role Trust Policy Lets a Whole AWS Account or Anyone Assume It", false, "one named role of another account",
         ct("iam.amazonaws.com", "UpdateAssumeRolePolicy", serde_json::json!({"requestParameters": {"roleName": "r",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::444455556666:role/deployer\"},\"Action\":\"sts:AssumeRole\"}]}"}}))),
        ("IAM Role Trust Policy Lets a Whole AWS Account or Anyone Assume It", true, "bare account id in a list",
         ct("iam.amazonaws.com", "UpdateAssumeRolePolicy", serde_json::json!({"requestParameters": {"roleName": "r",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::444455556666:role/x\",\"444455556666\"]},\"Action\":\"sts:AssumeRole\"}]}"}}))),
        ("Administrator Policy Attached to an IAM Identity", false, "read-only policy",
         ct("iam.amazonaws.com", "AttachUserPolicy", serde_json::json!({"requestParameters": {"userName": "u", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}))),
        ("Administrator Policy Attached to an IAM Identity", true, "inline allow-everything policy",
         ct("iam.amazonaws.com", "PutRolePolicy", serde_json::json!({"requestParameters": {"roleName": "r", "policyName": "p", "policyDocument": admin_policy}}))),
        ("EC2 Instances of GPU, Accelerated or Very Large Types Requested", false, "t3.micro",
         ct("ec2.amazonaws.com", "RunInstances", serde_json::json!({"requestParameters": {"instanceType": "t3.micro"}}))),
        ("EC2 Instances of GPU, Accelerated or Very Large Types Requested", false, "g.. is not a prefix match: m5.2xlarge",
         ct("ec2.amazonaws.com", "RunInstances", serde_json::json!({"requestParameters": {"instanceType": "m5.2xlarge"}}))),
        ("EC2 Instances of GPU, Accelerated or Very Large Types Requested", true, "g5.xlarge",
         ct("ec2.amazonaws.com", "RunInstances", serde_json::json!({"requestParameters": {"instanceType": "g5.xlarge"}}))),
        ("EC2 Instances of GPU, Accelerated or Very Large Types Requested", true, "c5.24xlarge",
         ct("ec2.amazonaws.com", "RunInstances", serde_json::json!({"requestParameters": {"instanceType": "c5.24xlarge"}}))),
        ("EC2 Instance User Data Modified", false, "instance type change",
         ct("ec2.amazonaws.com", "ModifyInstanceAttribute", serde_json::json!({"requestParameters": {"instanceId": "i-1", "instanceType": {"value": "m5.large"}}}))),
        ("EBS Snapshot or AMI Shared With Another Account or Made Public", false, "sharing removed",
         ct("ec2.amazonaws.com", "ModifySnapshotAttribute", serde_json::json!({"requestParameters": {"snapshotId": "snap-1",
            "createVolumePermission": {"remove": {"items": [{"userId": "444455556666"}]}}}}))),
        ("Secret Value Read With Long-Term Credentials", false, "role session",
         ct("secretsmanager.amazonaws.com", "GetSecretValue", serde_json::json!({"userIdentity": {"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/app/i-1"}, "requestParameters": {"secretId": "s"}}))),
        ("Console Login by an IAM User Without MFA", false, "with MFA",
         ct("signin.amazonaws.com", "ConsoleLogin", serde_json::json!({"responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "Yes"}}))),
        ("Console Login by an IAM User Without MFA", false, "failed login",
         ct("signin.amazonaws.com", "ConsoleLogin", serde_json::json!({"responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}}))),
        ("Root User Activity", false, "AWS service acting for the root user",
         ct("sts.amazonaws.com", "AssumeRole", serde_json::json!({"userIdentity": {"type": "Root", "invokedBy": "cloudformation.amazonaws.com", "arn": "arn:aws:iam::111122223333:root"}}))),
        ("AWS Security Monitoring Service Disabled", false, "GuardDuty detector enabled",
         ct("guardduty.amazonaws.com", "UpdateDetector", serde_json::json!({"requestParameters": {"detectorId": "d", "enable": true}}))),
        ("AWS Security Monitoring Service Disabled", true, "GuardDuty detector disabled",
         ct("guardduty.amazonaws.com", "UpdateDetector", serde_json::json!({"requestParameters": {"detectorId": "d", "enable": false}}))),
        ("AWS API Called From a Penetration-Testing Distribution", false, "an Ubuntu aws-cli",
         ct("sts.amazonaws.com", "GetCallerIdentity", serde_json::json!({}))),
        // Kubernetes audit
        ("Privileged Container Requested", false, "privileged: false",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": false}}]})))),
        ("Privileged Container Requested", true, "privileged DaemonSet template",
         k8s("create", "alice", "10.0.0.5", serde_json::json!({"resource": "daemonsets", "namespace": "default", "apiGroup": "apps"}),
             serde_json::json!({"requestObject": {"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}}}}}))),
        ("Privileged Container Requested", false, "RequestReceived stage (reported at ResponseComplete)",
         {
             let mut e: Value = serde_json::from_slice(&k8s("create", "alice", "10.0.0.5", pod_object("default"),
                 pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]})))).unwrap();
             e["stage"] = "RequestReceived".into();
             serde_json::to_vec(&e).unwrap()
         }),
        ("Pod Mounts a Sensitive Host Path", false, "/var/log",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "x"}], "volumes": [{"name": "v", "hostPath": {"path": "/var/log"}}]})))),
        ("Container Image Not Pinned to a Version", false, "tagged image on a registry with a port",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "registry.internal:5000/team/app:1.4.2"}]})))),
        ("Container Image Not Pinned to a Version", false, "latest tag pinned by digest",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"}]})))),
        ("Container Image Not Pinned to a Version", true, "registry with a port, no tag",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "registry.internal:5000/team/app"}]})))),
        ("Container Image Not Pinned to a Version", true, "second container on :latest",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "a", "image": "nginx:1.25.3"}, {"name": "b", "image": "mysql:latest"}]})))),
        ("Container Image Not Pinned to a Version", true, "Deployment template with a bare name",
         k8s("create", "alice", "10.0.0.5", serde_json::json!({"resource": "deployments", "namespace": "default", "apiGroup": "apps"}),
             serde_json::json!({"requestObject": {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}))),
        ("Pod Mounts a Sensitive Host Path", true, "docker socket",
         k8s("create", "alice", "10.0.0.5", pod_object("default"), pod_spec(serde_json::json!({"containers": [{"name": "c", "image": "x"}], "volumes": [{"name": "v", "hostPath": {"path": "/var/run/docker.sock"}}]})))),
        ("Service Account Token Used From Outside the Cluster Network", false, "pod address",
         k8s("get", "system:serviceaccount:ci:builder", "10.20.1.9", pod_object("ci"), serde_json::json!({}))),
        ("Service Account Token Used From Outside the Cluster Network", true, "public address",
         k8s("get", "system:serviceaccount:ci:builder", "203.0.113.9", pod_object("ci"), serde_json::json!({}))),
        ("Built-in system Role or ClusterRole Modified or Deleted", false, "reconciled by the API server",
         k8s("patch", "system:apiserver", "::1", serde_json::json!({"resource": "clusterroles", "name": "system:node", "apiGroup": "rbac.authorization.k8s.io"}), serde_json::json!({}))),
        ("Anonymous Request Allowed by the API Server", false, "health probe",
         k8s("get", "system:anonymous", "192.168.1.1", Value::Null, serde_json::json!({"requestURI": "/healthz?verbose", "objectRef": null}))),
        ("Pod From a Non-Platform Image Created in kube-system or kube-public", false, "registry.k8s.io image",
         k8s("create", "system:serviceaccount:kube-system:daemon-set-controller", "::1", pod_object("kube-system"),
             pod_spec(serde_json::json!({"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.29.0"}]})))),
        ("Secrets Listed Across All Namespaces or in kube-system", false, "one application namespace",
         k8s("list", "bob", "10.0.0.5", serde_json::json!({"resource": "secrets", "namespace": "payments"}), serde_json::json!({}))),
        // VPC flow
        ("Inbound SSH or RDP From a Public Address Accepted", false, "from inside the VPC",
         flow("5 111122223333 eni-1 10.0.1.5 10.0.2.6 50000 22 6 10 1000 1700000000 1700000060 ACCEPT OK - ingress")),
        ("Inbound SSH or RDP From a Public Address Accepted", false, "rejected",
         flow("5 111122223333 eni-1 81.2.69.160 10.0.2.6 50000 22 6 1 40 1700000000 1700000060 REJECT OK - ingress")),
        ("Large Transfer From a Private Address to the Internet in One Flow Record", false, "to S3 through its public endpoint",
         flow("5 111122223333 eni-1 10.0.1.5 52.216.8.10 50000 443 6 100000 150000000 1700000000 1700000060 ACCEPT OK S3 egress")),
        ("Large Transfer From a Private Address to the Internet in One Flow Record", true, "to an unknown public address",
         flow("5 111122223333 eni-1 10.0.1.5 81.2.69.160 50000 443 6 100000 150000000 1700000000 1700000060 ACCEPT OK - egress")),
        ("Outbound Connection to a Cryptomining Pool or IRC Port", false, "reply traffic from a public 3333 client",
         flow("5 111122223333 eni-1 81.2.69.160 10.0.1.5 3333 443 6 10 1000 1700000000 1700000060 ACCEPT OK - ingress")),
        ("Outbound Connection to a Cryptomining Pool or IRC Port", true, "stratum pool",
         flow("5 111122223333 eni-1 10.0.1.5 81.2.69.160 40000 3333 6 10 1000 1700000000 1700000060 ACCEPT OK - egress")),
        // Falco
        ("Container Escape Into the Host's Namespaces", false, "nsenter run on the host itself",
         serde_json::to_vec(&serde_json::json!({"output": "x", "priority": "Notice", "rule": "r", "source": "syscall", "time": "2026-11-29T10:00:00.000000000Z",
             "output_fields": {"container.id": "host", "proc.cmdline": "nsenter -t 1 -m -- ls"}})).unwrap()),
        ("Container Escape Into the Host's Namespaces", true, "nsenter from a container",
         serde_json::to_vec(&serde_json::json!({"output": "x", "priority": "Notice", "rule": "r", "source": "syscall", "time": "2026-11-29T10:00:00.000000000Z",
             "output_fields": {"container.id": "3f9a2c1d7e4b", "proc.cmdline": "nsenter -t 1 -m -- ls"}})).unwrap()),
        ("Falco Alert at Error Priority or Above", false, "Falco's internal events",
         serde_json::to_vec(&serde_json::json!({"output": "Falco metrics snapshot", "priority": "Critical", "rule": "Falco internal: metrics snapshot", "source": "internal",
             "time": "2026-11-29T10:00:00.000000000Z", "output_fields": {}})).unwrap()),
    ];
    let titles: BTreeSet<&str> = plan.rules.iter().map(|r| r.meta.title.as_str()).collect();
    let mut wrong = Vec::new();
    for (rule, expect, what, bytes) in &cases {
        assert!(titles.contains(rule), "no rule titled {rule}");
        let data = batches_of(bytes);
        assert!(data.1.is_empty(), "{what}: {:#?}", data.1);
        assert_eq!(
            data.0.iter().map(|b| b.batch.num_rows()).sum::<usize>(),
            1,
            "{what}"
        );
        let fired = hits(&plan, &data.0)
            .iter()
            .any(|h| title(&plan, h.rule) == *rule);
        if fired != *expect {
            wrong.push(format!("{rule}: {what}: fired={fired}, expected {expect}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Regression (found while writing the pack): a Sigma string with a non-ASCII character
/// never matched, exactly, `cased` or with `contains`/`startswith`/`endswith`: literals
/// were escaped byte by byte (`\xc3\xa9` for "é") and compiled in Hyperscan's UTF-8 mode,
/// where `\xHH` is a code point. Plain literals now compile in byte mode and wildcard
/// patterns escape non-ASCII characters as code points. rsigma matches all of these.
#[test]
fn non_ascii_sigma_strings_match() {
    let dir = tempfile::tempdir().unwrap();
    let dets = [
        "userIdentity.userName: 'josé'",
        "userIdentity.userName: 'JOSÉ'",
        "userIdentity.userName|cased: 'josé'",
        "userIdentity.userName|endswith: 'sé'",
        "requestParameters.school|contains: 'é'",
    ];
    for (i, det) in dets.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("r{i}.yml")),
            format!(
                "title: probe {i}\nid: probe-{i}\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    sel:\n        {det}\n    condition: sel\nlevel: low\n"
            ),
        )
        .unwrap();
    }
    let plan = plan_of(&[dir.path().to_path_buf()]);
    let event = ct(
        "sts.amazonaws.com",
        "GetCallerIdentity",
        serde_json::json!({"userIdentity": {"type": "IAMUser", "userName": "josé"},
                           "requestParameters": {"school": "école"}}),
    );
    let data = batches_of(&event);
    let fired: BTreeSet<String> = hits(&plan, &data.0)
        .iter()
        .map(|h| title(&plan, h.rule).to_string())
        .collect();
    let missed: Vec<&&str> = dets
        .iter()
        .enumerate()
        .filter(|(i, _)| !fired.contains(&format!("probe {i}")))
        .map(|(_, d)| d)
        .collect();
    assert!(missed.is_empty(), "no match for {missed:?}");
}

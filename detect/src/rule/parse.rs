//! YAML documents to [`AnyRule`]s. Every construct Vigil does not support is an error
//! naming it, so the loader can reject that rule and keep the others.

use std::collections::BTreeMap;

use yaml_serde::{Mapping, Value};

use super::condition;
use super::{
    AnyRule, CmpOp, Cond, CorrelationCondition, CorrelationRule, CorrelationType, Detection,
    FieldPredicate, Level, LogSource, Meta, Modifiers, Op, Origin, RuleId, RuleOptions, Search,
    SigmaFilter, SigmaRule, SigmaValue, Suppress, TimePart, Utf16,
};

fn key<'a>(m: &'a Mapping, k: &str) -> Option<&'a Value> {
    m.get(Value::String(k.to_string()))
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn str_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .map(|i| str_of(i).ok_or_else(|| format!("{what} must be a list of strings")))
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => str_of(other)
            .map(|s| vec![s])
            .ok_or_else(|| format!("{what} must be a string or a list of strings")),
    }
}

/// Parses a duration like `90m`, `1h`, `30s`, `7d` into seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("timespan {s:?} is not a number followed by s, m, h, d or w"))?;
    let mult = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "timespan {s:?}: unknown unit {unit:?} (use s, m, h, d or w)"
            ));
        }
    };
    if n == 0 {
        return Err(format!("timespan {s:?} must be positive"));
    }
    // Windows are kept in microseconds as `i64`: about 292,000 years at most.
    n.checked_mul(mult)
        .filter(|&secs| secs <= (i64::MAX / 1_000_000) as u64)
        .ok_or_else(|| format!("timespan {s:?} is too long"))
}

fn meta(m: &Mapping, origin: &Origin) -> Result<Meta, String> {
    let name = key(m, "name").and_then(str_of);
    let id = key(m, "id")
        .and_then(str_of)
        .or_else(|| name.clone())
        .unwrap_or_else(|| {
            let stem = origin
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{stem}#{}", origin.doc)
        });
    // `title` is mandatory in the specification, but its own correlation examples omit
    // it in fragments: fall back to the id.
    let title = key(m, "title")
        .and_then(str_of)
        .unwrap_or_else(|| id.clone());
    let level = match key(m, "level").and_then(str_of) {
        None => Level::Medium,
        Some(l) => Level::parse(&l).ok_or_else(|| format!("unknown level {l:?}"))?,
    };
    let tags = match key(m, "tags") {
        Some(v) => str_list(v, "tags")?,
        None => Vec::new(),
    };
    let options = match key(m, "vigil") {
        None => RuleOptions::default(),
        Some(Value::Mapping(v)) => vigil_options(v)?,
        Some(_) => return Err("`vigil` must be a mapping".into()),
    };
    Ok(Meta {
        id: RuleId(id),
        name,
        title,
        level,
        tags,
        status: key(m, "status").and_then(str_of),
        author: key(m, "author").and_then(str_of),
        origin: origin.clone(),
        options,
    })
}

fn vigil_options(m: &Mapping) -> Result<RuleOptions, String> {
    let mut o = RuleOptions::default();
    for (k, v) in m {
        match k.as_str() {
            Some("suppress") => {
                let Value::Mapping(s) = v else {
                    return Err("vigil.suppress must be a mapping with fields and window".into());
                };
                let fields = match key(s, "fields") {
                    Some(f) => str_list(f, "vigil.suppress.fields")?,
                    None => Vec::new(),
                };
                let window = key(s, "window")
                    .and_then(str_of)
                    .ok_or("vigil.suppress needs a window (e.g. 1h)")?;
                o.suppress = Some(Suppress {
                    fields,
                    window_secs: parse_duration(&window)?,
                });
            }
            Some("placeholders") => {
                let Value::Mapping(ps) = v else {
                    return Err("vigil.placeholders must map names to lists of values".into());
                };
                for (name, values) in ps {
                    let name = name
                        .as_str()
                        .ok_or("vigil.placeholders: names must be strings")?;
                    let values = match values {
                        Value::Sequence(s) if s.is_empty() => Vec::new(),
                        other => str_list(other, "vigil.placeholders")?,
                    };
                    o.placeholders.insert(name.to_string(), values);
                }
            }
            other => {
                return Err(format!(
                    "unknown vigil option {other:?} (supported: suppress, placeholders)"
                ));
            }
        }
    }
    Ok(o)
}

fn logsource(m: &Mapping) -> Result<LogSource, String> {
    let Some(v) = key(m, "logsource") else {
        return Err("the rule has no logsource".into());
    };
    let Value::Mapping(ls) = v else {
        return Err("logsource must be a mapping".into());
    };
    Ok(LogSource {
        product: key(ls, "product").and_then(str_of),
        service: key(ls, "service").and_then(str_of),
        category: key(ls, "category").and_then(str_of),
    })
}

/// Parses one YAML document.
pub fn parse_document(v: &Value, origin: &Origin) -> Result<AnyRule, String> {
    let Value::Mapping(m) = v else {
        return Err("a rule document must be a YAML mapping".into());
    };
    let meta = meta(m, origin)?;
    if let Some(c) = key(m, "correlation") {
        return correlation(c, m, meta).map(AnyRule::Correlation);
    }
    if let Some(f) = key(m, "filter") {
        let Value::Mapping(f) = f else {
            return Err("filter must be a mapping".into());
        };
        let rules = key(f, "rules")
            .map(|r| str_list(r, "filter.rules"))
            .transpose()?
            .unwrap_or_default();
        let detection = detection(f)?;
        return Ok(AnyRule::Filter(SigmaFilter {
            meta,
            logsource: logsource(m)?,
            rules,
            detection,
        }));
    }
    let Some(Value::Mapping(d)) = key(m, "detection") else {
        return Err("the rule has no detection mapping".into());
    };
    Ok(AnyRule::Detection(SigmaRule {
        meta,
        logsource: logsource(m)?,
        detection: detection(d)?,
    }))
}

fn detection(d: &Mapping) -> Result<Detection, String> {
    if key(d, "timeframe").is_some() {
        return Err("`timeframe` (the obsolete aggregation syntax) is not supported; write a Sigma correlation rule instead".into());
    }
    let cond = match key(d, "condition") {
        Some(Value::String(s)) => {
            condition::parse(s).map_err(|e| format!("condition {s:?}: {e}"))?
        }
        Some(Value::Sequence(items)) => {
            let mut cs = Vec::new();
            for i in items {
                let s = i.as_str().ok_or("condition list items must be strings")?;
                cs.push(condition::parse(s).map_err(|e| format!("condition {s:?}: {e}"))?);
            }
            match cs.len() {
                0 => return Err("empty condition list".into()),
                1 => cs.remove(0),
                _ => Cond::Or(cs),
            }
        }
        _ => return Err("the detection has no condition".into()),
    };
    let mut searches = Vec::new();
    for (k, v) in d {
        let Some(name) = k.as_str() else {
            return Err("search identifiers must be strings".into());
        };
        if name == "condition" {
            continue;
        }
        searches.push((name.to_string(), search(name, v)?));
    }
    check_identifiers(&cond, &searches)?;
    Ok(Detection {
        searches,
        condition: cond,
    })
}

fn check_identifiers(c: &Cond, searches: &[(String, Search)]) -> Result<(), String> {
    match c {
        Cond::Ident(n) => {
            if searches.iter().any(|(s, _)| s == n) {
                Ok(())
            } else {
                Err(format!(
                    "the condition names {n:?}, which is not a search identifier of the rule"
                ))
            }
        }
        Cond::Not(c) => check_identifiers(c, searches),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().try_for_each(|c| check_identifiers(c, searches)),
        Cond::Of(_, _) => Ok(()),
    }
}

fn search(name: &str, v: &Value) -> Result<Search, String> {
    let ctx = |e: String| format!("search identifier {name:?}: {e}");
    match v {
        Value::Mapping(m) => Ok(Search {
            any_of: vec![map_predicates(m).map_err(ctx)?],
        }),
        Value::Sequence(items) => {
            let mut any_of = Vec::new();
            let mut keywords = Vec::new();
            for item in items {
                match item {
                    Value::Mapping(m) => any_of.push(map_predicates(m).map_err(ctx)?),
                    Value::Sequence(_) => return Err(ctx("nested lists are not Sigma".into())),
                    scalar => keywords.push(value(scalar).map_err(ctx)?),
                }
            }
            if !keywords.is_empty() {
                any_of.push(vec![FieldPredicate {
                    field: None,
                    mods: Modifiers::default(),
                    values: keywords,
                }]);
            }
            Ok(Search { any_of })
        }
        Value::Null => Err(ctx("empty search identifier".into())),
        scalar => Ok(Search {
            any_of: vec![vec![FieldPredicate {
                field: None,
                mods: Modifiers::default(),
                values: vec![value(scalar).map_err(ctx)?],
            }]],
        }),
    }
}

fn value(v: &Value) -> Result<SigmaValue, String> {
    Ok(match v {
        Value::Null => SigmaValue::Null,
        Value::Bool(b) => SigmaValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                SigmaValue::Int(i)
            } else if let Some(f) = n.as_f64() {
                SigmaValue::Float(f)
            } else {
                SigmaValue::Str(n.to_string())
            }
        }
        Value::String(s) => SigmaValue::Str(s.clone()),
        Value::Sequence(_) | Value::Mapping(_) => {
            return Err(
                "a value must be a string, number, boolean or null, not a nested structure".into(),
            );
        }
        Value::Tagged(t) => return value(&t.value),
    })
}

fn map_predicates(m: &Mapping) -> Result<Vec<FieldPredicate>, String> {
    let mut out = Vec::new();
    for (k, v) in m {
        let k = k.as_str().ok_or("field names must be strings")?;
        let mut parts = k.split('|');
        let field = parts.next().unwrap_or_default();
        let mods = modifiers(parts.collect(), k)?;
        let values = match v {
            Value::Sequence(items) => items.iter().map(value).collect::<Result<Vec<_>, _>>()?,
            other => vec![value(other)?],
        };
        validate(&mods, &values, k)?;
        out.push(FieldPredicate {
            field: (!field.is_empty()).then(|| field.to_string()),
            mods,
            values,
        });
    }
    Ok(out)
}

fn modifiers(names: Vec<&str>, key: &str) -> Result<Modifiers, String> {
    let mut m = Modifiers::default();
    let mut op: Option<Op> = None;
    let (mut re_i, mut re_m, mut re_s) = (false, false, false);
    let set_op = |op: &mut Option<Op>, new: Op| -> Result<(), String> {
        if let Some(old) = op {
            return Err(format!(
                "{key:?} combines two comparisons ({old:?} and {new:?})"
            ));
        }
        *op = Some(new);
        Ok(())
    };
    for n in names {
        match n {
            "contains" => set_op(&mut op, Op::Contains)?,
            "startswith" => set_op(&mut op, Op::StartsWith)?,
            "endswith" => set_op(&mut op, Op::EndsWith)?,
            "re" => set_op(
                &mut op,
                Op::Re {
                    i: false,
                    m: false,
                    s: false,
                },
            )?,
            "i" => re_i = true,
            "m" => re_m = true,
            "s" => re_s = true,
            "cidr" => set_op(&mut op, Op::Cidr)?,
            "lt" => set_op(&mut op, Op::Lt)?,
            "lte" => set_op(&mut op, Op::Lte)?,
            "gt" => set_op(&mut op, Op::Gt)?,
            "gte" => set_op(&mut op, Op::Gte)?,
            "exists" => set_op(&mut op, Op::Exists)?,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "fieldref" => m.fieldref = true,
            "windash" => m.windash = true,
            "expand" => m.expand = true,
            "base64" | "base64offset" => {
                if m.base64.is_some() {
                    return Err(format!("{key:?} uses base64 and base64offset together"));
                }
                m.base64 = Some(n == "base64offset");
            }
            "utf16le" | "wide" | "utf16be" | "utf16" => {
                if m.utf16.is_some() {
                    return Err(format!("{key:?} uses two UTF-16 encodings"));
                }
                m.utf16 = Some(match n {
                    "utf16be" => Utf16::Be,
                    "utf16" => Utf16::Bom,
                    _ => Utf16::Le,
                });
            }
            "minute" | "hour" | "day" | "week" | "month" | "year" => {
                m.time_part = Some(match n {
                    "minute" => TimePart::Minute,
                    "hour" => TimePart::Hour,
                    "day" => TimePart::Day,
                    "week" => TimePart::Week,
                    "month" => TimePart::Month,
                    _ => TimePart::Year,
                });
            }
            "" => return Err(format!("{key:?} has an empty modifier")),
            other => return Err(format!("unknown modifier {other:?} in {key:?}")),
        }
    }
    m.op = op.unwrap_or(Op::Eq);
    if re_i || re_m || re_s {
        match &mut m.op {
            Op::Re { i, m: mm, s } => {
                *i = re_i;
                *mm = re_m;
                *s = re_s;
            }
            _ => return Err(format!("{key:?}: the i, m and s modifiers only go with re")),
        }
    }
    Ok(m)
}

fn validate(m: &Modifiers, values: &[SigmaValue], key: &str) -> Result<(), String> {
    if m.all && values.len() < 2 {
        return Err(format!(
            "{key:?}: `all` needs at least two values (the specification forbids it on one)"
        ));
    }
    let encoding = m.base64.is_some() || m.utf16.is_some() || m.windash;
    if encoding && !matches!(m.op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith) {
        return Err(format!(
            "{key:?}: encoding modifiers only go with plain, contains, startswith or endswith"
        ));
    }
    if m.fieldref && !matches!(m.op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith) {
        return Err(format!(
            "{key:?}: fieldref only goes with plain, contains, startswith or endswith"
        ));
    }
    if m.time_part.is_some() && !matches!(m.op, Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte) {
        return Err(format!(
            "{key:?}: time modifiers only go with plain or lt/lte/gt/gte"
        ));
    }
    for v in values {
        match (&m.op, v) {
            (Op::Exists, SigmaValue::Bool(_)) => {}
            (Op::Exists, SigmaValue::Str(s))
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no"
                ) => {}
            (Op::Exists, _) => return Err(format!("{key:?}: exists takes true or false")),
            (Op::Lt | Op::Lte | Op::Gt | Op::Gte, SigmaValue::Int(_) | SigmaValue::Float(_)) => {}
            (Op::Lt | Op::Lte | Op::Gt | Op::Gte, SigmaValue::Str(s))
                if s.trim().parse::<f64>().is_ok() => {}
            (Op::Lt | Op::Lte | Op::Gt | Op::Gte, other) => {
                return Err(format!(
                    "{key:?}: numeric comparison with the non-number {other}"
                ));
            }
            // Placeholders are checked once expanded, at compile time.
            (Op::Cidr, SigmaValue::Str(s)) if m.expand && s.contains('%') => {}
            (Op::Cidr, SigmaValue::Str(s)) => {
                s.parse::<ipnet::IpNet>()
                    .map_err(|e| format!("{key:?}: {s:?} is not a CIDR range: {e}"))?;
            }
            (Op::Cidr, other) => {
                return Err(format!("{key:?}: cidr takes a network range, not {other}"));
            }
            (Op::Re { .. }, SigmaValue::Str(_)) => {}
            (Op::Re { .. }, other) => {
                return Err(format!("{key:?}: re takes a string, not {other}"));
            }
            _ if m.fieldref && !matches!(v, SigmaValue::Str(_)) => {
                return Err(format!("{key:?}: fieldref takes field names"));
            }
            (_, SigmaValue::Null) if values.len() > 1 => {
                return Err(format!(
                    "{key:?}: null cannot be part of a list of values (specification, \"null\" section)"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn correlation(c: &Value, top: &Mapping, meta: Meta) -> Result<CorrelationRule, String> {
    let Value::Mapping(c) = c else {
        return Err("correlation must be a mapping".into());
    };
    let kind = match key(c, "type").and_then(str_of).as_deref() {
        Some("event_count") => CorrelationType::EventCount,
        Some("value_count") => CorrelationType::ValueCount,
        Some("temporal") => CorrelationType::Temporal,
        Some("temporal_ordered") => CorrelationType::TemporalOrdered,
        Some("value_sum") => CorrelationType::ValueSum,
        Some("value_avg") => CorrelationType::ValueAvg,
        Some("value_percentile") => CorrelationType::ValuePercentile,
        Some("first_seen") => CorrelationType::FirstSeen,
        Some(other) => return Err(format!("unknown correlation type {other:?}")),
        None => return Err("correlation has no type".into()),
    };
    let rules = key(c, "rules")
        .map(|r| str_list(r, "correlation.rules"))
        .transpose()?
        .unwrap_or_default();
    if rules.is_empty() {
        return Err("correlation has no rules".into());
    }
    let group_by = key(c, "group-by")
        .map(|g| str_list(g, "correlation.group-by"))
        .transpose()?
        .unwrap_or_default();
    let timespan = key(c, "timespan")
        .and_then(str_of)
        .ok_or("correlation has no timespan")?;
    let timespan_secs = parse_duration(&timespan)?;
    let baseline_secs = match (key(c, "baseline"), kind) {
        (None, _) => 0,
        (Some(b), CorrelationType::FirstSeen) => {
            parse_duration(&str_of(b).ok_or("correlation.baseline must be a duration")?)?
        }
        (Some(_), _) => return Err("baseline applies only to first_seen correlations".into()),
    };
    if kind == CorrelationType::FirstSeen {
        if group_by.is_empty() {
            return Err("a first_seen correlation needs group-by (the values that are new)".into());
        }
        if key(c, "condition").is_some() {
            return Err("a first_seen correlation takes no condition".into());
        }
    }
    let mut cond = CorrelationCondition::default();
    match key(c, "condition") {
        None => {
            if !matches!(
                kind,
                CorrelationType::Temporal
                    | CorrelationType::TemporalOrdered
                    | CorrelationType::FirstSeen
            ) {
                return Err(format!("a {kind:?} correlation needs a condition"));
            }
        }
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let k = k.as_str().ok_or("condition keys must be strings")?;
                let num = || -> Result<f64, String> {
                    match v {
                        Value::Number(n) => n
                            .as_f64()
                            .ok_or_else(|| format!("condition {k}: not a number")),
                        Value::String(s) => s
                            .trim()
                            .parse()
                            .map_err(|_| format!("condition {k}: {s:?} is not a number")),
                        _ => Err(format!("condition {k} must be a number")),
                    }
                };
                match k {
                    "gt" => cond.cmps.push((CmpOp::Gt, num()?)),
                    "gte" => cond.cmps.push((CmpOp::Gte, num()?)),
                    "lt" => cond.cmps.push((CmpOp::Lt, num()?)),
                    "lte" => cond.cmps.push((CmpOp::Lte, num()?)),
                    "eq" => cond.cmps.push((CmpOp::Eq, num()?)),
                    "neq" => cond.cmps.push((CmpOp::Neq, num()?)),
                    "field" => cond.fields = str_list(v, "condition.field")?,
                    "percentile" => cond.percentile = Some(num()?),
                    other => return Err(format!("unknown correlation condition key {other:?}")),
                }
            }
            if cond.cmps.is_empty() {
                // It would hold for every window.
                return Err(
                    "the correlation condition has no comparison (gt, gte, lt, lte, eq or neq)"
                        .into(),
                );
            }
        }
        Some(Value::String(s)) => {
            return Err(format!(
                "correlation condition {s:?} is an expression; Vigil supports the specification's mapping form (gt/gte/lt/lte/eq/neq)"
            ));
        }
        Some(_) => return Err("correlation condition must be a mapping".into()),
    }
    let needs_field = matches!(
        kind,
        CorrelationType::ValueCount
            | CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
    );
    if needs_field && cond.fields.is_empty() {
        return Err(format!("a {kind:?} correlation needs condition.field"));
    }
    if needs_field && kind != CorrelationType::ValueCount && cond.fields.len() > 1 {
        return Err(format!("a {kind:?} correlation aggregates one field"));
    }
    if !needs_field && !cond.fields.is_empty() {
        return Err(format!(
            "condition.field does not apply to a {kind:?} correlation"
        ));
    }
    if kind == CorrelationType::ValuePercentile
        && cond.percentile.is_some_and(|p| !(0.0..=100.0).contains(&p))
    {
        return Err("percentile must be between 0 and 100".into());
    }
    let mut aliases = BTreeMap::new();
    if let Some(a) = key(c, "aliases") {
        let Value::Mapping(a) = a else {
            return Err("aliases must be a mapping".into());
        };
        for (alias, per_rule) in a {
            let alias = alias.as_str().ok_or("alias names must be strings")?;
            let Value::Mapping(per_rule) = per_rule else {
                return Err(format!("alias {alias:?} must map rule names to fields"));
            };
            let mut m = BTreeMap::new();
            for (r, f) in per_rule {
                m.insert(
                    r.as_str()
                        .ok_or("alias rule names must be strings")?
                        .to_string(),
                    str_of(f).ok_or("alias fields must be strings")?,
                );
            }
            aliases.insert(alias.to_string(), m);
        }
    }
    let generate = key(c, "generate")
        .or_else(|| key(top, "generate"))
        .map(|g| g.as_bool().ok_or("generate must be true or false"))
        .transpose()?
        .unwrap_or(false);
    Ok(CorrelationRule {
        meta,
        kind,
        rules,
        group_by,
        timespan_secs,
        condition: cond,
        aliases,
        generate,
        baseline_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(y: &str) -> Result<AnyRule, String> {
        let v: Value = yaml_serde::from_str(y).unwrap();
        parse_document(
            &v,
            &Origin {
                file: "t.yml".into(),
                doc: 1,
            },
        )
    }

    #[test]
    fn parses_selections_keywords_and_modifiers() {
        let r = doc(r#"
title: t
id: 1
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: s3.amazonaws.com
    eventName|startswith: [Put, Delete]
    requestParameters|contains|all: [a, b]
  kw: [evil, 'bad*']
  condition: sel and not kw
level: high
"#)
        .unwrap();
        let AnyRule::Detection(r) = r else { panic!() };
        assert_eq!(r.meta.level, Level::High);
        assert_eq!(r.detection.searches.len(), 2);
        let sel = &r.detection.searches[0].1.any_of[0];
        assert_eq!(sel[1].mods.op, Op::StartsWith);
        assert!(sel[2].mods.all && sel[2].mods.op == Op::Contains);
        assert_eq!(r.detection.searches[1].1.any_of[0][0].field, None);
    }

    #[test]
    fn rejects_what_it_does_not_support_with_reasons() {
        let base = "title: t\nlogsource: {product: aws}\ndetection:\n";
        for (body, why) in [
            ("  sel: {a|bogus: x}\n  condition: sel", "unknown modifier"),
            ("  sel: {a|all: x}\n  condition: sel", "at least two values"),
            ("  sel: {a|gt: abc}\n  condition: sel", "non-number"),
            (
                "  sel: {a: x}\n  condition: sel | count() > 3",
                "correlation",
            ),
            (
                "  sel: {a: x}\n  condition: other",
                "not a search identifier",
            ),
            (
                "  sel: {a: x}\n  timeframe: 1h\n  condition: sel",
                "timeframe",
            ),
            ("  sel: {a|cidr: 10.0.0.0/33}\n  condition: sel", "CIDR"),
            ("  sel: {a: [x, null]}\n  condition: sel", "null cannot"),
        ] {
            let err = doc(&format!("{base}{body}")).unwrap_err();
            assert!(err.contains(why), "{body}: {err}");
        }
    }

    #[test]
    fn parses_correlations() {
        let r = doc(r#"
title: brute force
name: bf
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [User]
  timespan: 90m
  condition: {field: ComputerName, gte: 10}
"#)
        .unwrap();
        let AnyRule::Correlation(c) = r else { panic!() };
        assert_eq!(c.timespan_secs, 5400);
        assert_eq!(c.meta.id.0, "bf");
        assert_eq!(c.condition.cmps, vec![(CmpOp::Gte, 10.0)]);
        assert!(
            doc("title: x\ncorrelation: {type: event_count, rules: [a], timespan: 1h}")
                .unwrap_err()
                .contains("needs a condition")
        );
    }
}

//! Reading rule files and folders into rules, with a report of what was rejected and why.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use yaml_serde::Value;

use super::parse::parse_document;
use super::{AnyRule, Origin};
use crate::{DetectError, Result};

/// A rule (or a whole file) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// The file (and document) it came from.
    pub origin: String,
    /// The rule's id, when it got that far.
    pub rule_id: Option<String>,
    /// The rule's title, when it got that far.
    pub title: Option<String>,
    /// What is wrong or unsupported.
    pub reason: String,
}

/// Rules read from files, and the rejections met on the way.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Parsed rules, in file order.
    pub rules: Vec<AnyRule>,
    /// Documents that could not be parsed or are unsupported.
    pub rejected: Vec<Rejection>,
}

impl RuleSet {
    /// Adds the rules of another set.
    pub fn extend(&mut self, other: RuleSet) {
        self.rules.extend(other.rules);
        self.rejected.extend(other.rejected);
    }
}

/// Reads every `.yml`/`.yaml` file below each path (files are read as given, whatever
/// their extension). Unreadable paths are errors; bad rules, and files that are not
/// UTF-8 text, are rejections.
pub fn load_paths(paths: &[PathBuf]) -> Result<RuleSet> {
    let mut set = RuleSet::default();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| DetectError::Read {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files)?;
            files.sort();
            for f in files {
                set.extend(load_file(&f)?);
            }
        } else {
            set.extend(load_file(p)?);
        }
    }
    Ok(set)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| DetectError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in rd {
        let e = e.map_err(|source| DetectError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads one file. A file that is not UTF-8 text is a rejection, not an error: the
/// rules of the other files still load.
pub fn load_file(path: &Path) -> Result<RuleSet> {
    let bytes = std::fs::read(path).map_err(|source| DetectError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(load_str(&text, path)),
        Err(e) => Ok(RuleSet {
            rejected: vec![Rejection {
                origin: path.display().to_string(),
                rule_id: None,
                title: None,
                reason: format!(
                    "not UTF-8 text (invalid byte at offset {}): rule files are YAML",
                    e.utf8_error().valid_up_to()
                ),
            }],
            rules: Vec::new(),
        }),
    }
}

/// Parses rule text (one or more YAML documents) as if read from `path`.
pub fn load_str(text: &str, path: &Path) -> RuleSet {
    let mut set = RuleSet::default();
    let mut global: Option<Value> = None;
    let mut previous: Option<Value> = None;
    for (i, de) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            file: path.to_path_buf(),
            doc: i + 1,
        };
        let doc = match Value::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                set.rejected.push(Rejection {
                    origin: origin.to_string(),
                    rule_id: None,
                    title: None,
                    reason: format!("invalid YAML: {e}; the rest of the file is skipped"),
                });
                break;
            }
        };
        if doc.is_null() {
            continue;
        }
        let action = doc
            .get("action")
            .and_then(|a| a.as_str())
            .map(str::to_string);
        let doc = match action.as_deref() {
            Some("global") => {
                global = Some(strip_action(doc));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(prev) => merge(prev.clone(), strip_action(doc)),
                None => {
                    set.rejected.push(Rejection {
                        origin: origin.to_string(),
                        rule_id: None,
                        title: None,
                        reason: "`action: repeat` with no previous document".into(),
                    });
                    continue;
                }
            },
            Some(other) => {
                set.rejected.push(Rejection {
                    origin: origin.to_string(),
                    rule_id: None,
                    title: None,
                    reason: format!("unknown action {other:?}"),
                });
                continue;
            }
            None => match &global {
                Some(g) => merge(g.clone(), doc),
                None => doc,
            },
        };
        previous = Some(doc.clone());
        match parse_document(&doc, &origin) {
            Ok(rule) => set.rules.push(rule),
            Err(reason) => set.rejected.push(Rejection {
                origin: origin.to_string(),
                rule_id: doc
                    .get("id")
                    .or_else(|| doc.get("name"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                title: doc
                    .get("title")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                reason,
            }),
        }
    }
    set
}

fn strip_action(mut v: Value) -> Value {
    if let Value::Mapping(m) = &mut v {
        m.remove(Value::String("action".into()));
    }
    v
}

/// Deep-merges `over` onto `base` (mappings merge key by key; anything else replaces).
fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Mapping(b)
        }
        (_, o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_collections() {
        let text = r#"
action: global
title: base
logsource: {product: aws, service: cloudtrail}
detection:
  condition: sel
---
id: a
detection:
  sel: {eventName: A}
---
action: repeat
id: b
detection:
  sel: {eventName: B}
---
action: reset
---
title: broken
logsource: {product: aws}
detection: {sel: {x|nope: 1}, condition: sel}
"#;
        let set = load_str(text, Path::new("c.yml"));
        assert_eq!(set.rules.len(), 2, "{:?}", set.rejected);
        assert_eq!(set.rules[1].meta().id.0, "b");
        assert_eq!(set.rules[1].meta().title, "base");
        assert_eq!(set.rejected.len(), 1);
        assert!(
            set.rejected[0].reason.contains("unknown modifier")
                && set.rejected[0].origin.contains("document 5")
        );
    }
}

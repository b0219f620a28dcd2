//! From matched rows to hits: the facts about each match that findings, correlations
//! and suppression need (event id, time, group-by and aggregated field values).

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use vigil_ingest::SourceKind;

use crate::bitmap::Bitmap;
use crate::compile::{Compiled, HitFields};
use crate::eval::RuleMatch;
use crate::fields::{Access, Values, column, extract_raw, resolve, typed_values_on};

/// One event matched by one detection rule. Its event id is read through the [`Hits`]
/// of its batch ([`Hits::event_id`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into [`Compiled::rules`].
    pub rule: usize,
    /// The event's source type.
    pub kind: SourceKind,
    /// Event time (µs); events without one (rare flow formats) use 0.
    pub time_us: i64,
    /// The event's row in its batch.
    pub row: usize,
    /// What correlations and suppression read from the hit; `None` when the rule feeds no
    /// correlation and suppresses nothing, as most do. Kept out of line so that a hit is
    /// 40 bytes rather than 80: a batch's hits are written once into a fresh vector, and
    /// with 5,000 rules that write was about a third of collecting them.
    pub extra: Option<Box<HitExtra>>,
}

/// The hits of one batch, in rule order then row order, with the batch's event id column,
/// which they all share: making a hit copies no text and counts no reference. (A
/// `String` per hit cost about a fifth of detection time at 5,000 rules with glibc's
/// allocator; a reference-counted handle to the column per hit, two atomic operations
/// per hit, 40% of collecting the hits and more to drop them.) The hits keep the id
/// column alive, not the batch.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    ids: Option<Arc<StringArray>>,
    /// The hits.
    pub hits: Vec<Hit>,
}

impl Hits {
    /// How many hits.
    pub fn len(&self) -> usize {
        self.hits.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// The id of `hit`'s event (a hit of these [`Hits`]); empty when the batch holds
    /// none for it.
    pub fn event_id(&self, hit: &Hit) -> &str {
        id_at(self.ids.as_deref(), hit.row)
    }

    /// The id column and the hits, apart.
    pub(crate) fn into_parts(self) -> (Option<Arc<StringArray>>, Vec<Hit>) {
        (self.ids, self.hits)
    }

    /// Each hit with its event id.
    pub fn iter(&self) -> impl Iterator<Item = (&Hit, &str)> {
        self.hits.iter().map(|h| (h, self.event_id(h)))
    }
}

/// The parts of a [`Hit`] only some rules need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HitExtra {
    /// Per correlation the rule feeds: its index, the group-by values and the aggregated
    /// field values.
    pub feeds: Vec<Feed>,
    /// Values of the rule's suppression fields.
    pub suppress_key: Vec<Option<String>>,
}

/// The text of row `row` of id column `ids`; empty when there is none.
pub(crate) fn id_at(ids: Option<&StringArray>, row: usize) -> &str {
    match ids {
        Some(a) if row < a.len() && a.is_valid(row) => a.value(row),
        _ => "",
    }
}

/// What one correlation reads from a hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Index into [`Compiled::correlations`].
    pub corr: usize,
    /// Position of the hit's rule in the correlation's `rules`.
    pub input: usize,
    /// Group-by values, in `group-by` order.
    pub group: Vec<Option<String>>,
    /// `condition.field` values.
    pub values: Vec<Option<String>>,
}

/// The single scalar value of a field (as text), or `None` when absent, null, an array
/// or an object (a correlation groups such events together under "no value").
fn scalar(v: &Values<'_>, r: usize) -> Option<String> {
    match v.row(r) {
        [one] => match one {
            crate::fields::Item::Json(_) => None,
            other => Some(other.text().into_owned()),
        },
        _ => None,
    }
}

/// Reads named fields for the rows in `rows`: typed columns directly, JSON paths by
/// parsing those rows' `raw` once.
pub fn field_values(
    kind: SourceKind,
    batch: &RecordBatch,
    names: &[String],
    rows: &Bitmap,
) -> Vec<Values<'static>> {
    let accesses: Vec<Access> = names.iter().map(|n| resolve(kind, n)).collect();
    let raw_targets: Vec<Option<&str>> = accesses
        .iter()
        .filter_map(|a| match a {
            Access::Raw(p) => Some(Some(p.as_str())),
            _ => None,
        })
        .collect();
    let mut raw_vals = if raw_targets.is_empty() {
        Vec::new()
    } else {
        let raw = batch
            .column_by_name("raw")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
        match raw {
            Some(raw) => extract_raw(&raw, rows, &raw_targets),
            None => raw_targets
                .iter()
                .map(|_| Values::absent(batch.num_rows()))
                .collect(),
        }
    }
    .into_iter();
    accesses
        .iter()
        .map(|a| match a {
            Access::Column { path, ty } => {
                // Only the rows asked for, copied out of the batch.
                let arr = column(batch, path);
                let v = typed_values_on(&arr, *ty, Some(rows));
                Values {
                    items: v.items.iter().map(owned).collect(),
                    offsets: v.offsets,
                    nulls: v.nulls,
                }
            }
            Access::Raw(_) => raw_vals
                .next()
                .unwrap_or_else(|| Values::absent(batch.num_rows())),
            _ => Values::absent(batch.num_rows()),
        })
        .collect()
}

fn owned(i: &crate::fields::Item<'_>) -> crate::fields::Item<'static> {
    use crate::fields::Item;
    match i {
        Item::Str(s) => Item::Str(std::borrow::Cow::Owned(s.to_string())),
        Item::Int(x) => Item::Int(*x),
        Item::Float(x) => Item::Float(*x),
        Item::Bool(x) => Item::Bool(*x),
        Item::Json(x) => Item::Json(x.clone()),
    }
}

/// The hits of `matches` on `batch`.
pub fn collect(
    plan: &Compiled,
    kind: SourceKind,
    batch: &RecordBatch,
    matches: &[RuleMatch],
) -> Hits {
    let ids = batch
        .column_by_name("event_uid")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
        .map(Arc::new);
    let times = batch.column_by_name("time").and_then(|c| {
        c.as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .cloned()
    });
    // Sized once: with many hits per batch, growing it cost a copy of every hit so far.
    let mut out = Vec::with_capacity(matches.iter().map(|m| m.rows.count()).sum());
    for m in matches {
        let info = &plan.rules[m.rule];
        // Fields this rule's hits must carry (fixed when the rules were compiled).
        let HitFields {
            names,
            feeds: feeds_spec,
            suppress: sup,
        } = &info.hit_fields;
        let values = if names.is_empty() {
            Vec::new()
        } else {
            field_values(kind, batch, names, &m.rows)
        };
        for r in m.rows.iter() {
            let time_us = times
                .as_ref()
                .filter(|a| a.is_valid(r))
                .map(|a| a.value(r))
                .unwrap_or(0);
            // Most rules feed no correlation and suppress nothing: no collecting then
            // (a call per hit that showed in profiles).
            let extra = (!feeds_spec.is_empty() || !sup.is_empty()).then(|| {
                Box::new(HitExtra {
                    feeds: feeds_spec
                        .iter()
                        .map(|(c, pos, g, v)| Feed {
                            corr: *c,
                            input: *pos,
                            group: g.iter().map(|&i| scalar(&values[i], r)).collect(),
                            values: v.iter().map(|&i| scalar(&values[i], r)).collect(),
                        })
                        .collect(),
                    suppress_key: sup.iter().map(|&i| scalar(&values[i], r)).collect(),
                })
            });
            out.push(Hit {
                rule: m.rule,
                kind,
                time_us,
                row: r,
                extra,
            });
        }
    }
    Hits { ids, hits: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_stays_small() {
        // The size `Hit::extra`'s docs give (on 64-bit targets, where Vigil runs).
        assert_eq!(std::mem::size_of::<Hit>(), 40);
    }
}

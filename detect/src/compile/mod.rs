//! Rules compiled into a plan over Arrow columns.
//!
//! For each source type: the distinct fields its rules read ([`Access`]), the distinct
//! predicates ("leaves") on them, shared by every rule that uses the same predicate, one
//! Hyperscan database per field holding every string pattern of every rule on that field,
//! and each rule's condition as a tree over leaves ([`Node`]).

pub mod gate_bound;
pub mod pattern;

use std::collections::{BTreeMap, HashMap};

use hyperscan::prelude::*;
use hyperscan::{BlockMode, PatternFlags};
use vigil_ingest::SourceKind;

use crate::cidr::CidrSet;
use crate::fields::{Access, resolve};
use crate::logsource::route;
use crate::rule::load::{Rejection, RuleSet};
use crate::rule::{
    AnyRule, Cond, CorrelationRule, Detection, FieldPredicate, Meta, Op, Quant, Selector,
    SigmaRule, SigmaValue, TimePart,
};
use crate::{DetectError, Result};
use gate_bound::GateBound;
use pattern::{Check, Expr, exprs};

/// A numeric comparison of a predicate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumOp {
    /// `==` (plain numeric values)
    Eq,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
}

impl NumOp {
    /// `x OP v`
    pub fn holds(self, x: f64, v: f64) -> bool {
        match self {
            NumOp::Eq => (x - v).abs() < f64::EPSILON,
            NumOp::Lt => x < v,
            NumOp::Lte => x <= v,
            NumOp::Gt => x > v,
            NumOp::Gte => x >= v,
        }
    }
}

/// What a leaf tests on its field's values.
#[derive(Debug, Clone)]
pub enum LeafKind {
    /// A string match; its patterns live in the field's Hyperscan database (or, for the
    /// rare regular expression Hyperscan refuses, in `regex`).
    Pattern {
        /// Fallback for a regular expression Hyperscan cannot compile.
        regex: Option<regex::Regex>,
    },
    /// A numeric comparison (numbers, and strings that parse as numbers).
    Num(NumOp, f64),
    /// Boolean equality (JSON booleans; strings true/1/yes, false/0/no).
    Bool(bool),
    /// `null`: absent or null.
    Null,
    /// `exists`: whether the field is present (on a field read from the JSON, present
    /// with the value `null` counts, as the specification says); `exists: false` is its
    /// negation in the condition tree.
    Exists,
    /// Present with the JSON value `null`, on a field read from the JSON: what a typed
    /// column, null both where the field is absent and where it is `null`, adds to
    /// `exists` (`exists` on a typed field is this or the column's value).
    PresentNull,
    /// `cidr`: one range, or every range of a predicate whose values are alternatives.
    Cidr(crate::cidr::CidrSet),
    /// `fieldref`: compare with another field of the same event.
    FieldRef {
        /// Index of the other field in the source's field list.
        other: usize,
        /// How to compare.
        op: Op,
        /// Case-sensitive.
        cased: bool,
    },
    /// A time modifier: a part of the field's timestamp compared with a number.
    Time(TimePart, NumOp, f64),
}

/// One distinct predicate on one field.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Index into [`KindPlan::fields`].
    pub field: usize,
    /// The test.
    pub kind: LeafKind,
    /// Text for messages and `explain`.
    pub describe: String,
    /// For a string match: text the event's JSON must contain (ASCII case aside) for the
    /// leaf to hold on a field read from the JSON ([`pattern::required_literal`]).
    pub literal: Option<String>,
}

/// A rule's condition over leaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A leaf.
    Leaf(u32),
    /// Negation.
    Not(Box<Node>),
    /// Conjunction.
    And(Vec<Node>),
    /// Disjunction.
    Or(Vec<Node>),
    /// At least `n` of.
    AtLeast(usize, Vec<Node>),
    /// A constant.
    Const(bool),
}

impl Node {
    fn and(mut items: Vec<Node>) -> Node {
        let mut flat = Vec::new();
        for i in items.drain(..) {
            match i {
                Node::And(inner) => flat.extend(inner),
                Node::Const(true) => {}
                Node::Const(false) => return Node::Const(false),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Node::Const(true),
            1 => flat.remove(0),
            _ => Node::And(flat),
        }
    }

    fn or(mut items: Vec<Node>) -> Node {
        let mut flat = Vec::new();
        for i in items.drain(..) {
            match i {
                Node::Or(inner) => flat.extend(inner),
                Node::Const(false) => {}
                Node::Const(true) => return Node::Const(true),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Node::Const(false),
            1 => flat.remove(0),
            _ => Node::Or(flat),
        }
    }

    /// Leaves the node reads.
    pub fn leaves(&self, out: &mut Vec<u32>) {
        match self {
            Node::Leaf(l) => out.push(*l),
            Node::Not(n) => n.leaves(out),
            Node::And(ns) | Node::Or(ns) | Node::AtLeast(_, ns) => {
                ns.iter().for_each(|n| n.leaves(out))
            }
            Node::Const(_) => {}
        }
    }
}

/// A field of one source, with the Hyperscan database of its string patterns.
pub struct FieldPlan {
    /// How the field is read.
    pub access: Access,
    /// The string patterns of all leaves on this field.
    pub db: Option<FieldDb>,
}

/// Compiled string patterns of one field.
pub struct FieldDb {
    /// Every pattern; case-insensitive ones compiled caseless, over lowercased text.
    pub all: BlockDatabase,
    /// The case-insensitive patterns alone, run on the lowercased text of non-ASCII
    /// values (Hyperscan folds ASCII case only).
    pub caseless: Option<BlockDatabase>,
    /// Pattern id in `all` -> leaves.
    pub leaves_of: Vec<Vec<u32>>,
    /// Pattern id in `caseless` -> pattern id in `all`.
    pub caseless_ids: Vec<u32>,
    /// Pattern id in `all` -> the expression (how a match is confirmed,
    /// [`Expr::check`]; whether it is matched lowercased, [`Expr::scans_lowercased`]).
    pub exprs: Vec<Expr>,
}

/// Everything about one source type's rules.
pub struct KindPlan {
    /// The source type.
    pub kind: SourceKind,
    /// Distinct fields.
    pub fields: Vec<FieldPlan>,
    /// Distinct predicates.
    pub leaves: Vec<Leaf>,
    /// `(rule index, condition)` for every detection rule of this source.
    pub rules: Vec<(usize, Node)>,
    /// Per rule (same order): leaves on typed columns at least one of which must hold for
    /// the rule to match; when none holds anywhere in a batch the rule is skipped
    /// without evaluating its condition.
    pub gates: Vec<Option<Vec<u32>>>,
    /// The literals string leaves on JSON fields require, to rule them out on an event
    /// without parsing it.
    pub prefilter: Option<Prefilter>,
    /// Per field: its leaves (indexes into `leaves`).
    pub field_leaves: Vec<Vec<u32>>,
    /// Per leaf: its position in its field's list in `field_leaves`.
    pub slots: Vec<u32>,
    /// Per leaf: the fields read after the gate fields (`lazy` ones, and the other
    /// leaves of `bounds` ones) that some rule gated on this leaf reads. Evaluation reads
    /// such a field on the rows where one of these gate leaves holds, found from the few
    /// leaves that hold in a batch rather than from every rule.
    pub lazy_of_gate: Vec<Vec<u32>>,
    /// Per field: some rule reading it has no gate, so it is read on every row.
    pub read_ungated: Vec<bool>,
    /// Per leaf: the rules (indexes into `rules`) gated on it.
    pub rules_of_gate: Vec<Vec<u32>>,
    /// The rules (indexes into `rules`) with no gate: evaluated on every batch.
    pub ungated_rules: Vec<u32>,
    /// Per field: the positions in its `field_leaves` of the leaves tested value by value
    /// rather than through the field's Hyperscan database (not plain patterns, not field
    /// references).
    pub plain: Vec<Vec<usize>>,
    /// Per field: whether it has gate leaves, and other leaves, field references left
    /// out (phase 3 decides those).
    pub settled: Vec<[bool; 2]>,
    /// Per leaf: the group a read of its field records it in, `2 × field` for a gate
    /// leaf and `2 × field + 1` for another (`u32::MAX` for a field reference). A read
    /// marks the whole group known at once, so that a field with thousands of leaves
    /// costs nothing per leaf that no value matches.
    pub settle_group: Vec<u32>,
    /// Per field: a typed string field no rule is gated on, which evaluation reads only
    /// on the rows where a rule reading it has its gate open.
    pub lazy: Vec<bool>,
    /// Per field: for a typed string field whose gate leaves are all exact literals or
    /// require a literal, what a value needs to satisfy one ([`GateBound`]): evaluation
    /// decides those leaves on the rows whose value fits, and the field's other leaves
    /// lazily.
    pub bounds: Vec<Option<GateBound>>,
    /// Per field: whether a field reference reads it (as the leaf's own field or the
    /// field referred to), so that evaluation must have its values at hand to decide
    /// such a leaf.
    pub referenced: Vec<bool>,
    /// The field-reference leaves (indexes into `leaves`), which phase 3 decides on the
    /// rows it parsed: found without visiting every leaf.
    pub field_refs: Vec<u32>,
}

impl KindPlan {
    /// Whether leaf `l` is in some rule's gate.
    pub fn is_gate_leaf(&self, l: usize) -> bool {
        !self.rules_of_gate[l].is_empty()
    }

    /// A source's plan, with the per-field tables evaluation uses derived from it.
    fn new(
        kind: SourceKind,
        fields: Vec<FieldPlan>,
        leaves: Vec<Leaf>,
        rules: Vec<(usize, Node)>,
        gates: Vec<Option<Vec<u32>>>,
        prefilter: Option<Prefilter>,
        with_bounds: bool,
    ) -> Result<Self> {
        let mut field_leaves = vec![Vec::new(); fields.len()];
        let mut slots = vec![0u32; leaves.len()];
        for (i, l) in leaves.iter().enumerate() {
            slots[i] = field_leaves[l.field].len() as u32;
            field_leaves[l.field].push(i as u32);
        }
        let mut fields_of_rule = Vec::with_capacity(rules.len());
        for (_, node) in &rules {
            let mut ls = Vec::new();
            node.leaves(&mut ls);
            let mut fs: Vec<usize> = ls.iter().map(|&l| leaves[l as usize].field).collect();
            fs.sort_unstable();
            fs.dedup();
            fields_of_rule.push(fs);
        }
        let mut rules_of_gate = vec![Vec::new(); leaves.len()];
        let mut ungated_rules = Vec::new();
        for (ri, g) in gates.iter().enumerate() {
            match g {
                Some(g) => g
                    .iter()
                    .for_each(|&l| rules_of_gate[l as usize].push(ri as u32)),
                None => ungated_rules.push(ri as u32),
            }
        }
        // Per leaf: whether it is in some rule's gate.
        let gate_leaf: Vec<bool> = rules_of_gate.iter().map(|rs| !rs.is_empty()).collect();
        let mut gated = vec![false; fields.len()];
        for (l, leaf) in leaves.iter().enumerate() {
            if gate_leaf[l] {
                gated[leaf.field] = true;
            }
        }
        let string_column = |f: &FieldPlan| {
            matches!(
                f.access,
                Access::Column {
                    ty: crate::fields::ColType::Utf8,
                    ..
                }
            )
        };
        let lazy: Vec<bool> = fields
            .iter()
            .zip(&gated)
            .map(|(f, gated)| !gated && string_column(f))
            .collect();
        let bounds: Vec<Option<GateBound>> = fields
            .iter()
            .enumerate()
            .map(|(fi, f)| match &f.db {
                Some(db) if with_bounds && gated[fi] && string_column(f) => {
                    GateBound::of(db, &field_leaves[fi], &gate_leaf)
                }
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        let is_ref = |l: u32| matches!(leaves[l as usize].kind, LeafKind::FieldRef { .. });
        let plain = field_leaves
            .iter()
            .map(|ls| {
                ls.iter()
                    .enumerate()
                    .filter(|&(_, &l)| {
                        !is_ref(l)
                            && !matches!(leaves[l as usize].kind, LeafKind::Pattern { regex: None })
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let mut settle_group = vec![u32::MAX; leaves.len()];
        let mut settled = vec![[false; 2]; fields.len()];
        for (fi, ls) in field_leaves.iter().enumerate() {
            for &l in ls.iter().filter(|&&l| !is_ref(l)) {
                let other = usize::from(!gate_leaf[l as usize]);
                settle_group[l as usize] = (2 * fi + other) as u32;
                settled[fi][other] = true;
            }
        }
        // Fields read after the gate fields: lazy ones, and bounded ones with other
        // leaves (`eval` reads those leaves lazily).
        let read_late: Vec<bool> = (0..fields.len())
            .map(|fi| lazy[fi] || (bounds[fi].is_some() && settled[fi][1]))
            .collect();
        let mut lazy_of_gate: Vec<Vec<u32>> = vec![Vec::new(); leaves.len()];
        let mut read_ungated = vec![false; fields.len()];
        for (fs, g) in fields_of_rule.iter().zip(&gates) {
            for &fi in fs.iter().filter(|&&fi| read_late[fi]) {
                match g {
                    Some(g) => g
                        .iter()
                        .for_each(|&l| lazy_of_gate[l as usize].push(fi as u32)),
                    None => read_ungated[fi] = true,
                }
            }
        }
        for fs in &mut lazy_of_gate {
            fs.sort_unstable();
            fs.dedup();
        }
        let mut referenced = vec![false; fields.len()];
        let mut field_refs = Vec::new();
        for (l, leaf) in leaves.iter().enumerate() {
            if let LeafKind::FieldRef { other, .. } = leaf.kind {
                referenced[leaf.field] = true;
                referenced[other] = true;
                field_refs.push(l as u32);
            }
        }
        Ok(Self {
            kind,
            fields,
            leaves,
            rules,
            gates,
            prefilter,
            field_leaves,
            slots,
            lazy_of_gate,
            read_ungated,
            rules_of_gate,
            ungated_rules,
            plain,
            settled,
            settle_group,
            lazy,
            bounds,
            referenced,
            field_refs,
        })
    }
}

/// One Hyperscan database of the texts that must occur in an event's verbatim JSON for
/// leaves on fields read from it to hold, matched ASCII-case-insensitively against the
/// JSON of the events evaluation would otherwise parse (`crate::eval`, phase 2b):
/// - every literal ([`Leaf::literal`]) a string leaf requires: where it does not occur,
///   the leaf is false;
/// - every key a field's dotted path can start with, quoted (`"requestParameters"`,
///   `"requestParameters.bucketName"`): where none occurs, the field is absent and every
///   leaf on it has its value on an absent field.
pub struct Prefilter {
    /// The texts.
    pub db: BlockDatabase,
    /// Text id -> the leaves requiring it.
    pub leaves_of: Vec<Vec<u32>>,
    /// Text id -> the fields (indexes into [`KindPlan::fields`]) it is a first key of
    /// (the key in quotes).
    pub fields_of: Vec<Vec<usize>>,
    /// Text id -> its length in bytes (where a match ends, less this, is where it starts).
    pub text_len: Vec<usize>,
    /// Per field: whether every key its path can start with is in the database, so that
    /// its absence can be told: none of them occurs as a string at the top level of the
    /// event's object.
    pub keyed: Vec<bool>,
    /// Per field: whether none of the keys its path can start with is one the source's
    /// events define at the top level ([`vigil_ingest::schema::defines_top_level_key`]):
    /// the field is then absent from every event whose decoder saw no unknown top-level
    /// key (the batch's [`vigil_ingest::schema::UNKNOWN_KEYS_COLUMN`]), with no need to
    /// read its text.
    pub unknown_only: Vec<bool>,
}

/// The keys a dotted path can start with at the top of an event (`a.b.c`: `a`, `a.b`,
/// `a.b.c`, as the path lookup tries them), if all are written in JSON without escapes
/// (ASCII, no `"`, `\`, `/` or control characters); `None` otherwise.
fn first_keys(path: &str) -> Option<Vec<&str>> {
    let plain = |c: char| c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '/');
    if path.is_empty() || !path.chars().all(plain) {
        return None;
    }
    let mut ends: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
    ends.push(path.len());
    Some(ends.into_iter().map(|e| &path[..e]).collect())
}

/// The prefilter of the leaves and fields read from the verbatim JSON.
fn prefilter(kind: SourceKind, leaves: &[Leaf], fields: &[FieldPlan]) -> Result<Option<Prefilter>> {
    // Whether a key is one the source's events define at the top level, where known.
    let known = vigil_ingest::schema::defines_top_level_key(kind);
    // Texts, deduplicated ignoring ASCII case (they are matched so).
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut texts: Vec<Expr> = Vec::new();
    let mut leaves_of: Vec<Vec<u32>> = Vec::new();
    let mut fields_of: Vec<Vec<usize>> = Vec::new();
    let mut text_len: Vec<usize> = Vec::new();
    let mut id_of = |text: &str| -> usize {
        *index.entry(text.to_ascii_lowercase()).or_insert_with(|| {
            texts.push(Expr::literal_anywhere(text));
            leaves_of.push(Vec::new());
            fields_of.push(Vec::new());
            text_len.push(text.len());
            texts.len() - 1
        })
    };
    let mut keyed = vec![false; fields.len()];
    let mut unknown_only = vec![false; fields.len()];
    let mut key_ids: Vec<(usize, usize)> = Vec::new();
    let mut literal_ids: Vec<(usize, u32)> = Vec::new();
    for (f, field) in fields.iter().enumerate() {
        if let Access::Raw(path) = &field.access
            && let Some(keys) = first_keys(path)
        {
            keyed[f] = true;
            unknown_only[f] = known.is_some_and(|known| keys.iter().all(|k| !known(k)));
            key_ids.extend(keys.into_iter().map(|k| (id_of(&format!("\"{k}\"")), f)));
        }
    }
    for (l, leaf) in leaves.iter().enumerate() {
        if let (Some(lit), Access::Raw(_)) = (&leaf.literal, &fields[leaf.field].access) {
            literal_ids.push((id_of(lit), l as u32));
        }
    }
    if texts.is_empty() {
        return Ok(None);
    }
    // Every place a key occurs is reported: one nested occurrence must not hide one at
    // the top level.
    for &(id, _) in &key_ids {
        texts[id].check = Check::Every;
    }
    key_ids
        .into_iter()
        .for_each(|(id, f)| fields_of[id].push(f));
    literal_ids
        .into_iter()
        .for_each(|(id, l)| leaves_of[id].push(l));
    let all: Vec<(usize, &Expr)> = texts.iter().enumerate().collect();
    Ok(Some(Prefilter {
        db: build_db(&all)?,
        leaves_of,
        fields_of,
        text_len,
        keyed,
        unknown_only,
    }))
}

/// Leaves at least one of which must be true for `node` to be true, if such a set of
/// leaves on typed columns exists (`cheap(leaf)`).
///
/// Where an `and` offers several, the one on the most common gate fields is taken
/// (`rank(leaf)`: 0 for the field most rules can be gated on), then the smallest: most
/// rules then gate on the same few fields (`eventName`), which evaluation reads on every
/// row, and every other field is read only on the rows some rule using it is still open
/// on.
fn gate(node: &Node, cheap: &dyn Fn(u32) -> bool, rank: &dyn Fn(u32) -> usize) -> Option<Vec<u32>> {
    match node {
        Node::Leaf(l) => cheap(*l).then(|| vec![*l]),
        Node::Const(false) => Some(Vec::new()),
        Node::And(ns) => ns
            .iter()
            .filter_map(|n| gate(n, cheap, rank))
            .min_by_key(|g| (g.iter().map(|l| rank(*l)).max().unwrap_or(0), g.len())),
        Node::Or(ns) | Node::AtLeast(_, ns) => {
            let mut all = Vec::new();
            for n in ns {
                all.extend(gate(n, cheap, rank)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
        Node::Not(_) | Node::Const(true) => None,
    }
}

/// A loaded detection rule.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// Metadata.
    pub meta: Meta,
    /// Its source type.
    pub kind: SourceKind,
    /// Whether its matches become findings of their own (false when only correlations
    /// use it and none asks to `generate` it).
    pub emit: bool,
    /// Correlations it feeds.
    pub feeds: Vec<usize>,
    /// The field values its hits carry (for the correlations it feeds and its
    /// suppression), fixed at compile time.
    pub hit_fields: HitFields,
}

/// The field values a rule's hits carry, computed once when rules are compiled.
#[derive(Debug, Clone, Default)]
pub struct HitFields {
    /// Field names to read for each hit row, each once.
    pub names: Vec<String>,
    /// Per correlation input the rule feeds: the correlation, the input's position, and
    /// the indexes into `names` of its group-by fields and of its value fields.
    pub feeds: Vec<(usize, usize, Vec<usize>, Vec<usize>)>,
    /// Indexes into `names` of the rule's suppression fields.
    pub suppress: Vec<usize>,
}

impl HitFields {
    fn of(rule: usize, info: &RuleInfo, plans: &[CorrelationPlan]) -> Self {
        fn intern(names: &mut Vec<String>, f: &str) -> usize {
            match names.iter().position(|n| n == f) {
                Some(i) => i,
                None => {
                    names.push(f.to_string());
                    names.len() - 1
                }
            }
        }
        let mut out = HitFields::default();
        for &c in &info.feeds {
            for (pos, input) in plans[c].inputs.iter().enumerate() {
                if let CorrInput::Rule {
                    rule: r,
                    group_fields,
                    value_fields,
                } = input
                    && *r == rule
                {
                    let g = group_fields
                        .iter()
                        .map(|f| intern(&mut out.names, f))
                        .collect();
                    let v = value_fields
                        .iter()
                        .map(|f| intern(&mut out.names, f))
                        .collect();
                    out.feeds.push((c, pos, g, v));
                }
            }
        }
        if let Some(s) = &info.meta.options.suppress {
            out.suppress = s.fields.iter().map(|f| intern(&mut out.names, f)).collect();
        }
        out
    }
}

/// What a correlation reads from one referenced rule.
#[derive(Debug, Clone)]
pub enum CorrInput {
    /// A detection rule: its index, and per `group-by` entry the field to read.
    Rule {
        /// Index into [`Compiled::rules`].
        rule: usize,
        /// Field names for each group-by entry (aliases resolved).
        group_fields: Vec<String>,
        /// The field `condition.field` names, for value correlations.
        value_fields: Vec<String>,
    },
    /// Another correlation, whose group values feed this one's by name.
    Correlation {
        /// Index into [`Compiled::correlations`].
        corr: usize,
        /// Per `group-by` entry, the name in the other correlation's `group-by` to take
        /// the value from (aliases resolved).
        group_fields: Vec<String>,
    },
}

/// A loaded correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationPlan {
    /// The rule.
    pub rule: CorrelationRule,
    /// One entry per referenced rule, in the rule's order.
    pub inputs: Vec<CorrInput>,
    /// Correlations that reference this one.
    pub parents: Vec<usize>,
    /// Whether its findings are emitted (false when only a parent correlation uses it).
    pub emit: bool,
}

/// A rule that loaded, as `vigil rules check` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Loaded {
    /// `id`
    pub rule_id: String,
    /// `title`
    pub title: String,
    /// `detection` or `correlation` or `filter`
    pub kind: &'static str,
    /// Source type, for detection rules.
    pub source: Option<&'static str>,
    /// Where it came from.
    pub origin: String,
    /// Things worth knowing that do not stop it loading (a field that cannot exist in
    /// its source, ...).
    pub warnings: Vec<String>,
}

/// What loading rules produced.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// Rules in use.
    pub loaded: Vec<Loaded>,
    /// Rules not in use, with the reason.
    pub rejected: Vec<Rejection>,
}

/// Options for compiling rules.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Values for `%placeholder%`s used with the `expand` modifier.
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Compile without the [`Prefilter`] (every verdict is the same either way, only
    /// slower; for comparisons and tests).
    pub without_prefilter: bool,
    /// Compile without [`GateBound`]s, of lengths or of literals (every verdict is the
    /// same either way; for comparisons and tests).
    pub without_length_bounds: bool,
}

/// The compiled plan.
pub struct Compiled {
    /// Detection rules, indexed by rule index.
    pub rules: Vec<RuleInfo>,
    /// Per source type (by [`SourceKind::index`]).
    pub kinds: Vec<KindPlan>,
    /// Correlation rules.
    pub correlations: Vec<CorrelationPlan>,
    /// What loaded and what did not.
    pub report: LoadReport,
}

fn reject(meta: &Meta, reason: String) -> Rejection {
    Rejection {
        origin: meta.origin.to_string(),
        rule_id: Some(meta.id.0.clone()),
        title: Some(meta.title.clone()),
        reason,
    }
}

/// Per-source builder state.
struct KindBuilder {
    kind: SourceKind,
    fields: Vec<Access>,
    field_index: HashMap<Access, usize>,
    leaves: Vec<Leaf>,
    leaf_index: HashMap<String, u32>,
    /// Per field: (expressions, leaf) pairs.
    exprs: Vec<Vec<(Expr, u32)>>,
    rules: Vec<(usize, Node)>,
}

impl KindBuilder {
    fn new(kind: SourceKind) -> Self {
        Self {
            kind,
            fields: Vec::new(),
            field_index: HashMap::new(),
            leaves: Vec::new(),
            leaf_index: HashMap::new(),
            exprs: Vec::new(),
            rules: Vec::new(),
        }
    }

    fn field(&mut self, access: Access) -> usize {
        if let Some(&i) = self.field_index.get(&access) {
            return i;
        }
        let i = self.fields.len();
        self.fields.push(access.clone());
        self.field_index.insert(access, i);
        self.exprs.push(Vec::new());
        i
    }

    fn leaf(
        &mut self,
        field: usize,
        kind: LeafKind,
        key: String,
        describe: String,
        exprs: Vec<Expr>,
    ) -> u32 {
        let key = format!("{field}\u{1}{key}");
        if let Some(&l) = self.leaf_index.get(&key) {
            return l;
        }
        let l = self.leaves.len() as u32;
        self.leaves.push(Leaf {
            field,
            kind,
            describe,
            literal: None,
        });
        self.leaf_index.insert(key, l);
        for e in exprs {
            self.exprs[field].push((e, l));
        }
        l
    }
}

/// Checks that Hyperscan (or, failing that, the `regex` crate) accepts a user regular
/// expression; returns the fallback matcher when only `regex` does.
fn check_regex(e: &Expr) -> std::result::Result<Option<regex::Regex>, String> {
    if hs_pattern(e, 0)
        .and_then(|p| p.build::<BlockMode>().map_err(|x| x.to_string()))
        .is_ok()
    {
        return Ok(None);
    }
    let mut flags = String::new();
    if e.caseless {
        flags.push('i');
    }
    if e.multiline {
        flags.push('m');
    }
    if e.dotall {
        flags.push('s');
    }
    let re = if flags.is_empty() {
        e.regex.clone()
    } else {
        format!("(?{flags}){}", e.regex)
    };
    regex::Regex::new(&re)
        .map(Some)
        .map_err(|err| format!("regular expression {:?} is supported neither by Hyperscan nor by the regex crate: {err}", e.regex))
}

fn hs_pattern(e: &Expr, id: usize) -> std::result::Result<Pattern, String> {
    let mut flags = PatternFlags::empty();
    if e.check.single_match() {
        flags |= PatternFlags::SINGLEMATCH;
    }
    if e.caseless {
        flags |= PatternFlags::CASELESS;
    }
    if e.dotall {
        flags |= PatternFlags::DOTALL;
    }
    if e.multiline {
        flags |= PatternFlags::MULTILINE;
    }
    if e.allow_empty {
        flags |= PatternFlags::ALLOWEMPTY;
    }
    if e.utf8 {
        flags |= PatternFlags::UTF8;
        if e.user_regex {
            flags |= PatternFlags::UCP;
        }
    }
    let mut p = Pattern::with_flags(e.regex.clone(), flags).map_err(|x| x.to_string())?;
    p.id = Some(id);
    Ok(p)
}

fn build_db(exprs: &[(usize, &Expr)]) -> Result<BlockDatabase> {
    let pats: Vec<Pattern> = exprs
        .iter()
        .map(|(id, e)| hs_pattern(e, *id))
        .collect::<std::result::Result<_, _>>()
        .map_err(DetectError::Hyperscan)?;
    Patterns(pats)
        .build::<BlockMode>()
        .map_err(|e| DetectError::Hyperscan(e.to_string()))
}

/// Compiles a rule set.
pub fn compile(set: RuleSet, opts: &CompileOptions) -> Result<Compiled> {
    let mut report = LoadReport {
        loaded: Vec::new(),
        rejected: set.rejected,
    };
    let mut builders: Vec<KindBuilder> = SourceKind::ALL
        .iter()
        .map(|k| KindBuilder::new(*k))
        .collect();
    let mut rules: Vec<RuleInfo> = Vec::new();
    let mut detections: Vec<(SigmaRule, SourceKind)> = Vec::new();
    let mut correlations: Vec<CorrelationRule> = Vec::new();
    let mut filters = Vec::new();
    let mut seen_ids: HashMap<String, String> = HashMap::new();
    for r in set.rules {
        let meta = r.meta().clone();
        if let Some(prev) = seen_ids.get(&meta.id.0) {
            report
                .rejected
                .push(reject(&meta, format!("duplicate rule id (also in {prev})")));
            continue;
        }
        seen_ids.insert(meta.id.0.clone(), meta.origin.to_string());
        match r {
            AnyRule::Detection(d) => match route(&d.logsource) {
                Ok(kind) => detections.push((d, kind)),
                Err(reason) => report.rejected.push(reject(&meta, reason)),
            },
            AnyRule::Correlation(c) => correlations.push(c),
            AnyRule::Filter(f) => filters.push(f),
        }
    }
    // Detection rules.
    let mut rule_nodes: Vec<(usize, SourceKind, Node)> = Vec::new();
    for (d, kind) in detections {
        let b = &mut builders[kind.index()];
        let mut warnings = Vec::new();
        let with_defaults;
        let opts = if d.meta.options.placeholders.is_empty() {
            opts
        } else {
            with_defaults = with_rule_placeholders(opts, &d.meta.options.placeholders);
            &with_defaults
        };
        match compile_detection(b, &d.detection, opts, &mut warnings) {
            Ok(node) => {
                let idx = rules.len();
                report.loaded.push(Loaded {
                    rule_id: d.meta.id.0.clone(),
                    title: d.meta.title.clone(),
                    kind: "detection",
                    source: Some(kind.name()),
                    origin: d.meta.origin.to_string(),
                    warnings,
                });
                rules.push(RuleInfo {
                    meta: d.meta,
                    kind,
                    emit: true,
                    feeds: Vec::new(),
                    hit_fields: HitFields::default(),
                });
                rule_nodes.push((idx, kind, node));
            }
            Err(reason) => report.rejected.push(reject(&d.meta, reason)),
        }
    }
    // Filters: AND NOT into the rules they name.
    for f in filters {
        let kind = match route(&f.logsource) {
            Ok(k) => k,
            Err(reason) => {
                report.rejected.push(reject(&f.meta, reason));
                continue;
            }
        };
        let mut warnings = Vec::new();
        let node = match compile_detection(
            &mut builders[kind.index()],
            &f.detection,
            opts,
            &mut warnings,
        ) {
            Ok(n) => n,
            Err(reason) => {
                report.rejected.push(reject(&f.meta, reason));
                continue;
            }
        };
        let mut applied = 0;
        for (idx, k, n) in &mut rule_nodes {
            let info = &rules[*idx];
            let named = f
                .rules
                .iter()
                .any(|r| *r == info.meta.id.0 || Some(r) == info.meta.name.as_ref());
            if named && *k == kind {
                *n = Node::and(vec![n.clone(), Node::Not(Box::new(node.clone()))]);
                applied += 1;
            }
        }
        if applied == 0 {
            warnings.push("the filter names no loaded rule of its source".into());
        }
        report.loaded.push(Loaded {
            rule_id: f.meta.id.0.clone(),
            title: f.meta.title.clone(),
            kind: "filter",
            source: Some(kind.name()),
            origin: f.meta.origin.to_string(),
            warnings,
        });
    }
    for (idx, kind, node) in rule_nodes {
        builders[kind.index()].rules.push((idx, node));
    }
    // Correlations.
    let corr_plans = compile_correlations(correlations, &mut rules, &mut report);
    // Hyperscan databases.
    let mut kinds = Vec::new();
    for b in builders {
        let mut fields = Vec::new();
        for (fi, access) in b.fields.iter().enumerate() {
            let list = &b.exprs[fi];
            let db = if list.is_empty() {
                None
            } else {
                let mut leaves_of: Vec<Vec<u32>> = Vec::new();
                let mut uniq: Vec<&Expr> = Vec::new();
                let mut index: HashMap<&Expr, usize> = HashMap::new();
                for (e, leaf) in list {
                    let id = *index.entry(e).or_insert_with(|| {
                        uniq.push(e);
                        leaves_of.push(Vec::new());
                        uniq.len() - 1
                    });
                    if !leaves_of[id].contains(leaf) {
                        leaves_of[id].push(*leaf);
                    }
                }
                let all: Vec<(usize, &Expr)> =
                    uniq.iter().enumerate().map(|(i, e)| (i, *e)).collect();
                let caseless_list: Vec<(usize, &Expr)> = all
                    .iter()
                    .filter(|(_, e)| e.scans_lowercased())
                    .cloned()
                    .collect();
                let caseless_ids: Vec<u32> = caseless_list.iter().map(|(i, _)| *i as u32).collect();
                let caseless_db: Vec<(usize, &Expr)> = caseless_list
                    .iter()
                    .enumerate()
                    .map(|(j, (_, e))| (j, *e))
                    .collect();
                Some(FieldDb {
                    exprs: uniq.iter().map(|e| (*e).clone()).collect(),
                    all: build_db(&all)?,
                    caseless: if caseless_db.is_empty() {
                        None
                    } else {
                        Some(build_db(&caseless_db)?)
                    },
                    leaves_of,
                    caseless_ids,
                })
            };
            fields.push(FieldPlan {
                access: access.clone(),
                db,
            });
        }
        let cheap = |l: u32| {
            !fields[b.leaves[l as usize].field].access.is_raw()
                && !matches!(b.leaves[l as usize].kind, LeafKind::FieldRef { .. })
        };
        // Fields ranked by how many rules have a cheap leaf on them, most first.
        let mut users = vec![0usize; fields.len()];
        for (_, n) in &b.rules {
            let mut ls = Vec::new();
            n.leaves(&mut ls);
            let mut on: Vec<usize> = ls
                .into_iter()
                .filter(|&l| cheap(l))
                .map(|l| b.leaves[l as usize].field)
                .collect();
            on.sort_unstable();
            on.dedup();
            on.into_iter().for_each(|f| users[f] += 1);
        }
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by_key(|&f| std::cmp::Reverse(users[f]));
        let mut field_rank = vec![0usize; fields.len()];
        for (r, f) in order.into_iter().enumerate() {
            field_rank[f] = r;
        }
        let rank = |l: u32| field_rank[b.leaves[l as usize].field];
        let gates = b
            .rules
            .iter()
            .map(|(_, n)| gate(n, &cheap, &rank))
            .collect();
        let prefilter = if opts.without_prefilter {
            None
        } else {
            prefilter(b.kind, &b.leaves, &fields)?
        };
        kinds.push(KindPlan::new(
            b.kind,
            fields,
            b.leaves,
            b.rules,
            gates,
            prefilter,
            !opts.without_length_bounds,
        )?);
    }
    Ok(Compiled {
        rules,
        kinds,
        correlations: corr_plans,
        report,
    })
}

fn compile_detection(
    b: &mut KindBuilder,
    d: &Detection,
    opts: &CompileOptions,
    warnings: &mut Vec<String>,
) -> std::result::Result<Node, String> {
    let mut searches: Vec<(String, Node)> = Vec::new();
    for (name, s) in &d.searches {
        let mut ors = Vec::new();
        for group in &s.any_of {
            let mut ands = Vec::new();
            for p in group {
                ands.push(
                    compile_predicate(b, p, opts, warnings)
                        .map_err(|e| format!("search identifier {name:?}: {e}"))?,
                );
            }
            ors.push(Node::and(ands));
        }
        searches.push((name.clone(), Node::or(ors)));
    }
    compile_cond(&d.condition, &searches)
}

fn compile_cond(c: &Cond, searches: &[(String, Node)]) -> std::result::Result<Node, String> {
    Ok(match c {
        Cond::Ident(n) => searches
            .iter()
            .find(|(s, _)| s == n)
            .map(|(_, node)| node.clone())
            .ok_or_else(|| format!("unknown search identifier {n:?}"))?,
        Cond::Not(c) => Node::Not(Box::new(compile_cond(c, searches)?)),
        Cond::And(cs) => Node::and(
            cs.iter()
                .map(|c| compile_cond(c, searches))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Cond::Or(cs) => Node::or(
            cs.iter()
                .map(|c| compile_cond(c, searches))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Cond::Of(q, sel) => {
            let chosen: Vec<Node> = searches
                .iter()
                .filter(|(n, _)| sel.selects(n))
                .map(|(_, node)| node.clone())
                .collect();
            // As an unknown identifier is: `all of filter_*` over no search would hold on
            // every event, `1 of filter_*` on none, neither what the author meant.
            if chosen.is_empty() {
                let what = match sel {
                    Selector::Them => "them".to_string(),
                    Selector::Pattern(p) => p.clone(),
                };
                return Err(format!("`of {what}` selects no search identifier"));
            }
            match q {
                Quant::Any => Node::or(chosen),
                Quant::All => Node::and(chosen),
                Quant::AtLeast(k) => {
                    if chosen.len() < *k {
                        Node::Const(false)
                    } else {
                        Node::AtLeast(*k, chosen)
                    }
                }
            }
        }
    })
}

/// A network range; a bare address is the range of that one address (threat feeds such
/// as FireHOL's list single hosts that way).
fn parse_net(s: &str) -> std::result::Result<ipnet::IpNet, String> {
    let t = s.trim();
    t.parse::<ipnet::IpNet>()
        .or_else(|e| {
            t.parse::<std::net::IpAddr>()
                .map(ipnet::IpNet::from)
                .map_err(|_| e)
        })
        .map_err(|e| format!("{s:?} is not a CIDR range: {e}"))
}

fn num_of(v: &SigmaValue) -> Option<f64> {
    match v {
        SigmaValue::Int(i) => Some(*i as f64),
        SigmaValue::Float(f) => Some(*f),
        SigmaValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `opts` with a rule's `vigil.placeholders` defaults for the placeholders `opts` does
/// not configure.
fn with_rule_placeholders(
    opts: &CompileOptions,
    defaults: &BTreeMap<String, Vec<String>>,
) -> CompileOptions {
    let mut o = opts.clone();
    for (name, values) in defaults {
        o.placeholders
            .entry(name.clone())
            .or_insert_with(|| values.clone());
    }
    o
}

fn expand(v: &str, opts: &CompileOptions) -> std::result::Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = v;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let values = opts
            .placeholders
            .get(name)
            .ok_or_else(|| format!("placeholder %{name}% is not configured (give its values with --placeholder {name}=VALUE,...)"))?;
        let prefix = &rest[..start];
        out = out
            .into_iter()
            .flat_map(|o| values.iter().map(move |val| format!("{o}{prefix}{val}")))
            .collect();
        rest = &rest[start + len + 2..];
    }
    Ok(out.into_iter().map(|o| o + rest).collect())
}

fn compile_predicate(
    b: &mut KindBuilder,
    p: &FieldPredicate,
    opts: &CompileOptions,
    warnings: &mut Vec<String>,
) -> std::result::Result<Node, String> {
    let access = match &p.field {
        Some(f) => resolve(b.kind, f),
        None => Access::Keywords,
    };
    if access == Access::Absent
        && let Some(f) = &p.field
    {
        warnings.push(format!(
            "field {f:?} does not exist in {} records; its predicates never match",
            b.kind
        ));
    }
    let field = b.field(access);
    let m = &p.mods;
    let mut values: Vec<SigmaValue> = Vec::new();
    for v in &p.values {
        match (m.expand, v) {
            (true, SigmaValue::Str(s)) => {
                let expanded = expand(s, opts)?;
                if expanded.is_empty() {
                    warnings.push(format!(
                        "{s:?} expands to no values (a placeholder has none configured): this predicate matches nothing until it is given some"
                    ));
                }
                values.extend(expanded.into_iter().map(SigmaValue::Str))
            }
            _ => values.push(v.clone()),
        }
    }
    // `exists`: the specification counts a field present "be it empty or null". A typed
    // column holds null for both absent and `null` fields, so on a JSON source a typed
    // field's absence is checked in the JSON too (only where the column is null).
    if m.op == Op::Exists {
        let [v] = values.as_slice() else {
            return Err("exists takes one value, true or false".into());
        };
        let want = match v {
            SigmaValue::Bool(b) => *b,
            SigmaValue::Str(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes"),
            _ => return Err("exists takes true or false".into()),
        };
        let present = b.leaf(
            field,
            LeafKind::Exists,
            "exists true".into(),
            "exists true".into(),
            vec![],
        );
        let mut node = Node::Leaf(present);
        if let (Access::Column { .. }, Some(name), true) =
            (&b.fields[field], &p.field, b.kind != SourceKind::VpcFlow)
        {
            let raw = b.field(Access::Raw(name.clone()));
            let null = b.leaf(
                raw,
                LeafKind::PresentNull,
                "present null".into(),
                "present with the value null".into(),
                vec![],
            );
            node = Node::or(vec![node, Node::Leaf(null)]);
        }
        return Ok(if want {
            node
        } else {
            Node::Not(Box::new(node))
        });
    }
    // Alternative network ranges make one leaf: one lookup per address, however many.
    if m.op == Op::Cidr && !m.all && !m.fieldref && values.len() > 1 {
        let mut nets = Vec::with_capacity(values.len());
        for v in &values {
            let SigmaValue::Str(s) = v else {
                return Err(format!("cidr takes network ranges, not {v}"));
            };
            nets.push(parse_net(s)?);
        }
        let mut text: Vec<String> = nets.iter().map(ToString::to_string).collect();
        text.sort();
        text.dedup();
        let text = text.join(",");
        let describe = if nets.len() > 8 {
            format!("cidr in {} ranges", nets.len())
        } else {
            format!("cidr {text}")
        };
        let l = b.leaf(
            field,
            LeafKind::Cidr(CidrSet::new(&nets)),
            format!("cidr {text}"),
            describe,
            vec![],
        );
        let base = Node::Leaf(l);
        return Ok(negated(b, field, m.neq, base));
    }
    let mut leaves = Vec::new();
    for v in &values {
        let leaf = if *v == SigmaValue::Null {
            b.leaf(field, LeafKind::Null, "null".into(), "null".into(), vec![])
        } else if m.fieldref {
            let SigmaValue::Str(other) = v else {
                return Err("fieldref takes field names".into());
            };
            let other_idx = b.field(resolve(b.kind, other));
            b.leaf(
                field,
                LeafKind::FieldRef {
                    other: other_idx,
                    op: m.op,
                    cased: m.cased,
                },
                format!("fieldref {other_idx} {:?} {}", m.op, m.cased),
                format!("fieldref {other}"),
                vec![],
            )
        } else if let Some(part) = m.time_part {
            let x = num_of(v).ok_or_else(|| format!("time modifiers compare numbers, not {v}"))?;
            let op = match m.op {
                Op::Lt => NumOp::Lt,
                Op::Lte => NumOp::Lte,
                Op::Gt => NumOp::Gt,
                Op::Gte => NumOp::Gte,
                _ => NumOp::Eq,
            };
            b.leaf(
                field,
                LeafKind::Time(part, op, x),
                format!("time {part:?} {op:?} {x}"),
                format!("{part:?} {op:?} {x}"),
                vec![],
            )
        } else {
            match (m.op, v) {
                (Op::Cidr, SigmaValue::Str(s)) => {
                    let net = parse_net(s)?;
                    b.leaf(
                        field,
                        LeafKind::Cidr(CidrSet::new(&[net])),
                        format!("cidr {net}"),
                        format!("cidr {net}"),
                        vec![],
                    )
                }
                (Op::Lt | Op::Lte | Op::Gt | Op::Gte, v) => {
                    let x = num_of(v).ok_or_else(|| format!("numeric comparison with {v}"))?;
                    let op = match m.op {
                        Op::Lt => NumOp::Lt,
                        Op::Lte => NumOp::Lte,
                        Op::Gt => NumOp::Gt,
                        _ => NumOp::Gte,
                    };
                    b.leaf(
                        field,
                        LeafKind::Num(op, x),
                        format!("num {op:?} {x}"),
                        format!("{op:?} {x}"),
                        vec![],
                    )
                }
                (Op::Eq, SigmaValue::Int(_) | SigmaValue::Float(_))
                    if m.base64.is_none() && m.utf16.is_none() =>
                {
                    let x = num_of(v).unwrap_or_default();
                    b.leaf(
                        field,
                        LeafKind::Num(NumOp::Eq, x),
                        format!("num eq {x}"),
                        format!("== {x}"),
                        vec![],
                    )
                }
                (Op::Eq, SigmaValue::Bool(x)) => b.leaf(
                    field,
                    LeafKind::Bool(*x),
                    format!("bool {x}"),
                    format!("== {x}"),
                    vec![],
                ),
                (_, v) => {
                    let text = match v {
                        SigmaValue::Str(s) => s.clone(),
                        SigmaValue::Int(i) => i.to_string(),
                        SigmaValue::Float(f) => f.to_string(),
                        SigmaValue::Bool(b) => b.to_string(),
                        SigmaValue::Null => unreachable!("handled above"),
                    };
                    let es = exprs(&text, m, p.field.is_none());
                    let mut regex = None;
                    for e in &es {
                        if e.user_regex {
                            regex = check_regex(e)?;
                        }
                    }
                    let key = format!("pat {:?}", es);
                    let describe =
                        format!("{:?} {text:?}{}", m.op, if m.cased { " cased" } else { "" });
                    let literal = if regex.is_some() {
                        None
                    } else {
                        pattern::required_literal(&text, m)
                    };
                    let exprs_for_db = if regex.is_some() { Vec::new() } else { es };
                    let l = b.leaf(
                        field,
                        LeafKind::Pattern { regex },
                        key,
                        describe,
                        exprs_for_db,
                    );
                    b.leaves[l as usize].literal = literal;
                    l
                }
            }
        };
        leaves.push(Node::Leaf(leaf));
    }
    let base = if m.all {
        Node::and(leaves)
    } else {
        Node::or(leaves)
    };
    Ok(negated(b, field, m.neq, base))
}

/// `base`, or with `neq` its negation on events where the field has a value (neither
/// absent nor `null`).
fn negated(b: &mut KindBuilder, field: usize, neq: bool, base: Node) -> Node {
    if !neq {
        return base;
    }
    let no_value = b.leaf(field, LeafKind::Null, "null".into(), "null".into(), vec![]);
    Node::and(vec![
        Node::Not(Box::new(Node::Leaf(no_value))),
        Node::Not(Box::new(base)),
    ])
}

/// Fields a correlation names that would silently be empty: suppression fields outside
/// its `group-by` (its findings carry only those values), and `group-by` entries a
/// chained correlation it reads does not group by (an alias can name the right one).
fn check_correlation_fields(
    c: &CorrelationRule,
    inputs: &[CorrInput],
    plans: &[CorrelationPlan],
) -> std::result::Result<(), String> {
    if let Some(s) = &c.meta.options.suppress
        && let Some(f) = s.fields.iter().find(|f| !c.group_by.contains(f))
    {
        return Err(format!(
            "suppression field {f:?} is not in the correlation's group-by {:?} (a correlation finding carries only those values)",
            c.group_by
        ));
    }
    for inp in inputs {
        if let CorrInput::Correlation { corr, group_fields } = inp {
            let child = &plans[*corr].rule;
            if let Some(f) = group_fields.iter().find(|f| !child.group_by.contains(f)) {
                return Err(format!(
                    "group-by {f:?} is not in the group-by {:?} of the correlation it reads, {:?} (name one of those, or map it with aliases)",
                    child.group_by, child.meta.title
                ));
            }
        }
    }
    Ok(())
}

/// The field correlation `c` reads as `name` from the rule (or correlation) `input`,
/// referenced as `reference`: `c`'s alias for it, looked up by the input's id, its name
/// or the reference as written, else `name` itself.
fn aliased(c: &CorrelationRule, name: &str, input: &Meta, reference: &str) -> String {
    c.aliases
        .get(name)
        .and_then(|per| {
            per.get(&input.id.0)
                .or_else(|| input.name.as_ref().and_then(|n| per.get(n)))
                .or_else(|| per.get(reference))
        })
        .map_or_else(|| name.to_string(), Clone::clone)
}

fn compile_correlations(
    corrs: Vec<CorrelationRule>,
    rules: &mut [RuleInfo],
    report: &mut LoadReport,
) -> Vec<CorrelationPlan> {
    // Resolve references; reject unknown names and cycles, iterating until stable.
    let mut plans: Vec<CorrelationPlan> = Vec::new();
    let mut pending = corrs;
    loop {
        let mut progressed = false;
        let mut still = Vec::new();
        for c in pending {
            let mut inputs = Vec::new();
            let mut missing = None;
            for r in &c.rules {
                if let Some(i) = rules
                    .iter()
                    .position(|x| x.meta.id.0 == *r || x.meta.name.as_deref() == Some(r))
                {
                    let meta = &rules[i].meta;
                    let pick = |name: &String| aliased(&c, name, meta, r);
                    inputs.push(CorrInput::Rule {
                        rule: i,
                        group_fields: c.group_by.iter().map(pick).collect(),
                        value_fields: c.condition.fields.iter().map(pick).collect(),
                    });
                } else if let Some(j) = plans
                    .iter()
                    .position(|p| p.rule.meta.id.0 == *r || p.rule.meta.name.as_deref() == Some(r))
                {
                    let meta = &plans[j].rule.meta;
                    let group_fields = c.group_by.iter().map(|g| aliased(&c, g, meta, r)).collect();
                    inputs.push(CorrInput::Correlation {
                        corr: j,
                        group_fields,
                    });
                } else {
                    missing = Some(r.clone());
                    break;
                }
            }
            match missing {
                None => {
                    progressed = true;
                    if let Err(reason) = check_correlation_fields(&c, &inputs, &plans) {
                        report.rejected.push(reject(&c.meta, reason));
                        continue;
                    }
                    let idx = plans.len();
                    for inp in &inputs {
                        match inp {
                            CorrInput::Rule { rule, .. } => rules[*rule].feeds.push(idx),
                            CorrInput::Correlation { corr: j, .. } => plans[*j].parents.push(idx),
                        }
                    }
                    report.loaded.push(Loaded {
                        rule_id: c.meta.id.0.clone(),
                        title: c.meta.title.clone(),
                        kind: "correlation",
                        source: None,
                        origin: c.meta.origin.to_string(),
                        warnings: Vec::new(),
                    });
                    plans.push(CorrelationPlan {
                        rule: c,
                        inputs,
                        parents: Vec::new(),
                        emit: true,
                    });
                }
                Some(_) => still.push(c),
            }
        }
        if still.is_empty() || !progressed {
            for c in still {
                let unknown: Vec<&String> = c
                    .rules
                    .iter()
                    .filter(|r| {
                        !rules.iter().any(|x| {
                            x.meta.id.0 == **r || x.meta.name.as_deref() == Some(r.as_str())
                        }) && !plans.iter().any(|p| {
                            p.rule.meta.id.0 == **r
                                || p.rule.meta.name.as_deref() == Some(r.as_str())
                        })
                    })
                    .collect();
                let reason = if unknown.is_empty() {
                    "correlation references form a cycle".to_string()
                } else {
                    format!(
                        "correlation references rules that did not load: {unknown:?} (rejected, or not given with --rules)"
                    )
                };
                report.rejected.push(reject(&c.meta, reason));
            }
            break;
        }
        pending = still;
    }
    // `generate`: a rule used by correlations emits its own findings only if one of them
    // asks for it; a correlation used by another emits only if asked.
    for (i, r) in rules.iter_mut().enumerate() {
        if !r.feeds.is_empty() {
            r.emit = r.feeds.iter().any(|&c| plans[c].rule.generate);
        }
        r.hit_fields = HitFields::of(i, r, &plans);
    }
    let emits: Vec<(usize, bool)> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                i,
                p.parents.is_empty() || p.parents.iter().any(|&q| plans[q].rule.generate),
            )
        })
        .collect();
    for (i, e) in emits {
        plans[i].emit = e;
    }
    plans
}

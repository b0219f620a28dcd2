//! The Sigma rule model: what a rule file says, parsed and validated, before it is
//! compiled against a source's schema.
//!
//! Rules are read as the SigmaHQ repository writes them (YAML, single or multi-document,
//! `action: global/reset/repeat` collections), detection rules and correlation rules
//! (specification v2, with the v2.1 metrics). Anything a rule uses that Vigil does not
//! support rejects that rule with a reason naming the feature; see [`load`].

pub mod condition;
pub mod load;
pub mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use condition::{Cond, Quant, Selector};

/// A rule's identifier: its `id` (a UUID in SigmaHQ), or, for rules that only have a
/// `name`, that name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Severity, as Sigma's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium` (the default when a rule gives none)
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// Parses a Sigma level name.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The Sigma name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// Where a rule came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// 1-based index of the YAML document in the file.
    pub doc: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.doc > 1 {
            write!(f, "{} (document {})", self.file.display(), self.doc)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

/// A rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product`
    pub product: Option<String>,
    /// `service`
    pub service: Option<String>,
    /// `category`
    pub category: Option<String>,
}

/// Vigil's optional per-rule settings, read from a `vigil:` mapping in the rule (Sigma
/// allows custom attributes) or given by configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleOptions {
    /// Suppress repeats for the same values of these fields within this many seconds.
    pub suppress: Option<Suppress>,
    /// `vigil.placeholders`: values of `%placeholder%`s (the `expand` modifier) this rule
    /// uses when the configuration gives none. An empty list makes the predicates that
    /// use it match nothing until configured.
    pub placeholders: std::collections::BTreeMap<String, Vec<String>>,
}

/// Suppression of repeated findings of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppress {
    /// Fields whose values identify "the same" finding (empty: every finding of the rule).
    pub fields: Vec<String>,
    /// Window length in seconds, from the first finding.
    pub window_secs: u64,
}

/// Metadata shared by detection and correlation rules.
#[derive(Debug, Clone)]
pub struct Meta {
    /// `id` (or `name` when there is no id).
    pub id: RuleId,
    /// `name`, used by correlations to refer to rules.
    pub name: Option<String>,
    /// `title`
    pub title: String,
    /// `level`
    pub level: Level,
    /// `tags` (ATT&CK techniques and tactics: `attack.t1078.004`).
    pub tags: Vec<String>,
    /// `status`
    pub status: Option<String>,
    /// `author` (kept: the Detection Rule License asks matches to credit it).
    pub author: Option<String>,
    /// Where the rule was read.
    pub origin: Origin,
    /// Vigil's settings for this rule.
    pub options: RuleOptions,
}

/// A parsed Sigma detection rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// Identity and metadata.
    pub meta: Meta,
    /// `logsource`
    pub logsource: LogSource,
    /// `detection`
    pub detection: Detection,
}

/// A rule's `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The search identifiers, in file order.
    pub searches: Vec<(String, Search)>,
    /// The `condition` (a list of conditions is their OR).
    pub condition: Cond,
}

/// A search identifier's definition: an OR of ANDs of field predicates (a map is one
/// AND; a list of maps is the OR of its maps; a keyword list is one predicate with no
/// field).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// OR over these, AND within each.
    pub any_of: Vec<Vec<FieldPredicate>>,
}

/// `field|modifiers: values`, or a keyword search when `field` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPredicate {
    /// The field's dotted path; `None` for a keyword search over the whole event.
    pub field: Option<String>,
    /// The modifiers.
    pub mods: Modifiers,
    /// The values (OR, or AND with `|all`).
    pub values: Vec<SigmaValue>,
}

/// A value in a detection.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// A string (wildcards `*` `?` and escapes still unprocessed).
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// `null`
    Null,
}

impl fmt::Display for SigmaValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigmaValue::Str(s) => write!(f, "{s:?}"),
            SigmaValue::Int(i) => write!(f, "{i}"),
            SigmaValue::Float(x) => write!(f, "{x}"),
            SigmaValue::Bool(b) => write!(f, "{b}"),
            SigmaValue::Null => f.write_str("null"),
        }
    }
}

/// The comparison a predicate makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Plain value: equality, with Sigma wildcards.
    Eq,
    /// `contains`
    Contains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `re` with its `i`, `m`, `s` flags.
    Re {
        /// `i`
        i: bool,
        /// `m`
        m: bool,
        /// `s`
        s: bool,
    },
    /// `cidr`
    Cidr,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `exists`
    Exists,
}

/// Text encodings applied to a value before matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Utf16 {
    /// `utf16le` / `wide`
    Le,
    /// `utf16be`
    Be,
    /// `utf16` (with a byte order mark)
    Bom,
}

/// A time part extracted by the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// `minute`
    Minute,
    /// `hour`
    Hour,
    /// `day`
    Day,
    /// `week`
    Week,
    /// `month`
    Month,
    /// `year`
    Year,
}

/// The modifiers of one predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Modifiers {
    /// The comparison.
    pub op: Op,
    /// `all`: the values are ANDed.
    pub all: bool,
    /// `cased`: case-sensitive.
    pub cased: bool,
    /// `neq`: the field is different from every value.
    pub neq: bool,
    /// `fieldref`: the values name other fields of the same event.
    pub fieldref: bool,
    /// `windash`
    pub windash: bool,
    /// `utf16le` / `utf16be` / `utf16` / `wide`
    pub utf16: Option<Utf16>,
    /// `base64` (false) or `base64offset` (true).
    pub base64: Option<bool>,
    /// `expand`: `%placeholder%` values replaced from configuration.
    pub expand: bool,
    /// A time modifier.
    pub time_part: Option<TimePart>,
}

impl Default for Modifiers {
    fn default() -> Self {
        Self {
            op: Op::Eq,
            all: false,
            cased: false,
            neq: false,
            fieldref: false,
            windash: false,
            utf16: None,
            base64: None,
            expand: false,
            time_part: None,
        }
    }
}

/// Sigma correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// `event_count`
    EventCount,
    /// `value_count`
    ValueCount,
    /// `temporal`
    Temporal,
    /// `temporal_ordered`
    TemporalOrdered,
    /// `value_sum`
    ValueSum,
    /// `value_avg`
    ValueAvg,
    /// `value_percentile`
    ValuePercentile,
    /// `first_seen`, a Vigil extension (not in the Sigma specification): an event whose
    /// `group-by` values were not seen together within the last `timespan` (after a
    /// `baseline` period spent learning them).
    FirstSeen,
}

/// A comparison in a correlation `condition`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CmpOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CmpOp {
    /// Whether `x` satisfies `x OP threshold`.
    pub fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Gt => x > threshold,
            CmpOp::Gte => x >= threshold,
            CmpOp::Lt => x < threshold,
            CmpOp::Lte => x <= threshold,
            CmpOp::Eq => x == threshold,
            CmpOp::Neq => x != threshold,
        }
    }

    /// Whether the comparison can only become true, never false again, as a count or
    /// sum of non-negative values grows (so it can be decided as events arrive).
    pub fn monotone(self) -> bool {
        matches!(self, CmpOp::Gt | CmpOp::Gte)
    }
}

/// A correlation rule's `condition`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CorrelationCondition {
    /// The field(s) a value correlation aggregates.
    pub fields: Vec<String>,
    /// Comparisons, all of which must hold.
    pub cmps: Vec<(CmpOp, f64)>,
    /// `percentile` for `value_percentile` (default 50).
    pub percentile: Option<f64>,
}

/// A parsed Sigma correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// Identity and metadata.
    pub meta: Meta,
    /// `type`
    pub kind: CorrelationType,
    /// `rules`: ids or names of detection or correlation rules.
    pub rules: Vec<String>,
    /// `group-by` (aliases or field names).
    pub group_by: Vec<String>,
    /// `timespan` in seconds.
    pub timespan_secs: u64,
    /// `condition`
    pub condition: CorrelationCondition,
    /// `aliases`: alias -> (rule name or id -> field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// `generate`: also emit the referenced rules' own findings.
    pub generate: bool,
    /// `baseline` in seconds (`first_seen` only): how long after its first event the
    /// correlation only learns values and reports none.
    pub baseline_secs: u64,
}

/// A Sigma filter (`filter:` document): excludes events from the named rules.
#[derive(Debug, Clone)]
pub struct SigmaFilter {
    /// Identity and metadata.
    pub meta: Meta,
    /// `logsource`
    pub logsource: LogSource,
    /// Ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The filter's detection (events it matches are excluded from those rules).
    pub detection: Detection,
}

/// Any rule document.
#[derive(Debug, Clone)]
pub enum AnyRule {
    /// A detection rule.
    Detection(SigmaRule),
    /// A correlation rule.
    Correlation(CorrelationRule),
    /// A filter.
    Filter(SigmaFilter),
}

impl AnyRule {
    /// The rule's metadata.
    pub fn meta(&self) -> &Meta {
        match self {
            AnyRule::Detection(r) => &r.meta,
            AnyRule::Correlation(r) => &r.meta,
            AnyRule::Filter(r) => &r.meta,
        }
    }
}

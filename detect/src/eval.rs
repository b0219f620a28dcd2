//! Evaluating compiled rules on a batch.
//!
//! 1. Fields held in typed columns are read; each leaf on them becomes a row bitmap.
//!    String leaves are decided per *distinct* value: the value is scanned once by its
//!    field's Hyperscan database (which holds every string pattern of every rule on that
//!    field) and the leaves it matches are cached ([`crate::cache`]), so a batch where
//!    `eventName` takes 60 values costs 60 scans, not 8192. The fields rules are gated on
//!    (mostly `eventName`) are read on every row; any other string field only on the rows
//!    where some rule reading it has its gate open, since elsewhere those rules are false
//!    whatever it holds. A gated field whose gate leaves are all exact literals
//!    (`userAgent: 'TruffleHog'`) or require a literal (`userIdentity.arn|re:
//!    '.+:assumed-role/aws:.+'`), and whose values are long, is read for them only on the
//!    rows whose value's length can equal one or whose text contains one
//!    ([`crate::compile::gate_bound`]), and for its other leaves lazily.
//! 2. Every rule's condition is evaluated over these bitmaps in three-valued logic,
//!    leaves on fields that live in the verbatim JSON being "unknown". Most rows are
//!    decided here (an `eventName` test is false), and only the rows left undecided are
//!    looked at further.
//! 3. The JSON of just those rows is parsed once, for all the paths they need; the
//!    remaining leaves are computed on them and the rules decided.

use std::borrow::Cow;

use arrow::array::{Array, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use hyperscan::prelude::*;
use vigil_ingest::SourceKind;

use crate::bitmap::Bitmap;
use crate::cache::ValueCache;
#[cfg(doc)]
use crate::compile::gate_bound::LenBound;
use crate::compile::gate_bound::{GateBound, Literals};
use crate::compile::{Compiled, FieldDb, KindPlan, LeafKind, Node, Prefilter};
use crate::fields::{
    Access, ColType, DictColumn, Item, StrColumn, Values, column, extract_raw, typed_values,
    typed_values_on, value_bytes,
};
use crate::rule::{Op, TimePart};
use crate::top_level::top_level_strings;
use crate::{DetectError, Result};

/// The rows of a batch one rule matched.
#[derive(Debug, Clone)]
pub struct RuleMatch {
    /// Index into [`Compiled::rules`].
    pub rule: usize,
    /// Matching rows.
    pub rows: Bitmap,
}

/// Per-thread evaluation state: Hyperscan scratch space and per-field caches of which
/// leaves a value matches. The compiled plan is shared.
pub struct Evaluator {
    /// Rules whose condition was evaluated, and rules skipped because none of their gate
    /// leaves held in the batch (a `(evaluated, skipped)` count over this evaluator's
    /// life, for metrics and tests).
    gate_counts: (u64, u64),
    /// Events whose JSON phase 3 parsed, over this evaluator's life.
    parsed: u64,
    /// Events whose JSON text the prefilter read, over this evaluator's life.
    text_scans: u64,
    /// Per-leaf buffers reused from batch to batch ([`LeafState`]'s; `bits` all `None`
    /// between batches).
    spare: (Vec<Option<Bitmap>>, Vec<u8>, Vec<u32>),
    /// One field's leaf bitmaps being built, reused likewise.
    field_bits: FieldBits,
    /// The prefilter's candidates and per-leaf index into them (`u32::MAX`: none),
    /// reused likewise (each call resets the entries of the last one's candidates).
    cand_of: Vec<u32>,
    cands: Vec<u32>,
    scratch: Option<Scratch>,
    caches: Vec<Vec<ValueCache>>,
    /// Per source type, per prefilter text: how many of its matches as a field's key
    /// were walked to, and how many of those were at the top level of the event.
    key_walks: Vec<Vec<(u32, u32)>>,
}

impl Evaluator {
    /// State for evaluating `plan` on this thread.
    pub fn new(plan: &Compiled) -> Result<Self> {
        // One scratch space large enough for every database of the plan.
        let mut scratch: Option<Scratch> = None;
        let dbs = plan.kinds.iter().flat_map(|k| {
            k.fields
                .iter()
                .filter_map(|f| f.db.as_ref())
                .flat_map(|db| std::iter::once(&db.all).chain(db.caseless.as_ref()))
                .chain(k.prefilter.as_ref().map(|pf| &pf.db))
                .chain(
                    k.bounds
                        .iter()
                        .filter_map(|b| match b.as_ref()?.literals.as_ref()? {
                            Literals::Caseless(db) => Some(db),
                            Literals::Exact(_) => None,
                        }),
                )
        });
        for d in dbs {
            match &mut scratch {
                None => scratch = Some(d.alloc_scratch().map_err(hs_error)?),
                Some(s) => d.realloc_scratch(s).map(|_| ()).map_err(hs_error)?,
            }
        }
        let caches = plan
            .kinds
            .iter()
            .map(|k| k.fields.iter().map(|_| ValueCache::default()).collect())
            .collect();
        Ok(Self {
            gate_counts: (0, 0),
            parsed: 0,
            text_scans: 0,
            spare: (Vec::new(), Vec::new(), Vec::new()),
            field_bits: FieldBits::default(),
            cand_of: Vec::new(),
            cands: Vec::new(),
            scratch,
            caches,
            key_walks: vec![Vec::new(); plan.kinds.len()],
        })
    }

    /// `(rules evaluated, rules skipped by their gate)` over every batch so far: a rule
    /// is skipped when none of the typed-column leaves it needs holds on any row.
    pub fn gate_counts(&self) -> (u64, u64) {
        self.gate_counts
    }

    /// How many events' JSON was parsed to decide leaves on fields read from it, over
    /// every batch so far (the rest were decided from typed columns and the prefilter).
    pub fn parsed_events(&self) -> u64 {
        self.parsed
    }

    /// How many events' JSON text the prefilter read (checked and scanned for the
    /// literals and keys of undecided rules), over every batch so far.
    pub fn prefilter_scans(&self) -> u64 {
        self.text_scans
    }

    /// Evaluates every rule of `kind` on `batch` (which must have that source's schema).
    pub fn evaluate(
        &mut self,
        plan: &Compiled,
        kind: SourceKind,
        batch: &RecordBatch,
    ) -> Result<Vec<RuleMatch>> {
        let kp = &plan.kinds[kind.index()];
        let rows = batch.num_rows();
        if kp.rules.is_empty() || rows == 0 {
            return Ok(Vec::new());
        }
        // Per-leaf state, in buffers kept from the previous batch (with thousands of
        // rules they are large enough that fresh ones cost page faults every batch).
        // `bits` holds no bitmap between batches ([`Self::keep`] empties the ones set),
        // so it is only ever grown, never cleared whole.
        let (mut bits, mut known, held) = std::mem::take(&mut self.spare);
        if bits.len() < kp.leaves.len() {
            bits.resize(kp.leaves.len(), None);
        }
        known.clear();
        known.resize(kp.leaves.len(), UNKNOWN);
        let mut st = LeafState {
            bits,
            known,
            group_known: vec![UNKNOWN; 2 * kp.fields.len()],
            settle_group: &kp.settle_group,
            held,
            masks: vec![Bitmap::ones(rows)],
            rows,
        };
        // Phase 1: typed columns. Fields a rule is gated on, and numbers and booleans, on
        // every row; the other string fields (`lazy`) after them, on the rows where a
        // rule reading them is still open (its gate holds): elsewhere every such rule is
        // already false, whatever the field holds.
        let all = Bitmap::ones(rows);
        let mut lazy: Vec<(usize, StrColumn<'_>, Settle)> = Vec::new();
        let mut col_values: Vec<Option<Values<'_>>> = (0..kp.fields.len()).map(|_| None).collect();
        let arrays: Vec<Option<arrow::array::ArrayRef>> = kp
            .fields
            .iter()
            .map(|f| match &f.access {
                Access::Column { path, .. } => Some(column(batch, path)),
                _ => None,
            })
            .collect();
        for (fi, f) in kp.fields.iter().enumerate() {
            match &f.access {
                Access::Column { ty, .. } => {
                    let arr = arrays[fi].as_ref().expect("column fields have arrays");
                    if *ty == ColType::Utf8
                        && let Some(s) = StrColumn::of(arr)
                    {
                        if kp.lazy[fi] {
                            lazy.push((fi, s, Settle::All));
                            continue;
                        }
                        // A field whose gate leaves are bounded (exact literals, or
                        // patterns that require a literal): they are decided on every row
                        // by looking up only the values that fit (none holds elsewhere),
                        // and its other leaves are read lazily.
                        let fits = match kp.bounds[fi].as_ref() {
                            Some(bound) => rows_that_fit(bound, s, rows, self.scratch.as_ref())?,
                            None => None,
                        };
                        let (mask, settle) = match &fits {
                            Some(fits) => (fits, Settle::Gates),
                            None => (&all, Settle::All),
                        };
                        self.field_leaves_str(kp, kind, fi, s, mask, ALL_ROWS, settle, &mut st)?;
                        if fits.is_some() && kp.settled[fi][1] {
                            lazy.push((fi, s, Settle::Others));
                        }
                        continue;
                    }
                    if *ty == ColType::Int && !kp.referenced[fi] {
                        self.field_leaves_ints(kp, kind, fi, arr, &mut st)?;
                        continue;
                    }
                    col_values[fi] = Some(typed_values(arr, *ty));
                }
                Access::Absent => col_values[fi] = Some(Values::absent(rows)),
                _ => {}
            }
        }
        for fi in 0..kp.fields.len() {
            if let Some(v) = &col_values[fi] {
                self.field_leaves_values(kp, kind, fi, v, &all, ALL_ROWS, &mut st, &col_values)?;
            }
        }
        // The rows each field read late is needed on: where a gate leaf of a rule reading
        // it holds. Gate leaves are on the fields read above, known on every row, and
        // only the few that hold somewhere are visited.
        let mut late_need: Vec<Option<Bitmap>> = Vec::new();
        if !lazy.is_empty() {
            late_need.resize(kp.fields.len(), None);
            for &l in &st.held {
                let Some(b) = &st.bits[l as usize] else {
                    continue;
                };
                for &fi in &kp.lazy_of_gate[l as usize] {
                    late_need[fi as usize]
                        .get_or_insert_with(|| Bitmap::zeros(rows))
                        .or(b);
                }
            }
        }
        for (fi, arr, settle) in lazy {
            let need = if kp.read_ungated[fi] {
                all.clone()
            } else {
                late_need[fi].take().unwrap_or_else(|| Bitmap::zeros(rows))
            };
            if need.none() {
                // Every rule reading it is skipped by its gate: its leaves stay unknown.
                continue;
            }
            if need.count() == rows || st.masks.len() >= usize::from(UNKNOWN) - 2 {
                self.field_leaves_str(kp, kind, fi, arr, &all, ALL_ROWS, settle, &mut st)?;
            } else {
                let at = st.masks.len() as u8;
                self.field_leaves_str(kp, kind, fi, arr, &need, at, settle, &mut st)?;
                st.masks.push(need);
            }
        }
        // Phase 2: three-valued evaluation; collect rows still undecided.
        let mut out = Vec::new();
        let mut undecided: Vec<Undecided<'_>> = Vec::new();
        let mut need = Bitmap::zeros(rows);
        let mut need_fields = vec![false; kp.fields.len()];
        // The rules whose gate is open: some gate leaf holds on a row (gate leaves are on
        // typed columns, all known after phase 1, where `None` means the leaf holds on no
        // row), found from the leaves that hold, and the rules without a gate; in rule
        // order.
        let mut open = Bitmap::zeros(kp.rules.len());
        kp.ungated_rules
            .iter()
            .for_each(|&ri| open.set(ri as usize));
        for &l in &st.held {
            if st.bits[l as usize].is_some() {
                kp.rules_of_gate[l as usize]
                    .iter()
                    .for_each(|&ri| open.set(ri as usize));
            }
        }
        debug_assert!(
            kp.gates
                .iter()
                .flatten()
                .flatten()
                .all(|&l| st.is_known(l as usize)),
            "a gate leaf is unknown after phase 1"
        );
        let n_open = open.count();
        self.gate_counts.0 += n_open as u64;
        self.gate_counts.1 += (kp.rules.len() - n_open) as u64;
        for ri in open.iter() {
            let (rule, node) = &kp.rules[ri];
            undecided.extend(triage(
                kp,
                *rule,
                node,
                &st,
                &[],
                &mut out,
                &mut need,
                &mut need_fields,
            ));
        }
        if undecided.is_empty() {
            self.keep(st);
            return Ok(out);
        }
        let raw = batch
            .column_by_name("raw")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| DetectError::Hyperscan("batch has no raw column".into()))?;
        // Phase 2b: string leaves on JSON fields whose literal the event's text lacks.
        if let Some(pf) = &kp.prefilter {
            let unknown_keys = batch
                .column_by_name(vigil_ingest::schema::UNKNOWN_KEYS_COLUMN)
                .and_then(|c| c.as_any().downcast_ref::<BooleanArray>());
            self.prefilter(
                kp,
                pf,
                raw,
                unknown_keys,
                &mut st,
                &mut undecided,
                &mut out,
                &mut need,
                &mut need_fields,
            )?;
            if undecided.is_empty() {
                self.keep(st);
                return Ok(out);
            }
        }
        // Phase 3: parse the JSON of the undecided rows once, for every path they need.
        let raw_fields: Vec<usize> = (0..kp.fields.len())
            .filter(|&fi| need_fields[fi] && kp.fields[fi].access.is_raw())
            .collect();
        let targets: Vec<Option<&str>> = raw_fields
            .iter()
            .map(|&fi| match &kp.fields[fi].access {
                Access::Raw(p) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        self.parsed += need.count() as u64;
        let extracted = extract_raw(raw, &need, &targets);
        // At most 254 masks before this one (lazy fields stop adding at 253).
        let needed_rows = st.masks.len() as u8;
        st.masks.push(need.clone());
        let mut raw_values: Vec<Option<Values<'_>>> = (0..kp.fields.len()).map(|_| None).collect();
        for (fi, v) in raw_fields.iter().zip(extracted) {
            raw_values[*fi] = Some(v);
        }
        // Field values by index for field references: typed or raw. Only the fields one
        // reads (copying every needed column's values cost as much as the parsing).
        let mut merged: Vec<Option<Values<'_>>> = (0..kp.fields.len()).map(|_| None).collect();
        for fi in (0..kp.fields.len()).filter(|&fi| kp.referenced[fi]) {
            merged[fi] = match (
                &raw_values[fi],
                &col_values[fi],
                &arrays[fi],
                &kp.fields[fi].access,
            ) {
                (Some(v), _, _, _) => Some(v.clone()),
                (_, Some(v), _, _) => Some(v.clone()),
                (_, _, Some(arr), Access::Column { ty, .. }) if need_fields[fi] => {
                    Some(typed_values_on(arr, *ty, Some(&need)))
                }
                _ => None,
            };
        }
        for &fi in &raw_fields {
            if let Some(v) = &raw_values[fi] {
                self.field_leaves_values(kp, kind, fi, v, &need, needed_rows, &mut st, &merged)?;
            }
        }
        // Leaves still unknown (fieldref on typed fields): compute on the needed rows.
        for &li in &kp.field_refs {
            let li = li as usize;
            if !st.is_known(li)
                && let Some(v) = &merged[kp.leaves[li].field]
            {
                let bits = self.plain_leaf(kp, li, v, &need, &merged);
                st.set(li, Some(bits), needed_rows);
            }
        }
        for und in undecided {
            // Rows outside `u` were decided before (`und.t` there is final); phase 3
            // decided the rows of `u` (leaves on JSON fields are known on all of them).
            let (mut t, _) = eval3(und.node, &st);
            t.and(&und.u);
            t.or(&und.t);
            if !t.none() {
                out.push(RuleMatch {
                    rule: und.rule,
                    rows: t,
                });
            }
        }
        self.keep(st);
        Ok(out)
    }

    /// Phase 2b: leaves of undecided rules on fields read from the JSON are decided
    /// without parsing where the event's JSON text shows it ([`Prefilter`]; for text
    /// that is an ASCII object without `\u` escapes, where `compile::pattern::required_literal`
    /// shows why): a string leaf is false where its literal does not occur, and every
    /// leaf on a field takes its value on an absent field where none of the keys the
    /// field's path can start with occurs as a string at the top level of the event's
    /// object ([`top_level_strings`]; a key found there in three of its first 64 walks in
    /// four is then taken as present wherever it occurs, without a walk, which can only
    /// leave more to parse). One Hyperscan scan per row finds every text;
    /// the rules are then evaluated again, and `undecided`, `need` and `need_fields`
    /// keep only what is still open, so phase 3 parses fewer events. Where every candidate
    /// is on a field whose first keys the source's events do not define
    /// ([`Prefilter::unknown_only`]), events whose decoder saw no unknown top-level key
    /// are not read at all: none of those fields is in them.
    #[allow(clippy::too_many_arguments)]
    fn prefilter<'n>(
        &mut self,
        kp: &'n KindPlan,
        pf: &Prefilter,
        raw: &StringArray,
        unknown_keys: Option<&BooleanArray>,
        st: &mut LeafState<'_>,
        undecided: &mut Vec<Undecided<'n>>,
        out: &mut Vec<RuleMatch>,
        need: &mut Bitmap,
        need_fields: &mut [bool],
    ) -> Result<()> {
        // Candidates: unknown leaves of undecided rules on JSON fields with a literal or
        // a keyed field, as many as there is room for masks (one each, and one for
        // phase 3).
        let room = (usize::from(UNKNOWN) - 2).saturating_sub(st.masks.len());
        // Per leaf: its index in `cands`. Both are kept from batch to batch: only the
        // entries of the last call's candidates are reset, not one per leaf.
        let (cand_of, cands) = (&mut self.cand_of, &mut self.cands);
        for &l in cands.iter() {
            cand_of[l as usize] = u32::MAX;
        }
        cands.clear();
        if cand_of.len() < kp.leaves.len() {
            cand_of.resize(kp.leaves.len(), u32::MAX);
        }
        let mut field_slot = vec![u32::MAX; kp.fields.len()];
        let mut keyed_fields = 0u32;
        let mut ls = Vec::new();
        for und in undecided.iter() {
            ls.clear();
            und.node.leaves(&mut ls);
            for &l in &ls {
                let leaf = &kp.leaves[l as usize];
                let raw_field = matches!(kp.fields[leaf.field].access, Access::Raw(_));
                let by_literal = leaf.literal.is_some();
                let by_key =
                    pf.keyed[leaf.field] && !matches!(leaf.kind, LeafKind::FieldRef { .. });
                if cands.len() < room
                    && cand_of[l as usize] == u32::MAX
                    && !st.is_known(l as usize)
                    && raw_field
                    && (by_literal || by_key)
                {
                    cand_of[l as usize] = cands.len() as u32;
                    cands.push(l);
                    if by_key && field_slot[leaf.field] == u32::MAX {
                        field_slot[leaf.field] = keyed_fields;
                        keyed_fields += 1;
                    }
                }
            }
        }
        if cands.is_empty() {
            return Ok(());
        }
        // Where every candidate is on a field no key of which the source's events define
        // at the top level, an event whose decoder saw no unknown top-level key has none
        // of those fields: it is decided (as scanned, with no key found) unread.
        let by_keys_alone = unknown_keys.filter(|_| {
            cands.iter().all(|&l| {
                let f = kp.leaves[l as usize].field;
                field_slot[f] != u32::MAX && pf.unknown_only[f]
            })
        });
        let scratch = need_scratch(self.scratch.as_ref())?;
        let rows = st.rows;
        let mut scanned = Bitmap::zeros(rows);
        let mut present: Vec<Bitmap> = cands.iter().map(|_| Bitmap::zeros(rows)).collect();
        let mut keys_seen: Vec<Bitmap> = (0..keyed_fields).map(|_| Bitmap::zeros(rows)).collect();
        // Per row: where a keyed field's key was found (start, field slot, text id), and
        // which of those places are at the top level; per text, its walks so far.
        let mut key_at: Vec<(usize, u32, u32)> = Vec::new();
        let walks = &mut self.key_walks[kp.kind.index()];
        walks.resize(pf.text_len.len(), (0, 0));
        let mut starts: Vec<usize> = Vec::new();
        let mut top: Vec<bool> = Vec::new();
        for r in need.iter() {
            if let Some(u) = by_keys_alone
                && u.is_valid(r)
                && !u.value(r)
            {
                scanned.set(r);
                continue;
            }
            if !raw.is_valid(r) {
                continue;
            }
            self.text_scans += 1;
            let text = raw.value(r);
            let object = text.bytes().find(|b| !b.is_ascii_whitespace()) == Some(b'{');
            if !object
                || !text.is_ascii()
                || memchr::memmem::find(text.as_bytes(), b"\\u").is_some()
            {
                continue;
            }
            scanned.set(r);
            pf.db
                .scan(text, scratch, |id, _, to, _| {
                    for &l in &pf.leaves_of[id as usize] {
                        let c = cand_of[l as usize];
                        if c != u32::MAX {
                            present[c as usize].set(r);
                        }
                    }
                    for &f in &pf.fields_of[id as usize] {
                        let k = field_slot[f];
                        if k != u32::MAX {
                            let to = usize::try_from(to).unwrap_or(usize::MAX);
                            key_at.push((to.saturating_sub(pf.text_len[id as usize]), k, id));
                        }
                    }
                    Matching::Continue
                })
                .map_err(hs_error)?;
            // A key that has nearly always been at the top level (a CloudTrail event's
            // `requestParameters`) is taken as present: the walk would only confirm it.
            key_at.retain(|&(_, k, id)| {
                let (walked, at_top) = walks[id as usize];
                let settled =
                    walked >= KEY_WALKS_TO_SETTLE && u64::from(at_top) * 4 >= u64::from(walked) * 3;
                if settled {
                    keys_seen[k as usize].set(r);
                }
                !settled
            });
            if !key_at.is_empty() {
                // A key found only in nested objects or inside strings leaves the field
                // absent: its path is looked up from the top of the event.
                key_at.sort_unstable();
                starts.clear();
                starts.extend(key_at.iter().map(|&(at, _, _)| at));
                top_level_strings(text.as_bytes(), &starts, &mut top);
                for (&(_, k, id), &at_top) in key_at.iter().zip(&top) {
                    let w = &mut walks[id as usize];
                    w.0 = w.0.saturating_add(1);
                    if at_top {
                        w.1 = w.1.saturating_add(1);
                        keys_seen[k as usize].set(r);
                    }
                }
                key_at.clear();
            }
        }
        if scanned.none() {
            return Ok(());
        }
        for (&l, p) in cands.iter().zip(&present) {
            let leaf = &kp.leaves[l as usize];
            // Rows where the field is absent.
            let mut absent = Bitmap::zeros(rows);
            let k = field_slot[leaf.field];
            // (Field references are never candidates: their value depends on another field.)
            if k != u32::MAX {
                absent = scanned.clone();
                absent.and_not(&keys_seen[k as usize]);
            }
            let (known, holds) = match &leaf.kind {
                // False where the field is absent or the literal is missing.
                LeafKind::Pattern { .. } => {
                    let mut known = absent;
                    if leaf.literal.is_some() {
                        let mut missing = scanned.clone();
                        missing.and_not(p);
                        known.or(&missing);
                    }
                    (known, None)
                }
                // Its value on no value (`null`, `exists: false`: true), where absent.
                kind => {
                    let holds = plain_test(kind, &[], None).then(|| absent.clone());
                    (absent, holds)
                }
            };
            if !known.none() {
                let at = st.masks.len() as u8;
                st.masks.push(known);
                st.set(l as usize, holds, at);
            }
        }
        *need = Bitmap::zeros(rows);
        need_fields.iter_mut().for_each(|f| *f = false);
        let before = std::mem::take(undecided);
        for und in before {
            undecided.extend(triage(
                kp,
                und.rule,
                und.node,
                st,
                cand_of,
                out,
                need,
                need_fields,
            ));
        }
        Ok(())
    }

    /// String and other leaves of a string column, on the rows of `mask` (`mask_at`: its
    /// index in [`LeafState::masks`]); `settle` says which of them are recorded.
    #[allow(clippy::too_many_arguments)]
    fn field_leaves_str(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        arr: StrColumn<'_>,
        mask: &Bitmap,
        mask_at: u8,
        settle: Settle,
        st: &mut LeafState<'_>,
    ) -> Result<()> {
        let leaves = &kp.field_leaves[fi];
        if leaves.is_empty() {
            return Ok(());
        }
        // Per position in `leaves`: the rows where the leaf holds (buffer reused).
        let mut bits = std::mem::take(&mut self.field_bits);
        bits.start(leaves.len(), mask.len());
        let filled = match arr {
            StrColumn::Plain(a) => self.field_leaves_utf8(kp, kind, fi, a, mask, &mut bits),
            StrColumn::Dict(d) => self.field_leaves_dict(kp, kind, fi, d, mask, &mut bits),
        };
        settle_field(kp, fi, &mut bits, mask_at, settle, st);
        self.field_bits = bits;
        filled
    }

    /// [`Self::field_leaves_str`] on a dictionary-encoded column: each distinct value of
    /// the batch that a row of `mask` holds is decided once (its pattern leaves from the
    /// cache or one scan, its other leaves tested once), then every row takes its value's
    /// leaves.
    #[allow(clippy::too_many_arguments)]
    fn field_leaves_dict(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        arr: DictColumn<'_>,
        mask: &Bitmap,
        bits: &mut FieldBits,
    ) -> Result<()> {
        let values = arr.values;
        let n = values.len();
        // The dictionary entries the rows of `mask` hold (`n`: a null row).
        let entry = |r: usize| arr.entry(r).unwrap_or(n);
        let mut used = vec![false; n + 1];
        for r in mask.iter() {
            used[entry(r)] = true;
        }
        let plain = &kp.plain[fi];
        // Per used entry: the slots (positions in `leaves`) of the leaves its value
        // holds, copied out of the cache (which may be cleared by a later lookup).
        let mut starts = vec![0u32; n + 2];
        let mut holds: Vec<u32> = Vec::new();
        for e in 0..=n {
            starts[e] = holds.len() as u32;
            if !used[e] {
                continue;
            }
            let text = (e < n).then(|| values.value(e));
            let item = text.map(|t| Item::Str(Cow::Borrowed(t)));
            self.value_leaves(kp, kind, fi, text, item.as_slice(), plain, &mut holds)?;
        }
        starts[n + 1] = holds.len() as u32;
        for r in mask.iter() {
            let e = entry(r);
            for &s in &holds[starts[e] as usize..starts[e + 1] as usize] {
                bits.set(s as usize, r);
            }
        }
        Ok(())
    }

    /// [`Self::field_leaves_str`] on a plain `Utf8` column, value by value.
    #[allow(clippy::too_many_arguments)]
    fn field_leaves_utf8(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        arr: &StringArray,
        mask: &Bitmap,
        bits: &mut FieldBits,
    ) -> Result<()> {
        let leaves = &kp.field_leaves[fi];
        let db = kp.fields[fi].db.as_ref();
        let plain = &kp.plain[fi];
        let (cache, scratch) = self.cache_and_scratch(kind, fi);
        let nulls = arr.nulls().filter(|n| n.null_count() > 0);
        if let (Some(db), true) = (db, plain.is_empty()) {
            // Only patterns (nearly every field): each row's bytes, read straight from
            // the column's buffers, are looked up, on the valid rows of `mask` taken word
            // by word with the word in a register. Going through `StringArray::value`,
            // building an item for plain tests and `Bitmap::iter` (its state kept in
            // memory around the calls) cost as many instructions as the lookups.
            let valid;
            let mask = match nulls {
                Some(n) => {
                    valid = {
                        let mut v = Bitmap::valid_rows(n);
                        v.and(mask);
                        v
                    };
                    &valid
                }
                None => mask,
            };
            let offsets = arr.value_offsets();
            let data = arr.value_data();
            for (wi, &word) in mask.words().iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    let r = wi * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    let bytes = value_bytes(offsets, data, r);
                    let (a, b) = match cache.get(bytes) {
                        Some(range) => range,
                        None => scan_and_remember(cache, scratch, db, &kp.slots, arr.value(r))?,
                    };
                    for &p in &cache.hits[a as usize..b as usize] {
                        bits.set(p as usize, r);
                    }
                }
            }
            return Ok(());
        }
        for r in mask.iter() {
            let item;
            let items: &[Item<'_>] = if nulls.is_none_or(|n| n.is_valid(r)) {
                let text = arr.value(r);
                if let Some(db) = db {
                    let (a, b) = lookup(cache, scratch, db, &kp.slots, text)?;
                    for &p in &cache.hits[a as usize..b as usize] {
                        bits.set(p as usize, r);
                    }
                }
                item = [Item::Str(Cow::Borrowed(text))];
                &item
            } else {
                &[]
            };
            for &i in plain {
                if plain_test(&kp.leaves[leaves[i] as usize].kind, items, None) {
                    bits.set(i, r);
                }
            }
        }
        Ok(())
    }

    /// All leaves of a field given as [`Values`], on the rows of `mask` (`mask_at`: its
    /// index in [`LeafState::masks`]).
    #[allow(clippy::too_many_arguments)]
    fn field_leaves_values(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        v: &Values<'_>,
        mask: &Bitmap,
        mask_at: u8,
        st: &mut LeafState<'_>,
        all_values: &[Option<Values<'_>>],
    ) -> Result<()> {
        let leaves = &kp.field_leaves[fi];
        if leaves.is_empty() {
            return Ok(());
        }
        let db = kp.fields[fi].db.as_ref();
        let rows = st.rows;
        let mut pattern_bits: Vec<Option<Bitmap>> = vec![None; leaves.len()];
        if let Some(db) = db {
            let (cache, scratch) = self.cache_and_scratch(kind, fi);
            // Numbers are formatted on the stack (`Item::text` allocates a string per row;
            // `itoa` writes the same decimal digits).
            let mut digits = itoa::Buffer::new();
            for r in mask.iter() {
                for item in v.row(r) {
                    let owned;
                    let text: &str = match item {
                        Item::Int(i) => digits.format(*i),
                        other => {
                            owned = other.text();
                            &owned
                        }
                    };
                    let (a, b) = lookup(cache, scratch, db, &kp.slots, text)?;
                    for &p in &cache.hits[a as usize..b as usize] {
                        pattern_bits[p as usize]
                            .get_or_insert_with(|| Bitmap::zeros(rows))
                            .set(r);
                    }
                }
            }
        }
        for (i, &l) in leaves.iter().enumerate() {
            let leaf = &kp.leaves[l as usize];
            let bits = match &leaf.kind {
                LeafKind::Pattern { regex: None } => pattern_bits[i].take(),
                LeafKind::FieldRef { other, .. } => {
                    if all_values[*other].is_none() {
                        continue;
                    }
                    Some(self.plain_leaf(kp, l as usize, v, mask, all_values))
                }
                _ => Some(self.plain_leaf(kp, l as usize, v, mask, all_values)),
            };
            st.set(l as usize, bits, mask_at);
        }
        Ok(())
    }

    /// [`Self::field_leaves_values`] on an integer column no field reference reads, on
    /// every row: the first [`SMALL_DISTINCT`] distinct values of the batch (absence
    /// counting as one) are decided once each, any further value row by row. Integer
    /// fields such as a Kubernetes `responseStatus.code` hold a handful of values; in
    /// flow log byte counts, which hold thousands, the values past the first 16 are
    /// decided row by row, as every value was before, with no map to grow.
    fn field_leaves_ints(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        arr: &arrow::array::ArrayRef,
        st: &mut LeafState<'_>,
    ) -> Result<()> {
        let leaves = &kp.field_leaves[fi];
        if leaves.is_empty() {
            return Ok(());
        }
        let a32 = arr.as_any().downcast_ref::<Int32Array>();
        let a64 = arr.as_any().downcast_ref::<Int64Array>();
        let value = |r: usize| match (a32, a64) {
            (Some(a), _) if a.is_valid(r) => Some(i64::from(a.value(r))),
            (_, Some(a)) if a.is_valid(r) => Some(a.value(r)),
            _ => None,
        };
        let plain = &kp.plain[fi];
        let rows = st.rows;
        // Values decided so far, each with the range of `holds` listing the positions (in
        // `leaves`) of the leaves it satisfies; `one`: those of a value not kept.
        let mut seen: Vec<(Option<i64>, u32, u32)> = Vec::new();
        let mut holds: Vec<u32> = Vec::new();
        let mut one: Vec<u32> = Vec::new();
        let mut bits: Vec<Option<Bitmap>> = vec![None; leaves.len()];
        for r in 0..rows {
            let v = value(r);
            let satisfied = match seen.iter().find(|e| e.0 == v) {
                Some(&(_, a, b)) => &holds[a as usize..b as usize],
                None if seen.len() < SMALL_DISTINCT => {
                    let a = holds.len() as u32;
                    self.int_leaves(kp, kind, fi, v, plain, &mut holds)?;
                    seen.push((v, a, holds.len() as u32));
                    &holds[a as usize..]
                }
                None => {
                    one.clear();
                    self.int_leaves(kp, kind, fi, v, plain, &mut one)?;
                    &one[..]
                }
            };
            for &p in satisfied {
                bits[p as usize]
                    .get_or_insert_with(|| Bitmap::zeros(rows))
                    .set(r);
            }
        }
        for (p, &l) in leaves.iter().enumerate() {
            st.set(l as usize, bits[p].take(), ALL_ROWS);
        }
        Ok(())
    }

    /// Pushes to `holds` the positions (in field `fi`'s leaves) of the leaves one value
    /// satisfies: the string patterns on its text (`None`: absent or null) through the
    /// field's database and value cache, and the `plain` leaves ([`KindPlan::plain`])
    /// tested on its `items`. Values decided once each (dictionary entries, the first
    /// distinct integers of a batch) go through here.
    #[allow(clippy::too_many_arguments)]
    fn value_leaves(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        text: Option<&str>,
        items: &[Item<'_>],
        plain: &[usize],
        holds: &mut Vec<u32>,
    ) -> Result<()> {
        let leaves = &kp.field_leaves[fi];
        if let (Some(db), Some(text)) = (kp.fields[fi].db.as_ref(), text) {
            let (cache, scratch) = self.cache_and_scratch(kind, fi);
            let (a, b) = lookup(cache, scratch, db, &kp.slots, text)?;
            holds.extend_from_slice(&cache.hits[a as usize..b as usize]);
        }
        for &p in plain {
            if plain_test(&kp.leaves[leaves[p] as usize].kind, items, None) {
                holds.push(p as u32);
            }
        }
        Ok(())
    }

    /// [`Self::value_leaves`] of integer value `v` (`None`: absent or null), whose text
    /// is its decimal digits.
    fn int_leaves(
        &mut self,
        kp: &KindPlan,
        kind: SourceKind,
        fi: usize,
        v: Option<i64>,
        plain: &[usize],
        holds: &mut Vec<u32>,
    ) -> Result<()> {
        let mut digits = itoa::Buffer::new();
        let text = v.map(|v| digits.format(v));
        let item = v.map(Item::Int);
        self.value_leaves(kp, kind, fi, text, item.as_slice(), plain, holds)
    }

    fn plain_leaf(
        &self,
        kp: &KindPlan,
        li: usize,
        v: &Values<'_>,
        mask: &Bitmap,
        all: &[Option<Values<'_>>],
    ) -> Bitmap {
        let leaf = &kp.leaves[li];
        let mut bits = Bitmap::zeros(v.rows());
        for r in mask.iter() {
            let other = match &leaf.kind {
                LeafKind::FieldRef { other, .. } => all[*other].as_ref().map(|o| o.row(r)),
                _ => None,
            };
            let holds = match &leaf.kind {
                // A field present with the value `null` has no items but is present.
                LeafKind::Exists => !v.row(r).is_empty() || v.is_null(r),
                LeafKind::PresentNull => v.row(r).is_empty() && v.is_null(r),
                kind => plain_test(kind, v.row(r), other),
            };
            if holds {
                bits.set(r);
            }
        }
        bits
    }

    /// Keeps `st`'s buffers for the next batch, its bitmaps dropped (only the leaves
    /// given one are visited, not every leaf).
    fn keep(&mut self, st: LeafState<'_>) {
        let LeafState {
            mut bits,
            known,
            mut held,
            ..
        } = st;
        for &l in &held {
            bits[l as usize] = None;
        }
        held.clear();
        self.spare = (bits, known, held);
    }

    /// The value cache of field `fi` and the scratch space to scan with, borrowed
    /// together (evaluation looks values up while holding both).
    fn cache_and_scratch(
        &mut self,
        kind: SourceKind,
        fi: usize,
    ) -> (&mut ValueCache, Option<&Scratch>) {
        (&mut self.caches[kind.index()][fi], self.scratch.as_ref())
    }
}

/// Values of at most this many bytes on average are looked up in the value cache about
/// as cheaply as their length is checked against a [`GateBound`] (they are keyed by their
/// packed bytes, `crate::cache`): a bound pays for longer ones, which are hashed in full.
const SHORT_VALUE: usize = 32;

/// The rows of `col` whose value may satisfy the gate leaves `bound` is for: its length
/// can equal an exact literal, or its text contains a required literal. `None` where the
/// bound would not pay or cannot be used: when the values are short on average
/// ([`SHORT_VALUE`]), when more than a quarter of the rows fit (the field is then cheaper
/// read once on every row than read on those rows for its gate leaves and again for its
/// other leaves), for a dictionary of fewer values than a quarter of the rows, whose
/// values are each decided once anyway, for literals on a dictionary, and for
/// case-insensitive literals on a column that is not all ASCII.
fn rows_that_fit(
    bound: &GateBound,
    col: StrColumn<'_>,
    rows: usize,
    scratch: Option<&Scratch>,
) -> Result<Option<Bitmap>> {
    if let StrColumn::Dict(d) = col
        && (d.values.len() * 4 <= rows || bound.literals.is_some())
    {
        return Ok(None);
    }
    let values = match col {
        StrColumn::Plain(a) => a,
        StrColumn::Dict(d) => d.values,
    };
    let offsets = values.value_offsets();
    let (first, last) = (offsets[0], offsets[offsets.len() - 1]);
    let text = usize::try_from(first)
        .ok()
        .zip(usize::try_from(last).ok())
        .and_then(|(a, b)| values.value_data().get(a..b))
        .unwrap_or_default();
    if text.len() <= SHORT_VALUE * values.len() {
        return Ok(None);
    }
    let caseless = matches!(bound.literals, Some(Literals::Caseless(_)));
    // Case-insensitive literals are sound only on ASCII text (`compile::gate_bound`).
    // Only they need the whole text read: lengths alone read a value's bytes only where
    // its length does not fit but a value of that length that is not ASCII could
    // ([`LenBound::admits`]), which for an ASCII literal without a `k` no length does.
    let ascii = caseless && text.is_ascii();
    if caseless && !ascii {
        return Ok(None);
    }
    let mut fits = Bitmap::zeros(rows);
    let mut n = 0;
    if !bound.lengths.is_empty() {
        let by_length = ascii || bound.lengths.by_length_alone();
        if let (StrColumn::Plain(_), true, true) = (col, by_length, offsets.len() == rows + 1) {
            // Every value is told by its length: the offsets alone are read, 64 rows to a
            // word (going through each row's bytes and validity was a tenth of detection
            // at 5,000 rules), and null rows are cleared after.
            let mut words = vec![0u64; rows.div_ceil(64)];
            for (wi, word) in words.iter_mut().enumerate() {
                let at = &offsets[wi * 64..(wi * 64 + 64).min(rows) + 1];
                for (j, pair) in at.windows(2).enumerate() {
                    let len = pair[1].wrapping_sub(pair[0]) as usize;
                    *word |= u64::from(bound.lengths.admits_ascii(len)) << j;
                }
                n += word.count_ones() as usize;
                if n * 4 > rows {
                    return Ok(None);
                }
            }
            fits = Bitmap::from_words(&words, rows);
            if let Some(valid) = values.nulls().filter(|v| v.null_count() > 0) {
                fits.and(&Bitmap::valid_rows(valid));
            }
        } else {
            for r in 0..rows {
                if col.bytes(r).is_some_and(|v| {
                    if ascii {
                        bound.lengths.admits_ascii(v.len())
                    } else {
                        bound.lengths.admits(v)
                    }
                }) {
                    fits.set(r);
                    n += 1;
                    if n * 4 > rows {
                        return Ok(None);
                    }
                }
            }
        }
    }
    if let Some(lits) = &bound.literals {
        // Every occurrence of every literal marks the value holding its last byte (one
        // spanning two values marks the second, which is then looked up for nothing).
        // `col` is plain here.
        let ends = &offsets[..=rows.min(offsets.len() - 1)];
        let mut mark = |to: usize| {
            let last = i64::from(first) + to as i64 - 1;
            let r = ends
                .partition_point(|&o| i64::from(o) <= last)
                .saturating_sub(1);
            if r < rows && !fits.get(r) {
                fits.set(r);
                n += 1;
            }
            n * 4 > rows
        };
        let too_many = match lits {
            Literals::Exact(finders) => finders
                .iter()
                .any(|f| f.find_iter(text).any(|at| mark(at + f.needle().len()))),
            Literals::Caseless(db) => {
                let mut over = false;
                db.scan(text, need_scratch(scratch)?, |_, _, to, _| {
                    over = mark(to as usize);
                    if over {
                        Matching::Terminate
                    } else {
                        Matching::Continue
                    }
                })
                .or_else(|e| if over { Ok(()) } else { Err(hs_error(e)) })?;
                over
            }
        };
        if too_many {
            return Ok(None);
        }
    }
    Ok(Some(fits))
}

/// Which of a field's leaves a read of the field records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Every leaf.
    All,
    /// Only the leaves some rule is gated on.
    Gates,
    /// Only the others.
    Others,
}

impl Settle {
    /// Whether it records a leaf that is (`gate`) or is not in some rule's gate.
    fn takes(self, gate: bool) -> bool {
        match self {
            Settle::All => true,
            Settle::Gates => gate,
            Settle::Others => !gate,
        }
    }
}

/// Records field `fi`'s leaf results (`bits`) as known on mask `mask_at`, those
/// `settle` names; field references are left to phase 3. The field's group of such
/// leaves is marked known as a whole ([`KindPlan::settle_group`]), and only the leaves
/// that hold somewhere are given their bitmap (the others have none already: `bits` of
/// the batch start empty).
fn settle_field(
    kp: &KindPlan,
    fi: usize,
    bits: &mut FieldBits,
    mask_at: u8,
    settle: Settle,
    st: &mut LeafState<'_>,
) {
    let leaves = &kp.field_leaves[fi];
    for (other, gate) in [true, false].into_iter().enumerate() {
        if settle.takes(gate) {
            st.group_known[2 * fi + other] = mask_at;
        }
    }
    let stride = bits.stride;
    for (k, p) in bits.list.drain(..).enumerate() {
        bits.at[p as usize] = u32::MAX;
        let l = leaves[p as usize] as usize;
        // Only patterns and plain leaves are read value by value (`KindPlan::plain`).
        debug_assert!(!matches!(kp.leaves[l].kind, LeafKind::FieldRef { .. }));
        let rows = &mut bits.words[k * stride..(k + 1) * stride];
        if settle.takes(kp.is_gate_leaf(l)) {
            st.set(l, Some(Bitmap::from_words(rows, bits.rows)), mask_at);
        }
        rows.fill(0);
    }
}

/// One field's leaf results being built: the rows where each leaf (by position in the
/// field's leaves) holds, kept only for the leaves that hold on some row, so that a field
/// with thousands of leaves costs nothing per leaf that no value matches. Their bits are
/// back to back in one buffer, so that setting one reads a single index first (a bitmap
/// per leaf cost three dependent loads per bit, on every row of the fields read on every
/// row).
#[derive(Default)]
struct FieldBits {
    /// Per position: the index in `list` of its bits, or `u32::MAX`.
    at: Vec<u32>,
    /// The positions of the leaves that hold somewhere, in the order first set.
    list: Vec<u32>,
    /// `stride` words per entry of `list`: its rows (row `r`: bit `r % 64` of word
    /// `r / 64`). Zero past the listed entries.
    words: Vec<u64>,
    /// Words per leaf.
    stride: usize,
    /// Rows in the batch.
    rows: usize,
}

impl FieldBits {
    /// Readies the buffer for a field of `positions` leaves on a batch of `rows` rows
    /// (it is empty: [`settle_field`] drained it and cleared its words).
    fn start(&mut self, positions: usize, rows: usize) {
        debug_assert!(self.list.is_empty());
        if self.at.len() < positions {
            self.at.resize(positions, u32::MAX);
        }
        self.rows = rows;
        self.stride = rows.div_ceil(64);
    }

    /// Marks row `r` for the leaf at position `p`.
    #[inline]
    fn set(&mut self, p: usize, r: usize) {
        let mut i = self.at[p];
        if i == u32::MAX {
            i = self.add(p);
        }
        self.words[i as usize * self.stride + r / 64] |= 1 << (r % 64);
    }

    /// Lists position `p` (its first row); returns its index in `list`.
    #[cold]
    fn add(&mut self, p: usize) -> u32 {
        let i = self.list.len() as u32;
        self.at[p] = i;
        self.list.push(p as u32);
        let need = self.list.len() * self.stride;
        if self.words.len() < need {
            self.words.resize(need, 0);
        }
        i
    }
}

/// The leaves `text` matches in a field's patterns (`db`), as positions in the field's
/// leaves ([`KindPlan::slots`], given as `slots`): a range of the field's
/// [`ValueCache::hits`], from its `cache`, or by scanning and remembering.
#[inline]
fn lookup(
    cache: &mut ValueCache,
    scratch: Option<&Scratch>,
    db: &FieldDb,
    slots: &[u32],
    text: &str,
) -> Result<(u32, u32)> {
    match cache.get(text.as_bytes()) {
        Some(range) => Ok(range),
        None => scan_and_remember(cache, scratch, db, slots, text),
    }
}

/// [`lookup`] of a value not in the cache.
#[cold]
fn scan_and_remember(
    cache: &mut ValueCache,
    scratch: Option<&Scratch>,
    db: &FieldDb,
    slots: &[u32],
    text: &str,
) -> Result<(u32, u32)> {
    let scratch = need_scratch(scratch)?;
    let mut ids: Vec<u32> = Vec::new();
    let ascii = text.is_ascii();
    let len = text.len();
    db.all
        .scan(text, scratch, |id, _, to, _| {
            let id = id as usize;
            let e = &db.exprs[id];
            if (ascii || !e.scans_lowercased()) && e.check.accepts(to as usize, len) {
                ids.extend_from_slice(&db.leaves_of[id]);
            }
            Matching::Continue
        })
        .map_err(hs_error)?;
    if !ascii && let Some(c) = &db.caseless {
        let lower = text.to_lowercase();
        let len = lower.len();
        c.scan(lower.as_str(), scratch, |id, _, to, _| {
            let all_id = db.caseless_ids[id as usize] as usize;
            if db.exprs[all_id].check.accepts(to as usize, len) {
                ids.extend_from_slice(&db.leaves_of[all_id]);
            }
            Matching::Continue
        })
        .map_err(hs_error)?;
    }
    ids.sort_unstable();
    ids.dedup();
    // Remembered as positions in the field's leaves, which is what every reader wants.
    ids.iter_mut().for_each(|l| *l = slots[*l as usize]);
    Ok(cache.insert(text.as_bytes(), &ids))
}

/// The evaluator's scratch space, which exists whenever the plan has a database to scan.
fn need_scratch(scratch: Option<&Scratch>) -> Result<&Scratch> {
    scratch.ok_or_else(|| DetectError::Hyperscan("no scratch".into()))
}

/// Evaluates rule `rule` (`node`) over the leaves known so far. Where it is decided on
/// every row, its match (if any) goes to `out`; otherwise it is returned as undecided,
/// its undecided rows added to `need` and the fields it still needs marked in
/// `need_fields` ([`mark_needed`], `cand_of` as there).
#[allow(clippy::too_many_arguments)]
fn triage<'n>(
    kp: &KindPlan,
    rule: usize,
    node: &'n Node,
    st: &LeafState<'_>,
    cand_of: &[u32],
    out: &mut Vec<RuleMatch>,
    need: &mut Bitmap,
    need_fields: &mut [bool],
) -> Option<Undecided<'n>> {
    let (t, f) = eval3(node, st);
    let mut u = t.not();
    u.and_not(&f);
    if u.none() {
        if !t.none() {
            out.push(RuleMatch { rule, rows: t });
        }
        return None;
    }
    need.or(&u);
    mark_needed(kp, node, st, cand_of, need_fields);
    Some(Undecided { rule, node, u, t })
}

fn hs_error(e: impl std::fmt::Display) -> DetectError {
    DetectError::Hyperscan(e.to_string())
}

/// A rule left undecided on some rows after phase 2.
struct Undecided<'n> {
    /// Index into [`Compiled::rules`].
    rule: usize,
    node: &'n Node,
    /// Rows where it is undecided.
    u: Bitmap,
    /// Rows where it is already true.
    t: Bitmap,
}

/// Marks in `need_fields` the fields of `node`'s leaves still unknown somewhere: leaves
/// not known at all, and those with `cand_of[leaf] != u32::MAX` (known only where the
/// prefilter ruled them out).
fn mark_needed(
    kp: &KindPlan,
    node: &Node,
    st: &LeafState<'_>,
    cand_of: &[u32],
    need_fields: &mut [bool],
) {
    let mut ls = Vec::new();
    node.leaves(&mut ls);
    for l in ls {
        let partly = cand_of.get(l as usize).is_some_and(|&c| c != u32::MAX);
        if !st.is_known(l as usize) || partly {
            need_fields[kp.leaves[l as usize].field] = true;
            if let LeafKind::FieldRef { other, .. } = kp.leaves[l as usize].kind {
                need_fields[other] = true;
            }
        }
    }
}

/// Leaf results so far: `bits` are the rows where the leaf holds, valid on `known`.
struct LeafState<'p> {
    /// Rows where the leaf holds; `None` when it holds on none (or is not known yet).
    /// At least as long as the source's leaves (the buffer is shared by source types).
    bits: Vec<Option<Bitmap>>,
    /// The leaves `bits` was given a bitmap for (once each, or more): what holds somewhere
    /// in the batch, found without visiting every leaf, and what to empty afterwards.
    held: Vec<u32>,
    /// Where the leaf's result is known: [`UNKNOWN`], or an index into `masks` (for a leaf
    /// set one by one; see [`LeafState::known_at`]).
    known: Vec<u8>,
    /// Per settle group ([`KindPlan::settle_group`]): where its leaves are known, as
    /// `known` (marked once for a field's read, instead of once per leaf).
    group_known: Vec<u8>,
    /// The plan's [`KindPlan::settle_group`].
    settle_group: &'p [u32],
    /// 0: every row; then the rows lazily read fields were read on, and last the rows
    /// phase 3 looked at.
    masks: Vec<Bitmap>,
    rows: usize,
}

const UNKNOWN: u8 = u8::MAX;
/// How many distinct values of an integer column [`Evaluator::field_leaves_ints`] decides
/// once each (found again by a linear search) before deciding the rest row by row.
const SMALL_DISTINCT: usize = 16;
/// After this many walks to a prefilter key's matches, a key found at the top level
/// at least three times in four is no longer walked to (see [`Evaluator::prefilter`]).
const KEY_WALKS_TO_SETTLE: u32 = 64;
const ALL_ROWS: u8 = 0;

impl LeafState<'_> {
    fn set(&mut self, leaf: usize, bits: Option<Bitmap>, mask: u8) {
        let bits = bits.filter(|b| !b.none());
        if bits.is_some() && self.bits[leaf].is_none() {
            self.held.push(leaf as u32);
        }
        self.bits[leaf] = bits;
        self.known[leaf] = mask;
    }

    fn is_known(&self, leaf: usize) -> bool {
        self.known_at(leaf) != UNKNOWN
    }

    /// Where the leaf's result is known: set for it alone, or for its settle group.
    #[inline]
    fn known_at(&self, leaf: usize) -> u8 {
        match self.known[leaf] {
            UNKNOWN => match self.settle_group[leaf] {
                u32::MAX => UNKNOWN,
                g => self.group_known[g as usize],
            },
            k => k,
        }
    }
}

/// Three-valued evaluation: (rows where `node` is true, rows where it is false); rows in
/// neither are undecided because a leaf they depend on is not known yet.
fn eval3(node: &Node, st: &LeafState<'_>) -> (Bitmap, Bitmap) {
    let rows = st.rows;
    match node {
        Node::Const(true) => (Bitmap::ones(rows), Bitmap::zeros(rows)),
        Node::Const(false) => (Bitmap::zeros(rows), Bitmap::ones(rows)),
        Node::Leaf(l) => {
            let k = st.known_at(*l as usize);
            if k == UNKNOWN {
                return (Bitmap::zeros(rows), Bitmap::zeros(rows));
            }
            let mask = &st.masks[k as usize];
            match &st.bits[*l as usize] {
                Some(b) => {
                    let mut t = b.clone();
                    t.and(mask);
                    let mut f = mask.clone();
                    f.and_not(b);
                    (t, f)
                }
                None => (Bitmap::zeros(rows), mask.clone()),
            }
        }
        Node::Not(n) => {
            let (t, f) = eval3(n, st);
            (f, t)
        }
        Node::And(ns) => {
            let mut t = Bitmap::ones(rows);
            let mut f = Bitmap::zeros(rows);
            for n in ns {
                let (ct, cf) = eval3(n, st);
                t.and(&ct);
                f.or(&cf);
                if f.count() == rows {
                    break;
                }
            }
            (t, f)
        }
        Node::Or(ns) => {
            let mut t = Bitmap::zeros(rows);
            let mut f = Bitmap::ones(rows);
            for n in ns {
                let (ct, cf) = eval3(n, st);
                t.or(&ct);
                f.and(&cf);
                if t.count() == rows {
                    break;
                }
            }
            (t, f)
        }
        Node::AtLeast(k, ns) => {
            let mut tc = vec![0usize; rows];
            let mut uc = vec![0usize; rows];
            for n in ns {
                let (ct, cf) = eval3(n, st);
                for r in 0..rows {
                    if ct.get(r) {
                        tc[r] += 1;
                    } else if !cf.get(r) {
                        uc[r] += 1;
                    }
                }
            }
            let mut t = Bitmap::zeros(rows);
            let mut f = Bitmap::zeros(rows);
            for r in 0..rows {
                if tc[r] >= *k {
                    t.set(r);
                } else if tc[r] + uc[r] < *k {
                    f.set(r);
                }
            }
            (t, f)
        }
    }
}

fn num_value(i: &Item<'_>) -> Option<f64> {
    match i {
        Item::Int(x) => Some(*x as f64),
        Item::Float(x) => Some(*x),
        Item::Str(s) => s.parse::<f64>().ok(),
        _ => None,
    }
}

/// Leaves other than Hyperscan patterns, on one row's values (`other`: the referenced
/// field's values, for fieldref).
fn plain_test(kind: &LeafKind, items: &[Item<'_>], other: Option<&[Item<'_>]>) -> bool {
    match kind {
        LeafKind::Pattern { regex: Some(re) } => items.iter().any(|i| re.is_match(&i.text())),
        LeafKind::Pattern { regex: None } => false,
        LeafKind::Num(op, v) => items
            .iter()
            .any(|i| num_value(i).is_some_and(|x| op.holds(x, *v))),
        LeafKind::Bool(want) => items.iter().any(|i| match i {
            Item::Bool(b) => b == want,
            Item::Str(s) => {
                let s = s.to_ascii_lowercase();
                if *want {
                    matches!(s.as_str(), "true" | "1" | "yes")
                } else {
                    matches!(s.as_str(), "false" | "0" | "no")
                }
            }
            _ => false,
        }),
        LeafKind::Null => items.is_empty(),
        LeafKind::Exists => !items.is_empty(),
        // Only decided with the row's null marks (`plain_leaf`); on no value: absent.
        LeafKind::PresentNull => false,
        LeafKind::Cidr(nets) => items.iter().any(|i| match i {
            Item::Str(s) => nets.contains_text(s),
            _ => false,
        }),
        LeafKind::FieldRef { op, cased, .. } => {
            let Some(other) = other else { return false };
            items.iter().any(|a| {
                other.iter().any(|b| {
                    let (a, b) = if *cased {
                        (a.text().into_owned(), b.text().into_owned())
                    } else {
                        (a.text().to_lowercase(), b.text().to_lowercase())
                    };
                    match op {
                        Op::Contains => a.contains(&b),
                        Op::StartsWith => a.starts_with(&b),
                        Op::EndsWith => a.ends_with(&b),
                        _ => a == b,
                    }
                })
            })
        }
        LeafKind::Time(part, op, v) => items.iter().any(|i| match i {
            Item::Str(s) => vigil_ingest::time::parse_micros(s)
                .is_some_and(|us| time_part(us, *part).is_some_and(|x| op.holds(x as f64, *v))),
            _ => false,
        }),
    }
}

fn time_part(us: i64, part: TimePart) -> Option<i64> {
    let secs = us.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = crate::finding::civil(days);
    Some(match part {
        TimePart::Minute => sod / 60 % 60,
        TimePart::Hour => sod / 3600,
        TimePart::Day => d,
        TimePart::Month => m,
        TimePart::Year => y,
        TimePart::Week => {
            // ISO week number.
            let wd = (days + 3).rem_euclid(7); // Monday = 0
            let jan1 = days - (doy_of(y, m, d) - 1);
            let jan1_wd = (jan1 + 3).rem_euclid(7);
            let ordinal = doy_of(y, m, d);
            let w = (ordinal - 1 + jan1_wd) / 7 + if jan1_wd <= 3 { 1 } else { 0 };
            let _ = wd;
            if w == 0 { 52 } else { w.min(53) }
        }
    })
}

fn doy_of(y: i64, m: i64, d: i64) -> i64 {
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    CUM[(m - 1) as usize] + d + i64::from(leap && m > 2)
}

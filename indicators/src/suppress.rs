//! Disclosure control over a whole set: primary suppression of small cells, then complementary
//! suppression until no withheld cell can be worked out from what is published.
//!
//! Every published number is a *variable*; a count cell has one, a share two (numerator and
//! denominator; the two meeting shares have one denominator between them). Cells that share a
//! variable form a *unit* and are withheld together. The relations an outsider knows:
//! - hierarchy: a municipality's variable is the sum of its authorities', the set's (`All`) the
//!   sum of its municipalities', for every table, quarter and breakdown;
//! - row totals: in tables with a total, the total is the sum of the breakdowns;
//! - stock and flow: open at the end of a quarter equals open at the end of the quarter before,
//!   plus opened, minus closed. The figure before the first quarter is taken as known to an
//!   outsider (another report may publish it), so it can never hide anything.
//!
//! Rounds: (1) in every relation where exactly one member is withheld, withhold the smallest other
//! published member (a part before the total), until stable; (2) an exact audit of every connected
//! group of relations by linear algebra ([`crate::linalg`]); a withheld variable it finds pinned
//! down gets one more published member of its relations withheld. Repeat until the audit finds
//! nothing. Withholding only ever grows, so this ends.

use std::collections::{BTreeMap, BTreeSet};

use crate::linalg;
use crate::quarter::Quarter;
use crate::set::{Breakdown, IndicatorSet, Level, Table, TableId, Value, ValueKind};

/// What suppression must know about a cell besides its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CellInfo {
    /// Distinct plans behind the cell.
    pub contributors: u64,
    /// The base of a share or a days statistic (its denominator or number of plans).
    pub base: u64,
}

impl CellInfo {
    pub(crate) fn new(contributors: u64, base: u64) -> CellInfo {
        CellInfo { contributors, base }
    }
}

/// Applies the disclosure rules again to a set, with a threshold no lower than its own: a county
/// may raise the threshold for its report. Applying it to its own result changes nothing. Days
/// cells keep their values: their base is not in the set, so only the node's threshold governs
/// them.
pub fn suppress(set: &IndicatorSet, threshold: u32) -> IndicatorSet {
    let mut out = set.clone();
    out.threshold = threshold.max(set.threshold);
    apply(&mut out.tables, None, out.threshold, out.first);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Published(u64),
    Suppressed,
    /// Known to an outsider from elsewhere; never withheld here.
    Public,
}

type Key = (TableId, Quarter, Level, Breakdown, u8);

struct Relation {
    members: Vec<(usize, i64)>,
    total: Option<usize>,
}

struct Engine {
    state: Vec<State>,
    var_unit: Vec<Option<usize>>,
    var_relations: Vec<Vec<usize>>,
    unit_vars: Vec<Vec<usize>>,
    unit_suppressed: Vec<bool>,
    relations: Vec<Relation>,
    queue: Vec<usize>,
}

/// Suppresses `tables` in place. `info` is present when computing from facts.
pub(crate) fn apply(
    tables: &mut [Table],
    info: Option<&[Vec<CellInfo>]>,
    threshold: u32,
    first: Quarter,
) {
    let t = u64::from(threshold);
    let mut keys: BTreeMap<Key, usize> = BTreeMap::new();
    let mut state: Vec<State> = Vec::new();
    let mut cells: Vec<(usize, usize)> = Vec::new();
    let mut cell_vars: Vec<Vec<usize>> = Vec::new();
    let mut cell_small: Vec<bool> = Vec::new();
    for (ti, table) in tables.iter().enumerate() {
        let kind = table.id.value_kind();
        for (ci, c) in table.cells.iter().enumerate() {
            let key = |b: Breakdown, pos: u8| (table.id, c.quarter, c.level.clone(), b, pos);
            let wanted: Vec<(Key, Option<u64>)> = match (kind, c.value) {
                (ValueKind::Days, _) => vec![],
                (ValueKind::Count, Value::Count(n)) => vec![(key(c.breakdown, 0), Some(n))],
                (ValueKind::Count, _) => vec![(key(c.breakdown, 0), None)],
                (ValueKind::Share, v) => {
                    let (num, den) = match v {
                        Value::Share {
                            numerator,
                            denominator,
                        } => (Some(numerator), Some(denominator)),
                        _ => (None, None),
                    };
                    let den_breakdown = if table.id == TableId::Meetings {
                        Breakdown::Total
                    } else {
                        c.breakdown
                    };
                    vec![(key(c.breakdown, 0), num), (key(den_breakdown, 1), den)]
                }
            };
            let mut vars = Vec::new();
            for (k, value) in wanted {
                let fresh = match value {
                    Some(n) => State::Published(n),
                    None => State::Suppressed,
                };
                let v = *keys.entry(k).or_insert_with(|| {
                    state.push(fresh);
                    state.len() - 1
                });
                if fresh == State::Suppressed {
                    state[v] = State::Suppressed;
                }
                vars.push(v);
            }
            let small = match c.value {
                Value::Suppressed => true,
                Value::Count(n) => n < t,
                Value::Share { denominator, .. } => denominator < t,
                Value::Days { .. } => false,
            } || info.is_some_and(|i| {
                let i = i[ti][ci];
                i.contributors < t || i.base < t
            });
            cells.push((ti, ci));
            cell_vars.push(vars);
            cell_small.push(small);
        }
    }
    // Units: cells sharing a variable are withheld together.
    let mut uf = UnionFind::new(cells.len());
    let mut first_cell: Vec<Option<usize>> = vec![None; state.len()];
    for (c, vars) in cell_vars.iter().enumerate() {
        for &v in vars {
            match first_cell[v] {
                Some(other) => uf.union(c, other),
                None => first_cell[v] = Some(c),
            }
        }
    }
    let mut unit_of_root = BTreeMap::new();
    let mut unit_cells: Vec<Vec<usize>> = Vec::new();
    for c in 0..cells.len() {
        let root = uf.find(c);
        let u = *unit_of_root.entry(root).or_insert_with(|| {
            unit_cells.push(Vec::new());
            unit_cells.len() - 1
        });
        unit_cells[u].push(c);
    }
    let mut var_unit = vec![None; state.len()];
    let mut unit_vars = vec![Vec::new(); unit_cells.len()];
    for (u, members) in unit_cells.iter().enumerate() {
        for &c in members {
            for &v in &cell_vars[c] {
                var_unit[v] = Some(u);
                unit_vars[u].push(v);
            }
        }
        unit_vars[u].sort_unstable();
        unit_vars[u].dedup();
    }
    // The figure before the first quarter, known to an outsider from elsewhere.
    let levels: BTreeSet<Level> = keys.keys().map(|k| k.2.clone()).collect();
    for level in &levels {
        let k = (
            TableId::OpenAtQuarterEnd,
            first.prev(),
            level.clone(),
            Breakdown::Total,
            0,
        );
        keys.insert(k, state.len());
        state.push(State::Public);
        var_unit.push(None);
    }
    let relations = relations(&keys, &levels);
    let mut var_relations = vec![Vec::new(); state.len()];
    for (r, rel) in relations.iter().enumerate() {
        for &(v, _) in &rel.members {
            var_relations[v].push(r);
        }
    }
    let mut e = Engine {
        state,
        var_unit,
        var_relations,
        unit_vars,
        unit_suppressed: vec![false; unit_cells.len()],
        queue: (0..relations.len()).collect(),
        relations,
    };
    for (u, members) in unit_cells.iter().enumerate() {
        if members.iter().any(|&c| cell_small[c]) {
            e.withhold(u);
        }
    }
    e.run();
    for (u, members) in unit_cells.iter().enumerate() {
        if e.unit_suppressed[u] {
            for &c in members {
                let (ti, ci) = cells[c];
                tables[ti].cells[ci].value = Value::Suppressed;
            }
        }
    }
}

/// The relations an outsider knows between the variables of a set.
fn relations(keys: &BTreeMap<Key, usize>, levels: &BTreeSet<Level>) -> Vec<Relation> {
    let mut children: BTreeMap<&Level, Vec<&Level>> = BTreeMap::new();
    for l in levels {
        if let Some(p) = l.parent().and_then(|p| levels.get(&p)) {
            children.entry(p).or_default().push(l);
        }
    }
    let mut out = Vec::new();
    let var = |t: TableId, q: Quarter, l: &Level, b: Breakdown, pos: u8| {
        keys.get(&(t, q, l.clone(), b, pos)).copied()
    };
    for ((t, q, level, b, pos), &total) in keys {
        // Hierarchy.
        if let Some(kids) = children.get(level) {
            let parts: Option<Vec<usize>> = kids.iter().map(|k| var(*t, *q, k, *b, *pos)).collect();
            if let Some(parts) = parts {
                out.push(sum(total, &parts));
            }
        }
        if *b != Breakdown::Total || *pos != 0 {
            continue;
        }
        // Row totals.
        if t.has_total() {
            let parts: Option<Vec<usize>> = t.breakdowns()[1..]
                .iter()
                .map(|&b| var(*t, *q, level, b, 0))
                .collect();
            if let Some(parts) = parts {
                out.push(sum(total, &parts));
            }
        }
        // Stock and flow.
        if *t == TableId::OpenAtQuarterEnd {
            let others = (
                var(TableId::Closed, *q, level, Breakdown::Total, 0),
                var(TableId::Opened, *q, level, Breakdown::Total, 0),
                var(
                    TableId::OpenAtQuarterEnd,
                    q.prev(),
                    level,
                    Breakdown::Total,
                    0,
                ),
            );
            if let (Some(closed), Some(opened), Some(before)) = others {
                out.push(Relation {
                    members: vec![(total, 1), (closed, 1), (opened, -1), (before, -1)],
                    total: None,
                });
            }
        }
    }
    out
}

fn sum(total: usize, parts: &[usize]) -> Relation {
    let mut members = vec![(total, 1)];
    members.extend(parts.iter().map(|&p| (p, -1)));
    Relation {
        members,
        total: Some(total),
    }
}

impl Engine {
    /// Withholds a unit; false if it already was.
    fn withhold(&mut self, u: usize) -> bool {
        if self.unit_suppressed[u] {
            return false;
        }
        self.unit_suppressed[u] = true;
        for i in 0..self.unit_vars[u].len() {
            let v = self.unit_vars[u][i];
            self.state[v] = State::Suppressed;
            self.queue.extend(self.var_relations[v].iter().copied());
        }
        true
    }

    fn run(&mut self) {
        self.complementary();
        while self.audit() {
            self.complementary();
        }
    }

    /// The published member of a relation to withhold next: a part before the total, then the
    /// smallest, then the first.
    fn candidate(&self, r: usize) -> Option<usize> {
        let rel = &self.relations[r];
        rel.members
            .iter()
            .filter_map(|&(v, _)| match self.state[v] {
                State::Published(n) => Some((rel.total == Some(v), n, v)),
                _ => None,
            })
            .min()
            .map(|(_, _, v)| v)
    }

    /// Rule (1): no relation with exactly one withheld member.
    fn complementary(&mut self) {
        while let Some(r) = self.queue.pop() {
            let withheld = self.relations[r]
                .members
                .iter()
                .filter(|&&(v, _)| self.state[v] == State::Suppressed)
                .count();
            if withheld == 1
                && let Some(u) = self.candidate(r).and_then(|v| self.var_unit[v])
            {
                self.withhold(u);
            }
        }
    }

    /// Rule (2): the exact audit. Returns whether it withheld anything.
    fn audit(&mut self) -> bool {
        // Groups of relations linked by variables an outsider does not know.
        let hidden = |v: &usize| self.state[*v] != State::Public;
        let mut uf = UnionFind::new(self.state.len());
        for rel in &self.relations {
            let vars: Vec<usize> = rel.members.iter().map(|m| m.0).filter(hidden).collect();
            for w in vars.windows(2) {
                uf.union(w[0], w[1]);
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (r, rel) in self.relations.iter().enumerate() {
            if let Some(v) = rel.members.iter().map(|m| m.0).find(hidden) {
                groups.entry(uf.find(v)).or_default().push(r);
            }
        }
        let mut changed = false;
        for rels in groups.values() {
            let mut column: BTreeMap<usize, usize> = BTreeMap::new();
            for &r in rels {
                for &(v, _) in &self.relations[r].members {
                    if self.state[v] == State::Suppressed {
                        let next = column.len();
                        column.entry(v).or_insert(next);
                    }
                }
            }
            if column.is_empty() {
                continue;
            }
            let rows: Vec<Vec<(usize, i64)>> = rels
                .iter()
                .map(|&r| {
                    self.relations[r]
                        .members
                        .iter()
                        .filter_map(|&(v, c)| column.get(&v).map(|&col| (col, c)))
                        .collect()
                })
                .collect();
            let pinned = linalg::determined(&rows, column.len())
                .unwrap_or_else(|linalg::Overflow| vec![true; column.len()]);
            let mut touched = BTreeSet::new();
            for (&v, &col) in &column {
                if !pinned[col] || self.var_relations[v].iter().any(|r| touched.contains(r)) {
                    continue;
                }
                let own = self.var_relations[v]
                    .iter()
                    .filter_map(|&r| self.candidate(r).map(|c| (self.value(c), c)))
                    .min();
                let any = || {
                    rels.iter()
                        .filter_map(|&r| self.candidate(r).map(|c| (self.value(c), c)))
                        .min()
                };
                if let Some(u) = own.or_else(any).and_then(|(_, c)| self.var_unit[c])
                    && self.withhold(u)
                {
                    changed = true;
                    touched.extend(self.var_relations[v].iter().copied());
                }
            }
        }
        changed
    }

    fn value(&self, v: usize) -> u64 {
        match self.state[v] {
            State::Published(n) => n,
            _ => u64::MAX,
        }
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

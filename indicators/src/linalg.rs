//! Which withheld cells the published sums pin down exactly. Every published relation is a linear
//! equation over the cells; with the published cells moved to the right-hand side, a withheld cell
//! is recoverable exactly when its unit vector lies in the row space of the remaining system, that
//! is when its row of the reduced row echelon form has no other entry. Exact integer elimination on
//! sparse rows, each row kept primitive (divided by the gcd of its entries) so numbers stay small.

use std::collections::BTreeSet;

/// The numbers grew past `i128`; the caller must assume the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

type Row = Vec<(usize, i128)>;

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The row divided by the gcd of its entries, first entry positive.
fn primitive(mut r: Row) -> Row {
    let g = r.iter().fold(0, |g, &(_, x)| gcd(g, x.unsigned_abs()));
    let sign = if r.first().is_some_and(|&(_, x)| x < 0) {
        -1
    } else {
        1
    };
    if g > 1 || sign < 0 {
        let g = g as i128 * sign;
        for e in &mut r {
            e.1 /= g;
        }
    }
    r
}

/// `a·r − b·s`, without zeros.
fn combine(a: i128, r: &Row, b: i128, s: &Row) -> Result<Row, Overflow> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(r.len() + s.len());
    while i < r.len() || j < s.len() {
        let (col, x, y) = match (r.get(i), s.get(j)) {
            (Some(&(c, x)), Some(&(d, y))) if c == d => {
                i += 1;
                j += 1;
                (c, x, y)
            }
            (Some(&(c, x)), Some(&(d, _))) if c < d => {
                i += 1;
                (c, x, 0)
            }
            (Some(&(c, x)), None) => {
                i += 1;
                (c, x, 0)
            }
            (_, Some(&(d, y))) => {
                j += 1;
                (d, 0, y)
            }
            (None, None) => break,
        };
        let v = a
            .checked_mul(x)
            .zip(b.checked_mul(y))
            .and_then(|(ax, by)| ax.checked_sub(by))
            .ok_or(Overflow)?;
        if v != 0 {
            out.push((col, v));
        }
    }
    Ok(out)
}

fn coefficient(r: &Row, col: usize) -> i128 {
    r.iter().find(|e| e.0 == col).map_or(0, |e| e.1)
}

/// For a homogeneous system over unknowns `0..n` (each row a list of `(unknown, coefficient)`),
/// which unknowns it determines.
pub(crate) fn determined(rows: &[Vec<(usize, i64)>], n: usize) -> Result<Vec<bool>, Overflow> {
    let mut pivot: Vec<Option<Row>> = vec![None; n];
    // For each column, the pivot columns whose rows have an entry there.
    let mut users: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for row in rows {
        let mut r: Row = Vec::with_capacity(row.len());
        let mut sorted = row.clone();
        sorted.sort_unstable();
        for (col, x) in sorted {
            match r.last_mut() {
                Some(last) if last.0 == col => last.1 += i128::from(x),
                _ => r.push((col, i128::from(x))),
            }
        }
        r.retain(|e| e.1 != 0);
        let mut r = primitive(r);
        while let Some(&(c, a)) = r.iter().find(|e| pivot[e.0].is_some()) {
            let p = pivot[c].as_ref().ok_or(Overflow)?;
            r = primitive(combine(coefficient(p, c), &r, a, p)?);
        }
        let Some(&(c, a)) = r.iter().min_by_key(|e| (users[e.0].len(), e.0)) else {
            continue;
        };
        for other in std::mem::take(&mut users[c]) {
            let q = pivot[other].take().ok_or(Overflow)?;
            let new = primitive(combine(a, &q, coefficient(&q, c), &r)?);
            for &(col, _) in &q {
                if col != other && col != c {
                    users[col].remove(&other);
                }
            }
            for &(col, _) in &new {
                if col != other {
                    users[col].insert(other);
                }
            }
            pivot[other] = Some(new);
        }
        for &(col, _) in &r {
            if col != c {
                users[col].insert(c);
            }
        }
        pivot[c] = Some(r);
    }
    Ok(pivot
        .iter()
        .map(|r| r.as_ref().is_some_and(|r| r.len() == 1))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_unknown_is_determined() {
        assert_eq!(determined(&[vec![(0, 1)]], 1), Ok(vec![true]));
    }

    #[test]
    fn two_unknowns_in_one_sum_are_not() {
        assert_eq!(
            determined(&[vec![(0, 1), (1, -1)]], 2),
            Ok(vec![false, false])
        );
    }

    #[test]
    fn a_chain_of_sums_pins_all_down() {
        // x0 + x1 = k, x1 + x2 = l, x2 = m.
        let rows = [vec![(0, 1), (1, 1)], vec![(1, 1), (2, 1)], vec![(2, 1)]];
        assert_eq!(determined(&rows, 3), Ok(vec![true, true, true]));
    }

    #[test]
    fn a_two_by_two_block_in_a_table_with_margins_is_safe() {
        // Cells a b / c d with row and column totals known: a+b, c+d, a+c, b+d.
        let rows = [
            vec![(0, 1), (1, 1)],
            vec![(2, 1), (3, 1)],
            vec![(0, 1), (2, 1)],
            vec![(1, 1), (3, 1)],
        ];
        assert_eq!(determined(&rows, 4), Ok(vec![false; 4]));
    }

    #[test]
    fn the_difference_of_two_sums_is_found() {
        // a + b and a + b + x are both known, so x is their difference; a, b, c, d stay open.
        let rows = [
            vec![(0, 1), (1, 1)],         // a + b
            vec![(0, 1), (1, 1), (4, 1)], // a + b + x
            vec![(2, 1), (3, 1)],         // c + d
        ];
        assert_eq!(
            determined(&rows, 5),
            Ok(vec![false, false, false, false, true])
        );
    }

    #[test]
    fn unknowns_in_no_row_are_free() {
        assert_eq!(determined(&[], 2), Ok(vec![false, false]));
    }
}

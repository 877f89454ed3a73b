//! Retention (gallring): each authority keeps its own records of a closed plan for as long as its
//! archive rules say and then deletes them; a copy received from another organisation is not the
//! holder's record and goes when the plan closes (or earlier, when consent goes: see
//! [`crate::decide_share`]).

use crate::date::Date;

/// What a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holding {
    /// A record homed at one of the node's own authorities.
    OwnRecord,
    /// A copy received from another organisation.
    ReceivedCopy,
}

/// Is an own record of a plan closed on `closed_on` due for deletion on `today`, when its
/// authority keeps records `retention_days` days?
pub fn retention_due(closed_on: Date, retention_days: u32, today: Date) -> bool {
    today >= closed_on.add_days(i64::from(retention_days))
}

/// Must the node delete what it holds of a plan (closed on `closed_on`, or still open) today?
pub fn delete_due(
    holding: Holding,
    closed_on: Option<Date>,
    retention_days: u32,
    today: Date,
) -> bool {
    match (holding, closed_on) {
        (_, None) => false,
        (Holding::ReceivedCopy, Some(_)) => true,
        (Holding::OwnRecord, Some(closed)) => retention_due(closed, retention_days, today),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_go_after_their_retention_and_copies_at_closing() {
        let closed = Date::new(2025, 1, 31).unwrap();
        assert!(!retention_due(closed, 30, Date::new(2025, 3, 1).unwrap()));
        assert!(retention_due(closed, 30, Date::new(2025, 3, 2).unwrap()));
        assert!(delete_due(
            Holding::ReceivedCopy,
            Some(closed),
            3650,
            closed
        ));
        assert!(!delete_due(Holding::OwnRecord, Some(closed), 3650, closed));
        assert!(!delete_due(Holding::ReceivedCopy, None, 0, closed));
    }

    proptest! {
        /// Once due, always due; a longer retention is never due earlier; a received copy goes no
        /// later than the record it copies.
        #[test]
        fn retention_laws(closed in -10_000i64..10_000, days in 0u32..5000, more in 0u32..5000, t in -10_000i64..20_000, dt in 0i64..1000) {
            let closed = Date::from_unix_day(closed);
            let today = Date::from_unix_day(t);
            prop_assert!(!retention_due(closed, days, today) || retention_due(closed, days, today.add_days(dt)));
            prop_assert!(!retention_due(closed, days + more, today) || retention_due(closed, days, today));
            prop_assert!(!retention_due(closed, days, today) || today >= closed);
            for c in [None, Some(closed)] {
                prop_assert!(!delete_due(Holding::OwnRecord, c, days, today) || delete_due(Holding::ReceivedCopy, c, days, today));
            }
        }
    }
}

//! Hybrid logical clock: versions that follow wall time but never go backwards, even when the
//! wall clock does or after a restart (the last reading is stored with every write).

use kronobarn_proto::v1::Version;

/// A hybrid logical clock. Pure: the caller passes the wall time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hlc {
    last: (u64, u32),
}

impl Hlc {
    /// A clock that continues after `last` (e.g. the last reading stored before a restart).
    pub fn resume(last: (u64, u32)) -> Self {
        Self { last }
    }

    /// A new reading, greater than every earlier reading and every observed one.
    pub fn tick(&mut self, wall_ms: u64) -> Version {
        self.last = if wall_ms > self.last.0 {
            (wall_ms, 0)
        } else {
            next(self.last)
        };
        Version {
            physical_ms: self.last.0,
            logical: self.last.1,
        }
    }

    /// Takes note of a version seen from another node, so later readings order after it.
    pub fn observe(&mut self, seen: &Version) {
        if seen.key() > self.last {
            self.last = seen.key();
        }
    }

    /// The last reading.
    pub fn last(&self) -> (u64, u32) {
        self.last
    }
}

fn next((p, l): (u64, u32)) -> (u64, u32) {
    match l.checked_add(1) {
        Some(l) => (p, l),
        None => (p + 1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn readings_strictly_increase_whatever_the_wall_clock_does(
            start in any::<(u64, u32)>().prop_map(|(p, l)| (p % (1 << 50), l)),
            steps in prop::collection::vec((0u64..(1 << 50), prop::option::of((0u64..(1 << 50), any::<u32>()))), 1..50),
        ) {
            let mut c = Hlc::resume(start);
            let mut prev = start;
            for (wall, seen) in steps {
                if let Some((p, l)) = seen {
                    c.observe(&Version { physical_ms: p, logical: l });
                    prop_assert!(c.last() >= (p, l));
                    prev = prev.max(c.last());
                }
                let v = c.tick(wall).key();
                prop_assert!(v > prev);
                prop_assert!(v.0 >= wall);
                prev = v;
            }
        }
    }

    #[test]
    fn follows_the_wall_clock_when_it_moves_forward() {
        let mut c = Hlc::default();
        assert_eq!(c.tick(100).key(), (100, 0));
        assert_eq!(c.tick(100).key(), (100, 1));
        assert_eq!(c.tick(90).key(), (100, 2));
        assert_eq!(c.tick(101).key(), (101, 0));
    }
}

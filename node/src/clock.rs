//! Time, in one place. [`Clock`] is the only reader of the wall clock in the node (a lint keeps
//! `SystemTime::now` here), so everything else takes the time as an argument and a test can run a
//! node whose clock is wrong. [`Hlc`] is the hybrid logical clock: versions that follow wall time
//! but never go backwards, even when the wall clock does or after a restart (the last reading is
//! stored with every write).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use kronobarn_proto::v1::Version;

/// The wall clock of the machine, ms since the Unix epoch. Only for the binary's edge (file
/// names, progress) and [`Clock::system`]; a node reads time through its [`Clock`].
#[allow(clippy::disallowed_methods)]
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A node's clock: wall time (possibly skewed, for tests of a wrong clock) and a monotonic reading
/// that never goes back whatever the wall clock does.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System { offset_ms: i64, start: Instant },
    Manual(Arc<ManualState>),
}

/// A hand-moved clock: a monotonic reading, and a wall clock that may be set off from it.
#[derive(Default)]
struct ManualState {
    monotonic: AtomicI64,
    wall_offset: AtomicI64,
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Self {
        Self::skewed(0)
    }

    /// The machine's clock moved by `offset_ms` (a test-only config setting: a node whose clock is
    /// wrong). The monotonic reading is unaffected.
    pub fn skewed(offset_ms: i64) -> Self {
        Self {
            source: Source::System {
                offset_ms,
                start: Instant::now(),
            },
        }
    }

    /// A clock that moves only when told (unit tests). Wall and monotonic readings start equal;
    /// [`ManualTime::skew`] sets the wall clock off.
    pub fn manual(start_ms: i64) -> (Self, ManualTime) {
        let t = Arc::new(ManualState {
            monotonic: AtomicI64::new(start_ms),
            wall_offset: AtomicI64::new(0),
        });
        (
            Self {
                source: Source::Manual(t.clone()),
            },
            ManualTime(t),
        )
    }

    /// Wall time, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System { offset_ms, .. } => system_now_ms().saturating_add(*offset_ms),
            Source::Manual(t) => t
                .monotonic
                .load(Ordering::SeqCst)
                .saturating_add(t.wall_offset.load(Ordering::SeqCst)),
        }
    }

    /// Milliseconds on a clock that never goes back and ignores wall-clock changes; only
    /// differences between two readings of the same process mean anything.
    pub fn monotonic_ms(&self) -> i64 {
        match &self.source {
            Source::System { start, .. } => start.elapsed().as_millis() as i64,
            Source::Manual(t) => t.monotonic.load(Ordering::SeqCst),
        }
    }
}

/// The hand of a [`Clock::manual`].
#[derive(Clone)]
pub struct ManualTime(Arc<ManualState>);

impl ManualTime {
    /// Lets `ms` pass (both readings move).
    pub fn advance(&self, ms: i64) {
        self.0.monotonic.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the wall clock `ms` off the true time (negative: behind), as a wrong clock is.
    pub fn skew(&self, ms: i64) {
        self.0.wall_offset.store(ms, Ordering::SeqCst);
    }
}

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

/// The reading after `(p, l)`; at the very end of the clock's range it stays there (it
/// saturates, never wraps to the beginning), and admission keeps peers from pushing it there.
fn next((p, l): (u64, u32)) -> (u64, u32) {
    match (l.checked_add(1), p.checked_add(1)) {
        (Some(l), _) => (p, l),
        (None, Some(p)) => (p, 0),
        (None, None) => (p, l),
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

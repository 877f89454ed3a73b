//! Counts of the work a node does — signatures made and checked, access-log batches and records,
//! flushes, pushes — as relaxed atomics, so the bench can say what one revocation or one write
//! cost, node by node, and not only how long it took.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The counters of one node.
#[derive(Debug, Default)]
pub struct Work {
    signed: AtomicU64,
    verified: AtomicU64,
    log_batches: AtomicU64,
    log_records: AtomicU64,
    flushes: AtomicU64,
    pushes: AtomicU64,
    envelopes_pushed: AtomicU64,
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkCounts {
    /// Signatures made (envelopes, receipts, leases, and one checkpoint per log batch).
    pub signed: u64,
    /// Signatures checked (received envelopes, receipts).
    pub verified: u64,
    /// Access-log batches appended (each one signed checkpoint).
    pub log_batches: u64,
    /// Access records appended.
    pub log_records: u64,
    /// Flushes of the store.
    pub flushes: u64,
    /// Pushes sent to peers.
    pub pushes: u64,
    /// Envelopes in those pushes.
    pub envelopes_pushed: u64,
}

impl std::ops::Sub for WorkCounts {
    type Output = WorkCounts;
    fn sub(self, o: WorkCounts) -> WorkCounts {
        WorkCounts {
            signed: self.signed - o.signed,
            verified: self.verified - o.verified,
            log_batches: self.log_batches - o.log_batches,
            log_records: self.log_records - o.log_records,
            flushes: self.flushes - o.flushes,
            pushes: self.pushes - o.pushes,
            envelopes_pushed: self.envelopes_pushed - o.envelopes_pushed,
        }
    }
}

impl std::ops::Add for WorkCounts {
    type Output = WorkCounts;
    fn add(self, o: WorkCounts) -> WorkCounts {
        WorkCounts {
            signed: self.signed + o.signed,
            verified: self.verified + o.verified,
            log_batches: self.log_batches + o.log_batches,
            log_records: self.log_records + o.log_records,
            flushes: self.flushes + o.flushes,
            pushes: self.pushes + o.pushes,
            envelopes_pushed: self.envelopes_pushed + o.envelopes_pushed,
        }
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Work {
    /// A signature made.
    pub fn signed(&self) {
        add(&self.signed, 1);
    }
    /// A signature checked.
    pub fn verified(&self) {
        add(&self.verified, 1);
    }
    /// `records` records appended; `led` when this append wrote the batch (and signed its
    /// checkpoint) rather than riding in another's.
    pub fn logged(&self, records: usize, led: bool) {
        add(&self.log_records, records as u64);
        if led {
            add(&self.log_batches, 1);
            add(&self.signed, 1);
        }
    }
    /// A flush of the store.
    pub fn flushed(&self) {
        add(&self.flushes, 1);
    }
    /// A push of `envelopes` envelopes sent.
    pub fn pushed(&self, envelopes: usize) {
        add(&self.pushes, 1);
        add(&self.envelopes_pushed, envelopes as u64);
    }

    /// The counters now.
    pub fn read(&self) -> WorkCounts {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WorkCounts {
            signed: r(&self.signed),
            verified: r(&self.verified),
            log_batches: r(&self.log_batches),
            log_records: r(&self.log_records),
            flushes: r(&self.flushes),
            pushes: r(&self.pushes),
            envelopes_pushed: r(&self.envelopes_pushed),
        }
    }
}

/// CPU time this process has used so far (user and system, every thread, from /proc/self/stat
/// in clock ticks of 10 ms), so a figure can be judged by the work it cost on a shared machine.
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces, so split after its ')').
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // The state is field 3, the first after ')'; utime and stime are fields 14 and 15.
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

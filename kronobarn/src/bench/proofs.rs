//! Evidence as the log grows: inclusion and consistency proofs, a running node's checkpoint, the
//! log's reopening, and a guardian's extract of a plan with 50 records spread at random over the
//! whole log (the worst case: records side by side share most of their proof), at 10^3, 10^5 and
//! 10^6 entries.
//!
//! The log is the node's own [`AccessLog`] on an in-memory store (the store's speed is measured
//! elsewhere), filled in batches of up to 1 000 realistic records about 10 000 plans.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kronobarn_node::accesslog::extract::{self, Trust};
use kronobarn_node::accesslog::leaf::StoredTree;
use kronobarn_node::accesslog::{AccessLog, leaf};
use kronobarn_node::clock::Clock;
use kronobarn_node::store::MemoryStore;
use kronobarn_proto::v1::{AccessAction, AccessRecord, Decision, Version};
use kronobarn_tlog::{consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};
use prost::Message;
use rand::Rng;

use super::report::Row;

const ORG: &str = "vaxjo-kommun";
const PLAN_RECORDS: usize = 50;

fn plan_id(rng: &mut impl Rng) -> String {
    hex::encode(rng.r#gen::<[u8; 16]>())
}

/// A record as a read through the client API writes it (about 250 bytes).
fn record(plan: &str, n: u64, rng: &mut impl Rng) -> AccessRecord {
    AccessRecord {
        at_unix_ms: 1_795_690_800_000 + n as i64,
        organization: ORG.into(),
        user_id: format!("user.{}", n % 500),
        role: "kurator".into(),
        unit: "ostra-skolan".into(),
        purpose: "plan-coordination".into(),
        system: "skolans-system".into(),
        plan_id: plan.into(),
        fragment_id: plan_id(rng),
        version: Some(Version {
            physical_ms: 1_795_690_800_000 + n,
            logical: 0,
        }),
        content_hash: hex::encode(rng.r#gen::<[u8; 32]>()),
        consent_version: 3,
        action: AccessAction::Read as i32,
        decision: Decision::Permit as i32,
        reason: "granted".into(),
        withheld_from_guardians: false,
    }
}

fn mean(total: Duration, n: usize) -> Duration {
    total / n.max(1) as u32
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Builds a log up to `max` entries and measures at 10^3, 10^5 and 10^6 (those not above `max`).
pub async fn run(max: u64, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let sizes: Vec<u64> = [1_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&s| s <= max)
        .collect();
    let Some(&end) = sizes.last() else {
        return Ok(());
    };
    let mut rng = rand::thread_rng();
    let store = Arc::new(MemoryStore::new());
    let key = SigningKey::from_bytes(&rng.r#gen());
    let trust = Trust::pinned(ORG, key.verifying_key());
    let log = AccessLog::open(store.clone(), key.clone(), ORG.into(), Clock::system())?;
    let pool: Vec<String> = (0..10_000).map(|_| plan_id(&mut rng)).collect();
    // Each size has a plan of its own with 50 records at random positions below the size.
    let mut planned: BTreeMap<u64, usize> = BTreeMap::new();
    let plans: Vec<String> = sizes.iter().map(|_| plan_id(&mut rng)).collect();
    for (k, &n) in sizes.iter().enumerate() {
        let mut placed = 0;
        while placed < PLAN_RECORDS {
            if let std::collections::btree_map::Entry::Vacant(v) =
                planned.entry(rng.gen_range(0..n))
            {
                v.insert(k);
                placed += 1;
            }
        }
    }
    println!("\nevidence as the log grows (in-memory store, 50-record plan spread over the log):");
    println!(
        "{:>9} {:>10} {:>22} {:>22} {:>10} {:>10} {:>26} {:>12}",
        "entries",
        "checkpoint",
        "inclusion: hashes, make/check",
        "consistency: hashes, make/check",
        "reopen",
        "",
        "extract: JSON / protobuf",
        "check"
    );
    let mut progress = crate::progress::Progress::bar("building the log", end);
    let mut next = 0u64;
    for (k, &n) in sizes.iter().enumerate() {
        while next < n {
            let upto = (next + 1000).min(n);
            let batch: Vec<AccessRecord> = (next..upto)
                .map(|p| {
                    let plan = match planned.get(&p) {
                        Some(&i) => plans[i].clone(),
                        None => pool[rng.gen_range(0..pool.len())].clone(),
                    };
                    record(&plan, p, &mut rng)
                })
                .collect();
            log.append_with(&batch, Vec::new())?;
            next = upto;
            progress.set(next);
        }
        let row = measure(&log, store.as_ref(), &trust, n, &plans[k], &mut rng)?;
        println!(
            "{:>9} {:>10} {:>9} {:>12} {:>9} {:>12} {:>10} {:>10} {:>26} {:>12}",
            n,
            format!("{:.3} ms", row.checkpoint.as_secs_f64() * 1e3),
            row.inclusion_hashes,
            format!("{}/{}", us(row.inclusion_make), us(row.inclusion_check)),
            row.consistency_hashes,
            format!("{}/{}", us(row.consistency_make), us(row.consistency_check)),
            format!("{:.0} ms", row.reopen.as_secs_f64() * 1e3),
            "",
            format!(
                "{:.1} / {:.1} KiB",
                row.extract_json as f64 / 1024.0,
                row.extract_proto as f64 / 1024.0
            ),
            format!("{:.2} ms", row.extract_check.as_secs_f64() * 1e3),
        );
        rows.push(Row::absolute(
            &format!("inclusion / consistency proof at {n} entries"),
            format!(
                "{} / {} hashes; make {} / {}, check {} / {}",
                row.inclusion_hashes,
                row.consistency_hashes,
                us(row.inclusion_make),
                us(row.consistency_make),
                us(row.inclusion_check),
                us(row.consistency_check)
            ),
            "grow as log2 n",
            None,
        ));
        if n == 1_000_000 {
            rows.push(Row::absolute(
                "extract of a plan with 50 records spread over 10^6 entries (JSON)",
                format!(
                    "{:.1} KiB (protobuf {:.1} KiB)",
                    row.extract_json as f64 / 1024.0,
                    row.extract_proto as f64 / 1024.0
                ),
                "< 64 KiB",
                Some(row.extract_json < 64 * 1024),
            ));
            rows.push(Row::absolute(
                "verifying that extract (parse JSON, every signature and proof)",
                format!("{:.2} ms", row.extract_check.as_secs_f64() * 1e3),
                "< 50 ms",
                Some(row.extract_check < Duration::from_millis(50)),
            ));
            rows.push(Row::absolute(
                "checkpoint of a running log of 10^6 entries",
                format!("{:.3} ms", row.checkpoint.as_secs_f64() * 1e3),
                "< 100 ms",
                Some(row.checkpoint < Duration::from_millis(100)),
            ));
        }
    }
    progress.finish();
    Ok(())
}

struct Figures {
    checkpoint: Duration,
    inclusion_hashes: usize,
    inclusion_make: Duration,
    inclusion_check: Duration,
    consistency_hashes: usize,
    consistency_make: Duration,
    consistency_check: Duration,
    reopen: Duration,
    extract_json: usize,
    extract_proto: usize,
    extract_check: Duration,
}

fn measure(
    log: &AccessLog,
    store: &MemoryStore,
    trust: &Trust,
    n: u64,
    plan: &str,
    rng: &mut impl Rng,
) -> anyhow::Result<Figures> {
    let tree = StoredTree(store);
    let t = Instant::now();
    let cp = log.snapshot(None);
    let checkpoint = t.elapsed();
    let root = cp.body.root;
    const TRIES: usize = 200;
    let (mut make, mut check, mut hashes) = (Duration::ZERO, Duration::ZERO, 0);
    for _ in 0..TRIES {
        let i = rng.gen_range(0..n);
        let leaf = leaf::of(&leaf::read_entry(store, i)?);
        let t = Instant::now();
        let p = inclusion_proof(i, n, &tree)?;
        make += t.elapsed();
        let t = Instant::now();
        verify_inclusion(&leaf, i, n, &p, &root)?;
        check += t.elapsed();
        hashes = hashes.max(p.len());
    }
    let (inclusion_make, inclusion_check, inclusion_hashes) =
        (mean(make, TRIES), mean(check, TRIES), hashes);
    let (mut make, mut check, mut hashes) = (Duration::ZERO, Duration::ZERO, 0);
    for _ in 0..TRIES {
        let old = rng.gen_range(1..n);
        let old_root = kronobarn_tlog::root(old, &tree)?;
        let t = Instant::now();
        let p = consistency_proof(old, n, &tree)?;
        make += t.elapsed();
        let t = Instant::now();
        verify_consistency(old, n, &old_root, &root, &p)?;
        check += t.elapsed();
        hashes = hashes.max(p.len());
    }
    let (consistency_make, consistency_check, consistency_hashes) =
        (mean(make, TRIES), mean(check, TRIES), hashes);
    // A stopped node's start: the frontier and the plan map back from the store.
    let stopped = Arc::new(copy(store)?);
    let t = Instant::now();
    let reopened = AccessLog::open(
        stopped,
        SigningKey::from_bytes(&rng.r#gen()),
        ORG.into(),
        Clock::system(),
    );
    let reopen = t.elapsed();
    anyhow::ensure!(reopened.is_ok(), "reopening the log: {:?}", reopened.err());
    let snap = log.snapshot(Some(plan));
    let x = extract::build(store, &snap, Vec::new())?;
    let json = extract::json::to_json(&x);
    let t = Instant::now();
    const CHECKS: u32 = 20;
    for _ in 0..CHECKS {
        let parsed = extract::json::from_json(&json).map_err(|e| anyhow::anyhow!(e))?;
        let v = extract::verify(&parsed, trust)?;
        anyhow::ensure!(v.records.len() == PLAN_RECORDS, "all 50 records");
    }
    Ok(Figures {
        checkpoint,
        inclusion_hashes,
        inclusion_make,
        inclusion_check,
        consistency_hashes,
        consistency_make,
        consistency_check,
        reopen,
        extract_json: json.len(),
        extract_proto: x.encoded_len(),
        extract_check: t.elapsed() / CHECKS,
    })
}

/// A copy of the store, so reopening does not count the original's lock or caches.
fn copy(store: &MemoryStore) -> anyhow::Result<MemoryStore> {
    use kronobarn_node::store::{Op, Store};
    let out = MemoryStore::new();
    let all = store.scan(b"", None, usize::MAX)?;
    out.apply(all.into_iter().map(|(k, v)| Op::Put(k, v)).collect())?;
    Ok(out)
}

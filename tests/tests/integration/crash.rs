//! Crash trials: a sender and its receiver exchange over mutual TLS while clients write; in each
//! trial one of them is killed with SIGKILL at a random moment, its access log is verified as the
//! crash left it, and it is started again. After every trial each acknowledged write is present at
//! the sender with its version; at the end every acknowledged write has reached the receiver
//! exactly once, the outboxes are empty and every log verifies.
//!
//! A few trials by default; `KRONOBARN_CRASH_TRIALS=100` for the soak. `KRONOBARN_CRASH_SEED`
//! repeats a run's random choices (the seed is printed).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kronobarn_node::client::User;
use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Category, Decision, GetPlanRequest, ListAccessLogRequest, Version,
    WheelArea,
};
use prost::Message;
use tonic::transport::Channel;

use super::common::*;
use super::county::{county, join_region};
use crate::harness::{TestNode, eventually};

/// Writes acknowledged to a client: fragment id and the version it was acknowledged with.
type Acked = Vec<(String, Option<Version>)>;

/// Trials when `KRONOBARN_CRASH_TRIALS` is not set.
const CI_TRIALS: usize = 3;
/// Concurrent writers at the sender.
const WRITERS: usize = 4;

/// A small xorshift generator: the test needs varied kill points, not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Starts clients writing health assessments to `plan_id` until `stop` or an error (the sender
/// was killed); each task returns what was acknowledged to it.
async fn start_writers(
    node: &TestNode,
    who: &User,
    plan_id: &str,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<Acked>> {
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (mut api, who, p) = (node.client().await, who.clone(), plan_id.to_string());
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            while !*stop.borrow() {
                match api
                    .put_fragment(who.req(put(wheel(&p, WheelArea::Health))))
                    .await
                {
                    Ok(r) => {
                        let f = r.into_inner().fragment.unwrap();
                        acked.push((f.fragment_id, f.version));
                    }
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    tasks
}

/// Every log entry about `plan_id` at the node `api` talks to, decoded.
async fn records(api: &PlanServiceClient<Channel>, who: &User, plan_id: &str) -> Vec<AccessRecord> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = api
            .clone()
            .list_access_log(who.req(ListAccessLogRequest {
                plan_id: plan_id.into(),
                page_size: 1000,
                page_token: token.clone(),
            }))
            .await
            .unwrap()
            .into_inner();
        out.extend(
            page.entries
                .iter()
                .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap()),
        );
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// How many times each fragment of a health assessment was recorded with `action` and permit.
fn counts(records: &[AccessRecord], action: AccessAction) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in records.iter().filter(|r| {
        r.action == action as i32
            && r.decision == Decision::Permit as i32
            && r.fragment_id != "consent"
    }) {
        *out.entry(r.fragment_id.clone()).or_insert(0) += 1;
    }
    out
}

/// `kronobarn log verify` on a stopped node (its witnesses are asked too).
fn assert_log_verifies(node: &TestNode, when: &str) {
    let config = node.config();
    let (ok, out) = node.run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(ok && out.contains("ok:"), "log verify {when}: {out}");
}

/// Fragment ids and versions of the plan as `who` sees it at `api`, if readable.
async fn held(
    api: &PlanServiceClient<Channel>,
    who: &User,
    plan_id: &str,
) -> Option<HashMap<String, Option<Version>>> {
    let plan = api
        .clone()
        .get_plan(who.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .ok()?
        .into_inner()
        .plan?;
    Some(
        plan.fragments
            .into_iter()
            .map(|f| (f.fragment_id, f.version))
            .collect(),
    )
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_at_random_points() {
    let trials = env_number("KRONOBARN_CRASH_TRIALS").map_or(CI_TRIALS, |n| n as usize);
    let seed = env_number("KRONOBARN_CRASH_SEED")
        .unwrap_or_else(|| kronobarn_node::clock::system_now_ms() as u64)
        | 1;
    eprintln!("crash trials: {trials}, seed {seed} (KRONOBARN_CRASH_SEED repeats it)");
    let mut rng = Rng(seed);
    let began = Instant::now();
    let mut nodes = county().await;
    let rektor = nodes[0].user("rektor", "ostra-skolan");
    let psykolog = nodes[1].user("psykolog", "bup");
    let categories = [
        Category::Identity,
        Category::Participants,
        Category::WheelHealth,
    ];
    // One plan per trial keeps each plan small, however many trials the soak runs.
    let mut acknowledged: Vec<(String, Acked)> = Vec::new();
    let mut kills = [0usize; 2];
    for trial in 0..trials {
        let mut at_vaxjo = nodes[0].client().await;
        let plan_id = crate::common::create_plan_with(
            &mut at_vaxjo,
            &rektor,
            crate::common::other_child(trial as u32),
        )
        .await;
        join_region(&mut at_vaxjo, &rektor, &plan_id, &categories).await;

        // Kill the sender while it takes writes and delivers, or the receiver while it is
        // pushed to; the writers stop when the sender dies, or a moment after the receiver did
        // (so deliveries queue up for its return).
        let victim = rng.below(2) as usize;
        kills[victim] += 1;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let writers = start_writers(&nodes[0], &rektor, &plan_id, &stop_rx).await;
        tokio::time::sleep(Duration::from_millis(20 + rng.below(400))).await;
        nodes[victim].kill();
        if victim == 1 {
            tokio::time::sleep(Duration::from_millis(rng.below(100))).await;
        }
        let _ = stop_tx.send(true);
        let mut acked = Vec::new();
        for w in writers {
            acked.extend(w.await.unwrap());
        }
        assert_log_verifies(&nodes[victim], &format!("after the kill in trial {trial}"));
        nodes[victim].spawn().await;

        // Every acknowledged write is at the sender with the version it was acknowledged with.
        let at_vaxjo = nodes[0].client().await;
        let there = held(&at_vaxjo, &rektor, &plan_id)
            .await
            .expect("the sender serves the plan after the trial");
        for (id, version) in &acked {
            assert_eq!(
                there.get(id),
                Some(version),
                "trial {trial}: acknowledged write {id} lost or changed at the sender"
            );
        }
        acknowledged.push((plan_id, acked));
    }

    // Everything acknowledged reaches the receiver, and is recorded there exactly once.
    let at_region = nodes[1].client().await;
    let at_vaxjo = nodes[0].client().await;
    let mut total = 0;
    for (plan_id, acked) in &acknowledged {
        total += acked.len();
        let there = eventually(
            Duration::from_secs(60),
            "every acknowledged write to reach the receiver",
            || {
                let (api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
                let acked = acked.clone();
                async move {
                    let there = held(&api, &who, &p).await?;
                    acked
                        .iter()
                        .all(|(id, v)| there.get(id) == Some(v))
                        .then_some(there)
                }
            },
        )
        .await;
        let received = counts(
            &records(&at_region, &psykolog, plan_id).await,
            AccessAction::Receive,
        );
        let sent = counts(
            &records(&at_vaxjo, &rektor, plan_id).await,
            AccessAction::Send,
        );
        for (id, _) in acked {
            assert_eq!(received.get(id), Some(&1), "{id} received once");
        }
        for id in there.keys() {
            assert!(
                received.get(id).is_none_or(|n| *n == 1),
                "{id} received twice"
            );
            assert!(sent.get(id).is_none_or(|n| *n == 1), "{id} sent twice");
        }
    }

    // The outboxes drain: stopped, each node's store holds no delivery still waiting. A node
    // stopped between a peer's answer and recording it gets another moment to settle.
    drop((at_region, at_vaxjo));
    for n in nodes.iter_mut() {
        n.stop();
    }
    for i in 0..nodes.len() {
        let mut left = usize::MAX;
        for _ in 0..10 {
            left = {
                use kronobarn_node::store::{SledStore, Store};
                let store = SledStore::open(&nodes[i].data_dir()).unwrap();
                store.scan(b"outbox/", None, usize::MAX).unwrap().len()
            };
            if left == 0 {
                break;
            }
            for n in nodes.iter_mut() {
                n.spawn().await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            for n in nodes.iter_mut() {
                n.stop();
            }
        }
        assert_eq!(left, 0, "node {i}'s outboxes did not drain");
    }
    for n in &nodes {
        assert_log_verifies(n, "at the end");
    }
    eprintln!(
        "crash trials: {trials} passed (sender killed {}, receiver killed {}), {total} acknowledged writes, {:.1} s",
        kills[0],
        kills[1],
        began.elapsed().as_secs_f64()
    );
}

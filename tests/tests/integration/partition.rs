//! Partition trials: five real nodes whose federation links run through proxies the test can cut,
//! one direction at a time. While random nodes are cut off and healed, the consent home records
//! revocations and new consents; a checker reads every node's client API all along and holds
//! the invariant: no node shows a received copy once a lease's lifetime has passed since the
//! consent was revoked. After the last heal every node converges on the latest version.
//!
//! Orderings the trust model must survive are part of every run: a revocation recorded at a
//! holder racing a new consent from the home; a node cut off in both directions coming back
//! through the pushes queued for it before its own anti-entropy catches up; and one node (the
//! police) whose wall clock runs 30 seconds behind, fifteen lease lifetimes.
//!
//! `KRONOBARN_PARTITION_ROUNDS` sets the number of cut/heal rounds (default 5, for CI);
//! `KRONOBARN_PARTITION_SEED` repeats a run.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kronobarn_node::pki::DevCa;
use kronobarn_proto::v1::{
    Category, Fragment, GetConsentStatusRequest, GetPlanRequest, Grant, Participant,
    PutFragmentRequest, RecordConsentRequest, RevokeConsentRequest, WheelArea, fragment::Body,
};
use rand::{Rng, SeedableRng};

use super::common::*;
use crate::harness::{TestNode, eventually, join_county, public_key, roster_member};

const ORGS: [(&str, &str); 5] = [
    ("vaxjo-kommun", "ostra-skolan"),
    ("region-kronoberg", "bup"),
    ("polisen", "ungdom"),
    ("alvesta-kommun", "ifo"),
    ("barnens-vanner", "laxhjalp"),
];
const LEASE_SECS: u64 = 2;
/// The node whose wall clock is wrong, and by how much (behind).
const SKEWED: usize = 2;
const SKEW_MS: i64 = -30_000;

/// One direction of one federation link, through a TCP proxy that can be cut.
struct Link {
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Link {
    async fn start(to: SocketAddr) -> (SocketAddr, Link) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (c, k) = (cut.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is reset
                }
                let h = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                k.lock().unwrap().push(h);
            }
        });
        (addr, Link { cut, conns })
    }

    fn set(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        if cut {
            for h in self.conns.lock().unwrap().drain(..) {
                h.abort();
            }
        }
    }
}

use crate::harness::free_port;

/// Five nodes; node i reaches node j through `links[(i, j)]`.
async fn federation() -> (Vec<TestNode>, HashMap<(usize, usize), Link>) {
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let mut nodes: Vec<TestNode> = ORGS.iter().map(|(o, _)| TestNode::init(o)).collect();
    let ports: Vec<u16> = ORGS.iter().map(|_| free_port()).collect();
    let keys: Vec<String> = nodes.iter().map(|n| public_key(n.dir.path())).collect();
    let mut links = HashMap::new();
    for i in 0..ORGS.len() {
        for (j, port) in ports.iter().enumerate() {
            if i != j {
                let to = SocketAddr::from(([127, 0, 0, 1], *port));
                let (addr, link) = Link::start(to).await;
                links.insert((i, j), (addr, link));
            }
        }
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        let dir = n.dir.path().to_path_buf();
        let mut roster = "ca = \"tls/county-ca.crt\"\n\n".to_string();
        for (j, (org, _)) in ORGS.iter().enumerate() {
            let port = if i == j {
                ports[j]
            } else {
                links[&(i, j)].0.port()
            };
            roster += &roster_member(org, &format!("https://127.0.0.1:{port}"), &keys[j]);
        }
        join_county(
            &dir,
            &ca,
            ORGS[i].0,
            &roster,
            &format!("127.0.0.1:{}", ports[i]),
            &format!("lease_ttl_secs = {LEASE_SECS}\nanti_entropy_secs = 1\ncheckpoint_secs = 1\n"),
        );
        if i == SKEWED {
            let config = n.config();
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(&config, format!("test_clock_offset_ms = {SKEW_MS}\n{text}")).unwrap();
        }
        n.spawn().await;
    }
    let links = links.into_iter().map(|(k, (_, l))| (k, l)).collect();
    (nodes, links)
}

/// Consent and revocation epochs as the checker sees them: odd epochs are "revoked since".
#[derive(Default)]
struct Epochs {
    epoch: AtomicU64,
    revoked_at: Mutex<Option<Instant>>,
}

#[tokio::test]
async fn cut_and_healed_nodes_never_show_revoked_copies_past_a_lease_and_converge() {
    let rounds: usize = std::env::var("KRONOBARN_PARTITION_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("KRONOBARN_PARTITION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let (nodes, links) = federation().await;
    let home = &nodes[0];
    let rektor = home.user("rektor", "ostra-skolan");
    let mut at_home = home.client().await;
    let plan_id = create_plan(&mut at_home, &rektor).await;
    for (org, unit) in &ORGS[1..] {
        let p = Fragment {
            plan_id: plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: (*org).into(),
                unit: (*unit).into(),
                contact: None,
            })),
            ..Default::default()
        };
        at_home.put_fragment(rektor.req(put(p))).await.unwrap();
    }
    let mut health = at_home
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let grants = || {
        ORGS[1..]
            .iter()
            .map(|(o, _)| Grant {
                organization: (*o).into(),
                categories: vec![
                    Category::Identity as i32,
                    Category::Participants as i32,
                    Category::WheelHealth as i32,
                ],
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };
    let mut version = 1;
    let mut c = consent(&plan_id, &["g1", "g2"]);
    c.grants = grants();
    at_home
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 0,
        }))
        .await
        .unwrap();

    // Everyone shows the copy before the trials begin.
    let mut readers = Vec::new();
    for (i, n) in nodes[1..].iter().enumerate() {
        readers.push((n.client().await, n.user("reader", ORGS[i + 1].1)));
    }
    for (api, who) in &readers {
        let (api, who, p, h) = (
            api.clone(),
            who.clone(),
            plan_id.clone(),
            health.fragment_id.clone(),
        );
        eventually(
            Duration::from_secs(20),
            "every node to show the copy",
            move || {
                let (mut api, who, p, h) = (api.clone(), who.clone(), p.clone(), h.clone());
                async move { shows(&mut api, &who, &p, &h).await.then_some(()) }
            },
        )
        .await;
    }

    // Each holder writes a part of its own, so it keeps taking part (and can record a
    // withdrawal) even while everything it received is withdrawn.
    for (api, who) in &readers {
        api.clone()
            .put_fragment(who.req(put(wheel(&plan_id, WheelArea::Relationships))))
            .await
            .unwrap();
    }

    // The checker: reads every node all along.
    let epochs = Arc::new(Epochs::default());
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let reads = Arc::new(AtomicU64::new(0));
    let mut checkers = Vec::new();
    let slack = Duration::from_secs(LEASE_SECS) + Duration::from_millis(1500);
    for (i, (api, who)) in readers.iter().enumerate() {
        let (mut api, who) = (api.clone(), who.clone());
        let (p, h) = (plan_id.clone(), health.fragment_id.clone());
        let (epochs, stop, violations, reads) = (
            epochs.clone(),
            stop.clone(),
            violations.clone(),
            reads.clone(),
        );
        checkers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let before = epochs.epoch.load(Ordering::SeqCst);
                let revoked_at = *epochs.revoked_at.lock().unwrap();
                let asked = Instant::now();
                let shown = shows(&mut api, &who, &p, &h).await;
                let after = epochs.epoch.load(Ordering::SeqCst);
                reads.fetch_add(1, Ordering::Relaxed);
                if let Some(r) = revoked_at
                    && shown
                    && before == after
                    && asked > r + slack
                {
                    violations.lock().unwrap().push(format!(
                        "{} showed the copy {} ms after the revocation (lease {LEASE_SECS} s)",
                        ORGS[i + 1].0,
                        asked.duration_since(r).as_millis()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }

    let mut revocations: Vec<String> = Vec::new();
    let mut cuts = 0;
    let mut races = 0;
    for round in 0..rounds {
        // Cut one or two nodes off, sometimes only in one direction, sometimes the home.
        let mut victims: Vec<usize> = (0..rng.gen_range(1..=2))
            .map(|_| rng.gen_range(0..ORGS.len()))
            .collect();
        victims.dedup();
        let one_way = rng.gen_bool(0.3);
        let mut cut = Vec::new();
        for &v in &victims {
            for (&(from, to), link) in &links {
                if (to == v || (!one_way && from == v)) && !cut.contains(&(from, to)) {
                    link.set(true);
                    cut.push((from, to));
                }
            }
        }
        cuts += cut.len();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1200))).await;
        if revocations.is_empty()
            || rng.gen_bool(0.5) && epochs.epoch.load(Ordering::SeqCst) % 2 == 0
        {
            // Withdraw everything, at the home, while the cut lasts.
            let r = at_home
                .revoke_consent(rektor.req(RevokeConsentRequest {
                    plan_id: plan_id.clone(),
                    withdrawn_by: "g1".into(),
                    organizations: vec![],
                    categories: vec![],
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner()
                .revocation
                .unwrap();
            *epochs.revoked_at.lock().unwrap() = Some(Instant::now());
            epochs.epoch.fetch_add(1, Ordering::SeqCst);
            revocations.push(r.revocation_id);
        } else if epochs.epoch.load(Ordering::SeqCst) % 2 == 1 && rng.gen_bool(0.4) {
            // The guardians consent again at the home, and at once a guardian withdraws again at
            // a holder that is not cut off: the withdrawal races the consent through the county.
            consent_again(
                &mut at_home,
                &rektor,
                &plan_id,
                grants(),
                &revocations,
                version,
                &epochs,
            )
            .await;
            version += 1;
            let candidates: Vec<usize> = (1..ORGS.len()).filter(|i| !victims.contains(i)).collect();
            let holder = candidates[rng.gen_range(0..candidates.len())];
            let (api, who) = &readers[holder - 1];
            let r = api
                .clone()
                .revoke_consent(who.req(RevokeConsentRequest {
                    plan_id: plan_id.clone(),
                    withdrawn_by: "g1".into(),
                    organizations: vec![],
                    categories: vec![],
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner()
                .revocation
                .unwrap();
            *epochs.revoked_at.lock().unwrap() = Some(Instant::now());
            epochs.epoch.fetch_add(1, Ordering::SeqCst);
            revocations.push(r.revocation_id);
            races += 1;
        } else if epochs.epoch.load(Ordering::SeqCst) % 2 == 1 {
            // The guardians consent again, lifting every revocation.
            consent_again(
                &mut at_home,
                &rektor,
                &plan_id,
                grants(),
                &revocations,
                version,
                &epochs,
            )
            .await;
            version += 1;
        } else {
            // A new version of the shared fragment, which cut-off nodes must catch up on.
            health = at_home
                .put_fragment(rektor.req(PutFragmentRequest {
                    expected_version: health.version,
                    fragment: Some(health.clone()),
                }))
                .await
                .unwrap()
                .into_inner()
                .fragment
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2500))).await;
        for (from, to) in cut {
            links[&(from, to)].set(false);
        }
        eprintln!(
            "partition round {round}: cut {victims:?}{} epoch {}",
            if one_way { " (inbound only)" } else { "" },
            epochs.epoch.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Heal, consent once more (once the home has every withdrawal), and every node converges on
    // the latest version.
    let mut tries = 0;
    while epochs.epoch.load(Ordering::SeqCst) % 2 == 1 {
        let lifted = consent_again(
            &mut at_home,
            &rektor,
            &plan_id,
            grants(),
            &revocations,
            version,
            &epochs,
        )
        .await;
        version += 1;
        tries += 1;
        if !lifted && tries >= 60 {
            dump_logs(&nodes);
            panic!("the home never heard of every withdrawal");
        }
        if !lifted {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    for (i, (api, who)) in readers.iter().enumerate() {
        let mut api = api.clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let plan = api
                .get_plan(who.req(GetPlanRequest {
                    plan_id: plan_id.clone(),
                }))
                .await
                .ok()
                .and_then(|r| r.into_inner().plan);
            if plan.as_ref().is_some_and(|p| {
                p.fragments
                    .iter()
                    .any(|f| f.fragment_id == health.fragment_id && f.version == health.version)
            }) {
                break;
            }
            if Instant::now() > deadline {
                dump_logs(&nodes);
                for (j, (a, w)) in readers.iter().enumerate() {
                    let st = a
                        .clone()
                        .get_consent_status(w.req(GetConsentStatusRequest {
                            plan_id: plan_id.clone(),
                        }))
                        .await
                        .map(|r| {
                            let r = r.into_inner();
                            (
                                r.consent
                                    .map(|c| (c.consent_version, c.supersedes_revocations)),
                                r.revocations_in_force
                                    .iter()
                                    .map(|x| {
                                        (
                                            x.revocation_id.clone(),
                                            x.recorded_at_organization.clone(),
                                        )
                                    })
                                    .collect::<Vec<_>>(),
                            )
                        });
                    eprintln!("consent state at {}: {st:?}", ORGS[j + 1].0);
                }
                eprintln!("test revocations: {revocations:?}");
                panic!(
                    "{} did not converge: it shows {:?}",
                    ORGS[i + 1].0,
                    plan.map(|p| (
                        p.fragments
                            .iter()
                            .map(|f| f.fragment_id.clone())
                            .collect::<Vec<_>>(),
                        p.withheld
                            .iter()
                            .map(|w| (w.fragment_id.clone(), w.reason.clone()))
                            .collect::<Vec<_>>()
                    ))
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.store(true, Ordering::SeqCst);
    for c in checkers {
        let _ = c.await;
    }
    let violations = violations.lock().unwrap().clone();
    eprintln!(
        "partition trials (seed {seed}): {rounds} rounds, {cuts} link cuts, {} revocations ({races} racing a consent), {} reads checked, {} violations, {:.1} s",
        revocations.len(),
        reads.load(Ordering::Relaxed),
        violations.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(!revocations.is_empty());
}

/// The guardians consent again with `grants`, lifting every revocation so far; the checker is
/// told before the home records it.
async fn consent_again(
    api: &mut kronobarn_proto::v1::plan_service_client::PlanServiceClient<
        tonic::transport::Channel,
    >,
    who: &kronobarn_node::client::User,
    plan_id: &str,
    grants: Vec<Grant>,
    revocations: &[String],
    previous_version: u64,
    epochs: &Epochs,
) -> bool {
    // The home lifts the revocations it knows of: one recorded at a holder that has not reached
    // the home yet stays in force (and the checker treats the plan as revoked until it is lifted).
    let status = api
        .get_consent_status(who.req(GetConsentStatusRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let held: Vec<String> = status
        .revocations_in_force
        .into_iter()
        .map(|r| r.revocation_id)
        .collect();
    let lifted_before = status
        .consent
        .map(|c| c.supersedes_revocations)
        .unwrap_or_default();
    let known = |r: &String| held.contains(r) || lifted_before.contains(r);
    let mut c = consent(plan_id, &["g1", "g2"]);
    c.grants = grants;
    // A consent lifts what it names: everything the home knows of, lifted before or not.
    c.supersedes_revocations = held.iter().chain(&lifted_before).cloned().collect();
    if revocations.iter().any(|r| !known(r)) {
        // Something stays revoked: no change of epoch.
        api.record_consent(who.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: previous_version,
        }))
        .await
        .unwrap();
        return false;
    }
    epochs.epoch.fetch_add(1, Ordering::SeqCst);
    *epochs.revoked_at.lock().unwrap() = None;
    api.record_consent(who.req(RecordConsentRequest {
        consent: Some(c),
        expected_previous_version: previous_version,
    }))
    .await
    .unwrap();
    true
}

async fn shows(
    api: &mut kronobarn_proto::v1::plan_service_client::PlanServiceClient<
        tonic::transport::Channel,
    >,
    who: &kronobarn_node::client::User,
    plan_id: &str,
    fragment_id: &str,
) -> bool {
    match api
        .get_plan(who.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
    {
        Ok(r) => r
            .into_inner()
            .plan
            .is_some_and(|p| p.fragments.iter().any(|f| f.fragment_id == fragment_id)),
        Err(_) => false,
    }
}

/// The warnings in every node's log, for a failure's report.
fn dump_logs(nodes: &[TestNode]) {
    for (n, (org, _)) in nodes.iter().zip(ORGS) {
        let log = std::fs::read_to_string(n.log_file()).unwrap_or_default();
        let keep = std::env::temp_dir().join("kronobarn-partition-logs");
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::write(keep.join(format!("{org}.log")), &log);
        let warned: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("kronobarn")
                    && (l.contains(" WARN ")
                        || l.contains(" ERROR ")
                        || l.contains("refused")
                        || l.contains("not admitted")
                        || l.contains("not renewed"))
            })
            .collect();
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for l in &warned {
            let key: String = l
                .split_once("Z ")
                .map_or(*l, |(_, r)| r)
                .chars()
                .take(160)
                .collect();
            *kinds.entry(key).or_default() += 1;
        }
        eprintln!("--- {org}: {} warnings: {kinds:#?}", warned.len());
    }
}

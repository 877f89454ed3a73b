//! `kronobarn bench`: local figures for one node on embedded storage in a temp dir.
//!
//! Measures, through the node's own backend (no network): durable fragment writes per second
//! (each signed, written with its access record in one batch, acknowledged after a group-commit
//! flush) and durable access-log appends per second, at several concurrencies; then the same
//! writes through the client API over TLS, client reads, and checkpoints. Then federation figures
//! on loopback. Every figure is also given as a ratio to a ceiling measured in the same run
//! ([`ceilings`]), with its target, in a summary table at the end. Prints figures; asserts nothing.

mod ceilings;
mod report;
mod scale;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kronobarn_gateway::{Actor, Backend};
use kronobarn_proto::v1::{
    AccessRecord, Fragment, GetPlanRequest, PutFragmentRequest, WheelArea, WheelAssessment,
    fragment::Body,
};

use ceilings::Ceilings;
use kronobarn_node::client::{User, connect};
use kronobarn_node::config::Config;
use report::Row;

/// What `kronobarn bench` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Operations per throughput figure.
    pub ops: usize,
    /// Revocations to time across the county; 0 skips the federation figures.
    pub revocations: usize,
    /// Plans for the scale figures (restart, memory, catch-up with that many plans stored); 0
    /// skips them.
    pub plans: usize,
}

/// Measures the ceilings, then every figure, and prints the summary against the ceilings.
pub async fn run_all(opts: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let c = ceilings::measure(dir.path(), opts.ops.clamp(200, 2000)).await?;
    let mut rows = Vec::new();
    run(opts.ops, &c, &mut rows).await?;
    if opts.revocations > 0 {
        run_federation(opts.ops, opts.revocations, &c, &mut rows).await?;
    }
    if opts.plans > 0 {
        scale::run(opts.plans, &mut rows).await?;
    }
    report::print(&rows);
    Ok(())
}

fn fragment(plan_id: &str) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: WheelArea::Learning as i32,
            needs: "x".repeat(200),
            ..Default::default()
        })),
        ..Default::default()
    }
}

async fn rate<F, Fut>(total: usize, concurrency: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        let n = total / concurrency;
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                op(w).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((total / concurrency * concurrency) as f64 / start.elapsed().as_secs_f64())
}

/// Runs the single-node figures with `total` operations per figure.
async fn run(total: usize, c: &Ceilings, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let init = kronobarn_node::init::init(dir.path(), "bench-org", "", "127.0.0.1:0")?;
    let loaded = Config::load(&init.config_path)?;
    let running = kronobarn_node::server::start(&loaded).await?;
    let node = running.node.clone();
    let actor = Actor {
        organization: "bench-org".into(),
        system: "bench".into(),
        user_id: "bench".into(),
        role: "staff".into(),
        unit: "unit".into(),
        purpose: "bench".into(),
    };
    let header = crate::demo::bench_header();
    // One plan per writer, as in real use where many plans change at once.
    let mut plans = Vec::new();
    for _ in 0..64 {
        let plan = node
            .create_plan(&actor, header.clone(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plans.push(plan.plan_id);
    }
    let plans = Arc::new(plans);
    println!(
        "kronobarn bench: {total} operations per figure, data in {}",
        dir.path().display()
    );
    println!("{:<52} {:>12}", "figure", "per second");
    for k in [1, 16, 64] {
        let (n, a, ps) = (node.clone(), actor.clone(), plans.clone());
        let r = rate(total, k, move |w| {
            let (n, a, p) = (n.clone(), a.clone(), ps[w].clone());
            async move {
                n.put_fragment(&a, fragment(&p), None)
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
        })
        .await?;
        println!(
            "{:<52} {:>12.0}",
            format!("durable signed fragment writes, backend, {k} writers"),
            r
        );
    }
    let mut best_appends = 0f64;
    for k in [1, 16, 64] {
        let (n, ps) = (node.clone(), plans.clone());
        let r = rate(total, k, move |w| {
            let (n, p) = (n.clone(), ps[w].clone());
            async move {
                let rec = AccessRecord {
                    plan_id: p,
                    user_id: "bench".into(),
                    reason: "bench".into(),
                    ..Default::default()
                };
                n.log_access(vec![rec])
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
        })
        .await?;
        println!(
            "{:<52} {:>12.0}",
            format!("durable access-log appends, {k} appenders"),
            r
        );
        best_appends = best_appends.max(r);
    }
    rows.push(Row::rate(
        "access-log appends (best of 1/16/64 appenders)",
        best_appends,
        "sign",
        c.sign_per_s,
        0.5,
    ));
    let user = User {
        token: init.token.clone(),
        user_id: "bench".into(),
        role: "staff".into(),
        unit: "unit".into(),
        purpose: "bench".into(),
    };
    let client = connect(running.client_addr, &init.ca_pem, None)
        .await
        .context("connect")?;
    for k in [1, 16, 64] {
        let (cl, u, ps) = (client.clone(), user.clone(), plans.clone());
        let r = rate(total, k, move |w| {
            let (mut cl, u, p) = (cl.clone(), u.clone(), ps[w].clone());
            async move {
                cl.put_fragment(u.req(PutFragmentRequest {
                    fragment: Some(fragment(&p)),
                    expected_version: None,
                }))
                .await?;
                Ok(())
            }
        })
        .await?;
        println!(
            "{:<52} {:>12.0}",
            format!("PutFragment over TLS, {k} clients"),
            r
        );
    }

    // Client reads: GetPlan of a plan of nine fragments, one call at a time. Each read's access
    // record is durable before the answer, so a read costs a round trip, a signature and a flush.
    let plan_id = node
        .create_plan(&actor, header.clone(), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .plan_id;
    for area in [
        WheelArea::Health,
        WheelArea::Development,
        WheelArea::Learning,
        WheelArea::Care,
        WheelArea::Home,
        WheelArea::Relationships,
        WheelArea::Safety,
    ] {
        let mut f = fragment(&plan_id);
        if let Some(Body::WheelAssessment(w)) = &mut f.body {
            w.area = area as i32;
        }
        node.put_fragment(&actor, f, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let reads = total.clamp(200, 2000);
    let mut lat = Vec::with_capacity(reads);
    let mut cl = client.clone();
    for i in 0..reads + reads / 10 {
        let t = Instant::now();
        cl.get_plan(user.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await?;
        if i >= reads / 10 {
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "{:<52} {:>12}",
        "GetPlan over TLS, 9 fragments, p50 / p99",
        format!(
            "{:.2} / {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        )
    );
    rows.push(Row::latency(
        "client GetPlan p50",
        p50,
        "bare round trip p50",
        c.rtt_client_p50,
        None,
    ));
    rows.push(Row::latency(
        "client GetPlan p99",
        p99,
        "bare round trip p99",
        c.rtt_client_p99,
        Some(2.0),
    ));
    rows.push(Row::latency(
        "client GetPlan p99",
        p99,
        "round trip + flush p99",
        c.rtt_client_p99 + c.sled_flush_p99,
        Some(2.0),
    ));

    // Checkpoints: a signed head of the running node's log, and from a stopped node's store as
    // `kronobarn log checkpoint` does (open the store, find the head, sign).
    let size = node.access_log_handle().head().size;
    let t = Instant::now();
    let _ = node.access_log_handle().checkpoint(now_ms());
    let hot = t.elapsed();
    drop(cl);
    drop(client);
    drop(node);
    running.stop().await?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let t = Instant::now();
    let store = kronobarn_node::store::SledStore::open(&loaded.config.data_dir)?;
    let opened = t.elapsed();
    let log = kronobarn_node::accesslog::AccessLog::open(Arc::new(store), key, "bench-org".into())?;
    let _ = log.checkpoint(now_ms());
    let cold = t.elapsed();
    println!(
        "{:<52} {:>12}",
        format!("checkpoint of a {size}-entry log, running / stopped"),
        format!(
            "{:.3} / {:.1} ms",
            hot.as_secs_f64() * 1e3,
            cold.as_secs_f64() * 1e3
        )
    );
    rows.push(Row::absolute(
        &format!("checkpoint, running node ({size} entries)"),
        format!("{:.3} ms", hot.as_secs_f64() * 1e3),
        "< 100 ms",
        Some(hot < Duration::from_millis(100)),
    ));
    rows.push(Row::absolute(
        &format!("checkpoint, stopped node incl. opening the store ({size} entries)"),
        format!(
            "{:.1} ms (open {:.1} ms)",
            cold.as_secs_f64() * 1e3,
            opened.as_secs_f64() * 1e3
        ),
        "< 100 ms",
        Some(cold < Duration::from_millis(100)),
    ));
    Ok(())
}

fn bench_actor(org: &str, unit: &str) -> Actor {
    Actor {
        organization: org.into(),
        system: "bench".into(),
        user_id: "bench".into(),
        role: "staff".into(),
        unit: unit.into(),
        purpose: "bench".into(),
    }
}

/// A plan at `home` with every org in `others` taking part and granted identity, participants
/// and health.
async fn shared_plan(home: &kronobarn_node::node::Node, others: &[&str]) -> anyhow::Result<String> {
    use kronobarn_proto::v1::{
        Category, Consent, ConsentForm, Grant, GuardianConsent, Participant,
    };
    let actor = bench_actor(home.organization_id(), "unit");
    let plan = home
        .create_plan(&actor, crate::demo::bench_header(), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for o in others {
        let f = Fragment {
            plan_id: plan.plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: o.to_string(),
                unit: "unit".into(),
                contact: None,
            })),
            ..Default::default()
        };
        home.put_fragment(&actor, f, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let cats = vec![
        Category::Identity as i32,
        Category::Participants as i32,
        Category::WheelLearning as i32,
    ];
    let consent = Consent {
        plan_id: plan.plan_id.clone(),
        guardian_consents: vec![GuardianConsent {
            guardian_id: "g1".into(),
            form: ConsentForm::Written as i32,
            given_at_unix_ms: 1,
        }],
        valid_until_unix_ms: i64::MAX,
        grants: others
            .iter()
            .map(|o| Grant {
                organization: o.to_string(),
                categories: cats.clone(),
            })
            .collect(),
        purpose: "bench".into(),
        ..Default::default()
    };
    home.record_consent(&actor, consent, 0)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(plan.plan_id)
}

fn count_received(node: &kronobarn_node::node::Node, plan_id: &str) -> usize {
    node.load_plan(plan_id).ok().flatten().map_or(0, |v| {
        v.fragments
            .iter()
            .filter(|f| f.fragment.category == kronobarn_proto::v1::Category::WheelLearning as i32)
            .count()
    })
}

/// With the receiver (config `cfg`) stopped, `home` writes `missed` changes to a plan shared
/// with it; then the receiver starts. Returns the time from its start until it holds them all.
/// The restarted node asks for the changes after its cursor at once (anti-entropy), so the time
/// follows the number of changes, not of plans.
async fn catch_up(
    home: &kronobarn_node::node::Node,
    cfg: &std::path::Path,
    missed: usize,
) -> anyhow::Result<Duration> {
    let actor = bench_actor("vaxjo-kommun", "unit");
    let plan_id = shared_plan(home, &["region-kronoberg"]).await?;
    for _ in 0..missed {
        home.put_fragment(&actor, fragment(&plan_id), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let start = Instant::now();
    let running = kronobarn_node::server::start(&Config::load(cfg)?).await?;
    while count_received(&running.node, &plan_id) < missed {
        if start.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("catch-up of {missed} changes stalled");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = start.elapsed();
    running.stop().await?;
    Ok(took)
}

/// Milliseconds since the Unix epoch, for checkpoints.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The `p` quantile of sorted durations.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Federation figures: replicated writes between two nodes, revocation across the county,
/// catch-up after an outage.
async fn run_federation(
    writes: usize,
    revocations: usize,
    c: &Ceilings,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    use std::time::Duration as D;
    let dir = tempfile::tempdir()?;
    println!(
        "\nfederation, nodes in-process on loopback with mutual TLS, data in {}",
        dir.path().display()
    );

    // 1. Replicated, durable, signed writes from one node to another.
    let pair = &crate::county::KRONOBERG[6..9]; // vaxjo, almhult, region
    let county = crate::county::start(&dir.path().join("pair"), pair, 300).await?;
    let (home, region) = (
        county[0].running.node.clone(),
        county[2].running.node.clone(),
    );
    let mut plans = Vec::new();
    for _ in 0..16 {
        plans.push(shared_plan(&home, &["region-kronoberg"]).await?);
    }
    let plans = Arc::new(plans);
    let start = Instant::now();
    let (h, ps) = (home.clone(), plans.clone());
    rate(writes, 16, move |w| {
        let (h, p) = (h.clone(), ps[w].clone());
        async move {
            h.put_fragment(&bench_actor("vaxjo-kommun", "unit"), fragment(&p), None)
                .await
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{e}"))
        }
    })
    .await?;
    let acked = start.elapsed();
    let want = writes / 16 * 16;
    loop {
        let got: usize = plans.iter().map(|p| count_received(&region, p)).sum();
        if got >= want {
            break;
        }
        if start.elapsed() > D::from_secs(300) {
            anyhow::bail!("replication stalled at {got} of {want}");
        }
        tokio::time::sleep(D::from_millis(5)).await;
    }
    let all = start.elapsed();
    println!(
        "{:<52} {:>12.0}",
        "replicated signed writes, 16 writers, end to end",
        want as f64 / all.as_secs_f64()
    );
    println!(
        "{:<52} {:>12.0}",
        "  (acknowledged at the home node)",
        want as f64 / acked.as_secs_f64()
    );
    let replicated = want as f64 / all.as_secs_f64();
    let (name, ceiling) = if c.sign_per_s <= c.group_commit_per_s {
        ("sign", c.sign_per_s)
    } else {
        ("group commit", c.group_commit_per_s)
    };
    rows.push(Row::rate(
        "replicated signed writes, 2 nodes, 16 writers",
        replicated,
        name,
        ceiling,
        0.5,
    ));
    rows.push(Row::absolute(
        "replicated signed writes, 2 nodes, 16 writers",
        format!("{replicated:.0} /s"),
        "≥ 5000 /s",
        Some(replicated >= 5000.0),
    ));

    // 2. Catch-up after the receiver was offline.
    let mut county = county;
    let region_member = county.remove(2);
    drop(region);
    let cfg = region_member.init.config_path.clone();
    region_member.running.stop().await?;
    for missed in [100usize, 1000, 10_000] {
        let took = catch_up(&home, &cfg, missed).await?;
        println!(
            "{:<52} {:>12}",
            format!("catch-up after an outage, {missed} missed changes"),
            format!("{} ms", took.as_millis())
        );
        rows.push(Row::absolute(
            &format!("catch-up, {missed} missed changes"),
            format!("{} ms", took.as_millis()),
            "—",
            None,
        ));
    }
    for m in county {
        m.running.stop().await?;
    }

    // 3. Revocation across the eleven nodes: time until every participant confirmed the purge.
    let county =
        crate::county::start(&dir.path().join("county"), &crate::county::KRONOBERG, 300).await?;
    let home = county[6].running.node.clone();
    let others: Vec<&str> = crate::county::KRONOBERG
        .iter()
        .map(|(o, _, _)| *o)
        .filter(|o| *o != "vaxjo-kommun")
        .collect();
    let mut times = Vec::new();
    // Signed log entries written anywhere in the county while a revocation is in flight: the
    // work on its path (each is a signature and part of a flushed batch).
    let logged = |county: &[crate::county::Member]| -> u64 {
        county
            .iter()
            .map(|m| m.running.node.access_log_handle().head().size)
            .sum()
    };
    let mut entries = 0;
    for i in 0..revocations {
        let plan_id = shared_plan(&home, &others).await?;
        let f = home
            .put_fragment(
                &bench_actor("vaxjo-kommun", "unit"),
                fragment(&plan_id),
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Wait until every node holds the copy, then revoke at a rotating non-home node.
        for m in county.iter().filter(|m| m.organization != "vaxjo-kommun") {
            while m
                .running
                .node
                .load_plan(&plan_id)
                .ok()
                .flatten()
                .is_none_or(|v| {
                    !v.fragments
                        .iter()
                        .any(|x| x.fragment.fragment_id == f.fragment.fragment_id)
                })
            {
                tokio::time::sleep(D::from_millis(2)).await;
            }
        }
        let at = &county
            .iter()
            .filter(|m| m.organization != "vaxjo-kommun")
            .nth(i % 10)
            .expect("ten others")
            .running
            .node;
        let revocation = kronobarn_proto::v1::Revocation {
            plan_id: plan_id.clone(),
            withdrawn_by: "g1".into(),
            ..Default::default()
        };
        let before = logged(&county);
        let start = Instant::now();
        at.record_revocation(&bench_actor(at.organization_id(), "unit"), revocation)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        loop {
            let st = at
                .revocation_status(&plan_id)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if st
                .first()
                .is_some_and(|s| s.pending.is_empty() && s.purged_at.len() == 11)
            {
                break;
            }
            if start.elapsed() > D::from_secs(30) {
                anyhow::bail!("revocation {i} not confirmed everywhere: {st:?}");
            }
            tokio::time::sleep(D::from_micros(500)).await;
        }
        times.push(start.elapsed());
        entries += logged(&county) - before;
    }
    times.sort();
    println!(
        "{:<52} {:>12.1}",
        "  signed log entries in the county per revocation",
        entries as f64 / times.len().max(1) as f64
    );
    println!(
        "{:<52} {:>12}",
        format!(
            "revocation purged at 11 of 11, {} runs, p50 / p99",
            times.len()
        ),
        format!(
            "{:.1} / {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        )
    );
    rows.push(Row::latency(
        "revocation purged at 11 of 11, p50",
        percentile(&times, 0.5),
        "one hop",
        c.one_hop(),
        None,
    ));
    rows.push(Row::latency(
        "revocation purged at 11 of 11, p99",
        percentile(&times, 0.99),
        "one hop",
        c.one_hop(),
        Some(5.0),
    ));
    for m in county {
        m.running.stop().await?;
    }
    Ok(())
}

//! `kronobarn bench`: local figures for one node on embedded storage in a temp dir.
//!
//! Measures, through the node's own backend (no network): durable fragment writes per second
//! (each signed, written with its access record in one batch, acknowledged after a group-commit
//! flush) and durable access-log appends per second, at several concurrencies; then the same
//! writes through the client API over TLS. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kronobarn_gateway::{Actor, Backend};
use kronobarn_proto::v1::{
    AccessRecord, Fragment, PutFragmentRequest, WheelArea, WheelAssessment, fragment::Body,
};

use crate::client::{User, connect};
use crate::config::Config;

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

/// Runs the benchmark with `total` operations per figure.
pub async fn run(total: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let init = crate::init::init(dir.path(), "bench-org", "127.0.0.1:0")?;
    let loaded = Config::load(&init.config_path)?;
    let running = crate::server::start(&loaded).await?;
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
    for c in [1, 16, 64] {
        let (n, a, ps) = (node.clone(), actor.clone(), plans.clone());
        let r = rate(total, c, move |w| {
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
            format!("durable signed fragment writes, backend, {c} writers"),
            r
        );
    }
    for c in [1, 16, 64] {
        let (n, ps) = (node.clone(), plans.clone());
        let r = rate(total, c, move |w| {
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
            format!("durable access-log appends, {c} appenders"),
            r
        );
    }
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
    for c in [1, 16, 64] {
        let (cl, u, ps) = (client.clone(), user.clone(), plans.clone());
        let r = rate(total, c, move |w| {
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
            format!("PutFragment over TLS, {c} clients"),
            r
        );
    }
    running.stop().await?;
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
async fn shared_plan(home: &crate::node::Node, others: &[&str]) -> anyhow::Result<String> {
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

fn count_received(node: &crate::node::Node, plan_id: &str) -> usize {
    node.load_plan(plan_id).ok().flatten().map_or(0, |v| {
        v.fragments
            .iter()
            .filter(|f| f.fragment.category == kronobarn_proto::v1::Category::WheelLearning as i32)
            .count()
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Federation figures: replicated writes between two nodes, revocation across the county,
/// catch-up after an outage.
pub async fn run_federation(writes: usize, revocations: usize) -> anyhow::Result<()> {
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

    // 2. Catch-up after the receiver was offline: time from its restart until it holds every
    //    change it missed. The restarted node asks for the changes after its cursor at once
    //    (anti-entropy), so the time follows the number of changes, not of plans.
    let mut county = county;
    let region_member = county.remove(2);
    drop(region);
    let cfg = region_member.init.config_path.clone();
    region_member.running.stop().await?;
    let actor = bench_actor("vaxjo-kommun", "unit");
    for missed in [100usize, 1000, 10_000] {
        let plan_id = shared_plan(&home, &["region-kronoberg"]).await?;
        for _ in 0..missed {
            home.put_fragment(&actor, fragment(&plan_id), None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let start = Instant::now();
        let running = crate::server::start(&Config::load(&cfg)?).await?;
        while count_received(&running.node, &plan_id) < missed {
            if start.elapsed() > D::from_secs(300) {
                anyhow::bail!("catch-up of {missed} changes stalled");
            }
            tokio::time::sleep(D::from_millis(5)).await;
        }
        let took = start.elapsed();
        println!(
            "{:<52} {:>12}",
            format!("catch-up after an outage, {missed} missed changes"),
            format!("{} ms", took.as_millis())
        );
        running.stop().await?;
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
    }
    times.sort();
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
    for m in county {
        m.running.stop().await?;
    }
    Ok(())
}

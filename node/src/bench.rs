//! `kronobarn bench`: local figures for one node on embedded storage in a temp dir.
//!
//! Measures, through the node's own backend (no network): durable fragment writes per second
//! (each signed, written with its access record in one batch, acknowledged after a group-commit
//! flush) and durable access-log appends per second, at several concurrencies; then the same
//! writes through the client API over TLS. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::Instant;

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

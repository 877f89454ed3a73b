//! Figures of one node: durable signed writes and access-log appends through the backend, the
//! same writes and reads through the client API over TLS, and checkpoints of a running and of a
//! stopped node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kronobarn_gateway::Backend;
use kronobarn_node::client::connect;
use kronobarn_node::config::Config;
use kronobarn_proto::v1::{
    AccessRecord, GetPlanRequest, PutFragmentRequest, WheelArea, fragment::Body,
};

use super::ceilings::Ceilings;
use super::report::Row;
use super::{fixture, percentile, print_rate, process_cpu, rate};

/// Runs the single-node figures with `total` operations per figure.
pub async fn run(total: usize, c: &Ceilings, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let init =
        kronobarn_node::init::init(dir.path(), "bench-org", "", "127.0.0.1:0", &[fixture::UNIT])?;
    let mut config = std::fs::read_to_string(&init.config_path)?;
    config += &fixture::directory("bench-org");
    std::fs::write(&init.config_path, config)?;
    let loaded = Config::load(&init.config_path)?;
    let running = kronobarn_node::server::start(&loaded).await?;
    let node = running.node.clone();
    let actor = fixture::actor("bench-org", fixture::UNIT);
    // One plan per writer, as in real use where many plans change at once.
    let mut plans = Vec::new();
    for _ in 0..64 {
        let plan = node
            .create_plan(&actor, fixture::header(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plans.push(plan.plan_id);
    }
    let plans = Arc::new(plans);
    println!(
        "kronobarn bench: {total} operations per figure, data in {}",
        dir.path().display()
    );
    super::print_header();
    for k in [1, 16, 64] {
        let (n, a, ps) = (node.clone(), actor.clone(), plans.clone());
        let r = rate(total, k, move |w| {
            let (n, a, p) = (n.clone(), a.clone(), ps[w].clone());
            async move {
                n.put_fragment(&a, fixture::fragment(&p), None)
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
        })
        .await?;
        print_rate(
            &format!("durable signed fragment writes, backend, {k} writers"),
            r,
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
        print_rate(&format!("durable access-log appends, {k} appenders"), r);
        best_appends = best_appends.max(r.per_s);
    }
    rows.push(Row::rate(
        "access-log appends (best of 1/16/64 appenders)",
        best_appends,
        "sign",
        c.sign_per_s,
        0.5,
    ));
    let user = fixture::user(&init.token);
    let client = connect(running.client_addr, &init.ca_pem, None)
        .await
        .context("connect")?;
    for k in [1, 16, 64] {
        let (cl, u, ps) = (client.clone(), user.clone(), plans.clone());
        let r = rate(total, k, move |w| {
            let (mut cl, u, p) = (cl.clone(), u.clone(), ps[w].clone());
            async move {
                cl.put_fragment(u.req(PutFragmentRequest {
                    fragment: Some(fixture::fragment(&p)),
                    expected_version: None,
                }))
                .await?;
                Ok(())
            }
        })
        .await?;
        print_rate(&format!("PutFragment over TLS, {k} clients"), r);
    }

    // Client reads: GetPlan of a plan of nine fragments, one call at a time. Each read's access
    // record is durable before the answer, so a read costs a round trip, a signature and a flush.
    let plan_id = node
        .create_plan(&actor, fixture::header(), None)
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
        let mut f = fixture::fragment(&plan_id);
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
    let mut read_cpu = Duration::ZERO;
    for i in 0..reads + reads / 10 {
        if i == reads / 10 {
            read_cpu = process_cpu();
        }
        let t = Instant::now();
        cl.get_plan(user.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await?;
        if i >= reads / 10 {
            lat.push(t.elapsed());
        }
    }
    let read_cpu = process_cpu().saturating_sub(read_cpu);
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "{:<52} {:>12} {:>14.0}",
        "GetPlan over TLS, 9 fragments, p50 / p99",
        format!(
            "{:.2} / {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        read_cpu.as_secs_f64() * 1e6 / reads as f64
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
        None,
    ));
    rows.push(Row::latency(
        "client GetPlan p99",
        p99,
        "round trip + flush p99",
        c.rtt_client_p99 + c.sled_flush_p99,
        Some(1.25),
    ));

    // Checkpoints: a signed head of the running node's log, and from a stopped node's store as
    // `kronobarn log checkpoint` does (open the store, find the head, sign).
    let size = node.access_log_handle().size();
    let t = Instant::now();
    let _ = node.access_log_handle().checkpoint();
    let hot = t.elapsed();
    drop(cl);
    drop(client);
    drop(node);
    running.stop().await?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let t = Instant::now();
    let store = kronobarn_node::store::SledStore::open(&loaded.config.data_dir)?;
    let opened = t.elapsed();
    let log = kronobarn_node::accesslog::AccessLog::open(
        Arc::new(store),
        key,
        "bench-org".into(),
        kronobarn_node::clock::Clock::system(),
    )?;
    let _ = log.checkpoint();
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

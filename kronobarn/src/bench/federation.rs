//! Federation figures on loopback with mutual TLS: replicated writes between two nodes, catch-up
//! after an outage, and revocation across the eleven-node county until every participant has
//! confirmed the purge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kronobarn_gateway::Backend;
use kronobarn_node::config::Config;
use kronobarn_node::node::Node;
use kronobarn_node::work::WorkCounts;

use super::ceilings::Ceilings;
use super::report::Row;
use super::{fixture, percentile, rate};

/// Federation figures: replicated writes between two nodes, revocation across the county,
/// catch-up after an outage.
pub async fn run(
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
        plans.push(fixture::shared_plan(&home, &["region-kronoberg"]).await?);
    }
    let plans = Arc::new(plans);
    let start = Instant::now();
    let cpu = super::process_cpu();
    let (h, ps) = (home.clone(), plans.clone());
    rate(writes, 16, move |w| {
        let (h, p) = (h.clone(), ps[w].clone());
        async move {
            h.put_fragment(
                &fixture::actor("vaxjo-kommun", fixture::UNIT),
                fixture::fragment(&p),
                None,
            )
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
        tokio::time::sleep(poll_interval(start.elapsed())).await;
    }
    let all = start.elapsed();
    // Includes the region's admission of every write: the CPU of the whole replicated write.
    super::print_rate(
        "replicated signed writes, 16 writers, end to end",
        super::Rate::of(want, all, super::process_cpu().saturating_sub(cpu)),
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

    // 3. Revocation across the eleven nodes: time until every participant confirmed the purge,
    // on loopback and with each link 2 ms and 10 ms late one way, as between organisations.
    revocation(dir.path(), revocations, D::ZERO, c, rows).await?;
    for delay_ms in [2u64, 10] {
        revocation(
            dir.path(),
            (revocations / 2).max(10),
            D::from_millis(delay_ms),
            c,
            rows,
        )
        .await?;
    }
    Ok(())
}

/// Revokes `runs` times across the eleven-node county, each link `delay` late one way; prints
/// the time until every participant confirmed, what each revocation cost in work (signatures,
/// log records, flushes, pushes) and in process CPU, and adds rows against the floors.
async fn revocation(
    dir: &std::path::Path,
    runs: usize,
    delay: Duration,
    c: &Ceilings,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    use std::time::Duration as D;
    let county = crate::county::start_with_delay(
        &dir.join(format!("county-{}ms", delay.as_millis())),
        &crate::county::KRONOBERG,
        300,
        delay,
    )
    .await?;
    let home = county[6].running.node.clone();
    let others: Vec<&str> = crate::county::KRONOBERG
        .iter()
        .map(|(o, _, _)| *o)
        .filter(|o| *o != "vaxjo-kommun")
        .collect();
    let mut times = Vec::new();
    let work = |county: &[crate::county::Member]| -> WorkCounts {
        county
            .iter()
            .map(|m| m.running.node.work().read())
            .fold(WorkCounts::default(), |a, b| a + b)
    };
    let mut spent = WorkCounts::default();
    let mut cpu = D::ZERO;
    let mut window = D::ZERO;
    for i in 0..runs {
        let plan_id = fixture::shared_plan(&home, &others).await?;
        let f = home
            .put_fragment(
                &fixture::actor("vaxjo-kommun", fixture::UNIT),
                fixture::fragment(&plan_id),
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
        // Let the last run's deliveries and settlements finish before counting this one.
        tokio::time::sleep(D::from_millis(20) + delay * 4).await;
        let before = work(&county);
        let cpu_before = super::process_cpu();
        let start = Instant::now();
        at.record_revocation(
            &fixture::actor(at.organization_id(), fixture::UNIT),
            revocation,
        )
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
        // The work a revocation causes goes on a little after the recorder has every receipt
        // (the home's forwards, the settlements): count it until the county is quiet.
        tokio::time::sleep(D::from_millis(20) + delay * 4).await;
        cpu += super::process_cpu().saturating_sub(cpu_before);
        window += start.elapsed();
        spent = spent + (work(&county) - before);
    }
    // What the eleven nodes burn when no revocation runs (sled's flushers, timers, lease rounds),
    // measured after the runs (the county's start-up is over), so the CPU a revocation costs can
    // be told net of it.
    tokio::time::sleep(D::from_millis(200) + delay * 4).await;
    let (idle_cpu, idle_start) = (super::process_cpu(), Instant::now());
    tokio::time::sleep(D::from_secs(3)).await;
    let idle_per_s = super::process_cpu().saturating_sub(idle_cpu).as_secs_f64()
        / idle_start.elapsed().as_secs_f64();
    times.sort();
    let n = times.len().max(1) as f64;
    let net_ms = (cpu.as_secs_f64() - idle_per_s * window.as_secs_f64()).max(0.0) * 1e3 / n;
    let per = |x: u64| x as f64 / n;
    let label = if delay.is_zero() {
        "loopback".to_string()
    } else {
        format!("links {} ms one way", delay.as_millis())
    };
    println!(
        "{:<52} {:>12}",
        format!(
            "revocation purged at 11 of 11, {label}, {} runs, p50 / p99",
            times.len()
        ),
        format!(
            "{:.1} / {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        )
    );
    println!(
        "  per revocation, county: {:.1} signatures made, {:.1} checked, {:.1} log records in {:.1} batches, {:.1} flushes, {:.1} pushes of {:.1} envelopes; {:.2} ms process CPU ({:.2} ms net of the idle county's {:.1} ms/s)",
        per(spent.signed),
        per(spent.verified),
        per(spent.log_records),
        per(spent.log_batches),
        per(spent.flushes),
        per(spent.pushes),
        per(spent.envelopes_pushed),
        cpu.as_secs_f64() * 1e3 / n,
        net_ms,
        idle_per_s * 1e3,
    );
    let p99 = percentile(&times, 0.99);
    if delay.is_zero() {
        rows.push(Row::latency(
            "revocation purged at 11 of 11, p50",
            percentile(&times, 0.5),
            "one hop",
            c.one_hop(),
            None,
        ));
        rows.push(Row::absolute(
            "revocation purged at 11 of 11, p99",
            format!("{:.2} ms", p99.as_secs_f64() * 1e3),
            "≤ 6 ms",
            Some(p99 <= D::from_millis(6)),
        ));
        rows.push(Row::absolute(
            "signed log records in the county per revocation",
            format!(
                "{:.1} ({:.2} per node)",
                per(spent.log_records),
                per(spent.log_records) / 11.0
            ),
            "≤ 2 per node",
            Some(per(spent.log_records) <= 22.0),
        ));
        rows.push(Row::absolute(
            "county CPU per revocation (process CPU / runs)",
            format!("{:.2} ms", cpu.as_secs_f64() * 1e3 / n),
            "≤ 4 ms",
            Some(cpu.as_secs_f64() * 1e3 / n <= 4.0),
        ));
        rows.push(Row::absolute(
            "county CPU per revocation, net of the idle county",
            format!("{net_ms:.2} ms (idle {:.1} ms/s)", idle_per_s * 1e3),
            "≤ 4 ms",
            Some(net_ms <= 4.0),
        ));
    } else {
        let rtt = delay * 2;
        rows.push(Row::latency(
            &format!("revocation purged at 11 of 11, p99, {label}"),
            p99,
            "link round trip",
            rtt,
            Some(2.5),
        ));
    }
    for m in county {
        m.running.stop().await?;
    }
    Ok(())
}

/// How long to wait before counting again, `elapsed` into a wait: counting reads and decodes
/// every fragment of the plans, so counting every 5 ms through a catch-up of 10 000 changes
/// took a fair share of the CPU it measured. Waiting a fiftieth of the time so far keeps the
/// error under 2 %.
fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 50).max(Duration::from_millis(5))
}

/// How many of the bench's learning assessments in `plan_id` `node` holds.
fn count_received(node: &Node, plan_id: &str) -> usize {
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
pub async fn catch_up(
    home: &Node,
    cfg: &std::path::Path,
    missed: usize,
) -> anyhow::Result<Duration> {
    let actor = fixture::actor("vaxjo-kommun", fixture::UNIT);
    let plan_id = fixture::shared_plan(home, &["region-kronoberg"]).await?;
    for _ in 0..missed {
        home.put_fragment(&actor, fixture::fragment(&plan_id), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let start = Instant::now();
    let running = kronobarn_node::server::start(&Config::load(cfg)?).await?;
    while count_received(&running.node, &plan_id) < missed {
        if start.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("catch-up of {missed} changes stalled");
        }
        tokio::time::sleep(poll_interval(start.elapsed())).await;
    }
    let took = start.elapsed();
    running.stop().await?;
    Ok(took)
}

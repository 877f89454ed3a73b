//! Figures at a nation's size (`kronobarn bench --plans 100000`): catch-up after an outage with
//! that many plans stored at the sending node, then restart to serving and resident memory of a
//! node process holding them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kronobarn_gateway::Backend;

use super::federation::catch_up;
use super::report::Row;
use super::{fixture, rate};

/// Fills a two-node federation's home with `plans` plans and measures.
pub async fn run(plans: usize, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!(
        "\nscale: {plans} plans at one node of a federation of three, data in {}",
        dir.path().display()
    );
    let pair = &crate::county::KRONOBERG[6..9]; // vaxjo, almhult, region
    let mut county = crate::county::start(&dir.path().join("pair"), pair, 300).await?;
    let home = county[0].running.node.clone();
    let home_cfg = county[0].init.config_path.clone();
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let (h, m) = (home.clone(), made.clone());
    let r = rate(plans, 64, move |_| {
        let (h, m) = (h.clone(), m.clone());
        async move {
            let header = fixture::header();
            h.create_plan(&fixture::actor("vaxjo-kommun", fixture::UNIT), header, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let n = m.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n % 20_000 == 0 {
                eprintln!("  {n} plans created...");
            }
            Ok(())
        }
    })
    .await?;
    println!(
        "{:<52} {:>12}",
        format!("{plans} plans created (64 writers)"),
        format!("{:.1} s, {:.0} /s", start.elapsed().as_secs_f64(), r.per_s)
    );

    // The receiver has been away since before the plans were made; its first fetch walks the
    // home's change feed past them (none are for it), then the timed outages begin.
    let region = county.remove(2);
    let region_cfg = region.init.config_path.clone();
    region.running.stop().await?;
    let first = catch_up(&home, &region_cfg, 1).await?;
    println!(
        "{:<52} {:>12}",
        format!("first catch-up past {plans} plans' changes not for it"),
        format!("{} ms", first.as_millis())
    );
    for missed in [100usize, 1000, 10_000] {
        let took = catch_up(&home, &region_cfg, missed).await?;
        println!(
            "{:<52} {:>12}",
            format!("catch-up, {missed} missed changes, {plans} plans stored"),
            format!("{} ms", took.as_millis())
        );
        rows.push(Row::absolute(
            &format!("catch-up, {missed} missed changes, {plans} plans stored"),
            format!("{} ms", took.as_millis()),
            "grows with changes",
            None,
        ));
    }
    drop(home);
    for m in county {
        m.running.stop().await?;
    }

    // Restart to serving: the node binary (this binary) started on the full store, timed until
    // it has written its ready file (both servers listening), then its resident memory.
    let ready = dir.path().join("ready");
    let t = Instant::now();
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["node", "--config"])
        .arg(&home_cfg)
        .arg("--ready-file")
        .arg(&ready)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    while !std::fs::read_to_string(&ready).is_ok_and(|t| t.ends_with('\n')) {
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            anyhow::bail!("the node did not serve within 120 s");
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the node exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let serving = t.elapsed();
    let rss_now = rss_kib(child.id());
    // A client's first reads, then memory again.
    let addr = std::fs::read_to_string(&ready)?
        .lines()
        .find_map(|l| l.strip_prefix("client_api=").map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("no client_api address in the ready file"))?;
    let folder = home_cfg
        .parent()
        .ok_or_else(|| anyhow::anyhow!("node folder"))?;
    let list = list_all(folder, addr.parse()?).await;
    let rss_after = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{:<52} {:>12}",
        format!("restart to serving, {plans} plans"),
        format!("{} ms", serving.as_millis())
    );
    rows.push(Row::absolute(
        &format!("restart to serving, {plans} plans"),
        format!("{} ms", serving.as_millis()),
        "< 2 s",
        Some(serving < Duration::from_secs(2)),
    ));
    let mib = |k: Option<u64>| {
        k.map_or("n/a".to_string(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "{:<52} {:>12}",
        "resident memory after start / after listing plans",
        format!("{} / {}", mib(rss_now), mib(rss_after))
    );
    match list {
        Ok(n) => println!("  (listed {n} plans)"),
        Err(e) => println!("  (listing plans failed: {e})"),
    }
    rows.push(Row::absolute(
        &format!("resident memory of the node, {plans} plans, after start / after listing"),
        format!("{} / {}", mib(rss_now), mib(rss_after)),
        "—",
        None,
    ));
    Ok(())
}

/// VmRSS of process `pid` in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Lists every plan of the bench unit through the client API of the node in `folder`.
async fn list_all(folder: &std::path::Path, addr: std::net::SocketAddr) -> anyhow::Result<usize> {
    let ca = std::fs::read_to_string(folder.join("tls/ca.crt"))?;
    let token = std::fs::read_to_string(folder.join("clients/local-system.token"))?;
    let mut client = kronobarn_node::client::connect(addr, &ca, None).await?;
    let user = fixture::user(token.trim());
    let mut n = 0;
    let mut token = String::new();
    loop {
        let page = client
            .list_plans(user.req(kronobarn_proto::v1::ListPlansRequest {
                page_size: 500,
                page_token: token.clone(),
            }))
            .await?
            .into_inner();
        n += page.plans.len();
        if page.next_page_token.is_empty() {
            return Ok(n);
        }
        token = page.next_page_token;
    }
}

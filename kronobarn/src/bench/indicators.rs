//! The county's indicators at a node's scale (`kronobarn bench --indicator-plans 100000`): a node
//! on sled, on a hand-moved clock, filled with a year of plans each holding what a plan through
//! the practice model holds (header, participant, status with five steps, wheel assessment,
//! meeting record, intervention, follow-up record, consent); then the time to build the facts of
//! every plan and to compute the suppressed set for the year's four quarters. Then the access
//! log is grown by as many read records again, and the same is timed: it must not grow with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kronobarn_gateway::Backend;
use kronobarn_node::clock::Clock;
use kronobarn_node::node::{Counting, Node};
use kronobarn_node::roster::Kind;
use kronobarn_node::store::SledStore;
use kronobarn_proto::v1::{
    AccessRecord, Category, Consent, ConsentForm, CoordinationMeeting, FollowUpRecord, Fragment,
    Grant, GuardianConsent, Intervention, PlanStage, PlanStatus, StageChange, fragment::Body,
};

use super::fixture;
use super::report::Row;

const DAY: i64 = 86_400_000;
const ORG: &str = "vaxjo-kommun";

fn date(ms: i64) -> String {
    let (y, m, d) = kronobarn_proto::date::swedish_date(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Writes one plan noticed at `at` through its steps (seven batches, as its users would).
async fn plan(node: &Node, at: i64) -> anyhow::Result<()> {
    let actor = fixture::actor(ORG, fixture::UNIT);
    let e = |e: kronobarn_gateway::BackendError| anyhow::anyhow!("{e}");
    let plan = node
        .create_plan(&actor, fixture::header(), None)
        .await
        .map_err(e)?
        .plan_id;
    let put = |body: Body, id: &str| Fragment {
        plan_id: plan.clone(),
        fragment_id: id.into(),
        body: Some(body),
        ..Default::default()
    };
    let steps = [
        (3, PlanStage::Talk),
        (12, PlanStage::Consent),
        (15, PlanStage::MeetingCalled),
        (24, PlanStage::Agreed),
        (70, PlanStage::FollowUp),
    ];
    let history = steps
        .iter()
        .map(|(d, s)| StageChange {
            stage: *s as i32,
            at_unix_ms: at + d * DAY,
            changed_by: "bench".into(),
            ..Default::default()
        })
        .collect();
    node.put_fragment(
        &actor,
        put(Body::Status(PlanStatus { history }), "status"),
        None,
    )
    .await
    .map_err(e)?;
    node.put_fragment(&actor, fixture::fragment(&plan), None)
        .await
        .map_err(e)?;
    node.put_fragment(
        &actor,
        put(
            Body::Meeting(CoordinationMeeting {
                held_on: date(at + 24 * DAY),
                attendees: vec!["Rektor Påhittad".into()],
                child_view: "x".repeat(120),
                guardians_present: true,
                ..Default::default()
            }),
            "",
        ),
        None,
    )
    .await
    .map_err(e)?;
    let iv = node
        .put_fragment(
            &actor,
            put(
                Body::Intervention(Intervention {
                    what: "x".repeat(80),
                    who: "Skolans kurator".into(),
                    from_date: date(at + 25 * DAY),
                    follow_up_date: date(at + 68 * DAY),
                    ..Default::default()
                }),
                "",
            ),
            None,
        )
        .await
        .map_err(e)?
        .fragment
        .fragment_id;
    node.put_fragment(
        &actor,
        put(
            Body::FollowUp(FollowUpRecord {
                held_on: date(at + 70 * DAY),
                intervention_fragment_id: iv,
                outcome: "x".repeat(80),
                ..Default::default()
            }),
            "",
        ),
        None,
    )
    .await
    .map_err(e)?;
    node.record_consent(
        &actor,
        Consent {
            plan_id: plan.clone(),
            guardian_consents: vec![GuardianConsent {
                guardian_id: "g1".into(),
                form: ConsentForm::Written as i32,
                given_at_unix_ms: at,
            }],
            valid_until_unix_ms: i64::MAX,
            grants: vec![Grant {
                organization: "region-kronoberg".into(),
                categories: vec![Category::Participants as i32, Category::Meetings as i32],
                ..Default::default()
            }],
            purpose: "bench".into(),
            ..Default::default()
        },
        0,
    )
    .await
    .map_err(e)?;
    Ok(())
}

/// Builds the facts and the set; returns (facts, set) durations.
fn measure(node: &Node, counting: &Counting) -> anyhow::Result<(Duration, Duration, usize)> {
    let t = Instant::now();
    let home = node
        .home_facts(counting)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let facts = t.elapsed();
    let t = Instant::now();
    let q = |s: &str| s.parse().map_err(|_| anyhow::anyhow!("quarter"));
    let params = kronobarn_indicators::Params {
        authorities: home.authorities.clone(),
        first: q("2025-Q1")?,
        last: q("2025-Q4")?,
        today: home.today,
        threshold: kronobarn_indicators::DEFAULT_THRESHOLD,
    };
    kronobarn_indicators::compute(&home.plans, &params)?;
    Ok((facts, t.elapsed(), home.plans.len()))
}

/// Fills a node with `plans` plans over 2025 and times its indicators.
pub async fn run(plans: usize, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!(
        "\nindicators: {plans} plans at one node, data in {}",
        dir.path().display()
    );
    let start = kronobarn_proto::date::days_from_civil(2025, 1, 2) * DAY + 9 * 3_600_000;
    let (clock, hand) = Clock::manual(start);
    let store = Arc::new(SledStore::open(&dir.path().join("data"))?);
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let node = Arc::new(Node::open_with_clock(
        ORG.into(),
        store,
        key,
        clock.clone(),
    )?);
    let entries = crate::county::development_directory(ORG, "Växjö kommun", Kind::Municipality);
    let mut directory = kronobarn_policy::Directory::new();
    kronobarn_node::directory::add(&mut directory, ORG, &entries)?;
    node.set_rules(directory, Default::default());
    let counting = Counting::new(ORG, None, &entries);

    // A year of needs noticed, in eight rounds of written plans, the clock moved between them.
    let t = Instant::now();
    let rounds = 8;
    for r in 0..rounds {
        let n = plans / rounds + usize::from(r < plans % rounds);
        let at = clock.now_ms();
        // 64 writers share the round's plans, as many plans change at once in real use.
        let left = Arc::new(std::sync::atomic::AtomicUsize::new(n));
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (node, left) = (node.clone(), left.clone());
            writers.spawn(async move {
                while left
                    .fetch_update(
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                        |l| l.checked_sub(1),
                    )
                    .is_ok()
                {
                    plan(&node, at).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = writers.join_next().await {
            r??;
        }
        hand.advance(45 * DAY);
        eprintln!("  {} plans written...", (r + 1) * plans / rounds);
    }
    hand.advance(10 * DAY); // into January 2026: 2025 has ended
    let log = node.access_log_handle().size();
    println!(
        "{:<52} {:>12}",
        format!("{plans} plans written (7 batches each)"),
        format!("{:.0} s, log {log} entries", t.elapsed().as_secs_f64())
    );

    // Cold: every plan read and digested (the first computation after an upgrade); then warm,
    // as the metrics task keeps it: only plans changed since are read again.
    let (cold, cold_set, n) = measure(&node, &counting)?;
    println!(
        "{:<52} {:>12}",
        format!("indicator facts of {n} plans, cold / set of 4 quarters"),
        format!("{} / {} ms", cold.as_millis(), cold_set.as_millis())
    );
    let mut warm = Vec::new();
    for _ in 0..3 {
        warm.push(measure(&node, &counting)?);
    }
    warm.sort_by_key(|(f, s, _)| *f + *s);
    let (facts, set, _) = warm[1];
    println!(
        "{:<52} {:>12}",
        "the same, warm (median of 3)",
        format!("{} / {} ms", facts.as_millis(), set.as_millis())
    );
    let total = facts + set;
    rows.push(Row::absolute(
        &format!("county indicators of one node, {n} plans, cold: every plan read (facts + set, 4 quarters)"),
        format!("{} ms", (cold + cold_set).as_millis()),
        "—",
        None,
    ));
    rows.push(Row::absolute(
        "the same, warm: digests current (facts + set)",
        format!(
            "{} ms ({} + {})",
            total.as_millis(),
            facts.as_millis(),
            set.as_millis()
        ),
        "< 2 s",
        Some(total < Duration::from_secs(2)),
    ));

    // The log grows by as many read records again, about 1000 of the plans; the facts read no
    // log, and only those 1000 plans are read again.
    let t = Instant::now();
    let ids: Vec<String> = node
        .list_plans(ORG, fixture::UNIT, "", plans.min(1000))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|p| p.plan_id)
        .collect();
    let batch = 500;
    let mut added = 0;
    while added < log {
        let records: Vec<AccessRecord> = (0..batch)
            .map(|i| AccessRecord {
                plan_id: ids[(added as usize + i) % ids.len().max(1)].clone(),
                user_id: "bench".into(),
                reason: "bench".into(),
                ..Default::default()
            })
            .collect();
        node.log_access(records)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        added += batch as u64;
    }
    let (facts2, set2, _) = measure(&node, &counting)?;
    println!(
        "{:<52} {:>12}",
        format!(
            "warm after the log grew to {} entries ({:.0} s)",
            node.access_log_handle().size(),
            t.elapsed().as_secs_f64()
        ),
        format!("{} / {} ms", facts2.as_millis(), set2.as_millis())
    );
    rows.push(Row::absolute(
        &format!(
            "the same with the log twice as long ({} entries), 1000 plans read since",
            node.access_log_handle().size()
        ),
        format!("{} ms", (facts2 + set2).as_millis()),
        "grows with plans changed, not log",
        Some((facts2 + set2).as_secs_f64() < 1.5 * total.as_secs_f64() + 0.1),
    ));
    Ok(())
}

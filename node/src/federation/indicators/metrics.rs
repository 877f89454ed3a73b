//! The node's own aggregate indicators as Prometheus metrics: today's counts and the last 365
//! days' figures of the plans it is responsible for, unsuppressed (they stay in the
//! organisation). Each round also keeps the plans' digests current for the readers' requests.

use std::time::Duration;

use crate::node::{Counting, Node};

/// Publishes the node's own aggregate indicators as metrics every `period` until stopped: plans
/// open now by stage, plans closed by reason, follow-ups overdue now, and how long building the
/// facts took. Labels are stage and reason slugs only. The figures stay inside the organisation
/// (they are its own plans), so small counts are not withheld here. Each round also brings the
/// plans' digests up to date, so a reader's request reads only what changed since.
pub async fn publish_metrics(
    node: std::sync::Arc<Node>,
    counting: Counting,
    period: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (n, c) = (node.clone(), counting.clone());
        let started = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || n.home_facts(&c)).await {
            Ok(Ok(home)) => publish(&home, started.elapsed()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the plans for the indicator metrics")
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The figures [`publish_metrics`] sets, from the facts of the plans at home.
pub fn home_figures(home: &crate::node::HomeFacts) -> HomeFigures {
    use kronobarn_indicators::{CloseReason, Stage};
    let mut f = HomeFigures {
        open: Stage::ALL
            .iter()
            .filter(|s| **s != Stage::Closed)
            .map(|s| (*s, 0))
            .collect(),
        closed: CloseReason::ALL.iter().map(|r| (*r, 0)).collect(),
        overdue: 0,
        last_year: YearFigures::default(),
    };
    let since = home.today - 365;
    let y = &mut f.last_year;
    let mut days_to_agreed = Vec::new();
    for p in &home.plans {
        if let Some(agreed) = p.agreed.filter(|d| *d > since && *d <= home.today) {
            days_to_agreed.push((agreed - p.need_noticed).max(0) as u32);
            y.agreed += 1;
            y.given += u64::from(p.plan_given.is_some_and(|g| g <= home.today));
        }
        for m in p
            .meetings
            .iter()
            .filter(|m| m.day > since && m.day <= home.today)
        {
            y.meetings += 1;
            y.child_view += u64::from(m.child_view_recorded);
            y.guardians_present += u64::from(m.guardians_present);
        }
        y.handovers += p.handovers.iter().filter(|h| h.day > since).count() as u64;
        y.revocations += p.revocations.iter().filter(|d| **d > since).count() as u64;
    }
    days_to_agreed.sort_unstable();
    // Nearest rank, as the indicator sets count it.
    let rank = |q: usize| {
        (!days_to_agreed.is_empty())
            .then(|| days_to_agreed[(days_to_agreed.len() * q).div_ceil(100).max(1) - 1])
    };
    f.last_year.days_to_agreed_median = rank(50);
    f.last_year.days_to_agreed_p90 = rank(90);
    for p in &home.plans {
        match p.closed {
            Some(c) => *f.closed.entry(c.reason).or_default() += 1,
            None => {
                *f.open.entry(p.stage_on(home.today)).or_default() += 1;
                f.overdue += p
                    .follow_ups
                    .iter()
                    .filter(|u| u.done.is_none() && u.due < home.today)
                    .count() as u64;
            }
        }
    }
    f
}

/// The node's own aggregate figures, as metrics publish them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeFigures {
    /// Plans open now, by stage.
    pub open: std::collections::BTreeMap<kronobarn_indicators::Stage, u64>,
    /// Plans closed, by reason (all time).
    pub closed: std::collections::BTreeMap<kronobarn_indicators::CloseReason, u64>,
    /// Follow-ups of open plans whose day has passed without a follow-up record.
    pub overdue: u64,
    /// The last 365 days.
    pub last_year: YearFigures,
}

/// The node's own figures of the last 365 days (up to the facts' today), unsuppressed: they stay
/// in the organisation, like the rest of its metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearFigures {
    /// Plans agreed.
    pub agreed: u64,
    /// Of those, plans whose family was given the plan document.
    pub given: u64,
    /// Days from the need noticed to the agreed plan, median and 90th percentile (nearest rank).
    pub days_to_agreed_median: Option<u32>,
    /// See `days_to_agreed_median`.
    pub days_to_agreed_p90: Option<u32>,
    /// Coordination meetings held.
    pub meetings: u64,
    /// Of those, with the child's own view recorded.
    pub child_view: u64,
    /// Of those, with a guardian present.
    pub guardians_present: u64,
    /// Handovers of responsibility to this node's plans' new homes (counted at the new home).
    pub handovers: u64,
    /// Revocations recorded.
    pub revocations: u64,
}

fn publish(home: &crate::node::HomeFacts, took: Duration) {
    let f = home_figures(home);
    for (stage, n) in &f.open {
        metrics::gauge!("kronobarn_plans_open", "stage" => stage.slug()).set(*n as f64);
    }
    for (reason, n) in &f.closed {
        metrics::gauge!("kronobarn_plans_closed", "reason" => reason.slug()).set(*n as f64);
    }
    metrics::gauge!("kronobarn_follow_ups_overdue").set(f.overdue as f64);
    let y = &f.last_year;
    metrics::gauge!("kronobarn_plans_agreed_last_year").set(y.agreed as f64);
    metrics::gauge!("kronobarn_plans_given_last_year").set(y.given as f64);
    for (q, v) in [
        ("0.5", y.days_to_agreed_median),
        ("0.9", y.days_to_agreed_p90),
    ] {
        // No plan agreed: no figure (NaN, which Prometheus shows as missing), never a made-up 0.
        metrics::gauge!("kronobarn_days_to_agreed_plan_last_year", "quantile" => q)
            .set(v.map_or(f64::NAN, f64::from));
    }
    metrics::gauge!("kronobarn_meetings_last_year").set(y.meetings as f64);
    metrics::gauge!("kronobarn_meetings_child_view_last_year").set(y.child_view as f64);
    metrics::gauge!("kronobarn_meetings_guardians_present_last_year")
        .set(y.guardians_present as f64);
    metrics::gauge!("kronobarn_handovers_last_year").set(y.handovers as f64);
    metrics::gauge!("kronobarn_revocations_last_year").set(y.revocations as f64);
    metrics::gauge!("kronobarn_indicator_facts_seconds").set(took.as_secs_f64());
}

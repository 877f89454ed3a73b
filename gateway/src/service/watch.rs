//! Streams: a plan's changes as they happen, and follow-ups as they fall due. A client system
//! holds a bounded number of them; each one's task ends when its client goes away, and whatever
//! it shows is decided for its reader at that moment and logged, like any other read.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use kronobarn_proto::date::{civil_date, days_from_civil};
use kronobarn_proto::v1::FollowUpDue;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{broadcast, mpsc};

use super::practice::{DUE_PAGE, ReaderPlan, Seen};
use super::*;
use crate::{DueEntry, PlanEvent};

/// Open watch streams per client system, with a cap.
pub(super) struct Watchers {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream's place, given back when its task ends.
pub(super) struct Slot {
    watchers: Arc<Watchers>,
    system: String,
}

impl Watchers {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more stream of `system`, or RESOURCE_EXHAUSTED naming the cap.
    fn take(self: &Arc<Self>, system: &str) -> Result<Slot, Status> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(system.to_string()).or_default();
        if *n >= self.max {
            return Err(Status::resource_exhausted(format!(
                "watchers: client system '{system}' has {n} watch streams open, the most this node allows per system (client_api.max_watchers_per_client = {}); close one first",
                self.max
            )));
        }
        *n += 1;
        Ok(Slot {
            watchers: self.clone(),
            system: system.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.watchers.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.system) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.system);
            }
        }
    }
}

/// Why a follow-up stream stops.
enum Stop {
    /// The client went away.
    Gone,
    /// Something failed; the client is told.
    Failed(Status),
}

impl From<Status> for Stop {
    fn from(s: Status) -> Self {
        Stop::Failed(s)
    }
}

impl From<BackendError> for Stop {
    fn from(e: BackendError) -> Self {
        Stop::Failed(e.into())
    }
}

type FollowUpTx = mpsc::Sender<Result<WatchFollowUpsResponse, Status>>;

/// Where one follow-up watcher stands.
struct FollowUpWatch {
    who: Actor,
    /// Every index entry dated up to this day has been looked at (empty: none yet). Later
    /// entries dated up to it come from plan changes.
    through: String,
    /// What was sent, by plan: `(date, fragment_id)`.
    sent: HashMap<String, HashSet<(String, String)>>,
    /// Plans with a follow-up the policy withheld when last looked at; looked at again every
    /// minute, since a lease can arrive without the plan changing.
    withheld: BTreeSet<String>,
}

impl FollowUpWatch {
    fn was_sent(&self, plan_id: &str, date: &str, fragment_id: &str) -> bool {
        self.sent
            .get(plan_id)
            .is_some_and(|s| s.contains(&(date.to_string(), fragment_id.to_string())))
    }
}

/// The day after `date` (YYYY-MM-DD).
fn next_day(date: &str) -> String {
    let Some((y, m, d)) = validate::parse_date(date) else {
        return String::new();
    };
    let (y, m, d) = civil_date((days_from_civil(y, m, d) + 1) * 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

impl<B: Backend> PlanApi<B> {
    pub(super) async fn serve_watch_plan(
        &self,
        req: Request<WatchPlanRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let _timer = timer("WatchPlan");
        let who = self
            .caller(&req, &req.get_ref().plan_id, AccessAction::Read)
            .await?;
        let view = self.facts(&req.get_ref().plan_id)?;
        self.need_to_know(&who, &view, "plan").await?;
        let slot = self.watchers.take(&who.system)?;
        let mut events = self.backend.subscribe(&view.plan_id);
        let (tx, rx) = mpsc::channel(16);
        let api = self.clone();
        let plan_id = view.plan_id.clone();
        tokio::spawn(async move {
            let _slot = slot;
            loop {
                let event = tokio::select! {
                    e = events.recv() => e,
                    () = tx.closed() => return, // the client went away
                };
                let event = match event {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        let _ = tx
                            .send(Err(Status::data_loss(format!(
                                "watcher fell {n} events behind; call GetPlan and watch again"
                            ))))
                            .await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                let out = match api.plan_event(&who, &plan_id, event).await {
                    Ok(Some(out)) => out,
                    Ok(None) => continue,
                    Err(e) => {
                        // The plan is gone here, or the reader no longer takes part: the end.
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if tx
                    .send(Ok(WatchPlanResponse { event: Some(out) }))
                    .await
                    .is_err()
                {
                    return; // the watcher went away
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    /// What one change shows a plan's watcher, decided for that reader now and logged before it
    /// is sent. An error ends the stream: the plan is gone, or the reader's unit no longer takes
    /// part in it (that refusal is logged too).
    async fn plan_event(
        &self,
        who: &Actor,
        plan_id: &str,
        event: PlanEvent,
    ) -> Result<Option<Event>, Status> {
        let view = match event {
            PlanEvent::Fragment { .. } => self.plan(plan_id)?,
            _ => self.facts(plan_id)?,
        };
        self.need_to_know(who, &view, "plan").await?;
        let (event, consent_version) = match event {
            PlanEvent::Fragment { fragment_id } => {
                let (mut shown, mut withheld) =
                    self.visible(who, &view, Some(&fragment_id)).await?;
                return Ok(match (shown.pop(), withheld.pop()) {
                    (Some(f), _) => Some(Event::Fragment(f.fragment)),
                    (None, Some(w)) => Some(Event::Withheld(w)),
                    (None, None) => None,
                });
            }
            PlanEvent::Consent(c) => {
                let v = c.consent_version;
                (Event::Consent(c), v)
            }
            PlanEvent::Revocation(r) => (
                Event::Revocation(r),
                view.consent.as_ref().map_or(0, |c| c.consent_version),
            ),
        };
        // Shown like GetConsentStatus shows it, and recorded the same way.
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let mut rec = self.record(who, plan_id, AccessAction::Read, &permit, None, "consent");
        rec.reason = "participant".into();
        rec.consent_version = consent_version;
        self.log(vec![rec]).await?;
        Ok(Some(event))
    }

    pub(super) async fn serve_watch_follow_ups(
        &self,
        req: Request<WatchFollowUpsRequest>,
    ) -> Result<Response<FollowUpStream>, Status> {
        let _timer = timer("WatchFollowUps");
        let who = self.caller(&req, "", AccessAction::Read).await?;
        let slot = self.watchers.take(&who.system)?;
        // Subscribed before the first look, so no change falls between the two.
        let changes = self.backend.plan_changes();
        let (tx, rx) = mpsc::channel(64);
        let api = self.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut w = FollowUpWatch {
                who,
                through: String::new(),
                sent: HashMap::new(),
                withheld: BTreeSet::new(),
            };
            if let Err(Stop::Failed(e)) = api.follow_up_stream(&mut w, changes, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    /// First every follow-up due or overdue now, to the end of the index; then, on the day each
    /// falls due, the index's next days, and whenever a plan changes, that plan alone.
    async fn follow_up_stream(
        &self,
        w: &mut FollowUpWatch,
        mut changes: broadcast::Receiver<String>,
        tx: &FollowUpTx,
    ) -> Result<(), Stop> {
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut from_start = true;
        let mut minute = false;
        loop {
            let today = self.today_iso();
            if from_start {
                self.scan_due(w, "", &today, tx).await?;
                w.through = today.clone();
                from_start = false;
            } else if today > w.through {
                self.scan_due(w, &next_day(&w.through), &today, tx).await?;
                w.through = today.clone();
            }
            for plan_id in std::mem::take(&mut changed) {
                self.recheck(w, &plan_id, &today, tx).await?;
            }
            if std::mem::take(&mut minute) {
                for plan_id in w.withheld.clone() {
                    self.recheck(w, &plan_id, &today, tx).await?;
                }
            }
            // Look again when a plan changes, when the day turns, and at least every minute.
            let now = self.backend.now_ms();
            let to_midnight =
                86_400_000 - (now + validate::swedish_offset_ms(now)).rem_euclid(86_400_000);
            let wait = Duration::from_millis(to_midnight.clamp(1, 60_000) as u64);
            tokio::select! {
                r = changes.recv() => match r {
                    Ok(plan_id) => {
                        changed.insert(plan_id);
                        // Let a burst of writes settle, then look once at each plan it touched.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        loop {
                            match changes.try_recv() {
                                Ok(plan_id) => {
                                    changed.insert(plan_id);
                                }
                                Err(TryRecvError::Lagged(_)) => from_start = true,
                                Err(TryRecvError::Empty) => break,
                                Err(TryRecvError::Closed) => return Ok(()),
                            }
                        }
                    }
                    // Fell behind: which plans changed is unknown, so look at everything.
                    Err(RecvError::Lagged(_)) => from_start = true,
                    Err(RecvError::Closed) => return Ok(()),
                },
                () = tokio::time::sleep(wait) => minute = true,
                () = tx.closed() => return Err(Stop::Gone),
            }
        }
    }

    /// Looks at the index entries dated `from..=today` (`from` empty: the earliest), a page at
    /// a time to the end, and sends what is due and not yet sent.
    async fn scan_due(
        &self,
        w: &mut FollowUpWatch,
        from: &str,
        today: &str,
        tx: &FollowUpTx,
    ) -> Result<(), Stop> {
        let now = self.backend.now_ms();
        let mut after: Option<DueEntry> = None;
        loop {
            let page = self
                .backend
                .follow_ups_due(from, after.as_ref(), today, DUE_PAGE)?;
            let mut plans: BTreeMap<&str, Option<ReaderPlan>> = BTreeMap::new();
            let mut shown = Vec::new();
            for (date, plan_id, fragment_id) in &page {
                if w.was_sent(plan_id, date, fragment_id) {
                    continue;
                }
                if !plans.contains_key(plan_id.as_str()) {
                    plans.insert(plan_id, self.reader_plan(&w.who, plan_id)?);
                }
                let Some(plan) = plans.get(plan_id.as_str()).and_then(Option::as_ref) else {
                    continue;
                };
                match self.seen(&w.who, plan, date, fragment_id, today, now) {
                    Seen::Due(item, record) => shown.push((item, record)),
                    Seen::Withheld => {
                        w.withheld.insert(plan_id.clone());
                    }
                    Seen::Held(..) | Seen::Nothing => {}
                }
            }
            self.show(w, shown, tx).await?;
            if page.len() < DUE_PAGE {
                return Ok(());
            }
            after = page.last().cloned();
        }
    }

    /// Looks at one plan's follow-ups due by `today` again, after it changed (or while the
    /// policy withholds one), and sends what is due and not yet sent.
    async fn recheck(
        &self,
        w: &mut FollowUpWatch,
        plan_id: &str,
        today: &str,
        tx: &FollowUpTx,
    ) -> Result<(), Stop> {
        let Some(plan) = self.reader_plan(&w.who, plan_id)? else {
            w.withheld.remove(plan_id);
            return Ok(());
        };
        let mut due: Vec<(String, String)> = plan
            .view
            .fragments
            .iter()
            .flat_map(|f| {
                kronobarn_proto::follow_up_dates(f.fragment.body.as_ref())
                    .into_iter()
                    .filter(|d| *d <= today)
                    .map(|d| (d.to_string(), f.fragment.fragment_id.clone()))
            })
            .collect();
        if let Some((_, h)) = self.handover(&plan.view)
            && h.index_date.as_str() <= today
        {
            due.push((h.index_date, kronobarn_proto::ids::HANDOVER_DUE_ID.into()));
        }
        due.sort();
        // What moved or went is forgotten, so the sent set holds only follow-ups that exist.
        if let Some(sent) = w.sent.get_mut(plan_id) {
            sent.retain(|e| due.contains(e));
        }
        let now = self.backend.now_ms();
        let mut shown = Vec::new();
        let mut withheld = false;
        for (date, fragment_id) in &due {
            if w.was_sent(plan_id, date, fragment_id) {
                continue;
            }
            match self.seen(&w.who, &plan, date, fragment_id, today, now) {
                Seen::Due(item, record) => shown.push((item, record)),
                Seen::Withheld => withheld = true,
                Seen::Held(..) | Seen::Nothing => {}
            }
        }
        if withheld {
            w.withheld.insert(plan_id.to_string());
        } else {
            w.withheld.remove(plan_id);
        }
        self.show(w, shown, tx).await
    }

    /// Logs that `shown` is shown (durably, first), then sends it.
    async fn show(
        &self,
        w: &mut FollowUpWatch,
        shown: Vec<(FollowUpDue, AccessRecord)>,
        tx: &FollowUpTx,
    ) -> Result<(), Stop> {
        if shown.is_empty() {
            return Ok(());
        }
        let (items, records): (Vec<_>, Vec<_>) = shown.into_iter().unzip();
        self.log(records).await?;
        for f in items {
            w.sent
                .entry(f.plan_id.clone())
                .or_default()
                .insert((f.due_on.clone(), f.fragment_id.clone()));
            if tx
                .send(Ok(WatchFollowUpsResponse { follow_up: Some(f) }))
                .await
                .is_err()
            {
                return Err(Stop::Gone);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::next_day;

    #[test]
    fn the_next_day_crosses_months_years_and_leap_days() {
        assert_eq!(next_day("2026-11-26"), "2026-11-27");
        assert_eq!(next_day("2026-11-30"), "2026-12-01");
        assert_eq!(next_day("2026-12-31"), "2027-01-01");
        assert_eq!(next_day("2028-02-28"), "2028-02-29");
        assert_eq!(next_day("2027-02-28"), "2027-03-01");
    }
}

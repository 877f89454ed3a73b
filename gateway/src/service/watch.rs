//! Streams: a plan's changes as they happen, and follow-ups as they fall due.

use super::*;

impl<B: Backend> PlanApi<B> {
    pub(super) async fn serve_watch_plan(
        &self,
        req: Request<WatchPlanRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let _timer = timer("WatchPlan");
        let who = self.caller(&req)?;
        let view = self.facts(&req.get_ref().plan_id)?;
        self.need_to_know(&who, &view, "plan").await?;
        let mut events = self.backend.subscribe(&view.plan_id);
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let api = self.clone();
        let plan_id = view.plan_id.clone();
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
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
                let out = match event {
                    crate::PlanEvent::Fragment { fragment_id } => {
                        let view = match api.plan(&plan_id) {
                            Ok(v) => v,
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        };
                        match api.visible(&who, &view, Some(&fragment_id)).await {
                            Ok((mut shown, mut withheld)) => match (shown.pop(), withheld.pop()) {
                                (Some(f), _) => Event::Fragment(f.fragment),
                                (None, Some(w)) => Event::Withheld(w),
                                (None, None) => continue,
                            },
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        }
                    }
                    crate::PlanEvent::Consent(c) => Event::Consent(c),
                    crate::PlanEvent::Revocation(r) => Event::Revocation(r),
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

    pub(super) async fn serve_watch_follow_ups(
        &self,
        req: Request<WatchFollowUpsRequest>,
    ) -> Result<Response<FollowUpStream>, Status> {
        let _timer = timer("WatchFollowUps");
        let who = self.caller(&req)?;
        let mut changes = self.backend.changes();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let api = self.clone();
        tokio::spawn(async move {
            let mut sent = std::collections::HashSet::new();
            loop {
                let today = api.today_iso();
                match api.follow_ups(&who, "", &today, 500, false, &sent).await {
                    Ok((due, _)) => {
                        for f in due {
                            sent.insert((
                                f.due_on.clone(),
                                f.plan_id.clone(),
                                f.fragment_id.clone(),
                            ));
                            if tx
                                .send(Ok(WatchFollowUpsResponse { follow_up: Some(f) }))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
                // Look again when a plan changes, when the day turns, and at least every minute.
                let now = api.backend.now_ms();
                let to_midnight =
                    86_400_000 - (now + validate::swedish_offset_ms(now)).rem_euclid(86_400_000);
                let wait = std::time::Duration::from_millis(to_midnight.clamp(1, 60_000) as u64);
                tokio::select! {
                    r = changes.changed() => {
                        if r.is_err() {
                            return;
                        }
                        // Let a burst of writes settle, then look once for all of them.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        changes.borrow_and_update();
                    }
                    _ = tokio::time::sleep(wait) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

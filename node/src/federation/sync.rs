//! Anti-entropy: on start and then periodically, each node asks every peer for the changes the
//! peer made since the last one it has, and admits them through the same checks as a push. The
//! peer answers from its change feed (`feed/` keys in clock order), so the cost grows with the
//! number of changes missed, not with the number of plans.

use std::sync::Arc;
use std::time::Duration;

use kronobarn_gateway::Backend;
use kronobarn_policy::decide_share;
use kronobarn_proto::federation::{FetchChangesRequest, FetchChangesResponse};
use kronobarn_proto::v1::{Consent, Fragment, PayloadKind, Revocation, SignedEnvelope, Version};
use prost::Message;
use tokio::sync::watch;

use super::admission::Admission;
use super::connect::{PeerTls, connect};
use crate::keys;
use crate::node::Node;
use crate::outbox::known_organizations;
use crate::roster::Member;
use crate::store::Op;

/// Default and largest number of changes per answer.
const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 1000;

/// Answers FetchChanges for `peer`: this node's changes after `after` that `peer` may hold.
pub fn changes_for(
    node: &Node,
    peer: &str,
    after: Option<Version>,
    limit: u32,
) -> Result<FetchChangesResponse, String> {
    let limit = match limit as usize {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    let after_key = after.map(|v| keys::feed(v.key()));
    let feed = node
        .scan(keys::FEED, after_key.as_deref(), limit)
        .map_err(|e| e.to_string())?;
    let more = feed.len() == limit;
    let mut next = after.unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut envelopes = Vec::new();
    for (k, target) in feed {
        if let Some((p, l)) = keys::feed_version(&k) {
            next = Version {
                physical_ms: p,
                logical: l,
            };
        }
        // Several versions of one item point at the same key: send its current state once.
        if !seen.insert(target.clone()) {
            continue;
        }
        let Some(bytes) = node.get(&target).map_err(|e| e.to_string())? else {
            continue;
        };
        let env = SignedEnvelope::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
        if !may_receive(node, peer, &env)? {
            continue;
        }
        // A new consent may permit fragments written before it: send the plan's own
        // fragments the peer may now hold along with it, as the push path does.
        let consent_plan = (env.kind == PayloadKind::Consent as i32)
            .then(|| {
                Consent::decode(env.payload.as_slice())
                    .ok()
                    .map(|c| c.plan_id)
            })
            .flatten();
        // Who the plan's home is travels ahead of its consent, as with a push.
        if let Some(plan_id) = &consent_plan
            && seen.insert(keys::creation(plan_id))
        {
            envelopes.extend(node.provenance(plan_id).map_err(|e| e.to_string())?);
        }
        envelopes.push(env);
        if let Some(plan_id) = consent_plan {
            for (k, v) in node
                .scan_all(&keys::fragments(&plan_id))
                .map_err(|e| e.to_string())?
            {
                let fenv = SignedEnvelope::decode(v.as_slice()).map_err(|e| e.to_string())?;
                let own = Fragment::decode(fenv.payload.as_slice())
                    .is_ok_and(|f| f.home_organization == node.organization_id());
                if own && seen.insert(k) && may_receive(node, peer, &fenv)? {
                    envelopes.push(fenv);
                }
            }
        }
    }
    Ok(FetchChangesResponse {
        envelopes,
        next: Some(next),
        more,
    })
}

/// The same rule as pushing: fragments by consent, consents and revocations to everyone the
/// plan names.
fn may_receive(node: &Node, peer: &str, env: &SignedEnvelope) -> Result<bool, String> {
    let plan_id = match PayloadKind::try_from(env.kind) {
        Ok(PayloadKind::Fragment) => Fragment::decode(env.payload.as_slice()).map(|f| f.plan_id),
        Ok(PayloadKind::Consent) => Consent::decode(env.payload.as_slice()).map(|c| c.plan_id),
        Ok(PayloadKind::Revocation) => {
            Revocation::decode(env.payload.as_slice()).map(|r| r.plan_id)
        }
        Ok(PayloadKind::HandoverAcceptance | PayloadKind::HandoverConfirmation) => {
            Ok(crate::node::handover_plan(env).unwrap_or_default())
        }
        _ => return Ok(false),
    }
    .map_err(|e| e.to_string())?;
    let Some(view) = node.load_plan_facts(&plan_id).map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let state = view.policy_state();
    if env.kind == PayloadKind::Fragment as i32 {
        let f = Fragment::decode(env.payload.as_slice()).map_err(|e| e.to_string())?;
        let facts = crate::outbox::fragment_facts(&f);
        return Ok(decide_share(&state, peer, facts, node.now_ms()).is_permit());
    }
    Ok(known_organizations(&view).contains(peer))
}

/// Fetches missed changes from every peer on start and every `period`, until `stop`.
pub async fn run(node: Arc<Node>, tls: PeerTls, period: Duration, mut stop: watch::Receiver<bool>) {
    let Some(roster) = node.roster().cloned() else {
        return;
    };
    loop {
        for peer in roster
            .members()
            .filter(|m| m.entry.organization != node.organization_id())
        {
            if let Err(e) = catch_up(&node, peer, &tls).await {
                tracing::debug!(peer = %peer.entry.organization, error = %e, "anti-entropy round failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Fetches and admits everything `peer` changed since the stored cursor. Returns how many
/// envelopes were admitted.
pub async fn catch_up(node: &Node, peer: &Member, tls: &PeerTls) -> Result<usize, String> {
    let name = &peer.entry.organization;
    let mut client = connect(peer, tls).await?;
    let roster = node.roster().cloned().ok_or("federation is off")?;
    let mut admitted = 0;
    let mut pages = 0u64;
    loop {
        let after = node
            .get(&keys::cursor(name))
            .map_err(|e| e.to_string())?
            .and_then(|b| Version::decode(b.as_slice()).ok());
        let resp = client
            .fetch_changes(FetchChangesRequest { after, limit: 0 })
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
            .into_inner();
        // Consents and revocations first, as with a push.
        let mut envs = resp.envelopes;
        envs.sort_by_key(|e| {
            if e.kind == PayloadKind::Fragment as i32 {
                1
            } else {
                0
            }
        });
        let admission = Admission::new(node, &roster);
        for env in &envs {
            match admission.admit(name, env) {
                Ok(a) => {
                    admitted += 1;
                    node.publish(&a.plan_id, a.event);
                }
                Err(r) => {
                    tracing::debug!(peer = %name, reason = r.slug(), "fetched change not admitted")
                }
            }
        }
        if let Some(next) = resp.next {
            node.apply(vec![Op::Put(keys::cursor(name), next.encode_to_vec())])
                .map_err(|e| e.to_string())?;
        }
        node.durable().await.map_err(|e| e.to_string())?;
        if !resp.more {
            break;
        }
        // A long catch-up (after an outage) shows its progress in the node's log, page by page.
        pages += 1;
        tracing::info!(peer = %name, admitted, pages, "catching up: more changes to fetch");
    }
    if admitted > 0 {
        metrics::counter!("kronobarn_catch_up_changes_total", "peer" => name.clone())
            .increment(admitted as u64);
        tracing::info!(peer = %name, admitted, "caught up");
        node.outbox_notify().notify_waiters();
        node.lease_notify().notify_waiters();
    }
    Ok(admitted)
}

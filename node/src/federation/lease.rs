//! Consent leases: a node shows the copies it received only while it holds an unexpired lease
//! from the plan's consent home for the current consent version. The holder's task renews every
//! lease a third of the way through its lifetime, and fetches a new one as soon as a consent
//! arrives; the consent home grants them ([`grant`]).

use std::sync::Arc;
use std::time::Duration;

use kronobarn_proto::envelope;
use kronobarn_proto::federation::RenewLeaseRequest;
use kronobarn_proto::v1::{Lease, PayloadKind, SignedEnvelope};
use prost::Message;
use tokio::sync::watch;

use super::connect::{PeerTls, connect};
use crate::keys;
use crate::node::Node;

/// Why the consent home grants no lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseRefusal {
    /// This node holds nothing of the plan.
    #[error("plan {0} not found")]
    UnknownPlan(String),
    /// This node is not the plan's consent home, or it has no consent, or another version.
    #[error("{0}")]
    NotCurrent(String),
    /// The current consent grants the asker nothing.
    #[error("the current consent grants {0} nothing")]
    NotGranted(String),
    /// A revocation recorded here is in force and the asker has not confirmed it.
    #[error(
        "revocation {revocation} is in force and {organization} has not confirmed it; it is being pushed to you"
    )]
    Unconfirmed {
        /// The revocation.
        revocation: String,
        /// The asker.
        organization: String,
    },
    /// Storage failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// The consent home's side: a signed lease for `peer` on `plan_id` under `consent_version`,
/// if the current consent grants it something and it has confirmed every revocation in force
/// recorded here.
pub fn grant(
    node: &Node,
    peer: &str,
    plan_id: &str,
    consent_version: u64,
) -> Result<SignedEnvelope, LeaseRefusal> {
    let internal = |e: kronobarn_gateway::BackendError| LeaseRefusal::Internal(e.to_string());
    let view = kronobarn_gateway::Backend::load_plan_facts(node, plan_id)
        .map_err(internal)?
        .ok_or_else(|| LeaseRefusal::UnknownPlan(plan_id.to_string()))?;
    if view.home_organization != node.organization_id() {
        return Err(LeaseRefusal::NotCurrent(
            "this node is not the plan's consent home".into(),
        ));
    }
    let consent = view
        .consent
        .clone()
        .ok_or_else(|| LeaseRefusal::NotCurrent("the plan has no consent".into()))?;
    if consent.consent_version != consent_version {
        return Err(LeaseRefusal::NotCurrent(format!(
            "consent_version: version {} is current; it is being pushed to you",
            consent.consent_version
        )));
    }
    if !consent.grants.iter().any(|g| g.organization == peer) {
        return Err(LeaseRefusal::NotGranted(peer.to_string()));
    }
    let state = view.policy_state();
    let in_force: std::collections::HashSet<&str> = state
        .revocations_in_force()
        .filter(|r| r.organizations.is_empty() || r.organizations.contains(peer))
        .map(|r| r.id.as_str())
        .collect();
    if let Some(revocation) = node
        .unconfirmed_revocation(plan_id, peer, &in_force)
        .map_err(internal)?
    {
        return Err(LeaseRefusal::Unconfirmed {
            revocation,
            organization: peer.to_string(),
        });
    }
    let lease = Lease {
        plan_id: plan_id.to_string(),
        organization: peer.to_string(),
        consent_version: consent.consent_version,
        expires_at_unix_ms: node.now_ms().saturating_add(node.lease_ttl_ms()),
        ttl_ms: node.lease_ttl_ms(),
        revocations_in_force: state.revocations_in_force().map(|r| r.id.clone()).collect(),
    };
    Ok(node.sign(PayloadKind::Lease, lease.encode_to_vec()))
}

/// Renews this node's leases until `stop` turns true.
pub async fn renew(node: Arc<Node>, tls: PeerTls, mut stop: watch::Receiver<bool>) {
    let period = Duration::from_millis((node.lease_ttl_ms() / 3).max(100) as u64);
    // Connections to consent homes are kept between rounds: a TLS handshake per consent that
    // arrived was most of what a lease cost.
    let mut clients = Clients::new();
    loop {
        let notified = node.lease_notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        renew_all(&node, &tls, &mut clients).await;
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
    }
}

type Clients = std::collections::HashMap<
    String,
    kronobarn_proto::federation::federation_service_client::FederationServiceClient<
        tonic::transport::Channel,
    >,
>;

async fn renew_all(node: &Node, tls: &PeerTls, clients: &mut Clients) {
    let Some(roster) = node.roster().cloned() else {
        return;
    };
    let wanted = match node.scan_all(keys::WANTED_LEASES) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "cannot read wanted leases");
            return;
        }
    };
    let now = node.now_ms();
    let mut valid = 0;
    let mut due = Vec::new();
    for (k, home) in wanted.iter() {
        let Some(plan_id) = keys::wanted_lease_plan(k) else {
            continue;
        };
        let (lease, consent) = node.lease_and_consent(plan_id).unwrap_or((None, None));
        let lease = lease.as_ref();
        if lease.is_some_and(|l| l.expires_at_unix_ms > now) {
            valid += 1;
        }
        if lease_due(lease, consent, now) {
            due.push((plan_id.to_string(), home.clone()));
        }
    }
    metrics::gauge!("kronobarn_leases", "state" => "valid").set(valid as f64);
    metrics::gauge!("kronobarn_leases", "state" => "expired-or-missing")
        .set((wanted.len() - valid) as f64);
    // One connection per consent home, however many plans it leases.
    for (plan_id, home) in due {
        let home = String::from_utf8_lossy(&home).into_owned();
        let Some(member) = roster.member(&home) else {
            continue;
        };
        if !clients.contains_key(&home) {
            match connect(member, tls).await {
                Ok(c) => {
                    clients.insert(home.clone(), c);
                }
                Err(e) => {
                    tracing::debug!(home = %home, error = %e, "consent home unreachable");
                    continue;
                }
            }
        }
        let Some(client) = clients.get_mut(&home) else {
            continue;
        };
        if let Err(e) = renew_one(node, member, client, &plan_id).await {
            tracing::debug!(plan = %plan_id, home = %home, error = %e, "lease not renewed");
            if e.starts_with("Unavailable") {
                // Connect afresh next time (the roster may name a new endpoint by then).
                clients.remove(&home);
            }
        }
    }
}

/// Whether a lease must be asked for now: none held, one for an older consent, or one past a
/// third of its lifetime. A round woken by an arriving consent so renews only the plans whose
/// consent changed, not every lease the node holds (which made each consent cost the county
/// one signed lease per plan held).
fn lease_due(lease: Option<&Lease>, consent_version: Option<u64>, now_ms: i64) -> bool {
    let Some(version) = consent_version else {
        return false;
    };
    let Some(l) = lease else {
        return true;
    };
    l.consent_version != version || l.expires_at_unix_ms - now_ms <= l.ttl_ms.saturating_mul(2) / 3
}

async fn renew_one(
    node: &Node,
    home: &crate::roster::Member,
    client: &mut kronobarn_proto::federation::federation_service_client::FederationServiceClient<
        tonic::transport::Channel,
    >,
    plan_id: &str,
) -> Result<(), String> {
    let view = kronobarn_gateway::Backend::load_plan_facts(node, plan_id)
        .map_err(|e| e.to_string())?
        .ok_or("plan gone")?;
    let Some(consent) = view.consent else {
        return Ok(());
    };
    let resp = client
        .renew_lease(RenewLeaseRequest {
            plan_id: plan_id.into(),
            consent_version: consent.consent_version,
        })
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let env: SignedEnvelope = resp.lease.ok_or("no lease in the answer")?;
    keep(node, home, plan_id, consent.consent_version, &env)
}

/// The holder's side: checks a lease the consent home `home` sent for `plan_id` under
/// `consent_version`, and keeps it.
pub fn keep(
    node: &Node,
    home: &crate::roster::Member,
    plan_id: &str,
    consent_version: u64,
    env: &SignedEnvelope,
) -> Result<(), String> {
    // Only the consent home's own key may sign a lease for its plan.
    let payload = envelope::open(env, PayloadKind::Lease, |id| {
        home.key_for(id, node.now_ms())
    })
    .map_err(|e| e.to_string())?;
    let lease = Lease::decode(payload).map_err(|e| e.to_string())?;
    if lease.plan_id != plan_id
        || lease.organization != node.organization_id()
        || lease.consent_version != consent_version
    {
        return Err("the lease is for another plan, organisation or consent".into());
    }
    node.keep_lease(plan_id, env).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(version: u64, expires: i64) -> Lease {
        Lease {
            consent_version: version,
            expires_at_unix_ms: expires,
            ttl_ms: 300,
            ..Default::default()
        }
    }

    #[test]
    fn a_lease_is_asked_for_when_missing_stale_or_a_third_through() {
        // No consent yet: nothing to ask for.
        assert!(!lease_due(None, None, 0));
        assert!(lease_due(None, Some(1), 0));
        // Fresh, for the current consent: not due.
        assert!(!lease_due(Some(&lease(1, 300)), Some(1), 0));
        assert!(!lease_due(Some(&lease(1, 300)), Some(1), 99));
        // A third of the way through, or expired.
        assert!(lease_due(Some(&lease(1, 300)), Some(1), 100));
        assert!(lease_due(Some(&lease(1, 300)), Some(1), 400));
        // For another consent version.
        assert!(lease_due(Some(&lease(1, 300)), Some(2), 0));
    }
}

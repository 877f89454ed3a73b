//! Three real nodes exchanging over mutual TLS: sharing with consent, nothing without it,
//! delivery across a peer's outage, and a revocation recorded at a non-home node that purges
//! the copies.

use std::time::Duration;

use kronobarn_node::client::User;
use kronobarn_node::pki::DevCa;
use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use kronobarn_proto::v1::{
    Category, Consent, Fragment, GetConsentStatusRequest, GetPlanRequest, Grant, Participant,
    PutFragmentRequest, RecordConsentRequest, RevokeConsentRequest, WheelArea, fragment::Body,
};
use tonic::Code;
use tonic::transport::Channel;

use super::common::*;
use crate::harness::{TestNode, eventually, join_county, public_key, roster_member};

const ORGS: [&str; 3] = ["vaxjo-kommun", "region-kronoberg", "polisen"];

use crate::harness::free_port;

/// Three node folders sharing one roster and county CA, started.
pub(super) async fn county() -> Vec<TestNode> {
    let ca = DevCa::new("Kronoberg county test CA").unwrap();
    let nodes: Vec<TestNode> = ORGS.iter().map(|o| TestNode::init(o)).collect();
    let ports: Vec<u16> = ORGS.iter().map(|_| free_port()).collect();
    let mut roster = "ca = \"tls/county-ca.crt\"\n\n".to_string();
    for (i, n) in nodes.iter().enumerate() {
        roster += &roster_member(
            ORGS[i],
            &format!("https://127.0.0.1:{}", ports[i]),
            &public_key(n.dir.path()),
        );
    }
    let mut started = Vec::new();
    for (i, mut n) in nodes.into_iter().enumerate() {
        join_county(
            n.dir.path(),
            &ca,
            ORGS[i],
            &roster,
            &format!("127.0.0.1:{}", ports[i]),
            "lease_ttl_secs = 2\nanti_entropy_secs = 1\ncheckpoint_secs = 1\n",
        );
        n.spawn().await;
        started.push(n);
    }
    started
}

async fn fragment_ids(
    api: &mut PlanServiceClient<Channel>,
    who: &User,
    plan_id: &str,
) -> Option<Vec<String>> {
    let plan = api
        .get_plan(who.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .ok()?
        .into_inner()
        .plan?;
    let mut ids: Vec<String> = plan.fragments.into_iter().map(|f| f.fragment_id).collect();
    ids.sort();
    Some(ids)
}

/// Waits until `who` at `api`'s node is shown `fragment_id` of the plan; returns every fragment
/// id shown then.
async fn until_shown(
    api: &PlanServiceClient<Channel>,
    who: &User,
    plan_id: &str,
    fragment_id: &str,
    what: &str,
) -> Vec<String> {
    eventually(Duration::from_secs(20), what, || {
        let (mut api, who, p, f) = (
            api.clone(),
            who.clone(),
            plan_id.to_string(),
            fragment_id.to_string(),
        );
        async move {
            fragment_ids(&mut api, &who, &p)
                .await
                .filter(|ids| ids.contains(&f))
        }
    })
    .await
}

/// The region's BUP unit joins a plan at Växjö, and the region is granted `categories`.
/// Returns the consent recorded.
pub(super) async fn join_region(
    api: &mut PlanServiceClient<Channel>,
    rektor: &User,
    plan_id: &str,
    categories: &[Category],
) -> Consent {
    let p = Fragment {
        plan_id: plan_id.into(),
        body: Some(Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bup".into(),
            contact: None,
        })),
        ..Default::default()
    };
    api.put_fragment(rektor.req(put(p))).await.unwrap();
    let mut c = consent(plan_id, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        categories: categories.iter().map(|c| *c as i32).collect(),
        ..Default::default()
    }];
    api.record_consent(rektor.req(RecordConsentRequest {
        consent: Some(c.clone()),
        expected_previous_version: 0,
    }))
    .await
    .unwrap();
    c
}

#[tokio::test]
async fn consent_scoped_sharing_outage_lease_expiry_and_revocation_across_three_nodes() {
    let mut nodes = county().await;
    let (vaxjo, region, polisen) = (&nodes[0], &nodes[1], &nodes[2]);
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let psykolog = region.user("psykolog", "bup");
    let polis = polisen.user("handlaggare", "ungdom");
    let mut at_vaxjo = vaxjo.client().await;
    let at_region = region.client().await;
    let mut at_polisen = polisen.client().await;

    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    let mut written = Vec::new();
    for (org, unit) in [("region-kronoberg", "bup"), ("polisen", "ungdom")] {
        let p = Fragment {
            plan_id: plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: org.into(),
                unit: unit.into(),
                contact: None,
            })),
            ..Default::default()
        };
        written.push(
            at_vaxjo
                .put_fragment(rektor.req(put(p)))
                .await
                .unwrap()
                .into_inner()
                .fragment
                .unwrap(),
        );
    }
    let health = at_vaxjo
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let learning = at_vaxjo
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Learning))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();

    // Consent for the region only: identity, participants and health.
    let mut c = consent(&plan_id, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        categories: vec![
            Category::Identity as i32,
            Category::Participants as i32,
            Category::WheelHealth as i32,
        ],
        ..Default::default()
    }];
    at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 0,
        }))
        .await
        .unwrap();

    // Everything at the home except the learning assessment: header, the three participant
    // fragments (the school's own and the two added), health.
    let mut want = fragment_ids(&mut at_vaxjo, &rektor, &plan_id)
        .await
        .unwrap();
    want.retain(|id| id != &learning.fragment_id);
    assert_eq!(want.len(), 5);
    assert!(want.contains(&written[0].fragment_id) && want.contains(&written[1].fragment_id));
    let ids = eventually(
        Duration::from_secs(20),
        "the region to receive what consent grants",
        || {
            let (mut api, who, p, n) = (
                at_region.clone(),
                psykolog.clone(),
                plan_id.clone(),
                want.len(),
            );
            async move {
                fragment_ids(&mut api, &who, &p)
                    .await
                    .filter(|ids| ids.len() >= n)
            }
        },
    )
    .await;
    assert_eq!(
        ids, want,
        "header, participants and health; never the learning assessment"
    );
    assert!(!ids.contains(&learning.fragment_id));

    // The police take part but have no consent: nothing reaches them.
    let e = at_polisen
        .get_plan(polis.req(GetPlanRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");

    // The region is down while the school updates the health assessment; the outbox keeps it
    // and delivers after the region comes back.
    nodes[1].kill();
    let mut update = health.clone();
    if let Some(Body::WheelAssessment(w)) = &mut update.body {
        w.strengths = "Sover bättre".into();
    }
    let updated = at_vaxjo
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(update),
            expected_version: health.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    nodes[1].spawn().await;
    let region = &nodes[1];
    let mut at_region = region.client().await;
    eventually(
        Duration::from_secs(30),
        "the update to reach the region after its outage",
        || {
            let (mut api, who, p, id, v) = (
                at_region.clone(),
                psykolog.clone(),
                plan_id.clone(),
                health.fragment_id.clone(),
                updated.version,
            );
            async move {
                let plan = api
                    .get_plan(who.req(GetPlanRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner()
                    .plan?;
                plan.fragments
                    .iter()
                    .any(|f| f.fragment_id == id && f.version == v)
                    .then_some(())
            }
        },
    )
    .await;

    // Partition: the consent home goes away. The region keeps showing its own fragments but stops
    // showing received copies when its lease runs out (2 s here), and shows them again once the
    // home is back and the lease renewed.
    let own = at_region
        .put_fragment(psykolog.req(put(Fragment {
            plan_id: plan_id.clone(),
            body: Some(Body::WheelAssessment(
                kronobarn_proto::v1::WheelAssessment {
                    area: WheelArea::Health as i32,
                    needs: NOTE.into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    nodes[0].kill();
    let withheld = eventually(
        Duration::from_secs(20),
        "received copies to be hidden after the lease runs out",
        || {
            let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
            async move {
                let plan = api
                    .get_plan(who.req(GetPlanRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner()
                    .plan?;
                (!plan.withheld.is_empty()).then_some(plan)
            }
        },
    )
    .await;
    assert!(
        withheld
            .withheld
            .iter()
            .all(|w| w.reason == "lease-expired"),
        "{:?}",
        withheld.withheld
    );
    assert!(
        withheld
            .withheld
            .iter()
            .any(|w| w.fragment_id == health.fragment_id)
    );
    assert_eq!(
        withheld
            .fragments
            .iter()
            .map(|f| f.fragment_id.as_str())
            .collect::<Vec<_>>(),
        vec![own.fragment_id.as_str()],
        "only its own fragment"
    );
    nodes[0].spawn().await;
    let mut at_vaxjo = nodes[0].client().await;
    eventually(
        Duration::from_secs(20),
        "copies to show again after the home is back",
        || {
            let (mut api, who, p, id) = (
                at_region.clone(),
                psykolog.clone(),
                plan_id.clone(),
                health.fragment_id.clone(),
            );
            async move {
                let plan = api
                    .get_plan(who.req(GetPlanRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner()
                    .plan?;
                plan.fragments
                    .iter()
                    .any(|f| f.fragment_id == id)
                    .then_some(())
            }
        },
    )
    .await;

    // A guardian withdraws consent at the region (not the consent home). The region stops
    // showing the copy at once; the revocation floods to the home, which stops sending.
    at_region
        .revoke_consent(psykolog.req(RevokeConsentRequest {
            plan_id: plan_id.clone(),
            withdrawn_by: "g2".into(),
            organizations: vec!["region-kronoberg".into()],
            categories: vec![Category::WheelHealth as i32],
            ..Default::default()
        }))
        .await
        .unwrap();
    let ids = fragment_ids(&mut at_region, &psykolog, &plan_id)
        .await
        .unwrap();
    assert!(
        !ids.contains(&health.fragment_id),
        "purged where it was recorded"
    );
    // The node that recorded it can tell when every organisation in the plan has confirmed.
    let status = eventually(
        Duration::from_secs(20),
        "every organisation to confirm the revocation",
        || {
            let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
            async move {
                let s = api
                    .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner();
                s.revocation_status
                    .into_iter()
                    .next()
                    .filter(|r| r.pending.is_empty())
            }
        },
    )
    .await;
    assert_eq!(
        status.purged_at,
        vec!["polisen", "region-kronoberg", "vaxjo-kommun"],
        "purged at 3 of 3"
    );
    assert!(status.last_confirmed_at_unix_ms >= status.recorded_at_unix_ms);
    eventually(
        Duration::from_secs(20),
        "the revocation to reach the consent home",
        || {
            let (mut api, who, p) = (at_vaxjo.clone(), rektor.clone(), plan_id.clone());
            async move {
                let s = api
                    .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner();
                (!s.revocations_in_force.is_empty()).then_some(())
            }
        },
    )
    .await;
    // A later update of the health assessment is no longer sent to the region.
    let mut again = updated.clone();
    if let Some(Body::WheelAssessment(w)) = &mut again.body {
        w.strengths = "Ny bedömning".into();
    }
    at_vaxjo
        .put_fragment(rektor.req(PutFragmentRequest {
            fragment: Some(again),
            expected_version: updated.version,
        }))
        .await
        .unwrap();
    let marker = at_vaxjo
        .put_fragment(rektor.req(put(Fragment {
            plan_id: plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: "region-kronoberg".into(),
                unit: "bup-vaxjo".into(),
                contact: None,
            })),
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    // Once a later, granted fragment has arrived, the earlier (revoked) one would have too.
    let ids = until_shown(
        &at_region,
        &psykolog,
        &plan_id,
        &marker.fragment_id,
        "a later granted fragment to arrive",
    )
    .await;
    assert!(
        !ids.contains(&health.fragment_id),
        "a revoked category is not sent again"
    );

    for n in nodes.iter_mut() {
        n.stop();
        let config = n.config();
        let (ok, out) = n.run(&["log", "verify", "--config", config.to_str().unwrap()]);
        assert!(ok, "{out}");
    }
}

/// The sender is killed with SIGKILL while it delivers; after a restart its outbox delivers the
/// rest, and every acknowledged write arrives exactly once.
#[tokio::test]
async fn a_sender_killed_mid_push_delivers_everything_once_after_restart() {
    let mut nodes = county().await;
    let rektor = nodes[0].user("rektor", "ostra-skolan");
    let psykolog = nodes[1].user("psykolog", "bup");
    let mut at_vaxjo = nodes[0].client().await;
    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    join_region(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        &[
            Category::Identity,
            Category::Participants,
            Category::WheelHealth,
        ],
    )
    .await;

    // Many acknowledged writes from concurrent writers while the region is down, so they wait
    // in the sender's outbox; the region comes back and the sender is killed while it delivers.
    nodes[1].kill();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (mut api, who, p) = (nodes[0].client().await, rektor.clone(), plan_id.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..50 {
                let f = api
                    .put_fragment(who.req(put(wheel(&p, WheelArea::Health))))
                    .await
                    .unwrap()
                    .into_inner()
                    .fragment
                    .unwrap();
                ids.push((f.fragment_id, f.version));
            }
            ids
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    nodes[1].spawn().await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    nodes[0].kill();
    nodes[0].spawn().await;

    let at_region = nodes[1].client().await;
    let want = acknowledged.len();
    let plan = eventually(
        Duration::from_secs(60),
        "every acknowledged write to reach the region",
        || {
            let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
            async move {
                let plan = api
                    .get_plan(who.req(GetPlanRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner()
                    .plan?;
                let health = plan
                    .fragments
                    .iter()
                    .filter(|f| f.category == Category::WheelHealth as i32)
                    .count();
                (health >= want).then_some(plan)
            }
        },
    )
    .await;
    for (id, version) in &acknowledged {
        let f = plan
            .fragments
            .iter()
            .find(|f| &f.fragment_id == id)
            .unwrap_or_else(|| panic!("{id} lost"));
        assert_eq!(&f.version, version);
    }
    // Exactly one receipt per write: redelivered entries are acknowledged, not stored twice.
    let log = at_region
        .clone()
        .list_access_log(psykolog.req(kronobarn_proto::v1::ListAccessLogRequest {
            plan_id: plan_id.clone(),
            page_size: 1000,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let mut receipts = std::collections::HashMap::new();
    for e in &log.entries {
        let r = <kronobarn_proto::v1::AccessRecord as prost::Message>::decode(e.record.as_slice())
            .unwrap();
        if r.action == kronobarn_proto::v1::AccessAction::Receive as i32
            && r.fragment_id != "consent"
        {
            *receipts.entry(r.fragment_id).or_insert(0) += 1;
        }
    }
    for (id, _) in &acknowledged {
        assert_eq!(receipts.get(id), Some(&1), "fragment {id} received once");
    }
    for n in nodes.iter_mut() {
        n.stop();
        let config = n.config();
        let (ok, out) = n.run(&["log", "verify", "--config", config.to_str().unwrap()]);
        assert!(ok, "{out}");
    }
}

/// Anti-entropy: deliveries lost from the sender's outbox (here deleted by hand while it was
/// stopped) still arrive, because the receiver asks for the changes it missed.
#[tokio::test]
async fn a_receiver_catches_up_on_changes_its_outbox_copy_lost() {
    let mut nodes = county().await;
    let rektor = nodes[0].user("rektor", "ostra-skolan");
    let psykolog = nodes[1].user("psykolog", "bup");
    let mut at_vaxjo = nodes[0].client().await;
    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    let p = Fragment {
        plan_id: plan_id.clone(),
        body: Some(Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bup".into(),
            contact: None,
        })),
        ..Default::default()
    };
    at_vaxjo.put_fragment(rektor.req(put(p))).await.unwrap();
    let mut c = consent(&plan_id, &["g1", "g2"]);
    c.grants = vec![Grant {
        organization: "region-kronoberg".into(),
        categories: vec![
            Category::Identity as i32,
            Category::Participants as i32,
            Category::WheelHealth as i32,
        ],
        ..Default::default()
    }];
    nodes[1].kill();
    at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 0,
        }))
        .await
        .unwrap();
    let mut written = Vec::new();
    for _ in 0..20 {
        written.push(
            at_vaxjo
                .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
                .await
                .unwrap()
                .into_inner()
                .fragment
                .unwrap(),
        );
    }
    nodes[0].stop();
    {
        use kronobarn_node::store::{Op, SledStore, Store};
        let store = SledStore::open(&nodes[0].data_dir()).unwrap();
        let queued = store
            .scan(b"outbox/region-kronoberg/", None, usize::MAX)
            .unwrap();
        assert!(
            queued.len() >= 20,
            "the writes were queued for the region: {}",
            queued.len()
        );
        store
            .apply(queued.into_iter().map(|(k, _)| Op::Delete(k)).collect())
            .unwrap();
        store.flush().unwrap();
    }
    nodes[0].spawn().await;
    nodes[1].spawn().await;
    let at_region = nodes[1].client().await;
    let plan = eventually(Duration::from_secs(30), "the region to catch up", || {
        let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
        async move {
            let plan = api
                .get_plan(who.req(GetPlanRequest { plan_id: p }))
                .await
                .ok()?
                .into_inner()
                .plan?;
            (plan
                .fragments
                .iter()
                .filter(|f| f.category == Category::WheelHealth as i32)
                .count()
                >= 20)
                .then_some(plan)
        }
    })
    .await;
    for w in &written {
        assert!(
            plan.fragments
                .iter()
                .any(|f| f.fragment_id == w.fragment_id && f.version == w.version)
        );
    }
}

/// Witnessed checkpoints: peers keep the newest signed head of a node's log, so a log truncated
/// after the fact no longer verifies, even though its own chain is intact.
#[tokio::test]
async fn witnesses_catch_a_truncated_log() {
    let mut nodes = county().await;
    let rektor = nodes[0].user("rektor", "ostra-skolan");
    let mut at_vaxjo = nodes[0].client().await;
    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    for _ in 0..5 {
        at_vaxjo
            .get_plan(rektor.req(GetPlanRequest {
                plan_id: plan_id.clone(),
            }))
            .await
            .unwrap();
    }
    // A graceful stop sends the last head to the witnesses.
    nodes[0].stop();
    let config = nodes[0].config();
    let (ok, out) = nodes[0].run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("witness region-kronoberg: its checkpoint")
            && out.contains("witness polisen: its checkpoint"),
        "{out}"
    );

    {
        use kronobarn_node::keys;
        use kronobarn_node::store::{Op, SledStore, Store};
        let store = SledStore::open(&nodes[0].data_dir()).unwrap();
        let size = keys::log_index(&store.last(keys::LOG).unwrap().unwrap().0).unwrap() + 1;
        // Cut at the end of a batch, so what is left is a valid log on its own.
        let signed = |i: u64| {
            let bytes = store.get(&keys::log(i)).unwrap().unwrap();
            <kronobarn_proto::v1::LogEntry as prost::Message>::decode(bytes.as_slice())
                .unwrap()
                .checkpoint
                .is_some()
        };
        let mut cut = size - 3;
        while !signed(cut - 1) {
            cut -= 1;
        }
        store
            .apply((cut..size).map(|i| Op::Delete(keys::log(i))).collect())
            .unwrap();
        store.flush().unwrap();
    }
    let (ok, out) = nodes[0].run(&["log", "verify", "--config", config.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAILED against witness") && out.contains("truncated"),
        "{out}"
    );
}

/// Responsibility handover: the old and the new responsible organisation both sign; the consent
/// home moves with it; at no point can both, or neither, record consent.
#[tokio::test]
async fn responsibility_moves_with_both_signatures_and_the_consent_home_with_it() {
    use kronobarn_proto::v1::{
        AcceptResponsibilityRequest, Contact, TransferResponsibilityRequest,
    };
    let nodes = county().await;
    let rektor = nodes[0].user("rektor", "ostra-skolan");
    let psykolog = nodes[1].user("psykolog", "bup");
    // The test directory makes `vastra-skolan` a school's principal at every organisation but
    // the Police: a unit that may be this school child's Barnens bästa-ansvarig (BUP may not).
    let rektor2 = nodes[1].user("rektor", "vastra-skolan");
    let mut at_vaxjo = nodes[0].client().await;
    let mut at_region = nodes[1].client().await;
    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    let c = join_region(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        &[Category::Identity, Category::Participants],
    )
    .await;
    at_vaxjo
        .put_fragment(rektor.req(put(Fragment {
            plan_id: plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: "region-kronoberg".into(),
                unit: "vastra-skolan".into(),
                contact: None,
            })),
            ..Default::default()
        })))
        .await
        .unwrap();

    // Nobody but the responsible organisation can offer, and only to a participant.
    let e = at_region
        .transfer_responsibility(psykolog.req(TransferResponsibilityRequest {
            plan_id: plan_id.clone(),
            to_organization: "region-kronoberg".into(),
            to_unit: "bup".into(),
            to_contact: Some(Contact {
                name: "Psykolog Påhittad".into(),
                ..Default::default()
            }),
        }))
        .await;
    assert!(e.is_err(), "the region is not responsible");
    let e = at_vaxjo
        .transfer_responsibility(rektor.req(TransferResponsibilityRequest {
            plan_id: plan_id.clone(),
            to_organization: "polisen".into(),
            to_unit: "ungdom".into(),
            to_contact: Some(Contact {
                name: "Polis Påhittad".into(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    let offer = at_vaxjo
        .transfer_responsibility(rektor.req(TransferResponsibilityRequest {
            plan_id: plan_id.clone(),
            to_organization: "region-kronoberg".into(),
            to_unit: "vastra-skolan".into(),
            to_contact: Some(Contact {
                name: "Rektor Påhittad".into(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .offer
        .unwrap();
    assert_eq!(offer.from_organization, "vaxjo-kommun");
    // While the offer is open the old home records no consent, and the new one cannot yet.
    let e = at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c.clone()),
            expected_previous_version: 1,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    eventually(
        Duration::from_secs(20),
        "the offer to reach the region",
        || {
            let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
            async move {
                let s = api
                    .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner();
                s.pending_handover
                    .filter(|h| h.to_organization == "region-kronoberg")
            }
        },
    )
    .await;
    let e = at_region
        .record_consent(psykolog.req(RecordConsentRequest {
            consent: Some(c.clone()),
            expected_previous_version: 1,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // The region accepts; once Växjö, which made the offer, has confirmed it (by its own open
    // offer and clock), the region is responsible and the consent home.
    at_region
        .accept_responsibility(rektor2.req(AcceptResponsibilityRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap();
    let mut c2 = c.clone();
    c2.grants = vec![Grant {
        organization: "vaxjo-kommun".into(),
        categories: vec![Category::Identity as i32, Category::Participants as i32],
        ..Default::default()
    }];
    let recorded = eventually(
        Duration::from_secs(20),
        "the region to be the consent home once Växjö confirmed",
        || {
            let (mut api, who, c2) = (at_region.clone(), psykolog.clone(), c2.clone());
            async move {
                api.record_consent(who.req(RecordConsentRequest {
                    consent: Some(c2),
                    expected_previous_version: 1,
                }))
                .await
                .ok()
                .and_then(|r| r.into_inner().consent)
            }
        },
    )
    .await;
    assert_eq!(
        (recorded.consent_version, recorded.consent_home.as_str()),
        (2, "region-kronoberg")
    );

    // The old home learns of the acceptance and of the new consent; it can no longer record one.
    eventually(
        Duration::from_secs(20),
        "Växjö to see the region as responsible",
        || {
            let (mut api, who, p) = (at_vaxjo.clone(), rektor.clone(), plan_id.clone());
            async move {
                let plan = api
                    .get_plan(who.req(GetPlanRequest { plan_id: p.clone() }))
                    .await
                    .ok()?
                    .into_inner()
                    .plan?;
                let s = api
                    .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner();
                (plan.home_organization == "region-kronoberg"
                    && s.consent?.consent_version == 2
                    && s.pending_handover.is_none())
                .then_some(())
            }
        },
    )
    .await;
    let e = at_vaxjo
        .record_consent(rektor.req(RecordConsentRequest {
            consent: Some(c),
            expected_previous_version: 2,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn closing_a_plan_ends_the_shares_at_every_node_and_only_the_home_moves_it() {
    use kronobarn_proto::v1::{AdvancePlanRequest, ExportFormat, ExportPlanRequest, PlanStage};
    let nodes = county().await;
    let (vaxjo, region) = (&nodes[0], &nodes[1]);
    let rektor = vaxjo.user("rektor", "ostra-skolan");
    let psykolog = region.user("psykolog", "bup");
    let mut at_vaxjo = vaxjo.client().await;
    let mut at_region = region.client().await;
    let plan_id = create_plan(&mut at_vaxjo, &rektor).await;
    let health = at_vaxjo
        .put_fragment(rektor.req(put(wheel(&plan_id, WheelArea::Health))))
        .await
        .unwrap()
        .into_inner()
        .fragment
        .unwrap();
    let mut learning = wheel(&plan_id, WheelArea::Learning);
    if let Some(Body::WheelAssessment(w)) = &mut learning.body {
        w.needs = "LEARNING-NOTE-NOT-FOR-BUP".into();
    }
    at_vaxjo
        .put_fragment(rektor.req(put(learning)))
        .await
        .unwrap();
    join_region(
        &mut at_vaxjo,
        &rektor,
        &plan_id,
        &[
            Category::Identity,
            Category::Participants,
            Category::WheelHealth,
        ],
    )
    .await;
    until_shown(
        &at_region,
        &psykolog,
        &plan_id,
        &health.fragment_id,
        "the region to show health",
    )
    .await;

    // The region's document holds what the region may see, and never the learning note.
    let doc = at_region
        .export_plan(psykolog.req(ExportPlanRequest {
            plan_id: plan_id.clone(),
            format: ExportFormat::Html as i32,
            language: "sv".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let html = String::from_utf8(doc.content).unwrap();
    assert!(html.contains(NOTE), "the health assessment is shown");
    assert!(!html.contains("LEARNING-NOTE-NOT-FOR-BUP"));

    // Only the responsible organisation moves the plan.
    let e = at_region
        .advance_plan(psykolog.req(AdvancePlanRequest {
            plan_id: plan_id.clone(),
            to: PlanStage::Closed as i32,
            reason: "not ours to close".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert!(e.message().starts_with("not-home"), "{}", e.message());

    at_vaxjo
        .advance_plan(rektor.req(AdvancePlanRequest {
            plan_id: plan_id.clone(),
            to: PlanStage::Closed as i32,
            reason: "Behovet är tillgodosett".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    // Every copy the region held is purged: nothing of the plan is shown there any more.
    eventually(
        Duration::from_secs(20),
        "the region to purge its copies",
        || {
            let (mut api, who, p) = (at_region.clone(), psykolog.clone(), plan_id.clone());
            async move {
                match api.get_plan(who.req(GetPlanRequest { plan_id: p })).await {
                    Err(_) => Some(()),
                    Ok(r) => r
                        .into_inner()
                        .plan
                        .unwrap()
                        .fragments
                        .is_empty()
                        .then_some(()),
                }
            }
        },
    )
    .await;
    let status = at_vaxjo
        .get_consent_status(rektor.req(GetConsentStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    eventually(
        Duration::from_secs(20),
        "the home to hear the purge",
        || {
            let (mut api, who, p) = (at_vaxjo.clone(), rektor.clone(), plan_id.clone());
            async move {
                let s = api
                    .get_consent_status(who.req(GetConsentStatusRequest { plan_id: p }))
                    .await
                    .ok()?
                    .into_inner();
                s.revocation_status
                    .iter()
                    .any(|r| r.purged_at.iter().any(|o| o == "region-kronoberg"))
                    .then_some(())
            }
        },
    )
    .await;
    assert!(
        status
            .revocations_in_force
            .iter()
            .any(|r| r.withdrawn_by == "plan-closed")
    );
}

//! Handing the responsibility over keeps to the rules a new plan keeps: the unit taking over must
//! be of a kind the model lets be this child's Barnens bästa-ansvarig (or the operator allows it),
//! checked by the offering node and again by the receiving one with its own rules, and the
//! receiving node holds one open plan per child. The model's own handovers go through.

use kronobarn_gateway::{Backend, BackendError, PlanView, Precondition};
use kronobarn_policy::responsibility::Exceptions;
use kronobarn_proto::v1::{AccessRecord, Category, Contact, Handover, PlanHeader, Schooling};
use prost::Message;

use super::Node;
use crate::directory::{AuthorityEntry, UnitEntry};
use crate::testkit::{County, actor, add_participant, consent, header};

const ALL: &[Category] = &[
    Category::Identity,
    Category::Participants,
    Category::Interventions,
    Category::FollowUps,
];

/// Every municipality and the region have a school (`skola`), a preschool (`forskola`), the
/// activity responsibility (`kaa`), BVC (`bvc`), maternity care (`mvc`) and BUP (`bup`), each an
/// authority of its own; the Police are one authority whatever unit acts.
fn county(orgs: &[&str]) -> County {
    let mut dir = kronobarn_policy::Directory::new();
    for o in orgs {
        let entry = |suffix: &str, kind: &str, whole: bool| AuthorityEntry {
            id: format!("{o}-{suffix}"),
            kind: kind.into(),
            name: format!("{suffix}, {o}"),
            whole_organization: whole,
            units: vec![UnitEntry {
                id: suffix.into(),
                serves: Vec::new(),
                contact: None,
                municipality: None,
            }],
            municipality: None,
        };
        let entries = if *o == "polisen" {
            vec![entry("ungdom", "police", true)]
        } else {
            vec![
                entry("skola", "school", false),
                entry("forskola", "preschool", false),
                entry("kaa", "activity-responsibility", false),
                entry("bvc", "child-health-care", false),
                entry("mvc", "maternity-care", false),
                entry("bup", "child-psychiatry", false),
            ]
        };
        crate::directory::add(&mut dir, o, &entries).unwrap();
    }
    County::with(orgs, |node, _| {
        node.set_rules(dir.clone(), kronobarn_policy::ConsentRules::default());
        node.prepare_indexes().expect("indexes");
    })
}

/// A header for a child of its own born on `born`, at `schooling`, naming `unit` responsible.
fn child(unit: &str, born: &str, schooling: Schooling) -> PlanHeader {
    let mut h = header(unit);
    let c = h.child.as_mut().unwrap();
    c.birth_date = born.into();
    c.schooling = schooling as i32;
    h
}

async fn create(n: &Node, unit: &str, h: PlanHeader) -> String {
    n.create_plan(&actor(n.organization_id(), unit), h, None)
        .await
        .expect("create plan")
        .plan_id
}

async fn offer(
    from: &Node,
    unit: &str,
    plan: &str,
    to: &str,
    to_unit: &str,
) -> Result<Handover, BackendError> {
    from.offer_handover(
        &actor(from.organization_id(), unit),
        Handover {
            plan_id: plan.to_string(),
            to_organization: to.into(),
            to_unit: to_unit.into(),
            to_contact: Some(Contact {
                name: "Berit Påhittad".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
}

fn home_at(county: &County, org: &str, plan: &str) -> String {
    county
        .node(org)
        .load_plan_facts(plan)
        .unwrap()
        .map(|v: PlanView| v.home_organization)
        .unwrap_or_default()
}

/// The plan at `from` with `to`'s unit taking part and every category granted to `to`.
async fn shared_with(county: &County, from: (&str, &str), plan: &str, to: (&str, &str)) {
    let home = county.node(from.0);
    add_participant(home, from.1, plan, to.0, to.1).await;
    consent(home, from.1, plan, &[(to.0, ALL)]).await;
    county.settle_all(6).await;
}

/// Offers, delivers, accepts and delivers again: the handover as users make it.
async fn hand_over(
    county: &County,
    plan: &str,
    from: (&str, &str),
    to: (&str, &str),
) -> Result<(), BackendError> {
    offer(county.node(from.0), from.1, plan, to.0, to.1).await?;
    county.settle_all(6).await;
    county
        .node(to.0)
        .accept_handover(&actor(to.0, to.1), plan)
        .await?;
    county.settle_all(6).await;
    Ok(())
}

#[tokio::test]
async fn an_offer_to_a_unit_that_may_not_be_responsible_is_refused_where_it_is_made() {
    let county = county(&["vaxjo", "region", "polisen"]);
    let home = county.node("vaxjo");
    // A school child (born 2017).
    let plan = create(home, "skola", header("skola")).await;
    for (org, unit) in [("region", "bup"), ("region", "bvc"), ("polisen", "ungdom")] {
        add_participant(home, "skola", &plan, org, unit).await;
    }
    consent(home, "skola", &plan, &[("region", ALL), ("polisen", ALL)]).await;
    county.settle_all(6).await;
    for (org, unit, why) in [
        ("polisen", "ungdom", "never-responsible: police"),
        ("region", "bup", "never-responsible: child-psychiatry"),
        ("region", "bvc", "school-started"),
        ("region", "enhet", "other (not in the directory)"),
    ] {
        let e = offer(home, "skola", &plan, org, unit).await.unwrap_err();
        let BackendError::Precondition(Precondition::ResponsibleKind, message) = &e else {
            panic!("{org}/{unit}: {e:?}");
        };
        assert!(message.contains(why), "{org}/{unit}: {message}");
        assert!(message.contains("expected: school"), "{message}");
    }
    // Nothing was offered: no open offer blocks the consent, nothing went out.
    assert!(home.pending_handover(&plan).unwrap().is_none());
    consent(home, "skola", &plan, &[("region", ALL)]).await;
    county.settle_all(6).await;
    assert!(
        county
            .node("region")
            .pending_handover(&plan)
            .unwrap()
            .is_none()
    );
    assert_eq!(home_at(&county, "region", &plan), "vaxjo");
}

#[tokio::test]
async fn the_receiver_checks_the_unit_taking_over_by_its_own_rules() {
    let county = county(&["vaxjo", "alvesta", "region"]);
    let (vaxjo, alvesta, region) = (
        county.node("vaxjo"),
        county.node("alvesta"),
        county.node("region"),
    );
    // Växjö's operator lets BUP hold the thread (by kind), the region's operator its own BUP
    // unit; Alvesta's operator allows nothing.
    vaxjo.set_responsibility(
        Exceptions {
            kinds: [kronobarn_policy::AuthorityKind::ChildPsychiatry]
                .into_iter()
                .collect(),
            ..Default::default()
        },
        Vec::new(),
    );
    region.set_responsibility(
        Exceptions {
            units: [("region".to_string(), "bup".to_string())].into(),
            ..Default::default()
        },
        Vec::new(),
    );
    let plan = create(vaxjo, "skola", header("skola")).await;
    add_participant(vaxjo, "skola", &plan, "alvesta", "bup").await;
    add_participant(vaxjo, "skola", &plan, "region", "bup").await;
    consent(vaxjo, "skola", &plan, &[("alvesta", ALL), ("region", ALL)]).await;
    county.settle_all(6).await;
    // Alvesta's rules do not let its BUP hold it: the offer is refused where it arrives, and
    // there is nothing to accept.
    offer(vaxjo, "skola", &plan, "alvesta", "bup")
        .await
        .expect("Växjö's rules allow it");
    let results = county.deliver("vaxjo", "alvesta").await;
    assert!(
        results
            .iter()
            .any(|r| !r.accepted && r.reason.starts_with("responsible-kind")),
        "{results:?}"
    );
    assert!(alvesta.pending_handover(&plan).unwrap().is_none());
    assert!(
        alvesta
            .accept_handover(&actor("alvesta", "bup"), &plan)
            .await
            .is_err()
    );
    // The refusal is final: the home closes its offer at once (recorded), rather than leave it
    // open for 14 days with consents and new offers blocked behind it.
    assert!(
        !vaxjo.offer_is_open(&plan).unwrap(),
        "the refused offer still blocks the plan at its home"
    );
    let closed: Vec<String> = vaxjo
        .access_log(&plan, None, 1000)
        .unwrap()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.reason.starts_with("handover-refused"))
        .map(|r| r.reason)
        .collect();
    assert_eq!(closed, ["handover-refused:responsible-kind"]);
    county.settle_all(6).await;
    assert_eq!(home_at(&county, "alvesta", &plan), "vaxjo");
    // The region's rules do: it takes over by its operator's exception, which is logged and
    // recorded in the access record of the acceptance.
    hand_over(&county, &plan, ("vaxjo", "skola"), ("region", "bup"))
        .await
        .expect("allowed by both operators");
    assert_eq!(home_at(&county, "alvesta", &plan), "region");
    let reasons: Vec<String> = region
        .access_log(&plan, None, 1000)
        .unwrap()
        .entries
        .iter()
        .map(|e| AccessRecord::decode(e.record.as_slice()).unwrap())
        .filter(|r| r.fragment_id == "responsibility" && r.user_id == "user.bup")
        .map(|r| r.reason)
        .collect();
    assert_eq!(reasons, ["responsible-by-exception"]);
}

#[tokio::test]
async fn a_unit_takes_over_no_child_it_already_holds_an_open_plan_for() {
    let county = county(&["vaxjo", "alvesta"]);
    let (vaxjo, alvesta) = (county.node("vaxjo"), county.node("alvesta"));
    let h = header("skola");
    let own = create(alvesta, "skola", h.clone()).await;
    let plan = create(vaxjo, "skola", h).await;
    shared_with(&county, ("vaxjo", "skola"), &plan, ("alvesta", "skola")).await;
    // Växjö cannot know of Alvesta's plan; Alvesta refuses to take over a second one.
    offer(vaxjo, "skola", &plan, "alvesta", "skola")
        .await
        .expect("offered");
    county.settle_all(6).await;
    let e = alvesta
        .accept_handover(&actor("alvesta", "skola"), &plan)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::OpenPlanExists { plan_id: Some(p), .. } if *p == own),
        "{e:?}"
    );
    county.settle_all(6).await;
    assert_eq!(home_at(&county, "alvesta", &plan), "vaxjo");
    assert_eq!(home_at(&county, "vaxjo", &plan), "vaxjo");
    assert!(
        alvesta.pending_handover(&plan).unwrap().is_some(),
        "the offer stays open for when the other plan is closed or merged"
    );
}

#[tokio::test]
async fn the_models_handovers_go_through() {
    let county = county(&["vaxjo", "alvesta", "region"]);
    // BVC at the region hands a three-year-old with a preschool place to the preschool.
    let region = county.node("region");
    let small = create(
        region,
        "bvc",
        child("bvc", "2023-05-01", Schooling::Preschool),
    )
    .await;
    shared_with(&county, ("region", "bvc"), &small, ("vaxjo", "forskola")).await;
    hand_over(&county, &small, ("region", "bvc"), ("vaxjo", "forskola"))
        .await
        .expect("BVC to preschool");
    assert_eq!(home_at(&county, "region", &small), "vaxjo");
    // A young person of 16 who left school after the compulsory years: the school hands over
    // to the activity responsibility of the municipality they moved to. (The header said upper
    // secondary school when the plan was made; the school then recorded the change.)
    let vaxjo = county.node("vaxjo");
    let young = child("skola", "2010-03-01", Schooling::UpperSecondary);
    let plan = create(vaxjo, "skola", young.clone()).await;
    let mut left = young;
    left.child.as_mut().unwrap().schooling = Schooling::Left as i32;
    let current = vaxjo.load_plan_facts(&plan).unwrap().unwrap();
    let version = current
        .fragments
        .iter()
        .find(|f| f.fragment.fragment_id == "header")
        .and_then(|f| f.fragment.version);
    vaxjo
        .put_fragment(
            &actor("vaxjo", "skola"),
            kronobarn_proto::v1::Fragment {
                plan_id: plan.clone(),
                fragment_id: "header".into(),
                body: Some(kronobarn_proto::v1::fragment::Body::Header(left)),
                ..Default::default()
            },
            version,
        )
        .await
        .expect("schooling recorded");
    shared_with(&county, ("vaxjo", "skola"), &plan, ("alvesta", "kaa")).await;
    hand_over(&county, &plan, ("vaxjo", "skola"), ("alvesta", "kaa"))
        .await
        .expect("school to KAA");
    assert_eq!(home_at(&county, "vaxjo", &plan), "alvesta");
    // A preschool child whose school starts: the preschool hands over to the school of the
    // municipality the family moved to, once school has started by the rule.
    let pre = create(
        vaxjo,
        "forskola",
        child("forskola", "2021-02-01", Schooling::Preschool),
    )
    .await;
    shared_with(&county, ("vaxjo", "forskola"), &pre, ("alvesta", "skola")).await;
    let e = offer(vaxjo, "forskola", &pre, "alvesta", "skola")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not-school-age"), "{e}");
    county.advance(230 * 86_400_000);
    consent(vaxjo, "forskola", &pre, &[("alvesta", ALL)]).await;
    county.settle_all(6).await;
    hand_over(&county, &pre, ("vaxjo", "forskola"), ("alvesta", "skola"))
        .await
        .expect("preschool to school");
    assert_eq!(home_at(&county, "vaxjo", &pre), "alvesta");
}

#[tokio::test]
async fn a_unit_cannot_take_over_a_plan_whose_child_it_cannot_see() {
    // The receiver judges who may be responsible by the child's age and schooling, in the
    // header; a consent that shares no identity leaves it without one, and a school child's
    // plan must not go to BVC because nobody could see it was a school child's.
    let county = county(&["vaxjo", "region"]);
    let vaxjo = county.node("vaxjo");
    let plan = create(
        vaxjo,
        "skola",
        child("skola", "2012-03-01", Schooling::Compulsory),
    )
    .await;
    add_participant(vaxjo, "skola", &plan, "region", "bvc").await;
    consent(
        vaxjo,
        "skola",
        &plan,
        &[("region", &[Category::Participants])],
    )
    .await;
    county.settle_all(6).await;
    assert!(
        county
            .node("region")
            .load_plan_facts(&plan)
            .unwrap()
            .unwrap()
            .header
            .is_none(),
        "no identity was shared"
    );
    let taken = county
        .node("region")
        .check_taking_over(&actor("region", "bvc"), &plan, None);
    let Err(BackendError::Precondition(p, why)) = taken else {
        panic!("taken over without the child's facts: {taken:?}");
    };
    assert_eq!(p, Precondition::ChildFactsNotHeld, "{why}");
}

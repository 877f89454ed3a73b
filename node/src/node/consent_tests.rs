//! Recording a consent through the client API: a grant that names an authority or a unit must
//! name one this node knows, or it would silently grant nobody; a consent received from another
//! node is read as it is, since that node may know authorities this one does not.

use kronobarn_gateway::Backend;
use kronobarn_proto::v1::plan_service_server::PlanService;
use kronobarn_proto::v1::{
    Category, Consent, ConsentForm, Grant, GuardianConsent, RecordConsentRequest,
};

use super::Node;
use crate::testkit::{County, add_participant, client_api, create_plan, request};

fn grant(organization: &str, authority: &str, unit: &str) -> Grant {
    Grant {
        organization: organization.into(),
        authority: authority.into(),
        unit: unit.into(),
        categories: vec![Category::Identity as i32, Category::Participants as i32],
    }
}

fn consent_of(home: &Node, plan_id: &str, grants: Vec<Grant>) -> Consent {
    Consent {
        plan_id: plan_id.into(),
        guardian_consents: vec![GuardianConsent {
            guardian_id: "g1".into(),
            form: ConsentForm::Written as i32,
            given_at_unix_ms: home.now_ms(),
        }],
        valid_until_unix_ms: home.now_ms() + 365 * 86_400_000,
        grants,
        purpose: "plan-coordination".into(),
        ..Default::default()
    }
}

fn recorded_version(n: &Node, plan_id: &str) -> u64 {
    n.load_plan_facts(plan_id)
        .unwrap()
        .and_then(|v| v.consent)
        .map_or(0, |c| c.consent_version)
}

#[tokio::test]
async fn a_grant_naming_an_unknown_authority_or_unit_is_refused_and_nothing_is_stored() {
    let county = County::new(&["vaxjo", "region"]);
    let vaxjo = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&vaxjo, "skola").await.plan_id;
    // BUP takes part: the directory does not describe it, so it is an authority of its own.
    add_participant(&vaxjo, "skola", &plan, "region", "bup").await;
    let api = client_api(&vaxjo);
    let record = |grants: Vec<Grant>| {
        api.record_consent(request(
            RecordConsentRequest {
                consent: Some(consent_of(&vaxjo, &plan, grants)),
                expected_previous_version: 0,
            },
            "rektor",
            "skola",
        ))
    };
    for (grants, expected) in [
        (
            vec![
                grant("region", "", ""),
                grant("vaxjo", "vaxjo-skola", ""),
                grant("region", "region-psykiatri", ""),
            ],
            "consent.grants[2].authority: \"region-psykiatri\" is not an authority in the directory",
        ),
        (
            vec![grant("region", "vaxjo-bvc", "")],
            "consent.grants[0].authority: \"vaxjo-bvc\" is an authority of vaxjo, not of region",
        ),
        (
            vec![
                grant("vaxjo", "", "skola"),
                grant("region", "", "elevhalsan"),
            ],
            "consent.grants[1].unit: \"elevhalsan\" of region is neither in the directory nor taking part in the plan",
        ),
        (
            // The policy reads a unit grant by its unit: an authority beside it that is not the
            // unit's would be silently ignored.
            vec![grant("region", "region-skola", "bup")],
            "consent.grants[0].authority: \"region-skola\" is not the authority of unit \"bup\"; name the unit or its authority",
        ),
    ] {
        let e = record(grants).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        assert_eq!(e.message(), expected);
        assert_eq!(recorded_version(&vaxjo, &plan), 0, "nothing stored");
    }
    // Authorities and units the directory describes or that take part, and organisations
    // (read narrowly by the policy), are recorded.
    record(vec![
        grant("region", "", ""),
        grant("vaxjo", "vaxjo-bvc", ""),
        grant("region", "region-skola", ""),
        grant("region", "region/bup", ""),
        grant("region", "", "bup"),
        grant("vaxjo", "", "skola"),
        grant("vaxjo", "vaxjo-skola", "skola"),
    ])
    .await
    .expect("recorded");
    assert_eq!(recorded_version(&vaxjo, &plan), 1);
}

#[tokio::test]
async fn a_received_consent_may_name_authorities_the_receiver_does_not_know() {
    // Växjö's directory describes its leisure unit; the region's knows nothing of it.
    let county = County::with(&["vaxjo", "region"], |node, orgs| {
        if node.organization_id() != "vaxjo" {
            return crate::testkit::configure(node, orgs);
        }
        let mut dir = kronobarn_policy::Directory::new();
        let entries = |o: &str| {
            let mut v = vec![crate::directory::AuthorityEntry {
                id: format!("{o}-skola"),
                kind: "school".into(),
                name: "skola".into(),
                whole_organization: false,
                units: vec![crate::directory::UnitEntry {
                    id: "skola".into(),
                    serves: Vec::new(),
                    contact: None,
                    municipality: None,
                }],
                municipality: None,
            }];
            if o == "vaxjo" {
                v.push(crate::directory::AuthorityEntry {
                    id: "vaxjo-fritid".into(),
                    kind: "leisure".into(),
                    name: "fritid".into(),
                    whole_organization: false,
                    units: Vec::new(),
                    municipality: None,
                });
            }
            v
        };
        for o in orgs {
            crate::directory::add(&mut dir, o, &entries(o)).unwrap();
        }
        node.set_rules(dir, Default::default());
        node.prepare_indexes().expect("indexes");
    });
    let vaxjo = county.nodes["vaxjo"].node.clone();
    let plan = create_plan(&vaxjo, "skola").await.plan_id;
    add_participant(&vaxjo, "skola", &plan, "region", "skola").await;
    client_api(&vaxjo)
        .record_consent(request(
            RecordConsentRequest {
                consent: Some(consent_of(
                    &vaxjo,
                    &plan,
                    vec![grant("region", "", ""), grant("vaxjo", "vaxjo-fritid", "")],
                )),
                expected_previous_version: 0,
            },
            "rektor",
            "skola",
        ))
        .await
        .expect("Växjö knows its leisure authority");
    let results = county.deliver("vaxjo", "region").await;
    assert!(results.iter().all(|r| r.accepted), "{results:?}");
    assert_eq!(recorded_version(county.node("region"), &plan), 1);
}

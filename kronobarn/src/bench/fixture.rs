//! The bench's own data: an invented child's plan header, the acting user, a fragment the size
//! of a real wheel assessment, and a plan shared by consent. Kept apart from the demo's story so
//! either can change without moving the other's figures.

use kronobarn_gateway::{Actor, Backend};
use kronobarn_node::client::User;
use kronobarn_node::node::Node;
use kronobarn_proto::v1::{
    Category, Child, Consent, ConsentForm, Contact, Fragment, Grant, Guardian, GuardianConsent,
    Participant, PlanHeader, WheelArea, WheelAssessment, fragment::Body,
};

/// The bench's unit: one of the units a development county's municipal client system acts for
/// (see `county::development_units`).
pub const UNIT: &str = "ostra-skolan";

/// A plan header for an invented school child, one guardian, and the responsible unit [`UNIT`].
/// Each header names another child (an invented reserve number, never a real person's), since a
/// child has one open plan at a node.
pub fn header() -> PlanHeader {
    static CHILDREN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = CHILDREN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PlanHeader {
        child: Some(Child {
            personal_identity_number: format!("BENCH-{n:010}"),
            identity_kind: kronobarn_proto::v1::IdentityKind::ReserveNumber as i32,
            name: "Testbarn Påhittadsson".into(),
            birth_date: "2017-01-01".into(),
            ..Default::default()
        }),
        guardians: vec![Guardian {
            guardian_id: "g1".into(),
            name: "Vårdnadshavare Ett".into(),
            has_custody: true,
            contact: None,
        }],
        responsible_organization: String::new(),
        responsible_unit: UNIT.into(),
        responsible_contact: Some(Contact {
            name: "Rektor Påhittad".into(),
            title: "rektor".into(),
            phone: "0470-00 00 00".into(),
            email: String::new(),
        }),
        follow_up_dates: vec![],
        follow_up_by: String::new(),
        ..Default::default()
    }
}

/// The bench organisation's directory in config form: [`UNIT`] is its school's principal, who may
/// be a school child's Barnens bästa-ansvarig.
pub fn directory(organization: &str) -> String {
    format!(
        "\n[[authority]]\nid = \"{organization}-skola\"\nkind = \"school\"\nname = \"Skolan\"\n[[authority.unit]]\nid = \"{UNIT}\"\n"
    )
}

/// A learning assessment of 200 characters in `plan_id`.
pub fn fragment(plan_id: &str) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: WheelArea::Learning as i32,
            needs: "x".repeat(200),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The bench's user at `org`, in `unit`, calling the node's backend directly.
pub fn actor(org: &str, unit: &str) -> Actor {
    Actor {
        organization: org.into(),
        system: "bench".into(),
        user_id: "bench".into(),
        role: "staff".into(),
        unit: unit.into(),
        purpose: "bench".into(),
    }
}

/// The bench's user in [`UNIT`], calling the client API with the system token `token`.
pub fn user(token: &str) -> User {
    User {
        token: token.into(),
        user_id: "bench".into(),
        role: "staff".into(),
        unit: UNIT.into(),
        purpose: "bench".into(),
    }
}

/// A plan at `home` with every org in `others` taking part and granted identity, participants
/// and learning.
pub async fn shared_plan(home: &Node, others: &[&str]) -> anyhow::Result<String> {
    let actor = actor(home.organization_id(), UNIT);
    let plan = home
        .create_plan(&actor, header(), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for o in others {
        let f = Fragment {
            plan_id: plan.plan_id.clone(),
            body: Some(Body::Participant(Participant {
                organization: o.to_string(),
                // A unit the development directory lists (the police's and the association's
                // every unit is theirs), as in a configured county.
                unit: if o.starts_with("region") { "bup" } else { UNIT }.into(),
                contact: None,
            })),
            ..Default::default()
        };
        home.put_fragment(&actor, f, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let cats = vec![
        Category::Identity as i32,
        Category::Participants as i32,
        Category::WheelLearning as i32,
    ];
    let consent = Consent {
        plan_id: plan.plan_id.clone(),
        guardian_consents: vec![GuardianConsent {
            guardian_id: "g1".into(),
            form: ConsentForm::Written as i32,
            given_at_unix_ms: 1,
        }],
        valid_until_unix_ms: i64::MAX,
        grants: others
            .iter()
            .map(|o| Grant {
                organization: o.to_string(),
                categories: cats.clone(),
                ..Default::default()
            })
            .collect(),
        purpose: "bench".into(),
        ..Default::default()
    };
    home.record_consent(&actor, consent, 0)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(plan.plan_id)
}

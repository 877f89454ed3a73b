//! Shared builders for the tests: an invented child with the Tax Agency's test number.

use kronobarn_node::client::User;
use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use kronobarn_proto::v1::{
    Category, Child, Consent, ConsentForm, Contact, CreatePlanRequest, Fragment, Grant, Guardian,
    GuardianConsent, PlanHeader, PutFragmentRequest, WheelArea, WheelAssessment, fragment::Body,
};
use tonic::transport::Channel;

/// A school child: a test number from the Swedish Tax Agency's published list.
pub const PIN: &str = "20170101-2393";
pub const CHILD_NAME: &str = "Testbarn Påhittadsson";
pub const NOTE: &str = "Hemlig anteckning om barnets mående";

pub fn header() -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            personal_identity_number: PIN.into(),
            name: CHILD_NAME.into(),
            birth_date: String::new(),
            ..Default::default()
        }),
        guardians: vec![
            Guardian {
                guardian_id: "g1".into(),
                name: "Vårdnadshavare Ett".into(),
                has_custody: true,
                contact: None,
            },
            Guardian {
                guardian_id: "g2".into(),
                name: "Vårdnadshavare Två".into(),
                has_custody: true,
                contact: None,
            },
        ],
        responsible_organization: String::new(),
        responsible_unit: "ostra-skolan".into(),
        responsible_contact: Some(Contact {
            name: "Rektor Påhittad".into(),
            ..Default::default()
        }),
        follow_up_dates: vec!["2027-02-15".into()],
        follow_up_by: String::new(),
        protected_identity: false,
    }
}

/// Another invented school child, by an invented reserve number (a region's kind of number,
/// never a person's): for tests that need more than one plan at a node, since a child has one
/// open plan at a node.
pub fn other_child(n: u32) -> PlanHeader {
    let mut h = header();
    h.child = Some(Child {
        personal_identity_number: format!("KRONOBERG-T-{n:04}"),
        identity_kind: kronobarn_proto::v1::IdentityKind::ReserveNumber as i32,
        name: format!("Testbarn {n} Påhittadsson"),
        birth_date: "2017-01-01".into(),
        ..Default::default()
    });
    h
}

pub async fn create_plan(api: &mut PlanServiceClient<Channel>, who: &User) -> String {
    create_plan_with(api, who, header()).await
}

pub async fn create_plan_with(
    api: &mut PlanServiceClient<Channel>,
    who: &User,
    header: PlanHeader,
) -> String {
    api.create_plan(who.req(CreatePlanRequest {
        header: Some(header),
        unit_contact: None,
    }))
    .await
    .expect("create plan")
    .into_inner()
    .plan
    .unwrap()
    .plan_id
}

pub fn wheel(plan_id: &str, area: WheelArea) -> Fragment {
    Fragment {
        plan_id: plan_id.into(),
        body: Some(Body::WheelAssessment(WheelAssessment {
            area: area as i32,
            needs: NOTE.into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

pub fn put(f: Fragment) -> PutFragmentRequest {
    PutFragmentRequest {
        fragment: Some(f),
        expected_version: None,
    }
}

pub fn consent(plan_id: &str, guardians: &[&str]) -> Consent {
    Consent {
        plan_id: plan_id.into(),
        guardian_consents: guardians
            .iter()
            .map(|g| GuardianConsent {
                guardian_id: (*g).into(),
                form: ConsentForm::Written as i32,
                given_at_unix_ms: 1,
            })
            .collect(),
        valid_until_unix_ms: i64::MAX,
        grants: vec![Grant {
            organization: "region-kronoberg".into(),
            categories: vec![Category::WheelHealth as i32],
            ..Default::default()
        }],
        purpose: "plan-coordination".into(),
        ..Default::default()
    }
}

/// The Swedish calendar day `offset_days` from today, as `YYYY-MM-DD`.
pub fn day(offset_days: i64) -> String {
    let now = kronobarn_node::clock::system_now_ms();
    let (y, m, d) = kronobarn_proto::validate::swedish_date(now + offset_days * 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

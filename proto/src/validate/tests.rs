//! Field checks, and that their messages never quote a value.

use super::*;
use crate::v1::{Child, Guardian, WheelAssessment};

pub(crate) fn header_ok() -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            personal_identity_number: "20121212-1212".into(),
            name: "Testbarn Påhittad".into(),
            birth_date: "2012-12-12".into(),
            ..Default::default()
        }),
        guardians: vec![
            Guardian {
                guardian_id: "g1".into(),
                name: "Vh Ett".into(),
                has_custody: true,
                contact: None,
            },
            Guardian {
                guardian_id: "g2".into(),
                name: "Vh Två".into(),
                has_custody: true,
                contact: None,
            },
        ],
        responsible_organization: String::new(),
        responsible_unit: "rektor-ostra".into(),
        responsible_contact: Some(Contact {
            name: "Rektor Påhittad".into(),
            ..Default::default()
        }),
        follow_up_dates: vec!["2027-01-15".into()],
        follow_up_by: String::new(),
        protected_identity: false,
    }
}

const TODAY: (i32, u32, u32) = (2026, 11, 24);

#[test]
fn dates() {
    assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
    assert_eq!(parse_date("2023-02-29"), None);
    assert_eq!(parse_date("2023-2-28"), None);
    assert_eq!(parse_date("+023-02-28"), None);
    assert_eq!(civil_date(0), (1970, 1, 1));
    for ms in [0i64, 951_782_400_000, 1_700_000_000_000, 4_102_444_800_000] {
        let (y, m, d) = civil_date(ms);
        assert_eq!(days_from_civil(y, m, d), ms / 86_400_000);
    }
    let at = |y, m, d, h: i64, min: i64| {
        days_from_civil(y, m, d) * 86_400_000 + h * 3_600_000 + min * 60_000
    };
    // Winter: UTC+1. Summer time 2026 runs 29 March 01:00 UTC to 25 October 01:00 UTC.
    assert_eq!(swedish_date(at(2026, 12, 1, 23, 30)), (2026, 12, 2));
    assert_eq!(swedish_date(at(2026, 12, 1, 22, 30)), (2026, 12, 1));
    assert_eq!(swedish_date(at(2026, 6, 1, 22, 30)), (2026, 6, 2));
    assert_eq!(swedish_offset_ms(at(2026, 3, 29, 0, 59)), 3_600_000);
    assert_eq!(swedish_offset_ms(at(2026, 3, 29, 1, 0)), 7_200_000);
    assert_eq!(swedish_offset_ms(at(2026, 10, 25, 0, 59)), 7_200_000);
    assert_eq!(swedish_offset_ms(at(2026, 10, 25, 1, 0)), 3_600_000);
    assert_eq!(civil_date(1_700_000_000_000), (2023, 11, 14));
}

#[test]
fn header_errors_name_the_field_not_the_value() {
    let mut h = header_ok();
    assert!(header("h", &h, TODAY).is_ok());
    h.child.as_mut().unwrap().personal_identity_number = "20121212-1213".into();
    let e = header("h", &h, TODAY).unwrap_err();
    assert_eq!(e.field, "h.child.personal_identity_number");
    assert!(e.problem.contains("check digit"));
    assert!(!e.to_string().contains("1213"));
}

#[test]
fn unknown_wheel_area_is_named() {
    let b = Body::WheelAssessment(WheelAssessment {
        area: 42,
        ..Default::default()
    });
    let e = body("fragment", Some(&b), TODAY).unwrap_err();
    assert_eq!(e.field, "fragment.wheel_assessment.area");
    assert!(e.problem.contains("42 is not a wheel area"));
}

#[test]
fn consent_must_have_every_custodial_guardian() {
    let h = header_ok();
    let mut c = Consent {
        plan_id: "0123456789abcdef0123456789abcdef".into(),
        guardian_consents: vec![crate::v1::GuardianConsent {
            guardian_id: "g1".into(),
            form: ConsentForm::Written as i32,
            given_at_unix_ms: 1,
        }],
        valid_until_unix_ms: 10,
        grants: vec![Grant {
            organization: "region-kronoberg".into(),
            categories: vec![Category::WheelHealth as i32],
            ..Default::default()
        }],
        purpose: "plan-coordination".into(),
        ..Default::default()
    };
    let e = consent("consent", &c, Some(&h), Consenters::Guardians).unwrap_err();
    assert!(e.problem.contains("'g2' has custody"), "{e}");
    c.guardian_consents.push(crate::v1::GuardianConsent {
        guardian_id: "g2".into(),
        form: ConsentForm::Oral as i32,
        given_at_unix_ms: 1,
    });
    assert!(consent("consent", &c, Some(&h), Consenters::Guardians).is_ok());
    c.grants[0].categories.push(77);
    assert_eq!(
        consent("consent", &c, Some(&h), Consenters::Guardians)
            .unwrap_err()
            .field,
        "consent.grants[0].categories[1]"
    );
}

#[test]
fn who_consents_follows_the_young_persons_age() {
    let h = header_ok();
    let mut c = Consent {
        plan_id: "0123456789abcdef0123456789abcdef".into(),
        valid_until_unix_ms: 10,
        grants: vec![Grant {
            organization: "region-kronoberg".into(),
            categories: vec![Category::WheelHealth as i32],
            ..Default::default()
        }],
        purpose: "plan-coordination".into(),
        ..Default::default()
    };
    // From 18 the young person alone: no guardian is needed, the young person is.
    let e = consent("consent", &c, Some(&h), Consenters::YoungPerson).unwrap_err();
    assert_eq!(e.field, "consent.young_person_consented");
    assert!(e.problem.contains("18"), "{e}");
    c.young_person_consented = true;
    assert!(consent("consent", &c, Some(&h), Consenters::YoungPerson).is_ok());
    // From 15 where the rules ask for it: both.
    let e = consent("consent", &c, Some(&h), Consenters::GuardiansAndYoungPerson).unwrap_err();
    assert!(e.problem.contains("'g1' has custody"), "{e}");
    for g in ["g1", "g2"] {
        c.guardian_consents.push(crate::v1::GuardianConsent {
            guardian_id: g.into(),
            form: ConsentForm::Written as i32,
            given_at_unix_ms: 1,
        });
    }
    assert!(consent("consent", &c, Some(&h), Consenters::GuardiansAndYoungPerson).is_ok());
    c.young_person_consented = false;
    let e = consent("consent", &c, Some(&h), Consenters::GuardiansAndYoungPerson).unwrap_err();
    assert!(e.problem.contains("15"), "{e}");
    assert!(consent("consent", &c, Some(&h), Consenters::Guardians).is_ok());
    // A guardian who is not the plan's is refused at any age.
    c.guardian_consents[0].guardian_id = "g9".into();
    c.young_person_consented = true;
    assert!(consent("consent", &c, Some(&h), Consenters::YoungPerson).is_err());
}

#[test]
fn a_close_reason_is_a_known_category_and_only_for_closing() {
    use crate::v1::{CloseReason, PlanStage, PlanStatus, StageChange};
    let status = |stage: PlanStage, close_reason: i32| {
        Body::Status(PlanStatus {
            history: vec![StageChange {
                stage: stage as i32,
                changed_by: "rektor.ostra".into(),
                close_reason,
                ..Default::default()
            }],
        })
    };
    let closed = status(PlanStage::Closed, CloseReason::GoalsMet as i32);
    assert!(body("f", Some(&closed), TODAY).is_ok());
    let unknown = status(PlanStage::Closed, 99);
    let e = body("f", Some(&unknown), TODAY).unwrap_err();
    assert_eq!(e.field, "f.status.history[0].close_reason");
    let early = status(PlanStage::Talk, CloseReason::MovedAway as i32);
    let e = body("f", Some(&early), TODAY).unwrap_err();
    assert!(e.problem.contains("only for PLAN_STAGE_CLOSED"), "{e}");
}

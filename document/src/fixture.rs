//! A small invented family for the tests: Alma (12), two guardians, Östra skolan responsible,
//! BUP Växjö and a homework club taking part. Names are invented; no personal identity number
//! is needed, the age comes from the birth date.

use kronobarn_proto::v1::{
    Category, Child, Consent, Contact, CoordinationMeeting, FollowUpRecord, Fragment, Grant,
    Guardian, GuardianConsent, Intervention, Participant, PlanHeader, PlanStage, PlanStatus,
    Revocation, StageChange, WheelArea, WheelAssessment, fragment::Body,
};

use crate::{OrganizationGrant, PlanInput, Reads, UnitName, YEAR_10000_MS};

/// Noon (UTC) of a calendar day, in milliseconds since the Unix epoch.
pub(crate) fn noon(y: i32, m: u32, d: u32) -> i64 {
    kronobarn_proto::validate::days_from_civil(y, m, d) * 86_400_000 + 12 * 3_600_000
}

pub(crate) fn names(org: &str) -> Option<String> {
    match org {
        "vaxjo-kommun" => Some("Växjö kommun".into()),
        "region-kronoberg" => Some("Region Kronoberg".into()),
        "barnens-vanner" => Some("Barnens vänner (idéburen)".into()),
        _ => None,
    }
}

pub(crate) fn units(org: &str, unit: &str) -> Option<UnitName> {
    let (authority, organization) = match (org, unit) {
        ("vaxjo-kommun", "ostra-skolan") => ("Östra skolan", "Växjö kommun"),
        ("region-kronoberg", "bup-vaxjo") => ("BUP Växjö", "Region Kronoberg"),
        ("barnens-vanner", "laxhjalp") => ("Läxhjälpen", "Barnens vänner (idéburen)"),
        _ => return None,
    };
    Some(UnitName {
        authority: authority.into(),
        organization: organization.into(),
    })
}

/// Whom a grant naming only an organisation reaches, as the policy decides it for the family's
/// plan: each organisation has one authority taking part, with one unit.
pub(crate) fn organization_grants(org: &str) -> OrganizationGrant {
    match org {
        "vaxjo-kommun" => OrganizationGrant::Authority(vec!["ostra-skolan".into()]),
        "region-kronoberg" => OrganizationGrant::Authority(vec!["bup-vaxjo".into()]),
        "barnens-vanner" => OrganizationGrant::Authority(vec!["laxhjalp".into()]),
        _ => OrganizationGrant::NoneTakesPart,
    }
}

pub(crate) fn contact(name: &str, title: &str, phone: &str) -> Option<Contact> {
    Some(Contact {
        name: name.into(),
        title: title.into(),
        phone: phone.into(),
        email: String::new(),
    })
}

pub(crate) fn fragment(id: &str, home: &str, written: i64, body: Body) -> Fragment {
    Fragment {
        plan_id: "p".into(),
        fragment_id: id.into(),
        home_organization: home.into(),
        written_at_unix_ms: written,
        body: Some(body),
        ..Default::default()
    }
}

pub(crate) fn header() -> PlanHeader {
    PlanHeader {
        child: Some(Child {
            personal_identity_number: String::new(),
            name: "Alma Svensson".into(),
            birth_date: "2014-05-02".into(),
            ..Default::default()
        }),
        guardians: vec![
            Guardian {
                guardian_id: "g1".into(),
                name: "Vårdnadshavare Ett".into(),
                has_custody: true,
                contact: Some(Contact {
                    name: "Vårdnadshavare Ett".into(),
                    phone: "070-000 00 01".into(),
                    email: "ett@example.invalid".into(),
                    ..Default::default()
                }),
            },
            Guardian {
                guardian_id: "g2".into(),
                name: "Vårdnadshavare Två".into(),
                has_custody: true,
                contact: None,
            },
        ],
        responsible_organization: "vaxjo-kommun".into(),
        responsible_unit: "ostra-skolan".into(),
        responsible_contact: contact("Anna Andersson", "rektor", "0470-123 45"),
        follow_up_dates: vec!["2027-02-15".into()],
        follow_up_by: "Anna Andersson".into(),
        ..Default::default()
    }
}

pub(crate) fn status(stage: PlanStage, meeting_on: &str, invited: &[&str]) -> Fragment {
    fragment(
        "status",
        "vaxjo-kommun",
        1500,
        Body::Status(PlanStatus {
            history: vec![StageChange {
                stage: stage as i32,
                at_unix_ms: noon(2026, 11, 20),
                meeting_on: meeting_on.into(),
                invited_organizations: invited.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
        }),
    )
}

/// Everything the family's plan holds.
pub(crate) struct Fixture {
    pub fragments: Vec<Fragment>,
    pub consent: Option<Consent>,
    pub revocations: Vec<Revocation>,
    pub reads: Vec<Reads>,
}

impl Fixture {
    pub(crate) fn family() -> Self {
        let participant = |org: &str, unit: &str, c| {
            fragment(
                &format!("participant-{unit}"),
                "vaxjo-kommun",
                1200,
                Body::Participant(Participant {
                    organization: org.into(),
                    unit: unit.into(),
                    contact: c,
                }),
            )
        };
        let fragments = vec![
            fragment("header", "vaxjo-kommun", 1000, Body::Header(header())),
            status(PlanStage::Revised, "", &[]),
            participant(
                "vaxjo-kommun",
                "ostra-skolan",
                contact("Anna Andersson", "rektor", "0470-123 45"),
            ),
            participant(
                "region-kronoberg",
                "bup-vaxjo",
                contact("Petra Påhittad", "psykolog", "0470-588 00"),
            ),
            participant(
                "barnens-vanner",
                "laxhjalp",
                contact("Lena Ledare", "samordnare", ""),
            ),
            fragment(
                "iv-bup",
                "region-kronoberg",
                2000,
                Body::Intervention(Intervention {
                    what: "Samtal på BUP varannan vecka".into(),
                    who: "BUP Växjö".into(),
                    responsible: contact("Petra Påhittad", "psykolog", ""),
                    from_date: "2026-12-01".into(),
                    to_date: "2027-06-01".into(),
                    follow_up_date: "2027-01-20".into(),
                    follow_up_by: "Petra Påhittad".into(),
                }),
            ),
            fragment(
                "meeting",
                "vaxjo-kommun",
                2100,
                Body::Meeting(CoordinationMeeting {
                    held_on: "2026-11-10".into(),
                    attendees: vec!["Alma".into(), "Anna Andersson".into()],
                    child_view: "Jag vill ha en vuxen att gå till på rasten.".into(),
                    guardians_view: "Vi vill att skolan och BUP samarbetar.".into(),
                    decisions: vec!["Rastvärd varje dag.".into()],
                    guardians_present: true,
                }),
            ),
            fragment(
                "wheel-learning",
                "vaxjo-kommun",
                2200,
                Body::WheelAssessment(WheelAssessment {
                    area: WheelArea::Learning as i32,
                    needs: "Svårt att komma igång med läsning.".into(),
                    strengths: "Nyfiken.".into(),
                    child_view: "Jag vill kunna läsa som de andra.".into(),
                    assessed_on: "2026-11-01".into(),
                }),
            ),
            // The follow-up of the whole plan moved its next date from 15 February to 20 March.
            fragment(
                "follow-up-1",
                "vaxjo-kommun",
                3000,
                Body::FollowUp(FollowUpRecord {
                    held_on: "2026-11-20".into(),
                    intervention_fragment_id: String::new(),
                    outcome: "Alma är i skolan nästan varje dag.".into(),
                    next_follow_up_date: "2027-03-20".into(),
                }),
            ),
        ];
        let base = [Category::Identity as i32, Category::Participants as i32];
        let consent = Consent {
            plan_id: "p".into(),
            consent_version: 1,
            consent_home: "vaxjo-kommun".into(),
            guardian_consents: ["g1", "g2"]
                .iter()
                .map(|g| GuardianConsent {
                    guardian_id: g.to_string(),
                    form: 1,
                    given_at_unix_ms: noon(2026, 11, 5),
                })
                .collect(),
            child_view: "Skolan och BUP får prata med varandra.".into(),
            recorded_at_unix_ms: noon(2026, 11, 5),
            valid_until_unix_ms: YEAR_10000_MS,
            grants: vec![
                Grant {
                    organization: "region-kronoberg".into(),
                    categories: base
                        .iter()
                        .copied()
                        .chain([Category::WheelHealth as i32, Category::Interventions as i32])
                        .collect(),
                    ..Default::default()
                },
                Grant {
                    organization: "barnens-vanner".into(),
                    categories: vec![Category::Interventions as i32],
                    ..Default::default()
                },
            ],
            purpose: "plan-coordination".into(),
            ..Default::default()
        };
        Self {
            fragments,
            consent: Some(consent),
            revocations: vec![],
            reads: vec![Reads {
                organization: "region-kronoberg".into(),
                unit: "bup-vaxjo".into(),
                count: 3,
                last_unix_ms: noon(2026, 11, 12),
            }],
        }
    }

    /// The header fragment, to change in a test.
    pub(crate) fn header_mut(&mut self) -> &mut PlanHeader {
        match self.fragments[0].body.as_mut() {
            Some(Body::Header(h)) => h,
            _ => unreachable!("the first fragment is the header"),
        }
    }

    /// The guardians' copy made at Växjö kommun on 25 November 2026.
    pub(crate) fn input(&self) -> PlanInput<'_> {
        PlanInput {
            plan_id: "p",
            home_organization: "vaxjo-kommun",
            fragments: &self.fragments,
            withheld: 0,
            consent: self.consent.as_ref(),
            revocations: &self.revocations,
            today: (2026, 11, 25),
            made_at_unix_ms: noon(2026, 11, 25),
            made_by: "vaxjo-kommun",
            names: &names,
            unit_names: &units,
            authority_names: &|_| None,
            organization_grants: &organization_grants,
            reads: &self.reads,
            copy_for: None,
            guardian_copy: true,
            withheld_from_guardians: 0,
            protected_identity: false,
        }
    }
}

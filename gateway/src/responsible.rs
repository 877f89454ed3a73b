//! Barnens bästa-ansvarig on the wire: the child's facts as the responsibility rule needs them,
//! a plan's due handover (for the follow-up index and its listings), and the directory's answer
//! about a unit. Used by the client API and by the node's index alike, so both read the rule the
//! same way.

use kronobarn_policy::responsibility::{ChildFacts, Responsible, Schooling, Transition};
use kronobarn_policy::{Date, Directory, ServiceKind};
use kronobarn_proto::v1::{
    Child, Contact, Fragment, ResponsibleUnit, ServiceUnit, ServiceUnitKind, fragment::Body,
};
use kronobarn_proto::validate::FieldError;

/// The policy's schooling for the wire's (an unknown number is read as not said).
pub fn schooling(wire: i32) -> Schooling {
    use kronobarn_proto::v1::Schooling as W;
    match W::try_from(wire) {
        Ok(W::None) => Schooling::None,
        Ok(W::Preschool) => Schooling::Preschool,
        Ok(W::Compulsory) => Schooling::School,
        Ok(W::UpperSecondary) => Schooling::UpperSecondary,
        Ok(W::Left) => Schooling::LeftSchool,
        Ok(W::Unspecified) | Err(_) => Schooling::Unknown,
    }
}

/// What the rule needs of the child: birth (or expected month) and schooling; `None` when the
/// birth is not known (a reserve number without a birth date).
pub fn child_facts(child: &Child) -> Option<ChildFacts> {
    Some(ChildFacts {
        birth: crate::convert::birth(child)?,
        schooling: schooling(child.schooling),
    })
}

/// A handover the model makes due for a plan, as the follow-up index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverDue {
    /// The index's date: the first of the month it falls due in, or the day the header was
    /// written when that is later. Dates in keys are never a birthday.
    pub index_date: String,
    /// The handover: to which kind, by when, why.
    pub transition: Transition,
    /// The responsible unit that must make it.
    pub responsible_unit: String,
}

/// The handover due now or next for the plan whose header is `header` and whose home is `home`
/// (this node's organisation when `home_here`): from the child's facts and the responsible
/// unit's kind in `directory`. A receiver that does not know the responsible unit's kind says
/// nothing; at the home an unlisted unit is of kind other, which must always hand over.
pub fn handover_due(
    header: &Fragment,
    home: &str,
    home_here: bool,
    directory: &Directory,
) -> Option<HandoverDue> {
    let Some(Body::Header(h)) = &header.body else {
        return None;
    };
    let facts = child_facts(h.child.as_ref()?)?;
    // A header naming no responsible organisation is its writer's.
    let organization = match (&h.responsible_organization, &header.home_organization) {
        (o, _) if !o.is_empty() => o.as_str(),
        (_, w) if !w.is_empty() => w.as_str(),
        _ => home,
    };
    let kind = match directory.authority_of(organization, &h.responsible_unit) {
        Some(a) => a.kind,
        None if home_here && organization == home => kronobarn_policy::AuthorityKind::Other,
        None => return None,
    };
    let written = Date::in_sweden(header.written_at_unix_ms);
    let t = kronobarn_policy::responsibility::next_transition(facts, kind, written)?;
    let month_start = Date { day: 1, ..t.due };
    Some(HandoverDue {
        index_date: month_start.max(written).to_string(),
        transition: t,
        responsible_unit: h.responsible_unit.clone(),
    })
}

/// The header's identity number in its normal form (12 digits, `YYYYMMDD-NNNC`, so a 10-digit
/// number's century is fixed when it is written, not guessed when read) and its kind said
/// outright. The header was validated; anything that does not parse is left as it is.
pub fn normalise(header: &mut kronobarn_proto::v1::PlanHeader, today: (i32, u32, u32)) {
    use kronobarn_proto::v1::IdentityKind as K;
    let Some(c) = header.child.as_mut() else {
        return;
    };
    let numbered = matches!(
        K::try_from(c.identity_kind),
        Ok(K::Unspecified | K::PersonalIdentityNumber | K::CoordinationNumber)
    );
    if !numbered {
        return;
    }
    if let Ok(p) = kronobarn_proto::personnummer::parse(&c.personal_identity_number, today) {
        c.personal_identity_number = p.as_str().to_string();
        c.identity_kind = if p.is_coordination_number() {
            K::CoordinationNumber
        } else {
            K::PersonalIdentityNumber
        } as i32;
    }
}

/// The policy's service unit for the wire's, or the field that is wrong.
pub fn service_unit(
    field: &str,
    s: &ServiceUnit,
) -> Result<kronobarn_policy::ServiceUnit, FieldError> {
    let kind = match ServiceUnitKind::try_from(s.kind) {
        Ok(ServiceUnitKind::MaternityClinic) => ServiceKind::MaternityClinic,
        Ok(ServiceUnitKind::ChildHealthCentre) => ServiceKind::ChildHealthCentre,
        Ok(ServiceUnitKind::Preschool) => ServiceKind::Preschool,
        Ok(ServiceUnitKind::School) => ServiceKind::School,
        Ok(ServiceUnitKind::HomeMunicipality) => ServiceKind::HomeMunicipality,
        _ => {
            return Err(FieldError::new(
                format!("{field}.kind"),
                "must be a kind of service unit (maternity clinic, child health centre, preschool, school, home municipality)",
            ));
        }
    };
    let code_ok = (1..=32).contains(&s.code.len())
        && s.code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !code_ok {
        return Err(FieldError::new(
            format!("{field}.code"),
            "must be a public code of 1 to 32 letters, digits and '-'",
        ));
    }
    Ok(kronobarn_policy::ServiceUnit {
        kind,
        code: s.code.clone(),
    })
}

/// The wire's answer for the directory's responsible unit.
pub fn answer(
    r: Responsible<'_>,
    organization_name: Option<String>,
    contact: Option<Contact>,
) -> ResponsibleUnit {
    ResponsibleUnit {
        authority: r.authority.id.clone(),
        authority_name: r.authority.name.clone(),
        authority_kind: r.authority.kind.slug().to_string(),
        organization: r.authority.organization.clone(),
        organization_name: organization_name.unwrap_or_default(),
        unit: r.unit.unit.clone(),
        contact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kronobarn_policy::{Authority, AuthorityKind, DirectoryUnit};
    use kronobarn_proto::v1::{IdentityKind, PlanHeader};

    fn directory() -> Directory {
        let mut d = Directory::new();
        for (id, kind, unit) in [
            ("region-mvc", AuthorityKind::MaternityCare, "mvc"),
            ("region-bvc", AuthorityKind::ChildHealthCare, "bvc"),
        ] {
            d.add_authority(Authority {
                id: id.into(),
                organization: "region".into(),
                kind,
                name: id.into(),
            })
            .unwrap();
            d.add_unit(DirectoryUnit {
                organization: "region".into(),
                unit: unit.into(),
                authority: id.into(),
                serves: vec![],
            })
            .unwrap();
        }
        d
    }

    fn header(child: Child, unit: &str, written: &str) -> Fragment {
        let (y, m, d) = kronobarn_proto::validate::parse_date(written).unwrap();
        Fragment {
            written_at_unix_ms: kronobarn_proto::validate::days_from_civil(y, m, d) * 86_400_000
                + 12 * 3_600_000,
            body: Some(Body::Header(PlanHeader {
                child: Some(child),
                responsible_unit: unit.into(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn maternity_care_hands_over_to_bvc_when_the_birth_is_recorded() {
        let unborn = Child {
            identity_kind: IdentityKind::Unborn as i32,
            expected_month: "2027-02".into(),
            ..Default::default()
        };
        let d = directory();
        assert_eq!(
            handover_due(&header(unborn, "mvc", "2026-11-20"), "region", true, &d),
            None
        );
        let born = Child {
            identity_kind: IdentityKind::ReserveNumber as i32,
            personal_identity_number: "KRONOBERG-R-0042".into(),
            birth_date: "2027-01-28".into(),
            ..Default::default()
        };
        let due = handover_due(
            &header(born.clone(), "mvc", "2027-02-03"),
            "region",
            true,
            &d,
        )
        .unwrap();
        // Due on the birth day, indexed on the day it was written (never the birthday).
        assert_eq!(due.transition.due.to_string(), "2027-01-28");
        assert_eq!(
            due.transition.to,
            Some(AuthorityKind::ChildHealthCare),
            "to BVC"
        );
        assert_eq!(due.index_date, "2027-02-03");
        // BVC holds it until school starts: indexed from that month's first.
        let bvc = handover_due(&header(born, "bvc", "2027-02-03"), "region", true, &d).unwrap();
        assert_eq!(bvc.transition.due.to_string(), "2033-07-01");
        assert_eq!(bvc.index_date, "2033-07-01");
        // A receiver that does not know the responsible unit says nothing.
        let unknown = Child {
            personal_identity_number: "20170101-2393".into(),
            ..Default::default()
        };
        assert_eq!(
            handover_due(
                &header(unknown.clone(), "skola", "2026-11-20"),
                "vaxjo",
                false,
                &d
            ),
            None
        );
        // At the home, an unlisted unit must hand over at once.
        let home =
            handover_due(&header(unknown, "skola", "2026-11-20"), "vaxjo", true, &d).unwrap();
        assert_eq!(home.transition.because.code(), "never-responsible");
        assert_eq!(home.transition.to, Some(AuthorityKind::School));
    }

    #[test]
    fn service_units_are_checked_without_quoting() {
        let ok = ServiceUnit {
            kind: ServiceUnitKind::School as i32,
            code: "12345678".into(),
        };
        assert!(service_unit("u", &ok).is_ok());
        let e = service_unit(
            "u",
            &ServiceUnit {
                code: "19121212-1212 x".into(),
                ..ok.clone()
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "u.code");
        assert!(!e.to_string().contains("1212"));
        assert!(service_unit("u", &ServiceUnit { kind: 0, ..ok }).is_err());
    }
}

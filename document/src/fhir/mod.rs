//! A plan as a FHIR R4 (4.0.1) Bundle of type `collection`, for the region's health records and
//! other systems that speak FHIR.
//!
//! - `CarePlan`: the plan; each intervention and each planned follow-up is an activity, and
//!   follow-up records are the activities' progress notes.
//! - `Consent`: the current consent (a `permit` provision per receiving organisation and
//!   category) and each revocation in force (a `deny` provision).
//! - `AuditEvent`: one per access record about the plan in this node's log.
//! - `Organization`, `Patient` and `RelatedPerson` (the guardians) as referenced.
//!
//! Entries are identified by `urn:uuid:` full URLs derived from the plan id, so exporting the same
//! plan twice names the same resources. Only what the reader may see is included: without the
//! identity category the `Patient` carries no identifier, name or birth date.

use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Category, Decision, PlanHeader, PlanStage, fragment::Body,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Lang, OrganizationGrant, PlanInput, instant};

/// OID of the Swedish personal identity number (personnummer).
const PERSONNUMMER_OID: &str = "urn:oid:1.2.752.129.2.1.3.1";
/// OID of the Swedish coordination number (samordningsnummer).
const SAMORDNINGSNUMMER_OID: &str = "urn:oid:1.2.752.129.2.1.3.3";

/// A stable `urn:uuid:` for `what` in `plan_id`'s export.
fn urn(plan_id: &str, what: &str) -> String {
    let h = Sha256::digest(format!("kronobarn/fhir\0{plan_id}\0{what}").as_bytes());
    let mut b: [u8; 16] = h[..16].try_into().expect("16 bytes");
    // RFC 9562 version 8 (custom), variant 10.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn id_of(urn: &str) -> &str {
    urn.trim_start_matches("urn:uuid:")
}

struct Bundle<'a> {
    input: &'a PlanInput<'a>,
    entries: Vec<Value>,
    orgs: std::collections::BTreeSet<String>,
    /// Authorities referenced, as (organisation, unit): each an Organization partOf its
    /// organisation.
    units: std::collections::BTreeSet<(String, String)>,
    /// Authorities (by directory id) referenced, each an Organization part of its organisation.
    authorities: std::collections::BTreeSet<String>,
    /// The units of each organisation that take part in the plan.
    participants: std::collections::BTreeMap<String, Vec<String>>,
}

impl Bundle<'_> {
    fn org(&mut self, org: &str) -> Value {
        self.orgs.insert(org.to_string());
        json!({ "reference": urn(self.input.plan_id, &format!("organization/{org}")), "display": self.input.name(org) })
    }

    /// An authority (a unit of an organisation); the organisation when no unit is named.
    fn unit(&mut self, org: &str, unit: &str) -> Value {
        if unit.is_empty() {
            return self.org(org);
        }
        self.orgs.insert(org.to_string());
        self.units.insert((org.to_string(), unit.to_string()));
        json!({
            "reference": urn(self.input.plan_id, &format!("unit/{org}/{unit}")),
            "display": self.input.unit_name(Lang::Sv, org, unit).full(),
        })
    }

    /// The organisation's units in the plan, or the organisation when none is known: whom a
    /// withdrawal from the whole organisation covers. (Whom a grant naming only the organisation
    /// reaches is the policy's decision: [`Bundle::grant_to`].)
    fn grantees(&mut self, org: &str) -> Vec<Value> {
        let units = self.participants.get(org).cloned().unwrap_or_default();
        if units.is_empty() {
            return vec![self.org(org)];
        }
        units.iter().map(|u| self.unit(org, u)).collect()
    }

    /// An authority by directory id, as part of its organisation; the organisation alone
    /// (when the directory knows it) or nothing.
    fn authority(&mut self, id: &str) -> Option<Value> {
        let (org, _) = (self.input.authority_names)(id)?;
        self.orgs.insert(org.clone());
        self.authorities.insert(id.to_string());
        Some(json!({
            "reference": urn(self.input.plan_id, &format!("authority/{id}")),
            "display": self.input.authority_name(Lang::Sv, id).map(|a| a.full()).unwrap_or_default(),
        }))
    }

    /// Whom a grant reaches: its unit, its authority, or, for a grant naming only an
    /// organisation, what the policy decides: the units in the plan of the one authority of the
    /// organisation taking part (the organisation when none of them is known here), or nobody.
    fn grant_to(&mut self, g: &kronobarn_proto::v1::Grant) -> Vec<Value> {
        if !g.unit.is_empty() {
            return vec![self.unit(&g.organization, &g.unit)];
        }
        if !g.authority.is_empty() {
            return vec![
                self.authority(&g.authority)
                    .unwrap_or_else(|| self.org(&g.organization)),
            ];
        }
        match (self.input.organization_grants)(&g.organization) {
            OrganizationGrant::Authority(reached) => {
                let units: Vec<String> = self
                    .participants
                    .get(&g.organization)
                    .into_iter()
                    .flatten()
                    .filter(|u| reached.contains(u))
                    .cloned()
                    .collect();
                if units.is_empty() {
                    return vec![self.org(&g.organization)];
                }
                units
                    .iter()
                    .map(|u| self.unit(&g.organization, u))
                    .collect()
            }
            OrganizationGrant::NoneTakesPart | OrganizationGrant::Ambiguous => Vec::new(),
        }
    }

    fn push(&mut self, full_url: String, mut resource: Value) {
        resource["id"] = json!(id_of(&full_url));
        self.entries
            .push(json!({ "fullUrl": full_url, "resource": resource }));
    }
}

fn category_code(c: Category) -> &'static str {
    match c {
        Category::Unspecified => "unspecified",
        Category::Identity => "identity",
        Category::Participants => "participants",
        Category::WheelHealth => "wheel-health",
        Category::WheelDevelopment => "wheel-development",
        Category::WheelLearning => "wheel-learning",
        Category::WheelCare => "wheel-care",
        Category::WheelHome => "wheel-home",
        Category::WheelRelationships => "wheel-relationships",
        Category::WheelSafety => "wheel-safety",
        Category::Interventions => "interventions",
        Category::Meetings => "meetings",
        Category::FollowUps => "follow-ups",
    }
}

fn category_concept(c: i32) -> Value {
    let c = Category::try_from(c).unwrap_or_default();
    json!({ "coding": [{
        "system": "urn:kronobarn:category",
        "code": category_code(c),
        "display": crate::words::category(Lang::En, crate::words::Reader::Guardians, c),
    }] })
}

fn telecom(c: &kronobarn_proto::v1::Contact) -> Vec<Value> {
    let mut v = Vec::new();
    if !c.phone.is_empty() {
        v.push(json!({ "system": "phone", "value": c.phone }));
    }
    if !c.email.is_empty() {
        v.push(json!({ "system": "email", "value": c.email }));
    }
    v
}

/// The plan as a FHIR R4 Bundle. `log` holds the access records about the plan with their log
/// index; each becomes an AuditEvent.
pub fn bundle(input: &PlanInput<'_>, log: &[(u64, AccessRecord)]) -> Value {
    let mut participants = std::collections::BTreeMap::<String, Vec<String>>::new();
    for f in input.fragments {
        if let Some(Body::Participant(x)) = &f.body
            && !x.unit.is_empty()
        {
            let units = participants.entry(x.organization.clone()).or_default();
            if !units.contains(&x.unit) {
                units.push(x.unit.clone());
            }
        }
    }
    let mut b = Bundle {
        input,
        entries: Vec::new(),
        orgs: Default::default(),
        units: Default::default(),
        authorities: Default::default(),
        participants,
    };
    // Protected personal data: marked restricted, and no contact details of child or guardians.
    let restricted = json!({ "security": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "code": "R",
        "display": "restricted",
    }] });
    let plan = input.plan_id;
    let header: Option<&PlanHeader> = input.fragments.iter().find_map(|f| match &f.body {
        Some(Body::Header(h)) => Some(h),
        _ => None,
    });
    let today = input.today_iso();

    // The child, and the guardians as RelatedPersons.
    let patient = urn(plan, "patient");
    let mut p = json!({ "resourceType": "Patient" });
    let mut guardians = std::collections::BTreeMap::new();
    if let Some(h) = header {
        if let Some(c) = &h.child {
            let pnr =
                kronobarn_proto::personnummer::parse(&c.personal_identity_number, input.today);
            if let Ok(pnr) = pnr {
                p["identifier"] = json!([{
                    "system": if pnr.is_coordination_number() { SAMORDNINGSNUMMER_OID } else { PERSONNUMMER_OID },
                    "value": pnr.as_str().replace('-', ""),
                }]);
            }
            if !c.name.is_empty() {
                p["name"] = json!([{ "text": c.name }]);
            }
            // A child not yet born has no birth date, only an expected month.
            if let Some(born) = kronobarn_proto::validate::parse_date(&c.birth_date)
                && born <= input.today
            {
                p["birthDate"] = json!(c.birth_date);
            }
        }
        for g in &h.guardians {
            let u = urn(plan, &format!("guardian/{}", g.guardian_id));
            let mut r = json!({
                "resourceType": "RelatedPerson",
                "identifier": [{ "system": format!("urn:kronobarn:plan:{plan}:guardian"), "value": g.guardian_id }],
                "patient": { "reference": patient },
                "relationship": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                    "code": "GUARD",
                    "display": "guardian",
                }] }],
                "name": [{ "text": g.name }],
            });
            if let Some(c) = &g.contact
                && !telecom(c).is_empty()
                && !input.protected_identity
            {
                r["telecom"] = json!(telecom(c));
            }
            if input.protected_identity {
                r["meta"] = restricted.clone();
            }
            guardians.insert(g.guardian_id.clone(), u.clone());
            b.push(u, r);
        }
    }
    if input.protected_identity {
        p["meta"] = restricted.clone();
    }
    b.push(patient.clone(), p);

    // The plan.
    let stage = input
        .fragments
        .iter()
        .find_map(|f| match &f.body {
            Some(Body::Status(s)) => s.history.last().map(|c| c.stage),
            _ => None,
        })
        .and_then(|s| PlanStage::try_from(s).ok())
        .unwrap_or(PlanStage::NeedNoticed);
    let status = match stage {
        PlanStage::Closed => "completed",
        PlanStage::Agreed | PlanStage::FollowUp | PlanStage::Revised => "active",
        _ => "draft",
    };
    let mut activities = Vec::new();
    if let Some(h) = header {
        for d in &h.follow_up_dates {
            activities.push(json!({ "detail": {
                "kind": "Appointment",
                "status": if d.as_str() < today.as_str() { "completed" } else { "scheduled" },
                "description": format!("Follow-up of the whole plan{}", if h.follow_up_by.is_empty() { String::new() } else { format!(" by {}", h.follow_up_by) }),
                "scheduledString": d,
            } }));
        }
    }
    let records: Vec<_> = input
        .fragments
        .iter()
        .filter_map(|f| match &f.body {
            Some(Body::FollowUp(x)) => Some(x),
            _ => None,
        })
        .collect();
    for f in input.fragments {
        let Some(Body::Intervention(iv)) = &f.body else {
            continue;
        };
        let status = if !iv.to_date.is_empty() && iv.to_date < today {
            "completed"
        } else if iv.from_date > today {
            "not-started"
        } else {
            "in-progress"
        };
        let mut period = json!({ "start": iv.from_date });
        if !iv.to_date.is_empty() {
            period["end"] = json!(iv.to_date);
        }
        let mut detail = json!({
            "kind": "ServiceRequest",
            "status": status,
            "description": format!("{} ({})", iv.what, iv.who),
            "scheduledPeriod": period,
            "performer": [b.org(&f.home_organization)],
        });
        if !iv.follow_up_date.is_empty() {
            detail["description"] = json!(format!(
                "{} ({}); follow-up {}{}",
                iv.what,
                iv.who,
                iv.follow_up_date,
                if iv.follow_up_by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", iv.follow_up_by)
                }
            ));
        }
        let mut activity = json!({ "detail": detail });
        let progress: Vec<Value> = records
            .iter()
            .filter(|r| r.intervention_fragment_id == f.fragment_id)
            .map(|r| json!({ "time": r.held_on, "text": r.outcome }))
            .collect();
        if !progress.is_empty() {
            activity["progress"] = json!(progress);
        }
        activities.push(activity);
    }
    let notes: Vec<Value> = records
        .iter()
        .filter(|r| r.intervention_fragment_id.is_empty())
        .map(|r| json!({ "time": r.held_on, "text": r.outcome }))
        .collect();
    let mut contributors: Vec<(String, String)> = input
        .fragments
        .iter()
        .filter_map(|f| match &f.body {
            Some(Body::Participant(x)) => Some((x.organization.clone(), x.unit.clone())),
            _ => None,
        })
        .collect();
    contributors.sort();
    contributors.dedup();
    let author = match header {
        Some(h) if !h.responsible_organization.is_empty() => {
            b.unit(&h.responsible_organization, &h.responsible_unit)
        }
        Some(h) => b.unit(input.home_organization, &h.responsible_unit),
        None => b.org(input.home_organization),
    };
    let mut care_plan = json!({
        "resourceType": "CarePlan",
        "identifier": [{ "system": "urn:kronobarn:plan", "value": plan }],
        "status": status,
        "intent": "plan",
        "title": "Barnets plan (the child's coordinated plan)",
        "description": crate::words::stage(Lang::En, crate::words::Reader::Guardians, stage, None),
        "subject": { "reference": patient },
        "author": author,
    });
    if !contributors.is_empty() {
        care_plan["contributor"] = json!(
            contributors
                .iter()
                .map(|(o, u)| b.unit(o, u))
                .collect::<Vec<_>>()
        );
    }
    if !activities.is_empty() {
        care_plan["activity"] = json!(activities);
    }
    if !notes.is_empty() {
        care_plan["note"] = json!(notes);
    }
    b.push(urn(plan, "careplan"), care_plan);

    consent::consents(&mut b, plan, &patient, header, &guardians);

    // The access log about the plan.
    let care_plan_ref = urn(plan, "careplan");
    for (index, r) in log {
        let action = AccessAction::try_from(r.action).unwrap_or_default();
        let (type_code, type_display, act, interaction) = match action {
            AccessAction::Send => ("110106", "Export", "R", "read"),
            AccessAction::Receive => ("110107", "Import", "C", "create"),
            AccessAction::Write => ("110110", "Patient Record", "U", "update"),
            AccessAction::Purge => ("110110", "Patient Record", "D", "delete"),
            AccessAction::List => ("110110", "Patient Record", "R", "search-type"),
            AccessAction::Read | AccessAction::Unspecified => {
                ("110110", "Patient Record", "R", "read")
            }
        };
        let permit = r.decision == Decision::Permit as i32;
        let mut details =
            vec![json!({ "type": "access-log-index", "valueString": index.to_string() })];
        if !r.fragment_id.is_empty() {
            details.push(json!({ "type": "fragment", "valueString": r.fragment_id }));
        }
        if !r.content_hash.is_empty() {
            details.push(json!({ "type": "content-sha256", "valueString": r.content_hash }));
        }
        if r.consent_version > 0 {
            details.push(
                json!({ "type": "consent-version", "valueString": r.consent_version.to_string() }),
            );
        }
        let mut agent = json!({
            "who": { "identifier": { "system": format!("urn:kronobarn:organization:{}:user", r.organization), "value": r.user_id } },
            "requestor": true,
        });
        if !r.role.is_empty() {
            agent["role"] = json!([{ "text": r.role }]);
        }
        if !r.purpose.is_empty() {
            agent["purposeOfUse"] = json!([{ "text": r.purpose }]);
        }
        let org = b.unit(&r.organization, &r.unit);
        let observer = b.org(input.made_by);
        let event = json!({
            "resourceType": "AuditEvent",
            "type": { "system": "http://dicom.nema.org/resources/ontology/DCM", "code": type_code, "display": type_display },
            "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": interaction }],
            "action": act,
            "recorded": instant(r.at_unix_ms),
            "outcome": if permit { "0" } else { "4" },
            "outcomeDesc": r.reason,
            "agent": [agent, { "who": org, "requestor": false }],
            "source": {
                "site": input.made_by,
                "observer": observer,
                "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }],
            },
            "entity": [{
                "what": { "reference": care_plan_ref },
                "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
                "detail": details,
            }],
        });
        b.push(urn(plan, &format!("audit/{index}")), event);
    }

    // Every authority a grant or revocation names, as part of its organisation.
    for id in std::mem::take(&mut b.authorities) {
        let Some((org, name)) = (input.authority_names)(&id) else {
            continue;
        };
        let part_of = b.org(&org);
        b.push(
            urn(plan, &format!("authority/{id}")),
            json!({
                "resourceType": "Organization",
                "identifier": [{ "system": "urn:kronobarn:authority", "value": id }],
                "active": true,
                "name": name,
                "partOf": part_of,
            }),
        );
    }
    // Every unit referenced, as part of its organisation.
    for (org, unit) in std::mem::take(&mut b.units) {
        let u = urn(plan, &format!("unit/{org}/{unit}"));
        let name = input.unit_name(Lang::Sv, &org, &unit);
        let part_of = b.org(&org);
        b.push(
            u,
            json!({
                "resourceType": "Organization",
                "identifier": [{ "system": format!("urn:kronobarn:organization:{org}:unit"), "value": unit }],
                "active": true,
                "name": if name.authority.is_empty() { unit.clone() } else { name.authority },
                "partOf": part_of,
            }),
        );
    }
    // Every organisation referenced.
    for org in std::mem::take(&mut b.orgs) {
        let u = urn(plan, &format!("organization/{org}"));
        b.push(
            u,
            json!({
                "resourceType": "Organization",
                "identifier": [{ "system": "urn:kronobarn:organization", "value": org }],
                "active": true,
                "name": input.name(&org),
            }),
        );
    }

    let mut meta = json!({ "lastUpdated": instant(input.made_at_unix_ms) });
    if input.protected_identity {
        meta["security"] = restricted["security"].clone();
    }
    json!({
        "resourceType": "Bundle",
        "id": id_of(&urn(plan, &format!("bundle/{}", input.made_at_unix_ms))),
        "meta": meta,
        "identifier": { "system": "urn:kronobarn:plan", "value": plan },
        "type": "collection",
        "timestamp": instant(input.made_at_unix_ms),
        "entry": b.entries,
    })
}

mod consent;

#[cfg(test)]
mod tests;

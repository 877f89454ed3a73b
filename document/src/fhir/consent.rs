//! The consent and the revocations in force as FHIR Consent resources: a permit provision per
//! grant naming the authorities it reaches, the guardians (and the young person, where their own
//! consent is recorded) as performers; a deny per revocation.

use std::collections::BTreeMap;

use kronobarn_proto::v1::PlanHeader;
use serde_json::{Value, json};

use super::{Bundle, category_concept, urn};
use crate::instant;

/// Adds the plan's Consent resources to `b`.
pub(super) fn consents(
    b: &mut Bundle<'_>,
    plan: &str,
    patient: &str,
    header: Option<&PlanHeader>,
    guardians: &BTreeMap<String, String>,
) {
    let input = b.input;
    if let Some(c) = input.consent {
        // A grant that reaches nobody (one naming only an organisation, several of whose
        // authorities take part) permits nothing, so it has no provision: a provision without
        // an actor would permit every recipient.
        let provisions: Vec<Value> = c
            .grants
            .iter()
            .filter_map(|g| {
                let actors: Vec<Value> = b
                    .grant_to(g)
                    .into_iter()
                    .map(|r| json!({
                        "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient" }] },
                        "reference": r,
                    }))
                    .collect();
                (!actors.is_empty()).then(|| json!({
                    "type": "permit",
                    "actor": actors,
                    "code": g.categories.iter().map(|c| category_concept(*c)).collect::<Vec<_>>(),
                }))
            })
            .collect();
        // Who consented: the guardians, and the young person (the Patient) where their own
        // consent is recorded.
        let mut performers: Vec<Value> = c
            .guardian_consents
            .iter()
            .filter_map(|g| guardians.get(&g.guardian_id))
            .map(|u| json!({ "reference": u }))
            .collect();
        if c.young_person_consented {
            performers.push(json!({ "reference": patient }));
        }
        // The consent home names the authority that holds the thread, when the header says.
        let consent_home = match header {
            Some(h)
                if h.responsible_organization == c.consent_home
                    && !h.responsible_unit.is_empty() =>
            {
                b.unit(&c.consent_home, &h.responsible_unit)
            }
            _ => b.org(&c.consent_home),
        };
        let mut consent = json!({
            "resourceType": "Consent",
            "identifier": [{ "system": format!("urn:kronobarn:plan:{plan}:consent"), "value": c.consent_version.to_string() }],
            "status": if c.valid_until_unix_ms > input.made_at_unix_ms { "active" } else { "inactive" },
            "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent" }] },
            "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }] }],
            "patient": { "reference": patient },
            "dateTime": instant(c.recorded_at_unix_ms),
            "organization": [consent_home],
            "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in" }] },
            "provision": {
                "type": "permit",
                "period": { "start": instant(c.recorded_at_unix_ms) },
            },
        });
        if c.valid_until_unix_ms < crate::YEAR_10000_MS {
            consent["provision"]["period"]["end"] = json!(instant(c.valid_until_unix_ms));
        }
        if !performers.is_empty() {
            consent["performer"] = json!(performers);
        }
        if !provisions.is_empty() {
            consent["provision"]["provision"] = json!(provisions);
        }
        b.push(urn(plan, "consent"), consent);
    }
    for r in input.revocations {
        let mut deny = json!({ "type": "deny" });
        if !r.organizations.is_empty() || !r.authorities.is_empty() {
            let mut refs: Vec<Value> = r.organizations.iter().flat_map(|o| b.grantees(o)).collect();
            refs.extend(r.authorities.iter().filter_map(|a| b.authority(a)));
            deny["actor"] = json!(refs.into_iter().map(|r| json!({
                "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient" }] },
                "reference": r,
            })).collect::<Vec<_>>());
        }
        if !r.categories.is_empty() {
            deny["code"] = json!(
                r.categories
                    .iter()
                    .map(|c| category_concept(*c))
                    .collect::<Vec<_>>()
            );
        }
        let mut consent = json!({
            "resourceType": "Consent",
            "identifier": [{ "system": format!("urn:kronobarn:plan:{plan}:revocation"), "value": r.revocation_id }],
            "status": "active",
            "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent" }] },
            "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }] }],
            "patient": { "reference": patient },
            "dateTime": instant(r.recorded_at_unix_ms),
            "organization": [b.org(&r.recorded_at_organization)],
            "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT", "display": "opt-out" }] },
            "provision": deny,
        });
        if let Some(g) = guardians.get(&r.withdrawn_by) {
            consent["performer"] = json!([{ "reference": g }]);
        }
        b.push(
            urn(plan, &format!("revocation/{}", r.revocation_id)),
            consent,
        );
    }
}

//! Tests of the FHIR bundle.

use super::*;

#[test]
fn urns_are_stable_rfc_9562_uuids() {
    let a = urn("p", "patient");
    assert_eq!(a, urn("p", "patient"));
    assert_ne!(a, urn("p", "careplan"));
    let id = id_of(&a);
    let parts: Vec<_> = id.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert_eq!(&id[14..15], "8");
}

use crate::fixture::Fixture;
use kronobarn_proto::v1::Child;

fn resources<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn by_url<'a>(b: &'a Value, url: &str) -> &'a Value {
    &b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .unwrap_or_else(|| panic!("dangling reference {url}"))["resource"]
}

/// Every `reference` in the bundle, wherever it is.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(s)) => out.push(s.clone()),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[test]
fn consent_provisions_name_the_authority_as_part_of_its_organisation() {
    let f = Fixture::family();
    let log = [(
        7,
        AccessRecord {
            at_unix_ms: crate::fixture::noon(2026, 11, 12),
            organization: "region-kronoberg".into(),
            unit: "bup-vaxjo".into(),
            user_id: "psykolog-1".into(),
            action: AccessAction::Read as i32,
            decision: Decision::Permit as i32,
            ..Default::default()
        },
    )];
    let b = bundle(&f.input(), &log);
    let consent = resources(&b, "Consent")[0];
    let provisions = consent["provision"]["provision"].as_array().unwrap();
    let bup = by_url(
        &b,
        provisions[0]["actor"][0]["reference"]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(bup["resourceType"], "Organization");
    assert_eq!(bup["name"], "BUP Växjö");
    assert_eq!(bup["identifier"][0]["value"], "bup-vaxjo");
    let region = by_url(&b, bup["partOf"]["reference"].as_str().unwrap());
    assert_eq!(region["name"], "Region Kronoberg");
    assert!(region.get("partOf").is_none());
    // The plan's author is the responsible authority; the reader of the log entry is BUP.
    let care_plan = resources(&b, "CarePlan")[0];
    assert_eq!(care_plan["author"]["display"], "Östra skolan, Växjö kommun");
    let audit = resources(&b, "AuditEvent")[0];
    assert_eq!(
        audit["agent"][1]["who"]["display"],
        "BUP Växjö, Region Kronoberg"
    );
    // Every reference resolves inside the bundle.
    let mut refs = Vec::new();
    references(&b, &mut refs);
    assert!(refs.len() > 8);
    for r in &refs {
        by_url(&b, r);
    }
}

#[test]
fn protected_personal_data_leaves_out_contact_details_and_is_marked_restricted() {
    let f = Fixture::family();
    let open = serde_json::to_string(&bundle(&f.input(), &[])).unwrap();
    assert!(open.contains("070-000 00 01") && open.contains("ett@example.invalid"));
    assert!(!open.contains("\"restricted\""));
    let mut input = f.input();
    input.protected_identity = true;
    let b = bundle(&input, &[]);
    let text = serde_json::to_string(&b).unwrap();
    for detail in ["070-000 00 01", "ett@example.invalid", "telecom", "address"] {
        assert!(!text.contains(detail), "{detail} in a protected export");
    }
    let restricted = |v: &Value| v["meta"]["security"][0]["code"] == "R";
    assert!(restricted(&b));
    assert!(restricted(resources(&b, "Patient")[0]));
    assert!(resources(&b, "RelatedPerson").into_iter().all(restricted));
}

#[test]
fn a_child_not_yet_born_has_no_birth_date_or_number() {
    let mut f = Fixture::family();
    f.header_mut().child = Some(Child {
        personal_identity_number: String::new(),
        name: String::new(),
        birth_date: "2027-03-10".into(),
        ..Default::default()
    });
    let b = bundle(&f.input(), &[]);
    let patient = resources(&b, "Patient")[0];
    for field in ["birthDate", "identifier", "name"] {
        assert!(patient.get(field).is_none(), "{field}: {patient}");
    }
    f.header_mut().child.as_mut().unwrap().birth_date = "2014-05-02".into();
    let b = bundle(&f.input(), &[]);
    assert_eq!(resources(&b, "Patient")[0]["birthDate"], "2014-05-02");
}

#[test]
fn a_young_persons_own_consent_makes_the_patient_a_performer() {
    let mut f = Fixture::family();
    let performers = |f: &Fixture| {
        let b = bundle(&f.input(), &[]);
        let consent = resources(&b, "Consent")[0].clone();
        let patient = consent["patient"]["reference"].clone();
        let refs: Vec<Value> = consent["performer"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["reference"].clone())
            .collect();
        (patient, refs)
    };
    let (patient, refs) = performers(&f);
    assert!(!refs.contains(&patient), "only the guardians consented");
    assert_eq!(refs.len(), 2);
    f.consent.as_mut().unwrap().young_person_consented = true;
    let (patient, refs) = performers(&f);
    assert!(refs.contains(&patient), "{refs:?}");
    assert_eq!(refs.len(), 3);
}

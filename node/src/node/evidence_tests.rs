//! The guardian's extract as the client API hands it out: cosigned by the witnesses, verifiable
//! against the roster, in plain words and Swedish time.

use kronobarn_document::Lang;
use kronobarn_gateway::Backend;
use kronobarn_proto::v1::Category;

use crate::accesslog::extract::{self, Trust};
use crate::testkit::{County, add_participant, consent, create_plan};

#[tokio::test]
async fn the_extract_is_cosigned_complete_and_in_plain_words() {
    let county = County::new(&["vaxjo", "region", "polisen"]);
    let v = county.node("vaxjo");
    let plan = create_plan(v, "skola").await.plan_id;
    add_participant(v, "skola", &plan, "region", "bup").await;
    consent(v, "skola", &plan, &[("region", &[Category::WheelHealth])]).await;
    county.settle_all(5).await;
    // Reads of another plan in between, which the extract must not show.
    let other = create_plan(v, "skola").await.plan_id;
    v.log_access(vec![crate::records::permitted_peer(
        "region",
        crate::testkit::START_MS,
        &other,
        "",
        kronobarn_proto::v1::AccessAction::Read,
        "participant",
    )])
    .await
    .unwrap();

    let x = v.access_log_extract(&plan, Lang::Sv).await.unwrap();
    assert_eq!(
        x.witnesses, 2,
        "both peers cosigned the extract's checkpoint"
    );
    let parsed = extract::json::from_json(&x.json).unwrap();
    let roster = Trust::roster(
        county
            .roster
            .members()
            .map(|m| (m.entry.organization.clone(), m.key)),
    );
    let verified = extract::verify(&parsed, &roster).unwrap();
    assert_eq!(verified.records.len(), x.records);
    assert_eq!(verified.witnesses.len(), 2);
    assert!(verified.records.iter().all(|(_, r)| r.plan_id == plan));
    let json = String::from_utf8(x.json.clone()).unwrap();
    assert!(!json.contains(&other), "no trace of the other plan");

    let html = &x.html;
    assert!(html.contains("Loggutdrag för barnets plan"), "{html}");
    // Swedish time: the county's clocks start at 12:00 Swedish time (11:00 UTC).
    assert!(html.contains("2026-11-26 12:00"), "{html}");
    // Parts and reasons in words, not fragment ids or codes.
    assert!(
        html.contains("uppgifterna om barnet och vårdnadshavarna"),
        "{html}"
    );
    assert!(html.contains("vilka som är med i planen"), "{html}");
    assert!(
        !html.contains("own-fragment") && !html.contains("consent-home"),
        "{html}"
    );
    assert!(html.contains("uppgiften är organisationens egen"), "{html}");
    // How to check it, against which key, and who witnessed it.
    assert!(html.contains("kronobarn log verify-extract"), "{html}");
    assert!(html.contains(&verified.signer_key), "{html}");
    assert!(
        html.contains("region (test)") && html.contains("polisen (test)"),
        "{html}"
    );
    assert!(
        !html.contains("19121212"),
        "no identity number in the extract"
    );

    let en = v.access_log_extract(&plan, Lang::En).await.unwrap();
    assert!(en.html.contains("Access log extract for the child's plan"));
}

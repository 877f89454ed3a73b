//! Tests of the plain-language document.

use super::*;
use kronobarn_proto::v1::{Child, Contact, Fragment};

fn fragment(id: &str, body: Body) -> Fragment {
    Fragment {
        plan_id: "p".into(),
        fragment_id: id.into(),
        home_organization: "vaxjo-kommun".into(),
        body: Some(body),
        ..Default::default()
    }
}

fn wheel(id: &str, area: WheelArea, on: &str, needs: &str) -> Fragment {
    fragment(
        id,
        Body::WheelAssessment(WheelAssessment {
            area: area as i32,
            needs: needs.into(),
            assessed_on: on.into(),
            ..Default::default()
        }),
    )
}

fn input<'a>(
    fragments: &'a [Fragment],
    names: &'a (dyn Fn(&str) -> Option<String> + Sync),
) -> PlanInput<'a> {
    PlanInput {
        plan_id: "p",
        home_organization: "vaxjo-kommun",
        fragments,
        withheld: 2,
        consent: None,
        revocations: &[],
        today: (2026, 11, 25),
        made_at_unix_ms: 1_795_000_000_000,
        made_by: "vaxjo-kommun",
        names,
    }
}

fn text(blocks: &[Block]) -> String {
    format!("{blocks:?}")
}

#[test]
fn the_wheel_shows_each_area_over_time_in_date_order() {
    let f = [
        wheel("w2", WheelArea::Learning, "2026-11-20", "Läser bättre nu"),
        wheel("w1", WheelArea::Learning, "2026-09-01", "Svårt att läsa"),
        wheel("w3", WheelArea::Health, "2026-09-01", "Sover dåligt"),
    ];
    let names = |_: &str| None;
    let b = blocks(&input(&f, &names), Lang::Sv);
    let t = text(&b);
    let first = t.find("Svårt att läsa").unwrap();
    let second = t.find("Läser bättre nu").unwrap();
    assert!(first < second, "older assessment first");
    // Areas in the wheel's order: health before learning.
    assert!(t.find("Hälsa").unwrap() < t.find("Lärande").unwrap());
}

#[test]
fn only_what_is_given_is_shown_and_the_rest_is_counted() {
    let f = [fragment(
        "header",
        Body::Header(PlanHeader {
            child: Some(Child {
                personal_identity_number: "19121212-1212".into(),
                name: "Alma Svensson".into(),
                birth_date: String::new(),
            }),
            responsible_organization: "vaxjo-kommun".into(),
            responsible_contact: Some(Contact {
                name: "Eva Lind".into(),
                phone: "0470-123 45".into(),
                ..Default::default()
            }),
            follow_up_dates: vec!["2026-12-01".into(), "2026-01-01".into()],
            ..Default::default()
        }),
    )];
    let names = |o: &str| (o == "vaxjo-kommun").then(|| "Växjö kommun".to_string());
    let b = blocks(&input(&f, &names), Lang::Sv);
    let t = text(&b);
    assert!(t.contains("Almas plan"));
    assert!(t.contains("Eva Lind på Växjö kommun håller ihop planen"));
    assert!(t.contains("1 december 2026"), "the next date, in words");
    assert!(!t.contains("1 januari 2026"), "past dates are not 'next'");
    assert!(
        !t.contains("19121212"),
        "the identity number is never in the document"
    );
    assert!(t.contains("2 delar av planen finns men visas inte här"));
    assert!(b.contains(&Block::Field {
        label: "Telefon".into(),
        value: "0470-123 45".into(),
        href: Some("tel:047012345".into()),
    }));
    let en = text(&blocks(&input(&f, &names), Lang::En));
    assert!(en.contains("Alma's plan") && en.contains("1 December 2026"));
}

#[test]
fn markup_in_the_plan_stays_text_in_html() {
    let f = [wheel(
        "w",
        WheelArea::Home,
        "2026-11-01",
        "<script>alert(1)</script>",
    )];
    let names = |_: &str| None;
    let page = crate::html(&input(&f, &names), Lang::Sv);
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;"));
}

//! Tests of the plain-language document.

use super::*;
use crate::fixture::{self, Fixture, noon};
use kronobarn_proto::v1::{Child, Contact, Fragment, Revocation};

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
        unit_names: &|_, _| None,
        authority_names: &|_| None,
        organization_grants: &fixture::organization_grants,
        reads: &[],
        copy_for: None,
        guardian_copy: false,
        withheld_from_guardians: 0,
        protected_identity: false,
    }
}

/// The document's words, one block a line.
fn text(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|b| match b {
            Block::Title(t)
            | Block::Warning(t)
            | Block::Heading(t)
            | Block::Subheading(t)
            | Block::Para(t)
            | Block::Item(t)
            | Block::Quote(t)
            | Block::Note(t) => t.clone(),
            Block::Field { label, value, .. } => format!("{label}: {value}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sv(f: &Fixture) -> String {
    text(&blocks(&f.input(), Lang::Sv))
}

fn en(f: &Fixture) -> String {
    text(&blocks(&f.input(), Lang::En))
}

#[track_caller]
fn has(doc: &str, says: &str) {
    assert!(doc.contains(says), "missing {says:?} in:\n{doc}");
}

#[track_caller]
fn lacks(doc: &str, says: &str) {
    assert!(!doc.contains(says), "{says:?} should not be in:\n{doc}");
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
                ..Default::default()
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

/// A person with only the Swedish HTML answers each of the family's questions.
#[test]
fn the_swedish_page_answers_the_familys_questions() {
    let f = Fixture::family();
    let page = crate::html(&f.input(), Lang::Sv);
    for answer in [
        // Who is responsible and how to reach them.
        "Anna Andersson, rektor, på Östra skolan, Växjö kommun, håller ihop planen. Kontakta Anna Andersson om ni undrar över något.",
        "href=\"tel:047012345\"",
        // What happens next, when and with whom.
        "Nästa gång vi ses och pratar om hur det går är den 20 mars 2027. Då följer vi upp hela planen tillsammans med er, Alma och alla som är med i planen.",
        "20 januari 2027: Petra Påhittad på BUP Växjö följer upp ”Samtal på BUP varannan vecka”.",
        // What the child said.
        "<blockquote>”Jag vill ha en vuxen att gå till på rasten.”</blockquote>",
        // Which authorities may know what, and who has read it.
        "BUP Växjö, Region Kronoberg får veta",
        "BUP Växjö, Region Kronoberg, har läst planen 3 gånger, senast den 12 november 2026.",
        // How to withdraw consent and ask for a log extract.
        "Ni kan när som helst ta tillbaka samtycket",
        "Ni har rätt att få ett loggutdrag som visar vem som har läst uppgifterna. Be Anna Andersson, rektor, om det.",
        "name=\"viewport\"",
    ] {
        has(&page, answer);
    }
}

#[test]
fn authorities_are_named_in_words_and_fall_back_to_the_organisation() {
    let f = Fixture::family();
    let doc = sv(&f);
    has(&doc, "BUP Växjö, Region Kronoberg får veta vem barnet är");
    has(
        &doc,
        "Läxhjälpen, Barnens vänner (ideell förening) får veta vilket stöd barnet får",
    );
    lacks(&doc, "\nRegion Kronoberg får veta");
    has(&doc, "Kontakt: Petra Påhittad, psykolog");
    // Without a directory of units, the organisation's name as before.
    let mut input = f.input();
    input.unit_names = &|_, _| None;
    let doc = text(&blocks(&input, Lang::Sv));
    has(&doc, "Region Kronoberg får veta vem barnet är");
    has(&doc, "på Växjö kommun håller ihop planen");
}

#[test]
fn the_reads_are_listed_newest_first_and_counted_in_words() {
    let mut f = Fixture::family();
    f.reads.push(crate::Reads {
        organization: "barnens-vanner".into(),
        unit: "laxhjalp".into(),
        count: 1,
        last_unix_ms: noon(2026, 11, 20),
    });
    let doc = sv(&f);
    let once = "Läxhjälpen, Barnens vänner (ideell förening), har läst planen en gång, den 20 november 2026.";
    has(&doc, once);
    let thrice =
        "BUP Växjö, Region Kronoberg, har läst planen 3 gånger, senast den 12 november 2026.";
    has(&doc, thrice);
    assert!(doc.find(once) < doc.find(thrice), "newest first");
    has(
        &en(&f),
        "BUP Växjö, Region Kronoberg, has read the plan 3 times, most recently on 12 November 2026.",
    );
    f.reads.clear();
    lacks(&sv(&f), "har läst planen");
}

#[test]
fn the_rights_are_stated_with_and_without_consent() {
    let mut f = Fixture::family();
    for _ in 0..2 {
        let doc = sv(&f);
        has(
            &doc,
            "Ni har rätt att få ett loggutdrag som visar vem som har läst uppgifterna.",
        );
        has(
            &doc,
            "var och en av er som är vårdnadshavare kan göra det ensam",
        );
        has(&doc, "skyldiga att genast anmäla till socialtjänsten");
        has(&doc, "(14 kap. 1 § socialtjänstlagen)");
        has(
            &doc,
            "När Alma fyller 18 år, den 2 maj 2032, är det Alma själv och inte ni som ger och tar tillbaka samtycket.",
        );
        lacks(&doc, "Inget delas.");
        has(
            &en(&f),
            "You have the right to a log extract showing who has read the information.",
        );
        f.consent = None;
    }
    has(
        &sv(&f),
        "Därför delas inga uppgifter om barnet mellan myndigheterna i planen.",
    );
}

#[test]
fn the_language_faults_of_the_first_build_are_gone() {
    let mut f = Fixture::family();
    // A title is never taken as a first name.
    f.header_mut().responsible_contact = fixture::contact("Anna Andersson", "rektor", "");
    let doc = sv(&f);
    lacks(&doc, "Kontakta Rektor");
    lacks(&doc, "Kontakta Anna om");
    // The demo's invented name starts with a title; it is still said whole, title after.
    f.header_mut().responsible_contact = fixture::contact("Rektor Påhittad", "rektor", "");
    let mut input = f.input();
    input.unit_names = &|_, _| None;
    has(
        &text(&blocks(&input, Lang::Sv)),
        "Rektor Påhittad, rektor, på Växjö kommun håller ihop planen. Kontakta Rektor Påhittad om ni undrar över något.",
    );
    f.header_mut().responsible_contact = fixture::contact("Anna Andersson", "rektor", "");
    has(
        &doc,
        "tillsammans med Alma och med er som är vårdnadshavare",
    );
    lacks(&doc, "och er vårdnadshavare");
    lacks(&doc, "(idéburen)");
    has(&doc, "(ideell förening)");
    // One clear next follow-up of the whole plan: the follow-up moved it to 20 March.
    lacks(&doc, "15 februari 2027");
    lacks(&doc, "nästa uppföljning");
    // Swedish quotation marks.
    lacks(&crate::html(&f.input(), Lang::Sv), "“");
    has(&crate::html(&f.input(), Lang::En), "“Jag vill ha en vuxen");
    // The stage text uses the seeds' verb.
    f.fragments.retain(|x| x.fragment_id != "status");
    let doc = sv(&f);
    has(&doc, "Vi har uppmärksammat att barnet kan behöva stöd");
    lacks(&doc, "Någon har sett");
}

#[test]
fn a_units_own_follow_up_is_not_a_meeting() {
    let mut f = Fixture::family();
    f.header_mut().follow_up_dates.clear();
    f.fragments.retain(|x| x.fragment_id != "follow-up-1");
    let doc = sv(&f);
    lacks(&doc, "Nästa gång vi ses");
    has(
        &doc,
        "Vi har inte bestämt när vi ses nästa gång. Fråga Anna Andersson, rektor.",
    );
    has(
        &doc,
        "20 januari 2027: Petra Påhittad på BUP Växjö följer upp ”Samtal på BUP varannan vecka”.",
    );
    // A follow-up record of the intervention moves its date too.
    f.fragments.push(fixture::fragment(
        "follow-up-bup",
        "region-kronoberg",
        4000,
        Body::FollowUp(FollowUpRecord {
            held_on: "2026-11-24".into(),
            intervention_fragment_id: "iv-bup".into(),
            outcome: "Bra start.".into(),
            next_follow_up_date: "2027-02-02".into(),
        }),
    ));
    let doc = sv(&f);
    has(
        &doc,
        "2 februari 2027: Petra Påhittad på BUP Växjö följer upp",
    );
    lacks(&doc, "20 januari 2027");
    has(
        &doc,
        "24 november 2026, ”Samtal på BUP varannan vecka”: Bra start.",
    );
}

#[test]
fn a_booked_meeting_shows_its_date_and_who_is_invited() {
    let mut f = Fixture::family();
    f.fragments[1] = fixture::status(
        PlanStage::MeetingCalled,
        "2026-12-03",
        &["region-kronoberg", "barnens-vanner"],
    );
    let doc = sv(&f);
    has(&doc, "är bokat den 3 december 2026");
    has(
        &doc,
        "Nästa gång vi ses är den 3 december 2026, på ett samverkansmöte med er, Alma och dem som hjälper till.",
    );
    has(
        &doc,
        "Inbjudna till mötet: BUP Växjö, Region Kronoberg; Läxhjälpen, Barnens vänner (ideell förening).",
    );
    has(&en(&f), "is booked for 3 December 2026");
}

#[test]
fn a_withdrawal_names_who_withdrew() {
    let mut f = Fixture::family();
    f.revocations.push(Revocation {
        revocation_id: "r1".into(),
        recorded_at_organization: "barnens-vanner".into(),
        recorded_at_unix_ms: noon(2026, 11, 22),
        withdrawn_by: "g1".into(),
        ..Default::default()
    });
    let doc = sv(&f);
    has(
        &doc,
        "Den 22 november 2026 tog Vårdnadshavare Ett tillbaka sitt samtycke. Därför delas inget längre inom planen.",
    );
    lacks(&doc, "tog ni tillbaka");
    has(
        &en(&f),
        "On 22 November 2026, Vårdnadshavare Ett withdrew their consent.",
    );
    has(
        &doc,
        "Vårdnadshavare Ett och Vårdnadshavare Två gav sitt samtycke den 5 november 2026.",
    );
    // A withdrawal for one authority names it; one by an unknown id names nobody wrongly.
    f.revocations[0].organizations = vec!["barnens-vanner".into()];
    f.revocations[0].withdrawn_by = "g9".into();
    has(
        &sv(&f),
        "Den 22 november 2026 tog en av er som är vårdnadshavare tillbaka sitt samtycke för Läxhjälpen, Barnens vänner (ideell förening). Det delas inte längre.",
    );
}

#[test]
fn an_authoritys_copy_says_it_holds_only_part_of_the_plan() {
    let f = Fixture::family();
    lacks(&sv(&f), "kopia av planen som finns hos");
    let mut input = f.input();
    input.copy_for = Some(crate::UnitRef {
        organization: "region-kronoberg",
        unit: "bup-vaxjo",
    });
    input.withheld = 3;
    let doc = text(&blocks(&input, Lang::Sv));
    has(
        &doc,
        "Det här är den kopia av planen som finns hos BUP Växjö, Region Kronoberg. Den visar bara det som BUP Växjö får ha enligt samtycket, inte hela planen.",
    );
    has(
        &doc,
        "3 delar av planen finns men visas inte här, eftersom BUP Växjö, Region Kronoberg, inte får visa dem.",
    );
    has(
        &text(&blocks(&input, Lang::En)),
        "It shows only what BUP Växjö may hold under the consent, not the whole plan.",
    );
}

#[test]
fn a_staff_copy_holding_what_the_guardians_may_not_see_warns_at_the_top() {
    let f = Fixture::family();
    let mut input = f.input();
    input.guardian_copy = false;
    input.withheld_from_guardians = 2;
    let b = blocks(&input, Lang::Sv);
    assert!(
        matches!(&b[1], Block::Warning(w) if w.contains("2 uppgifter i den här kopian får inte lämnas ut till vårdnadshavarna (12 kap. 3 §")),
        "{:?}",
        b[1]
    );
}

proptest::proptest! {
    /// A guardian copy says nothing that reveals whether, or how much, was withheld from the
    /// guardians (OSL ch. 12 §3): it is the same document whatever the count.
    #[test]
    fn a_guardian_copy_does_not_reveal_what_was_withheld(n in 0usize..1000, en in proptest::bool::ANY) {
        let f = Fixture::family();
        let lang = if en { Lang::En } else { Lang::Sv };
        let none = blocks(&f.input(), lang);
        let mut input = f.input();
        input.withheld_from_guardians = n;
        proptest::prop_assert_eq!(blocks(&input, lang), none);
    }
}

#[test]
fn protected_personal_data_warns_first_in_every_document() {
    let f = Fixture::family();
    let mut input = f.input();
    input.protected_identity = true;
    for lang in [Lang::Sv, Lang::En] {
        let b = blocks(&input, lang);
        assert!(
            matches!(&b[1], Block::Warning(w) if w.starts_with(crate::words::t(lang, "Skyddade personuppgifter:", "Protected personal data:")))
        );
        let page = crate::html(&input, lang);
        let warning = page.find("class=\"warning\"").unwrap();
        assert!(warning < page.find("<h2>").unwrap(), "before every section");
        for contact in ["070-000 00 01", "ett@example.invalid"] {
            lacks(&page, contact);
        }
    }
    lacks(&sv(&f), "Skyddade personuppgifter");
}

#[test]
fn an_unborn_child_reads_naturally() {
    let mut f = Fixture::family();
    let h = f.header_mut();
    h.child = Some(Child {
        personal_identity_number: String::new(),
        name: String::new(),
        birth_date: "2027-03".into(),
        ..Default::default()
    });
    let doc = sv(&f);
    has(&doc, "Barnets plan");
    has(&doc, "Barnet väntas i mars 2027.");
    has(&doc, "tillsammans med er:");
    lacks(&doc, "Det här har barnet sagt");
    lacks(&doc, "fyller 18");
    has(&en(&f), "The baby is expected in March 2027.");
    // A future birth date without a number is an expected month too.
    f.header_mut().child.as_mut().unwrap().birth_date = "2027-04-10".into();
    has(&sv(&f), "Barnet väntas i april 2027.");
}

#[test]
fn a_young_person_of_18_is_the_one_who_consents() {
    let mut f = Fixture::family();
    f.header_mut().child.as_mut().unwrap().birth_date = "2008-06-01".into();
    f.consent.as_mut().unwrap().guardian_consents[0].guardian_id = "child".into();
    f.consent.as_mut().unwrap().guardian_consents.truncate(1);
    let doc = sv(&f);
    has(
        &doc,
        "Här står vad vi som arbetar med dig har bestämt tillsammans med dig",
    );
    has(&doc, "Du gav ditt samtycke den 5 november 2026.");
    has(&doc, "Det är du som bestämmer, inte dina vårdnadshavare");
    has(&doc, "Du har rätt att få ett loggutdrag");
    has(&doc, "Dina rättigheter");
    has(&doc, "Kontakta Anna Andersson om du undrar över något.");
    has(&doc, "Så här får uppgifter om dig delas inom planen:");
    has(
        &doc,
        "BUP Växjö, Region Kronoberg får veta vem du är, vilka som är med i planen, hur du mår (hälsa) och vilket stöd du får",
    );
    lacks(&doc, "er som är vårdnadshavare");
    lacks(&doc, "fyller 18");
    // The Tax Agency's test number 19121212-1212 is of someone long grown up.
    f.header_mut().child = Some(Child {
        personal_identity_number: "19121212-1212".into(),
        name: "Alma Svensson".into(),
        birth_date: String::new(),
        ..Default::default()
    });
    has(&sv(&f), "Dina rättigheter");
}

#[test]
#[ignore = "prints the fixture's documents for a human to read"]
fn print_the_family_documents() {
    let mut f = Fixture::family();
    println!("{}\n\n----\n\n{}", sv(&f), en(&f));
    f.header_mut().child = Some(Child {
        personal_identity_number: String::new(),
        name: String::new(),
        birth_date: "2027-03".into(),
        ..Default::default()
    });
    f.fragments[1] = fixture::status(
        PlanStage::MeetingCalled,
        "2026-12-03",
        &["region-kronoberg"],
    );
    let mut input = f.input();
    input.protected_identity = true;
    println!("\n----\n\n{}", text(&blocks(&input, Lang::Sv)));
    f.header_mut().child.as_mut().unwrap().birth_date = "2008-01-02".into();
    f.header_mut().child.as_mut().unwrap().name = "Kim Påhittad".into();
    f.revocations.push(Revocation {
        revocation_id: "r".into(),
        withdrawn_by: "child".into(),
        organizations: vec!["barnens-vanner".into()],
        recorded_at_unix_ms: noon(2026, 11, 21),
        ..Default::default()
    });
    println!("\n----\n\n{}", sv(&f));
}

#[test]
fn grants_and_withdrawals_name_the_authority_the_consent_names() {
    let mut f = Fixture::family();
    let c = f.consent.as_mut().unwrap();
    c.grants[0].authority = "region-kronoberg-bup".into();
    c.grants.push(kronobarn_proto::v1::Grant {
        organization: "vaxjo-kommun".into(),
        unit: "ostra-skolan".into(),
        categories: vec![kronobarn_proto::v1::Category::Interventions as i32],
        ..Default::default()
    });
    f.revocations.push(kronobarn_proto::v1::Revocation {
        withdrawn_by: "g1".into(),
        authorities: vec!["region-kronoberg-bup".into()],
        recorded_at_unix_ms: fixture::noon(2026, 11, 22),
        ..Default::default()
    });
    let names = |id: &str| {
        (id == "region-kronoberg-bup").then(|| ("region-kronoberg".into(), "BUP".into()))
    };
    let mut input = f.input();
    input.authority_names = &names;
    let doc = text(&blocks(&input, Lang::Sv));
    has(&doc, "BUP, Region Kronoberg får veta");
    has(&doc, "Östra skolan, Växjö kommun får veta vilket stöd");
    has(&doc, "tillbaka sitt samtycke för BUP, Region Kronoberg");
    let fhir = serde_json::to_string(&crate::fhir::bundle(&input, &[])).unwrap();
    assert_eq!(
        fhir.matches("\"display\":\"BUP, Region Kronoberg\"")
            .count(),
        2,
        "the grant and the withdrawal name the authority: {fhir}"
    );
    assert!(fhir.contains("\"urn:kronobarn:authority\""), "{fhir}");
}

#[test]
fn an_association_that_is_one_authority_is_named_once() {
    let f = Fixture::family();
    let units = |o: &str, u: &str| {
        (o == "barnens-vanner")
            .then(|| UnitName {
                authority: "Barnens vänner (idéburen)".into(),
                organization: String::new(),
            })
            .or_else(|| fixture::units(o, u))
    };
    let mut input = f.input();
    input.unit_names = &units;
    let doc = text(&blocks(&input, Lang::Sv));
    lacks(&doc, "Barnens vänner (ideell förening), Barnens vänner");
    has(&doc, "Barnens vänner (ideell förening)");
}

#[test]
fn a_young_persons_own_consent_is_told_to_the_guardians() {
    let mut f = Fixture::family();
    let page = crate::html(&f.input(), Lang::Sv);
    assert!(!page.contains("själv samtyckt"), "not recorded, not said");
    f.consent.as_mut().unwrap().young_person_consented = true;
    has(
        &crate::html(&f.input(), Lang::Sv),
        "Alma har också själv samtyckt.",
    );
    has(&crate::html(&f.input(), Lang::En), "Alma also consented.");
}

/// The Consent resource of a FHIR bundle.
fn consent_of(fhir: &str) -> serde_json::Value {
    let b: serde_json::Value = serde_json::from_str(fhir).unwrap();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .find(|r| r["resourceType"] == "Consent")
        .unwrap()
}

/// A grant naming only an organisation is said as the policy reads it: the one authority of
/// the organisation taking part, or nobody, never every authority of it in the plan.
#[test]
fn an_organisation_grant_names_only_whom_the_policy_lets_know() {
    let mut f = Fixture::family();
    // The region's BVC takes part too: two of the region's authorities are in the plan.
    f.fragments.push(fixture::fragment(
        "participant-bvc",
        "vaxjo-kommun",
        1300,
        Body::Participant(Participant {
            organization: "region-kronoberg".into(),
            unit: "bvc-teleborg".into(),
            contact: None,
        }),
    ));
    let units = |o: &str, u: &str| {
        if (o, u) == ("region-kronoberg", "bvc-teleborg") {
            return Some(UnitName {
                authority: "BVC Teleborg".into(),
                organization: "Region Kronoberg".into(),
            });
        }
        fixture::units(o, u)
    };
    let reading = |region: crate::OrganizationGrant| {
        move |o: &str| {
            if o == "region-kronoberg" {
                region.clone()
            } else {
                fixture::organization_grants(o)
            }
        }
    };
    let doc = |grants: &(dyn Fn(&str) -> crate::OrganizationGrant + Sync), lang| {
        let mut input = f.input();
        input.unit_names = &units;
        input.organization_grants = grants;
        (
            text(&blocks(&input, lang)),
            serde_json::to_string(&crate::fhir::bundle(&input, &[])).unwrap(),
        )
    };
    // Both take part, and the consent does not say which: neither may know.
    let ambiguous = reading(crate::OrganizationGrant::Ambiguous);
    let (sv, fhir) = doc(&ambiguous, Lang::Sv);
    has(
        &sv,
        "Samtycket nämner bara Region Kronoberg, inte vilken av dess myndigheter, så ingen där får veta vem barnet är",
    );
    lacks(&sv, "Region Kronoberg får veta");
    // Who takes part is still said where the document says so.
    has(&sv, "BUP Växjö och BVC Teleborg, Region Kronoberg");
    let (en, _) = doc(&ambiguous, Lang::En);
    has(
        &en,
        "The consent names only Region Kronoberg, not which of its authorities, so nobody there may know",
    );
    // The FHIR Consent permits the association alone: no provision names the region.
    let consent = consent_of(&fhir);
    let provisions = consent["provision"]["provision"].as_array().unwrap();
    assert_eq!(provisions.len(), 1, "{consent}");
    assert!(
        !consent.to_string().contains("Region Kronoberg"),
        "{consent}"
    );
    // One takes part as far as the policy reads it: that one alone is named.
    let one = reading(crate::OrganizationGrant::Authority(vec![
        "bup-vaxjo".into(),
    ]));
    let (sv, fhir) = doc(&one, Lang::Sv);
    has(&sv, "\nBUP Växjö, Region Kronoberg får veta vem barnet är");
    lacks(&sv, "BVC Teleborg, Region Kronoberg får veta");
    let consent = consent_of(&fhir);
    assert!(consent.to_string().contains("BUP Växjö"), "{consent}");
    assert!(!consent.to_string().contains("BVC Teleborg"), "{consent}");
    // None of the region's authorities takes part: none may know.
    let none = reading(crate::OrganizationGrant::NoneTakesPart);
    let (sv, _) = doc(&none, Lang::Sv);
    has(
        &sv,
        "Samtycket nämner bara Region Kronoberg, inte vilken av dess myndigheter, så ingen där får veta",
    );
}

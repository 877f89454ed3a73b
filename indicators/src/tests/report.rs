//! The county report and the researchers' CSV files from two nodes' sets and one that is missing.

use super::support::*;
use crate::facts::*;
use crate::{IndicatorSet, Lang, Missing, Params, compute, report_html, tables_csv};

/// "Växjö kommun": twelve plans at the school, noticed 1 April 2026 and agreed after 5, 10, …,
/// 60 days; each with one meeting in Q2, the child's view recorded in nine.
fn municipality() -> IndicatorSet {
    let auth = authorities();
    let facts: Vec<_> = (1..=12)
        .map(|k| {
            let mut p = plan(d(2026, 4, 1));
            p.agreed = Some(p.need_noticed + 5 * k);
            p.meetings = vec![Meeting {
                day: d(2026, 4, 2),
                child_view_recorded: k <= 9,
                guardians_present: true,
            }];
            p
        })
        .collect();
    let params = Params::new(auth[..2].to_vec(), q(2026, 1), q(2026, 2), d(2026, 7, 15));
    compute(&facts, &params).unwrap()
}

/// "Region Kronoberg": three plans at child psychiatry in Växjö, all withheld.
fn region() -> IndicatorSet {
    let auth = authorities();
    let facts: Vec<_> = (0..3)
        .map(|_| {
            let mut p = plan_at(&auth[2], d(2026, 4, 1));
            p.agreed = Some(d(2026, 5, 1));
            p
        })
        .collect();
    let params = Params::new(auth[2..].to_vec(), q(2026, 1), q(2026, 2), d(2026, 7, 15));
    compute(&facts, &params).unwrap()
}

fn sets() -> Vec<(String, IndicatorSet)> {
    vec![
        ("Växjö kommun".into(), municipality()),
        ("Region Kronoberg".into(), region()),
    ]
}

#[test]
fn the_page_answers_the_two_questions_names_the_missing_and_holds_no_codes() {
    let missing = [("Polisen <Kronoberg>".to_string(), Missing::NoAnswer)];
    let html = report_html(&sets(), &missing, Lang::Sv);
    // Median of 5, 10, …, 60: rank ⌈0.5·12⌉ = 6 → 30 days; p90: rank ⌈0.9·12⌉ = 11 → 55.
    assert!(html.contains("tog det i mitten (median) 30 dagar från att ett behov uppmärksammades"));
    assert!(html.contains("30 dagar (9 av 10 inom 55 dagar)"));
    // Nine of twelve meetings: 75 %; the region's are too few and are named as left out.
    assert!(html.contains("I 9 av 12 samverkansmöten (75\u{a0}%) antecknades barnets egen syn."));
    assert!(html.contains("Hos en organisation var mötena färre än 5"));
    assert!(html.contains("Växjö – Region Kronoberg"));
    assert!(html.contains("Ljungby – Region Kronoberg"));
    assert!(html.contains("färre än 5 planer"));
    // Charts, drawn on the server.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("<rect"));
    // The one that did not answer, prominently and escaped.
    assert!(
        html.contains(
            "<strong>Svarade inte:</strong> Polisen &lt;Kronoberg&gt; (svarade inte i tid)"
        )
    );
    assert!(!html.contains("<Kronoberg>"));
    // Self-contained, and plain words instead of codes.
    for banned in ["<script", "http", "src=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    for code in [
        "vaxjo-skola",
        "vaxjo-soc",
        "child-psychiatry",
        "to-agreed-plan",
        "2026-Q2",
        "suppressed",
    ] {
        assert!(!html.contains(code), "{code}");
    }
    assert!(html.contains("april–juni 2026"));
    assert!(html.contains("<h2>Färre än 5</h2>"));
}

#[test]
fn a_node_without_the_latest_quarter_is_named_too() {
    let mut older = region();
    older.last = q(2026, 1);
    for t in &mut older.tables {
        t.cells.retain(|c| c.quarter == q(2026, 1));
    }
    let sets = vec![
        ("Växjö kommun".to_string(), municipality()),
        ("Region Kronoberg".to_string(), older),
    ];
    let html = report_html(&sets, &[], Lang::Sv);
    assert!(html.contains(
        "<strong>Har inte lämnat siffror för april–juni 2026:</strong> Region Kronoberg."
    ));
    assert!(!html.contains("Svarade inte:"));
}

#[test]
fn with_everyone_answering_it_says_so() {
    let html = report_html(&sets(), &[], Lang::Sv);
    assert!(html.contains("Alla tillfrågade organisationer har svarat."));
    assert!(!html.contains("class=\"missing\""));
    let empty = report_html(
        &[],
        &[("Lessebo kommun".into(), Missing::Unreadable)],
        Lang::Sv,
    );
    assert!(empty.contains("Inga siffror har kommit in."));
    assert!(empty.contains("Lessebo kommun (underlaget gick inte att läsa)"));
}

#[test]
fn one_csv_per_table_with_suppressed_cells_empty_and_flagged() {
    let files = tables_csv(&[
        ("Region, Kronoberg".to_string(), region()),
        ("Växjö kommun".into(), municipality()),
    ]);
    assert_eq!(files.len(), crate::TableId::ALL.len());
    let (name, text) = files
        .iter()
        .find(|(n, _)| n == "days-from-need-noticed.csv")
        .unwrap();
    assert_eq!(name, "days-from-need-noticed.csv");
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(
            "node,quarter,level,municipality,authority,authority_kind,interval,median_days,p90_days,suppressed"
        )
    );
    assert!(text.contains("\"Region, Kronoberg\",2026-Q1,all,,,,to-consent,,,true\r\n"));
    assert!(
        text.contains("Växjö kommun,2026-Q2,municipality,vaxjo,,,to-agreed-plan,30,55,false\r\n")
    );
    assert!(text.ends_with("\r\n"));
    let (_, meetings) = files.iter().find(|(n, _)| n == "meetings.csv").unwrap();
    assert!(meetings.contains("Växjö kommun,2026-Q2,all,,,,child-view-recorded,9,12,false\r\n"));
    // Every row has as many fields as the header.
    for (_, text) in &files {
        let header = text.lines().next().unwrap().split(',').count();
        for l in text.lines().filter(|l| !l.starts_with('"')) {
            assert_eq!(l.split(',').count(), header, "{l}");
        }
    }
}

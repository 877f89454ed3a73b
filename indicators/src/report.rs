//! The county report: one self-contained HTML page in plain Swedish, readable on a phone (one
//! column, system fonts, no script, no external resources), with inline SVG bar charts, built from
//! the nodes' indicator sets. It adds nothing but sums of published cells, so it reveals nothing
//! the sets do not; organisations that did not answer are named at the top.

use crate::quarter::Quarter;
use crate::set::{
    Breakdown, FollowUpStatus, IndicatorSet, Interval, Level, MeetingAspect, TableId, Value,
};
use crate::svg::{Bar, bar_chart, esc};

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lang {
    /// Swedish.
    Sv,
}

/// Why an organisation's set is not in the report: a category, so no error text reaches the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No answer in time.
    NoAnswer,
    /// Its node could not be reached (no connection).
    Unreachable,
    /// Its node answered with an error (e.g. the quarter has not ended by its clock): the
    /// operator's output says which.
    Failed,
    /// The organisation refused the request (its node does not name the reader).
    Refused,
    /// The signature did not verify.
    BadSignature,
    /// The set could not be read.
    Unreadable,
    /// The set broke the disclosure rules and was refused.
    BrokeTheRules,
}

impl Missing {
    /// The reason in plain Swedish.
    pub fn label_sv(self) -> &'static str {
        match self {
            Missing::NoAnswer => "svarade inte i tid",
            Missing::Unreachable => "gick inte att nå",
            Missing::Failed => "kunde inte ta fram underlaget",
            Missing::Refused => "tog inte emot förfrågan",
            Missing::BadSignature => "underskriften kunde inte bekräftas",
            Missing::Unreadable => "underlaget gick inte att läsa",
            Missing::BrokeTheRules => "underlaget följde inte reglerna för små tal",
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5;font-size:1.05rem;color:#1a1a1a}\
h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem;\
border-bottom:2px solid #d9e4ef;padding-bottom:.2rem}p.lead{font-size:1.15rem}\
.missing{border:3px solid #b3261e;background:#fdecea;padding:.6rem 1rem;margin:1rem 0}\
.missing h2{border:0;margin:0;color:#b3261e}table{border-collapse:collapse;width:100%;\
font-size:.95rem}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #d9e4ef;\
vertical-align:top}td.n{text-align:right;white-space:nowrap}dt{font-weight:600;margin-top:.6rem}\
dd{margin:0 0 0 1rem}figure{margin:1rem 0}figcaption{font-size:.9rem;color:#444}\
small{color:#555;display:block;margin-top:2rem}";

/// The name of a municipality in Kronoberg county from its slug; others from the slug itself.
pub(crate) fn municipality_name(slug: &str) -> String {
    let known = match slug {
        "alvesta" => "Alvesta",
        "lessebo" => "Lessebo",
        "ljungby" => "Ljungby",
        "markaryd" => "Markaryd",
        "tingsryd" => "Tingsryd",
        "uppvidinge" => "Uppvidinge",
        "vaxjo" => "Växjö",
        "almhult" => "Älmhult",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn organisations(n: usize) -> String {
    match n {
        1 => "en organisation".into(),
        n => format!("{n} organisationer"),
    }
}

fn percent(numerator: u64, denominator: u64) -> u64 {
    if denominator == 0 {
        0
    } else {
        (numerator * 200 + denominator) / (2 * denominator)
    }
}

/// The set's value, `None` when the set does not cover the quarter.
fn get(set: &IndicatorSet, t: TableId, q: Quarter, l: &Level, b: Breakdown) -> Option<Value> {
    set.value(t, q, l, b)
}

/// A county sum of published counts: the sum, and how many sets withheld theirs.
fn pooled_count(sets: &[(String, IndicatorSet)], t: TableId, q: Quarter, b: Breakdown) -> String {
    let (mut sum, mut shown, mut hidden) = (0, 0, 0);
    for (_, set) in sets {
        match get(set, t, q, &Level::All, b) {
            Some(Value::Count(n)) => {
                sum += n;
                shown += 1;
            }
            _ => hidden += 1,
        }
    }
    match (shown, hidden) {
        (0, _) => "visas inte".into(),
        (_, 0) => sum.to_string(),
        _ => format!("minst {sum}"),
    }
}

/// A county share from the published shares: numerator, denominator, and how many sets withheld
/// theirs.
fn pooled_share(
    sets: &[(String, IndicatorSet)],
    t: TableId,
    q: Quarter,
    b: Breakdown,
) -> (u64, u64, usize) {
    let (mut num, mut den, mut hidden) = (0, 0, 0);
    for (_, set) in sets {
        match get(set, t, q, &Level::All, b) {
            Some(Value::Share {
                numerator,
                denominator,
            }) => {
                num += numerator;
                den += denominator;
            }
            Some(_) => hidden += 1,
            None => {}
        }
    }
    (num, den, hidden)
}

fn days(n: u32) -> String {
    if n == 1 {
        "1 dag".into()
    } else {
        format!("{n} dagar")
    }
}

fn days_text(v: Option<Value>, under: &str) -> String {
    match v {
        Some(Value::Days {
            median,
            p90: Some(p),
        }) => format!("{} (9 av 10 inom {})", days(median), days(p)),
        Some(Value::Days { median, p90: None }) => days(median),
        Some(_) => format!("färre än {under} planer"),
        None => "saknas".into(),
    }
}

/// One bar per municipality and organisation, sorted by municipality.
fn per_municipality<F: Fn(&IndicatorSet, &Level) -> Bar>(
    sets: &[(String, IndicatorSet)],
    q: Quarter,
    bar: F,
) -> Vec<Bar> {
    let mut rows = Vec::new();
    for (node, set) in sets.iter().filter(|(_, s)| s.quarters().contains(&q)) {
        for level in set.levels() {
            if let Level::Municipality(m) = &level {
                let name = municipality_name(m);
                let mut b = bar(set, &level);
                b.label = format!("{name} – {node}");
                rows.push((name, node.clone(), b));
            }
        }
    }
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows.into_iter().map(|r| r.2).collect()
}

/// The county report as one HTML page.
pub fn report_html(
    sets: &[(String, IndicatorSet)],
    missing: &[(String, Missing)],
    lang: Lang,
) -> String {
    let Lang::Sv = lang;
    let threshold = sets.iter().map(|(_, s)| s.threshold).max().unwrap_or(5);
    let under = threshold.to_string();
    let latest = sets.iter().map(|(_, s)| s.last).max();
    let mut o = format!(
        "<!doctype html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Barnens bästa gäller – uppföljning i Kronobergs län</title>\n<style>{STYLE}</style>\n\
</head>\n<body>\n<main>\n<h1>Barnens bästa gäller – uppföljning i Kronobergs län</h1>\n"
    );
    match latest {
        Some(q) => o.push_str(&format!(
            "<p class=\"lead\">Siffrorna gäller {} om inget annat sägs. De kommer från {} som \
var och en har räknat på sina egna planer. Inga uppgifter om enskilda barn har lämnat \
organisationerna.</p>\n",
            esc(&q.label_sv()),
            organisations(sets.len())
        )),
        None => o.push_str("<p class=\"lead\">Inga siffror har kommit in.</p>\n"),
    }
    // Who is missing, at the top and never left out.
    let behind: Vec<&String> = match latest {
        Some(q) => sets
            .iter()
            .filter(|(_, s)| !s.quarters().contains(&q))
            .map(|(n, _)| n)
            .collect(),
        None => vec![],
    };
    if missing.is_empty() && behind.is_empty() {
        o.push_str("<p>Alla tillfrågade organisationer har svarat.</p>\n");
    } else {
        o.push_str("<section class=\"missing\">\n<h2>Alla har inte svarat</h2>\n");
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|(n, why)| format!("{} ({})", esc(n), why.label_sv()))
                .collect();
            o.push_str(&format!(
                "<p><strong>Svarade inte:</strong> {}.</p>\n",
                names.join(", ")
            ));
        }
        if let (Some(q), false) = (latest, behind.is_empty()) {
            let names: Vec<String> = behind.iter().map(|n| esc(n)).collect();
            o.push_str(&format!(
                "<p><strong>Har inte lämnat siffror för {}:</strong> {}.</p>\n",
                esc(&q.label_sv()),
                names.join(", ")
            ));
        }
        o.push_str(
            "<p>Deras planer finns inte med nedan, så siffrorna för länet är för låga.</p>\n\
</section>\n",
        );
    }
    if let Some(q) = latest {
        time_to_plan(&mut o, sets, q, &under);
        child_voice(&mut o, sets, q, &under);
        plans_and_follow_ups(&mut o, sets, q);
    }
    explanations(&mut o, &under);
    o.push_str(
        "<small>Sammanställt ur organisationernas underskrivna underlag. Siffror per verksamhet \
finns i tabellerna för forskare.</small>\n</main>\n</body>\n</html>\n",
    );
    o
}

fn time_to_plan(o: &mut String, sets: &[(String, IndicatorSet)], q: Quarter, under: &str) {
    let agreed = Breakdown::Interval(Interval::ToAgreedPlan);
    o.push_str("<h2>Från uppmärksammat behov till överenskommen plan</h2>\n");
    let bars = per_municipality(sets, q, |set, level| {
        let v = get(set, TableId::Days, q, level, agreed);
        let (value, behind) = match v {
            Some(Value::Days { median, p90 }) => (Some(f64::from(median)), p90.map(f64::from)),
            _ => (None, None),
        };
        Bar {
            label: String::new(),
            value,
            behind,
            text: days_text(v, under),
        }
    });
    let medians: Vec<f64> = bars.iter().filter_map(|b| b.value).collect();
    let lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = medians.iter().copied().fold(0.0, f64::max);
    o.push_str(&match medians.len() {
        0 => format!(
            "<p class=\"lead\">Under {} blev för få planer överenskomna för att visa hur lång tid \
det tog.</p>\n",
            esc(&q.label_sv())
        ),
        _ if lo == hi => format!(
            "<p class=\"lead\">Under {} tog det i mitten (median) {} från att ett behov \
uppmärksammades till att barnets plan var överenskommen.</p>\n",
            esc(&q.label_sv()),
            days(lo as u32)
        ),
        _ => format!(
            "<p class=\"lead\">Under {} tog det i mitten (median) mellan {lo} och {hi} dagar från \
att ett behov uppmärksammades till att barnets plan var överenskommen, beroende på kommun och \
organisation.</p>\n",
            esc(&q.label_sv())
        ),
    });
    if !bars.is_empty() {
        let max = bars
            .iter()
            .filter_map(|b| b.behind.or(b.value))
            .fold(1.0, f64::max);
        o.push_str("<figure>\n");
        o.push_str(&bar_chart(
            "dagar-till-plan",
            "Dagar från uppmärksammat behov till överenskommen plan, per kommun",
            &bars,
            max,
        ));
        o.push_str(
            "<figcaption>Den mörka stapeln är medianen: hälften av planerna blev överenskomna \
på kortare tid. Den ljusa stapeln visar inom hur många dagar nio av tio planer blev \
överenskomna.</figcaption>\n</figure>\n",
        );
    }
    o.push_str(
        "<table>\n<tr><th>Organisation</th><th>Till samtycke</th><th>Till första \
samverkansmötet</th><th>Till överenskommen plan</th></tr>\n",
    );
    for (node, set) in sets {
        o.push_str(&format!("<tr><td>{}</td>", esc(node)));
        for i in Interval::ALL {
            let v = get(set, TableId::Days, q, &Level::All, Breakdown::Interval(*i));
            o.push_str(&format!("<td>{}</td>", esc(&days_text(v, under))));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

fn child_voice(o: &mut String, sets: &[(String, IndicatorSet)], q: Quarter, under: &str) {
    let child = Breakdown::Aspect(MeetingAspect::ChildViewRecorded);
    let guardians = Breakdown::Aspect(MeetingAspect::GuardiansPresent);
    o.push_str("<h2>Barnets egen röst</h2>\n");
    let (num, den, hidden) = pooled_share(sets, TableId::Meetings, q, child);
    if den > 0 {
        o.push_str(&format!(
            "<p class=\"lead\">I {num} av {den} samverkansmöten ({}\u{a0}%) antecknades barnets \
egen syn.</p>\n",
            percent(num, den)
        ));
    } else {
        o.push_str("<p class=\"lead\">Det hölls för få samverkansmöten för att visa hur ofta barnets egen syn antecknades.</p>\n");
    }
    let (gn, gd, _) = pooled_share(sets, TableId::Meetings, q, guardians);
    if gd > 0 {
        o.push_str(&format!(
            "<p>Minst en vårdnadshavare var med i {gn} av {gd} möten ({}\u{a0}%).</p>\n",
            percent(gn, gd)
        ));
    }
    if hidden > 0 {
        let who = organisations(hidden);
        o.push_str(&format!(
            "<p>Hos {who} var mötena färre än {under} och räknas inte med här.</p>\n"
        ));
    }
    o.push_str(
        "<p>Som jämförelse: i Skottland, där arbetssättet kommer ifrån, kände 91\u{a0}% av barnen \
sig delaktiga. Att barnets syn skrivs ner är inte samma sak som att barnet känner sig delaktigt, \
men det är en förutsättning.</p>\n",
    );
    let bars = per_municipality(sets, q, |set, level| {
        match get(set, TableId::Meetings, q, level, child) {
            Some(Value::Share {
                numerator,
                denominator,
            }) => {
                let p = percent(numerator, denominator);
                Bar {
                    label: String::new(),
                    value: Some(p as f64),
                    behind: None,
                    text: format!("{p}\u{a0}% ({numerator} av {denominator} möten)"),
                }
            }
            _ => Bar {
                label: String::new(),
                value: None,
                behind: None,
                text: format!("färre än {under} möten"),
            },
        }
    });
    if !bars.is_empty() {
        o.push_str("<figure>\n");
        o.push_str(&bar_chart(
            "barnets-syn",
            "Andel samverkansmöten där barnets egen syn antecknades, per kommun",
            &bars,
            100.0,
        ));
        o.push_str("<figcaption>Hela stapelns bredd är 100\u{a0}%.</figcaption>\n</figure>\n");
    }
    o.push_str("<h2>Vårdnadshavarna och planen</h2>\n");
    let (num, den, _) = pooled_share(sets, TableId::PlanGiven, q, Breakdown::Total);
    if den > 0 {
        o.push_str(&format!(
            "<p class=\"lead\">Av {den} planer som blev överenskomna hade vårdnadshavarna fått \
planen före kvartalets slut i {num} fall ({}\u{a0}%).</p>\n",
            percent(num, den)
        ));
    } else {
        o.push_str("<p class=\"lead\">För få planer blev överenskomna för att visa hur många vårdnadshavare som fick planen.</p>\n");
    }
    o.push_str(
        "<p>Som jämförelse: i Skottland kände 97\u{a0}% av vårdnadshavarna till sitt barns \
plan.</p>\n",
    );
}

fn plans_and_follow_ups(o: &mut String, sets: &[(String, IndicatorSet)], q: Quarter) {
    let mut quarters: Vec<Quarter> = sets.iter().flat_map(|(_, s)| s.quarters()).collect();
    quarters.sort();
    quarters.dedup();
    o.push_str(
        "<h2>Planer kvartal för kvartal</h2>\n<table>\n<tr><th>Kvartal</th><th>Nya</th>\
<th>Pågående vid kvartalets slut</th><th>Avslutade</th></tr>\n",
    );
    for k in quarters.iter().rev() {
        o.push_str(&format!("<tr><td>{}</td>", esc(&k.label_sv())));
        for t in [TableId::Opened, TableId::OpenAtQuarterEnd, TableId::Closed] {
            let cell = pooled_count(sets, t, *k, Breakdown::Total);
            o.push_str(&format!("<td class=\"n\">{}</td>", esc(&cell)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str(
        "</table>\n<p>”Minst” betyder att några organisationer hade för få planer för att \
visa dem eller inte har lämnat siffror för kvartalet, så den rätta summan är större. ”Visas \
inte” betyder att ingen organisation hade tillräckligt många.</p>\n",
    );
    o.push_str(&format!(
        "<h2>Uppföljningar</h2>\n<p>Uppföljningar som skulle göras under {}:</p>\n<table>\n",
        esc(&q.label_sv())
    ));
    for s in FollowUpStatus::ALL {
        let cell = pooled_count(sets, TableId::FollowUps, q, Breakdown::FollowUp(*s));
        o.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>\n",
            esc(s.label_sv()),
            esc(&cell)
        ));
    }
    o.push_str("</table>\n");
}

fn explanations(o: &mut String, under: &str) {
    o.push_str(&format!(
        "<h2>Så räknar vi</h2>\n<dl>\n\
<dt>Vem räknar</dt><dd>Varje plan räknas bara hos den organisation som har huvudansvaret för den, \
så att ingen plan räknas två gånger. Varje organisation räknar på sina egna planer och skickar \
bara färdiga summor.</dd>\n\
<dt>Ny plan</dt><dd>En plan räknas som ny det kvartal då någon uppmärksammade att barnet kan behöva \
stöd.</dd>\n\
<dt>Pågående plan</dt><dd>En plan som inte var avslutad kvartalets sista dag.</dd>\n\
<dt>Tid till överenskommen plan</dt><dd>Antal dagar från att behovet uppmärksammades till att \
barnet, vårdnadshavarna och verksamheterna kom överens om planen, för de planer som blev \
överenskomna under kvartalet. På samma sätt räknas tiden till samtycke och till första \
samverkansmötet. Medianen är mittvärdet: hälften av planerna tog kortare tid, hälften längre. \
”9 av 10 inom” är den tid som nio av tio planer höll sig inom; den visas bara när det finns minst \
tio planer.</dd>\n\
<dt>Barnets egen syn</dt><dd>Andelen av kvartalets samverkansmöten där barnets egen syn står i \
anteckningarna från mötet.</dd>\n\
<dt>Vårdnadshavare med</dt><dd>Andelen möten där minst en vårdnadshavare var med.</dd>\n\
<dt>Planen lämnad till vårdnadshavarna</dt><dd>Andelen av kvartalets överenskomna planer där \
vårdnadshavarna hade fått planen före kvartalets slut. För unga från 18 år räknas den unga \
själv.</dd>\n\
<dt>Uppföljningar</dt><dd>”I tid” är gjorda senast den dag de skulle göras, ”försenad” gjorda \
senare, ”inte gjord” ännu inte gjorda när siffrorna togs fram.</dd>\n</dl>\n\
<h2>Färre än {under}</h2>\n\
<p>För att ingen ska kunna lista ut något om ett enskilt barn visar vi inga tal under {under}. \
Där står i stället ”färre än {under}”, också när talet är noll. Ibland döljer vi dessutom ett \
större tal, så att det dolda talet inte kan räknas fram ur summorna. Andelar och tider visas bara \
när minst {under} möten eller planer och minst {under} barns planer ligger bakom dem. Ett kvartal \
visas först när det är slut.</p>\n"
    ));
}

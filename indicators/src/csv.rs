//! One CSV file per table for researchers (RFC 4180: CRLF line ends, fields quoted when they hold a
//! comma, quote or line break). A withheld cell has empty value columns and `suppressed` = `true`;
//! a published days cell whose 90th percentile is withheld (fewer than ten plans) has an empty
//! `p90_days` and `suppressed` = `false`.

use crate::set::{Breakdown, IndicatorSet, Level, TableId, Value, ValueKind};

/// Quotes a field if it needs it.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn line(fields: &[String]) -> String {
    let mut l = fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",");
    l.push_str("\r\n");
    l
}

/// The breakdown's column names for a table.
fn breakdown_columns(id: TableId) -> &'static [&'static str] {
    match id {
        TableId::Opened => &["age_band"],
        TableId::OpenAtQuarterEnd => &["stage"],
        TableId::Closed => &["reason"],
        TableId::Days => &["interval"],
        TableId::Meetings => &["aspect"],
        TableId::FollowUps => &["status"],
        TableId::Handovers => &["from_kind", "to_kind"],
        TableId::ConsentGrants => &["category", "to_kind"],
        TableId::PlanGiven | TableId::Revocations => &[],
    }
}

fn breakdown_fields(b: Breakdown) -> Vec<String> {
    let s = |x: &str| x.to_string();
    match b {
        Breakdown::Total => vec![s("total")],
        Breakdown::AgeBand(a) => vec![s(a.slug())],
        Breakdown::Stage(x) => vec![s(x.slug())],
        Breakdown::CloseReason(r) => vec![s(r.slug())],
        Breakdown::Interval(i) => vec![s(i.slug())],
        Breakdown::Aspect(a) => vec![s(a.slug())],
        Breakdown::FollowUp(f) => vec![s(f.slug())],
        Breakdown::Handover { from, to } => vec![s(from.slug()), s(to.slug())],
        Breakdown::Grant { category, to } => vec![s(category.slug()), s(to.slug())],
    }
}

fn value_columns(kind: ValueKind) -> &'static [&'static str] {
    match kind {
        ValueKind::Count => &["count"],
        ValueKind::Days => &["median_days", "p90_days"],
        ValueKind::Share => &["numerator", "denominator"],
    }
}

fn value_fields(kind: ValueKind, v: Value) -> Vec<String> {
    match v {
        Value::Count(n) => vec![n.to_string()],
        Value::Days { median, p90 } => {
            vec![
                median.to_string(),
                p90.map(|p| p.to_string()).unwrap_or_default(),
            ]
        }
        Value::Share {
            numerator,
            denominator,
        } => vec![numerator.to_string(), denominator.to_string()],
        Value::Suppressed => vec![String::new(); value_columns(kind).len()],
    }
}

fn level_fields(l: &Level) -> [String; 4] {
    match l {
        Level::All => ["all".into(), String::new(), String::new(), String::new()],
        Level::Municipality(m) => [
            "municipality".into(),
            m.clone(),
            String::new(),
            String::new(),
        ],
        Level::Authority {
            municipality,
            id,
            kind,
        } => [
            "authority".into(),
            municipality.clone(),
            id.clone(),
            kind.slug().into(),
        ],
    }
}

/// One CSV per table over all sets, named `<table slug>.csv`, with the node's name in the first
/// column.
pub fn tables_csv(sets: &[(String, IndicatorSet)]) -> Vec<(String, String)> {
    TableId::ALL
        .iter()
        .map(|&id| {
            let kind = id.value_kind();
            let header: Vec<String> = [
                "node",
                "quarter",
                "level",
                "municipality",
                "authority",
                "authority_kind",
            ]
            .iter()
            .chain(breakdown_columns(id))
            .chain(value_columns(kind))
            .chain(&["suppressed"])
            .map(|s| s.to_string())
            .collect();
            let mut text = line(&header);
            for (node, set) in sets {
                for cell in set
                    .table(id)
                    .map(|t| t.cells.as_slice())
                    .unwrap_or_default()
                {
                    let mut row = vec![node.clone(), cell.quarter.to_string()];
                    row.extend(level_fields(&cell.level));
                    if !breakdown_columns(id).is_empty() {
                        row.extend(breakdown_fields(cell.breakdown));
                    }
                    row.extend(value_fields(kind, cell.value));
                    row.push((cell.value == Value::Suppressed).to_string());
                    text.push_str(&line(&row));
                }
            }
            (format!("{}.csv", id.slug()), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(line(&["a".into(), "b,c".into()]), "a,\"b,c\"\r\n");
    }
}

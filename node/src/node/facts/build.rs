//! A plan's digest to [`PlanFacts`]: pure, against the county's directory, where plans are
//! counted, and today. The digest holds nothing personal already ([`super::digest`]); here its
//! units become authorities and kinds, and its days are held to the plan's life.
//!
//! Facts must pass [`PlanFacts::check`] or the whole set fails, and stored data can disagree with
//! itself (a received copy dated by another node's clock, a follow-up record held before the
//! plan's need was noticed). So every day is brought into the plan's life: stage changes are
//! held within it and in order, other events outside it are left out.

use std::collections::{BTreeMap, BTreeSet};

use kronobarn_indicators::{
    AgeBand, AuthorityKind, AuthorityRef, Category, CloseReason, Closure, Day, FollowUp,
    GrantGiven, Handover, Meeting, PlanFacts, Stage, StageChange,
};
use kronobarn_policy::{AuthorityKind as Kind, Directory};
use kronobarn_proto::v1::{self, PlanStage};

use super::Counting;
use super::digest::{GrantDigest, PlanDigest, UnitRef};

/// What the facts are built against.
pub(crate) struct Context<'a> {
    /// This organisation.
    pub organization: &'a str,
    /// The county's directory.
    pub directory: &'a Directory,
    /// Where plans are counted.
    pub counting: &'a Counting,
    /// Today, as a Swedish day number.
    pub today: Day,
}

/// The Swedish day number of an instant.
pub(crate) fn day_of_ms(ms: i64) -> Day {
    let (y, m, d) = kronobarn_proto::date::swedish_date(ms);
    kronobarn_proto::date::days_from_civil(y, m, d) as Day
}

/// The indicators' kind of authority for the directory's.
pub(crate) fn kind_of(k: Kind) -> AuthorityKind {
    match k {
        Kind::School => AuthorityKind::School,
        Kind::Preschool => AuthorityKind::Preschool,
        Kind::SocialServices => AuthorityKind::SocialServices,
        Kind::ChildHealthCare => AuthorityKind::ChildHealthCare,
        Kind::ChildPsychiatry => AuthorityKind::ChildPsychiatry,
        Kind::MaternityCare => AuthorityKind::MaternityCare,
        Kind::ActivityResponsibility => AuthorityKind::ActivityResponsibility,
        Kind::Police => AuthorityKind::Police,
        Kind::Voluntary => AuthorityKind::Voluntary,
        Kind::StudentHealth | Kind::PrimaryCare | Kind::Leisure | Kind::Other => {
            AuthorityKind::Other
        }
    }
}

/// `s` as an indicator slug: lowercase letters, digits and `-`, starting with a letter, with no
/// run of six digits (roster ids may also hold `_` and `.`).
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut digits = 0;
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        if digits == 6 {
            out.push('-');
            digits = 1;
        }
        out.push(c);
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x-");
    }
    out.truncate(64);
    out
}

/// Where a unit of this organisation is counted, and its authority.
pub(crate) fn authority_ref(ctx: &Context<'_>, unit: &str) -> AuthorityRef {
    let municipality = |authority: Option<&str>| {
        ctx.counting
            .units
            .get(unit)
            .or_else(|| authority.and_then(|a| ctx.counting.authorities.get(a)))
            .cloned()
            .unwrap_or_else(|| ctx.counting.municipality.clone())
    };
    match ctx.directory.authority_of(ctx.organization, unit) {
        Some(a) => AuthorityRef {
            id: slug(&a.id),
            kind: kind_of(a.kind),
            municipality: municipality(Some(&a.id)),
        },
        // A unit the directory does not list: counted under the organisation as "other".
        None => AuthorityRef {
            id: slug(ctx.organization),
            kind: AuthorityKind::Other,
            municipality: municipality(None),
        },
    }
}

/// Every authority this organisation reports for: each listed authority in each municipality
/// its units are counted in.
pub(crate) fn declared(ctx: &Context<'_>) -> BTreeSet<AuthorityRef> {
    let mut out = BTreeSet::new();
    for a in ctx.directory.authorities_of(ctx.organization) {
        let units: Vec<&str> = ctx
            .directory
            .units()
            .filter(|u| u.organization == ctx.organization && u.authority == a.id)
            .map(|u| u.unit.as_str())
            .collect();
        if units.is_empty() {
            out.insert(AuthorityRef {
                id: slug(&a.id),
                kind: kind_of(a.kind),
                municipality: ctx
                    .counting
                    .authorities
                    .get(&a.id)
                    .cloned()
                    .unwrap_or_else(|| ctx.counting.municipality.clone()),
            });
        }
        for u in units {
            out.insert(authority_ref(ctx, u));
        }
    }
    out
}

fn stage_of(s: i32) -> Option<Stage> {
    Some(match PlanStage::try_from(s).ok()? {
        PlanStage::Unspecified => return None,
        PlanStage::NeedNoticed => Stage::NeedNoticed,
        PlanStage::Talk => Stage::Talk,
        PlanStage::Consent => Stage::Consent,
        PlanStage::MeetingCalled => Stage::MeetingCalled,
        PlanStage::Agreed => Stage::Agreed,
        PlanStage::FollowUp => Stage::FollowUp,
        PlanStage::Revised => Stage::Revised,
        PlanStage::Closed => Stage::Closed,
    })
}

/// The category of a closing; a closing with words alone (or none) is "other".
fn close_reason(r: i32) -> CloseReason {
    match v1::CloseReason::try_from(r) {
        Ok(v1::CloseReason::GoalsMet) => CloseReason::GoalsMet,
        Ok(v1::CloseReason::MovedAway) => CloseReason::MovedAway,
        Ok(v1::CloseReason::ConsentWithdrawn) => CloseReason::ConsentWithdrawn,
        Ok(v1::CloseReason::OtherSupport) => CloseReason::OtherSupport,
        _ => CloseReason::Other,
    }
}

fn category_of(c: i32) -> Option<Category> {
    Some(match v1::Category::try_from(c).ok()? {
        v1::Category::Unspecified => return None,
        v1::Category::Identity => Category::Identity,
        v1::Category::Participants => Category::Participants,
        v1::Category::WheelHealth => Category::WheelHealth,
        v1::Category::WheelDevelopment => Category::WheelDevelopment,
        v1::Category::WheelLearning => Category::WheelLearning,
        v1::Category::WheelCare => Category::WheelCare,
        v1::Category::WheelHome => Category::WheelHome,
        v1::Category::WheelRelationships => Category::WheelRelationships,
        v1::Category::WheelSafety => Category::WheelSafety,
        v1::Category::Interventions => Category::Interventions,
        v1::Category::Meetings => Category::Meetings,
        v1::Category::FollowUps => Category::FollowUps,
    })
}

/// The kind of authority a grant names: its authority, else its unit's, else the one authority
/// of the organisation taking part in the plan, else the organisation's only authority.
fn grant_kind(ctx: &Context<'_>, g: &GrantDigest, participants: &[(&str, &str)]) -> AuthorityKind {
    let d = ctx.directory;
    if let Some(a) = d.authority(&g.authority) {
        return kind_of(a.kind);
    }
    if let Some(a) = (!g.unit.is_empty())
        .then(|| d.authority_of(&g.organization, &g.unit))
        .flatten()
    {
        return kind_of(a.kind);
    }
    let taking_part: BTreeSet<&str> = participants
        .iter()
        .filter(|(o, _)| *o == g.organization)
        .filter_map(|(o, u)| d.authority_of(o, u).map(|a| a.id.as_str()))
        .collect();
    let only = |mut it: Box<dyn Iterator<Item = Kind> + '_>| {
        let first = it.next()?;
        it.next().is_none().then_some(first)
    };
    if let Some(k) = only(Box::new(
        taking_part
            .iter()
            .filter_map(|id| d.authority(id).map(|a| a.kind)),
    )) {
        return kind_of(k);
    }
    only(Box::new(d.authorities_of(&g.organization).map(|a| a.kind)))
        .map_or(AuthorityKind::Other, kind_of)
}

/// A kind that can be counted in a handover (the Police and associations are never
/// responsible; a handover naming one is counted as "other").
fn responsible(k: AuthorityKind) -> AuthorityKind {
    if k.can_be_responsible() {
        k
    } else {
        AuthorityKind::Other
    }
}

/// Pairs each follow-up date of a target with the first record of that target held after the
/// date before it (a follow-up held a little early counts as done on time).
fn follow_ups(
    dues: &BTreeMap<&str, BTreeSet<Day>>,
    held: &BTreeMap<&str, Vec<Day>>,
) -> Vec<FollowUp> {
    let mut out = Vec::new();
    for (target, dates) in dues {
        let mut records: Vec<Day> = held.get(target).cloned().unwrap_or_default();
        records.sort_unstable();
        let mut next = 0;
        let mut previous: Option<Day> = None;
        for &due in dates {
            while next < records.len() && previous.is_some_and(|p| records[next] <= p) {
                next += 1;
            }
            let done = records.get(next).copied();
            if done.is_some() {
                next += 1;
            }
            out.push(FollowUp { due, done });
            previous = Some(due);
        }
    }
    out
}

/// The facts of one plan at its home; `None` when the plan has no header yet.
pub(crate) fn facts(ctx: &Context<'_>, d: &PlanDigest) -> Option<PlanFacts> {
    if !d.has_header {
        return None;
    }
    let today = ctx.today;
    let need_noticed = d.need_noticed.min(today);
    let authority = authority_ref(ctx, &d.responsible_unit);

    // Stage changes, held within the plan's life and in order.
    let mut stage_changes = Vec::new();
    let mut closed = None;
    let mut last = need_noticed;
    for c in &d.steps {
        let Some(stage) = stage_of(c.stage) else {
            continue;
        };
        let day = c.day.clamp(last, today);
        last = day;
        stage_changes.push(StageChange { day, stage });
        if stage == Stage::Closed {
            closed = Some(Closure {
                day,
                reason: close_reason(c.close_reason),
            });
            break;
        }
    }
    let end = closed.map_or(today, |c| c.day);
    let within = |day: Day| (need_noticed..=end).contains(&day);
    let agreed = stage_changes
        .iter()
        .find(|c| c.stage == Stage::Agreed)
        .map(|c| c.day);

    let meetings = d
        .meetings
        .iter()
        .filter(|m| within(m.day))
        .map(|m| Meeting {
            day: m.day,
            child_view_recorded: m.child_view,
            guardians_present: m.guardians,
        })
        .collect();
    let mut dues: BTreeMap<&str, BTreeSet<Day>> = BTreeMap::new();
    for x in d.dues.iter().filter(|x| x.day >= need_noticed) {
        dues.entry(&x.target).or_default().insert(x.day);
    }
    let mut held: BTreeMap<&str, Vec<Day>> = BTreeMap::new();
    for x in d.held.iter().filter(|x| within(x.day)) {
        held.entry(&x.target).or_default().push(x.day);
    }
    let mut participants = vec![(ctx.organization, d.responsible_unit.as_str())];
    participants.extend(
        d.participants
            .iter()
            .map(|p| (p.organization.as_str(), p.unit.as_str())),
    );

    // Handovers: the kind handing over is the offering unit's, or the kind the last handover
    // went to; the first offer without a unit names the organisation's only responsible kind.
    let mut handovers = Vec::new();
    let mut previous_to: Option<AuthorityKind> = None;
    let kind = |u: &Option<UnitRef>| {
        u.as_ref().and_then(|u| {
            ctx.directory
                .authority_of(&u.organization, &u.unit)
                .map(|a| kind_of(a.kind))
        })
    };
    for h in &d.handovers {
        let only_responsible = || {
            let org = h.from.as_ref()?.organization.as_str();
            let mut it = ctx
                .directory
                .authorities_of(org)
                .map(|a| kind_of(a.kind))
                .filter(|k| k.can_be_responsible());
            let first = it.next()?;
            it.next().is_none().then_some(first)
        };
        let from = kind(&h.from)
            .or(previous_to)
            .or_else(only_responsible)
            .unwrap_or(AuthorityKind::Other);
        let to = kind(&h.to).unwrap_or(AuthorityKind::Other);
        previous_to = Some(to);
        if within(h.day) {
            handovers.push(Handover {
                day: h.day,
                from: responsible(from),
                to: responsible(to),
            });
        }
    }

    let mut grants = BTreeSet::new();
    let mut consent = None;
    for c in d.consents.iter().filter(|c| within(c.day)) {
        consent = Some(consent.map_or(c.day, |x: Day| x.min(c.day)));
        for g in &c.grants {
            let to = grant_kind(ctx, g, &participants);
            for category in g.categories.iter().filter_map(|c| category_of(*c)) {
                grants.insert((c.day, category, to));
            }
        }
    }

    Some(PlanFacts {
        authority: authority.id,
        authority_kind: authority.kind,
        municipality: authority.municipality,
        // A header without a birth (a reserve number without a birth date) is counted as a
        // school child: the most common case, and never a band that no child could be in.
        age_band: (d.age_band as usize)
            .checked_sub(1)
            .and_then(|i| AgeBand::ALL.get(i).copied())
            .unwrap_or(AgeBand::Age6To12),
        need_noticed,
        consent,
        agreed,
        stage_changes,
        closed,
        meetings,
        plan_given: (d.given_plus_one > 0)
            .then(|| d.given_plus_one - 1)
            .filter(|g| within(*g)),
        follow_ups: follow_ups(&dues, &held),
        handovers,
        revocations: d
            .revocations
            .iter()
            .copied()
            .filter(|r| within(*r))
            .collect(),
        grants: grants
            .into_iter()
            .map(|(day, category, to)| GrantGiven { day, category, to })
            .collect(),
    })
}

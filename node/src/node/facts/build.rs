//! One stored plan to [`PlanFacts`]: pure, from what the home holds of it (decoded), the county's
//! directory and today. Nothing personal passes: the header gives an age band and the responsible
//! unit's authority, every date becomes a day number, and every text is either dropped or
//! reduced to "was anything written".
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
use kronobarn_proto::v1::{
    self, Consent, Fragment, HandoverAcceptance, PlanHeader, PlanStage, Revocation, fragment::Body,
};

use super::Counting;

/// What the home holds of one plan, decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stored {
    /// When the plan was created (its need noticed), from the signed creation record, or from
    /// the plan record when there is none.
    pub created_at_ms: i64,
    /// Every fragment held.
    pub fragments: Vec<Fragment>,
    /// Every consent version, oldest first.
    pub consents: Vec<Consent>,
    /// Every revocation held.
    pub revocations: Vec<Revocation>,
    /// Accepted handovers, in order.
    pub handovers: Vec<HandoverAcceptance>,
    /// The day the plan was first handed out to the family, if it was.
    pub given: Option<Day>,
}

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

/// The day number of a `YYYY-MM-DD` date.
fn day_of_date(s: &str) -> Option<Day> {
    let (y, m, d) = kronobarn_proto::date::parse_date(s)?;
    Some(kronobarn_proto::date::days_from_civil(y, m, d) as Day)
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

fn age_band(header: &PlanHeader, need_noticed: Day) -> Option<AgeBand> {
    let birth = kronobarn_gateway::convert::birth(header.child.as_ref()?);
    let day = kronobarn_policy::Date::from_unix_day(i64::from(need_noticed));
    birth.map(|b| match b.age_on(day) {
        None => AgeBand::Unborn,
        Some(a) if a < 0 => AgeBand::Unborn,
        Some(0..=5) => AgeBand::Age0To5,
        Some(6..=12) => AgeBand::Age6To12,
        Some(13..=15) => AgeBand::Age13To15,
        Some(16..=17) => AgeBand::Age16To17,
        Some(_) => AgeBand::Age18To20,
    })
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
fn grant_kind(ctx: &Context<'_>, g: &v1::Grant, participants: &[(&str, &str)]) -> AuthorityKind {
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
    dues: &BTreeMap<String, BTreeSet<Day>>,
    held: &BTreeMap<String, Vec<Day>>,
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
pub(crate) fn facts(ctx: &Context<'_>, s: &Stored) -> Option<PlanFacts> {
    let header = s.fragments.iter().find_map(|f| match &f.body {
        Some(Body::Header(h)) => Some(h),
        _ => None,
    })?;
    let today = ctx.today;
    let need_noticed = day_of_ms(s.created_at_ms).min(today);
    let authority = authority_ref(ctx, &header.responsible_unit);

    // Stage changes, held within the plan's life and in order.
    let history = s.fragments.iter().find_map(|f| match &f.body {
        Some(Body::Status(st)) => Some(&st.history),
        _ => None,
    });
    let mut stage_changes = Vec::new();
    let mut closed = None;
    let mut last = need_noticed;
    for c in history.into_iter().flatten() {
        let Some(stage) = stage_of(c.stage) else {
            continue;
        };
        let day = day_of_ms(c.at_unix_ms).clamp(last, today);
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
    let within = |d: Day| (need_noticed..=end).contains(&d);
    let agreed = stage_changes
        .iter()
        .find(|c| c.stage == Stage::Agreed)
        .map(|c| c.day);

    let mut meetings = Vec::new();
    let mut dues: BTreeMap<String, BTreeSet<Day>> = BTreeMap::new();
    let mut held: BTreeMap<String, Vec<Day>> = BTreeMap::new();
    let mut due = |target: &str, date: &str| {
        if let Some(d) = day_of_date(date).filter(|d| *d >= need_noticed) {
            dues.entry(target.to_string()).or_default().insert(d);
        }
    };
    let mut participants = vec![(ctx.organization, header.responsible_unit.as_str())];
    for f in &s.fragments {
        match &f.body {
            Some(Body::Header(h)) => h.follow_up_dates.iter().for_each(|d| due("", d)),
            Some(Body::Intervention(iv)) => due(&f.fragment_id, &iv.follow_up_date),
            Some(Body::FollowUp(r)) => {
                due(&r.intervention_fragment_id, &r.next_follow_up_date);
                if let Some(d) = day_of_date(&r.held_on).filter(|d| within(*d)) {
                    held.entry(r.intervention_fragment_id.clone())
                        .or_default()
                        .push(d);
                }
            }
            Some(Body::Meeting(m)) => {
                if let Some(day) = day_of_date(&m.held_on).filter(|d| within(*d)) {
                    meetings.push(Meeting {
                        day,
                        child_view_recorded: !m.child_view.trim().is_empty(),
                        guardians_present: m.guardians_present,
                    });
                }
            }
            Some(Body::Participant(p)) => {
                participants.push((p.organization.as_str(), p.unit.as_str()))
            }
            _ => {}
        }
    }

    // Handovers: the kind handing over is the offering unit's, or the kind the last handover
    // went to; the first offer without a unit names the organisation's only responsible kind.
    let mut handovers = Vec::new();
    let mut previous_to: Option<AuthorityKind> = None;
    for a in &s.handovers {
        let Some(offer) = a.offer.as_ref().and_then(crate::node::offer_of) else {
            continue;
        };
        let kind = |org: &str, unit: &str| {
            ctx.directory
                .authority_of(org, unit)
                .map(|a| kind_of(a.kind))
        };
        let only_responsible = || {
            let mut it = ctx
                .directory
                .authorities_of(&offer.from_organization)
                .map(|a| kind_of(a.kind))
                .filter(|k| k.can_be_responsible());
            let first = it.next()?;
            it.next().is_none().then_some(first)
        };
        let from = kind(&offer.from_organization, &offer.from_unit)
            .or(previous_to)
            .or_else(only_responsible)
            .unwrap_or(AuthorityKind::Other);
        let to = kind(&offer.to_organization, &offer.to_unit).unwrap_or(AuthorityKind::Other);
        previous_to = Some(to);
        let day = day_of_ms(a.accepted_at_unix_ms);
        if within(day) {
            handovers.push(Handover {
                day,
                from: responsible(from),
                to: responsible(to),
            });
        }
    }

    let revocations = s
        .revocations
        .iter()
        .filter(|r| r.withdrawn_by != kronobarn_proto::ids::PLAN_CLOSED)
        .map(|r| day_of_ms(r.recorded_at_unix_ms))
        .filter(|d| within(*d))
        .collect();

    let mut grants = BTreeSet::new();
    let mut consent = None;
    for c in &s.consents {
        let day = day_of_ms(c.recorded_at_unix_ms);
        if !within(day) {
            continue;
        }
        consent = Some(consent.map_or(day, |d: Day| d.min(day)));
        for g in &c.grants {
            let to = grant_kind(ctx, g, &participants);
            for category in g.categories.iter().filter_map(|c| category_of(*c)) {
                grants.insert((day, category, to));
            }
        }
    }

    Some(PlanFacts {
        authority: authority.id,
        authority_kind: authority.kind,
        municipality: authority.municipality,
        // A header without a birth (a reserve number without a birth date) is counted as a
        // school child: the most common case, and never a band that no child could be in.
        age_band: age_band(header, need_noticed).unwrap_or(AgeBand::Age6To12),
        need_noticed,
        consent,
        agreed,
        stage_changes,
        closed,
        meetings,
        plan_given: s.given.filter(|d| within(*d)),
        follow_ups: follow_ups(&dues, &held),
        handovers,
        revocations,
        grants: grants
            .into_iter()
            .map(|(day, category, to)| GrantGiven { day, category, to })
            .collect(),
    })
}

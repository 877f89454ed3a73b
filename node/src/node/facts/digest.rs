//! A plan's digest: what the indicators need of it, with nothing personal — days, stages,
//! flags, organisation and unit slugs, random fragment ids — kept at `digest/{plan}` as soft
//! state, stamped with the plan's head in the access log when it was made. Every change to a
//! plan (a write, a received copy, a purge, a handover, the plan handed to the family) appends an
//! access record about the plan in the same batch, so a digest whose stamp still equals the
//! plan's log head is current, and only plans changed since the last computation are read again.
//! The facts are computed from digests each time, against today and the directory.

use std::collections::BTreeSet;

use kronobarn_proto::v1::{Consent, Fragment, HandoverAcceptance, Revocation, fragment::Body};

use super::build::day_of_ms;

/// What the home holds of one plan, decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stored {
    /// When the plan was created (its need noticed), from the signed creation record, or from
    /// the plan record when there is none.
    pub created_at_ms: i64,
    /// Every fragment held (the kinds the facts read).
    pub fragments: Vec<Fragment>,
    /// Every consent version, oldest first.
    pub consents: Vec<Consent>,
    /// Every revocation held.
    pub revocations: Vec<Revocation>,
    /// Accepted handovers, in order.
    pub handovers: Vec<HandoverAcceptance>,
    /// The day the plan was first handed out to the family, if it was.
    pub given: Option<i32>,
}

/// One plan, digested.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PlanDigest {
    /// The plan's head in the access log when the digest was made (its stored bytes).
    #[prost(bytes = "vec", tag = "1")]
    pub stamp: Vec<u8>,
    /// The plan has a header (a plan without one is not counted).
    #[prost(bool, tag = "2")]
    pub has_header: bool,
    /// Day the need was noticed.
    #[prost(int32, tag = "3")]
    pub need_noticed: i32,
    /// The responsible unit, as the header names it.
    #[prost(string, tag = "4")]
    pub responsible_unit: String,
    /// The child's age band when the need was noticed, by its place in `AgeBand::ALL` plus one;
    /// 0 when the header gives no birth.
    #[prost(uint32, tag = "5")]
    pub age_band: u32,
    /// The stage changes, in order.
    #[prost(message, repeated, tag = "6")]
    pub steps: Vec<Step>,
    /// Coordination meetings held.
    #[prost(message, repeated, tag = "7")]
    pub meetings: Vec<MeetingDigest>,
    /// Follow-up days by target ("" for the plan, else an intervention's fragment id).
    #[prost(message, repeated, tag = "8")]
    pub dues: Vec<Dated>,
    /// Days follow-ups were held, by target.
    #[prost(message, repeated, tag = "9")]
    pub held: Vec<Dated>,
    /// Units taking part.
    #[prost(message, repeated, tag = "10")]
    pub participants: Vec<UnitRef>,
    /// Accepted handovers, in order.
    #[prost(message, repeated, tag = "11")]
    pub handovers: Vec<HandoverDigest>,
    /// Days a revocation was recorded (not the closing's withdrawal).
    #[prost(int32, repeated, tag = "12")]
    pub revocations: Vec<i32>,
    /// Consents, oldest first.
    #[prost(message, repeated, tag = "13")]
    pub consents: Vec<ConsentDigest>,
    /// The day the plan was handed to the family, plus one; 0 when it was not.
    #[prost(int32, tag = "14")]
    pub given_plus_one: i32,
}

/// A stage change.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Step {
    /// Day of the change.
    #[prost(int32, tag = "1")]
    pub day: i32,
    /// `PlanStage` number.
    #[prost(int32, tag = "2")]
    pub stage: i32,
    /// `CloseReason` number.
    #[prost(int32, tag = "3")]
    pub close_reason: i32,
}

/// A coordination meeting.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct MeetingDigest {
    /// Day held.
    #[prost(int32, tag = "1")]
    pub day: i32,
    /// The child's own view was recorded.
    #[prost(bool, tag = "2")]
    pub child_view: bool,
    /// A guardian took part.
    #[prost(bool, tag = "3")]
    pub guardians: bool,
}

/// A day for a follow-up target.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Dated {
    /// "" for the plan, else an intervention's random fragment id.
    #[prost(string, tag = "1")]
    pub target: String,
    /// The day.
    #[prost(int32, tag = "2")]
    pub day: i32,
}

/// An organisation's unit.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct UnitRef {
    /// Organisation id.
    #[prost(string, tag = "1")]
    pub organization: String,
    /// Unit slug.
    #[prost(string, tag = "2")]
    pub unit: String,
}

/// An accepted handover.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HandoverDigest {
    /// Day accepted.
    #[prost(int32, tag = "1")]
    pub day: i32,
    /// Organisation and unit handing over (the unit empty in offers made before it was named).
    #[prost(message, optional, tag = "2")]
    pub from: Option<UnitRef>,
    /// Organisation and unit taking over.
    #[prost(message, optional, tag = "3")]
    pub to: Option<UnitRef>,
}

/// A consent's grants.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ConsentDigest {
    /// Day recorded.
    #[prost(int32, tag = "1")]
    pub day: i32,
    /// Its grants.
    #[prost(message, repeated, tag = "2")]
    pub grants: Vec<GrantDigest>,
}

/// One grant.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct GrantDigest {
    /// Receiving organisation.
    #[prost(string, tag = "1")]
    pub organization: String,
    /// Its authority, when named.
    #[prost(string, tag = "2")]
    pub authority: String,
    /// Its unit, when named.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// `Category` numbers.
    #[prost(int32, repeated, tag = "4")]
    pub categories: Vec<i32>,
}

/// The day number of a `YYYY-MM-DD` date.
fn day_of_date(s: &str) -> Option<i32> {
    let (y, m, d) = kronobarn_proto::date::parse_date(s)?;
    Some(kronobarn_proto::date::days_from_civil(y, m, d) as i32)
}

fn age_band(header: &kronobarn_proto::v1::PlanHeader, need_noticed: i32) -> u32 {
    use kronobarn_indicators::AgeBand;
    let Some(birth) = header
        .child
        .as_ref()
        .and_then(kronobarn_gateway::convert::birth)
    else {
        return 0;
    };
    let day = kronobarn_policy::Date::from_unix_day(i64::from(need_noticed));
    let band = match birth.age_on(day) {
        None => AgeBand::Unborn,
        Some(a) if a < 0 => AgeBand::Unborn,
        Some(0..=5) => AgeBand::Age0To5,
        Some(6..=12) => AgeBand::Age6To12,
        Some(13..=15) => AgeBand::Age13To15,
        Some(16..=17) => AgeBand::Age16To17,
        Some(_) => AgeBand::Age18To20,
    };
    AgeBand::ALL
        .iter()
        .position(|b| *b == band)
        .map_or(0, |i| i as u32 + 1)
}

/// Digests what the home holds of a plan, stamped with `stamp`.
pub(crate) fn digest(s: &Stored, stamp: Vec<u8>) -> PlanDigest {
    let need_noticed = day_of_ms(s.created_at_ms);
    let mut d = PlanDigest {
        stamp,
        need_noticed,
        given_plus_one: s.given.map_or(0, |g| g.saturating_add(1)),
        ..Default::default()
    };
    let mut dues = BTreeSet::new();
    let mut due = |target: &str, date: &str| {
        if let Some(day) = day_of_date(date) {
            dues.insert((target.to_string(), day));
        }
    };
    for f in &s.fragments {
        match &f.body {
            Some(Body::Header(h)) => {
                d.has_header = true;
                d.responsible_unit = h.responsible_unit.clone();
                d.age_band = age_band(h, need_noticed);
                h.follow_up_dates.iter().for_each(|x| due("", x));
            }
            Some(Body::Status(st)) => {
                d.steps = st
                    .history
                    .iter()
                    .map(|c| Step {
                        day: day_of_ms(c.at_unix_ms),
                        stage: c.stage,
                        close_reason: c.close_reason,
                    })
                    .collect();
            }
            Some(Body::Intervention(iv)) => due(&f.fragment_id, &iv.follow_up_date),
            Some(Body::FollowUp(r)) => {
                due(&r.intervention_fragment_id, &r.next_follow_up_date);
                if let Some(day) = day_of_date(&r.held_on) {
                    d.held.push(Dated {
                        target: r.intervention_fragment_id.clone(),
                        day,
                    });
                }
            }
            Some(Body::Meeting(m)) => {
                if let Some(day) = day_of_date(&m.held_on) {
                    d.meetings.push(MeetingDigest {
                        day,
                        child_view: !m.child_view.trim().is_empty(),
                        guardians: m.guardians_present,
                    });
                }
            }
            Some(Body::Participant(p)) => d.participants.push(UnitRef {
                organization: p.organization.clone(),
                unit: p.unit.clone(),
            }),
            _ => {}
        }
    }
    d.dues = dues
        .into_iter()
        .map(|(target, day)| Dated { target, day })
        .collect();
    for a in &s.handovers {
        let Some(offer) = a.offer.as_ref().and_then(crate::node::offer_of) else {
            continue;
        };
        d.handovers.push(HandoverDigest {
            day: day_of_ms(a.accepted_at_unix_ms),
            from: Some(UnitRef {
                organization: offer.from_organization,
                unit: offer.from_unit,
            }),
            to: Some(UnitRef {
                organization: offer.to_organization,
                unit: offer.to_unit,
            }),
        });
    }
    d.revocations = s
        .revocations
        .iter()
        .filter(|r| r.withdrawn_by != kronobarn_proto::ids::PLAN_CLOSED)
        .map(|r| day_of_ms(r.recorded_at_unix_ms))
        .collect();
    d.consents = s
        .consents
        .iter()
        .map(|c| ConsentDigest {
            day: day_of_ms(c.recorded_at_unix_ms),
            grants: c
                .grants
                .iter()
                .map(|g| GrantDigest {
                    organization: g.organization.clone(),
                    authority: g.authority.clone(),
                    unit: g.unit.clone(),
                    categories: g.categories.clone(),
                })
                .collect(),
        })
        .collect();
    d
}

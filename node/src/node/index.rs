//! The indexes written in the same batch as the data they index: which units take part in a plan
//! (the unit listing and the participant fragment ids), and which follow-ups fall due when. One
//! function each, used by local writes, received writes and purges alike.

use std::collections::BTreeSet;

use kronobarn_gateway::{PlanView, StoredFragment};
use kronobarn_proto::v1::{Fragment, fragment::Body};

use crate::keys;
use crate::store::Op;

/// Units (organisation, unit) taking part, from the header and participant fragments.
pub fn units(view: &PlanView) -> BTreeSet<(String, String)> {
    view.policy_state()
        .participants
        .into_iter()
        .map(|u| (u.organization, u.unit))
        .collect()
}

fn participant_ids(view: &PlanView) -> BTreeSet<&str> {
    view.fragments
        .iter()
        .filter(|f| matches!(f.fragment.body, Some(Body::Participant(_))))
        .map(|f| f.fragment.fragment_id.as_str())
        .collect()
}

/// Ops that move the membership indexes (the unit listing and the participant fragment ids) of
/// a plan from `before` to `after`.
pub fn membership_ops(plan_id: &str, before: &PlanView, after: &PlanView) -> Vec<Op> {
    let (was, is) = (units(before), units(after));
    let mut ops: Vec<Op> = was
        .difference(&is)
        .map(|(o, u)| Op::Delete(keys::unit_plan(o, u, plan_id)))
        .collect();
    ops.extend(
        is.difference(&was)
            .map(|(o, u)| Op::Put(keys::unit_plan(o, u, plan_id), Vec::new())),
    );
    let (was, is) = (participant_ids(before), participant_ids(after));
    ops.extend(
        was.difference(&is)
            .map(|id| Op::Delete(keys::member(plan_id, id))),
    );
    ops.extend(
        is.difference(&was)
            .map(|id| Op::Put(keys::member(plan_id, id), Vec::new())),
    );
    ops
}

/// `view` with `f` written (replacing an older version of the same fragment).
pub fn with_fragment(view: &PlanView, f: StoredFragment) -> PlanView {
    let mut after = view.clone();
    after
        .fragments
        .retain(|x| x.fragment.fragment_id != f.fragment.fragment_id);
    if let Some(Body::Header(h)) = &f.fragment.body {
        after.header = Some(h.clone());
    }
    after.fragments.push(f);
    after
}

/// `view` without the fragments named in `gone`.
pub fn without_fragments(view: &PlanView, gone: &BTreeSet<&str>) -> PlanView {
    let mut after = view.clone();
    after
        .fragments
        .retain(|f| !gone.contains(f.fragment.fragment_id.as_str()));
    if gone.contains(kronobarn_proto::ids::HEADER_FRAGMENT_ID) {
        after.header = None;
    }
    after
}

/// What a fragment is, for who may author it.
pub fn fragment_kind(body: &Body) -> kronobarn_policy::FragmentKind {
    use kronobarn_policy::FragmentKind as K;
    match body {
        Body::Header(_) => K::Header,
        Body::Participant(_) => K::Participant,
        Body::Status(_) => K::Status,
        Body::WheelAssessment(_) => K::WheelAssessment,
        Body::Intervention(_) => K::Intervention,
        Body::Meeting(_) => K::Meeting,
        Body::FollowUp(_) => K::FollowUp,
    }
}

/// True when writing this kind of fragment can change who takes part in the plan.
pub fn changes_membership(f: &Fragment) -> bool {
    matches!(f.body, Some(Body::Header(_)) | Some(Body::Participant(_)))
}

/// Ops that move the follow-up index from the dates `old` set to those `new` sets, in the batch
/// that stores `new` (a local write, or a received copy replacing the one held).
pub fn due_ops(plan_id: &str, old: Option<&Fragment>, new: &Fragment) -> Vec<Op> {
    let before = old.map_or_else(Vec::new, |f| {
        kronobarn_proto::follow_up_dates(f.body.as_ref())
    });
    let after = kronobarn_proto::follow_up_dates(new.body.as_ref());
    let mut ops: Vec<Op> = before
        .iter()
        .filter(|d| !after.contains(d))
        .map(|d| Op::Delete(keys::due(d, plan_id, &new.fragment_id)))
        .collect();
    ops.extend(
        after
            .iter()
            .map(|d| Op::Put(keys::due(d, plan_id, &new.fragment_id), Vec::new())),
    );
    ops
}

/// Ops that take the follow-up dates `gone` set out of the index, in the batch that deletes it
/// (a purge of a received copy).
pub fn due_removal_ops(plan_id: &str, gone: &Fragment) -> Vec<Op> {
    kronobarn_proto::follow_up_dates(gone.body.as_ref())
        .into_iter()
        .map(|d| Op::Delete(keys::due(d, plan_id, &gone.fragment_id)))
        .collect()
}

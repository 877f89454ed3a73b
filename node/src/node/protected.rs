//! Protected personal data (skyddade personuppgifter): the guardians' address and contact
//! details of a plan whose header is marked `protected_identity` never leave the plan's home.
//!
//! The header is signed as a whole and shared whole with every organisation the consent lets
//! receive it, so the home takes the contact details out *before* it signs: the signed header,
//! and so every copy, outbox entry, change-feed answer, document and export made from it, holds
//! none. The home keeps them in a record of its own (`homeonly/{plan}`), written in the same
//! batch as the header, which nothing sends; the gateway gives them back, in answers only, to
//! readers of the header's own authority at the home. A receiver refuses a protected header
//! that carries contact details, so a home of an older version cannot spread them either.

use kronobarn_gateway::BackendResult;
use kronobarn_proto::v1::{Contact, Fragment, Guardian, PlanHeader, fragment::Body};
use prost::Message;

use super::{Node, internal};
use crate::keys;
use crate::store::Op;

/// Takes the guardians' contact details out of a protected header about to be signed, and
/// returns the op that keeps them at this node only; for an unprotected header, the op that
/// forgets any kept before (its contact details are then in the header itself). `None` for any
/// other fragment.
pub(crate) fn keep_home_only(fragment: &mut Fragment) -> Option<Op> {
    let Some(Body::Header(h)) = &mut fragment.body else {
        return None;
    };
    let key = keys::home_only(&fragment.plan_id);
    if !h.protected_identity {
        return Some(Op::Delete(key));
    }
    let kept = PlanHeader {
        guardians: h
            .guardians
            .iter_mut()
            .filter_map(|g| {
                g.contact.take().map(|c| Guardian {
                    guardian_id: g.guardian_id.clone(),
                    contact: Some(c),
                    ..Default::default()
                })
            })
            .collect(),
        ..Default::default()
    };
    Some(Op::Put(key, kept.encode_to_vec()))
}

/// True for a header marked protected that still carries a contact detail of a guardian: it
/// must never be signed or admitted.
pub fn leaks_protected_contacts(fragment: &Fragment) -> bool {
    matches!(&fragment.body, Some(Body::Header(h))
        if h.protected_identity && h.guardians.iter().any(|g| g.contact.is_some()))
}

impl Node {
    /// The guardians' contact details this node keeps out of a protected plan's header, by
    /// guardian id (none unless it is the plan's home and the plan is protected).
    pub(crate) fn home_only_contacts(
        &self,
        plan_id: &str,
    ) -> BackendResult<Vec<(String, Contact)>> {
        let Some(bytes) = self.get(&keys::home_only(plan_id)).map_err(internal)? else {
            return Ok(Vec::new());
        };
        let kept = PlanHeader::decode(bytes.as_slice()).map_err(internal)?;
        Ok(kept
            .guardians
            .into_iter()
            .filter_map(|g| Some((g.guardian_id, g.contact?)))
            .collect())
    }
}

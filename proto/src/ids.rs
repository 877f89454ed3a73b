//! Identifier shapes: plan and fragment ids, organisation, unit, role and purpose slugs, user ids.
//!
//! Ids are opaque and never derived from personal data, so they may appear in keys and logs.

/// Id of the header fragment of every plan.
pub const HEADER_FRAGMENT_ID: &str = "header";
/// Fragment id of the plan's status in the practice model (written only by AdvancePlan).
pub const STATUS_FRAGMENT_ID: &str = "status";
/// `FollowUpDue.fragment_id` of a handover of responsibility the model makes due (it is no
/// fragment: the header and the directory decide it).
pub const HANDOVER_DUE_ID: &str = "handover";
/// `Revocation.withdrawn_by` when the responsible organisation closed the plan.
pub const PLAN_CLOSED: &str = "plan-closed";

/// What follows a plan id in the name of the plan's withheld chain in the access log.
pub const WITHHELD_CHAIN: &str = "/withheld";

/// The access log's chain of records about fragments withheld from the guardians (OSL ch. 12
/// §3): `{plan_id}/withheld`. Kept apart from the plan's own chain so the guardians' extract of
/// the plan is complete, provably, and says nothing of what is withheld.
pub fn withheld_chain(plan_id: &str) -> String {
    format!("{plan_id}{WITHHELD_CHAIN}")
}

/// The chain of the access log an access record belongs to: its plan's own, or the plan's
/// withheld chain when it is about a fragment withheld from the guardians; empty for a record
/// about no plan.
pub fn chain_of(r: &crate::v1::AccessRecord) -> std::borrow::Cow<'_, str> {
    if r.withheld_from_guardians && !r.plan_id.is_empty() {
        withheld_chain(&r.plan_id).into()
    } else {
        r.plan_id.as_str().into()
    }
}

/// The plan a chain name is about: the plan id itself, or the plan of a withheld chain.
pub fn plan_of_chain(chain: &str) -> &str {
    chain.strip_suffix(WITHHELD_CHAIN).unwrap_or(chain)
}

/// A plan id: 32 lowercase hex digits (128 random bits).
pub fn is_plan_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A slug: 1 to 64 of `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit. Used for
/// fragment ids, organisation ids, units, roles and purposes.
pub fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.'))
}

/// A user id: 1 to 128 printable ASCII characters without spaces (e.g. an HSA id or e-mail).
pub fn is_user_id(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_plan_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_plan_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_plan_id("19121212-1212"));
        assert!(is_slug("vaxjo-kommun"));
        assert!(!is_slug("-x"));
        assert!(!is_slug("Växjö"));
        assert!(!is_slug(&"a".repeat(65)));
        assert!(is_user_id("SE2321000016-1234"));
        assert!(!is_user_id("anna svensson"));
    }

    #[test]
    fn records_about_withheld_fragments_have_a_chain_of_their_own() {
        let p = "0123456789abcdef0123456789abcdef";
        let mut r = crate::v1::AccessRecord {
            plan_id: p.into(),
            ..Default::default()
        };
        assert_eq!(chain_of(&r), p);
        r.withheld_from_guardians = true;
        assert_eq!(chain_of(&r), withheld_chain(p));
        assert_eq!(plan_of_chain(&chain_of(&r)), p);
        assert_eq!(plan_of_chain(p), p);
        r.plan_id.clear();
        assert_eq!(chain_of(&r), "");
    }
}

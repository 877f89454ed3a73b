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
}

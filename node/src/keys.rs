//! The key layout of the node's store, in one place.
//!
//! Keys hold only random ids, organisation and unit slugs and counters: never personal data.
//! Slugs and ids cannot contain '/', so every prefix below is unambiguous.

/// Plan records: `plan/{plan_id}`.
pub const PLAN: &[u8] = b"plan/";
/// Access-log entries: `log/{index u64 BE}`.
pub const LOG: &[u8] = b"log/";

/// `plan/{plan_id}`.
pub fn plan(plan_id: &str) -> Vec<u8> {
    [PLAN, plan_id.as_bytes()].concat()
}

/// `frag/{plan_id}/`: every fragment of a plan.
pub fn fragments(plan_id: &str) -> Vec<u8> {
    format!("frag/{plan_id}/").into_bytes()
}

/// `frag/{plan_id}/{fragment_id}`: a fragment's signed envelope.
pub fn fragment(plan_id: &str, fragment_id: &str) -> Vec<u8> {
    format!("frag/{plan_id}/{fragment_id}").into_bytes()
}

/// `member/{plan_id}/`: ids of a plan's participant fragments, so decisions need not read
/// every fragment of a plan.
pub fn members(plan_id: &str) -> Vec<u8> {
    format!("member/{plan_id}/").into_bytes()
}

/// `member/{plan_id}/{fragment_id}`.
pub fn member(plan_id: &str, fragment_id: &str) -> Vec<u8> {
    format!("member/{plan_id}/{fragment_id}").into_bytes()
}

/// `consent/{plan_id}/`: every consent version of a plan.
pub fn consents(plan_id: &str) -> Vec<u8> {
    format!("consent/{plan_id}/").into_bytes()
}

/// `consent/{plan_id}/{version u64 BE}`: one consent's signed envelope.
pub fn consent(plan_id: &str, version: u64) -> Vec<u8> {
    [consents(plan_id).as_slice(), &version.to_be_bytes()].concat()
}

/// `revocation/{plan_id}/`: every revocation of a plan.
pub fn revocations(plan_id: &str) -> Vec<u8> {
    format!("revocation/{plan_id}/").into_bytes()
}

/// `revocation/{plan_id}/{revocation_id}`: one revocation's signed envelope.
pub fn revocation(plan_id: &str, revocation_id: &str) -> Vec<u8> {
    format!("revocation/{plan_id}/{revocation_id}").into_bytes()
}

/// `unit/{org}/{unit}/`: the listing index of plans a unit takes part in.
pub fn unit_plans(org: &str, unit: &str) -> Vec<u8> {
    format!("unit/{org}/{unit}/").into_bytes()
}

/// `unit/{org}/{unit}/{plan_id}`.
pub fn unit_plan(org: &str, unit: &str, plan_id: &str) -> Vec<u8> {
    format!("unit/{org}/{unit}/{plan_id}").into_bytes()
}

/// `due/`: the follow-up index, ordered by date.
pub const DUE: &[u8] = b"due/";

/// `due/{YYYY-MM-DD}/{plan_id}/{fragment_id}`: a follow-up falling due on a date. Written and
/// removed in the batch that stores, replaces or purges the fragment setting the date, at home and
/// in received copies alike; held follow-ups stay, since whether one is held depends on which
/// follow-up records the reader may see.
pub fn due(date: &str, plan_id: &str, fragment_id: &str) -> Vec<u8> {
    format!("due/{date}/{plan_id}/{fragment_id}").into_bytes()
}

/// `due/{YYYY-MM-DD}`: sorts just before every entry dated `date`, a scan's exclusive start.
pub fn due_date(date: &str) -> Vec<u8> {
    format!("due/{date}").into_bytes()
}

/// `(date, plan_id, fragment_id)` of a follow-up index key.
pub fn due_parts(key: &[u8]) -> Option<(String, String, String)> {
    let s = std::str::from_utf8(key.strip_prefix(DUE)?).ok()?;
    let mut it = s.splitn(3, '/');
    Some((
        it.next()?.to_string(),
        it.next()?.to_string(),
        it.next()?.to_string(),
    ))
}

/// `log/{index}`.
pub fn log(index: u64) -> Vec<u8> {
    [LOG, &index.to_be_bytes()].concat()
}

/// The index in a `log/{index}` key.
pub fn log_index(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(LOG)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// `loghead/`: every plan's head in the access log.
pub const LOG_HEADS: &[u8] = b"loghead/";

/// `loghead/{plan_id}`: the plan's newest access record, its leaf hash and the number of its
/// records (a `kronobarn_tlog::PlanHead`), written in the batch that appends them. The plan map
/// is rebuilt from these at start, in time proportional to the number of plans.
pub fn log_head(plan_id: &str) -> Vec<u8> {
    [LOG_HEADS, plan_id.as_bytes()].concat()
}

/// `meta/log-format`: which access-log format the store holds, written when the log is created.
pub const LOG_FORMAT: &[u8] = b"meta/log-format";

/// `meta/hlc`: the last clock reading.
pub const HLC: &[u8] = b"meta/hlc";

/// `meta/signer/`: public keys that have signed this node's records.
pub const SIGNERS: &[u8] = b"meta/signer/";

/// `meta/signer/{key_id}`: a public key that has signed this node's records.
pub fn signer(key_id: &str) -> Vec<u8> {
    [SIGNERS, key_id.as_bytes()].concat()
}

/// `outbox/{peer}/`: what waits to be delivered to a peer.
pub fn outbox(peer: &str) -> Vec<u8> {
    format!("outbox/{peer}/").into_bytes()
}

/// `outbox/{peer}/{priority}{physical BE}{logical BE}{n BE}`: priority 0 (consents and
/// revocations) drains before 1 (fragments); within a priority, in the order written.
pub fn outbox_entry(peer: &str, priority: u8, version: (u64, u32), n: u16) -> Vec<u8> {
    let mut k = outbox(peer);
    k.push(priority);
    k.extend_from_slice(&version.0.to_be_bytes());
    k.extend_from_slice(&version.1.to_be_bytes());
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// `receipt/{peer}/{outbox entry suffix}`: a peer's signed receipt of a delivery.
pub fn receipt(peer: &str, entry_suffix: &[u8]) -> Vec<u8> {
    [format!("receipt/{peer}/").as_bytes(), entry_suffix].concat()
}

/// `purge/{plan_id}/`: how far revocations recorded here have reached.
pub fn purges(plan_id: &str) -> Vec<u8> {
    format!("purge/{plan_id}/").into_bytes()
}

/// `purge/{plan_id}/{revocation_id}/{org}`: whether `org` has confirmed the revocation.
pub fn purge(plan_id: &str, revocation_id: &str, org: &str) -> Vec<u8> {
    format!("purge/{plan_id}/{revocation_id}/{org}").into_bytes()
}

/// `lease/{plan_id}`: this node's signed lease from the plan's consent home.
pub fn lease(plan_id: &str) -> Vec<u8> {
    format!("lease/{plan_id}").into_bytes()
}

/// `leases/`: plans whose received copies need a lease, with the consent home as value.
pub const WANTED_LEASES: &[u8] = b"leasewant/";

/// `leasewant/{plan_id}`.
pub fn wanted_lease(plan_id: &str) -> Vec<u8> {
    [WANTED_LEASES, plan_id.as_bytes()].concat()
}

/// `ownunit/{plan_id}/`: this organisation's units that have written to the plan. They keep
/// their need to know for their own records even when received participant lists are purged.
pub fn own_units(plan_id: &str) -> Vec<u8> {
    format!("ownunit/{plan_id}/").into_bytes()
}

/// `ownunit/{plan_id}/{unit}`.
pub fn own_unit(plan_id: &str, unit: &str) -> Vec<u8> {
    format!("ownunit/{plan_id}/{unit}").into_bytes()
}

/// `feed/`: this node's own changes in clock order, each pointing at the key that changed.
pub const FEED: &[u8] = b"feed/";

/// `feed/{physical BE}{logical BE}`.
pub fn feed(version: (u64, u32)) -> Vec<u8> {
    let mut k = FEED.to_vec();
    k.extend_from_slice(&version.0.to_be_bytes());
    k.extend_from_slice(&version.1.to_be_bytes());
    k
}

/// The clock reading in a `feed/` key.
pub fn feed_version(key: &[u8]) -> Option<(u64, u32)> {
    let rest = key.strip_prefix(FEED)?;
    let p = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let l = u32::from_be_bytes(rest.get(8..12)?.try_into().ok()?);
    Some((p, l))
}

/// `cursor/{peer}`: the last change fetched from a peer by anti-entropy.
pub fn cursor(peer: &str) -> Vec<u8> {
    format!("cursor/{peer}").into_bytes()
}

/// `witnessed/{org}/`: the checkpoints of `org`'s log this node cosigned as its witness.
pub fn witnessed_all(org: &str) -> Vec<u8> {
    format!("witnessed/{org}/").into_bytes()
}

/// `witnessed/{org}/{size BE}`: a checkpoint of `org`'s log this node cosigned, as `org` signed
/// it; the greatest is the newest.
pub fn witnessed(org: &str, size: u64) -> Vec<u8> {
    [witnessed_all(org).as_slice(), &size.to_be_bytes()].concat()
}

/// `witnessalarm/`: alarms this node raised as a witness.
pub const WITNESS_ALARMS: &[u8] = b"witnessalarm/";

/// `witnessalarm/{org}`: the alarm raised about `org`'s log, with the refused checkpoint.
pub fn witness_alarm(org: &str) -> Vec<u8> {
    [WITNESS_ALARMS, org.as_bytes()].concat()
}

/// `witness/`: the witnesses' cosignatures of this node's log.
pub const WITNESSES: &[u8] = b"witness/";

/// `witness/{org}`: `org`'s cosignature of this node's newest checkpoint it cosigned.
pub fn witness(org: &str) -> Vec<u8> {
    [WITNESSES, org.as_bytes()].concat()
}

/// `handover/{plan_id}`: an open offer of the plan's responsibility (made or received here).
pub fn handover(plan_id: &str) -> Vec<u8> {
    format!("handover/{plan_id}").into_bytes()
}

/// `handed/{plan_id}/{sequence BE}`: accepted handovers, the plan's chain of responsibility.
pub fn handed(plan_id: &str, sequence: u64) -> Vec<u8> {
    [
        format!("handed/{plan_id}/").as_bytes(),
        &sequence.to_be_bytes(),
    ]
    .concat()
}

/// `handed/{plan_id}/`.
pub fn handeds(plan_id: &str) -> Vec<u8> {
    format!("handed/{plan_id}/").into_bytes()
}

/// `confirmed/{plan_id}/`.
pub fn confirmeds(plan_id: &str) -> Vec<u8> {
    format!("confirmed/{plan_id}/").into_bytes()
}

/// `confirmed/{plan_id}/{sequence BE}`: the offering home's signed confirmation of the accepted
/// handover with that sequence, which is what moves a plan and what its provenance carries.
pub fn confirmed(plan_id: &str, sequence: u64) -> Vec<u8> {
    [
        format!("confirmed/{plan_id}/").as_bytes(),
        &sequence.to_be_bytes(),
    ]
    .concat()
}

/// `homeonly/{plan_id}`: what the plan's home keeps out of the signed header of a plan with
/// protected personal data (the guardians' contact details), at this node only: never signed,
/// queued, fed or exported.
pub fn home_only(plan_id: &str) -> Vec<u8> {
    format!("homeonly/{plan_id}").into_bytes()
}

/// `tomb/{plan_id}`: the signed tombstone of a plan whose records retention deleted here.
pub fn tombstone(plan_id: &str) -> Vec<u8> {
    format!("tomb/{plan_id}").into_bytes()
}

/// Every key prefix that holds something of one plan besides its fragments' indexes, the
/// outbox and the access log: what retention deletes when nothing of the plan may stay.
pub fn plan_prefixes(plan_id: &str) -> Vec<Vec<u8>> {
    vec![
        fragments(plan_id),
        members(plan_id),
        consents(plan_id),
        revocations(plan_id),
        purges(plan_id),
        own_units(plan_id),
        handeds(plan_id),
        confirmeds(plan_id),
    ]
}

/// `creation/{plan_id}`: the signed creation record of a plan (who created it, its first home).
pub fn creation(plan_id: &str) -> Vec<u8> {
    format!("creation/{plan_id}").into_bytes()
}

/// `child/`: plans by a keyed hash of the child's identity number (see `pseudonym`), never the
/// number itself.
pub const CHILDREN: &[u8] = b"child/";

/// `child/{tag hex}/`: the plans this node holds a header of for one child.
pub fn child_plans(tag: &[u8; 32]) -> Vec<u8> {
    format!("child/{}/", hex::encode(tag)).into_bytes()
}

/// `child/{tag hex}/{plan_id}`.
pub fn child_plan(tag: &[u8; 32], plan_id: &str) -> Vec<u8> {
    format!("child/{}/{plan_id}", hex::encode(tag)).into_bytes()
}

/// The plan id in a `child/{tag}/{plan_id}` key.
pub fn child_plan_id<'k>(tag: &[u8; 32], key: &'k [u8]) -> Option<&'k str> {
    tail(&child_plans(tag), key)
}

/// `meta/derived-index`: what the derived indexes (`child/`, handovers in `due/`) were built
/// with (the tag secret's fingerprint and the directory); a node built with anything else
/// rebuilds them at start.
pub const DERIVED_INDEX: &[u8] = b"meta/derived-index";

/// `given/{plan_id}`: the Swedish day number on which the plan as a document (HTML or PDF) was
/// first handed out for the family (an `ExportPlan` with a family purpose), written in the batch
/// of that export's access record at the plan's home. Only the county's indicators read it.
pub fn given(plan_id: &str) -> Vec<u8> {
    format!("given/{plan_id}").into_bytes()
}

/// `digest/`: the county's indicators' digests of the plans at home.
pub const DIGESTS: &[u8] = b"digest/";

/// `digest/{plan_id}`: what the indicators need of a plan at home, with nothing personal
/// (days, stages, flags, slugs), stamped with the plan's log head when it was made. Soft state:
/// rebuilt from the plan's records whenever the stamp no longer matches.
pub fn digest(plan_id: &str) -> Vec<u8> {
    [DIGESTS, plan_id.as_bytes()].concat()
}

/// The plan id in a `plan/{plan_id}` key.
pub fn plan_of(key: &[u8]) -> Option<&str> {
    tail(PLAN, key)
}

/// Prefixes of the records about plans that the county's indicators read in one ordered pass
/// each (plan ids are 32 hex digits, so every one of them sorts by plan id first).
pub const PER_PLAN: [&[u8]; 6] = [
    b"frag/",
    b"consent/",
    b"revocation/",
    b"handed/",
    b"creation/",
    b"given/",
];

/// The plan id in a key `{prefix}{plan_id}` or `{prefix}{plan_id}/…` (what follows may be
/// binary).
pub fn plan_in<'k>(prefix: &[u8], key: &'k [u8]) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?;
    let end = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()
}

/// The text after `prefix` in `key`, when `key` starts with it and the rest is UTF-8.
fn tail<'k>(prefix: &[u8], key: &'k [u8]) -> Option<&'k str> {
    std::str::from_utf8(key.strip_prefix(prefix)?).ok()
}

/// The fragment id in a `member/{plan_id}/{fragment_id}` key.
pub fn member_id<'k>(plan_id: &str, key: &'k [u8]) -> Option<&'k str> {
    tail(&members(plan_id), key)
}

/// The unit in an `ownunit/{plan_id}/{unit}` key.
pub fn own_unit_of<'k>(plan_id: &str, key: &'k [u8]) -> Option<&'k str> {
    tail(&own_units(plan_id), key)
}

/// The plan id in a `unit/{org}/{unit}/{plan_id}` key.
pub fn unit_plan_id<'k>(org: &str, unit: &str, key: &'k [u8]) -> Option<&'k str> {
    tail(&unit_plans(org, unit), key)
}

/// `(revocation_id, org)` of a `purge/{plan_id}/{revocation_id}/{org}` key.
pub fn purge_parts<'k>(plan_id: &str, key: &'k [u8]) -> Option<(&'k str, &'k str)> {
    tail(&purges(plan_id), key)?.split_once('/')
}

/// The plan id in a `loghead/{plan_id}` key.
pub fn log_head_plan(key: &[u8]) -> Option<&str> {
    tail(LOG_HEADS, key)
}

/// The organisation in a `witnessalarm/{org}` or `witness/{org}` key.
pub fn org_after<'k>(prefix: &[u8], key: &'k [u8]) -> Option<&'k str> {
    tail(prefix, key)
}

/// The size in a `witnessed/{org}/{size BE}` key.
pub fn witnessed_size(org: &str, key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(witnessed_all(org).as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The plan id in a `leasewant/{plan_id}` key.
pub fn wanted_lease_plan(key: &[u8]) -> Option<&str> {
    tail(WANTED_LEASES, key)
}

/// The part of an `outbox/{peer}/…` key after the peer: it names the entry in receipts.
pub fn outbox_entry_suffix<'k>(peer: &str, key: &'k [u8]) -> Option<&'k [u8]> {
    key.strip_prefix(outbox(peer).as_slice())
}

/// The clock reading (ms) of the write that queued an `outbox/{peer}/…` entry.
pub fn outbox_entry_ms(peer: &str, key: &[u8]) -> Option<u64> {
    let rest = outbox_entry_suffix(peer, key)?;
    Some(u64::from_be_bytes(rest.get(1..9)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_read_back_what_builders_write() {
        assert_eq!(member_id("p1", &member("p1", "f9")), Some("f9"));
        assert_eq!(member_id("p1", &member("p2", "f9")), None);
        assert_eq!(own_unit_of("p1", &own_unit("p1", "bup")), Some("bup"));
        assert_eq!(
            unit_plan_id("vaxjo", "skola", &unit_plan("vaxjo", "skola", "p1")),
            Some("p1")
        );
        assert_eq!(
            purge_parts("p1", &purge("p1", "r1", "region")),
            Some(("r1", "region"))
        );
        assert_eq!(wanted_lease_plan(&wanted_lease("p1")), Some("p1"));
        let k = outbox_entry("region", 0, (1_700_000_000_000, 7), 3);
        assert_eq!(outbox_entry_ms("region", &k), Some(1_700_000_000_000));
        assert_eq!(outbox_entry_suffix("region", &k).map(<[u8]>::len), Some(15));
        assert_eq!(log_index(&log(42)), Some(42));
        assert_eq!(log_head_plan(&log_head("p1")), Some("p1"));
        assert_eq!(plan_of(&plan("p1")), Some("p1"));
        assert_eq!(plan_of(&given("p1")), None);
        let [frag, consent, revocation, handed, creation, given_] = PER_PLAN;
        assert_eq!(plan_in(frag, &fragment("p1", "f")), Some("p1"));
        assert_eq!(plan_in(consent, &self::consent("p1", 0x2f2f)), Some("p1"));
        assert_eq!(
            plan_in(revocation, &self::revocation("p1", "r")),
            Some("p1")
        );
        assert_eq!(plan_in(handed, &self::handed("p1", 47)), Some("p1"));
        assert_eq!(plan_in(creation, &self::creation("p1")), Some("p1"));
        assert_eq!(plan_in(given_, &given("p1")), Some("p1"));
        assert_eq!(plan_in(DIGESTS, &digest("p1")), Some("p1"));
        assert_eq!(plan_in(LOG_HEADS, &log_head("p1")), Some("p1"));
        assert_eq!(plan_in(frag, &consents("p1")), None);
        assert_eq!(witnessed_size("polisen", &witnessed("polisen", 9)), Some(9));
        assert_eq!(witnessed_size("polis", &witnessed("polisen", 9)), None);
        assert_eq!(
            org_after(WITNESS_ALARMS, &witness_alarm("polisen")),
            Some("polisen")
        );
        assert_eq!(feed_version(&feed((5, 6))), Some((5, 6)));
        let tag = [7u8; 32];
        assert_eq!(child_plan_id(&tag, &child_plan(&tag, "p1")), Some("p1"));
        assert_eq!(child_plan_id(&[8u8; 32], &child_plan(&tag, "p1")), None);
        assert_eq!(
            due_parts(&due("2027-01-24", "p1", "f1")),
            Some(("2027-01-24".into(), "p1".into(), "f1".into()))
        );
    }
}

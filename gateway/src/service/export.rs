//! The plan as a document (plain words for the family, FHIR for other systems) and the
//! guardians' access log extract, holding only what the reader may see.
//!
//! **Whom a document is for** is said by the purpose the caller states: one of
//! [`FAMILY_PURPOSES`] makes the family's copy, anything else a copy for staff. The family's copy
//! is the guardians' until the child turns 18 and the young person's from then on
//! (`kronobarn_policy::withheld::family_audience`); a copy for the guardians leaves out the
//! fragments their authors withheld from them (OSL ch. 12 §3) without saying so, and a copy for
//! staff that holds such fragments warns that it must not be handed to the guardians.
//!
//! **The access log extract** (loggutdrag) is always the family's: it holds the plan's own
//! chain of the log, which never holds a record about a withheld fragment (those form the plan's
//! withheld chain), so it is complete, provably, and reveals nothing.

use std::collections::{BTreeMap, HashSet};

use kronobarn_document::{Lang, OrganizationGrant, PlanInput, Reads, UnitName, UnitRef};
use kronobarn_policy::withheld::{self, Audience};
use kronobarn_policy::{Date, Decision, Directory, LegacyReading};
use kronobarn_proto::ids::withheld_chain;
use kronobarn_proto::v1::{
    AccessAction, AccessRecord, Decision as WireDecision, ExportFormat, ExportPlanRequest,
    ExportPlanResponse, Fragment, Revocation,
};
use prost::Message;
use tonic::Status;

use super::PlanApi;
use crate::{Actor, Backend, PlanView};

/// Purposes (`x-kronobarn-purpose`) that make the family's copy of a document: for the
/// guardians, or for the young person from 18. Any other purpose makes a copy for staff.
pub const FAMILY_PURPOSES: [&str; 3] = ["guardian-copy", "family-copy", "young-person-copy"];

/// True when `purpose` makes the family's copy.
pub fn for_family(purpose: &str) -> bool {
    FAMILY_PURPOSES.contains(&purpose)
}

/// The child or a guardian has protected personal data: the header says so, or (for a reader
/// who may not see the header) the consent the home recorded from it.
pub(crate) fn protected_identity(view: &PlanView) -> bool {
    view.header.as_ref().is_some_and(|h| h.protected_identity)
        || view.consent.as_ref().is_some_and(|c| c.protected_identity)
}

/// How often each authority's users read the plan, from access records (oldest first): reads
/// permitted to local users, one per user and second (a read of the whole plan logs one record
/// per fragment).
pub(crate) fn reads_of(dir: &Directory, records: &[AccessRecord]) -> Vec<Reads> {
    let mut seen = HashSet::new();
    let mut by_authority: BTreeMap<String, Reads> = BTreeMap::new();
    for r in records {
        let read = r.action == AccessAction::Read as i32
            && r.decision == WireDecision::Permit as i32
            && r.system != "federation"
            && !r.user_id.is_empty();
        if !read
            || !seen.insert((
                r.user_id.clone(),
                r.unit.clone(),
                r.at_unix_ms.div_euclid(1000),
            ))
        {
            continue;
        }
        let e = by_authority
            .entry(dir.authority_id(&r.organization, &r.unit))
            .or_insert_with(|| Reads {
                organization: r.organization.clone(),
                unit: r.unit.clone(),
                count: 0,
                last_unix_ms: 0,
            });
        e.count += 1;
        if r.at_unix_ms >= e.last_unix_ms {
            e.last_unix_ms = r.at_unix_ms;
            e.unit = r.unit.clone();
        }
    }
    by_authority.into_values().collect()
}

impl<B: Backend> PlanApi<B> {
    /// The plan as a document or a FHIR bundle, holding only what the user may see, and for the
    /// family only what the family may see.
    pub(super) async fn export(
        &self,
        who: &Actor,
        req: ExportPlanRequest,
    ) -> Result<ExportPlanResponse, Status> {
        let format = match ExportFormat::try_from(req.format) {
            Ok(ExportFormat::Unspecified) | Err(_) => {
                return Err(Status::invalid_argument(
                    "format: must be EXPORT_FORMAT_HTML, EXPORT_FORMAT_PDF, EXPORT_FORMAT_FHIR_R4_JSON, EXPORT_FORMAT_ACCESS_LOG_HTML or EXPORT_FORMAT_ACCESS_LOG_JSON",
                ));
            }
            Ok(f) => f,
        };
        let lang = Lang::parse(&req.language)
            .ok_or_else(|| Status::invalid_argument("language: must be \"sv\" or \"en\""))?;
        if matches!(
            format,
            ExportFormat::AccessLogHtml | ExportFormat::AccessLogJson
        ) {
            return self.log_extract(who, &req.plan_id, format, lang).await;
        }
        let view = self.plan(&req.plan_id)?;
        let what = match format {
            ExportFormat::FhirR4Json => "export-fhir",
            _ => "document",
        };
        self.need_to_know(who, &view, what).await?;
        let state = view.policy_state();
        let family = for_family(&who.purpose);
        let audience = if family {
            withheld::family_audience(state.child_birth, Date::in_sweden(self.backend.now_ms()))
        } else {
            Audience::Staff
        };
        // The guardians' copy counts reads in the plan's own chain of the log only, so reads
        // of what is withheld from them are not counted there either.
        let log = self.records(&view.plan_id, audience).await?;
        let reads = reads_of(&view.directory, &log);
        let (shown, refused) = self.visible(who, &view, None).await?;
        let marked: HashSet<&str> = view
            .fragments
            .iter()
            .filter(|f| f.fragment.withheld_from_guardians)
            .map(|f| f.fragment.fragment_id.as_str())
            .collect();
        let fragments: Vec<Fragment> = shown
            .into_iter()
            .map(|f| f.fragment)
            .filter(|f| withheld::included(audience, f.withheld_from_guardians))
            .collect();
        // A part the consent keeps from the reader is mentioned, unless it is also withheld
        // from the guardians: then their copy must not tell that it exists.
        let withheld = refused
            .iter()
            .filter(|w| withheld::included(audience, marked.contains(w.fragment_id.as_str())))
            .count();
        let withheld_from_guardians = if family {
            0
        } else {
            fragments
                .iter()
                .filter(|f| f.withheld_from_guardians)
                .count()
        };
        let in_force: HashSet<&str> = state
            .revocations_in_force()
            .map(|r| r.id.as_str())
            .collect();
        let revocations: Vec<Revocation> = view
            .revocations
            .iter()
            .filter(|r| in_force.contains(r.revocation_id.as_str()))
            .cloned()
            .collect();
        let dir = view.directory.clone();
        let names = |o: &str| self.backend.organization_name(o);
        let unit_names = |o: &str, u: &str| {
            dir.authority_of(o, u).map(|a| UnitName {
                authority: a.name.clone(),
                organization: String::new(),
            })
        };
        let authority_names = |id: &str| {
            dir.authority(id)
                .map(|a| (a.organization.clone(), a.name.clone()))
        };
        // Whom a grant naming only an organisation reaches is the policy's reading of it, said
        // by the document as it is: the one authority taking part, or none.
        let organization_grants = |org: &str| match state.legacy_grant_reading(org) {
            LegacyReading::One(a) => OrganizationGrant::Authority(
                state
                    .participants
                    .iter()
                    .filter(|u| u.organization == org)
                    .filter(|u| {
                        state
                            .directory
                            .authority_of(&u.organization, &u.unit)
                            .is_some_and(|x| x.id == a.id)
                    })
                    .map(|u| u.unit.clone())
                    .collect(),
            ),
            LegacyReading::None => OrganizationGrant::NoneTakesPart,
            LegacyReading::Several => OrganizationGrant::Ambiguous,
        };
        // One authority's copy may hold only part of the plan: any but the responsible one's.
        let mine = dir.authority_id(&who.organization, &who.unit);
        let responsible = view.header.as_ref().map(|h| {
            let org = if h.responsible_organization.is_empty() {
                view.home_organization.as_str()
            } else {
                h.responsible_organization.as_str()
            };
            dir.authority_id(org, &h.responsible_unit)
        });
        let copy_for = (responsible.as_deref() != Some(mine.as_str())).then_some(UnitRef {
            organization: &who.organization,
            unit: &who.unit,
        });
        let input = PlanInput {
            plan_id: &view.plan_id,
            home_organization: &view.home_organization,
            fragments: &fragments,
            withheld,
            consent: view.consent.as_ref(),
            revocations: &revocations,
            today: self.today(),
            made_at_unix_ms: self.backend.now_ms(),
            made_by: self.backend.organization(),
            names: &names,
            unit_names: &unit_names,
            authority_names: &authority_names,
            organization_grants: &organization_grants,
            reads: &reads,
            copy_for,
            guardian_copy: family,
            withheld_from_guardians,
            protected_identity: protected_identity(&view),
        };
        let short = &view.plan_id[..8];
        let (content, media_type, file_name) = match format {
            ExportFormat::Html => (
                kronobarn_document::html(&input, lang).into_bytes(),
                "text/html; charset=utf-8",
                format!("plan-{short}-{}.html", lang.tag()),
            ),
            ExportFormat::Pdf => (
                kronobarn_document::pdf(&input, lang),
                "application/pdf",
                format!("plan-{short}-{}.pdf", lang.tag()),
            ),
            _ => {
                // The access records about the plan become AuditEvents; reading them is logged
                // like ListAccessLog.
                self.log_read(who, &view.plan_id, "access-log").await?;
                let log = self.audit_trail(&view.plan_id, audience).await?;
                let bundle = kronobarn_document::fhir::bundle(&input, &log);
                (
                    serde_json::to_vec_pretty(&bundle)
                        .map_err(|e| Status::internal(e.to_string()))?,
                    "application/fhir+json",
                    format!("plan-{short}.fhir.json"),
                )
            }
        };
        // The document itself is an access record: what was handed out, and to whom.
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let mut rec = self.record(who, &view.plan_id, AccessAction::Read, &permit, None, what);
        rec.reason = "participant".into();
        rec.content_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content));
        self.log(vec![rec]).await?;
        Ok(ExportPlanResponse {
            content,
            media_type: media_type.into(),
            file_name,
            withheld: withheld as u32,
        })
    }

    /// The guardian's access log extract (loggutdrag), for a municipality's e-service to hand
    /// to the guardian. Handing it out is itself recorded first, so the extract shows it. It
    /// holds the plan's own chain of the log: never a record about a fragment withheld from the
    /// guardians, and provably every other.
    async fn log_extract(
        &self,
        who: &Actor,
        plan_id: &str,
        format: ExportFormat,
        lang: Lang,
    ) -> Result<ExportPlanResponse, Status> {
        let view = self.facts(plan_id)?;
        self.need_to_know(who, &view, "access-log-extract").await?;
        self.log_read(who, &view.plan_id, "access-log-extract")
            .await?;
        let x = self.backend.access_log_extract(&view.plan_id, lang).await?;
        let short = &view.plan_id[..8];
        let (content, media_type, file_name) = if format == ExportFormat::AccessLogJson {
            (x.json, "application/json", x.json_file_name)
        } else {
            (
                x.html.into_bytes(),
                "text/html; charset=utf-8",
                format!("loggutdrag-{short}-{}.html", lang.tag()),
            )
        };
        Ok(ExportPlanResponse {
            content,
            media_type: media_type.into(),
            file_name,
            withheld: 0,
        })
    }

    /// Logs that `who` read `what` of the plan as a whole (the log, an extract).
    async fn log_read(&self, who: &Actor, plan_id: &str, what: &str) -> Result<(), Status> {
        let permit = Decision::Permit(kronobarn_policy::Permit::OwnFragment);
        let mut rec = self.record(who, plan_id, AccessAction::Read, &permit, None, what);
        rec.reason = "participant".into();
        self.log(vec![rec]).await
    }

    /// The log's records about the plan as `audience` may know of them, oldest first: the
    /// plan's own chain for the guardians, with the withheld chain for anyone else.
    async fn records(
        &self,
        plan_id: &str,
        audience: Audience,
    ) -> Result<Vec<AccessRecord>, Status> {
        Ok(self
            .audit_trail(plan_id, audience)
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Every access record about a plan that `audience` may know of, with its log index, in
    /// log order.
    async fn audit_trail(
        &self,
        plan_id: &str,
        audience: Audience,
    ) -> Result<Vec<(u64, AccessRecord)>, Status> {
        let mut chains = vec![plan_id.to_string()];
        if withheld::included(audience, true) {
            chains.push(withheld_chain(plan_id));
        }
        let mut out = Vec::new();
        for chain in &chains {
            let mut after = None;
            loop {
                let page = self.backend.access_log(chain, after, 1000)?;
                for e in &page.entries {
                    let r = AccessRecord::decode(e.record.as_slice()).map_err(|_| {
                        Status::internal("an access record does not decode; run log verify")
                    })?;
                    out.push((e.index, r));
                }
                match page.next_after {
                    Some(n) if !page.entries.is_empty() => after = Some(n),
                    _ => break,
                }
            }
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(org: &str, unit: &str, user: &str, at: i64) -> AccessRecord {
        AccessRecord {
            organization: org.into(),
            unit: unit.into(),
            user_id: user.into(),
            system: "school-system".into(),
            at_unix_ms: at,
            action: AccessAction::Read as i32,
            decision: WireDecision::Permit as i32,
            ..Default::default()
        }
    }

    #[test]
    fn reads_are_counted_per_authority_once_per_user_and_second() {
        let mut dir = Directory::new();
        dir.add_authority(kronobarn_policy::Authority {
            id: "vaxjo-utbildning".into(),
            organization: "vaxjo".into(),
            kind: kronobarn_policy::AuthorityKind::School,
            name: "Utbildningsförvaltningen".into(),
        })
        .unwrap();
        for unit in ["skola", "elevhalsan"] {
            dir.add_unit(kronobarn_policy::DirectoryUnit {
                organization: "vaxjo".into(),
                unit: unit.into(),
                authority: "vaxjo-utbildning".into(),
                serves: vec![],
            })
            .unwrap();
        }
        let mut denied = read("vaxjo", "skola", "a", 9_000);
        denied.decision = WireDecision::Deny as i32;
        let mut sent = read("region", "", "node:region", 9_500);
        sent.system = "federation".into();
        let log = [
            read("vaxjo", "skola", "a", 1_000),
            read("vaxjo", "skola", "a", 1_400), // the same read of the whole plan
            read("vaxjo", "elevhalsan", "b", 5_000),
            read("vaxjo", "ifo", "c", 7_000), // another authority (one of its own)
            denied,
            sent,
        ];
        let reads = reads_of(&dir, &log);
        assert_eq!(reads.len(), 2, "{reads:?}");
        let school = reads.iter().find(|r| r.unit == "elevhalsan").unwrap();
        assert_eq!((school.count, school.last_unix_ms), (2, 5_000));
        let ifo = reads.iter().find(|r| r.unit == "ifo").unwrap();
        assert_eq!((ifo.count, ifo.last_unix_ms), (1, 7_000));
    }

    #[test]
    fn family_purposes() {
        assert!(for_family("guardian-copy"));
        assert!(!for_family("plan-coordination"));
    }
}

//! The second half of the demo's story: follow-up, the family's documents, a withdrawal,
//! closing, and the logs verified. One function per step, in the order [`super::run`] calls them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use kronobarn_proto::v1::{
    AccessRecord, AdvancePlanRequest, ExportFormat, ExportPlanRequest, FollowUpRecord,
    GetConsentStatusRequest, ListAccessLogRequest, ListFollowUpsRequest, PlanStage,
    RevokeConsentRequest, fragment::Body,
};
use prost::Message;

use super::{County, advance, in_days, kinds, put, shown, step, today, until};

/// Step 9: the plan is followed up and revised; BUP lists its own follow-ups due soon.
pub(super) async fn follow_up(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        9,
        "The plan is followed up: the principal records how it went and sets the next date. BUP sees its own follow-ups coming up, from an index, without searching every plan.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::FollowUp,
        Default::default(),
    )
    .await?;
    put(
        &mut c.principal,
        plan_id,
        Body::FollowUp(FollowUpRecord {
            held_on: today(),
            intervention_fragment_id: String::new(),
            outcome:
                "Testbarn är i skolan nästan varje dag och har en vuxen att gå till på rasten."
                    .into(),
            next_follow_up_date: in_days(120),
        }),
    )
    .await?;
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Revised,
        Default::default(),
    )
    .await?;
    let due = c
        .psychologist
        .api
        .list_follow_ups(c.psychologist.user.req(ListFollowUpsRequest {
            from_date: today(),
            to_date: in_days(90),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .follow_ups;
    for f in &due {
        println!(
            "   BUP's follow-ups due in the next 90 days: {} — {}.",
            f.due_on, f.subject
        );
    }
    Ok(())
}

/// Step 10: the plan as the family's documents (HTML in Swedish and English, PDF, FHIR) into
/// `out_dir`, and BUP's own rendering of what it may hold.
pub(super) async fn a_document_for_the_family(
    c: &mut County,
    plan_id: &str,
    out_dir: &Path,
) -> anyhow::Result<()> {
    step(
        10,
        "The plan as a document for the guardians and Testbarn, in plain words: who is responsible, what happens next, what Testbarn said, which authorities may know what and who has read it, and the family's rights. Made with the purpose guardian-copy, it leaves out what BUP withheld from the guardians, without a trace. Rendering is logged like any read.",
    );
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let family = c.principal.for_purpose("guardian-copy");
    for (desk, format, lang, file) in [
        (&family, ExportFormat::Html, "sv", "barnets-plan.html"),
        (&family, ExportFormat::Html, "en", "childs-plan.en.html"),
        (&family, ExportFormat::Pdf, "sv", "barnets-plan.pdf"),
        (
            &family,
            ExportFormat::AccessLogHtml,
            "sv",
            "loggutdrag.html",
        ),
        (&c.principal, ExportFormat::FhirR4Json, "", "plan.fhir.json"),
    ] {
        let mut desk = desk.clone();
        let doc = desk
            .api
            .export_plan(desk.user.req(ExportPlanRequest {
                plan_id: plan_id.to_string(),
                format: format as i32,
                language: lang.into(),
            }))
            .await?
            .into_inner();
        let path = out_dir.join(file);
        std::fs::write(&path, &doc.content)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("   wrote {} ({} bytes)", path.display(), doc.content.len());
    }
    let bup_copy = c
        .psychologist
        .api
        .export_plan(c.psychologist.user.req(ExportPlanRequest {
            plan_id: plan_id.to_string(),
            format: ExportFormat::Html as i32,
            language: "sv".into(),
        }))
        .await?
        .into_inner();
    let path = out_dir.join("barnets-plan.bup.html");
    std::fs::write(&path, &bup_copy.content)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "   BUP's node renders only what BUP may hold (no learning or safety assessment, no meeting notes), says so, and warns that its copy holds what the guardians may not see: {}",
        path.display()
    );
    Ok(())
}

/// Step 11: one guardian withdraws consent at the homework club's node; the purge is confirmed
/// by every participant and each node shows only its own records.
pub(super) async fn a_guardian_withdraws(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        11,
        "Maria Påhittadsson, one of the guardians, withdraws consent, telling the homework club. Withdrawing is as easy as giving: it is recorded at Barnens vänner's node.",
    );
    let t = Instant::now();
    let rev = c
        .club_leader
        .api
        .revoke_consent(c.club_leader.user.req(RevokeConsentRequest {
            plan_id: plan_id.to_string(),
            withdrawn_by: "g1".into(),
            organizations: vec![],
            categories: vec![],
            ..Default::default()
        }))
        .await?
        .into_inner()
        .revocation
        .context("no revocation")?;
    let (status, _) = until("every participant to confirm the purge", || {
        let (mut d, p) = (c.club_leader.clone(), plan_id.to_string());
        async move {
            let s = d
                .api
                .get_consent_status(d.user.req(GetConsentStatusRequest { plan_id: p }))
                .await
                .ok()?
                .into_inner();
            s.revocation_status
                .into_iter()
                .find(|r| r.pending.is_empty())
        }
    })
    .await?;
    let purged_in = t.elapsed();
    let n = status.purged_at.len();
    println!(
        "   Revocation {} reached {}.",
        rev.revocation_id,
        status.purged_at.join(", ")
    );
    println!(
        "   purged at {n} of {n} participants in {} ms",
        purged_in.as_millis()
    );
    for (desk, name) in [
        (&mut c.psychologist, "Region Kronoberg"),
        (&mut c.principal, "Växjö kommun"),
        (&mut c.club_leader, "Barnens vänner"),
    ] {
        let seen = shown(desk, plan_id).await.unwrap_or_default();
        println!(
            "   {name} now shows only its own records: {}.",
            if seen.is_empty() {
                "nothing".to_string()
            } else {
                kinds(&seen)
            }
        );
    }
    Ok(())
}

/// Step 12: the responsible organisation closes the plan, with the reason.
pub(super) async fn the_plan_is_closed(c: &mut County, plan_id: &str) -> anyhow::Result<()> {
    step(
        12,
        "The plan is closed, with the reason. Closing ends every share and lease.",
    );
    advance(
        &mut c.principal,
        plan_id,
        PlanStage::Closed,
        AdvancePlanRequest {
            reason: "Vårdnadshavarna återkallade samtycket; skolan fortsätter stödet på egen hand."
                .into(),
            ..Default::default()
        },
    )
    .await
}

/// Step 13: Region Kronoberg's records about the plan, counted by action; then every node is
/// stopped and its whole log verified.
pub(super) async fn every_log_verified(mut c: County, plan_id: &str) -> anyhow::Result<()> {
    step(
        13,
        "Every crossing is in the access logs on both sides. The nodes are stopped and all eleven logs verified.",
    );
    let log = c
        .psychologist
        .api
        .list_access_log(c.psychologist.user.req(ListAccessLogRequest {
            plan_id: plan_id.to_string(),
            page_size: 0,
            page_token: String::new(),
        }))
        .await?
        .into_inner();
    let mut counts = BTreeMap::new();
    for e in &log.entries {
        let r = AccessRecord::decode(e.record.as_slice())?;
        *counts
            .entry(
                r.action()
                    .as_str_name()
                    .trim_start_matches("ACCESS_ACTION_")
                    .to_lowercase(),
            )
            .or_insert(0) += 1;
    }
    println!(
        "   Region Kronoberg's records about this plan: {}.",
        counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut verified = 0u64;
    for m in c.into_members() {
        let data = m.init.config_path.parent().context("folder")?.join("data");
        let node = m.running.node.clone();
        m.running.stop().await?;
        node.durable().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(node);
        let store = kronobarn_node::store::SledStore::open(&data)?;
        verified += kronobarn_node::accesslog::verify_store(
            &store,
            &m.organization,
            Default::default(),
            |_| {},
        )?
        .size;
    }
    println!(
        "   11 logs, {verified} entries, every record, tree hash and batch signature verified."
    );
    Ok(())
}

//! The gateway's [`Backend`] on a node: each call delegates to the read or write it names.

use kronobarn_gateway::{
    AccessLogPage, Actor, Backend, BackendResult, DueEntry, LogExtract, PlanEvent, PlanView,
    StoredFragment,
};
use kronobarn_proto::v1::{
    AccessRecord, Consent, Contact, Fragment, GetWitnessStatusResponse, Handover, PlanHeader,
    PlanSummary, Revocation, RevocationStatus, Version,
};
use tokio::sync::broadcast;

use super::{Node, internal};

impl Backend for Node {
    fn organization(&self) -> &str {
        &self.organization
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn load_plan(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, true)
    }

    fn load_plan_facts(&self, plan_id: &str) -> BackendResult<Option<PlanView>> {
        self.load(plan_id, false)
    }

    fn list_plans(
        &self,
        organization: &str,
        unit: &str,
        after: &str,
        limit: usize,
    ) -> BackendResult<Vec<PlanSummary>> {
        self.plans_of_unit(organization, unit, after, limit)
    }

    async fn create_plan(
        &self,
        actor: &Actor,
        header: PlanHeader,
        unit_contact: Option<Contact>,
    ) -> BackendResult<PlanView> {
        self.create_plan_durably(actor, header, unit_contact).await
    }

    async fn put_fragment(
        &self,
        actor: &Actor,
        fragment: Fragment,
        expected: Option<Version>,
    ) -> BackendResult<StoredFragment> {
        self.put_fragment_durably(actor, fragment, expected).await
    }

    async fn record_consent(
        &self,
        actor: &Actor,
        consent: Consent,
        expected_previous_version: u64,
    ) -> BackendResult<Consent> {
        self.record_consent_durably(actor, consent, expected_previous_version)
            .await
    }

    async fn record_revocation(
        &self,
        actor: &Actor,
        revocation: Revocation,
    ) -> BackendResult<Revocation> {
        self.record_revocation_durably(actor, revocation).await
    }

    async fn offer_handover(&self, actor: &Actor, offer: Handover) -> BackendResult<Handover> {
        self.offer_handover_durably(actor, offer).await
    }

    async fn accept_handover(&self, actor: &Actor, plan_id: &str) -> BackendResult<Handover> {
        self.accept_handover_durably(actor, plan_id).await
    }

    async fn withdraw_handover(&self, actor: &Actor, plan_id: &str) -> BackendResult<Handover> {
        self.withdraw_handover_durably(actor, plan_id).await
    }

    fn pending_handover(&self, plan_id: &str) -> BackendResult<Option<Handover>> {
        self.pending_handover_here(plan_id)
    }

    async fn log_access(&self, records: Vec<AccessRecord>) -> BackendResult<()> {
        // A plan handed out to the family is noted for the county's indicators in the same
        // batch as the record of handing it out.
        let ops = self.given_ops(&records);
        self.write(&records, ops).map_err(internal)?;
        self.durable().await
    }

    fn access_log(
        &self,
        plan_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BackendResult<AccessLogPage> {
        self.log_page(plan_id, after, limit)
    }

    async fn access_log_extract(
        &self,
        plan_id: &str,
        lang: kronobarn_document::Lang,
    ) -> BackendResult<LogExtract> {
        self.log_extract(plan_id, lang).await
    }

    fn witness_status(&self) -> BackendResult<GetWitnessStatusResponse> {
        self.witness_state()
    }

    fn revocation_status(&self, plan_id: &str) -> BackendResult<Vec<RevocationStatus>> {
        self.purge_progress(plan_id)
    }

    fn plan_changes(&self) -> broadcast::Receiver<String> {
        self.plan_changes.subscribe()
    }

    fn protected_contacts(&self, plan_id: &str) -> BackendResult<Vec<(String, Contact)>> {
        self.home_only_contacts(plan_id)
    }

    fn organization_name(&self, organization: &str) -> Option<String> {
        self.roster()
            .and_then(|r| r.member(organization))
            .map(|m| m.entry.name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                (organization == self.organization)
                    .then(|| self.display_name.get().cloned())
                    .flatten()
            })
    }

    fn directory(&self) -> std::sync::Arc<kronobarn_policy::Directory> {
        Node::directory(self)
    }

    fn unit_contact(&self, organization: &str, unit: &str) -> Option<Contact> {
        Node::unit_contact(self, organization, unit)
    }

    fn same_child_plans(&self, plan_id: &str) -> BackendResult<Vec<String>> {
        self.same_child(plan_id)
    }

    fn follow_ups_due(
        &self,
        from: &str,
        after: Option<&DueEntry>,
        to: &str,
        limit: usize,
    ) -> BackendResult<Vec<DueEntry>> {
        self.due_between(from, after, to, limit)
    }

    fn subscribe(&self, plan_id: &str) -> broadcast::Receiver<PlanEvent> {
        self.subscribe_plan(plan_id)
    }
}

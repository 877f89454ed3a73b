//! Protected personal data in answers: every reader is told (`Plan.protected_identity`), and the
//! guardians' contact details, which the home keeps out of the signed header, are given back
//! only in answers to readers of the header's own authority at the plan's home.

use kronobarn_proto::v1::{Fragment, fragment::Body};
use tonic::Status;

use super::PlanApi;
use crate::{Actor, Backend, PlanView};

impl<B: Backend> PlanApi<B> {
    /// Puts the home-only contact details back into a protected header among `fragments`, when
    /// this node is the plan's home and the reader's unit belongs to the header's authority.
    pub(super) fn with_home_only(
        &self,
        who: &Actor,
        view: &PlanView,
        fragments: &mut [Fragment],
    ) -> Result<(), Status> {
        if view.home_organization != self.backend.organization() {
            return Ok(());
        }
        let mine = view.directory.authority_id(&who.organization, &who.unit);
        for f in fragments.iter_mut() {
            let Some(Body::Header(h)) = &mut f.body else {
                continue;
            };
            if !h.protected_identity || f.home_authority != mine {
                continue;
            }
            for (id, contact) in self.backend.protected_contacts(&view.plan_id)? {
                if let Some(g) = h.guardians.iter_mut().find(|g| g.guardian_id == id) {
                    g.contact = Some(contact);
                }
            }
        }
        Ok(())
    }
}

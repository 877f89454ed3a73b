//! Admitting a caller: the system's credentials, the end user it names, and whether the system
//! serves that user's unit and role. A refusal for scope is an access record.

use super::*;
use crate::auth::Refusal;

impl<B: Backend> PlanApi<B> {
    /// The authenticated caller. A system naming a unit or role it does not serve is refused,
    /// and the attempt becomes an access record, about `plan_id` when the call names one, so it
    /// shows in that plan's log (and in the guardians' extract).
    pub(super) async fn caller<T>(
        &self,
        req: &Request<T>,
        plan_id: &str,
        action: AccessAction,
    ) -> Result<Actor, Status> {
        let refusal = match self.auth.caller(self.backend.organization(), req) {
            Ok(who) => return Ok(who),
            Err(r) => r,
        };
        let status = refusal.status();
        if let Refusal::OutOfScope { caller, why } = refusal {
            let plan_id = if kronobarn_proto::ids::is_plan_id(plan_id) {
                plan_id
            } else {
                ""
            };
            let rec = crate::record::by_user(
                &caller,
                self.backend.now_ms(),
                plan_id,
                "",
                action,
                WireDecision::Deny,
                why.reason(),
            );
            self.log(vec![rec]).await?;
            tracing::warn!(system = %caller.system, reason = why.reason(), "client system refused outside its scope");
        }
        Err(status)
    }
}

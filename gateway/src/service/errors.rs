//! Backend errors become gRPC statuses here, once, by their code (never by their text).

use tonic::Status;

use super::invalid;
use crate::BackendError;

impl From<BackendError> for Status {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::NotFound(what) => Status::not_found(format!("{what} not found")),
            BackendError::Invalid(f) => invalid(f),
            e @ BackendError::Denied(..) => Status::permission_denied(e.to_string()),
            e @ (BackendError::Conflict(..) | BackendError::Precondition(..)) => {
                Status::failed_precondition(e.to_string())
            }
            BackendError::OpenPlanExists { plan_id, message } => {
                let mut s = Status::already_exists(format!("open-plan-exists: {message}"));
                if let Some(id) = plan_id.and_then(|p| p.parse().ok()) {
                    s.metadata_mut().insert("x-kronobarn-existing-plan-id", id);
                }
                s
            }
            BackendError::Internal(m) => {
                tracing::error!(error = %m, "backend failure");
                Status::internal(
                    "the node could not complete the request; its operator can see why in the node log",
                )
            }
        }
    }
}

//! Who is calling: the system (bearer token or TLS client certificate) and the end user
//! (metadata). Missing credentials are UNAUTHENTICATED; missing or malformed user fields are
//! INVALID_ARGUMENT naming the metadata key. A system speaks only for the units (and, when its
//! config lists them, the roles) it serves: anything else is PERMISSION_DENIED, and the gateway
//! logs the attempt.

use std::collections::BTreeSet;

use kronobarn_proto::ids::{is_slug, is_user_id};
use sha2::{Digest, Sha256};
use tonic::{Request, Status, metadata::MetadataMap};

use crate::Actor;

/// Metadata key of the end user's id.
pub const USER_ID: &str = "x-kronobarn-user-id";
/// Metadata key of the end user's role.
pub const USER_ROLE: &str = "x-kronobarn-user-role";
/// Metadata key of the end user's unit.
pub const USER_UNIT: &str = "x-kronobarn-user-unit";
/// Metadata key of the purpose of the call.
pub const PURPOSE: &str = "x-kronobarn-purpose";

/// How one calling system proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredential {
    /// SHA-256 (hex) of its bearer token; the token itself is never stored.
    TokenSha256(String),
    /// SHA-256 (hex) of its TLS client certificate (DER).
    CertSha256(String),
}

/// Whom a calling system may speak for: the units it serves and, when its config lists them,
/// the roles its users may have. A school's system does not act for the social services of the
/// same municipality, however the request is labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    units: BTreeSet<String>,
    roles: Option<BTreeSet<String>>,
}

impl Scope {
    /// A system acting for `units`, its users in any role.
    pub fn units<S: Into<String>>(units: impl IntoIterator<Item = S>) -> Self {
        Self {
            units: units.into_iter().map(Into::into).collect(),
            roles: None,
        }
    }

    /// The same system, its users only in `roles`.
    pub fn with_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Whether a user of `unit` in `role` is within this scope, and if not, why not.
    pub fn check(&self, unit: &str, role: &str) -> Result<(), OutOfScope> {
        if !self.units.contains(unit) {
            return Err(OutOfScope::Unit);
        }
        match &self.roles {
            Some(roles) if !roles.contains(role) => Err(OutOfScope::Role),
            _ => Ok(()),
        }
    }
}

/// Why an authenticated system was refused for the user it named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfScope {
    /// The user's unit is not one the system serves.
    Unit,
    /// The system's roles are listed, and the user's role is not among them.
    Role,
}

impl OutOfScope {
    /// Reason code, first in the message and in the access record.
    pub fn reason(self) -> &'static str {
        match self {
            OutOfScope::Unit => "unit-not-served",
            OutOfScope::Role => "role-not-served",
        }
    }
}

/// Why a call was not admitted.
#[derive(Debug)]
pub enum Refusal {
    /// No, unknown or malformed credentials or user metadata: nobody known to record.
    Rejected(Status),
    /// A known system named a user outside its scope: refused, and worth an access record.
    OutOfScope {
        /// The caller as the request named it (system authenticated, user as sent).
        caller: Box<Caller>,
        /// What was outside the scope.
        why: OutOfScope,
    },
}

impl Refusal {
    /// The status the caller gets.
    pub fn status(&self) -> Status {
        match self {
            Refusal::Rejected(s) => s.clone(),
            Refusal::OutOfScope { caller, why } => {
                let (what, value) = match why {
                    OutOfScope::Unit => ("unit", &caller.unit),
                    OutOfScope::Role => ("role", &caller.role),
                };
                Status::permission_denied(format!(
                    "{}: client system '{}' does not act for {what} '{value}'; the node's config lists what each system serves",
                    why.reason(),
                    caller.system
                ))
            }
        }
    }
}

impl From<Status> for Refusal {
    fn from(s: Status) -> Self {
        Refusal::Rejected(s)
    }
}

/// One system allowed to call, by one of its credentials.
#[derive(Debug, Clone)]
struct Registered {
    id: String,
    credential: ClientCredential,
    scope: Scope,
}

/// The systems allowed to call this node's client API.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    clients: Vec<Registered>,
}

/// An authenticated caller.
pub type Caller = Actor;

impl ClientAuth {
    /// Allows `client_id` to call with `credential`, for the users `scope` admits.
    pub fn with(
        mut self,
        client_id: impl Into<String>,
        credential: ClientCredential,
        scope: Scope,
    ) -> Self {
        self.clients.push(Registered {
            id: client_id.into(),
            credential,
            scope,
        });
        self
    }

    /// Finds the calling system: a known certificate first, then a bearer token.
    fn system<T>(&self, req: &Request<T>) -> Result<&Registered, Status> {
        if let Some(certs) = req.peer_certs()
            && let Some(leaf) = certs.first()
        {
            let fp = ClientCredential::CertSha256(hex::encode(Sha256::digest(leaf.as_ref())));
            if let Some(r) = self.clients.iter().find(|r| r.credential == fp) {
                return Ok(r);
            }
        }
        let Some(value) = req.metadata().get("authorization") else {
            return Err(Status::unauthenticated(
                "no client credentials: send 'authorization: Bearer <token>' or a TLS client certificate known to this node",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| Status::unauthenticated("authorization: expected 'Bearer <token>'"))?;
        let fp = hex::encode(Sha256::digest(token.trim().as_bytes()));
        // Compare every entry so the time taken does not reveal which one matched.
        let mut found = None;
        for r in &self.clients {
            if let ClientCredential::TokenSha256(h) = &r.credential
                && constant_time_eq(h.as_bytes(), fp.as_bytes())
            {
                found = Some(r);
            }
        }
        found.ok_or_else(|| Status::unauthenticated("authorization: token not known to this node"))
    }

    /// Authenticates the calling system alone, for calls about no plan and no person (which
    /// unit is responsible at a school): a families' e-service asks them too. Its client id.
    pub fn system_id<T>(&self, req: &Request<T>) -> Result<String, Status> {
        self.system(req).map(|r| r.id.clone())
    }

    /// Authenticates the calling system, reads the end user from metadata, and admits the user
    /// only within the system's scope.
    pub fn caller<T>(&self, organization: &str, req: &Request<T>) -> Result<Caller, Refusal> {
        let registered = self.system(req)?;
        let md = req.metadata();
        let user_id = field(
            md,
            USER_ID,
            is_user_id,
            "1-128 printable ASCII characters without spaces",
        )?;
        let role = field(
            md,
            USER_ROLE,
            is_slug,
            "a slug: 1-64 of a-z, 0-9, '-', '_', '.'",
        )?;
        let unit = field(
            md,
            USER_UNIT,
            is_slug,
            "a slug: 1-64 of a-z, 0-9, '-', '_', '.'",
        )?;
        let purpose = field(
            md,
            PURPOSE,
            is_slug,
            "a slug: 1-64 of a-z, 0-9, '-', '_', '.'",
        )?;
        let caller = Actor {
            organization: organization.to_string(),
            system: registered.id.clone(),
            user_id,
            role,
            unit,
            purpose,
        };
        match registered.scope.check(&caller.unit, &caller.role) {
            Ok(()) => Ok(caller),
            Err(why) => Err(Refusal::OutOfScope {
                caller: Box::new(caller),
                why,
            }),
        }
    }
}

fn field(
    md: &MetadataMap,
    key: &str,
    ok: impl Fn(&str) -> bool,
    shape: &str,
) -> Result<String, Status> {
    let v = md
        .get(key)
        .ok_or_else(|| Status::invalid_argument(format!("metadata '{key}' is missing")))?;
    let v = v
        .to_str()
        .map_err(|_| Status::invalid_argument(format!("metadata '{key}' must be ASCII")))?;
    if !ok(v) {
        return Err(Status::invalid_argument(format!(
            "metadata '{key}' must be {shape}"
        )));
    }
    Ok(v.to_string())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-256 (hex) of a bearer token, as configured for a client.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn req(pairs: &[(&'static str, &str)]) -> Request<()> {
        let mut r = Request::new(());
        for (k, v) in pairs {
            r.metadata_mut().insert(*k, v.parse().unwrap());
        }
        r
    }

    fn user(token: &str, unit: &str, role: &str) -> Request<()> {
        req(&[
            ("authorization", &format!("Bearer {token}")),
            (USER_ID, "anna.a"),
            (USER_ROLE, role),
            (USER_UNIT, unit),
            (PURPOSE, "plan-coordination"),
        ])
    }

    fn token(t: &str) -> ClientCredential {
        ClientCredential::TokenSha256(token_sha256(t))
    }

    #[test]
    fn errors_name_what_is_missing() {
        let auth =
            ClientAuth::default().with("school", token("s3cret"), Scope::units(["ostra-skolan"]));
        let e = auth.caller("vaxjo", &req(&[])).unwrap_err().status();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = auth
            .caller("vaxjo", &req(&[("authorization", "Bearer wrong")]))
            .unwrap_err()
            .status();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = auth
            .caller("vaxjo", &req(&[("authorization", "Bearer s3cret")]))
            .unwrap_err()
            .status();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains(USER_ID));
        let e = auth
            .caller("vaxjo", &user("s3cret", "ostra skolan", "teacher"))
            .unwrap_err()
            .status();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains(USER_UNIT), "{e:?}");
        let c = auth
            .caller("vaxjo", &user("s3cret", "ostra-skolan", "teacher"))
            .unwrap();
        assert_eq!(
            (c.system.as_str(), c.unit.as_str()),
            ("school", "ostra-skolan")
        );
    }

    #[test]
    fn a_school_system_cannot_speak_for_social_services() {
        let auth = ClientAuth::default()
            .with(
                "school",
                token("school-token"),
                Scope::units(["ostra-skolan", "vastra-skolan"]),
            )
            .with(
                "social",
                token("social-token"),
                Scope::units(["socialtjanst"]),
            );
        let refused = auth
            .caller(
                "vaxjo",
                &user("school-token", "socialtjanst", "social-worker"),
            )
            .unwrap_err();
        let Refusal::OutOfScope { caller, why } = &refused else {
            panic!("{refused:?}");
        };
        // The refusal carries the caller as named, for the access record.
        assert_eq!(*why, OutOfScope::Unit);
        assert_eq!(
            (caller.system.as_str(), caller.unit.as_str()),
            ("school", "socialtjanst")
        );
        let s = refused.status();
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        assert!(s.message().starts_with("unit-not-served"), "{s:?}");
        assert!(s.message().contains("'school'") && s.message().contains("'socialtjanst'"));
        // Social services' own system may; the token decides the scope, not the metadata.
        let c = auth
            .caller(
                "vaxjo",
                &user("social-token", "socialtjanst", "social-worker"),
            )
            .unwrap();
        assert_eq!(c.system, "social");
        assert!(
            auth.caller("vaxjo", &user("social-token", "ostra-skolan", "teacher"))
                .is_err()
        );
    }

    #[test]
    fn listed_roles_are_the_only_roles() {
        let auth = ClientAuth::default().with(
            "school",
            token("t"),
            Scope::units(["ostra-skolan"]).with_roles(["principal", "teacher"]),
        );
        assert!(
            auth.caller("vaxjo", &user("t", "ostra-skolan", "teacher"))
                .is_ok()
        );
        let refused = auth
            .caller("vaxjo", &user("t", "ostra-skolan", "social-worker"))
            .unwrap_err();
        assert!(matches!(
            refused,
            Refusal::OutOfScope {
                why: OutOfScope::Role,
                ..
            }
        ));
        assert!(refused.status().message().starts_with("role-not-served"));
        // A unit outside the scope is named first, whatever the role.
        assert!(matches!(
            auth.caller("vaxjo", &user("t", "ifo", "social-worker")),
            Err(Refusal::OutOfScope {
                why: OutOfScope::Unit,
                ..
            })
        ));
    }

    fn slug() -> impl Strategy<Value = String> {
        "[a-d]{1,2}"
    }

    proptest! {
        /// A user is admitted exactly when the unit is served and the role listed (or roles
        /// are not listed); no other combination gets through.
        #[test]
        fn admitted_iff_unit_served_and_role_allowed(
            units in proptest::collection::btree_set(slug(), 1..4),
            roles in proptest::option::of(proptest::collection::btree_set(slug(), 1..4)),
            unit in slug(),
            role in slug(),
        ) {
            let mut scope = Scope::units(units.clone());
            if let Some(r) = &roles {
                scope = scope.with_roles(r.clone());
            }
            let auth = ClientAuth::default().with("sys", token("t"), scope);
            let admitted = auth.caller("org", &user("t", &unit, &role)).is_ok();
            let expected = units.contains(&unit)
                && roles.as_ref().is_none_or(|r| r.contains(&role));
            prop_assert_eq!(admitted, expected);
        }
    }
}

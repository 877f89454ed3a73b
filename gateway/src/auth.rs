//! Who is calling: the system (bearer token or TLS client certificate) and the end user
//! (metadata). Missing credentials are UNAUTHENTICATED; missing or malformed user fields are
//! INVALID_ARGUMENT naming the metadata key.

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

/// The systems allowed to call this node's client API.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    clients: Vec<(String, ClientCredential)>,
}

/// An authenticated caller.
pub type Caller = Actor;

impl ClientAuth {
    /// Allows `client_id` to call with `credential`.
    pub fn with(mut self, client_id: impl Into<String>, credential: ClientCredential) -> Self {
        self.clients.push((client_id.into(), credential));
        self
    }

    /// Finds the calling system: a known certificate first, then a bearer token.
    fn system<T>(&self, req: &Request<T>) -> Result<String, Status> {
        if let Some(certs) = req.peer_certs()
            && let Some(leaf) = certs.first()
        {
            let fp = hex::encode(Sha256::digest(leaf.as_ref()));
            if let Some((id, _)) = self
                .clients
                .iter()
                .find(|(_, c)| *c == ClientCredential::CertSha256(fp.clone()))
            {
                return Ok(id.clone());
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
        for (id, c) in &self.clients {
            if let ClientCredential::TokenSha256(h) = c
                && constant_time_eq(h.as_bytes(), fp.as_bytes())
            {
                found = Some(id.clone());
            }
        }
        found.ok_or_else(|| Status::unauthenticated("authorization: token not known to this node"))
    }

    /// Authenticates the calling system and reads the end user from metadata.
    pub fn caller<T>(&self, organization: &str, req: &Request<T>) -> Result<Caller, Status> {
        let system = self.system(req)?;
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
        Ok(Actor {
            organization: organization.to_string(),
            system,
            user_id,
            role,
            unit,
            purpose,
        })
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
    use super::*;

    fn req(pairs: &[(&'static str, &str)]) -> Request<()> {
        let mut r = Request::new(());
        for (k, v) in pairs {
            r.metadata_mut().insert(*k, v.parse().unwrap());
        }
        r
    }

    #[test]
    fn errors_name_what_is_missing() {
        let auth = ClientAuth::default().with(
            "school",
            ClientCredential::TokenSha256(token_sha256("s3cret")),
        );
        let e = auth.caller("vaxjo", &req(&[])).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = auth
            .caller("vaxjo", &req(&[("authorization", "Bearer wrong")]))
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = auth
            .caller("vaxjo", &req(&[("authorization", "Bearer s3cret")]))
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains(USER_ID));
        let full = [
            ("authorization", "Bearer s3cret"),
            (USER_ID, "anna.a"),
            (USER_ROLE, "teacher"),
            (USER_UNIT, "ostra skolan"),
            (PURPOSE, "plan-coordination"),
        ];
        let e = auth.caller("vaxjo", &req(&full)).unwrap_err();
        assert!(e.message().contains(USER_UNIT), "{e:?}");
        let mut ok = full;
        ok[3].1 = "ostra-skolan";
        let c = auth.caller("vaxjo", &req(&ok)).unwrap();
        assert_eq!(
            (c.system.as_str(), c.unit.as_str()),
            ("school", "ostra-skolan")
        );
    }
}

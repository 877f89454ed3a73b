//! A small helper for Rust callers of the client API (the demo and the tests): a TLS channel to
//! a node and requests carrying the calling system's token and the end user's metadata.

use kronobarn_gateway::auth::{PURPOSE, USER_ID, USER_ROLE, USER_UNIT};
use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// The end user a request is made for.
#[derive(Debug, Clone)]
pub struct User {
    /// Bearer token of the calling system; empty when it authenticates with its certificate.
    pub token: String,
    /// User id.
    pub user_id: String,
    /// Role.
    pub role: String,
    /// Unit.
    pub unit: String,
    /// Purpose.
    pub purpose: String,
}

impl User {
    /// A request for `msg` made by this user.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        let md = r.metadata_mut();
        if !self.token.is_empty()
            && let Ok(v) = format!("Bearer {}", self.token).parse()
        {
            md.insert("authorization", v);
        }
        for (k, v) in [
            (USER_ID, &self.user_id),
            (USER_ROLE, &self.role),
            (USER_UNIT, &self.unit),
            (PURPOSE, &self.purpose),
        ] {
            if let Ok(v) = v.parse() {
                md.insert(k, v);
            }
        }
        r
    }
}

/// Connects to a node's client API at `addr` over TLS, trusting `ca_pem`, optionally presenting
/// a client certificate.
pub async fn connect(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<PlanServiceClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .expect("static uri")
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(PlanServiceClient::new(channel))
}

//! Connections to peers: mutual TLS with the roster CA, the peer's organisation id as the name
//! its certificate must carry.

use std::time::Duration;

use kronobarn_proto::federation::federation_service_client::FederationServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::roster::Member;

/// The TLS material a node presents to its peers.
#[derive(Clone)]
pub struct PeerTls {
    /// The roster CA (PEM).
    pub ca_pem: Vec<u8>,
    /// This node's federation certificate (PEM).
    pub cert_pem: Vec<u8>,
    /// Its key (PEM).
    pub key_pem: Vec<u8>,
}

pub async fn connect(
    member: &Member,
    tls: &PeerTls,
) -> Result<FederationServiceClient<Channel>, String> {
    let cfg = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&tls.ca_pem))
        .domain_name(member.entry.organization.clone())
        .identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
    let ch = Channel::from_shared(member.entry.endpoint.clone())
        .map_err(|e| format!("endpoint: {e}"))?
        .tls_config(cfg)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(FederationServiceClient::new(ch))
}

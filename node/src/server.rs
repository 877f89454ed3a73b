//! Starts a node: opens storage and serves the client API with mutual-TLS-capable rustls,
//! standard gRPC health checking and server reflection (v1 and v1alpha).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use kronobarn_gateway::{ClientAuth, ClientCredential, PlanApi, Scope};
use kronobarn_proto::v1::plan_service_server::PlanServiceServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::config::Loaded;
use crate::federation::connect::PeerTls;
use crate::federation::delivery;
use crate::federation::service::Federation;
use crate::node::{Node, Retention};
use crate::pki::read_signing_key;
use crate::roster::Roster;
use crate::store::{SledStore, Store};
use kronobarn_proto::federation::federation_service_server::FederationServiceServer;

/// A running node.
pub struct Running {
    /// Where the client API listens.
    pub client_addr: SocketAddr,
    /// Where the federation service listens, when configured.
    pub federation_addr: Option<SocketAddr>,
    /// The node.
    pub node: Arc<Node>,
    shutdown: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    stop_workers: Option<tokio::sync::watch::Sender<bool>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops serving and waits until the server has let go of the node.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(tx) = &self.stop_workers {
            let _ = tx.send(true);
        }
        for w in self.workers {
            let _ = w.await;
        }
        for tx in self.shutdown {
            let _ = tx.send(());
        }
        // Graceful shutdown waits for open calls; clients that keep connections open (watchers)
        // get a few seconds, then the servers are dropped.
        for mut t in self.tasks {
            match tokio::time::timeout(std::time::Duration::from_secs(3), &mut t).await {
                Ok(r) => r.context("server task")?.context("server")?,
                Err(_) => t.abort(),
            }
        }
        Ok(())
    }

    /// Waits until a server stops (on error or shutdown).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        let (r, i, _) = futures_util::future::select_all(self.tasks.iter_mut()).await;
        self.tasks.remove(i);
        r.context("server task")?.context("server")?;
        Ok(())
    }
}

/// The county's directory: every roster member's authorities, and this organisation's from its
/// own config when the roster lists none for it.
fn directory(
    cfg: &crate::config::Config,
    roster: Option<&Roster>,
) -> anyhow::Result<kronobarn_policy::Directory> {
    let mut dir = kronobarn_policy::Directory::new();
    let mut own_listed = false;
    for m in roster.into_iter().flat_map(|r| r.members()) {
        own_listed |= m.entry.organization == cfg.organization && !m.entry.authorities.is_empty();
        crate::directory::add(&mut dir, &m.entry.organization, &m.entry.authorities)
            .with_context(|| format!("roster: member `{}`", m.entry.organization))?;
    }
    if !own_listed {
        crate::directory::add(&mut dir, &cfg.organization, &cfg.authorities)
            .context("config: authority")?;
    }
    Ok(dir)
}

/// The retention rules of `cfg`, checked against the directory: every authority a rule names
/// must be one of this organisation's.
pub fn retention(
    cfg: &crate::config::Config,
    dir: &kronobarn_policy::Directory,
) -> anyhow::Result<Retention> {
    let Some(r) = &cfg.retention else {
        return Ok(Retention::default());
    };
    let mut rules = Retention {
        default_days: r.default_days,
        ..Default::default()
    };
    for a in &r.authorities {
        let ours = match dir.authority(&a.id) {
            Some(x) => x.organization == cfg.organization,
            None => kronobarn_policy::Directory::implicit_unit(&a.id)
                .is_some_and(|(o, _)| o == cfg.organization),
        };
        if !ours {
            anyhow::bail!(
                "retention.authority: `{}` is not an authority of {} in the directory (list it under [[authority]], or write organisation/unit)",
                a.id,
                cfg.organization
            );
        }
        if rules.by_authority.insert(a.id.clone(), a.days).is_some() {
            anyhow::bail!("retention.authority: `{}` is listed twice", a.id);
        }
    }
    Ok(rules)
}

/// This organisation's own directory entries: the roster's when it lists them, else the config's.
fn own_entries(
    cfg: &crate::config::Config,
    roster: Option<&Roster>,
) -> Vec<crate::directory::AuthorityEntry> {
    roster
        .and_then(|r| r.member(&cfg.organization))
        .map(|m| m.entry.authorities.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| cfg.authorities.clone())
}

/// What the node answers indicator requests with (no readers without an `[indicators]` section).
pub fn indicator_settings(
    cfg: &crate::config::Config,
    roster: Option<&Roster>,
) -> crate::federation::indicators::IndicatorSettings {
    cfg.indicators
        .clone()
        .unwrap_or_default()
        .settings(&cfg.organization, &own_entries(cfg, roster))
}

/// A node opened on its store, with its roster and retention rules, not serving.
pub struct Opened {
    /// The node.
    pub node: Arc<Node>,
    /// The roster, when federation is configured.
    pub roster: Option<Arc<Roster>>,
    /// Its retention rules.
    pub retention: Retention,
}

/// Opens a node's store with its key, clock, roster, directory and rules, without serving: what
/// `start` serves, and what `kronobarn gallring` runs on when the node is stopped (a running node
/// holds the store locked).
pub fn open(loaded: &Loaded) -> anyhow::Result<Opened> {
    open_on(
        loaded,
        crate::clock::Clock::skewed(loaded.config.test_clock_offset_ms),
    )
}

/// As [`open`], on `clock` (a demo's hand-moved county clock).
pub fn open_on(loaded: &Loaded, clock: crate::clock::Clock) -> anyhow::Result<Opened> {
    let cfg = &loaded.config;
    let key = read_signing_key(&cfg.signing_key)?;
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open(&cfg.data_dir)
            .with_context(|| format!("opening data_dir {}", cfg.data_dir.display()))?,
    );
    if cfg.test_clock_offset_ms != 0 {
        tracing::warn!(
            offset_ms = cfg.test_clock_offset_ms,
            "test_clock_offset_ms is set: this node's clock is wrong on purpose (tests only)"
        );
    }
    let node = Arc::new(Node::open_with_clock(
        cfg.organization.clone(),
        store,
        key,
        clock,
    )?);
    node.set_display_name(&cfg.name);
    // Federation is switched on before any write can arrive, so every write fills the outboxes.
    let roster = match &cfg.federation {
        Some(f) => {
            let roster = Arc::new(Roster::load(&f.roster)?);
            if roster.member(&cfg.organization).is_none() {
                anyhow::bail!(
                    "federation.roster: this node's organisation {} is not in the roster",
                    cfg.organization
                );
            }
            node.enable_federation(
                roster.clone(),
                std::time::Duration::from_secs(f.lease_ttl_secs),
            );
            node.set_max_clock_ahead(std::time::Duration::from_secs(f.max_clock_ahead_secs));
            Some(roster)
        }
        None => None,
    };
    let dir = directory(cfg, roster.as_deref())?;
    let retention = retention(cfg, &dir)?;
    node.set_rules(
        dir,
        crate::directory::consent_rules(
            cfg.consent
                .as_ref()
                .and_then(|c| c.own_consent_from_15.as_deref()),
        )?,
    );
    let mut contacts = crate::directory::contacts(&cfg.organization, &cfg.authorities);
    for m in roster.iter().flat_map(|r| r.members()) {
        contacts.extend(crate::directory::contacts(
            &m.entry.organization,
            &m.entry.authorities,
        ));
    }
    node.set_responsibility(
        crate::directory::exceptions(&cfg.organization, cfg.responsibility.as_ref()),
        contacts,
    );
    // Plans made before the child index, or under another key or directory, are indexed now.
    node.prepare_indexes()
        .map_err(|e| anyhow::anyhow!("building the child index: {e}"))?;
    Ok(Opened {
        node,
        roster,
        retention,
    })
}

/// Opens the node's storage and starts serving, on the machine's clock (skewed as the config's
/// test setting says).
pub async fn start(loaded: &Loaded) -> anyhow::Result<Running> {
    let clock = crate::clock::Clock::skewed(loaded.config.test_clock_offset_ms);
    start_on(loaded, clock).await
}

/// Opens the node's storage and starts serving on `clock` (a demo's hand-moved county clock).
pub async fn start_on(loaded: &Loaded, clock: crate::clock::Clock) -> anyhow::Result<Running> {
    let cfg = &loaded.config;
    let Opened {
        node,
        roster,
        retention,
    } = open_on(loaded, clock)?;

    let mut auth = ClientAuth::default();
    for c in &cfg.client_api.clients {
        let mut scope = Scope::units(c.units.iter().cloned());
        if let Some(roles) = &c.roles {
            scope = scope.with_roles(roles.iter().cloned());
        }
        if let Some(h) = &c.token_sha256 {
            auth = auth.with(
                c.id.clone(),
                ClientCredential::TokenSha256(h.to_ascii_lowercase()),
                scope.clone(),
            );
        }
        if let Some(h) = &c.cert_sha256 {
            auth = auth.with(
                c.id.clone(),
                ClientCredential::CertSha256(h.to_ascii_lowercase()),
                scope,
            );
        }
    }
    let cert = std::fs::read(&cfg.client_api.tls_cert).context("client_api.tls_cert")?;
    let tls_key = std::fs::read(&cfg.client_api.tls_key).context("client_api.tls_key")?;
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, tls_key));
    if let Some(ca) = &cfg.client_api.client_ca {
        let ca = std::fs::read(ca).context("client_api.client_ca")?;
        tls = tls
            .client_ca_root(Certificate::from_pem(ca))
            .client_auth_optional(true);
    }

    let max = cfg.client_api.max_message_bytes;
    let api = PlanApi::new(node.clone(), auth)
        .with_max_watchers_per_client(cfg.client_api.max_watchers_per_client);
    let api = PlanServiceServer::new(api)
        .max_decoding_message_size(max)
        // Answers (a FHIR export with a long access log) may be far larger than requests.
        .max_encoding_message_size(256 << 20);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<PlanServiceServer<PlanApi<Node>>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kronobarn_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("kronobarn.v1.PlanService")
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kronobarn_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("kronobarn.v1.PlanService")
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection")
        .build_v1alpha()?;

    let listener = tokio::net::TcpListener::bind(loaded.listen)
        .await
        .with_context(|| format!("client_api.listen: cannot listen on {}", loaded.listen))?;
    let client_addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let router = Server::builder()
        .tls_config(tls)?
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api);
    let task = tokio::spawn(
        router.serve_with_incoming_shutdown(nodelay(listener), async {
            let _ = rx.await;
        }),
    );
    tracing::info!(organization = %cfg.organization, addr = %client_addr, "client API serving");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let check =
        std::time::Duration::from_secs(cfg.retention.as_ref().map_or(3600, |r| r.check_secs));
    let indicators = indicator_settings(cfg, roster.as_deref());
    if indicators.tamper.is_some() {
        tracing::warn!(
            "indicators.test_tamper is set: this node spoils every indicator set it sends (tests only)"
        );
    }
    let mut running = Running {
        client_addr,
        federation_addr: None,
        node: node.clone(),
        shutdown: vec![tx],
        tasks: vec![task],
        workers: vec![tokio::spawn(gallring(
            node.clone(),
            retention,
            check,
            stop_rx.clone(),
        ))],
        stop_workers: Some(stop_tx),
    };
    // The node's own aggregates as metrics; the same round keeps the plans' digests current, so
    // a reader's request reads only what changed since.
    if cfg.metrics.is_some() || !indicators.readers.is_empty() {
        let period = cfg.indicators.as_ref().map_or(300, |i| i.metrics_secs);
        running.workers.push(tokio::spawn(
            crate::federation::indicators::publish_metrics(
                node.clone(),
                indicators.counting.clone(),
                std::time::Duration::from_secs(period),
                stop_rx.clone(),
            ),
        ));
    }

    if let (Some(f), Some(addr), Some(roster)) = (&cfg.federation, loaded.federation_listen, roster)
    {
        let cert = std::fs::read(&f.tls_cert).context("federation.tls_cert")?;
        let key = std::fs::read(&f.tls_key).context("federation.tls_key")?;
        // Peers must present a certificate from the roster's CA (client auth is required).
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(&cert, &key))
            .client_ca_root(Certificate::from_pem(roster.ca_pem.clone()));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("federation.listen: cannot listen on {addr}"))?;
        running.federation_addr = Some(listener.local_addr()?);
        let tls_material = PeerTls {
            ca_pem: roster.ca_pem.clone(),
            cert_pem: cert.clone(),
            key_pem: key.clone(),
        };
        running.workers.extend(delivery::spawn(
            node.clone(),
            tls_material.clone(),
            stop_rx.clone(),
        ));
        running
            .workers
            .push(tokio::spawn(crate::federation::lease::renew(
                node.clone(),
                tls_material.clone(),
                stop_rx.clone(),
            )));
        node.enable_cosigning(Arc::new(crate::federation::witness::Witnesses::new(
            roster.clone(),
            Arc::new(crate::federation::witness::Tls(tls_material.clone())),
        )));
        running
            .workers
            .push(tokio::spawn(crate::federation::witness::run(
                node.clone(),
                std::time::Duration::from_secs(f.checkpoint_secs),
                stop_rx.clone(),
            )));
        running
            .workers
            .push(tokio::spawn(crate::federation::sync::run(
                node.clone(),
                tls_material,
                std::time::Duration::from_secs(f.anti_entropy_secs),
                stop_rx,
            )));
        let service =
            FederationServiceServer::new(Federation::new(node, roster).with_indicators(indicators))
                .max_decoding_message_size(16 * max)
                .max_encoding_message_size(16 * max);
        let (tx, rx) = oneshot::channel::<()>();
        let router = Server::builder().tls_config(tls)?.add_service(service);
        running
            .tasks
            .push(tokio::spawn(router.serve_with_incoming_shutdown(
                nodelay(listener),
                async {
                    let _ = rx.await;
                },
            )));
        running.shutdown.push(tx);
        tracing::info!(addr = %running.federation_addr.unwrap_or(addr), "federation serving");
    }
    Ok(running)
}

/// Deletes what retention says is due, every `period` (the first time one period after start),
/// until `stop`.
async fn gallring(
    node: Arc<Node>,
    rules: Retention,
    period: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        match node.gallring(&rules, false).await {
            Ok(done) if !done.is_empty() => {
                tracing::info!(plans = done.len(), "gallring: retention ran")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "gallring: retention failed; it runs again later")
            }
        }
    }
}

/// Accepted connections with Nagle off: small request/response exchanges must not wait ~40 ms.
pub fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |conn| {
            if let Ok(c) = &conn {
                let _ = c.set_nodelay(true);
            }
            conn
        },
    )
}

//! Ceilings measured in the same run as the system figures, so that every figure can be given as
//! a ratio on a shared, noisy machine: ed25519 signing and strict verification, sled insert with a
//! flush (alone and one flush per batch), fsync of a small file in the data directory, and a bare
//! tonic unary round trip on loopback with the node's TLS settings.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use ed25519_dalek::{Signer, SigningKey};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, Server, ServerTlsConfig};

use super::percentile;
use kronobarn_node::pki::DevCa;

/// Writes per flush in the group-commit ceiling: the number of concurrent writers of the
/// replicated-writes figure.
pub const GROUP: usize = 16;

/// What the machine does at best, measured now.
#[derive(Debug, Clone)]
pub struct Ceilings {
    /// ed25519 signatures per second, one core.
    pub sign_per_s: f64,
    /// ed25519 `verify_strict` per second, one core.
    pub verify_per_s: f64,
    /// sled insert + flush, one at a time: per second, p50, p99.
    pub sled_flush_per_s: f64,
    /// Latency of one sled insert + flush, p50.
    pub sled_flush_p50: Duration,
    /// Latency of one sled insert + flush, p99.
    pub sled_flush_p99: Duration,
    /// sled inserts per second with one flush per [`GROUP`] inserts (the group-commit ceiling).
    pub group_commit_per_s: f64,
    /// write + `sync_data` of a 4 KiB file in the data directory, p50.
    pub fsync_p50: Duration,
    /// The same, p99.
    pub fsync_p99: Duration,
    /// Bare unary round trip with the client API's TLS settings, p50.
    pub rtt_client_p50: Duration,
    /// The same, p99.
    pub rtt_client_p99: Duration,
    /// Bare unary round trip with the federation's mutual TLS settings, p50.
    pub rtt_mtls_p50: Duration,
    /// The same, p99.
    pub rtt_mtls_p99: Duration,
}

impl Ceilings {
    /// One federation hop at best: a mutual-TLS round trip, one signature check, one flush.
    pub fn one_hop(&self) -> Duration {
        self.rtt_mtls_p50 + Duration::from_secs_f64(1.0 / self.verify_per_s) + self.sled_flush_p50
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Runs `op` repeatedly for about `budget`; returns operations per second.
fn per_second(budget: Duration, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            op();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn sorted(mut v: Vec<Duration>) -> Vec<Duration> {
    v.sort();
    v
}

/// Measures every ceiling, using `dir` (on the same file system as the nodes' data) for storage.
pub async fn measure(dir: &Path, samples: usize) -> anyhow::Result<Ceilings> {
    let dir = dir.to_path_buf();
    let samples = samples.max(100);
    let (sign_per_s, verify_per_s) = tokio::task::spawn_blocking(signing).await?;
    let storage = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || storage(&dir, samples)).await??
    };
    let (rtt_client, rtt_mtls) = round_trips(samples).await?;
    let c = Ceilings {
        sign_per_s,
        verify_per_s,
        sled_flush_per_s: storage.0,
        sled_flush_p50: percentile(&storage.1, 0.5),
        sled_flush_p99: percentile(&storage.1, 0.99),
        group_commit_per_s: storage.2,
        fsync_p50: percentile(&storage.3, 0.5),
        fsync_p99: percentile(&storage.3, 0.99),
        rtt_client_p50: percentile(&rtt_client, 0.5),
        rtt_client_p99: percentile(&rtt_client, 0.99),
        rtt_mtls_p50: percentile(&rtt_mtls, 0.5),
        rtt_mtls_p99: percentile(&rtt_mtls, 0.99),
    };
    println!("\nceilings, measured now on this machine");
    let line = |what: &str, v: String| println!("{what:<52} {v:>24}");
    line("ed25519 sign, one core", format!("{:.0} /s", c.sign_per_s));
    line(
        "ed25519 verify_strict, one core",
        format!("{:.0} /s", c.verify_per_s),
    );
    line(
        "sled insert + flush, one at a time",
        format!("{:.0} /s", c.sled_flush_per_s),
    );
    line(
        "  latency p50 / p99",
        format!("{} / {}", ms(c.sled_flush_p50), ms(c.sled_flush_p99)),
    );
    line(
        &format!("sled inserts, one flush per {GROUP} (group commit)"),
        format!("{:.0} /s", c.group_commit_per_s),
    );
    line(
        "fsync of the data directory (4 KiB), p50 / p99",
        format!("{} / {}", ms(c.fsync_p50), ms(c.fsync_p99)),
    );
    line(
        "bare tonic round trip, client API TLS, p50 / p99",
        format!("{} / {}", ms(c.rtt_client_p50), ms(c.rtt_client_p99)),
    );
    line(
        "bare tonic round trip, mutual TLS, p50 / p99",
        format!("{} / {}", ms(c.rtt_mtls_p50), ms(c.rtt_mtls_p99)),
    );
    line(
        "one hop: mTLS round trip + verify + flush (p50s)",
        ms(c.one_hop()),
    );
    Ok(c)
}

/// Sign and `verify_strict` per second over a message the size of a stored fragment.
fn signing() -> (f64, f64) {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let vk = key.verifying_key();
    let msg = vec![0x5au8; 320];
    let budget = Duration::from_millis(700);
    let sign = per_second(budget, || {
        std::hint::black_box(key.sign(std::hint::black_box(&msg)));
    });
    let sig = key.sign(&msg);
    let verify = per_second(budget, || {
        vk.verify_strict(std::hint::black_box(&msg), &sig)
            .expect("own signature verifies");
    });
    (sign, verify)
}

type Storage = (f64, Vec<Duration>, f64, Vec<Duration>);

/// sled insert + flush (rate and latencies), inserts with one flush per [`GROUP`], and fsync
/// latency of a small file, all under `dir`.
fn storage(dir: &Path, samples: usize) -> anyhow::Result<Storage> {
    let path = dir.join("ceiling-sled");
    let db = sled::Config::new()
        .path(&path)
        .open()
        .context("sled for ceilings")?;
    let value = vec![0xa5u8; 512];
    let mut i = 0u64;
    let mut lat = Vec::with_capacity(samples);
    let start = Instant::now();
    for _ in 0..samples {
        let t = Instant::now();
        db.insert(i.to_be_bytes(), value.as_slice())?;
        db.flush()?;
        lat.push(t.elapsed());
        i += 1;
    }
    let flush_per_s = samples as f64 / start.elapsed().as_secs_f64();
    let batches = samples.max(200);
    let start = Instant::now();
    for _ in 0..batches {
        for _ in 0..GROUP {
            db.insert(i.to_be_bytes(), value.as_slice())?;
            i += 1;
        }
        db.flush()?;
    }
    let group_per_s = (batches * GROUP) as f64 / start.elapsed().as_secs_f64();
    drop(db);
    let _ = std::fs::remove_dir_all(&path);

    use std::io::{Seek, Write};
    let file = dir.join("ceiling-fsync");
    let mut f = std::fs::File::create(&file)?;
    let block = vec![0x42u8; 4096];
    let mut fsync = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        f.seek(std::io::SeekFrom::Start(0))?;
        f.write_all(&block)?;
        f.sync_data()?;
        fsync.push(t.elapsed());
    }
    drop(f);
    let _ = std::fs::remove_file(&file);
    Ok((flush_per_s, sorted(lat), group_per_s, sorted(fsync)))
}

/// Bare unary round trips (gRPC health `Check`, nothing else on the server) on loopback: with
/// the client API's TLS settings (server certificate, client certificate optional) and with the
/// federation's (client certificate required, presented by the caller).
async fn round_trips(samples: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let ca = DevCa::new("bench CA")?;
    let server = ca.leaf("bench-server", &["localhost", "bench-server"])?;
    let client = ca.leaf("bench-client", &["bench-client"])?;
    let ident = || Identity::from_pem(&server.cert_pem, &server.key_pem);
    let client_api = ServerTlsConfig::new()
        .identity(ident())
        .client_ca_root(Certificate::from_pem(&ca.cert_pem))
        .client_auth_optional(true);
    let federation = ServerTlsConfig::new()
        .identity(ident())
        .client_ca_root(Certificate::from_pem(&ca.cert_pem));
    let plain = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.cert_pem))
        .domain_name("localhost");
    let mutual = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.cert_pem))
        .domain_name("bench-server")
        .identity(Identity::from_pem(&client.cert_pem, &client.key_pem));
    Ok((
        round_trip(client_api, plain, samples).await?,
        round_trip(federation, mutual, samples).await?,
    ))
}

async fn round_trip(
    server_tls: ServerTlsConfig,
    client_tls: ClientTlsConfig,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .tls_config(server_tls)?
            .add_service(health)
            .serve_with_incoming_shutdown(kronobarn_node::server::nodelay(listener), async {
                let _ = rx.await;
            }),
    );
    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))?
        .tls_config(client_tls)?
        .connect()
        .await
        .context("bare round trip: connect")?;
    let mut client = HealthClient::new(channel);
    let mut lat = Vec::with_capacity(samples);
    for i in 0..samples + samples / 10 {
        let t = Instant::now();
        client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?;
        if i >= samples / 10 {
            lat.push(t.elapsed()); // the first tenth warms up
        }
    }
    drop(client);
    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    Ok(sorted(lat))
}

//! The `kronobarn` command line. This is the binary's edge, so errors are `anyhow` here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kronobarn_proto::v1::{Checkpoint, PayloadKind, SignedEnvelope};
use prost::Message;

use kronobarn_node::accesslog::{self, chain};
use kronobarn_node::config::Config;
use kronobarn_node::store::{SledStore, Store};

/// Kronobarn: one organisation's node in the county's federation for the child's plan.
#[derive(Parser, Debug)]
#[command(name = "kronobarn", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a new node folder: config, signing key, development TLS certificates, a client token.
    Init {
        /// Folder to create.
        #[arg(long)]
        dir: PathBuf,
        /// Organisation id, e.g. vaxjo-kommun.
        #[arg(long)]
        organization: String,
        /// Display name, e.g. "Växjö kommun": shown in documents for guardians.
        #[arg(long, default_value = "")]
        name: String,
        /// Client API address.
        #[arg(long, default_value = "127.0.0.1:7443")]
        listen: String,
    },
    /// Run a node.
    Node {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// Write `client_api=<addr>` (and `federation=<addr>`) to this file once serving.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Ask a running node whether it serves (gRPC health over TLS), for probes and scripts.
    Health {
        /// The node's config file (its listen address and CA are used).
        #[arg(long)]
        config: PathBuf,
        /// CA (PEM) to trust for the node's certificate; defaults to client_api.client_ca.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// Development PKI: a county CA, node folders and the roster for a whole federation.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with the access log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Work with a child's plan through a running node's client API.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Export a plan for another system through a running node's client API.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Walk a child's plan through the practice model across the county's eleven nodes, in
    /// plain words, writing the plan as a document for the family into a folder.
    Demo {
        /// Folder for the rendered plan (HTML, PDF) and its FHIR export.
        #[arg(long, default_value = "kronobarn-demo")]
        out: PathBuf,
    },
    /// Print figures of nodes on throw-away data dirs, each against a ceiling measured in the same run.
    Bench {
        /// Operations per figure.
        #[arg(long, default_value_t = 5000)]
        ops: usize,
        /// Revocations to time across the eleven-node county (0 skips the federation figures).
        #[arg(long, default_value_t = 100)]
        revocations: usize,
        /// Plans for the scale figures: restart to serving, memory, catch-up with that many plans
        /// stored (e.g. 100000; takes minutes). 0 skips them.
        #[arg(long, default_value_t = 0)]
        plans: usize,
    },
}

/// Who asks, when the CLI calls a running node's client API; every call is an access record.
#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// The node's config file: its client API address and CA.
    #[arg(long)]
    config: PathBuf,
    /// The node's client API address, when not the one in the config (e.g. a port chosen at
    /// start, as in the node's ready file).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// File holding the calling system's bearer token (default: clients/local-system.token
    /// next to the config, as `kronobarn init` writes it).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The end user's id, as in the organisation's own systems.
    #[arg(long)]
    user_id: String,
    /// The end user's role.
    #[arg(long, default_value = "staff")]
    role: String,
    /// The end user's unit; it must take part in the plan.
    #[arg(long)]
    unit: String,
    /// Why the plan is read, for the access log.
    #[arg(long)]
    purpose: String,
}

#[derive(Subcommand, Debug)]
enum PlanCommand {
    /// Write the plan as a plain-language document for the guardians and the child: only what
    /// the user may see, and the rendering is logged.
    Render {
        #[command(flatten)]
        client: ClientArgs,
        /// The plan.
        #[arg(long)]
        plan: String,
        /// html or pdf.
        #[arg(long, default_value = "html")]
        format: String,
        /// sv (Swedish) or en (English).
        #[arg(long, default_value = "sv")]
        lang: String,
        /// File to write; defaults to the name the node suggests, in the current folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ExportCommand {
    /// Write the plan as a FHIR R4 Bundle (CarePlan, Consent, AuditEvent, Organization, Patient).
    Fhir {
        #[command(flatten)]
        client: ClientArgs,
        /// The plan.
        #[arg(long)]
        plan: String,
        /// File to write; defaults to the name the node suggests, in the current folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PkiCommand {
    /// Write a county CA, one node folder per member and their shared roster.
    County {
        /// Folder to write into (must not hold a node folder of the same name).
        #[arg(long)]
        dir: PathBuf,
        /// A member as ORGANISATION=HOST: its id and the host name peers reach it by; repeat.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        /// Federation port on every host.
        #[arg(long, default_value_t = 7501)]
        federation_port: u16,
        /// Client API address every node listens on.
        #[arg(long, default_value = "0.0.0.0:7443")]
        client_listen: String,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check a node configuration (and its roster, keys and certificates) without starting.
    Check {
        /// The config file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Verify the hash chain and every signature of a stopped node's access log, and hold it
    /// against the checkpoints its federation peers witnessed.
    Verify {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// A signed checkpoint saved earlier (from `log checkpoint` or ListAccessLog): the log
        /// must still contain exactly what it covered.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Write the guardian's access log extract for one plan: extract.html (readable) and
    /// extract.json (signed records, hashes of the records between them, a signed checkpoint).
    Extract {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// The plan.
        #[arg(long)]
        plan: String,
        /// Folder to write the two files into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an extract.json offline: every included record's signature and its place in the
    /// chain up to the signed checkpoint.
    VerifyExtract {
        /// The extract.json file.
        file: PathBuf,
    },
    /// Write a signed checkpoint of a stopped node's log head to a file.
    Checkpoint {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// Where to write the checkpoint (a binary SignedEnvelope).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: &str, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(tty)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

fn open_store(
    config: &std::path::Path,
) -> anyhow::Result<(kronobarn_node::config::Loaded, SledStore)> {
    let loaded = Config::load(config)?;
    let store = SledStore::open(&loaded.config.data_dir).with_context(|| {
        format!(
            "opening {} (stop the node first)",
            loaded.config.data_dir.display()
        )
    })?;
    Ok((loaded, store))
}

/// Calls ExportPlan on a running node and writes the result, with progress on a terminal.
async fn export_through_client(
    client: ClientArgs,
    plan: String,
    format: kronobarn_proto::v1::ExportFormat,
    lang: String,
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    kronobarn_proto::validate::plan_id("--plan", &plan).map_err(|e| anyhow::anyhow!("{e}"))?;
    let loaded = Config::load(&client.config)?;
    let ca = loaded
        .config
        .client_api
        .client_ca
        .clone()
        .context("the config names no client_api.client_ca to trust the node with")?;
    let ca = std::fs::read_to_string(&ca).with_context(|| format!("reading {}", ca.display()))?;
    let token_file = client.token_file.unwrap_or_else(|| {
        client
            .config
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("clients/local-system.token")
    });
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("--token-file: reading {}", token_file.display()))?
        .trim()
        .to_string();
    let mut addr = client.addr.unwrap_or(loaded.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let user = kronobarn_node::client::User {
        token,
        user_id: client.user_id,
        role: client.role,
        unit: client.unit,
        purpose: client.purpose,
    };
    let progress =
        crate::progress::Progress::spinner(&format!("asking the node at {addr} for plan {plan}"));
    let mut api = kronobarn_node::client::connect(addr, &ca, None)
        .await
        .with_context(|| format!("cannot reach the node at {addr}"))?
        .max_decoding_message_size(256 << 20);
    let reply = api
        .export_plan(user.req(kronobarn_proto::v1::ExportPlanRequest {
            plan_id: plan.clone(),
            format: format as i32,
            language: lang,
        }))
        .await
        .map_err(|s| anyhow::anyhow!("the node refused: {:?}: {}", s.code(), s.message()))?
        .into_inner();
    progress.finish();
    let out = out.unwrap_or_else(|| PathBuf::from(&reply.file_name));
    kronobarn_node::pki::write_file(&out, &reply.content, false)?;
    println!(
        "wrote {} ({} bytes, {}){}",
        out.display(),
        reply.content.len(),
        reply.media_type,
        if reply.withheld > 0 {
            format!(
                "; {} parts of the plan were left out: this user may not see them",
                reply.withheld
            )
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Plan {
            command:
                PlanCommand::Render {
                    client,
                    plan,
                    format,
                    lang,
                    out,
                },
        } => {
            let format = match format.as_str() {
                "html" => kronobarn_proto::v1::ExportFormat::Html,
                "pdf" => kronobarn_proto::v1::ExportFormat::Pdf,
                _ => anyhow::bail!("--format: must be html or pdf"),
            };
            if kronobarn_document::Lang::parse(&lang).is_none() {
                anyhow::bail!("--lang: must be sv or en");
            }
            export_through_client(client, plan, format, lang, out).await
        }
        Command::Export {
            command: ExportCommand::Fhir { client, plan, out },
        } => {
            export_through_client(
                client,
                plan,
                kronobarn_proto::v1::ExportFormat::FhirR4Json,
                String::new(),
                out,
            )
            .await
        }
        Command::Init {
            dir,
            organization,
            name,
            listen,
        } => {
            let i = kronobarn_node::init::init(&dir, &organization, &name, &listen)?;
            println!("Wrote a node for {organization} in {}:", dir.display());
            println!("  config        {}", i.config_path.display());
            println!("  signing key   {}", dir.join("keys/signing.key").display());
            println!(
                "  TLS           {} (development CA: tls/ca.crt)",
                dir.join("tls").display()
            );
            println!(
                "  client token  {} (system id {})",
                dir.join(format!("clients/{}.token", i.client_id)).display(),
                i.client_id
            );
            println!(
                "Start it with: kronobarn node --config {}",
                i.config_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Node { config, ready_file } => {
            let loaded = Config::load(&config)?;
            init_tracing(&loaded.config.logging.format, &loaded.config.logging.filter);
            if let Some(m) = &loaded.config.metrics {
                let addr: std::net::SocketAddr = m.listen.parse()?;
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .with_http_listener(addr)
                    .set_buckets(&[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 30.0,
                    ])?
                    .install()
                    .context("metrics.listen")?;
                tracing::info!(addr = %addr, "metrics serving at /metrics");
            }
            let running = kronobarn_node::server::start(&loaded).await?;
            if let Some(f) = ready_file {
                // The last line is written last, so a reader that sees it sees the whole file.
                let mut text = String::new();
                if let Some(a) = running.federation_addr {
                    text.push_str(&format!("federation={a}\n"));
                }
                text.push_str(&format!("client_api={}\n", running.client_addr));
                // Written whole and then renamed, so a reader never sees half of it.
                let tmp = f.with_extension("tmp");
                kronobarn_node::pki::write_file(&tmp, text.as_bytes(), false)?;
                std::fs::rename(&tmp, &f)?;
            }
            let mut running = running;
            let node = running.node.clone();
            tokio::select! {
                r = shutdown_signal() => r?,
                r = running.wait() => return r.map(|_| ExitCode::FAILURE),
            }
            tracing::info!("shutting down");
            // Workers finish their round (a last checkpoint goes to the witnesses), then the
            // servers stop and everything is flushed.
            running.stop().await?;
            node.durable()
                .await
                .map_err(|e| anyhow::anyhow!("final flush: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Log {
            command: LogCommand::Verify { config, checkpoint },
        } => {
            let (loaded, store) = open_store(&config)?;
            // A progress bar on a terminal; plain lines every 100 000 entries otherwise.
            let total = accesslog::stored::size(&store)?;
            let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
                let b = indicatif::ProgressBar::new(total);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "verifying {bar:40} {pos}/{len} entries ({eta} left)",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let mut last_report = 0u64;
            let head = accesslog::verify_store(&store, |n| match &bar {
                Some(b) => b.set_position(n),
                None if n >= last_report + 100_000 => {
                    eprintln!("verified {n} of {total} entries...");
                    last_report = n;
                }
                None => {}
            });
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let head = match head {
                Ok(h) => h,
                Err(e) => {
                    println!("FAILED: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            // Checkpoints to hold the log against: a file kept by the operator, and the newest
            // copy each witness holds (when federation is configured and the peers answer).
            let mut checkpoints: Vec<(String, SignedEnvelope)> = Vec::new();
            if let Some(cp_path) = checkpoint {
                let bytes = std::fs::read(&cp_path)
                    .with_context(|| format!("reading {}", cp_path.display()))?;
                let env = SignedEnvelope::decode(bytes.as_slice())
                    .context("checkpoint file is not a signed envelope")?;
                checkpoints.push((format!("checkpoint {}", cp_path.display()), env));
            }
            if let Some(f) = &loaded.config.federation {
                let roster = kronobarn_node::roster::Roster::load(&f.roster)?;
                let tls = kronobarn_node::federation::delivery::PeerTls {
                    ca_pem: roster.ca_pem.clone(),
                    cert_pem: std::fs::read(&f.tls_cert)?,
                    key_pem: std::fs::read(&f.tls_key)?,
                };
                for (peer, held) in kronobarn_node::federation::witness::fetch_held(
                    &roster,
                    &loaded.config.organization,
                    &tls,
                )
                .await
                {
                    match held {
                        Ok(Some(env)) => checkpoints.push((format!("witness {peer}"), env)),
                        Ok(None) => println!("witness {peer} holds no checkpoint of this log yet"),
                        Err(e) => println!("witness {peer} could not be asked: {e}"),
                    }
                }
            }
            for (source, env) in &checkpoints {
                let payload = kronobarn_proto::envelope::open(env, PayloadKind::Checkpoint, |id| {
                    accesslog::stored::signer(&store, id)
                })
                .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
                let cp = Checkpoint::decode(payload).context("checkpoint payload")?;
                let check = chain::check_against(head, &cp, |n| {
                    accesslog::stored::entry(&store, n - 1)
                        .ok()
                        .flatten()
                        .and_then(|e| e.entry_hash.try_into().ok())
                });
                if let Err(e) = check {
                    println!("FAILED against {source}: {e}");
                    return Ok(ExitCode::FAILURE);
                }
                println!(
                    "{source}: its checkpoint of {} entries is contained in the log",
                    cp.size
                );
            }
            println!(
                "ok: {} entries, every link and signature verified; head {}",
                head.size,
                hex::encode(head.hash)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Log {
            command: LogCommand::Extract { config, plan, out },
        } => {
            kronobarn_proto::validate::plan_id("--plan", &plan)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (loaded, store) = open_store(&config)?;
            let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
            let store: Arc<dyn Store> = Arc::new(store);
            let log =
                accesslog::AccessLog::open(store.clone(), key, loaded.config.organization.clone())?;
            let first =
                accesslog::stored::first_about(store.as_ref(), &plan)?.with_context(|| {
                    format!("--plan: no access records about plan {plan} at this node")
                })?;
            let head = log.head();
            let mut progress = crate::progress::Progress::bar("reading the log", head.size - first);
            // Every entry from the plan's first on: the extract carries the hashes of the records
            // between the plan's own, so the chain can be checked up to the checkpoint.
            let mut entries = Vec::new();
            let mut next = first;
            while next < head.size {
                let page = accesslog::stored::entries(store.as_ref(), next, 1024)?;
                anyhow::ensure!(
                    !page.is_empty(),
                    "log entry {next} is missing: run log verify"
                );
                for e in page {
                    if next == head.size {
                        break;
                    }
                    anyhow::ensure!(
                        e.index == next,
                        "log entry {next} is missing: run log verify"
                    );
                    entries.push(e);
                    next += 1;
                    progress.set(next - first);
                }
            }
            progress.finish();
            let keys = accesslog::stored::signers(store.as_ref())?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as i64;
            let x = accesslog::extract::build(
                &loaded.config.organization,
                &plan,
                &entries,
                log.checkpoint(now),
                &keys,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let records = accesslog::extract::verify(&x)
                .map_err(|e| anyhow::anyhow!("the extract does not verify: {e}"))?;
            let json = out.join("extract.json");
            let page = out.join("extract.html");
            kronobarn_node::pki::write_file(
                &json,
                serde_json::to_string_pretty(&x)?.as_bytes(),
                false,
            )?;
            kronobarn_node::pki::write_file(
                &page,
                accesslog::extract::html(&loaded.config.organization, &plan, &records).as_bytes(),
                false,
            )?;
            println!(
                "wrote {} ({} records about the plan) and {}",
                page.display(),
                records.len(),
                json.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Log {
            command: LogCommand::VerifyExtract { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let x: accesslog::extract::Extract =
                serde_json::from_str(&text).context("not an extract.json")?;
            match accesslog::extract::verify(&x) {
                Ok(records) => {
                    println!(
                        "ok: {} records about plan {} from {}, each signed and in the chain up to the signed checkpoint",
                        records.len(),
                        x.plan_id,
                        x.organization
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Log {
            command: LogCommand::Checkpoint { config, out },
        } => {
            let (loaded, store) = open_store(&config)?;
            let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
            let log = accesslog::AccessLog::open(
                Arc::new(store),
                key,
                loaded.config.organization.clone(),
            )?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as i64;
            kronobarn_node::pki::write_file(&out, &log.checkpoint(now).encode_to_vec(), false)?;
            println!(
                "wrote checkpoint of {} entries to {}",
                log.head().size,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Pki {
            command:
                PkiCommand::County {
                    dir,
                    members,
                    federation_port,
                    client_listen,
                },
        } => {
            let mut placements = Vec::new();
            for m in &members {
                let (org, host) = m
                    .split_once('=')
                    .with_context(|| format!("--member {m}: expected ORGANISATION=HOST"))?;
                let kind = crate::county::KRONOBERG
                    .iter()
                    .find(|(o, _, _)| *o == org)
                    .map_or(kronobarn_node::roster::Kind::Municipality, |(_, _, k)| *k);
                placements.push(crate::county::Placement {
                    organization: org.to_string(),
                    name: org.to_string(),
                    kind,
                    host: host.to_string(),
                    federation_port,
                    client_listen: client_listen.clone(),
                    federation_listen: format!("0.0.0.0:{federation_port}"),
                });
            }
            let written = crate::county::write(&dir, &placements, 300)?;
            println!("Wrote a development county in {}:", dir.display());
            println!("  county-ca.crt, roster.toml ({} members)", written.len());
            for w in &written {
                println!(
                    "  {}/  config {}",
                    w.organization,
                    w.init.config_path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { config, ca } => {
            let loaded = Config::load(&config)?;
            let ca = ca
                .or(loaded.config.client_api.client_ca.clone())
                .context("--ca: no CA given and the config names no client_api.client_ca")?;
            let ca = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
            let mut addr = loaded.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca))
                .domain_name("localhost");
            let channel = tonic::transport::Channel::from_shared(format!("https://{addr}"))?
                .tls_config(tls)?
                .connect_timeout(std::time::Duration::from_secs(3))
                .timeout(std::time::Duration::from_secs(3))
                .connect()
                .await
                .with_context(|| format!("cannot reach the node at {addr}"))?;
            let status = tonic_health::pb::health_client::HealthClient::new(channel)
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await?
                .into_inner()
                .status();
            println!("{}", status.as_str_name());
            Ok(
                if status == tonic_health::pb::health_check_response::ServingStatus::Serving {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                },
            )
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let loaded = Config::load(&file)?;
            let c = &loaded.config;
            kronobarn_node::pki::read_signing_key(&c.signing_key)?;
            let mut lines = vec![format!(
                "organisation {}, client API on {}",
                c.organization, loaded.listen
            )];
            if let Some(f) = &c.federation {
                let roster = kronobarn_node::roster::Roster::load(&f.roster)?;
                if roster.member(&c.organization).is_none() {
                    anyhow::bail!(
                        "federation.roster: {} is not a member of {}",
                        c.organization,
                        f.roster.display()
                    );
                }
                lines.push(format!(
                    "federation on {} with {} roster members, leases {} s",
                    loaded
                        .federation_listen
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                    roster.members().count(),
                    f.lease_ttl_secs
                ));
            }
            println!("ok: {}", lines.join("; "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            ops,
            revocations,
            plans,
        } => {
            init_tracing("text", "warn");
            crate::bench::run_all(crate::bench::Options {
                ops,
                revocations,
                plans,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out } => {
            init_tracing("text", "warn");
            crate::demo::run(&out).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}

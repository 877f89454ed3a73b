//! `kronobarn log`: the access log of a stopped node — verify it (also against the checkpoints
//! its witnesses hold), write a signed checkpoint, and write or verify a guardian's extract.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kronobarn_node::accesslog::{self, AccessLog, chain, stored};
use kronobarn_node::config::{Config, Loaded};
use kronobarn_node::store::{SledStore, Store};
use kronobarn_proto::v1::{Checkpoint, LogEntry, PayloadKind, SignedEnvelope};
use prost::Message;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
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

/// Runs one `log` subcommand.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify { config, checkpoint } => verify(&config, checkpoint).await,
        Command::Extract { config, plan, out } => extract(&config, &plan, &out),
        Command::VerifyExtract { file } => verify_extract(&file),
        Command::Checkpoint { config, out } => write_checkpoint(&config, &out),
    }
}

/// Opens a stopped node's store; a running node holds it locked.
fn open_store(config: &Path) -> anyhow::Result<(Loaded, SledStore)> {
    let loaded = Config::load(config)?;
    let store = SledStore::open(&loaded.config.data_dir).with_context(|| {
        format!(
            "opening {} (stop the node first)",
            loaded.config.data_dir.display()
        )
    })?;
    Ok((loaded, store))
}

fn now_ms() -> anyhow::Result<i64> {
    Ok(kronobarn_node::clock::system_now_ms())
}

/// Verifies every link and signature, then holds the log against the checkpoint file given and
/// against the newest checkpoint each witness holds.
async fn verify(config: &Path, checkpoint: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (loaded, store) = open_store(config)?;
    // A progress bar on a terminal; plain lines every 100 000 entries otherwise.
    let total = stored::size(&store)?;
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
    // Checkpoints to hold the log against: a file kept by the operator, and the newest copy each
    // witness holds (when federation is configured and the peers answer).
    let mut checkpoints: Vec<(String, SignedEnvelope)> = Vec::new();
    if let Some(cp_path) = checkpoint {
        let bytes =
            std::fs::read(&cp_path).with_context(|| format!("reading {}", cp_path.display()))?;
        let env = SignedEnvelope::decode(bytes.as_slice())
            .context("checkpoint file is not a signed envelope")?;
        checkpoints.push((format!("checkpoint {}", cp_path.display()), env));
    }
    checkpoints.extend(witnessed(&loaded).await?);
    for (source, env) in &checkpoints {
        let payload = kronobarn_proto::envelope::open(env, PayloadKind::Checkpoint, |id| {
            stored::signer(&store, id)
        })
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        let cp = Checkpoint::decode(payload).context("checkpoint payload")?;
        let check = chain::check_against(head, &cp, |n| {
            stored::entry(&store, n - 1)
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

/// The newest checkpoint of this node's log each federation peer holds, when federation is
/// configured; peers that hold none or cannot be asked are named.
async fn witnessed(loaded: &Loaded) -> anyhow::Result<Vec<(String, SignedEnvelope)>> {
    let Some(f) = &loaded.config.federation else {
        return Ok(Vec::new());
    };
    let roster = kronobarn_node::roster::Roster::load(&f.roster)?;
    let tls = kronobarn_node::federation::connect::PeerTls {
        ca_pem: roster.ca_pem.clone(),
        cert_pem: std::fs::read(&f.tls_cert)?,
        key_pem: std::fs::read(&f.tls_key)?,
    };
    let mut out = Vec::new();
    for (peer, held) in
        kronobarn_node::federation::witness::fetch_held(&roster, &loaded.config.organization, &tls)
            .await
    {
        match held {
            Ok(Some(env)) => out.push((format!("witness {peer}"), env)),
            Ok(None) => println!("witness {peer} holds no checkpoint of this log yet"),
            Err(e) => println!("witness {peer} could not be asked: {e}"),
        }
    }
    Ok(out)
}

/// Writes extract.html and extract.json for `plan` into `out`, having verified the extract.
fn extract(config: &Path, plan: &str, out: &Path) -> anyhow::Result<ExitCode> {
    kronobarn_proto::validate::plan_id("--plan", plan).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (loaded, store) = open_store(config)?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let store: Arc<dyn Store> = Arc::new(store);
    let log = AccessLog::open(store.clone(), key, loaded.config.organization.clone())?;
    let first = stored::first_about(store.as_ref(), plan)?
        .with_context(|| format!("--plan: no access records about plan {plan} at this node"))?;
    let head = log.head();
    let entries = read_from(store.as_ref(), first, head.size)?;
    let keys = stored::signers(store.as_ref())?;
    let x = accesslog::extract::build(
        &loaded.config.organization,
        plan,
        &entries,
        log.checkpoint(now_ms()?),
        &keys,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let records = accesslog::extract::verify(&x)
        .map_err(|e| anyhow::anyhow!("the extract does not verify: {e}"))?;
    let json = out.join("extract.json");
    let page = out.join("extract.html");
    kronobarn_node::pki::write_file(&json, serde_json::to_string_pretty(&x)?.as_bytes(), false)?;
    kronobarn_node::pki::write_file(
        &page,
        accesslog::extract::html(&loaded.config.organization, plan, &records).as_bytes(),
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

/// Every entry from `first` up to `end`, with progress: the extract carries the hashes of the
/// records between the plan's own, so the chain can be checked up to the checkpoint.
fn read_from(store: &dyn Store, first: u64, end: u64) -> anyhow::Result<Vec<LogEntry>> {
    let mut progress = crate::progress::Progress::bar("reading the log", end - first);
    let mut entries = Vec::new();
    let mut next = first;
    while next < end {
        let page = stored::entries(store, next, 1024)?;
        anyhow::ensure!(
            !page.is_empty(),
            "log entry {next} is missing: run log verify"
        );
        for e in page {
            if next == end {
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
    Ok(entries)
}

/// Verifies an extract.json offline.
fn verify_extract(file: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
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

/// Writes a signed checkpoint of a stopped node's log head to `out`.
fn write_checkpoint(config: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let (loaded, store) = open_store(config)?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let log = AccessLog::open(Arc::new(store), key, loaded.config.organization.clone())?;
    kronobarn_node::pki::write_file(out, &log.checkpoint(now_ms()?).encode_to_vec(), false)?;
    println!(
        "wrote checkpoint of {} entries to {}",
        log.head().size,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

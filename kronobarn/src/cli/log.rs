//! `kronobarn log`: the access log of a stopped node — verify it (also against what its
//! witnesses cosigned), write a signed checkpoint, and write or verify a guardian's extract.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kronobarn_document::Lang;
use kronobarn_gateway::Backend;
use kronobarn_node::accesslog::extract::{self, Trust};
use kronobarn_node::accesslog::{self, AccessLog, signed, stored};
use kronobarn_node::clock::Clock;
use kronobarn_node::config::{Config, Loaded};
use kronobarn_node::federation::witness;
use kronobarn_node::node::Node;
use kronobarn_node::roster::Roster;
use kronobarn_node::store::{SledStore, Store};
use kronobarn_proto::v1::SignedEnvelope;
use prost::Message;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verify every record, tree hash and batch signature of a stopped node's access log, and
    /// hold it against the newest checkpoint each witness cosigned (and any alarm it raised).
    Verify {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// A signed checkpoint saved earlier (from `log checkpoint` or ListAccessLog): the log
        /// must still contain exactly what it covered.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Write the guardian's access log extract for one plan: loggutdrag.html (readable) and
    /// loggutdrag.json (every record about the plan with the proofs), at a checkpoint the
    /// witnesses are asked to cosign.
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
        /// Language of the page: sv or en.
        #[arg(long, default_value = "sv")]
        lang: String,
        /// The plan's withheld chain instead: the records about fragments withheld from the
        /// guardians (OSL 12 kap. 3 §), for a supervisory authority or a court, never for the
        /// guardians.
        #[arg(long)]
        withheld: bool,
    },
    /// Verify an extract's JSON file offline against a key you already trust: the roster's key
    /// for the organisation (and its witnesses'), or a key pinned by hand. An extract signed by
    /// any other key is refused, whatever key it names.
    VerifyExtract {
        /// The extract's JSON file.
        file: PathBuf,
        /// The county's roster (only the members' keys are read).
        #[arg(long, conflicts_with = "key", required_unless_present = "key")]
        roster: Option<PathBuf>,
        /// The organisation's public key, 64 hex digits, as published by it.
        #[arg(long)]
        key: Option<String>,
    },
    /// Write a signed checkpoint of a stopped node's log to a file.
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
        Command::Extract {
            config,
            plan,
            out,
            lang,
            withheld,
        } => {
            let chain = if withheld {
                kronobarn_proto::ids::withheld_chain(&plan)
            } else {
                plan.clone()
            };
            kronobarn_proto::validate::plan_id("--plan", &plan)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            write_extract(&config, &chain, &out, &lang).await
        }
        Command::VerifyExtract { file, roster, key } => {
            verify_extract(&file, roster.as_deref(), key.as_deref())
        }
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

/// A checkpoint to hold the log against, where it came from, and what it says.
struct Held {
    source: String,
    checkpoint: kronobarn_tlog::Checkpoint,
}

/// Verifies the log, then holds it against the checkpoint file given and against the newest
/// checkpoint each witness cosigned; a witness's alarm about the log fails it too.
async fn verify(config: &Path, checkpoint: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (loaded, store) = open_store(config)?;
    let org = loaded.config.organization.clone();
    let mut failed = Vec::new();
    let mut envelopes: Vec<(String, SignedEnvelope)> = Vec::new();
    if let Some(cp_path) = checkpoint {
        let bytes =
            std::fs::read(&cp_path).with_context(|| format!("reading {}", cp_path.display()))?;
        let env = SignedEnvelope::decode(bytes.as_slice())
            .context("checkpoint file is not a signed envelope")?;
        envelopes.push((format!("checkpoint {}", cp_path.display()), env));
    }
    for (peer, held) in witnessed(&loaded).await? {
        match held {
            Ok(h) => {
                if h.alarmed {
                    failed.push(format!(
                        "witness {peer} raised an alarm about this log: it was shown a checkpoint that contradicts one it cosigned"
                    ));
                }
                match h.newest {
                    Some(env) => envelopes.push((format!("witness {peer}"), env)),
                    None => println!("witness {peer} holds no checkpoint of this log yet"),
                }
            }
            Err(e) => println!("witness {peer} could not be asked: {e}"),
        }
    }
    let signers = stored::signers(&store)?;
    let mut held = Vec::new();
    for (source, env) in envelopes {
        match signed::open(&env, |id| signers.get(id).copied()) {
            Ok(checkpoint) => held.push(Held { source, checkpoint }),
            Err(e) => failed.push(format!(
                "{source}: its checkpoint is not one this node signed: {e}"
            )),
        }
    }
    let wanted: BTreeSet<u64> = held.iter().map(|h| h.checkpoint.size).collect();
    // A progress bar on a terminal; a line at every tenth otherwise.
    let mut progress = crate::progress::Progress::bar("verifying", stored::size(&store)?);
    let verified = accesslog::verify_store(&store, &org, wanted, |n| progress.set(n));
    progress.finish();
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            println!("FAILED: {e}");
            for f in failed {
                println!("FAILED: {f}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    for h in &held {
        match accesslog::check_against(&verified, &h.checkpoint) {
            Ok(()) => println!(
                "{}: its checkpoint of {} entries matches the log",
                h.source, h.checkpoint.size
            ),
            Err(e) => failed.push(format!("against {}: {e}", h.source)),
        }
    }
    if !failed.is_empty() {
        for f in failed {
            println!("FAILED {f}");
        }
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "ok: {} entries in {} signed batches about {} plans; every record, tree hash and signature verified; root {}",
        verified.size,
        verified.batches,
        verified.plans,
        hex::encode(verified.root)
    );
    Ok(ExitCode::SUCCESS)
}

/// What each federation peer holds of this node's log, when federation is configured.
async fn witnessed(
    loaded: &Loaded,
) -> anyhow::Result<Vec<(String, Result<witness::Held, String>)>> {
    let Some(f) = &loaded.config.federation else {
        return Ok(Vec::new());
    };
    let roster = Roster::load(&f.roster)?;
    let tls = kronobarn_node::federation::connect::PeerTls {
        ca_pem: roster.ca_pem.clone(),
        cert_pem: std::fs::read(&f.tls_cert)?,
        key_pem: std::fs::read(&f.tls_key)?,
    };
    Ok(witness::fetch_held(&roster, &loaded.config.organization, &tls).await)
}

/// Writes the extract for `plan` (a plan id, or its withheld chain) into `out` as the client API's ExportPlan makes it: at a
/// checkpoint the witnesses are asked to cosign, verified before it is written.
async fn write_extract(
    config: &Path,
    plan: &str,
    out: &Path,
    lang: &str,
) -> anyhow::Result<ExitCode> {
    let lang = Lang::parse(lang).context("--lang: must be sv or en")?;
    let (loaded, store) = open_store(config)?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let store: Arc<dyn Store> = Arc::new(store);
    if stored::plan_head(store.as_ref(), plan)?.is_none() {
        anyhow::bail!("--plan: no access records about plan {plan} at this node");
    }
    let node = Node::open(loaded.config.organization.clone(), store, key)?;
    node.set_display_name(&loaded.config.name);
    if let Some(f) = &loaded.config.federation {
        let roster = Arc::new(Roster::load(&f.roster)?);
        let tls = kronobarn_node::federation::connect::PeerTls {
            ca_pem: roster.ca_pem.clone(),
            cert_pem: std::fs::read(&f.tls_cert)?,
            key_pem: std::fs::read(&f.tls_key)?,
        };
        node.enable_federation(roster.clone(), std::time::Duration::from_secs(300));
        node.enable_cosigning(Arc::new(witness::Witnesses::new(
            roster,
            Arc::new(witness::Tls(tls)),
        )));
    }
    let x = node
        .access_log_extract(plan, lang)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = out.join(&x.json_file_name);
    let page = out.join(
        x.json_file_name
            .replace(".json", &format!("-{}.html", lang.tag())),
    );
    kronobarn_node::pki::write_file(&json, &x.json, false)?;
    kronobarn_node::pki::write_file(&page, x.html.as_bytes(), false)?;
    println!(
        "wrote {} ({} records about the plan, cosigned by {} witnesses) and {}",
        page.display(),
        x.records,
        x.witnesses,
        json.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Verifies an extract's JSON file against the roster or a pinned key.
fn verify_extract(
    file: &Path,
    roster: Option<&Path>,
    key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let x = match extract::json::from_json(&bytes) {
        Ok(x) => x,
        Err(e) => {
            println!("FAILED: not an access log extract: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (trust, names): (Trust, Option<Roster>) = match (roster, key) {
        (Some(path), _) => {
            let r = Roster::load_keys(path)?;
            let mut trust =
                Trust::roster(r.members().map(|m| (m.entry.organization.clone(), m.key)));
            for m in r.members() {
                if let Some((key, until)) = m.previous {
                    trust = trust.with_previous(&m.entry.organization, key, until);
                }
            }
            (trust, Some(r))
        }
        (None, Some(hex_key)) => {
            let bytes: [u8; 32] = hex::decode(hex_key.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--key: must be 64 hex digits")?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .context("--key: not an ed25519 public key")?;
            (Trust::pinned(&x.organization, vk), None)
        }
        (None, None) => anyhow::bail!(
            "give --roster or --key: an extract is checked against a key you already trust, never one it carries"
        ),
    };
    let name = |org: &str| {
        names
            .as_ref()
            .and_then(|r| r.member(org))
            .map_or_else(|| org.to_string(), |m| format!("{} ({org})", m.entry.name))
    };
    match extract::verify(&x, &trust) {
        Ok(v) => {
            println!(
                "ok: all {} records about plan {} at {}, complete up to its checkpoint of {} entries made {} (Swedish time), signed by key {} — the key you trust for it",
                v.records.len(),
                v.plan_id,
                name(&v.organization),
                v.checkpoint.size,
                extract::words::swedish_time(v.checkpoint.at_unix_ms),
                v.signer_key_id,
            );
            if v.witnesses.is_empty() {
                println!(
                    "no witness cosignature verified: only the organisation itself vouches for this checkpoint"
                );
            } else {
                let w: Vec<String> = v.witnesses.iter().map(|w| name(w)).collect();
                println!("cosigned by the witnesses {}", w.join(", "));
            }
            if !v.unchecked_cosignatures.is_empty() {
                println!(
                    "not checked (no key trusted for them): cosignatures of {}",
                    v.unchecked_cosignatures.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Writes a signed checkpoint of a stopped node's log to `out`.
fn write_checkpoint(config: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let (loaded, store) = open_store(config)?;
    let key = kronobarn_node::pki::read_signing_key(&loaded.config.signing_key)?;
    let log = AccessLog::open(
        Arc::new(store),
        key,
        loaded.config.organization.clone(),
        Clock::system(),
    )?;
    kronobarn_node::pki::write_file(out, &log.checkpoint().encode_to_vec(), false)?;
    println!(
        "wrote checkpoint of {} entries to {}",
        log.size(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

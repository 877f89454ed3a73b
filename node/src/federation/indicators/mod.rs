//! County indicators between nodes, with no central database: a report reader (a roster member
//! this node's config names) asks every node with `GetIndicators`; each node computes its set
//! from its own plans, signs its signed form (`PAYLOAD_KIND_INDICATOR_SET`), logs the request as
//! an access record about no plan, and answers. The reader verifies each signature against the
//! roster and re-runs the disclosure rules ([`verify`]) before a set reaches its report; a node
//! that did not answer, refused, or sent a set that fails is named with its reason.

use std::time::Duration;

use kronobarn_indicators::{IndicatorSet, Missing, Quarter, SetError};
use kronobarn_proto::envelope;
use kronobarn_proto::federation::{GetIndicatorsRequest, GetIndicatorsResponse};
use kronobarn_proto::v1::{AccessAction, Decision, PayloadKind, SignedEnvelope};
use sha2::{Digest, Sha256};
use tonic::Status;

use super::connect::{PeerTls, connect};
use crate::node::{Counting, IndicatorError, Node};
use crate::records;
use crate::roster::{Member, Roster};

/// The purpose written into the access record of every indicator request.
pub const PURPOSE: &str = "county-indicators";

/// Tests only: how a node spoils the set it sends, so a test can show the reader refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Signed by another key under this node's key id.
    Resign,
    /// A withheld count published (and signed properly).
    Reveal,
}

/// The config's `[indicators]` section: who may ask this node for its indicators, and how they
/// are counted. The same section at a report reader sets what `kronobarn indicators` asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsConfig {
    /// Roster members that may ask this node for its indicators (report readers), e.g.
    /// `["region-kronoberg"]`; any other member is refused. Empty: no one may.
    #[serde(default)]
    pub readers: Vec<String>,
    /// Counts below this are withheld (default 5); a reader asking for less gets this.
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Most quarters one request may cover (default 8, at most 40).
    #[serde(default = "default_quarters")]
    pub quarters: u32,
    /// The municipality (slug) this node's plans are counted for where neither the responsible
    /// unit nor its authority names one; by default the organisation id without "-kommun".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    /// How often to update the node's own indicator metrics, in seconds (default 300); only
    /// when `[metrics]` is configured.
    #[serde(default = "default_metrics_secs")]
    pub metrics_secs: u64,
    /// For tests of a reader only: "resign" or "reveal" spoils every set this node sends. Never
    /// set it in production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_tamper: Option<String>,
}

fn default_threshold() -> u32 {
    kronobarn_indicators::DEFAULT_THRESHOLD
}

fn default_quarters() -> u32 {
    8
}

fn default_metrics_secs() -> u64 {
    300
}

impl Default for IndicatorsConfig {
    fn default() -> Self {
        Self {
            readers: Vec::new(),
            threshold: default_threshold(),
            quarters: default_quarters(),
            municipality: None,
            metrics_secs: default_metrics_secs(),
            test_tamper: None,
        }
    }
}

impl IndicatorsConfig {
    /// Checks the section; the error names the field and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(bad) = self
            .readers
            .iter()
            .find(|r| !kronobarn_proto::ids::is_slug(r))
        {
            return Err((
                "indicators.readers",
                format!("\"{bad}\" is not an organisation id"),
            ));
        }
        if self.threshold == 0 {
            return Err(("indicators.threshold", "must be at least 1".into()));
        }
        if !(1..=kronobarn_indicators::MAX_QUARTERS as u32).contains(&self.quarters) {
            return Err((
                "indicators.quarters",
                format!("must be 1 to {}", kronobarn_indicators::MAX_QUARTERS),
            ));
        }
        if let Some(m) = &self.municipality
            && !kronobarn_indicators::is_slug(m)
        {
            return Err((
                "indicators.municipality",
                "must be a slug like \"vaxjo\" (a-z, 0-9, '-')".into(),
            ));
        }
        if self.metrics_secs == 0 {
            return Err(("indicators.metrics_secs", "must be at least 1".into()));
        }
        self.tamper()?;
        Ok(())
    }

    fn tamper(&self) -> Result<Option<Tamper>, (&'static str, String)> {
        match self.test_tamper.as_deref() {
            None => Ok(None),
            Some("resign") => Ok(Some(Tamper::Resign)),
            Some("reveal") => Ok(Some(Tamper::Reveal)),
            Some(_) => Err((
                "indicators.test_tamper",
                "must be \"resign\" or \"reveal\" (tests only)".into(),
            )),
        }
    }

    /// What the node answers with, for `organization` whose directory entries are `entries`.
    pub fn settings(
        &self,
        organization: &str,
        entries: &[crate::directory::AuthorityEntry],
    ) -> IndicatorSettings {
        IndicatorSettings {
            readers: self.readers.clone(),
            threshold: self.threshold,
            max_quarters: self.quarters,
            counting: Counting::new(organization, self.municipality.as_deref(), entries),
            tamper: self.tamper().ok().flatten(),
        }
    }
}

/// What this node answers indicator requests with.
#[derive(Debug, Clone, Default)]
pub struct IndicatorSettings {
    /// Roster members that may ask (report readers).
    pub readers: Vec<String>,
    /// This node's threshold: a reader asking for less gets this.
    pub threshold: u32,
    /// Most quarters one request may cover.
    pub max_quarters: u32,
    /// Where plans are counted.
    pub counting: Counting,
    /// Tests only.
    pub tamper: Option<Tamper>,
}

/// What a reader asks every node for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorRequest {
    /// First quarter.
    pub first: Quarter,
    /// Last quarter.
    pub last: Quarter,
    /// Counts below this withheld.
    pub threshold: u32,
}

impl IndicatorRequest {
    /// The request on the wire.
    pub fn wire(&self) -> GetIndicatorsRequest {
        GetIndicatorsRequest {
            first_quarter: self.first.to_string(),
            last_quarter: self.last.to_string(),
            threshold: self.threshold,
        }
    }
}

/// Answers `peer`'s request: the set, computed now and signed, when `peer` is a reader and the
/// request can be answered; a refusal otherwise. Either way the request is an access record
/// about no plan (with the hash of what was sent, or the refusal's reason), durable before the
/// answer.
pub async fn answer(
    node: &std::sync::Arc<Node>,
    settings: &IndicatorSettings,
    peer: &str,
    req: GetIndicatorsRequest,
) -> Result<GetIndicatorsResponse, Status> {
    let outcome = serve(node, settings, peer, &req).await;
    let (decision, reason, hash) = match &outcome {
        Ok(env) => (
            Decision::Permit,
            "indicator-reader",
            hex::encode(Sha256::digest(&env.payload)),
        ),
        Err((reason, _)) => (Decision::Deny, *reason, String::new()),
    };
    let mut r = records::by_peer(
        peer,
        node.now_ms(),
        "",
        "indicators",
        AccessAction::Send,
        decision,
        reason,
    );
    r.purpose = PURPOSE.into();
    r.content_hash = hash;
    let logged = match node.write(&[r], Vec::new()) {
        Ok(()) => node.durable().await.is_ok(),
        Err(_) => false,
    };
    if !logged {
        return Err(Status::internal("the node could not write its access log"));
    }
    match outcome {
        Ok(env) => {
            tracing::info!(reader = peer, first = %req.first_quarter, last = %req.last_quarter, "indicators sent");
            Ok(GetIndicatorsResponse {
                indicator_set: Some(env),
            })
        }
        Err((reason, status)) => {
            tracing::warn!(peer, reason, "indicators refused");
            Err(status)
        }
    }
}

/// The signed set for a request, or the refusal's reason code and status.
async fn serve(
    node: &std::sync::Arc<Node>,
    settings: &IndicatorSettings,
    peer: &str,
    req: &GetIndicatorsRequest,
) -> Result<SignedEnvelope, (&'static str, Status)> {
    if !settings.readers.iter().any(|r| r == peer) {
        return Err((
            "not-indicator-reader",
            Status::permission_denied(
                "not-indicator-reader: this node's config does not name the caller as a report reader",
            ),
        ));
    }
    let invalid = |m: String| ("invalid-request", Status::invalid_argument(m));
    let quarter = |field: &str, s: &str| {
        s.parse::<Quarter>()
            .map_err(|_| invalid(format!("{field}: must be a quarter YYYY-QN")))
    };
    let first = quarter("first_quarter", &req.first_quarter)?;
    let last = quarter("last_quarter", &req.last_quarter)?;
    let (mut span, mut q) = (0, first);
    while q <= last && span <= settings.max_quarters {
        span += 1;
        q = q.next();
    }
    if first > last || span > settings.max_quarters {
        return Err(invalid(format!(
            "last_quarter: at most {} quarters, from first_quarter on",
            settings.max_quarters
        )));
    }
    let threshold = req.threshold.max(settings.threshold);
    let (n, counting) = (node.clone(), settings.counting.clone());
    let set =
        tokio::task::spawn_blocking(move || n.indicator_set(&counting, first, last, threshold))
            .await
            .map_err(|_| {
                (
                    "failed",
                    Status::internal("computing the indicators failed"),
                )
            })?
            .map_err(|e| match e {
                IndicatorError::Compute(kronobarn_indicators::Error::QuarterNotEnded(q)) => (
                    "quarter-not-ended",
                    Status::failed_precondition(format!(
                        "last_quarter: {q} has not ended by this node's clock"
                    )),
                ),
                IndicatorError::Compute(
                    e @ (kronobarn_indicators::Error::Period
                    | kronobarn_indicators::Error::Threshold),
                ) => invalid(e.to_string()),
                e => {
                    tracing::error!(error = %e, "cannot compute the indicators");
                    (
                        "failed",
                        Status::internal("the node could not compute its indicators"),
                    )
                }
            })?;
    Ok(sign(node, &set, settings.tamper))
}

/// The set's signed form, signed by the node (spoiled as `tamper` says, in tests).
fn sign(node: &Node, set: &IndicatorSet, tamper: Option<Tamper>) -> SignedEnvelope {
    match tamper {
        None => node.sign(PayloadKind::IndicatorSet, set.to_signed_form()),
        Some(Tamper::Resign) => {
            let other = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            let mut env = envelope::seal(PayloadKind::IndicatorSet, set.to_signed_form(), &other);
            env.key_id = envelope::key_id(&node.access_log_handle().public_key());
            env
        }
        Some(Tamper::Reveal) => {
            let mut spoiled = set.clone();
            if let Some(c) = spoiled
                .tables
                .iter_mut()
                .flat_map(|t| t.cells.iter_mut())
                .find(|c| c.value == kronobarn_indicators::Value::Suppressed)
            {
                // A count under the threshold, where the rules withheld one.
                c.value = kronobarn_indicators::Value::Count(1);
            }
            node.sign(PayloadKind::IndicatorSet, spoiled.to_signed_form())
        }
    }
}

/// Checks a node's answer as a reader must before using it: signed by the roster's key of the
/// member asked, readable, passing the disclosure rules again, and the set asked for.
pub fn verify(
    member: &Member,
    env: &SignedEnvelope,
    req: &IndicatorRequest,
    now_ms: i64,
) -> Result<IndicatorSet, (Missing, String)> {
    let payload = envelope::open(env, PayloadKind::IndicatorSet, |id| {
        member.key_for(id, now_ms)
    })
    .map_err(|e| (Missing::BadSignature, e.to_string()))?;
    let set = IndicatorSet::from_signed_form(payload).map_err(|e| {
        let why = match e {
            SetError::Recoverable | SetError::Disclosure(_) => Missing::BrokeTheRules,
            _ => Missing::Unreadable,
        };
        (why, e.to_string())
    })?;
    if set.first != req.first || set.last != req.last {
        return Err((
            Missing::Unreadable,
            format!(
                "the set covers {}..{}, not the quarters asked for",
                set.first, set.last
            ),
        ));
    }
    if set.threshold < req.threshold {
        return Err((
            Missing::BrokeTheRules,
            format!(
                "the set withholds counts below {}, not below {} as asked",
                set.threshold, req.threshold
            ),
        ));
    }
    Ok(set)
}

/// One member's answer to a reader.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The member's organisation id.
    pub organization: String,
    /// Its name from the roster.
    pub name: String,
    /// The envelope it sent, checked or not (kept so anyone can check it again).
    pub envelope: Option<SignedEnvelope>,
    /// The checked set, or why there is none (and what went wrong, for the operator).
    pub outcome: Result<IndicatorSet, (Missing, String)>,
}

/// What asking one member brought: its envelope (if it sent one), or why not.
type Asked = Result<Option<SignedEnvelope>, (Missing, String)>;

/// Asks every member of `roster` for its set (all at once, each within `timeout`) and checks
/// each answer; `progress` is told how many have answered so far. One answer per member, in
/// roster order.
pub async fn collect(
    roster: &Roster,
    tls: &PeerTls,
    req: IndicatorRequest,
    timeout: Duration,
    now_ms: impl Fn() -> i64,
    mut progress: impl FnMut(usize),
) -> Vec<Answer> {
    let mut tasks = tokio::task::JoinSet::new();
    let members: Vec<Member> = roster.members().cloned().collect();
    for (i, m) in members.iter().enumerate() {
        let (m, tls) = (m.clone(), tls.clone());
        tasks.spawn(async move {
            let asked = async {
                let mut c = connect(&m, &tls)
                    .await
                    .map_err(|e| (Missing::Unreachable, e))?;
                c.get_indicators(req.wire())
                    .await
                    .map_err(|s| {
                        // The page says which kind of failure; the operator's output says what.
                        let why = match s.code() {
                            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                                Missing::Refused
                            }
                            tonic::Code::Unavailable => Missing::Unreachable,
                            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                                Missing::NoAnswer
                            }
                            _ => Missing::Failed,
                        };
                        (why, format!("{:?}: {}", s.code(), s.message()))
                    })
                    .map(|r| r.into_inner().indicator_set)
            };
            let result = match tokio::time::timeout(timeout, asked).await {
                Err(_) => Err((Missing::NoAnswer, format!("no answer within {timeout:?}"))),
                Ok(r) => r,
            };
            (i, result)
        });
    }
    let mut answers: Vec<Option<Asked>> = vec![None; members.len()];
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        if let Ok((i, result)) = r {
            answers[i] = Some(result);
        }
        done += 1;
        progress(done);
    }
    members
        .iter()
        .zip(answers)
        .map(|(m, a)| {
            let a = a.unwrap_or_else(|| Err((Missing::NoAnswer, "the request failed".into())));
            let (envelope, outcome) = match a {
                Ok(Some(env)) => {
                    let outcome = verify(m, &env, &req, now_ms());
                    (Some(env), outcome)
                }
                Ok(None) => (None, Err((Missing::Unreadable, "an empty answer".into()))),
                Err(e) => (None, Err(e)),
            };
            Answer {
                organization: m.entry.organization.clone(),
                name: m.entry.name.clone(),
                envelope,
                outcome,
            }
        })
        .collect()
}

mod metrics;
pub use metrics::{HomeFigures, YearFigures, home_figures, publish_metrics};

#[cfg(test)]
mod tests;

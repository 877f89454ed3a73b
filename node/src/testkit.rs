//! An in-process county for unit tests: nodes on in-memory stores with a shared roster and hand-
//! moved clocks, whose outboxes are delivered by calling the same admission and settlement code
//! the gRPC service and the delivery tasks run, one peer at a time. Tests choose the exact order
//! of every delivery (a revocation before the consent it follows, a crash between two batches),
//! which real processes only reach by luck. Transport (TLS, gRPC) is the integration tests' job.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kronobarn_gateway::{Actor, Backend, PlanView};
use kronobarn_proto::federation::{PushResult, WitnessCheckpointRequest};
use kronobarn_proto::v1::{
    Category, Child, Consent, Contact, Grant, Guardian, GuardianConsent, Participant, PlanHeader,
    SignedEnvelope,
};

use crate::clock::{Clock, ManualTime};
use crate::federation::witness::{self, AskFuture, Transport, Witnesses};
use crate::federation::{admission, delivery};
use crate::node::Node;
use crate::roster::{Kind, Member, MemberEntry, Roster};
use crate::store::MemoryStore;

/// 2026-11-26 12:00 Swedish time, as ms since the Unix epoch: tests start here.
pub const START_MS: i64 = 1_795_690_800_000;

/// One node of the test county.
pub struct TestNode {
    /// The node.
    pub node: Arc<Node>,
    /// Its store, to crash it.
    pub store: Arc<MemoryStore>,
    /// Its signing key, to reopen it.
    pub key: SigningKey,
    /// The hand of its clock.
    pub time: ManualTime,
    /// Its clock, to reopen it on the same time.
    pub clock: Clock,
}

/// Witnesses reached in process: a request goes straight to the peer's witness handler, as the
/// federation service would pass it on.
pub struct InProcess {
    /// The organisation asking.
    pub from: String,
    /// The county's nodes.
    pub nodes: BTreeMap<String, Weak<Node>>,
    /// The roster.
    pub roster: Arc<Roster>,
}

impl Transport for InProcess {
    fn ask<'a>(&'a self, peer: &'a Member, req: WitnessCheckpointRequest) -> AskFuture<'a> {
        let answer = match self
            .nodes
            .get(&peer.entry.organization)
            .and_then(Weak::upgrade)
        {
            Some(n) => {
                witness::handle(&n, &self.roster, &self.from, req).map_err(|e| e.to_string())
            }
            None => Err("no such node".into()),
        };
        Box::pin(async move { answer })
    }
}

/// A county of in-process nodes.
pub struct County {
    /// The nodes by organisation id.
    pub nodes: BTreeMap<String, TestNode>,
    /// The roster they share.
    pub roster: Arc<Roster>,
    /// Organisations whose links are cut: `settle_all` delivers nothing to or from them.
    cut: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

fn key_for(i: usize) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[0] = i as u8;
    SigningKey::from_bytes(&seed)
}

impl County {
    /// Nodes for `orgs`, each knowing the others through one roster, with the test directory.
    pub fn new(orgs: &[&str]) -> Self {
        Self::with(orgs, configure)
    }

    /// As [`County::new`], each node's directory and rules set by `configure` (they are set
    /// once per node).
    pub fn with(orgs: &[&str], configure: impl Fn(&Node, &[&str])) -> Self {
        let keys: Vec<SigningKey> = (0..orgs.len()).map(key_for).collect();
        let entries = orgs
            .iter()
            .zip(&keys)
            .map(|(o, k)| MemberEntry {
                organization: o.to_string(),
                name: format!("{o} (test)"),
                kind: Kind::Municipality,
                endpoint: format!("https://{o}.invalid:1"),
                signing_key: hex::encode(k.verifying_key().as_bytes()),
                previous_signing_key: None,
                previous_key_valid_until: None,
                authorities: Vec::new(),
            })
            .collect();
        let roster = Arc::new(Roster::from_entries(entries, Vec::new()).expect("roster"));
        let nodes = orgs
            .iter()
            .zip(keys)
            .map(|(o, key)| {
                let store = Arc::new(MemoryStore::new());
                let (clock, time) = Clock::manual(START_MS);
                let node =
                    Node::open_with_clock(o.to_string(), store.clone(), key.clone(), clock.clone())
                        .expect("open");
                node.enable_federation(roster.clone(), Duration::from_secs(300));
                configure(&node, orgs);
                let node = Arc::new(node);
                (
                    o.to_string(),
                    TestNode {
                        node,
                        store,
                        key,
                        time,
                        clock,
                    },
                )
            })
            .collect();
        let county = Self {
            nodes,
            roster,
            cut: Default::default(),
        };
        county.enable_witnesses();
        county
    }

    /// Every node has the others as witnesses of its log, reached in process.
    fn enable_witnesses(&self) {
        for org in self.nodes.keys() {
            self.node(org).enable_cosigning(self.witnesses_for(org));
        }
    }

    /// The county's nodes as `org`'s witnesses, reached in process.
    pub fn witnesses_for(&self, org: &str) -> Arc<Witnesses> {
        let transport = InProcess {
            from: org.to_string(),
            nodes: self
                .nodes
                .iter()
                .map(|(o, n)| (o.clone(), Arc::downgrade(&n.node)))
                .collect(),
            roster: self.roster.clone(),
        };
        Arc::new(Witnesses::new(self.roster.clone(), Arc::new(transport)))
    }

    /// Rotates `org`'s signing key: every node restarts on its own store with a roster that lists
    /// the new key and keeps the old one valid for `overlap_ms` more, as operators do it.
    pub fn rotate_key(&mut self, org: &str, overlap_ms: i64) {
        let old = self.nodes[org].key.clone();
        let mut seed = old.to_bytes();
        seed[31] ^= 0x5a;
        let new = SigningKey::from_bytes(&seed);
        let until_day = (self.node(org).now_ms() + overlap_ms).div_euclid(86_400_000) + 1;
        let (y, mo, d) = kronobarn_proto::date::civil_date(until_day * 86_400_000);
        let entries = self
            .roster
            .members()
            .map(|m| {
                let mut e = m.entry.clone();
                if e.organization == org {
                    e.previous_signing_key = Some(e.signing_key.clone());
                    e.previous_key_valid_until = Some(format!("{y:04}-{mo:02}-{d:02}"));
                    e.signing_key = hex::encode(new.verifying_key().as_bytes());
                }
                e
            })
            .collect();
        self.roster = Arc::new(Roster::from_entries(entries, Vec::new()).expect("roster"));
        self.nodes.get_mut(org).expect("member").key = new;
        let orgs: Vec<String> = self.nodes.keys().cloned().collect();
        let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
        for (o, n) in self.nodes.iter_mut() {
            let node =
                Node::open_with_clock(o.clone(), n.store.clone(), n.key.clone(), n.clock.clone())
                    .expect("reopen");
            node.enable_federation(self.roster.clone(), Duration::from_secs(300));
            configure(&node, &orgs);
            n.node = Arc::new(node);
        }
        self.enable_witnesses();
    }

    /// The node of `org`.
    pub fn node(&self, org: &str) -> &Node {
        &self.nodes[org].node
    }

    /// Moves every node's clock by `ms`.
    #[allow(dead_code)]
    pub fn advance(&self, ms: i64) {
        for n in self.nodes.values() {
            n.time.advance(ms);
        }
    }

    /// What `from` has queued for `to`, most urgent first.
    pub fn outbox(&self, from: &str, to: &str) -> Vec<SignedEnvelope> {
        self.node(from)
            .outbox_batch(to, usize::MAX)
            .expect("outbox")
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    }

    /// Delivers everything `from` has queued for `to` in one push, and settles the answers at
    /// `from` exactly as a delivery task does. Returns the receiver's answers.
    pub async fn deliver(&self, from: &str, to: &str) -> Vec<PushResult> {
        let batch = self
            .node(from)
            .outbox_batch(to, usize::MAX)
            .expect("outbox");
        let envs: Vec<SignedEnvelope> = batch.iter().map(|(_, e)| e.clone()).collect();
        let results = self.push(from, to, &envs).await;
        delivery::settle(self.node(from), to, &batch, results.clone())
            .await
            .expect("settle");
        results
    }

    /// Pushes `envs` to `to` as if `from` sent them (nothing is settled at `from`).
    pub async fn push(&self, from: &str, to: &str, envs: &[SignedEnvelope]) -> Vec<PushResult> {
        admission::receive(self.node(to), &self.roster, from, envs)
            .await
            .expect("receive")
    }

    /// Cuts `org` off: `settle_all` delivers nothing to or from it until it is healed.
    pub fn cut(&self, org: &str) {
        self.cut.lock().unwrap().insert(org.to_string());
    }

    /// Heals a cut.
    #[allow(dead_code)]
    pub fn heal(&self, org: &str) {
        self.cut.lock().unwrap().remove(org);
    }

    /// Delivers every outbox in the county, repeatedly, until all are empty (at most `rounds`);
    /// what waits for or at a cut organisation stays.
    pub async fn settle_all(&self, rounds: usize) {
        for _ in 0..rounds {
            let mut any = false;
            let cut = self.cut.lock().unwrap().clone();
            let orgs: Vec<String> = self
                .nodes
                .keys()
                .filter(|o| !cut.contains(*o))
                .cloned()
                .collect();
            for from in &orgs {
                for to in &orgs {
                    if from != to && !self.outbox(from, to).is_empty() {
                        any = true;
                        self.deliver(from, to).await;
                    }
                }
            }
            if !any {
                return;
            }
        }
        panic!("outboxes did not drain in {rounds} rounds");
    }
}

/// The test county's directory, at every node: each organisation's unit `skola` is its school's
/// principal (school code `school-{org}`), `bvc` its child health care and `mvc` its maternity
/// care, so they may be a child's Barnens bästa-ansvarig; every other unit is an authority of
/// its own. Then the derived indexes. (No exceptions: a test sets its own.)
pub fn configure(node: &Node, orgs: &[&str]) {
    use kronobarn_policy::{AuthorityKind as K, ServiceKind as S};
    let mut dir = kronobarn_policy::Directory::new();
    for o in orgs {
        for (unit, kind, serves) in [
            ("skola", K::School, S::School),
            ("bvc", K::ChildHealthCare, S::ChildHealthCentre),
            ("mvc", K::MaternityCare, S::MaternityClinic),
        ] {
            dir.add_authority(kronobarn_policy::Authority {
                id: format!("{o}-{unit}"),
                organization: o.to_string(),
                kind,
                name: format!("{unit}, {o}"),
            })
            .expect("authority");
            dir.add_unit(kronobarn_policy::DirectoryUnit {
                organization: o.to_string(),
                unit: unit.into(),
                authority: format!("{o}-{unit}"),
                serves: vec![kronobarn_policy::ServiceUnit {
                    kind: serves,
                    code: format!("{unit}-{o}"),
                }],
            })
            .expect("unit");
        }
    }
    node.set_rules(dir, Default::default());
    node.prepare_indexes().expect("indexes");
}

/// A user of `org`'s unit `unit` calling through the test system.
pub fn actor(org: &str, unit: &str) -> Actor {
    Actor {
        organization: org.to_string(),
        system: "test-system".into(),
        user_id: format!("user.{unit}"),
        role: "staff".into(),
        unit: unit.to_string(),
        purpose: "plan-coordination".into(),
    }
}

/// A plan header with invented names, for a school child of its own: each header names another
/// child (an invented reserve number), since a child has one open plan at a node.
pub fn header(unit: &str) -> PlanHeader {
    static CHILDREN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = CHILDREN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PlanHeader {
        child: Some(Child {
            personal_identity_number: format!("TESTKIT-{n:08}"),
            identity_kind: kronobarn_proto::v1::IdentityKind::ReserveNumber as i32,
            name: "Testbarn Påhittadsson".into(),
            birth_date: "2017-01-01".into(),
            ..Default::default()
        }),
        guardians: vec![Guardian {
            guardian_id: "g1".into(),
            name: "Vårdnadshavare Ett".into(),
            has_custody: true,
            contact: None,
        }],
        responsible_organization: String::new(),
        responsible_unit: unit.into(),
        responsible_contact: Some(Contact {
            name: "Anna Påhittad".into(),
            title: "rektor".into(),
            ..Default::default()
        }),
        follow_up_dates: vec![],
        follow_up_by: String::new(),
        protected_identity: false,
    }
}

/// Creates a plan at `org`'s unit `unit`.
pub async fn create_plan(node: &Node, unit: &str) -> PlanView {
    node.create_plan(&actor(node.organization_id(), unit), header(unit), None)
        .await
        .expect("create plan")
}

/// Adds `org`'s `unit` as a participant of the plan (written by the home).
pub async fn add_participant(home: &Node, home_unit: &str, plan_id: &str, org: &str, unit: &str) {
    let f = kronobarn_proto::v1::Fragment {
        plan_id: plan_id.to_string(),
        body: Some(kronobarn_proto::v1::fragment::Body::Participant(
            Participant {
                organization: org.to_string(),
                unit: unit.to_string(),
                contact: None,
            },
        )),
        ..Default::default()
    };
    home.put_fragment(&actor(home.organization_id(), home_unit), f, None)
        .await
        .expect("participant");
}

/// Records a consent at the home granting each `(org, categories)`.
pub async fn consent(
    home: &Node,
    home_unit: &str,
    plan_id: &str,
    grants: &[(&str, &[Category])],
) -> Consent {
    let previous = home
        .load_plan_facts(plan_id)
        .expect("load")
        .and_then(|v| v.consent)
        .map_or(0, |c| c.consent_version);
    let c = Consent {
        plan_id: plan_id.to_string(),
        guardian_consents: vec![GuardianConsent {
            guardian_id: "g1".into(),
            form: kronobarn_proto::v1::ConsentForm::Written as i32,
            given_at_unix_ms: home.now_ms(),
        }],
        valid_until_unix_ms: home.now_ms() + 365 * 86_400_000,
        grants: grants
            .iter()
            .map(|(o, cats)| Grant {
                organization: o.to_string(),
                categories: cats.iter().map(|c| *c as i32).collect(),
                ..Default::default()
            })
            .collect(),
        purpose: "plan-coordination".into(),
        ..Default::default()
    };
    home.record_consent(&actor(home.organization_id(), home_unit), c, previous)
        .await
        .expect("consent")
}

impl County {
    /// The holder asks the plan's consent home for a lease, as its lease task does.
    pub fn renew_lease(&self, holder: &str, plan_id: &str) -> Result<(), String> {
        let h = self.node(holder);
        let view = h
            .load_plan_facts(plan_id)
            .map_err(|e| e.to_string())?
            .ok_or("plan unknown at the holder")?;
        let consent = view.consent.ok_or("no consent at the holder")?;
        let home = &view.home_organization;
        let env = crate::federation::lease::grant(
            self.node(home),
            holder,
            plan_id,
            consent.consent_version,
        )
        .map_err(|e| e.to_string())?;
        let member = self.roster.member(home).ok_or("home not in roster")?;
        crate::federation::lease::keep(h, member, plan_id, consent.consent_version, &env)
    }
}

/// Fragment ids of the plan that a user of `unit` at `node` is shown now (the gateway's read
/// decision, without the gateway).
pub fn shown(node: &Node, unit: &str, plan_id: &str) -> Vec<String> {
    let Some(view) = node.load_plan(plan_id).expect("load") else {
        return Vec::new();
    };
    let state = view.policy_state();
    let who = kronobarn_policy::Requester {
        organization: node.organization_id(),
        unit,
    };
    if !kronobarn_policy::takes_part(&state, who) {
        return Vec::new();
    }
    view.fragments
        .iter()
        .filter(|f| {
            let facts = crate::outbox::fragment_facts(&f.fragment);
            kronobarn_policy::decide_read(&state, who, facts, node.now_ms()).is_permit()
        })
        .map(|f| f.fragment.fragment_id.clone())
        .collect()
}

/// An intervention of the writer's unit, followed up in January 2027.
pub fn intervention(plan_id: &str, what: &str) -> kronobarn_proto::v1::Fragment {
    kronobarn_proto::v1::Fragment {
        plan_id: plan_id.to_string(),
        body: Some(kronobarn_proto::v1::fragment::Body::Intervention(
            kronobarn_proto::v1::Intervention {
                what: what.into(),
                who: "Skolans kurator".into(),
                responsible: Some(Contact {
                    name: "Anna Påhittad".into(),
                    title: "kurator".into(),
                    ..Default::default()
                }),
                from_date: "2026-12-01".into(),
                follow_up_date: "2027-01-15".into(),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// Writes an intervention at `node`'s `unit`; returns its fragment id.
pub async fn write_intervention(node: &Node, unit: &str, plan_id: &str, what: &str) -> String {
    node.put_fragment(
        &actor(node.organization_id(), unit),
        intervention(plan_id, what),
        None,
    )
    .await
    .expect("intervention")
    .fragment
    .fragment_id
}

/// Records, at `node`'s `unit`, guardian g1's withdrawal from `orgs` (all when empty).
pub async fn revoke(
    node: &Node,
    unit: &str,
    plan_id: &str,
    orgs: &[&str],
) -> kronobarn_proto::v1::Revocation {
    node.record_revocation(
        &actor(node.organization_id(), unit),
        kronobarn_proto::v1::Revocation {
            plan_id: plan_id.to_string(),
            withdrawn_by: "g1".into(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        },
    )
    .await
    .expect("revocation")
}

/// Bearer token of the test system calling the client API.
pub const TOKEN: &str = "test-token";

/// Units the test system acts for.
pub const UNITS: [&str; 5] = ["skola", "elevhalsan", "bup", "bvc", "ifo"];

/// The client API over `node`, admitting the test system for [`UNITS`].
pub fn client_api(node: &Arc<Node>) -> kronobarn_gateway::PlanApi<Node> {
    let auth = kronobarn_gateway::ClientAuth::default().with(
        "test-system",
        kronobarn_gateway::ClientCredential::TokenSha256(kronobarn_gateway::auth::token_sha256(
            TOKEN,
        )),
        kronobarn_gateway::Scope::units(UNITS),
    );
    kronobarn_gateway::PlanApi::new(node.clone(), auth)
}

/// A client API request for `msg` by user `user_id` of `unit`, through the test system.
pub fn request<T>(msg: T, user_id: &str, unit: &str) -> tonic::Request<T> {
    use kronobarn_gateway::auth::{PURPOSE, USER_ID, USER_ROLE, USER_UNIT};
    let mut r = tonic::Request::new(msg);
    let md = r.metadata_mut();
    md.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    md.insert(USER_ID, user_id.parse().unwrap());
    md.insert(USER_ROLE, "staff".parse().unwrap());
    md.insert(USER_UNIT, unit.parse().unwrap());
    md.insert(PURPOSE, "plan-coordination".parse().unwrap());
    r
}

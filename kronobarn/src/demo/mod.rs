//! `kronobarn demo`: a child's plan walked through the practice model across the eleven nodes of
//! Kronoberg county on loopback, through the real client API and federation, in plain words.
//!
//! [`run`] tells the story step by step; each step is one function in [`steps`] (the first
//! half) or [`later`]. Everyone in it is
//! invented; the child has the Swedish Tax Agency's published test identity number 20170101-2393 (a school child).

mod indicator_plans;
pub(crate) mod indicators;
mod later;
mod steps;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use kronobarn_node::client::{User, connect};
use kronobarn_proto::v1::{
    AdvancePlanRequest, Contact, Fragment, GetPlanRequest, PlanStage, PutFragmentRequest,
    WheelArea, fragment::Body,
};

use crate::county::{KRONOBERG, Member};

/// Runs the demo, writing the family's documents into `out_dir`.
pub async fn run(out_dir: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut county = County::start(dir.path()).await?;
    let plan = steps::a_need_is_noticed(&mut county).await?;
    steps::talk_with_the_wheel(&mut county, &plan).await?;
    steps::both_guardians_consent(&mut county, &plan).await?;
    steps::a_coordination_meeting(&mut county, &plan).await?;
    steps::each_writes_its_own_part(&mut county, &plan).await?;
    steps::the_authority_boundary(&mut county, &plan).await?;
    steps::who_is_responsible(&mut county).await?;
    steps::without_consent_nothing(&mut county, &plan).await?;
    later::follow_up(&mut county, &plan).await?;
    later::a_document_for_the_family(&mut county, &plan, out_dir).await?;
    later::a_guardian_withdraws(&mut county, &plan).await?;
    later::the_plan_is_closed(&mut county, &plan).await?;
    later::every_log_verified(county, &plan).await?;
    println!(
        "\nDone. The nodes' folders were temporary; the plan as a document is in {}: open barnets-plan.html (or childs-plan.en.html) in a browser.",
        out_dir.display()
    );
    Ok(())
}

type Api = kronobarn_proto::v1::plan_service_client::PlanServiceClient<tonic::transport::Channel>;

/// One person in the story, at their own organisation's node.
#[derive(Clone)]
struct Desk {
    api: Api,
    user: User,
}

/// The eleven nodes running, and the people of the story at five of them.
struct County {
    members: Vec<Member>,
    /// The principal of Östra skolan, Växjö kommun: the plan's responsible organisation.
    principal: Desk,
    /// A psychologist at BUP Växjö, Region Kronoberg.
    psychologist: Desk,
    /// The coordinator of Barnens vänner's homework club.
    club_leader: Desk,
    /// An officer of the Police's youth group: takes no part in the plan.
    officer: Desk,
    /// A social worker at Alvesta kommun: takes no part in the plan.
    social_worker: Desk,
    /// A social worker at Växjö kommun's social services: another authority of the plan's own
    /// municipality, on the same node, which no consent names.
    social_services: Desk,
}

impl County {
    /// Starts every node of the county under `dir` and seats the story's people at theirs.
    async fn start(dir: &Path) -> anyhow::Result<Self> {
        println!(
            "Kronobarn demo: the eleven organisations of Kronoberg county, each with its own node and its own"
        );
        println!(
            "embedded database, exchanging over mutual TLS on this machine (folders in {}).",
            dir.display()
        );
        let t = Instant::now();
        let members = crate::county::start(dir, &KRONOBERG, 300).await?;
        println!(
            "   {} nodes started in {} ms: {}.",
            members.len(),
            t.elapsed().as_millis(),
            members
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let seat = async |org: &str, user_id: &str, role: &str, unit: &str| {
            let m = members
                .iter()
                .find(|m| m.organization == org)
                .with_context(|| format!("{org} is a county member"))?;
            anyhow::Ok(Desk {
                api: connect(m.running.client_addr, &m.init.ca_pem, None).await?,
                user: User {
                    token: m.init.token.clone(),
                    user_id: user_id.into(),
                    role: role.into(),
                    unit: unit.into(),
                    purpose: "plan-coordination".into(),
                },
            })
        };
        let principal = seat("vaxjo-kommun", "rektor.ostra", "principal", "ostra-skolan").await?;
        let psychologist = seat(
            "region-kronoberg",
            "psykolog.bup",
            "psychologist",
            "bup-vaxjo",
        )
        .await?;
        let club_leader = seat(
            "barnens-vanner",
            "ledare.laxhjalp",
            "volunteer-coordinator",
            "laxhjalp",
        )
        .await?;
        let officer = seat("polisen", "handlaggare", "officer", "ungdomsgruppen").await?;
        let social_worker = seat(
            "alvesta-kommun",
            "socialsekreterare",
            "social-worker",
            "ifo",
        )
        .await?;
        let social_services = seat(
            "vaxjo-kommun",
            "socialsekreterare.vaxjo",
            "social-worker",
            "ifo",
        )
        .await?;
        Ok(Self {
            members,
            principal,
            psychologist,
            club_leader,
            officer,
            social_worker,
            social_services,
        })
    }
}

impl County {
    /// Hangs up every person's connection and hands back the running nodes.
    fn into_members(self) -> Vec<Member> {
        self.members
    }
}

impl Desk {
    /// The same person, stating another purpose (e.g. making the guardians' copy).
    fn for_purpose(&self, purpose: &str) -> Desk {
        let mut d = self.clone();
        d.user.purpose = purpose.into();
        d
    }
}

/// Prints the heading of step `n`.
fn step(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

fn contact(name: &str, title: &str) -> Option<Contact> {
    Some(Contact {
        name: name.into(),
        title: title.into(),
        phone: "0470-00 00 00".into(),
        email: String::new(),
    })
}

/// Names of fragment kinds, for telling what a node shows.
fn kinds(fragments: &[Fragment]) -> String {
    let mut v: Vec<String> = fragments
        .iter()
        .map(|f| match &f.body {
            Some(Body::Header(_)) => "plan header".to_string(),
            Some(Body::Participant(_)) => "participant".to_string(),
            Some(Body::WheelAssessment(w)) => {
                format!(
                    "wheel: {}",
                    WheelArea::try_from(w.area)
                        .map_or("?", |a| a.as_str_name())
                        .trim_start_matches("WHEEL_AREA_")
                        .to_lowercase()
                )
            }
            Some(Body::Intervention(_)) => format!("intervention by {}", f.home_organization),
            Some(Body::Meeting(_)) => "meeting record".to_string(),
            Some(Body::FollowUp(_)) => "follow-up".to_string(),
            Some(Body::Status(_)) => "plan status".to_string(),
            None => "?".to_string(),
        })
        .collect();
    v.sort();
    let mut out: Vec<String> = Vec::new();
    for k in v {
        match out.last_mut() {
            Some(last) if last.starts_with(&k) => {
                let n = last
                    .rsplit_once(" x")
                    .and_then(|(_, n)| n.parse::<u32>().ok())
                    .unwrap_or(1);
                *last = format!("{k} x{}", n + 1);
            }
            _ => out.push(k),
        }
    }
    out.join(", ")
}

/// The fragments `desk`'s node shows of the plan, or `None` when it refuses.
async fn shown(desk: &mut Desk, plan_id: &str) -> Option<Vec<Fragment>> {
    let r = desk
        .api
        .get_plan(desk.user.req(GetPlanRequest {
            plan_id: plan_id.into(),
        }))
        .await
        .ok()?;
    Some(r.into_inner().plan?.fragments)
}

/// Polls `check` every 5 ms for up to 30 s; returns the value and the time it took.
async fn until<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok((v, start.elapsed()));
        }
        if start.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("gave up waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Moves the plan to the next stage of the practice model and says so.
async fn advance(
    desk: &mut Desk,
    plan_id: &str,
    to: PlanStage,
    change: AdvancePlanRequest,
) -> anyhow::Result<()> {
    desk.api
        .advance_plan(desk.user.req(AdvancePlanRequest {
            plan_id: plan_id.into(),
            to: to as i32,
            ..change
        }))
        .await
        .with_context(|| format!("moving the plan to {to:?}"))?;
    println!(
        "   The plan's stage is now: {}.",
        to.as_str_name()
            .trim_start_matches("PLAN_STAGE_")
            .replace('_', " ")
            .to_lowercase()
    );
    Ok(())
}

/// Writes one fragment of the plan at `desk`'s node.
async fn put(desk: &mut Desk, plan_id: &str, body: Body) -> anyhow::Result<Fragment> {
    put_fragment(
        desk,
        Fragment {
            plan_id: plan_id.into(),
            body: Some(body),
            ..Default::default()
        },
    )
    .await
}

/// Writes a fragment as given (e.g. marked as withheld from the guardians) at `desk`'s node.
async fn put_fragment(desk: &mut Desk, f: Fragment) -> anyhow::Result<Fragment> {
    let r = desk
        .api
        .put_fragment(desk.user.req(PutFragmentRequest {
            fragment: Some(f),
            expected_version: None,
        }))
        .await?;
    r.into_inner().fragment.context("no fragment returned")
}

/// The date `days` from today, YYYY-MM-DD, so the story's follow-ups always lie ahead.
fn in_days(days: i64) -> String {
    let (y, m, d) = kronobarn_proto::validate::swedish_date(now_ms() + days * 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

fn today() -> String {
    in_days(0)
}

fn now_ms() -> i64 {
    kronobarn_node::clock::system_now_ms()
}

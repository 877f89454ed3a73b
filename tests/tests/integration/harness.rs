//! Test harness: real `kronobarn` node processes in temp dirs, on loopback ports, with real TLS
//! and sled, and one bounded `eventually` helper instead of sleeps.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kronobarn_node::client::{User, connect};
use kronobarn_node::init::Initialised;
use kronobarn_node::pki::{DevCa, write_file};
use kronobarn_proto::v1::plan_service_client::PlanServiceClient;
use tonic::transport::Channel;

/// Polls `check` until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A node process under test.
pub struct TestNode {
    /// The node's folder (config, keys, TLS, data).
    pub dir: tempfile::TempDir,
    /// What `init` wrote.
    pub init: Initialised,
    /// The client API address, once running.
    pub addr: SocketAddr,
    /// The federation address, when configured.
    pub federation_addr: Option<SocketAddr>,
    /// The node's tracing filter (`RUST_LOG`), `debug` unless a test wants more.
    pub rust_log: &'static str,
    child: Option<Child>,
}

/// The units the test nodes' client system acts for: every unit the tests call as. Social
/// services (`socialtjanst`) is left out on purpose: a test uses it to play a unit the system does
/// not serve.
pub const UNITS: [&str; 10] = [
    "ostra-skolan",
    "vastra-skolan",
    "fritids",
    "elevhalsan",
    "bup",
    "ungdom",
    "ifo",
    "laxhjalp",
    "bvc",
    "mvc",
];

/// A port for a listener the test writes into a config before the node binds it. Chosen below
/// the kernel's ephemeral range (32768–60999 here), so no port-0 bind or outgoing connection of a
/// parallel test can take it between the choice and the bind.
pub fn free_port() -> u16 {
    use rand::Rng;
    loop {
        let port = rand::thread_rng().gen_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The node binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kb-node-under-test"))
}

impl TestNode {
    /// Initialises a node folder and starts the node.
    pub async fn start(organization: &str) -> Self {
        Self::start_with(organization, |_| {}).await
    }

    /// Initialises a node folder, lets `prepare` add to it (e.g. federation), starts the node.
    pub async fn start_with(organization: &str, prepare: impl FnOnce(&Path)) -> Self {
        let mut n = Self::init(organization);
        prepare(n.dir.path());
        n.spawn().await;
        n
    }

    /// Initialises a node folder without starting the node.
    pub fn init(organization: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let init = kronobarn_node::init::init(dir.path(), organization, "", "127.0.0.1:0", &UNITS)
            .expect("init");
        let mut config = std::fs::read_to_string(&init.config_path).expect("config");
        config += &directory(organization);
        std::fs::write(&init.config_path, config).expect("config");
        Self {
            dir,
            init,
            addr: "0.0.0.0:0".parse().unwrap(),
            federation_addr: None,
            rust_log: "debug",
            child: None,
        }
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.init.config_path.clone()
    }

    /// File the node process writes its log to.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("node.log")
    }

    /// Starts the node process (again) and waits until it serves.
    pub async fn spawn(&mut self) {
        let ready = self.dir.path().join("ready");
        let _ = std::fs::remove_file(&ready);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .expect("log file");
        let child = Command::new(binary())
            .args(["node", "--config"])
            .arg(self.config())
            .arg("--ready-file")
            .arg(&ready)
            .env("RUST_LOG", self.rust_log)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn node");
        self.child = Some(child);
        let text = eventually(Duration::from_secs(20), "the node to serve", || {
            let t = std::fs::read_to_string(&ready)
                .ok()
                .filter(|t| t.ends_with('\n'));
            async move { t }
        })
        .await;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("client_api", a)) => self.addr = a.parse().expect("client address"),
                Some(("federation", a)) => {
                    self.federation_addr = Some(a.parse().expect("federation address"))
                }
                _ => {}
            }
        }
    }

    /// Kills the process with SIGKILL: no shutdown, no final flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the process gracefully (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A bare TLS channel to the client API, for raw calls and generic services (health,
    /// reflection).
    pub async fn channel(&self) -> Channel {
        let tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.init.ca_pem))
            .domain_name("localhost");
        Channel::from_shared(format!("https://localhost:{}", self.addr.port()))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A client over TLS, authenticating with the bearer token.
    pub async fn client(&self) -> PlanServiceClient<Channel> {
        connect(self.addr, &self.init.ca_pem, None)
            .await
            .expect("connect")
    }

    /// A client over mutual TLS with the registered client certificate.
    pub async fn mtls_client(&self) -> PlanServiceClient<Channel> {
        connect(
            self.addr,
            &self.init.ca_pem,
            Some((&self.init.client_cert_pem, &self.init.client_key_pem)),
        )
        .await
        .expect("connect")
    }

    /// A user of `unit` calling through this node's token.
    pub fn user(&self, id: &str, unit: &str) -> User {
        User {
            token: self.init.token.clone(),
            user_id: id.into(),
            role: "staff".into(),
            unit: unit.into(),
            purpose: "plan-coordination".into(),
        }
    }

    /// Runs the node binary with `args` (e.g. `log verify`); returns (success, stdout).
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(binary())
            .args(args)
            .output()
            .expect("run binary");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a whole file as text (empty when missing).
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A test organisation's authorities, in config form: the school (with student health and
/// leisure), social services and BUP are separate authorities; the Police and the association
/// are one authority each. Units the tests use elsewhere stay unlisted (each its own authority).
pub fn directory(organization: &str) -> String {
    let whole = |kind: &str, units: &[&str]| {
        let mut s = format!(
            "\n[[authority]]\nid = \"{organization}\"\nkind = \"{kind}\"\nname = \"{organization}\"\nwhole_organization = true\n"
        );
        for u in units {
            s += &format!("[[authority.unit]]\nid = \"{u}\"\n");
        }
        s
    };
    if organization.contains("polis") {
        return whole("police", &["ungdom", "handlaggare"]);
    }
    if organization.contains("vanner") {
        return whole("voluntary", &["laxhjalp"]);
    }
    let mut s = String::new();
    for (suffix, kind, name, units) in [
        (
            "skola",
            "school",
            "Skolan",
            &["ostra-skolan", "vastra-skolan", "elevhalsan", "fritids"][..],
        ),
        (
            "social",
            "social-services",
            "Socialtjänsten",
            &["socialtjanst", "ifo"][..],
        ),
        ("bup", "child-psychiatry", "BUP", &["bup", "bup-vaxjo"][..]),
        ("bvc", "child-health-care", "BVC", &["bvc"][..]),
        ("mvc", "maternity-care", "Mödravården", &["mvc"][..]),
    ] {
        s += &format!(
            "\n[[authority]]\nid = \"{organization}-{suffix}\"\nkind = \"{kind}\"\nname = \"{name}, {organization}\"\n"
        );
        for u in units {
            // Public codes: invented. The school's principal has a public contact.
            let extra = match *u {
                "ostra-skolan" => {
                    "serves = [\"school:12345678\"]\ncontact = { name = \"Expeditionen\", title = \"Rektor\", phone = \"0470-00 00 00\" }\n"
                }
                "bvc" => "serves = [\"bvc:55555555\"]\n",
                "mvc" => "serves = [\"maternity:66666666\"]\n",
                _ => "",
            };
            s += &format!("[[authority.unit]]\nid = \"{u}\"\n{extra}");
        }
    }
    s
}

/// Makes the node folder at `dir` a member of a test county: the county CA, a federation
/// certificate naming `organization`, the `roster` (TOML) and a `[federation]` section listening
/// on `listen`, followed by `settings` (e.g. `lease_ttl_secs = 2`).
pub fn join_county(
    dir: &Path,
    ca: &DevCa,
    organization: &str,
    roster: &str,
    listen: &str,
    settings: &str,
) {
    write_file(&dir.join("roster.toml"), roster.as_bytes(), false).unwrap();
    write_file(
        &dir.join("tls/county-ca.crt"),
        ca.cert_pem.as_bytes(),
        false,
    )
    .unwrap();
    let cert = ca.leaf(organization, &[organization]).unwrap();
    write_file(
        &dir.join("tls/federation.crt"),
        cert.cert_pem.as_bytes(),
        false,
    )
    .unwrap();
    write_file(
        &dir.join("tls/federation.key"),
        cert.key_pem.as_bytes(),
        true,
    )
    .unwrap();
    let mut config = std::fs::read_to_string(dir.join("kronobarn.toml")).unwrap();
    config += &format!(
        "\n[federation]\nlisten = \"{listen}\"\nroster = \"roster.toml\"\ntls_cert = \"tls/federation.crt\"\ntls_key = \"tls/federation.key\"\n{settings}"
    );
    std::fs::write(dir.join("kronobarn.toml"), config).unwrap();
}

/// The public signing key (hex) of the node folder at `dir`.
pub fn public_key(dir: &Path) -> String {
    let seed = std::fs::read_to_string(dir.join("keys/signing.key")).unwrap();
    let bytes: [u8; 32] = hex::decode(seed.trim()).unwrap().try_into().unwrap();
    hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&bytes)
            .verifying_key()
            .as_bytes(),
    )
}

/// One `[[member]]` of a test roster.
pub fn roster_member(organization: &str, endpoint: &str, public_key_hex: &str) -> String {
    format!(
        "[[member]]\norganization = \"{organization}\"\nname = \"{organization}\"\nkind = \"municipality\"\nendpoint = \"{endpoint}\"\nsigning_key = \"{public_key_hex}\"\n\n"
    )
}

/// The node's Prometheus metrics page (plain HTTP), or `None` when it does not answer.
pub async fn scrape(port: u16) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    Some(body)
}

//! The README's first command keeps working: the county demo runs to the end.

use crate::harness::binary;

#[test]
fn the_county_demo_tells_the_whole_story() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(binary())
        .arg("demo")
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("run the demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("11 nodes started"), "{text}");
    assert!(text.contains("purged at 3 of 3 participants in"), "{text}");
    assert!(
        text.contains("Socialtjänsten, Växjö kommun: 0 parts shown"),
        "another authority of the same municipality sees nothing without consent: {text}"
    );
    // Barnens bästa-ansvarig through the client API: suggested at the school's node, looked up
    // at BUP's and the Police's from the school's code alone.
    for line in [
        "Suggested at Växjö kommun's node (the model expects: school): vaxjo-kommun-skola (school), unit ostra-skolan, as the plan says.",
        "Looked up by BUP at Region Kronoberg's node from the school's code: vaxjo-kommun-skola (school), unit ostra-skolan.",
        "The Police's node, which takes no part in the plan, gives the same answer",
    ] {
        assert!(text.contains(line), "missing {line:?}: {text}");
    }
    assert!(!text.contains("the demo skips it"), "{text}");
    assert!(
        text.contains("11 logs,") && text.contains("verified"),
        "{text}"
    );
    assert!(
        !text.contains("20170101") && !text.contains("170101-2393") && !text.contains("2017-01"),
        "the demo never prints the identity number, nor the birth month it asks with"
    );
    for stage in [
        "talk",
        "consent",
        "meeting called",
        "agreed",
        "follow up",
        "revised",
        "closed",
    ] {
        assert!(
            text.contains(&format!("The plan's stage is now: {stage}.")),
            "{text}"
        );
    }
    // The rendered document answers: who is responsible and how to reach them, what happens
    // next and when, what the child said, which authorities may know what and who has read it,
    // and the family's rights. BUP's copy holds only what BUP may see.
    let page = crate::harness::read(&dir.path().join("barnets-plan.html"));
    assert!(
        text.contains("barnets-plan.html"),
        "the demo names the file"
    );
    for answer in [
        "Karin Påhittad, rektor, på Skolan, Växjö kommun, håller ihop planen",
        "Telefon:",
        "Nästa gång vi ses och pratar om hur det går är den",
        "Jag vill ha en vuxen att gå till på rasten.",
        "BUP, Region Kronoberg får veta",
        "Så här ofta har planen lästs",
        "ta tillbaka samtycket",
        "loggutdrag",
    ] {
        assert!(page.contains(answer), "missing {answer:?}");
    }
    for never in [
        "Enskilda samtal",
        "(idéburen)",
        "Får inte lämnas till vårdnadshavarna",
    ] {
        assert!(!page.contains(never), "the family's copy shows {never:?}");
    }
    let extract = crate::harness::read(&dir.path().join("loggutdrag.html"));
    assert!(
        extract.contains("Loggutdrag"),
        "the family's log extract is written"
    );
    let bup = crate::harness::read(&dir.path().join("barnets-plan.bup.html"));
    assert!(bup.contains("Jag är trött."), "BUP may see the health area");
    assert!(
        bup.contains("Enskilda samtal"),
        "staff see what is withheld from the guardians"
    );
    assert!(
        bup.contains("Får inte lämnas till vårdnadshavarna"),
        "and are warned"
    );
    assert!(bup.contains("kopia av planen som finns hos BUP, Region Kronoberg"));
    for hidden in [
        "Jag vill kunna läsa",
        "Det är jobbigt på rasten",
        "Vi vill att skolan",
    ] {
        assert!(!bup.contains(hidden), "BUP's copy shows {hidden:?}");
    }
    assert!(
        std::fs::read(dir.path().join("barnets-plan.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );
}

#[test]
fn config_check_names_the_bad_field_without_starting() {
    let node = crate::harness::TestNode::init("vaxjo-kommun");
    let config = node.config();
    let (ok, out) = node.run(&["config", "check", config.to_str().unwrap()]);
    assert!(
        ok && out.starts_with("ok: organisation vaxjo-kommun"),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("listen = \"127.0.0.1:0\"", "listen = \"not-an-address\""),
    )
    .unwrap();
    let (ok, out) = node.run(&["config", "check", config.to_str().unwrap()]);
    assert!(!ok && out.contains("client_api.listen"), "{out}");
    std::fs::write(&config, &text).unwrap();
    let key = node.dir.path().join("keys/signing.key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (ok, out) = node.run(&["config", "check", config.to_str().unwrap()]);
    assert!(!ok && out.contains("chmod 600"), "{out}");
}

#[tokio::test]
async fn health_subcommand_answers_for_probes() {
    let port = crate::harness::free_port();
    let node = crate::harness::TestNode::start_with("vaxjo-kommun", |dir| {
        let config = dir.join("kronobarn.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            text.replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
        )
        .unwrap();
    })
    .await;
    let config = node.config();
    let (ok, out) = node.run(&["health", "--config", config.to_str().unwrap()]);
    assert!(ok && out.trim() == "SERVING", "{out}");
    drop(node);
    let other = crate::harness::TestNode::init("alvesta-kommun");
    let text = std::fs::read_to_string(other.config()).unwrap();
    std::fs::write(
        other.config(),
        text.replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let (ok, out) = other.run(&["health", "--config", other.config().to_str().unwrap()]);
    assert!(!ok && out.contains("cannot reach"), "{out}");
}

//! A client in another language: the Python example runs against a real node.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::TestNode;

#[tokio::test]
async fn the_python_example_calls_the_client_api() {
    let ready = Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .output();
    match ready {
        Err(_) => {
            eprintln!("SKIPPED: python3 is not installed, so the Python example cannot run");
            return;
        }
        Ok(o) if !o.status.success() => {
            eprintln!(
                "SKIPPED: grpcio/grpcio-tools are missing: python3 -m pip install -r examples/python/requirements.txt"
            );
            return;
        }
        Ok(_) => {}
    }
    let node = TestNode::start("vaxjo-kommun").await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/python/client.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--addr", &node.addr.to_string(), "--ca"])
        .arg(node.dir.path().join("tls/ca.crt"))
        .args(["--token", &node.init.token])
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "created plan",
        "recorded consent version 1",
        "fragments shown",
        "1 revocation(s) in force",
        "unknown plan answers NOT_FOUND",
        "FHIR export: application/fhir+json",
        "AuditEvent, CarePlan, Consent, Organization, Patient",
        "access log:",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

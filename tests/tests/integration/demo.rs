//! The README's first command keeps working: the county demo runs to the end.

use crate::harness::binary;

#[test]
fn the_county_demo_tells_the_whole_story() {
    let out = std::process::Command::new(binary())
        .arg("demo")
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
        text.contains("11 logs,") && text.contains("verified"),
        "{text}"
    );
    assert!(
        !text.contains("19121212"),
        "the demo never prints the identity number"
    );
}

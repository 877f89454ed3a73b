//! The county report as files: `index.html` (the page from `kronobarn-indicators`), one CSV per
//! table, and every node's signed set under `sets/` so anyone can check it again. Nodes that did
//! not answer, refused, or sent a set that failed its check are named in the page, never left
//! out; a failed set is kept under `refused/` for whoever wants to see why.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kronobarn_indicators::{IndicatorSet, Lang, Missing, report_html, tables_csv};
use kronobarn_node::federation::indicators::Answer;
use kronobarn_node::pki::write_file;
use prost::Message;

const SETS_README: &str = "Each organisation's indicator set, as its node signed it.\n\n\
<org>.json is the set's signed form (JSON, schema kronobarn-indicators/1), exactly the bytes\n\
signed. <org>.signed.bin is the kronobarn.v1.SignedEnvelope (protobuf) that carries them: kind\n\
PAYLOAD_KIND_INDICATOR_SET, an ed25519 signature over \"kronobarn/v1/PAYLOAD_KIND_INDICATOR_SET\\0\"\n\
followed by the payload, and the key id of the signer. Check the signature against the\n\
organisation's key in the county's roster, then read the set with kronobarn-indicators'\n\
IndicatorSet::from_signed_form, which re-runs the rules for small counts and refuses a set\n\
they would change.\n";

/// What was written.
pub struct Written {
    /// The report page.
    pub index: PathBuf,
    /// Organisations whose sets are in the report.
    pub included: usize,
    /// Organisations named as missing, with why.
    pub missing: Vec<(String, Missing, String)>,
}

/// Writes the report of `answers` into `dir` (created if needed).
pub fn write(dir: &Path, answers: &[Answer]) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir.join("sets"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut sets: Vec<(String, IndicatorSet)> = Vec::new();
    let mut missing = Vec::new();
    let mut refused_any = false;
    for a in answers {
        let folder = match &a.outcome {
            Ok(set) => {
                sets.push((a.name.clone(), set.clone()));
                "sets"
            }
            Err((why, detail)) => {
                missing.push((a.name.clone(), *why, detail.clone()));
                refused_any |= a.envelope.is_some();
                "refused"
            }
        };
        if let Some(env) = &a.envelope {
            std::fs::create_dir_all(dir.join(folder))?;
            let file = |ext: &str| dir.join(folder).join(format!("{}.{ext}", a.organization));
            write_file(&file("signed.bin"), &env.encode_to_vec(), false)?;
            write_file(&file("json"), &env.payload, false)?;
        }
    }
    write_file(&dir.join("sets/README.txt"), SETS_README.as_bytes(), false)?;
    if refused_any {
        write_file(
            &dir.join("refused/README.txt"),
            b"Sets that failed their check (signature, or the rules for small counts): kept for \
whoever wants to see why; the report does not use them.\n",
            false,
        )?;
    }
    let named: Vec<(String, Missing)> = missing.iter().map(|(n, w, _)| (n.clone(), *w)).collect();
    let index = dir.join("index.html");
    write_file(
        &index,
        report_html(&sets, &named, Lang::Sv).as_bytes(),
        false,
    )?;
    for (name, text) in tables_csv(&sets) {
        write_file(&dir.join(name), text.as_bytes(), false)?;
    }
    Ok(Written {
        index,
        included: sets.len(),
        missing,
    })
}

//! Laws of the checkpoint body: decode inverts encode, and accepts nothing else.

use proptest::prelude::*;

use crate::checkpoint::{Checkpoint, CheckpointError, Origin};
use crate::hash::{EMPTY_ROOT, Hash, MAP_EMPTY};

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[!-~]{1,80}",
        any::<u64>(),
        any::<Hash>(),
        any::<Hash>(),
        any::<i64>(),
    )
        .prop_map(|(origin, size, root, map_root, at_unix_ms)| Checkpoint {
            origin: Origin::new(origin).unwrap(),
            size,
            root,
            map_root,
            at_unix_ms,
        })
}

/// `decode(bytes) = c` only if `c.encode() = bytes`.
fn only_encodings_decode(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(c) = Checkpoint::decode(bytes) {
        prop_assert_eq!(c.encode(), bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_inverts_encode(c in checkpoint()) {
        prop_assert_eq!(Checkpoint::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn edited_encodings_decode_only_to_what_encodes_to_them(
        c in checkpoint(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        edit in 0u8..3,
    ) {
        let mut bytes = c.encode();
        let i = at.index(bytes.len());
        match edit {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => { bytes.remove(i); }
        }
        only_encodings_decode(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_decode_only_if_canonical(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        only_encodings_decode(&bytes)?;
    }
}

#[test]
fn the_body_reads_as_documented() {
    let c = Checkpoint {
        origin: Origin::new("vaxjo-kommun").unwrap(),
        size: 0,
        root: EMPTY_ROOT,
        map_root: MAP_EMPTY,
        at_unix_ms: 1_760_000_000_000,
    };
    let text = "kronobarn/v2 vaxjo-kommun\n0\n\
                47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\
                AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
                1760000000000\n";
    assert_eq!(String::from_utf8(c.encode()).unwrap(), text);
    assert_eq!(Checkpoint::decode(text.as_bytes()), Ok(c));
}

#[test]
fn refusals_say_which_field() {
    let good = "kronobarn/v2 org\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\
                AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-1\n";
    assert!(Checkpoint::decode(good.as_bytes()).is_ok());
    let cases = [
        (
            good.replace("\n-1\n", "\n-1"),
            CheckpointError::MissingFinalNewline,
        ),
        (format!("{good}\n"), CheckpointError::LineCount { got: 6 }),
        (
            good.replace("v2 org", "v1 org"),
            CheckpointError::WrongFormat,
        ),
        (
            good.replace("v2 org", "v2  org"),
            CheckpointError::BadOrigin,
        ),
        (good.replace("v2 org", "v2 "), CheckpointError::BadOrigin),
        (
            good.replace("\n5\n", "\n05\n"),
            CheckpointError::BadNumber { field: "size" },
        ),
        (
            good.replace("\n-1\n", "\n-0\n"),
            CheckpointError::BadNumber { field: "time" },
        ),
        (
            good.replace("uFU=", "uFV="),
            CheckpointError::BadHash { field: "root" },
        ),
        (
            good.replace("AAA=", "AA=="),
            CheckpointError::BadHash { field: "map root" },
        ),
        (good.replace('\n', "\r\n"), CheckpointError::BadOrigin),
    ];
    for (text, want) in cases {
        assert_eq!(Checkpoint::decode(text.as_bytes()), Err(want), "{text:?}");
    }
    assert_eq!(
        Checkpoint::decode(&[0xff, b'\n']),
        Err(CheckpointError::NotText)
    );
    assert_eq!(Origin::new("a b"), Err(CheckpointError::BadOrigin));
    assert_eq!(
        Origin::new("x".repeat(256)),
        Err(CheckpointError::BadOrigin)
    );
}

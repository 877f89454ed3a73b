//! Finding a child's other plans without the identity number in any key: a keyed hash (HMAC-
//! SHA-256, RFC 2104) of the number under a secret derived from the node's signing key. Without
//! the secret the tag cannot be turned back into a number by trying every date and serial (a
//! plain hash could: there are only some hundred million numbers), and tags of two nodes never
//! match, so they reveal nothing across the county.

use ed25519_dalek::SigningKey;
use kronobarn_proto::v1::{Child, IdentityKind};
use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

/// HMAC-SHA-256 of `message` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Makes the child tags of one node.
#[derive(Clone)]
pub struct ChildTagger {
    secret: [u8; 32],
}

impl std::fmt::Debug for ChildTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChildTagger(..)")
    }
}

impl ChildTagger {
    /// The tagger of the node whose signing key is `key`. A new key (a rotation) makes new
    /// tags; the node then rebuilds its index (see [`ChildTagger::fingerprint`]).
    pub fn new(key: &SigningKey) -> Self {
        let secret = Sha256::new()
            .chain_update(b"kronobarn/child-index/v1\0")
            .chain_update(key.to_bytes())
            .finalize()
            .into();
        Self { secret }
    }

    /// Names the secret without revealing it, so the node can tell its index was made with
    /// another one.
    pub fn fingerprint(&self) -> [u8; 8] {
        let h = hmac_sha256(&self.secret, b"kronobarn/child-index/fingerprint");
        h[..8].try_into().expect("eight bytes")
    }

    /// The tag of the child's identity number, `None` before birth (no number). The number is
    /// taken as the header stores it (normalised when written: 12 digits for personal identity
    /// and coordination numbers), its kind apart, so a reserve number never meets a personal
    /// identity number.
    pub fn tag(&self, child: &Child) -> Option<[u8; 32]> {
        let number = child.personal_identity_number.trim();
        if number.is_empty() || child.identity_kind == IdentityKind::Unborn as i32 {
            return None;
        }
        let kind: &[u8] = if child.identity_kind == IdentityKind::ReserveNumber as i32 {
            b"reserve\0"
        } else {
            b"number\0"
        };
        let digits: String = if kind == b"number\0" {
            number.chars().filter(char::is_ascii_digit).collect()
        } else {
            number.to_ascii_uppercase()
        };
        Some(hmac_sha256(
            &self.secret,
            &[kind, digits.as_bytes()].concat(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tags_match_one_child_and_no_other_nor_another_node() {
        let a = ChildTagger::new(&SigningKey::from_bytes(&[1; 32]));
        let b = ChildTagger::new(&SigningKey::from_bytes(&[2; 32]));
        let child = |n: &str, kind: IdentityKind| Child {
            personal_identity_number: n.into(),
            identity_kind: kind as i32,
            ..Default::default()
        };
        let pin = child("20170101-2393", IdentityKind::PersonalIdentityNumber);
        let same = child("201701012393", IdentityKind::PersonalIdentityNumber);
        assert_eq!(a.tag(&pin), a.tag(&same));
        assert_ne!(a.tag(&pin), b.tag(&pin), "tags differ between nodes");
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(
            a.tag(&pin),
            a.tag(&child(
                "20080101-2386",
                IdentityKind::PersonalIdentityNumber
            ))
        );
        // Digits alike, kinds apart.
        assert_ne!(
            a.tag(&child("201701012393", IdentityKind::ReserveNumber)),
            a.tag(&same)
        );
        assert_eq!(a.tag(&child("", IdentityKind::Unborn)), None);
        assert_eq!(a.tag(&child("20170101-2393", IdentityKind::Unborn)), None);
        let tag = hex::encode(a.tag(&pin).unwrap());
        assert!(!tag.contains("2017"), "the number does not show through");
    }
}

//! Signed envelopes: exact payload bytes, an ed25519 signature and the signer's key id.
//!
//! The signature covers a domain-separation prefix naming the payload kind followed by the payload
//! bytes, so a signature made for one kind of message can never be passed off as another. Receivers
//! verify before they decode anything in the payload.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::v1::{PayloadKind, SignedEnvelope};

/// Why an envelope was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The kind is unspecified or unknown.
    #[error("envelope kind {0} is not a known payload kind")]
    UnknownKind(i32),
    /// The envelope is of another kind than expected.
    #[error("envelope carries {found:?}, expected {expected:?}")]
    WrongKind {
        /// Kind expected by the receiver.
        expected: PayloadKind,
        /// Kind found.
        found: PayloadKind,
    },
    /// No key with this id is known.
    #[error("envelope signed by unknown key id {0:?}")]
    UnknownSigner(String),
    /// The signature is malformed or does not verify.
    #[error("envelope signature does not verify")]
    BadSignature,
}

/// Key id of a public key: hex of the first 8 bytes of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// The bytes a signature covers: `kronobarn/v1/<KIND>\0` followed by the payload.
pub fn signed_bytes(kind: PayloadKind, payload: &[u8]) -> Vec<u8> {
    let name = kind.as_str_name();
    let mut out = Vec::with_capacity(14 + name.len() + payload.len());
    out.extend_from_slice(b"kronobarn/v1/");
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(payload);
    out
}

/// Signs `payload` as a message of `kind`.
pub fn seal(kind: PayloadKind, payload: Vec<u8>, key: &SigningKey) -> SignedEnvelope {
    let signature = key.sign(&signed_bytes(kind, &payload));
    SignedEnvelope {
        kind: kind as i32,
        payload,
        signature: signature.to_bytes().to_vec(),
        key_id: key_id(&key.verifying_key()),
    }
}

/// Verifies `env` as a message of `expected` kind, finding the signer's key with `lookup`.
/// Returns the payload bytes, which may then be decoded.
pub fn open(
    env: &SignedEnvelope,
    expected: PayloadKind,
    lookup: impl FnOnce(&str) -> Option<VerifyingKey>,
) -> Result<&[u8], EnvelopeError> {
    let found = PayloadKind::try_from(env.kind)
        .ok()
        .filter(|k| *k != PayloadKind::Unspecified)
        .ok_or(EnvelopeError::UnknownKind(env.kind))?;
    if found != expected {
        return Err(EnvelopeError::WrongKind { expected, found });
    }
    let key =
        lookup(&env.key_id).ok_or_else(|| EnvelopeError::UnknownSigner(env.key_id.clone()))?;
    let sig: [u8; 64] = env
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::BadSignature)?;
    key.verify_strict(
        &signed_bytes(found, &env.payload),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| EnvelopeError::BadSignature)?;
    Ok(&env.payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn sealed_envelope_opens_with_the_signers_key() {
        let k = key(1);
        let env = seal(PayloadKind::Fragment, b"abc".to_vec(), &k);
        let got = open(&env, PayloadKind::Fragment, |id| {
            (id == key_id(&k.verifying_key())).then(|| k.verifying_key())
        });
        assert_eq!(got, Ok(&b"abc"[..]));
    }

    #[test]
    fn every_tampering_is_refused() {
        let k = key(1);
        let vk = k.verifying_key();
        let env = seal(PayloadKind::Consent, b"consent bytes".to_vec(), &k);
        let lookup = |_: &str| Some(vk);

        let mut e = env.clone();
        e.payload[0] ^= 1;
        assert_eq!(
            open(&e, PayloadKind::Consent, lookup),
            Err(EnvelopeError::BadSignature)
        );

        let mut e = env.clone();
        e.signature[10] ^= 1;
        assert_eq!(
            open(&e, PayloadKind::Consent, lookup),
            Err(EnvelopeError::BadSignature)
        );

        let mut e = env.clone();
        e.signature.truncate(63);
        assert_eq!(
            open(&e, PayloadKind::Consent, lookup),
            Err(EnvelopeError::BadSignature)
        );

        // Same bytes, relabelled as another kind: the domain prefix differs.
        let mut e = env.clone();
        e.kind = PayloadKind::Revocation as i32;
        assert_eq!(
            open(&e, PayloadKind::Revocation, lookup),
            Err(EnvelopeError::BadSignature)
        );
        assert!(matches!(
            open(&e, PayloadKind::Consent, lookup),
            Err(EnvelopeError::WrongKind { .. })
        ));

        let mut e = env.clone();
        e.kind = 99;
        assert_eq!(
            open(&e, PayloadKind::Consent, lookup),
            Err(EnvelopeError::UnknownKind(99))
        );

        // Signed by another key than the one the id names.
        let other = key(2).verifying_key();
        assert_eq!(
            open(&env, PayloadKind::Consent, |_| Some(other)),
            Err(EnvelopeError::BadSignature)
        );
        assert!(matches!(
            open(&env, PayloadKind::Consent, |_| None),
            Err(EnvelopeError::UnknownSigner(_))
        ));
    }
}

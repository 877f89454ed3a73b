//! Signed checkpoints and witnesses' cosignatures: the canonical checkpoint text of
//! `kronobarn-tlog` in a [`SignedEnvelope`], so the signature covers exact bytes behind a
//! domain-separation prefix naming the kind (`kronobarn/v1/PAYLOAD_KIND_CHECKPOINT\0`, or
//! `…_COSIGNATURE\0` for a witness). A cosignature can thus never pass for the witness's own
//! checkpoint, nor a checkpoint for any other signed message.

use ed25519_dalek::{SigningKey, VerifyingKey};
use kronobarn_proto::envelope::{self, EnvelopeError, key_id};
use kronobarn_proto::v1::{Cosignature, PayloadKind, SignedEnvelope};
use kronobarn_tlog::{Checkpoint, CheckpointError};

/// Why a signed checkpoint or cosignature was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    /// The envelope does not verify (kind, signer or signature).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The signed text is not a checkpoint.
    #[error("the signed text is not a checkpoint: {0}")]
    Text(#[from] CheckpointError),
}

/// Signs `body` with `key`.
pub fn sign(body: &Checkpoint, key: &SigningKey) -> SignedEnvelope {
    envelope::seal(PayloadKind::Checkpoint, body.encode(), key)
}

/// Verifies a signed checkpoint with the key `lookup` finds for its key id, then reads it.
pub fn open(
    env: &SignedEnvelope,
    lookup: impl FnOnce(&str) -> Option<VerifyingKey>,
) -> Result<Checkpoint, SignedError> {
    let text = envelope::open(env, PayloadKind::Checkpoint, lookup)?;
    Ok(Checkpoint::decode(text)?)
}

/// Verifies a signed checkpoint with exactly `key`.
pub fn open_with(env: &SignedEnvelope, key: &VerifyingKey) -> Result<Checkpoint, SignedError> {
    let id = key_id(key);
    open(env, |k| (k == id).then_some(*key))
}

/// A witness's cosignature of the checkpoint text `text` (as its origin signed it).
pub fn cosign(text: &[u8], key: &SigningKey) -> SignedEnvelope {
    envelope::seal(PayloadKind::CheckpointCosignature, text.to_vec(), key)
}

/// Verifies `witness`'s cosignature `env` of the checkpoint text `text` with `key`.
pub fn check_cosignature(
    env: &SignedEnvelope,
    text: &[u8],
    key: &VerifyingKey,
) -> Result<(), EnvelopeError> {
    let id = key_id(key);
    let signed = envelope::open(env, PayloadKind::CheckpointCosignature, |k| {
        (k == id).then_some(*key)
    })?;
    if signed == text {
        Ok(())
    } else {
        Err(EnvelopeError::BadSignature)
    }
}

/// The compact form an extract carries (the text is carried once, beside it).
pub fn compact(witness: &str, env: &SignedEnvelope) -> Cosignature {
    Cosignature {
        witness: witness.to_string(),
        key_id: env.key_id.clone(),
        signature: env.signature.clone(),
    }
}

/// The envelope of a compact cosignature of `text`, to verify.
pub fn expand(c: &Cosignature, text: &[u8]) -> SignedEnvelope {
    SignedEnvelope {
        kind: PayloadKind::CheckpointCosignature as i32,
        payload: text.to_vec(),
        signature: c.signature.clone(),
        key_id: c.key_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kronobarn_tlog::Origin;

    fn body() -> Checkpoint {
        Checkpoint {
            origin: Origin::new("vaxjo-kommun").unwrap(),
            size: 3,
            root: [1; 32],
            map_root: [2; 32],
            at_unix_ms: 5,
        }
    }

    #[test]
    fn a_cosignature_is_not_a_checkpoint_and_the_other_way_round() {
        let node = SigningKey::from_bytes(&[1; 32]);
        let witness = SigningKey::from_bytes(&[2; 32]);
        let env = sign(&body(), &node);
        assert_eq!(open_with(&env, &node.verifying_key()).unwrap(), body());
        let co = cosign(&env.payload, &witness);
        assert_eq!(
            check_cosignature(&co, &env.payload, &witness.verifying_key()),
            Ok(())
        );
        // The witness's cosignature read as a checkpoint the witness signed: refused.
        assert!(open_with(&co, &witness.verifying_key()).is_err());
        // The node's checkpoint read as a cosignature: refused.
        assert!(check_cosignature(&env, &env.payload, &node.verifying_key()).is_err());
        // A cosignature of other text.
        let mut other = body();
        other.size = 4;
        assert!(check_cosignature(&co, &other.encode(), &witness.verifying_key()).is_err());
        let compacted = expand(&compact("polisen", &co), &env.payload);
        assert_eq!(compacted, co);
    }
}

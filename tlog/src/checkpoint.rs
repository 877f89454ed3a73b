//! The checkpoint body a node signs: the bytes that commit it to its log and plan map at a size.
//!
//! Shaped like a C2SP `tlog-checkpoint` note body, one field per line, each line ending in `\n`:
//!
//! ```text
//! kronobarn/v2 <origin>
//! <size, decimal>
//! <log root, base64>
//! <plan-map root, base64>
//! <time, unix milliseconds, decimal>
//! ```
//!
//! There is exactly one encoding of each checkpoint (no leading zeros, no `+`, no `-0`, padded
//! standard base64 with zero pad bits, no extra lines or spaces), and [`Checkpoint::decode`]
//! accepts exactly the bytes [`Checkpoint::encode`] produces, so two parties holding the same
//! signed bytes always agree on what was signed.

use crate::hash::Hash;

/// First word of the first line: names the format, so a body of another format never parses.
pub const CHECKPOINT_FORMAT: &str = "kronobarn/v2";

/// Why checkpoint bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin is empty, too long, or has a character outside printable ASCII without space.
    #[error("origin must be 1 to 255 printable ASCII characters without spaces")]
    BadOrigin,
    /// The bytes are not UTF-8 text.
    #[error("checkpoint is not text")]
    NotText,
    /// The last line does not end in a newline.
    #[error("checkpoint does not end in a newline")]
    MissingFinalNewline,
    /// Not exactly five lines.
    #[error("checkpoint has {got} lines, not 5")]
    LineCount {
        /// Number of lines found.
        got: usize,
    },
    /// The first line does not start with the format name and a space.
    #[error("first line does not start with `{CHECKPOINT_FORMAT} `")]
    WrongFormat,
    /// A number that is not in canonical decimal or does not fit.
    #[error("{field} is not a canonical decimal number")]
    BadNumber {
        /// Which line.
        field: &'static str,
    },
    /// A hash that is not 32 bytes in canonical padded base64.
    #[error("{field} is not a 32-byte hash in canonical base64")]
    BadHash {
        /// Which line.
        field: &'static str,
    },
}

/// Who a log belongs to: the organisation id, as it appears on the checkpoint's first line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

impl Origin {
    /// An origin of 1 to 255 printable ASCII characters without spaces, so it fits on one line
    /// and reads back unchanged.
    pub fn new(origin: impl Into<String>) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if (1..=255).contains(&origin.len()) && origin.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(origin))
        } else {
            Err(CheckpointError::BadOrigin)
        }
    }

    /// The origin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node's commitment to its access log and plan map at one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Whose log.
    pub origin: Origin,
    /// Number of access records in the log.
    pub size: u64,
    /// Root of the log of `size` records.
    pub root: Hash,
    /// Root of the plan map after those records.
    pub map_root: Hash,
    /// When the checkpoint was made, milliseconds since the Unix epoch.
    pub at_unix_ms: i64,
}

impl Checkpoint {
    /// The canonical body bytes, to be signed.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{CHECKPOINT_FORMAT} {}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64(&self.root),
            base64(&self.map_root),
            self.at_unix_ms
        )
        .into_bytes()
    }

    /// Reads body bytes, refusing anything [`encode`](Self::encode) would not have produced.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CheckpointError::NotText)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [first, size, root, map_root, at] = lines[..] else {
            return Err(CheckpointError::LineCount { got: lines.len() });
        };
        let origin = first
            .strip_prefix(CHECKPOINT_FORMAT)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(CheckpointError::WrongFormat)?;
        Ok(Self {
            origin: Origin::new(origin)?,
            size: decimal(size).ok_or(CheckpointError::BadNumber { field: "size" })?,
            root: hash(root).ok_or(CheckpointError::BadHash { field: "root" })?,
            map_root: hash(map_root).ok_or(CheckpointError::BadHash { field: "map root" })?,
            at_unix_ms: signed_decimal(at).ok_or(CheckpointError::BadNumber { field: "time" })?,
        })
    }
}

/// Canonical unsigned decimal: digits only, no leading zero except "0" itself.
fn decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// Canonical signed decimal: an optional `-` before a canonical unsigned one, never `-0`.
fn signed_decimal(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if decimal(digits).is_none() || s == "-0" {
        return None;
    }
    s.parse().ok()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64 (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// A 32-byte hash in canonical padded base64: decodes, then accepts only if encoding the result
/// gives back the same text (so non-zero pad bits and misplaced `=` are refused).
fn hash(s: &str) -> Option<Hash> {
    let bytes = s.as_bytes();
    if bytes.len() != 44 {
        return None;
    }
    let mut out = Vec::with_capacity(33);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * pad as u32;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    let hash: Hash = out.try_into().ok()?;
    (base64(&hash) == s).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn hash_text_reads_back_and_refuses_near_misses() {
        let h: Hash = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let text = base64(&h);
        assert_eq!(hash(&text), Some(h));
        // Last data character with a pad bit set, decodes to the same bytes in a lax decoder.
        let last = text.as_bytes()[42];
        let lax = sextet(last).unwrap() | 1;
        let mut bad = text.clone().into_bytes();
        bad[42] = ALPHABET[lax as usize];
        assert_ne!(bad[42], last);
        assert_eq!(hash(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(hash(&text[..43]), None);
        assert_eq!(hash(&format!("{}==", &text[..42])), None);
        assert_eq!(hash(&text.replace('=', "A")), None);
    }

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        assert_eq!(signed_decimal("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(signed_decimal("-5"), Some(-5));
        for bad in ["-0", "--1", "-", "-01", "+5"] {
            assert_eq!(signed_decimal(bad), None, "{bad:?}");
        }
    }
}

//! The key format (`<prefix>_<random><checksum>`), its parsing, masking and hashing.
//!
//! Like GitHub's tokens, a key carries a readable prefix and a CRC32 checksum,
//! so a mistyped or truncated key is rejected without a store lookup and a
//! leaked one is easy for secret scanners to find. Only the digest of a key
//! is ever stored: SHA-256, or HMAC-SHA-256 keyed by the server's pepper.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random base62 characters in a key: about 190 bits of entropy.
pub const RANDOM_LEN: usize = 32;
/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// The longest prefix a key may have.
pub const PREFIX_MAX_LEN: usize = 12;
/// The prefix of keys created without one.
pub const DEFAULT_PREFIX: &str = "kw";
/// The longest key: the longest prefix, `_`, the random part and the checksum.
pub const KEY_MAX_LEN: usize = PREFIX_MAX_LEN + 1 + RANDOM_LEN + CHECKSUM_LEN;
/// Random characters shown in a masked key, after the prefix.
const MASK_VISIBLE: usize = 4;

/// A prefix: a lowercase letter, then up to 11 lowercase letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn parse(s: &str) -> Option<Self> {
        Self::is_valid(s.as_bytes()).then(|| Self(s.to_owned()))
    }

    fn is_valid(s: &[u8]) -> bool {
        matches!(s.first(), Some(b) if b.is_ascii_lowercase())
            && s.len() <= PREFIX_MAX_LEN
            && every(s, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self(DEFAULT_PREFIX.to_owned())
    }
}

/// A full key secret, held inline (parsing one on the hot path allocates nothing). `Debug` and
/// `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: [u8; KEY_MAX_LEN],
    len: usize,
}

impl Secret {
    /// A new random key with the given prefix.
    pub fn generate(prefix: &KeyPrefix) -> Self {
        let mut rng = rand::rng();
        let mut secret = Self { bytes: [0; KEY_MAX_LEN], len: 0 };
        secret.push(prefix.0.as_bytes());
        secret.push(b"_");
        for _ in 0..RANDOM_LEN {
            secret.push(&[BASE62[rng.random_range(0..BASE62.len())]]);
        }
        let sum = checksum(secret.as_bytes());
        secret.push(&sum);
        secret
    }

    /// Checks the format and checksum of a presented key without touching the store.
    pub fn parse(presented: &str) -> Result<Self, MalformedKey> {
        // `<prefix>_` then a body of fixed length: the split is at a known place.
        let bytes = presented.as_bytes();
        let Some(split) = bytes.len().checked_sub(1 + RANDOM_LEN + CHECKSUM_LEN) else {
            return Err(MalformedKey);
        };
        if bytes[split] != b'_'
            || !KeyPrefix::is_valid(&bytes[..split])
            || !every(&bytes[split + 1..], u8::is_ascii_alphanumeric)
        {
            return Err(MalformedKey);
        }
        let (signed, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(signed) != sum {
            return Err(MalformedKey);
        }
        let mut secret = Self { bytes: [0; KEY_MAX_LEN], len: 0 };
        secret.push(bytes);
        Ok(secret)
    }

    /// The part before the last `_`.
    pub fn prefix(&self) -> &str {
        self.expose().rsplit_once('_').map_or("", |(prefix, _)| prefix)
    }

    /// The prefix and the first random characters, the rest masked: safe to show.
    pub fn masked(&self) -> String {
        let visible = self.prefix().len() + 1 + MASK_VISIBLE;
        let hidden = self.len - visible;
        format!("{}{}", &self.expose()[..visible], "*".repeat(hidden))
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("a key is ASCII")
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends ASCII bytes; the format keeps a key within `KEY_MAX_LEN`.
    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}…)", self.prefix())
    }
}

/// A presented key is not of the Keyward format, or its checksum is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key is not a well-formed Keyward key")]
pub struct MalformedKey;

/// The stored form of a key: a 32-byte digest.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyDigest(pub [u8; 32]);

impl KeyDigest {
    /// Compares two digests in constant time.
    pub fn matches(&self, other: &[u8]) -> bool {
        self.0.ct_eq(other).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

/// Turns secrets into digests: SHA-256, keyed by a pepper when one is configured.
#[derive(Clone, Default)]
pub struct KeyHasher {
    /// HMAC-SHA-256 with the pepper already absorbed: keying costs two SHA-256 blocks, paid once
    /// here instead of on every digest.
    keyed: Option<Hmac<Sha256>>,
}

impl KeyHasher {
    pub fn new(pepper: Option<Vec<u8>>) -> Self {
        let keyed = pepper
            .filter(|p| !p.is_empty())
            .map(|pepper| Hmac::<Sha256>::new_from_slice(&pepper).expect("hmac accepts a key of any length"));
        Self { keyed }
    }

    pub fn digest(&self, secret: &Secret) -> KeyDigest {
        let bytes = secret.as_bytes();
        let out: [u8; 32] = match &self.keyed {
            Some(keyed) => {
                let mut mac = keyed.clone();
                mac.update(bytes);
                mac.finalize().into_bytes().into()
            }
            None => Sha256::digest(bytes).into(),
        };
        KeyDigest(out)
    }

    /// A fingerprint of the pepper (or of its absence), stored with the database so a server
    /// started with another pepper is refused instead of failing every key. It reveals nothing of
    /// the pepper: it is the pepper's HMAC of a fixed text, in hex.
    pub fn fingerprint(&self) -> String {
        let out: [u8; 32] = match &self.keyed {
            Some(keyed) => {
                let mut mac = keyed.clone();
                mac.update(FINGERPRINT_TEXT);
                mac.finalize().into_bytes().into()
            }
            None => return "none".to_owned(),
        };
        out[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a pepper's fingerprint is the HMAC of.
const FINGERPRINT_TEXT: &[u8] = b"keyward pepper fingerprint v1";

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher").field("peppered", &self.keyed.is_some()).finish()
    }
}

/// Whether every byte passes `test`. It reads all of them, without an early exit, so the loop
/// vectorizes: a well-formed key, the common case, is read whole anyway.
fn every(bytes: &[u8], test: impl Fn(&u8) -> bool) -> bool {
    bytes.iter().fold(true, |ok, b| ok & test(b))
}

/// The CRC32 of `bytes` as six base62 characters, zero-padded.
fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(bytes);
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_peppers_apart_and_reveals_none() {
        let none = KeyHasher::default().fingerprint();
        let one = KeyHasher::new(Some(b"pepper one".to_vec())).fingerprint();
        let two = KeyHasher::new(Some(b"pepper two".to_vec())).fingerprint();
        assert_eq!(none, "none");
        assert_eq!(one.len(), 32);
        assert_ne!(one, two);
        assert_eq!(one, KeyHasher::new(Some(b"pepper one".to_vec())).fingerprint());
        assert!(!one.contains("pepper"));
    }

    #[test]
    fn a_generated_key_parses_and_keeps_its_prefix() {
        let prefix = KeyPrefix::parse("acme1").unwrap();
        let secret = Secret::generate(&prefix);
        assert_eq!(Secret::parse(secret.expose()).unwrap(), secret);
        assert_eq!(secret.prefix(), "acme1");
        assert_eq!(secret.expose().len(), 5 + 1 + RANDOM_LEN + CHECKSUM_LEN);
    }

    #[test]
    fn a_key_with_one_character_changed_is_malformed() {
        let secret = Secret::generate(&KeyPrefix::default());
        let mut bytes = secret.expose().as_bytes().to_vec();
        for i in [0, 3, 10, bytes.len() - 1] {
            let original = bytes[i];
            bytes[i] = if original == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes.clone()).unwrap();
            assert_eq!(Secret::parse(&typo), Err(MalformedKey), "position {i}");
            bytes[i] = original;
        }
    }

    #[test]
    fn keys_of_the_wrong_shape_are_malformed() {
        for bad in
            ["", "kw_", "kw", "_abc", "KW_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "kw_short", "kw_ééééé"]
        {
            assert_eq!(Secret::parse(bad), Err(MalformedKey), "{bad:?}");
        }
    }

    #[test]
    fn the_masked_key_shows_only_the_prefix_and_four_characters() {
        let secret = Secret::generate(&KeyPrefix::default());
        let masked = secret.masked();
        assert_eq!(masked.len(), secret.expose().len());
        assert_eq!(&masked[..7], &secret.expose()[..7]);
        assert!(masked[7..].bytes().all(|b| b == b'*'));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = Secret::generate(&KeyPrefix::default());
        assert!(!format!("{secret:?}").contains(&secret.expose()[3..]));
    }

    #[test]
    fn a_pepper_makes_the_digest_an_hmac_of_the_key() {
        let secret = Secret::generate(&KeyPrefix::default());
        let plain = KeyHasher::new(None).digest(&secret);
        let hasher = KeyHasher::new(Some(b"pepper".to_vec()));
        let peppered = hasher.digest(&secret);
        assert_ne!(plain, peppered);
        let mut fresh = Hmac::<Sha256>::new_from_slice(b"pepper").unwrap();
        fresh.update(secret.expose().as_bytes());
        let expected: [u8; 32] = fresh.finalize().into_bytes().into();
        assert_eq!(peppered.0, expected, "HMAC-SHA-256 of the key under the pepper");
        assert_eq!(hasher.digest(&secret), peppered, "the same on every call");
        assert_eq!(KeyHasher::new(Some(Vec::new())).digest(&secret), plain, "an empty pepper is none");
        assert!(plain.matches(&KeyHasher::default().digest(&secret).0));
    }

    #[test]
    fn prefixes_are_lowercase_alphanumerics_starting_with_a_letter() {
        assert!(KeyPrefix::parse("kw").is_some());
        assert!(KeyPrefix::parse("a1b2c3d4e5f6").is_some());
        for bad in ["", "1kw", "Kw", "k_w", "a1b2c3d4e5f6g"] {
            assert!(KeyPrefix::parse(bad).is_none(), "{bad:?}");
        }
    }
}

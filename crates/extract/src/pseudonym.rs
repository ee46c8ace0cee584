//! Keyed pseudonyms: HMAC-SHA-256 of each identifier under a secret key, so a person can be
//! followed across months and offices without being identified. Which pseudonyms belong to
//! one person is decided later, by the staging models, from the links records carry.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Domain separators, so the same digits under the two identifier kinds never collide.
const PERSON_ID_DOMAIN: &[u8] = b"ansinh/person_id/";
const NATIONAL_ID_DOMAIN: &[u8] = b"ansinh/national_id/";
const VALUE_DOMAIN: &[u8] = b"ansinh/value/";

/// Bytes of the HMAC kept in a pseudonym (hex-encoded to twice as many characters).
const PSEUDONYM_BYTES: usize = 16;

/// The secret key. Its bytes are never printed.
#[derive(Clone)]
pub struct PseudonymKey {
    bytes: Vec<u8>,
    demo: bool,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

/// The demo key used only for generated sample data. It is public, so pseudonyms made with
/// it protect nothing.
const DEMO_KEY: &str = "ansinh-demo-key-for-generated-sample-data-only";

/// Shortest accepted key, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

impl PseudonymKey {
    /// A key from secret text; `None` when it is shorter than [`MIN_KEY_BYTES`].
    pub fn from_secret(secret: &str) -> Option<Self> {
        let trimmed = secret.trim();
        (trimmed.len() >= MIN_KEY_BYTES).then(|| Self {
            bytes: trimmed.as_bytes().to_vec(),
            demo: false,
        })
    }

    /// The public demo key, for generated sample data only.
    pub fn demo() -> Self {
        Self {
            bytes: DEMO_KEY.as_bytes().to_vec(),
            demo: true,
        }
    }

    /// Whether this is the public demo key.
    pub fn is_demo(&self) -> bool {
        self.demo
    }
}

/// A pseudonym as bytes: the first [`PSEUDONYM_BYTES`] of the HMAC.
pub(crate) type Digest = [u8; PSEUDONYM_BYTES];

/// A pseudonym as stored: lowercase hex of its bytes, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct HexKey([u8; 2 * PSEUDONYM_BYTES]);

impl HexKey {
    pub(crate) fn of(digest: &Digest) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 2 * PSEUDONYM_BYTES];
        for (i, byte) in digest.iter().enumerate() {
            hex[2 * i] = DIGITS[usize::from(byte >> 4)];
            hex[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        Self(hex)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Makes the keyed pseudonyms of identifiers. It holds no state besides the key, so one
/// pseudonymiser serves every thread of a load.
#[derive(Debug, Clone)]
pub struct Pseudonymiser {
    /// HMAC state after absorbing the key.
    keyed: Hmac<Sha256>,
}

impl Pseudonymiser {
    /// A pseudonymiser under `key`.
    pub fn new(key: PseudonymKey) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = match Hmac::<Sha256>::new_from_slice(&key.bytes) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        Self { keyed }
    }

    fn digest(&self, domain: &[u8], value: &str) -> Digest {
        // The keyed state is computed once; each digest starts from a copy of it.
        let mut mac = self.keyed.clone();
        mac.update(domain);
        mac.update(value.as_bytes());
        let mut digest = [0u8; PSEUDONYM_BYTES];
        digest.copy_from_slice(&mac.finalize().into_bytes()[..PSEUDONYM_BYTES]);
        digest
    }

    pub(crate) fn person_id_digest(&self, person_id: &str) -> Digest {
        self.digest(PERSON_ID_DOMAIN, person_id)
    }

    pub(crate) fn national_id_digest(&self, national_id: &str) -> Digest {
        self.digest(NATIONAL_ID_DOMAIN, national_id)
    }

    /// Pseudonym of a 10-digit social-insurance code.
    pub fn person_id_key(&self, person_id: &str) -> String {
        HexKey::of(&self.person_id_digest(person_id))
            .as_str()
            .to_string()
    }

    /// Pseudonym of a 12-digit personal identification number.
    pub fn national_id_key(&self, national_id: &str) -> String {
        HexKey::of(&self.national_id_digest(national_id))
            .as_str()
            .to_string()
    }

    /// A keyed fingerprint of any other value that must not be stored in the clear.
    pub fn mask(&self, value: &str) -> String {
        let hex = HexKey::of(&self.digest(VALUE_DOMAIN, value));
        format!("masked:{}", &hex.as_str()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_stable_and_separated_by_kind() {
        let key = PseudonymKey::from_secret("0123456789abcdef-secret").unwrap();
        let p = Pseudonymiser::new(key.clone());
        let pk = p.person_id_key("5611784614");
        assert_eq!(pk.len(), 32);
        assert!(
            pk.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(pk, Pseudonymiser::new(key).person_id_key("5611784614"));
        assert_eq!(pk, hex::encode(p.person_id_digest("5611784614")));
        assert_ne!(pk, p.national_id_key("5611784614"));
        assert!(p.mask("5611784614").starts_with("masked:"));
        let other = Pseudonymiser::new(PseudonymKey::demo());
        assert_ne!(other.person_id_key("5611784614"), pk);
        assert!(PseudonymKey::from_secret("short").is_none());
    }
}

//! Keyed pseudonyms: HMAC-SHA-256 of each identifier under a secret key, so a person can be
//! followed across months and offices without being identified.

use std::collections::HashMap;

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

/// A pseudonym as bytes: half the memory of its hex text, which matters for the links of a
/// national-scale file.
type Key = [u8; PSEUDONYM_BYTES];

fn key_of(hex_text: &str) -> Option<Key> {
    let mut key = [0u8; PSEUDONYM_BYTES];
    hex::decode_to_slice(hex_text, &mut key).ok()?;
    Some(key)
}

/// A link between the two identifiers of one person, seen on a record carrying both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityLink {
    national: Key,
    person: Key,
}

impl IdentityLink {
    /// The link between two pseudonyms (hex, as stored); `None` if either is not one.
    pub fn new(national_id_key: &str, person_id_key: &str) -> Option<Self> {
        Some(Self {
            national: key_of(national_id_key)?,
            person: key_of(person_id_key)?,
        })
    }

    /// Pseudonym of the 12-digit personal identification number.
    pub fn national_id_key(&self) -> String {
        hex::encode(self.national)
    }

    /// Pseudonym of the 10-digit social-insurance code.
    pub fn person_id_key(&self) -> String {
        hex::encode(self.person)
    }
}

/// Makes pseudonyms and resolves a person across the switch from the 10-digit code to the
/// 12-digit number.
#[derive(Debug, Clone)]
pub struct Pseudonymiser {
    /// HMAC state after absorbing the key.
    keyed: Hmac<Sha256>,
    /// national_id_key → person_id_key, from loads already in the warehouse.
    links: HashMap<Key, Key>,
    /// Links seen in the file being read; they join `links` only when its load commits.
    pending: HashMap<Key, Key>,
}

impl Pseudonymiser {
    /// A pseudonymiser with the identity links already known to the warehouse.
    pub fn new(key: PseudonymKey, known_links: impl IntoIterator<Item = IdentityLink>) -> Self {
        let links = known_links
            .into_iter()
            .map(|l| (l.national, l.person))
            .collect();
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = match Hmac::<Sha256>::new_from_slice(&key.bytes) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        Self {
            keyed,
            links,
            pending: HashMap::new(),
        }
    }

    fn mac(&self, domain: &[u8], value: &str) -> String {
        // The keyed state is computed once; each digest starts from a copy of it.
        let mut mac = self.keyed.clone();
        mac.update(domain);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..PSEUDONYM_BYTES])
    }

    /// Pseudonym of a 10-digit social-insurance code.
    pub fn person_id_key(&self, person_id: &str) -> String {
        self.mac(PERSON_ID_DOMAIN, person_id)
    }

    /// Pseudonym of a 12-digit personal identification number.
    pub fn national_id_key(&self, national_id: &str) -> String {
        self.mac(NATIONAL_ID_DOMAIN, national_id)
    }

    /// A keyed fingerprint of any other value that must not be stored in the clear.
    pub fn mask(&self, value: &str) -> String {
        format!("masked:{}", &self.mac(VALUE_DOMAIN, value)[..12])
    }

    /// The person's pseudonym: the code's pseudonym when the record has the code, else the
    /// code linked to the number, else the number's own pseudonym. A record with both
    /// identifiers records the link.
    pub fn resolve(
        &mut self,
        person_id_key: Option<&str>,
        national_id_key: Option<&str>,
    ) -> String {
        match (person_id_key, national_id_key) {
            (Some(p), Some(n)) => {
                if let (Some(nk), Some(pk)) = (key_of(n), key_of(p))
                    && !self.links.contains_key(&nk)
                {
                    self.pending.entry(nk).or_insert(pk);
                }
                p.to_string()
            }
            (Some(p), None) => p.to_string(),
            (None, Some(n)) => key_of(n)
                .and_then(|nk| self.links.get(&nk).or_else(|| self.pending.get(&nk)))
                .map(hex::encode)
                .unwrap_or_else(|| n.to_string()),
            (None, None) => String::new(),
        }
    }

    /// Links first seen in the file being read, to persist with its load.
    pub fn take_new_links(&mut self) -> Vec<IdentityLink> {
        self.pending
            .iter()
            .map(|(national, person)| IdentityLink {
                national: *national,
                person: *person,
            })
            .collect()
    }

    /// The file's load committed: its links now hold for later files.
    pub fn commit_pending(&mut self) {
        self.links.extend(self.pending.drain());
    }

    /// The file was refused or failed: forget the links it showed.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_stable_and_linked() {
        let key = PseudonymKey::from_secret("0123456789abcdef-secret").unwrap();
        let mut p = Pseudonymiser::new(key.clone(), []);
        let pk = p.person_id_key("5611784614");
        let nk = p.national_id_key("029636314865");
        assert_eq!(pk.len(), 32);
        assert_ne!(pk, p.national_id_key("5611784614"));
        assert_eq!(p.resolve(Some(&pk), Some(&nk)), pk);
        assert_eq!(p.resolve(None, Some(&nk)), pk);
        let links = p.take_new_links();
        assert_eq!(links.len(), 1);
        // A refused file's links are forgotten.
        p.discard_pending();
        assert_eq!(p.resolve(None, Some(&nk)), nk);
        // A later load that knows the link resolves the number alone to the same person.
        let mut later = Pseudonymiser::new(key, links);
        assert_eq!(later.resolve(None, Some(&nk)), pk);
        let other = Pseudonymiser::new(PseudonymKey::demo(), []);
        assert_ne!(other.person_id_key("5611784614"), pk);
        assert!(PseudonymKey::from_secret("short").is_none());
    }
}

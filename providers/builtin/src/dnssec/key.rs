//! A DNSSEC key pair: its DNSKEY RDATA, key tag (RFC 4034 Appendix B), DS (RFC 4509) and
//! signatures (RFC 6605 fixed-size ECDSA, RFC 8080 Ed25519), on aws-lc-rs.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use switchback_api::{Name, rdata};

/// A DNSSEC signing algorithm this server makes keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// 13: ECDSA P-256 with SHA-256 (RFC 6605).
    EcdsaP256Sha256,
    /// 15: Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The config names: `ecdsap256sha256` and `ed25519` (any case).
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_lowercase().as_str() {
            "ecdsap256sha256" => Some(Algorithm::EcdsaP256Sha256),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    pub fn from_number(n: u8) -> Option<Algorithm> {
        match n {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The IANA mnemonic.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }
}

/// What a key signs: the DNSKEY set (KSK, flags 257: SEP) or everything else (ZSK, 256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ksk,
    Zsk,
}

impl Role {
    pub fn flags(self) -> u16 {
        match self {
            Role::Ksk => 257,
            Role::Zsk => 256,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ksk => "ksk",
            Role::Zsk => "zsk",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "ksk" => Some(Role::Ksk),
            "zsk" => Some(Role::Zsk),
            _ => None,
        }
    }
}

/// A key that cannot be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the crypto library could not make a key")]
    Generate,
    /// A stored key whose halves do not fit together or have the wrong size (the message
    /// never holds key material).
    #[error("a stored {0} key is not a valid key pair")]
    Invalid(&'static str),
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key pair. `Debug` shows the public half only; the private half is wiped on drop.
pub struct KeyPair {
    algorithm: Algorithm,
    role: Role,
    /// The DNSKEY public key field: P-256's X and Y (64 octets), Ed25519's 32 octets.
    public: Vec<u8>,
    /// P-256's private scalar, or Ed25519's seed (32 octets each).
    private: Vec<u8>,
    signer: Signer,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm)
            .field("role", &self.role)
            .field("key_tag", &self.key_tag())
            .finish_non_exhaustive()
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        for b in &mut self.private {
            // SAFETY: a valid, aligned, exclusive reference to one octet.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl KeyPair {
    /// A new key from the system's random source.
    pub fn generate(algorithm: Algorithm, role: Role) -> Result<KeyPair, KeyError> {
        let rng = SystemRandom::new();
        let (public, private) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Generate)?;
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                    .map_err(|_| KeyError::Generate)?;
                let private = pair
                    .private_key()
                    .as_be_bytes()
                    .map_err(|_| KeyError::Generate)?;
                // The uncompressed point without its 0x04 prefix (RFC 6605 §4).
                let public = pair.public_key().as_ref().get(1..).unwrap_or_default();
                (public.to_vec(), private.as_ref().to_vec())
            }
            Algorithm::Ed25519 => {
                let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Generate)?;
                let pair =
                    Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| KeyError::Generate)?;
                let seed = pair.seed().map_err(|_| KeyError::Generate)?;
                let seed = seed.as_be_bytes().map_err(|_| KeyError::Generate)?;
                (pair.public_key().as_ref().to_vec(), seed.as_ref().to_vec())
            }
        };
        KeyPair::from_parts(algorithm, role, public, private).map_err(|_| KeyError::Generate)
    }

    /// A key from its stored halves, checked to fit together.
    pub fn from_parts(
        algorithm: Algorithm,
        role: Role,
        public: Vec<u8>,
        private: Vec<u8>,
    ) -> Result<KeyPair, KeyError> {
        let invalid = || KeyError::Invalid(algorithm.mnemonic());
        let signer = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                if public.len() != 64 || private.len() != 32 {
                    return Err(invalid());
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&public);
                Signer::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        &private,
                        &point,
                    )
                    .map_err(|_| invalid())?,
                )
            }
            Algorithm::Ed25519 => {
                if public.len() != 32 || private.len() != 32 {
                    return Err(invalid());
                }
                Signer::Ed25519(
                    Ed25519KeyPair::from_seed_and_public_key(&private, &public)
                        .map_err(|_| invalid())?,
                )
            }
        };
        Ok(KeyPair {
            algorithm,
            role,
            public,
            private,
            signer,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The DNSKEY public key field.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The private half, for the store and `dnssec export` only.
    pub(crate) fn private(&self) -> &[u8] {
        &self.private
    }

    /// The private half in base64, as BIND's `PrivateKey:` field (for `dnssec export`).
    pub fn private_base64(&self) -> String {
        rdata::encode_base64(&self.private)
    }

    /// The DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1).
    pub fn dnskey_rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.public.len());
        out.extend_from_slice(&self.role.flags().to_be_bytes());
        out.push(3);
        out.push(self.algorithm.number());
        out.extend_from_slice(&self.public);
        out
    }

    pub fn key_tag(&self) -> u16 {
        key_tag(&self.dnskey_rdata())
    }

    /// The DS RDATA of this key at `owner` (see [`ds_of`]).
    pub fn ds(&self, owner: &Name) -> Vec<u8> {
        ds_of(owner, &self.dnskey_rdata())
    }

    /// The signature of `data` (an RRSIG's signed data, RFC 4034 §3.1.8.1): 64 octets for
    /// both algorithms (ECDSA's r and s, RFC 6605 §4).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.signer {
            Signer::Ecdsa(k) => k
                .sign(&SystemRandom::new(), data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Invalid(self.algorithm.mnemonic())),
            Signer::Ed25519(k) => Ok(k.sign(data).as_ref().to_vec()),
        }
    }
}

/// The DS RDATA of the DNSKEY RDATA `dnskey` at `owner`, digest type 2 (SHA-256, RFC 4509):
/// key tag, algorithm, 2, SHA-256(owner's canonical wire form | DNSKEY RDATA).
pub fn ds_of(owner: &Name, dnskey: &[u8]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(owner.wire());
    ctx.update(dnskey);
    let d = ctx.finish();
    let mut out = Vec::with_capacity(4 + d.as_ref().len());
    out.extend_from_slice(&key_tag(dnskey).to_be_bytes());
    out.push(dnskey.get(3).copied().unwrap_or(0));
    out.push(2);
    out.extend_from_slice(d.as_ref());
    out
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not made here).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};

    use super::*;

    /// RFC 4034 Appendix B's worked example is for algorithm 5; this is the DNSKEY of
    /// RFC 6605 §6.1 (ECDSA P-256), key tag 55648, and its DS.
    #[test]
    fn rfc_6605_example_key_tag_and_ds() {
        let public = rdata::decode_base64(
            "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
        )
        .unwrap();
        let mut dnskey = vec![1, 1, 3, 13];
        dnskey.extend_from_slice(&public);
        assert_eq!(key_tag(&dnskey), 55648);
        let owner: Name = "example.net.".parse().unwrap();
        assert_eq!(
            rdata::format(switchback_api::RType::DS, &ds_of(&owner, &dnskey)).unwrap(),
            "55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17"
        );
    }

    #[test]
    fn keys_sign_what_their_public_half_verifies() {
        for (alg, verify) in [
            (
                Algorithm::EcdsaP256Sha256,
                &ECDSA_P256_SHA256_FIXED as &dyn aws_lc_rs::signature::VerificationAlgorithm,
            ),
            (Algorithm::Ed25519, &ED25519),
        ] {
            let k = KeyPair::generate(alg, Role::Zsk).unwrap();
            let sig = k.sign(b"signed data").unwrap();
            assert_eq!(sig.len(), 64);
            let point = match alg {
                Algorithm::EcdsaP256Sha256 => [&[4u8][..], k.public()].concat(),
                Algorithm::Ed25519 => k.public().to_vec(),
            };
            UnparsedPublicKey::new(verify, &point)
                .verify(b"signed data", &sig)
                .unwrap();
            // Read back from its halves: the same key.
            let again =
                KeyPair::from_parts(alg, Role::Zsk, k.public().to_vec(), k.private().to_vec())
                    .unwrap();
            assert_eq!(again.dnskey_rdata(), k.dnskey_rdata());
            // A private half that does not fit the public one is refused.
            let other = KeyPair::generate(alg, Role::Zsk).unwrap();
            assert!(
                KeyPair::from_parts(
                    alg,
                    Role::Zsk,
                    k.public().to_vec(),
                    other.private().to_vec()
                )
                .is_err()
            );
            assert!(!format!("{k:?}").contains(&k.private_base64()));
        }
    }
}

//! Seed derivation: every random stream is a function of the master seed and the identity of the
//! work unit that uses it, never of thread count, shard split or run order.
//!
//! Rule (version 1): seed = SHA-256("smoe-seed-v1\n" || master seed as 8 little-endian bytes ||
//! for each (key, value) in order: key "=" value "\n"), used as the 32-byte ChaCha20 key.
//! Keys are plain words such as experiment, setting, n, rep, purpose.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// The 32-byte seed of the stream named by `identity` under `master`.
pub fn derive_seed(master: u64, identity: &[(&str, &str)]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"smoe-seed-v1\n");
    h.update(master.to_le_bytes());
    for (k, v) in identity {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().into()
}

/// A compact u64 form of the derived seed (its first 8 bytes, little-endian) for result tables.
pub fn seed_label(seed: &[u8; 32]) -> u64 {
    u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"))
}

/// The ChaCha20 stream for `identity` under `master`.
pub fn stream(master: u64, identity: &[(&str, &str)]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(derive_seed(master, identity))
}

//! ctmpl: a consul-template re-implementation. `gotmpl` is the Go text/template engine, `cli`
//! the command line (one module per command, over Go's flag rules).
pub mod agent;
pub mod api;
pub mod child;
pub mod cli;
pub mod client;
pub mod config;
pub mod dependency;
pub mod duration;
pub use gotmpl;
pub mod registrator;
pub mod renderer;
pub mod runner;
pub mod template;
pub mod watch;

use std::hash::{BuildHasher, Hash, Hasher};

/// A random number in [0, 1), from the OS-seeded hasher keys (no RNG dependency needed).
pub fn random_fraction() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// A random (version 4) UUID.
pub fn uuid() -> String {
    let (a, b) = (random_u64(), random_u64());
    let b = (b & !(0xc000 << 48)) | (0x8000 << 48);
    let a = (a & !0xf000) | 0x4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// A stable hash of a value, for content hashes.
pub fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

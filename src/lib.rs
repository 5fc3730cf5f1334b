//! ctmpl: consul-template, a Consul agent and registrator in one binary (ARCHITECTURE.md has the
//! map). consul-template mode flows `cli` → `config` → `runner` → `watch` (one view per
//! `dependency`) → `template` (the `gotmpl` engine + consul-template's functions) → `renderer`
//! → `child`; `agent` is the Consul agent; `registrator` feeds it Docker's containers; `consul`
//! holds the HTTP API's wire types and client that they share.
pub mod agent;
pub mod child;
pub mod cli;
pub mod config;
pub mod consul;
pub mod dependency;
pub mod duration;
pub mod fswatch;
pub mod metrics;
pub use gotmpl;
pub mod registrator;
pub mod renderer;
pub mod runner;
pub mod status;
pub mod template;
pub mod watch;

use std::hash::{Hash, Hasher};

/// A random number in [0, 1), from the OS's random source.
pub fn random_fraction() -> f64 {
    // 53 random bits: every f64 in [0, 1) that is a multiple of 2^-53, equally likely.
    let bits = getrandom::u64().expect("the OS random source failed");
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A random (version 4) UUID, from the OS's random source.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A hash of a value, for content hashes (`X-Consul-ContentHash`): it tells versions apart and
/// is never used as a random source (that is [`uuid`] and [`random_fraction`], from the OS).
pub fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_fractions_are_in_the_unit_interval_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| super::random_fraction()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn uuids_are_version_4_and_distinct() {
        let (a, b) = (super::uuid(), super::uuid());
        assert_ne!(a, b);
        for id in [&a, &b] {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(
                *id,
                parsed.hyphenated().to_string(),
                "lower-case, hyphenated"
            );
        }
    }
}

//! How fast the cluster notices a lost leader: Consul's three Raft timeouts, turned into
//! openraft's settings.
//!
//! Consul takes hashicorp/raft's defaults (HeartbeatTimeout 1000 ms, ElectionTimeout 1000 ms,
//! LeaderLeaseTimeout 500 ms) times `performance { raft_multiplier }`, and `-dev` sets its
//! own (35 ms, 52 ms, 20 ms). Consul ships a multiplier of 5 for "a very basic server" and
//! recommends 1 in production; ctmpl defaults to 1, so a lost leader is replaced in about two
//! seconds. `-dev` is faster than the default, but not as tight as Consul's dev timings: a dev
//! cluster runs every server in one process, over HTTP/JSON, often on a busy laptop.
//!
//! openraft differs from hashicorp/raft in where the time goes: a follower that has a leader
//! waits its leader lease (= `election_timeout_max`) and then a random election timeout
//! (`election_timeout_min..max`) before it stands. Taking min = HeartbeatTimeout / 2 and
//! max = HeartbeatTimeout, a follower stands 1.5–2 heartbeat timeouts after it last heard
//! from its leader, where hashicorp/raft's stands after 1–2 and then waits for its election
//! timeout. Heartbeats go out every HeartbeatTimeout / 10, as hashicorp/raft's do.

use std::time::Duration;

/// Consul's `performance.raft_multiplier` bounds.
pub const MAX_MULTIPLIER: u32 = 10;

/// The cluster's timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a follower goes without hearing from its leader before it may stand.
    pub heartbeat_timeout: Duration,
    /// How long a leader that has heard from no quorum still counts as the leader.
    pub leader_lease: Duration,
}

impl Timing {
    /// The production timings: hashicorp/raft's defaults times `multiplier` (1 to 10).
    pub fn consul(multiplier: u32) -> Timing {
        let m = multiplier.clamp(1, MAX_MULTIPLIER);
        Timing {
            heartbeat_timeout: Duration::from_millis(1000) * m,
            leader_lease: Duration::from_millis(500) * m,
        }
    }

    /// `-dev`'s: half the production timings.
    pub fn dev() -> Timing {
        Timing {
            heartbeat_timeout: Duration::from_millis(500),
            leader_lease: Duration::from_millis(250),
        }
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    pub fn heartbeat_interval_ms(&self) -> u64 {
        (Self::ms(self.heartbeat_timeout) / 10).max(10)
    }

    pub fn election_timeout_min_ms(&self) -> u64 {
        Self::ms(self.heartbeat_timeout) / 2
    }

    pub fn election_timeout_max_ms(&self) -> u64 {
        Self::ms(self.heartbeat_timeout)
    }
}

impl Default for Timing {
    fn default() -> Timing {
        Timing::consul(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consul_timings_scale_with_the_multiplier_and_make_a_valid_openraft_config() {
        for m in [1, 5, 10] {
            let t = Timing::consul(m);
            assert_eq!(t.heartbeat_timeout, Duration::from_millis(1000 * m as u64));
            assert_eq!(t.leader_lease, Duration::from_millis(500 * m as u64));
        }
        for t in [Timing::consul(1), Timing::consul(10), Timing::dev()] {
            let config = openraft::Config {
                heartbeat_interval: t.heartbeat_interval_ms(),
                election_timeout_min: t.election_timeout_min_ms(),
                election_timeout_max: t.election_timeout_max_ms(),
                ..Default::default()
            };
            config.validate().unwrap();
        }
    }
}

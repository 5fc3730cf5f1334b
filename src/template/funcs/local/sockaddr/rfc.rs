//! go-sockaddr's table of RFC address blocks (`KnownRFCs` in its rfc.go), for `include "rfc"`,
//! and its `Contains`: a block contains an address when the address's whole network lies inside
//! the block and both are of one family. What go-sockaddr calls private is RFC 6890's list here
//! (`IsRFC(6890, …)`), what it calls forwardable is outside its `ForwardingBlacklist`.

use std::net::IpAddr;

use super::math::{v4_mask, v6_mask};
use super::IfAddr;

/// Each RFC with its blocks, as go-sockaddr lists them.
const KNOWN_RFCS: &[(u64, &[&str])] = &[
    (919, &["255.255.255.255/32"]),
    (1122, &["0.0.0.0/8", "127.0.0.0/8"]),
    (1112, &["224.0.0.0/4"]),
    (1918, &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
    (2544, &["198.18.0.0/15"]),
    (2765, &["::ffff:0:0/96"]),
    (2928, &["2001::/16"]),
    (3056, &["2002::/16"]),
    (3068, &["192.88.99.0/24", "2002:c058:6301::/120"]),
    (3171, &["224.0.0.0/4"]),
    (
        3330,
        &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.2.0/24",
            "192.88.99.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "224.0.0.0/4",
            "240.0.0.0/4",
        ],
    ),
    (3849, &["2001:db8::/32"]),
    (3927, &["169.254.0.0/16"]),
    (4038, &["::ffff:0:0/96"]),
    (4193, &["fc00::/7"]),
    (
        4291,
        &[
            "::/128",
            "::1/128",
            "::/96",
            "::ffff:0:0/96",
            "fe80::/10",
            "fec0::/10",
            "ff00::/8",
        ],
    ),
    (4380, &["2001::/32"]),
    (4773, &["2001::/23"]),
    (4843, &["2001:10::/28"]),
    (5180, &["2001:200::/48"]),
    (
        5735,
        &[
            "192.0.2.0/24",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "198.18.0.0/15",
        ],
    ),
    (5737, &["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]),
    (6052, &["64:ff9b::/96"]),
    (6333, &["192.0.0.0/29"]),
    (6598, &["100.64.0.0/10"]),
    (6666, &["100::/64"]),
    (
        6890,
        &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.0.0/29",
            "192.0.2.0/24",
            "192.88.99.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "240.0.0.0/4",
            "255.255.255.255/32",
            "::1/128",
            "::/128",
            "64:ff9b::/96",
            "::ffff:0:0/96",
            "100::/64",
            "2001::/16",
            "2001:2::/48",
            "2001:db8::/32",
            "2001:10::/28",
            "2002::/16",
            "fc00::/7",
            "fe80::/10",
        ],
    ),
    (7335, &["192.0.0.0/29"]),
    (
        FORWARDING_BLACKLIST,
        &[
            "0.0.0.0/8",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "240.0.0.0/4",
            "255.255.255.255/32",
            "::1/128",
            "::/128",
            "::ffff:0:0/96",
            "2001:db8::/32",
            "2001:10::/28",
            "fe80::/10",
        ],
    ),
];

/// go-sockaddr's `ForwardingBlacklist`: a made-up RFC number for the blocks that are not
/// forwardable (flag `forwardable`); `include "rfc" "4294967295"` selects them too.
pub(super) const FORWARDING_BLACKLIST: u64 = 4_294_967_295;

/// go-sockaddr's `IsRFC`: whether one of the RFC's blocks contains the address's network.
pub(super) fn is_rfc(rfc: u64, a: &IfAddr) -> bool {
    blocks(rfc).is_some_and(|nets| nets.iter().any(|n| contains(*n, a)))
}

/// The blocks of `rfc`, or `None` when go-sockaddr does not know it.
fn blocks(rfc: u64) -> Option<Vec<(IpAddr, u8)>> {
    let (_, nets) = KNOWN_RFCS.iter().find(|(n, _)| *n == rfc)?;
    Some(nets.iter().filter_map(|n| parse_network(n)).collect())
}

/// `ADDRESS/LEN` (or a bare address, as a host network).
pub(super) fn parse_network(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip.parse::<IpAddr>().ok()?, len.parse::<u8>().ok()?),
        None => {
            let ip: IpAddr = s.parse().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// go-sockaddr's `Contains`: same family, and `a`'s network inside the block.
pub(super) fn contains((block, len): (IpAddr, u8), a: &IfAddr) -> bool {
    match (block, a.ip) {
        (IpAddr::V4(b), IpAddr::V4(x)) => {
            let (bm, xm) = (v4_mask(len), v4_mask(a.prefix));
            let (bn, xn) = (u32::from(b) & bm, u32::from(x) & xm);
            bn <= xn && (bn | !bm) >= (xn | !xm)
        }
        (IpAddr::V6(b), IpAddr::V6(x)) => {
            let (bm, xm) = (v6_mask(len), v6_mask(a.prefix));
            let (bn, xn) = (u128::from(b) & bm, u128::from(x) & xm);
            bn <= xn && (bn | !bm) >= (xn | !xm)
        }
        _ => false,
    }
}

/// go-sockaddr's `IfByRFC`: the addresses inside one RFC's blocks, and the rest.
pub(super) fn split_by_rfc(
    param: &str,
    addrs: &[IfAddr],
) -> Result<(Vec<IfAddr>, Vec<IfAddr>), String> {
    let rfc = super::math::parse_uint(param, 64).map_err(|e| {
        format!(
            "unable to parse RFC number {}: {e}",
            super::math::go_quote(param)
        )
    })?;
    let nets = blocks(rfc).ok_or_else(|| format!("unsupported RFC {rfc}"))?;
    Ok(addrs
        .iter()
        .cloned()
        .partition(|a| nets.iter().any(|n| contains(*n, a))))
}

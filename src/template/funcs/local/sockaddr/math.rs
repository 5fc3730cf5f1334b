//! go-sockaddr's `math` (`IfAddrMath` in its ifaddrs.go): `address` adds to the address and
//! wraps around the address family, `network` counts from the network address (negative
//! values count back from the last address of the network), `mask` narrows the address to a
//! prefix length. Error texts are go-sockaddr's, with Go's `strconv` messages inside them,
//! because templates that test for failures see these strings.

use std::net::IpAddr;

use super::IfAddr;

/// `math OPERATION VALUE` on one address.
pub(super) fn apply(operation: &str, value: &str, a: &IfAddr) -> Result<IfAddr, String> {
    match operation.to_ascii_lowercase().as_str() {
        "address" => {
            require_sign(operation, value)?;
            let delta = parse_delta(operation, value, a)?;
            Ok(with_ip(a, add_to_address(a.ip, delta), a.prefix))
        }
        "network" => {
            require_sign(operation, value)?;
            let delta = parse_delta(operation, value, a)?;
            let (ip, carry) = from_network(a, delta);
            let mut out = with_ip(a, ip, a.prefix);
            out.carry = carry;
            Ok(out)
        }
        "mask" => mask(operation, value, a),
        _ => Err(format!(
            "unsupported math operation: {}",
            go_quote(operation)
        )),
    }
}

fn with_ip(a: &IfAddr, ip: IpAddr, prefix: u8) -> IfAddr {
    IfAddr {
        ip,
        carry: false,
        prefix,
        ..a.clone()
    }
}

/// go-sockaddr's `signRE` (`^[\s]*[+-]`): `address` and `network` want an explicit sign.
fn require_sign(operation: &str, value: &str) -> Result<(), String> {
    match value.trim_start().chars().next() {
        Some('+' | '-') => Ok(()),
        _ => Err(format!(
            "sign (+/-) is required for operation {}",
            go_quote(operation)
        )),
    }
}

/// The offset: Go's `ParseInt(value, 10, 33)` for IPv4 (any uint32 either way), 64 bits for
/// IPv6.
fn parse_delta(operation: &str, value: &str, a: &IfAddr) -> Result<i64, String> {
    let bits = if a.is_v4() { 33 } else { 64 };
    parse_int(value, bits).map_err(|e| {
        format!(
            "unable to convert {} to int for operation {}: {e}",
            go_quote(value),
            go_quote(operation)
        )
    })
}

fn add_to_address(ip: IpAddr, delta: i64) -> IpAddr {
    match ip {
        // Go: `uint32(ip) += uint32(i)`, wrapping.
        IpAddr::V4(v) => IpAddr::V4(u32::from(v).wrapping_add(delta as u32).into()),
        // Go: big.Int add, then `& ipv6HostMask` — two's complement, so wrapping mod 2^128.
        IpAddr::V6(v) => IpAddr::V6(u128::from(v).wrapping_add(delta as i128 as u128).into()),
    }
}

/// `math "network"`: non-negative values count up from the network address, negative ones
/// down from its last address; both wrap inside the network.
///
/// For IPv6 Go computes with `big.Int` from `-1 * i` taken in int64: for a value of 0,
/// `(0 - 1) &^ mask` is `-mask - 1` (two's complement of an unbounded number) and
/// `lastUsable - (-mask - 1)` is `network + 2^128`; for -2^63, `-1 * i` wraps back to -2^63
/// and the result is `network + 2^128`, plus 2^63 when that bit is a host bit. The address
/// returned holds the low 128 bits; the flag says Go's number has the 129th bit
/// (`IfAddr::carry`).
fn from_network(a: &IfAddr, delta: i64) -> (IpAddr, bool) {
    match a.ip {
        IpAddr::V4(v) => {
            let mask = v4_mask(a.prefix);
            let network = u32::from(v) & mask;
            let wrapped = if delta >= 0 {
                delta
            } else {
                1 + delta + i64::from(!mask)
            };
            (
                IpAddr::V4(network.wrapping_add(wrapped as u32 & !mask).into()),
                false,
            )
        }
        IpAddr::V6(v) => {
            let mask = v6_mask(a.prefix);
            let network = u128::from(v) & mask;
            let last = network | !mask;
            let ip = if delta > 0 {
                network.wrapping_add(delta as u128 & !mask)
            } else if delta == i64::MIN {
                return (IpAddr::V6((network | (!mask & 1 << 63)).into()), true);
            } else {
                // Go: lastUsable - ((-i - 1) &^ mask); for 0, network + 2^128, whose low
                // 128 bits are the network address.
                let back = (delta.unsigned_abs() as u128).wrapping_sub(1) & !mask;
                last.wrapping_sub(back)
            };
            (IpAddr::V6(ip.into()), delta == 0)
        }
    }
}

/// `math "mask" N`: the address masked to N bits; the prefix becomes the shorter of the two.
fn mask(operation: &str, value: &str, a: &IfAddr) -> Result<IfAddr, String> {
    let bits = parse_uint(value, 32).map_err(|e| {
        format!(
            "unable to convert {} to int for operation {}: {e}",
            go_quote(value),
            go_quote(operation)
        )
    })?;
    let (max, family) = if a.is_v4() {
        (32, "ipv4")
    } else {
        (128, "ipv6")
    };
    if bits > max {
        // go-sockaddr's IPv6 message says 64 although it accepts up to 128.
        let upper = if a.is_v4() { 32 } else { 64 };
        return Err(format!(
            "parameter for operation {} on {family} addresses must be between 0 and {upper}",
            go_quote(operation)
        ));
    }
    let bits = bits as u8;
    // Go masks `NetIP()`, the address as it prints.
    let ip = match a.net_ip() {
        IpAddr::V4(v) => IpAddr::V4((u32::from(v) & v4_mask(bits)).into()),
        IpAddr::V6(v) => IpAddr::V6((u128::from(v) & v6_mask(bits)).into()),
    };
    Ok(with_ip(a, ip, bits.min(a.prefix)))
}

pub(super) fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

pub(super) fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Go's `%q`/`%+q` of a string (ASCII input is all these messages see in practice).
pub(super) fn go_quote(s: &str) -> String {
    crate::gotmpl::printf::quote(s)
}

/// Go's `strconv.ParseInt(s, 10, bits)`, with its error text.
pub(super) fn parse_int(s: &str, bits: u32) -> Result<i64, String> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = decimal(digits).ok_or_else(|| syntax("ParseInt", s))?;
    let limit = 1u128 << (bits - 1);
    let fits = magnitude
        .map(|m| if negative { m <= limit } else { m < limit })
        .unwrap_or(false);
    if !fits {
        return Err(range("ParseInt", s));
    }
    let m = magnitude.unwrap_or(0) as i128;
    Ok((if negative { -m } else { m }) as i64)
}

/// Go's `strconv.ParseUint(s, 10, bits)`, with its error text.
pub(super) fn parse_uint(s: &str, bits: u32) -> Result<u64, String> {
    let magnitude = decimal(s).ok_or_else(|| syntax("ParseUint", s))?;
    match magnitude {
        Some(m) if m < (1u128 << bits) => Ok(m as u64),
        _ => Err(range("ParseUint", s)),
    }
}

/// Decimal digits only: `None` for a syntax error, `Some(None)` for a value past u128.
fn decimal(s: &str) -> Option<Option<u128>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u128>().ok())
}

fn syntax(func: &str, s: &str) -> String {
    format!("strconv.{func}: parsing {}: invalid syntax", go_quote(s))
}

fn range(func: &str, s: &str) -> String {
    format!(
        "strconv.{func}: parsing {}: value out of range",
        go_quote(s)
    )
}

//! Which address an agent bound to 0.0.0.0 advertises, decided as Consul decides it: the one
//! private IPv4 address of the host's active interfaces, and a refusal to guess when there are
//! several (a Docker bridge next to the LAN address is the usual case) or none.
//!
//! The choice is [`advertise_for_any`], a pure function over the list of interface addresses,
//! so every case is unit-tested; [`host_addresses`] reads the real list with `getifaddrs`.

use std::net::{IpAddr, Ipv4Addr};

/// One address of one network interface, with the interface's state.
#[derive(Clone, Copy, Debug)]
pub struct InterfaceAddr {
    pub ip: IpAddr,
    pub up: bool,
    pub loopback: bool,
}

/// Consul's private blocks (its `ipaddr.isPrivate`, after RFC 6890): RFC 1918, shared address
/// space, loopback, link-local, IANA and documentation blocks.
fn is_private(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 10
        || (a == 100 && (64..128).contains(&b))
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 168)
}

/// The address to advertise when bound to 0.0.0.0, or Consul's refusal. As Consul's
/// `GetPrivateIPv4`: the addresses of interfaces that are up, loopback ones only when no other
/// interface is up with an address; of those the private IPv4 ones, which must be exactly one.
pub fn advertise_for_any(addrs: &[InterfaceAddr]) -> Result<Ipv4Addr, String> {
    let up = addrs.iter().filter(|a| a.up);
    let active: Vec<&InterfaceAddr> = match up.clone().any(|a| !a.loopback) {
        true => up.filter(|a| !a.loopback).collect(),
        false => up.collect(),
    };
    let private: Vec<Ipv4Addr> = active
        .iter()
        .filter_map(|a| match a.ip {
            IpAddr::V4(ip) if is_private(ip) => Some(ip),
            _ => None,
        })
        .collect();
    match private.as_slice() {
        [one] => Ok(*one),
        [] => Err("No private IPv4 address found".into()),
        _ => Err(
            "Multiple private IPv4 addresses found. Please configure one with 'bind' and/or \
             'advertise'."
                .into(),
        ),
    }
}

/// This host's interface addresses (IPv4 and IPv6), from `getifaddrs`.
pub fn host_addresses() -> Result<Vec<InterfaceAddr>, String> {
    use nix::net::if_::InterfaceFlags;
    let list = nix::ifaddrs::getifaddrs()
        .map_err(|e| format!("Error detecting private IPv4 address: {e}"))?;
    Ok(list
        .filter_map(|i| {
            let address = i.address?;
            let ip = match (address.as_sockaddr_in(), address.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (_, Some(v6)) => IpAddr::V6(v6.ip()),
                _ => return None,
            };
            Some(InterfaceAddr {
                ip,
                up: i.flags.contains(InterfaceFlags::IFF_UP),
                loopback: i.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, up: bool, loopback: bool) -> InterfaceAddr {
        InterfaceAddr {
            ip: ip.parse().unwrap(),
            up,
            loopback,
        }
    }

    fn lo() -> InterfaceAddr {
        addr("127.0.0.1", true, true)
    }

    #[test]
    fn one_private_address_is_advertised() {
        let addrs = [
            lo(),
            addr("10.1.2.3", true, false),
            addr("fe80::1", true, false),
        ];
        assert_eq!(
            advertise_for_any(&addrs).unwrap(),
            Ipv4Addr::new(10, 1, 2, 3)
        );
    }

    #[test]
    fn several_private_addresses_are_refused_as_consul_does() {
        // A LAN address and the Docker bridge, as on a typical Docker host.
        let addrs = [
            lo(),
            addr("192.168.1.5", true, false),
            addr("172.17.0.1", true, false),
        ];
        assert_eq!(
            advertise_for_any(&addrs).unwrap_err(),
            "Multiple private IPv4 addresses found. Please configure one with 'bind' and/or \
             'advertise'."
        );
    }

    #[test]
    fn interfaces_that_are_down_do_not_count() {
        let addrs = [
            addr("192.168.1.5", true, false),
            addr("172.17.0.1", false, false),
        ];
        assert_eq!(
            advertise_for_any(&addrs).unwrap(),
            Ipv4Addr::new(192, 168, 1, 5)
        );
    }

    #[test]
    fn public_only_is_refused() {
        let addrs = [
            lo(),
            addr("203.0.113.9", true, false),
            addr("2001:4860::1", true, false),
        ];
        assert_eq!(
            advertise_for_any(&addrs).unwrap_err(),
            "No private IPv4 address found"
        );
    }

    #[test]
    fn no_address_at_all_is_refused() {
        assert_eq!(
            advertise_for_any(&[]).unwrap_err(),
            "No private IPv4 address found"
        );
    }

    #[test]
    fn loopback_counts_only_when_nothing_else_is_up() {
        assert_eq!(advertise_for_any(&[lo()]).unwrap(), Ipv4Addr::LOCALHOST);
        let addrs = [lo(), addr("10.0.0.1", false, false)];
        assert_eq!(advertise_for_any(&addrs).unwrap(), Ipv4Addr::LOCALHOST);
    }
}

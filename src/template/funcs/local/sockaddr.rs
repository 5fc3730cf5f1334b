//! `sockaddr`: a subset of go-sockaddr's template language (the address lookups consul-template
//! users call).
//!
//! Interfaces come from `getifaddrs` through `nix`; the default route's interface is listed first
//! (Linux's `/proc/net/route`), as go-sockaddr sorts them.

use std::net::IpAddr;

use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::{def, string_arg};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "sockaddr", Arity::AtLeast(0), |a| {
        let args = a
            .iter()
            .map(|v| string_arg(v).map(|s| s.into_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        eval(&args.join(" ")).map(Value::from).map_err(FuncError)
    });
}

/// Evaluates `GetPrivateIP`, `GetPrivateIPs`, `GetPublicIP`, `GetPublicIPs`,
/// `GetInterfaceIP "name"` or `GetInterfaceIPs "name"`.
pub(super) fn eval(expr: &str) -> Result<String, String> {
    let expr = expr.trim();
    let (func, arg) = match expr.split_once(char::is_whitespace) {
        Some((f, a)) => (f, a.trim().trim_matches('"')),
        None => (expr, ""),
    };
    let addrs = interfaces()?;
    let pick = |keep: &dyn Fn(&str, &IpAddr) -> bool, all: bool| {
        let found: Vec<String> = addrs
            .iter()
            .filter(|(name, ip)| keep(name, ip))
            .map(|(_, ip)| ip.to_string())
            .collect();
        if all {
            found.join(" ")
        } else {
            found.into_iter().next().unwrap_or_default()
        }
    };
    let v4 = |ip: &IpAddr| ip.is_ipv4();
    Ok(match func {
        "GetPrivateIP" | "GetPrivateIPs" => {
            pick(&|_, ip| v4(ip) && is_private(ip), func.ends_with('s'))
        }
        "GetPublicIP" | "GetPublicIPs" => {
            pick(&|_, ip| v4(ip) && is_public(ip), func.ends_with('s'))
        }
        "GetInterfaceIP" | "GetInterfaceIPs" if !arg.is_empty() => {
            pick(&|name, ip| name == arg && v4(ip), func.ends_with('s'))
        }
        _ => {
            return Err(format!(
                "sockaddr: unsupported template {}: only GetPrivateIP(s), GetPublicIP(s) \
                 and GetInterfaceIP(s) \"NAME\" are implemented",
                crate::gotmpl::printf::quote(expr)
            ))
        }
    })
}

/// RFC 1918 and RFC 6598 (shared address space), as go-sockaddr's private blocks.
fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_private() || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(is_private(ip)
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_documentation()
                || v.is_multicast())
        }
        IpAddr::V6(_) => false,
    }
}

/// The name of the interface with the IPv4 default route (Linux), to list first.
fn default_interface() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 1 && f[1] == "00000000").then(|| f[0].to_string())
    })
}

/// Addresses of interfaces that are up and not loopback, the default route's first.
fn interfaces() -> Result<Vec<(String, IpAddr)>, String> {
    use nix::net::if_::InterfaceFlags;
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| {
        format!(
            "sockaddr: getifaddrs: {}",
            super::go_errno(&std::io::Error::from(e))
        )
    })?;
    let mut list = Vec::new();
    for ifa in addrs {
        let up = ifa.flags.contains(InterfaceFlags::IFF_UP)
            && !ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK);
        let Some(addr) = ifa.address.filter(|_| up) else {
            continue;
        };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        list.push((ifa.interface_name, ip));
    }
    if let Some(def) = default_interface() {
        list.sort_by_key(|(name, _)| *name != def);
    }
    Ok(list)
}

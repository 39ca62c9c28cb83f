//! `WSGITrustedProxies` and `WSGITrustedProxyHeaders` values: an address or
//! subnet a proxy may connect from ([`Subnet`]) and the environ name of a
//! trusted header. Parsed at configuration time; matched per request by
//! `crate::handler::proxy`. Pure data, no FFI.

use std::net::IpAddr;

/// A `WSGITrustedProxies` value that is neither an address nor a subnet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse trusted proxy IP address/subnet of \"{0}\".")]
pub struct BadSubnet(pub String);

/// An address or subnet from `WSGITrustedProxies`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    addr: IpAddr,
    prefix: u8,
}

impl Subnet {
    /// Parses `ip` or `ip/bits` (IPv4 or IPv6).
    pub fn parse(s: &str) -> Result<Subnet, BadSubnet> {
        let bad = || BadSubnet(s.to_string());
        let (ip, bits) = match s.split_once('/') {
            Some((ip, bits)) => (ip, Some(bits)),
            None => (s, None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match bits {
            None => max,
            Some(b) => b.parse::<u8>().ok().filter(|&b| b <= max).ok_or_else(bad)?,
        };
        Ok(Subnet { addr, prefix })
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        fn bits(ip: &IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(a) => (u32::from(*a) as u128, 32),
                IpAddr::V6(a) => match a.to_ipv4_mapped() {
                    Some(v4) => (u32::from(v4) as u128, 32),
                    None => (u128::from(*a), 128),
                },
            }
        }
        let (net, width) = bits(&self.addr);
        let (candidate, cwidth) = bits(ip);
        if width != cwidth {
            return false;
        }
        let shift = width - self.prefix.min(width);
        if shift as u32 >= 128 {
            return true;
        }
        (net >> shift) == (candidate >> shift)
    }
}

/// `X-Forwarded-For` -> `HTTP_X_FORWARDED_FOR`, as `wsgi_http2env`.
pub fn header_env_name(header: &str) -> String {
    let mut out = String::from("HTTP_");
    out.extend(header.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

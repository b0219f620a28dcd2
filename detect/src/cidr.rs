//! Sets of network ranges for the `cidr` modifier: every range of one predicate in one
//! sorted table, so an address is parsed once and looked up by binary search however
//! many ranges the rule lists (a threat feed given with `--placeholder-file` can hold
//! thousands).

use std::net::IpAddr;

use ipnet::IpNet;

/// Network ranges, merged into disjoint sorted intervals per address family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CidrSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

/// Sorts `ranges` and merges overlapping or adjacent ones.
fn merge<T: Ord + Copy>(mut ranges: Vec<(T, T)>, next: impl Fn(T) -> Option<T>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if next(last.1).is_none_or(|n| lo <= n) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn find<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    // The last range starting at or before `x`.
    let i = ranges.partition_point(|r| r.0 <= x);
    i > 0 && x <= ranges[i - 1].1
}

impl CidrSet {
    /// The set of `nets`.
    pub fn new(nets: &[IpNet]) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for n in nets {
            match n {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        Self {
            v4: merge(v4, |x: u32| x.checked_add(1)),
            v6: merge(v6, |x: u128| x.checked_add(1)),
        }
    }

    /// Whether `ip` is in one of the ranges. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is looked up as the IPv6 address it is, as `ipnet` does.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }

    /// Whether `text` is an address in one of the ranges (false for anything that is not
    /// an address).
    pub fn contains_text(&self, text: &str) -> bool {
        text.parse::<IpAddr>().is_ok_and(|ip| self.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(nets: &[&str]) -> CidrSet {
        let nets: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        CidrSet::new(&nets)
    }

    #[test]
    fn agrees_with_ipnet_on_every_range_and_address() {
        let nets = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "192.0.2.0/24",
            "192.0.3.0/24",
            "0.0.0.0/32",
            "255.255.255.255/32",
            "203.0.113.128/25",
            "2001:db8::/32",
            "::/128",
            "ffff::/16",
            "::ffff:0:0/96",
        ];
        let parsed: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        let s = CidrSet::new(&parsed);
        let probes = [
            "10.0.0.0",
            "10.255.255.255",
            "11.0.0.0",
            "9.255.255.255",
            "192.0.2.255",
            "192.0.3.0",
            "192.0.4.0",
            "0.0.0.0",
            "0.0.0.1",
            "255.255.255.255",
            "255.255.255.254",
            "203.0.113.127",
            "203.0.113.128",
            "2001:db8::1",
            "2001:db9::",
            "::",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:10.0.0.1",
        ];
        for p in probes {
            let ip: IpAddr = p.parse().unwrap();
            let want = parsed.iter().any(|n| n.contains(&ip));
            assert_eq!(s.contains(ip), want, "{p}");
        }
        // 10.1.0.0/16 merged into 10.0.0.0/8; the two /24s merged into one interval.
        assert_eq!(s.v4.len(), 5, "{:?}", s.v4);
    }

    #[test]
    fn text_that_is_not_an_address_is_outside() {
        let s = set(&["0.0.0.0/0", "::/0"]);
        assert!(s.contains_text("8.8.8.8") && s.contains_text("2001:db8::1"));
        for t in [
            "",
            "ec2.amazonaws.com",
            "AWS Internal",
            "10.0.0.0/8",
            "1.2.3",
        ] {
            assert!(!s.contains_text(t), "{t:?}");
        }
        assert!(!set(&[]).contains_text("8.8.8.8"));
    }
}

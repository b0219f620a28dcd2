//! AWS VPC Flow Log records.

use std::collections::VecDeque;

use fastrand::Rng;

use super::attacks::{self, Plan, PlantedAttack, Timeline};
use super::ids::{Weighted, exp_gap, hash_str, pareto, parse_ipv4, public_ipv4, push_ipv4};
use super::infra::{ACCOUNTS, Host, Role, Vpc, estate};
use super::json::push_u64;
use super::{FlowForm, GenConfig};

/// The S3 header line of the default format.
pub(crate) const V2_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
/// The S3 header line of the version 5 custom format.
pub(crate) const V5_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id flow-direction traffic-path";

/// Mean time between records unless a span is set: 100 records per second.
const DEFAULT_GAP_US: f64 = 10_000.0;

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;

/// Log status of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    NoData,
    SkipData,
}

/// One flow log record.
#[derive(Debug, Clone, Copy)]
struct Rec {
    /// Index of the interface in the VPC's hosts.
    host: usize,
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    proto: u8,
    packets: u64,
    bytes: u64,
    start: i64,
    end: i64,
    accept: bool,
    status: Status,
    flags: u8,
    pkt_src: u32,
    pkt_dst: u32,
    egress: bool,
    /// `traffic-path` (egress only).
    path: Option<u8>,
    /// The planted step this record belongs to.
    label: Option<usize>,
}

/// Kinds of background conversations.
#[derive(Debug, Clone, Copy)]
enum Conv {
    Dns,
    Internal(Role, u16),
    PodToPod,
    Kubelet,
    InternetHttps,
    S3Gateway,
    Endpoint,
    AlbInbound,
    AlbToPod,
    Scan,
    OfficeSsh,
    Ping,
    NoData,
}

/// A planted flow step.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// One probe of the port scan.
    Probe(u16),
    /// One minute of the exfiltration.
    Exfil,
    /// The attacker's SSH session to the bastion.
    Ssh,
}

/// Ports a scanner probes (nmap's most common, in its order).
const SCAN_PORTS: [u16; 100] = [
    80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993,
    5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179, 1026, 2000,
    8443, 8000, 32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666, 646, 5000, 5631,
    631, 49153, 8081, 2049, 88, 79, 5800, 106, 2121, 1110, 49155, 6000, 513, 990, 5357, 427, 49156,
    543, 544, 5101, 144, 7, 389, 8009, 3128, 444, 9999, 5009, 7070, 5190, 3000, 5432, 1900, 3986,
    13, 1029, 9, 5051, 6646, 49157, 1028, 873, 1755, 2717, 4899, 9100, 119, 37,
];

/// Well-known public endpoints workloads talk to (SaaS APIs, registries, package
/// mirrors).
const POPULAR: [&str; 24] = [
    "140.82.112.3",
    "140.82.113.4",
    "54.187.174.169",
    "54.187.216.72",
    "3.233.146.119",
    "3.233.146.120",
    "34.226.92.10",
    "142.250.72.106",
    "142.251.16.95",
    "151.101.0.223",
    "151.101.64.223",
    "44.205.64.79",
    "52.1.184.176",
    "172.65.32.248",
    "104.16.24.34",
    "104.18.32.68",
    "13.107.42.14",
    "35.186.224.25",
    "52.84.150.39",
    "99.84.238.118",
    "34.117.59.81",
    "185.199.108.133",
    "18.160.249.92",
    "13.224.14.37",
];

/// S3 public prefixes in us-east-1 reached through the gateway endpoint.
const S3_PREFIXES: [(u32, u32); 3] = [(52, 216), (3, 5), (54, 231)];

/// Streams realistic VPC flow log records (see the [module docs](super)). Same
/// configuration and count, same records.
#[derive(Debug)]
pub struct FlowGenerator {
    rng: Rng,
    vpc: &'static Vpc,
    origin_us: i64,
    clock_us: i64,
    mean_gap_us: f64,
    index: u64,
    total: u64,
    attacks: bool,
    plan: Plan<Step>,
    pending: VecDeque<Rec>,
    convs: Weighted<Conv>,
    popular: Vec<u32>,
    last: i64,
    /// Cached per-host indices by role.
    nodes: Vec<usize>,
    nat: Vec<usize>,
    public_facing: Vec<usize>,
    exfil_src: (usize, u32),
}

impl FlowGenerator {
    /// A generator of `total` records of the production VPC starting at
    /// `cfg.start_unix`, about 100 records a second.
    pub fn new(cfg: &GenConfig, total: u64) -> Self {
        Self::for_vpc(cfg, total, 0)
    }

    /// Like [`FlowGenerator::new`] for the staging VPC (account 527391846203); no
    /// attacks are planted there.
    pub fn staging(cfg: &GenConfig, total: u64) -> Self {
        Self::for_vpc(cfg, total, 1)
    }

    fn for_vpc(cfg: &GenConfig, total: u64, vpc_ix: usize) -> Self {
        let e = estate();
        let vpc = &e.vpcs[vpc_ix.min(e.vpcs.len() - 1)];
        let by_role = |r: Role| -> Vec<usize> {
            vpc.hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| h.role == r)
                .map(|(i, _)| i)
                .collect()
        };
        let nodes = by_role(Role::Node);
        let nat = by_role(Role::Nat);
        let mut public_facing = by_role(Role::Alb);
        public_facing.extend(by_role(Role::Bastion));
        public_facing.extend(by_role(Role::Nat));
        let exfil_src = e
            .workload(attacks::EXEC_NAMESPACE, "payments-api")
            .and_then(|w| w.pods.first())
            .map(|p| (p.node, p.ip))
            .unwrap_or((nodes.first().copied().unwrap_or(0), vpc.hosts[0].ip));
        let convs = Weighted::new([
            (180, Conv::Dns),
            (80, Conv::Internal(Role::Postgres, 5432)),
            (60, Conv::Internal(Role::Redis, 6379)),
            (20, Conv::Internal(Role::Mysql, 3306)),
            (100, Conv::PodToPod),
            (30, Conv::Kubelet),
            (140, Conv::InternetHttps),
            (60, Conv::S3Gateway),
            (40, Conv::Endpoint),
            (120, Conv::AlbInbound),
            (80, Conv::AlbToPod),
            (50, Conv::Scan),
            (8, Conv::OfficeSsh),
            (5, Conv::Ping),
            (25, Conv::NoData),
        ]);
        let mut g = FlowGenerator {
            rng: Rng::with_seed(cfg.seed ^ hash_str("vpcflow") ^ vpc_ix as u64),
            vpc,
            origin_us: cfg.start() * 1_000_000,
            clock_us: cfg.start() * 1_000_000,
            mean_gap_us: DEFAULT_GAP_US,
            index: 0,
            total,
            attacks: cfg.attacks && vpc_ix == 0,
            plan: Plan::empty(),
            pending: VecDeque::new(),
            convs,
            popular: POPULAR.iter().filter_map(|s| parse_ipv4(s)).collect(),
            last: cfg.start(),
            nodes,
            nat,
            public_facing,
            exfil_src,
        };
        g.schedule();
        g
    }

    /// Spreads the `total` records evenly (on average) over `secs` seconds.
    pub fn with_span_secs(mut self, secs: f64) -> Self {
        if secs > 0.0 && self.total > 0 {
            self.mean_gap_us = secs * 1e6 / self.total as f64;
        }
        self.schedule();
        self
    }

    /// Records left to write.
    pub fn remaining(&self) -> u64 {
        self.total - self.index
    }

    /// Unix seconds of the last record's `start` (the start time before any).
    pub fn last_time(&self) -> i64 {
        self.last
    }

    /// What has been planted in the records written so far.
    pub fn planted(&self) -> Vec<PlantedAttack> {
        self.plan.planted()
    }

    /// The account id that owns the VPC.
    pub fn account_id(&self) -> &'static str {
        ACCOUNTS[self.vpc.account].id
    }

    fn schedule(&mut self) {
        self.plan = Plan::empty();
        if !self.attacks || self.total < 1000 {
            return;
        }
        let gap_s = self.mean_gap_us / 1e6;
        let total = self.total as f64;
        let p = &mut self.plan;
        let scan = p.label(
            "vpcflow",
            "port-scan",
            "T1046",
            format!(
                "port scan of the bastion {} from {}: {} TCP ports probed with single SYN packets, REJECT",
                attacks::SCANNED_HOST_IP,
                attacks::SCANNER_IP,
                SCAN_PORTS.len()
            ),
            attacks::SCANNER_IP,
        );
        let ssh = p.label(
            "vpcflow",
            "leaked-access-key",
            "T1021.004",
            format!(
                "SSH to the bastion {} accepted from the cloud attacker {} after port 22 was opened to the internet",
                attacks::SCANNED_HOST_IP,
                attacks::CLOUD_ATTACKER_IP
            ),
            attacks::CLOUD_ATTACKER_IP,
        );
        let exfil = p.label(
            "vpcflow",
            "k8s-compromise",
            "T1048",
            format!(
                "large egress from the payments-api pod ({}) to new address {}:443, about 200 MB a minute for 25 minutes",
                super::ids::ipv4_string(self.exfil_src.1),
                attacks::EXFIL_DEST_IP
            ),
            attacks::EXFIL_DEST_IP,
        );
        let span_s = total * gap_s;
        let origin = self.origin_us;
        let scan_tl = Timeline::new(origin, span_s, 0.55, 100.0, 0.04);
        for (i, port) in SCAN_PORTS.iter().enumerate() {
            p.push(scan_tl.at(i as f64), scan, Step::Probe(*port));
        }
        // After the security group was opened in CloudTrail.
        let ssh_at = (super::cloudtrail::scenario_end_fraction(span_s) + 0.05).min(0.95);
        let ssh_tl = Timeline::new(origin, span_s, ssh_at, 1800.0, (0.99 - ssh_at) * 0.9);
        for i in 0..6 {
            p.push(ssh_tl.at(i as f64 * 300.0), ssh, Step::Ssh);
        }
        let exfil_tl = Timeline::new(origin, span_s, 0.82, 1500.0, 0.12);
        for i in 0..25 {
            p.push(exfil_tl.at(i as f64 * 60.0), exfil, Step::Exfil);
        }
        p.finish();
    }

    /// Appends the next record (no newline) in `form` to `buf`; false when all
    /// `total` records have been written.
    pub fn next_into(&mut self, buf: &mut Vec<u8>, form: FlowForm) -> bool {
        if self.index >= self.total {
            return false;
        }
        let left = self.total - self.index;
        self.index += 1;
        // The clock advances per record, so `total` records span `total` gaps; the
        // records of one conversation share its start time.
        self.clock_us += exp_gap(&mut self.rng, self.mean_gap_us) as i64;
        if left <= self.plan.steps_left() {
            // Only room for the planted steps left: drop queued background records.
            self.pending.retain(|r| r.label.is_some());
        }
        if self.pending.is_empty() {
            let t = self.clock_us.div_euclid(1_000_000);
            if let Some((label, &step)) = self.plan.due(self.clock_us, left) {
                let from = self.pending.len();
                self.attack(step, t);
                for r in self.pending.iter_mut().skip(from) {
                    r.label = Some(label);
                }
            } else {
                self.conversation(t);
            }
        }
        if let Some(r) = self.pending.pop_front() {
            self.last = r.start;
            if let Some(label) = r.label {
                self.plan.record(label, r.start);
            }
            self.write(buf, &r, form);
        }
        true
    }

    fn host(&self, i: usize) -> &'static Host {
        &self.vpc.hosts[i.min(self.vpc.hosts.len() - 1)]
    }

    fn pick(&mut self, from: &[usize]) -> usize {
        if from.is_empty() {
            0
        } else {
            from[self.rng.usize(..from.len())]
        }
    }

    fn hosts_with(&self, role: Role) -> Vec<usize> {
        self.vpc
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.role == role)
            .map(|(i, _)| i)
            .collect()
    }

    /// A workload address on node `n`: the node itself or one of its pods.
    fn endpoint_on(&mut self, n: usize) -> u32 {
        let h = self.host(n);
        if h.pod_ips.is_empty() || self.rng.u32(..4) == 0 {
            h.ip
        } else {
            h.pod_ips[self.rng.usize(..h.pod_ips.len())]
        }
    }

    fn ephemeral(&mut self) -> u16 {
        self.rng.u16(32768..61000)
    }

    /// `(client flags, server flags)` for a TCP connection seen in one window.
    fn tcp_flags(&mut self) -> (u8, u8) {
        match self.rng.u32(..100) {
            0..=49 => (3, 19),
            50..=84 => (0, 0),
            85..=94 => (2, 18),
            _ => (1, 1),
        }
    }

    fn times(&mut self, t: i64, long: bool) -> (i64, i64) {
        let d = if long {
            self.rng.i64(5..=59)
        } else {
            self.rng.i64(0..=4)
        };
        (t, t + d)
    }

    fn packets(&mut self, min: f64, alpha: f64, max: f64) -> u64 {
        pareto(&mut self.rng, min, alpha, max).max(1.0) as u64
    }

    fn bytes_for(&mut self, packets: u64, lo: u64, hi: u64) -> u64 {
        let mut b = 0;
        // Sum per-packet sizes for small flows, average them for large ones.
        if packets <= 8 {
            for _ in 0..packets {
                b += self.rng.u64(lo..=hi);
            }
            b
        } else {
            packets * self.rng.u64(lo..=hi)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rec(
        host: usize,
        src: u32,
        dst: u32,
        sport: u16,
        dport: u16,
        proto: u8,
        packets: u64,
        bytes: u64,
        (start, end): (i64, i64),
        flags: u8,
        egress: bool,
        path: Option<u8>,
    ) -> Rec {
        Rec {
            host,
            src,
            dst,
            sport,
            dport,
            proto,
            packets,
            bytes,
            start,
            end,
            accept: true,
            status: Status::Ok,
            flags,
            pkt_src: src,
            pkt_dst: dst,
            egress,
            path: if egress { path } else { None },
            label: None,
        }
    }

    /// A request/response pair seen on `host`'s interface (client side when
    /// `client_side`), optionally mirrored on the peer's interface.
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &mut self,
        t: i64,
        client_host: Option<usize>,
        server_host: Option<usize>,
        client: u32,
        server: u32,
        dport: u16,
        proto: u8,
        (req_pk, resp_pk): (u64, u64),
        (req_sz, resp_sz): ((u64, u64), (u64, u64)),
        long: bool,
        path_out: Option<u8>,
    ) {
        let sport = self.ephemeral();
        let (cf, sf) = if proto == TCP {
            self.tcp_flags()
        } else {
            (0, 0)
        };
        let when = self.times(t, long);
        let req_b = self.bytes_for(req_pk, req_sz.0, req_sz.1);
        let resp_b = self.bytes_for(resp_pk, resp_sz.0, resp_sz.1);
        if let Some(h) = client_host {
            let a = Self::rec(
                h, client, server, sport, dport, proto, req_pk, req_b, when, cf, true, path_out,
            );
            let b = Self::rec(
                h, server, client, dport, sport, proto, resp_pk, resp_b, when, sf, false, None,
            );
            self.pending.push_back(a);
            self.pending.push_back(b);
        }
        if let Some(h) = server_host {
            let a = Self::rec(
                h, client, server, sport, dport, proto, req_pk, req_b, when, cf, false, None,
            );
            let b = Self::rec(
                h,
                server,
                client,
                dport,
                sport,
                proto,
                resp_pk,
                resp_b,
                when,
                sf,
                true,
                Some(1),
            );
            self.pending.push_back(a);
            self.pending.push_back(b);
        }
    }

    fn conversation(&mut self, t: i64) {
        let conv = self.convs.pick(&mut self.rng).copied().unwrap_or(Conv::Dns);
        let nodes = self.nodes.clone();
        match conv {
            Conv::Dns => {
                let n = self.pick(&nodes);
                let c = self.endpoint_on(n);
                let q = self.rng.u64(1..=4);
                let resolver = self.vpc.resolver;
                self.exchange(
                    t,
                    Some(n),
                    None,
                    c,
                    resolver,
                    53,
                    UDP,
                    (q, q),
                    ((60, 110), (90, 320)),
                    false,
                    Some(1),
                );
            }
            Conv::Internal(role, port) => {
                let n = self.pick(&nodes);
                let c = self.endpoint_on(n);
                let servers = self.hosts_with(role);
                let s = self.pick(&servers);
                let server = self.host(s).ip;
                let req = self.packets(2.0, 1.2, 20_000.0);
                let resp = (req as f64 * (0.8 + self.rng.f64())) as u64 + 1;
                let mirror = self.rng.bool().then_some(s);
                self.exchange(
                    t,
                    Some(n),
                    mirror,
                    c,
                    server,
                    port,
                    TCP,
                    (req, resp),
                    ((60, 400), (80, 1400)),
                    true,
                    Some(1),
                );
            }
            Conv::PodToPod => {
                let a = self.pick(&nodes);
                let b = self.pick(&nodes);
                let c = self.endpoint_on(a);
                let s = self.endpoint_on(b);
                let port = *[8080u16, 8080, 8443, 9090, 3000, 50051, 8081]
                    .get(self.rng.usize(..7))
                    .unwrap_or(&8080);
                let req = self.packets(3.0, 1.3, 5_000.0);
                let resp = req + self.rng.u64(0..=req);
                let mirror = (a != b).then_some(b);
                self.exchange(
                    t,
                    Some(a),
                    mirror,
                    c,
                    s,
                    port,
                    TCP,
                    (req, resp),
                    ((66, 600), (66, 1400)),
                    true,
                    Some(1),
                );
            }
            Conv::Kubelet => {
                let n = self.pick(&nodes);
                let node_ip = self.host(n).ip;
                let cp = (172u32 << 24) | (16 << 16) | (50 << 8) | (10 + self.rng.u32(..4));
                let req = self.packets(4.0, 1.5, 400.0);
                self.exchange(
                    t,
                    None,
                    Some(n),
                    cp,
                    node_ip,
                    10250,
                    TCP,
                    (req, req + 2),
                    ((66, 300), (66, 1400)),
                    true,
                    None,
                );
            }
            Conv::InternetHttps => {
                let n = self.pick(&nodes);
                let c = self.endpoint_on(n);
                let dst = if self.rng.u32(..10) < 7 {
                    self.popular[self.rng.usize(..self.popular.len())]
                } else {
                    public_ipv4(&mut self.rng)
                };
                let req = self.packets(4.0, 1.4, 2_000.0);
                let resp = self.packets(4.0, 1.1, 200_000.0);
                self.exchange(
                    t,
                    Some(n),
                    None,
                    c,
                    dst,
                    443,
                    TCP,
                    (req, resp),
                    ((60, 500), (600, 1440)),
                    true,
                    Some(1),
                );
                // The NAT gateway's leg to the internet.
                if self.rng.u32(..3) == 0 && !self.nat.is_empty() {
                    let nat = self.pick(&self.nat.clone());
                    let nat_ip = self.host(nat).ip;
                    let sport = self.ephemeral();
                    let when = self.times(t, true);
                    let req_b = self.bytes_for(req, 60, 500);
                    let resp_b = self.bytes_for(resp, 600, 1440);
                    let a = Self::rec(
                        nat,
                        nat_ip,
                        dst,
                        sport,
                        443,
                        TCP,
                        req,
                        req_b,
                        when,
                        0,
                        true,
                        Some(8),
                    );
                    let b = Self::rec(
                        nat, dst, nat_ip, 443, sport, TCP, resp, resp_b, when, 0, false, None,
                    );
                    self.pending.push_back(a);
                    self.pending.push_back(b);
                }
            }
            Conv::S3Gateway => {
                let n = self.pick(&nodes);
                let c = self.endpoint_on(n);
                let (a, b) = S3_PREFIXES[self.rng.usize(..S3_PREFIXES.len())];
                let dst = (a << 24) | (b << 16) | (self.rng.u32(..256) << 8) | self.rng.u32(1..255);
                let req = self.packets(5.0, 1.1, 100_000.0);
                let resp = (req / 2).max(2);
                let (req, resp) = if self.rng.bool() {
                    (req, resp)
                } else {
                    (resp, req)
                };
                self.exchange(
                    t,
                    Some(n),
                    None,
                    c,
                    dst,
                    443,
                    TCP,
                    (req, resp),
                    ((60, 1440), (60, 1440)),
                    true,
                    Some(7),
                );
            }
            Conv::Endpoint => {
                let n = self.pick(&nodes);
                let c = self.endpoint_on(n);
                let eps = self.hosts_with(Role::Endpoint);
                let e = self.pick(&eps);
                let ip = self.host(e).ip;
                let req = self.packets(6.0, 1.5, 500.0);
                let mirror = self.rng.bool().then_some(e);
                self.exchange(
                    t,
                    Some(n),
                    mirror,
                    c,
                    ip,
                    443,
                    TCP,
                    (req, req + 3),
                    ((60, 700), (60, 1400)),
                    false,
                    Some(1),
                );
            }
            Conv::AlbInbound => {
                let albs = self.hosts_with(Role::Alb);
                let a = self.pick(&albs);
                let alb_ip = self.host(a).ip;
                let client = if self.rng.u32(..5) == 0 {
                    self.popular[self.rng.usize(..self.popular.len())] ^ 0x0000_0100
                } else {
                    public_ipv4(&mut self.rng)
                };
                let req = self.packets(5.0, 1.6, 800.0);
                let resp = (req as f64 * (1.0 + 2.0 * self.rng.f64())) as u64 + 2;
                self.exchange(
                    t,
                    None,
                    Some(a),
                    client,
                    alb_ip,
                    443,
                    TCP,
                    (req, resp),
                    ((60, 900), (60, 1440)),
                    true,
                    None,
                );
                if let Some(r) = self.pending.back_mut() {
                    r.path = Some(8);
                }
            }
            Conv::AlbToPod => {
                let albs = self.hosts_with(Role::Alb);
                let a = self.pick(&albs);
                let alb_ip = self.host(a).ip;
                let n = self.pick(&nodes);
                let pod = self.endpoint_on(n);
                let req = self.packets(4.0, 1.5, 900.0);
                let mirror = self.rng.bool().then_some(n);
                self.exchange(
                    t,
                    Some(a),
                    mirror,
                    alb_ip,
                    pod,
                    8080,
                    TCP,
                    (req, req * 2 + 1),
                    ((60, 900), (60, 1440)),
                    true,
                    Some(1),
                );
            }
            Conv::Scan => {
                let target = self.pick(&self.public_facing.clone());
                let h = self.host(target);
                let port = *[
                    22u16, 23, 445, 3389, 8080, 5900, 1433, 3306, 6379, 9200, 2375, 8443, 80, 21,
                    25,
                ]
                .get(self.rng.usize(..15))
                .unwrap_or(&23);
                let open = h.role == Role::Alb && matches!(port, 443 | 80);
                let src = public_ipv4(&mut self.rng);
                let sport = self.rng.u16(1024..65535);
                let icmp = self.rng.u32(..12) == 0;
                let packets = self.rng.u64(1..=2);
                let mut r = Self::rec(
                    target,
                    src,
                    h.ip,
                    if icmp { 0 } else { sport },
                    if icmp { 0 } else { port },
                    if icmp { ICMP } else { TCP },
                    packets,
                    packets * if icmp { 84 } else { 44 },
                    (t, t + self.rng.i64(0..=2)),
                    if icmp { 0 } else { 2 },
                    false,
                    None,
                );
                r.accept = open;
                self.pending.push_back(r);
            }
            Conv::OfficeSsh => {
                let bastions = self.hosts_with(Role::Bastion);
                let b = self.pick(&bastions);
                let ip = self.host(b).ip;
                let office = parse_ipv4("198.51.100.10").unwrap_or(0);
                let req = self.packets(20.0, 1.3, 5_000.0);
                self.exchange(
                    t,
                    None,
                    Some(b),
                    office,
                    ip,
                    22,
                    TCP,
                    (req, req + req / 3),
                    ((66, 200), (66, 600)),
                    true,
                    None,
                );
                if let Some(r) = self.pending.back_mut() {
                    r.path = Some(8);
                }
            }
            Conv::Ping => {
                let a = self.pick(&nodes);
                let b = self.pick(&nodes);
                let (sa, sb) = (self.host(a).ip, self.host(b).ip);
                let n = self.rng.u64(1..=10);
                let when = self.times(t, n > 4);
                let r1 = Self::rec(a, sa, sb, 0, 0, ICMP, n, n * 84, when, 0, true, Some(1));
                let r2 = Self::rec(a, sb, sa, 0, 0, ICMP, n, n * 84, when, 0, false, None);
                self.pending.push_back(r1);
                self.pending.push_back(r2);
            }
            Conv::NoData => {
                let h = self.rng.usize(..self.vpc.hosts.len());
                let mut r = Self::rec(
                    h,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    (t, t + self.rng.i64(55..=65)),
                    0,
                    false,
                    None,
                );
                r.status = if self.rng.u32(..10) == 0 {
                    Status::SkipData
                } else {
                    Status::NoData
                };
                self.pending.push_back(r);
            }
        }
    }

    fn attack(&mut self, step: Step, t: i64) {
        let bastion = self
            .vpc
            .hosts
            .iter()
            .position(|h| h.role == Role::Bastion)
            .unwrap_or(0);
        let bastion_ip = self.host(bastion).ip;
        match step {
            Step::Probe(port) => {
                let src = parse_ipv4(attacks::SCANNER_IP).unwrap_or(0);
                let mut r = Self::rec(
                    bastion,
                    src,
                    bastion_ip,
                    41_000 + (port % 7),
                    port,
                    TCP,
                    1,
                    44,
                    (t, t),
                    2,
                    false,
                    None,
                );
                r.accept = false;
                self.pending.push_back(r);
            }
            Step::Ssh => {
                let src = parse_ipv4(attacks::CLOUD_ATTACKER_IP).unwrap_or(0);
                let req = self.rng.u64(40..400);
                self.exchange(
                    t,
                    None,
                    Some(bastion),
                    src,
                    bastion_ip,
                    22,
                    TCP,
                    (req, req + req / 2),
                    ((66, 220), (66, 900)),
                    true,
                    None,
                );
                if let Some(r) = self.pending.back_mut() {
                    r.path = Some(8);
                }
            }
            Step::Exfil => {
                let (node, pod_ip) = self.exfil_src;
                let dst = parse_ipv4(attacks::EXFIL_DEST_IP).unwrap_or(0);
                let packets = self.rng.u64(130_000..170_000);
                let bytes = packets * self.rng.u64(1380..1440);
                let acks = packets / 2 + self.rng.u64(0..1000);
                let when = (t, t + 59);
                let a = Self::rec(
                    node,
                    pod_ip,
                    dst,
                    51_234,
                    443,
                    TCP,
                    packets,
                    bytes,
                    when,
                    0,
                    true,
                    Some(1),
                );
                let b = Self::rec(
                    node,
                    dst,
                    pod_ip,
                    443,
                    51_234,
                    TCP,
                    acks,
                    acks * 52,
                    when,
                    0,
                    false,
                    None,
                );
                self.pending.push_back(a);
                self.pending.push_back(b);
                if let Some(&nat) = self.nat.first() {
                    let nat_ip = self.host(nat).ip;
                    let c = Self::rec(
                        nat,
                        nat_ip,
                        dst,
                        27_816,
                        443,
                        TCP,
                        packets,
                        bytes,
                        when,
                        0,
                        true,
                        Some(8),
                    );
                    self.pending.push_back(c);
                }
            }
        }
    }

    fn write(&self, b: &mut Vec<u8>, r: &Rec, form: FlowForm) {
        let h = self.host(r.host);
        let v5 = form == FlowForm::V5Custom;
        b.extend_from_slice(if v5 { b"5 " } else { b"2 " });
        b.extend_from_slice(ACCOUNTS[self.vpc.account].id.as_bytes());
        b.push(b' ');
        b.extend_from_slice(h.eni.as_bytes());
        let data = r.status == Status::Ok;
        if data {
            for ip in [r.src, r.dst] {
                b.push(b' ');
                push_ipv4(b, ip);
            }
            for n in [
                r.sport as u64,
                r.dport as u64,
                r.proto as u64,
                r.packets,
                r.bytes,
            ] {
                b.push(b' ');
                push_u64(b, n);
            }
        } else {
            b.extend_from_slice(b" - - - - - - -");
        }
        b.push(b' ');
        push_u64(b, r.start as u64);
        b.push(b' ');
        push_u64(b, r.end as u64);
        b.extend_from_slice(match (data, r.accept) {
            (false, _) => b" -",
            (true, true) => b" ACCEPT",
            (true, false) => b" REJECT",
        });
        b.extend_from_slice(match r.status {
            Status::Ok => b" OK",
            Status::NoData => b" NODATA",
            Status::SkipData => b" SKIPDATA",
        });
        if !v5 {
            return;
        }
        let subnet = &self.vpc.subnets[h.subnet.min(self.vpc.subnets.len() - 1)];
        b.push(b' ');
        b.extend_from_slice(self.vpc.id.as_bytes());
        b.push(b' ');
        b.extend_from_slice(subnet.id.as_bytes());
        b.push(b' ');
        b.extend_from_slice(h.instance.as_deref().unwrap_or("-").as_bytes());
        if data {
            b.push(b' ');
            push_u64(b, r.flags as u64);
            b.extend_from_slice(b" IPv4 ");
            push_ipv4(b, r.pkt_src);
            b.push(b' ');
            push_ipv4(b, r.pkt_dst);
        } else {
            b.extend_from_slice(b" - - - -");
        }
        b.push(b' ');
        b.extend_from_slice(self.vpc.region.as_bytes());
        b.push(b' ');
        b.extend_from_slice(subnet.az_id.as_bytes());
        if data {
            b.extend_from_slice(if r.egress { b" egress " } else { b" ingress " });
            match r.path {
                Some(p) => push_u64(b, p as u64),
                None => b.push(b'-'),
            }
        } else {
            b.extend_from_slice(b" - -");
        }
    }
}

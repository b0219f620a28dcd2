//! The fixed, made-up estate every generator draws from: AWS accounts, VPCs,
//! subnets, EC2 instances and other network interfaces, the EKS cluster's nodes,
//! namespaces, workloads and pods. Sharing it keeps ids consistent across sources
//! (an instance in a flow log is the node in the audit log and the host in a Falco
//! alert). It does not depend on the seed: the same estate every run.

use std::sync::OnceLock;

use super::attacks;
use super::ids::{ec2_id, hash_str, hex_of, ipv4_string, k8s_suffix_of, mix, parse_ipv4};

/// An AWS account of the estate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Account {
    /// The 12-digit account id.
    pub id: &'static str,
    /// The account-specific characters AWS puts after the 4-letter prefix of access
    /// key ids and unique ids of that account.
    pub code: &'static str,
    /// The short name used in resource names.
    pub env: &'static str,
}

/// Production (where the attacks happen).
pub(crate) const PROD: usize = 0;
/// Staging.
pub(crate) const STAGING: usize = 1;
/// Security tooling (cross-account auditors).
pub(crate) const SECURITY: usize = 2;

/// The accounts of the estate.
pub(crate) const ACCOUNTS: [Account; 3] = [
    Account {
        id: attacks::PROD_ACCOUNT_ID,
        code: "WB5RZ3QX",
        env: "prod",
    },
    Account {
        id: "527391846203",
        code: "KQ7HLM2T",
        env: "staging",
    },
    Account {
        id: "639402957314",
        code: "R4ZNEV6C",
        env: "security",
    },
];

/// What a network interface belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An EKS worker node (pods get secondary addresses on it).
    Node,
    /// The SSH bastion in a public subnet.
    Bastion,
    /// A NAT gateway.
    Nat,
    /// An Application Load Balancer node.
    Alb,
    /// RDS PostgreSQL.
    Postgres,
    /// A legacy MySQL instance.
    Mysql,
    /// ElastiCache Redis.
    Redis,
    /// An interface VPC endpoint (sts, ecr, kms, ...).
    Endpoint,
}

/// A subnet.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    pub id: String,
    pub az: &'static str,
    pub az_id: &'static str,
}

/// A network interface (and the instance it is attached to, if any).
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub role: Role,
    pub eni: String,
    pub instance: Option<String>,
    pub ip: u32,
    pub ip_text: String,
    pub subnet: usize,
    /// Addresses of pods on this node (EKS VPC CNI secondary addresses).
    pub pod_ips: Vec<u32>,
    /// The EC2 private DNS name (`ip-10-20-33-12.ec2.internal`), the Kubernetes node name.
    pub dns: String,
}

/// A VPC with its subnets and interfaces.
#[derive(Debug, Clone)]
pub(crate) struct Vpc {
    pub account: usize,
    pub id: String,
    pub region: &'static str,
    pub subnets: Vec<Subnet>,
    pub hosts: Vec<Host>,
    /// The VPC's DNS resolver (`.2`).
    pub resolver: u32,
    /// Elastic IPs of the NAT gateways (what the internet and CloudTrail see).
    pub nat_eips: Vec<String>,
    /// Security groups: (id, name).
    pub security_groups: Vec<(String, &'static str)>,
}

/// A Kubernetes workload and its pods.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub namespace: &'static str,
    pub name: &'static str,
    pub image: String,
    pub service_account: &'static str,
    pub port: u16,
    pub pods: Vec<Pod>,
}

/// A running pod.
#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub name: String,
    pub uid: String,
    /// Index of the node in the prod VPC's hosts.
    pub node: usize,
    pub ip: u32,
    pub container_id: String,
}

/// The whole estate.
#[derive(Debug)]
pub(crate) struct Estate {
    pub vpcs: Vec<Vpc>,
    pub workloads: Vec<Workload>,
    /// Indices of the EKS nodes in `vpcs[0].hosts`.
    pub nodes: Vec<usize>,
}

impl Estate {
    /// The prod VPC (where the cluster and the attacks are).
    pub fn prod(&self) -> &Vpc {
        &self.vpcs[0]
    }

    /// The EKS node hosts of the prod VPC.
    pub fn node_hosts(&self) -> impl Iterator<Item = &Host> {
        self.nodes.iter().filter_map(|&i| self.prod().hosts.get(i))
    }

    /// A workload by namespace and name.
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .iter()
            .find(|w| w.namespace == namespace && w.name == name)
    }
}

/// The estate (built once).
pub(crate) fn estate() -> &'static Estate {
    static E: OnceLock<Estate> = OnceLock::new();
    E.get_or_init(build)
}

fn ip(a: u32, b: u32, c: u32, d: u32) -> u32 {
    (a << 24) | (b << 16) | (c << 8) | d
}

/// The EC2 private DNS name of an address in us-east-1.
pub(crate) fn ec2_dns(addr: u32) -> String {
    let s = ipv4_string(addr).replace('.', "-");
    format!("ip-{s}.ec2.internal")
}

fn host(vpc_seed: u64, n: u64, role: Role, subnet: usize, addr: u32, instance: bool) -> Host {
    let seed = vpc_seed ^ mix(n + 1000);
    Host {
        role,
        eni: ec2_id("eni", seed),
        instance: instance.then(|| ec2_id("i", seed ^ 1)),
        ip: addr,
        ip_text: ipv4_string(addr),
        subnet,
        pod_ips: Vec::new(),
        dns: ec2_dns(addr),
    }
}

fn build_vpc(account: usize, second_octet: u32, nodes: u32, seed: u64) -> Vpc {
    let azs = [
        ("us-east-1a", "use1-az1"),
        ("us-east-1b", "use1-az2"),
        ("us-east-1c", "use1-az4"),
    ];
    let mut subnets = Vec::new();
    // 0..3 public, 3..6 private, 6..8 data.
    for (i, (az, az_id)) in azs.iter().enumerate() {
        subnets.push(Subnet {
            id: ec2_id("subnet", seed ^ mix(10 + i as u64)),
            az,
            az_id,
        });
    }
    for (i, (az, az_id)) in azs.iter().enumerate() {
        subnets.push(Subnet {
            id: ec2_id("subnet", seed ^ mix(20 + i as u64)),
            az,
            az_id,
        });
    }
    for (i, (az, az_id)) in azs.iter().take(2).enumerate() {
        subnets.push(Subnet {
            id: ec2_id("subnet", seed ^ mix(30 + i as u64)),
            az,
            az_id,
        });
    }
    let o = second_octet;
    let mut hosts = Vec::new();
    let mut n = 0u64;
    let mut next = |role, subnet, addr, inst| {
        n += 1;
        host(seed, n, role, subnet, addr, inst)
    };
    for k in 0..nodes {
        let az = (k % 3) as usize;
        let third = 32 + 16 * az as u32 + 1 + (k / 3) % 15;
        let fourth = 10 + (mix(seed ^ k as u64) % 240) as u32;
        let mut h = next(Role::Node, 3 + az, ip(10, o, third, fourth), true);
        h.pod_ips = (0..10)
            .map(|p| ip(10, o, third, (fourth + 1 + p * 7) % 250 + 3))
            .collect();
        hosts.push(h);
    }
    hosts.push(next(Role::Bastion, 0, ip(10, o, 0, 24), true));
    hosts.push(next(Role::Nat, 0, ip(10, o, 0, 137), false));
    hosts.push(next(Role::Nat, 1, ip(10, o, 1, 201), false));
    for az in 0..3u32 {
        hosts.push(next(
            Role::Alb,
            az as usize,
            ip(10, o, az, 60 + az * 11),
            false,
        ));
    }
    hosts.push(next(Role::Postgres, 6, ip(10, o, 96, 45), false));
    hosts.push(next(Role::Mysql, 6, ip(10, o, 96, 80), true));
    hosts.push(next(Role::Redis, 7, ip(10, o, 97, 12), false));
    hosts.push(next(Role::Endpoint, 3, ip(10, o, 40, 5), false));
    hosts.push(next(Role::Endpoint, 4, ip(10, o, 56, 9), false));
    let nat_eips = vec![
        ipv4_string(ip(3, 214, 87 + second_octet % 7, 19)),
        ipv4_string(ip(52, 1, 190 + second_octet % 5, 231)),
    ];
    let sg_names = [
        "eks-cluster-sg-prod",
        "eks-node-sg",
        "bastion-ssh",
        "alb-public-https",
        "rds-postgres",
        "redis",
        "default",
    ];
    let security_groups = sg_names
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let id = if account == PROD && name == "bastion-ssh" {
                attacks::OPENED_SECURITY_GROUP.to_string()
            } else {
                ec2_id("sg", seed ^ mix(50 + i as u64))
            };
            (id, name)
        })
        .collect();
    Vpc {
        account,
        id: ec2_id("vpc", seed),
        region: "us-east-1",
        subnets,
        hosts,
        resolver: ip(10, o, 0, 2),
        nat_eips,
        security_groups,
    }
}

struct WorkloadSpec {
    ns: &'static str,
    name: &'static str,
    image: &'static str,
    sa: &'static str,
    port: u16,
    replicas: usize,
}

const ECR: &str = "418273650912.dkr.ecr.us-east-1.amazonaws.com";
const EKS_ECR: &str = "602401143452.dkr.ecr.us-east-1.amazonaws.com";

fn specs() -> Vec<WorkloadSpec> {
    let w = |ns, name, image, sa, port, replicas| WorkloadSpec {
        ns,
        name,
        image,
        sa,
        port,
        replicas,
    };
    vec![
        w(
            "shop",
            "frontend",
            "@/shop/frontend:2.31.0",
            "frontend",
            8080,
            4,
        ),
        w("shop", "cart", "@/shop/cart:1.14.2", "cart", 8080, 3),
        w(
            "shop",
            "catalog",
            "@/shop/catalog:3.2.7",
            "catalog",
            8080,
            3,
        ),
        w("shop", "orders", "@/shop/orders:5.0.3", "orders", 8080, 3),
        w(
            "payments",
            "payments-api",
            "@/payments/payments-api:4.8.1",
            "payments-api",
            8443,
            3,
        ),
        w(
            "payments",
            "ledger-worker",
            "@/payments/ledger-worker:1.9.0",
            "ledger",
            9090,
            2,
        ),
        w(
            "monitoring",
            "prometheus-server",
            "quay.io/prometheus/prometheus:v2.52.0",
            "prometheus",
            9090,
            1,
        ),
        w(
            "monitoring",
            "grafana",
            "docker.io/grafana/grafana:10.4.2",
            "grafana",
            3000,
            1,
        ),
        w(
            "monitoring",
            "kube-state-metrics",
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",
            "kube-state-metrics",
            8080,
            1,
        ),
        w(
            "kube-system",
            "coredns",
            "#/eks/coredns:v1.11.1-eksbuild.9",
            "coredns",
            53,
            2,
        ),
        w(
            "kube-system",
            "metrics-server",
            "registry.k8s.io/metrics-server/metrics-server:v0.7.1",
            "metrics-server",
            10250,
            1,
        ),
        w(
            "kube-system",
            "ebs-csi-controller",
            "#/eks/aws-ebs-csi-driver:v1.30.0",
            "ebs-csi-controller-sa",
            9808,
            2,
        ),
        w(
            "argocd",
            "argocd-server",
            "quay.io/argoproj/argocd:v2.11.3",
            "argocd-server",
            8080,
            1,
        ),
        w(
            "argocd",
            "argocd-application-controller",
            "quay.io/argoproj/argocd:v2.11.3",
            "argocd-application-controller",
            8082,
            1,
        ),
        w(
            "argocd",
            "argocd-repo-server",
            "quay.io/argoproj/argocd:v2.11.3",
            "argocd-repo-server",
            8081,
            1,
        ),
        w(
            "karpenter",
            "karpenter",
            "public.ecr.aws/karpenter/controller:0.36.1",
            "karpenter",
            8000,
            2,
        ),
        w(
            "ingress-nginx",
            "ingress-nginx-controller",
            "registry.k8s.io/ingress-nginx/controller:v1.10.1",
            "ingress-nginx",
            443,
            2,
        ),
        w(
            "cert-manager",
            "cert-manager",
            "quay.io/jetstack/cert-manager-controller:v1.14.5",
            "cert-manager",
            9402,
            1,
        ),
        w(
            "ci",
            "jenkins-agent",
            "docker.io/jenkins/inbound-agent:3248.v65ecb_254c298-1",
            "jenkins-deployer",
            50000,
            1,
        ),
    ]
}

fn build() -> Estate {
    let prod = build_vpc(PROD, 20, 9, hash_str("vpc-prod"));
    let staging = build_vpc(STAGING, 40, 3, hash_str("vpc-staging"));
    let nodes: Vec<usize> = prod
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.role == Role::Node)
        .map(|(i, _)| i)
        .collect();
    let mut workloads = Vec::new();
    let mut pod_no = 0usize;
    for s in specs() {
        let seed = hash_str(s.name) ^ hash_str(s.ns);
        let rs_hash = if s.name == "payments-api" {
            attacks::EXEC_POD_RS_HASH.to_string()
        } else {
            k8s_suffix_of(seed, 9)
        };
        let mut pods = Vec::new();
        for r in 0..s.replicas {
            let name = if s.name == "payments-api" && r == 0 {
                attacks::EXEC_POD.to_string()
            } else if s.name == "argocd-application-controller" {
                format!("{}-{r}", s.name)
            } else {
                format!(
                    "{}-{rs_hash}-{}",
                    s.name,
                    k8s_suffix_of(seed ^ mix(r as u64 + 1), 5)
                )
            };
            let node_slot = nodes
                .get(pod_no % nodes.len().max(1))
                .copied()
                .unwrap_or_default();
            let ip = prod
                .hosts
                .get(node_slot)
                .and_then(|h| h.pod_ips.get((pod_no / nodes.len().max(1)) % 10))
                .copied()
                .unwrap_or_else(|| parse_ipv4("10.20.32.10").unwrap_or_default());
            pods.push(Pod {
                uid: super::ids::uuid_of(seed ^ mix(r as u64 + 77)),
                container_id: if name == attacks::EXEC_POD {
                    attacks::EXEC_CONTAINER_ID.to_string()
                } else {
                    hex_of(seed ^ mix(r as u64 + 99), 12)
                },
                name,
                node: node_slot,
                ip,
            });
            pod_no += 1;
        }
        let image = s.image.replacen('@', ECR, 1).replacen('#', EKS_ECR, 1);
        workloads.push(Workload {
            namespace: s.ns,
            name: s.name,
            image,
            service_account: s.sa,
            port: s.port,
            pods,
        });
    }
    Estate {
        vpcs: vec![prod, staging],
        workloads,
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estate_has_the_attack_targets_and_consistent_addresses() {
        let e = estate();
        let prod = e.prod();
        assert_eq!(e.nodes.len(), 9);
        assert!(
            prod.hosts
                .iter()
                .any(|h| h.role == Role::Bastion && h.ip_text == attacks::SCANNED_HOST_IP)
        );
        let p = e
            .workload("payments", "payments-api")
            .and_then(|w| w.pods.first())
            .expect("payments-api pod");
        assert_eq!(p.name, attacks::EXEC_POD);
        for h in &prod.hosts {
            assert!(h.ip_text.starts_with("10.20."), "{}", h.ip_text);
            assert!(h.subnet < prod.subnets.len());
        }
        let mut enis: Vec<_> = prod.hosts.iter().map(|h| &h.eni).collect();
        enis.sort();
        enis.dedup();
        assert_eq!(enis.len(), prod.hosts.len(), "unique ENIs");
    }
}

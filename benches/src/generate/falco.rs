//! Falco alerts (`json_output: true`) from the estate's EKS nodes.

use fastrand::Rng;

use super::GenConfig;
use super::attacks::{self, Plan, PlantedAttack, Timeline};
use super::ids::{Weighted, exp_gap, hash_str, ipv4_string, push_uuid};
use super::infra::{Pod, Workload, estate};
use super::json::{Out, push_i64};
use super::k8s;
use super::time::{push_clock_nanos, push_rfc3339_nanos};

/// Mean time between alerts unless a span is set: one every 5 seconds.
const DEFAULT_GAP_NS: f64 = 5e9;

/// A Falco rule as the default rules files define it.
#[derive(Debug)]
struct Rule {
    name: &'static str,
    priority: &'static str,
    /// Tags, sorted as Falco writes them.
    tags: &'static [&'static str],
    msg: &'static str,
    /// Rule-specific `label=%field` pairs before the common ones.
    fields: &'static [(&'static str, &'static str)],
}

/// `evt_type=%evt.type user=%user.name ... terminal=%proc.tty` (every rule).
const COMMON: [(&str, &str); 9] = [
    ("evt_type", "evt.type"),
    ("user", "user.name"),
    ("user_uid", "user.uid"),
    ("user_loginuid", "user.loginuid"),
    ("process", "proc.name"),
    ("proc_exepath", "proc.exepath"),
    ("parent", "proc.pname"),
    ("command", "proc.cmdline"),
    ("terminal", "proc.tty"),
];
/// Container and Kubernetes fields appended to every output.
const APPENDED: [(&str, &str); 6] = [
    ("container_id", "container.id"),
    ("container_name", "container.name"),
    ("container_image_repository", "container.image.repository"),
    ("container_image_tag", "container.image.tag"),
    ("k8s_pod_name", "k8s.pod.name"),
    ("k8s_ns_name", "k8s.ns.name"),
];

const NET: &[(&str, &str)] = &[
    ("connection", "fd.name"),
    ("lport", "fd.lport"),
    ("rport", "fd.rport"),
    ("fd_type", "fd.type"),
    ("fd_proto", "fd.l4proto"),
];

const K8S_API: Rule = Rule {
    name: "Contact K8S API Server From Container",
    priority: "Notice",
    tags: &[
        "T1565",
        "container",
        "k8s",
        "maturity_stable",
        "mitre_discovery",
        "network",
    ],
    msg: "Unexpected connection to K8s API Server from container",
    fields: NET,
};
const SHELL: Rule = Rule {
    name: "Terminal shell in container",
    priority: "Notice",
    tags: &[
        "T1059",
        "container",
        "maturity_stable",
        "mitre_execution",
        "shell",
    ],
    msg: "A shell was spawned in a container with an attached terminal",
    fields: &[],
};
const SENSITIVE: Rule = Rule {
    name: "Read sensitive file untrusted",
    priority: "Warning",
    tags: &[
        "T1555",
        "container",
        "filesystem",
        "host",
        "maturity_stable",
        "mitre_credential_access",
    ],
    msg: "Sensitive file opened for reading by non-trusted program",
    fields: &[
        ("file", "fd.name"),
        ("gparent", "proc.aname[2]"),
        ("ggparent", "proc.aname[3]"),
        ("gggparent", "proc.aname[4]"),
    ],
};
const PKG_MGMT: Rule = Rule {
    name: "Launch Package Management Process in Container",
    priority: "Error",
    tags: &[
        "T1505",
        "container",
        "maturity_incubating",
        "mitre_persistence",
        "process",
        "software_mgmt",
    ],
    msg: "Package management process launched in container",
    fields: &[],
};
const DROP_EXEC: Rule = Rule {
    name: "Drop and execute new binary in container",
    priority: "Critical",
    tags: &[
        "PCI_DSS_11.5.1",
        "TA0003",
        "container",
        "maturity_stable",
        "mitre_persistence",
        "process",
    ],
    msg: "Executing binary not part of base image",
    fields: &[
        ("proc_exe", "proc.exe"),
        ("proc_sname", "proc.sname"),
        ("gparent", "proc.aname[2]"),
        ("proc_exe_ino_ctime", "proc.exe_ino.ctime"),
        ("proc_exe_ino_mtime", "proc.exe_ino.mtime"),
        (
            "proc_exe_ino_ctime_duration_proc_start",
            "proc.exe_ino.ctime_duration_proc_start",
        ),
        ("proc_cwd", "proc.cwd"),
        ("container_start_ts", "container.start_ts"),
    ],
};
const IMDS: Rule = Rule {
    name: "Contact EC2 Instance Metadata Service From Container",
    priority: "Notice",
    tags: &[
        "T1552.005",
        "aws",
        "container",
        "maturity_incubating",
        "mitre_credential_access",
        "network",
    ],
    msg: "Outbound connection to EC2 instance metadata service",
    fields: NET,
};
const PRIVILEGED: Rule = Rule {
    name: "Launch Privileged Container",
    priority: "Informational",
    tags: &[
        "PCI_DSS_10.2.5",
        "T1610",
        "cis",
        "container",
        "maturity_incubating",
        "mitre_execution",
    ],
    msg: "Privileged container started",
    fields: &[],
};
const CLEAR_LOG: Rule = Rule {
    name: "Clear Log Activities",
    priority: "Warning",
    tags: &[
        "NIST_800-53_AU-10",
        "T1070",
        "container",
        "filesystem",
        "host",
        "maturity_stable",
        "mitre_defense_evasion",
    ],
    msg: "Log files were tampered",
    fields: &[("file", "fd.name")],
};
const SEARCH_KEYS: Rule = Rule {
    name: "Search Private Keys or Passwords",
    priority: "Warning",
    tags: &[
        "T1552.001",
        "container",
        "filesystem",
        "host",
        "maturity_stable",
        "mitre_credential_access",
        "process",
    ],
    msg: "Grep private keys or passwords activities found",
    fields: &[],
};
const REDIRECT: Rule = Rule {
    name: "Redirect STDOUT/STDIN to Network Connection in Container",
    priority: "Notice",
    tags: &[
        "T1059",
        "container",
        "maturity_stable",
        "mitre_execution",
        "network",
        "process",
    ],
    msg: "Redirect stdout/stdin to network connection",
    fields: &[
        ("gparent", "proc.aname[2]"),
        ("ggparent", "proc.aname[3]"),
        ("gggparent", "proc.aname[4]"),
        ("fd.sip", "fd.sip"),
        ("connection", "fd.name"),
        ("lport", "fd.lport"),
        ("rport", "fd.rport"),
        ("fd_type", "fd.type"),
        ("fd_proto", "fd.l4proto"),
    ],
};

/// A field value.
#[derive(Debug, Clone)]
enum Val {
    S(String),
    I(i64),
    Null,
}

fn s(v: impl Into<String>) -> Val {
    Val::S(v.into())
}

/// Background alert kinds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    K8sApi,
    Shell,
    Sensitive,
    PkgMgmt,
    DropExec,
    Imds,
    Privileged,
    ClearLog,
    SearchKeys,
}

/// Planted alerts.
#[derive(Debug, Clone, Copy)]
enum Step {
    Shell,
    Shadow,
    ReverseShell,
    PrivilegedPod,
}

/// Streams realistic Falco alerts (see the [module docs](super)). Same configuration
/// and count, same alerts.
#[derive(Debug)]
pub struct FalcoGenerator {
    rng: Rng,
    origin_us: i64,
    clock_ns: i64,
    mean_gap_ns: f64,
    index: u64,
    total: u64,
    attacks: bool,
    plan: Plan<Step>,
    kinds: Weighted<Kind>,
    fields: Vec<(&'static str, Val)>,
    last: i64,
}

impl FalcoGenerator {
    /// A generator of `total` alerts starting at `cfg.start_unix`, about one every 5
    /// seconds.
    pub fn new(cfg: &GenConfig, total: u64) -> Self {
        let kinds = Weighted::new([
            (30, Kind::K8sApi),
            (10, Kind::Shell),
            (8, Kind::Sensitive),
            (15, Kind::PkgMgmt),
            (8, Kind::DropExec),
            (12, Kind::Imds),
            (10, Kind::Privileged),
            (4, Kind::ClearLog),
            (3, Kind::SearchKeys),
        ]);
        let mut g = FalcoGenerator {
            rng: Rng::with_seed(cfg.seed ^ hash_str("falco")),
            origin_us: cfg.start() * 1_000_000,
            clock_ns: cfg.start() * 1_000_000_000,
            mean_gap_ns: DEFAULT_GAP_NS,
            index: 0,
            total,
            attacks: cfg.attacks,
            plan: Plan::empty(),
            kinds,
            fields: Vec::with_capacity(32),
            last: cfg.start(),
        };
        g.schedule();
        g
    }

    /// Spreads the `total` alerts evenly (on average) over `secs` seconds.
    pub fn with_span_secs(mut self, secs: f64) -> Self {
        if secs > 0.0 && self.total > 0 {
            self.mean_gap_ns = secs * 1e9 / self.total as f64;
        }
        self.schedule();
        self
    }

    /// Alerts left to write.
    pub fn remaining(&self) -> u64 {
        self.total - self.index
    }

    /// Unix seconds of the last alert (the start before any).
    pub fn last_time(&self) -> i64 {
        self.last
    }

    /// What has been planted in the alerts written so far.
    pub fn planted(&self) -> Vec<PlantedAttack> {
        self.plan.planted()
    }

    fn schedule(&mut self) {
        self.plan = Plan::empty();
        if !self.attacks || self.total < 40 {
            return;
        }
        let p = &mut self.plan;
        let shell = p.label(
            "falco",
            "k8s-compromise",
            "T1059",
            format!(
                "Terminal shell in container: sh in {}/{}",
                attacks::EXEC_NAMESPACE,
                attacks::EXEC_POD
            ),
            attacks::EXEC_POD,
        );
        let shadow = p.label(
            "falco",
            "k8s-compromise",
            "T1555",
            format!(
                "Read sensitive file untrusted: /etc/shadow read by cat in container {}",
                attacks::EXEC_CONTAINER_ID
            ),
            attacks::EXEC_CONTAINER_ID,
        );
        let reverse = p.label(
            "falco",
            "k8s-compromise",
            "T1059",
            format!(
                "Redirect STDOUT/STDIN to Network Connection in Container: reverse shell to {}:{}",
                attacks::K8S_ATTACKER_IP,
                attacks::REVERSE_SHELL_PORT
            ),
            format!(
                "{}:{}",
                attacks::K8S_ATTACKER_IP,
                attacks::REVERSE_SHELL_PORT
            ),
        );
        let privileged = p.label(
            "falco",
            "k8s-compromise",
            "T1610",
            format!(
                "Launch Privileged Container: kube-system/{} (nsenter into the host)",
                attacks::PRIVILEGED_POD
            ),
            attacks::PRIVILEGED_POD,
        );
        // The Kubernetes audit scenario's timeline: the alerts follow the audited
        // requests by a second or so.
        let span_s = self.total as f64 * self.mean_gap_ns / 1e9;
        let tl = Timeline::new(
            self.origin_us,
            span_s,
            k8s::SCENARIO_AT,
            k8s::SCENARIO_SECS,
            k8s::SCENARIO_ROOM,
        );
        let steps = [
            (202.0, Step::Shell, shell),
            (230.0, Step::Shadow, shadow),
            (260.0, Step::ReverseShell, reverse),
            (402.0, Step::PrivilegedPod, privileged),
        ];
        for (secs, step, label) in steps {
            p.push(tl.at(secs), label, step);
        }
        p.finish();
    }

    /// Appends the next alert's JSON (no newline) to `buf`; false when all `total`
    /// alerts have been written.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.index >= self.total {
            return false;
        }
        let left = self.total - self.index;
        self.index += 1;
        self.clock_ns += exp_gap(&mut self.rng, self.mean_gap_ns) as i64 + 1;
        self.last = self.clock_ns.div_euclid(1_000_000_000);
        self.fields.clear();
        let (rule, host) = match self.plan.due(self.clock_ns.div_euclid(1000), left) {
            Some((label, &step)) => {
                self.plan.record(label, self.last);
                self.attack(step)
            }
            None => self.background(),
        };
        self.write(buf, rule, &host);
        true
    }

    fn common(&mut self, evt: &str, user: (&str, i64), proc_: (&str, &str, &str, &str), tty: i64) {
        let (name, exe, parent, cmd) = proc_;
        self.fields.push(("evt.type", s(evt)));
        self.fields.push(("user.name", s(user.0)));
        self.fields.push(("user.uid", Val::I(user.1)));
        self.fields.push(("user.loginuid", Val::I(-1)));
        self.fields.push(("proc.name", s(name)));
        self.fields.push(("proc.exepath", s(exe)));
        self.fields.push(("proc.pname", s(parent)));
        self.fields.push(("proc.cmdline", s(cmd)));
        self.fields.push(("proc.tty", Val::I(tty)));
    }

    fn container(&mut self, wl: Option<(&Workload, &Pod)>) {
        match wl {
            Some((w, p)) => {
                let (repo, tag) = w.image.rsplit_once(':').unwrap_or((&w.image, "latest"));
                self.fields
                    .push(("container.id", s(p.container_id.as_str())));
                self.fields.push(("container.name", s(w.name)));
                self.fields.push(("container.image.repository", s(repo)));
                self.fields.push(("container.image.tag", s(tag)));
                self.fields.push(("k8s.pod.name", s(p.name.as_str())));
                self.fields.push(("k8s.ns.name", s(w.namespace)));
            }
            None => {
                self.fields.push(("container.id", s("host")));
                self.fields.push(("container.name", s("host")));
                self.fields.push(("container.image.repository", Val::Null));
                self.fields.push(("container.image.tag", Val::Null));
                self.fields.push(("k8s.pod.name", Val::Null));
                self.fields.push(("k8s.ns.name", Val::Null));
            }
        }
    }

    fn pod_in(&mut self, ns: &str, name: &str) -> Option<(&'static Workload, &'static Pod)> {
        let w = estate().workload(ns, name)?;
        let p = w.pods.get(self.rng.usize(..w.pods.len().max(1)))?;
        Some((w, p))
    }

    fn host_of(p: Option<&Pod>) -> String {
        let e = estate();
        p.and_then(|p| e.prod().hosts.get(p.node))
            .or_else(|| e.node_hosts().next())
            .map(|h| h.dns.clone())
            .unwrap_or_default()
    }

    fn background(&mut self) -> (&'static Rule, String) {
        let kind = self
            .kinds
            .pick(&mut self.rng)
            .copied()
            .unwrap_or(Kind::K8sApi);
        let e = estate();
        match kind {
            Kind::K8sApi => {
                let (ns, w, proc_) = [
                    (
                        "monitoring",
                        "kube-state-metrics",
                        (
                            "kube-state-metr",
                            "/kube-state-metrics",
                            "containerd-shim",
                            "/kube-state-metrics --port=8080 --telemetry-port=8081",
                        ),
                    ),
                    (
                        "argocd",
                        "argocd-application-controller",
                        (
                            "argocd-applicat",
                            "/usr/local/bin/argocd-application-controller",
                            "tini",
                            "argocd-application-controller --operation-processors 10",
                        ),
                    ),
                    (
                        "ci",
                        "jenkins-agent",
                        (
                            "kubectl",
                            "/usr/local/bin/kubectl",
                            "sh",
                            "kubectl rollout status deployment/cart -n shop",
                        ),
                    ),
                    (
                        "shop",
                        "orders",
                        (
                            "python3",
                            "/usr/local/bin/python3.11",
                            "gunicorn",
                            "python3 -m orders.jobs.sync_inventory",
                        ),
                    ),
                ][self.rng.usize(..4)];
                let wp = self.pod_in(ns, w);
                let ip = wp.map(|(_, p)| ipv4_string(p.ip)).unwrap_or_default();
                let lport = self.rng.i64(32768..61000);
                self.fields
                    .push(("fd.name", s(format!("{ip}:{lport}->172.20.0.1:443"))));
                self.fields.push(("fd.lport", Val::I(lport)));
                self.fields.push(("fd.rport", Val::I(443)));
                self.fields.push(("fd.type", s("ipv4")));
                self.fields.push(("fd.l4proto", s("tcp")));
                self.common("connect", ("nobody", 65534), proc_, 0);
                self.container(wp);
                (&K8S_API, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::Shell => {
                let (ns, w) = [
                    ("shop", "cart"),
                    ("shop", "orders"),
                    ("shop", "catalog"),
                    ("monitoring", "grafana"),
                ][self.rng.usize(..4)];
                let wp = self.pod_in(ns, w);
                let sh = if self.rng.bool() {
                    ("sh", "/bin/sh", "runc", "sh")
                } else {
                    ("bash", "/bin/bash", "runc", "bash")
                };
                self.common("execve", ("root", 0), sh, 34816);
                self.fields.push(("evt.arg.flags", s("EXE_LOWER_LAYER")));
                self.container(wp);
                (&SHELL, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::Sensitive => {
                let file = ["/etc/shadow", "/etc/sudoers", "/etc/pam.d/common-session"]
                    [self.rng.usize(..3)];
                self.fields.push(("fd.name", s(file)));
                self.fields.push(("proc.aname[2]", s("ssm-agent-worke")));
                self.fields.push(("proc.aname[3]", s("amazon-ssm-agen")));
                self.fields.push(("proc.aname[4]", s("systemd")));
                self.common(
                    "openat",
                    ("root", 0),
                    (
                        "python3",
                        "/usr/bin/python3.9",
                        "ssm-document-wo",
                        "python3 /var/lib/amazon/ssm/inventory/collect_users.py",
                    ),
                    0,
                );
                self.container(None);
                let host = e
                    .node_hosts()
                    .nth(self.rng.usize(..e.nodes.len().max(1)))
                    .map(|h| h.dns.clone())
                    .unwrap_or_default();
                (&SENSITIVE, host)
            }
            Kind::PkgMgmt => {
                let wp = self.pod_in("ci", "jenkins-agent");
                let cmd = [
                    "apt-get install -y jq",
                    "apt-get update",
                    "apk add --no-cache curl",
                    "pip install -r requirements.txt",
                ][self.rng.usize(..4)];
                let name = cmd.split(' ').next().unwrap_or("apt-get");
                let exe = match name {
                    "apk" => "/sbin/apk",
                    "pip" => "/usr/local/bin/pip",
                    _ => "/usr/bin/apt-get",
                };
                self.common("execve", ("root", 0), (name, exe, "sh", cmd), 0);
                self.fields.push(("evt.arg.flags", s("EXE_LOWER_LAYER")));
                self.container(wp);
                (&PKG_MGMT, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::DropExec => {
                let wp = self.pod_in("ci", "jenkins-agent");
                let exe = "/home/jenkins/agent/workspace/deploy-shop/bin/kubectl";
                let t = self.clock_ns;
                self.fields.push(("proc.exe", s(exe)));
                self.fields.push(("proc.sname", s("java")));
                self.fields.push(("proc.aname[2]", s("java")));
                self.fields
                    .push(("proc.exe_ino.ctime", Val::I(t - 4_000_000_000)));
                self.fields
                    .push(("proc.exe_ino.mtime", Val::I(t - 4_000_000_000)));
                self.fields.push((
                    "proc.exe_ino.ctime_duration_proc_start",
                    Val::I(3_912_004_117),
                ));
                self.fields
                    .push(("proc.cwd", s("/home/jenkins/agent/workspace/deploy-shop/")));
                self.fields
                    .push(("container.start_ts", Val::I(t - 3_600_000_000_000)));
                self.common(
                    "execve",
                    ("jenkins", 1000),
                    ("kubectl", exe, "sh", "kubectl apply -f k8s/overlays/prod"),
                    0,
                );
                self.fields
                    .push(("evt.arg.flags", s("EXE_WRITABLE|EXE_UPPER_LAYER")));
                self.container(wp);
                (&DROP_EXEC, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::Imds => {
                let wp = self.pod_in("payments", "ledger-worker");
                let ip = wp.map(|(_, p)| ipv4_string(p.ip)).unwrap_or_default();
                let lport = self.rng.i64(32768..61000);
                self.fields
                    .push(("fd.name", s(format!("{ip}:{lport}->169.254.169.254:80"))));
                self.fields.push(("fd.lport", Val::I(lport)));
                self.fields.push(("fd.rport", Val::I(80)));
                self.fields.push(("fd.type", s("ipv4")));
                self.fields.push(("fd.l4proto", s("tcp")));
                self.common(
                    "connect",
                    ("app", 10001),
                    (
                        "java",
                        "/opt/java/openjdk/bin/java",
                        "tini",
                        "java -jar /app/ledger-worker.jar",
                    ),
                    0,
                );
                self.container(wp);
                (&IMDS, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::Privileged => {
                let node = self.rng.usize(..e.nodes.len().max(1));
                let host = e
                    .node_hosts()
                    .nth(node)
                    .map(|h| h.dns.clone())
                    .unwrap_or_default();
                let (cname, image, tag, cmd) = [
                    (
                        "aws-node",
                        "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni",
                        "v1.18.1-eksbuild.3",
                        (
                            "aws-k8s-agent",
                            "/app/aws-k8s-agent",
                            "containerd-shim",
                            "/app/aws-k8s-agent",
                        ),
                    ),
                    (
                        "kube-proxy",
                        "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy",
                        "v1.30.0-minimal-eksbuild.3",
                        (
                            "kube-proxy",
                            "/usr/local/bin/kube-proxy",
                            "containerd-shim",
                            "kube-proxy --v=2 --config=/var/lib/kube-proxy-config/config",
                        ),
                    ),
                    (
                        "ebs-plugin",
                        "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-ebs-csi-driver",
                        "v1.30.0",
                        (
                            "aws-ebs-csi-dri",
                            "/bin/aws-ebs-csi-driver",
                            "containerd-shim",
                            "/bin/aws-ebs-csi-driver node --endpoint=unix:/csi/csi.sock",
                        ),
                    ),
                ][self.rng.usize(..3)];
                self.common("execve", ("root", 0), cmd, 0);
                let pod = format!(
                    "{}-{}",
                    if cname == "ebs-plugin" {
                        "ebs-csi-node"
                    } else {
                        cname
                    },
                    super::ids::k8s_suffix_of(hash_str(&host) ^ hash_str(cname), 5)
                );
                self.fields
                    .push(("container.id", s(super::ids::hex_of(hash_str(&pod), 12))));
                self.fields.push(("container.name", s(cname)));
                self.fields.push(("container.image.repository", s(image)));
                self.fields.push(("container.image.tag", s(tag)));
                self.fields.push(("k8s.pod.name", s(pod)));
                self.fields.push(("k8s.ns.name", s("kube-system")));
                (&PRIVILEGED, host)
            }
            Kind::ClearLog => {
                let wp = self.pod_in("ingress-nginx", "ingress-nginx-controller");
                self.fields
                    .push(("fd.name", s("/var/log/nginx/access.log")));
                self.common(
                    "openat",
                    ("www-data", 101),
                    (
                        "truncate",
                        "/usr/bin/truncate",
                        "sh",
                        "truncate -s 0 /var/log/nginx/access.log",
                    ),
                    0,
                );
                self.container(wp);
                (&CLEAR_LOG, Self::host_of(wp.map(|(_, p)| p)))
            }
            Kind::SearchKeys => {
                let wp = self.pod_in("ci", "jenkins-agent");
                self.common(
                    "execve",
                    ("jenkins", 1000),
                    (
                        "grep",
                        "/usr/bin/grep",
                        "sh",
                        "grep -rl BEGIN RSA PRIVATE KEY ./secrets",
                    ),
                    0,
                );
                self.fields.push(("evt.arg.flags", s("EXE_LOWER_LAYER")));
                self.container(wp);
                (&SEARCH_KEYS, Self::host_of(wp.map(|(_, p)| p)))
            }
        }
    }

    fn attack(&mut self, step: Step) -> (&'static Rule, String) {
        let e = estate();
        let wp = e
            .workload(attacks::EXEC_NAMESPACE, "payments-api")
            .and_then(|w| w.pods.first().map(|p| (w, p)));
        let host = Self::host_of(wp.map(|(_, p)| p));
        match step {
            Step::Shell => {
                self.common(
                    "execve",
                    ("root", 0),
                    ("sh", "/bin/sh", "runc", "sh"),
                    34816,
                );
                self.fields.push(("evt.arg.flags", s("EXE_LOWER_LAYER")));
                self.container(wp);
                (&SHELL, host)
            }
            Step::Shadow => {
                self.fields.push(("fd.name", s("/etc/shadow")));
                self.fields.push(("proc.aname[2]", s("runc")));
                self.fields.push(("proc.aname[3]", s("containerd-shim")));
                self.fields.push(("proc.aname[4]", s("systemd")));
                self.common(
                    "openat",
                    ("root", 0),
                    ("cat", "/bin/cat", "sh", "cat /etc/shadow"),
                    34816,
                );
                self.container(wp);
                (&SENSITIVE, host)
            }
            Step::ReverseShell => {
                let ip = wp.map(|(_, p)| ipv4_string(p.ip)).unwrap_or_default();
                let port = attacks::REVERSE_SHELL_PORT;
                self.fields.push(("proc.aname[2]", s("runc")));
                self.fields.push(("proc.aname[3]", s("containerd-shim")));
                self.fields.push(("proc.aname[4]", s("systemd")));
                self.fields.push(("fd.sip", s(attacks::K8S_ATTACKER_IP)));
                self.fields.push((
                    "fd.name",
                    s(format!("{ip}:39842->{}:{port}", attacks::K8S_ATTACKER_IP)),
                ));
                self.fields.push(("fd.lport", Val::I(39842)));
                self.fields.push(("fd.rport", Val::I(port as i64)));
                self.fields.push(("fd.type", s("ipv4")));
                self.fields.push(("fd.l4proto", s("tcp")));
                self.common(
                    "dup2",
                    ("root", 0),
                    ("bash", "/bin/bash", "sh", "bash -i"),
                    34816,
                );
                self.container(wp);
                (&REDIRECT, host)
            }
            Step::PrivilegedPod => {
                let host = e
                    .node_hosts()
                    .next()
                    .map(|h| h.dns.clone())
                    .unwrap_or_default();
                self.common(
                    "execve",
                    ("root", 0),
                    (
                        "nsenter",
                        "/usr/bin/nsenter",
                        "containerd-shim",
                        "nsenter --target 1 --mount --uts --ipc --net --pid -- bash",
                    ),
                    34817,
                );
                self.fields.push((
                    "container.id",
                    s(super::ids::hex_of(hash_str(attacks::PRIVILEGED_POD), 12)),
                ));
                self.fields
                    .push(("container.name", s(attacks::PRIVILEGED_POD)));
                self.fields
                    .push(("container.image.repository", s("docker.io/library/alpine")));
                self.fields.push(("container.image.tag", s("3.19")));
                self.fields
                    .push(("k8s.pod.name", s(attacks::PRIVILEGED_POD)));
                self.fields.push(("k8s.ns.name", s("kube-system")));
                (&PRIVILEGED, host)
            }
        }
    }

    fn field(&self, name: &str) -> Option<&Val> {
        self.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    fn write(&mut self, buf: &mut Vec<u8>, rule: &Rule, host: &str) {
        let t = self.clock_ns;
        let mut o = Out::from_vec(std::mem::take(buf));
        o.obj();
        o.ks("hostname", host);
        o.key("output");
        o.str_begin();
        let mut text = Vec::with_capacity(512);
        push_clock_nanos(&mut text, t);
        text.extend_from_slice(b": ");
        text.extend_from_slice(rule.priority.as_bytes());
        text.push(b' ');
        text.extend_from_slice(rule.msg.as_bytes());
        text.extend_from_slice(b" |");
        let flags = self.field("evt.arg.flags").is_some();
        let mut labels: Vec<(&str, &str)> = rule.fields.to_vec();
        labels.extend_from_slice(&COMMON);
        if flags {
            labels.push(("exe_flags", "evt.arg.flags"));
        }
        labels.extend_from_slice(&APPENDED);
        for (label, field) in labels {
            text.push(b' ');
            text.extend_from_slice(label.as_bytes());
            text.push(b'=');
            match self.field(field) {
                Some(Val::S(v)) => text.extend_from_slice(v.as_bytes()),
                Some(Val::I(n)) => push_i64(&mut text, *n),
                Some(Val::Null) | None => text.extend_from_slice(b"<NA>"),
            }
        }
        o.part(&String::from_utf8_lossy(&text));
        o.str_end();
        o.kobj("output_fields");
        self.fields.push(("evt.time", Val::I(t)));
        self.fields.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in &self.fields {
            o.key(k);
            match v {
                Val::S(x) => o.str(x),
                Val::I(n) => o.i64(*n),
                Val::Null => o.null(),
            }
        }
        o.end_obj();
        o.ks("priority", rule.priority);
        o.ks("rule", rule.name);
        o.ks("source", "syscall");
        o.karr("tags");
        for tag in rule.tags {
            o.str(tag);
        }
        o.end_arr();
        o.key("time");
        o.str_begin();
        push_rfc3339_nanos(&mut o.b, t);
        o.str_end();
        o.key("uuid");
        o.str_begin();
        push_uuid(&mut o.b, &mut self.rng);
        o.str_end();
        o.end_obj();
        *buf = o.b;
    }
}

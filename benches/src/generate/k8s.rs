//! Kubernetes audit events of the estate's EKS cluster.

use std::sync::OnceLock;

use fastrand::Rng;

use super::GenConfig;
use super::attacks::{self, Plan, PlantedAttack, Timeline};
use super::ct_pop::{Kind, acct_id, pop};
use super::ids::{
    Weighted, exp_gap, hash_str, ipv4_string, pareto, push_k8s_suffix, push_uuid, uuid_of,
};
use super::infra::{ACCOUNTS, PROD, Pod, Workload, estate};
use super::json::Out;
use super::time::push_rfc3339_micros;

/// Mean time between audit events unless a span is set: 50 events per second.
const DEFAULT_GAP_US: f64 = 20_000.0;
/// Where in the stream the compromise starts (fraction of its span).
pub(crate) const SCENARIO_AT: f64 = 0.40;
/// How long the compromise lasts.
pub(crate) const SCENARIO_SECS: f64 = 600.0;
/// The share of the stream the compromise may take when the stream is too short.
pub(crate) const SCENARIO_ROOM: f64 = 0.3;

const KUBELET_UA: &str = "kubelet/v1.30.0 (linux/amd64) kubernetes/036c24b";
const KCM_UA: &str = "kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/39683505";
const KUBECTL_MAC: &str = "kubectl/v1.30.1 (darwin/arm64) kubernetes/6911225";
const KUBECTL_LINUX: &str = "kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819";

/// A requester as the audit log writes it.
#[derive(Debug)]
struct User {
    /// The pre-rendered `user` object.
    json: Vec<u8>,
    ips: Vec<String>,
    ua: String,
    /// `authorization.k8s.io/reason` when allowed.
    reason: String,
}

/// Who the background actors are (indices into `Users::all`).
#[derive(Debug)]
struct Users {
    all: Vec<User>,
    nodes: Vec<usize>,
    kcm: usize,
    scheduler: usize,
    rs_controller: usize,
    eps_controller: usize,
    deploy_controller: usize,
    coredns: usize,
    prometheus: usize,
    argocd: usize,
    karpenter: usize,
    aws_node: usize,
    ingress: usize,
    cert_manager: usize,
    alice: usize,
    bob: usize,
    admin: usize,
    jenkins_in_cluster: usize,
    jenkins_stolen: usize,
    anonymous: usize,
}

fn user_json(name: &str, uid: Option<&str>, groups: &[&str], extra: &[(&str, String)]) -> Vec<u8> {
    let mut o = Out::with_capacity(512);
    o.obj();
    o.ks("username", name);
    if let Some(uid) = uid {
        o.ks("uid", uid);
    }
    o.karr("groups");
    for g in groups {
        o.str(g);
    }
    o.end_arr();
    if !extra.is_empty() {
        o.kobj("extra");
        for (k, v) in extra {
            o.karr(k);
            o.str(v);
            o.end_arr();
        }
        o.end_obj();
    }
    o.end_obj();
    o.b
}

fn crb_reason(binding: &str, role: &str, subject: &str) -> String {
    format!(
        "RBAC: allowed by ClusterRoleBinding \"{binding}\" of ClusterRole \"{role}\" to {subject}"
    )
}

fn users() -> &'static Users {
    static U: OnceLock<Users> = OnceLock::new();
    U.get_or_init(build_users)
}

fn build_users() -> Users {
    let e = estate();
    let acct = ACCOUNTS[PROD].id;
    let p = pop();
    let node_role = p
        .principals
        .iter()
        .position(|q| q.kind == Kind::Role && q.name == "eks-prod-node-group-role")
        .unwrap_or(0);
    let node_role_id = p.principals[node_role].id.clone();
    let mut all = Vec::new();
    let mut add = |u: User| {
        all.push(u);
        all.len() - 1
    };
    let mut nodes = Vec::new();
    for (k, h) in e.node_hosts().enumerate() {
        let name = format!("system:node:{}", h.dns);
        let instance = h.instance.clone().unwrap_or_default();
        let key = super::cloudtrail::session_key(node_role, k, 0, 6 * 3600).0;
        let extra = [
            ("accessKeyId", key),
            (
                "arn",
                format!("arn:aws:sts::{acct}:assumed-role/eks-prod-node-group-role/{instance}"),
            ),
            (
                "canonicalArn",
                format!("arn:aws:iam::{acct}:role/eks-prod-node-group-role"),
            ),
            ("principalId", node_role_id.clone()),
            ("sessionName", instance.clone()),
            (
                "sigs.k8s.io/aws-iam-authenticator/principalId",
                node_role_id.clone(),
            ),
        ];
        nodes.push(add(User {
            json: user_json(
                &name,
                Some(&format!("aws-iam-authenticator:{acct}:{node_role_id}")),
                &[
                    "system:bootstrappers",
                    "system:nodes",
                    "system:authenticated",
                ],
                &extra,
            ),
            ips: vec![h.ip_text.clone()],
            ua: KUBELET_UA.to_string(),
            reason: String::new(),
        }));
    }
    let cp_ips = vec!["172.16.50.11".to_string(), "172.16.50.12".to_string()];
    let mut component = |name: &str, ua: &str, binding: &str| {
        add(User {
            json: user_json(name, None, &["system:authenticated"], &[]),
            ips: cp_ips.clone(),
            ua: ua.to_string(),
            reason: crb_reason(binding, binding, &format!("User \"{name}\"")),
        })
    };
    let kcm = component(
        "system:kube-controller-manager",
        &format!("{KCM_UA}/leader-election"),
        "system:kube-controller-manager",
    );
    let scheduler = component(
        "system:kube-scheduler",
        "kube-scheduler/v1.30.2 (linux/amd64) kubernetes/39683505/scheduler",
        "system:kube-scheduler",
    );
    // Service accounts: controllers run in the control plane, workloads in pods.
    let mut sa = |ns: &str,
                  name: &str,
                  ua: &str,
                  binding: &str,
                  role: &str,
                  pod: Option<&Pod>,
                  ips: Vec<String>| {
        let username = format!("system:serviceaccount:{ns}:{name}");
        let uid = uuid_of(hash_str(&username));
        let mut extra = Vec::new();
        if let Some(pod) = pod {
            let node = e
                .prod()
                .hosts
                .get(pod.node)
                .map(|h| h.dns.clone())
                .unwrap_or_default();
            extra.push((
                "authentication.kubernetes.io/credential-id",
                format!("JTI={}", uuid_of(hash_str(&pod.name))),
            ));
            extra.push(("authentication.kubernetes.io/node-name", node.clone()));
            extra.push((
                "authentication.kubernetes.io/node-uid",
                uuid_of(hash_str(&node)),
            ));
            extra.push(("authentication.kubernetes.io/pod-name", pod.name.clone()));
            extra.push(("authentication.kubernetes.io/pod-uid", pod.uid.clone()));
        }
        let ns_group = format!("system:serviceaccounts:{ns}");
        add(User {
            json: user_json(
                &username,
                Some(&uid),
                &["system:serviceaccounts", &ns_group, "system:authenticated"],
                &extra,
            ),
            reason: crb_reason(binding, role, &format!("ServiceAccount \"{name}/{ns}\"")),
            ips,
            ua: ua.to_string(),
        })
    };
    let first_pod = |ns: &str, w: &str| -> (Option<&'static Pod>, Vec<String>) {
        let wl: Option<&'static Workload> = e.workload(ns, w);
        let pod = wl.and_then(|w| w.pods.first());
        let ips = wl
            .map(|w| w.pods.iter().map(|p| ipv4_string(p.ip)).collect())
            .unwrap_or_else(|| vec!["10.20.33.20".to_string()]);
        (pod, ips)
    };
    let rs_controller = sa(
        "kube-system",
        "replicaset-controller",
        &format!("{KCM_UA}/system:serviceaccount:kube-system:replicaset-controller"),
        "system:controller:replicaset-controller",
        "system:controller:replicaset-controller",
        None,
        cp_ips.clone(),
    );
    let eps_controller = sa(
        "kube-system",
        "endpointslice-controller",
        &format!("{KCM_UA}/system:serviceaccount:kube-system:endpointslice-controller"),
        "system:controller:endpointslice-controller",
        "system:controller:endpointslice-controller",
        None,
        cp_ips.clone(),
    );
    let deploy_controller = sa(
        "kube-system",
        "deployment-controller",
        &format!("{KCM_UA}/system:serviceaccount:kube-system:deployment-controller"),
        "system:controller:deployment-controller",
        "system:controller:deployment-controller",
        None,
        cp_ips.clone(),
    );
    let (pod, ips) = first_pod("kube-system", "coredns");
    let coredns = sa(
        "kube-system",
        "coredns",
        "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
        "eks:coredns",
        "system:coredns",
        pod,
        ips,
    );
    let (pod, ips) = first_pod("monitoring", "prometheus-server");
    let prometheus = sa(
        "monitoring",
        "prometheus",
        "Prometheus/2.52.0",
        "prometheus-server",
        "prometheus-server",
        pod,
        ips,
    );
    let (pod, ips) = first_pod("argocd", "argocd-application-controller");
    let argocd = sa(
        "argocd",
        "argocd-application-controller",
        "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
        "argocd-application-controller",
        "argocd-application-controller",
        pod,
        ips,
    );
    let (pod, ips) = first_pod("karpenter", "karpenter");
    let karpenter = sa(
        "karpenter",
        "karpenter",
        "karpenter/v0.36.1",
        "karpenter-core",
        "karpenter-core",
        pod,
        ips,
    );
    let node_ips: Vec<String> = e.node_hosts().map(|h| h.ip_text.clone()).collect();
    let aws_node = sa(
        "kube-system",
        "aws-node",
        "aws-node/v0.0.0 (linux/amd64) kubernetes/$Format",
        "aws-node",
        "aws-node",
        None,
        node_ips,
    );
    let (pod, ips) = first_pod("ingress-nginx", "ingress-nginx-controller");
    let ingress = sa(
        "ingress-nginx",
        "ingress-nginx",
        "nginx-ingress-controller/v1.10.1 (linux/amd64) ingress-nginx/4fb5aac1dd3669daa3a14d9de3e3cdb371b4c518",
        "ingress-nginx",
        "ingress-nginx",
        pod,
        ips,
    );
    let (pod, ips) = first_pod("cert-manager", "cert-manager");
    let cert_manager = sa(
        "cert-manager",
        "cert-manager",
        "cert-manager-controller/v1.14.5 (linux/amd64) cert-manager/0c2c7e4b8b3e1e4f0c0b2f6e1a7d9c3b5e8f2a41",
        "cert-manager-controller-certificates",
        "cert-manager-controller-certificates",
        pod,
        ips,
    );
    let (pod, ips) = first_pod("ci", "jenkins-agent");
    let jenkins_in_cluster = sa(
        "ci",
        "jenkins-deployer",
        KUBECTL_LINUX,
        "ci-deployer",
        "ci-deployer",
        pod,
        ips,
    );
    // The same service account's token, replayed from outside (no pod binding).
    let stolen = {
        let username = attacks::K8S_ATTACKER_USER.to_string();
        add(User {
            json: user_json(
                &username,
                Some(&uuid_of(hash_str(&username))),
                &[
                    "system:serviceaccounts",
                    "system:serviceaccounts:ci",
                    "system:authenticated",
                ],
                &[],
            ),
            ips: vec![attacks::K8S_ATTACKER_IP.to_string()],
            ua: KUBECTL_LINUX.to_string(),
            reason: crb_reason(
                "ci-deployer",
                "ci-deployer",
                "ServiceAccount \"jenkins-deployer/ci\"",
            ),
        })
    };
    let human = |name: &str,
                 role_session: &str,
                 groups: &[&str],
                 ips: &[&str],
                 ua: &str,
                 reason: String|
     -> User {
        let sso_role = "AWSReservedSSO_AdministratorAccess_8a4c2e1f9b3d7065";
        let role_id = acct_id("AROA", PROD, 21, hash_str(sso_role));
        User {
            json: user_json(
                name,
                Some(&format!("aws-iam-authenticator:{acct}:{role_id}")),
                groups,
                &[
                    (
                        "arn",
                        format!("arn:aws:sts::{acct}:assumed-role/{sso_role}/{role_session}"),
                    ),
                    (
                        "canonicalArn",
                        format!("arn:aws:iam::{acct}:role/{sso_role}"),
                    ),
                    ("sessionName", role_session.to_string()),
                ],
            ),
            ips: ips.iter().map(|s| s.to_string()).collect(),
            ua: ua.to_string(),
            reason,
        }
    };
    let alice = add(human(
        "alice@example.com",
        "alice.nguyen@example.com",
        &["platform-team", "system:authenticated"],
        &["198.51.100.10", "198.51.100.200", "203.0.113.25"],
        KUBECTL_MAC,
        crb_reason(
            "platform-team-admin",
            "cluster-admin",
            "Group \"platform-team\"",
        ),
    ));
    let bob = add(human(
        "bob@example.com",
        "bob.martin@example.com",
        &["developers", "system:authenticated"],
        &["198.51.100.11", "203.0.113.140"],
        "kubectl/v1.28.4 (windows/amd64) kubernetes/bae2c62",
        "RBAC: allowed by RoleBinding \"developers-edit/shop\" of ClusterRole \"edit\" to Group \"developers\"".to_string(),
    ));
    let admin = add(User {
        json: user_json(
            "kubernetes-admin",
            None,
            &["system:masters", "system:authenticated"],
            &[],
        ),
        ips: vec!["198.51.100.200".to_string()],
        ua: KUBECTL_MAC.to_string(),
        reason: String::new(),
    });
    let anonymous = add(User {
        json: user_json("system:anonymous", None, &["system:unauthenticated"], &[]),
        ips: vec![attacks::K8S_ATTACKER_IP.to_string()],
        ua: "curl/8.5.0".to_string(),
        reason: String::new(),
    });
    Users {
        all,
        nodes,
        kcm,
        scheduler,
        rs_controller,
        eps_controller,
        deploy_controller,
        coredns,
        prometheus,
        argocd,
        karpenter,
        aws_node,
        ingress,
        cert_manager,
        alice,
        bob,
        admin,
        jenkins_in_cluster,
        jenkins_stolen: stolen,
        anonymous,
    }
}

/// The object an event is about.
#[derive(Debug, Clone, Default)]
struct ObjRef {
    resource: &'static str,
    namespace: Option<&'static str>,
    name: Option<String>,
    group: Option<&'static str>,
    version: &'static str,
    sub: Option<&'static str>,
}

/// A request or response body logged at `Request`/`RequestResponse` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    /// A pod created by the ReplicaSet controller (request: the template; response:
    /// the created pod).
    ControllerPod,
    /// `kubectl run debug` by a person.
    DebugPod,
    /// The attacker's privileged pod.
    PrivilegedPod,
    /// The attacker's ClusterRoleBinding.
    AdminBinding,
    /// `kubectl rollout restart`.
    RestartPatch,
    /// `kubectl auth can-i --list`.
    RulesReview,
}

/// One audit event before it is written.
#[derive(Debug, Clone)]
struct Ev {
    level: &'static str,
    verb: &'static str,
    uri: String,
    user: usize,
    ip: usize,
    obj: Option<ObjRef>,
    code: u16,
    /// `(reason, message)` of a failed request.
    failure: Option<(&'static str, String)>,
    latency_us: i64,
    body: Body,
    /// Workload and pod index the body is about.
    pod: Option<(usize, usize)>,
    /// Name of the object created (for bodies).
    name: String,
    pss: Option<&'static str>,
    /// Emit a `RequestReceived` event first.
    two_stages: bool,
    ua: Option<String>,
}

impl Ev {
    fn new(user: usize, verb: &'static str, uri: String, obj: Option<ObjRef>) -> Self {
        Ev {
            level: "Metadata",
            verb,
            uri,
            user,
            ip: 0,
            obj,
            code: match verb {
                "create" => 201,
                _ => 200,
            },
            failure: None,
            latency_us: 0,
            body: Body::None,
            pod: None,
            name: String::new(),
            pss: None,
            two_stages: false,
            ua: None,
        }
    }
}

/// Background activities.
#[derive(Debug, Clone, Copy)]
enum Act {
    NodeLeaseUpdate,
    NodeLeaseGet,
    NodeStatusPatch,
    NodeGet,
    KubeletWatch,
    KubeletToken,
    PodStatusPatch,
    LeaderLease,
    ControllerWatch,
    EndpointSliceUpdate,
    CoreDnsWatch,
    PrometheusList,
    PrometheusMetrics,
    ArgoGet,
    ArgoPatch,
    KarpenterList,
    AwsNodeGet,
    IngressWatch,
    CertManagerList,
    SchedulerBind,
    ControllerCreatePod,
    ControllerDeletePod,
    HumanListPods,
    HumanGet,
    HumanLogs,
    HumanExec,
    HumanRestart,
    HumanDeletePod,
    HumanDebugPod,
    HumanForbidden,
    AdminGetNodes,
    JenkinsDeploy,
}

/// A planted step of the Kubernetes compromise.
#[derive(Debug, Clone, Copy)]
enum Step {
    AnonVersion,
    AnonSecrets,
    AnonPods,
    RulesReview,
    ListSecrets,
    GetPod,
    Exec,
    PrivilegedPod,
    AdminBinding,
}

/// Streams realistic Kubernetes audit events (see the [module docs](super)). Same
/// configuration and count, same events.
#[derive(Debug)]
pub struct K8sAuditGenerator {
    rng: Rng,
    clock_us: i64,
    start_us: i64,
    mean_gap_us: f64,
    index: u64,
    total: u64,
    attacks: bool,
    plan: Plan<Step>,
    acts: Weighted<Act>,
    /// The `ResponseComplete` half of a two-stage request, written next.
    pending: Option<(Ev, [u8; 36], i64)>,
    last: i64,
}

const NAMESPACES: [&str; 9] = [
    "shop",
    "payments",
    "monitoring",
    "kube-system",
    "argocd",
    "karpenter",
    "ingress-nginx",
    "cert-manager",
    "ci",
];

impl K8sAuditGenerator {
    /// A generator of `total` events starting at `cfg.start_unix`, about 50 events a
    /// second.
    pub fn new(cfg: &GenConfig, total: u64) -> Self {
        use Act::*;
        let acts = Weighted::new([
            (60, NodeLeaseUpdate),
            (25, NodeLeaseGet),
            (25, NodeStatusPatch),
            (40, NodeGet),
            (45, KubeletWatch),
            (15, KubeletToken),
            (10, PodStatusPatch),
            (50, LeaderLease),
            (55, ControllerWatch),
            (15, EndpointSliceUpdate),
            (20, CoreDnsWatch),
            (45, PrometheusList),
            (8, PrometheusMetrics),
            (35, ArgoGet),
            (5, ArgoPatch),
            (20, KarpenterList),
            (10, AwsNodeGet),
            (10, IngressWatch),
            (5, CertManagerList),
            (4, SchedulerBind),
            (4, ControllerCreatePod),
            (2, ControllerDeletePod),
            (10, HumanListPods),
            (10, HumanGet),
            (3, HumanLogs),
            (1, HumanExec),
            (1, HumanRestart),
            (1, HumanDeletePod),
            (1, HumanDebugPod),
            (1, HumanForbidden),
            (1, AdminGetNodes),
            (3, JenkinsDeploy),
        ]);
        let mut g = K8sAuditGenerator {
            rng: Rng::with_seed(cfg.seed ^ hash_str("k8s_audit")),
            clock_us: cfg.start() * 1_000_000,
            start_us: cfg.start() * 1_000_000,
            mean_gap_us: DEFAULT_GAP_US,
            index: 0,
            total,
            attacks: cfg.attacks,
            plan: Plan::empty(),
            acts,
            pending: None,
            last: cfg.start(),
        };
        g.schedule();
        g
    }

    /// Spreads the `total` events evenly (on average) over `secs` seconds.
    pub fn with_span_secs(mut self, secs: f64) -> Self {
        if secs > 0.0 && self.total > 0 {
            self.mean_gap_us = secs * 1e6 / self.total as f64;
        }
        self.schedule();
        self
    }

    /// Events left to write.
    pub fn remaining(&self) -> u64 {
        self.total - self.index
    }

    /// Unix seconds of the last event's `requestReceivedTimestamp` (the start before
    /// any).
    pub fn last_time(&self) -> i64 {
        self.last
    }

    /// What has been planted in the events written so far.
    pub fn planted(&self) -> Vec<PlantedAttack> {
        self.plan.planted()
    }

    fn schedule(&mut self) {
        self.plan = Plan::empty();
        if !self.attacks || self.total < 300 {
            return;
        }
        let p = &mut self.plan;
        let anon = p.label(
            "k8s_audit",
            "k8s-compromise",
            "T1613",
            format!(
                "anonymous requests to the API server from {}: /version allowed, secrets and pods forbidden",
                attacks::K8S_ATTACKER_IP
            ),
            "system:anonymous",
        );
        let stolen = p.label(
            "k8s_audit",
            "k8s-compromise",
            "T1528",
            format!(
                "service account token of {} used from outside the cluster ({}): auth can-i --list, list secrets in all namespaces",
                attacks::K8S_ATTACKER_USER,
                attacks::K8S_ATTACKER_IP
            ),
            attacks::K8S_ATTACKER_USER,
        );
        let exec = p.label(
            "k8s_audit",
            "k8s-compromise",
            "T1609",
            format!(
                "interactive exec (sh) into pod {}/{}",
                attacks::EXEC_NAMESPACE,
                attacks::EXEC_POD
            ),
            attacks::EXEC_POD,
        );
        let privileged = p.label(
            "k8s_audit",
            "k8s-compromise",
            "T1611",
            format!(
                "privileged pod kube-system/{} created with hostPID, hostNetwork and a hostPath mount of /",
                attacks::PRIVILEGED_POD
            ),
            attacks::PRIVILEGED_POD,
        );
        let binding = p.label(
            "k8s_audit",
            "k8s-compromise",
            "T1098",
            format!(
                "ClusterRoleBinding {} granting cluster-admin to {}",
                attacks::ADMIN_BINDING,
                attacks::K8S_ATTACKER_USER
            ),
            attacks::ADMIN_BINDING,
        );
        let steps = [
            (0.0, Step::AnonVersion, anon),
            (8.0, Step::AnonSecrets, anon),
            (11.0, Step::AnonPods, anon),
            (120.0, Step::RulesReview, stolen),
            (140.0, Step::ListSecrets, stolen),
            (200.0, Step::GetPod, exec),
            (201.0, Step::Exec, exec),
            (400.0, Step::PrivilegedPod, privileged),
            (600.0, Step::AdminBinding, binding),
        ];
        let span_s = self.total as f64 * self.mean_gap_us / 1e6;
        let tl = Timeline::new(
            self.start_us,
            span_s,
            SCENARIO_AT,
            SCENARIO_SECS,
            SCENARIO_ROOM,
        );
        for (secs, step, label) in steps {
            p.push(tl.at(secs), label, step);
        }
        p.finish();
    }

    /// Appends the next event's JSON (no newline) to `buf`; false when all `total`
    /// events have been written.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.index >= self.total {
            return false;
        }
        let left = self.total - self.index;
        self.index += 1;
        // The clock advances once per event written, so `total` events span `total`
        // gaps, even though the second half of a two-stage request reuses the first
        // half's `requestReceivedTimestamp`.
        self.clock_us += exp_gap(&mut self.rng, self.mean_gap_us) as i64;
        if let Some((ev, id, received)) = self.pending.take() {
            self.write(buf, &ev, &id, false, received);
            return true;
        }
        let t_us = self.clock_us;
        self.last = t_us.div_euclid(1_000_000);
        let ev = match self.plan.due(t_us, left) {
            Some((label, &step)) => {
                self.plan.record(label, self.last);
                self.attack(step)
            }
            None => self.background(),
        };
        let mut id = [0u8; 36];
        let mut b = Vec::with_capacity(36);
        push_uuid(&mut b, &mut self.rng);
        id.copy_from_slice(&b[..36]);
        if ev.two_stages && self.total - self.index > self.plan.steps_left() {
            self.write(buf, &ev, &id, true, t_us);
            self.pending = Some((ev, id, t_us));
        } else {
            self.write(buf, &ev, &id, false, t_us);
        }
        true
    }

    fn resource_version(&mut self) -> u64 {
        48_000_000 + ((self.clock_us - self.start_us) / 25_000) as u64 + self.rng.u64(0..40)
    }

    fn watch_uri(&mut self, path: &str, selector: Option<&str>) -> (String, i64) {
        let secs = self.rng.i64(300..600);
        let rv = self.resource_version();
        let sel = selector
            .map(|s| format!("&fieldSelector={s}"))
            .unwrap_or_default();
        (
            format!(
                "{path}?allowWatchBookmarks=true{sel}&resourceVersion={rv}&timeout={}m{}s&timeoutSeconds={secs}&watch=true",
                secs / 60,
                secs % 60
            ),
            secs * 1_000_000 + self.rng.i64(0..900_000),
        )
    }

    fn pod(&mut self) -> (usize, usize) {
        let e = estate();
        let w = self.rng.usize(..e.workloads.len());
        let n = e.workloads[w].pods.len().max(1);
        (w, self.rng.usize(..n))
    }

    fn pod_of((w, p): (usize, usize)) -> (&'static Workload, &'static Pod) {
        let e = estate();
        let wl = &e.workloads[w.min(e.workloads.len() - 1)];
        (wl, &wl.pods[p.min(wl.pods.len() - 1)])
    }

    fn app_pod(&mut self) -> (usize, usize) {
        let e = estate();
        loop {
            let (w, p) = self.pod();
            if matches!(e.workloads[w].namespace, "shop" | "payments") {
                return (w, p);
            }
        }
    }

    fn obj(
        resource: &'static str,
        ns: Option<&'static str>,
        name: Option<String>,
        group: Option<&'static str>,
        version: &'static str,
    ) -> Option<ObjRef> {
        Some(ObjRef {
            resource,
            namespace: ns,
            name,
            group,
            version,
            sub: None,
        })
    }

    fn background(&mut self) -> Ev {
        let u = users();
        let act = self
            .acts
            .pick(&mut self.rng)
            .copied()
            .unwrap_or(Act::NodeLeaseUpdate);
        let node_ix = self.rng.usize(..u.nodes.len().max(1));
        let node_user = u.nodes.get(node_ix).copied().unwrap_or(0);
        let node_name = estate()
            .node_hosts()
            .nth(node_ix)
            .map(|h| h.dns.clone())
            .unwrap_or_default();
        let fast = pareto(&mut self.rng, 800.0, 1.5, 400_000.0) as i64;
        let mut ev = match act {
            Act::NodeLeaseUpdate | Act::NodeLeaseGet => {
                let verb = if matches!(act, Act::NodeLeaseUpdate) {
                    "update"
                } else {
                    "get"
                };
                let mut ev = Ev::new(
                    node_user,
                    verb,
                    format!(
                        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node_name}?timeout=10s"
                    ),
                    Self::obj(
                        "leases",
                        Some("kube-node-lease"),
                        Some(node_name.clone()),
                        Some("coordination.k8s.io"),
                        "v1",
                    ),
                );
                if verb == "update" && self.rng.u32(..200) == 0 {
                    ev.code = 409;
                    ev.failure = Some((
                        "Conflict",
                        format!(
                            "Operation cannot be fulfilled on leases.coordination.k8s.io \"{node_name}\": the object has been modified; please apply your changes to the latest version and try again"
                        ),
                    ));
                }
                ev
            }
            Act::NodeStatusPatch => {
                let mut o = Self::obj("nodes", None, Some(node_name.clone()), None, "v1");
                if let Some(o) = o.as_mut() {
                    o.sub = Some("status");
                }
                Ev::new(
                    node_user,
                    "patch",
                    format!("/api/v1/nodes/{node_name}/status?timeout=10s"),
                    o,
                )
            }
            Act::NodeGet => Ev::new(
                node_user,
                "get",
                format!("/api/v1/nodes/{node_name}?resourceVersion=0&timeout=10s"),
                Self::obj("nodes", None, Some(node_name.clone()), None, "v1"),
            ),
            Act::KubeletWatch => {
                let ns = NAMESPACES[self.rng.usize(..NAMESPACES.len())];
                let (what, sel) = if self.rng.bool() {
                    ("configmaps", "metadata.name%3Dkube-root-ca.crt")
                } else {
                    ("secrets", "metadata.name%3Ddefault-token")
                };
                let (uri, dur) =
                    self.watch_uri(&format!("/api/v1/namespaces/{ns}/{what}"), Some(sel));
                let mut ev = Ev::new(
                    node_user,
                    "watch",
                    uri,
                    Self::obj(what, Some(ns), None, None, "v1"),
                );
                ev.latency_us = dur;
                ev
            }
            Act::KubeletToken => {
                let (wl, pod) = Self::pod_of(self.pod());
                let mut o = Self::obj(
                    "serviceaccounts",
                    Some(wl.namespace),
                    Some(wl.service_account.to_string()),
                    None,
                    "v1",
                );
                if let Some(o) = o.as_mut() {
                    o.sub = Some("token");
                }
                let node = estate().prod().hosts.get(pod.node);
                let user = estate()
                    .node_hosts()
                    .position(|h| Some(h.ip) == node.map(|n| n.ip))
                    .and_then(|i| u.nodes.get(i).copied())
                    .unwrap_or(node_user);
                Ev::new(
                    user,
                    "create",
                    format!(
                        "/api/v1/namespaces/{}/serviceaccounts/{}/token",
                        wl.namespace, wl.service_account
                    ),
                    o,
                )
            }
            Act::PodStatusPatch => {
                let (wl, pod) = Self::pod_of(self.pod());
                let mut o = Self::obj(
                    "pods",
                    Some(wl.namespace),
                    Some(pod.name.clone()),
                    None,
                    "v1",
                );
                if let Some(o) = o.as_mut() {
                    o.sub = Some("status");
                }
                Ev::new(
                    node_user,
                    "patch",
                    format!(
                        "/api/v1/namespaces/{}/pods/{}/status",
                        wl.namespace, pod.name
                    ),
                    o,
                )
            }
            Act::LeaderLease => {
                let (who, lease) = match self.rng.u32(..5) {
                    0 | 1 => (u.kcm, "kube-controller-manager"),
                    2 => (u.scheduler, "kube-scheduler"),
                    3 => (u.karpenter, "karpenter-leader-election"),
                    _ => (u.cert_manager, "cert-manager-controller"),
                };
                let ns = if who == u.karpenter {
                    "karpenter"
                } else {
                    "kube-system"
                };
                let verb = if self.rng.u32(..3) < 2 {
                    "get"
                } else {
                    "update"
                };
                Ev::new(
                    who,
                    verb,
                    format!(
                        "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{lease}?timeout=5s"
                    ),
                    Self::obj(
                        "leases",
                        Some(ns),
                        Some(lease.to_string()),
                        Some("coordination.k8s.io"),
                        "v1",
                    ),
                )
            }
            Act::ControllerWatch => {
                let (who, path, res, group, version) = match self.rng.u32(..4) {
                    0 => (
                        u.rs_controller,
                        "/apis/apps/v1/replicasets",
                        "replicasets",
                        Some("apps"),
                        "v1",
                    ),
                    1 => (
                        u.deploy_controller,
                        "/apis/apps/v1/deployments",
                        "deployments",
                        Some("apps"),
                        "v1",
                    ),
                    2 => (u.eps_controller, "/api/v1/services", "services", None, "v1"),
                    _ => (u.kcm, "/api/v1/pods", "pods", None, "v1"),
                };
                let (uri, dur) = self.watch_uri(path, None);
                let mut ev = Ev::new(
                    who,
                    "watch",
                    uri,
                    Self::obj(res, None, None, group, version),
                );
                ev.latency_us = dur;
                ev
            }
            Act::EndpointSliceUpdate => {
                let (wl, _) = Self::pod_of(self.app_pod());
                let mut b = Vec::new();
                push_k8s_suffix(&mut b, &mut Rng::with_seed(hash_str(wl.name)), 5);
                let name = format!("{}-{}", wl.name, String::from_utf8_lossy(&b));
                Ev::new(
                    u.eps_controller,
                    "update",
                    format!(
                        "/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices/{name}",
                        wl.namespace
                    ),
                    Self::obj(
                        "endpointslices",
                        Some(wl.namespace),
                        Some(name),
                        Some("discovery.k8s.io"),
                        "v1",
                    ),
                )
            }
            Act::CoreDnsWatch => {
                let (path, res, group) = if self.rng.bool() {
                    (
                        "/apis/discovery.k8s.io/v1/endpointslices",
                        "endpointslices",
                        Some("discovery.k8s.io"),
                    )
                } else {
                    ("/api/v1/services", "services", None)
                };
                let (uri, dur) = self.watch_uri(path, None);
                let mut ev = Ev::new(
                    u.coredns,
                    "watch",
                    uri,
                    Self::obj(res, None, None, group, "v1"),
                );
                ev.latency_us = dur;
                ev
            }
            Act::PrometheusList => {
                let res = ["pods", "endpoints", "services", "nodes"][self.rng.usize(..4)];
                if self.rng.bool() {
                    let (uri, dur) = self.watch_uri(&format!("/api/v1/{res}"), None);
                    let mut ev = Ev::new(
                        u.prometheus,
                        "watch",
                        uri,
                        Self::obj(res, None, None, None, "v1"),
                    );
                    ev.latency_us = dur;
                    ev
                } else {
                    let rv = self.resource_version();
                    Ev::new(
                        u.prometheus,
                        "list",
                        format!("/api/v1/{res}?limit=500&resourceVersion={rv}"),
                        Self::obj(res, None, None, None, "v1"),
                    )
                }
            }
            Act::PrometheusMetrics => Ev::new(u.prometheus, "get", "/metrics".to_string(), None),
            Act::ArgoGet | Act::ArgoPatch => {
                let app = [
                    "shop",
                    "payments",
                    "monitoring",
                    "ingress-nginx",
                    "cert-manager",
                    "karpenter",
                ][self.rng.usize(..6)];
                let verb = if matches!(act, Act::ArgoGet) {
                    "get"
                } else {
                    "patch"
                };
                Ev::new(
                    u.argocd,
                    verb,
                    format!("/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{app}"),
                    Self::obj(
                        "applications",
                        Some("argocd"),
                        Some(app.to_string()),
                        Some("argoproj.io"),
                        "v1alpha1",
                    ),
                )
            }
            Act::KarpenterList => {
                let (path, res, group, version) = match self.rng.u32(..3) {
                    0 => (
                        "/apis/karpenter.sh/v1beta1/nodeclaims",
                        "nodeclaims",
                        Some("karpenter.sh"),
                        "v1beta1",
                    ),
                    1 => (
                        "/apis/karpenter.sh/v1beta1/nodepools",
                        "nodepools",
                        Some("karpenter.sh"),
                        "v1beta1",
                    ),
                    _ => ("/api/v1/nodes", "nodes", None, "v1"),
                };
                Ev::new(
                    u.karpenter,
                    "list",
                    format!("{path}?limit=500"),
                    Self::obj(res, None, None, group, version),
                )
            }
            Act::AwsNodeGet => {
                let mut ev = Ev::new(
                    u.aws_node,
                    "get",
                    format!("/api/v1/nodes/{node_name}"),
                    Self::obj("nodes", None, Some(node_name.clone()), None, "v1"),
                );
                ev.ip = node_ix;
                ev
            }
            Act::IngressWatch => {
                let (uri, dur) = self.watch_uri("/apis/networking.k8s.io/v1/ingresses", None);
                let mut ev = Ev::new(
                    u.ingress,
                    "watch",
                    uri,
                    Self::obj("ingresses", None, None, Some("networking.k8s.io"), "v1"),
                );
                ev.latency_us = dur;
                ev
            }
            Act::CertManagerList => Ev::new(
                u.cert_manager,
                "list",
                "/apis/cert-manager.io/v1/certificates?limit=500&resourceVersion=0".to_string(),
                Self::obj("certificates", None, None, Some("cert-manager.io"), "v1"),
            ),
            Act::SchedulerBind => {
                let (wl, pod) = Self::pod_of(self.pod());
                let mut o = Self::obj(
                    "pods",
                    Some(wl.namespace),
                    Some(pod.name.clone()),
                    None,
                    "v1",
                );
                if let Some(o) = o.as_mut() {
                    o.sub = Some("binding");
                }
                Ev::new(
                    u.scheduler,
                    "create",
                    format!(
                        "/api/v1/namespaces/{}/pods/{}/binding",
                        wl.namespace, pod.name
                    ),
                    o,
                )
            }
            Act::ControllerCreatePod => {
                let pod = self.app_pod();
                let (wl, _) = Self::pod_of(pod);
                let mut ev = Ev::new(
                    u.rs_controller,
                    "create",
                    format!("/api/v1/namespaces/{}/pods", wl.namespace),
                    Self::obj("pods", Some(wl.namespace), None, None, "v1"),
                );
                ev.level = "RequestResponse";
                ev.body = Body::ControllerPod;
                ev.pod = Some(pod);
                ev.pss = Some("restricted:latest");
                let mut b = Vec::new();
                push_k8s_suffix(&mut b, &mut self.rng, 5);
                ev.name = String::from_utf8_lossy(&b).into_owned();
                ev
            }
            Act::ControllerDeletePod => {
                let (wl, pod) = Self::pod_of(self.app_pod());
                Ev::new(
                    u.rs_controller,
                    "delete",
                    format!("/api/v1/namespaces/{}/pods/{}", wl.namespace, pod.name),
                    Self::obj(
                        "pods",
                        Some(wl.namespace),
                        Some(pod.name.clone()),
                        None,
                        "v1",
                    ),
                )
            }
            Act::HumanListPods => {
                let who = if self.rng.bool() { u.alice } else { u.bob };
                let ns = if who == u.bob {
                    "shop"
                } else {
                    NAMESPACES[self.rng.usize(..NAMESPACES.len())]
                };
                let mut ev = Ev::new(
                    who,
                    "list",
                    format!("/api/v1/namespaces/{ns}/pods?limit=500"),
                    Self::obj("pods", Some(ns), None, None, "v1"),
                );
                ev.two_stages = self.rng.u32(..3) == 0;
                ev
            }
            Act::HumanGet => {
                let who = if self.rng.bool() { u.alice } else { u.bob };
                let (wl, _) = Self::pod_of(self.app_pod());
                let ns = if who == u.bob { "shop" } else { wl.namespace };
                Ev::new(
                    who,
                    "get",
                    format!("/apis/apps/v1/namespaces/{ns}/deployments/{}", wl.name),
                    Self::obj(
                        "deployments",
                        Some(ns),
                        Some(wl.name.to_string()),
                        Some("apps"),
                        "v1",
                    ),
                )
            }
            Act::HumanLogs => {
                let who = if self.rng.bool() { u.alice } else { u.bob };
                let (wl, pod) = Self::pod_of(self.app_pod());
                let mut o = Self::obj(
                    "pods",
                    Some(wl.namespace),
                    Some(pod.name.clone()),
                    None,
                    "v1",
                );
                if let Some(o) = o.as_mut() {
                    o.sub = Some("log");
                }
                let mut ev = Ev::new(
                    who,
                    "get",
                    format!(
                        "/api/v1/namespaces/{}/pods/{}/log?container={}&follow=true&tailLines=100",
                        wl.namespace, pod.name, wl.name
                    ),
                    o,
                );
                ev.latency_us = self.rng.i64(5_000_000..600_000_000);
                ev
            }
            Act::HumanExec => {
                let (wl, pod) = Self::pod_of(self.app_pod());
                let mut o = Self::obj(
                    "pods",
                    Some(wl.namespace),
                    Some(pod.name.clone()),
                    None,
                    "v1",
                );
                if let Some(o) = o.as_mut() {
                    o.sub = Some("exec");
                }
                let cmd = ["env", "sh", "cat&command=%2Fetc%2Fresolv.conf"][self.rng.usize(..3)];
                let tty = if cmd == "sh" {
                    "&stdin=true&stdout=true&tty=true"
                } else {
                    "&stderr=true&stdout=true"
                };
                let mut ev = Ev::new(
                    u.alice,
                    "create",
                    format!(
                        "/api/v1/namespaces/{}/pods/{}/exec?command={cmd}&container={}{tty}",
                        wl.namespace, pod.name, wl.name
                    ),
                    o,
                );
                ev.code = 101;
                ev.latency_us = self.rng.i64(1_000_000..300_000_000);
                ev
            }
            Act::HumanRestart => {
                let (wl, _) = Self::pod_of(self.app_pod());
                let mut ev = Ev::new(
                    u.alice,
                    "patch",
                    format!(
                        "/apis/apps/v1/namespaces/{}/deployments/{}?fieldManager=kubectl-rollout",
                        wl.namespace, wl.name
                    ),
                    Self::obj(
                        "deployments",
                        Some(wl.namespace),
                        Some(wl.name.to_string()),
                        Some("apps"),
                        "v1",
                    ),
                );
                ev.level = "Request";
                ev.body = Body::RestartPatch;
                ev
            }
            Act::HumanDeletePod => {
                let (wl, pod) = Self::pod_of(self.app_pod());
                Ev::new(
                    u.alice,
                    "delete",
                    format!("/api/v1/namespaces/{}/pods/{}", wl.namespace, pod.name),
                    Self::obj(
                        "pods",
                        Some(wl.namespace),
                        Some(pod.name.clone()),
                        None,
                        "v1",
                    ),
                )
            }
            Act::HumanDebugPod => {
                let mut b = Vec::new();
                push_k8s_suffix(&mut b, &mut self.rng, 5);
                let name = format!("debug-{}", String::from_utf8_lossy(&b));
                let mut ev = Ev::new(
                    u.alice,
                    "create",
                    "/api/v1/namespaces/default/pods?fieldManager=kubectl-run".to_string(),
                    Self::obj("pods", Some("default"), Some(name.clone()), None, "v1"),
                );
                ev.level = "RequestResponse";
                ev.body = Body::DebugPod;
                ev.name = name;
                ev.pss = Some("baseline:latest");
                ev
            }
            Act::HumanForbidden => {
                let mut ev = Ev::new(
                    u.bob,
                    "list",
                    "/api/v1/namespaces/payments/secrets?limit=500".to_string(),
                    Self::obj("secrets", Some("payments"), None, None, "v1"),
                );
                ev.code = 403;
                ev.failure = Some((
                    "Forbidden",
                    "secrets is forbidden: User \"bob@example.com\" cannot list resource \"secrets\" in API group \"\" in the namespace \"payments\"".to_string(),
                ));
                ev
            }
            Act::AdminGetNodes => Ev::new(
                u.admin,
                "list",
                "/api/v1/nodes?limit=500".to_string(),
                Self::obj("nodes", None, None, None, "v1"),
            ),
            Act::JenkinsDeploy => {
                let (wl, _) = Self::pod_of(self.app_pod());
                if self.rng.bool() {
                    Ev::new(
                        u.jenkins_in_cluster,
                        "get",
                        format!(
                            "/apis/apps/v1/namespaces/{}/deployments/{}",
                            wl.namespace, wl.name
                        ),
                        Self::obj(
                            "deployments",
                            Some(wl.namespace),
                            Some(wl.name.to_string()),
                            Some("apps"),
                            "v1",
                        ),
                    )
                } else {
                    Ev::new(
                        u.jenkins_in_cluster,
                        "patch",
                        format!(
                            "/apis/apps/v1/namespaces/{}/deployments/{}?fieldManager=kubectl-set",
                            wl.namespace, wl.name
                        ),
                        Self::obj(
                            "deployments",
                            Some(wl.namespace),
                            Some(wl.name.to_string()),
                            Some("apps"),
                            "v1",
                        ),
                    )
                }
            }
        };
        if ev.latency_us == 0 {
            ev.latency_us = fast;
        }
        if !ev.two_stages && ev.verb != "watch" {
            ev.two_stages = self.rng.u32(..100) < 8;
        }
        if ev.ip == 0 {
            let n = u.all.get(ev.user).map(|x| x.ips.len()).unwrap_or(1).max(1);
            ev.ip = self.rng.usize(..n);
        }
        ev
    }

    fn attack(&mut self, step: Step) -> Ev {
        let u = users();
        let ns = attacks::EXEC_NAMESPACE;
        let pod = attacks::EXEC_POD;
        let mut ev = match step {
            Step::AnonVersion => Ev::new(u.anonymous, "get", "/version".to_string(), None),
            Step::AnonSecrets | Step::AnonPods => {
                let (uri, o) = if matches!(step, Step::AnonSecrets) {
                    (
                        "/api/v1/namespaces/kube-system/secrets",
                        Self::obj("secrets", Some("kube-system"), None, None, "v1"),
                    )
                } else {
                    ("/api/v1/pods", Self::obj("pods", None, None, None, "v1"))
                };
                let mut ev = Ev::new(u.anonymous, "list", uri.to_string(), o);
                ev.code = 403;
                let what = if matches!(step, Step::AnonSecrets) {
                    "secrets is forbidden: User \"system:anonymous\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\""
                } else {
                    "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
                };
                ev.failure = Some(("Forbidden", what.to_string()));
                ev
            }
            Step::RulesReview => {
                let mut ev = Ev::new(
                    u.jenkins_stolen,
                    "create",
                    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews".to_string(),
                    Self::obj(
                        "selfsubjectrulesreviews",
                        None,
                        None,
                        Some("authorization.k8s.io"),
                        "v1",
                    ),
                );
                ev.level = "Request";
                ev.body = Body::RulesReview;
                ev
            }
            Step::ListSecrets => Ev::new(
                u.jenkins_stolen,
                "list",
                "/api/v1/secrets?limit=500".to_string(),
                Self::obj("secrets", None, None, None, "v1"),
            ),
            Step::GetPod => Ev::new(
                u.jenkins_stolen,
                "get",
                format!("/api/v1/namespaces/{ns}/pods/{pod}"),
                Self::obj("pods", Some(ns), Some(pod.to_string()), None, "v1"),
            ),
            Step::Exec => {
                let mut o = Self::obj("pods", Some(ns), Some(pod.to_string()), None, "v1");
                if let Some(o) = o.as_mut() {
                    o.sub = Some("exec");
                }
                let mut ev = Ev::new(
                    u.jenkins_stolen,
                    "create",
                    format!(
                        "/api/v1/namespaces/{ns}/pods/{pod}/exec?command=sh&container=payments-api&stdin=true&stdout=true&tty=true"
                    ),
                    o,
                );
                ev.code = 101;
                ev.latency_us = 1_412_000_000;
                ev
            }
            Step::PrivilegedPod => {
                let mut ev = Ev::new(
                    u.jenkins_stolen,
                    "create",
                    "/api/v1/namespaces/kube-system/pods?fieldManager=kubectl-run".to_string(),
                    Self::obj(
                        "pods",
                        Some("kube-system"),
                        Some(attacks::PRIVILEGED_POD.to_string()),
                        None,
                        "v1",
                    ),
                );
                ev.level = "RequestResponse";
                ev.body = Body::PrivilegedPod;
                ev.name = attacks::PRIVILEGED_POD.to_string();
                ev.pss = Some("privileged:latest");
                ev
            }
            Step::AdminBinding => {
                let mut ev = Ev::new(
                    u.jenkins_stolen,
                    "create",
                    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create".to_string(),
                    Self::obj(
                        "clusterrolebindings",
                        None,
                        Some(attacks::ADMIN_BINDING.to_string()),
                        Some("rbac.authorization.k8s.io"),
                        "v1",
                    ),
                );
                ev.level = "RequestResponse";
                ev.body = Body::AdminBinding;
                ev.name = attacks::ADMIN_BINDING.to_string();
                ev
            }
        };
        if ev.latency_us == 0 {
            ev.latency_us = pareto(&mut self.rng, 900.0, 1.5, 200_000.0) as i64;
        }
        ev
    }

    fn write(
        &mut self,
        buf: &mut Vec<u8>,
        ev: &Ev,
        id: &[u8; 36],
        received_stage: bool,
        received_us: i64,
    ) {
        let u = users();
        let user = &u.all[ev.user.min(u.all.len() - 1)];
        let mut o = Out::from_vec(std::mem::take(buf));
        o.obj();
        o.ks("kind", "Event");
        o.ks("apiVersion", "audit.k8s.io/v1");
        o.ks("level", ev.level);
        o.key("auditID");
        o.str_begin();
        o.b.extend_from_slice(id);
        o.str_end();
        o.ks(
            "stage",
            if received_stage {
                "RequestReceived"
            } else {
                "ResponseComplete"
            },
        );
        o.ks("requestURI", &ev.uri);
        o.ks("verb", ev.verb);
        o.kraw("user", &user.json);
        o.karr("sourceIPs");
        o.str(
            user.ips
                .get(ev.ip)
                .or(user.ips.first())
                .map(String::as_str)
                .unwrap_or("10.20.0.10"),
        );
        o.end_arr();
        o.ks("userAgent", ev.ua.as_deref().unwrap_or(&user.ua));
        if let Some(r) = &ev.obj {
            o.kobj("objectRef");
            o.ks("resource", r.resource);
            if let Some(ns) = r.namespace {
                o.ks("namespace", ns);
            }
            if let Some(n) = &r.name {
                o.ks("name", n);
            }
            if let Some(g) = r.group {
                o.ks("apiGroup", g);
            }
            o.ks("apiVersion", r.version);
            if let Some(s) = r.sub {
                o.ks("subresource", s);
            }
            o.end_obj();
        }
        if !received_stage {
            o.kobj("responseStatus");
            o.kempty("metadata");
            if let Some((reason, msg)) = &ev.failure {
                o.ks("status", "Failure");
                o.ks("message", msg);
                o.ks("reason", reason);
                if ev.code == 403 {
                    o.kobj("details");
                    o.ks("kind", ev.obj.as_ref().map(|r| r.resource).unwrap_or(""));
                    o.end_obj();
                }
            }
            o.ku("code", ev.code as u64);
            o.end_obj();
        }
        if ev.level != "Metadata" && ev.body != Body::None {
            o.key("requestObject");
            self.body(&mut o, ev, false, received_us);
            if !received_stage && ev.level == "RequestResponse" {
                o.key("responseObject");
                self.body(&mut o, ev, true, received_us);
            }
        }
        o.key("requestReceivedTimestamp");
        o.str_begin();
        push_rfc3339_micros(&mut o.b, received_us);
        o.str_end();
        o.key("stageTimestamp");
        o.str_begin();
        push_rfc3339_micros(
            &mut o.b,
            if received_stage {
                received_us
            } else {
                received_us + ev.latency_us
            },
        );
        o.str_end();
        if !received_stage {
            o.kobj("annotations");
            let forbid = ev.code == 403;
            o.ks(
                "authorization.k8s.io/decision",
                if forbid { "forbid" } else { "allow" },
            );
            o.ks(
                "authorization.k8s.io/reason",
                if forbid { "" } else { &user.reason },
            );
            if let Some(p) = ev.pss {
                o.ks("pod-security.kubernetes.io/enforce-policy", p);
            }
            o.end_obj();
        }
        o.end_obj();
        *buf = o.b;
    }

    fn body(&mut self, o: &mut Out, ev: &Ev, response: bool, t_us: i64) {
        let e = estate();
        match ev.body {
            Body::None => o.null(),
            Body::RestartPatch => {
                o.obj();
                o.kobj("spec");
                o.kobj("template");
                o.kobj("metadata");
                o.kobj("annotations");
                o.key("kubectl.kubernetes.io/restartedAt");
                o.str_begin();
                super::time::push_rfc3339(&mut o.b, t_us.div_euclid(1_000_000));
                o.str_end();
                o.end_obj();
                o.end_obj();
                o.end_obj();
                o.end_obj();
                o.end_obj();
            }
            Body::RulesReview => {
                o.obj();
                o.ks("kind", "SelfSubjectRulesReview");
                o.ks("apiVersion", "authorization.k8s.io/v1");
                o.kobj("metadata");
                o.knull("creationTimestamp");
                o.end_obj();
                o.kobj("spec");
                o.ks("namespace", "default");
                o.end_obj();
                o.kobj("status");
                o.knull("resourceRules");
                o.knull("nonResourceRules");
                o.kb("incomplete", false);
                o.end_obj();
                o.end_obj();
            }
            Body::AdminBinding => {
                o.obj();
                o.ks("kind", "ClusterRoleBinding");
                o.ks("apiVersion", "rbac.authorization.k8s.io/v1");
                o.kobj("metadata");
                o.ks("name", attacks::ADMIN_BINDING);
                if response {
                    o.ks("uid", &uuid_of(hash_str(attacks::ADMIN_BINDING)));
                    o.ks("resourceVersion", &self.resource_version().to_string());
                    o.key("creationTimestamp");
                    o.str_begin();
                    super::time::push_rfc3339(&mut o.b, t_us.div_euclid(1_000_000));
                    o.str_end();
                    managed_fields(
                        o,
                        "kubectl-create",
                        t_us,
                        "{\"f:roleRef\":{},\"f:subjects\":{}}",
                    );
                } else {
                    o.knull("creationTimestamp");
                }
                o.end_obj();
                o.karr("subjects");
                o.obj();
                o.ks("kind", "ServiceAccount");
                o.ks("name", "jenkins-deployer");
                o.ks("namespace", "ci");
                o.end_obj();
                o.end_arr();
                o.kobj("roleRef");
                o.ks("apiGroup", "rbac.authorization.k8s.io");
                o.ks("kind", "ClusterRole");
                o.ks("name", "cluster-admin");
                o.end_obj();
                o.end_obj();
            }
            Body::PrivilegedPod | Body::DebugPod => {
                let privileged = ev.body == Body::PrivilegedPod;
                let node = e
                    .node_hosts()
                    .next()
                    .map(|h| h.dns.clone())
                    .unwrap_or_default();
                o.obj();
                o.ks("kind", "Pod");
                o.ks("apiVersion", "v1");
                o.kobj("metadata");
                o.ks("name", &ev.name);
                o.ks(
                    "namespace",
                    if privileged { "kube-system" } else { "default" },
                );
                if response {
                    o.ks("uid", &uuid_of(hash_str(&ev.name) ^ (t_us as u64)));
                    o.ks("resourceVersion", &self.resource_version().to_string());
                    o.key("creationTimestamp");
                    o.str_begin();
                    super::time::push_rfc3339(&mut o.b, t_us.div_euclid(1_000_000));
                    o.str_end();
                } else {
                    o.knull("creationTimestamp");
                }
                o.kobj("labels");
                o.ks("run", &ev.name);
                o.end_obj();
                o.end_obj();
                o.kobj("spec");
                if privileged {
                    o.karr("volumes");
                    o.obj();
                    o.ks("name", "host-root");
                    o.kobj("hostPath");
                    o.ks("path", "/");
                    o.ks("type", "");
                    o.end_obj();
                    o.end_obj();
                    o.end_arr();
                }
                o.karr("containers");
                o.obj();
                o.ks("name", &ev.name);
                o.ks(
                    "image",
                    if privileged {
                        "docker.io/library/alpine:3.19"
                    } else {
                        "docker.io/library/busybox:1.36"
                    },
                );
                o.karr("command");
                let cmd: &[&str] = if privileged {
                    &[
                        "nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid",
                        "--", "bash",
                    ]
                } else {
                    &["sh"]
                };
                for c in cmd {
                    o.str(c);
                }
                o.end_arr();
                o.kempty("resources");
                if privileged {
                    o.karr("volumeMounts");
                    o.obj();
                    o.ks("name", "host-root");
                    o.ks("mountPath", "/host");
                    o.end_obj();
                    o.end_arr();
                }
                o.ks("terminationMessagePath", "/dev/termination-log");
                o.ks("terminationMessagePolicy", "File");
                o.ks("imagePullPolicy", "IfNotPresent");
                if privileged {
                    o.kobj("securityContext");
                    o.kb("privileged", true);
                    o.end_obj();
                }
                o.kb("stdin", true);
                o.kb("stdinOnce", true);
                o.kb("tty", true);
                o.end_obj();
                o.end_arr();
                o.ks("restartPolicy", "Never");
                o.ku("terminationGracePeriodSeconds", 30);
                o.ks("dnsPolicy", "ClusterFirst");
                if privileged {
                    o.ks("nodeName", &node);
                    o.kb("hostNetwork", true);
                    o.kb("hostPID", true);
                    o.kb("hostIPC", true);
                }
                o.kempty("securityContext");
                o.ks("schedulerName", "default-scheduler");
                if privileged {
                    o.karr("tolerations");
                    o.obj();
                    o.ks("operator", "Exists");
                    o.end_obj();
                    o.end_arr();
                }
                o.kb("enableServiceLinks", true);
                o.end_obj();
                o.kobj("status");
                if response {
                    o.ks("phase", "Pending");
                    o.ks("qosClass", "BestEffort");
                }
                o.end_obj();
                o.end_obj();
            }
            Body::ControllerPod => {
                let (wl, _) = Self::pod_of(ev.pod.unwrap_or((0, 0)));
                let rs_hash = wl
                    .pods
                    .first()
                    .and_then(|p| p.name.rsplit_once('-').map(|x| x.0))
                    .and_then(|s| s.rsplit('-').next())
                    .unwrap_or("5d8f7c6b9");
                let rs = format!("{}-{rs_hash}", wl.name);
                let name = format!("{rs}-{}", ev.name);
                o.obj();
                o.ks("kind", "Pod");
                o.ks("apiVersion", "v1");
                o.kobj("metadata");
                if response {
                    o.ks("name", &name);
                }
                o.ks("generateName", &format!("{rs}-"));
                o.ks("namespace", wl.namespace);
                if response {
                    o.ks("uid", &uuid_of(hash_str(&name) ^ t_us as u64));
                    o.ks("resourceVersion", &self.resource_version().to_string());
                    o.key("creationTimestamp");
                    o.str_begin();
                    super::time::push_rfc3339(&mut o.b, t_us.div_euclid(1_000_000));
                    o.str_end();
                } else {
                    o.knull("creationTimestamp");
                }
                o.kobj("labels");
                o.ks("app.kubernetes.io/name", wl.name);
                o.ks("app.kubernetes.io/part-of", wl.namespace);
                o.ks("pod-template-hash", rs_hash);
                o.end_obj();
                o.kobj("annotations");
                o.ks("kubectl.kubernetes.io/default-container", wl.name);
                o.ks("prometheus.io/scrape", "true");
                o.end_obj();
                o.karr("ownerReferences");
                o.obj();
                o.ks("apiVersion", "apps/v1");
                o.ks("kind", "ReplicaSet");
                o.ks("name", &rs);
                o.ks("uid", &uuid_of(hash_str(&rs)));
                o.kb("controller", true);
                o.kb("blockOwnerDeletion", true);
                o.end_obj();
                o.end_arr();
                o.end_obj();
                o.kobj("spec");
                o.karr("volumes");
                o.obj();
                o.ks("name", "config");
                o.kobj("configMap");
                o.ks("name", &format!("{}-config", wl.name));
                o.ku("defaultMode", 420);
                o.end_obj();
                o.end_obj();
                if response {
                    o.obj();
                    o.key("name");
                    o.str_begin();
                    o.part("kube-api-access-");
                    push_k8s_suffix(&mut o.b, &mut self.rng, 5);
                    o.str_end();
                    o.kobj("projected");
                    o.karr("sources");
                    o.obj();
                    o.kobj("serviceAccountToken");
                    o.ku("expirationSeconds", 3607);
                    o.ks("path", "token");
                    o.end_obj();
                    o.end_obj();
                    o.obj();
                    o.kobj("configMap");
                    o.ks("name", "kube-root-ca.crt");
                    o.karr("items");
                    o.obj();
                    o.ks("key", "ca.crt");
                    o.ks("path", "ca.crt");
                    o.end_obj();
                    o.end_arr();
                    o.end_obj();
                    o.end_obj();
                    o.end_arr();
                    o.ku("defaultMode", 420);
                    o.end_obj();
                    o.end_obj();
                }
                o.end_arr();
                o.karr("containers");
                o.obj();
                o.ks("name", wl.name);
                o.ks("image", &wl.image);
                o.karr("ports");
                o.obj();
                o.ks("name", "http");
                o.ku("containerPort", wl.port as u64);
                o.ks("protocol", "TCP");
                o.end_obj();
                o.end_arr();
                o.karr("env");
                o.obj();
                o.ks("name", "LOG_LEVEL");
                o.ks("value", "info");
                o.end_obj();
                o.obj();
                o.ks("name", "DB_PASSWORD");
                o.kobj("valueFrom");
                o.kobj("secretKeyRef");
                o.ks("name", &format!("{}-db", wl.name));
                o.ks("key", "password");
                o.end_obj();
                o.end_obj();
                o.end_obj();
                o.end_arr();
                o.kobj("resources");
                o.kobj("limits");
                o.ks("memory", "512Mi");
                o.end_obj();
                o.kobj("requests");
                o.ks("cpu", "250m");
                o.ks("memory", "256Mi");
                o.end_obj();
                o.end_obj();
                o.karr("volumeMounts");
                o.obj();
                o.ks("name", "config");
                o.kb("readOnly", true);
                o.ks("mountPath", &format!("/etc/{}", wl.name));
                o.end_obj();
                o.end_arr();
                for probe in ["livenessProbe", "readinessProbe"] {
                    o.kobj(probe);
                    o.kobj("httpGet");
                    o.ks(
                        "path",
                        if probe == "livenessProbe" {
                            "/healthz"
                        } else {
                            "/ready"
                        },
                    );
                    o.ks("port", "http");
                    o.ks("scheme", "HTTP");
                    o.end_obj();
                    o.ku("timeoutSeconds", 1);
                    o.ku("periodSeconds", 10);
                    o.ku("successThreshold", 1);
                    o.ku("failureThreshold", 3);
                    o.end_obj();
                }
                o.ks("terminationMessagePath", "/dev/termination-log");
                o.ks("terminationMessagePolicy", "File");
                o.ks("imagePullPolicy", "IfNotPresent");
                o.kobj("securityContext");
                o.kobj("capabilities");
                o.karr("drop");
                o.str("ALL");
                o.end_arr();
                o.end_obj();
                o.kb("runAsNonRoot", true);
                o.ku("runAsUser", 10001);
                o.kb("readOnlyRootFilesystem", true);
                o.kb("allowPrivilegeEscalation", false);
                o.end_obj();
                o.end_obj();
                o.end_arr();
                o.ks("restartPolicy", "Always");
                o.ku("terminationGracePeriodSeconds", 30);
                o.ks("dnsPolicy", "ClusterFirst");
                o.ks("serviceAccountName", wl.service_account);
                o.ks("serviceAccount", wl.service_account);
                o.kobj("securityContext");
                o.kobj("seccompProfile");
                o.ks("type", "RuntimeDefault");
                o.end_obj();
                o.end_obj();
                o.ks("schedulerName", "default-scheduler");
                o.karr("tolerations");
                for key in [
                    "node.kubernetes.io/not-ready",
                    "node.kubernetes.io/unreachable",
                ] {
                    o.obj();
                    o.ks("key", key);
                    o.ks("operator", "Exists");
                    o.ks("effect", "NoExecute");
                    o.ku("tolerationSeconds", 300);
                    o.end_obj();
                }
                o.end_arr();
                o.ku("priority", 0);
                o.kb("enableServiceLinks", true);
                o.ks("preemptionPolicy", "PreemptLowerPriority");
                o.end_obj();
                o.kobj("status");
                if response {
                    o.ks("phase", "Pending");
                    o.ks("qosClass", "Burstable");
                }
                o.end_obj();
                o.end_obj();
            }
        }
    }
}

fn managed_fields(o: &mut Out, manager: &str, t_us: i64, fields: &str) {
    o.karr("managedFields");
    o.obj();
    o.ks("manager", manager);
    o.ks("operation", "Update");
    o.ks("apiVersion", "rbac.authorization.k8s.io/v1");
    o.key("time");
    o.str_begin();
    super::time::push_rfc3339(&mut o.b, t_us.div_euclid(1_000_000));
    o.str_end();
    o.ks("fieldsType", "FieldsV1");
    o.kraw("fieldsV1", fields.as_bytes());
    o.end_obj();
    o.end_arr();
}

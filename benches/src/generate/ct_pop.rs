//! Who calls AWS APIs in the estate, from where, with what, and which resources they
//! touch: the fixed population the CloudTrail generator draws from.

use std::sync::OnceLock;

use super::attacks;
use super::ct_api::{self, ApiId};
use super::ids::{Weighted, alnum_of, aws_id, hash_str, ipv4_string, mix, uuid_of};
use super::infra::{ACCOUNTS, PROD, Role, SECURITY, STAGING, estate};

/// What kind of identity a principal is (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `IAMUser`.
    User,
    /// `AssumedRole`.
    Role,
    /// `AWSService`.
    Service,
    /// `Root`.
    Root,
}

/// How a principal's client identifies itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Agent {
    /// AWS CLI v2/v1: the prefix, then ` prompt/off command/<svc>.<op>` is appended.
    Cli(&'static str),
    /// Terraform's AWS provider (aws-sdk-go-v2): ` api/<svc>#<version>` is appended.
    Terraform,
    /// An aws-sdk-go-v2 based client: ` api/<svc>#<version>` is appended.
    GoV2(&'static str),
    /// A fixed user agent sent over TLS 1.3.
    Fixed(&'static str),
    /// A fixed user agent sent over TLS 1.2 (older runtimes).
    Legacy(&'static str),
    /// The AWS Management Console (`console.amazonaws.com`, console session).
    Console,
    /// An AWS service acting for itself (user agent and address are its host name,
    /// no TLS details).
    Internal,
}

/// A session of a principal: a role session name (an instance id, an e-mail, a
/// function name) or the user itself, with the addresses it calls from.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub name: String,
    pub ips: Vec<String>,
}

/// A calling identity.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub kind: Kind,
    pub acct: usize,
    /// User or role name (empty for services and root).
    pub name: String,
    /// Role path (`/aws-reserved/sso.amazonaws.com/`), `/` for most.
    pub path: &'static str,
    /// `AIDA…` or `AROA…`.
    pub id: String,
    /// The user's long-term access key (`AKIA…`).
    pub key: String,
    pub sessions: Vec<Session>,
    pub agents: Weighted<Agent>,
    pub apis: Weighted<ApiId>,
    pub regions: Weighted<&'static str>,
    pub mfa: bool,
    /// For service-linked roles: the service (`config.amazonaws.com`).
    pub invoked_by: Option<&'static str>,
    /// Instance-profile sessions carry `ec2RoleDelivery`.
    pub ec2_delivery: bool,
    /// How long a session's credentials live before a new `ASIA…` key.
    pub session_secs: i64,
    /// Browser used for console sign-in.
    pub browser: &'static str,
    /// Buckets this principal reads and writes objects in (indices into buckets).
    pub buckets: Vec<usize>,
    /// For IRSA roles: the service account (`system:serviceaccount:shop:orders`).
    pub web_identity_sa: Option<&'static str>,
}

impl Principal {
    /// `arn:aws:iam::<acct>:role/<path><name>` for roles, user/root ARNs otherwise.
    pub fn arn(&self) -> String {
        let acct = ACCOUNTS[self.acct].id;
        match self.kind {
            Kind::User => format!("arn:aws:iam::{acct}:user/{}", self.name),
            Kind::Role => format!("arn:aws:iam::{acct}:role{}{}", self.path, self.name),
            Kind::Root => format!("arn:aws:iam::{acct}:root"),
            Kind::Service => String::new(),
        }
    }
}

/// Where object keys in a bucket come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    Assets,
    Lake,
    Exports,
    TrailLogs,
    TfState,
    Backups,
    Models,
    Uploads,
    Artifacts,
}

/// An S3 bucket.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub name: String,
    pub region: &'static str,
    pub acct: usize,
    /// Index of the KMS key of SSE-KMS buckets.
    pub kms: Option<usize>,
    pub keys: Keys,
}

/// A KMS key.
#[derive(Debug, Clone)]
pub(crate) struct KmsKey {
    pub id: String,
    pub alias: &'static str,
    pub acct: usize,
    pub region: &'static str,
}

/// A Secrets Manager secret.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub name: &'static str,
    /// The random suffix of its ARN.
    pub suffix: String,
    pub acct: usize,
}

/// The population.
#[derive(Debug)]
pub(crate) struct Pop {
    pub principals: Vec<Principal>,
    pub pick: Weighted<usize>,
    pub buckets: Vec<Bucket>,
    pub keys: Vec<KmsKey>,
    pub secrets: Vec<Secret>,
    pub params: Vec<&'static str>,
    pub repos: Vec<(&'static str, &'static str)>,
    /// Roles AWS services assume: (service host, principal index).
    pub service_roles: Vec<(&'static str, usize)>,
    /// Index of the leaked-key user.
    pub leaked: usize,
}

/// The population (built once).
pub(crate) fn pop() -> &'static Pop {
    static P: OnceLock<Pop> = OnceLock::new();
    P.get_or_init(build)
}

/// An `AKIA`/`ASIA`/`AIDA`/`AROA` id of `acct`: the 4-letter prefix, the account's
/// code, then characters derived from `seed`.
pub(crate) fn acct_id(prefix: &str, acct: usize, len: usize, seed: u64) -> String {
    let code = ACCOUNTS[acct].code;
    let tail = aws_id("", len - prefix.len() - code.len(), seed);
    format!("{prefix}{code}{tail}")
}

type ApiWeights = &'static [(&'static str, u32)];

const CONFIG_APIS: ApiWeights = &[
    ("DescribeInstances", 60),
    ("DescribeSecurityGroups", 50),
    ("DescribeVpcs", 30),
    ("DescribeSubnets", 30),
    ("DescribeVolumes", 40),
    ("DescribeNetworkInterfaces", 50),
    ("DescribeRouteTables", 30),
    ("DescribeAddresses", 10),
    ("DescribeTags", 20),
    ("GetRole", 40),
    ("ListAttachedRolePolicies", 30),
    ("GetUser", 20),
    ("ListUsers", 10),
    ("ListRoles", 10),
    ("GetBucketAcl", 30),
    ("GetBucketPolicy", 30),
    ("GetBucketVersioning", 20),
    ("GetBucketEncryption", 20),
    ("GetBucketPublicAccessBlock", 20),
    ("GetBucketLocation", 10),
    ("DescribeKey", 10),
    ("ListFunctions20150331", 10),
    ("DescribeDBInstances", 10),
    ("DescribeTrails", 10),
    ("GetTrailStatus", 10),
];

const NODE_APIS: ApiWeights = &[
    ("DescribeInstances", 30),
    ("DescribeNetworkInterfaces", 30),
    ("AssignPrivateIpAddresses", 6),
    ("DescribeTags", 10),
    ("GetAuthorizationToken", 30),
    ("BatchGetImage", 40),
    ("GetDownloadUrlForLayer", 80),
    ("UpdateInstanceInformation", 60),
    ("AssumeRoleWithWebIdentity", 0),
];

const APP_APIS: ApiWeights = &[
    ("GetObject", 100),
    ("PutObject", 60),
    ("HeadObject", 30),
    ("ListObjects", 15),
    ("Decrypt", 60),
    ("GenerateDataKey", 40),
    ("GetSecretValue", 15),
    ("GetParameter", 20),
    ("AssumeRoleWithWebIdentity", 15),
    ("DescribeTable", 8),
];

const KARPENTER_APIS: ApiWeights = &[
    ("DescribeInstances", 30),
    ("DescribeSubnets", 20),
    ("DescribeSecurityGroups", 20),
    ("DescribeImages", 10),
    ("DescribeAvailabilityZones", 5),
    ("GetParameter", 10),
    ("CreateTags", 2),
    ("AssumeRoleWithWebIdentity", 4),
];

const LAMBDA_APIS: ApiWeights = &[
    ("GetObject", 40),
    ("PutObject", 30),
    ("Decrypt", 30),
    ("CreateLogStream", 10),
    ("GetSecretValue", 10),
    ("GetParameters", 10),
];

const SERVICE_APIS: ApiWeights = &[
    ("AssumeRole", 120),
    ("GenerateDataKey", 20),
    ("Decrypt", 10),
];

const HUMAN_READS: &[(&str, u32)] = &[
    ("DescribeInstances", 60),
    ("DescribeSecurityGroups", 30),
    ("DescribeVpcs", 20),
    ("DescribeSubnets", 20),
    ("DescribeInstanceStatus", 20),
    ("DescribeAvailabilityZones", 10),
    ("DescribeImages", 10),
    ("DescribeAlarms", 30),
    ("GetMetricData", 40),
    ("DescribeLogGroups", 20),
    ("FilterLogEvents", 20),
    ("ListBuckets", 20),
    ("GetBucketPolicy", 10),
    ("GetBucketLocation", 20),
    ("ListObjects", 20),
    ("GetObject", 20),
    ("LookupEvents", 20),
    ("DescribeCluster", 20),
    ("ListClusters", 10),
    ("ListFunctions20150331", 10),
    ("GetFunction20150331v2", 10),
    ("ListRoles", 10),
    ("GetRole", 10),
    ("ListUsers", 10),
    ("ListSecrets", 10),
    ("DescribeSecret", 5),
    ("DescribeLoadBalancers", 10),
    ("DescribeTargetHealth", 10),
    ("DescribeDBInstances", 10),
    ("GetCallerIdentity", 20),
    ("DescribeAutoScalingGroups", 5),
    ("DescribeEventAggregates", 5),
];

const HUMAN_WRITES: ApiWeights = &[
    ("RunInstances", 3),
    ("StopInstances", 3),
    ("StartInstances", 3),
    ("TerminateInstances", 2),
    ("AuthorizeSecurityGroupIngress", 3),
    ("CreateSecurityGroup", 2),
    ("CreateTags", 5),
    ("PutBucketVersioning", 2),
    ("PutBucketPolicy", 2),
    ("PutBucketPublicAccessBlock", 1),
    ("GetSecretValue", 4),
    ("PutObject", 4),
];

const ADMIN_WRITES: ApiWeights = &[
    ("CreateUser", 1),
    ("CreateAccessKey", 1),
    ("AttachUserPolicy", 1),
    ("AttachRolePolicy", 1),
    ("CreateRole", 1),
    ("PutRolePolicy", 1),
    ("UpdateLoginProfile", 1),
    ("DeleteAccessKey", 1),
    ("CreateLoginProfile", 1),
];

const TERRAFORM_APIS: ApiWeights = &[
    ("GetCallerIdentity", 20),
    ("DescribeInstances", 20),
    ("DescribeSecurityGroups", 20),
    ("DescribeVpcs", 15),
    ("DescribeSubnets", 15),
    ("DescribeRouteTables", 10),
    ("DescribeImages", 5),
    ("GetRole", 20),
    ("ListAttachedRolePolicies", 15),
    ("GetUser", 5),
    ("GetBucketPolicy", 10),
    ("GetBucketVersioning", 10),
    ("GetBucketAcl", 10),
    ("GetBucketEncryption", 10),
    ("GetObject", 10),
    ("PutObject", 5),
    ("DescribeKey", 5),
    ("DescribeTable", 5),
    ("DescribeCluster", 5),
    ("DescribeDBInstances", 5),
    ("CreateTags", 3),
    ("RunInstances", 1),
    ("AuthorizeSecurityGroupIngress", 2),
    ("CreateSecurityGroup", 1),
    ("CreateRole", 1),
    ("AttachRolePolicy", 1),
    ("PutRolePolicy", 1),
    ("PutBucketPolicy", 1),
    ("PutBucketVersioning", 1),
    ("CreateUser", 1),
];

const AUDITOR_APIS: ApiWeights = &[
    ("GetAccountPasswordPolicy", 10),
    ("GenerateCredentialReport", 5),
    ("GetCredentialReport", 5),
    ("ListUsers", 10),
    ("ListAccessKeys", 20),
    ("ListMFADevices", 15),
    ("ListAttachedUserPolicies", 15),
    ("GetAccountSummary", 5),
    ("ListRoles", 5),
    ("GetBucketPolicyStatus", 15),
    ("GetBucketAcl", 15),
    ("GetBucketPublicAccessBlock", 15),
    ("GetBucketEncryption", 10),
    ("GetBucketVersioning", 10),
    ("ListBuckets", 5),
    ("DescribeTrails", 5),
    ("GetTrailStatus", 5),
    ("GetEventSelectors", 5),
    ("DescribeSecurityGroups", 20),
    ("DescribeInstances", 10),
    ("DescribeVolumes", 10),
    ("ListAliases", 5),
    ("DescribeKey", 5),
    ("ListSecrets", 5),
    ("ListFunctions20150331", 5),
    ("GetCallerIdentity", 3),
];

const LEAKED_USER_APIS: ApiWeights = &[
    ("GetObject", 60),
    ("ListObjects", 20),
    ("HeadObject", 10),
    ("ListBuckets", 2),
];

const GRAFANA_APIS: ApiWeights = &[
    ("GetMetricData", 80),
    ("DescribeAlarms", 5),
    ("DescribeInstances", 5),
    ("DescribeLogGroups", 5),
];

const JENKINS_APIS: ApiWeights = &[
    ("GetAuthorizationToken", 20),
    ("PutObject", 20),
    ("GetObject", 10),
    ("DescribeCluster", 10),
    ("GetCallerIdentity", 10),
];

const CONSOLE_ONLY_APIS: ApiWeights = &[
    ("ConsoleLogin", 10),
    ("ListBuckets", 5),
    ("DescribeInstances", 5),
    ("GetMetricData", 5),
    ("GetCostAndUsage", 10),
];

const ROOT_APIS: ApiWeights = &[
    ("ConsoleLogin", 30),
    ("GetAccountSummary", 10),
    ("ListMFADevices", 10),
    ("GetCostAndUsage", 5),
];

fn apis(lists: &[(ApiWeights, u32)]) -> Weighted<ApiId> {
    let mut pairs = Vec::new();
    for (list, scale) in lists {
        for &(name, w) in *list {
            if let Some(id) = ct_api::find(name) {
                pairs.push((w * scale, id));
            } else {
                debug_assert!(false, "unknown api {name}");
            }
        }
    }
    Weighted::new(pairs)
}

const US_EAST_ONLY: &[(&str, u32)] = &[("us-east-1", 1)];
const MOSTLY_US_EAST: &[(&str, u32)] = &[("us-east-1", 80), ("us-west-2", 12), ("eu-west-1", 8)];
const ALL_REGIONS: &[(&str, u32)] = &[
    ("us-east-1", 50),
    ("us-west-2", 20),
    ("eu-west-1", 20),
    ("eu-central-1", 10),
];

fn regions(list: &[(&'static str, u32)]) -> Weighted<&'static str> {
    Weighted::new(list.iter().map(|&(r, w)| (w, r)))
}

const MAC_CLI: &str = "aws-cli/2.15.40 Python/3.11.8 Darwin/23.4.0 exe/x86_64";
const MAC_ARM_CLI: &str = "aws-cli/2.16.1 Python/3.11.8 Darwin/23.5.0 exe/arm64";
const LINUX_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/5.15.0-1061-aws exe/x86_64.ubuntu.22";
const CLI_V1: &str =
    "aws-cli/1.32.101 Python/3.9.18 Linux/5.10.215-203.850.amzn2.x86_64 botocore/1.34.101";
const BOTO_REPORTING: &str =
    "Boto3/1.26.137 Python/3.9.16 Linux/5.10.178-162.673.amzn2.x86_64 Botocore/1.29.137";
const BOTO_APP: &str = "Boto3/1.34.98 md/Botocore#1.34.98 ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.98";
const BOTO_LAMBDA: &str = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.214-223.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42";
const PROWLER: &str = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.84-99.169.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.84 prowler/3.16.6";
const GO_V1: &str = "aws-sdk-go/1.51.21 (go1.21.9; linux; amd64)";
const GO_V2_PAYMENTS: &str =
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64";
const KARPENTER_GO: &str = "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 ua/karpenter.sh-v0.36.1";
const GRAFANA: &str = "Grafana/10.4.2 aws-sdk-go/1.50.8 (go1.21.9; linux; amd64)";
const JAVA_JENKINS: &str = "aws-sdk-java/1.12.705 Linux/5.15.0-1061-aws OpenJDK_64-Bit_Server_VM/17.0.11+9 java/17.0.11 vendor/Eclipse_Adoptium cfg/retry-mode/standard";
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const FIREFOX_WIN: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15";

const OFFICE_IPS: [&str; 2] = ["198.51.100.10", "198.51.100.11"];
const VPN_IP: &str = "198.51.100.200";
/// Home addresses of people (one each).
const HOME_IPS: [&str; 8] = [
    "203.0.113.25",
    "203.0.113.77",
    "203.0.113.140",
    "203.0.113.9",
    "203.0.113.201",
    "203.0.113.58",
    "203.0.113.166",
    "203.0.113.93",
];
/// GitHub-hosted runner addresses (Azure ranges).
const RUNNER_IPS: [&str; 8] = [
    "20.84.13.207",
    "20.55.214.96",
    "40.76.42.155",
    "52.191.87.23",
    "172.177.36.140",
    "4.236.180.61",
    "20.81.176.5",
    "52.226.143.78",
];
/// Addresses Lambda functions egress from.
const LAMBDA_IPS: [&str; 10] = [
    "3.91.12.170",
    "3.236.41.19",
    "18.206.77.141",
    "34.229.58.246",
    "44.201.93.7",
    "52.23.171.88",
    "54.162.201.34",
    "54.88.9.203",
    "3.84.245.112",
    "44.198.62.150",
];
const SECURITY_NAT_IP: &str = "44.211.73.150";

struct Def {
    kind: Kind,
    acct: usize,
    name: &'static str,
    path: &'static str,
    sessions: Vec<Session>,
    agents: Vec<(u32, Agent)>,
    apis: Weighted<ApiId>,
    regions: &'static [(&'static str, u32)],
    weight: u32,
    mfa: bool,
    invoked_by: Option<&'static str>,
    ec2_delivery: bool,
    session_secs: i64,
    browser: &'static str,
    buckets: Vec<&'static str>,
    web_identity_sa: Option<&'static str>,
}

impl Def {
    fn new(
        kind: Kind,
        acct: usize,
        name: &'static str,
        weight: u32,
        apis: Weighted<ApiId>,
    ) -> Self {
        Def {
            kind,
            acct,
            name,
            path: "/",
            sessions: Vec::new(),
            agents: Vec::new(),
            apis,
            regions: US_EAST_ONLY,
            weight,
            mfa: false,
            invoked_by: None,
            ec2_delivery: false,
            session_secs: 3600,
            browser: CHROME_MAC,
            buckets: Vec::new(),
            web_identity_sa: None,
        }
    }
}

fn sess(name: impl Into<String>, ips: &[&str]) -> Session {
    Session {
        name: name.into(),
        ips: ips.iter().map(|s| s.to_string()).collect(),
    }
}

fn build() -> Pop {
    let e = estate();
    let prod = e.prod();
    let staging = &e.vpcs[1];
    let prod_nat: Vec<&str> = prod.nat_eips.iter().map(String::as_str).collect();
    let staging_nat: Vec<&str> = staging.nat_eips.iter().map(String::as_str).collect();

    let mut buckets = Vec::new();
    let mut keys = Vec::new();
    for (alias, acct, region) in [
        ("alias/prod-data", PROD, "us-east-1"),
        ("alias/prod-secrets", PROD, "us-east-1"),
        ("alias/prod-exports", PROD, "us-east-1"),
        ("alias/cloudtrail", PROD, "us-east-1"),
        ("alias/prod-backups-eu", PROD, "eu-west-1"),
        ("alias/staging-data", STAGING, "us-east-1"),
    ] {
        keys.push(KmsKey {
            id: uuid_of(hash_str(alias) ^ acct as u64),
            alias,
            acct,
            region,
        });
    }
    let prod_id = ACCOUNTS[PROD].id;
    let staging_id = ACCOUNTS[STAGING].id;
    for (name, region, acct, kms, k) in [
        (
            "acme-prod-app-assets".to_string(),
            "us-east-1",
            PROD,
            None,
            Keys::Assets,
        ),
        (
            "acme-prod-data-lake".to_string(),
            "us-east-1",
            PROD,
            Some(0),
            Keys::Lake,
        ),
        (
            attacks::PUBLIC_BUCKET.to_string(),
            "us-east-1",
            PROD,
            Some(2),
            Keys::Exports,
        ),
        (
            format!("acme-cloudtrail-logs-{prod_id}"),
            "us-east-1",
            PROD,
            Some(3),
            Keys::TrailLogs,
        ),
        (
            format!("acme-terraform-state-{prod_id}"),
            "us-east-1",
            PROD,
            None,
            Keys::TfState,
        ),
        (
            "acme-prod-backups-eu".to_string(),
            "eu-west-1",
            PROD,
            Some(4),
            Keys::Backups,
        ),
        (
            "acme-prod-ml-artifacts".to_string(),
            "us-west-2",
            PROD,
            None,
            Keys::Models,
        ),
        (
            "acme-prod-reports".to_string(),
            "us-east-1",
            PROD,
            Some(0),
            Keys::Exports,
        ),
        (
            "acme-ci-artifacts".to_string(),
            "us-east-1",
            PROD,
            None,
            Keys::Artifacts,
        ),
        (
            "acme-staging-uploads".to_string(),
            "us-east-1",
            STAGING,
            Some(5),
            Keys::Uploads,
        ),
        (
            format!("acme-terraform-state-{staging_id}"),
            "us-east-1",
            STAGING,
            None,
            Keys::TfState,
        ),
    ] {
        buckets.push(Bucket {
            name,
            region,
            acct,
            kms,
            keys: k,
        });
    }
    let secrets = [
        (attacks::STOLEN_SECRET, PROD),
        ("prod/orders/stripe-api-key", PROD),
        ("prod/shared/datadog-api-key", PROD),
        ("prod/orders/db-credentials", PROD),
        ("rds!db-3f1c2a7e-91b4-4d0e-8a6f-52c9e0b7d1a4", PROD),
        ("staging/orders/db-credentials", STAGING),
    ]
    .into_iter()
    .map(|(name, acct)| Secret {
        name,
        suffix: alnum_of(hash_str(name), 6),
        acct,
    })
    .collect();
    let params = vec![
        "/prod/orders/feature-flags",
        "/prod/orders/config",
        "/prod/payments/config",
        "/prod/shared/vpc-id",
        "/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/image_id",
        "/aws/service/bottlerocket/aws-k8s-1.30/x86_64/latest/image_id",
    ];
    let repos = vec![
        ("shop/frontend", "2.31.0"),
        ("shop/cart", "1.14.2"),
        ("shop/catalog", "3.2.7"),
        ("shop/orders", "5.0.3"),
        ("payments/payments-api", "4.8.1"),
        ("payments/ledger-worker", "1.9.0"),
    ];
    let bucket_ix = |name: &str| buckets.iter().position(|b| b.name == name);

    let mut defs: Vec<Def> = Vec::new();

    // AWS Config's service-linked role: the bulk of Describe*/List*/Get* noise.
    for (acct, weight) in [(PROD, 150), (STAGING, 50)] {
        let mut d = Def::new(
            Kind::Role,
            acct,
            "AWSServiceRoleForConfig",
            weight,
            apis(&[(CONFIG_APIS, 1)]),
        );
        d.path = "/aws-service-role/config.amazonaws.com/";
        d.sessions = vec![sess("AWSConfig-Describe", &["config.amazonaws.com"])];
        d.agents = vec![(1, Agent::Internal)];
        d.invoked_by = Some("config.amazonaws.com");
        d.regions = ALL_REGIONS;
        d.session_secs = 900;
        defs.push(d);
    }

    // EKS worker nodes (instance profile sessions named after the instance).
    for (acct, vpc, nat, weight, role) in [
        (PROD, prod, &prod_nat, 120, "eks-prod-node-group-role"),
        (
            STAGING,
            staging,
            &staging_nat,
            30,
            "eks-staging-node-group-role",
        ),
    ] {
        let mut d = Def::new(Kind::Role, acct, role, weight, apis(&[(NODE_APIS, 1)]));
        d.sessions = vpc
            .hosts
            .iter()
            .filter(|h| h.role == Role::Node)
            .filter_map(|h| h.instance.as_ref().map(|i| sess(i.clone(), nat)))
            .collect();
        d.agents = vec![
            (3, Agent::Fixed(GO_V1)),
            (
                2,
                Agent::GoV2(
                    "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64",
                ),
            ),
        ];
        d.ec2_delivery = true;
        d.session_secs = 6 * 3600;
        defs.push(d);
    }

    // IRSA roles of workloads.
    let orders_pods: Vec<String> = e
        .workload("shop", "orders")
        .map(|w| w.pods.iter().map(|p| ipv4_string(p.ip)).collect())
        .unwrap_or_default();
    let mut orders_ips: Vec<&str> = orders_pods.iter().map(String::as_str).collect();
    orders_ips.extend(prod_nat.iter().copied());
    let mut d = Def::new(
        Kind::Role,
        PROD,
        "shop-orders-irsa",
        80,
        apis(&[(APP_APIS, 1)]),
    );
    d.sessions = (0..3)
        .map(|i| {
            sess(
                format!("botocore-session-17145{}", 20311 + i * 7919),
                &orders_ips,
            )
        })
        .collect();
    d.agents = vec![(1, Agent::Fixed(BOTO_APP))];
    d.buckets = vec![
        "acme-prod-data-lake",
        "acme-prod-app-assets",
        "acme-prod-reports",
    ];
    d.web_identity_sa = Some("system:serviceaccount:shop:orders");
    defs.push(d);

    let mut d = Def::new(
        Kind::Role,
        PROD,
        "payments-api-irsa",
        40,
        apis(&[(APP_APIS, 1)]),
    );
    d.sessions = (0..3)
        .map(|i| sess(format!("aws-go-sdk-17145{}", 19873 + i * 6133), &prod_nat))
        .collect();
    d.agents = vec![(1, Agent::GoV2(GO_V2_PAYMENTS))];
    d.buckets = vec![attacks::PUBLIC_BUCKET, "acme-prod-reports"];
    d.web_identity_sa = Some("system:serviceaccount:payments:payments-api");
    defs.push(d);

    let mut d = Def::new(
        Kind::Role,
        PROD,
        "karpenter-controller",
        25,
        apis(&[(KARPENTER_APIS, 1)]),
    );
    d.sessions = vec![sess("1714520117093812345", &prod_nat)];
    d.agents = vec![(1, Agent::Fixed(KARPENTER_GO))];
    d.web_identity_sa = Some("system:serviceaccount:karpenter:karpenter");
    defs.push(d);

    // A Lambda function.
    let mut d = Def::new(
        Kind::Role,
        PROD,
        "order-events-processor-role",
        45,
        apis(&[(LAMBDA_APIS, 1)]),
    );
    d.sessions = vec![sess("order-events-processor", &LAMBDA_IPS)];
    d.agents = vec![(1, Agent::Fixed(BOTO_LAMBDA))];
    d.buckets = vec!["acme-prod-data-lake", "acme-prod-reports"];
    d.session_secs = 4 * 3600;
    defs.push(d);

    // AWS services acting as themselves.
    let mut d = Def::new(Kind::Service, PROD, "", 40, apis(&[(SERVICE_APIS, 1)]));
    d.sessions = vec![sess("", &[])];
    d.agents = vec![(1, Agent::Internal)];
    defs.push(d);

    // People through IAM Identity Center.
    let people: [(&str, usize); 8] = [
        ("alice.nguyen@example.com", 0),
        ("dave.okafor@example.com", 1),
        ("bob.martin@example.com", 2),
        ("carol.diaz@example.com", 3),
        ("erin.walsh@example.com", 4),
        ("frank.li@example.com", 5),
        ("grace.kim@example.com", 6),
        ("henry.silva@example.com", 7),
    ];
    let person = |i: usize| {
        let (email, home) = people[i];
        sess(
            email,
            &[OFFICE_IPS[0], OFFICE_IPS[1], VPN_IP, HOME_IPS[home]],
        )
    };
    for (acct, role, who, lists, weight, browser) in [
        (
            PROD,
            "AWSReservedSSO_AdministratorAccess_8a4c2e1f9b3d7065",
            vec![0, 1],
            vec![(HUMAN_READS, 10), (HUMAN_WRITES, 10), (ADMIN_WRITES, 10)],
            45,
            CHROME_MAC,
        ),
        (
            PROD,
            "AWSReservedSSO_PowerUserAccess_2b6d9e0c4f1a8357",
            vec![2, 3, 4],
            vec![(HUMAN_READS, 10), (HUMAN_WRITES, 10)],
            60,
            FIREFOX_WIN,
        ),
        (
            PROD,
            "AWSReservedSSO_ReadOnlyAccess_5c0e7a3b9d2f6148",
            vec![5, 6, 7],
            vec![(HUMAN_READS, 1)],
            30,
            SAFARI_MAC,
        ),
        (
            STAGING,
            "AWSReservedSSO_PowerUserAccess_7d1f3b5a9c0e2468",
            vec![2, 3, 4, 6],
            vec![(HUMAN_READS, 10), (HUMAN_WRITES, 20)],
            40,
            CHROME_MAC,
        ),
    ] {
        let mut d = Def::new(Kind::Role, acct, role, weight, apis(&lists));
        d.path = "/aws-reserved/sso.amazonaws.com/";
        d.sessions = who.into_iter().map(person).collect();
        d.agents = vec![
            (5, Agent::Console),
            (3, Agent::Cli(MAC_CLI)),
            (2, Agent::Cli(MAC_ARM_CLI)),
        ];
        d.regions = MOSTLY_US_EAST;
        d.session_secs = 8 * 3600;
        d.browser = browser;
        defs.push(d);
    }

    // Cross-account security auditing.
    let mut d = Def::new(
        Kind::Role,
        PROD,
        "SecurityAuditRole",
        45,
        apis(&[(AUDITOR_APIS, 1)]),
    );
    d.sessions = vec![
        sess("prowler-scan", &[SECURITY_NAT_IP]),
        sess("securityhub-collector", &[SECURITY_NAT_IP]),
    ];
    d.agents = vec![(1, Agent::Fixed(PROWLER))];
    d.regions = ALL_REGIONS;
    defs.push(d);

    // IAM users with long-term keys.
    let mut d = Def::new(
        Kind::User,
        PROD,
        attacks::LEAKED_USER,
        30,
        apis(&[(LEAKED_USER_APIS, 1)]),
    );
    d.sessions = vec![sess(attacks::LEAKED_USER, &[attacks::LEAKED_KEY_HOME_IP])];
    d.agents = vec![(1, Agent::Legacy(BOTO_REPORTING))];
    d.buckets = vec!["acme-prod-reports", "acme-prod-data-lake"];
    defs.push(d);

    for (acct, name, weight) in [(PROD, "terraform-ci", 50), (STAGING, "terraform-ci", 25)] {
        let mut d = Def::new(Kind::User, acct, name, weight, apis(&[(TERRAFORM_APIS, 1)]));
        d.sessions = vec![sess(name, &RUNNER_IPS)];
        d.agents = vec![(1, Agent::Terraform)];
        d.buckets = if acct == PROD {
            vec!["acme-terraform-state-418273650912"]
        } else {
            vec!["acme-terraform-state-527391846203"]
        };
        d.regions = MOSTLY_US_EAST;
        defs.push(d);
    }

    let mut d = Def::new(
        Kind::User,
        PROD,
        "grafana-cloudwatch",
        30,
        apis(&[(GRAFANA_APIS, 1)]),
    );
    d.sessions = vec![sess("grafana-cloudwatch", &prod_nat)];
    d.agents = vec![(1, Agent::Fixed(GRAFANA))];
    d.regions = MOSTLY_US_EAST;
    defs.push(d);

    let mut d = Def::new(Kind::User, PROD, "jenkins", 25, apis(&[(JENKINS_APIS, 1)]));
    d.sessions = vec![sess("jenkins", &["198.51.100.20"])];
    d.agents = vec![(3, Agent::Legacy(JAVA_JENKINS)), (1, Agent::Cli(CLI_V1))];
    d.buckets = vec!["acme-ci-artifacts"];
    defs.push(d);

    for (name, mfa, weight, home) in [
        ("breakglass-admin", true, 2, 0),
        ("finance-viewer", false, 6, 5),
        ("legacy-ops", true, 4, 3),
    ] {
        let mut d = Def::new(
            Kind::User,
            PROD,
            name,
            weight,
            apis(&[(CONSOLE_ONLY_APIS, 1), (HUMAN_READS, 1)]),
        );
        d.sessions = vec![sess(name, &[OFFICE_IPS[0], HOME_IPS[home]])];
        d.agents = vec![(1, Agent::Console)];
        d.mfa = mfa;
        d.session_secs = 12 * 3600;
        d.browser = if name == "finance-viewer" {
            FIREFOX_WIN
        } else {
            CHROME_MAC
        };
        defs.push(d);
    }

    let mut d = Def::new(Kind::Root, PROD, "", 1, apis(&[(ROOT_APIS, 1)]));
    d.sessions = vec![sess("root", &[OFFICE_IPS[1]])];
    d.agents = vec![(1, Agent::Console)];
    d.mfa = true;
    d.session_secs = 3600;
    defs.push(d);

    // Security account's own auditing of itself (small).
    let mut d = Def::new(
        Kind::Role,
        SECURITY,
        "SecurityAuditRole",
        8,
        apis(&[(AUDITOR_APIS, 1)]),
    );
    d.sessions = vec![sess("prowler-scan", &[SECURITY_NAT_IP])];
    d.agents = vec![(1, Agent::Fixed(PROWLER))];
    defs.push(d);

    // Linux CLI on the bastion (operators).
    let mut d = Def::new(
        Kind::Role,
        PROD,
        "bastion-ops-role",
        10,
        apis(&[(HUMAN_READS, 1)]),
    );
    let bastion_ip = prod_nat.first().copied().unwrap_or("3.214.87.19");
    d.sessions = prod
        .hosts
        .iter()
        .filter(|h| h.role == Role::Bastion)
        .filter_map(|h| h.instance.as_ref().map(|i| sess(i.clone(), &[bastion_ip])))
        .collect();
    d.agents = vec![(1, Agent::Cli(LINUX_CLI))];
    d.ec2_delivery = true;
    d.session_secs = 6 * 3600;
    defs.push(d);

    let mut principals = Vec::new();
    let mut weights = Vec::new();
    let mut leaked = 0;
    for (i, d) in defs.into_iter().enumerate() {
        let seed = hash_str(d.name) ^ mix(d.acct as u64) ^ mix(i as u64 + 7);
        let id = match d.kind {
            Kind::User => acct_id("AIDA", d.acct, 21, seed),
            Kind::Role => acct_id("AROA", d.acct, 21, seed),
            _ => String::new(),
        };
        let key = if d.name == attacks::LEAKED_USER {
            leaked = i;
            attacks::LEAKED_ACCESS_KEY_ID.to_string()
        } else if d.kind == Kind::User {
            acct_id("AKIA", d.acct, 20, seed ^ 1)
        } else {
            String::new()
        };
        weights.push((d.weight, i));
        principals.push(Principal {
            kind: d.kind,
            acct: d.acct,
            name: d.name.to_string(),
            path: d.path,
            id,
            key,
            sessions: d.sessions,
            agents: Weighted::new(d.agents),
            apis: d.apis,
            regions: regions(d.regions),
            mfa: d.mfa,
            invoked_by: d.invoked_by,
            ec2_delivery: d.ec2_delivery,
            session_secs: d.session_secs,
            browser: d.browser,
            buckets: d.buckets.iter().filter_map(|b| bucket_ix(b)).collect(),
            web_identity_sa: d.web_identity_sa,
        });
    }
    let find_role = |name: &str| {
        principals
            .iter()
            .position(|p| p.kind == Kind::Role && p.name == name)
    };
    let service_roles = [
        ("lambda.amazonaws.com", "order-events-processor-role"),
        ("ec2.amazonaws.com", "eks-prod-node-group-role"),
        ("ec2.amazonaws.com", "bastion-ops-role"),
        ("config.amazonaws.com", "AWSServiceRoleForConfig"),
    ]
    .into_iter()
    .filter_map(|(svc, role)| find_role(role).map(|i| (svc, i)))
    .collect();
    Pop {
        principals,
        pick: Weighted::new(weights),
        buckets,
        keys,
        secrets,
        params,
        repos,
        service_roles,
        leaked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_is_consistent() {
        let p = pop();
        for pr in &p.principals {
            assert!(!pr.sessions.is_empty(), "{} has sessions", pr.name);
            assert!(!pr.apis.items().is_empty(), "{} has apis", pr.name);
            assert!(!pr.agents.items().is_empty(), "{} has agents", pr.name);
            match pr.kind {
                Kind::User => {
                    assert_eq!(pr.key.len(), 20);
                    assert!(pr.key.starts_with("AKIA"));
                    assert!(pr.id.starts_with("AIDA") && pr.id.len() == 21);
                }
                Kind::Role => assert!(pr.id.starts_with("AROA") && pr.id.len() == 21),
                _ => {}
            }
        }
        let leaked = &p.principals[p.leaked];
        assert_eq!(leaked.key, attacks::LEAKED_ACCESS_KEY_ID);
        assert_eq!(leaked.arn(), attacks::LEAKED_USER_ARN);
        assert!(attacks::LEAKED_ACCESS_KEY_ID.starts_with(&format!("AKIA{}", ACCOUNTS[PROD].code)));
        assert!(
            attacks::BACKDOOR_ACCESS_KEY_ID.starts_with(&format!("AKIA{}", ACCOUNTS[PROD].code))
        );
        assert_eq!(p.service_roles.len(), 4);
        assert!(p.buckets.iter().any(|b| b.name == attacks::PUBLIC_BUCKET));
    }
}

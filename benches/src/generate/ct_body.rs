//! `requestParameters`, `responseElements`, `additionalEventData` and `resources` of
//! each CloudTrail event, shaped as AWS writes them for that event name.

use fastrand::Rng;

use super::ct_api::Api;
use super::ct_pop::{Bucket, Keys, Kind, Pop, Principal, acct_id};
use super::ids::{ec2_id, pareto, push_alnum, push_base64, push_hex, push_uuid};
use super::infra::{ACCOUNTS, Host, PROD, Vpc, estate};
use super::json::{Out, push_padded};
use super::time::{civil, compact_minute, push_aws_human};

/// Where the TLS `clientProvidedHostHeader` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HostKind {
    /// `<service>.<region>.amazonaws.com` (or the global host).
    #[default]
    Service,
    /// `<bucket>.s3.<region>.amazonaws.com`.
    Bucket(usize),
}

/// Facts the body decides that the envelope needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Info {
    /// `awsRegion`.
    pub region: &'static str,
    /// Called by an AWS service on the principal's behalf (`AWS Internal`).
    pub internal: bool,
    /// TLS host header source.
    pub host: HostKind,
    /// S3-style 16-hex-digit request id.
    pub s3: bool,
    /// What an error message names (a user, a bucket, a key ARN).
    pub target: String,
    /// The caller is a web identity (IRSA `AssumeRoleWithWebIdentity`).
    pub web_identity: bool,
    /// `ConsoleLogin` outcome: (success, MFA used).
    pub login: Option<(bool, bool)>,
    /// AWS writes a `sharedEventID` (cross-account/service calls).
    pub shared_event_id: bool,
    /// Came through a VPC endpoint.
    pub vpce: bool,
    /// For `AWSService` callers: which service (`lambda.amazonaws.com`).
    pub service: Option<&'static str>,
}

/// Writes one event's body into `o` (and its resources into `res`).
pub(crate) struct Body<'a> {
    pub rng: &'a mut Rng,
    pub o: &'a mut Out,
    pub res: &'a mut Out,
    pub info: &'a mut Info,
    pub pop: &'static Pop,
    pub acct: usize,
    pub t: i64,
    /// The call fails: `responseElements` is null.
    pub err: bool,
}

const AMIS: [&str; 4] = [
    "ami-0f1a5f5ada0e7da53",
    "ami-07caf09b362be10b8",
    "ami-04e5276ebb8451442",
    "ami-0a8b4cd432b1c3063",
];
const INSTANCE_TYPES: [&str; 6] = [
    "m6i.large",
    "m6i.xlarge",
    "c6i.2xlarge",
    "t3.medium",
    "r6i.large",
    "m7g.large",
];
const NEW_USERS: [&str; 6] = [
    "ext-auditor-2024",
    "data-eng-svc",
    "looker-export",
    "contractor-jsmith",
    "mobile-ci",
    "sftp-partner-acme",
];
const POLICIES: [&str; 6] = [
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
];
/// The identity provider of the EKS cluster's service-account tokens.
pub(crate) const OIDC_ID: &str = "5E1B6C3A9F27D84C0B13E6A97F2D5C81";

fn pick<'t, T>(rng: &mut Rng, items: &'t [T]) -> &'t T {
    &items[rng.usize(..items.len())]
}

/// Appends `s` percent-encoded as IAM encodes policy documents in responses.
fn push_url_encoded(b: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in s.bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            b.push(c);
        } else {
            b.push(b'%');
            b.push(HEX[(c >> 4) as usize]);
            b.push(HEX[(c & 15) as usize]);
        }
    }
}

impl Body<'_> {
    fn acct_id(&self) -> &'static str {
        ACCOUNTS[self.acct].id
    }

    fn vpc(&self) -> &'static Vpc {
        let e = estate();
        e.vpcs
            .iter()
            .find(|v| v.account == self.acct)
            .unwrap_or_else(|| e.prod())
    }

    fn instance(&mut self) -> &'static Host {
        let v = self.vpc();
        let n = v
            .hosts
            .iter()
            .filter(|h| h.instance.is_some())
            .count()
            .max(1);
        let k = self.rng.usize(..n);
        v.hosts
            .iter()
            .filter(|h| h.instance.is_some())
            .nth(k)
            .unwrap_or(&v.hosts[0])
    }

    fn instance_id(&mut self) -> &'static str {
        self.instance().instance.as_deref().unwrap_or("i-0")
    }

    fn sg(&mut self) -> &'static str {
        let v = self.vpc();
        &v.security_groups[self.rng.usize(..v.security_groups.len())].0
    }

    fn uuid_val(&mut self) {
        self.o.str_begin();
        push_uuid(&mut self.o.b, self.rng);
        self.o.str_end();
    }

    fn request_id(&mut self) {
        self.o.key("requestId");
        self.uuid_val();
    }

    fn filter(&mut self, name: &str, value: &str) {
        self.o.obj();
        self.o.ks("name", name);
        self.o.kobj("valueSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("value", value);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_obj();
    }

    fn filter_set(&mut self, name: &str, value: &str) {
        self.o.kobj("filterSet");
        self.o.karr("items");
        self.filter(name, value);
        self.o.end_arr();
        self.o.end_obj();
    }

    fn id_items(&mut self, set: &str, key: &str, value: &str) {
        self.o.kobj(set);
        self.o.karr("items");
        self.o.obj();
        self.o.ks(key, value);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
    }

    fn resp_null(&mut self) {
        self.o.knull("responseElements");
    }

    fn req_null(&mut self) {
        self.o.knull("requestParameters");
    }

    fn resource(&mut self, ty: &str, arn_parts: &[&str]) {
        self.res.obj();
        self.res.ks("accountId", ACCOUNTS[self.acct].id);
        self.res.ks("type", ty);
        self.res.key("ARN");
        self.res.str_begin();
        for p in arn_parts {
            self.res.part(p);
        }
        self.res.str_end();
        self.res.end_obj();
    }

    /// Writes the body of a background call of `api` by `p`.
    pub fn background(&mut self, api: &Api, p: &'static Principal, pi: usize) {
        match api.name {
            "DescribeInstances" => {
                self.o.kobj("requestParameters");
                match self.rng.u32(..3) {
                    0 => {
                        let i = self.instance_id();
                        self.id_items("instancesSet", "instanceId", i);
                        self.o.kempty("filterSet");
                    }
                    1 => {
                        self.o.kempty("instancesSet");
                        self.o.kobj("filterSet");
                        self.o.karr("items");
                        self.filter("instance-state-name", "running");
                        self.filter("tag:eks:cluster-name", ACCOUNTS[self.acct].env);
                        self.o.end_arr();
                        self.o.end_obj();
                    }
                    _ => {
                        self.o.kempty("instancesSet");
                        self.o.kempty("filterSet");
                    }
                }
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeSecurityGroups" => {
                self.o.kobj("requestParameters");
                self.o.kempty("securityGroupSet");
                if self.rng.bool() {
                    let sg = self.sg();
                    self.id_items("securityGroupIdSet", "groupId", sg);
                    self.o.kempty("filterSet");
                } else {
                    self.o.kempty("securityGroupIdSet");
                    let v = self.vpc();
                    self.filter_set("vpc-id", &v.id);
                }
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeVpcs" => {
                self.o.kobj("requestParameters");
                if self.rng.bool() {
                    let v = self.vpc();
                    self.id_items("vpcSet", "vpcId", &v.id);
                } else {
                    self.o.kempty("vpcSet");
                }
                self.o.kempty("filterSet");
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeSubnets" => {
                self.o.kobj("requestParameters");
                self.o.kempty("subnetSet");
                let v = self.vpc();
                self.filter_set("vpc-id", &v.id);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeVolumes" => {
                self.o.kobj("requestParameters");
                self.o.kempty("volumeSet");
                if self.rng.bool() {
                    let i = self.instance_id();
                    self.filter_set("attachment.instance-id", i);
                } else {
                    self.o.kempty("filterSet");
                    self.o.ku("maxResults", 1000);
                }
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeNetworkInterfaces" => {
                self.o.kobj("requestParameters");
                let h = self.instance();
                if self.rng.bool() {
                    self.id_items("networkInterfaceIdSet", "networkInterfaceId", &h.eni);
                    self.o.kempty("filterSet");
                } else {
                    self.o.kempty("networkInterfaceIdSet");
                    self.filter_set(
                        "attachment.instance-id",
                        h.instance.as_deref().unwrap_or(""),
                    );
                }
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeRouteTables" => {
                self.o.kobj("requestParameters");
                self.o.kempty("routeTableIdSet");
                let v = self.vpc();
                self.filter_set("vpc-id", &v.id);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeImages" => {
                self.o.kobj("requestParameters");
                self.o.kempty("executableBySet");
                let ami = *pick(self.rng, &AMIS);
                self.id_items("imagesSet", "imageId", ami);
                self.o.kempty("ownersSet");
                self.o.kempty("availabilityZoneSet");
                self.o.kb("includeDeprecated", false);
                self.o.kb("includeDisabled", false);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeAddresses" => {
                self.o.kobj("requestParameters");
                self.o.kempty("publicIpsSet");
                self.o.kempty("allocationIdsSet");
                self.o.kempty("filterSet");
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeInstanceStatus" => {
                self.o.kobj("requestParameters");
                self.o.kempty("instancesSet");
                self.o.kempty("filterSet");
                self.o.kb("includeAllInstances", true);
                self.o.ku("maxResults", 1000);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeTags" => {
                self.o.kobj("requestParameters");
                let i = self.instance_id();
                self.filter_set("resource-id", i);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeAvailabilityZones" => {
                self.o.kobj("requestParameters");
                self.o.kempty("availabilityZoneSet");
                self.o.kempty("availabilityZoneIdSet");
                self.o.kb("allAvailabilityZones", false);
                self.o.end_obj();
                self.resp_null();
            }
            "RunInstances" => self.run_instances(),
            "StopInstances" => self.instance_state(64, "stopping", 16, "running", true),
            "StartInstances" => self.instance_state(0, "pending", 80, "stopped", false),
            "TerminateInstances" => self.instance_state(32, "shutting-down", 16, "running", false),
            "AuthorizeSecurityGroupIngress" => {
                let sg = self.sg().to_string();
                let (port, cidr, desc) = *pick(
                    self.rng,
                    &[
                        (443u16, "10.20.0.0/16", "HTTPS from VPC"),
                        (5432, "10.20.32.0/19", "postgres from private subnets"),
                        (22, "198.51.100.10/32", "SSH from office"),
                        (8080, "10.20.0.0/16", "app from ALB"),
                        (6379, "10.20.32.0/19", "redis from nodes"),
                    ],
                );
                self.authorize_ingress(&sg, port, cidr, desc);
            }
            "CreateSecurityGroup" => {
                let name = *pick(
                    self.rng,
                    &[
                        "k8s-shop-frontend-sg",
                        "lambda-egress",
                        "batch-workers",
                        "vpce-https",
                    ],
                );
                let v = self.vpc();
                self.o.kobj("requestParameters");
                self.o.ks("groupName", name);
                self.o.ks("groupDescription", "Managed by Terraform");
                self.o.ks("vpcId", &v.id);
                self.o.end_obj();
                if self.err {
                    self.resp_null();
                } else {
                    let sg = ec2_id("sg", self.rng.u64(..));
                    self.o.kobj("responseElements");
                    self.request_id();
                    self.o.kb("_return", true);
                    self.o.ks("groupId", &sg);
                    self.o.key("securityGroupArn");
                    self.o.str_begin();
                    self.o.part("arn:aws:ec2:");
                    self.o.part(self.info.region);
                    self.o.part(":");
                    self.o.part(ACCOUNTS[self.acct].id);
                    self.o.part(":security-group/");
                    self.o.part(&sg);
                    self.o.str_end();
                    self.o.end_obj();
                }
            }
            "CreateTags" => {
                let i = self.instance_id();
                self.o.kobj("requestParameters");
                self.id_items("resourcesSet", "resourceId", i);
                self.o.kobj("tagSet");
                self.o.karr("items");
                for (k, v) in [("Owner", "platform-team"), ("CostCenter", "1042")] {
                    self.o.obj();
                    self.o.ks("key", k);
                    self.o.ks("value", v);
                    self.o.end_obj();
                }
                self.o.end_arr();
                self.o.end_obj();
                self.o.end_obj();
                self.return_true();
            }
            "AssignPrivateIpAddresses" => {
                let h = self.instance();
                self.o.kobj("requestParameters");
                self.o.ks("networkInterfaceId", &h.eni);
                self.o.kempty("privateIpAddressesSet");
                self.o.ku("secondaryPrivateIpAddressCount", 5);
                self.o.end_obj();
                if self.err {
                    self.resp_null();
                } else {
                    self.o.kobj("responseElements");
                    self.request_id();
                    self.o.kb("_return", true);
                    self.o.kobj("assignedPrivateIpAddressesSet");
                    self.o.karr("assignedPrivateIpAddressSetType");
                    for ip in h.pod_ips.iter().take(5) {
                        self.o.obj();
                        self.o.key("privateIpAddress");
                        self.o.str_begin();
                        super::ids::push_ipv4(&mut self.o.b, *ip);
                        self.o.str_end();
                        self.o.end_obj();
                    }
                    self.o.end_arr();
                    self.o.end_obj();
                    self.o.end_obj();
                }
            }
            "GetUser"
            | "ListAttachedUserPolicies"
            | "ListAccessKeys"
            | "ListMFADevices"
            | "UpdateLoginProfile" => {
                let u = self.user_name(p);
                self.o.kobj("requestParameters");
                self.o.ks("userName", &u);
                self.o.end_obj();
                self.resp_null();
                self.info.target = u;
            }
            "GetRole" | "ListAttachedRolePolicies" => {
                let r = self.role_name();
                self.o.kobj("requestParameters");
                self.o.ks("roleName", &r);
                self.o.end_obj();
                self.resp_null();
                self.info.target = r;
            }
            "ListUsers"
            | "ListRoles"
            | "GetAccountPasswordPolicy"
            | "GetAccountSummary"
            | "GenerateCredentialReport"
            | "GetCredentialReport"
            | "GetCallerIdentity" => {
                self.req_null();
                self.resp_null();
            }
            "CreateUser" => {
                let u = pick(self.rng, &NEW_USERS).to_string();
                let id = acct_id("AIDA", self.acct, 21, self.rng.u64(..));
                self.create_user(&u, &id, true);
            }
            "CreateAccessKey" => {
                let u = pick(self.rng, &NEW_USERS).to_string();
                let k = acct_id("AKIA", self.acct, 20, self.rng.u64(..));
                self.create_access_key(&u, &k);
            }
            "DeleteAccessKey" => {
                let u = self.user_name(p);
                let k = acct_id("AKIA", self.acct, 20, self.rng.u64(..));
                self.o.kobj("requestParameters");
                self.o.ks("userName", &u);
                self.o.ks("accessKeyId", &k);
                self.o.end_obj();
                self.resp_null();
                self.info.target = u;
            }
            "AttachUserPolicy" => {
                let u = pick(self.rng, &NEW_USERS).to_string();
                let pol = *pick(self.rng, &POLICIES);
                self.attach_user_policy(&u, pol);
            }
            "AttachRolePolicy" => {
                let r = self.role_name();
                let pol = *pick(self.rng, &POLICIES);
                self.o.kobj("requestParameters");
                self.o.ks("roleName", &r);
                self.o.ks("policyArn", pol);
                self.o.end_obj();
                self.resp_null();
                self.info.target = r;
            }
            "CreateRole" => self.create_role(),
            "PutRolePolicy" => {
                let r = self.role_name();
                self.o.kobj("requestParameters");
                self.o.ks("roleName", &r);
                self.o.ks("policyName", "s3-access");
                let bucket = self.any_bucket();
                let name = &self.pop.buckets[bucket].name;
                let doc = format!(
                    "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Action\": [\"s3:GetObject\", \"s3:PutObject\"],\n      \"Resource\": \"arn:aws:s3:::{name}/*\"\n    }}\n  ]\n}}"
                );
                self.o.ks("policyDocument", &doc);
                self.o.end_obj();
                self.resp_null();
                self.info.target = r;
            }
            "CreateLoginProfile" => {
                let u = self.user_name(p);
                self.create_login_profile(&u);
            }
            "AssumeRole" => self.assume_role_by_service(),
            "AssumeRoleWithWebIdentity" => self.assume_role_web_identity(p, pi),
            "ListBuckets" => {
                self.info.s3 = true;
                self.o.kobj("requestParameters");
                self.o.ks("Host", "s3.amazonaws.com");
                self.o.end_obj();
                self.resp_null();
                let out = 2000 + self.rng.u64(..6000);
                self.s3_aed(0, out);
            }
            "GetBucketAcl" => self.bucket_get("acl"),
            "GetBucketPolicy" => self.bucket_get("policy"),
            "GetBucketPolicyStatus" => self.bucket_get("policyStatus"),
            "GetBucketLocation" => self.bucket_get("location"),
            "GetBucketVersioning" => self.bucket_get("versioning"),
            "GetBucketPublicAccessBlock" => self.bucket_get("publicAccessBlock"),
            "GetBucketEncryption" => self.bucket_get("encryption"),
            "PutBucketPolicy" => {
                let b = self.any_bucket();
                self.put_bucket_policy(b, false);
            }
            "PutBucketVersioning" => {
                let b = self.any_bucket();
                self.bucket_common(b);
                self.o.kobj("requestParameters");
                self.bucket_params(b);
                self.o.ks("versioning", "");
                self.o.kobj("VersioningConfiguration");
                self.o.ks("Status", "Enabled");
                self.o
                    .ks("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/");
                self.o.end_obj();
                self.o.end_obj();
                self.resp_null();
                self.s3_aed(220, 0);
            }
            "PutBucketPublicAccessBlock" => {
                let b = self.any_bucket();
                self.bucket_common(b);
                self.o.kobj("requestParameters");
                self.o.ks("publicAccessBlock", "");
                self.bucket_params(b);
                self.o.kobj("PublicAccessBlockConfiguration");
                self.o
                    .ks("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/");
                for k in [
                    "RestrictPublicBuckets",
                    "BlockPublicPolicy",
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                ] {
                    self.o.kb(k, true);
                }
                self.o.end_obj();
                self.o.end_obj();
                self.resp_null();
                self.s3_aed(293, 0);
            }
            "DeleteBucketPublicAccessBlock" => {
                let b = self.any_bucket();
                self.delete_public_access_block(b);
            }
            "GetObject" | "PutObject" | "HeadObject" | "ListObjects" => {
                let b = self.principal_bucket(p);
                self.object_op(api.name, b, p);
            }
            "Decrypt" | "GenerateDataKey" => self.kms_crypto(api.name, p),
            "DescribeKey" => {
                let k = self.kms_key();
                self.o.kobj("requestParameters");
                self.key_ref(k, "keyId");
                self.o.end_obj();
                self.resp_null();
                self.kms_resource(k);
            }
            "ListAliases" => {
                self.o.kobj("requestParameters");
                self.o.ku("limit", 100);
                self.o.end_obj();
                self.resp_null();
            }
            "GetSecretValue" | "DescribeSecret" => {
                let s = self.secret();
                let by_arn = self.rng.bool();
                self.secret_op(s, by_arn);
            }
            "ListSecrets" => {
                self.o.kobj("requestParameters");
                self.o.ku("maxResults", 100);
                self.o.end_obj();
                self.resp_null();
            }
            "GetParameter" => {
                let name = self.param_name(p);
                self.o.kobj("requestParameters");
                self.o.ks("name", name);
                self.o.kb("withDecryption", !name.starts_with("/aws/"));
                self.o.end_obj();
                self.resp_null();
                self.info.target = name.to_string();
            }
            "GetParameters" => {
                self.o.kobj("requestParameters");
                self.o.karr("names");
                for n in &self.pop.params[..3] {
                    self.o.str(n);
                }
                self.o.end_arr();
                self.o.kb("withDecryption", true);
                self.o.end_obj();
                self.resp_null();
            }
            "UpdateInstanceInformation" => {
                let h = self.instance();
                let v = self.vpc();
                let subnet = &v.subnets[h.subnet];
                self.o.kobj("requestParameters");
                self.o.ks("instanceId", h.instance.as_deref().unwrap_or(""));
                self.o.ks("agentVersion", "3.3.380.0");
                self.o.ks("agentStatus", "Active");
                self.o.ks("platformType", "Linux");
                self.o.ks("platformName", "Amazon Linux");
                self.o.ks("platformVersion", "2");
                self.o.ks("iPAddress", &h.ip_text);
                self.o.ks("computerName", &h.dns);
                self.o.ks("agentName", "amazon-ssm-agent");
                self.o.ks("availabilityZone", subnet.az);
                self.o.ks("availabilityZoneId", subnet.az_id);
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeTrails" => {
                self.o.kobj("requestParameters");
                self.o.karr("trailNameList");
                self.o.end_arr();
                self.o.kb("includeShadowTrails", true);
                self.o.end_obj();
                self.resp_null();
            }
            "GetTrailStatus" | "GetEventSelectors" => {
                self.o.kobj("requestParameters");
                self.o.key(if api.name == "GetTrailStatus" {
                    "name"
                } else {
                    "trailName"
                });
                self.o.str_begin();
                self.o.part("arn:aws:cloudtrail:us-east-1:");
                self.o.part(ACCOUNTS[PROD].id);
                self.o.part(":trail/acme-org-trail");
                self.o.str_end();
                self.o.end_obj();
                self.resp_null();
            }
            "LookupEvents" => {
                self.o.kobj("requestParameters");
                self.o.ku("maxResults", 50);
                self.o.karr("lookupAttributes");
                self.o.obj();
                self.o.ks("attributeKey", "EventName");
                let n = *pick(
                    self.rng,
                    &["ConsoleLogin", "RunInstances", "DeleteBucket", "AssumeRole"],
                );
                self.o.ks("attributeValue", n);
                self.o.end_obj();
                self.o.end_arr();
                self.o.end_obj();
                self.resp_null();
            }
            "ConsoleLogin" => {
                let success = self.rng.u32(..100) >= 6;
                self.console_login(p, success, p.mfa);
            }
            "CreateLogStream" => {
                self.o.kobj("requestParameters");
                self.o
                    .ks("logGroupName", "/aws/lambda/order-events-processor");
                self.o.key("logStreamName");
                self.o.str_begin();
                let c = civil(self.t);
                push_padded(&mut self.o.b, c.year as u64, 4);
                self.o.b.push(b'/');
                push_padded(&mut self.o.b, c.month as u64, 2);
                self.o.b.push(b'/');
                push_padded(&mut self.o.b, c.day as u64, 2);
                self.o.part("/[$LATEST]");
                push_hex(&mut self.o.b, self.rng, 32);
                self.o.str_end();
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeLogGroups" => {
                self.o.kobj("requestParameters");
                self.o.ks("logGroupNamePrefix", "/aws/eks/prod");
                self.o.end_obj();
                self.resp_null();
            }
            "FilterLogEvents" => {
                let end = self.t * 1000;
                self.o.kobj("requestParameters");
                self.o.ks("logGroupName", "/aws/eks/prod/cluster");
                self.o.ki("startTime", end - 3_600_000);
                self.o.ki("endTime", end);
                self.o.ks(
                    "filterPattern",
                    "{ $.verb = \"delete\" && $.objectRef.resource = \"secrets\" }",
                );
                self.o.kb("interleaved", true);
                self.o.end_obj();
                self.resp_null();
            }
            "GetAuthorizationToken" => {
                self.o.kobj("requestParameters");
                self.o.karr("registryIds");
                self.o.str(ACCOUNTS[PROD].id);
                self.o.end_arr();
                self.o.end_obj();
                self.resp_null();
            }
            "BatchGetImage" | "GetDownloadUrlForLayer" => {
                let (repo, tag) = *pick(self.rng, &self.pop.repos);
                self.o.kobj("requestParameters");
                if api.name == "BatchGetImage" {
                    self.o.karr("imageIds");
                    self.o.obj();
                    self.o.ks("imageTag", tag);
                    self.o.end_obj();
                    self.o.end_arr();
                    self.o.karr("acceptedMediaTypes");
                    self.o
                        .str("application/vnd.docker.distribution.manifest.v2+json");
                    self.o
                        .str("application/vnd.docker.distribution.manifest.list.v2+json");
                    self.o.str("application/vnd.oci.image.manifest.v1+json");
                    self.o.str("application/vnd.oci.image.index.v1+json");
                    self.o.end_arr();
                    self.o.ks("repositoryName", repo);
                    self.o.ks("registryId", ACCOUNTS[PROD].id);
                } else {
                    self.o.ks("registryId", ACCOUNTS[PROD].id);
                    self.o.ks("repositoryName", repo);
                    self.o.key("layerDigest");
                    self.o.str_begin();
                    self.o.part("sha256:");
                    push_hex(&mut self.o.b, self.rng, 64);
                    self.o.str_end();
                }
                self.o.end_obj();
                self.resp_null();
                self.resource(
                    "AWS::ECR::Repository",
                    &[
                        "arn:aws:ecr:us-east-1:",
                        ACCOUNTS[PROD].id,
                        ":repository/",
                        repo,
                    ],
                );
            }
            "DescribeCluster" => {
                self.o.kobj("requestParameters");
                self.o.ks("name", ACCOUNTS[self.acct].env);
                self.o.end_obj();
                self.resp_null();
            }
            "ListClusters" | "ListFunctions20150331" | "DescribeLoadBalancers" => {
                self.req_null();
                self.resp_null();
            }
            "GetFunction20150331v2" => {
                self.o.kobj("requestParameters");
                self.o.ks("functionName", "order-events-processor");
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeAlarms" => {
                self.o.kobj("requestParameters");
                if self.rng.bool() {
                    self.o.ks("stateValue", "ALARM");
                } else {
                    self.o.ku("maxRecords", 100);
                }
                self.o.end_obj();
                self.resp_null();
            }
            "GetMetricData" => self.get_metric_data(),
            "DescribeTargetHealth" => {
                self.o.kobj("requestParameters");
                self.o.key("targetGroupArn");
                self.o.str_begin();
                self.o.part("arn:aws:elasticloadbalancing:us-east-1:");
                self.o.part(self.acct_id());
                self.o
                    .part(":targetgroup/k8s-shop-frontend-7c1e4b2a9d/4f2a9c81b7e3d605");
                self.o.str_end();
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeAutoScalingGroups" => {
                self.o.kobj("requestParameters");
                self.o.karr("autoScalingGroupNames");
                self.o
                    .str("eks-general-20240412093121-2ac7b1f3-6d84-9e5a-c1d0-7f3b2e4a6c58");
                self.o.end_arr();
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeDBInstances" => {
                self.o.kobj("requestParameters");
                self.o.ks("dBInstanceIdentifier", "prod-payments-db");
                self.o.end_obj();
                self.resp_null();
            }
            "DescribeTable" => {
                self.o.kobj("requestParameters");
                self.o.ks("tableName", "orders-prod");
                self.o.end_obj();
                self.resp_null();
                let region = self.info.region;
                let acct = self.acct_id();
                self.resource(
                    "AWS::DynamoDB::Table",
                    &["arn:aws:dynamodb:", region, ":", acct, ":table/orders-prod"],
                );
            }
            "DescribeEventAggregates" => {
                self.o.kobj("requestParameters");
                self.o.ks("aggregateField", "eventTypeCategory");
                self.o.kobj("filter");
                self.o.karr("eventStatusCodes");
                self.o.str("open");
                self.o.str("upcoming");
                self.o.end_arr();
                self.o.end_obj();
                self.o.end_obj();
                self.resp_null();
            }
            "GetCostAndUsage" => {
                let c = civil(self.t);
                let (py, pm) = if c.month == 1 {
                    (c.year - 1, 12)
                } else {
                    (c.year, c.month - 1)
                };
                let start = format!("{py:04}-{pm:02}-01");
                let end = format!("{:04}-{:02}-01", c.year, c.month);
                self.o.kobj("requestParameters");
                self.o.kobj("timePeriod");
                self.o.ks("start", &start);
                self.o.ks("end", &end);
                self.o.end_obj();
                self.o.ks("granularity", "MONTHLY");
                self.o.karr("metrics");
                self.o.str("UnblendedCost");
                self.o.end_arr();
                self.o.karr("groupBy");
                self.o.obj();
                self.o.ks("type", "DIMENSION");
                self.o.ks("key", "SERVICE");
                self.o.end_obj();
                self.o.end_arr();
                self.o.end_obj();
                self.resp_null();
            }
            _ => {
                debug_assert!(false, "no body for {}", api.name);
                self.req_null();
                self.resp_null();
            }
        }
    }

    fn return_true(&mut self) {
        if self.err {
            self.resp_null();
        } else {
            self.o.kobj("responseElements");
            self.request_id();
            self.o.kb("_return", true);
            self.o.end_obj();
        }
    }

    fn user_name(&mut self, p: &Principal) -> String {
        if p.kind == Kind::User && self.rng.bool() {
            return p.name.clone();
        }
        let users: Vec<&str> = self
            .pop
            .principals
            .iter()
            .filter(|q| q.kind == Kind::User && q.acct == self.acct)
            .map(|q| q.name.as_str())
            .collect();
        if users.is_empty() || self.rng.u32(..20) == 0 {
            return "jenkins-legacy".to_string();
        }
        pick(self.rng, &users).to_string()
    }

    fn role_name(&mut self) -> String {
        let n = self
            .pop
            .principals
            .iter()
            .filter(|q| q.kind == Kind::Role && q.acct == self.acct)
            .count();
        if n == 0 {
            return "OrganizationAccountAccessRole".to_string();
        }
        let k = self.rng.usize(..n);
        self.pop
            .principals
            .iter()
            .filter(|q| q.kind == Kind::Role && q.acct == self.acct)
            .nth(k)
            .map(|q| q.name.clone())
            .unwrap_or_default()
    }

    fn run_instances(&mut self) {
        let v = self.vpc();
        let subnet_ix = 3 + self.rng.usize(..3);
        let subnet = &v.subnets[subnet_ix.min(v.subnets.len() - 1)];
        let ami = *pick(self.rng, &AMIS);
        let ty = *pick(self.rng, &INSTANCE_TYPES);
        let (sg, sg_name) = v.security_groups[1].clone();
        let name = *pick(
            self.rng,
            &["batch-worker", "airflow-worker", "jumpbox-tmp", "load-test"],
        );
        self.o.kobj("requestParameters");
        self.o.kobj("instancesSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("imageId", ami);
        self.o.ku("minCount", 1);
        self.o.ku("maxCount", 1);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.ks("instanceType", ty);
        self.o.kempty("blockDeviceMapping");
        self.o.kobj("monitoring");
        self.o.kb("enabled", false);
        self.o.end_obj();
        self.o.kb("disableApiTermination", false);
        self.o.kb("disableApiStop", false);
        self.o.key("clientToken");
        self.o.str_begin();
        self.o.part("terraform-");
        push_hex(&mut self.o.b, self.rng, 26);
        self.o.str_end();
        self.o.kobj("networkInterfaceSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ku("deviceIndex", 0);
        self.o.ks("subnetId", &subnet.id);
        self.id_items("groupSet", "groupId", &sg);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kobj("iamInstanceProfile");
        self.o.ks("name", "ec2-ssm-instance-profile");
        self.o.end_obj();
        self.o.kb("ebsOptimized", true);
        self.o.kobj("tagSpecificationSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("resourceType", "instance");
        self.o.karr("tags");
        self.o.obj();
        self.o.ks("key", "Name");
        self.o.ks("value", name);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kobj("metadataOptions");
        self.o.ks("httpTokens", "required");
        self.o.ku("httpPutResponseHopLimit", 2);
        self.o.ks("httpEndpoint", "enabled");
        self.o.end_obj();
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        let iid = ec2_id("i", self.rng.u64(..));
        let eni = ec2_id("eni", self.rng.u64(..));
        let third = 32 + 16 * (subnet_ix as u32 - 3) + 1 + self.rng.u32(..15);
        let ip = format!(
            "10.{}.{third}.{}",
            if self.acct == PROD { 20 } else { 40 },
            10 + self.rng.u32(..240)
        );
        let dns = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
        let launch_ms = self.t * 1000;
        let acct = self.acct_id();
        self.o.kobj("responseElements");
        self.request_id();
        self.o.key("reservationId");
        self.o.str_begin();
        self.o.part("r-0");
        push_hex(&mut self.o.b, self.rng, 16);
        self.o.str_end();
        self.o.ks("ownerId", acct);
        self.o.kempty("groupSet");
        self.o.kobj("instancesSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("instanceId", &iid);
        self.o.ks("imageId", ami);
        self.o.ks("currentInstanceBootMode", "legacy-bios");
        self.o.kobj("instanceState");
        self.o.ku("code", 0);
        self.o.ks("name", "pending");
        self.o.end_obj();
        self.o.ks("privateDnsName", &dns);
        self.o.ku("amiLaunchIndex", 0);
        self.o.kempty("productCodes");
        self.o.ks("instanceType", ty);
        self.o.ki("launchTime", launch_ms);
        self.o.kobj("placement");
        self.o.ks("availabilityZone", subnet.az);
        self.o.ks("tenancy", "default");
        self.o.end_obj();
        self.o.kobj("monitoring");
        self.o.ks("state", "disabled");
        self.o.end_obj();
        self.o.ks("subnetId", &subnet.id);
        self.o.ks("vpcId", &v.id);
        self.o.ks("privateIpAddress", &ip);
        self.o.kobj("stateReason");
        self.o.ks("code", "pending");
        self.o.ks("message", "pending");
        self.o.end_obj();
        self.o.ks(
            "architecture",
            if ty.starts_with("m7g") {
                "arm64"
            } else {
                "x86_64"
            },
        );
        self.o.ks("rootDeviceType", "ebs");
        self.o.ks("rootDeviceName", "/dev/xvda");
        self.o.kempty("blockDeviceMapping");
        self.o.ks("virtualizationType", "hvm");
        self.o.kobj("tagSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("key", "Name");
        self.o.ks("value", name);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kobj("groupSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("groupId", &sg);
        self.o.ks("groupName", sg_name);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kb("sourceDestCheck", true);
        self.o.ks("hypervisor", "xen");
        self.o.kobj("networkInterfaceSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("networkInterfaceId", &eni);
        self.o.ks("subnetId", &subnet.id);
        self.o.ks("vpcId", &v.id);
        self.o.ks("ownerId", acct);
        self.o.ks("status", "in-use");
        self.o.key("macAddress");
        self.o.str_begin();
        self.o.part("0e:");
        for i in 0..5 {
            if i > 0 {
                self.o.b.push(b':');
            }
            push_hex(&mut self.o.b, self.rng, 2);
        }
        self.o.str_end();
        self.o.ks("privateIpAddress", &ip);
        self.o.ks("privateDnsName", &dns);
        self.o.kb("sourceDestCheck", true);
        self.o.ks("interfaceType", "interface");
        self.o.kobj("groupSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("groupId", &sg);
        self.o.ks("groupName", sg_name);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kobj("attachment");
        self.o.key("attachmentId");
        self.o.str_begin();
        self.o.part("eni-attach-0");
        push_hex(&mut self.o.b, self.rng, 16);
        self.o.str_end();
        self.o.ku("deviceIndex", 0);
        self.o.ku("networkCardIndex", 0);
        self.o.ks("status", "attaching");
        self.o.ki("attachTime", launch_ms);
        self.o.kb("deleteOnTermination", true);
        self.o.end_obj();
        self.o.kobj("privateIpAddressesSet");
        self.o.karr("item");
        self.o.obj();
        self.o.ks("privateIpAddress", &ip);
        self.o.ks("privateDnsName", &dns);
        self.o.kb("primary", true);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kempty("ipv6AddressesSet");
        self.o.kempty("tagSet");
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kb("ebsOptimized", true);
        self.o.kb("enaSupport", true);
        self.o.kobj("cpuOptions");
        self.o.ku("coreCount", 1);
        self.o.ku("threadsPerCore", 2);
        self.o.end_obj();
        self.o.kobj("capacityReservationSpecification");
        self.o.ks("capacityReservationPreference", "open");
        self.o.end_obj();
        self.o.kobj("enclaveOptions");
        self.o.kb("enabled", false);
        self.o.end_obj();
        self.o.kobj("metadataOptions");
        self.o.ks("state", "pending");
        self.o.ks("httpTokens", "required");
        self.o.ku("httpPutResponseHopLimit", 2);
        self.o.ks("httpEndpoint", "enabled");
        self.o.ks("httpProtocolIpv4", "enabled");
        self.o.ks("httpProtocolIpv6", "disabled");
        self.o.ks("instanceMetadataTags", "disabled");
        self.o.end_obj();
        self.o.kobj("maintenanceOptions");
        self.o.ks("autoRecovery", "default");
        self.o.end_obj();
        self.o.kobj("privateDnsNameOptions");
        self.o.ks("hostnameType", "ip-name");
        self.o.kb("enableResourceNameDnsARecord", false);
        self.o.kb("enableResourceNameDnsAAAARecord", false);
        self.o.end_obj();
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_obj();
    }

    fn instance_state(
        &mut self,
        cur: u64,
        cur_name: &str,
        prev: u64,
        prev_name: &str,
        force: bool,
    ) {
        let i = self.instance_id();
        self.o.kobj("requestParameters");
        self.id_items("instancesSet", "instanceId", i);
        if force {
            self.o.kb("force", false);
        }
        self.o.end_obj();
        self.info.target = i.to_string();
        if self.err {
            self.resp_null();
            return;
        }
        self.o.kobj("responseElements");
        self.request_id();
        self.o.kobj("instancesSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("instanceId", i);
        self.o.kobj("currentState");
        self.o.ku("code", cur);
        self.o.ks("name", cur_name);
        self.o.end_obj();
        self.o.kobj("previousState");
        self.o.ku("code", prev);
        self.o.ks("name", prev_name);
        self.o.end_obj();
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_obj();
    }

    /// `AuthorizeSecurityGroupIngress` of one TCP port from one CIDR.
    pub fn authorize_ingress(&mut self, sg: &str, port: u16, cidr: &str, desc: &str) {
        self.info.target = sg.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("groupId", sg);
        self.o.kobj("ipPermissions");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("ipProtocol", "tcp");
        self.o.ku("fromPort", port as u64);
        self.o.ku("toPort", port as u64);
        self.o.kempty("groups");
        self.o.kobj("ipRanges");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("cidrIp", cidr);
        if !desc.is_empty() {
            self.o.ks("description", desc);
        }
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.kempty("ipv6Ranges");
        self.o.kempty("prefixListIds");
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        self.o.kobj("responseElements");
        self.request_id();
        self.o.kb("_return", true);
        self.o.kobj("securityGroupRuleSet");
        self.o.karr("items");
        self.o.obj();
        self.o.ks("groupOwnerId", ACCOUNTS[self.acct].id);
        self.o.ks("groupId", sg);
        self.o.key("securityGroupRuleId");
        self.o.str_begin();
        self.o.part("sgr-0");
        push_hex(&mut self.o.b, self.rng, 16);
        self.o.str_end();
        if !desc.is_empty() {
            self.o.ks("description", desc);
        }
        self.o.kb("isEgress", false);
        self.o.ks("ipProtocol", "tcp");
        self.o.ku("fromPort", port as u64);
        self.o.ku("toPort", port as u64);
        self.o.ks("cidrIpv4", cidr);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.end_obj();
    }

    /// `CreateUser`.
    pub fn create_user(&mut self, name: &str, user_id: &str, tags: bool) {
        self.info.target = name.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("userName", name);
        if tags {
            self.o.karr("tags");
            self.o.obj();
            self.o.ks("key", "ManagedBy");
            self.o.ks("value", "terraform");
            self.o.end_obj();
            self.o.end_arr();
        }
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        self.o.kobj("responseElements");
        self.o.kobj("user");
        self.o.ks("path", "/");
        self.o.ks("userName", name);
        self.o.ks("userId", user_id);
        self.o.key("arn");
        self.o.str_begin();
        self.o.part("arn:aws:iam::");
        self.o.part(ACCOUNTS[self.acct].id);
        self.o.part(":user/");
        self.o.part(name);
        self.o.str_end();
        self.o.key("createDate");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t, false);
        self.o.str_end();
        if tags {
            self.o.karr("tags");
            self.o.obj();
            self.o.ks("key", "ManagedBy");
            self.o.ks("value", "terraform");
            self.o.end_obj();
            self.o.end_arr();
        }
        self.o.end_obj();
        self.o.end_obj();
    }

    /// `CreateAccessKey`.
    pub fn create_access_key(&mut self, user: &str, key: &str) {
        self.info.target = user.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("userName", user);
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        self.o.kobj("responseElements");
        self.o.kobj("accessKey");
        self.o.ks("userName", user);
        self.o.ks("accessKeyId", key);
        self.o.ks("status", "Active");
        self.o.key("createDate");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t, false);
        self.o.str_end();
        self.o.end_obj();
        self.o.end_obj();
    }

    /// `AttachUserPolicy`.
    pub fn attach_user_policy(&mut self, user: &str, policy: &str) {
        self.info.target = user.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("userName", user);
        self.o.ks("policyArn", policy);
        self.o.end_obj();
        self.resp_null();
    }

    /// `CreateLoginProfile`.
    pub fn create_login_profile(&mut self, user: &str) {
        self.info.target = user.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("userName", user);
        self.o.kb("passwordResetRequired", false);
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        self.o.kobj("responseElements");
        self.o.kobj("loginProfile");
        self.o.ks("userName", user);
        self.o.key("createDate");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t, false);
        self.o.str_end();
        self.o.kb("passwordResetRequired", false);
        self.o.end_obj();
        self.o.end_obj();
    }

    fn create_role(&mut self) {
        let name = *pick(
            self.rng,
            &[
                "github-actions-deploy",
                "lambda-thumbnailer",
                "eks-external-dns",
                "glue-crawler-role",
            ],
        );
        let service = *pick(
            self.rng,
            &[
                "lambda.amazonaws.com",
                "glue.amazonaws.com",
                "ec2.amazonaws.com",
            ],
        );
        let doc = format!(
            "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Principal\": {{\n        \"Service\": \"{service}\"\n      }},\n      \"Action\": \"sts:AssumeRole\"\n    }}\n  ]\n}}"
        );
        self.info.target = name.to_string();
        self.o.kobj("requestParameters");
        self.o.ks("roleName", name);
        self.o.ks("assumeRolePolicyDocument", &doc);
        self.o.ks("description", "Managed by Terraform");
        self.o.ku("maxSessionDuration", 3600);
        self.o.end_obj();
        if self.err {
            self.resp_null();
            return;
        }
        let id = acct_id("AROA", self.acct, 21, self.rng.u64(..));
        self.o.kobj("responseElements");
        self.o.kobj("role");
        self.o.ks("path", "/");
        self.o.ks("roleName", name);
        self.o.ks("roleId", &id);
        self.o.key("arn");
        self.o.str_begin();
        self.o.part("arn:aws:iam::");
        self.o.part(ACCOUNTS[self.acct].id);
        self.o.part(":role/");
        self.o.part(name);
        self.o.str_end();
        self.o.key("createDate");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t, false);
        self.o.str_end();
        self.o.key("assumeRolePolicyDocument");
        self.o.str_begin();
        push_url_encoded(&mut self.o.b, &doc);
        self.o.str_end();
        self.o.end_obj();
        self.o.end_obj();
    }

    fn credentials(&mut self, key: &str, duration: i64) {
        self.o.kobj("credentials");
        self.o.ks("accessKeyId", key);
        self.o.key("sessionToken");
        self.o.str_begin();
        self.o.part("IQoJb3JpZ2luX2VjE");
        let n = 560 + self.rng.usize(..160);
        push_base64(&mut self.o.b, self.rng, n);
        self.o.str_end();
        self.o.key("expiration");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t + duration, true);
        self.o.str_end();
        self.o.end_obj();
    }

    fn assumed_role_user(&mut self, role: &Principal, session: &str) {
        self.o.kobj("assumedRoleUser");
        self.o.key("assumedRoleId");
        self.o.str_begin();
        self.o.part(&role.id);
        self.o.part(":");
        self.o.part(session);
        self.o.str_end();
        self.o.key("arn");
        self.o.str_begin();
        self.o.part("arn:aws:sts::");
        self.o.part(ACCOUNTS[role.acct].id);
        self.o.part(":assumed-role/");
        self.o.part(&role.name);
        self.o.part("/");
        self.o.part(session);
        self.o.str_end();
        self.o.end_obj();
    }

    fn assume_role_by_service(&mut self) {
        if self.pop.service_roles.is_empty() {
            self.req_null();
            self.resp_null();
            return;
        }
        let &(svc, ri) = pick(self.rng, &self.pop.service_roles);
        self.info.service = Some(svc);
        let role = &self.pop.principals[ri];
        let si = self.rng.usize(..role.sessions.len());
        let session = role.sessions[si].name.as_str();
        let duration = role.session_secs.min(43_200);
        let arn = role.arn();
        self.o.kobj("requestParameters");
        self.o.ks("roleArn", &arn);
        self.o.ks("roleSessionName", session);
        self.o.ku("durationSeconds", duration as u64);
        self.o.end_obj();
        self.info.target = arn.clone();
        self.info.shared_event_id = true;
        if self.err {
            self.resp_null();
        } else {
            let key = super::cloudtrail::session_key(ri, si, self.t, role.session_secs).0;
            self.o.kobj("responseElements");
            self.credentials(&key, duration);
            self.assumed_role_user(role, session);
            self.o.end_obj();
        }
        self.acct = role.acct;
        self.resource("AWS::IAM::Role", &[&arn]);
    }

    fn assume_role_web_identity(&mut self, p: &'static Principal, pi: usize) {
        self.info.web_identity = true;
        let si = self.rng.usize(..p.sessions.len());
        let session = p.sessions[si].name.as_str();
        let arn = p.arn();
        let sa = p
            .web_identity_sa
            .unwrap_or("system:serviceaccount:default:default");
        self.o.kobj("requestParameters");
        self.o.ks("roleArn", &arn);
        self.o.ks("roleSessionName", session);
        self.o.ku("durationSeconds", 86_400);
        self.o.end_obj();
        self.info.target = arn.clone();
        if self.err {
            self.resp_null();
        } else {
            let key = super::cloudtrail::session_key(pi, si, self.t, p.session_secs).0;
            self.o.kobj("responseElements");
            self.credentials(&key, 86_400);
            self.o.ks("subjectFromWebIdentityToken", sa);
            self.assumed_role_user(p, session);
            self.o.key("provider");
            self.o.str_begin();
            self.o.part("arn:aws:iam::");
            self.o.part(ACCOUNTS[p.acct].id);
            self.o
                .part(":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/");
            self.o.part(OIDC_ID);
            self.o.str_end();
            self.o.ks("audience", "sts.amazonaws.com");
            self.o.end_obj();
        }
        self.o.kobj("additionalEventData");
        self.o.ks(
            "identityProviderConnectionVerificationMethod",
            "IAMTrustStore",
        );
        self.o.end_obj();
        self.resource("AWS::IAM::Role", &[&arn]);
    }

    fn any_bucket(&mut self) -> usize {
        let n = self
            .pop
            .buckets
            .iter()
            .filter(|b| b.acct == self.acct)
            .count();
        if n == 0 {
            return self.rng.usize(..self.pop.buckets.len());
        }
        let k = self.rng.usize(..n);
        self.pop
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.acct == self.acct)
            .nth(k)
            .map(|(i, _)| i)
            .unwrap_or(0)
    }

    fn principal_bucket(&mut self, p: &Principal) -> usize {
        if p.buckets.is_empty() {
            self.any_bucket()
        } else {
            *pick(self.rng, &p.buckets)
        }
    }

    fn bucket_common(&mut self, b: usize) {
        let bucket = &self.pop.buckets[b];
        self.info.region = bucket.region;
        self.info.host = HostKind::Bucket(b);
        self.info.s3 = true;
        self.info.target = bucket.name.clone();
        self.acct = bucket.acct;
    }

    fn bucket_params(&mut self, b: usize) {
        let bucket: &Bucket = &self.pop.buckets[b];
        self.o.ks("bucketName", &bucket.name);
        self.o.key("Host");
        self.o.str_begin();
        self.o.part(&bucket.name);
        self.o.part(".s3.");
        self.o.part(bucket.region);
        self.o.part(".amazonaws.com");
        self.o.str_end();
    }

    fn bucket_resource(&mut self, b: usize) {
        let name = &self.pop.buckets[b].name;
        self.resource("AWS::S3::Bucket", &["arn:aws:s3:::", name]);
    }

    fn s3_aed(&mut self, bytes_in: u64, bytes_out: u64) {
        self.o.kobj("additionalEventData");
        self.o.ks("SignatureVersion", "SigV4");
        self.o.ks("CipherSuite", "TLS_AES_128_GCM_SHA256");
        self.o.ku("bytesTransferredIn", bytes_in);
        self.o.ks("AuthenticationMethod", "AuthHeader");
        self.o.key("x-amz-id-2");
        self.o.str_begin();
        push_base64(&mut self.o.b, self.rng, 76);
        self.o.b.push(b'=');
        self.o.str_end();
        self.o.ku("bytesTransferredOut", bytes_out);
        self.o.end_obj();
    }

    fn bucket_get(&mut self, what: &str) {
        let b = self.any_bucket();
        self.bucket_common(b);
        self.o.kobj("requestParameters");
        self.bucket_params(b);
        self.o.ks(what, "");
        self.o.end_obj();
        self.resp_null();
        let out = if self.err {
            243
        } else {
            300 + self.rng.u64(..900)
        };
        self.s3_aed(0, out);
        self.bucket_resource(b);
    }

    /// `PutBucketPolicy`: a TLS-only deny policy, or (`public`) a policy letting anyone
    /// read every object.
    pub fn put_bucket_policy(&mut self, b: usize, public: bool) {
        self.bucket_common(b);
        let name = self.pop.buckets[b].name.clone();
        self.o.kobj("requestParameters");
        self.o.kobj("bucketPolicy");
        self.o.ks("Version", "2012-10-17");
        self.o.karr("Statement");
        self.o.obj();
        if public {
            self.o.ks("Sid", "PublicRead");
            self.o.ks("Effect", "Allow");
            self.o.ks("Principal", "*");
            self.o.ks("Action", "s3:GetObject");
            self.o.key("Resource");
            self.o.str_begin();
            self.o.part("arn:aws:s3:::");
            self.o.part(&name);
            self.o.part("/*");
            self.o.str_end();
        } else {
            self.o.ks("Sid", "DenyInsecureTransport");
            self.o.ks("Effect", "Deny");
            self.o.ks("Principal", "*");
            self.o.ks("Action", "s3:*");
            self.o.karr("Resource");
            self.o.str_begin();
            self.o.part("arn:aws:s3:::");
            self.o.part(&name);
            self.o.str_end();
            self.o.str_begin();
            self.o.part("arn:aws:s3:::");
            self.o.part(&name);
            self.o.part("/*");
            self.o.str_end();
            self.o.end_arr();
            self.o.kobj("Condition");
            self.o.kobj("Bool");
            self.o.ks("aws:SecureTransport", "false");
            self.o.end_obj();
            self.o.end_obj();
        }
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.bucket_params(b);
        self.o.ks("policy", "");
        self.o.end_obj();
        self.resp_null();
        let len = if public { 160 } else { 310 };
        self.s3_aed(len, 0);
        self.bucket_resource(b);
    }

    /// `DeleteBucketPublicAccessBlock`.
    pub fn delete_public_access_block(&mut self, b: usize) {
        self.bucket_common(b);
        self.o.kobj("requestParameters");
        self.o.ks("publicAccessBlock", "");
        self.bucket_params(b);
        self.o.end_obj();
        self.resp_null();
        self.s3_aed(0, 0);
        self.bucket_resource(b);
    }

    fn object_key(&mut self, keys: Keys) -> String {
        let c = civil(self.t);
        let date = format!("{:04}-{:02}-{:02}", c.year, c.month, c.day);
        let mut b = Vec::with_capacity(96);
        let r = self.rng.u32(..100);
        match keys {
            Keys::Assets => {
                if r < 50 {
                    b.extend_from_slice(
                        format!("images/products/{:05}/", self.rng.u32(..40_000)).as_bytes(),
                    );
                    push_hex(&mut b, self.rng, 12);
                    b.extend_from_slice(b".webp");
                } else {
                    b.extend_from_slice(if r < 80 {
                        b"static/js/main."
                    } else {
                        b"static/css/app."
                    });
                    push_hex(&mut b, self.rng, 8);
                    b.extend_from_slice(if r < 80 { b".js" } else { b".css" });
                }
            }
            Keys::Lake => {
                let table = *pick(
                    self.rng,
                    &["orders", "order_items", "customers", "clickstream"],
                );
                b.extend_from_slice(if r < 70 { b"raw/" } else { b"curated/" });
                b.extend_from_slice(table.as_bytes());
                b.extend_from_slice(
                    format!(
                        "/dt={date}/hour={:02}/part-{:05}-",
                        c.hour,
                        self.rng.u32(..200)
                    )
                    .as_bytes(),
                );
                push_uuid(&mut b, self.rng);
                b.extend_from_slice(b".c000.snappy.parquet");
            }
            Keys::Exports => {
                if r < 70 {
                    b.extend_from_slice(
                        format!(
                            "exports/customer={:06}/orders-{date}.csv.gz",
                            self.rng.u32(..999_999)
                        )
                        .as_bytes(),
                    );
                } else {
                    b.extend_from_slice(
                        format!(
                            "reports/daily/{date}/settlement-{:03}.pdf",
                            self.rng.u32(..400)
                        )
                        .as_bytes(),
                    );
                }
            }
            Keys::TrailLogs => {
                let acct = ACCOUNTS[self.acct].id;
                b.extend_from_slice(
                    format!(
                        "AWSLogs/o-7k2m9x4p1q/{acct}/CloudTrail/us-east-1/{:04}/{:02}/{:02}/{acct}_CloudTrail_us-east-1_{}_",
                        c.year,
                        c.month,
                        c.day,
                        compact_minute(self.t - (self.t % 300))
                    )
                    .as_bytes(),
                );
                push_alnum(&mut b, self.rng, 16);
                b.extend_from_slice(b".json.gz");
            }
            Keys::TfState => {
                let comp = *pick(self.rng, &["network", "eks", "data", "iam", "edge"]);
                b.extend_from_slice(
                    format!("env:/{}/{comp}/terraform.tfstate", ACCOUNTS[self.acct].env).as_bytes(),
                );
            }
            Keys::Backups => {
                b.extend_from_slice(
                    format!(
                        "postgres/prod-payments-db/{date}/base-{:04}.tar.zst",
                        self.rng.u32(..64)
                    )
                    .as_bytes(),
                );
            }
            Keys::Models => {
                b.extend_from_slice(
                    format!("models/churn/v{}/model.tar.gz", 10 + self.rng.u32(..30)).as_bytes(),
                );
            }
            Keys::Uploads => {
                b.extend_from_slice(
                    format!("uploads/{:04}/{:02}/{:02}/", c.year, c.month, c.day).as_bytes(),
                );
                push_uuid(&mut b, self.rng);
                b.extend_from_slice(b".jpg");
            }
            Keys::Artifacts => {
                let app = *pick(
                    self.rng,
                    &["shop-frontend", "cart", "orders", "payments-api"],
                );
                b.extend_from_slice(
                    format!("builds/{app}/{}/dist.tar.gz", 1200 + self.rng.u32(..900)).as_bytes(),
                );
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    fn object_size(&mut self, keys: Keys) -> u64 {
        let (min, max) = match keys {
            Keys::Assets => (2_000.0, 4e6),
            Keys::Lake => (200_000.0, 5e8),
            Keys::Exports => (10_000.0, 5e7),
            Keys::TrailLogs => (1_000.0, 5e6),
            Keys::TfState => (20_000.0, 3e6),
            Keys::Backups => (1e7, 5e9),
            Keys::Models => (1e6, 2e9),
            Keys::Uploads => (30_000.0, 1.5e7),
            Keys::Artifacts => (1e5, 3e8),
        };
        pareto(self.rng, min, 1.3, max) as u64
    }

    fn object_op(&mut self, name: &str, b: usize, p: &Principal) {
        self.bucket_common(b);
        let bucket = self.pop.buckets[b].clone();
        let key = if name == "ListObjects" {
            String::new()
        } else {
            self.object_key(bucket.keys)
        };
        if p.sessions
            .iter()
            .any(|s| s.ips.iter().any(|ip| ip.starts_with("10.")))
        {
            self.info.vpce = true;
        }
        self.o.kobj("requestParameters");
        if name == "ListObjects" {
            self.o.ks("list-type", "2");
            self.bucket_params(b);
            let prefix = match bucket.keys {
                Keys::Lake => "raw/orders/",
                Keys::Exports => "exports/",
                Keys::TfState => "env:/",
                _ => "",
            };
            self.o.ks("prefix", prefix);
            self.o.ks("delimiter", "/");
            self.o.ks("encoding-type", "url");
        } else {
            self.bucket_params(b);
            self.o.ks("key", &key);
            if name == "PutObject" && bucket.kms.is_some() {
                self.o.ks("x-amz-server-side-encryption", "aws:kms");
            }
        }
        self.o.end_obj();
        let size = self.object_size(bucket.keys);
        if name == "PutObject" && !self.err {
            self.o.kobj("responseElements");
            match bucket.kms.and_then(|k| self.pop.keys.get(k)) {
                Some(k) => {
                    self.o.ks("x-amz-server-side-encryption", "aws:kms");
                    self.o.key("x-amz-server-side-encryption-aws-kms-key-id");
                    self.o.str_begin();
                    self.o.part("arn:aws:kms:");
                    self.o.part(k.region);
                    self.o.part(":");
                    self.o.part(ACCOUNTS[k.acct].id);
                    self.o.part(":key/");
                    self.o.part(&k.id);
                    self.o.str_end();
                    self.o
                        .ks("x-amz-server-side-encryption-bucket-key-enabled", "true");
                }
                None => self.o.ks("x-amz-server-side-encryption", "AES256"),
            }
            self.o.end_obj();
        } else {
            self.resp_null();
        }
        let (bin, bout) = match name {
            "PutObject" => (size, 0),
            "GetObject" if !self.err => (0, size),
            "ListObjects" => (0, 1_000 + self.rng.u64(..40_000)),
            _ => (0, 0),
        };
        self.s3_aed(bin, bout);
        if name != "ListObjects" {
            self.res.obj();
            self.res.ks("type", "AWS::S3::Object");
            self.res.key("ARN");
            self.res.str_begin();
            self.res.part("arn:aws:s3:::");
            self.res.part(&bucket.name);
            self.res.part("/");
            self.res.part(&key);
            self.res.str_end();
            self.res.end_obj();
        }
        self.bucket_resource(b);
    }

    fn kms_key(&mut self) -> usize {
        let n = self
            .pop
            .keys
            .iter()
            .filter(|k| k.acct == self.acct)
            .count()
            .max(1);
        let k = self.rng.usize(..n);
        self.pop
            .keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.acct == self.acct)
            .nth(k)
            .map(|(i, _)| i)
            .unwrap_or(0)
    }

    fn key_ref(&mut self, k: usize, field: &str) {
        let key = &self.pop.keys[k];
        if self.rng.u32(..3) == 0 {
            self.o.ks(field, key.alias);
        } else {
            self.o.key(field);
            self.o.str_begin();
            self.o.part("arn:aws:kms:");
            self.o.part(key.region);
            self.o.part(":");
            self.o.part(ACCOUNTS[key.acct].id);
            self.o.part(":key/");
            self.o.part(&key.id);
            self.o.str_end();
        }
    }

    fn kms_resource(&mut self, k: usize) {
        let key = &self.pop.keys[k];
        self.info.region = key.region;
        self.info.target = format!(
            "arn:aws:kms:{}:{}:key/{}",
            key.region, ACCOUNTS[key.acct].id, key.id
        );
        self.res.obj();
        self.res.ks("accountId", ACCOUNTS[key.acct].id);
        self.res.ks("type", "AWS::KMS::Key");
        self.res.key("ARN");
        self.res.str_begin();
        self.res.part("arn:aws:kms:");
        self.res.part(key.region);
        self.res.part(":");
        self.res.part(ACCOUNTS[key.acct].id);
        self.res.part(":key/");
        self.res.part(&key.id);
        self.res.str_end();
        self.res.end_obj();
    }

    fn kms_crypto(&mut self, name: &str, p: &'static Principal) {
        let service = p.kind == Kind::Service;
        if service {
            self.info.service = Some("cloudtrail.amazonaws.com");
        }
        // What the key protects decides the encryption context.
        let ctx = if service { 0 } else { self.rng.u32(..10) };
        let k = if service {
            3
        } else {
            match ctx {
                0..=5 => {
                    let b = self.principal_bucket(p);
                    self.pop.buckets[b].kms.unwrap_or(0)
                }
                6 | 7 => 1,
                _ => 0,
            }
        };
        let k = if self.pop.keys[k].acct == self.acct {
            k
        } else {
            self.kms_key()
        };
        if !service && ctx <= 7 && self.rng.u32(..10) < 7 {
            self.info.internal = true;
        }
        self.o.kobj("requestParameters");
        if name == "GenerateDataKey" {
            self.key_ref(k, "keyId");
        } else {
            self.o.ks("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
        }
        self.o.kobj("encryptionContext");
        if service {
            self.o.key("aws:cloudtrail:arn");
            self.o.str_begin();
            self.o.part("arn:aws:cloudtrail:us-east-1:");
            self.o.part(ACCOUNTS[PROD].id);
            self.o.part(":trail/acme-org-trail");
            self.o.str_end();
            self.o.key("aws:s3:arn");
            self.o.str_begin();
            self.o.part("arn:aws:s3:::acme-cloudtrail-logs-");
            self.o.part(ACCOUNTS[PROD].id);
            self.o.part("/AWSLogs/o-7k2m9x4p1q/");
            self.o.part(ACCOUNTS[PROD].id);
            self.o.part("/CloudTrail/us-east-1/");
            let mut b = Vec::new();
            let c = civil(self.t);
            push_padded(&mut b, c.year as u64, 4);
            b.push(b'/');
            push_padded(&mut b, c.month as u64, 2);
            b.push(b'/');
            push_padded(&mut b, c.day as u64, 2);
            self.o.b.extend_from_slice(&b);
            self.o.part("/");
            self.o.part(ACCOUNTS[PROD].id);
            self.o.part("_CloudTrail_us-east-1_");
            self.o.part(&compact_minute(self.t - self.t % 300));
            self.o.part("_");
            push_alnum(&mut self.o.b, self.rng, 16);
            self.o.part(".json.gz");
            self.o.str_end();
        } else if ctx <= 5 {
            let b = self.principal_bucket(p);
            let name = self.pop.buckets[b].name.clone();
            self.o.key("aws:s3:arn");
            self.o.str_begin();
            self.o.part("arn:aws:s3:::");
            self.o.part(&name);
            self.o.str_end();
        } else if ctx <= 7 {
            let s = self.secret();
            let secret = &self.pop.secrets[s];
            self.o.key("SecretARN");
            self.o.str_begin();
            self.o.part("arn:aws:secretsmanager:us-east-1:");
            self.o.part(ACCOUNTS[secret.acct].id);
            self.o.part(":secret:");
            self.o.part(secret.name);
            self.o.part("-");
            self.o.part(&secret.suffix);
            self.o.str_end();
            self.o.key("SecretVersionId");
            self.uuid_val();
        } else {
            self.o.key("aws:lambda:FunctionArn");
            self.o.str_begin();
            self.o.part("arn:aws:lambda:us-east-1:");
            self.o.part(self.acct_id());
            self.o.part(":function:order-events-processor");
            self.o.str_end();
        }
        self.o.end_obj();
        if name == "GenerateDataKey" {
            self.o.ks("keySpec", "AES_256");
        }
        self.o.end_obj();
        self.resp_null();
        self.kms_resource(k);
    }

    fn secret(&mut self) -> usize {
        let n = self
            .pop
            .secrets
            .iter()
            .filter(|s| s.acct == self.acct)
            .count()
            .max(1);
        let k = self.rng.usize(..n);
        self.pop
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.acct == self.acct)
            .nth(k)
            .map(|(i, _)| i)
            .unwrap_or(0)
    }

    /// `GetSecretValue` (by name or by full ARN).
    pub fn secret_op(&mut self, s: usize, by_arn: bool) {
        let secret = &self.pop.secrets[s];
        self.info.target = secret.name.to_string();
        self.o.kobj("requestParameters");
        if by_arn {
            self.o.key("secretId");
            self.o.str_begin();
            self.o.part("arn:aws:secretsmanager:us-east-1:");
            self.o.part(ACCOUNTS[secret.acct].id);
            self.o.part(":secret:");
            self.o.part(secret.name);
            self.o.part("-");
            self.o.part(&secret.suffix);
            self.o.str_end();
        } else {
            self.o.ks("secretId", secret.name);
        }
        self.o.end_obj();
        self.resp_null();
    }

    fn param_name(&mut self, p: &Principal) -> &'static str {
        let params = &self.pop.params;
        if p.name.starts_with("karpenter") {
            params[4 + self.rng.usize(..2)]
        } else {
            params[self.rng.usize(..4)]
        }
    }

    fn get_metric_data(&mut self) {
        let i = self.instance_id();
        let (ns, metric, dim, value) = match self.rng.u32(..3) {
            0 => ("AWS/EC2", "CPUUtilization", "InstanceId", i),
            1 => (
                "AWS/RDS",
                "DatabaseConnections",
                "DBInstanceIdentifier",
                "prod-payments-db",
            ),
            _ => (
                "AWS/ApplicationELB",
                "TargetResponseTime",
                "LoadBalancer",
                "app/k8s-shop-frontend/6a1d3e9f0b2c4d58",
            ),
        };
        self.o.kobj("requestParameters");
        self.o.karr("metricDataQueries");
        self.o.obj();
        self.o.ks("id", "m1");
        self.o.kobj("metricStat");
        self.o.kobj("metric");
        self.o.ks("namespace", ns);
        self.o.ks("metricName", metric);
        self.o.karr("dimensions");
        self.o.obj();
        self.o.ks("name", dim);
        self.o.ks("value", value);
        self.o.end_obj();
        self.o.end_arr();
        self.o.end_obj();
        self.o.ku("period", 60);
        self.o.ks("stat", "Average");
        self.o.end_obj();
        self.o.kb("returnData", true);
        self.o.end_obj();
        self.o.end_arr();
        self.o.key("startTime");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t - self.t % 60 - 10_800, true);
        self.o.str_end();
        self.o.key("endTime");
        self.o.str_begin();
        push_aws_human(&mut self.o.b, self.t - self.t % 60, true);
        self.o.str_end();
        self.o.end_obj();
        self.resp_null();
    }

    /// `ConsoleLogin`: `responseElements.ConsoleLogin` and `additionalEventData`.
    pub fn console_login(&mut self, p: &Principal, success: bool, mfa: bool) {
        self.info.login = Some((success, mfa));
        self.req_null();
        self.o.kobj("responseElements");
        self.o
            .ks("ConsoleLogin", if success { "Success" } else { "Failure" });
        self.o.end_obj();
        self.o.kobj("additionalEventData");
        let dest = *pick(
            self.rng,
            &[
                "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_8c2d5f1e3a7b9046",
                "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1&state=hashArgs%23Instances%3A&isauthcode=true",
                "https://us-east-1.console.aws.amazon.com/billing/home?state=hashArgs%23%2Fbills&isauthcode=true",
            ],
        );
        self.o.ks("LoginTo", dest);
        self.o.ks("MobileVersion", "No");
        if mfa && success {
            self.o.key("MFAIdentifier");
            self.o.str_begin();
            self.o.part("arn:aws:iam::");
            self.o.part(ACCOUNTS[p.acct].id);
            self.o.part(":mfa/");
            self.o.part(if p.kind == Kind::Root {
                "root-account-mfa-device"
            } else {
                &p.name
            });
            self.o.str_end();
        }
        self.o.ks("MFAUsed", if mfa { "Yes" } else { "No" });
        self.o.end_obj();
    }
}
